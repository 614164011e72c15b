"""Each reported form -> effect inputs per measure (SYNTHETIC numbers unless stated)."""

import math

import pandas as pd
import pytest

from metasr.extraction import conversions as conv
from metasr.extraction.effects import ConversionSettings, effect_row
from metasr.extraction.pvalues import parse_p
from metasr.extraction.units import unit_factor

SMD = ConversionSettings("SMD", unit="points")


def groups(form, **cells):
    return {"reported_form": form, **cells}


def test_mean_sd_passes_through():
    r = effect_row(groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=22, mean2=4.0, sd2=1.5), SMD)
    assert r.usable and r.values == {"m1i": 5.0, "sd1i": 2.0, "n1i": 20, "m2i": 4.0, "sd2i": 1.5, "n2i": 22}
    assert r.conversion == "none"


def test_mean_se_and_mean_ci_give_sd():
    r = effect_row(groups("mean_se", n1=25, mean1=5.0, se1=0.4, n2=16, mean2=4.0, se2=0.5), SMD)
    assert r.values["sd1i"] == pytest.approx(2.0) and r.values["sd2i"] == pytest.approx(2.0)
    assert "SD from SE" in r.conversion
    r = effect_row(groups("mean_ci", n1=25, mean1=5.0, ci_lb1=4.0, ci_ub1=6.0, n2=100, mean2=4.0, ci_lb2=3.0,
                          ci_ub2=5.0), SMD)
    assert r.values["sd1i"] == pytest.approx(5 * 2 / conv.ci_divisor(25))
    assert r.values["sd2i"] == pytest.approx(10 * 2 / 3.919928, rel=1e-6)
    assert "t(24)" in " ".join(r.detail) and "(z)" in " ".join(r.detail)


@pytest.mark.parametrize("form, cells, method", [
    ("median_iqr", dict(median1=5.0, q1_1=4.0, q3_1=7.0, median2=4.0, q1_2=3.0, q3_2=5.0), "Luo 2018 (S2)"),
    ("median_range", dict(median1=5.0, min1=1.0, max1=9.0, median2=4.0, min2=1.0, max2=8.0), "Luo 2018 (S1)"),
    ("median_iqr_range", dict(median1=5.0, q1_1=4.0, q3_1=6.0, min1=1.0, max1=9.0, median2=4.0, q1_2=3.0,
                              q3_2=5.0, min2=1.0, max2=8.0), "Shi 2020 (S3)"),
])
def test_median_forms_use_the_configured_method(form, cells, method):
    r = effect_row(groups(form, n1=30, n2=30, **cells), SMD)
    assert r.usable and method in r.conversion
    est = conv.median_to_mean_sd(30, 5.0, q1=cells.get("q1_1"), q3=cells.get("q3_1"), minimum=cells.get("min1"),
                                 maximum=cells.get("max1"))
    assert r.values["m1i"] == pytest.approx(est.mean) and r.values["sd1i"] == pytest.approx(est.sd)
    hozo = effect_row(groups(form, n1=30, n2=30, **cells), ConversionSettings("SMD", median_conversion="hozo"))
    assert "Hozo" in hozo.conversion or "Handbook" in hozo.conversion



def test_hozo_names_only_the_cells_it_used_of_a_five_number_summary():
    """Hozo has no formula for quartiles with a range: a five-number row's provenance listed q1 and q3."""
    row = groups("median_iqr_range", n1=30, median1=11.0, q1_1=9.0, q3_1=14.0, min1=5.0, max1=20.0, n2=20,
                 mean2=10.0, sd2=3.0, reported_form2="mean_sd")
    r = effect_row(row, ConversionSettings("SMD", median_conversion="hozo"))
    assert r.detail[0].startswith("group 1: median 11, min 5, max 20, n 30 -> ") and "q1" not in r.detail[0]
    assert r.values["sd1i"] == pytest.approx(conv.hozo_sd(5, 11, 20, 30))
    assert "q1 9, q3 14" in effect_row(row, SMD).detail[0]  # Luo/Shi use all five

