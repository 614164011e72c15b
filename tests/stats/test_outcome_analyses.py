"""An outcome's configured small-study and meta-regression sections (metasr.stats.outcome_analyses):
the library's results under the pipeline's rules, each method's result or why it did not run.

Numbers are checked against metafor 3.8-1 through the modelling fixtures (tools/reference/modelling.R
on dat.bcg: regtest, trimfill, selmodel, metareg, permutest)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.analysis_settings import meta_regression_settings, small_study_settings
from metasr.stats.analysis import pool_outcome
from metasr.stats.models import fit_rma
from metasr.stats.outcome_analyses import NOT_REQUESTED, meta_regression_section, small_study_section

MODELLING = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
METAFOR = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
BCG = pd.read_csv(MODELLING / "inputs" / "bcg.csv")


def case(section: str, case_id: str) -> dict:
    cases = json.loads((MODELLING / f"{section}.json").read_text())["cases"]
    return next(c for c in cases if c["id"] == case_id)["expected"]


def bcg_fit(method="REML"):
    return fit_rma(BCG["yi"].to_numpy(), BCG["vi"].to_numpy(), method=method, test="z")


def close(got, want, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol, atol=1e-12)


def test_every_method_equals_metafor_on_bcg():
    settings = small_study_settings({"small_study": {"selmodel": {"alternative": "less"}}})
    out = small_study_section(bcg_fit(), settings, has_null=True)
    assert out["reported_egger"] == "egger" and out["fit"] == {"method": "REML", "test": "z"}
    rma = case("regtest", "bcg-REML-rma-sei")
    egger = out["egger"]
    assert (egger["model"], egger["predictor"]) == ("rma", "sei")
    close([egger["stat"], egger["pval"], egger["limit_estimate"], egger["limit_ci_lb"], egger["limit_ci_ub"],
           egger["slope"]], [rma["zval"], rma["pval"], rma["est"], rma["ci_lb"], rma["ci_ub"], rma["fit"]["beta"][1]])
    lm = case("regtest", "bcg-REML-lm-sei")
    close([out["egger_lm"]["stat"], out["egger_lm"]["pval"]], [lm["zval"], lm["pval"]])
    tf = case("trimfill", "bcg-REML-L0-auto")
    assert out["trimfill"]["side"] == tf["side"] and out["trimfill"]["k0"] == tf["k0"]
    close([out["trimfill"]["estimate"], out["trimfill"]["ci_lb"]], [tf["beta"], tf["ci_lb"]], rtol=1e-5)
    peese = case("regtest", "bcg-REML-lm-vi")
    assert out["pet_peese"]["chosen"] == "PET"  # PET's intercept: two-sided P = 0.40, one-sided 0.20 > 0.05
    close([out["pet_peese"]["pet"]["est"], out["pet_peese"]["peese"]["est"]], [lm["est"], peese["est"]])
    sel = case("selmodel", "bcg-REML-stepfun-0.025-less")
    close([out["selmodel"]["beta"][0], out["selmodel"]["tau2"], out["selmodel"]["LRTp"]],
          [sel["beta"][0] if isinstance(sel["beta"], list) else sel["beta"], sel["tau2"], sel["LRTp"]], rtol=1e-4)
    assert out["selmodel"]["k_per_interval"] == [8, 5]
    assert out["begg"]["pval"] is not None


def test_below_min_k_nothing_runs_and_the_reason_cites_the_handbook():
    out = small_study_section(bcg_fit(), small_study_settings({"small_study": {"min_k": 14}}), has_null=True)
    assert out["skipped"] == "k = 13 < 14: small-study methods not run (Cochrane Handbook 13.3.5.4)"
    assert not set(out) & {"egger", "begg", "trimfill", "pet_peese", "selmodel"}


def test_methods_not_asked_for_say_so():
    out = small_study_section(bcg_fit(), small_study_settings({"small_study": {"methods": ["begg"]}}), True)
    assert out["egger"] == out["trimfill"] == out["pet_peese"] == out["selmodel"] == {"skipped": NOT_REQUESTED}
    assert "egger_lm" not in out and "kendall_tau" in out["begg"]


def test_selection_model_needs_enough_studies_in_every_interval():
    """bcg's effects are protective: one-sided 'greater' p-values are all above 0.025 (metafor would
    fit delta_2 against an empty first interval); the rule says why it is not run."""
    out = small_study_section(bcg_fit(), small_study_settings({}), has_null=True)
    sel = out["selmodel"]
    assert sel["k_per_interval"] == [0, 13] and sel["steps"] == [0.025, 1.0]
    assert "0 with 0 < p ≤ 0.025, 13 with 0.025 < p ≤ 1" in sel["skipped"] and "at least 4" in sel["skipped"]
    lenient = small_study_settings({"small_study": {"selmodel": {"min_per_interval": 1, "alternative": "less",
                                                                 "steps": [0.001, 0.025]}}})
    assert small_study_section(bcg_fit(), lenient, True)["selmodel"]["k_per_interval"] == [5, 3, 5]


def test_a_measure_without_a_null_gets_no_pet_peese_or_selection_model():
    out = small_study_section(bcg_fit(), small_study_settings({}), has_null=False)
    assert "no null effect" in out["pet_peese"]["skipped"] and "no null effect" in out["selmodel"]["skipped"]
    assert out["egger"]["pval"] is not None and out["trimfill"]["k0"] == 1


def bcg_table() -> pd.DataFrame:
    """The BCG trials' 2x2 tables (metafor's dat.bcg) as an extraction table with moderator columns."""
    bcg = pd.read_csv(METAFOR / "inputs" / "bcg.csv")
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"],
                         "year": bcg["year"], "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"],
                         "ablat": bcg["ablat"].astype(str), "alloc": bcg["alloc"]})


def test_mantel_haenszel_outcomes_use_the_inverse_variance_common_effect_model():
    out = pool_outcome(bcg_table(), "RR", "MH", "z", meta_regression=meta_regression_settings(
        {"meta_regression": {"moderators": ["ablat"]}}))
    small, regression = out["small_study"], out["meta_regression"]
    assert small["fit"]["method"] == "FE" and "MH has no regression form" in small["fit"]["note"]
    assert small["egger"]["pval"] == pytest.approx(case("regtest", "bcg-FE-rma-sei")["pval"], rel=1e-6)
    assert regression["method"] == "FE" and "MH has no regression form" in regression["fit_note"]
    # a method of its own is no fallback: no note (it said "REML has no regression form")
    for outcome_method, method in (("MH", "REML"), ("REML", "ML"), ("REML", "FE")):
        own = pool_outcome(bcg_table(), "RR", outcome_method, "z", meta_regression=meta_regression_settings(
            {"meta_regression": {"moderators": ["ablat"], "method": method}}))["meta_regression"]
        assert own["method"] == method and "fit_note" not in own


def test_meta_regression_equals_metafor():
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat", "alloc"],
                                                             "studies_per_coefficient": 4}})
    out = pool_outcome(bcg_table(), "RR", "REML", "z", meta_regression=settings)["meta_regression"]
    want = case("metareg", "bcg ~ ablat + alloc REML z")
    assert out["coef_names"] == want["coef_names"] and out["k"] == 13 and out["omitted"] == []
    close(out["coef"], want["beta"])
    close(out["se"], want["se"])
    close([out["QM"], out["QM_pval"], out["tau2"], out["R2"], out["Q"]],
          [want["QM"], want["QMp"], want["tau2"], want["R2"], want["QE"]], rtol=1e-5)
    assert out["formula"] == "ablat + alloc" and out["study_ids"][0] == "S00"
    assert [p["moderator"] for p in out["moderators"]] == ["ablat", "alloc"]
    assert [lv["level"] for lv in out["moderators"][1]["levels"]] == ["alternate", "random", "systematic"]


def test_meta_regression_needs_ten_studies_per_coefficient():
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat", "alloc"]}})
    out = pool_outcome(bcg_table(), "RR", "REML", "z", meta_regression=settings)["meta_regression"]
    assert out["skipped"] == ("k = 13 for 3 moderator coefficients: the meta-regression needs at least 30 "
                              "(10 per coefficient, Cochrane Handbook 10.11.5.1)")
    assert out["coef_names"] == ["intrcpt", "ablat", "allocrandom", "allocsystematic"]


def test_studies_without_a_moderator_value_are_left_out_and_listed():
    table = bcg_table()
    table.loc[[2, 5], "ablat"] = ""
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat"], "studies_per_coefficient": 5}})
    out = pool_outcome(table, "RR", "REML", "z", meta_regression=settings)["meta_regression"]
    assert out["k"] == 11 and [o["study_id"] for o in out["omitted"]] == ["S02", "S05"]
    assert out["omitted"][0]["reason"] == "no value of ablat"  # a moderator may be in either sheet
    assert "S02" not in out["study_ids"] and len(out["yi"]) == len(out["weights"]) == 11


def test_a_constant_moderator_is_a_reason_not_a_crash():
    table = bcg_table().assign(ablat="40")
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat"]}})
    out = pool_outcome(table, "RR", "REML", "z", meta_regression=settings)["meta_regression"]
    assert "constant" in out["skipped"]


def test_exact_permutation_test_equals_metafor():
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat"], "studies_per_coefficient": 1,
                                                             "exact_permutations": True}})
    table = BCG.head(7).assign(study_id=[f"S{i}" for i in range(7)], ablat=BCG["ablat"].head(7).astype(str))
    out = meta_regression_section(table, settings, "REML", "z", "RR")
    want = case("permutest", "bcg 7 ~ ablat REML z")
    assert out["permutest"]["exact"] is True
    close(out["permutest"]["pval"], want["pval"])
    close(out["permutest"]["QMp"], want["QMp"])


def test_random_permutations_are_reproducible_by_seed():
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat"], "permutations": 200}})
    runs = [meta_regression_section(bcg_table().assign(yi=BCG["yi"], vi=BCG["vi"]), settings, "REML", "z", "RR")
            ["permutest"] for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]["seed"] == 1 and runs[0]["permutations"] == 200


def test_not_pooled_outcomes_say_why():
    settings = meta_regression_settings({"meta_regression": {"moderators": ["ablat"]}})
    one = pool_outcome(bcg_table().head(1), "RR", "REML", "z", meta_regression=settings)
    assert one["meta_regression"]["skipped"] == "k = 1: the outcome is not pooled, so no meta-regression"
    assert one["small_study"]["skipped"] == "k = 1: the outcome is not pooled, so no small-study methods"
    assert pool_outcome(bcg_table(), "RR", "REML", "z")["meta_regression"] is None


# ---------------------------------------------------------------- dependent effect sizes

MULTILEVEL = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "multilevel" / "expected.json")
                        .read_text())
DEPENDENT_REGRESSIONS = [c for c in MULTILEVEL["cases"] if c["mods"] and c["test"] == "z" and c["method"] == "REML"
                         and c["dataset"] in ("assink2016", "tannersmith2016", "knapp2017")]


def dependent_table(case: dict) -> pd.DataFrame:
    """The data set's effect sizes as the pooling step has them: study_id, yi, vi and moderator columns."""
    dataset = MULTILEVEL["datasets"][case["dataset"]]
    raw = pd.read_csv(MULTILEVEL_INPUTS / Path(dataset["input"]).name)
    table = pd.DataFrame({"study_id": raw[dataset["cluster"]].astype(str), "yi": dataset["yi"], "vi": dataset["vi"]})
    for moderator in case["mods"].split(","):
        table[moderator] = raw[moderator].astype(str)
    table["_row"] = range(2, len(table) + 2)
    return table


