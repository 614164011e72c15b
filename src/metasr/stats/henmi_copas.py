"""Henmi and Copas (2010) confidence interval, as metafor's `hc()`: the common-effect estimate
(robust to publication bias in the weights) with an interval that allows for heterogeneity
(DerSimonian-Laird tau2) by the exact distribution of the t-like statistic, found as the root t0
of  integral_{t0}^inf  P(Q <= f(r / t0)) phi(r) dr = level / 2,  Q approximated by a gamma
distribution with the conditional mean and variance of Henmi and Copas.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special, stats

from metasr.errors import InputError
from metasr.stats.models import MetaFit


def hc(yi, vi, level: float = 0.95) -> dict:
    """{beta, se, ci_lb, ci_ub, tau2, t0}: metafor's names (beta the common-effect estimate)."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    if k < 2:
        raise InputError(f"the Henmi-Copas interval needs at least 2 studies (k = {k})")
    alpha = 1 - level
    wi = 1 / vi
    W1 = float(np.sum(wi))
    W2, W3, W4 = (float(np.sum(wi**j)) / W1 for j in (2, 3, 4))
    beta = float(np.sum(wi * yi)) / W1
    Q = float(np.sum(wi * (yi - beta) ** 2))
    tau2 = max(0.0, (Q - (k - 1)) / (W1 - W2))
    se = math.sqrt((tau2 * W2 + 1) / W1)
    VR = 1 + tau2 * W2
    SDR = math.sqrt(VR)

    def EQ(r):
        return (k - 1) + tau2 * (W1 - W2) + tau2**2 * (r**2 / VR**2 - 1 / VR) * (W3 - W2**2)

    def VQ(r):
        a = r**2 / VR**2 - 1 / VR
        return (2 * (k - 1) + 4 * tau2 * (W1 - W2) + 2 * tau2**2 * (W1 * W2 - 2 * W3 + W2**2)
                + 4 * tau2**2 * a * (W3 - W2**2) + 4 * tau2**3 * a * (W4 - 2 * W2 * W3 + W2**3)
                + 2 * tau2**4 * (1 / VR**2 - 2 * r**2 / VR**3) * (W3 - W2**2) ** 2)

    def finv(f):
        return (W1 / W2 - 1) * (f**2 - 1) + (k - 1)

    def integrand(r, x):
        rr = SDR * r
        e, v = EQ(rr), VQ(rr)
        return special.gammainc(e**2 / v, finv(r / x) / (v / e)) * stats.norm.pdf(r)

    def eqn(x):
        return integrate.quad(integrand, x, np.inf, args=(x,), epsabs=1e-15, epsrel=1e-13, limit=500)[0] - alpha / 2

    t0 = float(optimize.brentq(eqn, 1e-8, 2.0, xtol=1e-14, rtol=1e-14)) if eqn(1e-8) * eqn(2.0) < 0 else math.nan
    u0 = SDR * t0
    return {"beta": beta, "se": se, "ci_lb": beta - u0 * se, "ci_ub": beta + u0 * se, "tau2": tau2, "t0": t0}


def hc_fit(fit: MetaFit) -> dict:
    """hc(fit) for an intercept-only model, with the model's own estimate and CI beside it."""
    if not fit.is_intercept_only:
        raise InputError("the Henmi-Copas method needs a model without moderators")
    out = hc(fit.yi, fit.vi)
    out.update(beta_rma=fit.estimate, se_rma=float(fit.se[0]), ci_lb_rma=float(fit.ci_lb[0]),
               ci_ub_rma=float(fit.ci_ub[0]))
    return out
