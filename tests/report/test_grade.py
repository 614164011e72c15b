"""GRADE-style suggestions: each rule fires where the handbook says, and config overrides win."""

import copy
import math

import pytest

from metasr import dependence, measures
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
    value, reason = grade.imprecision(pooled)
    assert value == -2 and "both appreciable benefit and appreciable harm" in reason
    pooled["model"].update(ci_lb=0.2, ci_ub=0.9)
    for s in pooled["studies"]:
        s["n1i"], s["n2i"] = 10, 10  # SYNTHETIC: 180 participants in all
    value, reason = grade.imprecision(pooled)
    assert value == -1 and reason.startswith("optimal information size not met: 180 participants < 400 "
                                             "(GRADE's rule of thumb for continuous outcomes)")


def _rr(pooled, lb, ub, est=1.0):
    pooled = copy.deepcopy(pooled)
    pooled["model"].update(estimate=math.log(est), ci_lb=math.log(lb), ci_ub=math.log(ub))  # SYNTHETIC CI
    return pooled


@pytest.mark.parametrize(("ci", "suggested", "rule"), [
    # GRADE 6: with the OIS met, a CI around no effect that excludes RR 0.75 and 1.25 is precise
    ((0.89, 1.12), 0, "the CI includes the null but excludes appreciable effects in both directions (limits RR "
                      "0.75 and 1.25): a precise estimate of little or no effect, not rated down (GRADE 6)"),
    ((0.70, 1.12), -1, "the CI includes the null and an appreciable effect (limits RR 0.75 and 1.25)"),
    ((0.89, 1.30), -1, "the CI includes the null and an appreciable effect"),
    ((0.60, 1.40), -2, "the CI includes both appreciable benefit and appreciable harm (limits RR 0.75 and 1.25): "
                       "very wide (GRADE 6: two levels)"),
    ((0.34, 0.70), 0, "the CI excludes the null"),
])
def test_imprecision_of_a_ratio_with_the_information_size_met(bcg_pooled, ci, suggested, rule):
    # dat.bcg: 357,347 participants against an OIS of 27,256 at its median control risk (below)
    value, reason = grade.imprecision(_rr(bcg_pooled, *ci))
    assert value == suggested and reason.startswith(rule)
    assert reason.endswith("optimal information size met: 357,347 participants ≥ 27,256 (one trial with two-sided "
                           "α 0.05, power 80%, relative risk reduction 25% at the assumed control risk of 16 per "
                           "1,000; GRADE 6)")


def test_a_precise_smd_around_zero_is_not_rated_down(normand_pooled):
    pooled = base(normand_pooled)  # 1,158 participants: the OIS of 400 is met
    pooled["model"].update(estimate=0.01, ci_lb=-0.1, ci_ub=0.12)  # SYNTHETIC CI
    value, reason = grade.imprecision(pooled)
    assert value == 0 and "limits SMD −0.50 and 0.50" in reason and "1,158 participants ≥ 400" in reason
    pooled["model"].update(ci_lb=-0.6, ci_ub=0.12)
    assert grade.imprecision(pooled)[0] == -1


def test_mean_difference_limits_are_half_a_representative_sd(normand_pooled):
    # MD limits: SMD 0.5 times the SoF's SD (sof.sd, else the median control-group SD)
    pooled = {**base(normand_pooled), "measure": "MD"}
    pooled["model"] = {**pooled["model"], "estimate": 0.5, "ci_lb": -4.0, "ci_ub": 4.5}  # SYNTHETIC, in days
    value, reason = grade.imprecision(pooled, {"sd": 10.0})
    assert value == 0 and "limits MD −5.00 and 5.00: SMD −0.5 and 0.5 times an SD of 10.00" in reason
    assert grade.imprecision(pooled, {"sd": 4.0})[0] == -2


