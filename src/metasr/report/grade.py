"""GRADE-style certainty of evidence for one pooled outcome: suggested downgrades, config overrides.

The suggestions are rules of thumb from the GRADE handbook, made explicit so a reviewer can see
why and overrule them (`outcomes.<id>.grade: {risk_of_bias: 0|-1|-2, ..., reason: str}`):
- risk of bias: from the studies sheet's overall judgements (share of weight at high risk);
- inconsistency: I2 above 50% (75%) together with a prediction interval that crosses the null;
- indirectness: not judged automatically (thresholds and populations need a reviewer's eye);
- imprecision: a CI that includes the null, and one that includes both appreciable benefit and
  harm (the measure's limits in metasr.measures: |SMD| 0.5, ratio 0.75/1.25), or fewer than 400
  participants; a measure without a null (a prevalence, an incidence rate) is judged on the
  participants alone, and one without limits (a correlation) on the null alone;
- publication bias: Egger's test p < 0.10, only when k >= 10 (fewer studies: too little power).
Evidence from observational studies starts at "low", from randomised trials at "high".
"""

from __future__ import annotations

from metasr import measures
from metasr.figures.style import display, finite

DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
DOMAIN_NAMES = {
    "risk_of_bias": "Risk of bias", "inconsistency": "Inconsistency",
    "indirectness": "Indirectness", "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
}
LEVELS = ("very low", "low", "moderate", "high")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
OPTIMAL_INFORMATION_SIZE = 400  # participants; GRADE's rule of thumb for continuous outcomes


def _appreciable(disp: measures.Display) -> tuple[float, float] | None:
    """Limits of an appreciable effect, on the analysis scale (logs for ratios)."""
    limits = disp.grade
    if limits is None:
        return None
    low, high = (disp.forward(v) for v in limits)
    return None if low is None or high is None else (low, high)


def risk_of_bias(pooled: dict, studies_by_id: dict) -> tuple[int, str]:
    judged = []
    for s in pooled.get("studies") or []:
        overall = (studies_by_id.get(str(s.get("study_id"))) or {}).get("rob_overall") or ""
        if overall.strip() and overall.strip().lower() != "no information":
            judged.append((overall.strip().lower(), finite(s.get("weight")) or 0.0))
    if not judged:
        return 0, "risk of bias not assessed: no suggestion; reviewers must judge"
    total = sum(w for _, w in judged) or 1.0
    high = sum(w for j, w in judged if j == "high") / total
    concerns = sum(w for j, w in judged if j in {"high", "some concerns"}) / total
    if high > 0.5:
        return -2, f"{high:.0%} of the weight from studies at high risk of bias"
    if concerns > 0.5:
        return -1, f"{concerns:.0%} of the weight from studies at high risk or some concerns"
    return 0, "most weight from studies at low risk of bias"


def inconsistency(pooled: dict) -> tuple[int, str]:
    m = pooled.get("model") or {}
    i2, lb, ub = finite(m.get("I2")), finite(m.get("pi_lb")), finite(m.get("pi_ub"))
    if i2 is None:
        return 0, "heterogeneity not estimable"
    null = display(pooled).null
    if null is None:  # no null to cross: the size of the heterogeneity alone
        return (-1 if i2 > 75 else 0), f"I² = {i2:.0f}% (the measure has no null)"
    pi_crosses = lb is not None and ub is not None and lb < null < ub
    ci_crosses = (finite(m.get("ci_lb")) or null) < null < (finite(m.get("ci_ub")) or null)
    pi_text = "the prediction interval crosses the null" if pi_crosses else \
        "the prediction interval excludes the null"
    if i2 >= 75 and pi_crosses and not ci_crosses:
        return -2, f"I² = {i2:.0f}% and {pi_text} while the CI does not"
    if i2 > 50 and pi_crosses:
        return -1, f"I² = {i2:.0f}% and {pi_text}"
    return 0, f"I² = {i2:.0f}%; {pi_text}"


