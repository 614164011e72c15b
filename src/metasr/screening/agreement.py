"""Agreement between two screeners: conflicts and Cohen's kappa.

Kappa is computed over the records both reviewers decided, on the decision categories of the
stage. Its standard error is Cohen's (1960) large-sample approximation,
sqrt(po (1 - po) / (n (1 - pe)^2)), with a normal 95% interval cut to kappa's range [-1, 1]; it
is a description of the screening, not an inference anyone should lean on.
"""

from __future__ import annotations

import math
from collections import Counter

from metasr.errors import Problem
from metasr.level import Z
from metasr.screening.decisions import STAGE_LABELS, UNRESOLVED, Decision
from metasr.screening.flow import NOT_RETRIEVED


def cohen_kappa(pairs: list[tuple[str, str]]) -> dict:
    """Cohen's kappa for paired categorical ratings.

    Returns n, observed agreement `po`, chance agreement `pe`, `kappa`, `se`, `ci_lb`, `ci_ub`.
    Kappa is undefined (None) when there are no pairs or chance agreement is 1 (both reviewers
    used one and the same category throughout).
    """
    n = len(pairs)
    result: dict[str, float | None] = {"n": n, "po": None, "pe": None, "kappa": None, "se": None, "ci_lb": None,
                                       "ci_ub": None}
    if n == 0:
        return result
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    po = sum(a == b for a, b in pairs) / n
    pe = sum(first[c] * second[c] for c in set(first) | set(second)) / n**2
    result.update(po=po, pe=pe)
    if math.isclose(pe, 1.0):
        return result
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
    # Kappa lies in [-1, 1]; the normal interval is cut there (near-perfect agreement in small
    # samples would otherwise reach above 1).
    result.update(kappa=kappa, se=se, ci_lb=max(-1.0, kappa - Z * se),
                  ci_ub=min(1.0, kappa + Z * se))
    return result


def dual_screened(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.reviewer1 and d.reviewer2]


def unscreened(decision: Decision) -> bool:
    """A report that could not be retrieved and that no reviewer decided on: nobody screened it."""
    return decision.decision == NOT_RETRIEVED and not decision.reviewer1 and not decision.reviewer2


def stage_agreement(decisions: list[Decision]) -> dict:
    """Kappa and conflict counts of one stage; `dual` is False for single-reviewer screening.
    `screened` counts the stage's decisions on records someone screened (not the reports that
    could not be retrieved, counted in `not_retrieved`), of which kappa's `n` were made by two
    reviewers."""
    pairs = [(d.reviewer1, d.reviewer2) for d in dual_screened(decisions)]
    conflicts = [d for d in decisions if d.is_conflict]
    return {
        "dual": bool(pairs),
        "screened": sum(not unscreened(d) for d in decisions),
        "not_retrieved": sum(d.decision == NOT_RETRIEVED for d in decisions),
        **cohen_kappa(pairs),
        "conflicts": len(conflicts),
        "unresolved": sum(d.decision == UNRESOLVED for d in conflicts),
    }


def partial_dual_problems(decisions: list[Decision]) -> list[Problem]:
    """A warning when a stage was screened by two reviewers for some records only: kappa then
    describes those records, and the report says how many of the stage's they are (a report that
    could not be retrieved was screened by no one, not by one reviewer)."""
    decisions = [d for d in decisions if not unscreened(d)]
    single = [d for d in decisions if not (d.reviewer1 and d.reviewer2)]
    if not single or len(single) == len(decisions):
        return []
    first = single[0]
    rows = ", ".join(str(d.row) for d in single[:10]) + (", ..." if len(single) > 10 else "")
    stage = STAGE_LABELS[first.stage]
    return [Problem(
        f"{len(decisions) - len(single)} of {len(decisions)} {stage} decisions were made by two reviewers, "
        f"not the other {len(single)} (row{'s' if len(single) > 1 else ''} {rows}): the agreement "
        "(Cohen's kappa) describes the dual-screened ones only",
        file=first.file, row=first.row, column="reviewer1" if not first.reviewer1 else "reviewer2",
        rule="dual screening of every record", severity="warning",
        hint="fill in both reviewers' decisions on these rows, or report the screening as partly dual "
             "(the PRISMA diagram's note says how many records two reviewers screened)")]


CONFLICT_COLUMNS = ("stage", "file", "row", "cluster_id", "key", "reviewer1", "reviewer2",
                    "decision", "resolved")


def conflict_rows(decisions: list[Decision]) -> list[dict]:
    return [
        {"stage": d.stage, "file": d.file, "row": d.row, "cluster_id": d.cluster_id, "key": d.key,
         "reviewer1": d.reviewer1, "reviewer2": d.reviewer2,
         "decision": "" if d.decision == UNRESOLVED else d.decision,
         "resolved": str(d.decision != UNRESOLVED).lower()}
        for d in decisions if d.is_conflict
    ]
