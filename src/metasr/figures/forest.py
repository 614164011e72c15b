"""Forest plot in the RevMan layout, from a pooled-outcome result (`results/pooled/{outcome}.json`).

Layout, left to right: study label | experimental arm data | control arm data | weight |
effect [95% CI] as text | the plot. Below the studies: subgroup subtotals (when the result has
`subgroups`), the pooled diamond, the prediction interval, the x axis with "favours" labels, then
the heterogeneity line, the test for overall effect and the test for subgroup differences.

Effects are plotted on the analysis scale (log ratios, logit proportions, Fisher's z...), so CIs
are symmetric, and ticks and text show them back-transformed, as metafor's `atransf`: ratios,
proportions in %, correlations as r (the measure's transform: metasr.measures). Every number is
drawn where the axis reads what the table prints (placed_rows): a Freeman-Tukey study, printed
with its own ni, sits at its printed values, its CI no longer symmetric. Two-group
measures get one block of columns per group and an axis centred on the null; single-group
measures (a prevalence, an incidence rate, a correlation) get the study's events / total (or
person-time, or r / n), an axis that spans the data, and a footnote that names the analysis scale.

Expected optional `subgroups` block in the pooled JSON (studies carry `subgroup`):
    {"variable": str, "levels": [{"level", "k", "estimate", "se", "ci_lb", "ci_ub", "tau2",
     "I2", "Q", "Q_df", "Q_pval"}, ...], "Q_between", "Q_between_df", "Q_between_pval"}
(metafor's parallel-array form `{"levels": [names], "estimate": [...], ...}` is accepted too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator

from metasr import display, measures
from metasr.display import arm_value  # noqa: F401  (one definition, shared with the report)
from metasr.extraction.conversion_kinds import MARKS
from metasr.figures import forest_groups, style
from metasr.figures.forest_rows import (
    Column,
    Formats,
    Row,
    column_formats,
    configured_sort,
    conversion_kinds,
    sort_studies,
    study_row,
)
from metasr.figures.shown import COMMON_EFFECT_METHODS, common_effect, forest_draws_prediction
from metasr.stats.subgroup import normalise_subgroups  # noqa: F401  (the report reads levels the same way)

ROW_IN = 0.19  # row height, inches
PLOT_IN = 2.5  # width of the plot panel, inches
PAD_IN = 0.14  # gap between text columns, inches
LABEL_MAX_IN = 2.4  # longer study labels are cut with a visible ellipsis
LABEL_DISTINCT_MAX_IN = 3.6  # ... unless the cut would make two labels the same: then up to this
GROUP_MAX_IN = 1.6  # an arm block's header widens for its group name up to this



# ---------------------------------------------------------------------------------------------
# What goes in the table


def effect_header(pooled: dict) -> tuple[str, str]:
    """RevMan-style two-line header of the effect column: name, then model and interval."""
    method = (pooled.get("method") or "REML").upper()
    name = style.display(pooled).name
    if method == "MH":
        model = "M-H, Fixed"
    elif method == "PETO":
        model = "Peto, Fixed"
    elif method in COMMON_EFFECT_METHODS:
        model = "IV, Fixed"
    else:
        model = f"IV, Random ({method})"

    header = forest_groups.model_header(pooled)
    if header:
        return name, header
    test = (pooled.get("test") or "z").lower()
    return name, f"{model}, 95% CI" + INTERVAL_OF_TEST.get(test, "")


# How the header names a CI that is not the normal one: metafor's test = "t" uses the t
# distribution with the model's own SE; only "knha" (and "adhoc") adjust it (Knapp-Hartung).
INTERVAL_OF_TEST = {"t": " (t distribution)", "knha": " (Knapp-Hartung)", "adhoc": " (Knapp-Hartung, ad hoc)"}


CONTINUOUS = [("mean", "Mean"), ("sd", "SD"), ("total", "Total")]
ARM_FIELDS = {  # which statistics a family's table shows per group, with RevMan's column names
    "two-group means": CONTINUOUS, "variability": CONTINUOUS,
    "two-group tables": [("events", "Events"), ("total", "Total")],
    "two-group rates": [("events", "Events"), ("time", "Person-time")],
    "single-group proportions": [("events", "Events"), ("total", "Total")],
    "single-group rates": [("events", "Events"), ("time", "Person-time")],
    "single-group means": CONTINUOUS,
    # one sample measured twice: each occasion's mean and SD, the two measurements' r, the pairs
    "paired means": [("mean1", "Mean (1)"), ("sd1", "SD (1)"), ("mean2", "Mean (2)"), ("sd2", "SD (2)"), ("r", "r"),
                     ("total", "Total")],
    "correlations": [("r", "r"), ("total", "Total")],
    # a regression coefficient: its t, the model's predictors and R², the sample
    "partial correlations": [("t", "t"), ("predictors", "Predictors"), ("r2", "R²"), ("total", "Total")],
}


def arm_fields(measure: str | None) -> list[tuple[str, str]]:
    family = measures.get(measure).family if measures.known(measure) else "generic"
    return ARM_FIELDS.get(family, [("total", "Total")])


def single_group(pooled: dict) -> bool:
    return measures.single_group(pooled.get("measure"))


def arm_columns(pooled: dict, groups: dict) -> list[Column]:
    """Arm columns that at least one study fills (a column of blanks says nothing)."""
    studies = pooled.get("studies") or []
    columns = []
    roles = ((0, "single"),) if single_group(pooled) else ((1, "experimental"), (2, "control"))
    for g, role in roles:
        for what, header in arm_fields(pooled.get("measure")):
            if what != "total" and not any(arm_value(s, g, what) is not None for s in studies):
                continue
            if what == "total" and not any(arm_value(s, g, "total") is not None for s in studies):
                continue
            columns.append(Column(f"{what}{g}", header, role))
    return columns


def favours_labels(outcome_cfg: dict, review_cfg: dict) -> tuple[str, str]:
    """(left, right) labels under the axis. Config `favours: {left, right}` wins; otherwise the
    effect is experimental minus (or over) control, so with `higher_is: worse` a positive effect
    is bad for the experimental group: left favours experimental, right favours control."""
    given = (outcome_cfg or {}).get("favours") or {}
    if isinstance(given, (list, tuple)):  # the config schema's [left, right]
        left, right = given
        given = {"left": left, "right": right}
    groups = (review_cfg or {}).get("groups") or {}
    exp = groups.get("experimental", "experimental")
    ctl = groups.get("control", "control")
    direction = (outcome_cfg or {}).get("higher_is")
    if direction == "worse":
        default = (f"Favours {exp}", f"Favours {ctl}")
    elif direction == "better":
        default = (f"Favours {ctl}", f"Favours {exp}")
    else:
        default = (f"Higher in {ctl}", f"Higher in {exp}")
    return given.get("left", default[0]), given.get("right", default[1])


def totals_cells(studies: list[dict], columns: list[Column]) -> dict:
    """Arm totals and total events, when every study reports them (RevMan's Total row)."""
    cells = {}
    for col in columns:
        what = col.key[:-1]
        if not col.group or what not in {"total", "events"}:
            continue
        values = [arm_value(s, int(col.key[-1]), what) for s in studies]
        if values and all(v is not None for v in values):
            cells[col.key] = display.integer(sum(values))
    return cells


def heterogeneity_text(m: dict, fixed: bool) -> str:
    parts = []
    if not fixed and style.is_number(m.get("tau2")):
        parts.append(f"Tau² = {display.tau2(m['tau2'])}")  # as the report writes it
    if style.is_number(m.get("Q")):
        df = display.finite(m.get("Q_df"))
        df_text = f", df = {int(df)}" if df is not None else ""
        parts.append(f"Chi² = {display.number(m['Q'])}{df_text} ({display.p_value(m.get('Q_pval'))})")
    if style.is_number(m.get("I2")):
        parts.append(f"I² = {display.i2(m['I2'])}")
    return "Heterogeneity: " + "; ".join(parts) if parts else ""


def subgroup_difference_text(sub: dict) -> str:
    q, df = display.finite(sub.get("Q_between")), sub.get("Q_between_df")
    left_out = f"; {sub['Q_between_note']}" if sub.get("Q_between_note") else ""
    if q is None:  # the note (metasr.stats.analysis) says there is no test and why
        note = sub.get("Q_between_note") or ""
        return note[:1].upper() + note[1:]
    if isinstance(df, list):  # the cluster-robust HTZ F test of dependent effect sizes
        p_text = display.p_value(sub.get("Q_between_pval"))
        return (f"Test for subgroup differences: {display.f_statistic(df)} = {display.number(q)} "
                f"({p_text}; {sub.get('Q_between_test')})")
    df = display.finite(df)
    i2 = max(0.0, (q - df) / q) * 100 if df is not None and q > 0 else 0.0
    df_text = f", df = {int(df)}" if df is not None else ""
    return (f"Test for subgroup differences: Chi² = {display.number(q)}{df_text} "
            f"({display.p_value(sub.get('Q_between_pval'))}), I² = {display.i2(i2)}{left_out}")


def build_rows(pooled: dict, columns: list[Column], sort_by: str) -> tuple[list[Row], list[str]]:
    """Table rows (with estimates on the analysis scale) and the footnote lines."""

    disp = style.display(pooled)
    studies = sort_studies(pooled.get("studies") or [], sort_by)
    model = pooled.get("model") or {}
    fixed = common_effect(pooled)
    rows: list[Row] = []
    footnotes: list[str] = []
    levels = normalise_subgroups(pooled.get("subgroups"))
    in_levels = levels and all("subgroup" in s for s in studies)
    formats = column_formats(studies, columns, disp, pooled_triples(model, levels if in_levels else []))
    if in_levels:
        grouped = forest_groups.is_grouped(pooled)
        for level in levels:
            members = [s for s in studies if str(s.get("subgroup")) == str(level["level"])]
            rows.append(Row("group_title", str(level["level"]), bold=True, wide=True))
            if grouped:  # a subgroup's effect sizes under their studies (a study may be in several)
                rows.extend(forest_groups.grouped_rows(forest_groups.part(pooled, members), columns, disp, sort_by,
                                                       formats, indent=forest_groups.INDENT))
            else:
                rows.extend(study_row(s, columns, disp, formats) for s in members)
            rows.extend(subtotal_rows(level, members, columns, disp, formats, fixed, totals=not grouped,
                                      shared=forest_groups.shared_heterogeneity_text(pooled)))
            rows.append(Row("blank"))
    elif forest_groups.is_grouped(pooled):  # effect sizes grouped under their study
        rows.extend(forest_groups.grouped_rows(pooled, columns, disp, sort_by, formats))
        rows.append(Row("blank"))
    else:
        rows.extend(study_row(s, columns, disp, formats) for s in studies)
        rows.append(Row("blank"))

    status = pooled.get("status") or ("pooled" if model else "no_data")
    if status == "pooled" and model:
        # a study's several effect sizes share participants: no arm totals over them
        cells = {} if forest_groups.is_grouped(pooled) else totals_cells(studies, columns)
        cells["weight"] = display.percent(100)
        cells["effect"] = display.estimate(model.get("estimate"), model.get("ci_lb"), model.get("ci_ub"),
                                      disp, formats.effect)
        rows.append(Row("total", "Total (95% CI)", cells, model.get("estimate"),
                        model.get("ci_lb"), model.get("ci_ub"), bold=True))
        if forest_draws_prediction(pooled):
            pi_text = display.interval(display.shown(model["pi_lb"], disp), display.shown(model["pi_ub"], disp),
                                  formats.effect, null=display.shown_null(disp))
            rows.append(Row("prediction", "Prediction interval", {"effect": pi_text}, None,
                            model["pi_lb"], model["pi_ub"]))
        # the model's own test (none for a measure without a null: shown.overall_test)
        footnotes += forest_groups.footer_lines(pooled) or [
            t for t in (heterogeneity_text(model, fixed), forest_groups.overall_test_line(pooled)) if t]
        footnotes += forest_groups.extra_footnotes(pooled)
        if in_levels:
            footnotes.append(subgroup_difference_text(pooled["subgroups"]))
    else:
        message = pooled.get("status_message") or "k = 1: not pooled"
        rows.append(Row("total", message, {}, bold=True))
        footnotes.append(f"{message}: the study is shown without a pooled estimate.")
    footnotes += study_footnotes(studies)
    if (not disp.identity or disp.percent) and not disp.ratio:  # ratios on a log axis go without saying
        footnotes.append(scale_note(disp, subgroups=bool(in_levels)))
    n_bad = pooled.get("k_not_usable") or len(pooled.get("not_usable") or [])
    if n_bad:
        footnotes.append(f"{n_bad} extracted row{'s' if n_bad != 1 else ''} not usable for "
                         "pooling (listed in the report's narrative synthesis).")
    return rows, [f for f in footnotes if f]


def pooled_triples(model: dict, levels: list[dict]) -> list[tuple]:
    """(estimate, lower, upper) of the pooled rows, on the analysis scale."""
    triples = [(lv.get("estimate"), lv.get("ci_lb"), lv.get("ci_ub")) for lv in levels]
    if model:
        triples += [(model.get("estimate"), model.get("ci_lb"), model.get("ci_ub")),
                    (None, model.get("pi_lb"), model.get("pi_ub"))]
    return triples


def subtotal_rows(level: dict, members: list[dict], columns: list[Column], disp, formats: Formats,
                  fixed: bool, totals: bool = True, shared: str = "") -> list[Row]:
    """A subgroup's subtotal (and its heterogeneity line), as metasr.stats.subgroup fits it: a
    level of one study keeps that study's own estimate (no heterogeneity to speak of). Without
    `totals` no arm totals (dependent effect sizes share participants). `shared`: the line for a
    level without heterogeneity statistics of its own (subgroups of one model)."""
    cells = totals_cells(members, columns) if totals else {}
    cells["weight"] = display.percent(sum(s.get("weight") or 0 for s in members))
    est = level.get("estimate")
    if not style.is_number(est):
        cells["effect"] = "not estimable"
        return [Row("subtotal", "Subtotal", cells, bold=True)]
    cells["effect"] = display.pooled_estimate(level, disp, formats.effect)  # with the level's own targs
    drawn_est, drawn_lb, drawn_ub = subtotal_at_printed(level, disp)
    rows = [Row("subtotal", "Subtotal (95% CI)", cells, drawn_est, drawn_lb, drawn_ub, bold=True)]
    het = (heterogeneity_text(level, fixed) or shared) if len(members) > 1 else \
        "Heterogeneity: not applicable (one study)"
    if het:
        rows.append(Row("note", het, wide=True))
    return rows


def subtotal_at_printed(level: dict, disp) -> tuple:
    """Where a subtotal's estimate and CI are drawn: at the axis positions whose labels read the
    numbers its row prints. A level back-transformed with its own targs (its studies' harmonic
    mean of ni) prints other numbers than the axis, labelled with the whole outcome's, reads at
    its analysis-scale values; a value the axis cannot place keeps that position."""
    values = [level.get(key) for key in ("estimate", "ci_lb", "ci_ub")]
    own = level.get("transformed")
    if not isinstance(own, dict):
        return tuple(values)
    placed = [disp.from_shown(disp.shown_back(own.get(key))) for key in ("estimate", "ci_lb", "ci_ub")]
    return tuple(v if p is None else p for v, p in zip(values, placed, strict=True))


def study_footnotes(studies: list[dict]) -> list[str]:
    """What the marks beside study labels mean (only the marks that are used)."""
    notes = []
    kinds = set().union(*(conversion_kinds(s) for s in studies)) if studies else set()
    if kinds:
        what = [mark.footnote for mark in MARKS if mark.id in kinds]
        notes.append("† " + "; or ".join(what)[:1].upper() + "; or ".join(what)[1:] + "; details in the report.")
    corrected = sorted({s["continuity"]["text"] for s in studies if (s.get("continuity") or {}).get("text")})
    if corrected:
        notes.append("‡ Continuity correction: " + "; ".join(corrected) + ".")
    return notes


# ---------------------------------------------------------------------------------------------
# Geometry


def scale_note(disp: measures.Display, subgroups: bool = False) -> str:
    """The footnote that says what the numbers shown are and how they were analysed."""
    if not disp.args:
        return f"Effects shown as {disp.scale_text}."
    args = "".join(f", {name} = {value:.4g} (harmonic mean)" for name, value in disp.args)
    names = " and ".join(name for name, _ in disp.args)
    # a study's row is back-transformed with its own ni (measures.Display.for_study), a subtotal
    # with its subgroup's harmonic mean (stats.tables.add_level_transformed)
    if subgroups:
        return (f"Effects shown as {disp.scale_text}{args} for the overall result; each subtotal with the harmonic "
                f"mean of its subgroup's {names}, each study's row with its own.")
    return f"Effects shown as {disp.scale_text}{args} for the pooled results; each study's row with its own {names}."


def scale_ends(disp: measures.Display) -> tuple[float | None, float | None]:
    """The bounds of the shown scale (0 and 100 %, -1 and 1) on the analysis scale, each None
    where the analysis scale never reaches it (the logit's 0 and 100 %) or the scale is unbounded."""
    bounds = disp.shown_bounds
    if bounds is None:
        return None, None
    return disp.from_shown(bounds[0]), disp.from_shown(bounds[1])


def placed_rows(rows: list[Row], disp: measures.Display) -> list[Row]:
    """The rows with their numbers where the axis reads what the table prints for them.

    The axis is labelled with the pooled results' back-transformation (disp.shown). Under the
    Freeman-Tukey transforms a study's own numbers are back-transformed with its own ni (or ti),
    as metafor's forest prints them, so its yi drawn as is sits where the axis reads another number
    (a 1/1 study printed 100 % drew at 89.6 %). Each is put at the position whose tick label is
    its printed value instead: the inverse of the tick labels (disp.from_shown, monotone over the
    scale); its CI is then as asymmetric on the axis as it is in print. The same inverse puts a
    number that the back-transformation clamps to a bound (a CI beyond the arcsine of 100 %,
    printed 100.00) at that bound. A number printed as the axis reads it, inside the scale, is
    kept as it is: no round trip, so no other measure moves by a rounding error."""
    ends = scale_ends(disp)

    def place(value, shown_as):
        if value is None:
            return None
        if shown_as is None and (ends[0] is None or ends[0] <= value) and (ends[1] is None or value <= ends[1]):
            return value
        return disp.from_shown((shown_as or disp).shown(value))

    return [replace(r, est=place(r.est, r.shown_as), lb=place(r.lb, r.shown_as), ub=place(r.ub, r.shown_as))
            if r.est is not None or r.lb is not None or r.ub is not None else r for r in rows]


def axis_limits(rows: list[Row], disp: measures.Display) -> tuple[float, float]:
    """The plotted range on the analysis scale: symmetric about the null where the measure has
    one, else spanning the data.

    Wide enough for every study's square, the pooled CIs and the prediction interval, and for
    most study CIs; a very imprecise study's CI is cut at the edge with an arrow rather than
    squashing every other row, but its square is always on the axis."""
    if disp.null is None:
        return data_limits(rows, disp)
    half = axis_half_width(rows, disp)
    return disp.null - half, disp.null + half


# Room beyond the farthest square: half a large square (9 pt of a 2.5-inch axis) and some air.
SQUARE_ROOM = 1.08


def axis_half_width(rows: list[Row], disp: measures.Display) -> float:
    """Half-width of the symmetric axis around the null, on the analysis scale."""
    null = disp.null or 0.0
    pooled_bounds = [abs(v - null) for r in rows if r.kind in {"total", "subtotal", "prediction"}
                     for v in (r.lb, r.ub, r.est) if v is not None]
    study_bounds = sorted(abs(v - null) for r in rows if r.kind == "study"
                          for v in (r.lb, r.ub) if v is not None)
    squares = [abs(r.est - null) * SQUARE_ROOM for r in rows if r.kind == "study" and r.est is not None]
    if not study_bounds and not pooled_bounds and not squares:
        return math.log(2) if disp.ratio else 1.0
    core = study_bounds[int(0.9 * (len(study_bounds) - 1))] if study_bounds else 0.0
    needed = max(pooled_bounds + squares + [core, max(study_bounds or [0]) if len(study_bounds) <= 4 else 0])
    needed = max(needed, 0.05)
    return style.null_half_width(needed, disp)


# How close to a bound of the shown scale (proportions: 0 and 100 %) the axis may reach when the
# analysis scale never reaches the bound itself (the logit): a fraction of the scale's range (0.1 %).
BOUND_MARGIN = 0.001


def data_limits(rows: list[Row], disp: measures.Display | None = None) -> tuple[float, float]:
    """An axis spanning every study's square, the pooled intervals and most study CIs, with a margin.

    On a bounded scale (proportions) every study CI is spanned, up to the scale's bounds: no CI
    there runs past what a proportion can be."""
    pooled = [v for r in rows if r.kind in {"total", "subtotal", "prediction"}
              for v in (r.lb, r.ub, r.est) if v is not None]
    squares = [r.est for r in rows if r.kind == "study" and r.est is not None]
    centres = squares + [r.est for r in rows if r.kind in {"total", "subtotal"} and r.est is not None]
    lows = sorted(r.lb for r in rows if r.kind == "study" and r.lb is not None)
    highs = sorted(r.ub for r in rows if r.kind == "study" and r.ub is not None)
    inside = scale_limits(disp) if disp is not None else None
    if len(lows) > 4 and inside is None:
        lows, highs = [lows[int(0.1 * (len(lows) - 1))]], [highs[int(0.9 * (len(highs) - 1))]]
    values = pooled + lows + highs + squares
    if not values:
        return -1.0, 1.0
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.08, 0.02)
    if inside is None:
        return lo - pad, hi + pad
    lo, hi = max(lo - pad, inside[0]), min(hi + pad, inside[1])
    if not centres:
        return lo, hi
    # Squares and diamonds keep their margin past BOUND_MARGIN (a logit of 0/5000), never past a
    # bound the scale reaches (drawn over the axis end there: ends_at_bound).
    ends = scale_ends(disp) if disp is not None else (None, None)
    lowest, highest = min(centres) - pad, max(centres) + pad
    return (min(lo, lowest if ends[0] is None else max(lowest, ends[0])),
            max(hi, highest if ends[1] is None else min(highest, ends[1])))


