"""Small-study tests against R metafor 3.8-1 (tests/fixtures/metafor) and against first principles."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from metasr.stats import bias
from metasr.stats.models import fit_rma

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = [c for c in json.loads((FIXTURES / "expected.json").read_text())["cases"] if "egger" in c["expected"]]
KEYS = ("egger", "egger_lm", "begg", "trimfill")


def close(actual, expected) -> bool:
    if isinstance(expected, str) or expected is None:
        return actual == expected
    return bool(np.allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=1e-6, atol=1e-9))


def fit_of(case):
    return fit_rma(np.array(case["yi"]), np.array(case["vi"]), method=case["method"], test=case["test"])


def test_reference_has_cases():
    assert len(CASES) == 9


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
@pytest.mark.parametrize("key", KEYS)
def test_parity_with_metafor(case, key):
    fit = fit_of(case)
    fn = {"egger": bias.egger_test, "egger_lm": bias.egger_lm, "begg": bias.begg_test, "trimfill": bias.trimfill}[key]
    result = fn(fit)
    expected = case["expected"][key]
    assert set(result) == set(expected)
    bad = {k: (result[k], v) for k, v in expected.items() if not close(result[k], v)}
    assert not bad


def test_kendall_cdf_matches_enumeration():
    for n in range(1, 7):
        counts = np.zeros(n * (n - 1) // 2 + 1)
        for perm in itertools.permutations(range(n)):
            inv = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
            counts[inv] += 1
        assert np.allclose(bias.kendall_cdf(n), np.cumsum(counts) / math.factorial(n), atol=1e-15)


def test_kendall_tau_matches_scipy_with_ties():
    rng = np.random.default_rng(7)  # synthetic data
    x, y = rng.integers(0, 5, 30).astype(float), rng.integers(0, 4, 30).astype(float)
    assert bias.kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, rel=1e-12)


def test_kendall_p_without_ties_matches_scipy_exact():
    rng = np.random.default_rng(3)  # synthetic data
    x, y = rng.normal(size=12), rng.normal(size=12)
    tau, p = bias.kendall_test(x, y)
    ref = stats.kendalltau(x, y, method="exact")
    assert tau == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_kendall_normal_approximation_with_ties():
    # synthetic: ties in both variables force R's normal approximation
    x = np.array([1, 2, 2, 3, 4, 5, 5, 6, 7, 8.0])
    y = np.array([2, 1, 3, 3, 5, 4, 6, 6, 8, 7.0])
    tau, p = bias.kendall_test(x, y)
    ref = stats.kendalltau(x, y, method="asymptotic")
    assert tau == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_egger_lm_equals_ordinary_regression_of_standard_normal_deviates():
    # Egger 1997: SND = yi/sei regressed on precision; its intercept is the WLS slope on sei
    rng = np.random.default_rng(11)  # synthetic data
    vi = rng.uniform(0.01, 0.5, 15)
    yi = rng.normal(0.2, np.sqrt(vi)) + 0.8 * np.sqrt(vi)
    fit = fit_rma(yi, vi)
    res = bias.egger_lm(fit)
    ols = stats.linregress(1 / np.sqrt(vi), yi / np.sqrt(vi))
    assert res["stat"] == pytest.approx(ols.intercept / ols.intercept_stderr, rel=1e-9)
    assert res["limit_estimate"] == pytest.approx(ols.slope, rel=1e-9)
    assert res["df"] == 13


def test_trimfill_fills_mirror_images_on_the_missing_side():
    # synthetic funnel with the small negative studies removed: fill must happen on the left
    rng = np.random.default_rng(5)
    vi = np.geomspace(0.005, 0.5, 30)
    yi = 0.3 + rng.normal(0, np.sqrt(vi))
    keep = ~((vi > 0.05) & (yi < 0.3))
    fit = fit_rma(yi[keep], vi[keep])
    tf = bias.trimfill_model(fit)
    assert tf.side == "left" and tf.k0 > 0
    assert np.all(tf.yi_fill < fit.estimate)
    assert bias.trimfill(fit)["estimate"] < fit.estimate
    filled = bias.filled_studies(fit)
    assert len(filled["yi"]) == tf.k0 == bias.trimfill(fit)["k0"]


def test_equal_standard_errors_give_a_message_not_a_crash():
    fit = fit_rma(np.array([0.1, 0.4, -0.2, 0.3]), np.full(4, 0.04))  # synthetic
    for fn in (bias.egger_test, bias.egger_lm, bias.trimfill):
        res = fn(fit)
        assert res.get("pval") is None and res.get("estimate") is None
        assert "message" in res and "standard errors" in res["message"]
    assert bias.begg_test(fit)["pval"] is not None


def test_default_control_emulation_matches_exact_optimum_closely():
    # metafor's default threshold leaves tau2 within ~1e-4 relative of the optimum, not further
    case = next(c for c in CASES if c["id"] == "egger2001_OR_REML_z")
    yi, vi = np.array(case["yi"]), np.array(case["vi"])
    exact = fit_rma(yi, vi).tau2
    assert bias._default_control_tau2(yi, vi, "REML") == pytest.approx(exact, rel=1e-4)
