"""An outcome's configured small-study and meta-regression analyses, as the pipeline stores them.

Both sections run the library's functions as they are (`bias`, `selection`, `metareg`,
`permutation`) on the outcome's inverse-variance data, under the settings and rules of
`metasr.analysis_settings`, and return JSON-ready dicts for `results/pooled/{outcome}.json`:
every configured method's result, or `{"skipped": reason}` for a method that did not run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metasr.analysis_settings import (
    HANDBOOK_META_REGRESSION,
    HANDBOOK_SMALL_STUDY,
    SMALL_STUDY_METHODS,
    formula_text,
    moderator_variables,
    sections_at,
)
from metasr.dependence import es_label
from metasr.errors import InputError
from metasr.stats import bias
from metasr.stats.models import MetaFit
from metasr.stats.tables import check_k

NOT_REQUESTED = "not requested (small_study.methods)"
NO_NULL = "the measure has no null effect, and {what} tests effects against 0"


def _messages(err: InputError) -> str:
    return "; ".join(p.message for p in err.problems)


# ---------------------------------------------------------------- small-study effects

def small_study_section(fit: MetaFit, settings: dict, has_null: bool, table_method: str | None = None) -> dict:
    """Each method of `settings["methods"]` on the intercept-only `fit`, or why it did not run.

    `table_method` (MH or PETO) says the outcome's own model has no regression form, so `fit` is
    the inverse-variance common-effect model of the same effects. `reported_egger` names the one
    Egger result to show (`bias.REPORTED_EGGER`: regtest with model rma and predictor sei)."""
    out: dict = {"reported_egger": bias.REPORTED_EGGER, "settings": settings,
                 "fit": {"method": fit.method, "test": fit.test}}
    if table_method:
        out["fit"]["note"] = (f"{table_method} has no regression form: these methods use the inverse-variance "
                              "common-effect model of the same effects")
    if not sections_at(fit.k, settings["min_k"], ordered=False)["small_study"]:
        return {"skipped": f"k = {fit.k} < {settings['min_k']}: small-study methods not run ({HANDBOOK_SMALL_STUDY})",
                **out}
    for method in SMALL_STUDY_METHODS:
        if method not in settings["methods"]:
            out[method] = {"skipped": NOT_REQUESTED}
        else:
            out.update(RUNNERS[method](fit, settings, has_null))
    return out


def _egger(fit: MetaFit, settings: dict, has_null: bool) -> dict:
    """The reported Egger test with its regression line (intercept = limit estimate, slope) and the
    limit estimate's CI, for the funnel plot; `egger_lm`, the classic form, for comparison."""
    egger = bias.egger_test(fit)
    if egger.get("pval") is not None:
        reg = bias.regtest(fit, model="rma", predictor="sei")
        egger.update(slope=reg["fit"]["beta"][1], limit_ci_lb=reg["ci_lb"], limit_ci_ub=reg["ci_ub"])
    return {"egger": egger, "egger_lm": bias.egger_lm(fit)}


def _begg(fit: MetaFit, settings: dict, has_null: bool) -> dict:
    return {"begg": bias.begg_test(fit)}


def _trimfill(fit: MetaFit, settings: dict, has_null: bool) -> dict:
    options = settings["trimfill"]
    return {"trimfill": bias.trimfill(fit, estimator=options["estimator"], side=options["side"])}


def _pet_peese(fit: MetaFit, settings: dict, has_null: bool) -> dict:
    if not has_null:
        return {"pet_peese": {"skipped": NO_NULL.format(what="PET's intercept")}}
    try:
        return {"pet_peese": bias.pet_peese(fit, model=settings["pet_peese"]["model"])}
    except InputError as err:
        return {"pet_peese": {"skipped": _messages(err)}}


def _selmodel(fit: MetaFit, settings: dict, has_null: bool) -> dict:
    from metasr.stats import selection

    options = settings["selmodel"]
    if not has_null:
        return {"selmodel": {"skipped": NO_NULL.format(what="a selection model's p-values")}}
    if options["type"] == "stepfun":
        sparse = _sparse_intervals(fit, options)
        if sparse:
            return {"selmodel": sparse}
    try:
        return {"selmodel": selection.selmodel(fit, type=options["type"], steps=options["steps"],
                                               alternative=options["alternative"])}
    except InputError as err:
        return {"selmodel": {"skipped": _messages(err)}}


