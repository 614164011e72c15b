"""One forest across all outcomes of the review, each beside its published estimate.

Outcomes share a panel only when their numbers share a scale: differences, ratios (on a log
axis), proportions (%), incidence rates and correlations (r) each get their own (the display of
each outcome's measure: metasr.measures); differences and means in the outcome's own unit (a mean
difference, a risk difference, a generic effect in EDSS points per year) get a panel per measure
and unit, apart from the standardised ones. Differences and ratios are drawn on the analysis scale
with the null at the centre; proportions, rates and correlations, whose outcomes may have been
analysed on different scales (logit, double arcsine, Fisher's z), are drawn as shown. Every
outcome in the config is listed, in config order: outcomes without a pooled estimate say why
("no study-level data yet", "k = 1: not pooled") instead of being dropped. Published estimates
(`outcomes.<id>.published`) are on the display scale: SMD, the ratio itself, a proportion, r.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.lines import Line2D

from metasr import display, measures
from metasr.dependence import study_count
from metasr.figures import style
from metasr.figures.forest import PAD_IN, draw_diamond, draw_interval, set_effect_ticks

ROW_IN = 0.36  # a row of one label line; each further line adds LINE_IN
LINE_IN = 0.14
LABEL_MAX_IN = 2.6  # labels wrap within this width (never cut)
PLOT_IN = 2.6
# Panels in the order they are drawn: the display kinds of metasr.measures.
PANELS = measures.DISPLAYS
# Panels drawn on the analysis scale (one transform per panel); the others are drawn as shown.
ANALYSIS_SCALE_PANELS = ("difference", "ratio")
# Display kinds whose numbers are in the outcome's unit unless the measure is unit-free
# (standardised): outcomes of another measure or unit never share their axis.
UNIT_KINDS = ("difference", "mean")


def panel_key(row: dict) -> tuple:
    """What outcomes must share to share a panel: the display kind, and for a measure in the
    outcome's unit also the measure and the unit (`outcomes.<id>.unit`)."""
    measure = row["measure"]
    if row["panel"] not in UNIT_KINDS or (measures.known(measure) and measures.get(measure).unit_free):
        return (row["panel"],)
    return (row["panel"], measure, row.get("unit") or "")


def summary_panels(rows: list[dict]) -> list[tuple[str, str | None, list[dict]]]:
    """(display kind, the panel's name within its kind or None, its rows): kinds in PANELS order,
    a kind's panels in the order of their first outcome. A panel is named when its kind has several
    or it has a unit: 'standardised', or the measure and unit ('effect in EDSS points per year')."""
    by_key: dict[tuple, list[dict]] = {}
    for r in rows:
        by_key.setdefault(panel_key(r), []).append(r)
    out = []
    for kind in PANELS:
        keys = [key for key in by_key if key[0] == kind]
        for key in keys:
            named = len(keys) > 1 or (len(key) > 1 and key[2])
            out.append((kind, _panel_name(key) if named else None, by_key[key]))
    return out


def _panel_name(key: tuple) -> str:
    if len(key) == 1:
        return "standardised"
    _, measure, unit = key
    name = measures.get(measure).label.lower() if measures.known(measure) else measure
    return f"{name} in {unit}" if unit else name


