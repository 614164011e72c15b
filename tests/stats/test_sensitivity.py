"""Leave-one-out, influence and cumulative analyses against R metafor 3.8-1 and by construction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats import sensitivity
from metasr.stats.models import fit_rma

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = [c for c in json.loads((FIXTURES / "expected.json").read_text())["cases"] if "leave1out" in c["expected"]]


def mismatches(result: dict, expected: dict) -> dict:
    bad = {}
    for key, value in expected.items():
        if isinstance(value, str):
            if result.get(key) != value:
                bad[key] = (result.get(key), value)
        elif not np.allclose(np.asarray(result[key], float), np.asarray(value, float), rtol=1e-6, atol=1e-9):
            bad[key] = (result[key], value)
    return bad


def fit_of(case):
    return fit_rma(np.array(case["yi"]), np.array(case["vi"]), method=case["method"], test=case["test"])


def order_of(case):
    table = pd.read_csv(FIXTURES / case["input"])
    return table[case["expected"]["cumulative"]["order_by"]].to_numpy()


def test_reference_has_cases():
    assert len(CASES) == 9 and sum("cumulative" in c["expected"] for c in CASES) == 7


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_leave1out_parity(case):
    result = sensitivity.leave_one_out(fit_of(case))
    assert set(case["expected"]["leave1out"]) <= set(result)  # the columns this fixture has (all: influence.R's)
    assert not mismatches(result, case["expected"]["leave1out"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_influence_parity(case):
    result = sensitivity.influence(fit_of(case))
    assert set(case["expected"]["influence"]) <= set(result)
    assert not mismatches(result, case["expected"]["influence"])


@pytest.mark.parametrize("case", [c for c in CASES if "cumulative" in c["expected"]],
                         ids=[c["id"] for c in CASES if "cumulative" in c["expected"]])
def test_cumulative_parity(case):
    expected = case["expected"]["cumulative"]
    result = sensitivity.cumulative(fit_of(case), order_of(case), order_by=expected["order_by"])
    assert not mismatches(result, expected)


def test_combined_equals_separate():
    fit = fit_of(CASES[0])
    l1, inf = sensitivity.leave_one_out_and_influence(fit)
    assert l1 == sensitivity.leave_one_out(fit) and inf == sensitivity.influence(fit)


def test_refits_equal_single_fits():
    fit = fit_of(CASES[0])
    res = sensitivity.leave_one_out(fit)
    for i in range(fit.k):
        single = fit_rma(np.delete(fit.yi, i), np.delete(fit.vi, i))
        assert res["tau2"][i] == pytest.approx(single.tau2, rel=1e-9)
        assert res["se"][i] == pytest.approx(float(single.se[0]), rel=1e-9)


def test_knha_influence_matches_mean_shift_outlier_model():
    # metafor's rstudent under knha equals the t statistic of a mean-shift dummy for study i
    rng = np.random.default_rng(2)  # synthetic data
    vi = rng.uniform(0.02, 0.3, 8)
    yi = rng.normal(0.1, np.sqrt(vi + 0.05))
    fit = fit_rma(yi, vi, method="REML", test="knha")
    rst = sensitivity.influence(fit)["rstudent"]
    for i in range(fit.k):
        X = np.column_stack([np.ones(fit.k), np.arange(fit.k) == i])
        shift = fit_rma(yi, vi, method="REML", test="knha", X=X)
        assert rst[i] == pytest.approx(shift.stat[1], rel=1e-6)


def test_cumulative_last_step_is_the_full_fit_and_first_is_one_study():
    case = CASES[0]
    fit = fit_of(case)
    res = sensitivity.cumulative(fit, order_of(case), order_by="year")
    assert res["estimate"][-1] == pytest.approx(fit.estimate, rel=1e-12)
    first = res["study_index"][0]
    assert res["estimate"][0] == pytest.approx(fit.yi[first]) and res["tau2"][0] == 0


def test_cumulative_ties_keep_input_order_and_strings_sort():
    fit = fit_rma(np.array([0.1, 0.5, 0.3, 0.2]), np.array([0.1, 0.2, 0.15, 0.05]))  # synthetic
    assert sensitivity.cumulative(fit, [2001, 1999, 2001, 1999])["study_index"] == [1, 3, 0, 2]
    assert sensitivity.cumulative(fit, ["b", "a", "d", "c"])["study_index"] == [1, 0, 3, 2]


def test_missing_order_values_are_an_input_error():
    fit = fit_rma(np.array([0.1, 0.5, 0.3]), np.array([0.1, 0.2, 0.15]))  # synthetic
    with pytest.raises(InputError, match="missing for studies 2"):
        sensitivity.cumulative(fit, [2001, np.nan, 2003])
    with pytest.raises(InputError, match="2 values for 3 studies"):
        sensitivity.cumulative(fit, [1, 2])


def test_two_studies_leave_one_out_is_each_study_alone():
    fit = fit_rma(np.array([0.2, 0.5]), np.array([0.2, 0.1]), test="knha")  # synthetic
    res = sensitivity.leave_one_out(fit)
    assert res["estimate"] == [0.5, 0.2] and res["tau2"] == [0.0, 0.0]
    assert res["ci_lb"][0] == pytest.approx(0.5 - 1.959963984540054 * np.sqrt(0.1))


def test_table_refits_that_are_undefined_are_null():
    def refit(rows):  # SYNTHETIC: the pooled ratio is undefined on the first table alone
        return None if list(rows) == [0] else {key: float(len(rows)) for key in sensitivity.TABLE_CUMULATIVE_KEYS}

    cumul = sensitivity.table_cumulative(refit, 3, [1, 2, 3], order_by="year")
    assert cumul["estimate"] == [None, 2.0, 3.0] and cumul["Q"] == [None, 2.0, 3.0]
    assert sensitivity.table_leave_one_out(refit, 3)["estimate"] == [2.0, 2.0, 2.0]
    with pytest.raises(InputError, match="2 values for 3 studies"):
        sensitivity.table_cumulative(refit, 3, [1, 2])


def test_a_text_ordering_variable_sorts_as_rs_order():
    # R 4.x: order(c("beta", "Alpha", ...)) - 1 (ICU collation; ties keep the input order)
    from metasr.stats.sensitivity import _sort_order

    labels = ["beta", "Alpha", "alpha", "Beta", "gamma", "Delta", "delta", "epsilon", "Zeta", "zeta", "eta",
              "Theta", "iota"]
    assert _sort_order(labels).tolist() == [2, 1, 0, 3, 6, 5, 7, 10, 4, 12, 11, 9, 8]
    assert _sort_order(["b", "a", "b", "a"]).tolist() == [1, 3, 0, 2]


INFLUENCE_CASES = json.loads((FIXTURES.parent / "influence" / "expected.json").read_text())["cases"]


@pytest.mark.parametrize("case", INFLUENCE_CASES, ids=[c["id"] for c in INFLUENCE_CASES])
def test_influence_dfbetas_and_flags_match_metafor(case):
    result = sensitivity.influence(fit_of(case))
    expected = dict(case["expected"])
    assert result["inf"] == [bool(flag) for flag in expected.pop("inf")]
    assert not mismatches(result, expected)


def test_influence_reference_flags_studies():
    """The reference holds flagged and unflagged studies, so the flag test can fail both ways."""
    flags = [flag for c in INFLUENCE_CASES for flag in c["expected"]["inf"]]
    assert any(flags) and not all(flags)


def test_influence_reasons_name_each_criterion_met():
    case = next(c for c in INFLUENCE_CASES if c["id"] == "bcg_RR_FE_z")
    result = sensitivity.influence(fit_of(case))
    for i, flagged in enumerate(result["inf"]):
        reasons = sensitivity.influence_reasons(result, i)
        assert bool(reasons) == flagged
        for criterion, value, limit in reasons:
            assert abs(value) > limit and result[criterion.key][i] == value


@pytest.mark.parametrize("case", INFLUENCE_CASES, ids=[c["id"] for c in INFLUENCE_CASES])
def test_cumulative_has_every_column_of_metafor_s_cumul(case):
    """cumul(fit, order = ): with Q, Qp (Q_pval), H2 and zval (stat) beside the estimates; the first
    step is metafor's one-study model (Q 0, Qp 1, H2 1)."""
    want = dict(case["cumulative"])
    order = want.pop("order")
    result = sensitivity.cumulative(fit_of(case), np.array(order), order_by="year")
    assert set(want) <= set(result)
    assert not mismatches(result, want)


