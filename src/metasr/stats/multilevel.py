"""Three-level meta-analysis of dependent effect sizes: metafor's
`rma.mv(yi, V, mods, random = ~ 1 | cluster/es_id, method = "REML" | "ML", test = "z" | "t")`.

Effect size i of cluster c is  y_ci = x_ci' beta + u_c + w_ci + e_ci  with u_c ~ N(0, sigma2[0])
(between clusters, level 3), w_ci ~ N(0, sigma2[1]) (within clusters, level 2) and sampling errors
e with covariance V: diagonal (vi), or correlated within a cluster with a constant rho (metafor's
`vcalc`, see `metasr.stats.blocks.vcalc`). The marginal covariance of cluster c is

    Sigma_c = V_c + sigma2[0] J + sigma2[1] I.

Everything is computed block by block. Each cluster is rotated once into the eigenbasis of its
V_c (V_c = Q diag(lam) Q'; for diagonal V, Q = I), where Sigma_c = diag(lam + sigma2[1]) +
sigma2[0] u u' with u = Q' 1: a diagonal plus a rank-one matrix, whose inverse and determinant
have closed forms. Every quantity of the fit (log-likelihood, its gradient and Hessian, X'WX,
tests, Q, I2) is then a sum over rows and cluster totals: O(k p^2) per evaluation, with no k x k
matrix anywhere.

The (restricted) likelihood is maximised over sigma2 >= 0 globally: a grid on a log scale
(including 0) finds the basin, then a projected Newton method with the exact gradient and Hessian
polishes the best grid minima to the optimum (interior, or on a face or corner of the box, where
the Karush-Kuhn-Tucker conditions are checked). metafor optimises log(sigma2) with nlminb, which
cannot reach a boundary and may stop early on flat likelihoods; this finds the true optimum.

I2 per level follows the metafor website's "I^2 for multilevel and multivariate models" (the
generalisation of Cheung 2014 to any V and moderators): with the typical sampling variance
s2 = (k - p) / tr(P), P = W - W X (X'W X)^-1 X'W and W = V^-1,
I2 = 100 sum(sigma2) / (sum(sigma2) + s2) and I2 of level l = 100 sigma2[l] / (sum(sigma2) + s2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metasr.dependence import MULTILEVEL_FIT_METHODS, MULTILEVEL_TESTS, rho_too_low, rho_too_low_message
from metasr.errors import InputError, Problem, raise_if_errors
from metasr.io import is_missing
from metasr.stats import checks, distributions as dist, effects
from metasr.stats.blocks import BlockDiagonal, Clusters, vcalc
from metasr.stats.inference import LEVEL
from metasr.stats.metareg import design_matrix
from metasr.stats.robust import robust_dict, with_prediction
from metasr.stats.tables import (
    add_level_transformed,
    json_safe,
    split_dropped,
    split_usable,
    subgroup_levels,
    table_display,
    transformed,
)

METHODS = MULTILEVEL_FIT_METHODS
TESTS = MULTILEVEL_TESTS
LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------- the model, block by block

class ThreeLevelModel:
    """-2 log-likelihood of the three-level model for fixed data, as a function of sigma2.

    Rows are stored sorted by cluster and rotated per cluster (see the module docstring):
    `lam` (eigenvalues of V_c), `u` (Q'1), `y` (Q'y) and `X` (Q' times an orthonormal basis of the
    model matrix; `R` maps its coefficients back to those of the input X).
    """

    def __init__(self, yi, vi, clusters: Clusters, X=None, rho: float = 0.0, method: str = "REML"):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
        yi = np.asarray(yi, dtype=float)
        vi = np.asarray(vi, dtype=float)
        X = np.ones((len(yi), 1)) if X is None else np.asarray(X, dtype=float).reshape(len(yi), -1)
        self.k, self.p = X.shape
        self.yi, self.vi, self.X_input = yi, vi, X
        self.clusters, self.rho, self.method = clusters, float(rho), method
        self.reml = method == "REML"
        self.starts = clusters.starts
        self.cid = np.repeat(np.arange(clusters.n_clusters), clusters.sizes)
        # The model works with the orthonormal Q of X = Q R: the same fit (beta = R^-1 beta_Q),
        # X'WX stays well conditioned (a moderator such as a year near 2000 makes X'X's condition
        # number 1e11), and REML's log|X'X| term is 0 (log|X'WX| - log|X'X| = log|Q'WQ|).
        Q, self.R = np.linalg.qr(X)
        order = clusters.order
        self.lam, self.u, self.y, self.X = _rotate(yi[order], vi[order], Q[order], clusters, self.rho)
        if np.any(self.lam <= 0):
            raise ValueError("the sampling covariance matrix is not positive definite")

    # -- W = Sigma^-1 in the rotated basis: D^-1 - gamma_c g g', D = diag(lam + s2), g = D^-1 u

    def _parts(self, theta):
        s1, s2 = float(theta[0]), float(theta[1])
        d = self.lam + s2
        g = self.u / d
        Suu = self._sum(self.u * g)
        den = 1.0 + s1 * Suu
        return d, g, Suu, den, s1 / den

    def _sum(self, a):
        """Cluster totals of the rows of `a` (a vector or a k x m matrix)."""
        return np.add.reduceat(a, self.starts, axis=0)

    def _W(self, a, d, g, gam):
        """W a for a vector or matrix a (rows in the rotated layout)."""
        cols = a.reshape(len(a), -1)
        corr = (gam[:, None] * self._sum(g[:, None] * cols))[self.cid]
        return (cols / d[:, None] - g[:, None] * corr).reshape(a.shape)

    def _gls(self, d, g, gam):
        WX = self._W(self.X, d, g, gam)
        XWX = self.X.T @ WX
        A = _inv_pd(XWX)
        beta = A @ (WX.T @ self.y)
        e = self.y - self.X @ beta
        return WX, XWX, A, beta, e

    def deviance(self, theta) -> float:
        """-2 log-likelihood (ML) or -2 restricted log-likelihood (REML) with metafor's constants."""
        d, g, Suu, den, gam = self._parts(theta)
        if np.any(d <= 0) or np.any(den <= 0):
            return math.inf
        WX, XWX, A, beta, e = self._gls(d, g, gam)
        rss = float(e @ self._W(e, d, g, gam))
        logdet = float(np.sum(np.log(d)) + np.sum(np.log(den)))
        if self.reml:
            return (self.k - self.p) * LOG_2PI + logdet + _logdet_pd(XWX) + rss
        return self.k * LOG_2PI + logdet + rss

    def deviance_grid(self, between, within) -> np.ndarray:
        """Deviances on a grid (len(between) x len(within)). For one within-cluster value the
        row-level sums are shared by every between-cluster value, so each column of the grid
        costs one pass over the rows and the rest is per cluster."""
        between = np.asarray(between, dtype=float)
        Z = np.column_stack([self.X, self.y])
        p = self.p
        out = np.empty((len(between), len(within)))
        for j, s2 in enumerate(within):
            d = self.lam + s2
            g = self.u / d
            Suu = self._sum(self.u * g)
            GZ = self._sum(g[:, None] * Z)
            outer = (GZ[:, :, None] * GZ[:, None, :]).reshape(len(GZ), -1)
            den = 1.0 + between[:, None] * Suu[None, :]
            ZWZ = ((Z / d[:, None]).T @ Z).reshape(1, -1) - (between[:, None] / den) @ outer
            ZWZ = ZWZ.reshape(len(between), p + 1, p + 1)
            L = np.linalg.cholesky(ZWZ[:, :p, :p])
            half = np.linalg.solve(L, ZWZ[:, :p, p:])[..., 0]  # L^-1 X'Wy
            rss = ZWZ[:, p, p] - np.sum(half**2, axis=1)
            logdet = np.sum(np.log(d)) + np.sum(np.log(den), axis=1)
            if self.reml:
                logdet_XWX = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
                out[:, j] = (self.k - p) * LOG_2PI + logdet + logdet_XWX + rss
            else:
                out[:, j] = self.k * LOG_2PI + logdet + rss
        return out

    def derivatives(self, theta):
        """(deviance, gradient, Hessian) in sigma2 = (between, within), exact."""
        d, g, Suu, den, gam = self._parts(theta)
        WX, XWX, A, beta, e = self._gls(d, g, gam)
        r = self._W(e, d, g, gam)  # P y
        logdet = float(np.sum(np.log(d)) + np.sum(np.log(den)))
        rss = float(e @ r)
        # traces of W Z_m (Z_1 = blockdiag(J) = u u' rotated, Z_2 = I)
        uWu = Suu / den
        Wu = g / den[self.cid]
        gg = self._sum(g * g)
        trW = np.array([uWu.sum(), np.sum(1 / d) - np.sum(gam * gg)])
        h = self._sum(g[:, None] * self.X) / den[:, None]  # X_c' W_c u
        C = [h.T @ h, WX.T @ WX]  # X'W Z_m W X
        trP = trW - np.array([np.sum(A * C[0]), np.sum(A * C[1])])
        ur = self._sum(self.u * r)
        yPZPy = np.array([ur @ ur, r @ r])
        # tr(W Z_m W Z_n)
        tWW = np.empty((2, 2))
        tWW[0, 0] = uWu @ uWu
        tWW[0, 1] = tWW[1, 0] = Wu @ Wu
        tWW[1, 1] = np.sum(1 / d**2) - 2 * np.sum(gam * self._sum(g * g / d)) + np.sum(gam**2 * gg**2)
        # tr(A X'W Z_m W Z_n W X)
        Ah = h @ A
        q = self._sum(Wu[:, None] * WX)
        T = np.empty((2, 2))
        T[0, 0] = np.sum(uWu * np.sum(Ah * h, axis=1))
        T[0, 1] = T[1, 0] = np.sum(Ah * q)
        T[1, 1] = np.sum(A * (WX.T @ self._W(WX, d, g, gam)))
        AC = [A @ C[0], A @ C[1]]
        tPP = tWW - 2 * T + np.array([[np.sum(AC[m] * AC[n].T) for n in range(2)] for m in range(2)])
        # (Z_m P y)' P (Z_n P y)
        a = np.column_stack([self.u * ur[self.cid], r])
        Wa = self._W(a, d, g, gam)
        XWa = WX.T @ a
        ZPZ = a.T @ Wa - XWa.T @ A @ XWa
        if self.reml:
            dev = (self.k - self.p) * LOG_2PI + logdet + _logdet_pd(XWX) + rss
            return dev, trP - yPZPy, -tPP + 2 * ZPZ
        return self.k * LOG_2PI + logdet + rss, trW - yPZPy, -tWW + 2 * ZPZ

    def gls(self, theta):
        """(beta, vb = (X'WX)^-1) at sigma2 = theta, for the columns of the input X."""
        d, g, Suu, den, gam = self._parts(theta)
        _, _, A, beta, _ = self._gls(d, g, gam)
        Rinv = np.linalg.inv(self.R)
        return Rinv @ beta, Rinv @ A @ Rinv.T

    def q_and_typical_variance(self):
        """QE (residual heterogeneity with V alone) and s2 = (k - p) / tr(P) with W = V^-1."""
        d, g, _, _, gam = self._parts((0.0, 0.0))
        WX, _, A, _, e = self._gls(d, g, gam)
        Q = float(e @ (e / d))
        trP = float(np.sum(1 / d) - np.sum(A * (WX.T @ WX)))
        return Q, (self.k - self.p) / trP

    def scale(self) -> float:
        """A variance scale for the search: the spread of the residuals or the typical vi."""
        e = self._gls(self.lam, self.u / self.lam, np.zeros(self.clusters.n_clusters))[4]
        return float(max(np.var(e), np.mean(self.lam)))