def scale_limits(disp: measures.Display) -> tuple[float, float] | None:
    """How far an axis of a bounded scale may reach, on the analysis scale: the bounds themselves
    where the analysis scale reaches them (raw, arcsine and Freeman-Tukey proportions: a study at
    0 % or 100 % sits at the end of the axis, and a CI that ends there needs no arrow), else
    BOUND_MARGIN inside them (the logit never reaches 0 or 100 %); None for an unbounded scale."""
    bounds = disp.shown_bounds
    if bounds is None:
        return None
    margin = (bounds[1] - bounds[0]) * BOUND_MARGIN
    ends = scale_ends(disp)
    lo = ends[0] if ends[0] is not None else disp.from_shown(bounds[0] + margin)
    hi = ends[1] if ends[1] is not None else disp.from_shown(bounds[1] - margin)
    return None if lo is None or hi is None else (lo, hi)


def ends_at_bound(lo: float, hi: float, disp: measures.Display) -> bool:
    """Whether an axis spanning the data (data_limits) stops at a bound of its scale: it cannot be
    widened there for half a square at 0 % or 100 %, so the squares are drawn whole over its ends
    (the gap to the table is wider than half the largest square)."""
    limits = scale_limits(disp) if disp.null is None else None
    return limits is not None and (lo <= limits[0] or hi >= limits[1])


