"""Small-study effects: Egger's regression tests, Begg's rank correlation, trim-and-fill.

Each public function takes an intercept-only `MetaFit` and returns a dict with metafor 3.8-1's
quantities under the keys of the reference `expected.json`:

- `egger_test(fit)`: `regtest(fit)`, a meta-regression on the standard error (`sei`) fitted with
  the fit's own tau2 method and test; the intercept is the 'limit estimate' (effect at sei = 0).
- `egger_lm(fit)`: `regtest(fit, model = "lm")`, Egger's classic weighted least squares with
  weights 1/vi and a t test on k - 2 degrees of freedom.
- `begg_test(fit)`: `ranktest(fit)`, Kendall's tau between standardised deviates and variances.
- `trimfill(fit)`: `trimfill(fit)` with the L0 estimator and metafor's choice of side.
- `regtest(fit, model, predictor, ni)`: metafor's `regtest` with any predictor (`sei`, `vi`, `ni`,
  `ninv`, `sqrtni`, `sqrtninv`) and model (`rma`: the fit's method and test; `lm`: weighted least
  squares with weights 1/vi and a multiplicative dispersion), also for meta-regression fits.
- `pet_peese(fit)`: the conditional PET-PEESE estimator built on regtest (rule in its docstring).
- `trimfill_estimator(fit, estimator, side)`: trim and fill with L0, R0 or Q0 and a given side.

The Egger result a report shows is `egger` (`regtest(fit)`: model rma, predictor sei), the same
in every place: REPORTED_EGGER names it and `reported_egger()` returns it from a small-study dict;
`egger_lm` is there for comparison with the classic test only.

A test that the data cannot support does not stop the analysis: its numbers are None and
`message` says why (too few studies; a predictor that leaves the model matrix rank-deficient by
metafor's rules, e.g. standard errors equal to 7 digits, where metafor's regtest stops).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from metasr.errors import InputError
from metasr.stats import batch, distributions as dist, inference
from metasr.stats.models import CoefficientTests, MetaFit, coefficients, fit_coefficients, fit_rma, rank_problem
from metasr.stats.tau2 import Studies, loglik

# metafor's defaults for rma() when no control list is given (trimfill() passes none).
DEFAULT_THRESHOLD = 1e-5
DEFAULT_MAXITER = 100
DEFAULT_TOL = np.finfo(float).eps ** 0.25
# R's exact Kendall distribution overflows (n! in double precision) from n = 171 on.
KENDALL_EXACT_MAX_N = 170


def _require_small_study_model(fit: MetaFit, what: str) -> None:
    fit.require_intercept_only(what, hint="run small-study tests on the intercept-only model")


def _not_run(keys: dict, message: str) -> dict:
    out = dict(keys)
    out["message"] = message
    return out


def _sei_problem(fit: MetaFit, model: str = "rma") -> str | None:
    """Why sei cannot be added to the model (metafor's rank rules), or None."""
    return _sei_problem_of(fit.sei.tobytes(), model)


@functools.lru_cache(maxsize=16)
def _sei_problem_of(sei_bytes: bytes, model: str) -> str | None:
    # Egger's test and trim and fill ask the same of one data set: checked once.
    sei = np.frombuffer(sei_bytes)
    problem = rank_problem(np.column_stack([np.ones(len(sei)), sei]), model == "rma")
    if problem is None:
        return None
    return f"the standard errors are (nearly) equal, so sei cannot be a predictor: {problem}"


# ------------------------------------------------------------------------ Egger's regression

# Egger's regression yi ~ 1 + sei: a full fit (from a batch) or its coefficients alone
SeiRegression = MetaFit | CoefficientTests


def egger_test(fit: MetaFit, sei_fit: SeiRegression | None = None) -> dict:
    """Mixed-effects Egger test: yi ~ 1 + sei with the fit's tau2 method and test (`sei_fit`: that
    regression, when fitted already)."""
    _require_small_study_model(fit, "Egger's test")
    empty = {"model": "rma", "predictor": "sei", "stat": None, "pval": None, "limit_estimate": None}
    problem = _sei_problem(fit)
    if problem:
        return _not_run(empty, problem)
    if fit.k <= 2 and fit.method != "FE":
        return _not_run(empty, f"k = {fit.k}: too few studies for a regression on sei")
    reg = _sei_regression(fit) if sei_fit is None else sei_fit
    return {"model": "rma", "predictor": "sei", "stat": float(reg.stat[1]), "pval": float(reg.pval[1]),
            "limit_estimate": float(reg.beta[0])}


@functools.lru_cache(maxsize=16)
def _sei_regression_cached(yi_bytes: bytes, vi_bytes: bytes, method: str, test: str) -> CoefficientTests:
    yi, vi = np.frombuffer(yi_bytes), np.frombuffer(vi_bytes)
    return fit_coefficients(yi, vi, method=method, test=test, X=sei_design(vi))


def sei_design(vi) -> np.ndarray:
    """The model matrix of Egger's regression: an intercept and sei."""
    return np.column_stack([np.ones(len(vi)), np.sqrt(vi)])


def _sei_regression(fit: MetaFit) -> CoefficientTests:
    """yi ~ 1 + sei with the fit's method and test; Egger's test and trim-and-fill's choice of
    side both use it, so it is fitted once per data set."""
    return _sei_regression_cached(fit.yi.tobytes(), fit.vi.tobytes(), fit.method, fit.test)


def egger_lm(fit: MetaFit, lm=None) -> dict:
    """Classic Egger test: weighted least squares of yi on sei (weights 1/vi), t test of the slope.
    `lm`: that regression's (beta, (X'WX)^-1, weighted RSS), when computed already."""
    _require_small_study_model(fit, "Egger's test")
    df = fit.k - 2
    empty = {"model": "lm", "predictor": "sei", "stat": None, "pval": None, "df": df, "limit_estimate": None}
    problem = _sei_problem(fit, "lm")
    if problem:
        return _not_run(empty, problem)
    if df < 1:
        return _not_run(empty, f"k = {fit.k}: too few studies for a regression on sei")
    try:
        b, se_all, _ = _lm_fit(fit.yi, fit.vi, sei_design(fit.vi), lm)
    except InputError as err:
        return _not_run(empty, err.problems[0].message)
    stat = float(b[1] / se_all[1])
    return {"model": "lm", "predictor": "sei", "stat": stat, "pval": float(2 * dist.t_sf(abs(stat), df)),
            "df": df, "limit_estimate": float(b[0])}


REPORTED_EGGER = "egger"


def reported_egger(small_study: dict) -> dict | None:
    """The one Egger result to show (funnel caption and tables alike): `regtest(fit)`, rma/sei."""
    return small_study.get(REPORTED_EGGER)


# ------------------------------------------------------------------------ regtest, any predictor

REGTEST_MODELS = ("rma", "lm")
REGTEST_PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
# predictors whose value goes to 0 as precision grows: the intercept is a 'limit estimate'
LIMIT_PREDICTORS = ("sei", "vi", "ninv", "sqrtninv")


def regtest_predictor(predictor: str, vi, ni=None) -> np.ndarray:
    """The column regtest adds to the model matrix."""
    if predictor not in REGTEST_PREDICTORS:
        raise InputError(f"unknown regtest predictor {predictor!r}", hint=f"use one of {', '.join(REGTEST_PREDICTORS)}")
    vi = np.asarray(vi, float)
    if predictor == "sei":
        return np.sqrt(vi)
    if predictor == "vi":
        return vi
    if ni is None or np.any(~np.isfinite(np.asarray(ni, float))):
        raise InputError(f"regtest predictor {predictor!r} needs the sample size of every study",
                         hint="give an 'ni' column (total sample size) or use predictor sei or vi")
    ni = np.asarray(ni, float)
    return {"ni": ni, "ninv": 1 / ni, "sqrtni": np.sqrt(ni), "sqrtninv": 1 / np.sqrt(ni)}[predictor]


def _lm_fit(yi, vi, X, lm=None):
    """lm(yi ~ X - 1, weights = 1/vi): coefficients, their SEs (scaled by the residual variance)
    and the residual df; `lm` = (beta, (X'WX)^-1, weighted RSS) when computed already."""
    if lm is None:
        proj = Studies.one(yi, vi, X).projection(np.zeros(1))
        lm = proj.coefs()[0], proj.coef_cov()[0], proj.rss[0]
    beta, A, rss = lm
    # no residual variation (all effects equal, or on a line in the predictor), up to rounding: the
    # t statistics are 0/0 or rounding noise (metafor prints them; here there is no test)
    if not rss > (1e-12 * float(np.max(np.abs(yi)))) ** 2 * float(np.sum(1 / np.asarray(vi))):
        raise InputError("the regression fits the effects exactly (no residual variation), so its t tests are "
                         "undefined", hint="the effects are all equal, or lie on a line in the predictor")
    df = len(yi) - X.shape[1]
    s2 = rss / df  # lm() rescales by the residual variance
    return beta, np.sqrt(np.diag(A) * s2), df


def regtest(fit: MetaFit, model: str = "rma", predictor: str = "sei", ni=None, level: float = 0.95) -> dict:
    """metafor's regtest(fit, model, predictor): the test of the added predictor (`zval`, `pval`,
    `dfs` for t tests) and, for the limit predictors of an intercept-only fit, the limit estimate
    `est` with its CI (`ci_lb`, `ci_ub`). `fit` holds the coefficients (`beta`, `se`, `pval`)."""
    if model not in REGTEST_MODELS:
        raise InputError(f"unknown regtest model {model!r}", hint="use rma or lm")
    x = regtest_predictor(predictor, fit.vi, ni)
    X = np.column_stack([fit.X, x])
    problem = rank_problem(X, model == "rma")
    if problem:
        raise InputError(f"{predictor} cannot be added as a predictor: {problem}",
                         hint="the predictor is constant (or nearly so) or collinear with the moderators")
    p = fit.p
    too_few = InputError(f"k = {len(fit.yi)}: too few studies for a regression on {predictor} ({X.shape[1]} "
                         "coefficients to estimate)", hint="small-study tests need more studies than that")
    if model == "lm" and len(fit.yi) <= X.shape[1]:
        raise too_few
    if model == "rma":
        try:
            reg = fit_rma(fit.yi, fit.vi, method=fit.method, test=fit.test, X=X, weights=fit.a,
                          tau2=fit.tau2 if fit.fixed_tau2 else None)
        except ValueError:  # a random-effects model with no more studies than coefficients (metafor stops too)
            raise too_few from None
        zval, pval, dfs = float(reg.stat[p]), float(reg.pval[p]), reg.df
        beta, se, coef_p = reg.beta, reg.se, reg.pval
        crit = inference.critical_value(fit.test, dfs, level)
        out_fit = {"beta": beta.tolist(), "se": se.tolist(), "pval": coef_p.tolist(), "tau2": reg.tau2}
    else:
        beta, se, dfs = _lm_fit(fit.yi, fit.vi, X)
        stat = beta / se
        coef_p = 2 * dist.t_sf(np.abs(stat), dfs)
        zval, pval = float(stat[p]), float(coef_p[p])
        crit = inference.critical_value("t", dfs, level)
        out_fit = {"beta": beta.tolist(), "se": se.tolist(), "tval": stat.tolist(), "pval": coef_p.tolist()}
    out = {"model": model, "predictor": predictor, "zval": zval, "pval": pval, "dfs": dfs,
           "est": None, "ci_lb": None, "ci_ub": None, "fit": out_fit}
    if predictor in LIMIT_PREDICTORS and fit.is_intercept_only:
        out.update(est=float(beta[0]), ci_lb=float(beta[0] - crit * se[0]), ci_ub=float(beta[0] + crit * se[0]))
    return out


# ------------------------------------------------------------------------ PET-PEESE

PET_PEESE_ALPHA = 0.05


def pet_peese(fit: MetaFit, model: str = "lm", alpha: float = PET_PEESE_ALPHA) -> dict:
    """The conditional PET-PEESE estimator (Stanley and Doucouliagos 2014).

    PET is regtest(fit, model, predictor = "sei"), PEESE is regtest(fit, model, predictor = "vi");
    both intercepts estimate the effect of a study with infinite precision. Rule: when PET's
    intercept differs from 0 in a one-sided test at level `alpha` in the direction of the PET
    estimate (equivalently: its two-sided p < 2 alpha), some effect is present and PEESE's
    intercept is reported; otherwise PET's. model "lm" (default) is the weighted least-squares
    regression with a multiplicative dispersion that the method was defined with; "rma" uses the
    fit's random-effects model instead."""
    _require_small_study_model(fit, "PET-PEESE")
    pet, peese = (regtest(fit, model=model, predictor=pr) for pr in ("sei", "vi"))
    for reg in (pet, peese):
        b, se = reg["fit"]["beta"][0], reg["fit"]["se"][0]
        reg["pval_est"] = reg["fit"]["pval"][0]
        reg["se_est"] = se
        reg["zval_est"] = b / se
    p_one_sided = pet["pval_est"] / 2
    chosen = "PEESE" if p_one_sided < alpha else "PET"
    pick = peese if chosen == "PEESE" else pet
    return {"model": model, "alpha": alpha,
            "rule": f"PEESE when PET's intercept differs from 0 (one-sided p < {alpha}), else PET",
            "pet": pet, "peese": peese, "chosen": chosen,
            "est": pick["est"], "se": pick["se_est"], "ci_lb": pick["ci_lb"], "ci_ub": pick["ci_ub"]}


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
    _require_small_study_model(fit, "Begg's test")
    if fit.k < 3:
        return _not_run({"kendall_tau": None, "pval": None}, f"k = {fit.k}: too few studies for a rank test")
    w = 1 / fit.vi
    theta = float(np.sum(w * fit.yi) / np.sum(w))
    vb = 1 / float(np.sum(w))
    yi_star = (fit.yi - theta) / np.sqrt(fit.vi - vb)
    tau, pval = kendall_test(yi_star, fit.vi)
    return {"kendall_tau": tau, "pval": pval}


# ------------------------------------------------------------------------ trim and fill

def _default_control_tau2(yi: np.ndarray, vi: np.ndarray, method: str, s: Studies | None = None) -> float | None:
    """tau2 as rma(yi, vi, method) finds it with metafor's default control (intercept only):
    Hedges start, Fisher scoring (ML, REML) or fixed-point steps (EB) with step halving at 0,
    stop when the change is below 1e-5, the 'stuck at a local maximum' check against tau2 = 0.
    None when metafor would not converge within 100 iterations.

    trimfill() fits without the caller's control list, so its numbers carry this tolerance: the
    stop is on the absolute change of tau2, so a small tau2 can be further off in relative terms
    (dat.michael2013 SMD, REML, L0 on the left: 0.0176256 against 0.0176163 at the exact optimum,
    5.3e-4 relative); matching metafor's trimfill needs the same iterations, which this repeats.
    `s`: the same data as Studies, when the caller goes on to use them (its last projection is kept)."""
    k = len(yi)
    if k == 1:
        return 0.0
    s = Studies.one(yi, vi) if s is None else s
    tau2 = max(0.0, (float(np.sum((yi - yi.mean()) ** 2)) - float(np.sum(vi)) * (1 - 1 / k)) / (k - 1))
    change, it = DEFAULT_THRESHOLD + 1, 0
    while change > DEFAULT_THRESHOLD:
        it += 1
        old = tau2
        proj = s.projection(np.array([tau2]))
        if method == "ML":
            adj = (proj.ppy - proj.w.sum(-1)) / (proj.w**2).sum(-1)
        elif method == "REML":
            adj = (proj.ppy - proj.tr_P()) / proj.tr_PP()
        else:  # EB
            adj = (proj.rss * k / (k - 1) - k) / proj.w.sum(-1)
        adj = float(adj[0]) if math.isfinite(adj[0]) else 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > DEFAULT_MAXITER:
            return None
    if method in ("ML", "REML") and tau2 > DEFAULT_THRESHOLD:
        ll0 = float(loglik(s, np.zeros(1), method == "REML")[0])
        if ll0 - float(loglik(s, np.array([tau2]), method == "REML")[0]) > DEFAULT_TOL:
            tau2 = 0.0
    return max(0.0, tau2)


def _tau2_default_control(yi, vi, method: str, s: Studies | None = None) -> float:
    """tau2 of rma(yi, vi, method) without a control list (exact where metafor is exact)."""
    if len(yi) == 1 or method == "FE":
        return 0.0
    tau2 = _default_control_tau2(yi, vi, method, s) if method in ("ML", "REML", "EB") else None
    if tau2 is None:
        tau2 = float(batch.estimate_tau2(yi[None, :], vi[None, :], method)[0][0])
    return tau2


def _estimate_default_control(yi, vi, method: str) -> float:
    """The pooled estimate of rma(yi, vi, method) without a control list (trimfill's steps)."""
    s = Studies.one(yi, vi)
    if method == "GENQ":  # its coefficients are weighted by a_i = 1/vi whatever tau2
        return float(s.fixed_effect().beta[0])
    return float(s.projection(np.array([_tau2_default_control(yi, vi, method, s)])).beta[0])


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
    estimator: str = "L0"
    se_k0: float = math.nan
    p_k0: float = math.nan
    zval: float = math.nan
    pval: float = math.nan


TRIMFILL_ESTIMATORS = ("L0", "R0", "Q0")
TRIMFILL_SIDES = ("left", "right")


def _filled_model(yi, vi, method: str) -> tuple[float, float, float, float, float, float, float]:
    """(estimate, se, ci_lb, ci_ub, tau2, zval, pval) of rma(yi, vi, method) as trimfill() refits
    it: tau2 with metafor's default control (no control list) and metafor's default z test,
    whatever the test of the original fit. Only the coefficient's part of the fit is formed."""
    tau2 = _tau2_default_control(yi, vi, method)
    weights = (1 / vi)[None] if method == "GENQ" else None  # GENQ weights its coefficients by 1/vi
    c = coefficients(Studies.one(yi, vi), np.array([tau2]), "z", weights)
    return (float(c.beta[0, 0]), float(c.se[0, 0]), float(c.ci_lb[0, 0]), float(c.ci_ub[0, 0]), tau2,
            float(c.stat[0, 0]), float(c.pval[0, 0]))


def _side(fit: MetaFit, sei_fit: SeiRegression | None = None) -> str:
    """metafor: regress yi on sei; a negative slope means studies are missing on the right.
    (metafor fits this with its default tolerance; only the sign of the slope is used.)"""
    return "right" if (_sei_regression(fit) if sei_fit is None else sei_fit).beta[1] < 0 else "left"


def _signed_ranks(yi_sorted: np.ndarray, beta: float) -> np.ndarray:
    """Ranks of |yi - beta| (ties: first come first, R's ties.method = "first") with the sign of yi - beta."""
    centred = yi_sorted - beta
    ranks = np.empty(len(centred))
    ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, len(centred) + 1)
    return np.sign(centred) * ranks


