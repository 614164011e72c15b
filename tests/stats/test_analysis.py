"""pool_outcome (results/pooled/{outcome}.json) and analyse: statuses, not-usable rows,
transformed estimates, small-study and sensitivity thresholds, JSON safety."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr import analysis_settings as settings, measures
from metasr.errors import InputError
from metasr.stats.analysis import analyse, json_safe, pool_outcome
from metasr.stats.effects import Options

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = {c["id"]: c for c in json.loads((FIXTURES / "expected.json").read_text())["cases"]}
KEYS = ["outcome", "label", "measure", "method", "test", "dependence", "status", "status_message", "k", "k_studies",
        "k_rows", "k_not_usable", "studies", "not_usable", "model", "common_effect", "transform", "transformed",
        "small_study", "meta_regression", "sensitivity", "published"]


def extraction_table(bcg_rows: int, extra_not_usable: bool = True) -> pd.DataFrame:
    """Extraction-style table built from the BCG trials (real counts) plus a synthetic unusable row."""
    bcg = pd.read_csv(FIXTURES / "inputs/bcg.csv").head(bcg_rows)
    table = pd.DataFrame({
        "study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"], "year": bcg["year"],
        "usable": True, "not_usable_reason": np.nan, "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"],
        "di": bcg["di"], "record_id": [f"R{i}" for i in range(len(bcg))], "source_location": "Table 2",
    })
    table = table.astype({"label": object, "not_usable_reason": object, "source_location": object})
    if extra_not_usable:
        extra = pd.DataFrame([{"study_id": "X99", "label": "Synthetic 2020", "year": 2020, "usable": False,
                               "not_usable_reason": "direction only: no numbers to pool"}])
        table = pd.concat([table, extra], ignore_index=True) if len(table) else extra.reindex(columns=table.columns)
    return table


def test_pooled_outcome_matches_metafor_and_keeps_provenance():
    result = pool_outcome(extraction_table(13), "RR", "REML", "z", outcome="bcg", label="BCG")
    assert list(result) == KEYS
    assert result["status"] == "pooled" and result["k"] == 13 and result["k_rows"] == 14
    assert result["not_usable"] == [{"study_id": "X99", "reason": "direction only: no numbers to pool"}]
    expected = CASES["bcg_RR_REML_z"]["expected"]
    for key in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "pi_lb", "pi_ub", "tau2_ci"):
        assert np.allclose(result["model"][key], expected[key], rtol=1e-6)
    fe = CASES["bcg_RR_FE_z"]["expected"]
    assert math.isclose(result["common_effect"]["estimate"], fe["estimate"], rel_tol=1e-6)
    assert math.isclose(result["transformed"]["estimate"], math.exp(expected["estimate"]), rel_tol=1e-9)
    assert math.isclose(result["transformed"]["pi_ub"], math.exp(expected["pi_ub"]), rel_tol=1e-6)
    study = result["studies"][0]
    assert study["study_id"] == "S00" and study["record_id"] == "R0" and study["source_location"] == "Table 2"
    assert study["ai"] == 4 and math.isclose(study["weight"], expected["weights"][0], rel_tol=1e-6)
    assert math.isclose(study["ci_lb"], study["yi"] - 1.959963984540054 * study["sei"], rel_tol=1e-12)
    assert "egger" in result["small_study"] and "leave1out" in result["sensitivity"]
    assert result["sensitivity"]["cumulative"]["order_by"] == "year"
    json.dumps(result, allow_nan=False)


def test_small_study_tests_skipped_below_ten_and_sensitivity_from_three():
    result = pool_outcome(extraction_table(5), "OR", "DL", "z")
    assert result["small_study"]["skipped"] == "k = 5 < 10: small-study methods not run (Cochrane Handbook 13.3.5.4)"
    assert set(result["small_study"]) == {"skipped", "reported_egger", "settings", "fit"}
    assert result["sensitivity"] is not None
    two = pool_outcome(extraction_table(2), "OR", "DL", "z")
    # two studies: no leave-one-out or influence, but the cumulative analysis (two steps)
    assert two["status"] == "pooled" and set(two["sensitivity"]) == {"cumulative"}
    cumul = two["sensitivity"]["cumulative"]
    assert len(cumul["estimate"]) == 2 and cumul["estimate"][-1] == two["model"]["estimate"]


@pytest.mark.parametrize("k", [2, 3, 5, 10, 13])
@pytest.mark.parametrize("min_k", [3, 10])
def test_metasr_pool_and_the_pipeline_run_the_same_sections_at_each_k(k, min_k):
    """One set of rules about k (analysis_settings.sections_at): small-study tests from the
    configured minimum, leave-one-out and influence from 3, the cumulative analysis from 2."""
    table = extraction_table(k, extra_not_usable=False)
    pooled = pool_outcome(table, "OR", "DL", "z", order_by="year",
                          small_study={**settings.SMALL_STUDY_DEFAULTS, "min_k": min_k})
    printed = analyse(table, "OR", "DL", "z", order="year", small_study_min_k=min_k)
    expected = settings.sections_at(k, min_k, ordered=True)
    assert ("skipped" not in pooled["small_study"]) == expected["small_study"] == ("egger" in printed)
    if expected["small_study"]:
        assert math.isclose(printed["egger"]["pval"], pooled["small_study"]["egger"]["pval"], rel_tol=1e-12)
    sections = set(pooled["sensitivity"] or {})
    assert ("leave1out" in sections) == expected["sensitivity"] == ("leave1out" in printed)
    assert ("cumulative" in sections) == expected["cumulative"] == ("cumulative" in printed)


def test_metasr_pool_takes_the_small_study_minimum(capsys, tmp_path):
    from metasr.cli import main

    path = tmp_path / "bcg.csv"
    extraction_table(5, extra_not_usable=False).to_csv(path, index=False)
    assert main(["pool", str(path), "--measure", "OR", "--method", "DL"]) == 0
    assert "egger" not in json.loads(capsys.readouterr().out)
    assert main(["pool", str(path), "--measure", "OR", "--method", "DL", "--small-study-min-k", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["egger"]["pval"] is not None
    with pytest.raises(SystemExit):
        main(["pool", str(path), "--measure", "OR", "--method", "DL", "--small-study-min-k", "2"])
    assert "not a whole number of at least 3" in capsys.readouterr().err


def test_single_study_and_no_data():
    one = pool_outcome(extraction_table(1), "RR", "REML", "z")
    assert one["status"] == "single_study" and one["status_message"] == "k = 1: not pooled"
    assert one["model"] is None and one["transformed"] is None and one["studies"][0]["weight"] == 100.0
    none = pool_outcome(extraction_table(0), "RR", "REML", "z", published={"estimate": 1.1})
    assert none["status"] == "no_data" and none["k"] == 0 and none["k_not_usable"] == 1
    assert none["studies"] == [] and none["published"] == {"estimate": 1.1}
    assert pool_outcome(extraction_table(0, extra_not_usable=False), "RR", "REML")["k_rows"] == 0


def test_mantel_haenszel_outcome_has_weights_and_iv_common_effect():
    result = pool_outcome(extraction_table(13), "RR", "MH", "z")
    assert math.isclose(result["model"]["estimate"], CASES["bcg_RR_MH"]["expected"]["estimate"], rel_tol=1e-9)
    assert math.isclose(sum(s["weight"] for s in result["studies"]), 100.0)
    assert result["common_effect"]["k"] == 13


def test_bad_usable_flag_is_reported():
    table = extraction_table(3)
    table["usable"] = table["usable"].astype(object)
    table.loc[1, "usable"] = "maybe"
    with pytest.raises(InputError) as err:
        pool_outcome(table, "RR", "REML")
    assert (err.value.problems[0].row, err.value.problems[0].column) == (3, "usable")


def test_analyse_subgroup_and_metareg_routes():
    bcg = pd.read_csv(FIXTURES / "inputs/bcg.csv")
    sub = analyse(bcg, "RR", "REML", subgroup="alloc")
    assert sub["levels"] == ["alternate", "random", "systematic"]
    reg = analyse(bcg, "RR", "REML", mods=["ablat"])
    assert np.allclose(reg["coef"], CASES["bcg_RR_metareg_ablat_z"]["expected"]["coef"], rtol=1e-6)
    with pytest.raises(InputError):
        analyse(bcg, "RR", "REML", mods=["nope"])
    with pytest.raises(InputError):
        analyse(bcg.assign(one="x"), "RR", "REML", subgroup="one")


def test_json_safe_replaces_non_finite_numbers():
    assert json_safe({"a": np.float64("nan"), "b": [np.inf, np.int64(3)], "c": np.array([1.5])}) == \
        {"a": None, "b": [None, 3], "c": [1.5]}


def test_cumulative_skipped_with_reason_when_a_year_is_missing():
    table = extraction_table(4, extra_not_usable=False)
    table["year"] = table["year"].astype(object)
    table.loc[2, "year"] = np.nan
    result = pool_outcome(table, "RR", "DL", "z", file="x.csv")
    skipped = result["sensitivity"]["cumulative"]["skipped"]
    assert "'year' is missing for 1 of 4 studies (S02)" in skipped
    assert "leave1out" in result["sensitivity"]
    without_year = extraction_table(4, extra_not_usable=False).drop(columns="year")
    no_year = pool_outcome(without_year, "RR", "DL", order_by="year")
    assert "order column 'year' is not a column" in no_year["sensitivity"]["cumulative"]["skipped"]


def test_an_order_column_of_numbers_with_one_cell_that_is_not_one_is_refused_not_sorted_as_text():
    """'13,598' among numbers would turn the whole order into text order (10 before 9)."""
    table = extraction_table(13, extra_not_usable=False).astype({"year": object})
    table.loc[3, "year"] = "13,598"
    with pytest.raises(InputError) as err:
        analyse(table, "RR", "DL", "z", order="year", file="t.csv")
    (problem,) = err.value.problems
    assert (problem.row, problem.column, problem.value) == (5, "year", "13,598")
    skipped = pool_outcome(table, "RR", "DL", "z", order_by="year")["sensitivity"]["cumulative"]["skipped"]
    assert "not one" in skipped and "13,598" in skipped


def test_an_order_column_of_text_orders_as_text():
    table = extraction_table(5, extra_not_usable=False)
    result = analyse(table, "RR", "DL", "z", order="label", small_study_min_k=3)
    labels = table["label"].tolist()
    assert [labels[i] for i in result["cumulative"]["study_index"]] == sorted(labels)


def test_cumulative_without_any_year_says_so_once():
    """A review whose studies have no years: one sentence, not one per study."""
    table = extraction_table(13, extra_not_usable=False).assign(year=np.nan)
    skipped = pool_outcome(table, "RR", "DL", "z", file="x.csv")["sensitivity"]["cumulative"]["skipped"]
    assert skipped.count("missing") == 1 and "13 of 13 studies" in skipped and "and 8 more" in skipped


def bcg_with_alloc(k: int = 13) -> pd.DataFrame:
    """The BCG extraction table with each trial's allocation (metafor's dat.bcg alloc)."""
    alloc = pd.read_csv(FIXTURES / "inputs/bcg.csv")["alloc"].head(k)
    return extraction_table(k, extra_not_usable=False).assign(alloc=alloc.to_numpy())


@pytest.mark.parametrize("method,test", [("REML", "z"), ("DL", "knha")])
def test_the_pipeline_subgroup_analysis_is_metasr_pools(method, test):
    """`subgroup` gives the numbers of `metasr pool --subgroup`, and each study its level."""
    table = bcg_with_alloc()
    pooled = pool_outcome(table, "RR", method, test, subgroup="alloc")
    pooled_alone = analyse(table, "RR", method, test, subgroup="alloc")
    expected = {key: pooled_alone[key] for key in ("levels", "estimate", "se", "tau2", "k", "Q_between",
                                                   "Q_between_df", "Q_between_pval")}
    expected["fits"] = pooled_alone["fits"]  # each level's model, and its results on the display scale
    assert pooled_alone["overall"]["estimate"] == pooled["model"]["estimate"]
    assert pooled["subgroups"] == {"variable": "alloc", **expected}
    assert list(pooled).index("subgroups") == list(pooled).index("meta_regression") + 1
    assert [s["subgroup"] for s in pooled["studies"]] == table["alloc"].tolist()
    assert pooled["model"] == pool_outcome(table, "RR", method, test)["model"]  # the overall model is unchanged


PRITZ = Path(__file__).resolve().parents[1] / "fixtures" / "measures" / "inputs" / "pritz1997.csv"


def pritz_by_era() -> pd.DataFrame:
    """dat.pritz1997 (metadat) with a SYNTHETIC subgroup: studies 1-7 'early', 8-14 'late'."""
    table = pd.read_csv(PRITZ)
    return table.assign(study_id=[f"P{i + 1:02d}" for i in range(len(table))],
                        era=["early" if i < 7 else "late" for i in range(len(table))])


# metafor 3.8-1: dat <- escalc("PFT", xi = xi, ni = ni, data = dat.pritz1997); for each era g,
# predict(rma(yi, vi, data = dat, subset = g), transf = transf.ipft.hm, targs = list(ni = dat$ni[g])):
# pred, ci.lb, ci.ub, pi.lb, pi.ub (each era's own harmonic mean of ni, 14.59 and 11.07; with all 14
# studies' the early era would read 0.8174 [0.6688, 0.9338]).
PRITZ_ERA_PFT = {"early": [0.8145237739, 0.6672179360, 0.9302470709, 0.4398747483, 1.0],
                 "late": [0.7914959383, 0.6346709199, 0.9179182936, 0.4091256577, 1.0]}


def test_a_freeman_tukey_subgroup_is_back_transformed_with_its_own_harmonic_mean():
    table = pritz_by_era()
    pooled = pool_outcome(table, "PFT", "REML", subgroup="era")
    alone = analyse(table, "PFT", "REML", subgroup="era")
    for level, expected in PRITZ_ERA_PFT.items():
        shown = pooled["subgroups"]["fits"][level]["transformed"]
        # REML's tau2 agrees with metafor's to its convergence tolerance (1e-5 relative here)
        assert np.allclose([shown[k] for k in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")], expected,
                           rtol=1e-5), level
        assert alone["fits"][level]["transformed"] == shown  # `metasr pool --subgroup` and the pipeline alike


def test_a_subgroup_without_an_mh_estimate_is_not_estimable_and_the_others_are_compared():
    """dat.bcg by allocation with the 'alternate' trials' events removed (SYNTHETIC): metafor's
    rma.mh(subset = alloc == level) gives NA there; the other two as metafor 3.8-1 and the Wald test
    between them: rma(c(b_random, b_systematic), sei = c(se_random, se_systematic), method = "FE")$QE."""
    no_events = bcg_with_alloc().assign(ai=lambda t: np.where(t["alloc"] == "alternate", 0, t["ai"]),
                                        ci=lambda t: np.where(t["alloc"] == "alternate", 0, t["ci"]))
    sub = pool_outcome(no_events, "OR", "MH", subgroup="alloc")["subgroups"]
    assert sub["levels"] == ["alternate", "random", "systematic"] and sub["k"] == [2, 7, 4]
    assert sub["estimate"][0] is None and sub["se"][0] is None and "alternate" not in sub["fits"]
    assert np.allclose(sub["estimate"][1:], [-0.3530900741942039, -0.4475454176811045], rtol=1e-12)
    assert np.allclose(sub["se"][1:], [0.0529685654588158, 0.0936265270171198], rtol=1e-12)
    assert np.allclose([sub["Q_between"], sub["Q_between_pval"]], [0.771009660892497, 0.379904886784610], rtol=1e-10)
    assert sub["Q_between_df"] == 1 and "'ai' is 0 in every study" in sub["not_estimable"]["alternate"]
    assert sub["Q_between_note"].startswith("subgroup 'alternate' not estimable")
    from metasr.figures import forest

    pooled = pool_outcome(no_events, "OR", "MH", subgroup="alloc")
    rows, _ = forest.build_rows(pooled, [forest.Column("effect", "")], "none")
    assert [r.cells["effect"] for r in rows if r.kind == "subtotal"][0] == "not estimable"  # RevMan's words


def test_one_estimable_mh_subgroup_is_reported_without_a_test_between_subgroups():
    """SYNTHETIC tables, subgroup B without events: metafor 3.8-1 rma.mh(measure = "OR", subset = g == "A")
    gives -0.9409833 (SE 0.4546583), subset B gives NA; no test between one estimate."""
    import pandas as pd

    table = pd.DataFrame({"study_id": list("abcd"), "ai": [5, 3, 0, 0], "n1i": [50, 40, 30, 20],
                          "ci": [10, 8, 0, 0], "n2i": [50, 40, 30, 25], "g": ["A", "A", "B", "B"]})
    pooled = pool_outcome(table, "OR", "MH", subgroup="g")
    sub = pooled["subgroups"]
    assert sub["levels"] == ["A", "B"] and sub["estimate"][1] is None and list(sub["not_estimable"]) == ["B"]
    assert np.allclose([sub["estimate"][0], sub["se"][0]], [-0.9409833444645264, 0.4546583346083158], rtol=1e-7)
    assert sub["Q_between"] is None and sub["Q_between_pval"] is None
    assert sub["Q_between_note"] == ("no test for subgroup differences: it needs at least two subgroups with an "
                                     "estimate; subgroup 'B' not estimable (its MH estimate is undefined)")
    alone = analyse(table, "OR", "MH", subgroup="g")  # `metasr pool --subgroup`
    assert alone["Q_between"] is None and "Q_between_test" not in alone and alone["fits"]["A"] == sub["fits"]["A"]
    from metasr.figures import forest
    from metasr.report import html

    rows, footnotes = forest.build_rows(pooled, [forest.Column("effect", "")], "none")
    assert [r.cells["effect"] for r in rows if r.kind == "subtotal"] == ["0.39 [0.16, 0.95]", "not estimable"]
    assert "No test for subgroup differences: it needs at least two subgroups with an estimate; subgroup 'B' not " \
           "estimable (its MH estimate is undefined)" in footnotes
    section = html.subgroup_section(pooled)
    assert section["run"] and section["test"] == "not done" and section["note"].startswith("No test for subgroup")


def test_a_subgroup_analysis_that_cannot_run_says_why():
    one_level = pool_outcome(bcg_with_alloc().assign(alloc="random"), "RR", "REML", subgroup="alloc")
    assert one_level["subgroups"] == {"variable": "alloc", "skipped": "every pooled study has the same 'alloc' "
                                                                      "(random): no subgroups to compare"}
    assert "subgroup" not in one_level["studies"][0]
    # events in the treated arms of one subgroup only and in the control arms of the others
    none = bcg_with_alloc().assign(ai=lambda t: np.where(t["alloc"] == "random", t["ai"], 0),
                                   ci=lambda t: np.where(t["alloc"] == "random", 0, t["ci"]))
    undefined = pool_outcome(none, "OR", "MH", subgroup="alloc")["subgroups"]["skipped"]
    assert undefined.startswith("the MH estimate of every subgroup is undefined ('alternate': ")
    single = pool_outcome(bcg_with_alloc(1), "RR", "REML", subgroup="alloc")
    assert single["subgroups"]["skipped"] == "k = 1: the outcome is not pooled"
    assert "subgroups" not in pool_outcome(bcg_with_alloc(), "RR", "REML")


# ---------------------------------------------------------------- every measure, pooled and back-transformed
# tests/fixtures/measures (tools/reference/measures.R): rma(REML and DL, one Knapp-Hartung case) and
# predict(fit, transf = ...) on published metadat data sets.

MEASURE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"
POOLED = json.loads((MEASURE_FIXTURES / "measures.json").read_text())["pooled"]
POOLED_KEYS = ("k", "estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q", "Q_pval", "pi_lb",
               "pi_ub")


def case_options(case) -> Options:
    o = case["options"] or {}
    return Options(add=o.get("add"), to=o.get("to", "only0"), drop00=bool(o.get("drop00", False)), vtype=o.get("vtype"))


def assert_pooled_matches(result: dict, case: dict) -> None:
    for key in POOLED_KEYS:
        assert np.isclose(result[key], case["expected"][key], rtol=1e-6, atol=1e-10), key
    assert result["transform"]["name"] == case["transform"]
    for key, value in case["transformed"].items():
        assert np.isclose(result["transformed"][key], value, rtol=1e-6, atol=1e-10), key
    for name, value in (case["targs"] or {}).items():
        assert math.isclose(result["transform"]["args"][name], value, rel_tol=1e-12)


@pytest.mark.parametrize("case", POOLED, ids=lambda c: c["id"])
def test_every_measure_pools_and_back_transforms_as_metafor(case):
    table = pd.read_csv(MEASURE_FIXTURES / case["input"], dtype=str, keep_default_na=False)
    result = analyse(table, case["measure"], case["method"], case["test"], options=case_options(case))
    assert_pooled_matches(result, case)


def test_drop00_studies_are_listed_not_pooled():
    case = next(c for c in POOLED if (c["options"] or {}).get("drop00"))
    table = pd.read_csv(MEASURE_FIXTURES / case["input"], dtype=str, keep_default_na=False)
    result = pool_outcome(table, case["measure"], case["method"], options=case_options(case))
    assert result["k"] == case["expected"]["k"] == len(table) - 1
    assert [n["study_id"] for n in result["not_usable"]] == [None] and "drop00" in result["not_usable"][0]["reason"]
    assert math.isclose(result["transformed"]["estimate"], case["transformed"]["estimate"], rel_tol=1e-6)


def test_generic_effects_on_the_log_scale_are_exponentiated():
    # GEN with scale: log was shown as ratios but had no `transformed`; now it has, as a ratio measure.
    bcg = CASES["bcg_RR_REML_z"]
    table = pd.DataFrame({"yi": bcg["yi"], "vi": bcg["vi"]})
    gen = analyse(table, "GEN", "REML", scale="log")
    assert gen["transform"]["name"] == "exp" and gen["transform"]["display"] == "ratio"
    assert math.isclose(gen["transformed"]["estimate"], math.exp(bcg["expected"]["estimate"]), rel_tol=1e-6)
    assert analyse(table, "GEN", "REML")["transform"]["name"] == "identity"


@pytest.mark.parametrize("case_id", ["bcg_OR_PETO", "egger2001_OR_PETO"])
def test_peto_as_a_measure_pools_with_rma_peto(case_id):
    # rma.peto takes its study effects from escalc(measure = "PETO"): the measure and the method agree.
    case = CASES[case_id]
    table = pd.read_csv(FIXTURES / case["input"], dtype=str, keep_default_na=False)
    result = analyse(table, "PETO", "PETO")
    for key in ("estimate", "se", "ci_lb", "ci_ub", "Q", "pval"):
        assert math.isclose(result[key], case["expected"][key], rel_tol=1e-6), key
    assert math.isclose(result["transformed"]["estimate"], math.exp(case["expected"]["estimate"]), rel_tol=1e-9)


@pytest.mark.parametrize("case_id", ["bcg_OR_PETO", "egger2001_OR_PETO"])
def test_a_peto_fit_of_odds_ratios_lists_the_studies_peto_effects_as_rma_peto_does(case_id):
    """rma.peto's yi and vi are escalc(measure = "PETO")'s whichever the measure: the studies shown
    beside the Peto estimate are on its scale (they were the log odds ratios, 1/2 added to zeros)."""
    case = CASES[case_id]
    table = pd.read_csv(FIXTURES / case["input"], dtype=str, keep_default_na=False)
    odds, peto = analyse(table, "OR", "PETO"), analyse(table, "PETO", "PETO")
    assert odds["yi"] == peto["yi"] and odds["vi"] == peto["vi"] and odds["estimate"] == peto["estimate"]
    assert odds["transform"]["name"] == peto["transform"]["name"] == "exp"


@pytest.mark.parametrize("method, test", [("REML", "z"), ("DL", "knha"), ("PM", "t"), ("FE", "z"), ("MH", "z")])
def test_the_fit_alone_is_the_fit_part_of_the_whole_analysis(monkeypatch, method, test):
    """`metasr pool --what fit` stops after the model: the same numbers, without the refits."""
    from metasr.stats import grouped, sensitivity

    table = extraction_table(13, extra_not_usable=False)
    whole = grouped.fit_part(analyse(table, "OR", method, test, order="year", small_study_min_k=3))

    def refused(*args, **kwargs):
        raise AssertionError("refits run for the fit alone")

    monkeypatch.setattr(sensitivity, "leave_one_out_and_influence", refused)
    monkeypatch.setattr(sensitivity, "cumulative", refused)
    alone = analyse(table, "OR", method, test, order="year", small_study_min_k=3, fit_only=True)
    assert grouped.fit_part(alone) == whole
    assert "leave1out" not in alone and "egger" not in alone and "tau2_ci" not in alone


def test_rows_after_blank_lines_are_named_by_their_spreadsheet_row(tmp_path):
    path = tmp_path / "effects.csv"  # SYNTHETIC
    path.write_text("study,yi,vi\nA,0.1,0.01\n\nB,0.3,0.02\n,,\nC,0.2,-1\n\n")
    from metasr.stats.analysis import read_study_table

    table = read_study_table(str(path))
    assert table["_row"].tolist() == [2, 4, 6]
    with pytest.raises(InputError) as err:
        analyse(table, measure="GEN", method="DL")
    assert [(p.row, p.column) for p in err.value.problems] == [(6, "vi")]


@pytest.mark.parametrize(("text", "rule", "rows"), [
    ("study,yi,vi\nA,0.1,0.01,0.5\nB,0.3,0.02,0.5\nC,0.2,0.015,0.5\n", "row-width", [2, 3, 4]),  # index trap
    ("study,yi,vi\nA,0.1,0.01,9\nB,0.3,0.02\nC,0.2,0.015\n", "row-width", [2]),
    ("study,yi,vi\nA,0.1,0.01\nB,0.3\nC,0.2,0.015\n", "row-width", [3]),
    ("study,yi,vi\nA,0.1,0.01,9\nB,0.3,0.02\nC,0.2\n", "row-width", [2, 4]),  # widths balance in total
    ("A,0.1,0.01\nB,0.3,0.02\n", "header-row", [1]),
    ("study;yi;vi\nA;0,1;0,01\nB;0,3;0,02\n", "csv-delimiter", [1]),
    ("study\tyi\tvi\nA\t0.1\t0.01\nB\t0.3\t0.02\n", "csv-delimiter", [1]),
    ("sep=;\nstudy;yi;vi\nA;0,1;0,01\n", "csv-delimiter", [1]),
    ("sep=,\nstudy,yi,vi\nA,0.1,0.01\nB,0.3\nC,0.2,0.015\n", "row-width", [3]),  # rows as Excel numbers them
    ("sep=,\nstudy,yi,vi,,\nA,0.1,0.01,,\nB,0.3,0,02,\n", "named columns", [3]),
    ("study,yi,vi,\nA,0.1,0.01,\nB,0.3,0,02\n", "named columns", [3]),  # a decimal comma, unquoted
    ("study,yi,yi,vi\nA,0.1,5,0.01\nB,0.3,5,0.02\n", "unique-column", [1]),
])
def test_a_table_of_another_shape_than_its_header_is_refused(tmp_path, text, rule, rows):
    """SYNTHETIC tables pandas would misread: the cells of a row shifted into the next column,
    padded, or the first data row taken as the header."""
    from metasr.stats.analysis import read_study_table

    path = tmp_path / "effects.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_study_table(str(path))
    assert [(p.rule, p.row) for p in err.value.problems] == [(rule, row) for row in rows]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_table_after_excels_separator_line_is_read_with_excels_row_numbers(tmp_path, end):
    """SYNTHETIC: Excel hides the `sep=,` line, so the header is row 1 there."""
    from metasr.stats.analysis import read_study_table

    path = tmp_path / "effects.csv"
    path.write_bytes(end.join(["\ufeffsep=,", "study,yi,vi,,", "A,0.1,0.01,,", "", "B,0.3,0.02,,", ""]).encode())
    table = read_study_table(str(path))
    assert table["study"].tolist() == ["A", "B"] and table["_row"].tolist() == [2, 4]


def test_a_table_with_old_mac_line_ends_is_read_as_with_any_other(tmp_path):
    from metasr.stats.analysis import read_study_table

    path = tmp_path / "mac.csv"
    path.write_bytes(b"study,yi,vi\rA,0.1,0.01\rB,0.3,0.02\rC,0.2,0.015\r")
    table = read_study_table(str(path))
    assert table["study"].tolist() == ["A", "B", "C"] and table["_row"].tolist() == [2, 3, 4]


TABLE_SENSITIVITY = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "table_sensitivity"
                                / "expected.json").read_text())["cases"]


def table_sensitivity_input(case: dict) -> pd.DataFrame:
    """The case's tables as an extraction table, `year` holding cumul()'s order."""
    cells = ("x1i", "t1i", "x2i", "t2i") if case["measure"] == "IRR" else ("ai", "bi", "ci", "di")
    table = pd.DataFrame({cell: case[cell] for cell in cells})
    table.insert(0, "study_id", [f"S{i:02d}" for i in range(len(table))])
    return table.assign(usable=True, year=case["cumulative"]["order"])


@pytest.mark.parametrize("case", TABLE_SENSITIVITY, ids=[c["id"] for c in TABLE_SENSITIVITY])
def test_mantel_haenszel_and_peto_sensitivity_refits_their_own_method_as_metafor(case):
    options = Options(to=case["options"]["to"]) if case["options"] else None
    result = pool_outcome(table_sensitivity_input(case), case["measure"], case["method"], options=options)
    assert math.isclose(result["model"]["estimate"], case["estimate"], rel_tol=1e-10)
    sens = result["sensitivity"]
    assert "influence" not in sens  # metafor has influence diagnostics for inverse-variance models only
    for analysis in ("leave1out", "cumulative"):
        for key in [key for key in case[analysis] if key != "order"]:  # cumulative: also stat, Q_pval, H2
            got, want = sens[analysis][key], case[analysis][key]
            assert [g is None for g in got] == [w is None for w in want], (analysis, key)
            assert np.allclose([g for g in got if g is not None], [w for w in want if w is not None],
                               rtol=1e-9, atol=1e-12), (analysis, key)



@pytest.mark.parametrize("method, estimates, ses", [
    # metafor 3.8-1, dat.bcg by alloc: rma.mh(measure = "OR", ..., subset = alloc == l) and rma.peto(...);
    # Q between: rma(est, sei = se, method = "FE")$QE (MH: 21.549878413, P 2.09171908894e-05)
    ("MH", [-0.840665081558, -0.353090074194, -0.447545417681], [0.0909174430938, 0.0529685654588, 0.0936265270171]),
    ("PETO", [-0.82112328465, -0.353240430492, -0.457186735519], [0.0869601559713, 0.0525185998466, 0.0952994789422]),
])
def test_mantel_haenszel_and_peto_subgroups_refit_their_own_method(method, estimates, ses):
    sub = pool_outcome(bcg_with_alloc(), "OR", method, subgroup="alloc")["subgroups"]
    assert sub["levels"] == ["alternate", "random", "systematic"]
    assert np.allclose(sub["estimate"], estimates, rtol=1e-10) and np.allclose(sub["se"], ses, rtol=1e-10)
    if method == "MH":
        assert sub["Q_between"] == pytest.approx(21.549878413, rel=1e-10)
        assert sub["Q_between_pval"] == pytest.approx(2.09171908894e-05, rel=1e-9)


def test_a_subgroup_without_variance_is_left_out_of_the_test_and_said_to_be():
    """SYNTHETIC 2x2 tables: subgroup 'none' has no events, so its MH risk difference is 0 with
    SE 0 (as rma.mh's); it would have infinite weight in Q between."""
    from metasr.stats.subgroup import q_between

    table = pd.DataFrame({"study_id": ["S1", "S2", "S3", "S4", "S5"], "year": [2001, 2002, 2003, 2004, 2005],
                          "ai": [3, 5, 10, 8, 0], "n1i": [50, 60, 55, 70, 40], "ci": [6, 9, 4, 5, 0],
                          "n2i": [50, 62, 57, 71, 41], "grp": ["a", "a", "b", "b", "none"]})
    sub = pool_outcome(table, "RD", "MH", subgroup="grp")["subgroups"]
    assert sub["se"][2] == 0 and sub["Q_between_df"] == 1
    assert sub["Q_between"] == q_between(sub["estimate"][:2], sub["se"][:2])[0]
    assert sub["Q_between_note"].startswith("subgroup 'none' left out of the test")


SINGLE_MEANS = [c for c in POOLED if c["measure"] in measures.in_family("single-group means")]


@pytest.mark.parametrize("case", SINGLE_MEANS, ids=lambda c: c["id"])
def test_single_group_means_match_metafor_closely(case):
    # dat.senn2013, dat.normand1999 and dat.curtis1998 arms: escalc(MN / MNLN) + rma (REML, DL; z and
    # knha) + predict(transf = exp for MNLN), to 1e-8 (tools/reference/measures.R)
    table = pd.read_csv(MEASURE_FIXTURES / case["input"], dtype=str, keep_default_na=False)
    result = analyse(table, case["measure"], case["method"], case["test"])
    for key in POOLED_KEYS:
        assert result[key] == pytest.approx(case["expected"][key], rel=1e-8, abs=1e-12), key
    for key, value in case["transformed"].items():
        assert result["transformed"][key] == pytest.approx(value, rel=1e-8, abs=1e-12), key
    assert result["transform"]["name"] == ("exp" if case["measure"] == "MNLN" else "identity")


def test_single_group_means_cover_both_measures_methods_and_tests():
    covered = {(c["measure"], c["method"], c["test"]) for c in SINGLE_MEANS}
    assert {(m, method, "z") for m in measures.in_family("single-group means") for method in ("REML", "DL")} <= covered
    assert {("MN", "REML", "knha"), ("MNLN", "DL", "knha")} <= covered


PAIRED_MEANS = [c for c in POOLED if c["measure"] in measures.in_family("paired means")]


# metafor 3.8-1's measures added after the first ones: 2x2 associations, IRSD, SMD1, partial correlations
ADDED = ("PHI", "YUQ", "YUY", "IRSD", "SMD1", "PCOR", "SPCOR")
ADDED_CASES = [c for c in POOLED if c["measure"] in ADDED]


@pytest.mark.parametrize("case", PAIRED_MEANS + ADDED_CASES, ids=lambda c: c["id"])
def test_later_measures_match_metafor_closely(case):
    # escalc + rma (REML, DL; z and knha) + predict (transf = exp for ROMC), to 1e-8
    # (tools/reference/measures.R): paired means on dat.lehmann2018's 12 within-subjects studies (and
    # the 5 that give the SD of the differences); dat.bourassa1996 (PHI, YUQ, YUY), dat.bcg (PHI,
    # vtype ST), dat.nielweise2007 (YUY, drop00), dat.hart1999 (IRSD), dat.normand1999 (SMD1),
    # dat.aloe2013 (PCOR, SPCOR)
    table = pd.read_csv(MEASURE_FIXTURES / case["input"], dtype=str, keep_default_na=False)
    result = analyse(table, case["measure"], case["method"], case["test"], options=case_options(case))
    for key in POOLED_KEYS:
        assert result[key] == pytest.approx(case["expected"][key], rel=1e-8, abs=1e-12), key
    for key, value in case["transformed"].items():
        assert result["transformed"][key] == pytest.approx(value, rel=1e-8, abs=1e-12), key
    assert result["transform"]["name"] == measures.get(case["measure"]).transform


def test_paired_means_cover_every_measure_method_and_test():
    covered = {(c["measure"], c["method"], c["test"]) for c in PAIRED_MEANS}
    assert {(m, method, "z") for m in measures.in_family("paired means") for method in ("REML", "DL")} <= covered
    assert {("SMCC", "REML", "knha"), ("ROMC", "DL", "knha")} <= covered


def test_added_measures_are_pooled_by_reml_and_dl():
    covered = {(c["measure"], c["method"], c["test"]) for c in ADDED_CASES}
    assert {(m, method, "z") for m in ADDED for method in ("REML", "DL")} <= covered
    assert {("PCOR", "REML", "knha"), ("YUQ", "DL", "knha"), ("SMD1", "REML", "knha")} <= covered


def test_the_sheets_text_columns_reach_the_pooled_studies_as_written():
    """es_id 1.1 and 1.10 (section numbers) are two effect sizes, and a study id 007 is not 7."""
    table = pd.DataFrame({"study_id": ["007", "008", "009"], "es_id": ["1.1", "1.10", "2"],
                          "yi": [0.1, 0.3, 0.2], "vi": [0.01, 0.02, 0.015]})  # SYNTHETIC
    studies = pool_outcome(table, "GEN", "REML")["studies"]
    assert [(s["study_id"], s["es_id"]) for s in studies] == [("007", "1.1"), ("008", "1.10"), ("009", "2")]


DROP00_CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "mantel_haenszel"
                           / "expected.json").read_text())["drop00_cases"]


