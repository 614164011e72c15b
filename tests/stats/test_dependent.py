"""Outcomes with several effect sizes per study (metasr.stats.dependent) against metafor 3.8-1 and
clubSandwich 0.5.8: tests/fixtures/dependent/expected.json from `Rscript tools/reference/dependent.R
tests/fixtures/dependent` on dat.lehmann2018 (six reports of several experiments each, SMD, three-level
model with CR2 inference) and dat.hasselblad1998 (a three-arm trial's shared control split in two,
OR, aggregated within trials). Tolerance: 1e-6 relative for closed forms, 1e-5 for quantities that
depend on the REML optimum."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr import dependence
from metasr.stats.analysis import pool_outcome
from metasr.stats.blocks import Clusters
from metasr.stats.dependent import aggregate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dependent"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
ITERATIVE = dict(rel=1e-5, abs=1e-8)
CLOSED = dict(rel=1e-6, abs=1e-10)


def cessation_table() -> pd.DataFrame:
    """Arms as the extraction step writes them: the shared no-contact arm halved (Handbook 23.3.4)."""
    raw = pd.read_csv(FIXTURES / "inputs" / "cessation.csv")
    parts = raw.groupby("study_id")["study_id"].transform("size").where(raw["shared_group"].notna(), 1)
    return pd.DataFrame({"study_id": raw["study_id"], "label": raw["label"], "year": raw["year"],
                         "comparison": raw["comparison"], "ai": raw["events1"], "n1i": raw["n1"],
                         "ci": raw["events2"] / parts, "n2i": raw["n2"] / parts,
                         "shared_group": raw["shared_group"], "shared_split": parts.where(parts > 1)})


@pytest.fixture(scope="module")
def attractiveness(attractiveness_table):
    dep = dependence.settings({"dependence": {"method": "robust", "rho": 0.5}})
    return pool_outcome(attractiveness_table(), "SMD", "REML", "z", order_by="year", dependence=dep)


@pytest.fixture(scope="module")
def cessation():
    dep = dependence.settings({"dependence": {"method": "aggregate", "rho": 0}})
    return pool_outcome(cessation_table(), "OR", "REML", "z", order_by="year", dependence=dep)


def test_effect_sizes_and_counts(attractiveness, cessation):
    for pooled, ref in ((attractiveness, EXPECTED["attractiveness"]), (cessation, EXPECTED["cessation"])):
        assert [s["yi"] for s in pooled["studies"]] == pytest.approx(ref["yi"], **CLOSED)
        assert [s["vi"] for s in pooled["studies"]] == pytest.approx(ref["vi"], **CLOSED)
        assert [s["study_id"] for s in pooled["studies"]] == ref["study_id"]
        assert (pooled["k"], pooled["k_studies"]) == (ref["effect_sizes"], ref["studies"])
        assert dependence.participants(pooled) == ref["participants"]
    assert dependence.counts_text(attractiveness) == "20 studies (29 effect sizes)"


def test_three_level_model_with_cr2_matches_rma_mv_and_clubsandwich(attractiveness):
    ref, model = EXPECTED["attractiveness"]["model"], attractiveness["model"]
    assert model["model_type"] == "three-level" and model["n_clusters"] == 20 and model["k"] == 29
    for key in ("estimate", "se", "df", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "loglik", "Q", "I2"):
        assert model[key] == pytest.approx(ref[key], **ITERATIVE), key
    assert model["sigma2"] == pytest.approx(ref["sigma2"], **ITERATIVE)
    assert model["I2_levels"] == pytest.approx(ref["I2_levels"], **ITERATIVE)
    for key, value in ref["model_based"].items():
        assert model["model_based"][key] == pytest.approx(value, **ITERATIVE), key
    assert attractiveness["dependence"] == {"method": "robust", "description": dependence.METHODS["robust"],
                                            "multi_arm": "split_shared", "rho": 0.5,
                                            "rho_sensitivity": [0.0, 0.2, 0.4, 0.6, 0.8]}


def test_weights_are_metafors_rowsum_weights_and_add_up_per_study(attractiveness):
    ref = EXPECTED["attractiveness"]
    assert [s["weight"] for s in attractiveness["studies"]] == pytest.approx(ref["weights"], **ITERATIVE)
    by_study = attractiveness["by_study"]
    assert [b["weight"] for b in by_study] == pytest.approx(ref["study_weights"], **ITERATIVE)
    assert sum(b["k"] for b in by_study) == 29


def test_rho_sensitivity(attractiveness, cessation):
    for pooled, name, keys in ((attractiveness, "attractiveness", ("estimate", "se", "ci_lb", "ci_ub", "df")),
                               (cessation, "cessation", ("estimate", "se", "ci_lb", "ci_ub", "tau2"))):
        rows, refs = pooled["rho_sensitivity"], EXPECTED[name]["rho_sensitivity"]
        assert [r["rho"] for r in rows] == [r["rho"] for r in refs]
        for row, ref in zip(rows, refs, strict=True):
            for key in keys:
                assert row[key] == pytest.approx(ref[key], **ITERATIVE), (name, row["rho"], key)
            if "sigma2" in ref:
                assert row["sigma2"] == pytest.approx(ref["sigma2"], **ITERATIVE)


def test_leave_one_study_out_and_cumulative_refit_the_model(attractiveness):
    ref = EXPECTED["attractiveness"]
    l1o = attractiveness["sensitivity"]["leave1out"]
    assert l1o["unit"] == "study" and l1o["study_id"] == ref["leave1out"]["study_id"]
    for key in ("estimate", "se", "ci_lb", "ci_ub"):
        assert l1o[key] == pytest.approx([f[key] for f in ref["leave1out"]["fits"]], **ITERATIVE), key
    cum = attractiveness["sensitivity"]["cumulative"]
    assert cum["study_id"] == ref["cumulative"]["study_id"]
    assert cum["estimate"][0] is None  # one study: the variance between studies is not estimable
    for key in ("estimate", "ci_lb", "ci_ub"):
        assert cum[key][1:] == pytest.approx([f[key] for f in ref["cumulative"]["fits"]], **ITERATIVE), key
    types = [f["model_type"] for f in ref["cumulative"]["fits"]]
    assert "univariate" in types and "three-level" in types  # both kinds of refit are checked


def test_egger_sandwich_test(attractiveness):
    ref, egger = EXPECTED["attractiveness"]["egger_robust"], attractiveness["small_study"]["egger_robust"]
    for key in ("stat", "df", "pval", "slope", "limit_estimate"):
        assert egger[key] == pytest.approx(ref[key], **ITERATIVE), key
    assert "begg" not in attractiveness["small_study"] and "trim" in attractiveness["small_study"]["not_run"]


def test_aggregate_matches_metafor_aggregate_then_rma(cessation):
    ref = EXPECTED["cessation"]
    by_study = cessation["by_study"]
    assert [b["study_id"] for b in by_study] == ref["aggregated"]["study_id"]
    assert [b["yi"] for b in by_study] == pytest.approx(ref["aggregated"]["yi"], **CLOSED)
    assert [b["vi"] for b in by_study] == pytest.approx(ref["aggregated"]["vi"], **CLOSED)
    assert [b["weight"] for b in by_study] == pytest.approx(ref["weights"], **ITERATIVE)
    assert [b["k"] for b in by_study if b["aggregated"]] == [2]  # the three-arm trial
    for key, value in ref["model"].items():
        assert cessation["model"][key] == pytest.approx(value, **ITERATIVE), key
    assert cessation["common_effect"]["estimate"] == pytest.approx(ref["common_effect"]["estimate"], **CLOSED)
    assert cessation["model"]["model_type"] == "aggregated" and cessation["model"]["k"] == 9


def test_aggregate_with_correlated_errors_is_the_gls_mean_of_each_cluster():
    rng = np.random.default_rng(1)  # SYNTHETIC effect sizes: the closed form checked by the dense matrices
    yi, vi = rng.normal(size=7), rng.uniform(0.05, 0.3, size=7)
    clusters = Clusters.from_labels(["a", "a", "a", "b", "c", "c", "d"])
    y, v = aggregate(yi, vi, clusters, 0.6)
    for code in range(len(clusters.labels)):
        rows = np.flatnonzero(clusters.codes == code)
        sd = np.sqrt(vi[rows])
        V = 0.6 * np.outer(sd, sd)
        np.fill_diagonal(V, vi[rows])
        W = np.linalg.inv(V)
        assert y[code] == pytest.approx(W.sum(axis=0) @ yi[rows] / W.sum(), rel=1e-12)
        assert v[code] == pytest.approx(1 / W.sum(), rel=1e-12)


def test_one_effect_size_per_study_is_the_univariate_model(attractiveness_table):
    table = attractiveness_table().drop_duplicates("study_id").reset_index(drop=True)
    dep = dependence.settings({"dependence": {"method": "multilevel", "rho": 0.5}})
    pooled = pool_outcome(table, "SMD", "REML", "z", order_by="year", dependence=dep)
    plain = pool_outcome(table, "SMD", "REML", "z", order_by="year")
    assert pooled["model"]["model_type"] == "univariate" and "univariate" in pooled["model"]["model_note"]
    assert pooled["model"]["estimate"] == pytest.approx(plain["model"]["estimate"], rel=1e-10)
    assert pooled["model"]["tau2"] == pytest.approx(plain["model"]["tau2"], rel=1e-10)


MULTILEVEL = json.loads((FIXTURES.parent / "multilevel" / "expected.json").read_text())


def test_the_outcomes_t_test_is_rma_mvs_t_test(konstantopoulos_table):
    """test: t on a multilevel outcome: rma.mv(yi, vi, random = ~ 1 | district/es, test = "t"), its
    refits too (it was fitted with z whatever the outcome said)."""
    case = next(c for c in MULTILEVEL["cases"] if c["id"] == "konstantopoulos2011_int_REML_t_rho0")
    dep = dependence.settings({"dependence": {"method": "multilevel", "rho": 0, "rho_sensitivity": [0, 0.5]}})
    pooled = pool_outcome(konstantopoulos_table(), "GEN", "REML", "t", order_by="year", dependence=dep)
    model, ref = pooled["model"], case["expected"]
    assert model["model_type"] == "three-level" and model["test"] == "t" and model["df"] == ref["df"] == 55
    for key in ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert model[key] == pytest.approx(ref[key], **ITERATIVE), key
    assert model["pval"] == pytest.approx(0.03320502, rel=1e-6)  # printed by metafor 3.8-1
    assert (model["pi_lb"], model["pi_ub"]) == pytest.approx((-0.46451126, 0.83393758), rel=1e-6)
    assert [row["df"] for row in pooled["rho_sensitivity"]] == [55, 55]
    assert pooled["rho_sensitivity"][0]["ci_lb"] == pytest.approx(ref["ci_lb"], **ITERATIVE)
    leave1out = pooled["sensitivity"]["leave1out"]
    assert leave1out["ci_lb"][0] < leave1out["estimate"][0] < leave1out["ci_ub"][0]
    z = pool_outcome(konstantopoulos_table(), "GEN", "REML", "z", order_by="year", dependence=dep)
    assert z["model"]["test"] == "z" and "df" not in z["model"]
    assert leave1out["ci_ub"][0] - leave1out["ci_lb"][0] > z["sensitivity"]["leave1out"]["ci_ub"][0] - \
        z["sensitivity"]["leave1out"]["ci_lb"][0]  # the t quantile of 50-odd df is wider than z's


def test_one_study_with_several_effect_sizes_is_not_pooled(attractiveness_table):
    table = attractiveness_table()
    table = table[table["study_id"] == "Sullivan2016_e1"].reset_index(drop=True)
    dep = dependence.settings({"dependence": {"method": "multilevel"}})
    pooled = pool_outcome(table, "SMD", "REML", "z", dependence=dep)
    assert pooled["status"] == "single_study" and pooled["status_message"] == "1 study (2 effect sizes): not pooled"
    assert pooled["model"] is None and len(pooled["studies"]) == 2


# ---------------------------------------------------------------- subgroups

SUBGROUP_CASES = json.loads((FIXTURES.parent / "multilevel_subgroups" / "expected.json").read_text())["cases"]


def _close(got, want, rtol=1e-5, atol=0.0) -> bool:
    """Within metafor's optimiser (its fits stop ~1e-7 to 1e-9 from the optimum the fixtures record)."""
    return bool(np.allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol, atol=atol))