def marker_size(weight: float | None, max_weight: float) -> float:
    """Square side in points; area proportional to weight, as in RevMan. A negative weight (an
    effect size's row-sum share in a three-level model can be one) gets the smallest square."""
    weight = display.finite(weight)
    if weight is None or max_weight <= 0:
        return 5.0
    return max(2.5, 9.0 * math.sqrt(max(weight, 0.0) / max_weight))


def axis_range(limits) -> tuple[float, float]:
    """(lo, hi) from axis limits given as a pair or as the half-width of a symmetric axis."""
    return (float(limits[0]), float(limits[1])) if isinstance(limits, (tuple, list)) else (-limits, limits)


def draw_interval(ax, y, lb, ub, limits, colour, lw=0.9):
    """Horizontal CI line cut at the axis limits with an arrow head where it goes beyond."""
    draw_intervals(ax, [y], [lb], [ub], limits, colour, lw)


def draw_intervals(ax, ys, lbs, ubs, limits, colour, lw=0.9):
    """Many CI lines (one per row) as one LineCollection: each cut at the axis limits (lo, hi),
    or a half-width), with an arrow head where it goes beyond. Drawn like one `ax.plot` per row,
    at a fraction of the cost."""
    left, right = axis_range(limits)
    half = (right - left) / 2
    segments, arrows = [], []
    for y, lb, ub in zip(ys, lbs, ubs, strict=True):
        if not (style.is_number(lb) and style.is_number(ub)):
            continue
        lo, hi = max(lb, left), min(ub, right)
        if hi < left or lo > right:
            continue
        segments.append([(lo, y), (hi, y)])
        arrows += [(end, y, sign) for beyond, end, sign in ((lb < left, left, -1),
                                                            (ub > right, right, 1)) if beyond]
    if segments:
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=lw,
                                         capstyle="butt", zorder=2), autolim=False)
    for end, y, sign in arrows:
        ax.annotate("", xy=(end, y), xytext=(end - sign * half * 0.06, y),
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=lw,
                                    mutation_scale=6, shrinkA=0, shrinkB=0), zorder=3)


