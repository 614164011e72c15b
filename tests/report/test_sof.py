"""Summary of findings: absolute effects per 1,000 from a relative effect and an assumed risk
(GRADE guidelines 12; Cochrane Handbook 14.1.5), natural units for continuous outcomes, and the
footnotes that carry every rating's reason. Worked numbers are computed by hand below."""

import copy
import math

import pytest

from metasr import measures
from metasr.report import grade, sof


def test_corresponding_risk_formulas():
    # RR: ACR x RR. An assumed risk of 200 per 1,000 and RR 0.75 (0.60 to 0.94):
    # 150 per 1,000 (120 to 188): 50 fewer (80 fewer to 12 fewer).
    assert [sof.per_1000(sof.corresponding_risk("risk ratio", 0.2, rr)) for rr in (0.75, 0.6, 0.94)] == \
        [150, 120, 188]
    # OR: ACR x OR / (1 - ACR + ACR x OR). 200 per 1,000 and OR 0.5: 0.1 / 0.9 = 111 per 1,000;
    # OR 2 with 100 per 1,000: 0.2 / 1.1 = 182 per 1,000
    assert sof.per_1000(sof.corresponding_risk("odds ratio", 0.2, 0.5)) == 111
    assert sof.per_1000(sof.corresponding_risk("odds ratio", 0.1, 2.0)) == 182
    # HR: 1 - (1 - ACR)^HR. 300 per 1,000 and HR 0.8: 1 - 0.7^0.8 = 0.2482
    assert sof.corresponding_risk("hazard ratio", 0.3, 0.8) == pytest.approx(1 - 0.7 ** 0.8, rel=1e-12)
    assert sof.per_1000(sof.corresponding_risk("hazard ratio", 0.3, 0.8)) == 248
    # RD: ACR + RD (absolute_effects cuts it to [0, 1], with a footnote)
    assert sof.corresponding_risk("risk difference", 0.2, -0.05) == pytest.approx(0.15)
    assert sof.corresponding_risk("risk difference", 0.02, -0.05) == pytest.approx(-0.03)


def test_per_1000_rounds_half_away_from_zero():
    assert (sof.per_1000(0.1875), sof.per_1000(-0.1875), sof.per_1000(0.0004)) == (188, -188, 0)


def test_absolute_effects_from_config_assumed_risk_and_scenarios(bcg_pooled):
    pooled = copy.deepcopy(bcg_pooled)
    pooled["model"].update(estimate=math.log(0.75), ci_lb=math.log(0.6), ci_ub=math.log(0.94))
    rows = sof.absolute_effects(pooled, {"assumed_risk": 0.2, "assumed_risk_source": "SYNTHETIC",
                                         "scenarios": {"High risk": 0.4}})
    assert [(r["label"], r["control"], r["experimental"], r["difference"]) for r in rows] == [
        ("Assumed", 200, (150, 120, 188), (-50, -80, -12)),
        ("High risk", 400, (300, 240, 376), (-100, -160, -24))]


def test_assumed_risk_is_the_median_control_risk_of_the_studies(bcg_pooled):
    # dat.bcg: control-group risks ci / n2i of 13 trials; their median is 11/692 (Comstock 1974
    # has 0.015898); pooled RR 0.489 (0.344 to 0.696) from metafor
    rows = sof.absolute_effects(bcg_pooled, {})
    (row,) = rows
    assert row["risk"] == pytest.approx(0.01589825119236884, rel=1e-12)
    assert "median control-group risk of the 13 studies" in row["source"]
    assert (row["control"], row["experimental"], row["difference"]) == (16, (8, 5, 11),
                                                                        (-8, -10, -5))


