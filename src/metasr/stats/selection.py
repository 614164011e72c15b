"""Selection models for publication bias (metafor's `selmodel`), fitted by maximum likelihood.

A study's chance of being published depends on its p-value p_i (one-sided `greater` by default,
`less`, or `two.sided`) through a weight function w(p); the density of an observed yi is
w(p_i) N(yi; x_i'beta, vi + tau2) / A_i with A_i the mean of w over the sampling distribution.

- `stepfun` (Vevea and Hedges 1995): w(p) = delta_j for p in (s_{j-1}, s_j], with steps
  0 < s_1 < ... < s_m = 1 (1 is added when missing) and delta_1 = 1; the other delta_j in [0, 100].
  A_i is a sum of normal probabilities.
- `beta` (Citkowicz and Vevea 2017): w(p) = p^(delta_1 - 1) (1 - p)^(delta_2 - 1), p clamped to
  [1e-5, 1 - 1e-5], delta in [1e-5, 100]; A_i is an integral, split where the clamp starts and
  computed with adaptive quadrature at 1e-12 relative tolerance. metafor's selmodel(type =
  "beta") integrates with integrate()'s defaults (rel.tol 1.2e-4, 100 subdivisions), which moves
  its numerical Hessian: its SEs can differ by several percent (dat.dorn2007, RR by ML: se(beta)
  0.5751 by default, 0.5524 here). With control = list(intCtrl = list(rel.tol = 1e-12,
  subdivisions = 2000L)) metafor gives metasr's estimates and SEs (0.55237); the estimates agree
  either way (~1e-4).

The log-likelihood is maximised over beta, tau2 (log scale; 0 for common-effect fits) and the free
deltas (logit-mapped onto their bounds), metafor's parametrisation and starting values (the fit's
beta, log(tau2 + 0.001), delta = 1), by BFGS, restarted from its end point until the log-likelihood
stops improving, then polished in the natural parameters within their bounds (Powell), so that a
maximum on a bound (tau2 = 0, delta = 100) is reached rather than approached. Standard errors come
from the inverse of the numerical Hessian of the negative log-likelihood in the natural parameters
(Richardson extrapolation, as numDeriv::hessian). A fit by another tau2 method is first refitted by
ML (as metafor does). The LRT for selection compares the maximised log-likelihood with that ML
fit's (df = the number of free deltas); LRT_tau2 compares with the selection model at tau2 = 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from metasr.errors import InputError
from metasr.stats import distributions as dist
from metasr.stats.inference import z_critical
from metasr.stats.model_comparison import loglik
from metasr.stats.models import MetaFit

TYPES = ("stepfun", "beta")
ALTERNATIVES = ("greater", "less", "two.sided")
DEFAULT_STEPS = (0.025,)
BETA_PVAL_MIN = 1e-5
TAU2_ZERO = 10 * np.finfo(float).eps


def pvalues(yi, vi, alternative: str) -> np.ndarray:
    z = np.asarray(yi, float) / np.sqrt(np.asarray(vi, float))
    if alternative == "two.sided":
        return 2 * special.ndtr(-np.abs(z))
    return special.ndtr(-z) if alternative == "greater" else special.ndtr(z)


class _Model:
    """The log-likelihood of one selection model for one data set."""

    def __init__(self, fit: MetaFit, type: str, steps, alternative: str):
        self.yi, self.vi, self.X = fit.yi, fit.vi, fit.X
        self.sei = np.sqrt(self.vi)
        self.type, self.alternative = type, alternative
        self.p = fit.X.shape[1]
        self.estimate_tau2 = fit.method != "FE" and not fit.fixed_tau2
        self.tau2_fixed = 0.0 if fit.method == "FE" else fit.tau2
        pv = pvalues(self.yi, self.vi, alternative)
        if type == "stepfun":
            self.steps = np.asarray(steps, float)
            self.pgrp = np.array([int(np.flatnonzero(p <= self.steps)[0]) for p in pv])
            self.n_delta = len(self.steps)
            self.free = np.arange(1, self.n_delta)          # delta_1 = 1
            self.delta_min, self.delta_max = np.zeros(self.n_delta), np.full(self.n_delta, 100.0)
            self.cuts = self._step_cuts()
        else:
            self.pv = np.clip(pv, BETA_PVAL_MIN, 1 - BETA_PVAL_MIN)
            self.n_delta = 2
            self.free = np.arange(2)
            self.delta_min, self.delta_max = np.full(2, 1e-5), np.full(2, 100.0)

    # ---- parameters: natural (beta, tau2, delta) and metafor's transformed ones
    def natural(self, theta):
        """(beta, tau2, delta) from the optimiser's theta = (beta, log tau2 if estimated, logit deltas)."""
        p = self.p
        beta = theta[:p]
        tau2 = math.exp(theta[p]) if self.estimate_tau2 else self.tau2_fixed
        delta = np.ones(self.n_delta)
        lo, hi = self.delta_min[self.free], self.delta_max[self.free]
        delta[self.free] = lo + (hi - lo) * special.expit(theta[p + int(self.estimate_tau2):])
        return beta, tau2, delta

    # ---- A_i
    def _step_cuts(self):
        """For each study and step, the yi cut-offs whose p-value equals the step."""
        s = self.steps[None, :]
        sd = self.sei[:, None]
        if self.alternative == "greater":
            return sd * dist.norm_isf(s)
        if self.alternative == "less":
            return -sd * dist.norm_isf(s)
        return sd * dist.norm_isf(s / 2)

    def _step_probs(self, yhat, tau2):
        """P(p_i <= s_j) under N(yhat, vi + tau2), j = 1..m."""
        sd = np.sqrt(self.vi + tau2)[:, None]
        m = yhat[:, None]
        c = self.cuts
        with np.errstate(invalid="ignore"):
            if self.alternative == "greater":
                P = special.ndtr((m - c) / sd)
            elif self.alternative == "less":
                P = special.ndtr((c - m) / sd)
            else:
                P = special.ndtr((m - c) / sd) + special.ndtr((-c - m) / sd)
        P[:, -1] = 1.0  # s_m = 1: every p-value
        return P

    def _A_step(self, yhat, tau2, delta):
        P = self._step_probs(yhat, tau2)
        mass = np.diff(np.concatenate([np.zeros((len(yhat), 1)), P], axis=1), axis=1)
        return mass @ delta

    def _w_beta(self, p, delta):
        p = np.clip(p, BETA_PVAL_MIN, 1 - BETA_PVAL_MIN)
        return p ** (delta[0] - 1) * (1 - p) ** (delta[1] - 1)

    def _A_beta(self, yhat, tau2, delta):
        """Mean of w(p(y)) under N(yhat, vi + tau2) for every study: constant weights where p is
        clamped (normal tail probabilities), adaptive vector quadrature on the standardised
        y / sqrt(vi) in between (one subdivision shared by all studies)."""
        alt, se = self.alternative, self.sei
        sd = np.sqrt(self.vi + tau2)
        w_lo, w_hi = (float(self._w_beta(np.array([p]), delta)[0]) for p in (0.0, 1.0))
        z = float(dist.norm_isf(BETA_PVAL_MIN / (2 if alt == "two.sided" else 1)))
        upper, lower = (z * se - yhat) / sd, (-z * se - yhat) / sd  # standardised clamp limits
        if alt == "two.sided":
            tails = w_lo * (special.ndtr(-upper) + special.ndtr(lower))
            pieces = [(-z, 0.0), (0.0, z)]
        else:
            w_up, w_down = (w_lo, w_hi) if alt == "greater" else (w_hi, w_lo)
            tails = w_up * special.ndtr(-upper) + w_down * special.ndtr(lower)
            pieces = [(-z, z)]

        def f(u):
            y = u * se
            w = self._w_beta(pvalues(y, self.vi, alt), delta)
            return w * np.exp(-0.5 * ((y - yhat) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) * se

        from scipy import integrate  # only the beta model integrates (0.12 s to import for every outcome job)

        total = tails.copy()
        for a, b in pieces:
            total += integrate.quad_vec(f, a, b, epsabs=0, epsrel=1e-12, limit=2000)[0]
        return total

    # ---- log-likelihood
    def loglik_natural(self, beta, tau2, delta) -> float:
        if tau2 < TAU2_ZERO:
            tau2 = 0.0
        yhat = self.X @ beta
        s2 = self.vi + tau2
        lnorm = -0.5 * np.log(2 * np.pi * s2) - 0.5 * (self.yi - yhat) ** 2 / s2
        if self.type == "stepfun":
            A = self._A_step(yhat, tau2, delta)
            lw = np.log(delta[self.pgrp])
        else:
            A = self._A_beta(yhat, tau2, delta)
            lw = np.log(self._w_beta(self.pv, delta))
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(lw + lnorm - np.log(A)))

    def negll(self, theta) -> float:
        ll = self.loglik_natural(*self.natural(theta))
        return -ll if math.isfinite(ll) else 1e300


