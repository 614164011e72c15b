"""Subgroup analysis: a separate model per level and a test for differences between levels.

As in metafor's worked example (separate `rma` fits per level, then a common-effect model of the
level estimates with their standard errors): Q_between is the Wald-type heterogeneity statistic of
the level estimates, with (levels - 1) degrees of freedom. A level with a single study keeps its
own estimate (tau2 = 0, z-based CI), since one study has no between-study variance and no df.
"""

from __future__ import annotations

import numpy as np

from metasr.display import is_number
from metasr.level import Z
from metasr.stats import distributions as dist
from metasr.stats.formula import factor_levels
from metasr.stats.models import MetaFit, fit_rma


def fit_levels(yi, vi, groups, method: str = "REML", test: str = "z", measure=None) -> dict[str, MetaFit]:
    """One fit per level, levels in R's factor() order (numbers numerically) as metafor's
    `mods = ~ factor(g)` and the meta-regression of the same column have them."""
    yi, vi, groups = np.asarray(yi, float), np.asarray(vi, float), np.asarray(groups).astype(str)
    fits = {}
    for level in factor_levels(groups):
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


def normalise_subgroups(sub: dict | None) -> list[dict]:
    """A result's `subgroups` block as one dict per level (level, k, estimate, se, ci_lb, ci_ub,
    tau2, I2, Q..., `transformed`), from either accepted shape: a list of level dicts, or
    `subgroup_analysis`'s parallel arrays with each level's model under `fits` (its CI, which a t
    test makes wider than estimate +- 1.96 se, comes from there). The forest plot and the report
    read levels with it."""
    if not sub or not sub.get("levels"):
        return []
    levels = sub["levels"]
    if isinstance(levels[0], dict):
        out = [dict(level) for level in levels]
    else:
        out = []
        for i, name in enumerate(levels):
            entry = {"level": name}
            for key in ("k", "estimate", "se", "ci_lb", "ci_ub", "tau2", "I2", "Q", "Q_df",
                        "Q_pval"):
                if isinstance(sub.get(key), list) and i < len(sub[key]):
                    entry[key] = sub[key][i]
            # metasr.stats.subgroup adds each level's full model under `fits`.
            fit = (sub.get("fits") or {}).get(name) or {}
            for key in ("ci_lb", "ci_ub", "I2", "Q", "Q_df", "Q_pval"):
                if key not in entry and is_number(fit.get(key)):
                    entry[key] = fit[key]
            if isinstance(fit.get("transformed"), dict):  # on the display scale, with the level's own targs
                entry["transformed"] = fit["transformed"]
            out.append(entry)
    for entry in out:
        if not is_number(entry.get("ci_lb")) and is_number(entry.get("se")):
            entry["ci_lb"] = entry["estimate"] - Z * entry["se"]
            entry["ci_ub"] = entry["estimate"] + Z * entry["se"]
    return out