MULTILEVEL_INPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "multilevel" / "inputs"


@pytest.mark.parametrize("case", DEPENDENT_REGRESSIONS, ids=[c["id"] for c in DEPENDENT_REGRESSIONS])
@pytest.mark.parametrize("inference", ["multilevel", "robust"])
def test_meta_regression_of_dependent_effect_sizes_equals_rma_mv_and_clubsandwich(case, inference):
    from metasr.stats.outcome_analyses import meta_regression_dependent

    settings = meta_regression_settings({"meta_regression": {"moderators": case["mods"].split(","),
                                                             "studies_per_coefficient": 2}})
    got = meta_regression_dependent(dependent_table(case), settings, "REML", {"method": inference, "rho": case["rho"]})
    want = case["expected"]
    assert got["model"] == "three-level" and got["coef_names"] == want["coef_names"]
    assert got["k"] == want["k"] and got["k_studies"] == want["n_clusters"]
    close(got["coef"], want["coef"], rtol=1e-5)
    tests = want if inference == "multilevel" else want["robust"]
    for key in ("se", "pval", "ci_lb", "ci_ub", "QM", "QM_pval"):
        close(got[key], tests[key], rtol=1e-5)
    if inference == "robust":
        close(got["df"], tests["df"], rtol=1e-5)
        close(got["QM_df"], tests["QM_df"], rtol=1e-5)
        close(got["model_based"]["se"], want["se"], rtol=1e-5)
        assert got["test"] == "t"
    assert sum(got["weights"]) == pytest.approx(100) and len(got["moderators"]) == len(case["mods"].split(","))


