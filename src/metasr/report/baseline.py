"""The baseline a summary of findings and GRADE both start from: how an outcome's effect becomes
an absolute one (`absolute_kind`), the control group's risk or rate it assumes
(`assumed_control_risk`: the reviewers' value or the studies' median), the SD that re-expresses an
SMD (`representative_sd`), and numbers per 1,000 (`per_1000`). metasr.report.sof builds the table's
cells from them; metasr.report.grade's optimal information size and appreciable limits use them.
"""

from __future__ import annotations

import math
import statistics

from metasr import measures
from metasr.display import arm_value, finite

# The kinds of absolute effect a measure's record names (metasr.measures, `absolute`).
RISK_KINDS = ("risk ratio", "odds ratio", "hazard ratio", "risk difference")
RATE_KINDS = ("rate ratio",)
MEAN_KINDS = ("mean difference", "standardised mean difference")
ABSOLUTE_KINDS = RISK_KINDS + RATE_KINDS + MEAN_KINDS


def absolute_kind(pooled: dict) -> str | None:
    """How the outcome's effect becomes an absolute one (None: relative effect only)."""
    measure = pooled.get("measure")
    return measures.get(measure).absolute if measures.known(measure) else None


def per_1000(x: float) -> int:
    """A proportion (or rate) as a whole number per 1,000, rounded half away from zero."""
    scaled = 1000 * x
    return int(math.copysign(math.floor(abs(scaled) + 0.5), scaled))


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def control_risks(pooled: dict) -> list[float]:
    """Each study's control-group risk (events / participants), where it has both."""
    return _per_control(pooled, "total")


def control_rates(pooled: dict) -> list[float]:
    """Each study's control-group rate (events / person-time), where it has both."""
    return _per_control(pooled, "time")


def _per_control(pooled: dict, denominator: str) -> list[float]:
    out = []
    for s in pooled.get("studies") or []:
        events, per = arm_value(s, 2, "events"), arm_value(s, 2, denominator)
        if events is not None and per:
            out.append(events / per)
    return out


def assumed_control_risk(pooled: dict, sof: dict) -> dict | None:
    """{label, risk, source} of the risk (rate, for rate ratios) the table assumes for the control
    group: `sof.assumed_risk` (`assumed_rate`), else the median of the studies' control groups;
    None when neither is there. GRADE's optimal information size uses it too."""
    rate = absolute_kind(pooled) in RATE_KINDS
    key = "assumed_rate" if rate else "assumed_risk"
    if finite(sof.get(key)) is not None:
        return {"label": "Assumed", "risk": float(sof[key]),
                "source": sof.get("assumed_risk_source") or f"set by the reviewers (sof.{key})"}
    observed = control_rates(pooled) if rate else control_risks(pooled)
    if not observed:
        return None
    what = "rate (events per person-time)" if rate else "risk"
    spread = f"; range {min(observed):.3g} to {max(observed):.3g}" if len(observed) > 1 else ""
    return {"label": "Study population", "risk": median_or_none(observed),
            "source": f"median control-group {what} of the {len(observed)} "
                      f"stud{'y' if len(observed) == 1 else 'ies'} with group data{spread}"}


def representative_sd(pooled: dict, sof: dict) -> tuple[float | None, str]:
    """(SD, its source) that turns an SMD into the outcome's unit: `sof.sd`, else the median
    control-group SD of the studies (Cochrane Handbook 15.5.3.2); (None, "") without either."""
    if finite(sof.get("sd")) is not None:
        return float(sof["sd"]), "set by the reviewers (sof.sd)"
    sds = [v for v in (arm_value(s, 2, "sd") for s in pooled.get("studies") or []) if v]
    if not sds:
        return None, ""
    return median_or_none(sds), f"median control-group SD of {len(sds)} stud{'y' if len(sds) == 1 else 'ies'}"