def draw_markers(ax, xs, ys, sizes, colour, marker="s", clip=True):
    """Filled markers of `sizes` points (side or diameter) as one collection, looking exactly
    like `ax.plot(..., marker=marker, markersize=size)` (1-pt edge in the fill colour); with
    `clip=False` drawn whole where they reach past the axes."""
    if len(xs):
        ax.scatter(xs, ys, s=[size**2 for size in sizes], marker=marker, c=colour,
                   edgecolors=colour, linewidths=1.0, joinstyle="miter", zorder=4, clip_on=clip)


def draw_diamond(ax, y, est, lb, ub, colour, half_height=0.38):
    h = half_height
    ax.add_patch(Polygon([(lb, y), (est, y - h), (ub, y), (est, y + h)], closed=True,
                         facecolor=colour, edgecolor=colour, lw=0.6, zorder=3))


# ---------------------------------------------------------------------------------------------
# The figure


def plot_forest(pooled: dict, outcome_cfg: dict | None = None, review_cfg: dict | None = None,
                sort_by: str | None = None, rob_rows: list[dict] | None = None):
    """Draw the forest plot of one pooled outcome; returns a matplotlib Figure.

    rob_rows: the studies sheet's rows of the outcome's studies, for the risk-of-bias columns
    that `outcome_cfg["forest"]["risk_of_bias"]` asks for (metasr.rob)."""
    outcome_cfg = outcome_cfg or {}
    review_cfg = review_cfg or {}
    title = f"{pooled.get('label') or pooled.get('outcome')}"
    if not pooled.get("studies"):
        message = pooled.get("status_message") or "no study-level data yet"
        with style.style():
            return style.message_figure(title, f"Forest plot not drawn: {message}.")
    sort_by = sort_by or configured_sort(outcome_cfg)
    if outcome_cfg.get("scale"):
        pooled = {**pooled, "scale": outcome_cfg["scale"]}
    with style.style():
        return _draw(pooled, outcome_cfg, review_cfg, sort_by, title, rob_rows)


