"""Converting validated sheet rows into effect rows (subgroups combined, shared groups split)."""

import pytest

from metasr.extraction.converting import convert_rows
from metasr.extraction.effects import ConversionSettings


def test_single_group_subgroups_are_summed():
    rows = [{"study_id": "S1", "comparison": "all", "subgroup": s, "reported_form": "events_total", "events": e,
             "n": n} for s, e, n in (("men", 4, 10), ("women", 6, 15))]  # SYNTHETIC counts
    [(row, result)] = convert_rows(rows, ConversionSettings("PR"))
    assert result.usable and result.values == {"xi": 10, "ni": 25} and "sums" in result.conversion


def test_summed_subgroups_of_a_flipped_outcome_say_so():
    """The flip was applied to the summed counts, but the row's conversion said only 'combined
    subgroups (sums)': its forest row had no 'reversed' mark and the methods no flip sentence."""
    rows = [{"study_id": "S1", "comparison": "all", "subgroup": s, "reported_form": "events_n", "events1": e,
             "n1": 10, "events2": 3, "n2": 10} for s, e in (("men", 4), ("women", 6))]  # SYNTHETIC counts
    [(_, result)] = convert_rows(rows, ConversionSettings("RR", flip=True))
    assert result.values == {"ai": 10, "n1i": 20, "ci": 14, "n2i": 20}
    assert result.conversion == "combined subgroups (sums); flipped"


# SYNTHETIC rows of a generic outcome: a ratio, a reported difference and group means.
HR_ROW = {"study_id": "G1", "reported_form": "effect_ci", "effect": 2.0, "effect_measure": "HR", "effect_ci_lb": 1.2,
          "effect_ci_ub": 3.3}
MD_ROW = {"study_id": "G2", "reported_form": "effect_ci", "effect": 2.0, "effect_measure": "MD", "effect_ci_lb": 0.5,
          "effect_ci_ub": 3.5}
MEANS_ROW = {"study_id": "G3", "reported_form": "mean_sd", "n1": 20, "mean1": 12.0, "sd1": 3.0, "n2": 20,
             "mean2": 10.0, "sd2": 3.0}


def generic_problems(rows, **outcome):
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    cfg = {"measure": "GEN", **outcome}
    problems, _ = outcome_effect_problems(list(enumerate(rows, start=2)), conversion_settings("gen", cfg, {}), cfg,
                                          "outcomes/gen.csv")
    return problems


def test_a_generic_outcome_refuses_a_row_on_another_scale_than_its_own():
    """An HR, an MD and group means were pooled together as ratios (scale: log) or as differences."""
    on_log = generic_problems([HR_ROW, MD_ROW, MEANS_ROW], scale="log")
    assert [(p.severity, p.file, p.row, p.column, p.value, p.rule) for p in on_log] == [
        ("error", "outcomes/gen.csv", 3, "effect_measure", "MD", "generic-scale"),
        ("error", "outcomes/gen.csv", 4, "reported_form", "mean_sd", "generic-scale")]
    assert "outcomes.gen.scale: identity" in on_log[0].hint and "outcome of its own" in on_log[0].hint
    assert "group means give an MD" in on_log[1].message
    unset = [p for p in generic_problems([HR_ROW, MD_ROW, MEANS_ROW]) if p.severity == "error"]
    assert [(p.row, p.column, p.value) for p in unset] == [(2, "effect_measure", "HR")]
    assert "outcomes.gen.scale: log" in unset[0].hint and "identity, the default" in unset[0].message
    assert generic_problems([HR_ROW, {**MD_ROW, "effect_measure": "OR", "effect_ci_lb": 1.1, "effect_ci_ub": 3.0}],
                            scale="log")[0].severity == "warning"


def test_a_generic_outcome_warns_of_different_kinds_of_effect_on_one_scale():
    smd = {**MD_ROW, "study_id": "G4", "effect_measure": "SMD", "effect": 0.4, "effect_ci_lb": 0.1, "effect_ci_ub": 0.7}
    [warning] = generic_problems([MD_ROW, MEANS_ROW, smd])
    assert (warning.severity, warning.row, warning.column, warning.rule) == ("warning", 4, "effect_measure",
                                                                             "generic-kinds")
    assert "MD (rows 2, 3); SMD (row 4)" in warning.message and "identity scale" in warning.message
    assert generic_problems([MD_ROW, MEANS_ROW]) == []  # group means give an MD: one kind


