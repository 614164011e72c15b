"""Sensitivity analyses of an intercept-only model: leave-one-out, influence diagnostics,
cumulative meta-analysis, as metafor 3.8-1's `leave1out`, `influence` and `cumul` compute them.

Mantel-Haenszel and Peto fits get leave-one-out and cumulative analyses refitted with their own
method (`table_leave_one_out`, `table_cumulative`, as metafor's for rma.mh and rma.peto); metafor
has no influence diagnostics for them.

Every refit of an inverse-variance fit uses the fit's own method and test. A refit on one study
is metafor's k = 1 model (tau2 = 0, z test). The k refits of each analysis run together on the batch path
(`metasr.stats.batch`, the engine's fit_many on k rows), two orders of magnitude faster than k
separate fits. Keys follow the reference `expected.json` (dots become underscores:
`cook.d` -> `cook_d`); arrays are in the order of the fit's studies (cumulative: the order in
which studies were added, given by `study_index`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from metasr.errors import InputError
from metasr.stats import batch, distributions as dist
from metasr.stats.models import MetaFit

# metafor zeroes residuals this close to 0 before studentising them
RESID_EPS = 100 * np.finfo(float).eps


def _require_refittable_model(fit: MetaFit, what: str) -> None:
    fit.require_intercept_only(what)
    if fit.k < 2:
        raise InputError(f"{what} needs at least 2 studies (k = {fit.k})")


@dataclass
class Refits:
    """Arrays over a set of refits of one model (row i: one refit), from the batch path."""

    estimate: np.ndarray
    se: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    Q: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray
    s2w: np.ndarray  # Knapp-Hartung factor (1 for z tests): vb = s2w / sum(w)
    stat: np.ndarray
    Q_pval: np.ndarray
    H2: np.ndarray

    @property
    def vb(self) -> np.ndarray:
        return self.se**2

    def rows(self, start: int, stop: int) -> Refits:
        """The refits of rows start .. stop - 1 (one analysis' share of a larger batch)."""
        return Refits(*(getattr(self, f)[start:stop] for f in self.__dataclass_fields__))


def refits(method: str, test: str, yi: np.ndarray, vi: np.ndarray) -> Refits:
    """`method` and `test` on every row of (m, k) arrays (NaN padding; one study: k = 1 model),
    all at once on the batch path."""
    res = batch.pool(yi, vi, method=method, test=test)
    if not res["converged"].all():
        raise RuntimeError("a leave-one-out or cumulative refit did not converge; please report this data set")
    return Refits(res["estimate"], res["se"], res["pval"], res["ci_lb"], res["ci_ub"], res["Q"], res["tau2"],
                  res["I2"], res["s2w"], res["stat"], res["Q_pval"], res["H2"])


def _refits(fit: MetaFit, yi: np.ndarray, vi: np.ndarray) -> Refits:
    return refits(fit.method, fit.test, yi, vi)


def deleted_fits(fit: MetaFit) -> Refits:
    """The k fits with study i left out (row i)."""
    return _refits(fit, *batch.leave_one_out_arrays(fit.yi, fit.vi))


def leave_one_out(fit: MetaFit, fits: Refits | None = None) -> dict:
    """metafor's leave1out(): the model refitted without each study in turn, every column of it
    (its zval or tval is `stat`, its Qp `Q_pval`)."""
    _require_refittable_model(fit, "Leave-one-out analysis")
    f = deleted_fits(fit) if fits is None else fits
    return {"estimate": f.estimate.tolist(), "se": f.se.tolist(), "stat": f.stat.tolist(), "pval": f.pval.tolist(),
            "ci_lb": f.ci_lb.tolist(), "ci_ub": f.ci_ub.tolist(), "Q": f.Q.tolist(), "Q_pval": f.Q_pval.tolist(),
            "tau2": f.tau2.tolist(), "I2": f.I2.tolist(), "H2": f.H2.tolist()}


def influence(fit: MetaFit, fits: Refits | None = None) -> dict:
    """metafor's influence(): externally studentised residuals, DFFITS, Cook's distances,
    covariance ratios, leave-one-out tau2 and Q, hat values, weights (percent), DFBETAS and
    metafor's flag of influential studies (`inf`, INFLUENCE_CRITERIA)."""
    _require_refittable_model(fit, "Influence diagnostics")
    f = deleted_fits(fit) if fits is None else fits
    w = 1 / (fit.vi + fit.tau2)
    hat = w / np.sum(w)
    vb_full = float(fit.vb[0, 0])
    resid = fit.yi - f.estimate
    resid[np.abs(resid) < RESID_EPS] = 0.0
    rstudent = resid / np.sqrt(fit.vi * f.s2w + f.vb + f.tau2 * f.s2w)
    dfb = fit.estimate - f.estimate
    dffits = dfb / np.sqrt(f.s2w * hat * (f.tau2 + fit.vi))
    # DFBETAS scales the change by the variance of the full model's estimate at the deleted
    # fit's tau2 (all k studies), as metafor does, not by the deleted fit's own variance.
    vb_del = 1 / np.sum(1 / (fit.vi[None, :] + f.tau2[:, None]), axis=1)
    dfbetas = dfb / np.sqrt(f.s2w * vb_del)
    cook_d = dfb**2 / vb_full
    values = {"dffits": dffits, "cook_d": cook_d, "hat": hat, "dfbetas": dfbetas}
    return {
        "rstudent": rstudent.tolist(),
        "dffits": dffits.tolist(),
        "cook_d": cook_d.tolist(),
        "cov_r": (f.vb / vb_full).tolist(),
        "tau2_del": f.tau2.tolist(),
        "QE_del": f.Q.tolist(),
        "hat": hat.tolist(),
        "weight": fit.weights.tolist(),
        "dfbetas": dfbetas.tolist(),
        "inf": [bool(met) for met in np.any([c.exceeded(values[c.key], fit.k) for c in INFLUENCE_CRITERIA], axis=0)],
    }


@dataclass(frozen=True)
class InfluenceCriterion:
    """One of metafor's rules for flagging an influential study (influence.rma.uni, after
    Viechtbauer & Cheung 2010), for an intercept-only model (p = 1 coefficient)."""

    key: str  # the influence() key it reads
    label: str
    limit_of_k: Callable[[int], float]  # the cut-off at k studies
    two_sided: bool  # the rule bounds the absolute value

    def exceeded(self, values, k: int) -> np.ndarray:
        """Where the rule flags a study; a missing value (NaN) flags nothing, as metafor's `*`."""
        values = np.asarray(values, float)
        with np.errstate(invalid="ignore"):
            return (np.abs(values) if self.two_sided else values) > self.limit_of_k(k)


INFLUENCE_CRITERIA = (
    InfluenceCriterion("dffits", "DFFITS", lambda k: 3 * math.sqrt(1 / (k - 1)) if k > 1 else math.inf, True),
    # metafor's pchisq(cook.d, df = 1) > 0.5: Cook's distance above the chi-square(1) median
    InfluenceCriterion("cook_d", "Cook's distance", lambda k: float(dist.chi2_ppf(0.5, 1)), False),
    InfluenceCriterion("hat", "hat value", lambda k: 3 / k, False),
    InfluenceCriterion("dfbetas", "DFBETAS", lambda k: 1.0, True),
)


def influence_reasons(influence: dict, i: int) -> list[tuple[InfluenceCriterion, float, float]]:
    """The criteria study i of an influence() result meets: (criterion, its value, its limit)."""
    k = len(influence["hat"])
    out = []
    for c in INFLUENCE_CRITERIA:
        value = (influence.get(c.key) or [None] * k)[i]
        if value is not None and bool(c.exceeded([value], k)[0]):
            out.append((c, float(value), c.limit_of_k(k)))
    return out


def leave_one_out_and_influence(fit: MetaFit) -> tuple[dict, dict]:
    """Both analyses from one set of k refits."""
    _require_refittable_model(fit, "Leave-one-out analysis")
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
    else:  # text in R's collation (order() sorts character vectors as sort() does), not by code point
        from metasr.stats.formula import r_sort_key

        text = [str(v) for v in values]
        return np.array(sorted(range(len(text)), key=lambda i: r_sort_key(text[i])), dtype=int)
    return np.argsort(values, kind="stable")  # ties keep the input order, as R's order() does


def cumulative_order(fit: MetaFit, order) -> np.ndarray:
    """The order in which cumul() adds the studies (sorted by `order`, ties in input order)."""
    _require_refittable_model(fit, "Cumulative meta-analysis")
    if len(order) != fit.k:
        raise InputError(f"the ordering variable has {len(order)} values for {fit.k} studies")
    return _sort_order(order)


def cumulative(fit: MetaFit, order, order_by: str | None = None, fits: Refits | None = None) -> dict:
    """metafor's cumul(fit, order): fits on the first 1, 2, .., k studies sorted by `order`
    (one value per study; ties keep the input order). `order_by` names the variable; `fits` are
    the refits of batch.cumulative_arrays in that order, when computed already. cumul()'s zval
    and Qp are `stat` and `Q_pval`."""
    idx = cumulative_order(fit, order)
    f = _refits(fit, *batch.cumulative_arrays(fit.yi[idx], fit.vi[idx])) if fits is None else fits
    return {
        "order_by": order_by,
        "study_index": idx.tolist(),
        "estimate": f.estimate.tolist(),
        "se": f.se.tolist(),
        "stat": f.stat.tolist(),
        "pval": f.pval.tolist(),
        "ci_lb": f.ci_lb.tolist(),
        "ci_ub": f.ci_ub.tolist(),
        "Q": f.Q.tolist(),
        "Q_pval": f.Q_pval.tolist(),
        "tau2": f.tau2.tolist(),
        "I2": f.I2.tolist(),
        "H2": f.H2.tolist(),
    }


# ---------------------------------------------------------------- Mantel-Haenszel and Peto fits

# The columns of metafor's leave1out() and cumul() of an rma.mh or rma.peto fit (no tau2)
TABLE_CUMULATIVE_KEYS = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "Q", "Q_pval", "I2", "H2")


