"""tau2 estimators: true optima on hard inputs (k = 2, identical effects, variances from 1e-6 to
1e4, tau2 at the boundary), the closed-form projection algebra, and speed at k = 4,000."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from metasr.stats import tau2 as T
from metasr.stats.zeroin import UNIROOT_TOL

ONE = lambda k: np.ones((k, 1))  # noqa: E731


def dense_projection_traces(yi, vi, w, X):
    """Reference: the same traces with explicit k x k matrices (metafor's formulas)."""
    W = np.diag(w)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    V = np.diag(vi)
    PV = P @ V
    return {"rss": yi @ P @ yi, "tr_P": np.trace(P), "tr_PP": np.sum(P * P), "tr_PV": np.trace(PV),
            "tr_PVPV": np.sum(PV * PV.T), "tr_VPP": np.sum(PV * P)}


def test_projection_algebra_matches_dense_matrices():
    rng = np.random.default_rng(3)  # synthetic data
    k = 9
    yi, vi = rng.normal(size=k), rng.uniform(0.01, 2, size=k)
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, size=k)])
    w = 1 / (vi + 0.3)
    proj = T.Projection(yi, w, X)
    ref = dense_projection_traces(yi, vi, w, X)
    got = {"rss": proj.rss, "tr_P": proj.tr_P(), "tr_PP": proj.tr_PP(), "tr_PV": proj.tr_PV(vi),
           "tr_PVPV": proj.tr_PVPV(vi), "tr_VPP": proj.tr_VPP(vi)}
    for key in ref:
        assert np.isclose(got[key], ref[key], rtol=1e-10), key


def assert_global_maximum(yi, vi, reml):
    X = ONE(len(yi))
    t = T.maximise_likelihood(yi, vi, X, reml)
    assert t >= 0
    best = T.loglik(yi, vi, X, t, reml)
    hi = T._upper_bound(yi, vi, X) * 10
    grid = np.concatenate([[0.0], np.geomspace(max(vi.min(), 1e-12) * 1e-9, hi, 1500)])
    others = np.array([T.loglik(yi, vi, X, g, reml) for g in grid])
    assert best >= others.max() - 1e-10 * max(1.0, abs(best))
    if t > 0:  # interior optimum: the score vanishes
        assert abs(T._score(yi, vi, X, t, reml)) <= 1e-6 * np.sum(1 / (vi + t))
    else:
        assert T._score(yi, vi, X, 0.0, reml) <= 0


@pytest.mark.parametrize("reml", [True, False])
def test_k2_identical_and_boundary_cases(reml):
    # synthetic inputs at the edges
    assert_global_maximum(np.array([0.1, 0.9]), np.array([0.01, 0.02]), reml)
    assert_global_maximum(np.array([0.5, 0.5, 0.5]), np.array([0.1, 0.2, 0.3]), reml)
    assert T.maximise_likelihood(np.array([0.5, 0.5, 0.5]), np.array([0.1, 0.2, 0.3]), ONE(3), reml) == 0.0
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
    X = ONE(k)
    tau2, _ = T.pm(yi, vi, X, root="exact")
    assert tau2 == T.eb(yi, vi, X)[0]
    # metafor's PM (uniroot at its default tolerance) lands within that tolerance of the root
    assert abs(T.pm(yi, vi, X)[0] - tau2) <= UNIROOT_TOL
    if tau2 == 0:
        assert T.generalised_q(yi, vi, X, 0.0) <= k - 1
    else:
        assert np.isclose(T.generalised_q(yi, vi, X, tau2), k - 1, rtol=1e-9)


def test_moment_estimators_truncate_at_zero():
    yi, vi = np.array([0.1, 0.1, 0.1]), np.array([0.5, 0.2, 0.1])  # synthetic: no spread at all
    for method in ("DL", "HE", "HS", "SJ"):
        tau2, se = T.estimate_tau2(method, yi, vi, ONE(3))
        assert tau2 < 1e-30 and se >= 0  # SJ: var() of equal floats may be 1e-33, not 0


def test_dl_closed_form():
    # DL by hand (DerSimonian & Laird 1986): (Q - (k-1)) / (sum w - sum w^2 / sum w)
    yi, vi = np.array([0.2, 0.8, -0.1, 0.5]), np.array([0.04, 0.09, 0.05, 0.02])
    w = 1 / vi
    mu = np.sum(w * yi) / np.sum(w)
    Q = np.sum(w * (yi - mu) ** 2)
    expected = (Q - 3) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    assert np.isclose(T.dl(yi, vi, ONE(4))[0], max(expected, 0.0), rtol=1e-12)


def test_reml_handles_large_k():
    # Its speed (k = 4,000 in milliseconds) is measured in bench/bench_pooling.py, not timed here.
    rng = np.random.default_rng(11)  # synthetic k = 4,000
    yi, vi = rng.normal(scale=0.5, size=4000), rng.uniform(0.01, 1, size=4000)
    tau2 = T.estimate_tau2("REML", yi, vi, ONE(4000))[0]
    assert 0 < tau2 < 1 and np.isfinite(tau2)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=3, max_value=9), st.integers(min_value=0, max_value=10_000), st.booleans())
def test_reml_ml_global_optimum_with_a_moderator(k, seed, reml):
    rng = np.random.default_rng(seed)  # synthetic meta-regression data
    vi = 10 ** rng.uniform(-4, 2, size=k)
    x = rng.normal(size=k)
    yi = 0.5 * x + rng.normal(scale=10 ** rng.uniform(-2, 1), size=k)
    X = np.column_stack([np.ones(k), x])
    t = T.maximise_likelihood(yi, vi, X, reml)
    grid = np.concatenate([[0.0], np.geomspace(1e-12, T._upper_bound(yi, vi, X) * 10, 1500)])
    assert T.loglik(yi, vi, X, t, reml) >= T.loglik_grid(yi, vi, X, grid, reml).max() - 1e-9
