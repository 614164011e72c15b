"""Dependent effect sizes: how an outcome's several rows per study are handled, and how they count.

A report (bibliographic record) may hold several studies; a study may contribute several effect
sizes to one outcome (comparisons of a multi-arm trial, time points, measures, `es_id`). Pooling
such rows as if independent gives confidence intervals that are too narrow, so an outcome whose
sheet has several usable rows for one study must say how they are handled
(`outcomes.<id>.dependence`, or `defaults.dependence`):

- `multilevel`: metafor's `rma.mv(yi, V, random = ~ 1 | study/es_id)` (metasr.stats.multilevel),
  with V = vcalc(vi, study, rho): sampling errors of one study correlated with a constant rho;
- `robust`: the same model as working model, inference by CR2 cluster-robust standard errors with
  Satterthwaite degrees of freedom (clubSandwich's recommendation);
- `aggregate`: effect sizes combined within each study first (metafor's `aggregate(escalc,
  cluster = study, rho)`: inverse-variance weights with V from vcalc), then pooled with the
  outcome's univariate model;
- `independent`: the reviewers state that the rows are independent (separate samples): pooled
  as separate effect sizes with the outcome's univariate model.

Multi-arm trials: a group shared by several comparisons of a study (`shared_group` in the sheet)
is split evenly between them (`split_shared`, Cochrane Handbook 23.3.4: continuous outcomes keep
mean and SD and divide n; events divide events and n), or kept whole (`correlated`) so that the
model's rho carries the correlation.

This module holds the choices (one registry: the config schema's enums are checked against it),
the parse-time check, and the counts every consumer uses: studies, effect sizes, participants.
No numpy: it is imported at parse time.
"""

from __future__ import annotations

from metasr import measures
from metasr.errors import Problem

METHODS = {
    "multilevel": "three-level model (metafor's rma.mv with random effects for studies and for effect sizes "
                  "within studies; sampling errors within a study correlated with rho)",
    "robust": "three-level model as working model with CR2 cluster-robust inference (clubSandwich; "
              "Satterthwaite degrees of freedom)",
    "aggregate": "effect sizes combined within each study first (metafor's aggregate(): inverse-variance "
                 "weights with the sampling covariance of rho), then pooled with the outcome's model",
    "independent": "the rows are independent samples (the reviewers say so): pooled as separate effect sizes",
}
# Methods that fit the three-level model (and so take its REML/ML and z/t).
MULTILEVEL_METHODS = ("multilevel", "robust")
MULTI_ARM = {
    "split_shared": "a shared group's participants are divided evenly between its comparisons (Cochrane "
                    "Handbook 23.3.4: means and SDs kept, n divided; events and n divided)",
    "correlated": "a shared group is kept whole in each comparison; the correlation it causes is carried by rho",
}
DEFAULT_RHO = 0.5
DEFAULT_RHO_SENSITIVITY = (0.0, 0.2, 0.4, 0.6, 0.8)
DEFAULT_MULTI_ARM = "split_shared"
# The three-level model is fitted by these of the outcome's methods and tested with these tests
# (metasr.stats.multilevel's, and `metasr pool --cluster`'s).
MULTILEVEL_FIT_METHODS = ("REML", "ML")
MULTILEVEL_TESTS = ("z", "t")


def settings(outcome_cfg: dict) -> dict | None:
    """The outcome's dependence settings with their defaults, or None when it has none."""
    given = (outcome_cfg or {}).get("dependence")
    if not given:
        return None
    return {"method": given["method"], "rho": float(given.get("rho", DEFAULT_RHO)),
            "rho_sensitivity": [float(r) for r in given.get("rho_sensitivity", DEFAULT_RHO_SENSITIVITY)],
            "multi_arm": given.get("multi_arm", DEFAULT_MULTI_ARM)}


def pooled_as_dependent(dep: dict | None) -> bool:
    """Whether an outcome with these settings pools its rows as dependent effect sizes."""
    return dep is not None and dep["method"] != "independent"


def schema_enums() -> dict[str, dict[tuple[str, ...], list]]:
    """{schema file: {path to a property: its enum}} this registry decides (tests/test_dependence.py)."""
    dep = ("$defs", "dependence", "properties")
    return {"config.schema.yaml": {dep + ("method",): list(METHODS), dep + ("multi_arm",): list(MULTI_ARM)}}


