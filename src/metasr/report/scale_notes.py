"""Caveats of the scale an outcome's numbers are shown on, each only where it applies: a raw
proportion or correlation (PR, COR, UCOR) has intervals that are normal approximations on the raw
scale and can extend beyond what the quantity can be (a prediction interval of -5.9 to 151.4 %);
they are reported as computed, and the note names the scales that keep them inside.
"""

from __future__ import annotations

from metasr import display as dp, measures


def scale_notes(pooled: dict) -> list[str]:
    """The outcome's scale caveats (none for most outcomes)."""
    return [note for note in (beyond_range_note(pooled),) if note]


def beyond_range_note(pooled: dict) -> str:
    """What a raw-scale outcome's intervals beyond the quantity's range are, or ""."""
    disp = measures.display_of(pooled)
    bounds = disp.shown_bounds
    if not disp.identity or bounds is None:
        return ""
    lo, hi = bounds

    def beyond(*values) -> bool:
        shown = [dp.shown(v, disp) for v in values]
        return any(v is not None and not lo <= v <= hi for v in shown)

    model = (pooled.get("model") or {}) if pooled.get("status") == "pooled" else {}
    parts = [name for name, keys in (("the pooled estimate's 95% CI", ("ci_lb", "ci_ub")),
                                     ("the 95% prediction interval", ("pi_lb", "pi_ub")))
             if beyond(*(model.get(k) for k in keys))]
    studies = [s for s in pooled.get("studies") or [] if beyond(s.get("ci_lb"), s.get("ci_ub"))]
    if studies:
        parts.append(f"the 95% CI of {_studies(studies)}")
    if not parts:
        return ""
    unit = " %" if disp.percent else ""
    alternatives = " or ".join(measures.BOUNDED_MEASURES.get(disp.kind, ()))
    return (f"On the {disp.record.analysis_scale} scale the intervals are symmetric normal approximations, and "
            f"{_and(parts)} extend{'s' if len(parts) == 1 else ''} beyond the range a {disp.kind} can take "
            f"({dp.number(lo, 0)} to {dp.number(hi, 0)}{unit}). They are shown as computed, not truncated; a "
            f"transformed scale (measure {alternatives}) keeps the intervals inside the range.")


def _studies(studies: list[dict], shown: int = 5) -> str:
    names = [str(s.get("label") or s.get("study_id")) for s in studies]
    more = len(names) - shown
    listed = ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
    return f"{len(names)} stud{'y' if len(names) == 1 else 'ies'} ({listed})"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