def test_optimal_information_size_of_binary_outcomes():
    # (z_0.975 + z_0.80)^2 = 2.801585^2 = 7.848879; pc 0.05, pe 0.0375:
    # 7.848879 * (0.0475 + 0.0360938) / 0.0125^2 = 4199.2 per group: 4,200 per group, 8,400 in all
    assert grade.OIS.binary(0.05) == 8400
    # pc 0.2: 902.6 per group, 1,806 in all (GRADE 6's figure: about 2,000 at a 20% control risk)
    assert grade.OIS.binary(0.2) == 1806
    assert grade.OIS.binary(0.0) is None and grade.OIS.binary(1.0) is None
    # rate ratio 0.75, Poisson counts, equal person-time: 7.848879 * (1 + 4/3) / log(0.75)^2 = 221.3
    # control events, 0.75 times as many in the other group: 387.3, 388 events
    assert grade.OIS.rate_events() == 388
    assert grade.OPTIMAL_INFORMATION_SIZE == grade.OIS.participants == 400


def test_information_size_uses_the_sofs_assumed_control_risk(bcg_pooled):
    # the median control risk of dat.bcg (0.015898) gives 27,256; the reviewers' 5% gives 8,400
    assert grade.information_size(bcg_pooled).needed == 27256
    info = grade.information_size(bcg_pooled, {"assumed_risk": 0.05})
    assert (info.have, info.needed, info.what, info.met) == (357347, 8400, "participants", True)
    # a rare outcome: 1 per 1,000 needs 7.848879 * 0.00174844 / 0.00025^2 = 219,572.4 per group, 439,146
    # participants, more than the trials have
    value, reason = grade.imprecision(_rr(bcg_pooled, 0.34, 0.70, 0.49), {"assumed_risk": 0.001})
    assert value == -1 and reason == (
        "optimal information size not met: 357,347 participants < 439,146 (one trial with two-sided α 0.05, "
        "power 80%, relative risk reduction 25% at the assumed control risk of 1 per 1,000; GRADE 6)")


def test_without_a_control_risk_the_rule_of_thumb_is_300_events(bcg_pooled):
    pooled = copy.deepcopy(bcg_pooled)
    for s in pooled["studies"]:  # SYNTHETIC: no events in any control group, the median control risk is 0
        s["ci"], s["di"] = 0, s["n2i"]
    info = grade.information_size(pooled)
    assert (info.have, info.needed, info.what) == (sum(s["ai"] for s in pooled["studies"]), 300, "events")
    assert "an assumed control risk of 0 per 1,000: GRADE 6's rule of thumb of 300 events" in info.basis
    for s in pooled["studies"]:  # SYNTHETIC: a study's control group not reported
        s.pop("ci"), s.pop("n2i"), s.pop("di", None)
    info = grade.information_size(pooled)
    assert info.basis.startswith("no assumed control risk: GRADE 6's rule of thumb of 300 events")
    assert info.have is None and grade.imprecision(pooled)[1].startswith(
        "the CI excludes the null; optimal information size not assessed: events not known")


def test_rate_ratios_are_judged_on_their_events():
    pooled = {"measure": "IRR", "status": "pooled", "k": 2,  # SYNTHETIC rates: 72 events
              "model": {"estimate": math.log(1.5), "ci_lb": math.log(1.2), "ci_ub": math.log(2.0)},
              "studies": [{"study_id": "A", "x1i": 30, "t1i": 100, "x2i": 20, "t2i": 100},
                          {"study_id": "B", "x1i": 12, "t1i": 50, "x2i": 10, "t2i": 50}]}
    value, reason = grade.imprecision(pooled)
    assert value == -1 and reason.startswith("optimal information size not met: 72 events < 388 (one trial "
                                             "with two-sided α 0.05, power 80%, rate ratio 0.75")


def test_publication_bias_only_with_ten_studies(bcg_pooled):
    bcg_pooled["small_study"]["egger"]["pval"] = 0.04  # SYNTHETIC p
    assert grade.publication_bias(bcg_pooled)[0] == -1
    bcg_pooled["k"] = 9
    assert grade.publication_bias(bcg_pooled)[0] == 0


def bcg_mh_pooled() -> dict:
    """dat.bcg pooled with Mantel-Haenszel (RR): its small-study tests use the common-effect fit."""
    from pathlib import Path

    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "ai": bcg["ai"], "bi": bcg["bi"],
                          "ci": bcg["ci"], "di": bcg["di"]})
    return pool_outcome(table, "RR", "MH", "z", outcome="tb")


