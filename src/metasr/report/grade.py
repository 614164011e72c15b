"""GRADE certainty of evidence for one pooled outcome: suggested ratings, config overrides.

The suggestions are rules of thumb from the GRADE handbook, made explicit so a reviewer can see
why and overrule them (`outcomes.<id>.grade: {risk_of_bias: 0|-1|-2|-3, ..., large_effect: 0|1|2,
dose_response: 0|1, plausible_confounding: 0|1, reason: str}`):
- starting certainty by study design (`design` in the studies sheet, else the design the study's
  risk-of-bias tool assesses; `study_design`): randomised trials (only a design that states random
  allocation: a bare "controlled trial" is not recognised) start high, non-randomised
  studies low (GRADE handbook 5.1), except non-randomised studies assessed with ROBINS-I or
  ROBINS-E (judged, not only named in rob_tool), which start high and are rated down through
  their risk of bias (GRADE guidelines 18, Schünemann et al. J Clin Epidemiol 2019;111:105-114);
  diagnostic accuracy studies assessed with QUADAS-2 start high (Schünemann et al. BMJ
  2008;336:1106). A body of evidence starts high only when every study does; a study whose design
  is not recorded, or not recognised, makes it start low (the note names the unrecognised texts);
  each study counts once, whatever its effect sizes;
- risk of bias: the weighted median concern of the studies' overall judgements (metasr.rob: the
  sheet's overall, else the tool's rule): -1 when more than half of the weight has at least some
  concerns (moderate, unclear), -2 when more than half is at high (serious) risk, -3 when more
  than half is at critical (very high) risk and the body started high through ROBINS; no suggestion
  (reviewers judge) when less than half of the analysis weight has a judgement;
- inconsistency: I2 above 50% (75%) together with a prediction interval that crosses the null;
- indirectness: not judged automatically (thresholds and populations need a reviewer's eye);
- imprecision (GRADE guidelines 6, Guyatt et al. J Clin Epidemiol 2011;64:1283-1293; GRADE
  handbook 5.2.4.1): a CI that includes both appreciable benefit and appreciable harm is very wide
  (-2); else an optimal information size (OIS, below) that is not met gives -1; else a CI that
  includes the null is -1 when it also includes an appreciable effect and 0 when it excludes
  appreciable effects both ways (a precise estimate of little or no effect). Appreciable: the
  measure's limits in metasr.measures (ratios 0.75/1.25, SMD -0.5/0.5), for a risk difference the
  same 25% relative change of the assumed control risk, for a mean difference an SMD of 0.5 times
  the SoF's representative SD; a measure without limits (a correlation, a generic difference) is
  judged on the null alone, one without a null (a prevalence, an incidence rate) on the OIS alone.
  The OIS (`OIS`): for binary outcomes the participants of one adequately powered trial (two-group
  proportions at the SoF's assumed control risk, two-sided alpha 0.05, power 80%, relative risk
  reduction 25%), or GRADE 6's 300 events when there is no control risk; for two-group rates the
  events such a trial needs (Poisson counts, equal person-time, rate ratio 0.75); otherwise 400
  participants (GRADE's rule of thumb for continuous outcomes);
- publication bias: Egger's test p < 0.10, only when k >= 10 (fewer studies: too little power), and
  never for single-group proportions, whose small-study tests are unreliable (Hunter et al. J Clin
  Epidemiol 2014;67:897-903), nor from a common-effect model's test (inverse variance, the common-effect
  fit of a Mantel-Haenszel or Peto outcome) when I² is above 50%: such tests have an inflated type I
  error under heterogeneity (Sterne et al. BMJ 2011;343:d4002): reviewers judge those
  (`grade.publication_bias`);
- rating up (GRADE guidelines 9, Guyatt et al. J Clin Epidemiol 2011;64:1311-1316), only for a
  body that started low and was not rated down: a large effect (ratio > 2 or < 0.5: +1; > 5 or
  < 0.2: +2) from at least two studies is suggested; dose-response and plausible confounding
  are reviewers' judgements (config), suggested 0.
Certainty = start + ratings, kept between very low and high.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from statistics import NormalDist

from metasr import dependence, display as dp, measures, rob
from metasr.display import arm_value, finite

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


@dataclass(frozen=True)
class InformationSize:
    """GRADE 6's optimal information size: what one adequately powered trial would need. Binary
    outcomes: a conventional two-proportion sample size, n per group = (z_{1-alpha/2} + z_power)^2
    [pc (1 - pc) + pe (1 - pe)] / (pc - pe)^2 with pe = (1 - rrr) pc, in all 2n; without a control
    risk, `events`. Two-group rates: the events a Wald test of the log rate ratio 1 - rrr needs with
    Poisson counts and equal person-time (control events (z + z)^2 (1 + 1 / RR) / log(RR)^2, RR
    times as many in the other group). Other outcomes: `participants`."""

    alpha: float = 0.05  # two-sided
    power: float = 0.80
    rrr: float = 0.25  # relative risk reduction to detect
    events: int = 300  # GRADE 6's rule of thumb when the control risk is unknown
    participants: int = 400  # GRADE 6's rule of thumb for continuous outcomes

    @property
    def z2(self) -> float:
        normal = NormalDist()
        return (normal.inv_cdf(1 - self.alpha / 2) + normal.inv_cdf(self.power)) ** 2

    @property
    def test(self) -> str:
        return f"two-sided α {self.alpha:g}, power {self.power:.0%}"

    @property
    def assumptions(self) -> str:
        return f"{self.test}, relative risk reduction {self.rrr:.0%}"

    def binary(self, pc: float) -> int | None:
        """Participants of both groups for a control risk pc (None outside 0 < pc < 1)."""
        if not 0 < pc < 1:
            return None
        pe = (1 - self.rrr) * pc
        return 2 * math.ceil(self.z2 * (pc * (1 - pc) + pe * (1 - pe)) / (pc - pe) ** 2)

    def rate_events(self) -> int:
        """Events in both groups to detect a rate ratio of 1 - rrr."""
        ratio = 1 - self.rrr
        control = self.z2 * (1 + 1 / ratio) / math.log(ratio) ** 2
        return math.ceil(control * (1 + ratio))


OIS = InformationSize()
CONTINUOUS_FAMILIES = ("two-group means", "variability", "generic")  # metasr.measures.FAMILIES
# Families whose funnel asymmetry does not tell publication bias (Hunter et al. 2014): the
# publication-bias domain is left to the reviewers.
UNRELIABLE_SMALL_STUDY_TESTS = ("single-group proportions",)
OPTIMAL_INFORMATION_SIZE = OIS.participants  # participants; GRADE's rule of thumb for continuous outcomes


@dataclass(frozen=True)
class Information:
    """An outcome's information (participants or events) against its optimal information size."""

    have: int | None
    needed: int
    what: str  # participants | events
    basis: str  # how `needed` was found

    @property
    def met(self) -> bool | None:
        return None if self.have is None else self.have >= self.needed

    def text(self) -> str:
        if self.have is None:
            return f"optimal information size not assessed: {self.what} not known (it would be " \
                   f"{self.needed:,}: {self.basis})"
        sign = "≥" if self.met else "<"
        return f"optimal information size {'met' if self.met else 'not met'}: {self.have:,} {self.what} " \
               f"{sign} {self.needed:,} ({self.basis})"


