"""Sensitivity analyses of an intercept-only model: leave-one-out, influence diagnostics,
cumulative meta-analysis, as metafor 3.8-1's `leave1out`, `influence` and `cumul` compute them.

Every refit uses the fit's own method and test. A refit on one study is metafor's k = 1 model
(tau2 = 0, z test). Keys follow the reference `expected.json` (dots become underscores:
`cook.d` -> `cook_d`); arrays are in the order of the fit's studies (cumulative: the order in
which studies were added, given by `study_index`).
"""

from __future__ import annotations

import math

import numpy as np

from metasr.errors import InputError
from metasr.stats.models import MetaFit, fit_rma

# metafor zeroes residuals this close to 0 before studentising them
RESID_EPS = 100 * np.finfo(float).eps


def _require_intercept_only(fit: MetaFit, what: str) -> None:
    if not fit.is_intercept_only:
        raise InputError(f"{what} needs a model without moderators")
    if fit.k < 2:
        raise InputError(f"{what} needs at least 2 studies (k = {fit.k})")


def refit(fit: MetaFit, keep) -> MetaFit:
    """The fit's model on a subset of its studies (metafor's k = 1 model for a single study)."""
    yi, vi = fit.yi[keep], fit.vi[keep]
    if len(yi) == 1:
        return fit_rma(yi, vi, method="FE", test="z", measure=fit.measure)
    return fit_rma(yi, vi, method=fit.method, test=fit.test, measure=fit.measure)


def deleted_fits(fit: MetaFit) -> list[MetaFit]:
    """The k fits with study i left out."""
    idx = np.arange(fit.k)
    return [refit(fit, idx != i) for i in range(fit.k)]


def leave_one_out(fit: MetaFit, fits: list[MetaFit] | None = None) -> dict:
    """metafor's leave1out(): the model refitted without each study in turn."""
    _require_intercept_only(fit, "Leave-one-out analysis")
    fits = deleted_fits(fit) if fits is None else fits
    return {
        "estimate": [f.estimate for f in fits],
        "se": [float(f.se[0]) for f in fits],
        "pval": [float(f.pval[0]) for f in fits],
        "ci_lb": [float(f.ci_lb[0]) for f in fits],
        "ci_ub": [float(f.ci_ub[0]) for f in fits],
        "Q": [float(f.Q) for f in fits],
        "tau2": [float(f.tau2) for f in fits],
        "I2": [float(f.I2) for f in fits],
    }


def _knha_factor(f: MetaFit) -> float:
    """s2w of a fit: 1 for z tests, the Knapp-Hartung scale otherwise (vb = s2w / sum(w))."""
    if f.test != "knha":
        return 1.0
    return float(f.vb[0, 0] * np.sum(1 / (f.vi + f.tau2)))


def influence(fit: MetaFit, fits: list[MetaFit] | None = None) -> dict:
    """metafor's influence(): externally studentised residuals, DFFITS, Cook's distances,
    covariance ratios, leave-one-out tau2 and Q, hat values and weights (percent)."""
    _require_intercept_only(fit, "Influence diagnostics")
    fits = deleted_fits(fit) if fits is None else fits
    w = 1 / (fit.vi + fit.tau2)
    hat = w / np.sum(w)
    vb_full = float(fit.vb[0, 0])
    beta_del = np.array([f.estimate for f in fits])
    vb_del = np.array([float(f.vb[0, 0]) for f in fits])
    tau2_del = np.array([f.tau2 for f in fits])
    s2w_del = np.array([_knha_factor(f) for f in fits])
    resid = fit.yi - beta_del
    resid[np.abs(resid) < RESID_EPS] = 0.0
    rstudent = resid / np.sqrt(fit.vi * s2w_del + vb_del + tau2_del * s2w_del)
    dfb = fit.estimate - beta_del
    dffits = dfb / np.sqrt(s2w_del * hat * (tau2_del + fit.vi))
    return {
        "rstudent": rstudent.tolist(),
        "dffits": dffits.tolist(),
        "cook_d": (dfb**2 / vb_full).tolist(),
        "cov_r": (vb_del / vb_full).tolist(),
        "tau2_del": tau2_del.tolist(),
        "QE_del": [float(f.Q) for f in fits],
        "hat": hat.tolist(),
        "weight": fit.weights.tolist(),
    }


def leave_one_out_and_influence(fit: MetaFit) -> tuple[dict, dict]:
    """Both analyses from one set of k refits."""
    fits = deleted_fits(fit)
    return leave_one_out(fit, fits), influence(fit, fits)


def _sort_order(order) -> np.ndarray:
    values = np.asarray(order)
    if values.dtype.kind in "fiub":
        values = values.astype(float)
        if np.any(~np.isfinite(values)):
            bad = ", ".join(str(i + 1) for i in np.flatnonzero(~np.isfinite(values)))
            raise InputError(f"the ordering variable is missing for studies {bad}",
                             hint="give every study a value (for example its year) or leave out the ordering")
    elif any(v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "" for v in values):
        raise InputError("the ordering variable is missing for some studies",
                         hint="give every study a value (for example its year)")
    else:
        values = values.astype(str)
    return np.argsort(values, kind="stable")  # ties keep the input order, as R's order() does


def cumulative(fit: MetaFit, order, order_by: str | None = None) -> dict:
    """metafor's cumul(fit, order): fits on the first 1, 2, .., k studies sorted by `order`
    (one value per study; ties keep the input order). `order_by` names the variable."""
    _require_intercept_only(fit, "Cumulative meta-analysis")
    if len(order) != fit.k:
        raise InputError(f"the ordering variable has {len(order)} values for {fit.k} studies")
    idx = _sort_order(order)
    fits = [refit(fit, idx[: j + 1]) for j in range(fit.k)]
    return {
        "order_by": order_by,
        "study_index": idx.tolist(),
        "estimate": [f.estimate for f in fits],
        "se": [float(f.se[0]) for f in fits],
        "pval": [float(f.pval[0]) for f in fits],
        "ci_lb": [float(f.ci_lb[0]) for f in fits],
        "ci_ub": [float(f.ci_ub[0]) for f in fits],
        "tau2": [float(f.tau2) for f in fits],
        "I2": [float(f.I2) for f in fits],
    }