def _maximise(model: _Model, start) -> np.ndarray:
    """BFGS in metafor's transformed parameters, restarted from its end point until the
    log-likelihood stops improving."""
    theta, best = np.asarray(start, float), math.inf
    for _ in range(20):
        res = optimize.minimize(model.negll, theta, method="BFGS", options={"gtol": 1e-9, "maxiter": 10000})
        if res.fun >= best - 1e-12 * max(1.0, abs(best)):
            if res.fun < best:
                theta, best = res.x, res.fun
            break
        theta, best = res.x, res.fun
    return theta


def _polish(model: _Model, beta, tau2, delta):
    """Refine the maximum in the natural parameters with their bounds (tau2 >= 0, delta within
    [delta_min, delta_max]) by Powell's derivative-free search; the logit map flattens the
    likelihood near a bound, where BFGS in the transformed parameters stops short. Returns the
    better of the two points."""
    p, free, est_tau2 = model.p, model.free, model.estimate_tau2

    def unpack(x):
        d = delta.copy()
        d[free] = x[p + int(est_tau2):]
        return x[:p], (x[p] if est_tau2 else model.tau2_fixed), d

    def f(x):
        ll = model.loglik_natural(*unpack(x))
        return -ll if math.isfinite(ll) else 1e300

    x0 = np.concatenate([beta, [tau2] if est_tau2 else [], delta[free]])
    bounds = ([(None, None)] * p + ([(0.0, None)] if est_tau2 else [])
              + [(model.delta_min[j], model.delta_max[j]) for j in free])
    res = optimize.minimize(f, x0, method="Powell", bounds=bounds,
                            options={"xtol": 1e-10, "ftol": 1e-15, "maxiter": 20000})
    if res.fun < f(x0):
        return unpack(res.x)
    return beta, tau2, delta