def _column_widths(rows, columns, label_header):
    return _label_width(rows, label_header) + PAD_IN, _value_widths(rows, columns)


def _label_width(rows, label_header) -> float:
    """The label column: as wide as its longest label, up to LABEL_MAX_IN; wider, up to
    LABEL_DISTINCT_MAX_IN, when cutting there would make two labels read the same (effect sizes
    named "..., school10" and "..., school11")."""
    labels = [(r.label, "bold" if r.bold else "normal") for r in rows if not r.wide]
    natural = max([style.text_width_in(text, weight=weight) for text, weight in labels]
                  + [style.text_width_in(label_header, weight="bold"), 0.8])
    width = min(LABEL_MAX_IN, natural)
    if natural > width and _cuts_merge(labels, width):
        width = min(LABEL_DISTINCT_MAX_IN, natural)
    return width


def _cuts_merge(labels: list[tuple[str, str]], width: float) -> bool:
    """Whether cutting labels to `width` (as _draw_table does) makes different labels the same."""
    short = _short_labels(labels, width + 0.005)
    return len(set(short.values())) < len(short)


def _short_labels(labels: list[tuple[str, str]], width: float) -> dict[tuple[str, str], str]:
    """(label, weight) -> the label cut in its middle to `width` (style.shorten_labels: the year
    and a '(second report)' at its end stay, and two labels are never cut to the same text)."""
    short = {}
    for weight in ("normal", "bold"):
        texts = [text for text, w in labels if w == weight]
        short.update({(text, weight): cut
                      for text, cut in style.shorten_labels(texts, width, weight=weight).items()})
    return short


def _value_widths(rows, columns) -> dict:
    widths = {}
    for col in columns:
        # The effect column's header is drawn centred over effect + plot, so it does not count.
        texts = [r.cells.get(col.key, "") for r in rows] + (
            [col.header] if col.key != "effect" else [])
        widths[col.key] = max(style.text_width_in(t, weight="bold") for t in texts) + PAD_IN
    return widths


class Canvas:
    """A figure addressed in inches from its top-left corner: table layout stays arithmetic."""

    def __init__(self, width_in: float, height_in: float):
        self.w, self.h = width_in, height_in
        self.fig = style.new_figure(width_in, height_in)

    def text(self, x_in, y_in, text, **kw):
        kw.setdefault("va", "baseline")
        style.add_text(self.fig, x_in / self.w, 1 - y_in / self.h, text, **kw)

    def hline(self, x0_in, x1_in, y_in):
        y = 1 - y_in / self.h
        self.fig.add_artist(Line2D([x0_in / self.w, x1_in / self.w], [y, y],
                                   transform=self.fig.transFigure, color="#444444", lw=0.5))

    def axes(self, x_in, top_in, width_in, height_in):
        return self.fig.add_axes([x_in / self.w, 1 - (top_in + height_in) / self.h,
                                  width_in / self.w, height_in / self.h])


@dataclass
class Layout:
    """Where everything goes, in inches: columns' right edges, the plot, the bands of rows."""

    columns: list
    widths: dict
    right_edge: dict
    label_w: float
    group_lines: dict
    extra: float  # header growth (rows) when a group name wraps onto a second line
    plot_x0: float
    width: float
    title_lines: list
    foot_lines: list
    favours: list
    top_h: float
    header_h: float
    body_h: float
    axis_h: float

    @property
    def height(self) -> float:
        return (self.top_h + self.header_h + self.body_h + self.axis_h
                + ROW_IN * len(self.foot_lines) + 0.15)

    @property
    def body_top(self) -> float:
        return self.top_h + self.header_h


MARGIN_IN = 0.15