def imprecision(pooled: dict) -> tuple[int, str]:
    m = pooled.get("model") or {}
    lb, ub = finite(m.get("ci_lb")), finite(m.get("ci_ub"))
    if lb is None or ub is None:
        return 0, "no confidence interval"
    disp = display(pooled)
    limits = _appreciable(disp)
    n = participants(pooled)
    if limits is not None and lb < limits[0] and ub > limits[1]:
        return -2, "the CI includes both appreciable benefit and appreciable harm"
    if disp.null is not None and lb < disp.null < ub:
        return -1, "the CI includes the null"
    if n is not None and n < OPTIMAL_INFORMATION_SIZE:
        return -1, f"{n} participants, fewer than the optimal information size " \
                   f"({OPTIMAL_INFORMATION_SIZE})"
    if disp.null is None:
        return 0, f"{n} participants" if n else "no null: judged on the participants"
    return 0, "the CI excludes the null" + (f"; {n} participants" if n else "")


def publication_bias(pooled: dict) -> tuple[int, str]:
    k = pooled.get("k") or 0
    small = pooled.get("small_study") or {}
    if k < 10 or "skipped" in small:
        return 0, f"not assessable with k = {k} (< 10 studies)" if k < 10 else \
            f"not assessed: {small.get('skipped')}"
    egger = small.get("egger") or small.get("egger_lm") or {}
    p = finite(egger.get("pval"))
    if p is None:
        return 0, "Egger's test not available"
    if p < 0.10:
        return -1, f"Egger's test P = {p:.3f} (< 0.10)"
    return 0, f"Egger's test P = {p:.2f}"


def participants(pooled: dict) -> int | None:
    total = 0
    for s in pooled.get("studies") or []:
        n1, n2 = finite(s.get("n1i")), finite(s.get("n2i"))
        single = measures.study_size(s, "ni")
        if (n1 is None or n2 is None) and single is None:
            return None
        total += n1 + n2 if n1 is not None and n2 is not None else single
    return int(total) if pooled.get("studies") else None


def starting_level(pooled: dict, studies_by_id: dict) -> str:
    tools = {(studies_by_id.get(str(s.get("study_id"))) or {}).get("rob_tool", "").strip().upper()
             for s in pooled.get("studies") or []}
    return "high" if tools == {"ROB2"} else "low"


def grade_outcome(pooled: dict, outcome_cfg: dict | None, studies_by_id: dict | None = None) -> dict:
    """Suggested and final GRADE domains for one outcome.

    Returns {"applicable": bool, "start", "domains": {name: {"suggested", "final", "reason",
    "overridden"}}, "certainty", "symbol", "override_reason"}. Outcomes that were not pooled are
    not graded (`applicable` False).
    """
    studies_by_id = studies_by_id or {}
    override = dict((outcome_cfg or {}).get("grade") or {})
    if pooled.get("status") != "pooled":
        return {"applicable": False, "reason": pooled.get("status_message") or "not pooled"}
    suggested = {
        "risk_of_bias": risk_of_bias(pooled, studies_by_id),
        "inconsistency": inconsistency(pooled),
        "indirectness": (0, "not judged automatically: reviewers judge populations, exposure "
                            "definitions and outcome measures"),
        "imprecision": imprecision(pooled),
        "publication_bias": publication_bias(pooled),
    }
    domains = {}
    for name in DOMAINS:
        value, reason = suggested[name]
        final = override.get(name, value)
        domains[name] = {"suggested": value, "final": int(final), "reason": reason,
                         "overridden": name in override and int(override[name]) != value}
    start = starting_level(pooled, studies_by_id)
    level = max(0, LEVELS.index(start) + sum(d["final"] for d in domains.values()))
    certainty = LEVELS[level]
    return {"applicable": True, "start": start, "domains": domains, "certainty": certainty,
            "symbol": SYMBOLS[certainty], "override_reason": override.get("reason", ""),
            "participants": participants(pooled)}