def hessian(f, x, d: float = 1e-2, eps: float = 1e-4, r: int = 4, v: float = 2.0) -> np.ndarray:
    """Second derivatives by central differences with Richardson extrapolation over r step sizes
    (h = d |x_i|, or eps where x_i is ~0, halved each time), the scheme of numDeriv::hessian. The
    first step is 1% of |x_i| (numDeriv: 0.01%): smaller steps lose digits to rounding, and this
    choice reproduces metafor's standard errors to ~1e-8."""
    x = np.asarray(x, float)
    n = len(x)
    zero_tol = math.sqrt(np.finfo(float).eps / 7e-7)
    h0 = np.where(np.abs(x) < zero_tol, eps, d * np.abs(x))
    f0 = f(x)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            estimates = []
            for m in range(r):
                h = h0 / v**m
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                if i == j:
                    estimates.append((f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2)
                else:
                    estimates.append((f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej))
                                     / (4 * h[i] * h[j]))
            est = np.array(estimates)
            for m in range(1, r):  # Richardson: eliminate h^2, h^4, ...
                est = (est[1:] * 4**m - est[:-1]) / (4**m - 1)
            H[i, j] = H[j, i] = est[0]
    return H


def _check(fit: MetaFit, type: str, steps, alternative: str):
    if type not in TYPES:
        raise InputError(f"unknown selection model {type!r}", hint="use stepfun or beta")
    if alternative not in ALTERNATIVES:
        raise InputError(f"unknown alternative {alternative!r}", hint="use greater, less or two.sided")
    if type == "stepfun":
        steps = sorted(set(float(s) for s in (steps or DEFAULT_STEPS)))
        if any(not 0 < s <= 1 for s in steps):
            raise InputError("selection-model steps must lie in (0, 1]", hint="for example --steps 0.025")
        if steps[-1] != 1:
            steps.append(1.0)
    return steps


