"""Between-study variance (tau^2) estimators, one function per method, as metafor defines them.

Every estimator takes effect sizes `yi`, sampling variances `vi` and a k x p model matrix `X`
and returns `(tau2, tau2_se)`. The projection algebra works on k-vectors and p x p matrices
only (never a k x k matrix), so a fit on thousands of studies stays fast.

The iterative estimators are solved as 1-D problems on tau2 >= 0 with bracketing root finders:
REML and ML maximise the (restricted) profile likelihood globally over a grid, then polish the
score root inside the best bracket; PM and EB solve the generalised Q equation, whose left side
decreases monotonically in tau2. (EB's estimating equation, Morris 1983, has the same root as
PM's; they differ only in how metafor iterates and in nothing else that is reported.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from metasr.stats import distributions as dist
from metasr.stats.zeroin import r_zeroin

ESTIMATORS = ("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "PMM", "GENQ", "HSk")


def xtdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """X' diag(d) X without forming diag(d)."""
    return (X.T * d) @ X


@dataclass
class Projection:
    """Weighted least squares of yi on X with weights w, and traces of P = W - W X (X'WX)^-1 X'W."""

    yi: np.ndarray
    w: np.ndarray
    X: np.ndarray

    def __post_init__(self):
        self.XtWX = xtdx(self.X, self.w)
        self.A = np.linalg.inv(self.XtWX)
        self.beta = self.A @ ((self.X.T * self.w) @ self.yi)
        self.resid = self.yi - self.X @ self.beta

    @property
    def rss(self) -> float:
        """y'Py: the (generalised) Q statistic."""
        return float(np.sum(self.w * self.resid**2))

    @property
    def ppy(self) -> float:
        """y'PPy."""
        return float(np.sum((self.w * self.resid) ** 2))

    def tr_P(self) -> float:
        return float(np.sum(self.w) - np.trace(self.A @ xtdx(self.X, self.w**2)))

    def tr_PP(self) -> float:
        w, X, A = self.w, self.X, self.A
        AB = A @ xtdx(X, w**2)
        return float(np.sum(w**2) - 2 * np.trace(A @ xtdx(X, w**3)) + np.trace(AB @ AB))

    def tr_PV(self, vi) -> float:
        w, X, A = self.w, self.X, self.A
        return float(np.sum(w * vi) - np.trace(A @ xtdx(X, w**2 * vi)))

    def tr_PVPV(self, vi) -> float:
        w, X, A = self.w, self.X, self.A
        AC = A @ xtdx(X, w**2 * vi)
        return float(np.sum((w * vi) ** 2) - 2 * np.trace(A @ xtdx(X, w**3 * vi**2)) + np.trace(AC @ AC))

    def tr_VPP(self, vi) -> float:
        """sum(PV * P) in metafor's notation, i.e. tr(V P P)."""
        w, X, A = self.w, self.X, self.A
        return float(
            np.sum(vi * w**2)
            - 2 * np.trace(A @ xtdx(X, w**3 * vi))
            + np.trace(A @ xtdx(X, w**2) @ A @ xtdx(X, w**2 * vi))
        )

    def logdet_XtWX(self) -> float:
        return float(np.linalg.slogdet(self.XtWX)[1])


def _df(yi, X) -> int:
    return len(yi) - X.shape[1]


def dl(yi, vi, X):
    """DerSimonian-Laird (method of moments with inverse-variance weights)."""
    m = len(yi) - X.shape[1]
    fe = Projection(yi, 1 / vi, X)
    trP = fe.tr_P()
    tau2 = (fe.rss - m) / trP
    t = max(tau2, 0.0)
    se = np.sqrt((2 * m + 4 * t * trP + 2 * t**2 * fe.tr_PP()) / trP**2)
    return max(tau2, 0.0), float(se)


def he(yi, vi, X):
    """Hedges (Hedges-Olkin; method of moments with equal weights)."""
    m = _df(yi, X)
    ols = Projection(yi, np.ones_like(vi), X)
    trPV = ols.tr_PV(vi)
    tau2 = (ols.rss - trPV) / m
    t = max(tau2, 0.0)
    se = np.sqrt((2 * ols.tr_PVPV(vi) + 4 * t * trPV + 2 * t**2 * m) / m**2)
    return max(tau2, 0.0), float(se)


def hs(yi, vi, X):
    """Hunter-Schmidt."""
    m = _df(yi, X)
    w = 1 / vi
    fe = Projection(yi, w, X)
    sw = np.sum(w)
    tau2 = (fe.rss - len(yi)) / sw
    t = max(tau2, 0.0)
    se = np.sqrt((2 * m + 4 * t * fe.tr_P() + 2 * t**2 * fe.tr_PP()) / sw**2)
    return max(tau2, 0.0), float(se)


