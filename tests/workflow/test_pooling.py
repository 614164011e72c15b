"""The pooling step: every analysis setting of an outcome reaches the pooled result."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metasr.stats.analysis import analyse
from metasr.workflow.outcomes import ANALYSIS_KEYS, outcome_job_settings
from metasr.workflow.pooling import pool_outcome_file

BCG = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv"

# A value of every setting of ANALYSIS_KEYS for the BCG trials; a setting added to ANALYSIS_KEYS
# needs one here, and the test below then checks that the pooling step reads it.
EXAMPLE_SETTINGS = {
    "measure": "RR", "method": "REML", "test": "z", "order_by": "year", "label": "BCG", "scale": "log",
    "published": {"estimate": 0.49, "ci_lb": 0.34, "ci_ub": 0.70}, "subgroup": "alloc",
    "escalc": {"add": 0.5, "to": "only0"}, "dependence": {"method": "independent"},
    "small_study": {"min_k": 10}, "meta_regression": {"moderators": ["ablat"]},
}


class ReadKeys(dict):
    """A dict that records which of its keys were read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def bcg_files(tmp_path: Path) -> tuple[Path, list[dict]]:
    """The BCG trials as an effect-input table and their studies-sheet rows (allocation and latitude
    are study characteristics, as text)."""
    bcg = pd.read_csv(BCG)
    ids = [f"S{i:02d}" for i in range(len(bcg))]
    effects = pd.DataFrame({"study_id": ids, "label": bcg["study"], "year": bcg["year"], "usable": True,
                            "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]})
    path = tmp_path / "bcg.csv"
    effects.to_csv(path, index=False)
    studies = [{"study_id": i, "alloc": str(a), "ablat": str(b)}
               for i, a, b in zip(ids, bcg["alloc"], bcg["ablat"], strict=True)]
    return path, studies


def test_every_analysis_setting_is_read_by_the_pooling_step(tmp_path):
    assert set(EXAMPLE_SETTINGS) == set(ANALYSIS_KEYS), "give every analysis setting an example value"
    effects, studies = bcg_files(tmp_path)
    settings = ReadKeys(outcome_job_settings(EXAMPLE_SETTINGS)["analysis"])
    pool_outcome_file(effects, "bcg", settings, tmp_path / "bcg.json", studies)
    assert set(ANALYSIS_KEYS) - settings.read == set()


def test_the_subgroup_setting_runs_metasr_pools_subgroup_analysis(tmp_path):
    """The subgroup column comes from the studies sheet; the numbers are `metasr pool --subgroup`'s."""
    effects, studies = bcg_files(tmp_path)
    settings = {"measure": "RR", "method": "REML", "test": "z", "subgroup": "alloc"}
    result = pool_outcome_file(effects, "bcg", settings, tmp_path / "bcg.json", studies)
    table = pd.read_csv(effects).assign(alloc=[s["alloc"] for s in studies])
    alone = analyse(table, "RR", "REML", "z", subgroup="alloc")
    assert result["subgroups"]["levels"] == ["alternate", "random", "systematic"]
    for key in ("estimate", "se", "tau2", "k", "Q_between", "Q_between_pval"):
        assert result["subgroups"][key] == pytest.approx(alone[key], rel=1e-12)
    assert json.loads((tmp_path / "bcg.json").read_text())["subgroups"]["variable"] == "alloc"
    assert [s["subgroup"] for s in result["studies"]] == [s["alloc"] for s in studies]


def test_an_order_from_the_studies_sheet_orders_the_cumulative_analysis(tmp_path):
    """`order_by` may name a studies-sheet column the effect table does not have."""
    effects, studies = bcg_files(tmp_path)
    settings = {"measure": "RR", "method": "REML", "test": "z", "order_by": "ablat"}
    result = pool_outcome_file(effects, "bcg", settings, tmp_path / "bcg.json", studies)
    cumulative = result["sensitivity"]["cumulative"]
    assert "skipped" not in cumulative and cumulative["order_by"] == "ablat"


def test_study_ids_pandas_takes_for_missing_stay_ids(tmp_path):
    path, studies = bcg_files(tmp_path)
    settings = {"measure": "RR", "method": "REML"}
    as_ids = pool_outcome_file(path, "bcg", settings, tmp_path / "ids.json", studies)
    effects = pd.read_csv(path)
    # pandas' missing markers that metasr.io.is_missing leaves as text (validation refuses the others)
    markers = ["None", "null", "N/A", "n/a", "NULL"]
    effects.loc[: len(markers) - 1, "study_id"] = markers
    effects.to_csv(path, index=False)
    pooled = pool_outcome_file(path, "bcg", settings, tmp_path / "markers.json", studies)
    shown = [s["study_id"] for s in pooled["studies"]]
    assert set(markers) <= set(shown) and len(set(shown)) == len(effects)
    assert pooled["model"] == as_ids["model"]