def smd_problems(rows, median_conversion="luo_shi"):
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    cfg = {"measure": "SMD"}
    settings = conversion_settings("score", cfg, {"median_conversion": median_conversion})
    problems, _ = outcome_effect_problems(list(enumerate(rows, start=2)), settings, cfg, "outcomes/score.csv")
    return [(p.severity, p.row, p.column, p.rule) for p in problems], problems


CONTROL = {"n2": 20, "mean2": 10.0, "sd2": 3.0, "reported_form2": "mean_sd"}  # SYNTHETIC
ZERO_IQR = {"study_id": "Z1", "reported_form": "median_iqr", "n1": 20, "median1": 2.0, "q1_1": 2.0, "q3_1": 2.0}


@pytest.mark.parametrize("row, median_conversion, cells", [
    ({**ZERO_IQR, **CONTROL}, "luo_shi", ("q1_1", "q3_1")),
    ({**ZERO_IQR, **CONTROL}, "hozo", ("q1_1", "q3_1")),  # IQR / 1.35
    ({"study_id": "Z1", "reported_form": "median_range", "n1": 20, "median1": 2.0, "min1": 2.0, "max1": 2.0,
      **CONTROL}, "luo_shi", ("min1", "max1")),
    ({"study_id": "Z1", "reported_form": "median_iqr_range", "n1": 20, "median1": 2.0, "q1_1": 2.0, "q3_1": 2.0,
      "min1": 2.0, "max1": 2.0, **CONTROL}, "hozo", ("min1", "max1")),  # Hozo uses the range only
])
def test_an_sd_of_0_derived_from_a_spread_of_0_is_refused_at_its_cells(row, median_conversion, cells):
    """A reported SD of 0 is refused (sd>0); one estimated from an IQR or range of 0 was pooled."""
    found, [problem] = smd_problems([row], median_conversion)
    assert found == [("error", 2, cells[0], "derived-sd>0")]
    assert all(f"{c} = 2" in problem.message for c in cells) and "of 0 gives no SD" in problem.hint
    assert "exclude_reason" in problem.hint


def test_both_groups_with_a_zero_iqr_are_named_at_their_spread_cells_not_at_n1():
    both = {**ZERO_IQR, "n2": 20, "median2": 3.0, "q1_2": 3.0, "q3_2": 3.0}
    found, _ = smd_problems([both])
    assert found == [("error", 2, "q1_1", "derived-sd>0"), ("error", 2, "q1_2", "derived-sd>0")]


def test_a_subgroup_with_a_zero_iqr_is_refused_though_the_combined_sd_is_not_0():
    rows = [{**ZERO_IQR, **CONTROL, "comparison": "c", "subgroup": "men"},
            {"study_id": "Z1", "comparison": "c", "subgroup": "women", "reported_form": "mean_sd", "n1": 15,
             "mean1": 4.0, "sd1": 1.0, **CONTROL}]
    found, _ = smd_problems(rows)
    assert found == [("error", 2, "q1_1", "derived-sd>0")]
    assert smd_problems([{**ZERO_IQR, **CONTROL, "exclude_reason": "IQR of 0 (SYNTHETIC)"}])[0] == []


def rr_problems(rows, p_value_bounds="exclude"):
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    cfg = {"measure": "RR"}
    settings = conversion_settings("relapse", cfg, {"p_value_bounds": p_value_bounds})
    problems, _ = outcome_effect_problems(list(enumerate(rows, start=2)), settings, cfg, "outcomes/relapse.csv")
    return problems