def _var_sr(k: int, k0: float) -> float:
    return (k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0 - 18 * k * k0**2 - 18 * k * k0
            + 6 * k**2 * k0) / 24


def _k0_estimate(estimator: str, signed: np.ndarray) -> tuple[float, float]:
    """(k0 before rounding, its SE) by Duval and Tweedie's L0, R0 or Q0."""
    k = len(signed)
    if estimator == "R0":
        negative = -signed[signed < 0]
        if negative.size == 0:
            raise InputError("trim and fill (R0): no study lies below the centre, so R0 is undefined",
                             hint="use the L0 estimator or the other side")
        k0 = (k - float(np.max(negative))) - 1
        return k0, math.sqrt(2 * max(0.0, k0) + 2)
    Sr = float(np.sum(signed[signed > 0]))
    if estimator == "L0":
        k0 = (4 * Sr - k * (k + 1)) / (2 * k - 1)
        var = _var_sr(k, k0)
        return k0, 4 * math.sqrt(var) / (2 * k - 1) if var >= 0 else math.nan
    radicand = 2 * k**2 - 4 * Sr + 0.25
    if radicand < 0:
        raise InputError("trim and fill (Q0): the rank sum is too large for Q0 (negative square root)",
                         hint="use the L0 or R0 estimator")
    k0 = k - 0.5 - math.sqrt(radicand)
    var, denom = _var_sr(k, k0), (k - 0.5) ** 2 - k0 * (2 * k - k0 - 1)
    return k0, 2 * math.sqrt(var) / math.sqrt(denom) if var >= 0 and denom > 0 else math.nan


