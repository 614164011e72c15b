"""Every row rule has a failing row in tests/fixtures/extraction/bad_rows.csv (SYNTHETIC)."""

import re
from pathlib import Path

import pytest

from metasr.extraction.plausibility import row_problems
from metasr.extraction.sheets import read_sheet
from metasr.extraction.validate import check_outcome_rows, check_studies

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "extraction"


def problems_of_bad_rows():
    studies_problems = []
    studies = check_studies(read_sheet(FIXTURES / "studies.csv"), studies_problems)
    assert studies_problems == []
    sheet = read_sheet(FIXTURES / "bad_rows.csv")
    problems, _ = check_outcome_rows(sheet, studies)
    return sheet, problems


def test_every_fixture_row_fails_with_its_rule():
    sheet, problems = problems_of_bad_rows()
    by_row = {}
    for p in problems:
        by_row.setdefault(p.row, set()).add(p.rule)
    for rownum, row in sheet.numbered():
        expected = re.search(r"expected rule: (\S+)", row["notes"]).group(1)
        if expected == "-":
            continue
        assert expected in by_row.get(rownum, set()), f"row {rownum}: expected {expected}, got {by_row.get(rownum)}"


def test_problems_name_file_row_column_value_rule_and_hint():
    _, problems = problems_of_bad_rows()
    n1 = next(p for p in problems if p.rule == "type")
    assert (n1.row, n1.column, n1.value) == (2, "n1", "ten")
    assert n1.file.endswith("bad_rows.csv") and n1.hint
    assert all(p.file and p.row and p.rule and p.hint for p in problems)


def test_skewness_and_sd_se_disagreement_are_warnings_and_the_rest_are_errors():
    _, problems = problems_of_bad_rows()
    warnings = ("skewness", "sd-se-agree")
    assert {p.severity for p in problems if p.rule in warnings} == {"warning"}
    assert {p.severity for p in problems if p.rule not in (*warnings, "shared-group")} == {"error"}


def test_a_clean_row_has_no_problems(tmp_path, helpers):
    from metasr.extraction.sheets import OUTCOME_COLUMNS
    outcome_row = helpers.outcome_row
    path = helpers.write_sheet(tmp_path / "ok.csv", OUTCOME_COLUMNS, [
        outcome_row(study_id="S1", reported_form="median_iqr_range", n1="20", median1="5", q1_1="4", q3_1="6",
                    min1="2", max1="8", n2="20", median2="4", q1_2="3", q3_2="5", min2="1", max2="7")])
    problems, typed = check_outcome_rows(read_sheet(path), None)
    assert problems == [] and typed[0][1]["median1"] == 5


def test_single_group_rows_are_checked():
    from metasr.extraction.plausibility import row_problems

    def rules(**row):
        return {p.rule for p in row_problems(row, "sheet.csv", 2)}

    # SYNTHETIC rows
    assert rules(reported_form="events_total", events=12, n=10) == {"events<=n"}
    assert rules(reported_form="events_total", events=-1, n=10) == {"events>=0"}
    assert rules(reported_form="events_time", events=3, time=0) == {"time>0"}
    assert rules(reported_form="correlation", r=1.2, n=30) == {"-1<=r<=1"}
    assert rules(reported_form="correlation", r=0.2) == {"form-cells"}
    assert rules(reported_form="correlation", r=0.2, n=30) == set()
    pair = dict(reported_form="paired_mean_sd", n=15, mean1=3.66, sd1=0.6, mean2=3.45, sd2=0.61)
    assert rules(**pair, r=0.66) == set()
    assert rules(**pair) == set()  # a blank r: the outcome may assume it (converting.assumed_cell_problems)
    assert rules(**pair, r=1.3) == {"-1<=r<=1"}
    regression = dict(reported_form="regression_t", t_stat=4.61, n=218)  # dat.aloe2013, Abu-Bader (2000)
    assert rules(**regression, predictors=4) == set() and rules(**regression, predictors=4, r2=0.24) == set()
    assert rules(**regression) == {"form-cells"}  # the model's number of predictors is needed
    assert rules(**regression, predictors=4, r2=24) == {"0<=r2<=1"}  # a percentage
    assert rules(**regression, predictors=0) == {"predictors>=1"}


def test_a_group_with_an_sd_needs_two_participants():
    """An SD (given or estimated from SE, CI, quartiles or range) needs n >= 2; a conversion of a
    one-participant group would divide by zero."""
    from metasr.extraction.plausibility import row_problems

    def found(**row):
        return {(p.column, p.rule) for p in row_problems(row, "sheet.csv", 2)}

    # SYNTHETIC rows
    median = dict(reported_form="median_range", median1=5, min1=2, max1=8, median2=4, min2=1, max2=7)
    assert found(**median, n1=1, n2=20) == {("n1", "n>=2")}
    assert found(**median, n1=2, n2=20) == set()
    assert found(reported_form="mean_ci", reported_form2="mean_sd", n1=20, mean1=5, ci_lb1=4, ci_ub1=6, n2=1,
                 mean2=4, sd2=1) == {("n2", "n>=2")}
    assert found(reported_form="events_n", n1=1, events1=1, n2=20, events2=3) == set()