def test_meta_regression_of_dependent_effect_sizes_counts_studies_and_says_why_not():
    from metasr.stats.outcome_analyses import meta_regression_dependent

    case = next(c for c in DEPENDENT_REGRESSIONS if c["dataset"] == "knapp2017")  # 25 studies, 1 coefficient
    table = dependent_table(case)
    strict = meta_regression_settings({"meta_regression": {"moderators": ["difficulty"],
                                                           "studies_per_coefficient": 30}})
    assert meta_regression_dependent(table, strict, "REML", {"method": "robust", "rho": 0.5})["skipped"].startswith(
        "25 studies for 1 moderator coefficient: the meta-regression needs at least 30")
    aggregated = meta_regression_dependent(table, strict, "REML", {"method": "aggregate", "rho": 0.5})
    assert "aggregated effects is not run" in aggregated["skipped"]


def test_a_robust_coefficient_resting_on_one_study_is_not_tested():
    """SYNTHETIC factor `lab` on dat.knapp2017: level `b` holds the effect sizes of one study only,
    so its CR2 variance would be (nearly) 0; model-based inference still fits it."""
    from metasr.stats.outcome_analyses import meta_regression_dependent

    case = next(c for c in DEPENDENT_REGRESSIONS if c["dataset"] == "knapp2017")
    table = dependent_table(case)
    first = table["study_id"].iloc[0]
    table["lab"] = ["b" if s == first else "a" for s in table["study_id"]]
    settings = meta_regression_settings({"meta_regression": {"moderators": ["lab"], "studies_per_coefficient": 2}})
    robust = meta_regression_dependent(table, settings, "REML", {"method": "robust", "rho": 0.5})
    assert robust["skipped"].startswith("cluster-robust (CR2) inference needs at least two studies behind every "
                                        "coefficient, and labb rests on one")
    assert "skipped" not in meta_regression_dependent(table, settings, "REML", {"method": "multilevel", "rho": 0.5})