def test_a_common_effect_egger_test_under_heterogeneity_does_not_rate_down():
    # metafor 3.8-1 on dat.bcg: rma.mh(measure = "RR") I² = 92.13%; regtest(rma(yi, vi, method = "FE"))
    # p = 1.57e-06, while regtest(rma(yi, vi)) (REML) p = 0.42
    pooled = bcg_mh_pooled()
    assert pooled["model"]["I2"] == pytest.approx(92.13463, abs=1e-4)
    assert pooled["small_study"]["fit"]["method"] == "FE"
    assert pooled["small_study"]["egger"]["pval"] == pytest.approx(1.571309e-06, rel=1e-5)
    value, reason = grade.publication_bias(pooled)
    assert value == 0 and reason == (
        "Egger's test P < 0.0001, not rated down automatically: it regresses on a common-effect model although "
        "I² = 92%, and small-study tests have an inflated type I error under heterogeneity (Sterne et al. BMJ "
        "2011;343:d4002; Cochrane Handbook 13.3.5.4); reviewers judge (outcomes.tb.grade.publication_bias)")
    from metasr.report.methods import grade_sentence

    assert "with at least 10 studies (not from a common-effect model's test when I² was above 50%, as such tests " \
           "have an inflated type I error under heterogeneity (Sterne et al. BMJ 2011): left to the reviewers)" \
        in grade_sentence([pooled], {})
    # the same common-effect test without substantial heterogeneity still rates down
    pooled["model"]["I2"] = 40.0  # SYNTHETIC I²
    assert grade.publication_bias(pooled)[0] == -1


@pytest.mark.parametrize("measure", measures.in_family("single-group proportions"))
def test_publication_bias_of_proportions_is_left_to_reviewers(bcg_pooled, measure):
    pooled = {**bcg_pooled, "measure": measure, "outcome": "prevalence"}
    pooled["small_study"]["egger"]["pval"] = 0.016  # SYNTHETIC p
    value, reason = grade.publication_bias(pooled)
    assert value == 0 and reason == (
        "Egger's test P = 0.016, not rated down automatically: small-study tests of single-group proportions are "
        "unreliable (Hunter et al. J Clin Epidemiol 2014;67:897-903); reviewers judge "
        "(outcomes.prevalence.grade.publication_bias)")
    g = grade.grade_outcome(pooled, {"grade": {"publication_bias": -1}})
    assert g["domains"]["publication_bias"]["final"] == -1


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


@pytest.mark.parametrize("design", [
    "controlled trial, non-random allocation", "non-random controlled trial", "nonrandomized trial",
    "quasi-experimental controlled trial", "quasi-randomised trial", "pseudo-randomised",
    "historically controlled trial",
    "historical controls", "alternate allocation", "allocated alternately", "allocation by alternation",
    "systematic allocation", "allocated by date of birth", "controlled before-after study",
    "controlled before and after", "interrupted time series", "not randomised", "patients were not randomized",
    "Mendelian randomisation", "natural experiment", "difference-in-differences", "NRSI", "register-based cohort",
    "prospective controlled trial", "pre-post study",
])
def test_allocation_that_is_not_random_is_non_randomised(design):
    # the BCG trials' allocation (dat.bcg alloc: alternate, systematic) written as a reviewer would
    assert grade.study_design({"design": design}) == "non-randomised"


@pytest.mark.parametrize("design", [
    "randomised controlled trial", "Randomized controlled trial", "RCT", "RCTs", "cluster RCT",
    "cluster-randomized trial", "randomised cross-over trial", "crossover trial, randomized",
    "controlled trial, random allocation", "randomly assigned", "random assignment",
    "randomised pre-test post-test design", "stepped-wedge cluster randomised",
    "randomised trial of an alternative medicine",
])
def test_only_explicit_randomisation_is_randomised(design):
    assert grade.study_design({"design": design}) == "randomised"


@pytest.mark.parametrize("design", ["controlled trial", "controlled clinical trial", "clinical trial",
                                    "cross-over trial"])