def hsk(yi, vi, X):
    """Hunter-Schmidt with the small-sample correction k / (k - p) (metafor's "HSk")."""
    k, m = len(yi), _df(yi, X)
    w = 1 / vi
    fe = Projection(yi, w, X)
    sw = np.sum(w)
    tau2 = (k / m * fe.rss - k) / sw
    t = max(tau2, 0.0)
    se = k / m * np.sqrt((2 * m + 4 * t * fe.tr_P() + 2 * t**2 * fe.tr_PP()) / sw**2)
    return max(tau2, 0.0), float(se)


def genq(yi, vi, X, weights=None):
    """Generalised Q (method of moments) estimator with weights a_i (DerSimonian-Kacker 2007):
    tau2 = (y'Py - tr(PV)) / tr(P), P = A - A X (X'AX)^-1 X'A. Without weights, a_i = 1/vi
    (which makes it DerSimonian-Laird's estimator)."""
    a = 1 / vi if weights is None else np.asarray(weights, float)
    proj = Projection(yi, a, X)
    trP, trPV = proj.tr_P(), proj.tr_PV(vi)
    tau2 = (proj.rss - trPV) / trP
    t = max(tau2, 0.0)
    se = np.sqrt((2 * proj.tr_PVPV(vi) + 4 * t * proj.tr_VPP(vi) + 2 * t**2 * proj.tr_PP()) / trP**2)
    return max(tau2, 0.0), float(se)


def sj(yi, vi, X):
    """Sidik-Jonkman, started (as metafor does) from the population variance of yi."""
    m = _df(yi, X)
    tau2_0 = float(np.var(yi))
    if tau2_0 <= 0:  # identical effects: no heterogeneity to scale
        return 0.0, 0.0
    proj = Projection(yi, 1 / (vi + tau2_0), X)
    tau2 = tau2_0 * proj.rss / m
    t = max(tau2, 0.0)
    se = np.sqrt(
        tau2_0**2 / m**2 * (2 * proj.tr_PVPV(vi) + 4 * t * proj.tr_VPP(vi) + 2 * t**2 * proj.tr_PP())
    )
    return max(tau2, 0.0), float(se)


def _upper_bound(yi, vi, X) -> float:
    """A tau2 beyond which the estimating equations of all iterative estimators are negative."""
    ols = Projection(yi, np.ones_like(vi), X)
    spread = float(np.sum(ols.resid**2)) + float(np.sum((yi - yi.mean()) ** 2))
    return 10.0 * (spread + float(np.max(vi))) + 1e-8


def generalised_q(yi, vi, X, tau2) -> float:
    """Q(tau2) = y'P(tau2)y, decreasing in tau2; the basis of PM, EB and the Q-profile CI."""
    return Projection(yi, 1 / (vi + tau2), X).rss


def solve_q_equation(yi, vi, X, target: float) -> float:
    """Smallest tau2 >= 0 with Q(tau2) = target (0 when Q(0) <= target)."""
    f = lambda t: generalised_q(yi, vi, X, t) - target
    if f(0.0) <= 0:
        return 0.0
    hi = _upper_bound(yi, vi, X)
    while f(hi) > 0:
        hi *= 10
    return float(brentq(f, 0.0, hi, xtol=1e-300, rtol=8.9e-16, maxiter=500))


def _pm_se(yi, vi, X, tau2):
    k, m = len(yi), _df(yi, X)
    return float(np.sqrt(2 * k**2 / m) / np.sum(1 / (vi + tau2)))


# metafor's search interval for PM (rma's control tau2.min, tau2.max).
PM_INTERVAL = (0.0, 100.0)


def pm(yi, vi, X, root: str = "metafor"):
    """Paule-Mandel: tau2 where the generalised Q equals its expectation k - p.

    root="metafor" (default) takes R uniroot()'s steps on metafor's interval [0, 100] at its default
    tolerance (1.2e-4), so the result is metafor's to ~1e-12 rather than within that tolerance of it;
    when the root lies beyond 100, where metafor stops with an error, the exact root is returned.
    root="exact" solves to machine precision (as EB does; both estimating equations are the same).
    """
    target = _df(yi, X)
    f = lambda t: generalised_q(yi, vi, X, t) - target  # noqa: E731
    lo, hi = PM_INTERVAL
    if root == "metafor" and f(lo) > 0 > f(hi):
        tau2 = r_zeroin(f, lo, hi)
    else:
        tau2 = solve_q_equation(yi, vi, X, target)
    return tau2, _pm_se(yi, vi, X, tau2)


def pmm(yi, vi, X, root: str = "metafor"):
    """Median-unbiased Paule-Mandel: tau2 where the generalised Q equals the median of
    chi-square(k - p) (metafor's "PMM"); `root` as for pm()."""
    target = float(dist.chi2_ppf(0.5, _df(yi, X)))
    f = lambda t: generalised_q(yi, vi, X, t) - target  # noqa: E731
    lo, hi = PM_INTERVAL
    if root == "metafor" and f(lo) > 0 > f(hi):
        tau2 = r_zeroin(f, lo, hi)
    else:
        tau2 = solve_q_equation(yi, vi, X, target)
    return tau2, _pm_se(yi, vi, X, tau2)