def _family(pooled: dict) -> str:
    """The measure's family (metasr.measures.FAMILIES); "" for an unknown measure."""
    measure = pooled.get("measure")
    return measures.get(measure).family if measures.known(measure) else ""


def events(pooled: dict) -> int | None:
    """Events in both groups of the pooled studies; a study with several rows counts its largest
    (its effect sizes may share participants); None when a study gives no events."""
    by_study: dict[str, float] = {}
    for s in pooled.get("studies") or []:
        e1, e2 = arm_value(s, 1, "events"), arm_value(s, 2, "events")
        if e1 is None or e2 is None:
            return None
        key = str(s.get("study_id"))
        by_study[key] = max(by_study.get(key, 0.0), e1 + e2)
    return int(round(sum(by_study.values()))) if by_study else None


def information_size(pooled: dict, sof: dict | None = None) -> Information:
    """The outcome's information against GRADE 6's optimal information size (`InformationSize`),
    binary outcomes at the summary of findings' assumed control risk (metasr.report.sof)."""
    from metasr.report.baseline import assumed_control_risk, per_1000

    family = _family(pooled)
    if family == "two-group rates":
        return Information(events(pooled), OIS.rate_events(), "events",
                           f"one trial with {OIS.test}, rate ratio {1 - OIS.rrr:g}, Poisson counts and equal "
                           "person-time")
    if family != "two-group tables":
        rule = "GRADE's rule of thumb for continuous outcomes"
        if family not in CONTINUOUS_FAMILIES:
            rule += ", for want of one for this measure"
        return Information(participants(pooled), OIS.participants, "participants", rule)
    assumed = assumed_control_risk(pooled, sof or {})
    risk = assumed["risk"] if assumed else None
    needed = OIS.binary(risk) if risk is not None else None
    if risk is None or needed is None:
        why = "no assumed control risk" if risk is None else f"an assumed control risk of {per_1000(risk)} per 1,000"
        return Information(events(pooled), OIS.events, "events",
                           f"{why}: GRADE 6's rule of thumb of {OIS.events} events instead of a "
                           "sample-size calculation")
    return Information(participants(pooled), needed, "participants",
                       f"one trial with {OIS.assumptions} at the assumed control risk of {per_1000(risk)} per "
                       "1,000; GRADE 6")