def test_mixed_group_forms():
    r = effect_row(groups("mean_sd", reported_form2="median_iqr", n1=20, mean1=5.0, sd1=2.0, n2=20, median2=4.0,
                          q1_2=3.0, q3_2=5.0), SMD)
    assert r.usable and r.values["m2i"] == pytest.approx(conv.luo_mean_iqr(3, 4, 5, 20))


def test_events_for_risk_measures_and_person_time_for_irr():
    r = effect_row(groups("events_n", n1=20, events1=5, n2=22, events2=3), ConversionSettings("RR"))
    assert r.values == {"ai": 5, "n1i": 20, "ci": 3, "n2i": 22}
    r = effect_row(groups("events_persontime", events1=12, time1=100.0, events2=8, time2=120.0),
                   ConversionSettings("IRR"))
    assert r.values == {"x1i": 12, "t1i": 100.0, "x2i": 8, "t2i": 120.0}
    assert not effect_row(groups("events_n", n1=20, events1=5, n2=22, events2=3), SMD).usable


def test_p_value_to_signed_t():
    row = groups("p_value", n1=25, n2=22, p_value="0.008", direction="group1_lower")
    r = effect_row(row, SMD)
    assert r.values["ti"] == pytest.approx(-2.7755, abs=1e-3) and (r.values["n1i"], r.values["n2i"]) == (25, 22)
    assert not effect_row({**row, "direction": None}, SMD).usable
    assert effect_row({**row, "direction": None}, SMD).reason == "direction not reported"
    no_sign = effect_row({**row, "direction": "no_difference"}, SMD)
    assert no_sign.reason == ("'no_difference' gives no sign for the t of p = 0.008: a direction (group1_higher or "
                              "group1_lower) is needed") and no_sign.column == "direction"


def test_p_value_bounds_follow_config():
    row = groups("p_value", n1=25, n2=22, p_value="<0.001", direction="group1_higher")
    excluded = effect_row(row, SMD)
    assert not excluded.usable and "bound" in excluded.reason
    exact = effect_row(row, ConversionSettings("SMD", p_value_bounds="as_exact"))
    assert exact.usable and exact.values["ti"] == pytest.approx(conv.t_from_p(0.001, 25, 22))
    assert "as if exact" in " ".join(exact.detail)
    assert not effect_row({**row, "p_value": ">0.05"}, ConversionSettings("SMD", p_value_bounds="as_exact")).usable


def test_t_stat_and_p_for_non_smd():
    assert effect_row(groups("t_stat", n1=10, n2=10, t_stat=2.5), SMD).values["ti"] == 2.5
    assert not effect_row(groups("t_stat", n1=10, n2=10, t_stat=2.5), ConversionSettings("MD")).usable


def test_effect_ci_se_p():
    r = effect_row(groups("effect_ci", effect=2.0, effect_measure="RR", effect_ci_lb=1.0, effect_ci_ub=4.0),
                   ConversionSettings("RR"))
    assert r.values["yi"] == pytest.approx(math.log(2)) and r.values["vi"] == pytest.approx(
        (math.log(4) / 3.919928) ** 2, rel=1e-6)
    r = effect_row(groups("effect_se", effect=0.3, effect_measure="SMD", effect_se=0.1), SMD)
    assert r.values == {"yi": 0.3, "vi": pytest.approx(0.01)}
    r = effect_row(groups("effect_p", effect=0.045, effect_measure="beta", p_value="0.010"), ConversionSettings("GEN"))
    assert r.values["vi"] == pytest.approx((0.045 / 2.5758293) ** 2, rel=1e-6)
    # an MD with both group sizes becomes a t for an SMD outcome
    r = effect_row(groups("effect_se", effect=3.8, effect_measure="MD", effect_se=1.369, n1=25, n2=22), SMD)
    assert r.values["ti"] == pytest.approx(3.8 / 1.369)
    assert not effect_row(groups("effect_ci", effect=2.0, effect_measure="OR", effect_ci_lb=1.0,
                                 effect_ci_ub=4.0), ConversionSettings("RR")).usable