def test_sof_row_text_and_footnotes(bcg_pooled):
    section = {"id": "bcg_tb", "label": "TB", "k": 13, "status_message": "",
               "grade": grade.grade_outcome(bcg_pooled, {})}
    row = sof.sof_row(section, bcg_pooled, {})
    assert row["relative"] == "RR 0.49 (0.34 to 0.70)"
    assert row["control"] == ["16 per 1,000"]
    assert row["experimental"] == ["8 per 1,000 (5 to 11)"]
    assert row["difference"] == ["8 fewer per 1,000 (10 fewer to 5 fewer)"]
    texts = sof.number_footnotes([row])
    assert row["assumed_marks"] == [1] and texts[0].startswith("Assumed control risk 16 per 1,000")
    assert any(t.startswith("Inconsistency: rated down") for t in texts)
    assert any(t.startswith("Starting certainty low: study design not recorded") for t in texts)


def test_continuous_outcomes_in_natural_units(normand_pooled):
    # SMD -0.537 (-1.142 to 0.068) times the median control-group SD (27 days) of 9 studies
    section = {"id": "los", "label": "Length of stay", "k": 9, "status_message": "",
               "grade": grade.grade_outcome(normand_pooled, {})}
    row = sof.sof_row(section, normand_pooled, {"unit": "days"})
    assert row["relative"] == "SMD 0.54 lower (1.14 lower to 0.07 higher)"
    assert row["control"] == ["mean 31.0 days"]
    assert row["difference"][0] == "MD 14.5 days lower (30.8 lower to 1.8 higher)"
    assert any("with an SD of 27.0 (median control-group SD of 9 studies)" in t
               for _, t in row["notes"])
    # without a unit the SMD is not re-expressed; a reviewer's SD and control mean win
    assert not sof.sof_row(section, normand_pooled, {})["difference"][0].startswith("MD")
    cont = sof.continuous_effect(normand_pooled, {"sd": 10.0, "control_mean": 20.0}, "days")
    assert cont["difference"][0] == pytest.approx(-5.37108258432961, rel=1e-12)
    assert cont["control_mean"] == 20.0


def test_rates_and_generic_effects():
    pooled = {"measure": "IRR", "status": "pooled", "k": 2,  # SYNTHETIC rates
              "model": {"estimate": math.log(1.5), "ci_lb": math.log(1.2), "ci_ub": math.log(2.0)},
              "studies": [{"x1i": 30, "t1i": 100, "x2i": 20, "t2i": 100},
                          {"x1i": 12, "t1i": 50, "x2i": 10, "t2i": 50}]}
    (row,) = sof.absolute_effects(pooled, {})
    assert row["risk"] == pytest.approx(0.2) and row["experimental"] == (300, 240, 400)
    assert sof.absolute_effects({**pooled, "measure": "GEN"}, {}) == []


@pytest.mark.parametrize("measure, shown, expected", [
    # Fisher's z is pooled, r is shown: tanh(z) (metafor's transf.ztor)
    ("ZCOR", (0.23, 0.20, 0.26), "Correlation 0.23 (0.20 to 0.26)"),
    # logit proportions are pooled, proportions are shown in % (transf.ilogit)
    ("PLO", (0.7575, 0.6605, 0.8337), "Proportion (%) 75.75 (66.05 to 83.37)"),
    ("RR", (0.49, 0.34, 0.70), "RR 0.49 (0.34 to 0.70)"),
])
def test_relative_effect_is_on_the_display_scale(measure, shown, expected):
    display = measures.display_for(measure)
    model = dict(zip(("estimate", "ci_lb", "ci_ub"), (display.forward(v) for v in shown), strict=True))
    assert sof.relative_text({"measure": measure, "model": model}) == expected  # SYNTHETIC estimates


def _rd(bcg_pooled, est, lb, ub):
    pooled = copy.deepcopy(bcg_pooled)  # dat.bcg's tables, SYNTHETIC risk differences
    pooled.update(measure="RD")
    pooled["model"].update(estimate=est, ci_lb=lb, ci_ub=ub)
    return pooled


