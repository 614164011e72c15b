"""Converting validated sheet rows into effect rows (subgroups combined, shared groups split)."""

from metasr.extraction.converting import convert_rows
from metasr.extraction.effects import ConversionSettings


def test_single_group_subgroups_are_summed():
    rows = [{"study_id": "S1", "comparison": "all", "subgroup": s, "reported_form": "events_total", "events": e,
             "n": n} for s, e, n in (("men", 4, 10), ("women", 6, 15))]  # SYNTHETIC counts
    [(row, result)] = convert_rows(rows, ConversionSettings("PR"))
    assert result.usable and result.values == {"xi": 10, "ni": 25} and "sums" in result.conversion


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
