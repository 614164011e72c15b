"""Bubble plot of an outcome's meta-regression: study effects against each moderator.

One panel per moderator of the model (`meta_regression.moderators` of the pooled result): the
studies' effects (y, analysis scale, ticks labelled on the display scale: ratios as ratios) against
the moderator (x), each bubble's area proportional to the study's weight in the meta-regression
(as metafor's regplot); for a numeric moderator the regression line with its 95% CI band, for a
factor each level's estimate with its 95% CI, the other moderators held at their means. The
numbers come from the pooling result; nothing is fitted here.
"""

from __future__ import annotations

import numpy as np

from metasr import display
from metasr.figures import style
from metasr.figures.funnel import axis_scale

PANEL_IN = 3.1          # width of a panel with its axis labels
PANEL_HEIGHT_IN = 2.2   # height of a panel's axes
ROW_IN = 2.8            # a row of panels with the moderator's axis label below
MAX_BUBBLE_PT2 = 260.0   # area of the heaviest study's bubble (points²)
MIN_BUBBLE_PT2 = 6.0


def bubble_areas(weights) -> np.ndarray:
    """Marker areas proportional to the weights (the heaviest MAX_BUBBLE_PT2), never below MIN_BUBBLE_PT2."""
    w = np.asarray(weights, float)
    return np.maximum(MAX_BUBBLE_PT2 * w / np.max(w), MIN_BUBBLE_PT2)


def plot_bubble(pooled: dict):
    """The bubble plot of one pooled outcome, or a figure saying why there is none."""
    title = f"{pooled.get('label') or pooled.get('outcome')}: meta-regression"
    regression = pooled.get("meta_regression") or {}
    with style.style():
        if not regression:
            return style.message_figure(title, "Bubble plot not drawn: no meta-regression is configured.")
        if "skipped" in regression:
            return style.message_figure(title, f"Bubble plot not drawn: {regression['skipped']}")
        return _draw(pooled, regression, title)


def _draw(pooled: dict, regression: dict, title: str):
    disp = style.display(pooled)
    panels = regression["moderators"]
    yi = np.asarray(regression["yi"], float)
    areas = bubble_areas(regression["weights"])
    bands = [np.asarray(p["line"][key], float) for p in panels if p.get("line") for key in ("ci_lb", "ci_ub")]
    bands += [np.asarray([lv[key] for lv in p["levels"]], float) for p in panels if p.get("levels")
              for key in ("ci_lb", "ci_ub")]
    lo, hi = style.value_limits([*yi, *np.concatenate(bands or [yi])], disp)
    cols = min(len(panels), 2)
    rows = -(-len(panels) // cols)
    width = 0.5 + cols * (PANEL_IN + 0.4)
    title_lines = style.wrap_to_width(title, width - 0.6, size=style.FONT_SIZE + 2, weight="bold", max_lines=2)
    notes = style.split_clauses(_notes(regression), width - 0.6, size=style.FONT_SIZE - 0.5)
    top = 0.2 + 0.24 * len(title_lines) + 0.3          # inches from the top to the first panel
    height = top + rows * ROW_IN + 0.1 + 0.17 * len(notes)
    fig = style.new_figure(width, height)
    for i, line in enumerate(title_lines):
        style.add_text(fig, 0.3 / width, 1 - (0.4 + 0.24 * i) / height, line, fontsize=style.FONT_SIZE + 2,
                       weight="bold")
    for i, panel in enumerate(panels):
        r, c = divmod(i, cols)
        bottom = 1 - (top + r * ROW_IN + PANEL_HEIGHT_IN) / height
        ax = fig.add_axes([(0.75 + c * (PANEL_IN + 0.4)) / width, bottom, (PANEL_IN - 0.35) / width,
                           PANEL_HEIGHT_IN / height])
        _panel(ax, panel, yi, areas, disp, (lo, hi))
    for i, line in enumerate(notes):
        style.add_text(fig, 0.3 / width, (0.12 + 0.17 * (len(notes) - 1 - i)) / height, line,
                    fontsize=style.FONT_SIZE - 0.5, color="#333333")
    return fig


def _panel(ax, panel: dict, yi, areas, disp, limits: tuple[float, float]) -> None:
    if panel["kind"] == "numeric":
        x = np.asarray(panel["x"], float)
        line = panel.get("line")
        if line:
            ax.fill_between(line["x"], line["ci_lb"], line["ci_ub"], color=style.COLOURS["grid"], lw=0)
            ax.plot(line["x"], line["pred"], color=style.COLOURS["prediction"], lw=1.1)
    else:
        levels = list(dict.fromkeys(lv["level"] for lv in panel.get("levels") or [])) or sorted(set(panel["x"]))
        x = np.array([levels.index(v) for v in panel["x"]], float)
        for j, lv in enumerate(panel.get("levels") or []):
            ax.plot([j, j], [lv["ci_lb"], lv["ci_ub"]], color=style.COLOURS["prediction"], lw=1.1, zorder=4)
            ax.plot([j - 0.18, j + 0.18], [lv["pred"]] * 2, color=style.COLOURS["prediction"], lw=1.6, zorder=4)
        style.set_ticks(ax.xaxis, range(len(levels)), [style.truncate_to_width(str(v), 0.9) for v in levels])
        ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.scatter(x, yi, s=areas, color=style.COLOURS["study"], alpha=0.55, edgecolor="white", lw=0.5, zorder=3)
    if disp.null is not None:
        ax.axhline(disp.null, color=style.COLOURS["null"], lw=0.6, ls=":")
    ax.set_ylim(*limits)
    if not disp.identity or disp.percent:
        style.set_ticks(ax.yaxis, *style.effect_ticks(*limits, disp))
    ax.set_ylabel(f"{disp.name}{axis_scale(disp)}")
    ax.set_xlabel(panel["label"])
    if panel.get("note"):
        ax.set_title(panel["note"], fontsize=style.FONT_SIZE - 1, color="#555555", loc="left", wrap=True)


def _notes(regression: dict) -> str:
    df = regression.get("QM_df") or [None, None]
    stat = (display.f_statistic(df) if df[1] is not None
            else f"QM({display.degrees_of_freedom(df[0])})")
    parts = [f"{regression.get('formula')}: {stat} = {display.number(regression.get('QM'))}, "
             f"{display.p_value(regression.get('QM_pval'))}"]
    if style.is_number(regression.get("R2")):
        parts.append(f"R² = {display.number(regression['R2'], 1)}%")
    k = f"k = {regression.get('k')}" + (f" in {regression['k_studies']} studies" if "k_studies" in regression else "")
    parts.append(f"{k}; bubble area ∝ weight; band: 95% CI of the line")
    return "; ".join(parts)


def bubble_figure(pooled: dict, context=None):
    """The bubble plot as metasr.outputs draws it."""
    return plot_bubble(pooled)
