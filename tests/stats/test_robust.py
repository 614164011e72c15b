"""CR2 cluster-robust inference against clubSandwich (fixtures from tools/reference/multilevel.R)
and against a dense, cluster-by-cluster transcription of clubSandwich's definitions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.stats import multilevel as ml
from metasr.stats.blocks import BlockDiagonal, Clusters, vcalc
from metasr.stats.metareg import design_matrix
from metasr.stats.models import fit_rma
from metasr.stats.robust import coef_test, cr2, robust_dict, robust_rma_uni

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "multilevel"
REFERENCE = json.loads((FIXTURES / "expected.json").read_text())
DATASETS = REFERENCE["datasets"]
RTOL = 1e-5  # the fits' variance components are iterative


def inputs(case):
    ds = DATASETS[case["dataset"]]
    table = pd.read_csv(FIXTURES / ds["input"])
    X, names = design_matrix(table, case["mods"].split(",") if case.get("mods") else [])
    return np.array(ds["yi"]), np.array(ds["vi"]), table[ds["cluster"]].astype(str).to_numpy(), X


def close(ours: dict, expected: dict) -> list:
    return [key for key, value in expected.items()
            if not np.allclose(np.atleast_1d(ours[key]), np.array(value, dtype=float), rtol=RTOL, atol=0)]


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["id"])
def test_cr2_satterthwaite_and_htz_match_clubsandwich_for_rma_mv(case):
    yi, vi, cluster, X = inputs(case)
    fit = ml.fit_multilevel(yi, vi, cluster, X, case["method"], case["test"], case["rho"])
    assert close(ml.robust_of(fit), case["expected"]["robust"]) == []


@pytest.mark.parametrize("case", REFERENCE["uni_cases"], ids=lambda c: c["id"])
def test_cr2_matches_clubsandwich_for_rma_uni(case):
    yi, vi, cluster, X = inputs(case)
    fit = fit_rma(yi, vi, method=case["method"], X=X)
    assert np.allclose(fit.beta, case["expected"]["coef"], rtol=1e-6)
    assert close(robust_rma_uni(fit, cluster), case["expected"]["robust"]) == []


# ---------------------------------------------------------------- a dense transcription of clubSandwich

def inv_sqrt(G):
    w, Q = np.linalg.eigh(G)
    return Q @ np.diag(np.where(w > 1e-12, w, np.inf) ** -0.5) @ Q.T


def dense_cr2(X, e, Theta, cluster):
    """vcovCR(type = "CR2") with inverse-variance weights, coef_test's Satterthwaite df and
    Wald_test's HTZ for all slopes, written with k x k and J x J matrices, cluster by cluster."""
    W = np.linalg.inv(Theta)
    M = np.linalg.inv(X.T @ W @ X)
    labels = np.unique(cluster)
    idx = [np.flatnonzero(cluster == c) for c in labels]
    E, Gs, Hs = [], [], []
    L = np.linalg.cholesky(M)
    for r in idx:
        Th, Wj, Xj = Theta[np.ix_(r, r)], W[np.ix_(r, r)], X[r]
        F = np.linalg.cholesky(Th).T
        G = F @ (np.eye(len(r)) - Xj @ M @ Xj.T @ Wj) @ Th @ F.T
        A = F.T @ inv_sqrt(G) @ F
        Ej = Xj.T @ Wj @ A
        E.append(Ej @ e[r])
        Gs.append(M @ Ej @ F.T)
        Hs.append(M @ Ej @ Xj @ L)
    u = np.array(E)
    V = M @ u.T @ u @ M
    p, J = X.shape[1], len(labels)
    df = []
    for i in range(p):
        P = -np.array([[Hs[j][i] @ Hs[k][i] for k in range(J)] for j in range(J)])
        P += np.diag([Gs[j][i] @ Gs[j][i] for j in range(J)])
        df.append(np.trace(P) ** 2 / np.sum(P**2))
    # HTZ for C = slopes
    C = np.eye(p)[1:]
    q = C.shape[0]
    Gc, Hc = [C @ g for g in Gs], [C @ h for h in Hs]
    Parr = np.empty((q, q, J, J))
    for s in range(q):
        for t in range(q):
            Parr[s, t] = -np.array([[Hc[j][s] @ Hc[k][t] for k in range(J)] for j in range(J)])
            Parr[s, t] += np.diag([Gc[j][s] @ Gc[j][t] for j in range(J)])
    Omega = np.einsum("stjj->st", Parr)
    w, Q = np.linalg.eigh(Omega)
    root = Q @ np.diag(w ** -0.5) @ Q.T
    B = np.einsum("as,stjk,tb->abjk", root, Parr, root)
    var = np.array([[np.sum(B[s, t] * B[t, s]) + np.sum(B[s, s] * B[t, t]) for t in range(q)] for s in range(q)])
    nu = q * (q + 1) / var.sum()
    return V, np.array(df), nu


