"""Cluster-robust inference: the CR2 (Bell-McCaffrey) sandwich estimator with Satterthwaite degrees
of freedom per coefficient and the HTZ Wald test, as clubSandwich 0.5.8 computes them for metafor
fits (`vcovCR(fit, cluster, type = "CR2")` with its default target, `coef_test(...,
test = "Satterthwaite")`, `conf_int(...)`, `Wald_test(..., test = "HTZ")`).

The working model supplies Theta, the marginal covariance of the effect sizes (block diagonal by
cluster: V + sigma2 J + sigma2 I for rma.mv, diag(vi + tau2) for rma.uni), and the weights
W = Theta^-1. With M = (X'WX)^-1, residuals e and, for cluster j,

    A_j = F_j' [F_j (Theta_j - X_j M X_j') F_j']^(-1/2) F_j      (Theta_j = F_j' F_j),
    V_CR2 = M (sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j) M,

where the inverse square root keeps only eigenvalues above 1e-12 (clubSandwich's matrix_power).
Satterthwaite's degrees of freedom for coefficient i are E_i^2 / sum(P_i^2) with the J x J matrix
P_i = diag(d_ji) - H_i'H_i, where d_ji is the squared norm of row i of M X_j'W_j A_j F_j' and column
j of H_i is row i of M X_j'W_j A_j X_j L (M = L L'); only traces of P_i and of its square are needed,
so nothing of size J x J is formed. Every per-cluster step is a batched operation on the clusters
of one size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metasr.stats import distributions as dist
from metasr.stats.blocks import BlockDiagonal, Clusters
from metasr.stats.inference import LEVEL

EIGEN_TOL = 1e-12  # clubSandwich: eigenvalues at or below 10^-12 are treated as 0


@dataclass
class CR2:
    """The CR2 variance of the coefficients and the per-cluster pieces its tests need."""

    vcov: np.ndarray
    M: np.ndarray
    n_clusters: int
    G: list  # per size group: (n, p, s) rows of M X_j'W_j A_j F_j'
    H: list  # per size group: (n, p, p) M X_j'W_j A_j X_j L

    def satterthwaite_df(self) -> np.ndarray:
        """Satterthwaite degrees of freedom of each coefficient (clubSandwich's coef_test)."""
        p = self.M.shape[0]
        df = np.empty(p)
        for i in range(p):
            d = np.concatenate([np.sum(G[:, i, :] ** 2, axis=1) for G in self.G])
            h = np.concatenate([H[:, i, :] for H in self.H])
            hh = np.sum(h * h, axis=1)
            trace = d.sum() - hh.sum()
            gram = h.T @ h
            square = np.sum(d**2) - 2 * np.sum(d * hh) + np.sum(gram * gram)
            df[i] = trace**2 / square
        return df

    def htz(self, beta, C) -> dict:
        """Wald test of C beta = 0 with the HTZ small-sample correction (clubSandwich's Wald_test)."""
        C = np.atleast_2d(np.asarray(C, dtype=float))
        q = C.shape[0]
        Cb = C @ beta
        Q = float(Cb @ np.linalg.solve(C @ self.vcov @ C.T, Cb))
        G = [np.einsum("qp,nps->nqs", C, g) for g in self.G]
        H = [np.einsum("qp,npu->nqu", C, h) for h in self.H]
        omega = sum(np.einsum("nqs,nrs->qr", g, g) for g in G) - sum(np.einsum("nqu,nru->qr", h, h) for h in H)
        root = _matrix_power(omega, -0.5)
        G = [np.einsum("aq,nqs->nas", root, g) for g in G]
        H_all = np.concatenate([np.einsum("aq,nqu->nau", root, h) for h in H])  # (J, q, u)
        d = np.concatenate([np.einsum("nas,nbs->nab", g, g) for g in G])  # (J, q, q)
        var = np.empty((q, q))
        for s in range(q):
            for t in range(s + 1):
                var[s, t] = var[t, s] = _trace_square(d, H_all, s, t) + _frobenius(d, H_all, s, t)
        nu = q * (q + 1) / np.sum(var)
        delta = max((nu - q + 1) / nu, 0.0)
        df2 = nu - q + 1
        F = delta * Q / q
        pval = float(dist.f_sf(F, q, df2)) if df2 > 0 else float("nan")
        return {"QM": float(F), "QM_df": [q, float(df2)], "QM_pval": pval}


def _trace_square(d, H, s, t) -> float:
    """tr(B_st B_st) for B_st = diag(d_st) - H_s'H_t (J x J), from J-vectors and q x q Grams."""
    hs, ht = H[:, s, :], H[:, t, :]
    cross = ht.T @ hs
    return float(np.sum(d[:, s, t] ** 2) - 2 * np.sum(d[:, s, t] * np.sum(hs * ht, axis=1))
                 + np.sum(cross * cross.T))


def _frobenius(d, H, s, t) -> float:
    """<B_ss, B_tt> (sum of elementwise products) for B as in _trace_square."""
    hs, ht = H[:, s, :], H[:, t, :]
    cross = hs.T @ ht
    return float(np.sum(d[:, s, s] * d[:, t, t]) - np.sum(d[:, s, s] * np.sum(ht * ht, axis=1))
                 - np.sum(d[:, t, t] * np.sum(hs * hs, axis=1)) + np.sum(cross * cross))


def _matrix_power(blocks, power):
    """Symmetric matrix power of one matrix or a stack, eigenvalues <= 1e-12 mapped to 0."""
    w, Q = np.linalg.eigh(blocks)
    kept = w > EIGEN_TOL
    wp = np.zeros_like(w)
    wp[kept] = w[kept] ** power
    return (Q * wp[..., None, :]) @ np.swapaxes(Q, -1, -2)


def cr2(X, resid, theta: BlockDiagonal, scale: float = 1.0) -> CR2:
    """CR2 variance for a GLS fit with weights theta^-1 (clubSandwich's inverse_var case).

    `theta` is the working model's marginal covariance, one block per cluster. `scale` multiplies
    theta before the eigenvalue cut-off only (clubSandwich scales rma.uni weights to mean 1, so its
    theta is (vi + tau2) * mean(1 / (vi + tau2))); the result does not depend on it otherwise.
    """
    X = np.asarray(X, dtype=float)
    resid = np.asarray(resid, dtype=float)
    # Work with the orthonormal Q of X = Q R (well conditioned whatever the moderators' scale):
    # A_j depends on X only through X M X' = Q M_Q Q', and the rest maps back by R^-1.
    Q, R = np.linalg.qr(X)
    Rinv = np.linalg.inv(R)
    parts = []
    QWQ = np.zeros((X.shape[1], X.shape[1]))
    for rows, blocks in theta.groups:
        Th = blocks * scale
        W = np.linalg.inv(Th)
        Qj = Q[rows]
        QWQ += np.einsum("nsp,nst,ntq->pq", Qj, W, Qj)
        parts.append((rows, Th, W, Qj))
    M = np.linalg.inv(QWQ)
    L = np.linalg.cholesky(M)
    meat_terms, G, H = [], [], []
    n_clusters = 0
    for rows, Th, W, Qj in parts:
        F = np.swapaxes(np.linalg.cholesky(Th), 1, 2)  # Theta_j = F'F, F upper triangular
        inner = Th - Qj @ M @ np.swapaxes(Qj, 1, 2)
        A = np.swapaxes(F, 1, 2) @ _matrix_power(F @ inner @ np.swapaxes(F, 1, 2), -0.5) @ F
        E = np.swapaxes(Qj, 1, 2) @ W @ A  # (n, p, s)
        meat_terms.append(np.einsum("nps,ns->np", E, resid[rows]))
        ME = Rinv @ M @ E
        G.append(ME @ np.swapaxes(F, 1, 2))
        H.append(ME @ Qj @ L)
        n_clusters += len(rows)
    u = np.concatenate(meat_terms) @ M.T @ Rinv.T
    # M carries the scale and u its inverse: vcov does not depend on it
    return CR2(vcov=u.T @ u, M=Rinv @ M @ Rinv.T, n_clusters=n_clusters, G=G, H=H)


def coef_test(beta, result: CR2, level: float = LEVEL) -> dict:
    """Robust t tests and CIs per coefficient: CR2 standard errors, Satterthwaite df."""
    beta = np.asarray(beta, dtype=float)
    se = np.sqrt(np.diag(result.vcov))
    df = result.satterthwaite_df()
    stat = beta / se
    pval = 2 * dist.t_sf(np.abs(stat), df)
    crit = dist.t_ppf(1 - (1 - level) / 2, df)
    return {"estimate": beta, "se": se, "stat": stat, "df": df, "pval": pval,
            "ci_lb": beta - crit * se, "ci_ub": beta + crit * se}


def robust_dict(beta, X, resid, theta: BlockDiagonal, scale: float = 1.0, level: float = LEVEL) -> dict:
    """The `robust` object of `metasr pool`: estimate, se, stat, df, pval, ci_lb, ci_ub (scalars for
    an intercept-only model, lists otherwise) and, with moderators, the HTZ test of all of them."""
    result = cr2(X, resid, theta, scale)
    out = coef_test(beta, result, level)
    p = len(beta)
    if p == 1:
        return {key: float(value[0]) for key, value in out.items()}
    out = {key: value.tolist() for key, value in out.items()}
    out.update(result.htz(beta, np.eye(p)[1:]))
    return out


def with_prediction(rob: dict, total_variance: float, level: float = LEVEL) -> dict:
    """An intercept-only fit's robust inference with predict(robust(fit))'s prediction interval:
    estimate -/+ t(Satterthwaite df) sqrt(se_CR2^2 + total_variance), the fit's variance between
    effect sizes (tau2, or the sum of a three-level model's sigma2)."""
    half = float(dist.t_ppf(1 - (1 - level) / 2, rob["df"])) * math.sqrt(rob["se"] ** 2 + total_variance)
    return {**rob, "pi_lb": rob["estimate"] - half, "pi_ub": rob["estimate"] + half}


def robust_rma_uni(fit, cluster, level: float = LEVEL) -> dict:
    """CR2 inference for a univariate fit (`metasr.stats.models.MetaFit`) with clustered rows,
    as clubSandwich computes it for `rma.uni` (weights 1 / (vi + tau2)); with predict()'s
    prediction interval for an intercept-only fit (`with_prediction`)."""
    clusters = cluster if isinstance(cluster, Clusters) else Clusters.from_labels(cluster)
    total = fit.vi + fit.tau2
    theta = BlockDiagonal.from_diagonal(total, clusters)
    resid = fit.yi - fit.X @ fit.beta
    rob = robust_dict(fit.beta, fit.X, resid, theta, scale=float(np.mean(1 / total)), level=level)
    return with_prediction(rob, float(fit.tau2), level) if fit.X.shape[1] == 1 else rob
