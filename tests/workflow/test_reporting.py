"""The report step's console output (metasr.workflow.reporting)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from metasr.stats.analysis import pool_outcome
from metasr.workflow.reporting import warn_planned_not_run, write_review_report

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _bcg_table() -> pd.DataFrame:
    bcg = pd.read_csv(FIXTURES / "metafor" / "inputs" / "bcg.csv")
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "year": bcg["year"],
                         "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"],
                         "alloc": bcg["alloc"]})


def test_a_planned_analysis_that_did_not_run_is_a_console_warning(caplog):
    one_level = pool_outcome(_bcg_table().assign(alloc="random"), "RR", "REML", outcome="tb", label="TB",
                             subgroup="alloc")
    with caplog.at_level(logging.WARNING, logger="metasr.workflow.reporting"):
        warn_planned_not_run([one_level])
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].getMessage().startswith("Planned but not run: the subgroup analysis by alloc for TB (")


def test_no_warning_when_every_planned_analysis_ran(caplog):
    by_alloc = pool_outcome(_bcg_table(), "RR", "REML", outcome="tb", label="TB", subgroup="alloc")
    with caplog.at_level(logging.WARNING, logger="metasr.workflow.reporting"):
        warn_planned_not_run([by_alloc, {"status": "no_data", "subgroups": {"skipped": "k = 0"}}])
    assert caplog.records == []


def _studies(path: Path, year: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"study_id,label,year\nS1,Alpha,{year}\nS2,Beta,2001\n")
    return path


def test_the_report_lists_the_config_and_describes_the_double_extraction(tmp_path, monkeypatch, review_config):
    monkeypatch.chdir(tmp_path)
    config = {**review_config, "extraction": {**review_config["extraction"], "narrative": None,
                                              "second_extractor_dir": "second"}}
    studies = _studies(Path("data/extraction/studies.csv"), "2000")
    _studies(Path("second/studies.csv"), "2002")
    Path("second/resolutions.csv").write_text("sheet,key,column,resolution\nstudies.csv,S1,year,first is right\n")
    Path("config.yaml").write_text("review: {}\n")
    inputs = {"pooled": [FIXTURES / "pooled" / "bcg_rr.json"], "extraction": [], "studies": str(studies),
              "data": [str(studies), "second/studies.csv", "second/resolutions.csv"], "config_file": "config.yaml"}
    write_review_report(inputs, config, tmp_path / "results" / "report.html")
    text = (tmp_path / "results" / "report.html").read_text()
    assert "<td>config.yaml</td>" in text and "<td>second/resolutions.csv</td>" in text
    assert "Data were extracted independently by two reviewers" in text
    assert "The one discrepancy (1 cell) was resolved, the decision recorded in second/resolutions.csv." in text
    # The change log compares the settings in effect, not the file (a comment is no change).
    snapshot = json.loads(next((tmp_path / "results" / "history").iterdir()).read_text())
    assert "config.yaml" not in snapshot["inputs"] and "second/resolutions.csv" in snapshot["inputs"]
