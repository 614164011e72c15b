"""GRADE certainty of evidence for one pooled outcome: suggested ratings, config overrides.

The suggestions are rules of thumb from the GRADE handbook, made explicit so a reviewer can see
why and overrule them (`outcomes.<id>.grade: {risk_of_bias: 0|-1|-2|-3, ..., large_effect: 0|1|2,
dose_response: 0|1, plausible_confounding: 0|1, reason: str}`):
- starting certainty by study design (`design` in the studies sheet, else the design the study's
  risk-of-bias tool assesses; `study_design`): randomised trials start high, non-randomised
  studies low (GRADE handbook 5.1), except non-randomised studies assessed with ROBINS-I or
  ROBINS-E, which start high and are rated down through their risk of bias (GRADE guidelines 18,
  Schünemann et al. J Clin Epidemiol 2019;111:105-114); diagnostic accuracy studies assessed with
  QUADAS-2 start high (Schünemann et al. BMJ 2008;336:1106). A body of evidence starts high only
  when every study does; a study whose design is not recorded, or not recognised, makes it start
  low (the note names the unrecognised texts); each study counts once, whatever its effect sizes;
- risk of bias: the weighted median concern of the studies' overall judgements (metasr.rob: the
  sheet's overall, else the tool's rule): -1 when more than half of the weight has at least some
  concerns (moderate, unclear), -2 when more than half is at high (serious) risk, -3 when more
  than half is at critical (very high) risk and the body started high through ROBINS;
- inconsistency: I2 above 50% (75%) together with a prediction interval that crosses the null;
- indirectness: not judged automatically (thresholds and populations need a reviewer's eye);
- imprecision: a CI that includes the null, and one that includes both appreciable benefit and
  harm (the measure's limits in metasr.measures: |SMD| 0.5, ratio 0.75/1.25), or fewer than 400
  participants; a measure without a null (a prevalence, an incidence rate) is judged on the
  participants alone, and one without limits (a correlation) on the null alone;
- publication bias: Egger's test p < 0.10, only when k >= 10 (fewer studies: too little power);
- rating up (GRADE guidelines 9, Guyatt et al. J Clin Epidemiol 2011;64:1311-1316), only for a
  body that started low and was not rated down: a large effect (ratio > 2 or < 0.5: +1; > 5 or
  < 0.2: +2) from at least two studies is suggested; dose-response and plausible confounding
  are reviewers' judgements (config), suggested 0.
Certainty = start + ratings, kept between very low and high.
"""

from __future__ import annotations

import math
import re

from metasr import dependence, display as dp, measures, rob
from metasr.display import finite

DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
DOMAIN_NAMES = {
    "risk_of_bias": "Risk of bias", "inconsistency": "Inconsistency",
    "indirectness": "Indirectness", "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
}
UPGRADES = ("large_effect", "dose_response", "plausible_confounding")
UPGRADE_NAMES = {"large_effect": "Large effect", "dose_response": "Dose–response gradient",
                 "plausible_confounding": "Plausible confounding"}
LEVELS = ("very low", "low", "moderate", "high")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
OPTIMAL_INFORMATION_SIZE = 400  # participants; GRADE's rule of thumb for continuous outcomes


def _appreciable(display: measures.Display) -> tuple[float, float] | None:
    """Limits of an appreciable effect, on the analysis scale (logs for ratios)."""
    limits = display.grade
    if limits is None:
        return None
    low, high = (display.forward(v) for v in limits)
    return None if low is None or high is None else (low, high)


def risk_of_bias(pooled: dict, studies_by_id: dict, started_with_robins: bool = False
                 ) -> tuple[int, str]:
    judged, total_weight = [], 0.0
    for s in dependence.weighted_studies(pooled):
        weight = finite(s.get("weight")) or 0.0
        total_weight += weight
        row = studies_by_id.get(str(s.get("study_id")))
        level = rob.concern(rob.assess(row).overall) if row else None
        if level is not None:
            judged.append((level, weight))
    if not judged:
        return 0, "risk of bias not assessed: no suggestion; reviewers must judge"
    total = sum(w for _, w in judged) or 1.0
    share = {r: sum(w for c, w in judged if c >= r) / total for r in (1, 2, 3)}
    deepest = 3 if started_with_robins else 2
    words = {1: "at least some concerns (moderate)", 2: "high (serious) risk or worse",
             3: "critical (very high) risk"}
    units = dependence.weighted_studies(pooled)
    unjudged = f"; {len(units) - len(judged)} studies not assessed" if len(judged) < len(units) else ""
    for r in range(deepest, 0, -1):
        if share[r] > 0.5:
            return -min(r, deepest), f"{share[r]:.0%} of the judged weight from studies at " \
                                     f"{words[r]}{unjudged}"
    return 0, f"most judged weight from studies at low risk of bias{unjudged}"


