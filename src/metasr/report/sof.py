"""GRADE summary of findings: for each outcome the relative effect, the anticipated absolute
effects, the participants and studies, and the certainty with its footnotes.

The rules (GRADE guidelines 12 and 13, Guyatt et al. J Clin Epidemiol 2013;66:158-172 and
173-183; Cochrane Handbook version 6.4, chapter 14.1.5):
- binary outcomes: the assumed comparator (control) risk, ACR, is the median control-group risk
  of the studies in the analysis (events / participants of group 2; the Handbook's usual choice),
  or `outcomes.<id>.sof.assumed_risk` (a proportion; its source text in `assumed_risk_source`),
  plus any `scenarios` ({label: risk}, e.g. low- and high-risk populations). The corresponding
  risk, CR, with the CI of the relative effect carried through:
      RR:  CR = ACR * RR
      OR:  CR = ACR * OR / (1 - ACR + ACR * OR)
      HR:  CR = 1 - (1 - ACR) ** HR
      RD:  CR = ACR + RD
  reported per 1,000, with the difference CR - ACR per 1,000 ("more"/"fewer"; a zero "0
  fewer/more"); a risk difference is itself the difference, with its own CI. A CR below 0 or
  above 1 is shown as 0 or 1,000 per 1,000, with a footnote saying it was truncated;
- rates (IRR): the assumed rate is the median control-group rate (events / person-time of group
  2) or `sof.assumed_rate`; the corresponding rate is rate * IRR, per 1,000 person-time units
  (`sof.time_unit` names them);
- continuous outcomes: the mean difference in the outcome's unit with the assumed control mean
  (median control-group mean, or `sof.control_mean`); an SMD is re-expressed in the outcome's
  unit (`outcomes.<id>.unit`, which says the studies share one scale) by multiplying it with a
  representative SD: `sof.sd`, else the median control-group SD (Cochrane Handbook 15.5.3.2);
  an SMD's size is read by the rule of thumb of the Cochrane Handbook 15.5.3.1 (0.2 small, 0.5
  moderate, 0.8 large);
- relative effects of ratio measures as ratios with their 95% CI; generic effects (GEN) get no
  absolute effect and are shown as a difference (or a ratio) in the outcome's unit.
Numbers per 1,000 are rounded half away from zero (`per_1000`); counts have their thousands
separated ("222,426"). A cell that footnote marks follow always holds text.
"""

from __future__ import annotations

from metasr import dependence, display as dp, measures
from metasr.display import arm_value, finite
from metasr.report.baseline import (
    MEAN_KINDS,
    RATE_KINDS,
    RISK_KINDS,
    absolute_kind,
    assumed_control_risk,
    median_or_none,
    per_1000,
    representative_sd,
)
from metasr.report.grade import DOMAIN_NAMES, DOMAINS, UPGRADE_NAMES, UPGRADES

LIMITS = ("estimate", "lower limit", "upper limit")  # of a CI's three numbers


def corresponding_risk(kind: str, acr: float, effect: float) -> float:
    """The risk in the experimental group for an assumed control risk and a relative (risk,
    odds or hazard ratio, natural scale) or absolute (risk difference) effect."""
    if kind == "risk ratio":
        return acr * effect
    if kind == "odds ratio":
        return acr * effect / (1 - acr + acr * effect)
    if kind == "hazard ratio":
        return 1 - (1 - acr) ** effect
    if kind == "risk difference":
        return acr + effect  # may leave 0 to 1: absolute_effects cuts it, with a footnote
    raise ValueError(f"no corresponding risk for a {kind}")


def _effects(pooled: dict, shown: bool = False) -> tuple[float, float, float] | None:
    """(estimate, lower, upper) back-transformed by the measure's display (ratios exponentiated,
    Fisher's z as r, logit proportions as proportions); `shown`: as the report shows them
    (proportions in %)."""
    m = pooled.get("model") or {}
    display = measures.display_of(pooled)
    transform = display.shown if shown else display.back
    # None: missing, or too large to back-transform
    est, lb, ub = (transform(finite(m.get(k))) for k in ("estimate", "ci_lb", "ci_ub"))
    if est is None or lb is None or ub is None:
        return None
    return est, lb, ub


def assumed_risks(pooled: dict, sof: dict) -> list[dict]:
    """[{label, risk, source}]: the assumed control risk, then the config's scenarios."""
    assumed = assumed_control_risk(pooled, sof)
    out = [assumed] if assumed else []
    for label, risk in (sof.get("scenarios") or {}).items():
        if finite(risk) is not None:
            out.append({"label": str(label), "risk": float(risk),
                        "source": f"{label}: scenario set by the reviewers (sof.scenarios)"})
    return out


