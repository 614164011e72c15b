"""metasr's own normal and chi-square functions against R (pnorm, qnorm, pchisq:
tools/reference/distributions.R) and against 60-digit values (tools/reference/distributions_decimal.py)
over their whole range; the scipy.special wrappers (t, F, chi-square quantile) against scipy.stats."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from metasr.stats import distributions as dist

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "distributions"
R = json.loads((FIXTURES / "r_reference.json").read_text())
EXACT = json.loads((FIXTURES / "decimal_reference.json").read_text())
SMALLEST_NORMAL = np.finfo(float).tiny  # 2.2e-308: below it, doubles are subnormal (fewer digits)
X = np.array([-8.0, -2.5, -0.3, 0.0, 0.7, 1.96, 4.0, 12.0])
P = np.array([1e-12, 1e-6, 0.025, 0.3, 0.5, 0.8, 0.975, 1 - 1e-9])
NORMAL = {"cdf": dist.norm_cdf, "sf": dist.norm_sf}
CHISQ_IDS = [f"df={c['df']:g}" for c in R["chisq"]]


def relative_error(got, want) -> np.ndarray:
    got, want = np.asarray(got, float), np.asarray(want, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(got == want, 0.0, np.abs(got - want) / np.abs(want))


def assert_close(got, want, rtol, where):
    """Relative agreement, with the worst point named."""
    err = relative_error(got, want)
    worst = int(np.argmax(err))
    assert err[worst] <= rtol, f"relative error {err[worst]:.3g} > {rtol:g} at {where[worst]!r}"


@pytest.mark.parametrize("tail", ["cdf", "sf"])
def test_normal_tails_match_r(tail):
    """R's pnorm returns 0 from |x| = 37.52 on (its cut-off), where the tails are still subnormal
    doubles: there metasr's are below the smallest normal double."""
    x, want = np.array(R["normal"]["x"]), np.array(R["normal"][tail])
    got = NORMAL[tail](x)
    assert_close(got[want > 0], want[want > 0], 1e-13, x[want > 0])
    assert np.all(got[want == 0] < SMALLEST_NORMAL)


@pytest.mark.parametrize("tail", ["cdf", "sf"])
def test_normal_tails_exact(tail):
    """Within 2 ulp of the exact tails down to the smallest doubles (subnormals: to their last unit)."""
    x, want = np.array(EXACT["normal"]["x"]), np.array(EXACT["normal"][tail])
    got = NORMAL[tail](x)
    normal = want >= SMALLEST_NORMAL
    assert_close(got[normal], want[normal], 5e-16, x[normal])
    assert np.all(np.abs(got[~normal] - want[~normal]) <= 5e-324)
    assert dist.norm_sf(38.5) == 0 and dist.norm_cdf(-40.0) == 0 and dist.norm_cdf(40.0) == 1


def test_normal_quantiles_match_r():
    """AS241, as R's qnorm: identical values. R's qnorm(p, lower.tail = FALSE) takes 1 - p in the
    centre (|p - 0.5| <= 0.425), so it differs from -qnorm(p) by up to 3e-15 there; metasr's isf is
    -ppf exactly."""
    p = np.array(R["quantile"]["p"])
    assert_close(dist.norm_ppf(p), R["quantile"]["ppf"], 1e-15, p)
    assert_close(dist.norm_isf(p), R["quantile"]["isf"], 1e-14, p)
    tails = np.abs(p - 0.5) > 0.425
    assert_close(dist.norm_isf(p[tails]), np.array(R["quantile"]["isf"])[tails], 1e-15, p[tails])
    assert np.array_equal(dist.norm_isf(p), -dist.norm_ppf(p))


def test_normal_quantile_edges():
    got = dist.norm_ppf([0.0, 1.0, -0.1, 1.1, np.nan, -np.inf, 0.5, 1e-300, 5e-324])
    assert np.array_equal(got[:6], [-np.inf, np.inf, np.nan, np.nan, np.nan, np.nan], equal_nan=True)
    assert got[6] == 0 and -37.05 < got[7] < -37.04 and -38.5 < got[8] < -38.4
    assert dist.norm_isf(0.0) == np.inf and dist.norm_isf(1.0) == -np.inf