def _group_headers(arms, widths, groups) -> tuple[dict, float]:
    """Widen each arm block for its group's name up to GROUP_MAX_IN; longer names wrap onto a
    second line (then are cut visibly), so long names never push the plot off the page."""
    lines = {}
    for role in ("experimental", "control"):
        keys = [c.key for c in arms if c.group == role]
        if not keys:
            continue
        group_name = groups.get(role, role.capitalize())
        natural = sum(widths[k] for k in keys)
        need = min(style.text_width_in(group_name, weight="bold") + PAD_IN,
                   max(natural, GROUP_MAX_IN))
        if need > natural:
            for k in keys:
                widths[k] += (need - natural) / len(keys)
        lines[role] = style.wrap_to_width(group_name, max(need, natural) - PAD_IN, weight="bold",
                                       max_lines=2)
    extra = 0.85 * (max([len(v) for v in lines.values()] or [1]) - 1)
    return lines, extra


def _layout(rows, footnotes, columns, arms, groups, favours, title, right_in: float = 0.0) -> Layout:
    """right_in: room for columns right of the plot (risk of bias)."""
    label_w, widths = _column_widths(rows, columns, LABEL_HEADER)
    group_lines, extra = _group_headers(arms, widths, groups)
    table_w = label_w + sum(widths.values())
    width = max(MARGIN_IN * 2 + table_w + PLOT_IN + 0.1 + right_in, 6.0)
    x = MARGIN_IN + label_w
    right_edge = {}
    for col in columns:  # text is right-aligned in its column
        x += widths[col.key]
        right_edge[col.key] = x - PAD_IN / 2
    title_lines = style.wrap_to_width(title, width - 2 * MARGIN_IN, size=style.FONT_SIZE + 2,
                                   weight="bold", max_lines=3)
    foot_lines = [part for line in footnotes
                  for part in style.split_clauses(line, width - 2 * MARGIN_IN)]
    # Favours labels wrap onto two lines under each half of the axis, then are cut visibly.
    favours = [style.wrap_to_width(label, PLOT_IN / 2 - 0.05, size=style.FONT_SIZE - 0.5,
                                max_lines=2) for label in favours]
    return Layout(columns, widths, right_edge, label_w, group_lines, extra,
                  MARGIN_IN + table_w + 0.05, width, title_lines, foot_lines, favours,
                  top_h=0.12 + 0.24 * len(title_lines), header_h=ROW_IN * (2.4 + extra),
                  body_h=ROW_IN * len(rows), axis_h=0.42 + 0.15 * max(map(len, favours)))


LABEL_HEADER = "Study or subgroup"


def _draw(pooled, outcome_cfg, review_cfg, sort_by, title, rob_rows=None):
    groups = review_cfg.get("groups") or {}
    arms = arm_columns(pooled, groups)
    name, model_line = effect_header(pooled)
    columns = arms + [Column("weight", "Weight"), Column("effect", model_line)]
    rows, footnotes = build_rows(pooled, columns, sort_by)
    rows = wrap_wide_rows(rows, columns)
    disp = style.display(pooled)
    favours = favours_labels(outcome_cfg, review_cfg) if disp.null is not None and not single_group(pooled) \
        else single_group_labels(outcome_cfg)
    panel = rob_panel(pooled.get("studies") or [], rob_rows) if wants_rob_columns(outcome_cfg) else None
    footnotes += panel.notes if panel else []
    lay = _layout(rows, footnotes, columns, arms, groups, favours, title,
                  panel.width + ROB_GAP_IN if panel and panel.headers else 0.0)
    canvas = Canvas(lay.width, lay.height)
    y = 0.08
    for line in lay.title_lines:
        y += 0.24
        canvas.text(MARGIN_IN, y, line, fontsize=style.FONT_SIZE + 2, weight="bold")
    _draw_header(canvas, lay, arms, groups, name, model_line)
    _draw_table(canvas, lay, rows)
    ax = canvas.axes(lay.plot_x0, lay.body_top, PLOT_IN, lay.body_h)
    _draw_plot(ax, rows, disp, len(rows))
    if panel and panel.headers:
        _draw_rob(canvas, lay, rows, panel)
    _draw_footer(canvas, lay)
    return canvas.fig


def _draw_header(canvas: Canvas, lay: Layout, arms, groups, name, model_line):
    """Line 1: arm group names over their columns, the measure over effect + plot;
    line 2: column names; then a rule."""
    top, extra = lay.top_h, lay.extra
    for role, lines in lay.group_lines.items():
        keys = [c.key for c in arms if c.group == role]
        left = lay.right_edge[keys[0]] - lay.widths[keys[0]] + PAD_IN / 2
        right = lay.right_edge[keys[-1]]
        for j, text in enumerate(lines):  # bottom-aligned over the block's column names
            y_line = ROW_IN * (1.0 + extra - 0.85 * (len(lines) - 1 - j))
            canvas.text((left + right) / 2, top + y_line, text, ha="center", weight="bold")
        canvas.hline(left, right, top + ROW_IN * (1.2 + extra))
    effect_left = lay.right_edge["effect"] - lay.widths["effect"] + PAD_IN / 2
    centre = (effect_left + lay.plot_x0 + PLOT_IN) / 2
    span = lay.plot_x0 + PLOT_IN - effect_left
    canvas.text(centre, top + ROW_IN * (1.0 + extra),
                style.truncate_to_width(name, span, weight="bold"), ha="center", weight="bold")
    y2 = top + ROW_IN * (2.1 + extra)
    canvas.text(MARGIN_IN, y2, LABEL_HEADER, weight="bold")
    for col in lay.columns:
        if col.key != "effect":
            canvas.text(lay.right_edge[col.key], y2, col.header, ha="right", weight="bold")
    canvas.text(centre, y2, style.truncate_to_width(model_line, span, weight="bold"), ha="center",
                weight="bold")
    canvas.hline(MARGIN_IN, lay.plot_x0 + PLOT_IN, top + lay.header_h)


NOTE_SIZE = style.FONT_SIZE - 1  # a subgroup's statistics line
NOTE_INDENT_IN = 0.1


def wrap_wide_rows(rows: list[Row], columns: list[Column]) -> list[Row]:
    """The rows with each subgroup heading and statistics line wrapped onto as many rows as it
    needs within the table's width (label and number columns): none is cut, no statistic dropped."""
    label_w, widths = _column_widths(rows, columns, LABEL_HEADER)
    room = label_w + sum(widths.values()) - PAD_IN / 2  # the table's width, less a little air
    out: list[Row] = []
    for row in rows:
        if row.kind == "note":
            out.extend(replace(row, label=line)
                       for line in style.split_clauses(row.label, room - NOTE_INDENT_IN, size=NOTE_SIZE))
        elif row.wide:
            out.extend(replace(row, label=line) for line in style.wrap_to_width(row.label, room, weight="bold"))
        else:
            out.append(row)
    return out