def inconsistency(pooled: dict) -> tuple[int, str]:
    m = pooled.get("model") or {}
    i2, lb, ub = finite(m.get("I2")), finite(m.get("pi_lb")), finite(m.get("pi_ub"))
    if i2 is None:
        return 0, "heterogeneity not estimable"
    null = measures.display_of(pooled).null
    if null is None:  # no null to cross: the size of the heterogeneity alone
        return (-1 if i2 > 75 else 0), f"I² = {i2:.0f}% (the measure has no null)"
    ci_crosses = (finite(m.get("ci_lb")) or null) < null < (finite(m.get("ci_ub")) or null)
    if lb is None or ub is None:
        return _inconsistency_without_pi(i2, ci_crosses)
    pi_crosses = lb < null < ub
    pi_text = "the prediction interval crosses the null" if pi_crosses else \
        "the prediction interval excludes the null"
    if i2 >= 75 and pi_crosses and not ci_crosses:
        return -2, f"I² = {i2:.0f}% and {pi_text} while the CI does not"
    if i2 > 50 and pi_crosses:
        return -1, f"I² = {i2:.0f}% and {pi_text}"
    return 0, f"I² = {i2:.0f}%; {pi_text}"


def _inconsistency_without_pi(i2: float, ci_crosses: bool) -> tuple[int, str]:
    """A model without a prediction interval (common effect: inverse variance, Mantel-Haenszel,
    Peto): I² alone, with the random-effects rule's thresholds; the heterogeneity is serious when
    the CI looks conclusive (it excludes the null) although the studies disagree this much."""
    text = f"I² = {i2:.0f}% (the common-effect model has no prediction interval: judged on I²)"
    if i2 >= 75 and not ci_crosses:
        return -2, text
    return (-1 if i2 > 50 else 0), text


def imprecision(pooled: dict) -> tuple[int, str]:
    m = pooled.get("model") or {}
    lb, ub = finite(m.get("ci_lb")), finite(m.get("ci_ub"))
    if lb is None or ub is None:
        return 0, "no confidence interval"
    display = measures.display_of(pooled)
    limits = _appreciable(display)
    n = participants(pooled)
    if limits is not None and lb < limits[0] and ub > limits[1]:
        return -2, "the CI includes both appreciable benefit and appreciable harm"
    if display.null is not None and lb < display.null < ub:
        return -1, "the CI includes the null"
    if n is not None and n < OPTIMAL_INFORMATION_SIZE:
        return -1, f"{n} participants, fewer than the optimal information size " \
                   f"({OPTIMAL_INFORMATION_SIZE})"
    if display.null is None:
        return 0, f"{n} participants" if n else "no null: judged on the participants"
    return 0, "the CI excludes the null" + (f"; {n} participants" if n else "")


def publication_bias(pooled: dict) -> tuple[int, str]:
    from metasr.analysis_settings import SMALL_STUDY_DEFAULTS

    k = dependence.study_count(pooled)
    small = pooled.get("small_study") or {}
    min_k = (small.get("settings") or {}).get("min_k", SMALL_STUDY_DEFAULTS["min_k"])
    if k < min_k or "skipped" in small:
        return 0, f"not assessable with k = {k} (< {min_k} studies)" if k < min_k else \
            f"not assessed: {small.get('skipped')}"
    from metasr.stats.bias import reported_egger

    egger = reported_egger(small) or small.get("egger_robust") or {}
    p = finite(egger.get("pval"))
    if p is None:
        return 0, "Egger's test not available"
    if p < 0.10:
        return -1, f"Egger's test {dp.p_value(p)} (< 0.10)"
    return 0, f"Egger's test {dp.p_value(p)}"


