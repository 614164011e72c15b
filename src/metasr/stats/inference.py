"""Tests, confidence and prediction intervals, heterogeneity statistics, Q-profile intervals.

Definitions follow metafor: Wald-type z tests; t tests on k - p df without (`t`) or with the
Knapp-Hartung scale factor (`knha`: s2 = y'Py / (k - p); `adhoc`: the same truncated at 1,
s2 = max(1, ...)); prediction intervals with the z quantile (test z) or t(k - p), I2 and H2
from the 'typical' within-study variance, and Q-profile confidence intervals for tau2, I2 and H2
(Viechtbauer 2007).
"""

from __future__ import annotations

import math

import numpy as np

from metasr.stats.tau2 import Projection, generalised_q, solve_q_equation
from metasr.stats import distributions as dist

LEVEL = 0.95
TESTS = ("z", "t", "knha", "adhoc")
T_TESTS = ("t", "knha", "adhoc")  # tests on the t (and F) distribution with k - p df


def critical_value(test: str, df: int | None, level: float = LEVEL) -> float:
    """Two-sided critical value of the test distribution."""
    if test in T_TESTS:
        return float(dist.t_ppf(1 - (1 - level) / 2, df))
    return float(dist.norm_ppf(1 - (1 - level) / 2))


def wald(beta, se, test: str, df: int | None, level: float = LEVEL):
    """Statistics, p-values and CI bounds for coefficients (arrays)."""
    beta, se = np.asarray(beta, float), np.asarray(se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    if test in T_TESTS:
        pval = 2 * dist.t_sf(np.abs(stat), df)
    else:
        pval = 2 * dist.norm_sf(np.abs(stat))
    crit = critical_value(test, df, level)
    return stat, pval, beta - crit * se, beta + crit * se


def omnibus(beta, vb, coefs, test: str, df_resid: int | None):
    """Test that the coefficients `coefs` (indices) are all zero: (QM, [df1, df2], p)."""
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


def knha_scale(yi, vi, X, tau2) -> float:
    """Knapp-Hartung factor s^2 = y'Py / (k - p) at the fitted tau2 (not truncated at 1; 0 when
    y'Py is below machine epsilon, as metafor sets it)."""
    rss = Projection(yi, 1 / (vi + tau2), X).rss
    return 0.0 if rss <= np.finfo(float).eps else rss / (len(yi) - X.shape[1])


def vb_scale(test: str, yi, vi, X, tau2) -> float:
    """Factor on the model-based covariance of the coefficients for `test`."""
    if test == "knha":
        return knha_scale(yi, vi, X, tau2)
    if test == "adhoc":
        return max(1.0, knha_scale(yi, vi, X, tau2))
    return 1.0


def typical_variance(vi, X) -> float:
    """metafor's 'typical' within-study variance s^2 = (k - p) / tr(P) with weights 1/vi."""
    return (len(vi) - X.shape[1]) / Projection(np.zeros(len(vi)), 1 / vi, X).tr_P()


def heterogeneity_q(yi, vi, X):
    """Cochran's Q (residual heterogeneity QE), its df and p-value."""
    Q = generalised_q(yi, vi, X, 0.0)
    df = len(yi) - X.shape[1]
    pval = float(dist.chi2_sf(Q, df)) if df > 0 else float("nan")
    return Q, df, pval


def i2_h2_from_tau2(tau2: float, s2: float):
    """I2 (%) and H2 for a random-effects tau2 given the typical within-study variance."""
    return 100 * tau2 / (s2 + tau2), (s2 + tau2) / s2


def i2_h2_from_q(Q: float, df: int):
    """I2 (%) and H2 from Q, as metafor reports them for common-effect models."""
    H2 = Q / df if df > 0 else float("nan")
    I2 = max(0.0, 100 * (Q - df) / Q) if Q > 0 else 0.0
    return I2, H2


def prediction_interval(estimate: float, se: float, tau2: float, test: str, df: int | None, level=LEVEL):
    crit = critical_value(test, df, level)
    half = crit * np.sqrt(se**2 + tau2)
    return estimate - half, estimate + half


def q_profile_tau2(yi, vi, X, level: float = LEVEL):
    """Q-profile CI for tau2: the tau2 values where Q(tau2) meets the chi-square quantiles."""
    df = len(yi) - X.shape[1]
    alpha = 1 - level
    q_upper, q_lower = dist.chi2_ppf(1 - alpha / 2, df), dist.chi2_ppf(alpha / 2, df)
    return solve_q_equation(yi, vi, X, q_upper), solve_q_equation(yi, vi, X, q_lower)


def q_profile(yi, vi, X, level: float = LEVEL) -> dict:
    """Q-profile CIs for tau2 and the I2 and H2 derived from them."""
    lb, ub = q_profile_tau2(yi, vi, X, level)
    s2 = typical_variance(vi, X)
    I2 = [i2_h2_from_tau2(t, s2)[0] for t in (lb, ub)]
    H2 = [i2_h2_from_tau2(t, s2)[1] for t in (lb, ub)]
    return {"tau2_ci": [lb, ub], "I2_ci": I2, "H2_ci": H2}
