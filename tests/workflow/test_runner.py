"""run_step: progress to the job's log, problems to the console too, a user mistake exits 1."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from metasr.errors import InputError, Problem
from metasr.workflow.runner import run_step


def fake_snakemake(log_path) -> SimpleNamespace:
    return SimpleNamespace(log=[str(log_path)], rule="some_rule")


def test_progress_goes_to_the_log_and_warnings_also_to_the_console(tmp_path, capsys):
    def step():
        logging.getLogger("metasr.test").info("progress of the step")
        logging.getLogger("metasr.test").warning("something to look at")
        return 42

    assert run_step(fake_snakemake(tmp_path / "job.log"), step) == 42
    log = (tmp_path / "job.log").read_text()
    assert "some_rule: progress of the step" in log and "something to look at" in log and "done" in log
    console = capsys.readouterr().err
    assert "something to look at" in console and "progress of the step" not in console


def test_an_input_error_exits_1_with_the_problems_and_no_traceback(tmp_path, capsys):
    def step():
        raise InputError(Problem(message="value is not a number", file="sheet.csv", row=3, column="n1",
                                 rule="number", hint="write the number"))

    with pytest.raises(SystemExit) as exit_info:
        run_step(fake_snakemake(tmp_path / "job.log"), step)
    assert exit_info.value.code == 1
    console = capsys.readouterr().err
    assert "sheet.csv" in console and "value is not a number" in console and "Traceback" not in console
    assert "value is not a number" in (tmp_path / "job.log").read_text()


def test_a_full_disk_exits_1_with_the_path_and_no_traceback(tmp_path, capsys):
    import errno

    def step():
        raise OSError(errno.ENOSPC, "No space left on device", "results/figures/edss_forest.png")

    with pytest.raises(SystemExit) as exit_info:
        run_step(fake_snakemake(tmp_path / "job.log"), step)
    assert exit_info.value.code == 1
    console = capsys.readouterr().err
    log = (tmp_path / "job.log").read_text()
    for text in (console, log):
        assert "results/figures/edss_forest.png" in text and "disk is full" in text and "Traceback" not in text
        assert "the system refused" in text


def test_a_bug_keeps_its_traceback_and_the_log_is_not_empty(tmp_path):
    """A crash that is not the user's (issue 16: an empty log after a csv field-limit crash)."""
    def step():
        raise ZeroDivisionError("float division by zero")

    with pytest.raises(ZeroDivisionError):
        run_step(fake_snakemake(tmp_path / "job.log"), step)
    log = (tmp_path / "job.log").read_text()
    assert "unexpected error" in log and "Traceback" in log and "ZeroDivisionError" in log


def test_a_figure_on_a_really_full_disk_is_one_clear_message(tmp_path, full_disk, capsys):
    """Issue 16: a full disk gave a PIL traceback from the PNG of a forest plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from metasr.figures.style import save_figure

    fig = plt.figure(figsize=(8, 8))
    plt.plot(range(2000))
    figures = full_disk / "results" / "figures"
    svg, png = figures / "edss_forest.svg", figures / "edss_forest.png"
    with pytest.raises(SystemExit) as exit_info:
        run_step(fake_snakemake(tmp_path / "job.log"), save_figure, fig, svg, png)
    plt.close(fig)
    assert exit_info.value.code == 1
    log = (tmp_path / "job.log").read_text()
    assert "disk is full" in log and "edss_forest" in log and "Traceback" not in log
    assert "Traceback" not in capsys.readouterr().err
    assert not [p for p in (full_disk / "results" / "figures").iterdir() if p.name.startswith(".")]
