"""Pool many intercept-only meta-analyses at once.

`pool(yi, vi, method, test)` takes arrays of shape (m, k) -- m meta-analyses of up to k studies,
NaN where a meta-analysis has fewer studies -- and returns arrays of length m with metafor's
quantities (estimate, se, stat, pval, ci_lb, ci_ub, tau2, I2, H2, Q, Q_df, Q_pval). Every step is
a numpy operation over all m rows together, so leave-one-out analyses, simulations and
benchmarks cost a few array passes instead of m Python-level fits.

tau2 estimators: FE (tau2 = 0), DL, HE, HS, SJ (closed forms), PM and EB (root of the
generalised Q equation, monotone in tau2; EB's exact root vectorised, PM's with metafor's uniroot
steps row by row, so that PM refits equal metafor's), ML and REML. ML and REML are found globally: every
maximiser lies in [0, U], U = 2 (2 R^2 + max vi) (R = range of yi; the score is provably negative
beyond half of U). The score is evaluated on a grid over [0, U]; each local maximum is at 0 or in a
cell where the score turns from + to -. The leftmost and rightmost such maxima are polished by
Newton steps kept inside the sign-changing cell (bisection when a step leaves it) and the one with
the higher likelihood is kept. Random data sets have two local maxima a few times in a thousand
(ML more often than REML); Fisher scoring from a single start value can stop at the wrong one or,
as metafor's does on ~0.3% of realistic k = 20 data sets, not converge in 100 steps.

A row with one study is metafor's k = 1 model (tau2 = 0, z test); a row with none gives NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from metasr.errors import InputError

METHODS = ("FE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")
TESTS = ("z", "knha")
GRID_BLOCK = 400_000  # elements per vectorised pass over (rows, grid points, studies)
GRID_POINTS = 40         # geometric grid points from 1e-8 min(vi) to U (plus 0)
MAXITER = 200
RTOL = 4 * np.finfo(float).eps


# ------------------------------------------------------------------------ input

def _as_2d(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a (meta-analyses x studies) array, got {arr.ndim} dimensions")
    return arr


def check(yi, vi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yi, vi, mask) with NaN padding checked: a study is present when yi is not NaN."""
    yi, vi = _as_2d(yi, "yi"), _as_2d(vi, "vi")
    if yi.shape != vi.shape:
        raise InputError(f"yi has shape {yi.shape} but vi has shape {vi.shape}")
    mask = ~np.isnan(yi)
    problems = []
    if np.any(mask != ~np.isnan(vi)):
        r, c = np.argwhere(mask != ~np.isnan(vi))[0]
        problems.append(f"yi and vi are not missing together (first at row {r}, column {c})")
    if np.any(np.isinf(yi)) or np.any(np.isinf(vi)):
        problems.append("yi and vi must be finite (use NaN for padding)")
    if np.any(vi[mask & ~np.isnan(vi)] <= 0):
        problems.append("sampling variances must be positive")
    if problems:
        raise InputError("; ".join(problems))
    return np.where(mask, yi, 0.0), np.where(mask, vi, 1.0), mask


# ------------------------------------------------------------------------ weighted sums

def _sums(y, v, mask, tau2):
    """w, sum w, weighted mean and residuals at tau2 (one value per row, broadcast over studies).
    Padded cells have w = 0 (and finite y, v), so they drop out of every weighted sum."""
    w = mask / (v + tau2[..., None])
    sw = w.sum(-1)
    mu = np.einsum("...i,...i->...", w, y) / sw
    return w, sw, mu, y - mu[..., None]


def _loglik(y, v, mask, tau2, reml: bool):
    """Profile (restricted) log-likelihood up to a constant; tau2 may carry extra leading axes."""
    w, sw, _, r = _sums(y, v, mask, tau2)
    ll = -0.5 * (np.where(mask, np.log(v + tau2[..., None]), 0.0).sum(-1) + (w * r * r).sum(-1))
    return ll - 0.5 * np.log(sw) if reml else ll