@pytest.mark.parametrize("case", R["chisq"], ids=CHISQ_IDS)
def test_chi2_sf_matches_r(case):
    """R's pchisq(x, df, lower.tail = FALSE) to 1e-13 down to tails of 1e-100; below, R's own error
    (against the 60-digit values) reaches 4.4e-13 for df >= 1e4, so 5e-13 there."""
    x, want = np.array(case["x"]), np.array(case["sf"])
    got = dist.chi2_sf(x, case["df"])
    bulk = want >= 1e-100
    assert_close(got[bulk], want[bulk], 1e-13, x[bulk])
    assert_close(got[~bulk], want[~bulk], 5e-13, x[~bulk])


@pytest.mark.parametrize("case", EXACT["chisq"], ids=CHISQ_IDS)
def test_chi2_sf_exact(case):
    """Within 1e-14 of the exact tail everywhere (at most 7e-15 found: the series and the continued
    fraction in double; 1e-15 in the far tails), arrays and scalars alike."""
    x, want = np.array(case["x"]), np.array(case["sf"])
    assert_close(dist.chi2_sf(x, case["df"]), want, 1e-14, x)
    assert_close([dist.chi2_sf(v, case["df"]) for v in x], want, 1e-14, x)


def test_chi2_sf_edges():
    x = np.array([np.nan, -np.inf, -1.0, 0.0, 1.0, np.inf])
    for df in (np.nan, -1.0, 0.0):
        assert np.isnan(dist.chi2_sf(x, df)).all() and np.isnan(dist.chi2_sf(1.0, df))
    expected = [np.nan, 1.0, 1.0, 1.0, None, 0.0]
    for df in (0.5, 3.0, 1e6, 1e7):
        for got in (dist.chi2_sf(x, df), [dist.chi2_sf(v, df) for v in x]):
            assert np.array_equal(np.delete(got, 4), np.delete(expected, 4).astype(float), equal_nan=True)
            assert 0 < got[4] <= 1
    assert dist.chi2_sf(5.0, np.inf) == 1 and dist.chi2_sf(np.inf, np.inf) == 0  # as R's
    assert dist.chi2_sf(1e4, 1) == 0 and dist.chi2_sf(1e308, 5) == 0  # beyond the smallest double


def test_types_and_broadcasting():
    for value in (dist.norm_cdf(0.3), dist.norm_sf(0.3), dist.norm_ppf(0.3), dist.norm_isf(0.3),
                  dist.chi2_sf(3.0, 2), dist.chi2_sf(np.float64(3.0), np.int64(2))):
        assert type(value) is np.float64
    got = dist.chi2_sf(np.array([[1.0], [2.0]]), np.array([1.0, 2.0, 3.0]))
    assert got.shape == (2, 3)
    assert got[1, 1] == pytest.approx(np.exp(-1.0), rel=1e-15)  # df = 2: e^(-x / 2)
    assert dist.norm_sf(np.zeros((2, 3))).shape == (2, 3) and dist.norm_ppf(np.full((3, 1), 0.5)).shape == (3, 1)
    assert dist.chi2_sf([], 3).shape == (0,) and dist.norm_sf([]).shape == (0,)
    assert np.isnan(dist.norm_sf(np.nan)) and np.isnan(dist.norm_cdf(np.nan))


def test_chi2_sf_vectorised_is_fast():
    """`pool --by` asks for 20,000 Q tests at once: a few ms (a generous bound against a lost
    vectorisation, which would take some 100 times longer)."""
    q = np.random.default_rng(1).chisquare(19, 20000)
    best = min(_seconds(lambda: dist.chi2_sf(q, 19)) for _ in range(3))
    assert best < 0.05


def _seconds(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def test_importing_them_imports_no_scipy():
    code = "import sys, metasr.stats.distributions; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_t_chi2_f():
    for df in (1, 2.5, 11, 300):
        assert np.allclose(dist.t_sf(X, df), stats.t.sf(X, df), rtol=1e-13, atol=0)
        assert np.allclose(dist.t_ppf(P, df), stats.t.ppf(P, df), rtol=1e-12)
        assert np.allclose(dist.t_isf(P, df), stats.t.isf(P, df), rtol=1e-12)
        q = np.abs(X) * 3
        assert np.allclose(dist.chi2_ppf(P, df), stats.chi2.ppf(P, df), rtol=1e-10)
        assert np.allclose(dist.f_sf(q, df, 7), stats.f.sf(q, df, 7), rtol=1e-13, atol=0)
