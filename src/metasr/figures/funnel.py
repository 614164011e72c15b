"""Contour-enhanced funnel plot, with Egger's regression line and trim-and-fill studies where they ran.

Effect (x) against standard error (y, 0 at the top). Shaded contours mark where a study would be
significant against the null at P < 0.10, 0.05 and 0.01 (Peters et al. 2008), which separates
asymmetry from missing non-significant studies from other causes. What is drawn besides the
studies is decided with the caption (metasr.figures.shown): Egger's line only when an Egger test
ran for the outcome, the one the report shows (`metasr.stats.bias.reported_egger`: metafor's
`regtest(fit)`, the outcome's model with sei as predictor; the three-level CR2 test for dependent
effect sizes). The line is that model's fit: its intercept at sei = 0 is the test's limit estimate
(from the pooling result's `limit_estimate` and `slope`; the univariate model fitted again when a
result lacks them). Filled studies are drawn only when trim and fill ran and the pooling result
gives their positions (`small_study.trimfill.filled: [{yi, vi}]`); otherwise the figure says how many.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from metasr import display
from metasr.figures import style
from metasr.figures.shown import funnel_contours, funnel_egger, funnel_filled, funnel_trimfill, not_run_reason
from metasr.level import Z
from metasr.outputs import SPREAD_MIN_K

CONTOURS = ((2.5758293035489004, "#8c8c8c", "P < 0.01"),
            (Z, "#bdbdbd", "0.01 ≤ P < 0.05"),
            (1.6448536269514722, "#e3e3e3", "0.05 ≤ P < 0.10"))
MIN_K = SPREAD_MIN_K


def egger_line(yi, sei, method: str = "REML", test: str = "z") -> tuple[float, float] | None:
    """(intercept, slope) of yi = b0 + b1 * sei fitted as the reported Egger test fits it:
    metafor's regtest(fit), i.e. rma(yi, sei^2, mods = ~ sei) with the outcome's tau² method
    and test (MH and Peto outcomes: the common-effect model their small-study tests use).
    None when the regression cannot be fitted (fewer than 3 studies, equal SEs)."""
    from metasr import measures
    from metasr.errors import InputError
    from metasr.stats.models import fit_rma

    yi, sei = np.asarray(yi, float), np.asarray(sei, float)
    if len(yi) < 3 or np.ptp(sei) <= 1e-12 * float(np.max(sei)):
        return None
    method = "FE" if method in measures.table_methods() else method
    try:
        fit = fit_rma(yi, sei**2, method=method, test=test, X=np.column_stack([np.ones_like(sei), sei]))
    except (InputError, ValueError, np.linalg.LinAlgError):
        return None
    return float(fit.beta[0]), float(fit.beta[1])


def reported_line(small: dict) -> tuple[float, float] | None:
    """(intercept, slope) of the Egger regression the funnel draws (shown.funnel_egger), when the
    pooling result gives them; None when no Egger test ran or the result lacks them."""
    chosen = funnel_egger(small)
    egger = chosen[0] if chosen else {}
    if style.is_number(egger.get("limit_estimate")) and style.is_number(egger.get("slope")):
        return float(egger["limit_estimate"]), float(egger["slope"])
    return None


def drawn_line(pooled: dict, yi, sei) -> tuple[tuple[float, float], str] | None:
    """The Egger line to draw and its legend label: the pooling result's, or the reported test's
    model fitted again when an older result lacks the slope; None when no Egger test ran."""
    from metasr.stats.bias import reported_egger

    small = pooled.get("small_study") or {}
    chosen = funnel_egger(small)
    if chosen is None:
        return None
    line = reported_line(small)
    if line is None and chosen[0] is reported_egger(small):  # the univariate test: refit its model
        line = egger_line(yi, sei, (pooled.get("method") or "REML").upper(), (pooled.get("test") or "z").lower())
    return (line, chosen[1]) if line else None


def plot_funnel(pooled: dict):
    """Draw the funnel plot of one pooled outcome; a figure saying why when k < 3."""
    title = f"{pooled.get('label') or pooled.get('outcome')}: funnel plot"
    studies = [s for s in pooled.get("studies") or []
               if style.is_number(s.get("yi")) and (style.is_number(s.get("sei")) or
                                                 style.is_number(s.get("vi")))]
    with style.style():
        if len(studies) < MIN_K or not pooled.get("model"):
            return style.message_figure(title, f"Funnel plot not drawn: k = {len(studies)} "
                                            f"(needs at least {MIN_K} pooled studies).")
        return _draw(pooled, studies, title)


def _draw(pooled, studies, title):
    disp = style.display(pooled)
    yi = np.array([float(s["yi"]) for s in studies])
    sei = np.array([float(s["sei"]) if style.is_number(s.get("sei")) else math.sqrt(s["vi"])
                    for s in studies])
    small = pooled.get("small_study") or {}
    trimfill = funnel_trimfill(small) or {}
    filled = funnel_filled(small)
    estimate = float(pooled["model"]["estimate"])
    se_max = max([*sei, *(s for _, s in filled)]) * 1.08
    xs = [*yi, *(y for y, _ in filled), estimate]
    # Significance contours test against the null, so they sit around it; a measure without a
    # null (a prevalence) gets the funnel around its estimate and no contours (funnel_contours).
    contours = funnel_contours(pooled)
    centre = disp.null if disp.null is not None else estimate
    half = max(max(abs(x - centre) for x in xs), CONTOURS[0][0] * se_max * 0.6) * 1.08

    fig = style.new_figure(6.2, 5.2)
    ax = fig.add_axes([0.12, 0.30, 0.84, 0.60])
    se_grid = np.linspace(0, se_max, 200)
    outer = np.full_like(se_grid, half * 1.5)
    previous = None
    for z, colour, _ in CONTOURS if contours else ():  # darkest band outermost: P < 0.01
        edge = z * se_grid
        if previous is None:
            ax.fill_betweenx(se_grid, centre + edge, centre + outer, color=colour, lw=0)
            ax.fill_betweenx(se_grid, centre - outer, centre - edge, color=colour, lw=0)
        else:
            ax.fill_betweenx(se_grid, centre + edge, centre + previous, color=colour, lw=0)
            ax.fill_betweenx(se_grid, centre - previous, centre - edge, color=colour, lw=0)
        previous = edge
    # Pseudo 95% confidence region around the pooled estimate.
    ax.plot(estimate - Z * se_grid, se_grid, color="#333333", lw=0.6, ls=(0, (4, 3)))
    ax.plot(estimate + Z * se_grid, se_grid, color="#333333", lw=0.6, ls=(0, (4, 3)))
    ax.axvline(estimate, color="#111111", lw=0.9)
    if disp.null is not None:
        ax.axvline(disp.null, color=style.COLOURS["null"], lw=0.6, ls=":")
    drawn = drawn_line(pooled, yi, sei)
    if drawn:
        line = drawn[0]
        ax.plot(line[0] + line[1] * se_grid, se_grid, color=style.COLOURS["prediction"], lw=1.1)
    ax.scatter(yi, sei, s=22, color=style.COLOURS["study"], edgecolor="white", lw=0.5, zorder=4)
    if filled:
        ax.scatter([y for y, _ in filled], [s for _, s in filled], s=22, facecolor="white",
                   edgecolor=style.COLOURS["study"], lw=0.9, zorder=4)
    ax.set_xlim(centre - half, centre + half)
    ax.set_ylim(se_max, 0)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(f"{disp.name}{axis_scale(disp)}")
    if not disp.identity or disp.percent:
        style.set_ticks(ax.xaxis, *style.effect_ticks(centre - half, centre + half, disp))
    style.add_text(fig, 0.12, 0.95, style.wrap_to_width(title, 5.6, size=style.FONT_SIZE + 2,
                                                  weight="bold", max_lines=1)[0],
                fontsize=style.FONT_SIZE + 2, weight="bold")
    handles = [Patch(color=c, label=label) for _, c, label in CONTOURS] if contours else []
    handles.append(Line2D([], [], color="#111111", lw=0.9, label="Pooled estimate"))
    if drawn:
        handles.append(Line2D([], [], color=style.COLOURS["prediction"], lw=1.1, label=drawn[1]))
    handles.append(Line2D([], [], marker="o", ls="none", color=style.COLOURS["study"],
                          label="Study"))
    if filled:
        handles.append(Line2D([], [], marker="o", ls="none", markerfacecolor="white",
                              color=style.COLOURS["study"], label="Filled (trim-and-fill)"))
    legend_inside(fig, handles)
    notes = style.split_clauses(_notes(small, trimfill, filled, disp, len(studies)), 5.5,
                             size=style.FONT_SIZE - 0.5)
    for i, line in enumerate(notes[:4]):
        style.add_text(fig, 0.12, 0.205 - i * 0.032, line, fontsize=style.FONT_SIZE - 0.5, va="top",
                    color="#333333")
    return fig


LEGEND_MARGIN_IN = 0.15  # the legend's least distance from the figure's right edge


def legend_inside(fig, handles, ncol: int = 3, left: float = 0.1):
    """The key below the plot, within the figure and LEGEND_MARGIN_IN of its right edge: moved left
    as far as the figure's edge allows, else in fewer columns, when a long entry (Egger's line of a
    three-level model) would reach past it."""
    width_in = fig.get_size_inches()[0]
    limit, lowest = 1 - LEGEND_MARGIN_IN / width_in, LEGEND_MARGIN_IN / width_in

    def place(x: float, columns: int):
        return fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(x, 0.02), ncol=columns,
                          frameon=False, fontsize=style.FONT_SIZE - 0.5)

    for columns in range(ncol, 0, -1):
        legend = place(left, columns)
        box = _extent(fig, legend)
        overflow = box.x1 - limit
        if overflow <= 0:
            return legend
        legend.remove()
        if box.x0 - overflow >= lowest:  # moving it left is enough
            return place(left - overflow, columns)
    return place(lowest, 1)


def _extent(fig, legend):
    """The legend's box (figure fractions) as wide as it is drawn at any of the resolutions it is
    written at: text hinted at the screen's 100 dpi is narrower than in the 300-dpi PNG."""
    shown = fig.dpi
    boxes = []
    for dpi in (shown, style.PNG_DPI):
        fig.set_dpi(dpi)
        boxes.append(legend.get_window_extent(_measuring_renderer(dpi)).transformed(fig.transFigure.inverted()))
    fig.set_dpi(shown)
    return max(boxes, key=lambda box: box.x1)


