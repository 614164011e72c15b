"""Sensitivity figures: leave-one-out and cumulative forest plots, Baujat plot.

Leave-one-out and cumulative numbers come from the pooling result (`sensitivity.leave1out`,
`sensitivity.cumulative`, metafor's `leave1out()` and `cumul()` output as parallel arrays).
The Baujat plot (Baujat et al. 2002) is computed here from yi and vi with the common-effect
model, as in the original paper: x = a study's contribution to Cochran's Q,
y = its influence on the pooled result, (theta - theta_(-i))² / var(theta_(-i)).
"""

from __future__ import annotations

import math

import numpy as np

from metasr import display
from metasr.figures import style
from metasr.figures.forest import (
    PAD_IN,
    ROW_IN,
    draw_diamond,
    draw_intervals,
    draw_markers,
    set_effect_ticks,
)
from metasr.figures.forest_rows import sort_studies, study_label
from metasr.figures.influence import (  # noqa: F401  (tests and callers use them as sensitivity.*)
    BAUJAT_NAMED,
    IV_METHOD,
    baujat_coordinates,
    baujat_outlying,
    baujat_points,
    table_baujat_coordinates,
)

PLOT_IN = 2.6
LABEL_MAX_IN = 2.8


def _aligned(values, n):
    return isinstance(values, list) and len(values) == n


def estimate_rows_figure(title: str, labels: list[str], est, lb, ub, extra: list[str],
                         extra_header: str, reference: tuple[float | None, float | None, float | None] | None,
                         disp, label_header: str):
    """A forest of model estimates (one per row), with the full-data estimate (and its CI, where it
    has one) as reference."""
    n = len(labels)
    decimals = display.estimate_decimals([*zip(est, lb, ub, strict=True), *([reference] if reference else [])], disp,
                                         pooled=[reference] if reference else [])
    texts = [display.estimate(e, a, b, disp, decimals) for e, a, b in zip(est, lb, ub, strict=True)]
    label_w = min(LABEL_MAX_IN, max([style.text_width_in(t) for t in labels + [label_header]]))
    effect_w = max(style.text_width_in(t) for t in texts + ["Estimate [95% CI]"]) + PAD_IN
    extra_w = max(style.text_width_in(t) for t in extra + [extra_header]) + PAD_IN if extra else 0
    margin = 0.15
    plot_x0 = margin + label_w + PAD_IN + effect_w + extra_w + 0.1
    fig_w = max(plot_x0 + PLOT_IN + margin, 5.5)
    title_lines = style.wrap_to_width(title, fig_w - 2 * margin, size=style.FONT_SIZE + 2,
                                   weight="bold", max_lines=2)
    top = 0.12 + 0.24 * len(title_lines) + ROW_IN * 1.3
    rows = n + (2 if reference else 0)
    fig_h = top + ROW_IN * rows + 0.75  # the axis' ticks and its title below
    fig = style.new_figure(fig_w, fig_h)

    def fy(y):
        return 1 - y / fig_h

    for i, line in enumerate(title_lines):
        style.add_text(fig, margin / fig_w, fy(0.32 + 0.24 * i), line, fontsize=style.FONT_SIZE + 2,
                    weight="bold")
    header_y = fy(top - 0.08)
    x_effect = (margin + label_w + PAD_IN + effect_w) / fig_w
    style.add_text(fig, margin / fig_w, header_y, label_header, weight="bold")
    style.add_text(fig, x_effect, header_y, "Estimate [95% CI]", weight="bold", ha="right")
    if extra:
        style.add_text(fig, x_effect + extra_w / fig_w, header_y, extra_header, weight="bold",
                    ha="right")
    short = style.shorten_labels(labels, label_w + 0.005)  # the year at the end stays; none alike
    for i in range(n):
        y = fy(top + ROW_IN * (i + 0.72))
        style.add_text(fig, margin / fig_w, y, short[str(labels[i])], title=str(labels[i]))
        style.add_text(fig, x_effect, y, texts[i], ha="right")
        if extra:
            style.add_text(fig, x_effect + extra_w / fig_w, y, extra[i], ha="right")
    if reference:
        y = fy(top + ROW_IN * (n + 1.72))
        style.add_text(fig, margin / fig_w, y, "All studies", weight="bold")
        style.add_text(fig, x_effect, y, display.estimate(*reference, disp, decimals),
                    ha="right", weight="bold")

    ax = fig.add_axes([plot_x0 / fig_w, fy(top + ROW_IN * rows), PLOT_IN / fig_w,
                       ROW_IN * rows / fig_h])
    lo, hi = style.value_limits([*lb, *ub, *(reference or ())], disp)
    ax.set_xlim(lo, hi)
    ax.set_ylim(rows, 0)
    ax.set_yticks([])
    ax.spines[["left", "right", "top"]].set_visible(False)
    ax.patch.set_alpha(0)
    set_effect_ticks(ax, lo, hi, disp)
    ax.tick_params(axis="x", labelsize=style.TICK_FONT_SIZE)
    ax.set_xlabel(axis_title(disp), fontsize=style.TICK_FONT_SIZE, labelpad=3)
    if disp.null is not None:
        ax.axvline(disp.null, color=style.COLOURS["null"], lw=0.6)
    ref_est, ref_lb, ref_ub = (display.finite(v) for v in reference or (None, None, None))
    if ref_lb is not None and ref_ub is not None:
        ax.axvspan(max(ref_lb, lo), min(ref_ub, hi), color="#e8eef6", lw=0, zorder=0)
    if ref_est is not None:
        ax.axvline(ref_est, color=style.COLOURS["pooled"], lw=0.6, ls=(0, (2, 2)))
        if ref_lb is not None and ref_ub is not None:
            draw_diamond(ax, n + 1.5, ref_est, max(ref_lb, lo), min(ref_ub, hi), style.COLOURS["pooled"],
                         half_height=0.3)
    drawn = [i for i in range(n) if style.is_number(est[i])]
    draw_intervals(ax, [i + 0.5 for i in drawn], [lb[i] for i in drawn], [ub[i] for i in drawn],
                   (lo, hi), style.COLOURS["study"])
    draw_markers(ax, [est[i] for i in drawn], [i + 0.5 for i in drawn], [3.5] * len(drawn),
                 style.COLOURS["study"], marker="o")
    return fig