def eb(yi, vi, X):
    """Empirical Bayes (Morris 1983); its estimating equation is PM's."""
    tau2 = solve_q_equation(yi, vi, X, _df(yi, X))
    return tau2, _pm_se(yi, vi, X, tau2)


def loglik(yi, vi, X, tau2, reml: bool) -> float:
    """Profile (restricted) log-likelihood of tau2, up to a constant."""
    proj = Projection(yi, 1 / (vi + tau2), X)
    ll = -0.5 * (np.sum(np.log(vi + tau2)) + proj.rss)
    if reml:
        ll -= 0.5 * proj.logdet_XtWX()
    return float(ll)


def loglik_grid(yi, vi, X, taus, reml: bool) -> np.ndarray:
    """loglik() at many tau2 values at once (G x k arrays; no k x k matrices)."""
    W = 1 / (vi[None, :] + np.asarray(taus, float)[:, None])
    XtWX = np.einsum("gk,ki,kj->gij", W, X, X)
    XtWy = np.einsum("gk,ki,k->gi", W, X, yi)
    beta = np.linalg.solve(XtWX, XtWy[..., None])[..., 0]
    resid = yi[None, :] - beta @ X.T
    ll = -0.5 * (np.sum(np.log(vi[None, :] + np.asarray(taus, float)[:, None]), axis=1)
                 + np.sum(W * resid**2, axis=1))
    if reml:
        ll -= 0.5 * np.linalg.slogdet(XtWX)[1]
    return ll


def _score(yi, vi, X, tau2, reml: bool) -> float:
    proj = Projection(yi, 1 / (vi + tau2), X)
    return 0.5 * (proj.ppy - (proj.tr_P() if reml else float(np.sum(proj.w))))


def maximise_likelihood(yi, vi, X, reml: bool) -> float:
    """Global maximiser of the (restricted) likelihood over tau2 >= 0.

    A log-spaced grid from far below the smallest variance to beyond the last score root finds
    every local maximum; each is polished as a bracketed root of the score, and the best wins.
    """
    hi = _upper_bound(yi, vi, X)
    while _score(yi, vi, X, hi, reml) > 0:
        hi *= 10
    lo = max(float(np.min(vi)), hi * 1e-12) * 1e-8
    grid = np.concatenate([[0.0], np.geomspace(lo, hi, 64)])
    ll = loglik_grid(yi, vi, X, grid, reml)
    padded = np.concatenate([[-np.inf], ll, [-np.inf]])
    peaks = np.flatnonzero((padded[1:-1] >= padded[:-2]) & (padded[1:-1] >= padded[2:]))
    candidates = [float(grid[j]) for j in peaks]
    score = lambda t: _score(yi, vi, X, t, reml)  # noqa: E731
    for j in peaks:
        for a, b in ((max(j - 1, 0), j), (j, min(j + 1, len(grid) - 1))):
            if a != b and score(grid[a]) > 0 > score(grid[b]):
                candidates.append(float(brentq(score, grid[a], grid[b], xtol=1e-300, rtol=8.9e-16, maxiter=500)))
    return max(candidates, key=lambda t: loglik(yi, vi, X, t, reml))


def reml(yi, vi, X):
    """Restricted maximum likelihood."""
    tau2 = maximise_likelihood(yi, vi, X, reml=True)
    proj = Projection(yi, 1 / (vi + tau2), X)
    return tau2, float(np.sqrt(2 / proj.tr_PP()))


def ml(yi, vi, X):
    """Maximum likelihood."""
    tau2 = maximise_likelihood(yi, vi, X, reml=False)
    return tau2, float(np.sqrt(2 / np.sum(1 / (vi + tau2) ** 2)))


def se_at(method: str, yi, vi, X, tau2: float) -> float:
    """Standard error of tau2 for a fixed tau2 value (as metafor reports it for `rma(tau2=...)`)."""
    w = 1 / (vi + tau2)
    if method == "REML":
        return float(np.sqrt(2 / Projection(yi, w, X).tr_PP()))
    if method == "ML":
        return float(np.sqrt(2 / np.sum(w**2)))
    if method in ("PM", "EB", "PMM"):
        return _pm_se(yi, vi, X, tau2)
    raise ValueError(f"no fixed-tau2 standard error for {method}")


ESTIMATOR_FUNCTIONS = {"DL": dl, "REML": reml, "ML": ml, "PM": pm, "HE": he, "SJ": sj, "HS": hs, "EB": eb,
                       "PMM": pmm, "GENQ": genq, "HSk": hsk}


def estimate_tau2(method: str, yi, vi, X, weights=None) -> tuple[float, float]:
    """(tau2, its standard error) by `method` (one of ESTIMATORS); `weights` are GENQ's a_i."""
    args = (np.asarray(yi, float), np.asarray(vi, float), np.asarray(X, float))
    if method == "GENQ":
        return genq(*args, weights=weights)
    return ESTIMATOR_FUNCTIONS[method](*args)
