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
    "small_study": {"min_k": 10}, "meta_regression": {"moderators": ["ablat"]}, "risk_of_bias_sensitivity": True,
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


def test_rob_overall_from_the_studies_sheet_is_the_overall_in_use():
    """A subgroup by rob_overall gets the overall the tool's rule derives when the cell is empty
    (SYNTHETIC judgements), the one the traffic light and GRADE show."""
    from metasr.workflow.pooling import with_moderators

    effects = pd.DataFrame({"study_id": ["A", "B", "C"], "yi": [0.1, 0.2, 0.3]})
    studies = [{"study_id": "A", "rob_tool": "RoB2", "rob_overall": "some concerns"},
               {"study_id": "B", "rob_tool": "RoB2", "rob_deviations": "high", "rob_overall": ""},
               {"study_id": "C"}]
    out = with_moderators(effects, ["rob_overall"], studies)
    assert list(out["rob_overall"]) == ["some concerns", "high", ""]


def test_a_moderator_and_subgroup_of_each_effect_size_come_from_the_effect_table(tmp_path):
    """A column the outcome's sheet carries per effect size (extraction.pipeline writes it into the
    effect table) is not replaced by the studies sheet's: here the delinquency type of each effect
    size of Assink & Wibbelink 2016 (metadat dat.assink2016), pooled as three-level effect sizes."""
    from metasr.extraction.pipeline import output_columns

    raw = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "multilevel" / "inputs" / "assink2016.csv")
    effects = pd.DataFrame({"study_id": [f"S{s:02d}" for s in raw["study"]], "label": "", "year": "",
                            "usable": "true", "yi": raw["yi"], "vi": raw["vi"], "es_id": raw["esid"],
                            "deltype": raw["deltype"]})
    assert [c for c in effects.columns if c not in output_columns("GEN")] == ["deltype"]
    path = tmp_path / "assink.csv"
    effects.to_csv(path, index=False)
    studies = [{"study_id": sid, "deltype": "whole study"} for sid in sorted(set(effects["study_id"]))]
    settings = {"measure": "GEN", "method": "REML", "test": "z", "subgroup": "deltype",
                "dependence": {"method": "multilevel", "rho": 0.6},
                "meta_regression": {"moderators": ["deltype"], "studies_per_coefficient": 5}}
    result = pool_outcome_file(path, "delinquency", settings, tmp_path / "out.json", studies)
    assert [lv["level"] for lv in result["subgroups"]["levels"]] == ["covert", "general", "overt"]
    assert [lv["k"] for lv in result["subgroups"]["levels"]] == [9, 78, 13]
    reference = next(c for c in json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "multilevel_subgroups"
                                            / "expected.json").read_text())["cases"]
                     if c["id"] == "assink2016_deltype_REML_rho0.6")  # rma.mv with ~ 0 + factor(deltype)
    estimates = [lv["estimate"] for lv in result["subgroups"]["levels"]]
    assert estimates == pytest.approx(reference["expected"]["estimate"], rel=1e-5)
    assert result["meta_regression"]["coef_names"] == ["intrcpt", "deltypegeneral", "deltypeovert"]
    assert [s["subgroup"] for s in result["studies"]] == list(effects.sort_values("study_id", kind="stable")["deltype"])


def test_a_numeric_looking_subgroup_of_the_effect_sizes_keeps_its_text(tmp_path):
    """SYNTHETIC levels `01`, `1` and `2` of a sheet column: three subgroups, labelled as written
    (read as numbers they became 1.0, 1.0 and 2.0, and `01` merged with `1`)."""
    effects = pd.DataFrame({"study_id": ["A", "A", "B", "B", "C", "C"], "label": "", "year": "", "usable": "true",
                            "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.1], "vi": [0.01, 0.02, 0.015, 0.02, 0.01, 0.03],
                            "es_id": ["1", "2"] * 3, "wave": ["01", "1", "2", "01", "1", "2"]})
    path = tmp_path / "waves.csv"
    effects.to_csv(path, index=False)
    settings = {"measure": "GEN", "method": "REML", "test": "z", "subgroup": "wave",
                "dependence": {"method": "multilevel", "rho": 0.5}}
    result = pool_outcome_file(path, "waves", settings, tmp_path / "out.json", [])
    assert [lv["level"] for lv in result["subgroups"]["levels"]] == ["01", "1", "2"]


