"""Caveats of the scale an outcome's numbers are shown on, each only where it applies:

- a raw proportion or correlation (PR, COR, UCOR) has intervals that are normal approximations
  on the raw scale and can extend beyond what the quantity can be (a prediction interval of -5.9
  to 151.4 %); they are reported as computed, and the note names the scales that keep them inside;
- a back-transformation with the harmonic mean of the studies' sizes (Freeman-Tukey: PFT, IRFT)
  far below the typical study's size can give a misleading pooled proportion (Schwarzer et al. 2019).
"""

from __future__ import annotations

import statistics

from metasr import display as dp, measures

# The harmonic mean of the studies' sizes (transf.ipft.hm's ni) below this fraction of their
# median: one or a few very small studies decide the back-transformation. Schwarzer G, Chemaitelly
# H, Abu-Raddad LJ, Rücker G. Seriously misleading results using inverse of Freeman-Tukey double
# arcsine transformation in meta-analysis of single proportions. Res Synth Methods 2019;10:476-83.
SMALL_HARMONIC_MEAN = 0.5


def scale_notes(pooled: dict) -> list[str]:
    """The outcome's scale caveats (none for most outcomes)."""
    return [note for note in (beyond_range_note(pooled), harmonic_mean_note(pooled)) if note]


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
    # a transformed scale of the same data (PHI's tables or PCOR's t statistics give no ZCOR)
    alternatives = " or ".join(_same_data(disp))
    instead = f"; a transformed scale (measure {alternatives}) keeps the intervals inside the range" \
        if alternatives else ""
    what = disp.value_name if disp.kind == "correlation" else disp.kind  # a correlation, a Yule's Q
    return (f"On the {disp.record.analysis_scale} scale the intervals are symmetric normal approximations, and "
            f"{_and(parts)} extend{'s' if len(parts) == 1 else ''} beyond the range a {what} can take "
            f"({dp.number(lo, 0)} to {dp.number(hi, 0)}{unit}). They are shown as computed, not truncated{instead}.")


def _same_data(disp: measures.Display) -> list[str]:
    """The measures of the display's bounded quantity that take the same data (its family)."""
    family = disp.record.family
    return [m for m in measures.BOUNDED_MEASURES.get(disp.kind, ()) if measures.get(m).family == family]


def harmonic_mean_note(pooled: dict) -> str:
    """The caveat of a back-transformation whose harmonic mean of the studies' sizes is below
    SMALL_HARMONIC_MEAN of their median, or ""."""
    if pooled.get("status") != "pooled":
        return ""
    disp = measures.display_of(pooled)
    for name, harmonic in disp.args:
        sizes = [v for v in (measures.study_size(s, name) for s in pooled.get("studies") or []) if v is not None]
        median = statistics.median(sizes) if sizes else None
        if median is None or harmonic >= SMALL_HARMONIC_MEAN * median:
            continue
        return (f"The back-transformation ({measures.TRANSFORMS[disp.transform].metafor}) uses the harmonic mean of "
                f"the studies' {name}, {harmonic:.4g}, less than {SMALL_HARMONIC_MEAN:.0%} of their median "
                f"({median:.4g}): a few very small studies decide it, and the back-transformed pooled {disp.kind} "
                f"and its CI can be seriously misleading (Schwarzer et al. 2019, Res Synth Methods).{_instead(disp)}")
    return ""


def _instead(disp: measures.Display) -> str:
    """The measures of the same bounded quantity without this back-transformation, as a sentence."""
    others = [m for m in _same_data(disp) if m != disp.measure]
    return f" The measure {' or '.join(others)} has no such back-transformation." if others else ""


def _studies(studies: list[dict], shown: int = 5) -> str:
    names = [str(s.get("label") or s.get("study_id")) for s in studies]
    more = len(names) - shown
    listed = ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
    return f"{len(names)} stud{'y' if len(names) == 1 else 'ies'} ({listed})"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
