"""The optional sections of an intercept-only analysis (Q-profile CIs, small-study tests,
leave-one-out with influence, the cumulative analysis) under metafor's keys, run by
analysis_settings.sections_at; metasr pool, the pipeline, dependent outcomes and the batched
groups build them here."""

from __future__ import annotations

import numpy as np

from metasr.analysis_settings import sections_at
from metasr.stats import inference
from metasr.stats.models import MetaFit


def model_dict(fit) -> dict:
    """metafor's keys for an intercept-only fit, with Q-profile CIs for random-effects models."""
    out = fit.to_dict()
    if isinstance(fit, MetaFit) and fit.method != "FE":
        out.update(inference.q_profile(fit.yi, fit.vi, fit.X, fit.tau2))
    return out


def bias_dict(fit: MetaFit, sei_fit: MetaFit | None = None, egger_lm=None) -> dict:
    """Small-study tests of the fit; `sei_fit` (its regression on sei) and `egger_lm` (the classic
    test's result) when computed already, for many fits at once (metasr.stats.grouped)."""
    from metasr.stats import bias

    return {"egger": bias.egger_test(fit, sei_fit), "egger_lm": bias.egger_lm(fit) if egger_lm is None else egger_lm,
            "begg": bias.begg_test(fit), "trimfill": bias.trimfill(fit, sei_fit=sei_fit)}


def sensitivity_dict(fit: MetaFit, order=None, order_by: str | None = None, deleted=None, cumulated=None) -> dict:
    """Leave-one-out, influence and (given an order) cumulative analyses; `deleted` and `cumulated`
    are their refits when computed already (metasr.stats.grouped)."""
    from metasr.stats import sensitivity

    # Identical effects with Knapp-Hartung give s2w = 0: influence measures are 0/0, which metafor
    # reports as NaN (null here) too, without numpy's RuntimeWarnings on the console.
    with np.errstate(divide="ignore", invalid="ignore"):
        if deleted is None:
            leave1out, influence = sensitivity.leave_one_out_and_influence(fit)  # one set of k refits for both
        else:
            leave1out, influence = sensitivity.leave_one_out(fit, deleted), sensitivity.influence(fit, deleted)
    out = {"leave1out": leave1out, "influence": influence}
    if order is not None:
        out["cumulative"] = sensitivity.cumulative(fit, order, order_by=order_by, fits=cumulated)
    return out


def optional_sections(fit: MetaFit, small_study_min_k: int, ordering=None, order_by: str | None = None, *,
                      sei_fit: MetaFit | None = None, egger_lm=None, deleted=None, cumulated=None) -> dict:
    """Small-study tests, leave-one-out with influence, and the cumulative analysis in `ordering`,
    each when k allows it (analysis_settings.sections_at). The regression on sei, the classic Egger
    test and the refits may be given when computed already for many fits (metasr.stats.grouped)."""
    runs = sections_at(fit.k, small_study_min_k, ordering is not None)
    out = bias_dict(fit, sei_fit=sei_fit, egger_lm=egger_lm) if runs["small_study"] else {}
    if runs["sensitivity"]:
        out.update(sensitivity_dict(fit, ordering, order_by, deleted=deleted, cumulated=cumulated))
    elif runs["cumulative"]:
        from metasr.stats import sensitivity

        out["cumulative"] = sensitivity.cumulative(fit, ordering, order_by=order_by, fits=cumulated)
    return out