@pytest.mark.parametrize("case", SUBGROUP_CASES, ids=[c["id"] for c in SUBGROUP_CASES])
@pytest.mark.parametrize("method", ["multilevel", "robust"])
def test_subgroups_of_dependent_effect_sizes_match_rma_mv_and_clubsandwich(case, method):
    from metasr.stats.dependent import subgroups_dependent

    table = pd.DataFrame({"yi": case["yi"], "vi": case["vi"], "study_id": case["clusters"]})
    got = subgroups_dependent(table, case["groups"], case["method"], "z", {"method": method, "rho": case["rho"]})
    want = case["expected"]
    single = [level for level, n in zip(want["levels"], want["k_studies"], strict=True) if n < 2]
    if method == "robust" and single:  # clubSandwich's CR2 of a mean resting on one study means nothing
        assert got["skipped"].startswith("cluster-robust (CR2) inference needs at least two studies behind every "
                                         f"subgroup, and {', '.join(single)} rests on one")
        return
    levels = got["levels"]
    assert [lv["level"] for lv in levels] == want["levels"] and got["model"] == "three-level"
    assert [lv["k"] for lv in levels] == want["k"] and [lv["k_studies"] for lv in levels] == want["k_studies"]
    assert _close([lv["estimate"] for lv in levels], want["estimate"])
    # a component at its boundary: metafor's log-scale optimiser stops near 0 (1e-15), ours at 0
    assert _close(got["sigma2"], want["sigma2"], rtol=1e-4, atol=1e-7 * float(np.mean(case["vi"])))
    inference = want if method == "multilevel" else want["robust"]
    for key in ("se", "pval", "ci_lb", "ci_ub") + (("df",) if method == "robust" else ()):
        assert _close([lv[key] for lv in levels], inference[key]), key
    for key in ("Q_between", "Q_between_pval", "Q_between_df"):
        assert _close(got[key], inference[key]), key


