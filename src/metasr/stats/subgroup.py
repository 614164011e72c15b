"""Subgroup analysis: a separate model per level and a test for differences between levels.

As in metafor's worked example (separate `rma` fits per level, then a common-effect model of the
level estimates with their standard errors): Q_between is the Wald-type heterogeneity statistic of
the level estimates, with (levels - 1) degrees of freedom. A level with a single study keeps its
own estimate (tau2 = 0, z-based CI), since one study has no between-study variance and no df.
"""

from __future__ import annotations

import numpy as np

from metasr.stats.models import MetaFit, fit_rma
from metasr.stats import distributions as dist


def fit_levels(yi, vi, groups, method: str = "REML", test: str = "z", measure=None) -> dict[str, MetaFit]:
    """One fit per level (levels sorted as text)."""
    yi, vi, groups = np.asarray(yi, float), np.asarray(vi, float), np.asarray(groups).astype(str)
    fits = {}
    for level in sorted(set(groups)):
        sel = groups == level
        single = sel.sum() == 1  # one study: its own estimate, z-based (no df for a t test)
        fits[level] = fit_rma(yi[sel], vi[sel], method="FE" if single else method, test="z" if single else test,
                              measure=measure)
    return fits


def q_between(estimates, ses):
    """Wald-type test that the level estimates are equal: (Q, df, p)."""
    est, se = np.asarray(estimates, float), np.asarray(ses, float)
    w = 1 / se**2
    mu = np.sum(w * est) / np.sum(w)
    Q = float(np.sum(w * (est - mu) ** 2))
    df = len(est) - 1
    return Q, df, float(dist.chi2_sf(Q, df)) if df > 0 else float("nan")


def subgroup_analysis(yi, vi, groups, method="REML", test="z", measure=None) -> dict:
    """metafor-style subgroup keys plus each level's full model under `fits`."""
    fits = fit_levels(yi, vi, groups, method, test, measure)
    levels = list(fits)
    estimates = [fits[lv].estimate for lv in levels]
    ses = [float(fits[lv].se[0]) for lv in levels]
    Q, df, p = q_between(estimates, ses)
    return {
        "levels": levels,
        "estimate": estimates,
        "se": ses,
        "tau2": [fits[lv].tau2 for lv in levels],
        "k": [fits[lv].k for lv in levels],
        "Q_between": Q,
        "Q_between_df": df,
        "Q_between_pval": p,
        "fits": {lv: fits[lv].to_dict() for lv in levels},
    }
