"""tau2 estimators: true optima on hard inputs (k = 2, identical effects, variances from 1e-6 to
1e4, tau2 at the boundary), every estimator row by row equal in a batch, and large k."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from metasr.stats import tau2 as T
from metasr.stats.tau2 import Studies
from metasr.stats.zeroin import UNIROOT_TOL

ONE = lambda k: np.ones((k, 1))  # noqa: E731


def one(t) -> np.ndarray:
    return np.array([float(t)])


def assert_global_maximum(yi, vi, reml, X=None):
    s = Studies.one(yi, vi, X)
    t, converged = T.maximise_likelihood(s, reml)
    t = float(t[0])
    assert converged[0] and t >= 0
    best = float(T.loglik(s, one(t), reml)[0])
    hi = float(T._upper_bound(s)[0]) * 10
    grid = np.concatenate([[0.0], np.geomspace(max(vi.min(), 1e-12) * 1e-9, hi, 1500)])
    others = T.loglik(s.take(np.zeros(len(grid), dtype=int)), grid, reml)
    assert best >= others.max() - 1e-10 * max(1.0, abs(best))
    if t > 0:  # interior optimum: the score vanishes
        assert abs(T.score(s, one(t), reml)[0]) <= 1e-6 * np.sum(1 / (vi + t))
    else:
        assert T.score(s, one(0.0), reml)[0] <= 0


@pytest.mark.parametrize("reml", [True, False])
def test_k2_identical_and_boundary_cases(reml):
    # synthetic inputs at the edges
    assert_global_maximum(np.array([0.1, 0.9]), np.array([0.01, 0.02]), reml)
    assert_global_maximum(np.array([0.5, 0.5, 0.5]), np.array([0.1, 0.2, 0.3]), reml)
    s = Studies.one([0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    assert T.maximise_likelihood(s, reml)[0][0] == 0.0
    assert_global_maximum(np.array([0.0, 0.01]), np.array([1.0, 1.0]), reml)  # tau2 = 0 at the boundary
    assert_global_maximum(np.array([-3.0, 0.2, 5.0]), np.array([1e-6, 1e4, 3e-3]), reml)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=8), st.integers(min_value=0, max_value=10_000), st.booleans())
def test_reml_ml_global_optimum_on_random_inputs(k, seed, reml):
    rng = np.random.default_rng(seed)  # synthetic inputs spanning variances 1e-6 .. 1e4
    vi = 10 ** rng.uniform(-6, 4, size=k)
    yi = rng.normal(scale=10 ** rng.uniform(-3, 2), size=k)
    assert_global_maximum(yi, vi, reml)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=8), st.integers(min_value=0, max_value=10_000))
def test_pm_and_eb_solve_the_q_equation(k, seed):
    rng = np.random.default_rng(seed)
    vi = 10 ** rng.uniform(-6, 4, size=k)
    yi = rng.normal(scale=10 ** rng.uniform(-3, 2), size=k)
    s = Studies.one(yi, vi)
    tau2 = T.pm(s, root="exact")[0][0]
    assert tau2 == T.eb(s)[0][0]
    # metafor's PM (uniroot at its default tolerance) lands within that tolerance of the root
    assert abs(T.pm(s)[0][0] - tau2) <= UNIROOT_TOL
    if tau2 == 0:
        assert T.generalised_q(s, one(0.0))[0] <= k - 1
    else:
        assert np.isclose(T.generalised_q(s, one(tau2))[0], k - 1, rtol=1e-9)


def test_moment_estimators_truncate_at_zero():
    s = Studies.one([0.1, 0.1, 0.1], [0.5, 0.2, 0.1])  # synthetic: no spread at all
    for method in ("DL", "HE", "HS", "SJ"):
        tau2, se, _ = T.estimate(method, s)
        assert tau2[0] < 1e-30 and se[0] >= 0  # SJ: the variance of equal floats may be 1e-33, not 0


def test_dl_closed_form():
    # DL by hand (DerSimonian & Laird 1986): (Q - (k-1)) / (sum w - sum w^2 / sum w)
    yi, vi = np.array([0.2, 0.8, -0.1, 0.5]), np.array([0.04, 0.09, 0.05, 0.02])
    w = 1 / vi
    mu = np.sum(w * yi) / np.sum(w)
    Q = np.sum(w * (yi - mu) ** 2)
    expected = (Q - 3) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    assert np.isclose(T.dl(Studies.one(yi, vi))[0][0], max(expected, 0.0), rtol=1e-12)


def test_reml_handles_large_k():
    # Its speed (k = 100,000 in well under a second) is measured in bench/bench_pooling.py, not timed here.
    rng = np.random.default_rng(11)  # synthetic k = 4,000
    yi, vi = rng.normal(scale=0.5, size=4000), rng.uniform(0.01, 1, size=4000)
    tau2 = T.estimate_tau2("REML", yi, vi)[0]
    assert 0 < tau2 < 1 and np.isfinite(tau2)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=3, max_value=9), st.integers(min_value=0, max_value=10_000), st.booleans())
def test_reml_ml_global_optimum_with_a_moderator(k, seed, reml):
    rng = np.random.default_rng(seed)  # synthetic meta-regression data
    vi = 10 ** rng.uniform(-4, 2, size=k)
    x = rng.normal(size=k)
    yi = 0.5 * x + rng.normal(scale=10 ** rng.uniform(-2, 1), size=k)
    assert_global_maximum(yi, vi, reml, np.column_stack([np.ones(k), x]))


@pytest.mark.parametrize("method", T.ESTIMATORS)
def test_every_row_of_a_batch_is_its_own_fit(method):
    """A batch's rows are independent: each equals the same data set fitted alone, bit for bit
    (rows of equal length; `metasr pool --by` relies on it)."""
    rng = np.random.default_rng(7)  # synthetic
    m, k = 25, 12
    vi = 10 ** rng.uniform(-2, 0, size=(m, k))
    yi = rng.normal(0.2, np.sqrt(vi + rng.exponential(0.1, (m, 1))))
    tau2, se, _ = T.estimate(method, Studies(yi, vi))
    for i in (0, 7, 24):
        alone = T.estimate(method, Studies(yi[i:i + 1], vi[i:i + 1]))
        assert tau2[i] == alone[0][0] and se[i] == alone[1][0]


def test_an_upper_bound_below_the_maximiser_is_widened(monkeypatch):
    # synthetic: a bound 1e-6 of the usual one must still find the same optimum
    rng = np.random.default_rng(8)
    yi, vi = rng.normal(0, 1.5, 12), rng.uniform(0.01, 0.2, 12)
    s = Studies.one(yi, vi)
    usual = float(T.maximise_likelihood(s, True)[0][0])
    assert usual > 0
    monkeypatch.setattr(T, "_upper_bound", lambda s: np.full(s.m, usual * 1e-6))
    widened = float(T.maximise_likelihood(Studies.one(yi, vi), True)[0][0])
    assert widened == pytest.approx(usual, rel=1e-13)
    assert_global_maximum(yi, vi, True)


def test_a_projection_is_made_once_per_tau2_and_parts_keep_no_dominance():
    s = Studies(np.array([[0.1, 0.4, 0.2], [0.3, 0.1, 0.0]]), np.array([[0.1, 0.2, 0.3], [0.2, 0.2, 0.1]]))
    first = s.projection(np.array([0.05, 0.1]))
    assert s.projection(np.array([0.05, 0.1])) is first
    assert s.projection(np.array([0.05, 0.2])) is not first
    assert s.projection(w=first.w) is not first
    assert s._dominance_at_zero() is False
    assert s.take(np.array([1]))._dominance is False
    lead = Studies(np.array([[0.1, 0.4], [0.3, 0.1]]), np.array([[1e-6, 1.0], [0.2, 0.2]]))
    assert lead._dominance_at_zero() is True
    assert lead.take(np.array([1]))._dominance is None  # looked at again: this part has none
    assert lead.take(np.array([1]))._dominance_at_zero() is False