def synthetic(seed, rho, dummy=False):
    """SYNTHETIC clustered effect sizes; `dummy` adds a moderator that is 1 in one cluster only
    (its CR2 adjustment meets a singular block, where clubSandwich drops zero eigenvalues)."""
    rng = np.random.default_rng(seed)
    J = 12
    cluster = np.repeat(np.arange(J), rng.integers(1, 5, J))
    k = len(cluster)
    vi = rng.uniform(0.01, 0.2, k)
    cols = [np.ones(k), rng.normal(size=k), rng.normal(size=k)]
    if dummy:
        cols.append((cluster == 3).astype(float))
    X = np.column_stack(cols)
    yi = X[:, :3] @ [0.2, 0.1, -0.1] + rng.normal(0, 0.2, J)[cluster] + rng.normal(0, np.sqrt(vi))
    return yi, vi, cluster, X


@pytest.mark.parametrize("seed, rho, dummy", [(1, 0.0, False), (2, 0.5, False), (3, 0.0, True), (4, 0.7, True)])
def test_blockwise_cr2_equals_the_dense_definition(seed, rho, dummy):
    yi, vi, cluster, X = synthetic(seed, rho, dummy)
    fit = ml.fit_multilevel(yi, vi, cluster, X, rho=rho)
    theta = ml.marginal_covariance(fit)
    e = yi - X @ fit.beta
    V, df, nu = dense_cr2(X, e, theta.dense(), cluster)
    result = cr2(X, e, theta)
    assert np.allclose(result.vcov, V, rtol=1e-10, atol=1e-14)
    assert np.allclose(result.satterthwaite_df(), df, rtol=1e-9)
    htz = result.htz(fit.beta, np.eye(X.shape[1])[1:])
    q = X.shape[1] - 1
    assert htz["QM_df"][1] == pytest.approx(nu - q + 1, rel=1e-9)


def test_scale_only_moves_the_eigenvalue_cutoff():
    yi, vi, cluster, X = synthetic(5, 0.0)
    fit = fit_rma(yi, vi, X=X)
    theta = BlockDiagonal.from_diagonal(vi + fit.tau2, Clusters.from_labels(cluster))
    e = yi - X @ fit.beta
    a, b = cr2(X, e, theta), cr2(X, e, theta, scale=37.0)
    assert np.allclose(a.vcov, b.vcov, rtol=1e-10) and np.allclose(a.satterthwaite_df(), b.satterthwaite_df())


def test_robust_dict_shapes():
    yi, vi, cluster, X = synthetic(6, 0.0)
    fit = ml.fit_multilevel(yi, vi, cluster)
    ones = np.ones((len(yi), 1))
    out = robust_dict(fit.beta, ones, yi - fit.beta[0], ml.marginal_covariance(fit))
    assert set(out) == {"estimate", "se", "stat", "df", "pval", "ci_lb", "ci_ub"}
    assert all(isinstance(v, float) for v in out.values())
    full = coef_test(fit.beta, cr2(ones, yi - fit.beta[0], ml.marginal_covariance(fit)))
    assert full["ci_lb"][0] < fit.beta[0] < full["ci_ub"][0]


def test_vcalc_blocks_and_cluster_effects():
    clusters = Clusters.from_labels(["b", "a", "b", "c", "b"])
    V = vcalc([1.0, 4.0, 9.0, 16.0, 25.0], clusters, 0.5).plus_cluster_effects(0.1, 0.2).dense()
    assert V[0, 2] == pytest.approx(0.5 * 3 + 0.1) and V[0, 4] == pytest.approx(0.5 * 5 + 0.1)
    assert V[0, 0] == pytest.approx(1.3) and V[0, 1] == 0 and V[1, 1] == pytest.approx(4.3)