def absolute_effects(pooled: dict, sof: dict) -> list[dict]:
    """Per assumed risk: control and experimental risk per 1,000 and their difference, with the
    CI of the relative effect carried through; a risk difference is the difference, with its own
    CI. A corresponding risk outside 0 to 1 is shown as 0 or 1,000 per 1,000 and listed in
    `truncated` as (which: estimate, lower or upper limit, the risk per 1,000 before it was cut)."""
    kind = absolute_kind(pooled)
    effects = _effects(pooled)
    if effects is None or kind not in RISK_KINDS + RATE_KINDS:
        return []
    rows = []
    for assumed in assumed_risks(pooled, sof):
        acr = assumed["risk"]
        if kind in RATE_KINDS:
            raw = [acr * e for e in effects]
        else:
            raw = [corresponding_risk(kind, acr, e) for e in effects]
        risks = raw if kind in RATE_KINDS else [min(1.0, max(0.0, r)) for r in raw]
        differences = effects if kind == "risk difference" else tuple(r - acr for r in risks)
        # each corresponding risk rises with the effect: the effect's limits give the risk's, in order
        shown = tuple(per_1000(r) for r in risks)
        rows.append({**assumed, "control": per_1000(acr), "experimental": shown,
                     "difference": tuple(per_1000(d) for d in differences),
                     "truncated": [(which, per_1000(r)) for which, r, cut in zip(LIMITS, raw, shown, strict=True)
                                   if per_1000(r) != cut]})
    return rows


def continuous_effect(pooled: dict, sof: dict, unit: str) -> dict | None:
    """The mean difference in the outcome's unit (MD as pooled; SMD times a representative SD),
    with the assumed control mean; None when it cannot be given."""
    kind = absolute_kind(pooled)
    effects = _effects(pooled)
    if effects is None or kind not in MEAN_KINDS:
        return None
    means = [v for v in (arm_value(s, 2, "mean") for s in pooled.get("studies") or [])
             if v is not None]
    control_mean = finite(sof.get("control_mean"))
    mean_source = "set by the reviewers (sof.control_mean)" if control_mean is not None else \
        f"median control-group mean of {len(means)} stud{'y' if len(means) == 1 else 'ies'}"
    if control_mean is None:
        control_mean = median_or_none(means)
    out = {"control_mean": control_mean, "mean_source": mean_source, "unit": unit,
           "difference": effects, "sd": None, "sd_source": ""}
    if kind == "mean difference":
        return out
    if not unit:
        return None  # an SMD pooled across scales has no natural unit
    sd, out["sd_source"] = representative_sd(pooled, sof)
    if sd is None:
        return None
    est, lb, ub = effects
    out.update(sd=sd, difference=(sd * est, sd * lb, sd * ub))
    return out


# ---------------------------------------------------------------------------------------------
# Text of the table


def _count(n: int) -> str:
    """A whole number with thousands separated, as GRADE's tables write counts ("222,426")."""
    return f"{n:,}".replace("-", "−")


def _more_fewer(n: int) -> str:
    """"8 fewer", "3 more"; a zero "0 fewer/more" (no direction)."""
    return f"{_count(abs(n))} {'fewer/more' if n == 0 else 'more' if n > 0 else 'fewer'}"


def _higher_lower(x: float, digits: int, unit: str = "") -> str:
    """"0.54 lower", "14.5 days higher"; a difference shown as zero "higher/lower"."""
    shown = dp.number(abs(x), digits)
    way = "higher/lower" if float(shown) == 0 else "higher" if x > 0 else "lower"
    return f"{shown}{' ' + unit if unit else ''} {way}"


def _digits(values) -> int:
    """Two significant digits for the smallest magnitude shown, between 0 and 3 decimals."""
    return dp.decimals_for(values, lowest=0, highest=3, basis="smallest")


# Cochrane Handbook 15.5.3.1 (after Cohen 1988): an SMD of 0.2 is small, 0.5 moderate, 0.8 large.
SMD_SIZES = ((0.8, "large"), (0.5, "moderate"), (0.2, "small"))
SMD_SIZE_NOTE = ("SMD size by the rule of thumb of the Cochrane Handbook 15.5.3.1 (after Cohen): 0.2 small, "
                 "0.5 moderate, 0.8 large; below 0.2 less than small.")