def test_risk_of_bias_from_the_studies_sheet_gives_the_analysis_without_high_risk(tmp_path):
    """Each study's overall judgement from its studies-sheet row (the tool's rule where the overall
    is empty): SYNTHETIC RoB 2 judgements, a ROBINS-I serious and a NOS poor; `risk_of_bias_sensitivity:
    false` turns the analysis off, and a sheet without risk-of-bias columns has none."""
    from metasr.stats.models import fit_rma

    effects, studies = bcg_files(tmp_path)
    domains = ("rob_randomisation", "rob_deviations", "rob_missing", "rob_measurement", "rob_reporting")
    for row in studies:
        row.update(rob_tool="RoB2", **dict.fromkeys(domains, "low"))
    studies[1]["rob_missing"] = "high"  # overall derived: high
    studies[4] = {**studies[4], "rob_tool": "ROBINS-I", **dict.fromkeys(domains, ""), "rob_overall": "serious"}
    studies[7] = {"study_id": studies[7]["study_id"], "rob_tool": "NOS", "rob_selection": "1",
                  "rob_comparability": "1", "rob_outcome": "3"}
    studies[10] = {"study_id": studies[10]["study_id"], "rob_tool": ""}
    settings = {"measure": "RR", "method": "REML", "test": "z"}
    result = pool_outcome_file(effects, "bcg", settings, tmp_path / "bcg.json", studies)
    section = result["sensitivity"]["excluding_high_risk"]
    assert [(s["study_id"], s["judgement"]) for s in section["left_out"]] == [("S01", "high"), ("S04", "serious"),
                                                                          ("S07", "high")]
    assert [s["study_id"] for s in section["kept_not_judged"]] == ["S10"]
    kept = [s for s in result["studies"] if s["study_id"] not in {"S01", "S04", "S07"}]
    fit = fit_rma([s["yi"] for s in kept], [s["vi"] for s in kept], method="REML", test="z", measure="RR")
    assert section["model"]["estimate"] == pytest.approx(fit.estimate, rel=1e-12)
    assert section["model"]["tau2"] == pytest.approx(fit.tau2, rel=1e-12)
    off = pool_outcome_file(effects, "bcg", {**settings, "risk_of_bias_sensitivity": False}, tmp_path / "off.json",
                            studies)
    assert "excluding_high_risk" not in off["sensitivity"]
    plain = pool_outcome_file(effects, "bcg", settings, tmp_path / "plain.json", bcg_files(tmp_path)[1])
    assert "excluding_high_risk" not in plain["sensitivity"]


def test_the_effect_table_keeps_the_sheets_text_columns_as_written(tmp_path):
    """Every column extraction keeps as text (provenance.TEXT_COLUMNS) is read back as text: a page
    '012', a p value '0.050' and a derivation '2' stay as written, not numbers."""
    from metasr.provenance import TEXT_COLUMNS
    from metasr.workflow.pooling import read_effects

    effects = tmp_path / "effects.csv"
    effects.write_text("study_id,yi,vi,source_location,p_value,derivation,es_id\n007,0.1,0.02,012,0.050,2,1.10\n")
    row = read_effects(effects).iloc[0].to_dict()
    assert {"source_location", "p_value", "derivation", "es_id", "study_id"} <= TEXT_COLUMNS
    assert (row["study_id"], row["source_location"], row["p_value"], row["derivation"], row["es_id"]) == \
        ("007", "012", "0.050", "2", "1.10")
    assert row["yi"] == 0.1
