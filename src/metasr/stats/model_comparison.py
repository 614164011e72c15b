"""Comparing fitted models: log-likelihoods and information criteria (metafor's `fitstats`),
Wald tests of sets of coefficients (`anova(fit, btt = )`), likelihood-ratio tests between
nested models (`anova(full, reduced)`), and CIs for tau2 by profile likelihood
(`confint(type = "PL")`) and by the generalised Q statistic (`confint(type = "GENQ")`).

Log-likelihoods are metafor's: the ML one is the normal log-likelihood of yi given tau2 and the
coefficients; the REML one adds log|X'X| / 2 and subtracts log|X'WX| / 2 with (k - p) in the
constant. The number of parameters is p, plus 1 when tau2 is estimated. Information criteria of
a model fitted by REML use the restricted likelihood and k - p observations, as metafor does.
"""

from __future__ import annotations

import math
import re
from typing import Protocol

import numpy as np
from scipy import integrate, optimize

from metasr.errors import InputError
from metasr.stats import distributions as dist, inference
from metasr.stats.models import MetaFit, fit_rma
from metasr.stats.wls import xtdx


class CoefficientFit(Protocol):
    """What a Wald test of coefficients reads of a fit: a MetaFit, or a three-level fit
    (metasr.stats.multilevel.MultilevelFit), which this module does not import."""

    @property
    def beta(self) -> np.ndarray: ...
    @property
    def vb(self) -> np.ndarray: ...
    @property
    def coef_names(self) -> list[str]: ...
    @property
    def test(self) -> str: ...
    @property
    def k(self) -> int: ...
    @property
    def p(self) -> int: ...


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


# ------------------------------------------------------------------------ Wald tests of coefficients

def wald_test(fit: CoefficientFit, btt) -> dict:
    """anova(fit, btt = ): the omnibus test that the coefficients `btt` (metafor's 1-based
    positions, or coefficient names) are all 0; chi-square (z tests) or F (t-type tests, k - p
    df) as the fit's test. `btt` in the result is 1-based, as metafor prints it. A name that is no
    coefficient's takes, as metafor's btt = "name" (its grep), every coefficient whose name it
    matches (the levels of a factor): `btt_matched` says which. A three-level fit
    (metasr.stats.multilevel) is tested as rma.mv's anova(fit, btt = )."""
    idx, matched = _coef_indices(fit, btt)
    QM, QMdf, QMp = inference.omnibus(fit.beta, fit.vb, idx, fit.test, fit.k - fit.p)
    out = {"btt": [j + 1 for j in idx], "coef_names": [fit.coef_names[j] for j in idx], "QM": QM, "QMdf": QMdf,
           "QMp": QMp}
    return {**out, "btt_matched": matched} if matched else out


def index_or_name(b):
    """A --btt entry: a 1-based coefficient position, or a coefficient's name."""
    text = str(b).strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _coef_indices(fit: CoefficientFit, btt) -> tuple[list[int], dict[str, list[str]]]:
    """(0-based indices of `btt`, {pattern: the names it matched} for names taken as metafor's grep)."""
    idx: list[int] = []
    matched: dict[str, list[str]] = {}
    for b in (btt if isinstance(btt, (list, tuple)) else [btt]):
        if isinstance(b, str):
            found = [fit.coef_names.index(b)] if b in fit.coef_names else _grep(b, fit.coef_names)
            if b not in fit.coef_names:
                matched[b] = [fit.coef_names[j] for j in found]
            idx += found
        else:
            if not 1 <= int(b) <= fit.p:
                raise InputError(f"coefficient position {b} is outside 1..{fit.p}",
                                 hint=f"coefficients: {', '.join(fit.coef_names)}")
            idx.append(int(b) - 1)
    return sorted(set(idx)), matched