def config_problems(outcome_id: str, outcome: dict, source: str, table_methods) -> list[Problem]:
    """What a schema cannot say about an outcome's dependence settings."""
    dep = settings(outcome)
    if dep is None:
        return []
    key = f"outcomes.{outcome_id}.dependence"
    problems = []
    method = outcome.get("method")
    if dep["method"] in MULTILEVEL_METHODS and method not in MULTILEVEL_FIT_METHODS:
        problems.append(Problem(
            message=f"dependence method {dep['method']} fits the three-level model by REML or ML, not {method}",
            file=source, key=f"outcomes.{outcome_id}.method", value=method, rule="dependence-method",
            hint="set the outcome's method to REML (or ML), or choose dependence method aggregate"))
    test = outcome.get("test")
    if dep["method"] in MULTILEVEL_METHODS and test not in (None, *MULTILEVEL_TESTS):
        problems.append(Problem(
            message=f"the Knapp-Hartung test ({test}) is for univariate models; the three-level model tests with z "
                    "or t (rma.mv's t test, df = k - p)",
            file=source, key=f"outcomes.{outcome_id}.test", value=test, rule="dependence-method",
            hint="use test z or t, or dependence method robust for small-sample (CR2, Satterthwaite) inference"))
    if dep["method"] == "aggregate" and method in table_methods:
        problems.append(Problem(
            message=f"aggregated effect sizes are pooled by inverse variance, not {method}",
            file=source, key=f"outcomes.{outcome_id}.method", value=method, rule="dependence-method",
            hint="use REML, DL, FE, ... with dependence method aggregate"))
    if dep["multi_arm"] == "correlated" and dep["method"] == "independent":
        problems.append(Problem(
            message="a shared group kept whole ('correlated') makes the comparisons dependent, but the method "
                    "says they are independent", file=source, key=f"{key}.multi_arm", value="correlated",
            rule="dependence-multi-arm",
            hint="use multi_arm split_shared, or method multilevel, robust or aggregate"))
    return problems


def rho_too_low(rho: float, largest: int) -> bool:
    """Whether a constant correlation rho leaves the sampling covariance of a cluster of `largest`
    effect sizes not positive definite: its correlation matrix's smallest eigenvalue is
    1 + (largest - 1) rho, so rho must exceed -1/(largest - 1) (any rho in (-1, 1) fits clusters of
    one or two)."""
    return largest > 1 and 1 + (largest - 1) * rho <= 0


def rho_too_low_message(rho: float, what: str, label: str, largest: int) -> str:
    return (f"rho = {rho:g} makes the sampling covariance of {what} '{label}' ({largest} effect sizes) not positive "
            f"definite (rho must exceed -1/(n - 1) for a {what} of n, here {-1 / (largest - 1):.4g})")


def rho_problems(outcome_id: str, outcome_cfg: dict, sheet: str, rows_by_study: dict[str, list[int]],
                 source: str = "config") -> list[Problem]:
    """An assumed rho (or a rho of the sensitivity analysis) too negative for the outcome's
    largest study (rho_too_low): the three-level model and aggregation need a positive definite
    sampling covariance, so the run stops here, naming the setting."""
    dep = settings(outcome_cfg)
    if not pooled_as_dependent(dep) or not rows_by_study:
        return []
    assert dep is not None
    study, rows = max(sorted(rows_by_study.items()), key=lambda item: len(item[1]))
    key = f"outcomes.{outcome_id}.dependence"
    given = [(dep["rho"], f"{key}.rho")] + [(rho, f"{key}.rho_sensitivity") for rho in dep["rho_sensitivity"]]
    return [Problem(message=rho_too_low_message(rho, "study", study, len(rows)),
                    file=source, key=where, value=f"{rho:g}", rule="dependence-rho",
                    hint=f"use a rho above {-1 / (len(rows) - 1):.4g} (a negative correlation is only possible "
                         f"within small studies; sheet {sheet}, rows {', '.join(str(r) for r in sorted(rows))})")
            for rho, where in given if rho_too_low(rho, len(rows))]


def choices_text() -> str:
    return "; ".join(f"{name}: {what}" for name, what in METHODS.items())


def undeclared_problems(outcome_id: str, sheet: str, rows_by_study: dict[str, list[int]],
                        source: str = "config") -> list[Problem]:
    """One problem per study with several usable rows in an outcome that does not say how
    dependent effect sizes are handled."""
    problems = []
    for study, rows in sorted(rows_by_study.items()):
        if len(rows) < 2:
            continue
        shown = ", ".join(str(r) for r in sorted(rows))
        problems.append(Problem(
            message=f"study '{study}' has {len(rows)} usable rows (sheet rows {shown}) in outcome '{outcome_id}', "
                    f"and {source} does not say how dependent effect sizes are handled: they would be pooled as "
                    "if independent (confidence intervals too narrow)",
            file=sheet, column="study_id", value=study, key=f"outcomes.{outcome_id}.dependence",
            rule="dependence-declared",
            hint=f"set outcomes.{outcome_id}.dependence.method (or defaults.dependence.method) to one of "
                 f"{choices_text()}"))
    return problems


