"""The sensitivity analysis without the studies at high risk of bias (metasr.stats.rob_sensitivity),
through pool_outcome: against metafor 3.8-1 (tests/fixtures/rob_sensitivity/expected.json from
`Rscript tools/reference/rob_sensitivity.R tests/fixtures/rob_sensitivity/expected.json`: rma,
rma.mh and rma.peto with subset = on dat.bcg with SYNTHETIC judgements), a dependent outcome
against the three-level leave-one-study-out fits of tests/fixtures/dependent, and the reasons it
does not run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr import dependence
from metasr.stats import rob_sensitivity
from metasr.stats.analysis import pool_outcome

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REFERENCE = json.loads((FIXTURES / "rob_sensitivity" / "expected.json").read_text())
CASES = {c["id"]: c for c in REFERENCE["cases"]}
DEPENDENT = json.loads((FIXTURES / "dependent" / "expected.json").read_text())
TOL = dict(rel=1e-6, abs=1e-10)


def bcg_table() -> pd.DataFrame:
    bcg = pd.read_csv(FIXTURES / "metafor" / "inputs" / "bcg.csv")
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"],
                         "year": bcg["year"], "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]})


def bcg_judgements() -> dict[str, str]:
    return {f"S{i:02d}": word for i, word in enumerate(REFERENCE["meta"]["judgement"])}


@pytest.mark.parametrize(("case", "measure", "method", "test"), [
    ("bcg_RR_REML_z", "RR", "REML", "z"), ("bcg_RR_REML_knha", "RR", "REML", "knha"), ("bcg_RR_DL_z", "RR", "DL", "z"),
    ("bcg_RR_MH", "RR", "MH", "z"), ("bcg_OR_MH", "OR", "MH", "z"), ("bcg_OR_PETO", "OR", "PETO", "z")])
def test_refit_without_high_risk_matches_metafor_subset(case, measure, method, test):
    pooled = pool_outcome(bcg_table(), measure, method, test, risk_of_bias=bcg_judgements())
    section = pooled["sensitivity"]["excluding_high_risk"]
    expected = CASES[case]["expected"]
    assert "skipped" not in section and (section["method"], section["test"]) == (method, test)
    assert [s["study_id"] for s in section["left_out"]] == [f"S{i - 1:02d}" for i in CASES[case]["high"]]
    assert [s["judgement"] for s in section["left_out"]] == ["high", "serious", "critical"]
    assert section["model"]["k"] == expected["k"] == section["k_studies"] and section["k_studies_all"] == 13
    keys = ("estimate", "se", "pval", "ci_lb", "ci_ub", "I2", "Q") + (("tau2",) if method not in ("MH", "PETO") else ())
    for key in keys:
        assert section["model"][key] == pytest.approx(expected[key], **TOL), key
    assert section["transformed"]["estimate"] == pytest.approx(np.exp(expected["estimate"]), **TOL)
    assert section["kept_not_judged"] == []


def test_dependent_outcome_leaves_out_whole_studies_with_its_own_model(attractiveness_table):
    """One study of several effect sizes at high risk: the three-level CR2 refit without it is R's
    leave-one-study-out fit of that study (tests/fixtures/dependent, rma.mv and clubSandwich)."""
    ref = DEPENDENT["attractiveness"]["leave1out"]
    table = attractiveness_table()
    sizes = table.groupby("study_id").size()
    study = next(s for s in ref["study_id"] if sizes[s] > 1)
    overall = {str(s): "high" if s == study else "" for s in table["study_id"]}
    overall[str(ref["study_id"][0] if ref["study_id"][0] != study else ref["study_id"][1])] = "low"
    dep = dependence.settings({"dependence": {"method": "robust", "rho": 0.5}})
    pooled = pool_outcome(table, "SMD", "REML", "z", dependence=dep, risk_of_bias=overall)
    section = pooled["sensitivity"]["excluding_high_risk"]
    expected = ref["fits"][ref["study_id"].index(study)]
    assert [s["study_id"] for s in section["left_out"]] == [study]
    assert section["model"]["k"] == len(table) - sizes[study] and section["k_studies"] == 19
    for key in ("estimate", "se", "df", "pval", "ci_lb", "ci_ub", "I2"):
        assert section["model"][key] == pytest.approx(expected[key], rel=1e-5, abs=1e-8), key
    assert section["model"]["sigma2"] == pytest.approx(expected["sigma2"], rel=1e-5, abs=1e-8)
    assert len(section["kept_not_judged"]) == 18  # not assessed: kept, and counted


def test_aggregated_outcome_refits_the_study_level_effects():
    from tests.stats.test_dependent import cessation_table

    table = cessation_table()
    studies = list(dict.fromkeys(table["study_id"]))
    dep = dependence.settings({"dependence": {"method": "aggregate", "rho": 0}})
    pooled = pool_outcome(table, "OR", "REML", "z", dependence=dep,
                          risk_of_bias={studies[0]: "high", **{s: "low" for s in studies[1:]}})
    section = pooled["sensitivity"]["excluding_high_risk"]
    by_study = [b for b in pooled["by_study"] if b["study_id"] != studies[0]]
    from metasr.stats.models import fit_rma

    fit = fit_rma([b["yi"] for b in by_study], [b["vi"] for b in by_study], method="REML", test="z")
    assert section["model"]["model_type"] == "aggregated" and section["model"]["k"] == len(studies) - 1
    assert section["model"]["estimate"] == pytest.approx(fit.estimate, **TOL)


def test_skipped_with_a_reason():
    table = bcg_table()
    none = pool_outcome(table, "RR", "REML", "z", risk_of_bias={})
    assert none["sensitivity"]["excluding_high_risk"]["skipped"].startswith(
        "no study has an overall risk-of-bias judgement (13 studies not assessed or without information, all kept)")
    low = pool_outcome(table, "RR", "REML", "z", risk_of_bias={"S00": "low", "S01": "some concerns",
                                                                "S02": "no information"})
    reason = low["sensitivity"]["excluding_high_risk"]["skipped"]
    assert reason == ("no study is at high risk of bias (1 low, 1 some concerns; 11 studies without a judgement): "
                      "the analysis would repeat the main one")
    high = {f"S{i:02d}": "high" for i in range(12)}
    few = pool_outcome(table, "RR", "REML", "z", risk_of_bias=high)["sensitivity"]["excluding_high_risk"]
    assert few["skipped"] == ("leaving out the 12 studies at high risk of bias would leave 1 study: pooling needs "
                              "at least 2")
    assert len(few["left_out"]) == 12 and "model" not in few
    off = pool_outcome(table, "RR", "REML", "z")
    assert "excluding_high_risk" not in off["sensitivity"]


def test_a_model_that_cannot_be_fitted_on_the_rest_says_why():
    table = pd.DataFrame({"study_id": ["a", "b", "c"], "ai": [0, 0, 3], "n1i": [10, 20, 30], "ci": [0, 0, 5],
                          "n2i": [10, 20, 30]})
    pooled = pool_outcome(table, "OR", "MH", "z", risk_of_bias={"a": "low", "b": "low", "c": "high"})
    section = pooled["sensitivity"]["excluding_high_risk"]
    assert section["skipped"].startswith("the MH model cannot be fitted on the 2 studies kept:")


def test_small_outcomes_get_the_section_beside_no_leave_one_out():
    pooled = pool_outcome(bcg_table().head(2), "RR", "REML", "z", risk_of_bias={"S00": "high", "S01": "low"})
    assert "leave1out" not in pooled["sensitivity"]
    assert "leave 1 study" in pooled["sensitivity"]["excluding_high_risk"]["skipped"]


def test_high_risk_is_read_from_the_concern_level_of_every_tool():
    from metasr import rob

    assert [rob_sensitivity.at_high_risk(w) for w in ("high", "serious", "critical", "very high", "poor")] == [True] * 5
    assert not any(rob_sensitivity.at_high_risk(w) for w in ("low", "some concerns", "moderate", "unclear", "fair",
                                                            "no information", ""))
    rows = [{"study_id": "n1", "rob_tool": "NOS", "rob_selection": "1", "rob_comparability": "1", "rob_outcome": "3"},
            {"study_id": "r1", "rob_tool": "RoB2", **{d.column: "low" for d in rob.TOOLS["RoB2"].domains}},
            {"study_id": "x", "rob_tool": ""}]
    assert rob_sensitivity.judgements(rows) == {"n1": "high", "r1": "low", "x": ""}
    assert rob_sensitivity.judgements([{"study_id": "a", "year": "2000"}]) is None
    assert rob_sensitivity.judgements([]) is None