def _rotate(y, v, X, clusters: Clusters, rho: float):
    """Rows (sorted by cluster) in the eigenbasis of each cluster's sampling covariance block."""
    u = np.ones(len(y))
    if rho == 0.0:
        return v.copy(), u, y.copy(), X.copy()
    lam, y, X = v.copy(), y.copy(), X.copy()
    sorted_clusters = Clusters(codes=np.repeat(np.arange(clusters.n_clusters), clusters.sizes),
                               labels=clusters.labels)
    V = vcalc(v, sorted_clusters, rho)
    for rows, blocks in V.groups:
        if rows.shape[1] == 1:
            continue
        w, Q = np.linalg.eigh(blocks)
        lam[rows] = w
        u[rows] = Q.sum(axis=1)
        y[rows] = np.einsum("nij,ni->nj", Q, y[rows])
        X[rows] = np.einsum("nij,nip->njp", Q, X[rows])
    return lam, u, y, X


def _inv_pd(M):
    L = np.linalg.cholesky(M)
    Linv = np.linalg.inv(L)
    return Linv.T @ Linv


def _logdet_pd(M) -> float:
    return float(2 * np.sum(np.log(np.diag(np.linalg.cholesky(M)))))


# ---------------------------------------------------------------- global maximisation

GRID_DECADES = np.linspace(-6, 2, 17)


