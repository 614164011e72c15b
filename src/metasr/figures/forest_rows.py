"""The rows of a forest plot's table: one per study (label, arm data, effect and CI as text,
the numbers the plot draws), their order, and the decimals shared down a column. forest.py lays
them out and draws them; forest_groups.py groups effect sizes under their study with them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from metasr import display, measures
from metasr.display import arm_value
from metasr.extraction import conversion_kinds as kinds
from metasr.figures import style
from metasr.figures.shown import configured_sort, sort_studies  # noqa: F401  (the forest's order, shared with the report)
from metasr.level import Z


@dataclass
class Row:
    kind: str  # study | group_title | subtotal | total | prediction | note | blank
    label: str = ""
    cells: dict = field(default_factory=dict)  # column key -> text
    est: float | None = None  # analysis scale (log for ratios)
    lb: float | None = None
    ub: float | None = None
    weight: float | None = None
    bold: bool = False
    study_id: str = ""
    # A subgroup's heading or a statistics line: it has no cells, so it may span the table's columns
    # (forest.wrap_wide_rows wraps it there; it never widens the label column).
    wide: bool = False
    # How the row's numbers are printed when not as the outcome's pooled results are: a study's
    # own display (its own ni under the Freeman-Tukey transforms, measures.Display.for_study).
    shown_as: measures.Display | None = None

    def __post_init__(self):
        # Anything but a finite number (missing, NaN, text) is None: the geometry checks only for None.
        self.est, self.lb, self.ub = display.finite(self.est), display.finite(self.lb), display.finite(self.ub)
        self.weight = display.finite(self.weight)


@dataclass
class Column:
    key: str
    header: str
    group: str | None = None  # "experimental" | "control" | "single" | None
    align: str = "right"


def study_label(study: dict) -> str:
    label = str(study.get("label") or study.get("study_id") or "")
    year = display.finite(study.get("year"))
    if year is not None and str(int(year)) not in label:
        label = f"{label} {int(year)}"
    return label


def study_row(study: dict, columns: list[Column], disp: measures.Display,
              formats: Formats | None = None) -> Row:
    formats = formats or column_formats([study], columns, disp)
    cells = {}
    for col in columns:
        if col.group:
            what = col.key[:-1]
            value = arm_value(study, int(col.key[-1]), what)
            cells[col.key] = display.integer(value) if what in display.COUNTS else \
                display.number(value, formats.arms.get(col.key, 2))
    yi, lb, ub = study_interval(study)
    weight = study.get("weight")
    cells["weight"] = display.percent(weight)
    own = disp.for_study(study)
    cells["effect"] = display.estimate(yi, lb, ub, own, formats.effect)
    label = study_label(study) + study_marks(study)
    return Row("study", label, cells, yi, lb, ub, weight, study_id=str(study.get("study_id") or ""),
               shown_as=own if own != disp else None)


def study_interval(study: dict) -> tuple:
    """(yi, ci_lb, ci_ub) on the analysis scale; a z-based CI from sei or vi when none is given."""
    yi, lb, ub = study.get("yi"), study.get("ci_lb"), study.get("ci_ub")
    estimate, sei, vi = display.finite(yi), display.finite(study.get("sei")), display.finite(study.get("vi"))
    if sei is None and vi is not None:
        sei = math.sqrt(vi)
    if estimate is not None and not style.is_number(lb) and sei is not None:
        lb, ub = estimate - Z * sei, estimate + Z * sei
    return yi, lb, ub


@dataclass
class Formats:
    """Decimals shared down the table: the arm columns' (means, SDs, person-time), the effect column's."""

    arms: dict
    effect: int


def column_formats(studies: list[dict], columns: list[Column], disp: measures.Display,
                   pooled_rows: Sequence[tuple] = ()) -> Formats:
    """One number of decimals for the means and SDs of every arm column (so that "5" never sits
    beside "5.00") and one for the effect column (studies and pooled rows together), as
    metasr.display chooses them."""
    measured = [col for col in columns if col.group and col.key[:-1] not in display.COUNTS]
    decimals = display.data_decimals([arm_value(s, int(col.key[-1]), col.key[:-1])
                                 for s in studies for col in measured])
    shown = [display.shown(v, disp.for_study(s)) for s in studies for v in study_interval(s)]
    pooled = [[display.shown(v, disp) for v in triple] for triple in pooled_rows]
    effect = display.decimals_for(shown + [v for triple in pooled for v in triple])
    # The pooled rows' bounds keep their side of the null down the column, as the report writes
    # them (metasr.display.null_side_decimals); a study whose bound would round onto the null gets
    # more decimals in its own row (display.estimate), so one such study does not widen them all.
    effect = display.null_side_decimals(effect, [v for t in pooled for v in t[1:]], display.shown_null(disp))
    return Formats({col.key: decimals for col in measured}, effect)


def study_marks(study: dict) -> str:
    """† for an effect derived by a conversion, ‡ for counts with a continuity correction."""
    return (CONVERTED_MARK if was_converted(study) else "") + \
        (CORRECTED_MARK if study.get("continuity") else "")


CONVERTED_MARK = " †"
CORRECTED_MARK = " ‡"


def was_converted(study: dict) -> bool:
    """True when the effect was derived by a conversion (median/range, t or p value, ...), reversed
    (flip) or computed with an assumed correlation; a continuity correction alone is marked on its
    own (‡)."""
    return bool(conversion_kinds(study))


def conversion_kinds(study: dict) -> set[str]:
    """What the † beside a study stands for: the ids of its conversions' marks (metasr.extraction.
    conversion_kinds: 'derived', 'flipped', 'assumed r', 'split'). The continuity correction that
    pooling appends to `conversion` has its own mark (‡): its text, which holds a ';', is taken out
    first."""
    corrected = str((study.get("continuity") or {}).get("text") or "")
    conversion = str(study.get("conversion") or "")
    parts = kinds.parts(conversion.replace(corrected, "") if corrected else conversion)
    return {kinds.mark_of(p).id for p in parts}
