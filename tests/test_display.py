"""How numbers read: one set of rules for figures and report (metasr.display)."""

import math
import subprocess
import sys

import pytest

from metasr import display as dp, measures


def test_display_imports_nothing_heavy():
    code = ("import sys, metasr.display; "
            "print(sorted(m for m in ('numpy', 'pandas', 'matplotlib', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_finite_takes_numbers_and_numeric_text_only():
    import numpy as np

    assert dp.finite(0.5) == 0.5 and dp.finite(-0.0) == 0.0 and dp.finite(3) == 3.0 and dp.finite("2.5") == 2.5
    assert dp.finite(np.float64(1.5)) == 1.5 and dp.finite(np.int64(2)) == 2.0
    for value in (math.nan, math.inf, -math.inf, None, True, False, "", "abc", "nan", [1.0], np.nan):
        assert dp.finite(value) is None, value


def test_numbers_have_a_true_minus_and_no_negative_zero():
    assert dp.number(-0.42) == "−0.42" and dp.number(0.42) == "0.42"
    assert dp.number(-0.001) == "0.00" and dp.number(-0.004, 2) == "0.00"
    assert dp.number(None) == "" and dp.number(float("nan"), missing="–") == "–"
    assert dp.number(True) == ""  # a flag is not a number
    # a ratio's bound far from the data (exp of a large log): an exponent, not 24 digits
    assert dp.number(1.6846562296869367e23) == "1.68e+23" and dp.number(-2.5e6, 3) == "−2.5e+06"
    assert dp.number(999999.994) == "999999.99"
    assert dp.integer(13.0) == "13" and dp.integer(-2) == "−2"
    assert dp.integer(20.5) == "20.5" and dp.integer(41 / 3) == "13.7"  # a shared group split between comparisons
    assert dp.tick(-1.0) == "−1" and dp.tick(0.5) == "0.5" and dp.tick(10) == "10"
    assert dp.percent(38.06) == "38.1%" and dp.percent(92.4, 0) == "92%"
    assert dp.tau2(0.0) == "0.000" and dp.tau2(0.3127) == "0.313" and dp.tau2(0.00123) == "0.001"
    assert dp.tau2(1.8734749933119863e-05) == "0.000019" and dp.tau2(3.2e-08) == "3.2e−08"
    assert dp.tau2_decimals(1.87e-05) == 6 and dp.tau2_decimals(0.3127) == dp.tau2_decimals(0) == 3
    assert dp.tau2(0.000123) == "0.00012" and dp.i2(21.43) == "21.4%" and dp.i2(None, "–") == "–"


@pytest.mark.parametrize("p, text", [
    (0.33, "P = 0.330"), (0.0432, "P = 0.043"), (0.032, "P = 0.032"), (0.004, "P = 0.004"),
    (0.00034, "P = 0.0003"), (7.05e-05, "P < 0.0001"), (1e-12, "P < 0.0001"), (1.0, "P = 1.000"),
])
def test_one_p_value_rule(p, text):
    assert dp.p_value(p) == text
    assert dp.p_number(p) == text.removeprefix("P = ").removeprefix("P ")


def test_a_p_value_never_reads_p_equals_less_than():
    for p in (1e-20, 0.00009999, 0.0001, 0.00099, 0.01, 0.5):
        assert "= <" not in dp.p_value(p) and not dp.p_value(p).startswith("P = -")
    assert dp.p_value(None) == "P not available" and dp.p_number(None) == "–"


def test_degrees_of_freedom_whole_or_with_one_decimal():
    assert dp.degrees_of_freedom(3.0) == "3"
    assert dp.degrees_of_freedom(6.82883161908059) == "6.8"
    assert dp.degrees_of_freedom(None) == "–"
    assert dp.f_statistic([1, 6.82883161908059]) == "F(1, 6.8)"
    assert dp.f_statistic([2.0, 40]) == "F(2, 40)"


def test_confidence_intervals_in_two_forms():
    assert dp.ci(0.49, 0.34, 0.70) == "0.49 [0.34, 0.70]"
    assert dp.ci(0.49, 0.34, 0.70, style="to") == "0.49 (0.34 to 0.70)"
    assert dp.ci(-0.5, -0.9, -0.1) == "−0.50 [−0.90, −0.10]"
    assert dp.ci(None, 1, 2) == "" and dp.ci(None, 1, 2, missing="–") == "–"
    assert dp.interval(0.05, 0.81) == "[0.05, 0.81]"


def test_decimals_keep_two_significant_digits_of_small_effects():
    assert dp.decimals_for([0.43, 0.05, 0.81]) == 2
    assert dp.decimals_for([0.04, 0.01, 0.08]) == 3  # "0.040 [0.010, 0.080]", not "0.04 [0.01, 0.08]"
    assert dp.decimals_for([0.00004]) == 4  # at most four
    assert dp.decimals_for([1234.5]) == 2  # at least two
    assert dp.ci(0.004, 0.001, 0.008) == "0.0040 [0.0010, 0.0080]"  # not "0.00 [0.00, 0.01]"
    assert dp.decimals_for([3.2, 0.7], lowest=0, highest=3, basis="smallest") == 2


# metafor 3.8-1: robust(rma.mv(yi, V, random = ~ 1 | district/school), cluster = district,
# clubSandwich = TRUE) on dat.konstantopoulos2011 with vcalc(rho = 0.5): 0.1905 [-0.0026, 0.3836];
# rma(measure = "RD", ..., data = dat.bcg, method = "DL"): -0.0071 [-0.0101, -0.0040]
ACHIEVEMENT = (0.19051950634988496, -0.002552045426440386, 0.3835910581262103)
BCG_RD = (-0.0070552635660954465, -0.010119452065969503, -0.00399107506622139)


def test_a_bound_never_rounds_onto_or_across_the_null():
    gen, rd = measures.display_for("GEN"), measures.display_for("RD")
    assert dp.estimate(*ACHIEVEMENT, gen) == "0.191 [−0.003, 0.384]"  # not "0.19 [0.00, 0.38]"
    assert dp.estimate(*BCG_RD, rd, 2) == "−0.007 [−0.010, −0.004]"  # a column's 2: not "[−0.01, 0.00]"
    assert dp.estimate_decimals([ACHIEVEMENT, (0.5, 0.2, 0.8)], gen) == 3
    assert dp.ci(*ACHIEVEMENT, style="to", null=0) == "0.191 (−0.003 to 0.384)"
    rr = measures.display_for("RR")
    assert dp.estimate(math.log(0.8), math.log(0.6), math.log(0.9996), rr) == "0.8000 [0.6000, 0.9996]"
    assert dp.estimate(math.log(0.8), math.log(0.6), math.log(1.004), rr) == "0.800 [0.600, 1.004]"
    assert dp.interval(-0.0026, 0.38, null=0) == "[−0.003, 0.380]"
    # a bound on the null, a measure without a null, and no null given: decimals as before
    assert dp.ci(0.19, 0.0, 0.38, null=0) == "0.19 [0.00, 0.38]"
    assert dp.estimate(0.5, 0.2, 0.8, measures.display_for("PR")) == "50.00 [20.00, 80.00]"
    assert dp.ci(*ACHIEVEMENT) == "0.19 [0.00, 0.38]"
    assert dp.null_side_decimals(2, [1e-9], 0) == dp.NULL_SIDE_MAX  # at most this many


def test_estimates_are_shown_on_the_measures_display_scale():
    rr = measures.display_for("RR")
    assert dp.estimate(math.log(0.49), math.log(0.34), math.log(0.70), rr) == "0.49 [0.34, 0.70]"
    pr = measures.display_for("PR")
    assert dp.estimate(0.25, 0.2, 0.3, pr) == "25.00 [20.00, 30.00]"
    assert dp.shown(None, rr) is None


def test_arm_columns_share_their_decimals():
    assert dp.data_decimals([5, 6, 13]) == 0
    assert dp.data_column([5, 5.25, 4.5]) == ["5.00", "5.25", "4.50"]  # never "5" beside "5.00"
    assert dp.data_column([0.9, 0.99]) == ["0.90", "0.99"]  # a computed 0.90 is not cut to 0.9
    assert dp.data_column([13, 20.0], "total") == ["13", "20"]
    assert dp.data_column([0.0123, 1.5]) == ["0.012", "1.500"]
    assert dp.data_value(None) == ""


def test_arm_values_and_text():
    study = {"m1i": 5, "sd1i": 1.25, "n1i": 20, "m2i": 4.5, "sd2i": 1, "n2i": 22}
    assert dp.arm_value(study, 1, "mean") == 5 and dp.arm_value(study, 2, "total") == 22
    assert dp.arm_text(study) == "5.00 (1.25), n = 20 vs 4.50 (1.00), n = 22"
    assert dp.arm_text({"ai": 3, "bi": 7, "ci": 1, "di": 9}) == "3/10 vs 1/10"
    assert dp.arm_text({"xi": 4, "mi": 6}) == "4/10"
    assert dp.arm_text({"ri": -0.3, "ni": 50}) == "r = −0.30, n = 50"
    assert dp.arm_text({"x1i": 4, "t1i": 100.5, "x2i": 2, "t2i": 90}) == \
        "4 events / 100.50 person-time vs 2 events / 90 person-time"


def test_figures_and_report_share_the_implementation():
    """No second number formatter: the figure style, the forest plot, the report and the summary of
    findings use metasr.display."""
    from metasr.figures import forest, style
    from metasr.report import html, sof

    assert not any(hasattr(style, name) for name in ("fmt", "fmt_p", "fmt_ci", "fmt_data", "natural"))
    assert not any(hasattr(html, name) for name in ("f2", "fp", "natural", "arm_text"))
    assert forest.arm_value is dp.arm_value and sof.arm_value is dp.arm_value


def test_a_single_groups_mean_is_its_mi_only_beside_an_sd():
    from metasr.display import arm_value

    mean = {"mi": 7.61, "sdi": 1.072, "ni": 319}  # dat.senn2013, Hanefeld 2004
    assert [arm_value(mean, 0, what) for what in ("mean", "sd", "total")] == [7.61, 1.072, 319]
    proportion = {"xi": 3, "mi": 7}  # a proportion's mi counts non-events
    assert arm_value(proportion, 0, "mean") is None and arm_value(proportion, 0, "total") == 10


def test_a_paired_sample_shows_both_occasions_its_r_and_its_pairs():
    from metasr.display import arm_text, arm_value

    pair = {"m1i": 3.66, "m2i": 3.446667, "sd1i": 0.59976, "sd2i": 0.6085667, "ni": 15, "ri": 0.66}  # Roberts 2010
    assert [arm_value(pair, 0, w) for w in ("mean1", "sd1", "mean2", "sd2", "r", "total")] == \
        [3.66, 0.59976, 3.446667, 0.6085667, 0.66, 15]
    assert arm_text(pair) == "3.66 (0.60) vs 3.45 (0.61), r = 0.66, n = 15"
    smcr = {k: v for k, v in pair.items() if k != "sd2i"}  # SMCR needs no sd2i
    assert arm_text(smcr) == "3.66 (0.60) vs 3.45, r = 0.66, n = 15"
    assert arm_text({"ri": 0.3, "ni": 40}) == "r = 0.30, n = 40"  # a correlation is no pair


def test_a_regression_coefficients_study_shows_its_t_predictors_and_r2():
    from metasr.display import arm_text, arm_value

    study = {"ti": 4.61, "ni": 218, "mi": 4, "r2i": 0.24}  # dat.aloe2013, Abu-Bader (2000)
    assert [arm_value(study, 0, w) for w in ("t", "predictors", "r2", "total")] == [4.61, 4, 0.24, 218]
    assert arm_value(study, 0, "mean") is None and arm_value(study, 0, "time") is None  # mi, ti are no mean, time
    assert arm_text(study) == "t = 4.61, 4 predictors, R² = 0.24, n = 218"
    assert arm_text({"ti": -0.77, "ni": 38, "mi": 1}) == "t = −0.77, 1 predictor, n = 38"  # PCOR needs no R²
    rate = {"xi": 9, "ti": 413}  # a rate's ti is person-time (dat.hart1999)
    assert arm_value(rate, 0, "t") is None and arm_value(rate, 0, "time") == 413