def drop00_input(case: dict) -> pd.DataFrame:
    cells = [c for c in ("ai", "bi", "ci", "di", "x1i", "t1i", "x2i", "t2i") if c in case]
    table = pd.DataFrame({cell: case[cell] for cell in cells})
    table.insert(0, "study_id", [f"S{i:02d}" for i in range(len(table))])
    return table


@pytest.mark.parametrize("case", DROP00_CASES, ids=[c["id"] for c in DROP00_CASES])
def test_drop00_keeps_the_tables_in_a_mantel_haenszel_or_peto_estimate_as_metafor(case):
    """rma.mh / rma.peto(drop00 = TRUE): k counts every table (a double-zero table weighs in the MH
    risk and rate differences), k.yi the tables with an effect; only Q leaves the others out."""
    want = case["expected"]
    result = analyse(drop00_input(case), case["measure"], case["method"], options=Options(drop00=True))
    assert (result["k"], result.get("k_yi", result["k"]), result["Q_df"]) == (want["k"], want["k_yi"], want["Q_df"])
    for key in ("estimate", "se", "Q"):
        assert math.isclose(result[key], want[key], rel_tol=1e-10), key
    assert [y is None for y in result["yi"]] == [y is None for y in want["yi"]]
    assert np.allclose([y for y in result["yi"] if y is not None], [y for y in want["yi"] if y is not None],
                       rtol=1e-10)
    assert np.allclose(result["leave1out"]["estimate"], want["leave1out_estimate"], rtol=1e-9, atol=1e-14)
    assert np.allclose(result["leave1out"]["Q"], want["leave1out_Q"], rtol=1e-9, atol=1e-12)
    assert "not_usable" not in result


@pytest.mark.parametrize("case", [c for c in DROP00_CASES if c["id"] in ("axfors2021_RD", "synthetic_rates_IRD")],
                         ids=lambda c: c["id"])
def test_drop00_outcome_pooled_by_mantel_haenszel_counts_every_table_as_a_study(case):
    want = case["expected"]
    out = pool_outcome(drop00_input(case).assign(usable=True), case["measure"], "MH", options=Options(drop00=True))
    assert (out["k"], out["k_studies"], out["k_not_usable"]) == (want["k"], want["k"], 0)
    assert out["model"]["k_yi"] == want["k_yi"]
    assert math.isclose(out["model"]["estimate"], want["estimate"], rel_tol=1e-10)
    assert [s["yi"] is None for s in out["studies"]] == [y is None for y in want["yi"]]
    assert sum(s["effect_source"] == "drop00" for s in out["studies"]) == want["k"] - want["k_yi"]
    assert out["common_effect"]["k"] == want["k_yi"]  # the inverse-variance model of the tables' effects