def _draw_table(canvas: Canvas, lay: Layout, rows: list[Row]):
    short = _short_labels([(r.label, "bold" if r.bold else "normal") for r in rows if not r.wide],
                          lay.label_w - PAD_IN + 0.005)
    for i, row in enumerate(rows):
        y = lay.body_top + ROW_IN * (i + 0.72)
        weight = "bold" if row.bold else "normal"
        if row.kind == "note":  # a statistics line, wrapped to the table's width (wrap_wide_rows)
            canvas.text(MARGIN_IN + NOTE_INDENT_IN, y, row.label, fontsize=NOTE_SIZE, color="#333333")
            continue
        if row.wide:  # a subgroup's heading, wrapped to the table's width
            canvas.text(MARGIN_IN, y, row.label, weight=weight)
            continue
        label = short[(row.label, weight)]
        canvas.text(MARGIN_IN, y, label, weight=weight, title=row.label.strip() if label != row.label else None)
        for col in lay.columns:
            if row.cells.get(col.key):
                canvas.text(lay.right_edge[col.key], y, row.cells[col.key], ha="right",
                            weight=weight)


def _draw_footer(canvas: Canvas, lay: Layout):
    below_axis = lay.body_top + lay.body_h
    for x_in, lines, ha in ((lay.plot_x0 + PLOT_IN / 2 - 0.05, lay.favours[0], "right"),
                            (lay.plot_x0 + PLOT_IN / 2 + 0.05, lay.favours[1], "left")):
        for j, line in enumerate(lines):
            canvas.text(x_in, below_axis + 0.42 + 0.15 * j, line, ha=ha,
                        fontsize=style.FONT_SIZE - 0.5)
    y = below_axis + lay.axis_h
    for line in lay.foot_lines:
        y += ROW_IN
        canvas.text(MARGIN_IN, y, line, color="#222222")


def set_difference_ticks(ax, half: float) -> None:
    """A few round ticks, symmetric about 0, inside the axis."""
    locator = MaxNLocator(nbins=4, steps=[1, 2, 5, 10], symmetric=True)
    ticks = [t for t in locator.tick_values(-half, half) if -half - 1e-9 <= t <= half + 1e-9]
    style.set_ticks(ax.xaxis, ticks, [display.tick(t) for t in ticks])


def set_effect_ticks(ax, lo: float, hi: float, disp: measures.Display) -> None:
    """Ticks of an effect axis spanning [lo, hi] (analysis scale), labelled as shown, none over
    another at the axes' width."""
    width_in = ax.get_position().width * ax.get_figure().get_figwidth()
    ticks, labels = style.effect_ticks(lo, hi, disp, width_in)
    style.set_ticks(ax.xaxis, ticks, labels)


def single_group_labels(outcome_cfg: dict) -> tuple[str, str]:
    """Labels under a single-group axis: only those the config gives (there is no comparison)."""
    given = (outcome_cfg or {}).get("favours") or ["", ""]
    return (given[0], given[1]) if isinstance(given, (list, tuple)) else (given.get("left", ""), given.get("right", ""))


def _draw_plot(ax, rows: list[Row], disp: measures.Display, n_rows: int):
    rows = placed_rows(rows, disp)
    lo, hi = axis_limits(rows, disp)
    ax.set_xlim(lo, hi)
    ax.set_ylim(n_rows, 0)
    ax.spines[["left", "right", "top"]].set_visible(False)
    ax.set_yticks([])
    ax.patch.set_alpha(0)
    set_effect_ticks(ax, lo, hi, disp)
    ax.tick_params(axis="x", labelsize=style.TICK_FONT_SIZE, length=3, pad=2)
    last_pooled = max([i for i, r in enumerate(rows) if r.kind in {"total", "subtotal"}] or
                      [n_rows - 1])
    if disp.null is not None:
        ax.plot([disp.null, disp.null], [0, last_pooled + 1], color=style.COLOURS["null"], lw=0.6, zorder=1)
    max_w = max([r.weight for r in rows if r.kind == "study" and r.weight is not None] or [0.0])
    studies = [(i + 0.5, row) for i, row in enumerate(rows) if row.kind == "study" and row.est is not None]
    draw_intervals(ax, [y for y, _ in studies], [r.lb for _, r in studies],
                   [r.ub for _, r in studies], (lo, hi), style.COLOURS["study"])
    shown = [(y, r.est, r.weight) for y, r in studies if r.est is not None and lo <= r.est <= hi]
    draw_markers(ax, [est for _, est, _ in shown], [y for y, _, _ in shown],
                 [marker_size(weight, max_w) for _, _, weight in shown], style.COLOURS["study"],
                 clip=not ends_at_bound(lo, hi, disp))
    for i, row in enumerate(rows):
        y = i + 0.5
        if row.kind == "study":
            continue
        elif row.kind in {"total", "subtotal"} and row.est is not None and row.lb is not None \
                and row.ub is not None:  # an estimate without its CI has no diamond
            colour = style.COLOURS["pooled" if row.kind == "total" else "subtotal"]
            lb, ub = max(row.lb, lo), min(row.ub, hi)
            draw_diamond(ax, y, row.est, lb, ub, colour)
            if row.kind == "total":
                ax.plot([row.est, row.est], [0, y], color=colour, lw=0.5, ls=(0, (2, 2)),
                        zorder=1)
        elif row.kind == "prediction":
            draw_interval(ax, y, row.lb, row.ub, (lo, hi), style.COLOURS["prediction"], lw=1.6)


def forest_figure(pooled: dict, context):
    """The forest plot as metasr.outputs draws it (context: a metasr.outputs.FigureContext; the
    studies-sheet rows give the risk-of-bias columns)."""
    return plot_forest(pooled, context.figure, context.review, rob_rows=list(context.studies))


# ---------------------------------------------------------------------------------------------
# Risk-of-bias columns beside the plot (RevMan's layout): one coloured cell per domain of each
# study's tool, then its overall judgement, from the studies sheet (metasr.rob).