def table_leave_one_out(refit: Callable[[np.ndarray], dict | None], k: int) -> dict:
    """metafor's leave1out() of a Mantel-Haenszel or Peto fit of k tables: `refit(rows)` fits the
    tables at those positions (their to_dict, None or null keys where the pooled ratio is
    undefined: metafor's NA). There is no tau2, and no influence diagnostics: metafor defines
    those for inverse-variance models only."""
    return _table_columns([refit(np.delete(np.arange(k), i)) for i in range(k)])


def table_cumulative(refit: Callable[[np.ndarray], dict | None], k: int, order,
                     order_by: str | None = None) -> dict:
    """metafor's cumul() of a Mantel-Haenszel or Peto fit: the fits on the first 1, 2, .., k tables
    sorted by `order` (ties in input order), `refit` as for table_leave_one_out."""
    if len(order) != k:
        raise InputError(f"the ordering variable has {len(order)} values for {k} studies")
    idx = _sort_order(order)
    return {"order_by": order_by, "study_index": idx.tolist(),
            **_table_columns([refit(idx[:j + 1]) for j in range(k)])}


def _table_columns(fits: list[dict | None], keys: tuple[str, ...] = TABLE_CUMULATIVE_KEYS) -> dict:
    return {key: [None if f is None else f.get(key) for f in fits] for key in keys}