@lru_cache(maxsize=4)
def _measuring_renderer(dpi: float) -> RendererAgg:
    """A raster renderer that measures text at `dpi` (its size plays no part in a legend's extent).
    The figure's own at 300 dpi allocated an 11 MB canvas for each funnel plot; this one is kept,
    and with it matplotlib's cache of the texts it measured."""
    return RendererAgg(1, 1, dpi)


def axis_scale(disp) -> str:
    """The analysis scale the funnel is drawn on, when it is not the shown one."""
    if disp.ratio:
        return " (log scale)"
    return "" if disp.identity else f" ({disp.record.analysis_scale} scale)"


def _notes(small: dict, trimfill: dict, filled: list, disp, k: int) -> str:
    parts = []
    chosen = funnel_egger(small)
    egger = chosen[0] if chosen else {}
    if style.is_number(egger.get("pval")):
        robust = " (three-level model, CR2)" if egger is small.get("egger_robust") else ""
        parts.append(f"Egger's test{robust} {display.p_value(egger['pval'])}")
    elif chosen is None:
        parts.append(f"Small-study tests not run: {not_run_reason(small)}")
    k0 = style.finite(trimfill.get("k0"))
    if k0 is not None:
        text = f"trim-and-fill: {int(k0)} stud{'y' if int(k0) == 1 else 'ies'} filled"
        if int(k0) and not filled:
            text += " (positions not in the pooling result, not drawn)"
        if style.is_number(trimfill.get("estimate")):
            text += f", adjusted estimate {display.number(display.shown(trimfill['estimate'], disp))}"
        parts.append(text)
    if k < 10:
        parts.append(f"k = {k} < 10: asymmetry is hard to judge")
    return "; ".join(parts)


def funnel_figure(pooled: dict, context=None):
    """The funnel plot as metasr.outputs draws it (k >= 3, else a note)."""
    return plot_funnel(pooled)
