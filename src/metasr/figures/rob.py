"""Risk-of-bias figures in the robvis style: traffic-light plot and summary plot.

Judgements come from the studies sheet (`data/extraction/studies.csv`): `rob_tool` (one of
metasr.rob.TOOLS: RoB 2, ROBINS-I V2, ROBINS-E, QUADAS-2, NOS; empty when not assessed), the
tool's domain columns and `rob_overall` (derived by the tool's rule when empty and the domains
judged determine it: metasr.rob.derive_overall). An empty cell is "not assessed" and is drawn as
such (grey, no symbol), never as a judgement. The summary plot gives each judgement's share of the
studies, or of the weight the studies have in one outcome's analysis (robvis's weighted summary),
one block per tool.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from matplotlib.patches import Circle, Patch, Rectangle
from matplotlib.transforms import blended_transform_factory

from metasr import rob as tools
from metasr.errors import InputError, Problem
from metasr.figures import style
from metasr.io import read_csv
from metasr.rob import JUDGEMENTS, OVERALL, StudyRob, Tool

log = logging.getLogger(__name__)
LEGEND_ORDER = ("low", "low except confounding", "some concerns", "moderate", "unclear", "high",
                "serious", "very high", "critical", "no information", "")


def read_judgements(studies_csv) -> list[StudyRob]:
    """Studies with their judgements, in the forest plots' default order (by year, then label:
    forest_rows.sort_studies), so that the traffic-light plot lists them as the forest beside it
    does; raises InputError listing every problem (metasr.rob)."""
    problems, studies = [], []
    rows = read_csv(studies_csv)[1]
    for row_number, row in enumerate(rows, start=2):
        study = tools.assess(row)
        if not study.label:
            study.label = f"row {row_number}"
        problems += [Problem(message, file=str(studies_csv), row=row_number, column=column,
                             value=None if value is None else str(value), rule="risk-of-bias")
                     for column, value, message in study.problems]
        studies.append(study)
    if problems:
        raise InputError(problems)
    return forest_order(studies, rows)


def forest_order(studies: list[StudyRob], rows: list[dict]) -> list[StudyRob]:
    """The studies (assessed from `rows`, the studies-sheet rows, one each) in the forest plots'
    default order: by year, then label (forest_rows.sort_studies)."""
    from metasr.figures.forest_rows import sort_studies

    keys = [{"year": row.get("year"), "label": study.label, "index": i}
            for i, (row, study) in enumerate(zip(rows, studies, strict=True))]
    return [studies[k["index"]] for k in sort_studies(keys, "year")]


def analysis_weights(pooled: dict) -> dict[str, float]:
    """Each study's weight (percent) in an outcome's analysis, summed over its rows."""
    from metasr.dependence import weighted_studies

    weights: dict[str, float] = {}
    for s in weighted_studies(pooled):
        w = style.finite(s.get("weight"))
        if w is not None:
            weights[str(s.get("study_id"))] = weights.get(str(s.get("study_id")), 0.0) + w
    return weights


def _not_assessed_figure(studies: list[StudyRob], what: str):
    return style.message_figure(
        f"Risk of bias: {what}",
        f"Not assessed: the studies sheet has no risk-of-bias judgements for any of the "
        f"{len(studies)} included studies, so no judgements are drawn. Fill in rob_tool and the "
        f"tool's domain columns ({', '.join(tools.TOOLS)}) to draw this figure.")


def _used_words(panels) -> list[str]:
    used = {s.judgement(c) for tool, rows in panels for s in rows for c in _columns(tool)}
    return [w for w in LEGEND_ORDER if w in used or w == ""]


LEGEND_SIZE = style.FONT_SIZE - 0.5
LEGEND_ENTRY_IN = 0.42  # an entry's patch and the gaps around it


def _legend_label(word: str, tool_ids) -> str:
    """'Low (+)', with the words of the tools that have their own: 'Low (+; NOS: good)'."""
    if not word:
        return "Not assessed"
    said = [JUDGEMENTS[word][1]] if JUDGEMENTS[word][1] else []
    said += tools.own_words(word, tool_ids)
    return word.capitalize() + (f" ({'; '.join(said)})" if said else "")


def _legend_columns(words, tool_ids, width_in: float) -> int:
    """The most legend columns (up to 5) whose entries fit across `width_in`, filled as matplotlib
    fills them (down each column first)."""
    sizes = [style.text_width_in(_legend_label(w, tool_ids), LEGEND_SIZE) + LEGEND_ENTRY_IN for w in words]
    for ncol in range(min(5, len(words)), 1, -1):
        rows, longer = divmod(len(words), ncol)  # the first `longer` columns take one entry more
        ends = [sum(rows + (c < longer) for c in range(k + 1)) for k in range(ncol)]
        columns = [sizes[start:end] for start, end in zip([0, *ends], ends, strict=False)]
        if sum(max(column or [0]) for column in columns) <= width_in - 0.2:
            return ncol
    return 1


def _legend(fig, y, words, tool_ids, ncol: int):
    handles = [Patch(facecolor=JUDGEMENTS[w][0], edgecolor="#555555", lw=0.4, label=_legend_label(w, tool_ids))
               for w in words]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.02, y), ncol=ncol,
               frameon=False, fontsize=LEGEND_SIZE, handlelength=1.2)


def _columns(tool: Tool) -> list[str]:
    return [d.column for d in tool.domains] + [OVERALL]


def _headers(tool: Tool) -> list[str]:
    return [tool.short(d) for d in tool.domains] + ["Overall"]


HEADER_SIZE = style.FONT_SIZE - 0.5
HEADER_GAP_IN = 0.06  # the least room between two column headers


def _positions(tool: Tool, cell: float) -> list[float]:
    """Where each column of a traffic-light panel starts, in cells: one after another, the overall
    column moved right as far as its header ("Overall", wider than a cell) needs to stay clear of
    the last domain's."""
    headers = _headers(tool)
    widths = [style.text_width_in(h, HEADER_SIZE, "bold") for h in headers[-2:]]
    gap = max(0.0, ((widths[0] + widths[1]) / 2 + HEADER_GAP_IN) / cell - 1) if len(headers) > 1 else 0.0
    return [float(j) for j in range(len(headers) - 1)] + [len(headers) - 1 + gap]


