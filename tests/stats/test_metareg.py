"""Meta-regression: design matrices, R2, Wald/F omnibus tests, and agreement with subgroups."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metasr.errors import InputError
from metasr.stats.effects import escalc
from metasr.stats.metareg import design_matrix, fit_metareg, metareg_dict
from metasr.stats.models import fit_rma
from metasr.stats.subgroup import q_between

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = {c["id"]: c for c in json.loads((FIXTURES / "expected.json").read_text())["cases"]}


def hackshaw():
    return escalc(pd.read_csv(FIXTURES / "inputs/hackshaw1998.csv"), "GEN")


@pytest.mark.parametrize("case_id", [k for k, c in CASES.items() if c.get("moderators")])
def test_metafor_meta_regression_cases(case_id):
    case = CASES[case_id]
    table = pd.read_csv(FIXTURES / case["input"])
    X, names = design_matrix(table, [case["moderators"]])
    result = metareg_dict(fit_metareg(case["yi"], case["vi"], X, names, case["method"], case["test"]))
    for key, value in case["expected"].items():
        if key == "QM_df":
            assert result[key] == value
        else:
            assert np.allclose(result[key], value, rtol=1e-6, atol=1e-9), key


def test_categorical_moderator_dummy_coding_and_fe_equivalence_with_subgroups():
    # a common-effect meta-regression on a factor tests the same hypothesis as Q between subgroups
    table = hackshaw()
    X, names = design_matrix(table, ["design"])
    assert names == ["intrcpt", "designcohort"]  # reference level: 'case-control' (sorted first)
    fit = fit_metareg(table["yi"], table["vi"], X, names, method="FE")
    levels = sorted(table["design"].unique())
    fits = [fit_rma(table.loc[table.design == lv, "yi"], table.loc[table.design == lv, "vi"], "FE") for lv in levels]
    Q, df, p = q_between([f.estimate for f in fits], [f.se[0] for f in fits])
    assert math.isclose(fit.QM, Q, rel_tol=1e-10) and fit.QM_df == [1, None] and math.isclose(fit.QM_pval, p)
    assert math.isclose(fit.beta[1], fits[1].estimate - fits[0].estimate, rel_tol=1e-10)


def test_knha_omnibus_is_an_f_test():
    case = CASES["bcg_RR_metareg_ablat_knha"]
    X, names = design_matrix(pd.read_csv(FIXTURES / case["input"]), ["ablat"])
    fit = fit_metareg(case["yi"], case["vi"], X, names, "REML", "knha")
    assert math.isclose(fit.QM, fit.stat[1] ** 2, rel_tol=1e-10)
    assert math.isclose(fit.QM_pval, stats.f.sf(fit.QM, 1, 11), rel_tol=1e-10)


def test_r2_is_zero_when_there_is_no_heterogeneity_to_explain():
    table = pd.DataFrame({"yi": [0.1, 0.1, 0.1, 0.1], "vi": [0.1, 0.2, 0.1, 0.3], "x": [1, 2, 3, 4]})  # synthetic
    X, names = design_matrix(table, ["x"])
    assert metareg_dict(fit_metareg(table["yi"], table["vi"], X, names))["R2"] == 0.0


def test_a_common_effect_meta_regression_has_metafors_r2_the_weighted_adjusted_one():
    """metafor 3.8-1: rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat.bcg (RR), method = "FE")$R2,
    100 x the adjusted R2 of lm(yi ~ X, weights = 1/vi)."""
    case = CASES["bcg_RR_metareg_ablat_knha"]
    X, names = design_matrix(pd.read_csv(FIXTURES / case["input"]), ["ablat", "alloc"])
    fit = fit_metareg(case["yi"], case["vi"], X, names, "FE")
    assert math.isclose(metareg_dict(fit)["R2"], 77.0497109908694, rel_tol=1e-10)
    equal = fit_metareg(np.full(13, 0.2), case["vi"], X, names, "FE")  # SYNTHETIC: effects that do not vary
    assert metareg_dict(equal)["R2"] == 0.0
    X2, names2 = design_matrix(pd.read_csv(FIXTURES / case["input"]), ["ablat"])
    saturated = fit_metareg(case["yi"][:2], case["vi"][:2], X2[:2], names2, "FE")  # k = p: no residual df
    assert metareg_dict(saturated)["R2"] is None  # metafor: NaN


def test_missing_moderator_values_are_reported_by_row():
    table = pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.1, 0.1, 0.1], "x": ["1", "", "3"]})
    with pytest.raises(InputError) as err:
        design_matrix(table, ["x", "absent"], file="m.csv")
    found = {(p.row, p.column) for p in err.value.problems}
    assert found == {(3, "x"), (None, "absent")}


@pytest.mark.parametrize("marker", ["NR", "n.r.", "N/A", "NA", "-", "\u2014", "?", " nr "])
def test_a_moderator_not_reported_is_missing_never_a_factor_level(marker):
    """SYNTHETIC: a year column mostly 'NR' became a factor with an 'NR' level (coefficients year1968
    ... yearNR); such cells are missing values, named as blanks are."""
    table = pd.DataFrame({"year": [marker, marker, "1968", marker, "1977"], "g": ["a", marker, "b", "a", "b"]})
    for column in ("year", "g"):
        with pytest.raises(InputError) as err:
            design_matrix(table, [column], file="m.csv")
        rows = [p.row for p in err.value.problems]
        assert rows == ([2, 3, 5] if column == "year" else [3])
        assert all(p.rule == "moderator value" and "usable" in p.hint for p in err.value.problems)


def test_a_moderator_that_is_not_finite_is_named_and_spaces_around_a_value_are_not_part_of_it():
    table = pd.DataFrame({"year": ["1948", "inf", "1960", "1977"]})
    with pytest.raises(InputError) as err:
        design_matrix(table, ["year"])
    assert [(p.row, p.value) for p in err.value.problems] == [(3, "inf")]
    assert "not a finite number" in err.value.problems[0].message
    spaced = pd.DataFrame({"year": ["1948", "1949\u00a0", " 1960", "1977"]})
    assert design_matrix(spaced, ["year"])[0][:, 1].tolist() == [1948, 1949, 1960, 1977]


def test_only_the_aliased_moderator_term_is_named_and_a_one_valued_factor_is_refused():
    """SYNTHETIC moderators: `const` is the intercept again; the factor after it is not aliased
    (metafor drops `const` alone and fits the rest); a text moderator with one value has no
    contrast to estimate (it used to give an intercept-only model that the report could not show)."""
    table = pd.DataFrame({"x": [0.1, 0.5, 0.2, 0.9, 0.4, 0.7], "const": ["5"] * 6,
                          "g": ["a", "b", "c", "a", "b", "c"], "one": ["only"] * 6})
    with pytest.raises(InputError) as err:
        design_matrix(table, ["x", "const", "g"])
    assert [p.column for p in err.value.problems] == ["const"]
    X, names = design_matrix(table, ["x", "g"])
    assert names == ["intrcpt", "x", "gb", "gc"] and np.linalg.matrix_rank(X) == 4
    with pytest.raises(InputError) as err:
        design_matrix(table, ["one"])
    assert [(p.column, p.rule) for p in err.value.problems] == [("one", "full-rank moderators")]
    assert "single value ('only')" in err.value.problems[0].message


def test_a_numeric_moderator_with_a_typo_is_a_problem_at_that_cell_not_a_factor():
    """SYNTHETIC `dose` with one cell `1O` (letter O): it made dose a factor of every dose; the
    cell is now named, and factor(dose) still makes categories of a numeric-looking column."""
    table = pd.DataFrame({"dose": ["10", "20", "1O", "40", "50", "60"], "grade": ["a", "b", "a", "b", "a", "b"]})
    with pytest.raises(InputError) as err:
        design_matrix(table, ["dose"])
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(4, "dose", "1O")]
    assert "factor(dose)" in err.value.problems[0].hint
    assert design_matrix(table, ["factor(dose)"])[1][:2] == ["intrcpt", "factor(dose)1O"]
    assert design_matrix(table, ["grade"])[1] == ["intrcpt", "gradeb"]  # a text factor stays one
