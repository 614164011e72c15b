"""The tests a Mantel-Haenszel analysis reports besides its estimate (metafor's rma.mh prints them).

- Cochran-Mantel-Haenszel test of no association across 2x2 tables (odds ratios), with the
  continuity correction (metafor's default `correct = TRUE`):
      CMH = (|sum a_i - sum E_i| - 1/2)^2 / sum V_i,  1 df,
  E_i = n1_i m1_i / N_i and V_i = n1_i n2_i m1_i m2_i / (N_i^2 (N_i - 1)) the mean and variance of
  a_i given the table's margins (m1 = a + c events, m2 = b + d non-events). Tables with a zero
  margin add nothing to either sum. As in metafor, the 1/2 is taken off however small the
  difference (R's mantelhaen.test leaves it out when the difference is below 1/2).
- Its form for incidence rates (the Mantel-Haenszel test for rate ratios), given each study's
  events x_i = x1_i + x2_i: E_i = x_i t1_i / T_i, V_i = x_i t1_i t2_i / T_i^2.
- Tarone's test for heterogeneity of odds ratios (Tarone 1985: Breslow and Day's statistic with
  Tarone's correction), around the Mantel-Haenszel odds ratio psi:
      X^2 = sum (a_i - A_i)^2 / V_i - (sum a_i - sum A_i)^2 / sum V_i,  (tables - 1) df,
  A_i the count in cell a that, with the table's margins kept, has odds ratio psi (the root of a
  quadratic inside its range), V_i = 1 / (1/A_i + 1/(n1_i - A_i) + 1/(m1_i - A_i) + 1/(n2_i - m1_i + A_i)).
  Only tables with no zero margin take part: a table with no events, or only events, in both
  groups has no fitted count to compare.
"""

from __future__ import annotations

import math

import numpy as np

from metasr.stats import distributions as dist


def cmh_test(ai, bi, ci, di) -> dict:
    """The Cochran-Mantel-Haenszel test of odds ratio 1, continuity-corrected: {CMH, CMH_pval}."""
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
    n1, n2, m1, m2 = ai + bi, ci + di, ai + ci, bi + di
    N = n1 + n2
    informative = (m1 > 0) & (m2 > 0)  # also N > 1
    expected = n1 * m1 / N
    variance = np.where(informative, n1 * n2 * m1 * m2 / np.where(informative, N**2 * (N - 1), 1.0), 0.0)
    return _corrected(float(np.sum(ai - expected)), float(variance.sum()))


def rate_mh_test(x1i, t1i, x2i, t2i) -> dict:
    """The Mantel-Haenszel test of incidence rate ratio 1, continuity-corrected: {CMH, CMH_pval}."""
    x1i, t1i, x2i, t2i = (np.asarray(a, dtype=float) for a in (x1i, t1i, x2i, t2i))
    T, x = t1i + t2i, x1i + x2i
    return _corrected(float(np.sum(x1i - x * t1i / T)), float(np.sum(x * t1i * t2i / T**2)))


def _corrected(difference: float, variance: float) -> dict:
    if not variance > 0:
        return {"CMH": math.nan, "CMH_pval": math.nan}
    stat = (abs(difference) - 0.5) ** 2 / variance
    return {"CMH": stat, "CMH_pval": float(dist.chi2_sf(stat, 1))}


def tarone_test(ai, bi, ci, di, log_or: float) -> dict:
    """Tarone's test for heterogeneity around the Mantel-Haenszel odds ratio exp(log_or):
    {tarone, tarone_df, tarone_pval}: with one table taking part 0 on 0 df (no P value), with
    none no statistic (as metafor's TA)."""
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
    n1, n2, m1, m2 = ai + bi, ci + di, ai + ci, bi + di
    keep = (n1 > 0) & (n2 > 0) & (m1 > 0) & (m2 > 0)
    a, n1, n2, m1 = ai[keep], n1[keep], n2[keep], m1[keep]
    df = len(a) - 1
    if df < 0 or not math.isfinite(log_or):  # no table takes part: no statistic (metafor: NA)
        return {"tarone": math.nan, "tarone_df": None, "tarone_pval": math.nan}
    fitted = _fitted_a(n1, n2, m1, math.exp(log_or))
    variance = 1 / (1 / fitted + 1 / (n1 - fitted) + 1 / (m1 - fitted) + 1 / (n2 - m1 + fitted))
    stat = float(np.sum((a - fitted) ** 2 / variance) - np.sum(a - fitted) ** 2 / np.sum(variance))
    if df == 0:  # one table: its deviation is the whole of it (0, as metafor reports it), no test
        return {"tarone": max(stat, 0.0), "tarone_df": 0, "tarone_pval": math.nan}
    return {"tarone": stat, "tarone_df": df, "tarone_pval": float(dist.chi2_sf(stat, df))}


def _fitted_a(n1, n2, m1, psi: float) -> np.ndarray:
    """The count A in cell a, margins kept, with A (n2 - m1 + A) = psi (n1 - A)(m1 - A): the root of
    (1 - psi) A^2 + (n2 - m1 + psi (n1 + m1)) A - psi n1 m1 = 0 between max(0, m1 - n2) and
    min(n1, m1). The product of the roots is c/a; each is taken in the form that does not cancel."""
    b = n2 - m1 + psi * (n1 + m1)
    c = -psi * n1 * m1
    if psi == 1.0:
        return -c / b
    a = 1.0 - psi
    q = -0.5 * (b + np.sign(b) * np.sqrt(b * b - 4 * a * c))
    roots = np.stack([q / a, c / q])
    low, high = np.maximum(0.0, m1 - n2), np.minimum(n1, m1)
    inside = (roots >= low) & (roots <= high)
    return np.where(inside[0], roots[0], roots[1])