def _grep(pattern: str, names: list[str]) -> list[int]:
    """The coefficients whose names the regular expression matches anywhere (R's grep, which
    metafor's btt = "name" uses); InputError when none does."""
    try:
        found = [j for j, name in enumerate(names) if re.search(pattern, name)]
    except re.error as err:
        raise InputError(f"--btt {pattern!r} is neither a coefficient's name nor a valid pattern ({err})",
                         hint=f"coefficients: {', '.join(names)}") from None
    if not found:
        raise InputError(f"no coefficient named {pattern!r}, nor one whose name contains it",
                         hint=f"coefficients: {', '.join(names)}")
    return found


# ------------------------------------------------------------------------ likelihood-ratio tests

def lrt(full: MetaFit, reduced: MetaFit, refit: bool = True) -> dict:
    """anova(full, reduced): the likelihood-ratio test between nested models. REML likelihoods are
    comparable only with the same fixed effects; otherwise (refit = True) both models are refitted
    by ML, as metafor's anova(..., refit = TRUE). Keys: LRT, df, pval, parms_full, parms_reduced,
    fit_stats_full, fit_stats_reduced (ll, dev, AIC, BIC, AICc), QE_*, tau2_*, R2, method."""
    if n_parameters(full) < n_parameters(reduced):
        full, reduced = reduced, full
    if n_parameters(full) == n_parameters(reduced):
        raise InputError("the models have the same number of parameters: a likelihood-ratio test is not meaningful")
    if full.k != reduced.k or not np.allclose(full.yi, reduced.yi):
        raise InputError("the models are not fitted to the same studies")
    same_fixed = full.X.shape == reduced.X.shape and np.allclose(full.X, reduced.X)
    if "REML" in (full.method, reduced.method) and not same_fixed:
        if not refit:
            raise InputError("REML likelihoods of models with different moderators are not comparable",
                             hint="refit both models by ML")
        full, reduced = (_refit_ml(m) for m in (full, reduced))
    use = "REML" if full.method == "REML" else "ML"
    fs_full, fs_red = fit_stats(full)[use], fit_stats(reduced)[use]
    LRT = max(0.0, fs_red["dev"] - fs_full["dev"])
    df = n_parameters(full) - n_parameters(reduced)
    random = full.method != "FE"
    R2 = None
    if random:
        R2 = 0.0 if reduced.tau2 == 0 else 100 * max(0.0, (reduced.tau2 - full.tau2) / reduced.tau2)
    return {"LRT": LRT, "df": df, "pval": float(dist.chi2_sf(LRT, df)), "parms_full": n_parameters(full),
            "parms_reduced": n_parameters(reduced), "fit_stats_full": fs_full, "fit_stats_reduced": fs_red,
            "QE_full": full.Q, "QE_reduced": reduced.Q, "tau2_full": full.tau2 if random else None,
            "tau2_reduced": reduced.tau2 if random else None, "R2": R2, "method": full.method}


def _refit_ml(fit: MetaFit) -> MetaFit:
    if fit.method != "REML":
        return fit
    return fit_rma(fit.yi, fit.vi, method="ML", test=fit.test, X=fit.X, coef_names=fit.coef_names, weights=fit.a)


# ------------------------------------------------------------------------ CIs for tau2

def profile_ci_tau2(fit: MetaFit, level: float = 0.95) -> dict:
    """confint(fit, type = "PL"): the tau2 values where the (restricted) likelihood ratio statistic
    against the fitted tau2 equals qchisq(level, 1), searched on [0, max(100, 10 tau2)] (metafor's
    interval); a bound at an end of it is reported with `lb_sign`/`ub_sign` ("<" at 0 only when
    the profile never crosses there, ">" at the upper end)."""
    if fit.method not in ("ML", "REML"):
        raise InputError("profile-likelihood CIs need a model fitted by ML or REML")
    reml = fit.method == "REML"
    crit = float(dist.chi2_ppf(level, 1))
    ll_hat = loglik(fit, reml)
    hi = float(inference.tau2_search_end(fit.tau2))

    def f(t):
        at = fit_rma(fit.yi, fit.vi, method=fit.method, test=fit.test, X=fit.X, tau2=t, weights=fit.a)
        return -2 * (loglik(at, reml) - ll_hat) - crit

    lb = 0.0 if f(0.0) < 0 else float(optimize.brentq(f, 0.0, fit.tau2, xtol=1e-14, rtol=1e-14))
    if f(hi) < 0:
        ub, ub_sign = hi, ">"
    else:
        ub, ub_sign = float(optimize.brentq(f, fit.tau2, hi, xtol=1e-14, rtol=1e-14)), ""
    return {"tau2_ci": [lb, ub], "ub_sign": ub_sign, "type": "PL"}