def summary_rows(pooled_results: list[dict], config: dict) -> list[dict]:
    """One row per outcome (config order, then any extra results), on the analysis scale."""
    outcomes = config.get("outcomes") or {}
    by_id = {p.get("outcome"): p for p in pooled_results}
    rows = []
    for oid in list(outcomes) + sorted(set(by_id) - set(outcomes), key=str):
        cfg = outcomes.get(oid) or {}
        pooled = by_id.get(oid) or {}
        measure = pooled.get("measure") or cfg.get("measure") or ""
        disp = style.display({**pooled, "measure": measure}, cfg)
        model = pooled.get("model") or {}
        status = pooled.get("status") or "no_data"
        row = {"id": oid, "label": pooled.get("label") or cfg.get("label") or oid,
               "measure": measure, "unit": cfg.get("unit"), "panel": disp.kind, "ratio": disp.ratio, "display": disp,
               "k": study_count(pooled), "status": status,
               "message": pooled.get("status_message") or (
                   "no study-level data yet" if status == "no_data" else "k = 1: not pooled")}
        on_axis = (lambda v: v) if disp.kind in ANALYSIS_SCALE_PANELS else disp.shown
        if status == "pooled" and style.is_number(model.get("estimate")):
            row.update(est=on_axis(model["estimate"]), lb=on_axis(model.get("ci_lb")),
                       ub=on_axis(model.get("ci_ub")))
        published = pooled.get("published") or cfg.get("published")
        if published and style.is_number(published.get("estimate")):
            row["published"] = {"est": _published_on_axis(published["estimate"], disp),
                                "lb": _published_on_axis(published.get("ci_lb"), disp),
                                "ub": _published_on_axis(published.get("ci_ub"), disp),
                                "source": published.get("source", "")}
        rows.append(row)
    return rows


def _published_on_axis(value, disp: measures.Display):
    """A published number (natural scale) where the outcome's panel draws it."""
    if disp.kind in ANALYSIS_SCALE_PANELS:
        return disp.forward(value)
    return value * 100 if style.is_number(value) and disp.percent else value if style.is_number(value) else None


def _text(row: dict) -> tuple[str, str]:
    decimals = row.get("decimals")
    shown = (lambda v: display.shown(v, row["display"])) if row["panel"] in ANALYSIS_SCALE_PANELS else \
        (lambda v: float(v) if style.is_number(v) else None)
    null = display.shown_null(row.get("display"))
    ours = (display.ci(shown(row["est"]), shown(row["lb"]), shown(row["ub"]), decimals, null=null) if "est" in row
            else row["message"])
    pub = row.get("published")
    theirs = display.ci(shown(pub["est"]), shown(pub["lb"]), shown(pub["ub"]), decimals, null=null) if pub else "–"
    return ours, theirs


def label_lines(row: dict, width_in: float) -> list[str]:
    """The outcome's label and measure, wrapped by words to the label column: never cut."""
    return style.wrap_to_width(f"{row['label']} ({row['measure']})", width_in)


def row_height(lines: list[str]) -> float:
    return ROW_IN + LINE_IN * (len(lines) - 1)


def plot_summary(pooled_results: list[dict], config: dict):
    rows = summary_rows(pooled_results, config)
    review = config.get("review") or {}
    groups = review.get("groups") or {}
    with style.style():
        if not rows:
            return style.message_figure("All outcomes", "No outcomes are configured.")
        panels = summary_panels(rows)
        label_w = min(LABEL_MAX_IN, max(style.text_width_in(f"{r['label']} ({r['measure']})") for r in rows)
                      + PAD_IN)
        for _, _, panel_rows in panels:  # one number of decimals per panel
            decimals = display.decimals_for([v for r in panel_rows for v in _shown_values(r)])
            # no bound rounds onto or across its outcome's null (metasr.display.null_side_decimals)
            decimals = max(display.null_side_decimals(decimals, _shown_values(r)[1:3] + _shown_values(r)[4:],
                                                      display.shown_null(r.get("display"))) for r in panel_rows)
            for r in panel_rows:
                r["decimals"] = decimals
        for r in rows:
            r["lines"] = label_lines(r, label_w - PAD_IN)
        texts = [_text(r) for r in rows]
        ours_w = max(style.text_width_in(t[0]) for t in texts + [("This analysis", "")]) + PAD_IN
        pub_w = max(style.text_width_in(t[1]) for t in texts + [("", "Published")]) + PAD_IN
        k_w = 0.35
        margin = 0.15
        plot_x0 = margin + label_w + k_w + ours_w + pub_w + 0.15
        width = plot_x0 + PLOT_IN + margin
        title = style.wrap_to_width(f"All outcomes: {review.get('title', '')}".rstrip(": "),
                                 width - 2 * margin, size=style.FONT_SIZE + 2, weight="bold",
                                 max_lines=2)
        heights = [0.57 + 0.18 * (len(heading_lines(n, groups, width - 2 * margin, rs, name)) - 1)
                   + sum(row_height(r["lines"]) for r in rs) + 0.6 for n, name, rs in panels]
        height = 0.25 + 0.24 * len(title) + sum(heights) + 0.45
        fig = style.new_figure(width, height)
        y = 0.1
        for line in title:
            y += 0.24
            fig.text(margin / width, 1 - y / height, line, fontsize=style.FONT_SIZE + 2,
                     weight="bold")
        y += 0.1
        for kind, name, panel_rows in panels:
            y = _draw_panel(fig, (kind, name), panel_rows, y, width, height, margin, label_w, k_w,
                            ours_w, pub_w, plot_x0, groups)
        handles = [Line2D([], [], marker="D", ls="none", color=style.COLOURS["pooled"],
                          label="This analysis (pooled estimate, 95% CI)")]
        if any(r.get("published") for r in rows):  # a key entry for what is drawn only
            handles.append(Line2D([], [], marker="o", ls="none", markerfacecolor="white",
                                  color=style.COLOURS["published"], label="Published estimate"))
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(margin / width, 0.0),
                   ncol=2, frameon=False, fontsize=style.FONT_SIZE - 0.5)
        return fig