# metafor 3.8-1 (Rscript), n1 = n2 = 10: an MD of 2 with 95% CI [0.2, 3.8] has SE 3.6 / (2 qt(0.975, 18));
# with p = 0.03, SE 2 / qt(1 - 0.015, 18); g is escalc("SMD", ti = 2 / SE, n1i = 10, n2i = 10)$yi.
MD_BY_T = {"ci": dict(t=2.334357822490, g=0.999741264844, vi=0.734049142852),
           "p": dict(t=2.356180007301, g=1.009087106529, vi=0.720515052386)}


@pytest.mark.parametrize("form, cells", [("ci", dict(effect_ci_lb=0.2, effect_ci_ub=3.8)),
                                         ("p", dict(p_value="0.03"))])
def test_a_difference_in_means_with_both_group_sizes_has_its_ci_and_p_from_t(form, cells):
    """Handbook 6.5.2.3: the CI of a difference in means is 2 t(0.975, n1 + n2 - 2) SE wide, and the t
    of its two-sided p has n1 + n2 - 2 df; z applies without the group sizes and to ratios."""
    from metasr.stats.effects import escalc

    row = groups(f"effect_{form}", effect=2.0, effect_measure="MD", n1=10, n2=10, **cells)
    expected = MD_BY_T[form]
    md = effect_row(row, ConversionSettings("MD"))
    assert md.values["yi"] == 2.0 and md.values["vi"] == pytest.approx(expected["vi"], rel=1e-9)
    assert "via t (Handbook 6.5.2.3)" in md.conversion and "t(18)" in " ".join(md.detail)
    smd = effect_row(row, SMD)
    assert smd.values["ti"] == pytest.approx(expected["t"], rel=1e-9)
    table = escalc(pd.DataFrame([smd.values]), "SMD")
    assert table["yi"].iloc[0] == pytest.approx(expected["g"], rel=1e-9)
    z = effect_row({**row, "n2": None}, ConversionSettings("MD"))
    z_se = 3.6 / (2 * 1.959963984540) if form == "ci" else 2.0 / 2.170090377585  # qnorm(0.975), qnorm(1 - 0.015)
    assert "via z (Handbook 6.3.1)" in z.conversion and z.values["vi"] == pytest.approx(z_se ** 2, rel=1e-9)
    ratio = effect_row(groups(f"effect_{form}", effect=2.0, effect_measure="RR", n1=10, n2=10,
                              **({"effect_ci_lb": 1.2, "effect_ci_ub": 3.3} if form == "ci" else cells)),
                       ConversionSettings("RR"))
    assert "via z (Handbook 6.3.2)" in ratio.conversion and "t(" not in " ".join(ratio.detail)

def test_gen_from_group_means_is_a_mean_difference():
    r = effect_row(groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=25, mean2=4.0, sd2=1.0), ConversionSettings("GEN"))
    assert r.values == {"yi": 1.0, "vi": pytest.approx(4 / 20 + 1 / 25)}


def test_not_usable_rows_keep_their_reason():
    assert effect_row(groups("direction_only", direction="group1_higher"), SMD).reason.startswith("direction only")
    assert effect_row(groups("other", exclude_reason="correlation only"), SMD).reason == "correlation only"
    row = groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=20, mean2=4.0, sd2=2.0, exclude_reason="overlapping cohort")
    assert effect_row(row, SMD).reason == "overlapping cohort"


def test_units_are_harmonised_for_md_and_ignored_for_smd():
    row = groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=20, mean2=4.0, sd2=1.0, unit="mL")
    md = effect_row(row, ConversionSettings("MD", unit="mm3"))
    assert md.values["m1i"] == pytest.approx(5000.0) and md.values["sd2i"] == pytest.approx(1000.0)
    assert "x 1000" in " ".join(md.detail)
    assert not effect_row({**row, "unit": "furlongs"}, ConversionSettings("MD", unit="mm3")).usable
    assert effect_row({**row, "unit": "furlongs"}, ConversionSettings("SMD", unit="mm3")).usable
    assert unit_factor("µL", "mm³") == 1.0 and unit_factor("cm3", "mL") == pytest.approx(1.0)
    assert unit_factor("pg/mL", "ng/L") == pytest.approx(1.0) and unit_factor("s", "mm") is None