def _appreciable(pooled: dict, sof: dict | None = None) -> tuple[float, float, str] | None:
    """(low, high, as text) limits of an appreciable effect on the analysis scale (logs for
    ratios): the measure's (metasr.measures); a risk difference's from the ratio limits at the
    assumed control risk; a mean difference's from the SMD limits times the representative SD."""
    from metasr.report.baseline import assumed_control_risk, per_1000, representative_sd

    display = measures.display_of(pooled)
    kind = measures.get(display.measure).absolute
    if kind == "risk difference":
        assumed = assumed_control_risk(pooled, sof or {})
        if not assumed:
            return None
        acr = assumed["risk"]
        low, high = ((r - 1) * acr for r in measures.RATIO_GRADE)
        return low, high, f"RD {dp.number(1000 * low, 1)} and {dp.number(1000 * high, 1)} per 1,000: RR " \
                          f"{measures.RATIO_GRADE[0]:g} and {measures.RATIO_GRADE[1]:g} at the assumed control " \
                          f"risk of {per_1000(acr)} per 1,000"
    if kind == "mean difference":
        sd, _ = representative_sd(pooled, sof or {})
        if sd is None:
            return None
        low, high = (v * sd for v in measures.SMD_GRADE)
        return low, high, f"MD {dp.number(low, 2)} and {dp.number(high, 2)}: SMD " \
                          f"{dp.number(measures.SMD_GRADE[0], 1)} and {dp.number(measures.SMD_GRADE[1], 1)} " \
                          f"times an SD of {dp.number(sd, 2)}"
    limits = display.grade
    if limits is None:
        return None
    low, high = (display.forward(v) for v in limits)
    if low is None or high is None:
        return None
    return low, high, f"{display.value_name} {dp.number(limits[0], 2)} and {dp.number(limits[1], 2)}"