def axis_title(disp) -> str:
    """The effect axis' title: the measure shown and, when the axis is drawn on another, its scale
    (as the funnel plot's)."""
    from metasr.figures.funnel import axis_scale

    return f"{disp.name}{axis_scale(disp)}"


def plot_leave1out(pooled: dict, sort_by: str = "year"):
    """Leave-one-out estimates, one row per study omitted, in the forest plot's order (`sort_by`,
    its forest.sort_by): metafor lists study-level blocks by study id as text ('District 108'
    before 'District 11')."""
    from metasr.figures.forest_groups import sensitivity_units

    l1o = (pooled.get("sensitivity") or {}).get("leave1out") or {}
    studies = sensitivity_units(pooled, l1o) or pooled.get("studies") or []  # whole studies left out
    title = f"{pooled.get('label') or pooled.get('outcome')}: leave-one-out"
    with style.style():
        if not _aligned(l1o.get("estimate"), len(studies)) or len(studies) < 3:
            return style.message_figure(title, "Leave-one-out analysis not available: it needs at "
                                            f"least 3 pooled studies (k = {len(studies)}).")
        n = len(studies)
        position = {id(s): i for i, s in enumerate(studies)}
        order = [position[id(s)] for s in sort_studies(studies, sort_by)]

        def rows(values):
            return [values[i] for i in order] if _aligned(values, n) else [None] * n

        m = pooled.get("model") or {}
        i2 = rows(l1o["I2"]) if _aligned(l1o.get("I2"), n) else None
        return estimate_rows_figure(
            title, [f"Omitting {study_label(studies[i])}" for i in order], rows(l1o["estimate"]),
            rows(l1o.get("ci_lb")), rows(l1o.get("ci_ub")),
            [display.i2(v) for v in i2] if i2 else [], "I²",
            (m.get("estimate"), m.get("ci_lb"), m.get("ci_ub")) if m else None,
            style.display(pooled), "Study omitted" + SORTED_BY.get(sort_by, ""))


# What the leave-one-out plot's first column header says of its order (the forest's).
SORTED_BY = {"year": " (by year)", "weight": " (by weight)", "effect": " (by effect)"}


