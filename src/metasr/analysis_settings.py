"""Settings of an outcome's optional analyses: small-study effects and meta-regression.

The config's `small_study:` and `meta_regression:` (under `defaults:` or an outcome) are merged
with the defaults here, which follow metafor 3.8-1 and the Cochrane Handbook:

- Small-study methods run only from `min_k` = 10 studies (Handbook 13.3.5.4: with fewer, the tests
  have too little power to tell chance from real asymmetry). metafor itself runs them from k = 3.
- A step-function selection model needs studies in every interval of p-values (metafor refuses an
  empty interval); a delta estimated from 3 or fewer p-values is unstable (the weightr package warns
  then), so every interval must hold `min_per_interval` = 4 studies.
- PET-PEESE and selection models test effects against 0: a measure without a null (proportions,
  incidence rates) gets neither.
- Meta-regression needs `studies_per_coefficient` = 10 studies per moderator coefficient (Handbook
  10.11.5.1: "at least ten studies for each characteristic modelled").
- Leave-one-out and influence analyses run from RISK_OF_BIAS_SENSITIVITY = True
SENSITIVITY_MIN_K = 3 studies (each refit keeps
  two); a cumulative analysis from CUMULATIVE_MIN_K = 2 (a living review wants to see how the
  estimate moved as studies arrived).

- The sensitivity analysis without the studies at high risk of bias (Cochrane Handbook 7.6.2, 8.8)
  runs by default wherever the studies sheet records risk of bias (`risk_of_bias_sensitivity`,
  metasr.stats.rob_sensitivity).

These are the rules of `metasr pool` and of the pipeline alike (`sections_at`).

No numpy here: the Snakefile asks `bubble_planned` at parse time which outcomes get a bubble plot.
"""

from __future__ import annotations

import copy
from typing import Any

from metasr.errors import Problem

SMALL_STUDY_METHODS = ("egger", "begg", "trimfill", "pet_peese", "selmodel")
SMALL_STUDY_MIN_K = 10
SMALL_STUDY_DEFAULTS = {
    "min_k": SMALL_STUDY_MIN_K,
    "methods": list(SMALL_STUDY_METHODS),
    "trimfill": {"estimator": "L0", "side": None},
    "pet_peese": {"model": "lm"},
    "selmodel": {"type": "stepfun", "steps": [0.025], "alternative": "greater", "min_per_interval": 4},
}
META_REGRESSION_DEFAULTS: dict[str, Any] = {
    "moderators": [],
    "method": None,                  # None: the outcome's method (MH/PETO outcomes: FE)
    "studies_per_coefficient": 10,
    "permutations": None,            # None: no permutation test
    "exact_permutations": False,
    "seed": 1,
}
RISK_OF_BIAS_SENSITIVITY = True
SENSITIVITY_MIN_K = 3
CUMULATIVE_MIN_K = 2
SMALL_STUDY_LOWEST_MIN_K = 3  # the lowest min_k allowed: a regression on sei needs three studies
# Columns of the effect table a moderator cannot be: the effects themselves and the study key.
NOT_MODERATORS = ("study_id", "yi", "vi", "sei", "usable")
HANDBOOK_SMALL_STUDY = "Cochrane Handbook 13.3.5.4"
HANDBOOK_META_REGRESSION = "Cochrane Handbook 10.11.5.1"


def sections_at(k: int, small_study_min_k: int, ordered: bool) -> dict[str, bool]:
    """Which optional sections an intercept-only analysis of k studies runs: small-study tests,
    leave-one-out with influence, and (when an order is given) the cumulative analysis."""
    return {"small_study": k >= small_study_min_k, "sensitivity": k >= SENSITIVITY_MIN_K,
            "cumulative": ordered and k >= CUMULATIVE_MIN_K}


def merged(defaults: dict, given: dict | None) -> dict:
    """`given` over `defaults`, key by key into nested sections (lists are replaced whole)."""
    out = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def risk_of_bias_sensitivity(outcome_cfg: dict) -> bool:
    """Whether the outcome gets the analysis without its studies at high risk of bias (default:
    yes, when the studies sheet records risk of bias)."""
    return bool(outcome_cfg.get("risk_of_bias_sensitivity", RISK_OF_BIAS_SENSITIVITY))