# Risk of bias: the share of the judged weight at a level that rates down, and the share of the
# analysis weight that must be judged before any rating is suggested (less: reviewers judge).
MAJORITY = 0.5
MIN_JUDGED_WEIGHT = 0.5


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
    units = dependence.weighted_studies(pooled)
    unjudged = f"; {_studies(len(units) - len(judged))} not assessed" if len(judged) < len(units) else ""
    if total_weight > 0 and total / total_weight < MIN_JUDGED_WEIGHT:
        return 0, f"no suggestion: {1 - total / total_weight:.0%} of the analysis weight is from studies without " \
                  f"a risk-of-bias judgement ({_studies(len(units) - len(judged))} not assessed), more than " \
                  f"{1 - MIN_JUDGED_WEIGHT:.0%}; reviewers must judge"
    share = {r: sum(w for c, w in judged if c >= r) / total for r in (1, 2, 3)}
    deepest = 3 if started_with_robins else 2
    words = {1: "with at least some concerns (moderate)", 2: "at high (serious) risk or worse",
             3: "at critical (very high) risk"}
    for r in range(deepest, 0, -1):
        if share[r] > MAJORITY:
            return -min(r, deepest), f"{share[r]:.0%} of the judged weight from studies {words[r]}{unjudged}"
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


def imprecision(pooled: dict, sof: dict | None = None) -> tuple[int, str]:
    """GRADE 6's rules (module docstring), the reason naming the rule that applied; `sof`: the
    outcome's summary-of-findings settings (its assumed control risk and SD)."""
    m = pooled.get("model") or {}
    lb, ub = finite(m.get("ci_lb")), finite(m.get("ci_ub"))
    if lb is None or ub is None:
        return 0, "no confidence interval"
    null = measures.display_of(pooled).null
    limits = _appreciable(pooled, sof)
    information = information_size(pooled, sof)
    info = information.text()
    if limits is not None and lb < limits[0] and ub > limits[1]:
        return -2, f"the CI includes both appreciable benefit and appreciable harm (limits {limits[2]}): very " \
                   f"wide (GRADE 6: two levels); {info}"
    if information.met is False:
        return -1, info
    if null is None:
        return 0, f"{info}; the measure has no null: judged on the information size"
    if not lb < null < ub:
        return 0, f"the CI excludes the null; {info}"
    if limits is None:
        return -1, f"the CI includes the null (no limits of an appreciable effect for this outcome: " \
                   f"judged on the null alone); {info}"
    if lb < limits[0] or ub > limits[1]:
        return -1, f"the CI includes the null and an appreciable effect (limits {limits[2]}); {info}"
    return 0, f"the CI includes the null but excludes appreciable effects in both directions (limits " \
              f"{limits[2]}): a precise estimate of little or no effect, not rated down (GRADE 6); {info}"


def imprecision_rule() -> str:
    """`imprecision`'s rule in one clause, for the methods paragraph."""
    return ("imprecision as GRADE guideline 6 rates it: two levels when the confidence interval includes both "
            "appreciable benefit and appreciable harm, else one when the optimal information size is not met (binary "
            f"outcomes: the participants one trial needs with {OIS.assumptions} at the assumed control risk, or "
            f"{OIS.events} events without one; rate ratios: the events such a trial needs; other outcomes: fewer "
            f"than {OIS.participants} participants) or when the interval includes the null and an appreciable "
            "effect, and none for an interval around the null that excludes appreciable effects both ways")


