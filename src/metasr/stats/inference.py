"""Tests, confidence and prediction intervals, heterogeneity statistics, Q-profile intervals, for
many fits at once (arrays over fits; a single fit is one row).

Definitions follow metafor: Wald-type z tests; t tests on k - p df without (`t`) or with the
Knapp-Hartung scale factor (`knha`: s2 = y'Py / (k - p); `adhoc`: the same truncated at 1,
s2 = max(1, ...)); prediction intervals with the z quantile (test z) or t(k - p), I2 and H2
from the 'typical' within-study variance, and Q-profile confidence intervals for tau2, I2 and H2
(Viechtbauer 2007). `critical_value` is the one place the engine takes a quantile of the test
distribution (the 1.96 of a 95% interval is `critical_value("z", None)`).
"""

from __future__ import annotations

import math

import numpy as np

from metasr.level import LEVEL  # the analyses' default level (read from here by the stats modules)
from metasr.stats import distributions as dist
from metasr.stats.tau2 import Studies, solve_q

TESTS = ("z", "t", "knha", "adhoc")
T_TESTS = ("t", "knha", "adhoc")  # tests on the t (and F) distribution with k - p df
EPS = float(np.finfo(float).eps)


def critical_value(test: str, df=None, level: float = LEVEL):
    """Two-sided critical value of the test distribution (an array when df is one; NaN where a t
    test has no degrees of freedom, as metafor's NA)."""
    q = 1 - (1 - level) / 2
    if test in T_TESTS:
        df = np.asarray(df, float)
        with np.errstate(invalid="ignore"):
            crit = np.where(df > 0, dist.t_ppf(q, np.maximum(df, 1.0)), np.nan)
        return float(crit) if crit.ndim == 0 else crit
    return float(dist.norm_ppf(q))


def z_critical(level: float = LEVEL) -> float:
    """qnorm(1 - (1 - level) / 2): 1.959964 for 95% intervals."""
    return critical_value("z", None, level)