def _l0(yi_sorted: np.ndarray, beta: float) -> int:
    return max(0, round(_k0_estimate("L0", _signed_ranks(yi_sorted, beta))[0]))


def trimfill_model(fit: MetaFit, maxiter: int = 100, estimator: str = "L0", side: str | None = None,
                   sei_fit: SeiRegression | None = None) -> TrimFill:
    """Duval and Tweedie's trim and fill, iterated as metafor's trimfill() does: `estimator` L0, R0
    or Q0; `side` of the missing studies given, or chosen from the sign of the slope on sei
    (`sei_fit`: that regression, when fitted already)."""
    _require_small_study_model(fit, "Trim and fill")
    if estimator not in TRIMFILL_ESTIMATORS:
        raise InputError(f"unknown trim-and-fill estimator {estimator!r}", hint="use L0, R0 or Q0")
    if side is not None and side not in TRIMFILL_SIDES:
        raise InputError(f"unknown trim-and-fill side {side!r}", hint="use left or right")
    if fit.k < 3:
        raise InputError(f"trim and fill needs at least 3 studies (k = {fit.k})")
    problem = None if side is not None else _sei_problem(fit)
    if problem:
        raise InputError(f"trim and fill cannot choose the side of the missing studies: {problem}")
    side = side or _side(fit, sei_fit)
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * fit.yi, kind="stable")
    yi, vi = sign * fit.yi[order], fit.vi[order]
    k = len(yi)
    k0, k0_prev, it, se_k0 = 0, -1, 0, math.nan
    beta = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise InputError("trim and fill did not converge", hint="report the funnel plot instead")
        beta = _estimate_default_control(yi[: k - k0], vi[: k - k0], fit.method)
        raw, se_k0 = _k0_estimate(estimator, _signed_ranks(yi, beta))
        k0 = max(0, round(raw))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)  # R: max(0, NaN) is NaN
    p_k0 = 1 - sum(0.5 ** (m + 2) for m in range(-1, k0)) if estimator == "R0" else math.nan
    if k0 == 0:
        return TrimFill(side, 0, fit.estimate, float(fit.se[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0]),
                        float(fit.tau2), np.empty(0), np.empty(0), estimator, se_k0, p_k0,
                        float(fit.stat[0]), float(fit.pval[0]))
    yi_fill = sign * (2 * beta - yi[k - k0:])
    vi_fill = vi[k - k0:]
    est, se, lb, ub, tau2, z, p = _filled_model(np.concatenate([fit.yi, yi_fill]), np.concatenate([fit.vi, vi_fill]),
                                                fit.method)
    return TrimFill(side, k0, est, se, lb, ub, tau2, yi_fill, vi_fill, estimator, se_k0, p_k0, z, p)