def participants(pooled: dict) -> int | None:
    """Participants of the pooled studies, each counted once (a study's several effect sizes and a
    multi-arm trial's shared group included: metasr.dependence.participants)."""
    return dependence.participants(pooled)


NON_RANDOMISED = re.compile(
    r"non[- ]?randomi[sz]|quasi[- ]?randomi[sz]|pseudo[- ]?randomi[sz]|not randomi[sz]|cohort|"
    r"case[- ]control|cross[- ]sectional|observational|registry|case series|before[- ]and[- ]after|"
    r"before[- ]after|time series|ecological|single[- ]arm|uncontrolled")
RANDOMISED = re.compile(r"randomi[sz]|\bc?rcts?\b|controlled trial")
DIAGNOSTIC = re.compile(r"diagnostic")
# Words that describe an observational study's timing, not an allocation: read only when nothing
# above matched ("prospective randomised trial" stays randomised), as a non-randomised study.
OBSERVATIONAL_TIMING = re.compile(r"prospective|retrospective|longitudinal|\bsurvey")
# What to write in the design column, in words the rules above read.
DESIGN_WORDS = ("randomised controlled trial", "non-randomised trial", "cohort", "case-control",
                "cross-sectional", "diagnostic accuracy study")
SHOWN_VALUES = 5  # unrecognised design texts named in a note; the rest are counted
SHOWN_LENGTH = 60  # characters of a design text named in a note


def design_text(row: dict | None) -> str:
    """The study's `design` text, lower case, with runs of white space as one space."""
    return " ".join(str((row or {}).get("design") or "").lower().split())


def study_design(row: dict | None) -> str | None:
    """randomised | non-randomised | diagnostic from the `design` text ("RCT", "cluster-randomised
    trial", "randomized controlled trial" vs "cohort", "case-control", "cross-sectional", "non-
    randomised trial", "prospective", "longitudinal" ...), else the design the study's risk-of-bias
    tool assesses; None if neither tells."""
    text = design_text(row)
    if NON_RANDOMISED.search(text):
        return "diagnostic" if DIAGNOSTIC.search(text) else "non-randomised"
    if RANDOMISED.search(text):
        return "randomised"
    if DIAGNOSTIC.search(text):
        return "diagnostic"
    if OBSERVATIONAL_TIMING.search(text):
        return "non-randomised"
    tool = rob.tool_for((row or {}).get("rob_tool"))
    return tool.design if tool else None


def unknown_design_text(rows: list[dict | None], total: int) -> str:
    """Why the design of `rows` (some of `total` studies) is unknown, for the starting certainty:
    how many have no design, and which design texts were not recognised (with what to write)."""
    missing = [r for r in rows if not design_text(r)]
    unrecognised: dict[str, int] = {}
    for r in rows:
        if r is not None and design_text(r):
            value = " ".join(str(r.get("design")).split())
            value = value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH - 1] + "…"
            unrecognised[value] = unrecognised.get(value, 0) + 1
    parts = [f"study design not recorded for {len(missing)} of {total} studies (design column)"] \
        if missing else []
    if unrecognised:
        n = sum(unrecognised.values())
        named = [f"'{v}' ({k} stud{'y' if k == 1 else 'ies'})"
                 for v, k in list(unrecognised.items())[:SHOWN_VALUES]]
        more = len(unrecognised) - SHOWN_VALUES
        named += [f"{more} other value{'s' if more != 1 else ''}"] if more > 0 else []
        parts.append(f"study design not recognised for {n} of {total} studies (design column: "
                     f"{', '.join(named)}; write it as, e.g., {', '.join(DESIGN_WORDS)})")
    return "; ".join(parts)


