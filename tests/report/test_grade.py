"""GRADE-style suggestions: each rule fires where the handbook says, and config overrides win."""

import copy
import math

import pytest

from metasr.report import grade


def base(normand_pooled):
    pooled = copy.deepcopy(normand_pooled)
    pooled["k"] = len(pooled["studies"])
    return pooled


def test_inconsistency_and_imprecision_from_normand(normand_pooled):
    # I2 = 95% and the PI [-2.38, 1.31] crosses 0 while the CI [-1.14, 0.07] also does: -1;
    # the CI includes both -0.5 and +0.5? no (upper 0.07), but it includes 0: imprecision -1.
    g = grade.grade_outcome(base(normand_pooled), {})
    assert g["domains"]["inconsistency"]["suggested"] == -1
    assert g["domains"]["imprecision"]["suggested"] == -1
    assert g["domains"]["publication_bias"]["suggested"] == 0
    assert "k = 9" in g["domains"]["publication_bias"]["reason"]
    assert g["start"] == "low" and g["certainty"] == "very low"


@pytest.mark.parametrize(("i2", "ci", "suggested"), [
    (92, (-0.7, -0.5), -2), (92, (-0.2, 0.3), -1), (60, (-0.7, -0.5), -1), (40, (-0.7, -0.5), 0)])
def test_inconsistency_of_a_model_without_prediction_interval_is_judged_on_i2(bcg_pooled, i2, ci, suggested):
    # a Mantel-Haenszel or common-effect fit has no PI: no claim about one, and I2 still counts (SYNTHETIC values)
    bcg_pooled["model"].update(I2=i2, ci_lb=ci[0], ci_ub=ci[1], pi_lb=None, pi_ub=None)
    value, reason = grade.inconsistency(bcg_pooled)
    assert value == suggested and "prediction interval excludes" not in reason
    assert f"I² = {i2}%" in reason and "no prediction interval" in reason


def test_imprecision_both_ways_and_optimal_information_size(normand_pooled):
    pooled = base(normand_pooled)
    pooled["model"].update(ci_lb=-0.8, ci_ub=0.9)
    assert grade.imprecision(pooled)[0] == -2
    pooled["model"].update(ci_lb=0.2, ci_ub=0.9)
    for s in pooled["studies"]:
        s["n1i"], s["n2i"] = 10, 10  # SYNTHETIC: 180 participants in all
    value, reason = grade.imprecision(pooled)
    assert value == -1 and "180 participants" in reason


def test_publication_bias_only_with_ten_studies(bcg_pooled):
    bcg_pooled["small_study"]["egger"]["pval"] = 0.04  # SYNTHETIC p
    assert grade.publication_bias(bcg_pooled)[0] == -1
    bcg_pooled["k"] = 9
    assert grade.publication_bias(bcg_pooled)[0] == 0


def test_risk_of_bias_from_judgements_and_trials_start_high(normand_pooled):
    pooled = base(normand_pooled)
    ids = [s["study_id"] for s in pooled["studies"]]
    judged = {i: {"rob_tool": "RoB2", "rob_overall": "high"} for i in ids}  # SYNTHETIC
    g = grade.grade_outcome(pooled, {}, judged)
    assert g["start"] == "high" and g["domains"]["risk_of_bias"]["suggested"] == -2
    assert grade.risk_of_bias(pooled, {})[0] == 0  # not assessed: no suggestion


def test_config_overrides_are_applied_and_marked(normand_pooled):
    cfg = {"grade": {"inconsistency": 0, "indirectness": -1, "reason": "SYNTHETIC reason"}}
    g = grade.grade_outcome(base(normand_pooled), cfg)
    assert g["domains"]["inconsistency"] == {"suggested": -1, "final": 0, "overridden": True,
                                             "reason": g["domains"]["inconsistency"]["reason"]}
    assert g["domains"]["indirectness"]["final"] == -1 and g["override_reason"] == "SYNTHETIC reason"


def test_unpooled_outcomes_are_not_graded():
    g = grade.grade_outcome({"status": "single_study", "status_message": "k = 1: not pooled"}, {})
    assert g == {"applicable": False, "reason": "k = 1: not pooled"}


@pytest.mark.parametrize("design, expected", [
    ("RCT", "randomised"), ("cluster-randomised trial", "randomised"),
    ("Randomized controlled trial (parallel)", "randomised"), ("randomised crossover", "randomised"),
    ("cRCT", "randomised"), ("non-randomised controlled trial", "non-randomised"),
    ("quasi-randomized", "non-randomised"), ("prospective cohort", "non-randomised"),
    ("case-control", "non-randomised"), ("Cross-sectional", "non-randomised"),
    ("cross-sectional diagnostic accuracy study", "diagnostic"), ("", None), ("trial", None),
    ("prospective", "non-randomised"), ("Retrospective", "non-randomised"),
    ("longitudinal", "non-randomised"), ("prospective randomised trial", "randomised"),
    ("single-arm trial", "non-randomised"), ("pilot", None),
])
def test_study_design_from_the_design_text(design, expected):
    assert grade.study_design({"design": design}) == expected


def test_study_design_falls_back_to_the_risk_of_bias_tool():
    assert grade.study_design({"rob_tool": "RoB2"}) == "randomised"
    assert grade.study_design({"rob_tool": "ROBINS-I"}) == "non-randomised"
    assert grade.study_design({"design": "cohort", "rob_tool": "RoB2"}) == "non-randomised"