def _score(y, v, mask, tau2, reml: bool, derivative: bool = True):
    """First (and second) derivative of the (restricted) log-likelihood in tau2."""
    w, sw, _, r = _sums(y, v, mask, tau2)
    dot = lambda a, b: np.einsum("...i,...i->...", a, b)
    wr = w * r
    sw2 = dot(w, w)
    ppy = dot(wr, wr)
    if reml:
        w2 = w * w
        sw3 = dot(w2, w)
        trP = sw - sw2 / sw
        score = 0.5 * (ppy - trP)
        info = 0.5 * (sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2)
    else:
        score = 0.5 * (ppy - sw)
        info = 0.5 * sw2
    if not derivative:
        return score, None
    pppy = dot(w * wr, wr) - dot(w, wr) ** 2 / sw
    return score, info - pppy


def _q_excess(y, v, mask, tau2, k):
    """Generalised Q minus its expectation k - 1, and its derivative (decreasing in tau2)."""
    w, _, _, r = _sums(y, v, mask, tau2)
    return (w * r * r).sum(-1) - (k - 1), -((w * r) ** 2).sum(-1)


# ------------------------------------------------------------------------ root finding

def _polish(fun, lo, hi, x):
    """Root of a function that is positive at lo and negative at hi (per row), by Newton steps
    that fall back to bisection when they leave the bracket. fun(idx, x) -> (f, f')."""
    lo, hi, x = lo.copy(), hi.copy(), x.copy()
    active = np.arange(len(x))
    iterations = np.zeros(len(x), dtype=int)
    for _ in range(MAXITER):
        if active.size == 0:
            break
        xa = x[active]
        f, df = fun(active, xa)
        pos = f > 0
        lo[active] = np.where(pos, xa, lo[active])
        hi[active] = np.where(pos, hi[active], xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(df < 0, xa - f / df, np.nan)
        la, ha = lo[active], hi[active]
        inside = (step > la) & (step < ha)
        new = np.where(f == 0, xa, np.where(inside, step, 0.5 * (la + ha)))
        x[active] = new
        iterations[active] += 1
        done = (f == 0) | (np.abs(new - xa) <= RTOL * np.maximum(np.abs(new), 1e-300)) | (ha - la <= RTOL * ha)
        active = active[~done]
    return x, active.size == 0, iterations


def _likelihood_tau2(y, v, mask, k, reml: bool):
    """Global maximiser of the (restricted) likelihood on [0, U] for every row.

    The score is evaluated on a grid (0 and GRID_POINTS geometric points from 1e-8 min(vi) to
    U); every local maximum lies at 0 (score <= 0 there) or in a cell where the score changes
    from + to -. The leftmost and the rightmost of these are polished and the one with the higher
    likelihood kept: exact whenever there are at most two local maxima."""
    m = y.shape[0]
    ymax = np.where(mask, y, -np.inf).max(-1)
    ymin = np.where(mask, y, np.inf).min(-1)
    vmax = np.where(mask, v, 0).max(-1)
    vmin = np.where(mask, v, np.inf).min(-1)
    upper = 4 * (ymax - ymin) ** 2 + 2 * vmax  # twice the bound, so the score is negative at U
    steps = np.linspace(0.0, 1.0, GRID_POINTS)
    grid = np.concatenate([np.zeros((m, 1)), 1e-8 * vmin[:, None] * (upper / (1e-8 * vmin))[:, None] ** steps], 1)
    G = grid.shape[1]
    block = int(max(1, min(G, GRID_BLOCK // max(1, y.size))))  # grid columns per 3-D pass
    score = np.concatenate([
        _score(y[:, None, :], v[:, None, :], mask[:, None, :], grid[:, g:g + block], reml, False)[0]
        for g in range(0, G, block)], axis=1)
    falls = (score[:, :-1] > 0) & (score[:, 1:] <= 0)
    at_zero = score[:, 0] <= 0
    first = np.where(falls.any(1), np.argmax(falls, 1), -1)
    last = np.where(falls.any(1), falls.shape[1] - 1 - np.argmax(falls[:, ::-1], 1), -1)
    rows = np.arange(m)
    tau2 = np.zeros(m)
    converged = np.ones(m, dtype=bool)
    iterations = np.zeros(m, dtype=int)
    candidates = []
    for cell, skip in ((first, at_zero), (last, (last == first) & ~at_zero)):
        idx = np.flatnonzero((cell >= 0) & ~skip)
        root = candidates[0].copy() if candidates else np.zeros(m)  # 0: the boundary maximum
        if idx.size:
            lo, hi = grid[idx, cell[idx]], grid[idx, cell[idx] + 1]
            fun = lambda a, x, idx=idx: _score(y[idx[a]], v[idx[a]], mask[idx[a]], x, reml)
            r, ok, it = _polish(fun, lo, hi, 0.5 * (lo + hi))
            root[idx] = r
            converged[idx] &= ok
            iterations[idx] += it
        candidates.append(root)
    both = np.flatnonzero(candidates[0] != candidates[1])
    tau2 = candidates[0].copy()
    if both.size:
        ll = [_loglik(y[both], v[both], mask[both], c[both], reml) for c in candidates]
        tau2[both] = np.where(ll[1] > ll[0], candidates[1][both], candidates[0][both])
    converged &= falls.any(1) | at_zero
    return tau2, converged, iterations


def _pm_metafor_root(y, v, mask, k):
    """Paule-Mandel as metafor reports it: its uniroot() stops at a tolerance of 1.2e-4, so its PM
    tau2 is not the exact root (that is EB's). tau2.pm takes uniroot's steps, one row at a time
    (refits of one analysis: leave-one-out, cumulative, influence; a loop is cheap there)."""
    from metasr.stats import tau2 as tau2_estimators

    tau2 = np.array([tau2_estimators.pm(yr[mr], vr[mr], np.ones((int(kr), 1)))[0]
                     for yr, vr, mr, kr in zip(y, v, mask, k)])
    return tau2, np.ones(len(tau2), dtype=bool), np.zeros(len(tau2), dtype=int)


def _q_root_tau2(y, v, mask, k):
    """Smallest tau2 >= 0 with generalised Q = k - 1 (Paule-Mandel; EB has the same root)."""
    m = y.shape[0]
    f0, _ = _q_excess(y, v, mask, np.zeros(m), k)
    tau2 = np.zeros(m)
    converged = np.ones(m, dtype=bool)
    iterations = np.zeros(m, dtype=int)
    idx = np.flatnonzero(f0 > 0)
    if idx.size:
        ymax = np.where(mask, y, -np.inf).max(-1)
        ymin = np.where(mask, y, np.inf).min(-1)
        hi = 4 * (ymax - ymin)[idx] ** 2 + 2 * np.where(mask, v, 0).max(-1)[idx]  # Q < k - 1 beyond
        fun = lambda a, x: _q_excess(y[idx[a]], v[idx[a]], mask[idx[a]], x, k[idx[a]])
        tau2[idx], converged[idx], iterations[idx] = _polish(fun, np.zeros(idx.size), hi, np.zeros(idx.size))
    return tau2, converged, iterations


def _moment_tau2(method, y, v, mask, k):
    """Closed-form estimators (truncated at 0)."""
    kf = np.maximum(k, 2).astype(float)
    w, sw, _, r = _sums(y, v, mask, np.zeros(len(k)))
    Q = (w * r * r).sum(-1)
    if method == "DL":
        tau2 = (Q - (kf - 1)) / (sw - (w * w).sum(-1) / sw)
    elif method == "HS":
        tau2 = (Q - kf) / sw
    elif method == "HE":
        ybar = np.where(mask, y, 0).sum(-1) / kf
        rss = np.where(mask, (y - ybar[:, None]) ** 2, 0).sum(-1)
        tau2 = (rss - np.where(mask, v, 0).sum(-1) * (1 - 1 / kf)) / (kf - 1)
    else:  # SJ, started from the population variance of yi as metafor does
        ybar = np.where(mask, y, 0).sum(-1) / kf
        tau0 = np.where(mask, (y - ybar[:, None]) ** 2, 0).sum(-1) / kf
        w0, _, _, r0 = _sums(y, v, mask, tau0)
        tau2 = np.where(tau0 > 0, tau0 * (w0 * r0 * r0).sum(-1) / (kf - 1), 0.0)
    return np.maximum(tau2, 0.0)


def estimate_tau2(yi, vi, method: str = "REML"):
    """(tau2, converged, iterations) for every row of (m, k) arrays with NaN padding."""
    y, v, mask = check(yi, vi)
    return _tau2(y, v, mask, method)


def _tau2(y, v, mask, method):
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; the batch path fits {', '.join(METHODS)}")
    k = mask.sum(-1)
    m = len(k)
    tau2 = np.zeros(m)
    converged = np.ones(m, dtype=bool)
    iterations = np.zeros(m, dtype=int)
    fit = np.flatnonzero(k >= 2)
    if method == "FE" or fit.size == 0:
        return tau2, converged, iterations
    ys, vs, ms, ks = y[fit], v[fit], mask[fit], k[fit]
    if method in ("ML", "REML"):
        t, c, it = _likelihood_tau2(ys, vs, ms, ks, method == "REML")
    elif method == "PM":
        t, c, it = _pm_metafor_root(ys, vs, ms, ks)
    elif method == "EB":
        t, c, it = _q_root_tau2(ys, vs, ms, ks)
    else:
        t, c, it = _moment_tau2(method, ys, vs, ms, ks), np.ones(len(fit), bool), np.zeros(len(fit), int)
    tau2[fit], converged[fit], iterations[fit] = t, c, it
    return tau2, converged, iterations


# ------------------------------------------------------------------------ pooling

def pool(yi, vi, method: str = "REML", test: str = "z", level: float = 0.95) -> dict:
    """Pool every row of (m, k) arrays (NaN padding); returns a dict of length-m arrays with
    metafor's names plus `k`, `converged` and `iterations` (root-finding steps)."""
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}; use z or knha")
    y, v, mask = check(yi, vi)
    k = mask.sum(-1)
    tau2, converged, iterations = _tau2(y, v, mask, method)
    with np.errstate(divide="ignore", invalid="ignore"):
        w, sw, estimate, r = _sums(y, v, mask, tau2)
        vb = 1 / sw
        knha = (test == "knha") & (k >= 2)
        df = np.where(knha, k - 1, 0)
        s2w = np.where(knha, (w * r * r).sum(-1) / np.maximum(k - 1, 1), 1.0)
        se = np.sqrt(vb * s2w)
        stat = estimate / se
        dfc = np.maximum(df, 1)
        crit = np.where(knha, special.stdtrit(dfc, 1 - (1 - level) / 2), special.ndtri(1 - (1 - level) / 2))
        pval = np.where(knha, 2 * special.stdtr(dfc, -np.abs(stat)), 2 * special.ndtr(-np.abs(stat)))
        w0, sw0, _, r0 = _sums(y, v, mask, np.zeros(len(k)))
        Q = (w0 * r0 * r0).sum(-1)
        Q_df = np.maximum(k - 1, 0)
        Q_pval = np.where(Q_df > 0, special.chdtrc(np.maximum(Q_df, 1), Q), 1.0)
        if method == "FE":
            I2 = np.where(Q > 0, np.maximum(0.0, 100 * (Q - Q_df) / Q), 0.0)
            H2 = np.where(Q_df > 0, Q / np.maximum(Q_df, 1), 1.0)
        else:
            typical = Q_df / (sw0 - (w0 * w0).sum(-1) / sw0)
            I2 = np.where(k >= 2, 100 * tau2 / (tau2 + typical), 0.0)
            H2 = np.where(k >= 2, (tau2 + typical) / typical, 1.0)
    out = {"k": k, "estimate": estimate, "se": se, "stat": stat, "pval": pval,
           "ci_lb": estimate - crit * se, "ci_ub": estimate + crit * se, "tau2": tau2,
           "I2": I2, "H2": H2, "Q": Q, "Q_df": Q_df, "Q_pval": Q_pval, "df": df,
           "converged": converged, "iterations": iterations}
    empty = k == 0
    if empty.any():
        for key in ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q", "Q_pval"):
            out[key] = np.where(empty, np.nan, out[key])
    return out


def leave_one_out_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """(k, k-1) arrays whose row i is the data set without study i."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    keep = ~np.eye(k, dtype=bool)
    return yi[None, :].repeat(k, 0)[keep].reshape(k, k - 1), vi[None, :].repeat(k, 0)[keep].reshape(k, k - 1)


def cumulative_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """(k, k) arrays whose row j holds the first j + 1 studies (NaN after)."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    lower = np.tril(np.ones((k, k), dtype=bool))
    return np.where(lower, yi[None, :], np.nan), np.where(lower, vi[None, :], np.nan)
