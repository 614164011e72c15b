"""metasr run's own checks before Snakemake starts (options it cannot pass on), the command it
starts, and how it stops."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from metasr.cli import main
from metasr.workflow import launch


@pytest.mark.parametrize("args", [["--config", "x=1"], ["--config=x=1"], ["-C", "xy=1"],
                                  ["--configfile", "other.yaml"], ["--directory", "elsewhere"]])
def test_options_a_run_cannot_pass_on_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch, args):
    # Snakemake answered a malformed --config with a traceback, and a valid one was not validated
    monkeypatch.setattr(launch, "run_until_done", lambda *a, **k: pytest.fail("Snakemake was started"))
    assert main(["run", str(tmp_path), "--cores", "1", *args]) == 2
    err = capsys.readouterr().err
    assert "is not an option of `metasr run`" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_refused_run_says_the_results_are_still_the_last_runs(tmp_path, capsys, monkeypatch):
    """A bad cell refused the run and left the last report in place, read as current (tester)."""
    monkeypatch.setattr(launch, "run_until_done", lambda *a, **k: pytest.fail("Snakemake was started"))
    main(["init", str(tmp_path / "rev")])
    (tmp_path / "rev" / "results").mkdir()
    (tmp_path / "rev" / "results" / "report.html").write_text("<html></html>")
    sheet = tmp_path / "rev" / "data" / "extraction" / "studies.csv"
    sheet.write_text(sheet.read_text().replace("EXAMPLE", "EXAMPLE,extra,cells", 1))
    capsys.readouterr()
    assert main(["run", str(tmp_path / "rev"), "--cores", "1"]) == 2
    err = capsys.readouterr().err
    assert "the results are still those of the last successful run (report written" in err
    assert (tmp_path / "rev" / "results" / "report.html").read_text() == "<html></html>"
    (tmp_path / "rev" / "results" / "report.html").unlink()  # no results yet: nothing to say
    main(["run", str(tmp_path / "rev"), "--cores", "1"])
    assert "last successful run" not in capsys.readouterr().err


def test_other_snakemake_options_pass_through():
    assert launch.refused_options(["--cores", "2", "--dry-run", "--configuration-note"]) == []


def test_the_packages_profile_is_named_unless_the_run_names_one(tmp_path):
    # a `default` folder in the working directory would otherwise be taken for Snakemake's profile
    command = launch.snakemake_command(tmp_path, ["--cores", "1"])
    assert command[command.index("--workflow-profile") + 1] == str(launch.DEFAULT_PROFILE)
    assert (launch.DEFAULT_PROFILE / "config.yaml").is_file()
    mine = launch.snakemake_command(tmp_path, ["--workflow-profile", "profiles/slurm"])
    assert mine.count("--workflow-profile") == 1 and mine[-1] == "profiles/slurm"


# A stand-in for Snakemake: on an interrupt it cleans up (slowly) and says so, as Snakemake
# removes incomplete outputs and its lock.
CHILD = """
import sys, time
from pathlib import Path
try:  # "started" inside the try: an interrupt right after it is the one to clean up after
    Path(sys.argv[1], "started").write_text("")
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(0.5)
    Path(sys.argv[1], "cleaned").write_text("")
    sys.exit(130)
"""
PARENT = """
import sys
from metasr.workflow.launch import run_until_done
sys.exit(run_until_done([sys.executable, sys.argv[1], sys.argv[2]]))
"""


@pytest.mark.parametrize("how, sigint_ignored", [(signal.SIGTERM, False), (signal.SIGINT, False),
                                                 (signal.SIGTERM, True)])
def test_a_stopped_run_passes_the_interrupt_on_and_waits_for_the_clean_up(tmp_path, how, sigint_ignored):
    # sigint_ignored: started as a background job of a script (SIGINT ignored), stopped by SIGTERM
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(CHILD))
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(child), str(tmp_path)],
                              stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=ignore)
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    # a terminal's Ctrl-C goes to the foreground process group: here, the session of the parent
    os.killpg(parent.pid, how) if how == signal.SIGINT else parent.send_signal(how)
    _, err = parent.communicate(timeout=30)
    assert (tmp_path / "cleaned").exists()  # the parent waited for the child's clean-up
    assert parent.returncode == 130 and "Traceback" not in err
