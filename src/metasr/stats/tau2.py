"""Between-study variance (tau^2) estimators, one function per method, as metafor defines them,
each computing many meta-analyses at once.

The data are `Studies`: m data sets of up to k studies (yi, vi as (m, k) arrays, padding cells
masked out) with an optional model matrix X (m, k, p); a single fit is a batch of one. Every
estimator returns `(tau2, tau2_se, converged)` as arrays of length m, computed with the
projection algebra of `metasr.stats.wls` (k-vectors and p x p matrices only, never k x k).

The iterative estimators are 1-D problems on tau2 >= 0 solved in all rows together: REML and ML
maximise the (restricted) profile likelihood globally (the score's sign on a grid from far below
the smallest variance to beyond the last maximiser, then every cell where the score turns from +
to - polished by bracketed Newton steps; the best local maximum wins); PM, PMM and EB solve the
generalised Q equation, whose left side decreases monotonically in tau2 (PM and PMM with R's
uniroot steps on metafor's interval, so that they equal metafor's; EB, whose estimating
equation is PM's (Morris 1983), to machine precision).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metasr.stats import distributions as dist
from metasr.stats.wls import DOMINANT, Projection
from metasr.stats.zeroin import bracketed_newton, uniroot

ESTIMATORS = ("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "PMM", "GENQ", "HSk")
GRID_POINTS = 40         # geometric grid points from 1e-8 min(vi) to the upper bound (plus 0)
GRID_BLOCK = 400_000     # elements per vectorised pass over (rows, grid points, studies)
# metafor's search interval for PM (rma's control tau2.min, tau2.max).
PM_INTERVAL = (0.0, 100.0)


@dataclass
class Studies:
    """m data sets of up to k studies: y, v (m, k) with padding cells 0 and 1, mask (m, k) of the
    studies present (None: no padding), X (m, k, p) or None (intercept only)."""

    y: np.ndarray
    v: np.ndarray
    mask: np.ndarray | None = None
    X: np.ndarray | None = None
    k: np.ndarray = field(init=False)
    # The last projection at a tau2, by its bytes: a fit asks for the same tau2 several times in a
    # row (the likelihood at the maximiser, the SE of tau2, the coefficients), and a projection of
    # one small data set costs mostly its numpy calls.
    _last: tuple[tuple, Projection] | None = field(default=None, init=False, repr=False, compare=False)
    # Whether a study of some row holds more than wls.DOMINANT of the weight at tau2 = 0 (None: not looked yet).
    _dominance: bool | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        m, kmax = self.y.shape
        self.k = np.full(m, kmax) if self.mask is None else self.mask.sum(-1)

    @classmethod
    def one(cls, yi, vi, X=None) -> Studies:
        """One data set; X (k, p) is kept as given (None or a column of ones: intercept only)."""
        yi, vi = np.asarray(yi, float), np.asarray(vi, float)
        if X is not None:
            X = np.asarray(X, float).reshape(len(yi), -1)
            X = None if X.shape[1] == 1 and np.all(X == 1) else X[None]
        return cls(yi[None], vi[None], None, X)

    @classmethod
    def padded(cls, yi, vi, X=None) -> Studies:
        """(m, k) arrays with NaN padding (checked by metasr.stats.batch)."""
        mask = ~np.isnan(yi)
        full = bool(mask.all())
        y = yi if full else np.where(mask, yi, 0.0)
        v = vi if full else np.where(mask, vi, 1.0)
        if X is not None and not full:
            X = np.where(mask[..., None], X, 0.0)
        return cls(y, v, None if full else mask, X)

    @property
    def m(self) -> int:
        return self.y.shape[0]

    @property
    def p(self) -> int:
        return 1 if self.X is None else self.X.shape[-1]

    @property
    def df(self) -> np.ndarray:
        return self.k - self.p

    def take(self, idx) -> Studies:
        """The rows idx (increasing row numbers; all of them: self)."""
        if len(idx) == self.m:
            return self
        part = Studies(self.y[idx], self.v[idx], None if self.mask is None else self.mask[idx],
                       None if self.X is None else self.X[idx])
        if self._dominance is False:  # no row has a dominant study: nor has a part
            part._dominance = False
        return part

    def _axes(self, extra: bool):
        """y, v, mask, X with a grid axis inserted after the rows when `extra`."""
        if not extra:
            return self.y, self.v, self.mask, self.X
        return (self.y[:, None], self.v[:, None], None if self.mask is None else self.mask[:, None],
                None if self.X is None else self.X[:, None])

    def weights(self, tau2) -> np.ndarray:
        """1 / (vi + tau2), 0 in padding cells; tau2 (m,) or (m, G) (then (m, G, k))."""
        tau2 = np.asarray(tau2, float)
        _, v, mask, _ = self._axes(tau2.ndim == 2)
        w = 1 / (v + tau2[..., None])
        return w if mask is None else w * mask

    def plain(self, w) -> np.ndarray:
        """Given weights (m, k) with 0 in padding cells."""
        return w if self.mask is None else w * self.mask

    def fixed_effect(self) -> Projection:
        """The fit with weights 1/vi (tau2 = 0), computed once: Q, the moment estimators and the
        typical within-study variance all use it."""
        if getattr(self, "_fe", None) is None:
            self._fe = self.projection(np.zeros(self.m))
        return self._fe

    def projection(self, tau2=None, w=None) -> Projection:
        """The weighted least squares fit at tau2 (weights 1/(vi + tau2)) or with weights w.
        Projections are not changed after they are made, so the last one at a tau2 is given again."""
        if w is not None:
            y, _, _, X = self._axes(w.ndim == 3)
            return Projection(y, w, X)
        tau2 = np.asarray(tau2, float)
        key = tau2.shape, tau2.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        w = self.weights(tau2)
        y, _, _, X = self._axes(w.ndim == 3)
        proj = Projection(y, w, X, self.X is not None or self._dominance_at_zero())
        self._last = key, proj
        return proj

    def _dominance_at_zero(self) -> bool:
        """Whether a study of some row holds more than wls.DOMINANT of the weight at tau2 = 0."""
        if self._dominance is None:
            w = self.weights(np.zeros(self.m))
            self._dominance = bool(w.shape[-1]) and bool(np.any(w.max(-1) > DOMINANT * w.sum(-1)))
        return self._dominance

    def masked(self, values) -> np.ndarray:
        return values if self.mask is None else np.where(self.mask, values, 0.0)


# ------------------------------------------------------------------ moment estimators


def _truncated(tau2, se_of):
    t = np.maximum(tau2, 0.0)
    return t, se_of(t)


def dl(s: Studies):
    """DerSimonian-Laird (method of moments with inverse-variance weights)."""
    m = s.df
    fe = s.fixed_effect()
    trP = fe.tr_P()
    return _truncated((fe.rss - m) / trP, lambda t: np.sqrt((2 * m + 4 * t * trP + 2 * t**2 * fe.tr_PP()) / trP**2))


def he(s: Studies):
    """Hedges (Hedges-Olkin; method of moments with equal weights)."""
    m = s.df
    ols = s.projection(w=s.plain(np.ones_like(s.v)))
    trPV = ols.tr_PV(s.v)
    return _truncated((ols.rss - trPV) / m,
                      lambda t: np.sqrt((2 * ols.tr_PVPV(s.v) + 4 * t * trPV + 2 * t**2 * m) / m**2))


def _hs(s: Studies, corrected: bool):
    m = s.df
    fe = s.fixed_effect()
    sw = fe.w.sum(-1)
    factor = s.k / m if corrected else 1.0
    return _truncated((factor * fe.rss - s.k) / sw,
                      lambda t: factor * np.sqrt((2 * m + 4 * t * fe.tr_P() + 2 * t**2 * fe.tr_PP()) / sw**2))


def hs(s: Studies):
    """Hunter-Schmidt."""
    return _hs(s, False)


def hsk(s: Studies):
    """Hunter-Schmidt with the small-sample correction k / (k - p) (metafor's "HSk")."""
    return _hs(s, True)


def genq(s: Studies, weights=None):
    """Generalised Q (method of moments) estimator with weights a_i (DerSimonian-Kacker 2007):
    tau2 = (y'Py - tr(PV)) / tr(P), P = A - A X (X'AX)^-1 X'A. Without weights, a_i = 1/vi
    (which makes it DerSimonian-Laird's estimator)."""
    a = s.weights(np.zeros(s.m)) if weights is None else s.plain(np.asarray(weights, float))
    proj = s.projection(w=a)
    trP, trPV = proj.tr_P(), proj.tr_PV(s.v)
    return _truncated((proj.rss - trPV) / trP,
                      lambda t: np.sqrt((2 * proj.tr_PVPV(s.v) + 4 * t * proj.tr_VPP(s.v)
                                         + 2 * t**2 * proj.tr_PP()) / trP**2))


def sj(s: Studies):
    """Sidik-Jonkman, started (as metafor does) from the population variance of yi."""
    m = s.df
    mean = s.masked(s.y).sum(-1) / s.k
    tau2_0 = s.masked((s.y - mean[:, None]) ** 2).sum(-1) / s.k
    spread = tau2_0 > 0  # identical effects: no heterogeneity to scale
    t0 = np.where(spread, tau2_0, 1.0)
    proj = s.projection(t0)
    tau2 = np.where(spread, t0 * proj.rss / m, 0.0)
    t, se = _truncated(tau2, lambda t: np.sqrt(t0**2 / m**2 * (2 * proj.tr_PVPV(s.v) + 4 * t * proj.tr_VPP(s.v)
                                                               + 2 * t**2 * proj.tr_PP())))
    return t, np.where(spread, se, 0.0)


# ------------------------------------------------------------------ the generalised Q equation


def generalised_q(s: Studies, tau2) -> np.ndarray:
    """Q(tau2) = y'P(tau2)y, decreasing in tau2; the basis of PM, EB and the Q-profile CI."""
    return s.projection(tau2).rss


def _upper_bound(s: Studies) -> np.ndarray:
    """A tau2 about twice as large as any root or maximiser: 4 range(OLS residuals)^2 + 2 max(vi)
    (for the intercept-only model the score and Q - (k - p) are provably negative beyond half of
    it; callers still check and widen it)."""
    r = s.projection(w=s.plain(np.ones_like(s.v))).resid
    if s.mask is not None:
        hi_r = np.where(s.mask, r, -np.inf).max(-1)
        lo_r = np.where(s.mask, r, np.inf).min(-1)
        vmax = np.where(s.mask, s.v, 0.0).max(-1)
    else:
        hi_r, lo_r, vmax = r.max(-1), r.min(-1), s.v.max(-1)
    return 4 * (hi_r - lo_r) ** 2 + 2 * vmax + 1e-300


def _widen(s: Studies, hi, still_positive):
    """hi multiplied by 4 in the rows where still_positive(idx, hi) holds, until it holds in none."""
    hi = hi.copy()
    idx = np.arange(s.m)
    for _ in range(200):
        pos = still_positive(idx, hi[idx])
        if not pos.any():
            break
        idx = idx[pos]
        hi[idx] *= 4
    return hi


def solve_q(s: Studies, target) -> np.ndarray:
    """Smallest tau2 >= 0 with Q(tau2) = target in every row (0 where Q(0) <= target), to machine
    precision."""
    target = np.broadcast_to(np.asarray(target, float), (s.m,))
    tau2 = np.zeros(s.m)
    rows = np.flatnonzero(generalised_q(s, tau2) - target > 0)
    if rows.size == 0:
        return tau2
    sub, tgt = s.take(rows), target[rows]
    hi = _widen(sub, _upper_bound(sub), lambda i, x: generalised_q(sub.take(i), x) > tgt[i])

    def fun(i, x):
        proj = sub.take(i).projection(x)
        return proj.rss - tgt[i], -proj.ppy

    tau2[rows] = bracketed_newton(fun, np.zeros(rows.size), hi, np.zeros(rows.size))[0]
    return tau2


def _q_root(s: Studies, target, root: str):
    """tau2 solving Q(tau2) = target: R's uniroot steps on metafor's interval (root="metafor")
    where the root lies inside it, else (and with root="exact") the exact root."""
    inside = np.zeros(s.m, dtype=bool)
    lo, hi = PM_INTERVAL
    if root == "metafor":
        f_lo = generalised_q(s, np.full(s.m, lo)) - target
        f_hi = generalised_q(s, np.full(s.m, hi)) - target
        inside = (f_lo > 0) & (f_hi < 0)
    tau2 = np.zeros(s.m)
    rows = np.flatnonzero(inside)
    if rows.size:
        sub, tgt = s.take(rows), target[rows]
        tau2[rows] = uniroot(lambda i, x: generalised_q(sub.take(i), x) - tgt[i],
                             np.full(rows.size, lo), np.full(rows.size, hi))
    rows = np.flatnonzero(~inside)
    if rows.size:
        tau2[rows] = solve_q(s.take(rows), target[rows])
    return tau2


def _pm_se(s: Studies, tau2):
    return np.sqrt(2 * s.k**2 / s.df) / s.weights(tau2).sum(-1)


def pm(s: Studies, root: str = "metafor"):
    """Paule-Mandel: tau2 where the generalised Q equals its expectation k - p.

    root="metafor" (default) takes R uniroot()'s steps on metafor's interval [0, 100] at its default
    tolerance (1.2e-4), so the result is metafor's to ~1e-12 rather than within that tolerance of it;
    when the root lies beyond 100, where metafor stops with an error, the exact root is returned.
    root="exact" solves to machine precision (as EB does; both estimating equations are the same).
    """
    tau2 = _q_root(s, s.df.astype(float), root)
    return tau2, _pm_se(s, tau2)


def pmm(s: Studies, root: str = "metafor"):
    """Median-unbiased Paule-Mandel: tau2 where the generalised Q equals the median of
    chi-square(k - p) (metafor's "PMM"); `root` as for pm()."""
    tau2 = _q_root(s, np.asarray(dist.chi2_ppf(0.5, s.df), float), root)
    return tau2, _pm_se(s, tau2)


def eb(s: Studies):
    """Empirical Bayes (Morris 1983); its estimating equation is PM's."""
    tau2 = solve_q(s, s.df.astype(float))
    return tau2, _pm_se(s, tau2)


# ------------------------------------------------------------------ ML and REML


def loglik(s: Studies, tau2, reml: bool) -> np.ndarray:
    """Profile (restricted) log-likelihood of tau2, up to a constant."""
    proj = s.projection(tau2)
    ll = -0.5 * (s.masked(np.log(s.v + np.asarray(tau2, float)[:, None])).sum(-1) + proj.rss)
    if reml:
        ll -= 0.5 * proj.logdet_XtWX()
    return ll


def score(s: Studies, tau2, reml: bool, slope: bool = False):
    """d loglik / d tau2 (and its derivative when `slope`); tau2 (m,) or (m, G)."""
    proj = s.projection(tau2)
    value = 0.5 * (proj.ppy - (proj.tr_P() if reml else proj.w.sum(-1)))
    if not slope:
        return value
    curvature = 0.5 * proj.tr_PP() if reml else 0.5 * (proj.w**2).sum(-1)
    return value, curvature - proj.quad(proj.py)


def _grid_scores(s: Studies, grid, reml: bool) -> np.ndarray:
    per_point = max(1, s.m * s.y.shape[1] * s.p)
    block = int(max(1, min(grid.shape[1], GRID_BLOCK // per_point)))
    return np.concatenate([score(s, grid[:, g:g + block], reml) for g in range(0, grid.shape[1], block)], axis=1)


def _score_grid(s: Studies, lo, hi, reml: bool):
    """(grid, scores): 0 and GRID_POINTS geometric points from lo to hi in every row, hi widened
    (x 4) in the rows where the score is still positive there. The grid's last point is hi, so
    its score says whether to widen, and most rows need no evaluation of their own at hi."""
    steps = np.linspace(0.0, 1.0, GRID_POINTS)

    def grid_at(lo, hi):
        return np.concatenate([np.zeros((len(lo), 1)), lo[:, None] * (hi / lo)[:, None] ** steps], axis=1)

    grid = grid_at(lo, hi)
    sc = _grid_scores(s, grid, reml)
    rows = np.flatnonzero(sc[:, -1] > 0)
    if rows.size:
        sub = s.take(rows)
        wide = _widen(sub, hi[rows] * 4, lambda i, x: score(sub.take(i), x, reml) > 0)
        grid[rows] = grid_at(lo[rows], wide)
        sc[rows] = _grid_scores(sub, grid[rows], reml)
    return grid, sc


def maximise_likelihood(s: Studies, reml: bool):
    """Global maximiser of the (restricted) likelihood over tau2 >= 0 in every row: (tau2, converged).

    The score is evaluated at 0 and on a geometric grid from 1e-8 min(vi) to an upper bound
    beyond every maximiser (score < 0 there). Every local maximum lies at 0 (score <= 0 there) or
    in a cell where the score turns from + to -; each is polished by bracketed Newton steps and
    the one with the highest likelihood is kept."""
    vmin = s.v.min(-1) if s.mask is None else np.where(s.mask, s.v, np.inf).min(-1)
    grid, sc = _score_grid(s, 1e-8 * vmin, _upper_bound(s), reml)
    falls = (sc[:, :-1] > 0) & (sc[:, 1:] <= 0)
    candidates = [np.where(sc[:, 0] <= 0, 0.0, np.nan)]
    converged = np.ones(s.m, dtype=bool)
    order = np.cumsum(falls, axis=1)
    for j in range(int(falls.sum(1).max(initial=0))):
        rows = np.flatnonzero(falls.sum(1) > j)
        cell = np.argmax((order[rows] == j + 1) & falls[rows], axis=1)
        lo_c, hi_c = grid[rows, cell], grid[rows, cell + 1]
        f_lo, f_hi = sc[rows, cell], sc[rows, cell + 1]
        start = lo_c + (hi_c - lo_c) * (f_lo / (f_lo - f_hi))  # the secant through the cell's ends
        sub = s.take(rows)
        root, ok, _ = bracketed_newton(lambda i, x, sub=sub: score(sub.take(i), x, reml, slope=True), lo_c, hi_c,
                                       np.clip(start, lo_c, hi_c))
        found = np.full(s.m, np.nan)
        found[rows] = root
        converged[rows] &= ok
        candidates.append(found)
    cand = np.stack(candidates, 1)
    ll = np.full(cand.shape, -np.inf)
    for c in range(cand.shape[1]):
        rows = np.flatnonzero(~np.isnan(cand[:, c]))
        if rows.size:
            ll[rows, c] = loglik(s.take(rows), cand[rows, c], reml)
    best = np.argmax(ll, axis=1)
    converged &= np.isfinite(ll.max(1))
    return cand[np.arange(s.m), best], converged


def reml(s: Studies):
    """Restricted maximum likelihood."""
    tau2, converged = maximise_likelihood(s, reml=True)
    return tau2, np.sqrt(2 / s.projection(tau2).tr_PP()), converged


def ml(s: Studies):
    """Maximum likelihood."""
    tau2, converged = maximise_likelihood(s, reml=False)
    return tau2, np.sqrt(2 / (s.weights(tau2) ** 2).sum(-1)), converged


# ------------------------------------------------------------------ dispatch

SE_AT_FIXED = ("REML", "ML", "PM", "EB", "PMM")


def se_at(method: str, s: Studies, tau2) -> np.ndarray:
    """Standard error of tau2 for a fixed tau2 value (as metafor reports it for `rma(tau2=...)`)."""
    tau2 = np.asarray(tau2, float)
    if method == "REML":
        return np.sqrt(2 / s.projection(tau2).tr_PP())
    if method == "ML":
        return np.sqrt(2 / (s.weights(tau2) ** 2).sum(-1))
    if method in ("PM", "EB", "PMM"):
        return _pm_se(s, tau2)
    raise ValueError(f"no fixed-tau2 standard error for {method}")


_CLOSED = {"DL": dl, "HE": he, "SJ": sj, "HS": hs, "HSk": hsk, "PM": pm, "PMM": pmm, "EB": eb}


def estimate(method: str, s: Studies, weights=None):
    """(tau2, tau2_se, converged) by `method` (one of ESTIMATORS) in every row; `weights` are
    GENQ's a_i (m, k)."""
    if method in ("REML", "ML"):
        return (reml if method == "REML" else ml)(s)
    if method == "GENQ":
        tau2, se = genq(s, weights)
    else:
        tau2, se = _CLOSED[method](s)
    return tau2, se, np.ones(s.m, dtype=bool)


def estimate_tau2(method: str, yi, vi, X=None, weights=None) -> tuple[float, float]:
    """(tau2, its standard error) of one data set by `method`; `weights` are GENQ's a_i."""
    s = Studies.one(yi, vi, X)
    tau2, se, _ = estimate(method, s, None if weights is None else np.asarray(weights, float)[None])
    return float(tau2[0]), float(se[0])