def _sparse_intervals(fit: MetaFit, options: dict) -> dict | None:
    """{"skipped", "k_per_interval", "steps"} when an interval of p-values holds fewer than
    min_per_interval studies, else None."""
    from metasr.stats.selection import pvalues

    steps = sorted(set(float(s) for s in options["steps"]))
    steps += [] if steps[-1] == 1 else [1.0]
    interval = np.searchsorted(steps, pvalues(fit.yi, fit.vi, options["alternative"]), side="left")
    counts = np.bincount(interval, minlength=len(steps)).tolist()
    need = options["min_per_interval"]
    if min(counts) >= need:
        return None
    bounds = [0.0] + steps
    shown = ", ".join(f"{n} with {lo:g} < p ≤ {hi:g}" for n, lo, hi in zip(counts, bounds, bounds[1:], strict=False))
    return {"skipped": f"too few studies per interval of one-sided ({options['alternative']}) p-values: {shown}; "
                       f"the model needs at least {need} in each (small_study.selmodel.min_per_interval)",
            "k_per_interval": counts, "steps": steps}


RUNNERS = {"egger": _egger, "begg": _begg, "trimfill": _trimfill, "pet_peese": _pet_peese, "selmodel": _selmodel}


# ---------------------------------------------------------------- meta-regression

def meta_regression_section(table: pd.DataFrame, settings: dict, method: str, test: str, measure: str | None,
                            file=None, table_methods=()) -> dict:
    """The configured meta-regression on `table` (yi, vi and the moderator columns, rows in the
    order of the pooled studies): metafor's coefficients, QM, R2 and (if asked) permutation
    p-values, the studies it used and left out, and the bubble plots' predictions; or `skipped`."""
    from metasr.stats.metareg import design_matrix, fit_metareg, marginal_predictions, metareg_dict

    mods = list(settings["moderators"])
    fallback = not settings["method"] and method in table_methods
    model = "FE" if fallback else settings["method"] or method
    out: dict = {"formula": formula_text(mods), "settings": settings, "method": model, "test": test}
    if fallback:  # only an MH or Peto outcome without a method of its own for the meta-regression
        out["fit_note"] = f"{method} has no regression form: a common-effect (FE) meta-regression on the same effects"
    used, out["omitted"] = _rows_with_moderators(table, mods)
    out["k"] = len(used)
    rows = [int(r) for r in used["_row"]] if "_row" in used.columns else None
    try:
        X, names = design_matrix(used, mods, file, rows=rows)
        check_k(len(used), model, test, X.shape[1], file)
    except InputError as err:
        return {**out, "skipped": _messages(err)}
    n_coef, per = X.shape[1] - 1, settings["studies_per_coefficient"]
    if len(used) < per * n_coef:
        return {**out, "coef_names": names,
                "skipped": f"k = {len(used)} for {n_coef} moderator coefficient{'s' if n_coef > 1 else ''}: the "
                           f"meta-regression needs at least {per * n_coef} ({per} per coefficient, "
                           f"{HANDBOOK_META_REGRESSION})"}
    fit = fit_metareg(used["yi"].astype(float), used["vi"].astype(float), X, names, model, test, measure)
    out.update(metareg_dict(fit))
    out.update(study_ids=[_sid(used, i) for i in range(len(used))], yi=fit.yi.tolist(), vi=fit.vi.tolist(),
               weights=fit.weights.tolist(), moderators=marginal_predictions(fit, used, mods, rows))
    if settings["permutations"] is not None or settings["exact_permutations"]:
        out["permutest"] = _permutest(fit, settings)
    return out


def _rows_with_moderators(table: pd.DataFrame, mods: list, effect_sizes: bool = False
                          ) -> tuple[pd.DataFrame, list[dict]]:
    """(the rows with a value of every moderator, [{study_id, reason}] for the others; with
    `effect_sizes`, each also names the effect size when its study has others (`effect_size`:
    comparison, time point, es_id), since the study itself may stay in the model)."""
    variables = moderator_variables(mods)
    missing = {}
    for variable in variables:
        column = table[variable] if variable in table.columns else pd.Series([""] * len(table), index=table.index)
        missing[variable] = (column.isna() | (column.astype(str).str.strip() == "")).to_numpy()
    blank = np.logical_or.reduce(list(missing.values())) if missing else np.zeros(len(table), dtype=bool)
    omitted = []
    for i in np.flatnonzero(blank):
        left_out = {"study_id": _sid(table, int(i)),
                    "reason": f"no value of {' / '.join(v for v in variables if missing[v][i])}"}
        label = es_label(table.iloc[int(i)].to_dict()) if effect_sizes else ""
        omitted.append({**left_out, "effect_size": label} if label else left_out)
    return table[~blank].reset_index(drop=True), omitted


