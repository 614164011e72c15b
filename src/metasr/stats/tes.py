"""The test of excess significance (Ioannidis and Trikalinos 2007), as metafor's `tes()`.

O (`observed` in the code) is the number of studies significant at `alpha` (two-sided, or one-sided with `alternative`)
against H0; E is the sum of their powers to be significant when the true effect is `theta` (the
fitted estimate or fitted values of the model; with tau2 > 0 each power is averaged over
N(theta, tau2) on theta +/- 5 tau, as metafor integrates it). The excess O > E is tested with a
chi-square test of one proportion (O of k against E / k, no continuity correction), a binomial
test, or the exact test on the Poisson-binomial distribution of the number of significant
studies; metafor's default is the exact test when the number of outcomes it would enumerate,
sum(choose(k, j)) over the tail, is at most 1e6, the chi-square test otherwise. `theta_lim` is the
theta at which the test's p equals `tes_alpha` (a bound for two-sided tes alternatives).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special, stats

from metasr.errors import InputError
from metasr.stats import distributions as dist
from metasr.stats.models import MetaFit

EXACT_MAX_OUTCOMES = 1e6
ALTERNATIVES = ("two.sided", "greater", "less")
TESTS = ("chi2", "binom", "exact")


def _crit(alternative: str, alpha: float) -> float:
    if alternative == "two.sided":
        return float(dist.norm_isf(alpha / 2))
    return float(dist.norm_isf(alpha)) if alternative == "greater" else -float(dist.norm_isf(alpha))


def _power_at(x, sei, H0, alternative, crit):
    m = (x - H0) / sei
    if alternative == "two.sided":
        return special.ndtr(m - crit) + special.ndtr(-crit - m)
    if alternative == "greater":
        return special.ndtr(m - crit)
    return special.ndtr(crit - m)


def powers(vi, theta, tau2, H0=0.0, alternative="two.sided", alpha=0.05) -> np.ndarray:
    """Each study's power to be significant when its true effect is theta (+ N(0, tau2))."""
    sei = np.sqrt(np.asarray(vi, float))
    theta = np.broadcast_to(np.asarray(theta, float), sei.shape)
    crit = _crit(alternative, alpha)
    if tau2 is None or tau2 <= 0:
        return _power_at(theta, sei, H0, alternative, crit)
    tau = math.sqrt(tau2)

    def f(u):  # x = theta + u tau on u in [-5, 5], all studies at once
        x = theta + u * tau
        return _power_at(x, sei, H0, alternative, crit) * math.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)

    return integrate.quad_vec(f, -5.0, 5.0, epsabs=0, epsrel=1e-13, limit=2000)[0]


def _significant(yi, vi, H0, alternative, alpha) -> np.ndarray:
    zi = (np.asarray(yi, float) - H0) / np.sqrt(np.asarray(vi, float))
    crit = _crit(alternative, alpha)
    if alternative == "two.sided":
        return np.abs(zi) >= crit
    return zi >= crit if alternative == "greater" else zi <= crit


def _tail(k: int, observed: int, tes_alternative: str) -> range:
    if tes_alternative == "greater":
        return range(observed, k + 1)
    if tes_alternative == "less":
        return range(0, observed + 1)
    return range(0, k + 1)


def default_test(k: int, observed: int, tes_alternative: str) -> str:
    outcomes = sum(math.comb(k, j) for j in _tail(k, observed, tes_alternative))
    return "exact" if outcomes <= EXACT_MAX_OUTCOMES else "chi2"


def poisson_binomial(pow_) -> np.ndarray:
    """P(number of significant studies = j), j = 0..k, for independent studies with powers pow_."""
    pmf = np.ones(1)
    for p in pow_:
        pmf = np.concatenate([pmf * (1 - p), [0.0]]) + np.concatenate([[0.0], pmf * p])
    return pmf


def _binom_two_sided(observed: int, k: int, p: float) -> float:
    """R's binom.test two-sided p: outcomes no more likely than observed (relative tolerance 1e-7)."""
    d = stats.binom.pmf(np.arange(k + 1), k, p)
    return float(min(1.0, np.sum(d[d <= d[observed] * (1 + 1e-7)])))


