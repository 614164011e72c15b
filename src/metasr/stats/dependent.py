"""Pooling an outcome whose studies contribute several effect sizes (metasr.dependence says how).

- multilevel / robust: the three-level model `rma.mv(yi, V, random = ~ 1 | study/es_id)` with
  V = vcalc(vi, study, rho) (metasr.stats.multilevel); robust replaces its standard errors, tests
  and intervals by CR2 ones with Satterthwaite df (metafor's `robust(fit, cluster, clubSandwich =
  TRUE)`), the prediction interval then uses that df as metafor's predict() does. Weights are
  metafor's row-sum weights (`weights(fit, type = "rowsum")`: each effect size's share of the
  estimate), so a study's weight is the sum of its effect sizes'.
- aggregate: metafor's `aggregate(escalc, cluster = study, rho)` (struct CS, weighted): per study
  yi = 1'W y / 1'W 1 and vi = 1 / 1'W 1 with W = V_study^-1, then the outcome's univariate model on
  the study-level effects.

What runs beside the main model, and why:
- rho sensitivity: the model refitted for each `rho_sensitivity` value (rho is assumed, not
  estimated; the report shows how much it matters);
- leave one study out (multilevel/robust: each study with all its effect sizes; aggregate: the
  univariate leave-one-out of the study-level effects), with at least 3 studies: dropping one effect
  size of a study would leave its correlated siblings in, so the unit of influence is the study;
- cumulative meta-analysis by study (`order_by`), from the second study on: with one study the
  variance between studies is not estimable; {"skipped": why} when a study has no order value;
- small-study effects, with at least 10 studies (Cochrane Handbook 13.3.5.4, counted in studies):
  for multilevel/robust Egger's regression test as the three-level model with the standard error
  as moderator, its slope tested with CR2 (the "Egger sandwich" test, which keeps its type I error
  with dependent effect sizes: Rodgers & Pustejovsky 2021, Psychol Methods 26:141); Begg's rank test
  and trim-and-fill assume independent effect sizes and are not run. Aggregated outcomes get the
  univariate tests on the study-level effects.
A refit whose studies all hold one effect size is the univariate model (the three-level model's
two variances are then not separable, and its estimate equals the univariate one with
tau2 = sigma2 between + within); it says so (`model_type`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from metasr import dependence
from metasr.analysis_settings import HANDBOOK_SMALL_STUDY, SMALL_STUDY_MIN_K, sections_at
from metasr.stats.blocks import Clusters, vcalc
from metasr.stats.inference import z_critical
from metasr.stats.models import fit_rma
from metasr.stats.multilevel import fit_multilevel, marginal_covariance, robust_of, subgroups_three_level
from metasr.stats.robust import robust_rma_uni
from metasr.stats.sections import bias_dict, model_dict, sensitivity_dict

NOT_IDENTIFIED = "every study holds one effect size: univariate model (tau2 = sigma2 between + within)"


# ---------------------------------------------------------------- aggregate

def aggregate(yi, vi, clusters: Clusters, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """metafor's aggregate.escalc(x, cluster, rho, struct = "CS", weighted = TRUE): one (yi, vi)
    per cluster, in the order of `clusters.labels`."""
    yi = np.asarray(yi, dtype=float)
    V = vcalc(vi, clusters, rho)
    y_out = np.empty(clusters.n_clusters)
    v_out = np.empty(clusters.n_clusters)
    for (members, _), (rows, blocks) in zip(clusters.by_size(), V.groups, strict=True):
        W = np.linalg.inv(blocks)
        ones = W.sum(axis=2)  # W 1 per cluster
        total = ones.sum(axis=1)
        y_out[members] = np.einsum("ns,ns->n", ones, yi[rows]) / total
        v_out[members] = 1.0 / total
    return y_out, v_out


# ---------------------------------------------------------------- one three-level fit

def _univariate_only(clusters: Clusters) -> bool:
    return bool(clusters.sizes.max() == 1)


@dataclass(frozen=True)
class Spec:
    """What every fit of a multilevel or robust outcome shares: the outcome's method (REML or ML)
    and test (z, or rma.mv's t with k - p df), the assumed rho, and CR2 inference (robust)."""

    method: str
    test: str
    rho: float
    robust: bool

    def fit(self, yi, vi, clusters: Clusters, X=None) -> dict:
        return fit_dependent(yi, vi, clusters, self.method, self.rho, self.robust, X, self.test)


def fit_dependent(yi, vi, clusters: Clusters, method: str, rho: float, robust: bool, X=None,
                  test: str = "z") -> dict:
    """The three-level model (or the univariate one when no study holds two effect sizes) with
    metafor's keys, tested with `test` (z or t); `robust` puts the CR2 inference in place of the
    model-based one (keeping the latter under `model_based`)."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if _univariate_only(clusters):
        univariate = fit_rma(yi, vi, method=method, test=test)
        out = univariate.to_dict()
        out.update(k=univariate.k, n_clusters=clusters.n_clusters, model_type="univariate", model_note=NOT_IDENTIFIED,
                   test=test)
        if robust:
            _use_robust(out, robust_rma_uni(univariate, clusters))
        return out
    fit = fit_multilevel(yi, vi, clusters, X, method, test, rho)
    out = fit.to_dict()
    out.update(model_type="three-level", test=test)
    if robust:
        _use_robust(out, robust_of(fit))
    return out


def _use_robust(out: dict, rob: dict) -> None:
    """metafor's robust(fit, cluster, clubSandwich = TRUE): CR2 se, t test with Satterthwaite df,
    and predict()'s interval with that df (metasr.stats.robust.with_prediction)."""
    out["model_based"] = {key: out[key] for key in ("test", "df", "se", "stat", "pval", "ci_lb", "ci_ub", "pi_lb",
                                                    "pi_ub") if key in out}
    out["robust"] = dict(rob)
    out.update({key: rob[key] for key in ("se", "stat", "pval", "ci_lb", "ci_ub", "df", "pi_lb", "pi_ub")}, test="t")


def rowsum_weights(yi, vi, clusters: Clusters, method: str, rho: float, model: dict) -> np.ndarray:
    """Percent weights: rows of W = Sigma^-1 summed (metafor's weights(fit, type = "rowsum"))."""
    if model.get("model_type") == "univariate":
        w = 1.0 / (np.asarray(vi, float) + model["tau2"])
        return 100 * w / w.sum()
    fit = fit_multilevel(yi, vi, clusters, None, method, "z", rho, sigma2=model["sigma2"])
    w = np.empty(len(yi))
    for rows, blocks in marginal_covariance(fit).groups:
        w[rows] = np.linalg.solve(blocks, np.ones(rows.shape)[..., None])[..., 0]  # Sigma_c^-1 1 per cluster
    return 100 * w / w.sum()


# ---------------------------------------------------------------- an outcome

def study_of(table: pd.DataFrame) -> list[str]:
    return [str(s) for s in table["study_id"]]


def pool_dependent(table: pd.DataFrame, method: str, test: str, dep: dict, order_by: str | None,
                   measure: str | None = None, small_study_min_k: int = SMALL_STUDY_MIN_K) -> dict:
    """The pooled-JSON parts of a multilevel, robust or aggregate outcome (see the module docstring):
    model, weights, by_study, rho_sensitivity, small_study, sensitivity. The sections run by
    analysis_settings.sections_at, counting studies (clusters), not effect sizes."""
    clusters = Clusters.from_labels(study_of(table))
    order = _study_order(table, clusters, order_by)
    runs = sections_at(clusters.n_clusters, small_study_min_k, bool(order_by))
    if dep["method"] == "aggregate":
        return _pool_aggregated(table, clusters, method, test, dep, order_by, measure, runs, order, small_study_min_k)
    spec = Spec(method, test, dep["rho"], dep["method"] == "robust")
    return _pool_multilevel(table, clusters, spec, dep, order_by, runs, order, small_study_min_k)


def _too_few_studies(n: int, small_study_min_k: int) -> dict:
    return {"skipped": f"{n} studies < {small_study_min_k}: small-study tests not run ({HANDBOOK_SMALL_STUDY})"}


def _pool_multilevel(table, clusters, spec: Spec, dep, order_by, runs: dict, order, small_study_min_k: int) -> dict:
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    model = spec.fit(yi, vi, clusters)
    weights = rowsum_weights(yi, vi, clusters, spec.method, spec.rho, model)
    small_study = (_egger_sandwich(yi, vi, clusters, spec.method, spec.rho) if runs["small_study"]
                   else _too_few_studies(clusters.n_clusters, small_study_min_k))
    out = {"model": model, "weights": weights, "common_effect": None,
           "by_study": _by_study(table, clusters, weights),
           "rho_sensitivity": [_rho_row(yi, vi, clusters, replace(spec, rho=rho)) for rho in dep["rho_sensitivity"]],
           "small_study": small_study,
           "sensitivity": _study_sensitivity(table, clusters, spec, order_by, runs, order)}
    return out


def refit_studies(table: pd.DataFrame, method: str, test: str, dep: dict, measure: str | None = None,
                  file=None) -> dict:
    """The outcome's model, as pool_dependent fits it, on the rows of some whole studies (the
    sensitivity analysis without the studies at high risk of bias); InputError when too few studies
    are left for it."""
    from metasr.stats.tables import check_k

    clusters = Clusters.from_labels(study_of(table))
    check_k(clusters.n_clusters, method, test, 1, file, what="studies: ")
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    if dep["method"] == "aggregate":
        fit = fit_rma(*aggregate(yi, vi, clusters, dep["rho"]), method=method, test=test, measure=measure)
        return {**fit.to_dict(), "k": fit.k, "model_type": "aggregated"}
    return Spec(method, test, dep["rho"], dep["method"] == "robust").fit(yi, vi, clusters)


def _rho_row(yi, vi, clusters, spec: Spec) -> dict:
    model = spec.fit(yi, vi, clusters)
    row: dict[str, Any] = {"rho": float(spec.rho)}
    row.update({key: model.get(key) for key in ("estimate", "se", "pval", "ci_lb", "ci_ub", "sigma2", "tau2", "I2",
                                                "df", "model_type") if key in model})
    return row


def _by_study(table, clusters: Clusters, weights) -> list[dict]:
    """Per study: id, label, year, its effect sizes (k) and its weight (the sum of theirs)."""
    out = []
    first: dict[str, Any] = {}
    for i, sid in enumerate(study_of(table)):
        first.setdefault(sid, i)
    for code, sid in enumerate(clusters.labels):
        rows = np.flatnonzero(clusters.codes == code)
        rec = table.iloc[first[sid]]
        out.append({"study_id": sid, "label": _cell(rec.get("label")) or sid, "year": _cell(rec.get("year")),
                    "k": int(len(rows)), "weight": float(np.sum(weights[rows]))})
    return out


def _cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ---------------------------------------------------------------- small-study effects

def _egger_sandwich(yi, vi, clusters: Clusters, method: str, rho: float) -> dict:
    if _univariate_only(clusters):
        return {"skipped": "every study holds one effect size: pool without a dependence setting for the "
                           "univariate small-study tests"}
    sei = np.sqrt(vi)
    X = np.column_stack([np.ones(len(yi)), sei])
    fit = fit_multilevel(yi, vi, clusters, X, method, "z", rho, ["intrcpt", "sei"])
    rob = robust_of(fit)
    return {"egger_robust": {
        "test": "Egger's regression test with CR2 (three-level model, moderator sqrt(vi); Rodgers & "
                "Pustejovsky 2021)",
        "stat": rob["stat"][1], "df": rob["df"][1], "pval": rob["pval"][1], "slope": rob["estimate"][1],
        "slope_se": rob["se"][1], "limit_estimate": rob["estimate"][0], "limit_ci_lb": rob["ci_lb"][0],
        "limit_ci_ub": rob["ci_ub"][0]},
        "not_run": "Begg's rank correlation and trim-and-fill assume independent effect sizes"}


# ---------------------------------------------------------------- leave one study out, cumulative

def _study_sensitivity(table, clusters: Clusters, spec: Spec, order_by, runs: dict, order) -> dict | None:
    """Leave one study out and add studies in `order` (_study_order), as `runs` says."""
    n = clusters.n_clusters
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    labels = list(clusters.labels)
    out: dict[str, dict] = {}
    if runs["sensitivity"]:
        deleted = [_subset_fit(yi, vi, clusters, clusters.codes != c, spec) for c in range(n)]
        out["leave1out"] = {"unit": "study", "study_id": labels, **_columns(deleted)}
    if runs["cumulative"] and order is None:
        out["cumulative"] = _cumulative_skipped(table, order_by)
    elif runs["cumulative"]:
        codes = [int(c) for c in order]
        cumulated = [None] + [_subset_fit(yi, vi, clusters, np.isin(clusters.codes, codes[:j + 1]), spec)
                              for j in range(1, n)]
        out["cumulative"] = {"unit": "study", "order_by": order_by, "study_id": [labels[c] for c in codes],
                             "note": "from the second study on: with one study the variance between studies "
                                     "is not estimable", **_columns(cumulated)}
    return out or None


def _subset_fit(yi, vi, clusters: Clusters, keep, spec: Spec) -> dict:
    sub = Clusters.from_labels([clusters.labels[c] for c in clusters.codes[keep]])
    return spec.fit(yi[keep], vi[keep], sub)


KEYS = ("estimate", "se", "pval", "ci_lb", "ci_ub", "I2")


def _columns(fits: Sequence[dict | None]) -> dict:
    out = {key: [None if f is None else f.get(key) for f in fits] for key in KEYS}
    out["sigma2"] = [None if f is None else f.get("sigma2") for f in fits]
    out["tau2"] = [None if f is None else f.get("tau2") for f in fits]
    out["k"] = [None if f is None else f.get("k") for f in fits]
    return out


def _cumulative_skipped(table, order_by: str) -> dict:
    """Why there is no cumulative analysis by study, as a univariate outcome says it (each study's
    first row holds its order value, as _study_order reads it)."""
    from metasr.stats.tables import order_skip_reason

    first = table.assign(study_id=study_of(table)).drop_duplicates("study_id")
    return {"unit": "study", "order_by": order_by, "skipped": order_skip_reason(first, order_by)}


def _study_order(table, clusters: Clusters, order_by: str | None):
    """Cluster codes sorted by each study's `order_by` value (its first row's); None without one."""
    if not order_by or order_by not in table.columns:
        return None
    first: dict[str, Any] = {}
    for sid, value in zip(study_of(table), table[order_by], strict=True):
        first.setdefault(sid, value)
    values = [first[label] for label in clusters.labels]
    numeric = pd.to_numeric(pd.Series(values), errors="coerce")
    if numeric.isna().any():
        if any(str(v).strip() in ("", "nan", "None") for v in values):
            return None
        return np.argsort(np.array([str(v) for v in values]), kind="stable")
    return np.argsort(numeric.to_numpy(float), kind="stable")


# ---------------------------------------------------------------- aggregate, then univariate

def _pool_aggregated(table, clusters: Clusters, method, test, dep, order_by, measure, runs: dict, order,
                     small_study_min_k: int) -> dict:
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    y_agg, v_agg = aggregate(yi, vi, clusters, dep["rho"])
    fit = fit_rma(y_agg, v_agg, method=method, test=test, measure=measure)
    common = fit_rma(y_agg, v_agg, method="FE", test="z", measure=measure)
    crit = z_critical()
    by_study = _by_study(table, clusters, np.zeros(len(yi)))
    for entry, y, v, w in zip(by_study, y_agg, v_agg, fit.weights, strict=True):
        se = math.sqrt(v)
        entry.update(yi=float(y), vi=float(v), sei=se, ci_lb=float(y - crit * se), ci_ub=float(y + crit * se),
                     weight=float(w), aggregated=entry["k"] > 1)
    n = clusters.n_clusters
    model = model_dict(fit)
    model.update(k=fit.k, model_type="aggregated")
    out: dict[str, Any] = {"model": model, "common_effect": model_dict(common), "weights": None,
                           "by_study": by_study,
                           "rho_sensitivity": [_aggregate_rho_row(yi, vi, clusters, method, test, measure, rho)
                                               for rho in dep["rho_sensitivity"]]}
    out["small_study"] = bias_dict(fit) if runs["small_study"] else _too_few_studies(n, small_study_min_k)
    sens = {}
    if runs["sensitivity"]:
        sens = sensitivity_dict(fit)
        sens["leave1out"] = {"unit": "study", "study_id": list(clusters.labels), **sens["leave1out"]}
        sens["influence"] = {"unit": "study", "study_id": list(clusters.labels), **sens["influence"]}
    if runs["cumulative"] and order is None:
        sens["cumulative"] = _cumulative_skipped(table, order_by)
    elif runs["cumulative"]:
        from metasr.stats import sensitivity

        cum = sensitivity.cumulative(fit, np.argsort(order, kind="stable"), order_by=order_by)
        cum["study_id"] = [clusters.labels[i] for i in cum["study_index"]]
        cum["unit"] = "study"
        sens["cumulative"] = cum
    out["sensitivity"] = sens or None
    return out


def _aggregate_rho_row(yi, vi, clusters, method, test, measure, rho) -> dict:
    y_agg, v_agg = aggregate(yi, vi, clusters, rho)
    fit = fit_rma(y_agg, v_agg, method=method, test=test, measure=measure)
    m = fit.to_dict()
    return {"rho": float(rho), **{key: m.get(key) for key in ("estimate", "se", "pval", "ci_lb", "ci_ub", "tau2",
                                                              "I2")}}


# ---------------------------------------------------------------- subgroups

def subgroups_dependent(table: pd.DataFrame, groups: Sequence[str], method: str, test: str, dep: dict,
                        measure: str | None = None) -> dict:
    """A subgroup analysis of dependent effect sizes (`groups`: each effect size's subgroup), as
    the outcome's dependence setting pools them:
    - multilevel / robust: multilevel.subgroups_three_level (CR2 and HTZ with robust); a subgroup
      may vary within a study. With every study holding one effect size the outcome's model is
      univariate, and so is its subgroup analysis (metasr.stats.subgroup: one model per subgroup).
    - aggregate: metasr.stats.subgroup on the study-level effects, which needs one subgroup per study.
    {"skipped": reason} where the data do not allow it."""
    from metasr.stats.subgroup import subgroup_analysis

    groups = [str(g) for g in groups]
    clusters = Clusters.from_labels(study_of(table))
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    if dep["method"] == "aggregate" or _univariate_only(clusters):
        per_study: dict[int, set[str]] = {}
        for code, g in zip(clusters.codes, groups, strict=True):
            per_study.setdefault(int(code), set()).add(g)
        mixed = [clusters.labels[c] for c, gs in per_study.items() if len(gs) > 1]
        if mixed:
            return {"skipped": f"the subgroup varies within {_some_studies(mixed)}: aggregated effects need one "
                               "subgroup per study (the multilevel or robust setting allows more)"}
        y_agg, v_agg = aggregate(yi, vi, clusters, dep["rho"])
        study_groups = [next(iter(per_study[c])) for c in range(clusters.n_clusters)]
        return {"model": "univariate", **subgroup_analysis(y_agg, v_agg, study_groups, method, test, measure)}
    return subgroups_three_level(yi, vi, clusters, groups, method, dep["rho"], dep["method"] == "robust", test)


def _some_studies(labels: list, shown: int = 5) -> str:
    more = len(labels) - shown
    names = ", ".join(str(label) for label in labels[:shown])
    return ("study " if len(labels) == 1 else "studies ") + names + (f" and {more} more" if more > 0 else "")


def dependence_json(dep: dict, clusters: Clusters | None = None) -> dict:
    """The pooled JSON's `dependence`: the method (and what it means), rho, multi-arm handling."""
    out = {"method": dep["method"], "description": dependence.METHODS[dep["method"]],
           "multi_arm": dep["multi_arm"]}
    if dep["method"] != "independent":
        out.update(rho=dep["rho"], rho_sensitivity=list(dep["rho_sensitivity"]))
    return out