# ---------------------------------------------------------------- counts

def study_count(pooled: dict) -> int:
    """Studies in an outcome's results (`k_studies`; results without it have one row per study: k)."""
    if pooled.get("k_studies") is not None:
        return int(pooled["k_studies"])
    return int(pooled.get("k") or 0)


def weighted_studies(pooled: dict) -> list[dict]:
    """The entries that carry an outcome's weights: its studies (`by_study`: an aggregated outcome
    weights studies, not effect sizes), else its rows."""
    return pooled.get("by_study") or pooled.get("studies") or []


def effect_size_count(pooled: dict) -> int:
    return int(pooled.get("k") or 0)


def counts_text(pooled: dict, inner: bool = False) -> str:
    """'5 studies' or '5 studies (12 effect sizes)' ('5 studies, 12 effect sizes' inside brackets)."""
    n, k = study_count(pooled), effect_size_count(pooled)
    text = f"{n} stud{'y' if n == 1 else 'ies'}"
    if k == n:
        return text
    sizes = f"{k} effect size{'s' if k != 1 else ''}"
    return f"{text}, {sizes}" if inner else f"{text} ({sizes})"


ES_KEYS = ("comparison", "timepoint", "es_id")  # what tells a study's effect sizes apart


def es_labels(effect_sizes: list[dict]) -> list[str]:
    """The labels of one study's effect sizes by what differs between them only: a comparison all
    share (e.g. the one `init --from-csv` writes for a table without one) says nothing there."""
    def text(row: dict, key: str) -> str:
        value = row.get(key)
        return "" if value is None else str(value).strip()

    differing = [key for key in ES_KEYS if len({text(row, key) for row in effect_sizes}) > 1]
    return [es_label({key: row.get(key) for key in differing or ES_KEYS}) for row in effect_sizes]


def es_label(study: dict) -> str:
    """What tells one effect size of a study from its others: comparison, time point, es_id."""
    parts = []
    for key in ES_KEYS:
        value = study.get(key)
        text = "" if value is None else str(value).strip()
        if text and text.lower() != "nan" and text not in parts:
            parts.append(text)
    return ", ".join(parts)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def _arm_sizes(row: dict) -> tuple[float | None, float | None, float | None]:
    """(group 1, group 2, single group) sizes of a pooled row, in metafor's columns."""
    def size(n, a, b):
        value = _number(row.get(n))
        if value is None and _number(row.get(a)) is not None and _number(row.get(b)) is not None:
            value = _number(row.get(a)) + _number(row.get(b))
        return value

    return size("n1i", "ai", "bi"), size("n2i", "ci", "di"), measures.study_size(row, "ni")


def study_participants(rows: list[dict]) -> float | None:
    """Participants of one study from its pooled rows, each participant counted once.

    Rows at one time point and with one es_id are different comparisons: their groups are
    different participants, except a shared group (`shared_group`), counted once (whole: the sum
    of its split parts, or its size when kept whole). Rows at other time points or with other
    es_ids measure the same participants again: the study counts its largest such slice.
    None when a row has no group sizes."""
    slices: dict[tuple, float] = {}
    shared: dict[tuple, dict] = {}
    for row in rows:
        n1, n2, single = _arm_sizes(row)
        if n1 is not None and n2 is not None:
            sizes = {1: n1, 2: n2}
        elif single is not None:
            sizes = {0: single}
        else:
            return None
        key = (str(row.get("timepoint") or ""), str(row.get("es_id") or ""))
        group = _number(row.get("shared_group"))
        if group in (1.0, 2.0) and int(group) in sizes:
            g = int(group)
            split = _number(row.get("shared_split"))
            whole = shared.setdefault(key + (g,), {"sum": 0.0, "max": 0.0, "split": False})
            whole["sum"] += sizes[g]
            whole["max"] = max(whole["max"], sizes[g])
            whole["split"] = whole["split"] or bool(split and split > 1)
            sizes = {k: v for k, v in sizes.items() if k != g}
        slices[key] = slices.get(key, 0.0) + sum(sizes.values())
    for (time, es, _), whole in shared.items():
        slices[(time, es)] = slices.get((time, es), 0.0) + (whole["sum"] if whole["split"] else whole["max"])
    return max(slices.values()) if slices else None


def participants(pooled: dict) -> int | None:
    """Participants of an outcome's pooled studies, each study's participants counted once."""
    by_study: dict[str, list[dict]] = {}
    for row in pooled.get("studies") or []:
        by_study.setdefault(str(row.get("study_id")), []).append(row)
    if not by_study:
        return None
    total = 0.0
    for rows in by_study.values():
        n = study_participants(rows)
        if n is None:
            return None
        total += n
    return int(round(total))


