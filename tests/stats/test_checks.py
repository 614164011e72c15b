"""metasr.stats.checks: what the engine cannot take is a problem naming the row, and what it is
given inside the limits it fits (every estimator, both tests, at the corners of the range)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats import checks
from metasr.stats.analysis import analyse
from metasr.stats.models import METHODS_RMA

TESTS = ("z", "knha")


def table(yi, vi) -> pd.DataFrame:
    return pd.DataFrame({"study_id": [f"S{i}" for i in range(len(yi))], "yi": [repr(float(y)) for y in yi],
                         "vi": [repr(float(v)) for v in vi]})


CORNERS = {
    "largest effects, smallest variances": ([checks.YI_MAX, -checks.YI_MAX, 0.5 * checks.YI_MAX, 0.0],
                                            [checks.VI_MIN, 2 * checks.VI_MIN, checks.VI_MIN, 3 * checks.VI_MIN]),
    "largest effects, largest variances": ([checks.YI_MAX, -checks.YI_MAX, 0.5 * checks.YI_MAX, 0.0],
                                           [checks.VI_MAX, 0.5 * checks.VI_MAX, checks.VI_MAX, 0.3 * checks.VI_MAX]),
    "variances 1e7 apart": ([0.1, 0.4, -0.2, 0.3], [1.0, 0.99 * checks.VI_RATIO_MAX, 10.0, 1e3]),
    "identical effects of 0": ([0.0, 0.0, 0.0], [1.0, 1.0, 10.0]),
    "two studies, variances 1e7 apart": ([0.0, 0.0], [1.0, 0.99 * checks.VI_RATIO_MAX]),
    "variances 1e30 apart": ([0.1, 0.4, -0.2, 0.3], [1e-15, 1e15, 1.0, 1e3]),
    "variances as far apart as the range allows": ([0.1, -0.4, 0.2], [checks.VI_MIN, checks.VI_MAX, 1.0]),
}


@pytest.mark.parametrize("corner", sorted(CORNERS))
def test_the_engine_fits_at_the_corners_of_the_allowed_range(corner):
    yi, vi = CORNERS[corner]
    assert not checks.table_problems(table(yi, vi), ratio_limit=False)
    for method, test in itertools.product(METHODS_RMA, TESTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # extreme tables: 0/0 in diagnostics is NaN
            result = analyse(table(yi, vi), "GEN", method, test)
        assert result["estimate"] is not None, (method, test)


def test_identical_effects_with_knapp_hartung_give_metafors_na():
    """metafor 3.8-1, rma(yi = c(0, 0, 0), vi = c(1, 1, 10), method = "FE", test = "knha"): se 0,
    tval NA, pval NA; regtest: t = NA, p = NA, limit estimate 0 (its QM is NA when chol(vb) fails)."""
    result = analyse(table([0, 0, 0], [1, 1, 10]), "GEN", "FE", "knha", small_study_min_k=3)
    assert result["se"] == 0 and result["stat"] is None and result["pval"] is None
    assert result["egger"]["stat"] is None and result["egger"]["pval"] is None
    assert result["egger"]["limit_estimate"] == 0


@pytest.mark.parametrize("yi, vi, column, rule", [
    ([2 * checks.YI_MAX, 0.1], [0.1, 0.1], "yi", "effect in range"),
    ([float("nan"), 0.1], [0.1, 0.1], "yi", "effect in range"),
    ([0.1, 0.1], [checks.VI_MIN / 10, 0.1], "vi", "variance in range"),
    ([0.1, 0.1], [float("inf"), 0.1], "vi", "variance in range"),
    ([0.1, 0.1], [0.0, 0.1], "vi", "variance in range"),
])
def test_numbers_outside_the_range_name_their_row_and_column(yi, vi, column, rule):
    [problem] = checks.table_problems(table(yi, vi), "effects.csv")
    assert (problem.file, problem.row, problem.column, problem.rule) == ("effects.csv", 2, column, rule)


def test_variances_too_far_apart_name_both_rows():
    problems = checks.table_problems(table([0.1, 0.2, 0.3], [1.0, 2.0, 1e9]), "effects.csv")
    [problem] = problems
    assert (problem.row, problem.column, problem.rule) == (4, "vi", "variance ratio")
    assert "row 2" in problem.message and "1e+09 times" in problem.message


def test_one_row_per_study():
    data = table([0.1, 0.2, 0.3], [0.1, 0.1, 0.1])
    data["study_id"] = ["A", "B", " A "]
    [problem] = checks.duplicate_study_problems(data, "effects.csv")
    assert (problem.row, problem.column, problem.value) == (4, "study_id", "A") and "row 2" in problem.message
    data["study_id"] = ["A", "", None]
    assert checks.duplicate_study_problems(data) == []
    data["study_id"] = ["A", "NA", "NA"]  # R's missing value: no study id, as a blank
    assert checks.duplicate_study_problems(data) == []


def test_analyse_refuses_before_the_engine_sees_anything():
    with pytest.raises(InputError) as err:
        analyse(table([0.1, 1e308, -1e308], [1e300, 0.1, 0.1]), "GEN", "REML")
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "vi"), (3, "yi"), (4, "yi")]


def test_nearly_equal_variances_in_eggers_test():
    """Found by tests/fuzz (deep run): yi = 0, 0, 0 and vi = 1, 1, 1 + 2.3e-8 with FE. metafor 3.8-1's
    regtest stops: 'Model matrix no longer of full rank after addition of predictor' (R's QR with
    tol 1e-7), for model rma and lm alike, and trimfill fails choosing its side; rma's own check
    (an eigenvalue of X'X at or below 1e-7) stops vi = 1, 1, 1 + 2.3e-6 too. metasr skips the tests
    with that reason; the pooled model and the rank test are reported."""
    result = analyse(table([0.0, 0.0, 0.0], [1.0, 1.0, 1.0 + 2.3e-8]), "GEN", "FE", "z", small_study_min_k=3)
    for key in ("egger", "egger_lm"):
        assert result[key]["stat"] is None and result[key]["pval"] is None
        assert "no longer of full rank" in result[key]["message"]
    assert result["trimfill"]["k0"] is None and "full rank" in result["trimfill"]["message"]
    assert result["estimate"] == 0 and result["se"] > 0
    result = analyse(table([0.1, 0.3, -0.2], [1.0, 1.0, 1.0 + 2.3e-6]), "GEN", "REML", "z", small_study_min_k=3)
    assert result["egger"]["stat"] is None and "eigenvalue" in result["egger"]["message"]
    assert result["egger_lm"]["stat"] is not None  # lm() fits it, as R does


def exact_reml_tau2_se(yi, vi, tau2) -> float:
    """sqrt(2 / tr(PP)) in exact rational arithmetic (metafor's definition, P formed entry by entry)."""
    from fractions import Fraction

    w = [1 / (Fraction(float(v)) + Fraction(float(tau2))) for v in vi]
    sw = sum(w)
    P = [[(w[i] if i == j else 0) - w[i] * w[j] / sw for j in range(len(w))] for i in range(len(w))]
    return float(2 / sum(p * p for row in P for p in row)) ** 0.5


def test_reml_tau2_se_with_variances_1e6_apart():
    """metafor 3.8-1: rma(yi = c(0, 0), vi = c(1, 1e6), method = "REML")$se.tau2 = 707107.4883
    (metafor forms P, whose entries cancel far less than the old sums of powers of w did)."""
    from metasr.stats.models import fit_rma

    fit = fit_rma(np.array([0.0, 0.0]), np.array([1.0, 1e6]), method="REML")
    assert fit.tau2_se == pytest.approx(707107.4883, rel=1e-9)


@pytest.mark.parametrize("ratio", [1e6, 1e9, 1e15, 1e25, 1e40])
def test_reml_tau2_se_is_exact_at_extreme_variance_ratios(ratio):
    from metasr.stats.models import fit_rma

    rng = np.random.default_rng(int(np.log10(ratio)))  # synthetic
    vi = np.sqrt(ratio) ** rng.uniform(-1, 1, size=5)
    vi[0], vi[1] = 1 / np.sqrt(ratio), np.sqrt(ratio)
    yi = rng.normal(size=5) * np.sqrt(vi)
    fit = fit_rma(yi, vi, method="REML")
    assert fit.tau2_se == pytest.approx(exact_reml_tau2_se(yi, vi, fit.tau2), rel=1e-12)


def test_only_models_with_moderators_are_refused_variances_far_apart():
    data = table([0.1, 0.5, -0.3, 0.2], [1e-4, 1e6, 0.5, 2.0])
    data["x"] = ["1", "2", "3", "5"]
    assert analyse(data, "GEN", "REML", "z")["tau2_se"] is not None
    with pytest.raises(InputError) as err:
        analyse(data, "GEN", "REML", "z", mods=["x"])
    assert err.value.problems[0].rule == "variance ratio"


# ---------------------------------------------------------------- rows that are no study of their own

BCG = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv"


def bcg_text() -> pd.DataFrame:
    """dat.bcg as `metasr pool` reads it: text cells, its study column as a spreadsheet names it."""
    return pd.read_csv(BCG, dtype=str, keep_default_na=False)[["study", "year", "ai", "bi", "ci", "di"]]


def with_row(table: pd.DataFrame, **cells) -> pd.DataFrame:
    return pd.concat([table, pd.DataFrame([{c: "" for c in table.columns} | cells])], ignore_index=True)


def test_dat_bcg_as_a_spreadsheet_exports_it_pools_as_metafor():
    result = analyse(bcg_text(), "RR", "REML")
    assert result["k"] == 13 and result["estimate"] == pytest.approx(-0.7145323, abs=1e-7)
    assert "warnings" not in result


@pytest.mark.parametrize("label", ["Total", "total", "Overall", "Pooled", "Sum", "All studies", "Subtotal",
                                   "Sub-total", "Total (95% CI)", "Subtotal: adults"])
def test_a_total_row_is_refused_not_pooled_as_a_study(label):
    bcg = bcg_text()
    sums = {c: str(bcg[c].astype(int).sum()) for c in ("ai", "bi", "ci", "di")}
    with pytest.raises(InputError) as err:
        analyse(with_row(bcg, study=label, **sums), "RR", "REML", file="t.csv")
    (problem,) = err.value.problems
    assert (problem.row, problem.column, problem.value) == (15, "study", label)
    assert "total or summary row" in problem.message and "usable" in problem.hint


def test_a_total_row_without_a_label_is_told_by_its_sums():
    bcg = bcg_text()
    sums = {c: str(bcg[c].astype(int).sum()) for c in ("ai", "bi", "ci", "di")}
    with pytest.raises(InputError) as err:
        analyse(with_row(bcg, study="Hart 1999", **sums), "RR", "REML", file="t.csv")
    (problem,) = err.value.problems
    assert problem.row == 15 and "sums of the other rows'" in problem.message and "ai = 1065" in problem.message


def test_a_total_row_marked_not_usable_is_listed_not_pooled():
    bcg = bcg_text().assign(usable="true")
    result = analyse(with_row(bcg, study="Total", ai="1065", bi="189999", ci="1510", di="164773", usable="false"),
                     "RR", "REML")
    assert result["k"] == 13 and result["estimate"] == pytest.approx(-0.7145323, abs=1e-7)


@pytest.mark.parametrize("label", ["Totally Randomised 1990", "Sumner 1980", "Overall survival trial 2001"])
def test_labels_that_only_begin_like_a_total_are_studies(label):
    assert not checks.is_summary_label(label)


@pytest.mark.parametrize("column", ["study_id", "study"])
def test_a_blank_study_id_is_refused_with_the_merged_cells_hint(column):
    table = bcg_text().rename(columns={"study": column})
    table.loc[2, column] = ""  # merged cells: the study's second row exports blank
    with pytest.raises(InputError) as err:
        analyse(table, "RR", "REML", file="t.csv")
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (4, column) and "merged cells" in problem.hint


def test_a_count_that_is_not_a_whole_number_is_pooled_as_metafor_with_a_warning():
    table = bcg_text()
    table.loc[3, "bi"] = "13.536"  # 13,536 with a point between the thousands
    result = analyse(table, "RR", "REML", file="t.csv")
    (warning,) = result["warnings"]
    assert warning.startswith("t.csv, row 5, column 'bi': the count '13.536' is not a whole number")
    assert "if it means 13536" in warning


def test_a_total_row_is_refused_by_the_three_level_model_too():
    from metasr.stats.multilevel import analyse_multilevel

    bcg = bcg_text()
    table = with_row(bcg, study="Total", ai="1065", bi="189999", ci="1510", di="164773")
    with pytest.raises(InputError, match="total or summary row"):
        analyse_multilevel(table, "RR", "REML", cluster="year")
