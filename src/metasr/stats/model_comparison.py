"""Comparing fitted models: log-likelihoods and information criteria (metafor's `fitstats`),
Wald tests of sets of coefficients (`anova(fit, btt = )`) and likelihood-ratio tests between
nested models (`anova(full, reduced)`).

Log-likelihoods are metafor's: the ML one is the normal log-likelihood of yi given tau2 and the
coefficients; the REML one adds log|X'X| / 2 and subtracts log|X'WX| / 2 with (k - p) in the
constant. The number of parameters is p, plus 1 when tau2 is estimated. Information criteria of
a model fitted by REML use the restricted likelihood and k - p observations, as metafor does.
"""

from __future__ import annotations

import math

import numpy as np

from metasr.errors import InputError
from metasr.stats import distributions as dist
from metasr.stats import inference
from metasr.stats.models import MetaFit, fit_rma
from metasr.stats.tau2 import xtdx

FIT_STATS = ("ll", "dev", "AIC", "BIC", "AICc")


def n_parameters(fit: MetaFit) -> int:
    return fit.p + (0 if fit.method == "FE" or fit.fixed_tau2 else 1)


def loglik(fit: MetaFit, reml: bool) -> float:
    """metafor's ll.ML (reml False) or ll.REML at the fitted tau2 and coefficients."""
    k, p = fit.k, fit.p
    m = fit.vi + fit.tau2
    rss = float(np.sum((fit.yi - fit.X @ fit.beta) ** 2 / m))
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(m))) - 0.5 * rss
    logdet_xx = float(np.linalg.slogdet(fit.X.T @ fit.X)[1])
    logdet_xwx = float(np.linalg.slogdet(xtdx(fit.X, 1 / m))[1])
    return (-0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * logdet_xx - 0.5 * float(np.sum(np.log(m)))
            - 0.5 * logdet_xwx - 0.5 * rss)


def fit_stats(fit: MetaFit) -> dict:
    """{"ML": {ll, dev, AIC, BIC, AICc}, "REML": {...}} as metafor's fit.stats."""
    k, p, q = fit.k, fit.p, n_parameters(fit)
    out = {}
    for name, reml in (("ML", False), ("REML", True)):
        ll = loglik(fit, reml)
        n = k - p if reml else k
        if reml:
            dev = -2 * ll
        elif k > p:
            dev = -2 * (ll - float(np.sum(-0.5 * np.log(2 * math.pi * fit.vi))))
        else:
            dev = 0.0
        big = max(n, q + 2)
        out[name] = {"ll": ll, "dev": dev, "AIC": -2 * ll + 2 * q, "BIC": -2 * ll + q * math.log(n),
                     "AICc": -2 * ll + 2 * q * big / (big - q - 1)}
    return out


def information_criteria(fit: MetaFit) -> dict:
    """The fit statistics of the fit's own likelihood (REML for REML fits, ML otherwise)."""
    return fit_stats(fit)["REML" if fit.method == "REML" else "ML"]