def cumulative_order(pooled: dict) -> list[dict]:
    """Studies in the order of the cumulative analysis: `study_index` (positions in `studies`,
    as metasr.stats writes it), else `order` (study ids), else by year."""
    from metasr.figures.forest_groups import sensitivity_units

    studies = pooled.get("studies") or []
    cum = (pooled.get("sensitivity") or {}).get("cumulative") or {}
    units = sensitivity_units(pooled, cum)  # whole studies added
    if units is not None:
        return units
    index = cum.get("study_index")
    if isinstance(index, list) and sorted(index) == list(range(len(studies))):
        return [studies[i] for i in index]
    order = cum.get("order")
    if isinstance(order, list) and len(order) == len(studies):
        by_id = {str(s.get("study_id")): s for s in studies}
        if all(str(o) in by_id for o in order):
            return [by_id[str(o)] for o in order]
    return sort_studies(studies, "year") if cum.get("order_by", "year") == "year" else studies


def plot_cumulative(pooled: dict):
    studies = cumulative_order(pooled)
    cum = (pooled.get("sensitivity") or {}).get("cumulative") or {}
    title = f"{pooled.get('label') or pooled.get('outcome')}: cumulative meta-analysis"
    with style.style():
        if cum.get("skipped"):
            return style.message_figure(title, f"Cumulative meta-analysis not run: {cum['skipped']}.")
        if not _aligned(cum.get("estimate"), len(studies)) or len(studies) < 2:
            return style.message_figure(title, "Cumulative meta-analysis not available: it needs "
                                            f"at least 2 pooled studies (k = {len(studies)}).")
        n = len(studies)
        tau2 = cum.get("tau2") if _aligned(cum.get("tau2"), n) else None
        return estimate_rows_figure(
            title, [f"+ {study_label(s)}" for s in studies], cum["estimate"],
            cum.get("ci_lb") or [None] * n, cum.get("ci_ub") or [None] * n,
            tau2_column(tau2) if tau2 else [], "Tau²", None,
            style.display(pooled), f"Added (by {cum.get('order_by', 'year')})")


def tau2_column(values) -> list[str]:
    """tau² down a column in one format: three decimals, more when a small one needs them for two
    significant digits (0.00015 beside 0.05000, not beside 0.050), as display.tau2 shows it alone."""
    small = [abs(v) for v in map(display.finite, values) if v is not None and 0 < abs(v) < 0.001]
    decimals = max([3] + [min(6, 1 - math.floor(math.log10(v))) for v in small])
    return [display.number(v, decimals) for v in values]


def plot_baujat(pooled: dict):
    title = f"{pooled.get('label') or pooled.get('outcome')}: Baujat plot"
    points = baujat_points(pooled)
    with style.style():
        if isinstance(points, str):
            return style.message_figure(title, f"Baujat plot not drawn: {points}.")
        studies, x, y, method = points.studies, points.x, points.y, points.method
        table_fit = points.table_fit
        fig = style.new_figure(6.0, 4.8)
        ax = fig.add_axes([0.12, 0.12, 0.82, 0.72])
        ax.scatter(x, y, s=16, color=style.COLOURS["study"], zorder=3)
        x_max, y_max = (np.nanmax(x) * 1.25 or 1), (np.nanmax(y) * 1.2 or 1)
        ax.set_xlim(0, x_max)
        ax.set_ylim(0, y_max)
        _label_outliers(ax, studies, x, y, x_max, y_max, width_in=0.82 * 6.0,
                        height_in=0.72 * 4.8)
        ax.set_xlabel("Contribution to overall heterogeneity (Q)" if method == "FE" else "Squared Pearson residual")
        ax.set_ylabel("Influence on the pooled result")
        style.add_text(fig, 0.12, 0.93, style.wrap_to_width(title, 5.6, size=style.FONT_SIZE + 2,
                                                      weight="bold", max_lines=1)[0],
                    fontsize=style.FONT_SIZE + 2, weight="bold")
        model = (_table_model_name(pooled) if table_fit else
                 "Common-effect model" if method == "FE" else f"Random-effects model ({method})")
        subtitle = style.wrap_to_width(f"{model} (Baujat et al. 2002); {_named(len(studies))}.", 5.1,
                                       size=style.FONT_SIZE - 0.5, max_lines=2)
        for i, line in enumerate(subtitle):
            style.add_text(fig, 0.12, 0.89 - 0.028 * i, line, fontsize=style.FONT_SIZE - 0.5, color="#444444")
        return fig