def publication_bias_exception(pooled: list[dict]) -> str:
    """" (not for ...)" when some of the pooled outcomes' publication bias is left to reviewers, else ""."""
    parts = []
    if any(_family(p) in UNRELIABLE_SMALL_STUDY_TESTS for p in pooled):
        parts.append("not for single-group proportions, whose small-study tests are unreliable: left to the "
                     "reviewers")
    if any(_common_effect_test_under_heterogeneity(p) for p in pooled):
        parts.append(("nor" if parts else "not") + f" from a common-effect model's test when I² was above "
                     f"{EGGER_COMMON_EFFECT_I2:g}%, as such tests have an inflated type I error under heterogeneity "
                     "(Sterne et al. BMJ 2011): left to the reviewers")
    return f" ({'; '.join(parts)})" if parts else ""


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
    if _family(pooled) in UNRELIABLE_SMALL_STUDY_TESTS:
        return 0, f"Egger's test {dp.p_value(p)}, not rated down automatically: small-study tests of " \
                  "single-group proportions are unreliable (Hunter et al. J Clin Epidemiol 2014;67:897-903); " \
                  f"reviewers judge (outcomes.{pooled.get('outcome')}.grade.publication_bias)"
    heterogeneous = _common_effect_test_under_heterogeneity(pooled)
    if p < 0.10 and heterogeneous:
        return 0, f"Egger's test {dp.p_value(p)}, not rated down automatically: it regresses on a common-effect " \
                  f"model although {heterogeneous}, and small-study tests have an inflated type I error under " \
                  "heterogeneity (Sterne et al. BMJ 2011;343:d4002; Cochrane Handbook 13.3.5.4); reviewers judge " \
                  f"(outcomes.{pooled.get('outcome')}.grade.publication_bias)"
    if p < 0.10:
        return -1, f"Egger's test {dp.p_value(p)} (< 0.10)"
    return 0, f"Egger's test {dp.p_value(p)}"


# I² (%) above which a common-effect Egger test does not rate down by itself (substantial
# heterogeneity: Cochrane Handbook 10.10.2 puts 50% to 90% at "may represent substantial").
EGGER_COMMON_EFFECT_I2 = 50.0


def _common_effect_test_under_heterogeneity(pooled: dict) -> str:
    """"I² = 92%" when the small-study tests were fitted as a common-effect model (the analysis is
    common-effect: inverse variance, Mantel-Haenszel, Peto) while I² shows substantial
    heterogeneity, else ""."""
    from metasr.figures.shown import COMMON_EFFECT_METHODS

    fit = (pooled.get("small_study") or {}).get("fit") or {}
    i2 = finite((pooled.get("model") or {}).get("I2"))
    if fit.get("method") not in COMMON_EFFECT_METHODS or i2 is None or i2 <= EGGER_COMMON_EFFECT_I2:
        return ""
    return f"I² = {i2:.0f}%"


def participants(pooled: dict) -> int | None:
    """Participants of the pooled studies, each counted once (a study's several effect sizes and a
    multi-arm trial's shared group included: metasr.dependence.participants)."""
    return dependence.participants(pooled)


# Allocation that is not (or not said to be) random, and designs without an allocation. Read
# before RANDOMISED: "non-random allocation" and "Mendelian randomisation" contain its words.
NON_RANDOMISED = re.compile(
    r"non[- ]?random|not (been )?random|without random|\bno random|quasi|pseudo[- ]?random|"
    r"mendelian random|historic(al(ly)?)?[- ]control|alternat(e|ing|ion)[- ](allocat|assign)|alternately|"
    r"by alternation|"
    r"systematic(ally)? (allocat|assign)|"
    r"allocat\w* (by|according to) (date|birth|day|week|record|hospital|alternation)|cohort|"
    r"case[- ]control|cross[- ]sectional|observational|registry|register[- ]based|case series|case report|"
    r"before[- ](and[- ])?after|time series|ecological|single[- ]arm|"
    r"uncontrolled|natural experiment|regression discontinuity|difference[- ]in[- ]difference|propensity|"
    r"non[- ]?comparative|\bnrsi?\b")
# Only explicit randomisation: "controlled trial" or "clinical trial" alone says nothing about the
# allocation (GRADE starts only randomised trials high), so it is left unrecognised.
RANDOMISED = re.compile(r"randomi[sz]|\bc?rcts?\b|\brandom(ly)?[- ](allocat|assign)")
DIAGNOSTIC = re.compile(r"diagnostic")
# Words that describe a study's timing or measurements, not an allocation: read only when nothing
# above matched ("prospective randomised trial", "randomised pre-test post-test design" stay
# randomised), as a non-randomised study.
OBSERVATIONAL_TIMING = re.compile(r"prospective|retrospective|longitudinal|\bsurvey|\bpre[- ]?post|pre[- ]?test")
# What to write in the design column, in words the rules above read.
DESIGN_WORDS = ("randomised controlled trial", "non-randomised trial", "cohort", "case-control",
                "cross-sectional", "diagnostic accuracy study")