def smd_size(x: float) -> str:
    """The size of an SMD by the rule of thumb (SMD_SIZES), whatever its sign."""
    return next((name for limit, name in SMD_SIZES if abs(x) >= limit), "less than small")


def smd_size_text(est: float, lb: float, ub: float) -> str:
    """"SMD size: moderate (95% CI: large lower to less than small higher)": the limits say their
    direction when the CI includes 0 (the estimate's is in the SMD beside it)."""
    both = lb < 0 < ub

    def limit(x: float) -> str:
        return f"{smd_size(x)} {'higher' if x > 0 else 'lower'}" if both else smd_size(x)

    return f"SMD size: {smd_size(est)} (95% CI: {limit(lb)} to {limit(ub)})"


def relative_text(pooled: dict, unit: str = "") -> str:
    """The pooled effect as shown, named by what it is: "RR 0.80 (0.70 to 0.91)", "Correlation
    0.23 (0.20 to 0.26)" (pooled as Fisher's z, shown as r), "Proportion (%) 75.75 (...)"; a
    generic effect as a "Difference" (or "Ratio") in the outcome's `unit`."""
    effects = _effects(pooled, shown=True)
    if effects is None:
        return "–"
    display = measures.display_of(pooled)
    null = dp.shown_null(display)
    if display.record.family == "generic":
        return f"{display.kind.capitalize()} {dp.ci(*effects, style='to', null=null)}{' ' + unit if unit else ''}"
    name = display.value_name
    # a single-group mean is in the outcome's unit ("Mean 33.88 (21.78 to 52.69) days")
    in_unit = f" {unit}" if unit and display.kind == "mean" else ""
    return f"{name[:1].upper()}{name[1:]} {dp.ci(*effects, style='to', null=null)}{in_unit}"


def sof_row(section: dict, pooled: dict, outcome_cfg: dict, time_unit_default="person-time units"
            ) -> dict:
    """One outcome's summary-of-findings cells (text) and the notes to number as footnotes."""
    grade = section["grade"]
    sof = dict(outcome_cfg.get("sof") or {})
    n = grade.get("participants")
    row = {"id": section["id"], "label": section["label"], "graded": grade.get("applicable"),
           "status": section["status_message"] or grade.get("reason", ""),
           "relative": "", "control": [], "experimental": [], "difference": [], "notes": [],
           "k": section["k"], "participants": _count(n) if n is not None else None, "participants_n": n,
           "counts": _counts(section, pooled)}
    if not grade.get("applicable"):
        return row
    kind = absolute_kind(pooled)
    row["relative"] = relative_text(pooled, outcome_cfg.get("unit", "")) if kind not in MEAN_KINDS else ""
    if kind in RISK_KINDS + RATE_KINDS:
        _risk_cells(row, pooled, sof, kind in RATE_KINDS, sof.get("time_unit") or time_unit_default)
    elif kind in MEAN_KINDS:
        _mean_cells(row, pooled, sof, outcome_cfg.get("unit", ""))
    row["notes"] += grade_notes(grade)
    if sof.get("comment"):
        row["notes"].append(("comment", str(sof["comment"])))
    return row


def _risk_cells(row: dict, pooled: dict, sof: dict, rate: bool, time_unit: str) -> None:
    """The absolute effects of a binary outcome or a rate, per assumed risk (rate), per 1,000."""
    per = f"per 1,000 {time_unit}" if rate else "per 1,000"
    effects = absolute_effects(pooled, sof)
    for e in effects:
        label = "" if e["label"] in {"Study population", "Assumed"} else f"{e['label']}: "
        est, lb, ub = (_count(v) for v in e["experimental"])
        d_est, d_lb, d_ub = (_more_fewer(v) for v in e["difference"])
        row["control"].append(f"{label}{_count(e['control'])} {per}")
        row["experimental"].append(f"{label}{est} {per} ({lb} to {ub})")
        row["difference"].append(f"{label}{d_est} {per} ({d_lb} to {d_ub})")
        row["notes"].append(("assumed", f"{'Assumed control rate' if rate else 'Assumed control risk'}"
                                        f" {_count(e['control'])} {per}: {e['source']}."))
        for which, raw in e["truncated"]:
            bound = "0" if raw < 0 else "1,000"
            row["notes"].append(("assumed", f"{label}Corresponding risk truncated to {bound} {per}: the assumed "
                                            f"control risk with the {measures.display_of(pooled).value_name}'s "
                                            f"{which} gives {_count(raw)} {per}."))
    if not effects:
        row["control"].append("no control risk" if not rate else "no control rate")
        row["notes"].append(("assumed", "No assumed control risk: the studies give no group data and none is "
                                        f"set in config (outcomes.{row['id']}.sof.assumed_risk)."))


