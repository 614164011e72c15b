"""Small-study effects: Egger's regression tests, Begg's rank correlation, trim-and-fill.

Each public function takes an intercept-only `MetaFit` and returns a dict with metafor 3.8-1's
quantities under the keys of the reference `expected.json`:

- `egger_test(fit)`: `regtest(fit)`, a meta-regression on the standard error (`sei`) fitted with
  the fit's own tau2 method and test; the intercept is the 'limit estimate' (effect at sei = 0).
- `egger_lm(fit)`: `regtest(fit, model = "lm")`, Egger's classic weighted least squares with
  weights 1/vi and a t test on k - 2 degrees of freedom.
- `begg_test(fit)`: `ranktest(fit)`, Kendall's tau between standardised deviates and variances.
- `trimfill(fit)`: `trimfill(fit)` with the L0 estimator and metafor's choice of side.

A test that the data cannot support (sei constant, too few studies) does not stop the analysis:
its numbers are None and `message` says why.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from metasr.errors import InputError
from metasr.stats import batch
from metasr.stats.models import MetaFit, fit_rma
from metasr.stats import distributions as dist

# metafor's defaults for rma() when no control list is given (trimfill() passes none).
DEFAULT_THRESHOLD = 1e-5
DEFAULT_MAXITER = 100
DEFAULT_TOL = np.finfo(float).eps ** 0.25
# R's exact Kendall distribution overflows (n! in double precision) from n = 171 on.
KENDALL_EXACT_MAX_N = 170


def _require_intercept_only(fit: MetaFit, what: str) -> None:
    if not fit.is_intercept_only:
        raise InputError(f"{what} needs a model without moderators",
                         hint="run small-study tests on the intercept-only model")


def _not_run(keys: dict, message: str) -> dict:
    out = dict(keys)
    out["message"] = message
    return out


def _sei_varies(vi: np.ndarray) -> bool:
    return bool(np.ptp(np.sqrt(vi)) > 1e-12 * float(np.max(np.sqrt(vi))))


# ------------------------------------------------------------------------ Egger's regression

def egger_test(fit: MetaFit) -> dict:
    """Mixed-effects Egger test: yi ~ 1 + sei with the fit's tau2 method and test."""
    _require_intercept_only(fit, "Egger's test")
    empty = {"model": "rma", "predictor": "sei", "stat": None, "pval": None, "limit_estimate": None}
    if not _sei_varies(fit.vi):
        return _not_run(empty, "all standard errors are equal: sei cannot be a predictor")
    if fit.k <= 2 and fit.method != "FE":
        return _not_run(empty, f"k = {fit.k}: too few studies for a regression on sei")
    reg = _sei_regression(fit)
    return {"model": "rma", "predictor": "sei", "stat": float(reg.stat[1]), "pval": float(reg.pval[1]),
            "limit_estimate": float(reg.beta[0])}


@functools.lru_cache(maxsize=16)
def _sei_regression_cached(yi: bytes, vi: bytes, method: str, test: str) -> MetaFit:
    yi, vi = np.frombuffer(yi), np.frombuffer(vi)
    return fit_rma(yi, vi, method=method, test=test, X=np.column_stack([np.ones(len(yi)), np.sqrt(vi)]))


def _sei_regression(fit: MetaFit) -> MetaFit:
    """yi ~ 1 + sei with the fit's method and test; Egger's test and trim-and-fill's choice of
    side both use it, so it is fitted once per data set."""
    return _sei_regression_cached(fit.yi.tobytes(), fit.vi.tobytes(), fit.method, fit.test)