def test_a_controlled_trial_that_does_not_state_its_allocation_is_not_assumed_randomised(design):
    assert grade.study_design({"design": design}) is None
    start, why, _ = grade.starting_level({"studies": [{"study_id": "A"}]}, {"A": {"design": design}})
    assert start == "low" and f"study design not recognised for 1 of 1 studies (design column: '{design}'" in why


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
    robins = {i: {"design": "cohort", "rob_tool": "ROBINS-I", "rob_overall": "moderate"} for i in ids}
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
    assert value == -2 and reason == "100% of the judged weight from studies at high (serious) risk or worse"
    some = {i: {"rob_tool": "RoB2", "rob_overall": "some concerns"} for i in ids[1:]}
    value, reason = grade.risk_of_bias(pooled, some)
    assert value == -1 and reason.endswith("of the judged weight from studies with at least some concerns "
                                           "(moderate); 1 study not assessed")


def test_only_studies_assessed_with_robins_start_high(normand_pooled):
    # SYNTHETIC: cohorts whose rob_tool is ROBINS-I, only the first one judged (tester's /tmp/trob/g1)
    pooled = base(normand_pooled)
    ids = [s["study_id"] for s in pooled["studies"]]
    named = {i: {"design": "prospective cohort", "rob_tool": "ROBINS-I"} for i in ids}
    named[ids[0]] = {**named[ids[0]], "rob_overall": "low"}
    start, why, via_robins = grade.starting_level(pooled, named)
    assert (start, via_robins) == ("low", False)
    assert why == "all 9 studies non-randomised: started low; 8 studies with rob_tool ROBINS-I/ROBINS-E but " \
                  "no judgement (only studies assessed with ROBINS start high)"
    assert grade.grade_outcome(pooled, {}, named)["start"] == "low"


def test_risk_of_bias_needs_half_of_the_weight_judged(normand_pooled):
    pooled = base(normand_pooled)
    studies = dependence.weighted_studies(pooled)
    heaviest = max(studies, key=lambda s: s["weight"])
    one = {heaviest["study_id"]: {"rob_tool": "RoB2", "rob_overall": "high"}}  # SYNTHETIC
    value, reason = grade.risk_of_bias(pooled, one)
    unjudged = 1 - heaviest["weight"] / sum(s["weight"] for s in studies)
    assert unjudged > grade.MIN_JUDGED_WEIGHT
    assert value == 0 and reason == (
        f"no suggestion: {unjudged:.0%} of the analysis weight is from studies without a risk-of-bias judgement "
        f"({len(studies) - 1} studies not assessed), more than 50%; reviewers must judge")
    everyone = {s["study_id"]: {"rob_tool": "RoB2", "rob_overall": "high"} for s in studies}
    assert grade.risk_of_bias(pooled, everyone)[0] == -2


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
    assert (start, reason) == ("high", "both studies are randomised trials: started high")
    one = {"studies": [{"study_id": "A"}, {"study_id": "A"}]}
    assert grade.starting_level(one, {"A": {"design": "RCT"}})[1] == "the one study is a randomised trial: started high"
    assert grade.starting_level(pooled, {sid: {"design": "cohort"} for sid in "AB"})[1] == \
        "both studies non-randomised: started low"
    robins = {"A": {"design": "cohort", "rob_tool": "ROBINS-I", "rob_confounding": "serious"}, "B": {"design": "RCT"}}
    assert grade.starting_level(pooled, robins)[1].startswith("1 non-randomised study assessed with ROBINS-I")


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


def test_the_methods_paragraph_states_the_rules_applied(bcg_pooled):
    from metasr.report.methods import grade_sentence

    rule = grade.imprecision_rule()
    for claim in ("two-sided α 0.05, power 80%, relative risk reduction 25% at the assumed control risk",
                  "or 300 events without one", "fewer than 400 participants",
                  "none for an interval around the null that excludes appreciable effects both ways"):
        assert claim in rule
    assert rule in grade_sentence([bcg_pooled], {})
    assert "Randomised trials (a design stating random allocation: a controlled trial that does not was not taken " \
           "as randomised)" in grade_sentence([bcg_pooled], {})
    assert "single-group proportions" not in grade_sentence([bcg_pooled], {})
    proportions = {**bcg_pooled, "measure": "PFT"}
    assert "with at least 10 studies (not for single-group proportions, whose small-study tests are unreliable: " \
           "left to the reviewers)" in grade_sentence([bcg_pooled, proportions], {})
