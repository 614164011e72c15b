"""metasr run's own checks before Snakemake starts: options it cannot pass on."""

import pytest

from metasr.cli import main
from metasr.workflow import launch


@pytest.mark.parametrize("args", [["--config", "x=1"], ["--config=x=1"], ["-C", "xy=1"],
                                  ["--configfile", "other.yaml"], ["--directory", "elsewhere"]])
def test_options_a_run_cannot_pass_on_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch, args):
    # Snakemake answered a malformed --config with a traceback, and a valid one was not validated
    monkeypatch.setattr(launch.subprocess, "call", lambda *a, **k: pytest.fail("Snakemake was started"))
    assert main(["run", str(tmp_path), "--cores", "1", *args]) == 2
    err = capsys.readouterr().err
    assert "is not an option of `metasr run`" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_other_snakemake_options_pass_through():
    assert launch.refused_options(["--cores", "2", "--dry-run", "--configuration-note"]) == []