def egger_lm(fit: MetaFit) -> dict:
    """Classic Egger test: weighted least squares of yi on sei (weights 1/vi), t test of the slope."""
    _require_intercept_only(fit, "Egger's test")
    df = fit.k - 2
    empty = {"model": "lm", "predictor": "sei", "stat": None, "pval": None, "df": df, "limit_estimate": None}
    if not _sei_varies(fit.vi):
        return _not_run(empty, "all standard errors are equal: sei cannot be a predictor")
    if df < 1:
        return _not_run(empty, f"k = {fit.k}: too few studies for a regression on sei")
    w = 1 / fit.vi
    X = np.column_stack([np.ones(fit.k), fit.sei])
    XtWX = (X.T * w) @ X
    A = np.linalg.inv(XtWX)
    b = A @ ((X.T * w) @ fit.yi)
    s2 = float(np.sum(w * (fit.yi - X @ b) ** 2)) / df  # lm() rescales by the residual variance
    se = math.sqrt(A[1, 1] * s2)
    stat = float(b[1] / se) if se > 0 else math.copysign(math.inf, b[1])
    return {"model": "lm", "predictor": "sei", "stat": stat, "pval": float(2 * dist.t_sf(abs(stat), df)),
            "df": df, "limit_estimate": float(b[0])}


# ------------------------------------------------------------------------ Begg's rank test