@pytest.mark.parametrize("case", SUBGROUP_CASES[::3], ids=[c["id"] for c in SUBGROUP_CASES[::3]])
def test_subgroups_of_dependent_effect_sizes_with_t_tests_match_rma_mv_test_t(case):
    """test: t reaches the three-level subgroup model: t tests with df = k - p and anova's F test."""
    from metasr.stats.dependent import subgroups_dependent

    table = pd.DataFrame({"yi": case["yi"], "vi": case["vi"], "study_id": case["clusters"]})
    got = subgroups_dependent(table, case["groups"], case["method"], "t", {"method": "multilevel", "rho": case["rho"]})
    want = case["expected"]["t"]
    for key in ("se", "df", "pval", "ci_lb", "ci_ub"):
        assert _close([lv[key] for lv in got["levels"]], want[key]), key
    assert got["Q_between_test"] == "Wald F" and got["Q_between_df"] == want["Q_between_df"]
    for key in ("Q_between", "Q_between_pval"):
        assert _close(got[key], want[key]), key


def test_aggregated_subgroups_are_the_univariate_analysis_of_the_study_level_effects():
    from metasr.stats.dependent import subgroups_dependent
    from metasr.stats.subgroup import subgroup_analysis

    case = next(c for c in SUBGROUP_CASES if c["dataset"] == "tannersmith2016")
    table = pd.DataFrame({"yi": case["yi"], "vi": case["vi"], "study_id": case["clusters"]})
    clusters = Clusters.from_labels(case["clusters"])
    by_study = {s: "early" if i % 2 else "late" for i, s in enumerate(clusters.labels)}  # SYNTHETIC groups
    groups = [by_study[s] for s in case["clusters"]]
    dep = {"method": "aggregate", "rho": 0.6}
    got = subgroups_dependent(table, groups, "REML", "z", dep)
    y, v = aggregate(table["yi"].to_numpy(float), table["vi"].to_numpy(float), clusters, 0.6)
    assert got == {"model": "univariate", **subgroup_analysis(y, v, [by_study[s] for s in clusters.labels], "REML")}
    first = case["clusters"][0]
    groups[0] = "late" if groups[0] == "early" else "early"  # the first study now in both subgroups
    assert subgroups_dependent(table, groups, "REML", "z", dep)["skipped"].startswith(
        f"the subgroup varies within study {first}: aggregated effects need one subgroup per study")