def _q_sf(q: float, lam: np.ndarray) -> float:
    """P(sum lam_j chi2_1 > q) by Imhof's (1961) integral."""
    scale = float(np.max(np.abs(lam)))
    lam, q = lam[np.abs(lam) > 1e-14 * scale] / scale, q / scale  # scale-free: P(Q > q) is unchanged
    if len(lam) == 1 and lam[0] > 0:  # one chi-square(1): exact, where Imhof's integrand decays slowest
        return float(dist.chi2_sf(q / lam[0], 1))

    def integrand(u):
        if u == 0:
            return 0.5 * (np.sum(lam) - q)
        theta = 0.5 * np.sum(np.arctan(lam * u)) - 0.5 * q * u
        rho = np.exp(0.25 * np.sum(np.log1p((lam * u) ** 2)))
        return math.sin(theta) / (u * rho)

    val = integrate.quad(integrand, 0, np.inf, epsabs=1e-14, epsrel=1e-12, limit=5000)[0]
    return 0.5 + val / math.pi


def genq_ci_tau2(fit: MetaFit, weights=None, level: float = 0.95) -> dict:
    """Generalised-Q CI for tau2 (Jackson 2013; metafor's confint(type = "GENQ") for GENQ fits):
    with Q_a = y'P_a y (P_a from the weights a_i, default the fit's or 1/vi), the bounds are the
    tau2 where P(Q_a > q_obs | tau2) = alpha/2 (lower) and 1 - alpha/2 (upper); under tau2, Q_a is
    a weighted sum of chi-square(1) with weights the eigenvalues of S P_a S, S = diag(sqrt(vi + tau2)).
    Searched on [0, max(100, 10 tau2)]."""
    a = np.asarray(weights if weights is not None else (fit.a if fit.a is not None else 1 / fit.vi), float)
    X, yi, vi = fit.X, fit.yi, fit.vi
    XtAX_inv = np.linalg.inv(xtdx(X, a))
    P = np.diag(a) - (a[:, None] * X) @ XtAX_inv @ (X.T * a)
    q = float(yi @ P @ yi)
    k, p = X.shape
    alpha = 1 - level
    hi = float(inference.tau2_search_end(fit.tau2))

    def sf(t):
        s = np.sqrt(vi + t)
        lam = np.linalg.eigvalsh(s[:, None] * P * s[None, :])[::-1][: k - p]
        return _q_sf(q, lam)

    s0, s_hi = sf(0.0), sf(hi)
    if s0 > 1 - alpha / 2:
        return {"tau2_ci": [0.0, 0.0], "type": "GENQ", "q": q}
    ub = hi if s_hi < 1 - alpha / 2 else float(optimize.brentq(lambda t: sf(t) - (1 - alpha / 2), 0.0, hi,
                                                               xtol=1e-14, rtol=1e-13))
    lb = 0.0 if s0 > alpha / 2 else float(optimize.brentq(lambda t: sf(t) - alpha / 2, 0.0, hi,
                                                          xtol=1e-14, rtol=1e-13))
    out: dict = {"tau2_ci": [lb, ub], "type": "GENQ", "q": q}
    if s_hi < 1 - alpha / 2:  # the bound lies beyond the searched range, as profile_ci_tau2 marks it
        out["ub_sign"] = ">"
    return out