@pytest.mark.parametrize("case", INFLUENCE_CASES, ids=[c["id"] for c in INFLUENCE_CASES])
def test_leave1out_gives_every_column_of_metafors(case):
    """leave1out()'s zval/tval, Qp and H2 too (tools/reference/influence.R)."""
    result = sensitivity.leave_one_out(fit_of(case))
    assert set(result) == set(case["leave1out"])
    assert not mismatches(result, case["leave1out"])


def test_baujat_refits_together_are_each_refit_alone(refit_estimator, synthetic_trials):
    """Baujat's leave-one-out refits, fitted together, give each study's y as the refit of the other
    studies alone (sensitivity._one_refit), number for number: SYNTHETIC data with and without
    moderators, a dominant study, user weights and a fixed tau2."""
    from metasr.stats.models import fit_rma
    from metasr.stats.sensitivity import _one_refit, baujat

    method, test = refit_estimator
    for trial, rng, k, yi, vi in synthetic_trials(11, 5, 10, dominant=1):
        X = None if trial == 1 else np.column_stack([np.ones(k), rng.normal(size=k)])
        fits = [fit_rma(yi, vi, method=method, test=test, X=X),
                fit_rma(yi, vi, method=method, test=test, X=X, weights=1 / (vi + 0.03), tau2=0.02)]
        for fit in fits:
            pred = fit.X @ fit.beta
            expected = []
            for i in range(k):
                refit = _one_refit(fit, np.arange(k) != i)
                if refit is None:
                    expected.append(None)
                    continue
                beta, vb = refit
                expected.append(float((float(fit.X[i] @ beta) - pred[i]) ** 2 / float(fit.X[i] @ vb @ fit.X[i])))
            assert baujat(fit)["y"] == expected