def test_starting_certainty_by_design(normand_pooled):
    pooled = base(normand_pooled)
    ids = [s["study_id"] for s in pooled["studies"]]
    rcts = {i: {"design": "RCT"} for i in ids}  # SYNTHETIC designs, no risk-of-bias judgements
    start, why, _ = grade.starting_level(pooled, rcts)
    assert start == "high" and "all 9 studies are randomised trials" in why
    mixed = {**rcts, ids[0]: {"design": "retrospective cohort"}}
    assert grade.starting_level(pooled, mixed)[:2] == ("low", "1 of 9 studies non-randomised: "
                                                              "started low")
    unknown = {i: {} for i in ids}
    assert "design not recorded for 9 of 9" in grade.starting_level(pooled, unknown)[1]
    robins = {i: {"design": "cohort", "rob_tool": "ROBINS-I"} for i in ids}
    assert grade.starting_level(pooled, robins)[0::2] == ("high", True)
    # the grade of 9 RCTs without judgements: high - inconsistency - imprecision = low
    assert grade.grade_outcome(pooled, {}, rcts)["certainty"] == "low"


def test_risk_of_bias_tiers_and_robins_third_level(normand_pooled):
    pooled = base(normand_pooled)
    ids = [s["study_id"] for s in pooled["studies"]]
    moderate = {i: {"rob_tool": "ROBINS-I", "rob_overall": "moderate"} for i in ids}  # SYNTHETIC
    assert grade.risk_of_bias(pooled, moderate, True)[0] == -1
    critical = {i: {"rob_tool": "ROBINS-I", "rob_overall": "critical"} for i in ids}
    assert grade.risk_of_bias(pooled, critical, True)[0] == -3
    assert grade.risk_of_bias(pooled, critical, False)[0] == -2
    # the overall is derived by the tool's rule when the sheet leaves it empty
    derived = {i: {"rob_tool": "RoB2", "rob_randomisation": "high", "rob_deviations": "low",
                   "rob_missing": "low", "rob_measurement": "low", "rob_reporting": "low"}
               for i in ids}
    value, reason = grade.risk_of_bias(pooled, derived)
    assert value == -2 and reason.startswith("100% of the judged weight")


def test_large_effect_rates_up_low_certainty_evidence_not_rated_down(bcg_pooled):
    pooled = copy.deepcopy(bcg_pooled)
    pooled["model"].update(estimate=math.log(0.3), ci_lb=math.log(0.2), ci_ub=math.log(0.45),
                           I2=10.0, pi_lb=math.log(0.15), pi_ub=math.log(0.6))  # SYNTHETIC
    pooled["small_study"]["egger"]["pval"] = 0.5
    cohorts = {s["study_id"]: {"design": "cohort"} for s in pooled["studies"]}
    g = grade.grade_outcome(pooled, {}, cohorts)
    assert g["upgrades"]["large_effect"]["suggested"] == 1
    assert "RR 0.30 (> 2 or < 0.5)" in g["upgrades"]["large_effect"]["reason"]
    assert g["start"] == "low" and g["certainty"] == "moderate"
    pooled["model"]["estimate"] = math.log(0.15)
    assert grade.large_effect(pooled)[0] == 2
    # rated down: no rating up suggested; reviewers' dose-response still counts
    g = grade.grade_outcome(pooled, {"grade": {"indirectness": -1, "dose_response": 1}}, cohorts)
    assert g["upgrades"]["large_effect"]["suggested"] == 0
    assert g["upgrades"]["dose_response"] == {"suggested": 0, "final": 1, "overridden": True,
                                              "reason": g["upgrades"]["dose_response"]["reason"]}
    assert g["certainty"] == "low"  # low - 1 + 1
    # never above high
    rcts = {s["study_id"]: {"design": "RCT"} for s in pooled["studies"]}
    g = grade.grade_outcome(pooled, {"grade": {"plausible_confounding": 1}}, rcts)
    assert g["certainty"] == "high"
    assert grade.large_effect({"measure": "SMD", "model": {"estimate": 2.0}, "k": 5})[0] == 0


def test_starting_level_counts_studies_not_effect_sizes():
    # SYNTHETIC: two studies with three effect sizes each, no design recorded
    pooled = {"studies": [{"study_id": sid} for sid in ("A", "A", "A", "B", "B", "B")]}
    start, reason, _ = grade.starting_level(pooled, {"A": {"design": ""}, "B": {}})
    assert start == "low" and reason.startswith("study design not recorded for 2 of 2 studies")
    start, reason, _ = grade.starting_level(pooled, {sid: {"design": "RCT"} for sid in "AB"})
    assert (start, reason) == ("high", "all 2 studies are randomised trials: started high")


def test_an_unrecognised_design_is_named_not_called_missing():
    pooled = {"studies": [{"study_id": sid} for sid in ("A", "B", "C", "D")]}
    studies = {"A": {"design": "pilot"}, "B": {"design": " pilot "}, "C": {"design": "<b>mixed</b>"},
               "D": {"design": ""}}  # SYNTHETIC design texts
    start, reason, _ = grade.starting_level(pooled, studies)
    assert start == "low"
    assert "study design not recorded for 1 of 4 studies (design column)" in reason
    assert "study design not recognised for 3 of 4 studies (design column: 'pilot' (2 studies), " \
           "'<b>mixed</b>' (1 study); write it as, e.g., randomised controlled trial, " in reason
    long = {"A": {"design": "x" * 200}}
    _, reason, _ = grade.starting_level({"studies": [{"study_id": "A"}]}, long)
    assert "'" + "x" * 59 + "…'" in reason