def small_study_settings(outcome_cfg: dict) -> dict:
    """The outcome's small-study settings with every default filled in."""
    return merged(SMALL_STUDY_DEFAULTS, outcome_cfg.get("small_study"))


def meta_regression_settings(outcome_cfg: dict) -> dict | None:
    """The outcome's meta-regression settings with defaults, or None when it asks for none."""
    given = outcome_cfg.get("meta_regression")
    if not given or not given.get("moderators"):
        return None
    return merged(META_REGRESSION_DEFAULTS, given)


def formula_text(moderators) -> str:
    """The moderator terms as one formula, as `metasr pool --mods` and R write it."""
    return " + ".join(str(m).strip() for m in moderators)


def moderator_variables(moderators) -> list[str]:
    """The columns a moderator formula reads, in order (ValueError for a term it cannot read)."""
    from metasr.stats import formula  # pure Python: no numpy at parse time

    return list(dict.fromkeys(name for term in formula.parse(list(moderators)) for name, _ in term))


def sheet_columns(outcome_cfg: dict) -> list[str]:
    """The columns the outcome's sheet may hold besides its schema's: its subgroup and the
    variables of its meta-regression, as characteristics of each effect size. Studies whose effect
    sizes differ in them (the kind of outcome measured, the comparison group) need them per row;
    characteristics of whole studies go in the studies sheet. An unreadable formula gives none
    (the config check reports it)."""
    columns = [str(outcome_cfg["subgroup"])] if outcome_cfg.get("subgroup") else []
    return list(dict.fromkeys(columns + outcome_moderator_variables(outcome_cfg)))


def outcome_moderator_variables(outcome_cfg: dict) -> list[str]:
    """The columns the outcome's meta-regression reads; none when it has none, or when its formula
    cannot be read (the config check reports that)."""
    terms = (outcome_cfg.get("meta_regression") or {}).get("moderators")
    try:
        return moderator_variables(terms) if terms else []
    except ValueError:
        return []


def bubble_planned(outcome_cfg: dict, usable_studies: int) -> bool:
    """Whether the outcome gets a bubble plot: it asks for a meta-regression and has enough usable
    studies for one moderator coefficient (the plot then shows the model, or says why not)."""
    settings = meta_regression_settings(outcome_cfg)
    return settings is not None and usable_studies >= max(3, settings["studies_per_coefficient"])


def settings_problems(outcome_cfg: dict, source: str, key: str) -> list[Problem]:
    """What the schema cannot check (on the outcome merged with `defaults:`): a meta-regression has
    moderators and its formula reads; selection-model steps are distinct."""
    problems = []
    regression = outcome_cfg.get("meta_regression")
    if regression is not None and not regression.get("moderators"):
        problems.append(Problem(message="meta_regression has no moderators", file=source,
                                key=f"{key}.meta_regression", rule="moderators",
                                hint="list the moderator terms, e.g. moderators: [year], here or under defaults:"))
    regression = regression or {}
    if regression.get("moderators"):
        try:
            variables = moderator_variables(regression["moderators"])
        except ValueError as err:
            variables = []
            problems.append(Problem(message=str(err), file=source, key=f"{key}.meta_regression.moderators",
                                    value=formula_text(regression["moderators"]), rule="moderator formula",
                                    hint="write terms like year, dose, year:dose, year*dose or factor(grade)"))
        problems += [Problem(message=f"'{v}' cannot be a moderator", file=source, value=v,
                             key=f"{key}.meta_regression.moderators", rule="moderator formula",
                             hint="moderators are characteristics of the studies (columns of the studies sheet) or "
                                  "of each effect size (columns of the outcome sheet), not the effect itself")
                     for v in variables if v in NOT_MODERATORS]
    steps = ((outcome_cfg.get("small_study") or {}).get("selmodel") or {}).get("steps")
    if steps and len(set(steps)) != len(steps):
        problems.append(Problem(message="selection-model steps repeat a value", file=source,
                                key=f"{key}.small_study.selmodel.steps", value=str(steps), rule="distinct steps",
                                hint="give each cut point of the p-values once, e.g. [0.025, 0.5]"))
    return problems