def baujat(fit: MetaFit) -> dict:
    """metafor's baujat(fit) coordinates on the fitted model (any method, test or moderators):
    x = squared Pearson residual (yi - x_i'b)^2 / (vi + tau2); y = (x_i'b(-i) - x_i'b)^2 /
    Var(x_i'b(-i)), b(-i) the fit without study i (same method and test). A refit that cannot be
    made (too few studies, rank-deficient X) gives y = None for that study, as metafor's NA. The
    refits are fitted together (`fit_many`), each the fit of its k - 1 studies alone."""
    from metasr.stats.models import check_inputs, fit_many
    from metasr.stats.tau2 import Studies

    if fit.k < 2:
        raise InputError("a Baujat plot needs at least 2 studies")
    pred = fit.X @ fit.beta
    x = (fit.yi - pred) ** 2 / (fit.tau2 + fit.vi)
    y = np.full(fit.k, np.nan)
    left_out = [i for i in range(fit.k) if _refit_possible(fit, np.arange(fit.k) != i, check_inputs)]
    if left_out:
        keep = np.array([np.arange(fit.k) != i for i in left_out])  # (m, k): the studies of each refit
        intercept_only = fit.p == 1 and bool(np.all(fit.X == 1))  # as fit_rma's data set (Studies.one)
        m = len(left_out)

        def refit_rows(a: np.ndarray) -> np.ndarray:  # (k, ...) -> each refit's studies (m, k - 1, ...)
            return np.broadcast_to(a, (m, *a.shape))[keep].reshape(m, fit.k - 1, *a.shape[1:])

        try:
            f = fit_many(Studies(refit_rows(fit.yi), refit_rows(fit.vi), None,
                                 None if intercept_only else refit_rows(fit.X)),
                         fit.method, fit.test, np.full(m, fit.tau2) if fit.fixed_tau2 else None,
                         None if fit.a is None else refit_rows(fit.a))
            refits = [(f.beta[row], f.vb[row]) for row in range(m)]
        except ValueError:  # some refit cannot be made: each alone, the others kept
            refits = [_one_refit(fit, keep[row]) for row in range(m)]
        for i, refit in zip(left_out, refits, strict=True):
            if refit is not None:
                beta, vb = refit
                y[i] = (float(fit.X[i] @ beta) - pred[i]) ** 2 / float(fit.X[i] @ vb @ fit.X[i])
    return {"x": x.tolist(), "y": [None if not math.isfinite(v) else float(v) for v in y]}


def _one_refit(fit: MetaFit, keep: np.ndarray):
    """(beta, vb) of the model fitted to the studies `keep` alone, or None where it cannot be."""
    from metasr.stats.models import fit_rma

    try:
        f = fit_rma(fit.yi[keep], fit.vi[keep], method=fit.method, test=fit.test, X=fit.X[keep],
                    weights=None if fit.a is None else fit.a[keep], tau2=fit.tau2 if fit.fixed_tau2 else None)
    except ValueError:
        return None
    return f.beta, f.vb


def _refit_possible(fit: MetaFit, keep: np.ndarray, check_inputs) -> bool:
    """Whether the model can be fitted to the studies `keep` (fit_rma's checks; X of full rank)."""
    Xi = fit.X[keep]
    if np.linalg.matrix_rank(Xi) < fit.p:
        return False
    try:
        check_inputs(fit.yi[keep], fit.vi[keep], Xi, fit.method, fit.test)
    except ValueError:
        return False
    return True