def test_flip_aligns_direction():
    row = groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=20, mean2=4.0, sd2=2.0)
    flipped = effect_row(row, ConversionSettings("SMD", flip=True))
    assert flipped.values["m1i"] == -5.0 and flipped.values["m2i"] == -4.0 and "flipped" in flipped.conversion
    counts = effect_row(groups("events_n", n1=20, events1=5, n2=22, events2=3), ConversionSettings("RR", flip=True))
    assert counts.values["ai"] == 15 and counts.values["ci"] == 19
    t = effect_row(groups("t_stat", n1=10, n2=10, t_stat=2.5), ConversionSettings("SMD", flip=True))
    assert t.values["ti"] == -2.5


@pytest.mark.parametrize("text, value, relation", [("0.017", 0.017, "="), ("<0.001", 0.001, "<"),
                                                   ("<=0.05", 0.05, "<="), ("≤ 0.05", 0.05, "<="),
                                                   ("> 0.05", 0.05, ">"), ("p = 0.2", 0.2, "="), (0.3, 0.3, "=")])
def test_parse_p(text, value, relation):
    p = parse_p(text)
    assert (p.value, p.relation) == (value, relation)


def test_parse_p_rejects_text():
    assert parse_p("ns") is None and parse_p("0.01 (count); 0.05") is None


# ---- single-group forms (dat.pritz1997 row 1: 16 of 17; dat.molloy2014 row 1: r = 0.187, n = 109)

def test_single_group_forms_give_their_measures_columns():
    r = effect_row({"reported_form": "events_total", "events": 16, "n": 17}, ConversionSettings("PFT"))
    assert r.usable and r.values == {"xi": 16, "ni": 17} and r.conversion == "none"
    r = effect_row({"reported_form": "correlation", "r": 0.187, "n": 109}, ConversionSettings("ZCOR"))
    assert r.usable and r.values == {"ri": 0.187, "ni": 109}
    r = effect_row({"reported_form": "events_time", "events": 9, "time": 413}, ConversionSettings("IRFT"))
    assert r.usable and r.values == {"xi": 9, "ti": 413}


@pytest.mark.parametrize("row, measure", [
    ({"reported_form": "events_total", "events": 16, "n": 17}, "ZCOR"),
    ({"reported_form": "correlation", "r": 0.2, "n": 50}, "PLO"),
    ({"reported_form": "events_n", "events1": 3, "n1": 10, "events2": 4, "n2": 12}, "PR"),
    ({"reported_form": "mean_sd", "n1": 9, "mean1": 1.0, "sd1": 1.0, "n2": 9, "mean2": 2.0, "sd2": 1.0}, "COR"),
])
def test_a_form_cannot_give_another_familys_measure(row, measure):
    r = effect_row(row, ConversionSettings(measure))
    assert not r.usable and measure in r.reason


def test_flip_counts_the_others_and_negates_a_correlation():
    r = effect_row({"reported_form": "events_total", "events": 16, "n": 17}, ConversionSettings("PLO", flip=True))
    assert r.values == {"xi": 1, "ni": 17}
    r = effect_row({"reported_form": "correlation", "r": 0.187, "n": 109}, ConversionSettings("COR", flip=True))
    assert r.values["ri"] == -0.187
    rate = {"reported_form": "events_time", "events": 9, "time": 413}
    assert not effect_row(rate, ConversionSettings("IR", flip=True)).usable


@pytest.mark.parametrize("measure", ["SMDH", "ROM", "CVR", "VR"])
def test_new_two_group_measures_take_group_means(measure):
    r = effect_row(groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=22, mean2=4.0, sd2=1.5), ConversionSettings(measure))
    assert r.usable and r.values["m1i"] == 5.0 and r.values["sd2i"] == 1.5


def test_a_reported_ratio_of_means_is_pooled_as_its_log():
    row = {"reported_form": "effect_ci", "effect": 1.5, "effect_measure": "ROM", "effect_ci_lb": 1.2,
           "effect_ci_ub": 1.875}
    r = effect_row(row, ConversionSettings("ROM"))
    assert r.usable and r.values["yi"] == pytest.approx(math.log(1.5))


