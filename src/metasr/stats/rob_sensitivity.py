"""The sensitivity analysis without the studies at high risk of bias (Cochrane Handbook 7.6.2 and
8.8: restrict the analysis to studies at low risk of bias, or leave out those at high risk, and
see whether the result holds).

Which studies are at high risk is read from each study's overall judgement (metasr.rob: the
sheet's, else the tool's rule) at metasr.rob's concern level, so that every tool counts alike:
RoB 2 and QUADAS-2 high, ROBINS-I serious and critical, ROBINS-E high and very high, NOS poor.
Studies without an overall judgement (not assessed, or "no information") are kept: nothing says
they are at high risk; the section counts them.

The outcome's own model is refitted on the studies kept (whole studies: a study's judgement holds
for all its effect sizes), by a function the caller gives (`refit`: rows kept -> the fit's dict,
InputError when the model cannot be fitted): the inverse-variance model, Mantel-Haenszel or Peto
with its own method, a dependent outcome's three-level or aggregated model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from metasr import rob
from metasr.errors import InputError

# The model's keys the section keeps (metafor's), beside the studies left out
MODEL_KEYS = ("k", "estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "df", "pi_lb", "pi_ub", "tau2", "sigma2",
              "I2", "Q", "Q_df", "Q_pval", "model_type", "n_clusters")
MIN_STUDIES = 2
HANDBOOK = "Cochrane Handbook 7.6.2, 8.8"


def judgements(studies: list[dict] | None) -> dict[str, str] | None:
    """Each study's overall risk-of-bias judgement by study id ('' when not assessed); None when
    the rows carry no risk-of-bias column at all (the review records no risk of bias)."""
    if not studies or not any(c in row for row in studies for c in (*rob.ALL_COLUMNS, "rob_tool")):
        return None
    return {str(row.get("study_id")): rob.assess(row).overall for row in studies}


def at_high_risk(judgement: str) -> bool:
    level = rob.concern(judgement)
    return level is not None and level >= rob.HIGH_CONCERN


def section(study_ids: list[str], labels: dict[str, str], overall: dict[str, str],
            refit: Callable[[np.ndarray], dict], method: str, test: str) -> dict:
    """The pooled JSON's `sensitivity.excluding_high_risk`: the model refitted without the studies
    at high risk of bias, or {"skipped": why}. `study_ids`: each row's study (several rows may share
    one); `labels`: each study's label; `overall`: judgements()."""
    studies = list(dict.fromkeys(study_ids))
    judged = {s: overall.get(s, "") for s in studies}
    high = [s for s in studies if at_high_risk(judged[s])]
    unjudged = [s for s in studies if rob.concern(judged[s]) is None]
    out: dict = {"method": method, "test": test, "k_studies_all": len(studies),
                 "left_out": [{"study_id": s, "label": labels.get(s) or s, "judgement": judged[s]} for s in high],
                 "kept_not_judged": [{"study_id": s, "label": labels.get(s) or s, "judgement": judged[s]}
                                     for s in unjudged]}
    reason = _skip_reason(studies, high, unjudged, judged)
    if reason:
        return {**out, "skipped": reason}
    keep = ~np.isin(np.asarray(study_ids, dtype=str), high)
    try:
        fit = refit(keep)
    except InputError as err:
        return {**out, "skipped": f"the {method} model cannot be fitted on the {len(studies) - len(high)} studies "
                                  f"kept: {err.problems[0].message}"}
    out.update(k_studies=len(studies) - len(high), model={key: fit[key] for key in MODEL_KEYS if key in fit})
    return out


def _skip_reason(studies: list[str], high: list[str], unjudged: list[str], judged: dict[str, str]) -> str:
    """Why the analysis does not run (no judgement, none at high risk, too few left), or ''."""
    if len(unjudged) == len(studies):
        return (f"no study has an overall risk-of-bias judgement ({_studies(len(studies))} not assessed or "
                "without information, all kept): there is nothing to leave out")
    if not high:
        counts = ", ".join(f"{n} {word}" for word, n in _counts(judged[s] for s in studies if s not in unjudged))
        kept = f"; {_studies(len(unjudged))} without a judgement" if unjudged else ""
        return f"no study is at high risk of bias ({counts}{kept}): the analysis would repeat the main one"
    left = len(studies) - len(high)
    if left < MIN_STUDIES:
        return (f"leaving out the {_studies(len(high))} at high risk of bias would leave {_studies(left)}: pooling "
                f"needs at least {MIN_STUDIES}")
    return ""


def _counts(words) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return list(counts.items())


def _studies(n: int) -> str:
    return f"{n} stud{'y' if n == 1 else 'ies'}"