def _mean_cells(row: dict, pooled: dict, sof: dict, unit: str) -> None:
    """A continuous outcome: the mean difference in its unit (an SMD re-expressed when the outcome
    has one) with the control mean, and an SMD's size by the rule of thumb."""
    cont = continuous_effect(pooled, sof, unit)
    smd = _effects(pooled) if absolute_kind(pooled) == "standardised mean difference" else None
    if smd is not None:
        est, lb, ub = smd
        row["relative"] = f"SMD {_higher_lower(est, 2)} ({_higher_lower(lb, 2)} to {_higher_lower(ub, 2)})"
    if cont:
        d = _digits(cont["difference"])
        est, lb, ub = cont["difference"]
        unit_text = f" {unit}" if unit else ""
        if cont["control_mean"] is not None:
            row["control"].append(f"mean {dp.number(cont['control_mean'], d)}{unit_text}")
            row["notes"].append(("assumed", f"Control mean: {cont['mean_source']}."))
        else:
            row["control"].append("no control mean")
            row["notes"].append(("assumed", f"No control mean: the studies give no control-group means and "
                                            f"none is set in config (outcomes.{row['id']}.sof.control_mean)."))
        row["difference"].append(f"MD {_higher_lower(est, d, unit)} ({_higher_lower(lb, d)} to "
                                 f"{_higher_lower(ub, d)})")
        if cont["sd"] is not None:
            row["notes"].append(("assumed", f"SMD re-expressed in {unit} with an SD of "
                                            f"{dp.number(cont['sd'], d)} ({cont['sd_source']}); "
                                            "this assumes the studies share that scale."))
    elif smd is not None:
        row["control"].append("no common unit" if not unit else "no representative SD")
        row["notes"].append(("assumed", "No natural unit: the SMD is not re-expressed "
                                        f"(set outcomes.{row['id']}.unit and, optionally, sof.sd)." if not unit else
                                        "No representative SD: the SMD is not re-expressed in "
                                        f"{unit} (set outcomes.{row['id']}.sof.sd)."))
    if smd is not None:
        row["difference"].append(smd_size_text(*smd))
        row["notes"].append(("assumed", SMD_SIZE_NOTE))


def _counts(section: dict, pooled: dict) -> str:
    """'5 studies' or '5 studies (12 effect sizes)': each study once, whatever its effect sizes."""
    return dependence.counts_text(pooled, inner=True) if pooled else f"{section['k']} studies"


def grade_notes(grade: dict) -> list[tuple[str, str]]:
    """The start and every rating down or up, with its reason, as footnote texts."""
    notes = [("start", f"Starting certainty {grade['start']}: {grade['start_reason']}.")]
    for key in DOMAINS:
        d = grade["domains"][key]
        if d["final"] or d["overridden"]:
            notes.append(("down", _rating_text(DOMAIN_NAMES[key], d, "down")))
    for key in UPGRADES:
        u = grade["upgrades"][key]
        if u["final"] or u["overridden"]:
            notes.append(("up", _rating_text(UPGRADE_NAMES[key], u, "up")))
    if grade.get("override_reason"):
        notes.append(("reviewers", f"Reviewers: {grade['override_reason']}"))
    return notes


def _rating_text(name: str, rating: dict, way: str) -> str:
    levels = abs(rating["final"])
    text = f"{name}: rated {way} {levels} level{'s' if levels != 1 else ''}" if levels else \
        f"{name}: not rated {way}"
    text += f" ({rating['reason']})"
    if rating["overridden"]:
        text += f"; suggested {rating['suggested']:+d}, set to {rating['final']:+d} by the reviewers"
    return text + "."


def number_footnotes(rows: list[dict]) -> list[str]:
    """Numbers every row's notes across the table (identical texts share a number); sets each
    row's `marks` (certainty footnotes) and `assumed_marks`, each in ascending order; returns the
    footnote texts."""
    texts: list[str] = []
    for row in rows:
        row["marks"], row["assumed_marks"] = [], []
        for kind, text in row["notes"]:
            if text not in texts:
                texts.append(text)
            number = texts.index(text) + 1
            marks = row["assumed_marks"] if kind == "assumed" else row["marks"]
            if number not in marks:
                marks.append(number)
        row["marks"].sort()
        row["assumed_marks"].sort()
    return texts