def meta_regression_dependent(table: pd.DataFrame, settings: dict, method: str, dep: dict, file=None,
                              test: str = "z") -> dict:
    """The configured meta-regression of dependent effect sizes (the multilevel or robust setting):
    the three-level model with the moderators (`rma.mv(yi, V, mods, random = ~ 1 | study/es_id)`),
    with robust its CR2 tests (Satterthwaite df per coefficient, HTZ for the moderators together,
    clubSandwich), the studies it used and left out, and the bubble plots' predictions (from the
    model's covariance of the coefficients) and weights (metafor's default for rma.mv: the diagonal
    of Sigma^-1). Without robust, `test` "t" gives rma.mv's t tests (df = k - p) and omnibus F.
    Its needs are counted in studies, not effect sizes. With every study holding one effect size
    it is the univariate meta-regression (`meta_regression_section`)."""
    from metasr.stats.blocks import Clusters
    from metasr.stats.dependent import study_of
    from metasr.stats.metareg import design_matrix, marginal_predictions
    from metasr.stats.multilevel import (
        clusters_per_column,
        fit_multilevel,
        marginal_covariance,
        robust_needs_two_studies,
        robust_of,
    )

    mods = list(settings["moderators"])
    model = settings["method"] or method
    test = "z" if dep["method"] == "robust" else test  # CR2's own t tests replace the model-based ones
    out: dict = {"formula": formula_text(mods), "settings": settings, "method": model, "test": test}
    if dep["method"] == "aggregate":
        return {**out, "skipped": "the meta-regression of aggregated effects is not run: with the multilevel or robust "
                                  "dependence setting it is the three-level model with the moderators"}
    used, out["omitted"] = _rows_with_moderators(table, mods, effect_sizes=True)
    clusters = Clusters.from_labels(study_of(used))
    if clusters.n_clusters and clusters.sizes.max() == 1:
        return meta_regression_section(table, settings, method, test, None, file)  # it lists the omitted itself
    out.update(model="three-level", k=len(used), k_studies=clusters.n_clusters)
    rows = [int(r) for r in used["_row"]] if "_row" in used.columns else None
    try:
        X, names = design_matrix(used, mods, file, rows=rows)
    except InputError as err:
        return {**out, "skipped": _messages(err)}
    n_coef, per = X.shape[1] - 1, settings["studies_per_coefficient"]
    if clusters.n_clusters < per * n_coef or len(used) <= X.shape[1]:
        return {**out, "coef_names": names,
                "skipped": f"{clusters.n_clusters} studies for {n_coef} moderator coefficient"
                           f"{'s' if n_coef > 1 else ''}: the meta-regression needs at least {per * n_coef} "
                           f"({per} per coefficient, {HANDBOOK_META_REGRESSION})"}
    yi, vi = used["yi"].to_numpy(float), used["vi"].to_numpy(float)
    try:
        fit = fit_multilevel(yi, vi, clusters, X, model, test, dep["rho"], names)
    except ValueError as err:
        return {**out, "coef_names": names, "skipped": f"the three-level model cannot be fitted: {err}"}
    out.update(fit.to_dict())
    if dep["method"] == "robust":
        thin = [name for name, n in zip(names, clusters_per_column(X, clusters), strict=True) if n < 2]
        if thin:
            return {**out, "skipped": robust_needs_two_studies("coefficient", thin)}
        robust = robust_of(fit)
        out["model_based"] = {key: out[key] for key in ("se", "stat", "pval", "ci_lb", "ci_ub", "QM", "QM_df",
                                                        "QM_pval")}
        out.update({key: robust[key] for key in ("se", "stat", "df", "pval", "ci_lb", "ci_ub", "QM", "QM_df",
                                                 "QM_pval")}, test="t", robust="CR2")
    weights = np.empty(len(yi))  # metafor's weights(fit) for rma.mv: the diagonal of Sigma^-1 (never negative)
    for members, blocks in marginal_covariance(fit).groups:
        weights[members] = np.diagonal(np.linalg.inv(blocks), axis1=1, axis2=2)
    out.update(study_ids=[_sid(used, i) for i in range(len(used))], yi=yi.tolist(), vi=vi.tolist(),
               weights=(100 * weights / weights.sum()).tolist(), moderators=marginal_predictions(fit, used, mods, rows))
    if settings["permutations"] is not None or settings["exact_permutations"]:
        out["permutest"] = {"skipped": "permutation tests are for models of independent effect sizes (metafor's "
                                       "permutest takes rma.uni fits)"}
    return out


def _permutest(fit: MetaFit, settings: dict) -> dict:
    from metasr.stats.permutation import ITER, permutest

    try:
        return permutest(fit, exact=settings["exact_permutations"], iter=settings["permutations"] or ITER,
                         seed=settings["seed"])
    except InputError as err:
        return {"skipped": _messages(err)}


def _sid(table: pd.DataFrame, i: int):
    if "study_id" not in table.columns:
        return None
    value = table["study_id"].iloc[i]
    return None if pd.isna(value) else str(value)