def test_every_row_that_will_not_be_pooled_is_a_warning_naming_its_cell():
    """Validation said 'valid (0 warnings)' for these rows, which the run then left out."""
    rows = [{"study_id": "X1", "reported_form": "effect_se", "effect": 1.5, "effect_measure": "RR", "effect_se": 0.2},
            {"study_id": "X2", "reported_form": "effect_ci", "effect": 1.5, "effect_measure": "OR", "effect_ci_lb": 1.1,
             "effect_ci_ub": 2.0},
            {"study_id": "X3", "reported_form": "effect_p", "effect": 0.5, "effect_measure": "RR", "p_value": "<0.001"},
            {"study_id": "X4", "reported_form": "events_n", "n1": 50, "events1": 10, "n2": 50, "events2": 5},
            # deliberate exclusions: no warning
            {"study_id": "X5", "reported_form": "direction_only", "direction": "group1_higher"},
            {"study_id": "X6", "reported_form": "other", "exclude_reason": "adjusted HR only"},
            {"study_id": "X7", "reported_form": "effect_se", "effect": 1.5, "effect_measure": "RR", "effect_se": 0.2,
             "exclude_reason": "SE on an unknown scale"}]
    warnings = rr_problems(rows)
    assert [(p.severity, p.file, p.row, p.column, p.value, p.rule) for p in warnings] == [
        ("warning", "outcomes/relapse.csv", 2, "effect_se", "0.2", "row-not-pooled"),
        ("warning", "outcomes/relapse.csv", 3, "effect_measure", "OR", "row-not-pooled"),
        ("warning", "outcomes/relapse.csv", 4, "p_value", "<0.001", "row-not-pooled")]
    assert "p_value_bounds = exclude" in warnings[2].message and "exclude_reason" in warnings[0].hint
    assert [p.row for p in rr_problems(rows, "as_exact")] == [2, 3]


def test_a_p_value_row_without_a_sign_is_a_warning_at_direction():
    rows = [{"study_id": "P1", "reported_form": "p_value", "n1": 20, "n2": 20, "p_value": "0.04"},
            {"study_id": "P2", "reported_form": "p_value", "n1": 20, "n2": 20, "p_value": "0.4",
             "direction": "no_difference"}]
    found, problems = smd_problems(rows)
    assert found == [("warning", 2, "direction", "row-not-pooled"), ("warning", 3, "direction", "row-not-pooled")]
    assert "'no_difference' gives no sign for the t of p = 0.4" in problems[1].message


def test_an_effect_out_of_range_from_a_p_value_is_named_at_the_p_value():
    """p = 1e-100 with n 2 and 2 gives a t of about 1e50: the problem named n1."""
    row = {"study_id": "P1", "reported_form": "p_value", "n1": 2, "n2": 2, "p_value": "1e-100",
           "direction": "group1_higher"}
    found, [problem] = smd_problems([row])
    assert found == [("error", 2, "p_value", "effect in range")] and problem.value == "1e-100"


def test_single_group_means_of_subgroups_are_combined():
    # SYNTHETIC subgroups, one with an SE: Handbook Table 6.5.a, as for a group of a two-group row
    from metasr.extraction import conversions as conv

    rows = [{"study_id": "S1", "comparison": "all", "subgroup": "men", "reported_form": "single_mean_sd", "n": 10,
             "mean": 5.0, "sd": 1.0},
            {"study_id": "S1", "comparison": "all", "subgroup": "women", "reported_form": "single_mean_se", "n": 16,
             "mean": 6.0, "se": 0.5}]
    [(row, result)] = convert_rows(rows, ConversionSettings("MN"))
    n, mean, sd = conv.combine_groups(10, 5.0, 1.0, 16, 6.0, 2.0)
    assert result.usable and result.values == {"mi": mean, "sdi": pytest.approx(sd), "ni": n}
    assert "combined subgroups (Handbook Table 6.5.a)" in result.conversion and "SD from SE" in result.conversion
    assert [d.cells for d in result.derived_sds] == [("se",)]


def test_a_single_group_sd_of_0_from_its_range_names_the_cells():
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    cfg = {"measure": "MN"}
    rows = [(2, {"study_id": "S1", "reported_form": "single_median_range", "n": 12, "median": 4.0, "min": 4.0,
                 "max": 4.0})]
    problems, _ = outcome_effect_problems(rows, conversion_settings("m", cfg, {}), cfg, "outcomes/m.csv")
    [p] = [p for p in problems if p.severity == "error"]
    assert (p.row, p.column, p.rule) == (2, "min", "derived-sd>0") and p.message.startswith("the sample's SD")
    assert "a range of 0" in p.hint


# A paired row of dat.lehmann2018 (Roberts et al. 2010 Exp 2, females) with its r left blank.
PAIRED_WITHOUT_R = {"study_id": "P1", "reported_form": "paired_mean_sd", "n": 15, "mean1": 3.66, "sd1": 0.59976,
                    "mean2": 3.446667, "sd2": 0.6085667}