def test_a_risk_difference_is_the_difference_and_a_cut_risk_is_footnoted(bcg_pooled):
    # RD -0.029 (-0.0566 to -0.002) at an assumed control risk of 50 per 1,000: the difference is the RD
    # itself, 29 fewer (57 fewer to 2 fewer); the corresponding risk 21 (-7 -> 0 to 48) per 1,000
    pooled = _rd(bcg_pooled, -0.029, -0.0566, -0.002)
    (row,) = sof.absolute_effects(pooled, {"assumed_risk": 0.05})
    assert (row["experimental"], row["difference"]) == ((21, 0, 48), (-29, -57, -2))
    assert row["truncated"] == [("lower limit", -7)]
    section = {"id": "tb", "label": "TB", "k": 13, "status_message": "", "grade": grade.grade_outcome(pooled, {})}
    cells = sof.sof_row(section, pooled, {"sof": {"assumed_risk": 0.05}})
    assert cells["experimental"] == ["21 per 1,000 (0 to 48)"]
    assert cells["difference"] == ["29 fewer per 1,000 (57 fewer to 2 fewer)"]
    assert ("assumed", "Corresponding risk truncated to 0 per 1,000: the assumed control risk with the RD's lower "
                       "limit gives −7 per 1,000.") in cells["notes"]
    # within 0 to 1 nothing is cut and no note is written; nor when the cut is less than 0.5 per 1,000
    (row,) = sof.absolute_effects(_rd(bcg_pooled, -0.029, -0.0466, -0.002), {"assumed_risk": 0.05})
    assert row["truncated"] == [] and row["difference"] == (-29, -47, -2)
    (row,) = sof.absolute_effects(_rd(bcg_pooled, -0.029, -0.0503, -0.002), {"assumed_risk": 0.05})
    assert row["truncated"] == [] and row["experimental"][1] == 0 and row["difference"][1] == -50
    # a risk ratio that takes the risk above 1: cut to 1,000, the difference from the cut risk
    rr = copy.deepcopy(bcg_pooled)
    rr["model"].update(estimate=math.log(1.5), ci_lb=math.log(1.1), ci_ub=math.log(2.5))  # SYNTHETIC
    (row,) = sof.absolute_effects(rr, {"assumed_risk": 0.6})
    assert row["experimental"] == (900, 660, 1000) and row["difference"] == (300, 60, 400)
    assert row["truncated"] == [("upper limit", 1500)]


@pytest.mark.parametrize(("smd", "size"), [
    (0.0, "less than small"), (0.19, "less than small"), (0.2, "small"), (-0.49, "small"), (0.5, "moderate"),
    (-0.8, "large"), (2.1, "large")])
def test_smd_size_by_the_rule_of_thumb(smd, size):
    # Cochrane Handbook 15.5.3.1: 0.2 small, 0.5 moderate, 0.8 large
    assert sof.smd_size(smd) == size


def test_an_smd_without_a_unit_is_sized_and_no_cell_holds_only_a_mark(normand_pooled):
    section = {"id": "los", "label": "Length of stay", "k": 9, "status_message": "",
               "grade": grade.grade_outcome(normand_pooled, {})}
    row = sof.sof_row(section, normand_pooled, {})
    # SMD -0.54 (-1.14 to 0.07)
    assert row["difference"] == ["SMD size: moderate (95% CI: large lower to less than small higher)"]
    assert row["control"] == ["no common unit"]
    sof.number_footnotes([row])
    assert row["assumed_marks"] == [1, 2]
    assert ("assumed", sof.SMD_SIZE_NOTE) in row["notes"]
    # with a unit: the mean difference, then the size
    row = sof.sof_row(section, normand_pooled, {"unit": "days"})
    assert row["difference"] == ["MD 14.5 days lower (30.8 lower to 1.8 higher)",
                                 "SMD size: moderate (95% CI: large lower to less than small higher)"]
    pooled = copy.deepcopy(normand_pooled)
    pooled["model"].update(estimate=0.9, ci_lb=0.6, ci_ub=1.2)  # SYNTHETIC
    assert sof.sof_row(section, pooled, {})["difference"] == ["SMD size: large (95% CI: moderate to large)"]


