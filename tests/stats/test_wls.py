"""metasr.stats.wls: the projection algebra against metafor's dense formulas and exact rational
arithmetic, with weights spread far apart, and its rows independent of the batch around them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from metasr.stats.wls import Projection

KEYS = ("rss", "ppy", "tr_P", "tr_PP", "tr_PV", "tr_PVPV", "tr_VPP")


def got(yi, vi, w, X):
    proj = Projection(yi[None], w[None], None if X.shape[1] == 1 and np.all(X == 1) else X[None])
    return {"rss": proj.rss[0], "ppy": proj.ppy[0], "tr_P": proj.tr_P()[0], "tr_PP": proj.tr_PP()[0],
            "tr_PV": proj.tr_PV(vi)[0], "tr_PVPV": proj.tr_PVPV(vi)[0], "tr_VPP": proj.tr_VPP(vi)[0]}


def dense(yi, vi, w, X):
    """metafor's formulas with explicit k x k matrices."""
    W = np.diag(w)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    PV = P @ np.diag(vi)
    return {"rss": yi @ P @ yi, "ppy": yi @ P @ P @ yi, "tr_P": np.trace(P), "tr_PP": np.sum(P * P),
            "tr_PV": np.trace(PV), "tr_PVPV": np.sum(PV * PV.T), "tr_VPP": np.sum(PV * P)}


def _inverse(M):
    n = len(M)
    A = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(M)]
    for c in range(n):
        pivot = next(r for r in range(c, n) if A[r][c] != 0)
        A[c], A[pivot] = A[pivot], A[c]
        A[c] = [x / A[c][c] for x in A[c]]
        for r in range(n):
            if r != c and A[r][c] != 0:
                f = A[r][c]
                A[r] = [a - f * b for a, b in zip(A[r], A[c], strict=True)]
    return [row[n:] for row in A]


def exact(yi, vi, w, X):
    """The same quantities in exact rational arithmetic (the floats' exact values)."""
    y, v, w = ([Fraction(float(a)) for a in arr] for arr in (yi, vi, w))
    X = [[Fraction(float(a)) for a in row] for row in X]
    k, p = len(X), len(X[0])
    A = _inverse([[sum(X[i][a] * w[i] * X[i][b] for i in range(k)) for b in range(p)] for a in range(p)])
    H = [[sum(X[i][a] * A[a][b] * X[j][b] for a in range(p) for b in range(p)) for j in range(k)] for i in range(k)]
    P = [[(w[i] if i == j else 0) - w[i] * w[j] * H[i][j] for j in range(k)] for i in range(k)]
    Py = [sum(P[i][j] * y[j] for j in range(k)) for i in range(k)]
    return {"rss": sum(a * b for a, b in zip(y, Py, strict=True)), "ppy": sum(a * a for a in Py),
            "tr_P": sum(P[i][i] for i in range(k)), "tr_PP": sum(P[i][j] ** 2 for i in range(k) for j in range(k)),
            "tr_PV": sum(P[i][i] * v[i] for i in range(k)),
            "tr_PVPV": sum(P[i][j] * v[j] * P[j][i] * v[i] for i in range(k) for j in range(k)),
            "tr_VPP": sum(v[i] * P[i][j] ** 2 for i in range(k) for j in range(k))}


def relative_errors(yi, vi, w, X, keys=KEYS):
    g, e = got(yi, vi, w, X), exact(yi, vi, w, X)
    return {key: abs(float(Fraction(float(g[key])) / e[key]) - 1) for key in keys}


def test_projection_algebra_matches_dense_matrices():
    rng = np.random.default_rng(3)  # synthetic data
    k = 9
    yi, vi = rng.normal(size=k), rng.uniform(0.01, 2, size=k)
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, size=k)])
    w = 1 / (vi + 0.3)
    g, ref = got(yi, vi, w, X), dense(yi, vi, w, X)
    for key in KEYS:
        assert np.isclose(g[key], ref[key], rtol=1e-10), key


@pytest.mark.parametrize("spread", [1.0, 1e6, 1e12, 1e20, 1e30])
def test_intercept_only_traces_are_exact_however_far_apart_the_weights(spread):
    """One study with (almost) all the weight: metafor's P entries cancel there, sums of powers of w
    cancel worse (the old tr(PP) was 3e-5 off at a ratio of 1e6); these stay within a few ulps."""
    rng = np.random.default_rng(5)  # synthetic
    k = 6
    yi, vi = rng.normal(size=k), rng.uniform(0.01, 2, size=k)
    w = 1 / vi
    w[2] = spread * w.sum()
    for key, err in relative_errors(yi, vi, w, np.ones((k, 1))).items():
        assert err < 1e-14, (key, err)


@pytest.mark.parametrize("spread", [1.0, 1e3, 1e6, 1e12])
def test_with_moderators_a_dominant_study_keeps_q_and_tr_p_exact(spread):
    """With moderators, y'Py, y'PPy and the traces of P and PV (what the estimates, Q, I2 and the
    REML score use) stay exact however far the weights spread."""
    rng = np.random.default_rng(9)  # synthetic
    k = 7
    yi, vi = rng.normal(size=k), rng.uniform(0.01, 2, size=k)
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, size=k)])
    w = 1 / vi
    w[2], w[5] = spread * w.sum(), spread * w[0]
    for key, err in relative_errors(yi, vi, w, X, ("rss", "ppy", "tr_P", "tr_PV")).items():
        assert err < 1e-13, (key, err)


def test_with_moderators_the_pair_traces_are_accurate_up_to_the_ratio_limit():
    """Where the input limit of models with moderators (checks.VI_RATIO_MAX = 1e7) comes from: with
    two studies dominating the weights, tr(PP) (the SE of tau2) keeps 9 digits at a weight spread
    of 1e3 and about 5 at 1e6 (variances ~4e7 apart), then loses them. (The sums of powers of w
    before this module: 6 digits at 1e3, none at 1e6.)"""
    rng = np.random.default_rng(3)  # synthetic
    k = 7
    yi, vi = rng.normal(size=k), rng.uniform(0.01, 2, size=k)
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, size=k)])
    for spread, tol in ((1e3, 1e-9), (1e6, 1e-4)):
        w = 1 / (vi + 0.3)
        w[2], w[5] = spread * w.sum(), spread * w[0]
        assert max(relative_errors(yi, vi, w, X, ("tr_PP", "tr_PVPV", "tr_VPP")).values()) < tol


def test_rows_of_a_batch_do_not_depend_on_each_other():
    rng = np.random.default_rng(1)  # synthetic
    y, w = rng.normal(size=(30, 8)), rng.uniform(0.5, 5, size=(30, 8))
    w[4, 3] = 1e9  # one row with a dominant study
    X = np.stack([np.column_stack([np.ones(8), rng.normal(size=8)]) for _ in range(30)])
    for Xb in (None, X):
        whole = Projection(y, w, Xb)
        for i in (0, 4, 29):
            alone = Projection(y[i:i + 1], w[i:i + 1], None if Xb is None else Xb[i:i + 1])
            assert whole.rss[i] == alone.rss[0] and whole.tr_PP()[i] == alone.tr_PP()[0]
            assert np.array_equal(whole.coefs()[i], alone.coefs()[0])