def test_a_paired_row_without_r_needs_the_outcomes_assumed_correlation():
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    cfg = {"measure": "SMCC"}
    problems, _ = outcome_effect_problems([(2, PAIRED_WITHOUT_R)], conversion_settings("pp", cfg, {}), cfg, "pp.csv")
    [problem] = problems
    assert (problem.severity, problem.row, problem.column, problem.rule) == ("error", 2, "r", "form-cells")
    assert "assumed_correlation" in problem.hint
    cfg = {"measure": "SMCC", "assumed_correlation": 0.5}
    problems, [(_, result)] = outcome_effect_problems([(2, PAIRED_WITHOUT_R)], conversion_settings("pp", cfg, {}),
                                                      cfg, "pp.csv")
    assert problems == [] and result.usable and result.values["ri"] == 0.5
    assert result.conversion.startswith("assumed correlation") and "r = 0.5 assumed" in result.detail[0]
    reported = {**PAIRED_WITHOUT_R, "r": 0.66}  # a reported r is used as reported
    _, [(_, result)] = outcome_effect_problems([(2, reported)], conversion_settings("pp", cfg, {}), cfg, "pp.csv")
    assert result.values["ri"] == 0.66 and result.conversion == "none"


# dat.aloe2013, Cole et al. (2004): the t of the coefficient of interest, n, predictors, R²
REGRESSION_ROW = {"study_id": "Cole2004", "reported_form": "regression_t", "t_stat": 6.19, "n": 232, "predictors": 7,
                  "r2": 0.455}


def regression_problems(measure, row):
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    cfg = {"measure": measure}
    return outcome_effect_problems([(2, row)], conversion_settings("reg", cfg, {}), cfg, "reg.csv")


def test_a_semi_partial_correlation_needs_r2_and_a_partial_one_does_not():
    without = {k: v for k, v in REGRESSION_ROW.items() if k != "r2"}
    problems, [(_, result)] = regression_problems("SPCOR", without)
    [problem] = problems  # an error, not also a 'will not be pooled' warning
    assert (problem.severity, problem.row, problem.column, problem.rule) == ("error", 2, "r2", "form-cells")
    assert "PCOR" in problem.hint and "SPCOR" not in problem.hint.split("(")[-1]
    assert not result.usable and result.column == "r2"
    problems, [(_, result)] = regression_problems("PCOR", without)
    assert problems == [] and result.usable and result.values == {"ti": 6.19, "ni": 232, "mi": 7, "r2i": None}
    problems, [(_, result)] = regression_problems("SPCOR", REGRESSION_ROW)
    assert problems == [] and result.values["r2i"] == 0.455


def test_a_model_without_residual_degrees_of_freedom_is_named_at_its_predictors():
    problems, _ = regression_problems("PCOR", {**REGRESSION_ROW, "predictors": 231})
    [problem] = problems
    assert (problem.row, problem.column, problem.rule) == (2, "predictors", "mi <= ni - 2")
    problems, _ = regression_problems("SPCOR", {**REGRESSION_ROW, "r2": 0.01})  # t² (1 - R²) / df above R²
    assert [(p.column, p.rule) for p in problems] == [("r2", "t² (1 - r2i) / (ni - mi - 1) <= r2i")]


def test_a_phi_without_events_in_either_group_asks_for_a_correction_escalc_does_not_add():
    from metasr.extraction.converting import conversion_settings, outcome_effect_problems

    row = {"study_id": "S1", "reported_form": "events_n", "events1": 0, "n1": 12, "events2": 0, "n2": 30}  # SYNTHETIC
    cfg = {"measure": "PHI"}
    [problem] = outcome_effect_problems([(2, row)], conversion_settings("phi", cfg, {}), cfg, "phi.csv")[0]
    assert (problem.row, problem.rule) == (2, "finite effect")
    assert "escalc adds 0 to PHI by default" in problem.hint and "add: 0.5" in problem.hint
    cfg = {"measure": "PHI", "escalc": {"add": 0.5}}
    assert outcome_effect_problems([(2, row)], conversion_settings("phi", cfg, {}), cfg, "phi.csv")[0] == []