def _draw_panel(fig, panel, rows, y, width, height, margin, label_w, k_w, ours_w, pub_w,
                plot_x0, groups):
    """One panel (its display kind and name): heading, column names, then each outcome's row; the
    axis is in inches from the panel's first row down, so rows of wrapped labels are simply taller."""
    def fy(v):
        return 1 - v / height

    kind, name = panel
    y += 0.22
    for line in heading_lines(kind, groups, width - 2 * margin, rows, name):
        fig.text(margin / width, fy(y), line, weight="bold", fontsize=style.FONT_SIZE + 0.5)
        y += 0.18
    y += 0.04
    x_k = margin + label_w + k_w
    x_ours = x_k + ours_w
    x_pub = x_ours + pub_w
    for x, text in ((x_k, "k"), (x_ours, "This analysis"), (x_pub, "Published")):
        fig.text((x - PAD_IN / 2) / width, fy(y), text, ha="right", weight="bold")
    y += 0.1
    body_top = y
    tops, offset = [], 0.0
    for row in rows:
        tops.append(offset)
        offset += row_height(row["lines"])
    body_h = offset
    for top, row in zip(tops, rows, strict=True):
        yb = fy(body_top + top + ROW_IN * 0.62)
        ours, theirs = _text(row)
        for j, line in enumerate(row["lines"]):
            fig.text(margin / width, fy(body_top + top + ROW_IN * 0.62 + LINE_IN * j), line)
        fig.text((x_k - PAD_IN / 2) / width, yb, str(row["k"]), ha="right")
        fig.text((x_ours - PAD_IN / 2) / width, yb, ours, ha="right",
                 color="#111111" if "est" in row else style.COLOURS["muted"],
                 style="normal" if "est" in row else "italic")
        fig.text((x_pub - PAD_IN / 2) / width, yb, theirs, ha="right",
                 color=style.COLOURS["published"])
    ax = fig.add_axes([plot_x0 / width, fy(body_top + body_h), PLOT_IN / width, body_h / height])
    values = [v for r in rows for v in (r.get("lb"), r.get("ub"), r.get("est"),
                                        *((r.get("published") or {}).get(k) for k in ("lb", "ub", "est")))]
    axis = panel_display(kind, rows)
    lo, hi = style.value_limits(values, axis)
    ax.set_xlim(lo, hi)
    ax.set_ylim(body_h, 0)
    ax.set_yticks([])
    ax.spines[["left", "right", "top"]].set_visible(False)
    ax.patch.set_alpha(0)
    set_effect_ticks(ax, lo, hi, axis)
    ax.tick_params(axis="x", labelsize=style.TICK_FONT_SIZE)
    if axis.null is not None:
        ax.axvline(axis.null, color=style.COLOURS["null"], lw=0.6)
    for top, row in zip(tops, rows, strict=True):  # diamond and published marker at the row's first line
        if "est" in row and all(style.is_number(row.get(k)) for k in ("lb", "ub")):
            draw_diamond(ax, top + ROW_IN * 0.35, row["est"], max(row["lb"], lo), min(row["ub"], hi),
                         style.COLOURS["pooled"], half_height=0.2 * ROW_IN)
        pub = row.get("published")
        if pub and style.is_number(pub["est"]):
            draw_interval(ax, top + ROW_IN * 0.75, pub["lb"], pub["ub"], (lo, hi), style.COLOURS["published"])
            ax.plot([pub["est"]], [top + ROW_IN * 0.75], marker="o", ms=4.5, markerfacecolor="white",
                    color=style.COLOURS["published"], zorder=4)
    return body_top + body_h + 0.55