def trimfill(fit: MetaFit, estimator: str = "L0", side: str | None = None,
             sei_fit: SeiRegression | None = None) -> dict:
    """metafor's trimfill(fit) summary: side, k0 and the filled model's estimate, se, CI and tau2;
    `filled` holds the imputed studies (yi, vi) for the funnel plot. With a non-default estimator
    or side given, also se_k0, p_k0 (R0), zval and pval."""
    _require_small_study_model(fit, "Trim and fill")
    extra = estimator != "L0" or side is not None
    try:
        tf = trimfill_model(fit, estimator=estimator, side=side, sei_fit=sei_fit)
    except InputError as err:
        empty = {"estimator": estimator, "side": None, "k0": None, "estimate": None, "se": None,
                 "ci_lb": None, "ci_ub": None, "tau2": None}
        if extra:
            empty.update(se_k0=None, p_k0=None, zval=None, pval=None)
        return _not_run(empty, err.problems[0].message)
    out = {"estimator": estimator, "side": tf.side, "k0": tf.k0, "estimate": tf.estimate, "se": tf.se,
           "ci_lb": tf.ci_lb, "ci_ub": tf.ci_ub, "tau2": tf.tau2}
    if extra:
        out.update(se_k0=tf.se_k0, p_k0=tf.p_k0, zval=tf.zval, pval=tf.pval)
    out["filled"] = {"yi": tf.yi_fill.tolist(), "vi": tf.vi_fill.tolist()}  # for the funnel plot
    return out


def filled_studies(fit: MetaFit) -> dict:
    """The imputed studies (for a funnel plot): yi, vi and side."""
    tf = trimfill_model(fit)
    return {"side": tf.side, "yi": tf.yi_fill.tolist(), "vi": tf.vi_fill.tolist()}