def maximise(model: ThreeLevelModel):
    """sigma2 = (between, within) >= 0 minimising the deviance: grid on a log scale, then a
    projected Newton polish of the best grid minima."""
    scale = model.scale()
    axis = np.concatenate(([0.0], scale * 10.0**GRID_DECADES))
    devs = model.deviance_grid(axis, axis)
    starts = _grid_minima(devs, 3)
    best_theta, best_dev = None, math.inf
    for i, j in starts:
        theta, dev = _projected_newton(model, np.array([axis[i], axis[j]]), scale)
        if best_theta is None or dev < best_dev:
            best_theta, best_dev = theta, dev
    if best_theta is None:
        raise FloatingPointError("the three-level model's deviance is not finite anywhere on the search grid")
    return best_theta


def _grid_minima(devs, n):
    """Up to n grid points no higher than their neighbours, lowest first."""
    finite = np.where(np.isfinite(devs), devs, np.inf)
    padded = np.pad(finite, 1, constant_values=np.inf)
    rows, cols = finite.shape
    local = np.ones_like(finite, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                local &= finite <= padded[1 + di:1 + di + rows, 1 + dj:1 + dj + cols]
    idx = np.argwhere(local & np.isfinite(finite))
    idx = idx[np.argsort(finite[local & np.isfinite(finite)], kind="stable")]
    return [tuple(ij) for ij in idx[:n]]


def _projected_newton(model: ThreeLevelModel, theta, scale, max_iter: int = 200):
    """Newton's method on the box sigma2 >= 0: coordinates at 0 whose gradient points outwards are
    held there; a backtracking line search keeps every step a descent step (up to the rounding
    noise of the deviance, so that the last Newton steps, which move less than that noise can
    show, still land on the root of the gradient)."""
    dev, grad, hess = model.derivatives(theta)
    for _ in range(max_iter):
        free = ~((theta <= 0) & (grad >= 0))
        if not free.any():
            break
        new = None
        for direction in _directions(grad, hess, free):
            new, new_dev = _line_search(model, theta, dev, grad, direction)
            if new is not None:
                break
        if new is None:
            break
        moved = np.abs(new - theta)
        theta = new
        dev, grad, hess = model.derivatives(theta)
        if np.all(moved <= 1e-12 * (theta + 1e-8 * scale)):
            break
    return theta, dev


def _directions(grad, hess, free):
    """The Newton direction on the free coordinates, then a diagonally scaled gradient step."""
    newton = np.zeros(2)
    newton[free] = _newton_step(grad[free], hess[np.ix_(free, free)])
    yield newton
    scaled = np.zeros(2)
    diag = np.abs(np.diag(hess))[free]
    scaled[free] = -grad[free] / np.where(diag > 0, diag, 1.0)
    yield scaled


def _newton_step(grad, hess):
    """-H^-1 g, with H shifted to positive definite where the deviance is not convex."""
    w, Q = np.linalg.eigh(hess)
    floor = 1e-10 * max(np.max(np.abs(w)), 1e-300)
    w = np.where(w > floor, w, np.abs(w) + floor)
    return -(Q @ ((Q.T @ grad) / w))


def _line_search(model, theta, dev, grad, step):
    noise = 1e-12 * (1 + abs(dev))
    alpha = 1.0
    for _ in range(60):
        new = np.maximum(theta + alpha * step, 0.0)
        if np.array_equal(new, theta):
            return None, dev
        new_dev = model.deviance(new)
        if np.isfinite(new_dev) and new_dev <= dev + 1e-4 * (grad @ (new - theta)) + noise:
            return new, new_dev
        alpha /= 2
    return None, dev


def kkt(model: ThreeLevelModel, theta, tol: float = 1e-6) -> bool:
    """Whether theta satisfies the optimality conditions on sigma2 >= 0 (gradient relative to the
    variance scale: zero for a positive component, non-negative for a component at 0)."""
    _, grad, hess = model.derivatives(theta)
    g = grad * model.scale()
    interior = theta > 0
    ok = np.all(np.abs(g[interior]) <= tol) and np.all(g[~interior] >= -tol)
    free = interior
    if free.any():
        ok = ok and np.all(np.linalg.eigvalsh(hess[np.ix_(free, free)]) >= -tol / model.scale() ** 2)
    return bool(ok)


# ---------------------------------------------------------------- the fit

@dataclass
class MultilevelFit:
    """A fitted three-level model with metafor's quantities."""

    model: ThreeLevelModel
    method: str
    test: str
    sigma2: np.ndarray
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    df: int | None
    pi_lb: float
    pi_ub: float
    Q: float
    Q_df: int
    Q_pval: float
    loglik: float
    I2: float
    I2_levels: list
    QM: float | None = None
    QM_df: list | None = None
    QM_pval: float | None = None
    coef_names: list = field(default_factory=lambda: ["intrcpt"])

    @property
    def k(self) -> int:
        return self.model.k

    @property
    def p(self) -> int:
        return self.model.p

    @property
    def n_clusters(self) -> int:
        return self.model.clusters.n_clusters

    @property
    def is_intercept_only(self) -> bool:
        return self.p == 1

    @property
    def X(self) -> np.ndarray:
        """The model matrix (with the intercept column), as MetaFit.X (metareg.predict reads it)."""
        return self.model.X_input

    def to_dict(self) -> dict:
        """metafor's keys; lists for the coefficients of a meta-regression."""
        out: dict[str, Any] = {"k": self.k, "n_clusters": self.n_clusters}
        if self.is_intercept_only:
            out.update(estimate=float(self.beta[0]), se=float(self.se[0]), stat=float(self.stat[0]),
                       pval=float(self.pval[0]), ci_lb=float(self.ci_lb[0]), ci_ub=float(self.ci_ub[0]),
                       pi_lb=self.pi_lb, pi_ub=self.pi_ub)
        else:
            out.update(coef_names=list(self.coef_names), coef=self.beta.tolist(), se=self.se.tolist(),
                       stat=self.stat.tolist(), pval=self.pval.tolist(), ci_lb=self.ci_lb.tolist(),
                       ci_ub=self.ci_ub.tolist(), QM=self.QM, QM_df=self.QM_df, QM_pval=self.QM_pval)
        if self.test == "t":
            out["df"] = self.df
        out.update(sigma2=self.sigma2.tolist(), I2=self.I2, I2_levels=list(self.I2_levels),
                   Q=self.Q, Q_df=self.Q_df, Q_pval=self.Q_pval, loglik=self.loglik)
        return out


def fit_multilevel(yi, vi, cluster, X=None, method: str = "REML", test: str = "z", rho: float = 0.0,
                   coef_names=None, sigma2=None, level: float = LEVEL) -> MultilevelFit:
    """Fit `rma.mv(yi, V, mods = X, random = ~ 1 | cluster/es_id)` with V = vcalc(vi, cluster, rho).

    `cluster` holds one label per row (rows with equal labels come from one study), or is a
    `Clusters`. X (k x p) includes the intercept column. `sigma2` fixes the two variance
    components (between, within clusters) instead of estimating them.
    """
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; use z or t")
    clusters = cluster if isinstance(cluster, Clusters) else Clusters.from_labels(cluster)
    model = ThreeLevelModel(yi, vi, clusters, X, rho, method)
    _check_sizes(model)
    theta = maximise(model) if sigma2 is None else np.asarray(sigma2, dtype=float)
    return _fit_at(model, theta, test, coef_names, level)


def _check_sizes(model: ThreeLevelModel) -> None:
    if model.k <= model.p:
        raise ValueError(f"the model needs more effect sizes (k = {model.k}) than coefficients ({model.p})")
    if np.linalg.matrix_rank(model.X_input) < model.p:
        raise ValueError("model matrix is not of full rank")


def _fit_at(model: ThreeLevelModel, theta, test, coef_names, level) -> MultilevelFit:
    k, p = model.k, model.p
    beta, vb = model.gls(theta)
    se = np.sqrt(np.diag(vb))
    df = k - p if test == "t" else None
    stat, pval, ci_lb, ci_ub = _wald(beta, se, df, level)
    total = float(np.sum(theta))
    pi_lb = pi_ub = math.nan
    if p == 1:
        half = _critical(df, level) * math.sqrt(se[0] ** 2 + total)
        pi_lb, pi_ub = float(beta[0] - half), float(beta[0] + half)
    Q, s2 = model.q_and_typical_variance()
    Q_df = k - p
    I2 = 100 * total / (total + s2)
    I2_levels = [100 * float(t) / (total + s2) for t in theta]
    loglik = -0.5 * model.deviance(theta)
    QM = QM_df = QM_pval = None
    if p > 1:
        QM, QM_df, QM_pval = _omnibus(beta, vb, df)
    names = list(coef_names) if coef_names is not None else ["intrcpt"] + [f"x{j}" for j in range(1, p)]
    return MultilevelFit(model=model, method=model.method, test=test, sigma2=np.asarray(theta, float), beta=beta,
                         vb=vb, se=se, stat=stat, pval=pval, ci_lb=ci_lb, ci_ub=ci_ub, df=df,
                         pi_lb=pi_lb, pi_ub=pi_ub, Q=Q, Q_df=Q_df, Q_pval=float(dist.chi2_sf(Q, Q_df)),
                         loglik=float(loglik), I2=float(I2), I2_levels=I2_levels, QM=QM, QM_df=QM_df,
                         QM_pval=QM_pval, coef_names=names)


def _critical(df, level) -> float:
    q = 1 - (1 - level) / 2
    return float(dist.norm_ppf(q) if df is None else dist.t_ppf(q, df))


def _wald(beta, se, df, level):
    stat = beta / se
    pval = 2 * (dist.norm_sf(np.abs(stat)) if df is None else dist.t_sf(np.abs(stat), df))
    crit = _critical(df, level)
    return stat, pval, beta - crit * se, beta + crit * se


def _omnibus(beta, vb, df):
    """Wald test that every coefficient but the intercept is 0: chi-square (z) or F (t)."""
    b, V = beta[1:], vb[1:, 1:]
    QM = float(b @ np.linalg.solve(V, b))
    m = len(b)
    if df is None:
        return QM, [m, None], float(dist.chi2_sf(QM, m))
    F = QM / m
    return F, [m, df], float(dist.f_sf(F, m, df))


def marginal_covariance(fit: MultilevelFit) -> BlockDiagonal:
    """The fitted Sigma = V + sigma2[0] J + sigma2[1] I, one block per cluster (input row order)."""
    model = fit.model
    V = vcalc(model.vi, model.clusters, model.rho)
    return V.plus_cluster_effects(float(fit.sigma2[0]), float(fit.sigma2[1]))


def rho_sensitivity(yi, vi, cluster, X=None, method: str = "REML", test: str = "z", rhos=(0.0, 0.2, 0.4, 0.6, 0.8),
                    robust: bool = False, coef_names=None) -> list[dict]:
    """The model refitted for each assumed within-cluster correlation rho of the sampling errors:
    [{rho, estimate or coef, se, ci_lb, ci_ub, sigma2[, robust]}]."""
    clusters = cluster if isinstance(cluster, Clusters) else Clusters.from_labels(cluster)
    out = []
    for rho in rhos:
        fit = fit_multilevel(yi, vi, clusters, X, method, test, rho, coef_names)
        full = fit.to_dict()
        row: dict[str, Any] = {"rho": float(rho)}
        row.update({key: full[key] for key in ("estimate", "coef", "se", "ci_lb", "ci_ub", "sigma2") if key in full})
        if robust:
            row["robust"] = robust_of(fit)
        out.append(row)
    return out


def robust_of(fit: MultilevelFit, level: float = LEVEL) -> dict:
    """CR2 cluster-robust tests of the fit's coefficients (clubSandwich for rma.mv: working
    weights Sigma^-1, target Sigma, clusters = the model's top level); an intercept-only fit's with
    predict(robust(fit))'s prediction interval (the pipeline's and `metasr pool --cluster --robust`'s)."""
    model = fit.model
    resid = model.yi - model.X_input @ fit.beta
    rob = robust_dict(fit.beta, model.X_input, resid, marginal_covariance(fit), level=level)
    return with_prediction(rob, float(np.sum(fit.sigma2)), level) if fit.is_intercept_only else rob


def wald_btt(fit: MultilevelFit, btt, robust: bool = False) -> dict:
    """rma.mv's anova(fit, btt = ): the Wald test that the coefficients `btt` (1-based positions or
    names) are all 0 (chi-square with z, F on k - p df with t); with `robust`, also anova(robust(fit,
    cluster, clubSandwich = TRUE), btt = ): clubSandwich's HTZ test of the same coefficients."""
    from metasr.stats.model_comparison import index_or_name, wald_test
    from metasr.stats.robust import cr2

    out = wald_test(fit, [index_or_name(b) for b in btt])
    if robust:
        model = fit.model
        result = cr2(model.X_input, model.yi - model.X_input @ fit.beta, marginal_covariance(fit))
        htz = result.htz(fit.beta, np.eye(fit.p)[[j - 1 for j in out["btt"]]])
        out["robust"] = {"test": "CR2 HTZ", "QM": htz["QM"], "QMdf": htz["QM_df"], "QMp": htz["QM_pval"]}
    return out


def clusters_per_column(X, clusters: Clusters) -> np.ndarray:
    """For each column of a model matrix, the clusters (studies) with a non-zero value in it."""
    X = np.asarray(X, dtype=float)
    return np.array([len(set(clusters.codes[X[:, j] != 0].tolist())) for j in range(X.shape[1])])


def robust_needs_two_studies(what: str, names: list) -> str:
    """Why CR2 inference was not given: a coefficient resting on one study has a cluster-robust
    variance of (nearly) 0 and a test that means nothing (clubSandwich gives the same degenerate numbers)."""
    shown = ", ".join(str(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (f"cluster-robust (CR2) inference needs at least two studies behind every {what}, and {shown} "
            f"{'rests' if len(names) == 1 else 'rest'} on one: use the multilevel setting (model-based "
            f"inference) or combine {what}s")


def _equal_means_test(beta, vb, contrasts, df) -> dict:
    """metafor's anova(fit, X = contrasts): the Wald chi-square, or with a t-test fit (df = k - p)
    its F form, QM / m on (m, df) degrees of freedom."""
    Cb = contrasts @ beta
    Q = float(Cb @ np.linalg.solve(contrasts @ vb @ contrasts.T, Cb))
    m = len(Cb)
    if df is None:
        return {"Q_between": Q, "Q_between_df": m, "Q_between_pval": float(dist.chi2_sf(Q, m)),
                "Q_between_test": "Wald chi-square"}
    return {"Q_between": Q / m, "Q_between_df": [m, df], "Q_between_pval": float(dist.f_sf(Q / m, m, df)),
            "Q_between_test": "Wald F"}


def subgroups_three_level(yi, vi, clusters: Clusters, groups, method: str = "REML", rho: float = 0.0,
                          robust: bool = False, test: str = "z") -> dict:
    """A subgroup analysis of dependent effect sizes: the three-level model with the subgroup as a
    categorical moderator and no intercept, each coefficient a subgroup's mean and the variance
    components shared by the subgroups (`rma.mv(yi, V, mods = ~ 0 + factor(subgroup), random = ~ 1 |
    cluster/es_id)`; subgroups sorted as text). The test for subgroup differences is the Wald test
    that every mean equals the first (metafor's anova(fit, X)); with `robust`, the means get CR2
    tests and the differences clubSandwich's HTZ test of the same constraints
    (Wald_test(constrain_equal)). With test "t" (and not robust) the means get t tests with
    df = k - p and the differences anova's F test, as rma.mv(test = "t"). A subgroup may vary
    within a cluster. {"skipped": reason} when the model cannot be fitted."""
    from metasr.stats.formula import factor_levels
    from metasr.stats.robust import coef_test, cr2

    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    groups = np.asarray([str(g) for g in groups])
    levels = factor_levels(groups.tolist())  # R's factor() order, as the other subgroup analyses
    X = (groups[:, None] == np.asarray(levels)[None, :]).astype(float)
    try:
        fit = fit_multilevel(yi, vi, clusters, X, method, "z" if robust else test, rho, levels)
    except ValueError as err:
        return {"skipped": f"the three-level model with a mean per subgroup cannot be fitted: {err}"}
    contrasts = np.hstack([-np.ones((len(levels) - 1, 1)), np.eye(len(levels) - 1)])  # each mean - the first
    beta = fit.beta
    if robust:
        thin = [level for level, n in zip(levels, clusters_per_column(X, clusters), strict=True) if n < 2]
        if thin:
            return {"skipped": robust_needs_two_studies("subgroup", thin)}
        result = cr2(X, yi - X @ beta, marginal_covariance(fit))
        per_level = coef_test(beta, result)
        difference = result.htz(beta, contrasts)
        between = {"Q_between": difference["QM"], "Q_between_df": difference["QM_df"],
                   "Q_between_pval": difference["QM_pval"], "Q_between_test": "CR2 HTZ"}
    else:
        per_level = {"se": fit.se, "pval": fit.pval, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub}
        if fit.df is not None:
            per_level["df"] = np.full(len(levels), fit.df)
        between = _equal_means_test(beta, fit.vb, contrasts, fit.df)
    entries = []
    for j, level in enumerate(levels):
        members = groups == level
        entry = {"level": level, "k": int(members.sum()), "k_studies": len(set(clusters.codes[members].tolist())),
                 "estimate": float(beta[j]),
                 **{key: float(per_level[key][j]) for key in ("se", "pval", "ci_lb", "ci_ub")}}
        if "df" in per_level:
            entry["df"] = float(per_level["df"][j])
        entries.append(entry)
    return {"model": "three-level", "levels": entries, "sigma2": fit.sigma2.tolist(), **between}


# ---------------------------------------------------------------- one table of effect sizes

def analyse_multilevel(df, measure: str, method: str, cluster: str, test: str = "z", rho: float = 0.0,
                       robust: bool = False, mods=None, file: str | None = None, scale: str | None = None,
                       options: effects.Options | None = None, subgroup: str | None = None, btt=None) -> dict:
    """What `metasr pool --cluster` prints for one table: each row one effect size, rows with equal
    values in column `cluster` from one study (metafor's keys; JSON-safe). The table is what
    `analyse` takes (arm data or yi/vi, an optional `usable` column); `mods` are moderator columns;
    `subgroup` a column of each effect size's subgroup (`subgroups_three_level`, under `subgroups`);
    `options` are escalc's (add, to, drop00, vtype); `btt` coefficients (1-based positions or
    names) for a Wald test (`wald_btt`, under `wald`)."""
    _check_options(measure, method, test, rho, file)
    if subgroup and [m for m in (mods or []) if m]:
        raise InputError(_problem("choose one of moderators or subgroup (got moderators, subgroup)", file,
                                  "one analysis", "run metasr pool once per analysis"))
    table, not_usable = split_usable(df, file)
    raise_if_errors(checks.study_row_problems(table, file, checks.count_columns(measure)))  # as analyse
    table = effects.escalc(table, measure, file=file, scale=scale, rows=[int(r) for r in table["_row"]],
                           options=options)
    table, dropped = split_dropped(table)
    not_usable += dropped
    rows = [int(r) for r in table["_row"]]
    labels = _cluster_labels(table, cluster, rows, file)
    display = table_display(table, measure, scale)
    mods = [m for m in (mods or []) if m]
    X, names = design_matrix(table, mods, file, rows=rows)
    clusters = Clusters.from_labels(labels)
    _check_design(clusters, X.shape[1], rho, rows, cluster, file)
    fit = fit_multilevel(table["yi"].to_numpy(float), table["vi"].to_numpy(float), clusters, X, method, test, rho,
                         names)
    result: dict[str, Any] = {"measure": measure, "method": method, "test": test, "cluster": cluster,
                              "rho": float(rho), "transform": display.to_json()}
    result.update(fit.to_dict())
    rob = robust_of(fit) if robust else None
    if btt:
        result["wald"] = wald_btt(fit, btt, robust)
    if fit.is_intercept_only:
        result["transformed"] = transformed(result, display)
        if rob is not None:  # predict(robust(fit), transf = ...)
            rob["transformed"] = transformed(rob, display)
    if rob is not None:
        result["robust"] = rob
    if subgroup:
        groups = subgroup_levels(table, subgroup, file)
        result["subgroups"] = {"variable": subgroup, **add_level_transformed(subgroups_three_level(
            table["yi"].to_numpy(float), table["vi"].to_numpy(float), clusters, groups, method, rho, robust, test),
            table, groups, measure, scale)}
    result["yi"] = table["yi"].tolist()
    result["vi"] = table["vi"].tolist()
    result["clusters"] = list(labels)
    aliases = numeric_aliases(labels, rows, cluster)
    if aliases:
        result["warnings"] = aliases
    if not_usable:
        result["not_usable"] = not_usable
    return json_safe(result)


def _problem(message, file, rule, hint, row=None, column=None, value=None):
    return Problem(message=message, file=file, row=row, column=column,
                   value=None if value is None else str(value), rule=rule, hint=hint)


def _check_options(measure, method, test, rho, file) -> None:
    problems = []
    if measure not in effects.MEASURES:
        problems.append(_problem(f"unknown measure {measure!r}", file, "measure",
                                 f"use one of {', '.join(effects.MEASURES)}", value=measure))
    if method not in METHODS:
        problems.append(_problem(f"the three-level model (--cluster) is fitted by REML or ML, not {method}", file,
                                 "multilevel method", "use --method REML or --method ML", value=method))
    if test not in TESTS:
        problems.append(_problem(f"the three-level model (--cluster) tests with z or t, not {test}", file,
                                 "multilevel test", "use --test z or --test t (rma.mv's t test, df = k - p)",
                                 value=test))
    if not (isinstance(rho, (int, float)) and -1 < rho < 1):
        problems.append(_problem("rho must be a correlation strictly between -1 and 1", file, "rho",
                                 "give the assumed correlation of sampling errors within a cluster, e.g. 0.5",
                                 value=rho))
    if problems:
        raise InputError(problems)


def _cluster_labels(table, cluster: str, rows, file) -> list[str]:
    if cluster not in table.columns:
        raise InputError(_problem(f"cluster column '{cluster}' is missing", file, "required column",
                                  "name the column that identifies the study of each effect size", column=cluster))
    cells = list(table[cluster])
    labels = [_text(v) for v in cells]
    blank = [_problem(f"'{cluster}' is missing, so the study of this effect size is unknown", file, "cluster value",
                      "give every effect size the id of its study (cluster)", row=row, column=cluster,
                      value=cell if label == "" and isinstance(cell, str) and cell.strip() else None)
             for row, label, cell in zip(rows, labels, cells, strict=True) if label == ""]
    if blank:
        raise InputError(blank)
    return labels


def numeric_aliases(labels: list[str], rows, cluster: str) -> list[str]:
    """Cluster values equal as numbers but written differently (11, 11.0, 011): each spelling is a
    cluster of its own (clusters are compared as text, as rma.mv's factor() does), which is rarely
    what was meant."""
    spellings: dict[float, dict[str, list[int]]] = {}
    for label, row in zip(labels, rows, strict=True):
        try:
            number = float(label.replace("_", "?"))
        except ValueError:
            continue
        if math.isfinite(number):
            spellings.setdefault(number, {}).setdefault(label, []).append(int(row))
    return [f"'{cluster}' values {_and([repr(s) for s in found])} are equal as numbers but written differently, so "
            f"they are {len(found)} separate clusters (rows {', '.join(str(r) for r in _first_rows(found))}); "
            "write one study's value the same way in every row if they are one study"
            for found in spellings.values() if len(found) > 1]


def _first_rows(found: dict[str, list[int]]) -> list[int]:
    return [rows[0] for rows in found.values()]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _text(value) -> str:
    """A cell as stripped text; every missing-value marker (metasr.io.is_missing, e.g. R's NA) becomes ''."""
    return "" if is_missing(value) else str(value).strip()


def _check_design(clusters: Clusters, p: int, rho: float, rows, cluster, file) -> None:
    k, J = clusters.k, clusters.n_clusters
    sizes = clusters.sizes
    if k <= p:
        raise InputError(_problem(
            f"{k} usable effect size{'s' if k != 1 else ''}, but the three-level model with {p} coefficient"
            f"{'s' if p > 1 else ''} needs at least {p + 1}", file, "enough effect sizes",
            "add effect sizes or drop moderators", value=k))
    if J < 2:
        raise InputError(_problem(f"all effect sizes come from one cluster ('{clusters.labels[0]}'): the variance "
                                  "between clusters cannot be estimated", file, "at least two clusters",
                                  "pool one study's effect sizes without --cluster, or add studies",
                                  column=cluster))
    if sizes.max() == 1:
        raise InputError(_problem("every cluster holds a single effect size, so the variances between and within "
                                  "clusters cannot be told apart", file, "dependent effect sizes",
                                  "pool without --cluster (one effect size per study: the univariate model)",
                                  column=cluster))
    big = int(np.argmax(sizes))
    if rho_too_low(rho, int(sizes[big])):
        raise InputError(_problem(
            rho_too_low_message(rho, "cluster", clusters.labels[big], int(sizes[big])), file, "rho",
            "use a larger rho (a negative correlation is only possible within small clusters)", value=rho))
