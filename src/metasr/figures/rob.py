"""Risk-of-bias figures in the robvis style: traffic-light plot and weighted-free summary plot.

Judgements come from the studies sheet (`data/extraction/studies.csv`): `rob_tool` (NOS for
observational studies, RoB2 for randomised trials, empty when not assessed), the tool's domain
columns and `rob_overall`. Values: low | some concerns | high | no information; an empty cell is
"not assessed" and is drawn as such (grey, no symbol), never as a judgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matplotlib.patches import Circle, Patch, Rectangle
from matplotlib.transforms import blended_transform_factory

from metasr.errors import InputError, Problem
from metasr.figures import style as st
from metasr.io import read_csv

TOOLS = {
    "NOS": ("Newcastle–Ottawa Scale", [("rob_selection", "Selection"),
                                       ("rob_comparability", "Comparability"),
                                       ("rob_outcome", "Outcome / exposure")]),
    "ROB2": ("RoB 2", [("rob_randomisation", "Randomisation process"),
                       ("rob_deviations", "Deviations from intended interventions"),
                       ("rob_missing", "Missing outcome data"),
                       ("rob_measurement", "Measurement of the outcome"),
                       ("rob_reporting", "Selection of the reported result")]),
}
OVERALL = ("rob_overall", "Overall")
JUDGEMENTS = {  # value -> (colour, symbol), robvis colours
    "low": ("#02C100", "+"),
    "some concerns": ("#E2DF07", "−"),
    "high": ("#BF0000", "×"),
    "no information": ("#4EA1F7", "?"),
    "": ("#DDDDDD", ""),  # not assessed
}
LEGEND_NAMES = {"low": "Low", "some concerns": "Some concerns", "high": "High",
                "no information": "No information", "": "Not assessed"}
ALL_COLUMNS = [c for _, domains in TOOLS.values() for c, _ in domains] + [OVERALL[0]]


@dataclass
class StudyRob:
    study_id: str
    label: str
    tool: str  # "NOS" | "ROB2" | ""
    judgements: dict  # column -> normalised judgement ("" = not assessed)

    @property
    def assessed(self) -> bool:
        return any(self.judgements.values())


def read_judgements(studies_csv) -> list[StudyRob]:
    """Studies with their judgements; raises InputError listing every unknown value."""
    problems = []
    studies = []
    for row_number, row in enumerate(read_csv(studies_csv)[1], start=2):
        tool = (row.get("rob_tool") or "").strip().upper().replace(" ", "")
        if tool not in {"", *TOOLS}:
            problems.append(Problem("unknown risk-of-bias tool", file=str(studies_csv),
                                    row=row_number, column="rob_tool", value=row["rob_tool"],
                                    hint="use NOS, RoB2 or leave empty"))
            tool = ""
        judgements = {}
        for column in ALL_COLUMNS:
            value = " ".join((row.get(column) or "").strip().lower().split())
            if value not in JUDGEMENTS:
                problems.append(Problem("unknown risk-of-bias judgement", file=str(studies_csv),
                                        row=row_number, column=column, value=row[column],
                                        hint="use low, some concerns, high, no information "
                                             "or leave empty (not assessed)"))
                value = ""
            judgements[column] = value
        if not tool and any(judgements.values()):
            problems.append(Problem("judgements given without a tool", file=str(studies_csv),
                                    row=row_number, column="rob_tool",
                                    hint="set rob_tool to NOS or RoB2"))
        label = row.get("label") or row.get("study_id") or f"row {row_number}"
        studies.append(StudyRob(row.get("study_id", ""), label, tool, judgements))
    if problems:
        raise InputError(problems)
    return studies


def _not_assessed_figure(studies: list[StudyRob], what: str):
    return st.message_figure(
        f"Risk of bias: {what}",
        f"Not assessed: the studies sheet has no risk-of-bias judgements for any of the "
        f"{len(studies)} included studies, so no judgements are drawn. Fill in rob_tool and the "
        "tool's domain columns (NOS or RoB 2) to draw this figure.")


def _legend(fig, y):
    handles = [Patch(facecolor=c, edgecolor="#555555", lw=0.4,
                     label=f"{LEGEND_NAMES[v]}{' (' + s + ')' if s else ''}")
               for v, (c, s) in JUDGEMENTS.items()]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.02, y), ncol=5,
               frameon=False, fontsize=st.FONT_SIZE - 0.5, handlelength=1.2)


def assessed_panels(studies: list[StudyRob]) -> list[tuple[str, list[StudyRob]]]:
    """(tool, its assessed studies) for every tool that assessed at least one study."""
    panels = [(tool, [s for s in studies if s.tool == tool and s.assessed]) for tool in TOOLS]
    return [(tool, rows) for tool, rows in panels if rows]


def plot_traffic_light(studies: list[StudyRob]):
    """One panel per tool: a row per assessed study, a column per domain and overall."""
    with st.style():
        panels = assessed_panels(studies)
        if not panels:
            return _not_assessed_figure(studies, "traffic-light plot")
        cell = 0.3
        label_w = min(2.4, max(st.text_width_in(s.label) for _, rows in panels for s in rows)
                      + 0.15)
        n_cols = max(len(TOOLS[t][1]) + 1 for t, _ in panels)
        width = max(0.3 + label_w + cell * n_cols + 0.3, 6.0)
        not_assessed = [s.label for s in studies if not s.assessed]
        note_lines = st.wrap_to_width(
            f"Not assessed ({len(not_assessed)}): " + ", ".join(not_assessed), width - 0.4,
            size=st.FONT_SIZE - 0.5, max_lines=3) if not_assessed else []
        key_lines = sum(len(TOOLS[t][1]) + 1 for t, _ in panels)
        height = (0.5 + sum(0.7 + cell * len(rows) for _, rows in panels)
                  + 0.15 * key_lines + 0.16 * len(note_lines) + 0.45)
        fig = st.new_figure(width, height)
        y = 0.35  # inches from the top
        for tool, rows in panels:
            name, domains = TOOLS[tool]
            columns = domains + [OVERALL]
            fig.text(0.2 / width, 1 - y / height, name, weight="bold",
                     fontsize=st.FONT_SIZE + 1)
            y += 0.3
            x0 = 0.2 + label_w
            for j, (_, _) in enumerate(columns):
                short = f"D{j + 1}" if j < len(domains) else "Overall"
                fig.text((x0 + cell * (j + 0.5)) / width, 1 - y / height, short, ha="center",
                         weight="bold", fontsize=st.FONT_SIZE - 0.5)
            y += 0.1
            ax = fig.add_axes([x0 / width, 1 - (y + cell * len(rows)) / height,
                               cell * len(columns) / width, cell * len(rows) / height])
            ax.set_xlim(0, len(columns))
            ax.set_ylim(len(rows), 0)
            ax.axis("off")
            for i, study in enumerate(rows):
                fig.text(0.2 / width, 1 - (y + cell * (i + 0.62)) / height,
                         st.truncate_to_width(study.label, label_w - 0.1))
                for j, (column, _) in enumerate(columns):
                    colour, symbol = JUDGEMENTS[study.judgements.get(column, "")]
                    ax.add_patch(Rectangle((j, i), 1, 1, facecolor="none", edgecolor="#cccccc",
                                           lw=0.4))
                    ax.add_patch(Circle((j + 0.5, i + 0.5), 0.36, facecolor=colour,
                                        edgecolor="#555555", lw=0.4))
                    if symbol:
                        ax.text(j + 0.5, i + 0.52, symbol, ha="center", va="center",
                                weight="bold", fontsize=st.FONT_SIZE + 1)
            y += cell * len(rows) + 0.3
        for tool, _ in panels:  # domain key under the panels
            for j, (_, title) in enumerate(TOOLS[tool][1]):
                y += 0.15
                fig.text(0.2 / width, 1 - y / height, f"{TOOLS[tool][0]} D{j + 1}: {title}",
                         fontsize=st.FONT_SIZE - 1, color="#333333")
        for line in note_lines:
            y += 0.16
            fig.text(0.2 / width, 1 - y / height, line, fontsize=st.FONT_SIZE - 0.5,
                     color="#333333")
        _legend(fig, 0.2 / height * 0.2)
        return fig


def plot_rob_summary(studies: list[StudyRob]):
    """Share of studies (unweighted) with each judgement, per domain, one block per tool."""
    with st.style():
        panels = assessed_panels(studies)
        if not panels:
            return _not_assessed_figure(studies, "summary plot")
        bar_rows = sum(len(TOOLS[t][1]) + 1 for t, _ in panels) + len(panels)
        width, label_w = 7.5, 2.9
        height = 0.6 + 0.28 * bar_rows + 0.6
        fig = st.new_figure(width, height)
        ax = fig.add_axes([(0.2 + label_w) / width, 0.6 / height, (width - label_w - 0.5) / width,
                           0.28 * bar_rows / height])
        ax.set_xlim(0, 100)
        ax.set_ylim(bar_rows, 0)
        ax.set_yticks([])
        ax.spines[["left", "right", "top"]].set_visible(False)
        ax.set_xlabel("Studies (%)")
        labels = blended_transform_factory(fig.transFigure, ax.transData)
        i = 0
        for tool, rows in panels:
            name, domains = TOOLS[tool]
            ax.text(0.2 / width, i + 0.5, f"{name} (n = {len(rows)})", weight="bold",
                    va="center", transform=labels)
            i += 1
            for j, (column, title) in enumerate(domains + [OVERALL]):
                left = 0.0
                for value, (colour, _) in JUDGEMENTS.items():
                    share = 100 * sum(s.judgements.get(column, "") == value for s in rows) / len(rows)
                    if share:
                        ax.barh(i + 0.5, share, left=left, height=0.7, color=colour,
                                edgecolor="#555555", lw=0.4)
                    left += share
                text = title if column == OVERALL[0] else f"D{j + 1} {title}"
                ax.text(0.3 / width, i + 0.5,
                        st.truncate_to_width(text, label_w - 0.2, size=st.FONT_SIZE - 0.5),
                        fontsize=st.FONT_SIZE - 0.5, va="center", transform=labels)
                i += 1
        _legend(fig, 0.0)
        return fig


def plot_rob_files(studies_csv, traffic_svg, traffic_png, summary_svg, summary_png):
    """Workflow step: traffic-light and summary plots from the studies sheet."""
    studies = read_judgements(Path(studies_csv))
    st.save_figure(plot_traffic_light(studies), traffic_svg, traffic_png)
    st.save_figure(plot_rob_summary(studies), summary_svg, summary_png)