# ---- a single group's mean (dat.senn2013: Hanefeld 2004, pioglitazone arm, HbA1c 7.61, SD 1.072, n 319)

MN = ConversionSettings("MN", unit="%")


def test_a_single_group_mean_gives_mi_sdi_ni():
    r = effect_row({"reported_form": "single_mean_sd", "n": 319, "mean": 7.61, "sd": 1.072}, MN)
    assert r.usable and r.values == {"mi": 7.61, "sdi": 1.072, "ni": 319} and r.conversion == "none"


def test_a_single_group_mean_with_se_or_ci_gets_the_groups_sd():
    r = effect_row({"reported_form": "single_mean_se", "n": 25, "mean": 5.0, "se": 0.4}, MN)  # SYNTHETIC
    assert r.values["sdi"] == pytest.approx(conv.sd_from_se(0.4, 25)) and "SD from SE" in r.conversion
    assert r.detail == ["the sample: SE 0.4, n 25 -> SD 2"] and r.derived_sds[0].cells == ("se",)
    r = effect_row({"reported_form": "single_mean_ci", "n": 25, "mean": 5.0, "ci_lb": 4.0, "ci_ub": 6.0}, MN)
    assert r.values == {"mi": 5.0, "sdi": pytest.approx(conv.sd_from_ci(4.0, 6.0, 25)), "ni": 25}
    assert "t(24)" in r.detail[0]


@pytest.mark.parametrize("form, cells, method", [
    ("single_median_iqr", dict(median=5.0, q1=4.0, q3=7.0), "Luo 2018 (S2)"),
    ("single_median_range", dict(median=5.0, min=1.0, max=9.0), "Luo 2018 (S1)"),
    ("single_median_iqr_range", dict(median=5.0, q1=4.0, q3=6.0, min=1.0, max=9.0), "Luo 2018 (S3)"),
])
def test_a_single_group_median_is_converted_as_a_groups_is(form, cells, method):
    # the same conversion as group 1 of the two-group form (SYNTHETIC numbers)
    single = effect_row({"reported_form": form, "n": 30, **cells}, MN)
    group_cells = {("q1_1" if k == "q1" else "q3_1" if k == "q3" else f"{k}1"): v for k, v in cells.items()}
    other = {k[:-1] + "2": v for k, v in group_cells.items()}
    two = effect_row(groups(form.removeprefix("single_"), n1=30, **group_cells, n2=30, **other),
                     ConversionSettings("MD", unit="%"))
    assert single.usable and method in single.conversion
    assert single.values == {"mi": two.values["m1i"], "sdi": two.values["sd1i"], "ni": 30}
    hozo = effect_row({"reported_form": form, "n": 30, **cells}, ConversionSettings("MN", median_conversion="hozo"))
    assert "Hozo" in hozo.conversion or "Handbook" in hozo.conversion


def test_single_group_means_and_group_means_do_not_mix():
    r = effect_row({"reported_form": "single_mean_sd", "n": 319, "mean": 7.61, "sd": 1.072}, ConversionSettings("SMD"))
    assert not r.usable and "a single group's mean cannot give a SMD" == r.reason
    r = effect_row(groups("mean_sd", n1=20, mean1=5.0, sd1=2.0, n2=22, mean2=4.0, sd2=1.5), MN)
    assert not r.usable and "MN" in r.reason
    r = effect_row({"reported_form": "events_total", "events": 16, "n": 17}, ConversionSettings("MNLN"))
    assert not r.usable and r.column == "reported_form"


def test_a_single_group_mean_is_rescaled_to_the_outcomes_unit_and_not_flipped():
    r = effect_row({"reported_form": "single_mean_se", "n": 25, "mean": 0.5, "se": 0.04, "unit": "l"},
                   ConversionSettings("MN", unit="ml"))
    assert r.values["mi"] == pytest.approx(500) and r.values["sdi"] == pytest.approx(0.04 * 1000 * 5)
    other = effect_row({"reported_form": "single_mean_sd", "n": 9, "mean": 1.0, "sd": 1.0, "unit": "points"},
                       ConversionSettings("MNLN", unit="ml"))
    assert not other.usable and other.column == "unit"  # a mean is in the outcome's unit, even a log mean
    flipped = effect_row({"reported_form": "single_mean_sd", "n": 9, "mean": 1.0, "sd": 1.0},
                         ConversionSettings("MN", flip=True))
    assert not flipped.usable and "flip" in flipped.reason