DESIGN_NAMES = {"randomised": ("a randomised trial", "randomised trials"),
                "diagnostic": ("a diagnostic accuracy study (QUADAS-2)", "diagnostic accuracy studies (QUADAS-2)")}
ROBINS_TOOLS = ("ROBINS-I", "ROBINS-E")  # metasr.rob.TOOLS ids whose assessments start high (GRADE 18)
SHOWN_VALUES = 5  # unrecognised design texts named in a note; the rest are counted
SHOWN_LENGTH = 60  # characters of a design text named in a note


def design_text(row: dict | None) -> str:
    """The study's `design` text, lower case, with runs of white space as one space."""
    return " ".join(str((row or {}).get("design") or "").lower().split())


def study_design(row: dict | None) -> str | None:
    """randomised | non-randomised | diagnostic from the `design` text (randomised only when it says
    so: "RCT", "cluster-randomised trial", "randomized controlled trial", "random allocation"; vs
    "non-random allocation", "quasi-experimental", "historically controlled", "alternate allocation",
    "cohort", "case-control", "controlled before-after", "prospective" ...), else the design the
    study's risk-of-bias tool assesses; None if neither tells ("controlled trial" alone: the
    allocation is not stated, never assumed random)."""
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
    robins = [assessed_with_robins(r) for r in rows]
    if not designs:
        return "low", "no studies", False
    if None in designs:
        unknown = [r for r, d in zip(rows, designs, strict=True) if d is None]
        return "low", f"{unknown_design_text(unknown, len(rows))}: started low", False
    nrs = [d == "non-randomised" for d in designs]
    one = len(designs) == 1
    if not any(nrs):
        kinds = " and ".join(sorted({DESIGN_NAMES[d][0 if one else 1] for d in designs if d is not None}))
        return "high", f"{_every(len(designs))} {'is' if one else 'are'} {kinds}: started high", False
    if all(robins[i] for i, n in enumerate(nrs) if n):
        return "high", f"{sum(nrs)} non-randomised stud{'y' if sum(nrs) == 1 else 'ies'} assessed with " \
                       "ROBINS-I/ROBINS-E: started high, rated down through their risk of bias (GRADE 18)", True
    mixed = f"{sum(nrs)} of {len(designs)} studies" if not all(nrs) else _every(len(designs))
    unassessed = sum(1 for i, n in enumerate(nrs) if n and not robins[i] and _robins_tool(rows[i]))
    why = f"; {_studies(unassessed)} with rob_tool ROBINS-I/ROBINS-E but no judgement (only studies assessed " \
          "with ROBINS start high)" if unassessed else ""
    return "low", f"{mixed} non-randomised: started low{why}", False


def _robins_tool(row: dict | None) -> bool:
    tool = rob.tool_for((row or {}).get("rob_tool"))
    return tool is not None and tool.id in ROBINS_TOOLS


def assessed_with_robins(row: dict | None) -> bool:
    """Whether the study was actually assessed with ROBINS-I or ROBINS-E: naming the tool in
    rob_tool without a judgement does not earn GRADE 18's high start (nothing rates it down)."""
    return row is not None and _robins_tool(row) and rob.assess(row).assessed


def _studies(n: int) -> str:
    return f"{n} stud{'y' if n == 1 else 'ies'}"


def _every(n: int) -> str:
    """"the one study", "both studies", "all 5 studies"."""
    return "the one study" if n == 1 else "both studies" if n == 2 else f"all {n} studies"


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
        "imprecision": imprecision(pooled, (outcome_cfg or {}).get("sof")),
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