def kendall_tau_b(x, y, block: int = 512) -> float:
    """Kendall's tau-b (tau-a without ties), as R's cor(method = "kendall"). Pairs are counted
    in blocks of rows so that memory stays O(block x n) for large k."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    s = tx = ty = 0.0
    for start in range(0, n, block):
        sx = np.sign(x[start:start + block, None] - x[None, :])
        sy = np.sign(y[start:start + block, None] - y[None, :])
        s += float(np.sum(sx * sy))
        tx += float(np.sum(sx == 0)) - sx.shape[0]  # minus the diagonal (i, i)
        ty += float(np.sum(sy == 0)) - sy.shape[0]
    n0 = n * (n - 1) / 2
    denom = math.sqrt((n0 - tx / 2) * (n0 - ty / 2))  # every unordered pair was counted twice
    return (s / 2) / denom if denom > 0 else math.nan


def kendall_cdf(n: int) -> np.ndarray:
    """P(T <= q), q = 0 .. n(n-1)/2, for the number of concordant pairs T among n untied pairs.

    T is distributed as the number of inversions of a random permutation: the sum of independent
    uniforms on {0, .., j-1}, j = 1 .. n. Convolving probabilities (not counts) never overflows."""
    pmf = np.ones(1)
    for j in range(2, n + 1):
        c = np.concatenate([[0.0], np.cumsum(pmf)])
        size = len(pmf) + j - 1
        idx = np.arange(size)
        hi = np.minimum(idx, len(pmf) - 1) + 1
        lo = np.maximum(idx - j + 1, 0)
        pmf = (c[hi] - c[lo]) / j
    return np.cumsum(pmf)


def _tie_counts(values: np.ndarray) -> np.ndarray:
    _, counts = np.unique(values, return_counts=True)
    return counts[counts > 1].astype(float)


def kendall_test(x, y) -> tuple[float, float]:
    """(tau, two-sided p) as R's cor.test(x, y, method = "kendall", exact = TRUE).

    Without ties the p-value is exact; with ties (or n > 170, where R's exact computation
    overflows) it is the normal approximation with tie-corrected variance, no continuity
    correction."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    tau = kendall_tau_b(x, y)
    if not math.isfinite(tau):
        return math.nan, math.nan
    ties = min(len(np.unique(x)), len(np.unique(y))) < n
    if not ties and n <= KENDALL_EXACT_MAX_N:
        q = round((tau + 1) * n * (n - 1) / 4)
        cdf = kendall_cdf(n)
        p = 1 - cdf[q - 1] if q > n * (n - 1) / 4 else cdf[q]
        return tau, float(min(2 * p, 1.0))
    tx, ty = _tie_counts(x), _tie_counts(y)
    T0 = n * (n - 1) / 2
    T1, T2 = np.sum(tx * (tx - 1)) / 2, np.sum(ty * (ty - 1)) / 2
    S = tau * math.sqrt((T0 - T1) * (T0 - T2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt, vu = np.sum(tx * (tx - 1) * (2 * tx + 5)), np.sum(ty * (ty - 1) * (2 * ty + 5))
    v1 = np.sum(tx * (tx - 1)) * np.sum(ty * (ty - 1))
    v2 = np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(ty * (ty - 1) * (ty - 2))
    var_S = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + (v2 / (9 * n * (n - 1) * (n - 2)) if n > 2 else 0.0)
    z = S / math.sqrt(var_S)
    return tau, float(2 * min(dist.norm_cdf(z), dist.norm_sf(z)))


def begg_test(fit: MetaFit) -> dict:
    """Begg and Mazumdar's rank correlation test (metafor's ranktest)."""
    _require_intercept_only(fit, "Begg's test")
    if fit.k < 3:
        return _not_run({"kendall_tau": None, "pval": None}, f"k = {fit.k}: too few studies for a rank test")
    w = 1 / fit.vi
    theta = float(np.sum(w * fit.yi) / np.sum(w))
    vb = 1 / float(np.sum(w))
    yi_star = (fit.yi - theta) / np.sqrt(fit.vi - vb)
    tau, pval = kendall_test(yi_star, fit.vi)
    return {"kendall_tau": tau, "pval": pval}


# ------------------------------------------------------------------------ trim and fill

def _default_control_tau2(yi: np.ndarray, vi: np.ndarray, method: str) -> float | None:
    """tau2 as rma(yi, vi, method) finds it with metafor's default control (intercept only):
    Hedges start, Fisher scoring (ML, REML) or fixed-point steps (EB) with step halving at 0,
    stop when the change is below 1e-5, the 'stuck at a local maximum' check against tau2 = 0.
    None when metafor would not converge within 100 iterations.

    trimfill() fits without the caller's control list, so its numbers carry this tolerance
    (up to ~1e-5 relative against the exact optimum); matching them needs the same iterations."""
    k = len(yi)
    if k == 1:
        return 0.0
    tau2 = max(0.0, (float(np.sum((yi - yi.mean()) ** 2)) - float(np.sum(vi)) * (1 - 1 / k)) / (k - 1))
    change, it = DEFAULT_THRESHOLD + 1, 0
    while change > DEFAULT_THRESHOLD:
        it += 1
        old = tau2
        w = 1 / (vi + tau2)
        sw = np.sum(w)
        r = yi - np.sum(w * yi) / sw
        if method == "ML":
            adj = (np.sum((w * r) ** 2) - sw) / np.sum(w**2)
        elif method == "REML":
            trP = sw - np.sum(w**2) / sw
            trPP = np.sum(w**2) - 2 * np.sum(w**3) / sw + (np.sum(w**2) / sw) ** 2
            adj = (np.sum((w * r) ** 2) - trP) / trPP
        else:  # EB
            adj = (np.sum(w * r**2) * k / (k - 1) - k) / sw
        adj = float(adj) if math.isfinite(adj) else 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > DEFAULT_MAXITER:
            return None
    if method in ("ML", "REML") and tau2 > DEFAULT_THRESHOLD:
        if _loglik(yi, vi, 0.0, method) - _loglik(yi, vi, tau2, method) > DEFAULT_TOL:
            tau2 = 0.0
    return max(0.0, tau2)


def _loglik(yi, vi, tau2, method) -> float:
    w = 1 / (vi + tau2)
    sw = np.sum(w)
    rss = np.sum(w * (yi - np.sum(w * yi) / sw) ** 2)
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss
    return float(ll - 0.5 * math.log(sw) if method == "REML" else ll)


def _tau2_default_control(yi, vi, method: str) -> float:
    """tau2 of rma(yi, vi, method) without a control list (exact where metafor is exact)."""
    if len(yi) == 1 or method == "FE":
        return 0.0
    tau2 = _default_control_tau2(yi, vi, method) if method in ("ML", "REML", "EB") else None
    if tau2 is None:
        tau2 = float(batch.estimate_tau2(yi[None, :], vi[None, :], method)[0][0])
    return tau2


def _estimate_default_control(yi, vi, method: str) -> float:
    w = 1 / (vi + _tau2_default_control(yi, vi, method))
    return float(np.sum(w * yi) / np.sum(w))


@dataclass
class TrimFill:
    side: str
    k0: int
    estimate: float       # the model on observed + filled studies (the input fit when k0 = 0)
    se: float
    ci_lb: float
    ci_ub: float
    tau2: float
    yi_fill: np.ndarray   # the imputed studies only
    vi_fill: np.ndarray


Z975 = float(dist.norm_ppf(0.975))


def _filled_model(yi, vi, method: str) -> tuple[float, float, float, float, float]:
    """(estimate, se, ci_lb, ci_ub, tau2) of rma(yi, vi, method) as trimfill() refits it: no
    control list and metafor's default z test, whatever the test of the original fit."""
    tau2 = _tau2_default_control(yi, vi, method)
    w = 1 / (vi + tau2)
    est, se = float(np.sum(w * yi) / np.sum(w)), float(1 / math.sqrt(np.sum(w)))
    return est, se, est - Z975 * se, est + Z975 * se, tau2


def _side(fit: MetaFit) -> str:
    """metafor: regress yi on sei; a negative slope means studies are missing on the right.
    (metafor fits this with its default tolerance; only the sign of the slope is used.)"""
    return "right" if _sei_regression(fit).beta[1] < 0 else "left"


def _l0(yi_sorted: np.ndarray, beta: float) -> int:
    k = len(yi_sorted)
    centred = yi_sorted - beta
    ranks = np.empty(k)
    ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)  # ties: first come first
    Sr = float(np.sum(ranks[centred > 0]))
    return max(0, round((4 * Sr - k * (k + 1)) / (2 * k - 1)))


def trimfill_model(fit: MetaFit, maxiter: int = 100) -> TrimFill:
    """Duval and Tweedie's trim and fill (L0), iterated as metafor's trimfill() does."""
    _require_intercept_only(fit, "Trim and fill")
    if fit.k < 3 or not _sei_varies(fit.vi):
        raise InputError(f"trim and fill needs at least 3 studies with different standard errors (k = {fit.k})")
    side = _side(fit)
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * fit.yi, kind="stable")
    yi, vi = sign * fit.yi[order], fit.vi[order]
    k = len(yi)
    k0, k0_prev, it = 0, -1, 0
    beta = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise InputError("trim and fill did not converge", hint="report the funnel plot instead")
        beta = _estimate_default_control(yi[: k - k0], vi[: k - k0], fit.method)
        k0 = _l0(yi, beta)
    if k0 == 0:
        return TrimFill(side, 0, fit.estimate, float(fit.se[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0]),
                        float(fit.tau2), np.empty(0), np.empty(0))
    yi_fill = sign * (2 * beta - yi[k - k0:])
    vi_fill = vi[k - k0:]
    model = _filled_model(np.concatenate([fit.yi, yi_fill]), np.concatenate([fit.vi, vi_fill]), fit.method)
    return TrimFill(side, k0, *model, yi_fill, vi_fill)


def trimfill(fit: MetaFit) -> dict:
    """metafor's trimfill(fit) summary: side, k0 and the filled model's estimate, se, CI and tau2;
    `filled` holds the imputed studies (yi, vi) for the funnel plot."""
    _require_intercept_only(fit, "Trim and fill")
    try:
        tf = trimfill_model(fit)
    except InputError as err:
        return _not_run({"estimator": "L0", "side": None, "k0": None, "estimate": None, "se": None,
                         "ci_lb": None, "ci_ub": None, "tau2": None}, err.problems[0].message)
    return {"estimator": "L0", "side": tf.side, "k0": tf.k0, "estimate": tf.estimate, "se": tf.se,
            "ci_lb": tf.ci_lb, "ci_ub": tf.ci_ub, "tau2": tf.tau2,
            "filled": {"yi": tf.yi_fill.tolist(), "vi": tf.vi_fill.tolist()}}  # for the funnel plot


def filled_studies(fit: MetaFit) -> dict:
    """The imputed studies (for a funnel plot): yi, vi and side."""
    tf = trimfill_model(fit)
    return {"side": tf.side, "yi": tf.yi_fill.tolist(), "vi": tf.vi_fill.tolist()}