ROB_CELL_IN = 0.2  # one domain's column
ROB_OVERALL_IN = 0.52
ROB_GAP_IN = 0.12  # between the plot and the first column
ROB_RADIUS_IN = 0.062


def wants_rob_columns(outcome_cfg: dict) -> bool:
    return bool(((outcome_cfg or {}).get("forest") or {}).get("risk_of_bias"))


@dataclass
class RobPanel:
    """headers: D1..Dn then "Overall" (empty: nothing to draw); cells: per study id, one
    (colour, symbol) per column, None where the study's tool has no such domain; notes: the
    footnote lines (domains of each tool, judgements used); tools: per study id its tool (rob_tool)
    when the studies use several, for a "Tool" column before D1 (D3 is another domain in each),
    tool_w that column's width; width: the whole panel's."""

    headers: list
    cells: dict
    notes: list
    width: float = 0.0
    tools: dict = field(default_factory=dict)
    tool_w: float = 0.0


def rob_panel(studies: list[dict], rob_rows: list[dict] | None) -> RobPanel:
    """The risk-of-bias columns of these studies, from their studies-sheet rows."""
    from metasr import rob

    if rob_rows is None:
        return RobPanel([], {}, ["Risk-of-bias columns not drawn: no studies sheet was given."])
    by_id = {str(r.get("study_id")): rob.assess(r) for r in rob_rows}
    assessed = {sid: by_id[sid] for sid in (str(s.get("study_id")) for s in studies)
                if sid in by_id and by_id[sid].tool and by_id[sid].assessed}
    if not assessed:
        return RobPanel([], {}, ["Risk of bias: not assessed for any study of this outcome "
                                 "(rob_tool and the tool's columns in the studies sheet)."])
    tools = sorted({a.tool.id: a.tool for a in assessed.values() if a.tool}.values(), key=lambda t: t.id)
    n = max(len(t.bias_domains) for t in tools)
    cells: dict[str, list[tuple[str, str] | None]] = {}
    used: set[str] = set()
    for s in studies:
        sid = str(s.get("study_id"))
        study = assessed.get(sid)
        if study is None or study.tool is None:  # not assessed: grey cells, never a judgement
            cells[sid] = [(rob.JUDGEMENTS[""][0], "")] * (n + 1)
            used.add("")
            continue
        domains = study.tool.bias_domains
        words = [study.judgement(d.column) for d in domains] + [None] * (n - len(domains)) + [study.overall]
        cells[sid] = [None if w is None else (rob.JUDGEMENTS.get(w, rob.JUDGEMENTS[""])[0],
                                              rob.JUDGEMENTS.get(w, rob.JUDGEMENTS[""])[1]) for w in words]
        used.update(w for w in words if w is not None)
    notes = [f"Risk of bias ({t.name}): "
             + "; ".join(f"D{i + 1} {d.name.lower()}" for i, d in enumerate(t.bias_domains))
             + "; Overall: overall judgement." for t in tools]
    legend = [" ".join(filter(None, (rob.JUDGEMENTS[w][1], w)))
              + "".join(f" ({'; '.join(own)})" for own in [rob.own_words(w, [t.id for t in tools])] if own)
              for w in rob.JUDGEMENTS if w in used and w]
    notes.append("Judgements: " + "; ".join(legend) + ("; grey: not assessed" if "" in used else "") + ".")
    marks = {sid: a.tool.id for sid, a in assessed.items() if a.tool} if len(tools) > 1 else {}
    tool_w = max([style.text_width_in(m, ROB_TOOL_SIZE) for m in marks.values()]
                 + [style.text_width_in(ROB_TOOL_HEADER, weight="bold")]) + ROB_GAP_IN if marks else 0.0
    return RobPanel([f"D{i + 1}" for i in range(n)] + ["Overall"], cells, notes,
                    tool_w + ROB_CELL_IN * n + ROB_OVERALL_IN, marks, tool_w)


ROB_TOOL_HEADER = "Tool"
ROB_TOOL_SIZE = style.FONT_SIZE - 1


def _rob_centres(lay: Layout, panel: RobPanel) -> list[float]:
    x = lay.plot_x0 + PLOT_IN + ROB_GAP_IN + panel.tool_w
    centres = []
    for header in panel.headers:
        width = ROB_OVERALL_IN if header == "Overall" else ROB_CELL_IN
        centres.append(x + width / 2)
        x += width
    return centres


def _draw_rob(canvas: Canvas, lay: Layout, rows: list[Row], panel: RobPanel) -> None:
    """Header "Risk of bias" over D1..Dn and Overall, then one circle per study and column."""
    from matplotlib.patches import Circle

    centres = _rob_centres(lay, panel)
    left, right = lay.plot_x0 + PLOT_IN + ROB_GAP_IN, lay.plot_x0 + PLOT_IN + ROB_GAP_IN + panel.width
    top, extra = lay.top_h, lay.extra
    canvas.text((left + right) / 2, top + ROW_IN * (1.0 + extra), "Risk of bias", ha="center",
                weight="bold")
    canvas.hline(left, right, top + ROW_IN * (1.2 + extra))
    for x, header in zip(centres, panel.headers, strict=True):
        canvas.text(x, top + ROW_IN * (2.1 + extra), header, ha="center", weight="bold")
    if panel.tools:
        canvas.text(left, top + ROW_IN * (2.1 + extra), ROB_TOOL_HEADER, weight="bold")
    canvas.hline(left - ROB_GAP_IN, right, top + lay.header_h)
    for i, row in enumerate(rows):
        if row.kind != "study" or row.study_id not in panel.cells:
            continue
        y = lay.body_top + ROW_IN * (i + 0.5)
        if row.study_id in panel.tools:
            canvas.text(left, y + 0.035, panel.tools[row.study_id], fontsize=ROB_TOOL_SIZE, color="#333333")
        for x, cell in zip(centres, panel.cells[row.study_id], strict=True):
            if cell is None:
                continue
            colour, symbol = cell
            canvas.fig.add_artist(Circle((x, canvas.h - y), ROB_RADIUS_IN, facecolor=colour,
                                         edgecolor="#555555", lw=0.4,
                                         transform=canvas.fig.dpi_scale_trans))
            if symbol:
                canvas.text(x, y + 0.035, symbol, ha="center", fontsize=style.FONT_SIZE - 1,
                            weight="bold", color=_ink(colour))


def _ink(colour: str) -> str:
    """White on dark cells (high, critical), black on light ones: by the fill's luminance."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.35 else "black"