def _named(k: int) -> str:
    """Which studies the Baujat plot names, as its subtitle says (axes scaled to their largest value)."""
    if k <= BAUJAT_NAMED:
        return "every study named"
    return f"the {BAUJAT_NAMED} most outlying named (farthest from the origin, axes scaled)"


def _table_model_name(pooled: dict) -> str:
    return "Mantel-Haenszel model" if pooled.get("method") == "MH" else "Peto model"


# Where a study's label may go: (dx, dy) inches from its point to the anchor, the box's lower left
# corner there as a fraction (fx, fy) of its width and height, and whether a leader line is drawn.
# Beside the point first (right, left, above, below), then farther out with a leader line.
LABEL_SPOTS = [(0.05, 0.02, 0, 0, False), (0.05, -0.02, 0, -1, False), (-0.05, 0.02, -1, 0, False),
               (-0.05, -0.02, -1, -1, False), (0.0, 0.06, -0.5, 0, False), (0.0, -0.06, -0.5, -1, False)]
LABEL_SPOTS += [(dx * r, dy * r, fx, fy, True) for r in (0.2, 0.35, 0.5)
                for dx, dy, fx, fy in ((1, 0.5, 0, 0), (1, -0.5, 0, -1), (-1, 0.5, -1, 0),
                                       (-1, -0.5, -1, -1), (0, 1, -0.5, 0), (0, -1, -0.5, -1))]


def _label_outliers(ax, studies, x, y, x_max, y_max, width_in: float, height_in: float) -> None:
    """Name the most outlying studies (baujat_outlying), each label where it overlaps no label
    placed before it, no point and no edge (boxes in inches): beside its point, else farther out
    with a leader line, else where it overlaps least. An outlier is never left unnamed for want
    of room."""
    size = style.FONT_SIZE - 1
    height = size / 72 * 1.2
    points = [(xi / x_max * width_in, yi / y_max * height_in) for xi, yi in zip(x, y, strict=True)]
    placed: list[tuple[float, float, float, float]] = []
    named = baujat_outlying(x, y)
    # cut in the middle, as the forest's labels: the year stays and no two studies read alike
    short = style.shorten_labels([study_label(studies[i]) for i in named], 1.6, size=size)
    for i in named:
        label = str(study_label(studies[i]))
        text = short[label]
        width = style.text_width_in(text, size)
        px, py = points[i]
        boxes = [((px + dx + fx * width, py + dy + fy * height, px + dx + (fx + 1) * width,
                   py + dy + (fy + 1) * height), leader) for dx, dy, fx, fy, leader in LABEL_SPOTS]
        others = [p for j, p in enumerate(points) if j != i and np.isfinite(p[0]) and np.isfinite(p[1])]
        box, leader = min(boxes, key=lambda b: _collision(b[0], placed, others, width_in, height_in))
        placed.append(box)
        note = ax.annotate(text, (x[i], y[i]), xytext=((box[0] - px) * 72, (box[1] - py) * 72),
                           textcoords="offset points", ha="left", va="bottom", fontsize=size, color="#333333",
                           arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.5, "shrinkA": 0,
                                       "shrinkB": 2} if leader else None)
        if text != label:
            style.set_tooltip(ax.figure, note, label)


def _collision(box, placed, points, width_in: float, height_in: float) -> float:
    """How much a label's box collides (square inches): with the labels placed, with the points
    (each a 0.06-inch square), and outside the axes (0.3 inch spare on the right), which counts
    most. min() over the spots keeps the first with the least."""
    def shared(a, b):
        return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))

    dot = 0.03
    outside = (box[2] - box[0]) * (box[3] - box[1]) - shared(box, (0.0, 0.0, width_in + 0.3, height_in))
    return (sum(shared(box, b) for b in placed) + 10 * outside
            + sum(shared(box, (qx - dot, qy - dot, qx + dot, qy + dot)) for qx, qy in points))


# As metasr.outputs draws them: (pooled result, FigureContext) -> Figure.
def leave1out_figure(pooled: dict, context=None):
    forest = (context.figure.get("forest") or {}) if context is not None else {}
    return plot_leave1out(pooled, forest.get("sort_by", "year"))


def cumulative_figure(pooled: dict, context=None):
    return plot_cumulative(pooled)


def baujat_figure(pooled: dict, context=None):
    return plot_baujat(pooled)