def test_an_outcome_of_dependent_effect_sizes_gets_its_subgroup_analysis_and_the_report_shows_it(attractiveness_table):
    from metasr.report.html import subgroup_section

    table = attractiveness_table()
    table["raters"] = ["female" if "female" in c else "male" if "male" in c else "clothing"
                       for c in table["comparison"]]
    for method in ("multilevel", "robust"):
        dep = dependence.settings({"dependence": {"method": method, "rho": 0.5}})
        pooled = pool_outcome(table, "SMD", "REML", "z", dependence=dep, subgroup="raters")
        sub = pooled["subgroups"]
        assert sub["variable"] == "raters" and sub["model"] == "three-level"
        assert [lv["level"] for lv in sub["levels"]] == ["clothing", "female", "male"]
        assert sum(lv["k"] for lv in sub["levels"]) == pooled["k"]
        section = subgroup_section(pooled)
        assert section["run"] and "Three-level model with one mean per subgroup" in section["note"]
        assert section["per_level_heterogeneity"] is False  # no tau² or I² columns: the levels share them
        assert section["test"].startswith("F(2, " if method == "robust" else "Q = ")
    one = pool_outcome(table.assign(raters="all"), "SMD", "REML", "z", dependence=dep, subgroup="raters")
    assert "no subgroups to compare" in one["subgroups"]["skipped"]