def test_counts_zero_differences_and_mark_order(bcg_pooled):
    assert (sof._more_fewer(0), sof._more_fewer(-8), sof._more_fewer(1234)) == ("0 fewer/more", "8 fewer",
                                                                                  "1,234 more")
    assert sof._higher_lower(0.004, 2) == "0.00 higher/lower" and sof._higher_lower(-0.3, 1) == "0.3 lower"
    null = copy.deepcopy(bcg_pooled)
    null["model"].update(estimate=math.log(0.99), ci_lb=math.log(0.89), ci_ub=math.log(1.12))  # SYNTHETIC
    section = {"id": "tb", "label": "TB", "k": 13, "status_message": "", "grade": grade.grade_outcome(null, {})}
    row = sof.sof_row(section, null, {"sof": {"assumed_risk": 0.006}})
    assert row["difference"] == ["0 fewer/more per 1,000 (1 fewer to 1 more)"]
    assert row["participants"] == "357,347" and row["participants_n"] == 357347
    rows = [{"notes": [("start", "a"), ("down", "b"), ("down", "c")]},
            {"notes": [("start", "d"), ("down", "c"), ("assumed", "e"), ("assumed", "a"), ("down", "a")]}]
    assert sof.number_footnotes(rows) == ["a", "b", "c", "d", "e"]
    assert (rows[1]["marks"], rows[1]["assumed_marks"]) == ([1, 3, 4], [1, 5])


def test_rates_per_1000_have_thousands_separated():
    pooled = {"measure": "IRR", "status": "pooled", "k": 2, "outcome": "r",  # SYNTHETIC rates
              "model": {"estimate": math.log(1.5), "ci_lb": math.log(1.2), "ci_ub": math.log(2.0)},
              "studies": [{"study_id": "A", "x1i": 300, "t1i": 100, "x2i": 200, "t2i": 100}]}
    section = {"id": "r", "label": "Relapses", "k": 1, "status_message": "", "grade": grade.grade_outcome(pooled, {})}
    row = sof.sof_row(section, pooled, {"sof": {"time_unit": "person-years"}})
    assert row["control"] == ["2,000 per 1,000 person-years"]
    assert row["experimental"] == ["3,000 per 1,000 person-years (2,400 to 4,000)"]
    assert row["difference"] == ["1,000 more per 1,000 person-years (400 more to 2,000 more)"]


def test_a_generic_effect_is_a_difference_in_its_unit():
    model = {"estimate": 0.08, "ci_lb": 0.02, "ci_ub": 0.14}  # SYNTHETIC
    assert sof.relative_text({"measure": "GEN", "model": model}, "EDSS points per year") == \
        "Difference 0.08 (0.02 to 0.14) EDSS points per year"
    assert sof.relative_text({"measure": "GEN", "model": model}) == "Difference 0.08 (0.02 to 0.14)"
    ratio = {"measure": "GEN", "transform": {"name": "exp"}, "model": model}
    assert sof.relative_text(ratio).startswith("Ratio 1.08")
    # metafor's robust(rma.mv(...), clubSandwich = TRUE) on dat.konstantopoulos2011: 0.1905 [-0.0026, 0.3836]
    robust = {"estimate": 0.19051950634988496, "ci_lb": -0.002552045426440386, "ci_ub": 0.3835910581262103}
    assert sof.relative_text({"measure": "GEN", "model": robust}) == "Difference 0.191 (−0.003 to 0.384)"


def test_a_single_group_mean_is_in_the_outcomes_unit():
    """MNLN: log means pooled, means shown (exp), in the outcome's unit; the unit is not added to a
    ratio (SYNTHETIC estimates)."""
    display = measures.display_for("MNLN")
    model = dict(zip(("estimate", "ci_lb", "ci_ub"), (display.forward(v) for v in (33.88, 21.78, 52.69)),
                     strict=True))
    assert sof.relative_text({"measure": "MNLN", "model": model}, "days") == "Mean 33.88 (21.78 to 52.69) days"
    assert sof.relative_text({"measure": "RR", "model": model}, "days").startswith("RR ")