def assessed_panels(studies: list[StudyRob]) -> list[tuple[Tool, list[StudyRob]]]:
    """(tool, its assessed studies) for every tool that assessed at least one study."""
    panels = [(tool, [s for s in studies if s.tool is tool and s.assessed])
              for tool in tools.TOOLS.values()]
    return [(tool, rows) for tool, rows in panels if rows]


def judgement_text(study: StudyRob, column: str) -> str:
    """A cell of the traffic-light plot in words, as the report's table gives it: the judgement
    (stars for NOS), 'Not assessed' for an empty one, '*' after an overall derived by the tool's rule."""
    value = study.values.get(column)
    word = f"{value}★" if isinstance(value, int) else (study.judgement(column) or "not assessed").capitalize()
    return word + ("*" if column == OVERALL and study.derived else "")


def _cell_text(study: StudyRob, column: str) -> str:
    value = study.values.get(column)
    if isinstance(value, int):  # NOS stars
        return f"{value}★"
    return JUDGEMENTS[study.judgement(column)][1]


def plot_traffic_light(studies: list[StudyRob]):
    """One panel per tool: a row per assessed study, a column per domain and overall."""
    with style.style():
        panels = assessed_panels(studies)
        if not panels:
            return _not_assessed_figure(studies, "traffic-light plot")
        cell = 0.3
        label_w = min(2.4, max(style.text_width_in(s.label) for _, rows in panels for s in rows)
                      + 0.15)
        n_cols = max(_positions(t, cell)[-1] + 1 for t, _ in panels)
        width = max(0.3 + label_w + cell * n_cols + 0.3, 6.0)
        not_assessed = [s.label for s in studies if not s.assessed]
        note_lines = style.wrap_to_width(
            f"Not assessed ({len(not_assessed)}): " + ", ".join(not_assessed), width - 0.4,
            size=style.FONT_SIZE - 0.5, max_lines=3) if not_assessed else []
        derived = any(s.derived for _, rows in panels for s in rows)
        key_lines = sum(len(t.domains) for t, _ in panels) + derived
        words, tool_ids = _used_words(panels), [t.id for t, _ in panels]
        ncol = _legend_columns(words, tool_ids, width)
        legend_rows = -(-len(words) // ncol)
        height = (0.5 + sum(0.7 + cell * len(rows) for _, rows in panels)
                  + 0.15 * key_lines + 0.16 * len(note_lines) + 0.25 + 0.2 * legend_rows)
        fig = style.new_figure(width, height)
        y = 0.35  # inches from the top
        for tool, rows in panels:
            columns = _columns(tool)
            fig.text(0.2 / width, 1 - y / height, tool.name, weight="bold",
                     fontsize=style.FONT_SIZE + 1)
            y += 0.3
            x0 = 0.2 + label_w
            at = _positions(tool, cell)  # the overall column a little apart when its header needs it
            for j, short in zip(at, _headers(tool), strict=True):
                fig.text((x0 + cell * (j + 0.5)) / width, 1 - y / height, short, ha="center",
                         weight="bold", fontsize=HEADER_SIZE)
            y += 0.1
            ax = fig.add_axes([x0 / width, 1 - (y + cell * len(rows)) / height,
                               cell * (at[-1] + 1) / width, cell * len(rows) / height])
            ax.set_xlim(0, at[-1] + 1)
            ax.set_ylim(len(rows), 0)
            ax.axis("off")
            labels = style.shorten_labels([s.label for s in rows], label_w - 0.1)  # years stay; none alike
            for i, study in enumerate(rows):
                style.add_text(fig, 0.2 / width, 1 - (y + cell * (i + 0.62)) / height, labels[str(study.label)],
                               title=str(study.label))
                for j, column in zip(at, columns, strict=True):
                    colour = JUDGEMENTS[study.judgement(column)][0]
                    ax.add_patch(Rectangle((j, i), 1, 1, facecolor="none", edgecolor="#cccccc",
                                           lw=0.4))
                    ax.add_patch(Circle((j + 0.5, i + 0.5), 0.36, facecolor=colour,
                                        edgecolor="#555555", lw=0.4))
                    text = _cell_text(study, column) + ("*" if column == OVERALL and study.derived
                                                        else "")
                    if text:
                        ax.text(j + 0.5, i + 0.52, text, ha="center", va="center", weight="bold",
                                fontsize=style.FONT_SIZE + (1 if len(text) == 1 else -1.5))
            y += cell * len(rows) + 0.3
        for tool, _ in panels:  # domain key under the panels
            for domain in tool.domains:
                y += 0.15
                fig.text(0.2 / width, 1 - y / height,
                         f"{tool.name} {tool.short(domain)}: {domain.name}",
                         fontsize=style.FONT_SIZE - 1, color="#333333")
        if derived:
            y += 0.15
            fig.text(0.2 / width, 1 - y / height, "* overall judgement derived by the tool's rule "
                     "from the domains (left empty in the sheet)", fontsize=style.FONT_SIZE - 1,
                     color="#333333")
        for line in note_lines:
            y += 0.16
            fig.text(0.2 / width, 1 - y / height, line, fontsize=style.FONT_SIZE - 0.5,
                     color="#333333")
        _legend(fig, 0.04 / height, words, tool_ids, ncol)
        return fig


def plot_rob_summary(studies: list[StudyRob], weights: dict[str, float] | None = None,
                     weighted_by: str = "", note: str = ""):
    """Share of studies with each judgement, per domain, one block per tool. With `weights`
    (study id -> weight in an outcome's analysis) the shares are of the whole analysis' weight:
    studies outside that analysis are left out, and its studies without a judgement are the grey
    'Not assessed' share of every bar (not re-normalised away). `note`: why the plot is not
    weighted although weighting was asked for, shown under the axis."""
    with style.style():
        unassessed = 0.0
        if weights is not None:
            total_weight = sum(w for w in weights.values() if w > 0) or 1.0
            by_id = {s.study_id: s for s in studies}
            unassessed = sum(w for sid, w in weights.items()
                             if w > 0 and not (sid in by_id and by_id[sid].assessed and by_id[sid].tool))
            studies = [s for s in studies if weights.get(s.study_id, 0) > 0]
        panels = assessed_panels(studies)
        if not panels:
            if weights is not None:
                return style.message_figure("Risk of bias: summary plot", "No study of the "
                                         f"analysis of {weighted_by or 'the outcome'} has a "
                                         "risk-of-bias judgement, so there is nothing to weight.")
            return _not_assessed_figure(studies, "summary plot")
        bar_rows = sum(len(_columns(t)) for t, _ in panels) + len(panels)
        words, tool_ids = _used_words(panels), [t.id for t, _ in panels]
        width, label_w = 7.5, 2.9
        ncol = _legend_columns(words, tool_ids, width)
        legend_rows = -(-len(words) // ncol)
        # the axis label (and a note) sit above the legend, not on it
        below = 0.45 + 0.16 * bool(note)
        height = 0.3 + 0.28 * bar_rows + below + 0.1 + 0.2 * legend_rows
        bottom = below + 0.1 + 0.2 * legend_rows
        fig = style.new_figure(width, height)
        ax = fig.add_axes([(0.2 + label_w) / width, bottom / height,
                           (width - label_w - 0.5) / width, 0.28 * bar_rows / height])
        ax.set_xlim(0, 100)
        ax.set_ylim(bar_rows, 0)
        ax.set_yticks([])
        ax.spines[["left", "right", "top"]].set_visible(False)
        ax.set_xlabel("Studies (%)" if weights is None else
                      f"Share of the whole weight in the analysis of {weighted_by} (%)")
        if note:
            fig.text(0.2 / width, (bottom - below + 0.02) / height, note, fontsize=style.FONT_SIZE - 1,
                     color="#333333")
        labels = blended_transform_factory(fig.transFigure, ax.transData)
        i = 0
        for tool, rows in panels:
            share_of = {s.study_id: (weights or {}).get(s.study_id, 1.0) for s in rows}
            total = total_weight if weights is not None else len(rows)
            weighted = f", {100 * sum(share_of.values()) / total:.0f}% of the weight" if weights is not None else ""
            ax.text(0.2 / width, i + 0.5, f"{tool.name} (n = {len(rows)}{weighted})", weight="bold",
                    va="center", transform=labels)
            i += 1
            for column, short, domain in zip(_columns(tool), _headers(tool), [*tool.domains, None], strict=True):
                left = 0.0
                for value in LEGEND_ORDER:
                    judged = sum(share_of[s.study_id] for s in rows if s.judgement(column) == value)
                    share = 100 * (judged + (unassessed if value == "" else 0.0)) / total
                    if share:
                        ax.barh(i + 0.5, share, left=left, height=0.7,
                                color=JUDGEMENTS[value][0], edgecolor="#555555", lw=0.4)
                    left += share
                text = "Overall" if domain is None else f"{short} {domain.name}"
                ax.text(0.3 / width, i + 0.5,
                        style.truncate_to_width(text, label_w - 0.2, size=style.FONT_SIZE - 0.5),
                        fontsize=style.FONT_SIZE - 0.5, va="center", transform=labels)
                i += 1
        _legend(fig, 0.0, words, tool_ids, ncol)
        return fig


def summary_weights(pooled: dict) -> tuple[dict[str, float] | None, str]:
    """(weights, note) for the weighted summary from the weight outcome's pooled result: no weights
    and a note saying why when it was not pooled (k = 1 has no weights to share out: its one study
    would be '100% of the weight')."""
    name = pooled.get("label") or pooled.get("outcome") or "the weight outcome"
    if pooled.get("status", "pooled") != "pooled":
        why = pooled.get("status_message") or pooled.get("status")
        return None, f"Not weighted: {name} was not pooled ({why}); each study counts once."
    weights = analysis_weights(pooled)
    if not weights:
        return None, f"Not weighted: the analysis of {name} gives no study weights; each study counts once."
    return weights, ""


def plot_rob_files(studies_csv, traffic_svg, traffic_png, summary_svg, summary_png,
                   weights_json=None, weighted_by: str = ""):
    """Workflow step: traffic-light and summary plots from the studies sheet; the summary is
    weighted by the studies' weights in `weights_json` (a pooled result) when it is given."""
    studies = read_judgements(Path(studies_csv))
    weights, note = None, ""
    if weights_json:
        pooled = json.loads(Path(weights_json).read_text(encoding="utf-8"))
        weights, note = summary_weights(pooled)
        weighted_by = weighted_by or pooled.get("label") or pooled.get("outcome") or ""
        if note:
            log.warning("risk-of-bias summary plot: %s", note)
    style.save_figure(plot_traffic_light(studies), traffic_svg, traffic_png)
    style.save_figure(plot_rob_summary(studies, weights, weighted_by, note), summary_svg, summary_png)