def starting_level(pooled: dict, studies_by_id: dict) -> tuple[str, str, bool]:
    """(start, why, started through ROBINS): see the module docstring for the rule."""
    # each study once, whatever its number of effect sizes
    ids = dict.fromkeys(str(s.get("study_id")) for s in pooled.get("studies") or [])
    rows = [studies_by_id.get(i) for i in ids]
    designs = [study_design(r) for r in rows]
    robins = [r is not None and (rob.tool_for(r.get("rob_tool")) or rob.TOOLS["NOS"]).id
              in {"ROBINS-I", "ROBINS-E"} for r in rows]
    if not designs:
        return "low", "no studies", False
    if None in designs:
        unknown = [r for r, d in zip(rows, designs, strict=True) if d is None]
        return "low", f"{unknown_design_text(unknown, len(rows))}: started low", False
    nrs = [d == "non-randomised" for d in designs]
    if not any(nrs):
        kinds = " and ".join(sorted({"randomised trials" if d == "randomised" else
                                     "diagnostic accuracy studies (QUADAS-2)" for d in designs}))
        return "high", f"all {len(designs)} studies are {kinds}: started high", False
    if all(robins[i] for i, n in enumerate(nrs) if n):
        return "high", f"{sum(nrs)} non-randomised studies assessed with ROBINS-I/ROBINS-E: " \
                       "started high, rated down through their risk of bias (GRADE 18)", True
    mixed = f"{sum(nrs)} of {len(designs)} studies" if not all(nrs) else f"all {len(designs)} studies"
    return "low", f"{mixed} non-randomised: started low", False


def large_effect(pooled: dict) -> tuple[int, str]:
    """GRADE's large (ratio > 2 or < 0.5) and very large (> 5 or < 0.2) effects, ratios only."""
    measure = pooled.get("measure") or ""
    if not measures.display_of(pooled).ratio:
        return 0, "not assessed for a measure that is not a ratio (GRADE's thresholds are ratios)"
    est = finite((pooled.get("model") or {}).get("estimate"))
    if est is None or dependence.study_count(pooled) < 2:
        return 0, "fewer than two studies"
    ratio = math.exp(est)
    if ratio > 5 or ratio < 0.2:
        return 2, f"very large effect: {measure} {ratio:.2f} (> 5 or < 0.2)"
    if ratio > 2 or ratio < 0.5:
        return 1, f"large effect: {measure} {ratio:.2f} (> 2 or < 0.5)"
    return 0, f"{measure} {ratio:.2f} is between 0.5 and 2"


def grade_outcome(pooled: dict, outcome_cfg: dict | None, studies_by_id: dict | None = None) -> dict:
    """Suggested and final GRADE domains for one outcome.

    Returns {"applicable": bool, "start", "start_reason", "domains": {name: {"suggested",
    "final", "reason", "overridden"}}, "upgrades": {name: same}, "certainty", "symbol",
    "override_reason", "participants"}. Outcomes that were not pooled are not graded
    (`applicable` False).
    """
    studies_by_id = studies_by_id or {}
    override = dict((outcome_cfg or {}).get("grade") or {})
    if pooled.get("status") != "pooled":
        return {"applicable": False, "reason": pooled.get("status_message") or "not pooled"}
    start, start_reason, via_robins = starting_level(pooled, studies_by_id)
    suggested = {
        "risk_of_bias": risk_of_bias(pooled, studies_by_id, via_robins),
        "inconsistency": inconsistency(pooled),
        "indirectness": (0, "not judged automatically: reviewers judge populations, exposure "
                            "definitions and outcome measures"),
        "imprecision": imprecision(pooled),
        "publication_bias": publication_bias(pooled),
    }
    domains = {name: _rating(suggested[name], override, name) for name in DOMAINS}
    downgraded = any(d["final"] < 0 for d in domains.values())
    big = large_effect(pooled) if start == "low" and not downgraded else \
        (0, "rated up only when non-randomised evidence starts low and is not rated down")
    up_suggested = {"large_effect": big,
                    "dose_response": (0, "reviewers' judgement (config: grade.dose_response)"),
                    "plausible_confounding": (0, "reviewers' judgement "
                                                 "(config: grade.plausible_confounding)")}
    upgrades = {name: _rating(up_suggested[name], override, name) for name in UPGRADES}
    total = sum(d["final"] for d in domains.values()) + sum(u["final"] for u in upgrades.values())
    level = min(len(LEVELS) - 1, max(0, LEVELS.index(start) + total))
    certainty = LEVELS[level]
    return {"applicable": True, "start": start, "start_reason": start_reason, "domains": domains,
            "upgrades": upgrades, "certainty": certainty, "symbol": SYMBOLS[certainty],
            "override_reason": override.get("reason", ""), "participants": participants(pooled)}


def _rating(suggestion: tuple[int, str], override: dict, name: str) -> dict:
    value, reason = suggestion
    final = int(override.get(name, value))
    return {"suggested": value, "final": final, "reason": reason,
            "overridden": name in override and final != value}