def _pval(observed, E, k, pow_, test, tes_alternative) -> tuple[float, float | None]:
    if test == "chi2":
        p0 = E / k
        x2 = (observed - E) ** 2 / (k * p0 * (1 - p0))
        if tes_alternative == "two.sided":
            return float(dist.chi2_sf(x2, 1)), float(x2)
        z = math.copysign(math.sqrt(x2), observed / k - p0)
        return float(special.ndtr(-z) if tes_alternative == "greater" else special.ndtr(z)), float(x2)
    if test == "binom":
        p0 = E / k
        if tes_alternative == "greater":
            return float(stats.binom.sf(observed - 1, k, p0)), None
        if tes_alternative == "less":
            return float(stats.binom.cdf(observed, k, p0)), None
        return _binom_two_sided(observed, k, p0), None
    prj = poisson_binomial(pow_)
    if tes_alternative == "greater":
        p = float(np.sum(prj[observed:]))
    elif tes_alternative == "less":
        p = float(np.sum(prj[: observed + 1]))
    else:
        p = float(np.sum(prj[prj <= prj[observed] + math.sqrt(np.finfo(float).eps)]))
    return min(p, 1.0), None


def tes(yi, vi, theta, tau2=None, H0=0.0, alternative="two.sided", alpha=0.05, test=None,
        tes_alternative="greater", tes_alpha=0.10, find_lim=True) -> dict:
    """metafor's tes(): k, observed, E, OEratio, test, stat (X2, chi2 test only), pval, power, sig, theta,
    theta_lim."""
    if alternative not in ALTERNATIVES or tes_alternative not in ALTERNATIVES:
        raise InputError("alternative and tes_alternative are two.sided, greater or less")
    if test is not None and test not in TESTS:
        raise InputError(f"unknown excess-significance test {test!r}", hint="use chi2, binom or exact")
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    pow_ = powers(vi, theta, tau2, H0, alternative, alpha)
    sig = _significant(yi, vi, H0, alternative, alpha)
    E, observed = float(np.sum(pow_)), int(np.sum(sig))
    test = test or default_test(k, observed, tes_alternative)
    pval, stat = _pval(observed, E, k, pow_, test, tes_alternative)
    single = np.ndim(theta) == 0 or len(set(np.atleast_1d(theta).tolist())) == 1
    theta_lim = None
    if find_lim and np.ndim(theta) == 0:
        theta_lim = _theta_lim(yi, vi, float(theta), tau2, H0, alternative, alpha, test, tes_alternative, tes_alpha)
    return {"k": k, "O": observed, "E": E, "OEratio": observed / E if E > 0 else math.inf, "test": test, "stat": stat,
            "pval": pval, "power": pow_.tolist(), "sig": sig.tolist(),
            "theta": float(theta) if np.ndim(theta) == 0 else (np.asarray(theta).tolist() if not single else
                                                              float(np.atleast_1d(theta)[0])),
            "theta_lim": theta_lim}


def _theta_lim(yi, vi, theta1, tau2, H0, alternative, alpha, test, tes_alternative, tes_alpha):
    if tes_alternative == "two.sided":
        lb = _theta_lim(yi, vi, theta1, tau2, H0, alternative, alpha, test, "greater", tes_alpha / 2)
        ub = _theta_lim(yi, vi, theta1, tau2, H0, alternative, alpha, test, "less", tes_alpha / 2)
        return [lb, ub]

    def diff(t):
        found = tes(yi, vi, t, tau2, H0, alternative, alpha, test, tes_alternative, tes_alpha, find_lim=False)
        return found["pval"] - tes_alpha

    d0 = diff(H0)
    if (tes_alternative == "greater" and d0 >= 0) or (tes_alternative == "less" and d0 <= 0):
        return None
    a, b = sorted((H0, theta1))
    width = max(b - a, 1e-3)
    for _ in range(60):  # widen away from H0 until the sign changes (metafor: uniroot's extendInt)
        if np.sign(diff(a)) != np.sign(diff(b)):
            break
        if theta1 >= H0:
            b += width
        else:
            a -= width
        width *= 2
    else:
        return None
    return float(optimize.brentq(diff, a, b, xtol=1e-12, rtol=1e-12))


def tes_fit(fit: MetaFit, **options) -> dict:
    """tes() of a fitted model: theta is its estimate (or fitted values), tau2 its tau2."""
    theta = fit.estimate if fit.is_intercept_only else fit.X @ fit.beta
    return tes(fit.yi, fit.vi, theta, fit.tau2, **options)