def test_an_se_that_disagrees_with_the_sd_is_a_warning():
    """Both given for a group: SE must be SD / sqrt(n) up to rounding (dat.normand1999's Edinburgh
    group 1: SD 47, n 155, so SE 3.78; the SE of 6.5 beside it is SYNTHETIC, a typo or another statistic)."""
    from metasr.extraction.plausibility import row_problems

    def found(**cells):
        row = dict(reported_form="mean_sd", n1=155, mean1=55, sd1=47, n2=156, mean2=75, sd2=64, **cells)
        return [(p.column, p.rule, p.severity) for p in row_problems(row, "sheet.csv", 2)]

    assert found(se1=6.5) == [("se1", "sd-se-agree", "warning")]
    assert found(se1=3.78, se2=5.12) == []  # rounded as published
    assert found() == []
    [problem] = row_problems(dict(reported_form="mean_se", n1=155, mean1=55, se1=6.5, sd1=47, n2=156, mean2=75,
                                  se2=5.12), "sheet.csv", 2)
    assert "SD / sqrt(n) = 3.78" in problem.message and "uses the SE" in problem.hint


def test_a_p_shown_as_0_is_hinted_to_be_written_as_a_bound():
    """A p of "0.000" was told that percentages are not allowed."""
    from metasr.extraction.plausibility import row_problems

    row = {"reported_form": "p_value", "n1": 20, "n2": 20, "direction": "group1_higher"}  # SYNTHETIC
    [zero] = row_problems({**row, "p_value": "0.000"}, "outcomes/x.csv", 2)
    assert (zero.rule, zero.column, zero.value) == ("0<p<=1", "p_value", "0.000") and "<0.001" in zero.hint
    assert "<0.01" in row_problems({**row, "p_value": "0.00"}, "outcomes/x.csv", 2)[0].hint
    assert "percentages" in row_problems({**row, "p_value": "3"}, "outcomes/x.csv", 2)[0].hint


@pytest.mark.parametrize("effect, lb, ub, measure, warned", [
    (2.0, 1.9, 5.0, "RR", "effect_ci_lb"),   # SYNTHETIC: 0.05 below, 0.92 above on the log scale
    (0.5, 0.2, 1.1, "RR", None),             # 0.92 and 0.79: symmetric enough
    (1.0, 0.9, 1.2, "OR", None),             # rounding to one decimal
    (2.0, 0.5, 2.2, "MD", "effect_ci_ub"),   # 1.5 below, 0.2 above
    (2.0, 0.5, 3.6, "MD", None),
])
def test_a_far_from_symmetric_ci_is_a_warning(effect, lb, ub, measure, warned):
    row = {"reported_form": "effect_ci", "effect": effect, "effect_ci_lb": lb, "effect_ci_ub": ub,
           "effect_measure": measure}
    found = [p for p in row_problems(row, "sheet.csv", 2) if p.rule == "ci-symmetry"]
    assert [(p.column, p.severity) for p in found] == ([(warned, "warning")] if warned else [])


def test_a_single_group_mean_row_is_checked_as_a_group_is():
    from metasr.extraction.plausibility import row_problems

    def rules(**row):
        return {p.rule for p in row_problems(row, "sheet.csv", 2)}

    # SYNTHETIC rows
    assert rules(reported_form="single_mean_sd", n=30, mean=5.0, sd=1.2) == set()
    assert rules(reported_form="single_mean_sd", n=30, mean=5.0, sd=0) == {"sd>0"}
    assert rules(reported_form="single_mean_sd", n=1, mean=5.0, sd=1.0) == {"n>=2"}
    assert rules(reported_form="single_mean_sd", n=0, mean=5.0, sd=1.0) == {"n>=1"}
    assert rules(reported_form="single_mean_sd", n=30, mean=5.0) == {"form-cells"}
    assert rules(reported_form="single_mean_se", n=30, mean=5.0, se=-0.1) == {"se>0"}
    assert rules(reported_form="single_mean_sd", n=25, mean=5.0, sd=2.0, se=1.0) == {"sd-se-agree"}
    assert rules(reported_form="single_mean_ci", n=30, mean=5.0, ci_lb=6.0, ci_ub=4.0) == {"ci-order"}
    assert rules(reported_form="single_mean_ci", n=30, mean=7.0, ci_lb=4.0, ci_ub=6.0) == {"ci-contains-estimate"}
    assert rules(reported_form="single_median_iqr", n=30, median=5.0, q1=6.0, q3=7.0) == {"q1<=median", "skewness"}
    assert rules(reported_form="single_median_range", n=30, median=8.5, min=1.0, max=9.0) == {"skewness"}
    [problem] = row_problems(dict(reported_form="single_mean_sd", n=1, mean=5.0, sd=1.0), "sheet.csv", 2)
    assert (problem.file, problem.row, problem.column, problem.value) == ("sheet.csv", 2, "n", "1")
    assert "sample reported as single_mean_sd" in problem.message and "SD" in problem.hint