def _compared(kind: str, groups: dict, rows: Sequence[dict]) -> str:
    """What a difference or ratio panel compares: the review's groups, and for a paired outcome
    (one sample measured twice) its two occasions."""
    exp, ctl = groups.get("experimental", "group 1"), groups.get("control", "group 2")
    sign = "/" if kind == "ratio" else "minus"
    paired = [r for r in rows if measures.single_group(r["measure"])]
    two_group = not rows or len(paired) < len(rows)
    parts = [f"{exp} {sign} {ctl}"] if two_group else []
    if paired:
        parts.append(("paired outcomes: " if two_group else "") + f"occasion 1 {sign} occasion 2")
    return "; ".join(parts)


def _correlations(rows: Sequence[dict]) -> str:
    """The heading of a panel of correlations (r), which may hold other coefficients from -1 to 1
    (phi, Yule's Q, a partial correlation): no r, so named."""
    known = [r["measure"] for r in rows if measures.known(r["measure"])]
    names = dict.fromkeys("r" if measures.get(m).family == "correlations" else measures.display_for(m).value_name
                          for m in known)
    if list(names) in ([], ["r"]):
        return "Correlations (r)"
    return f"Correlations and associations ({', '.join(names)})"


def heading_lines(kind: str, groups: dict, width_in: float, rows: Sequence[dict] = (),
                  name: str | None = None) -> list[str]:
    """The panel's heading: its kind, its name within the kind (summary_panels), what it compares."""
    compared = _compared(kind, groups, rows)
    named = f", {name}" if name else ""
    heading = {"ratio": f"Ratio measures{named} ({compared})", "difference": f"Difference measures{named} ({compared})",
               "proportion": "Proportions (%)", "rate": "Incidence rates", "mean": f"Means{named}",
               "correlation": _correlations(rows)}[kind]
    return style.wrap_to_width(heading, width_in, size=style.FONT_SIZE + 0.5, weight="bold")


def _shown_values(row: dict) -> list:
    """The numbers a row writes, as shown (for one number of decimals per panel)."""
    pub = row.get("published") or {}
    raw = [row.get("est"), row.get("lb"), row.get("ub"), pub.get("est"), pub.get("lb"), pub.get("ub")]
    if row["panel"] in ANALYSIS_SCALE_PANELS:
        return [display.shown(v, row["display"]) for v in raw]
    return raw


def panel_display(kind: str, rows: list[dict]):
    """The axis of a panel: its outcomes' display on the analysis scale (differences, ratios),
    else an untransformed axis in the units shown (%, rates, r) with the kind's null."""
    if kind in ANALYSIS_SCALE_PANELS:
        return rows[0]["display"]
    return ShownAxis(null=rows[0]["display"].null)


@dataclass(frozen=True)
class ShownAxis:
    """An axis in the units shown (no transform), for style.value_limits and style.effect_ticks."""

    null: float | None
    ratio: bool = False
    identity: bool = True
    percent: bool = False


def plot_summary_file(pooled_jsons: list, config: dict, svg_path, png_path):
    """Workflow step: the summary forest of every outcome (config order), SVG + PNG."""
    results = [json.loads(Path(p).read_text(encoding="utf-8")) for p in pooled_jsons]
    style.save_figure(plot_summary(results, config), svg_path, png_path)