def test_flip_is_refused_for_a_ratio_of_two_groups_means_or_spreads():
    """Negating both means leaves ROM, CVR and VR as they were: a silent no-op, so flip is refused."""
    row = groups("mean_sd", n1=20, mean1=5.0, sd1=1.0, n2=20, mean2=4.0, sd2=1.5)
    for measure in ("ROM", "CVR", "VR"):
        flipped = effect_row(row, ConversionSettings(measure, flip=True))
        assert not flipped.usable and "flip: true is not defined for " + measure in flipped.reason
    assert effect_row(row, ConversionSettings("MD", flip=True)).values["m1i"] == -5.0  # a difference is negated


# ---- paired means (dat.lehmann2018, Roberts et al. 2010 Exp 2, females: red 3.66 (0.60) vs control 3.45 (0.61))

PAIRED_ROW = {"reported_form": "paired_mean_sd", "n": 15, "mean1": 3.66, "sd1": 0.59976, "mean2": 3.446667,
              "sd2": 0.6085667, "r": 0.66}


def test_a_paired_sample_gives_the_paired_measures_columns():
    r = effect_row(PAIRED_ROW, ConversionSettings("SMCC"))
    assert r.usable and r.conversion == "none"
    assert r.values == {"m1i": 3.66, "m2i": 3.446667, "sd1i": 0.59976, "sd2i": 0.6085667, "ni": 15, "ri": 0.66}
    assert not effect_row(PAIRED_ROW, ConversionSettings("SMD")).usable  # two groups are not one sample
    assert not effect_row(groups("mean_sd", n1=15, mean1=3.66, sd1=0.6, n2=15, mean2=3.45, sd2=0.61),
                          ConversionSettings("MC")).usable


def test_flip_reverses_a_paired_change_and_keeps_its_r_and_standardiser():
    for measure in ("MC", "SMCR"):
        r = effect_row(PAIRED_ROW, ConversionSettings(measure, flip=True))
        assert (r.values["m1i"], r.values["m2i"], r.values["sd1i"], r.values["ri"]) == (-3.66, -3.446667, 0.59976, 0.66)
    r = effect_row(PAIRED_ROW, ConversionSettings("ROMC", flip=True))  # log(m2 / m1) = -log(m1 / m2)
    assert (r.values["m1i"], r.values["sd1i"], r.values["m2i"], r.values["sd2i"]) == (3.446667, 0.6085667, 3.66,
                                                                                      0.59976)


# ---- a regression coefficient's t (dat.aloe2013, Weaver et al. 2007: t -0.77, n 382, 19 predictors, R² 0.327)

REGRESSION_ROW = {"reported_form": "regression_t", "t_stat": -0.77, "n": 382, "predictors": 19, "r2": 0.327}


def test_a_regression_t_gives_the_partial_correlations_columns():
    for measure in ("PCOR", "SPCOR"):
        r = effect_row(REGRESSION_ROW, ConversionSettings(measure))
        assert r.usable and r.conversion == "none"
        assert r.values == {"ti": -0.77, "ni": 382, "mi": 19, "r2i": 0.327}
    spcor = effect_row({k: v for k, v in REGRESSION_ROW.items() if k != "r2"}, ConversionSettings("SPCOR"))
    assert not spcor.usable and spcor.column == "r2" and "SPCOR needs 'r2'" in spcor.reason
    assert not effect_row(REGRESSION_ROW, ConversionSettings("COR")).usable  # a t is no correlation
    assert not effect_row({"reported_form": "correlation", "r": 0.3, "n": 50}, ConversionSettings("PCOR")).usable


def test_flip_negates_a_regression_coefficients_t():
    r = effect_row(REGRESSION_ROW, ConversionSettings("PCOR", flip=True))
    assert r.values["ti"] == 0.77 and r.values["mi"] == 19 and "flipped" in r.conversion