def wald(beta, se, test: str, df=None, level: float = LEVEL):
    """Statistics, p-values and CI bounds for coefficients (arrays; df broadcasts against them)."""
    beta, se = np.asarray(beta, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
        if test in T_TESTS:
            d = np.asarray(df, float)
            pval = np.where(d > 0, 2 * dist.t_sf(np.abs(stat), np.maximum(d, 1.0)), np.nan)
        else:
            pval = 2 * dist.norm_sf(np.abs(stat))
    crit = critical_value(test, df, level)
    return stat, pval, beta - crit * se, beta + crit * se


def omnibus(beta, vb, coefs, test: str, df_resid: int | None):
    """Test that the coefficients `coefs` (indices) of one fit are all zero: (QM, [df1, df2], p)."""
    b = np.asarray(beta)[coefs]
    V = np.asarray(vb)[np.ix_(coefs, coefs)]
    try:
        QM = float(b @ np.linalg.solve(V, b))
    except np.linalg.LinAlgError:  # vb = 0 (identical effects, Knapp-Hartung): metafor's QM is NA too
        QM = math.nan
    m = len(coefs)
    if test in T_TESTS:
        F = QM / m
        return F, [m, df_resid], float(dist.f_sf(F, m, df_resid))
    return QM, [m, None], float(dist.chi2_sf(QM, m))


def knha_factor(rss, df) -> np.ndarray:
    """Knapp-Hartung factor s^2 = y'Py / (k - p) at the fitted tau2 (not truncated at 1; 0 when
    y'Py is below machine epsilon, as metafor sets it)."""
    rss = np.asarray(rss, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rss <= EPS, 0.0, rss / np.asarray(df, float))


def vb_scale(test: str, rss, df):
    """Factor on the model-based covariance of the coefficients for `test`."""
    if test == "knha":
        return knha_factor(rss, df)
    if test == "adhoc":
        return np.maximum(1.0, knha_factor(rss, df))
    return np.ones(np.shape(rss))


def typical_variance(s: Studies) -> np.ndarray:
    """metafor's 'typical' within-study variance (k - p) / tr(P) with weights 1/vi."""
    return s.df / s.fixed_effect().tr_P()


def heterogeneity_q(s: Studies, Q=None):
    """Cochran's Q (residual heterogeneity QE), its df and p-value; metafor's Q = 0, p = 1 when
    k <= p."""
    df = s.df
    if Q is None:
        Q = s.fixed_effect().rss
    fit = df > 0
    Q = np.where(fit, Q, 0.0)
    pval = np.where(fit, dist.chi2_sf(Q, np.maximum(df, 1)), 1.0)
    return Q, df, pval


def i2_h2_from_tau2(tau2, vt):
    """I2 (%) and H2 for a random-effects tau2 given the typical within-study variance."""
    return 100 * tau2 / (vt + tau2), tau2 / vt + 1


def i2_h2_from_q(Q, df):
    """I2 (%) and H2 from Q, as metafor reports them for common-effect models."""
    Q, df = np.asarray(Q, float), np.asarray(df, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        I2 = np.where(Q > 0, np.maximum(0.0, 100 * (Q - df) / Q), 0.0)
        H2 = np.where(df > 0, Q / df, np.nan)
    return I2, H2


def prediction_interval(estimate, se, tau2, test: str, df=None, level: float = LEVEL):
    crit = critical_value(test, df, level)
    half = crit * np.sqrt(np.asarray(se, float) ** 2 + tau2)
    return estimate - half, estimate + half


def q_profile_bounds(s: Studies, level: float = LEVEL):
    """Q-profile CI for tau2 in every row: the tau2 values where Q(tau2) meets the chi-square
    quantiles."""
    alpha = 1 - level
    df = s.df
    q_upper, q_lower = dist.chi2_ppf(1 - alpha / 2, df), dist.chi2_ppf(alpha / 2, df)
    return solve_q(s, q_upper), solve_q(s, q_lower)


def tau2_search_end(tau2):
    """The upper end of metafor's confint() search for tau2's CI bounds: max(100, 10 tau2)."""
    return np.maximum(100.0, 10 * np.asarray(tau2, float))


def q_profile_many(s: Studies, tau2, level: float = LEVEL) -> dict:
    """Q-profile CIs for tau2 and the I2 and H2 derived from them, as (m, 2) arrays, searched as
    metafor's confint() searches them: on [0, max(100, 10 tau2)] (`tau2`: each row's estimate).
    `signs` holds each bound's sign as metafor prints it: ">" for a bound beyond that end (the end
    is given, ">100"), and "<" on both bounds when Q(0) is below the lower quantile, so that both
    bounds lie below 0 (metafor's null set: 0 is given, "<0")."""
    lb, ub = q_profile_bounds(s, level)
    end = tau2_search_end(tau2)
    bounds = np.stack([lb, ub], 1)
    signs = np.where(bounds > end[:, None], ">", "")
    signs[ub <= 0] = "<"  # solve_q gives 0 exactly where Q(0) is not above the quantile
    bounds = np.minimum(bounds, end[:, None])
    I2, H2 = i2_h2_from_tau2(bounds, typical_variance(s)[:, None])
    return {"tau2_ci": bounds, "I2_ci": I2, "H2_ci": H2, "signs": signs}


def q_profile_tau2(yi, vi, X, tau2: float, level: float = LEVEL) -> tuple[float, float, list[str]]:
    """The Q-profile CI for tau2 of one data set, with each bound's sign (q_profile_many)."""
    out = q_profile_many(Studies.one(yi, vi, X), [tau2], level)
    return float(out["tau2_ci"][0, 0]), float(out["tau2_ci"][0, 1]), [str(x) for x in out["signs"][0]]


def q_profile_keys(out: dict, i: int) -> dict:
    """Row i of q_profile_many as a result's keys (lists); `tau2_ci_lb_sign` / `tau2_ci_ub_sign`
    only for a bound that has a sign ("<" or ">")."""
    keys = {key: out[key][i].tolist() for key in ("tau2_ci", "I2_ci", "H2_ci")}
    for side, sign in zip(("lb", "ub"), out["signs"][i], strict=True):
        if sign:
            keys[f"tau2_ci_{side}_sign"] = str(sign)
    return keys


def q_profile(yi, vi, X, tau2: float, level: float = LEVEL) -> dict:
    """Q-profile CIs for tau2 and the I2 and H2 of one data set (lists; see q_profile_keys)."""
    return q_profile_keys(q_profile_many(Studies.one(yi, vi, X), [tau2], level), 0)