def test_an_outcome_of_dependent_effect_sizes_gets_its_meta_regression_and_the_report_shows_it(attractiveness_table):
    from metasr.analysis_settings import meta_regression_settings
    from metasr.figures.bubble import _notes
    from metasr.report.html import meta_regression_section
    from metasr.report.methods import moderator_sentences

    settings = meta_regression_settings({"meta_regression": {"moderators": ["year"], "studies_per_coefficient": 3}})
    for method in ("multilevel", "robust"):
        dep = dependence.settings({"dependence": {"method": method, "rho": 0.5}})
        pooled = pool_outcome(attractiveness_table(), "SMD", "REML", "z", dependence=dep, meta_regression=settings,
                              label="Attractiveness")
        reg = pooled["meta_regression"]
        assert reg["model"] == "three-level" and reg["coef_names"] == ["intrcpt", "year"]
        assert (reg["k"], reg["k_studies"]) == (pooled["k"], pooled["k_studies"])
        section = meta_regression_section(pooled)
        summary = dict(section["summary"])
        assert section["k_text"] == f"{reg['k']} effect sizes in {reg['k_studies']} studies (three-level model)"
        assert "Residual σ² (between studies, within studies)" in summary and "Residual tau² [95% CI]" not in summary
        sentence = " ".join(moderator_sentences([pooled]))
        assert "three-level meta-regression (REML; metafor's rma.mv) on year" in sentence
        if method == "robust":
            assert summary["Test of moderators"].startswith(f"F(1, {reg['QM_df'][1]:.1f}) = ")
            assert "(HTZ, CR2)" in summary["Test of moderators"] and "CR2 cluster-robust tests" in sentence
            assert f"F(1, {reg['QM_df'][1]:.1f})" in _notes(reg)
        assert f"k = {reg['k']} in {reg['k_studies']} studies" in _notes(reg)


def test_a_robust_outcome_whose_studies_hold_one_effect_size_each_is_robust_rma(konstantopoulos_table):
    """robust(rma(yi, vi), cluster = district, clubSandwich = TRUE) and its predict() (metafor 3.8-1 on
    each district's first school of dat.konstantopoulos2011)."""
    dep = dependence.settings({"dependence": {"method": "robust", "rho": 0}})
    model = pool_outcome(konstantopoulos_table(first_school=True), "GEN", "REML", "z", dependence=dep)["model"]
    assert (model["model_type"], model["test"]) == ("univariate", "t") and model["model_based"]["test"] == "z"
    assert (model["stat"], model["df"], model["pval"]) == pytest.approx((1.0015822, 9.41, 0.3416022), rel=1e-3)
    assert (model["ci_lb"], model["ci_ub"]) == pytest.approx((-0.1132908, 0.2954820), rel=1e-6)
    assert (model["pi_lb"], model["pi_ub"]) == pytest.approx((-0.5232100, 0.7054012), rel=1e-6)


@pytest.mark.parametrize("method", ["multilevel", "aggregate"])
def test_a_study_without_an_order_value_skips_the_cumulative_analysis_with_the_reason(konstantopoulos_table,
                                                                                     method):
    """As a univariate outcome says it; it was left out without a word (and the figure blamed k)."""
    table = konstantopoulos_table()
    table.loc[table["study_id"].isin(["D11", "D12"]), "year"] = None
    dep = dependence.settings({"dependence": {"method": method, "rho": 0, "rho_sensitivity": [0]}})
    pooled = pool_outcome(table, "GEN", "REML", "z", order_by="year", dependence=dep)
    assert pooled["sensitivity"]["cumulative"] == {
        "unit": "study", "order_by": "year",
        "skipped": "'year' is missing for 2 of 11 studies (D11, D12), so there is no order to add them in; give every "
                   "study a year"}
    assert "estimate" in pooled["sensitivity"]["leave1out"]
