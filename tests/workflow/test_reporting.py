"""The report step's console output (metasr.workflow.reporting)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from metasr.stats.analysis import pool_outcome
from metasr.workflow.reporting import warn_planned_not_run

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