def test_effect_sizes_left_out_of_a_meta_regression_name_the_moderator_they_lack():
    from metasr.stats.outcome_analyses import meta_regression_dependent

    case = next(c for c in DEPENDENT_REGRESSIONS if c["dataset"] == "assink2016")  # moderators year, deltype
    table = dependent_table(case)
    table["es_id"] = [f"es{i}" for i in range(len(table))]
    table.loc[0, "year"] = ""
    table.loc[1, "deltype"] = ""
    settings = meta_regression_settings({"meta_regression": {"moderators": ["year", "deltype"],
                                                             "studies_per_coefficient": 2}})
    result = meta_regression_dependent(table, settings, "REML", {"method": "multilevel", "rho": 0.5})
    assert [o["reason"] for o in result["omitted"]] == ["no value of year", "no value of deltype"]
    assert [o["effect_size"] for o in result["omitted"]] == ["es0", "es1"]  # their studies hold others


def test_a_dependent_outcome_whose_studies_hold_one_effect_size_each_gets_the_univariate_meta_regression():
    from metasr.stats.outcome_analyses import meta_regression_dependent

    case = next(c for c in DEPENDENT_REGRESSIONS if c["dataset"] == "knapp2017")
    table = dependent_table(case).drop_duplicates("study_id").reset_index(drop=True)
    table.loc[0, "difficulty"] = ""
    settings = meta_regression_settings({"meta_regression": {"moderators": ["difficulty"],
                                                             "studies_per_coefficient": 2}})
    result = meta_regression_dependent(table, settings, "REML", {"method": "multilevel", "rho": 0.5})
    assert "model" not in result and result["k"] == len(table) - 1
    assert result["omitted"] == [{"study_id": table["study_id"][0], "reason": "no value of difficulty"}]


SUBGROUP_CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "multilevel_subgroups"
                             / "expected.json").read_text())["cases"]


@pytest.mark.parametrize("case", SUBGROUP_CASES[::3], ids=[c["id"] for c in SUBGROUP_CASES[::3]])
def test_meta_regression_of_dependent_effect_sizes_with_t_tests_matches_rma_mv_test_t(case):
    """The outcome's test: t reaches the three-level meta-regression (rma.mv(mods = ~ factor(g), test = "t"))."""
    from metasr.stats.outcome_analyses import meta_regression_dependent

    table = pd.DataFrame({"study_id": case["clusters"], "yi": case["yi"], "vi": case["vi"], "g": case["groups"]})
    settings = meta_regression_settings({"meta_regression": {"moderators": ["g"], "studies_per_coefficient": 2,
                                                             "method": case["method"]}})
    got = meta_regression_dependent(table, settings, case["method"], {"method": "multilevel", "rho": case["rho"]},
                                    test="t")
    want = case["expected"]["t"]["metareg"]
    assert got["test"] == "t" and got["QM_df"] == want["QM_df"] and got["df"] == want["QM_df"][1]
    close(got["coef"], want["coef"], rtol=1e-5)
    for key in ("se", "pval", "ci_lb", "ci_ub", "QM", "QM_pval"):
        close(got[key], want[key], rtol=1e-5)