def selmodel(fit: MetaFit, type: str = "stepfun", steps=None, alternative: str = "greater",
             level: float = 0.95) -> dict:
    """metafor's selmodel(fit, type, steps, alternative): beta, se, zval, pval, ci_lb, ci_ub, tau2,
    se_tau2, ci_lb_tau2, ci_ub_tau2, delta (and se_delta, zval_delta for H0 delta = 1, pval_delta,
    ci_lb_delta, ci_ub_delta), ll, ll0, LRT, LRTdf, LRTp, LRT_tau2, LRTp_tau2, k_per_interval
    (stepfun), fit_stats (ML: ll, dev, AIC, BIC, AICc), converged."""
    steps = _check(fit, type, steps, alternative)
    if fit.method not in ("FE", "ML"):  # metafor refits the input model by ML first
        from metasr.stats.models import fit_rma

        fit = fit_rma(fit.yi, fit.vi, method="ML", test=fit.test, X=fit.X, coef_names=fit.coef_names,
                      weights=fit.a, tau2=fit.tau2 if fit.fixed_tau2 else None)
    model = _Model(fit, type, steps, alternative)
    counts = np.bincount(model.pgrp, minlength=model.n_delta).tolist() if type == "stepfun" else None
    if counts is not None and min(counts[j] for j in model.free) == 0:  # delta_1 is fixed: may be empty
        raise InputError("one or more p-value intervals of the step function hold no study",
                         hint=f"studies per interval: {counts}; choose other --steps")
    n_par = fit.p + int(model.estimate_tau2) + len(model.free)
    if fit.k < n_par:
        raise InputError(f"k = {fit.k} is too small for a selection model with {n_par} parameters")
    start = np.concatenate([fit.beta, [math.log(fit.tau2 + 0.001)] if model.estimate_tau2 else [],
                            special.logit((1 - model.delta_min[model.free])
                                          / (model.delta_max[model.free] - model.delta_min[model.free]))])
    theta = _maximise(model, start)
    beta, tau2, delta = _polish(model, *model.natural(theta))
    if tau2 < TAU2_ZERO:
        tau2 = 0.0
    ll = model.loglik_natural(beta, tau2, delta)
    out = _inference(model, fit, beta, tau2, delta, level)
    ll0 = loglik(fit, reml=False)
    LRT = max(0.0, -2 * (ll0 - ll))
    LRTdf = len(model.free)
    out.update(ll=ll, ll0=ll0, LRT=LRT, LRTdf=LRTdf, LRTp=float(dist.chi2_sf(LRT, LRTdf)),
               LRT_tau2=None, LRTp_tau2=None, k_per_interval=counts, steps=steps if type == "stepfun" else None,
               type=type, alternative=alternative)
    if model.estimate_tau2:
        ll_tau0 = _fit_at_tau2_zero(fit, type, steps, alternative, beta, delta)
        LRT_tau2 = max(0.0, -2 * (ll_tau0 - ll))
        out.update(LRT_tau2=LRT_tau2, LRTp_tau2=float(dist.chi2_sf(LRT_tau2, 1)))
    big = max(fit.k, n_par + 2)
    out["fit_stats"] = {"ll": ll, "dev": -2 * ll, "AIC": -2 * ll + 2 * n_par, "BIC": -2 * ll + n_par * math.log(fit.k),
                        "AICc": -2 * ll + 2 * n_par * big / (big - n_par - 1)}
    # a delta at (or within 0.1% of) a bound is not identified by the data: its SE means nothing
    span = model.delta_max[model.free] - model.delta_min[model.free]
    out["delta_at_bound"] = bool(np.any(delta[model.free] <= model.delta_min[model.free] + 1e-3 * span)
                                 or np.any(delta[model.free] >= model.delta_max[model.free] - 1e-3 * span))
    return out


def _fit_at_tau2_zero(fit, type, steps, alternative, beta, delta) -> float:
    from dataclasses import replace

    fe = replace(fit, method="FE", tau2=0.0)
    model = _Model(fe, type, steps, alternative)
    lo, hi = model.delta_min[model.free], model.delta_max[model.free]
    start = np.concatenate([fit.beta, special.logit((1 - lo) / (hi - lo))])
    theta = _maximise(model, start)
    return model.loglik_natural(*model.natural(theta))


def _inference(model: _Model, fit: MetaFit, beta, tau2, delta, level) -> dict:
    p, free = model.p, model.free

    def negll_natural(x):
        b = x[:p]
        t2 = x[p] if model.estimate_tau2 else model.tau2_fixed
        d = delta.copy()
        d[free] = x[p + int(model.estimate_tau2):]
        return -model.loglik_natural(b, t2, d)

    x0 = np.concatenate([beta, [tau2] if model.estimate_tau2 else [], delta[free]])
    H = hessian(negll_natural, x0)
    try:
        cov = np.linalg.inv(H)
        if np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full_like(H, np.nan)
    crit = z_critical(level)
    vb = cov[:p, :p]
    se = np.sqrt(np.diag(vb))
    z = beta / se
    se_tau2 = math.sqrt(cov[p, p]) if model.estimate_tau2 else None
    vd = cov[p + int(model.estimate_tau2):, p + int(model.estimate_tau2):]
    se_delta = np.full(model.n_delta, np.nan)
    se_delta[free] = np.sqrt(np.diag(vd))
    z_delta = (delta - 1) / se_delta
    lb_delta = np.maximum(delta - crit * se_delta, 0.0)
    ub_delta = delta + crit * se_delta
    out = {"beta": beta.tolist(), "se": se.tolist(), "zval": z.tolist(),
           "pval": (2 * special.ndtr(-np.abs(z))).tolist(), "ci_lb": (beta - crit * se).tolist(),
           "ci_ub": (beta + crit * se).tolist(), "vb": vb.tolist(), "tau2": tau2, "se_tau2": se_tau2,
           "ci_lb_tau2": None if se_tau2 is None else max(0.0, tau2 - crit * se_tau2),
           "ci_ub_tau2": None if se_tau2 is None else tau2 + crit * se_tau2,
           "delta": delta.tolist(), "se_delta": se_delta.tolist(), "zval_delta": z_delta.tolist(),
           "pval_delta": (2 * special.ndtr(-np.abs(z_delta))).tolist(),
           "ci_lb_delta": lb_delta.tolist(), "ci_ub_delta": ub_delta.tolist(), "coef_names": fit.coef_names}
    return out
