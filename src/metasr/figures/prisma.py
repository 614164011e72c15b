"""The PRISMA 2020 flow diagram, drawn from prisma.json (metasr.screening.prisma).

Layout of the PRISMA 2020 statement (Page et al. 2021): stage labels on the left
(Identification, Screening, Included); a column for databases and registers with its exclusion
boxes to the right; when other methods were used, a second column with its own boxes; one
"studies included" box at the bottom, and below it the studies (and reports) included in the
meta-analysis when the pooled results are given (metasr.screening.prisma.meta_analysis_counts).
Records removed before screening are split as PRISMA 2020 does: duplicates, automation tools,
other reasons. A stage a (declared) flow did not have (`omitted`) has no boxes, as with the
PRISMA2020 tool's flexible boxes. Every box is sized to its wrapped text and every row is as
tall as its tallest box, so text never overlaps and long reason lists simply make taller boxes.
The other-methods column also shows duplicates and title/abstract exclusions when metasr screened
those records, so that each column's numbers add up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from metasr.display import number
from metasr.errors import InputError, Problem
from metasr.figures.style import new_figure, save_figure, style, text_width_in, truncate_to_width
from metasr.screening.prisma import DATABASE_METHODS

SIZE = 9.0  # box text, points
LABEL_SIZE = 10.0
LINE_IN = SIZE * 1.22 / 72  # matplotlib's default line spacing (1.2) plus a little air
PAD = 0.09
MARGIN = 0.2
STAGE_W = 0.36
GAP_X = 0.28  # stage bar to first column
ARROW_X = 0.42  # main box to side box
COLUMN_GAP = 0.45
ROW_GAP = 0.36
WIDTHS = {"databases": (3.0, 3.05), "other": (3.0, 3.05)}  # (main, side) box widths, inches
TITLE_FILL = {"databases": "#ffd966", "other": "#d9d9d9"}
STAGE_FILL = "#9dc3e6"
INDENT = "    "
# Rows 0 and 4 carry a stage label of their own; the rotated label must fit the row's height.
STAGE_OF_ROW = {0: "Identification", 4: "Included"}
ROWS = range(6)  # identification, screening, retrieval, eligibility, included, meta-analysis
OMITTED_BOXES = {"screening": ("screened", "excluded"), "retrieval": ("sought", "not_retrieved")}
REMOVALS = (("duplicates", "Duplicate records removed"),
            ("removed_automation", "Records marked as ineligible by automation tools"),
            ("removed_other", "Records removed for other reasons"))


def _stage_min(row: int) -> float:
    label = STAGE_OF_ROW.get(row)
    return text_width_in(label, LABEL_SIZE, "bold") + 2 * PAD if label else 0.0


@dataclass
class Box:
    lines: list[str]
    x: float
    width: float
    row: int
    fill: str = "white"
    bold: bool = False
    centre: bool = False
    border: bool = True
    y: float = 0.0  # top edge, inches from the top of the figure
    height: float = field(init=False)

    def __post_init__(self):
        self.height = len(self.lines) * LINE_IN + 2 * PAD

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def mid_y(self) -> float:
        return self.y + self.height / 2


def _n(count) -> str:
    return f"(n\u00a0=\u00a0{count:,})"


def _wrap(text: str, width: float, indent: str = "") -> list[str]:
    """Wrap one item; continuation lines are indented one step further than the first.

    Only plain spaces break lines: counts are written "(n\u00a0=\u00a012)" so they stay whole.
    """
    room = width - 2 * PAD - text_width_in(indent + INDENT, SIZE)
    lines: list[str] = []
    for word in text.split(" "):
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and text_width_in(trial, SIZE) <= room:
            lines[-1] = trial
        else:
            lines.append(word)
    # A single word wider than the box (a long database name) is cut visibly, never overflows.
    lines = [truncate_to_width(line, room, SIZE) for line in lines] or [""]
    return [indent + lines[0]] + [indent + INDENT + line for line in lines[1:]]


def _list_box_lines(heading: str, items: list[tuple[str, int]], width: float) -> list[str]:
    lines = _wrap(heading, width)
    for label, count in items:
        lines += _wrap(f"{label} {_n(count)}", width, indent="  ")
    return lines


def _identified_lines(name: str, c: dict, width: float) -> list[str]:
    """'Records identified from:' and each source; the counted databases column, as the PRISMA 2020
    template, also says how many came from registers ('Registers (n = 0)'), each register under it."""
    sources = c.get("identified_by_database") or c["identified_by_source"]
    if name != "databases" or not any(s.get("method") in DATABASE_METHODS for s in sources):
        return _list_box_lines("Records identified from:", [(s["database"], s["n"]) for s in sources], width)
    lines = _list_box_lines("Records identified from:",
                            [(s["database"], s["n"]) for s in sources if s.get("method") != "register"], width)
    registers = [s for s in sources if s.get("method") == "register"]
    lines += _wrap(f"Registers {_n(c.get('registers', sum(s['n'] for s in registers)))}"
                   + (":" if registers else ""), width, indent="  ")
    for s in registers:
        lines += _wrap(f"{s['database']} {_n(s['n'])}", width, indent="    ")
    return lines


def column_boxes(name: str, c: dict, x: float) -> dict[str, Box]:
    """The boxes of one PRISMA column (rows 0-3), keyed by role."""
    main_w, side_w = WIDTHS[name]
    side_x = x + main_w + ARROW_X
    boxes = {
        "identified": Box(_identified_lines(name, c, main_w), x, main_w, 0),
        "screened": Box(_wrap(f"Records screened {_n(c['screened'])}", main_w), x, main_w, 1),
        "sought": Box(_wrap(f"Reports sought for retrieval {_n(c['sought'])}", main_w), x, main_w, 2),
        "assessed": Box(_wrap(f"Reports assessed for eligibility {_n(c['assessed'])}", main_w), x, main_w, 3),
        "not_retrieved": Box(_wrap(f"Reports not retrieved {_n(c['not_retrieved'])}", side_w), side_x, side_w, 2),
        "excluded": Box(_list_box_lines(
            f"Records excluded {_n(c['excluded'])}" + (":" if c["excluded_reasons"] else ""),
            [(r["reason"], r["n"]) for r in c["excluded_reasons"]], side_w), side_x, side_w, 1),
        "reports_excluded": Box(_list_box_lines(
            f"Reports excluded {_n(c['reports_excluded'])}" + (":" if c["reports_excluded_reasons"] else ""),
            [(r["reason"], r["n"]) for r in c["reports_excluded_reasons"]], side_w), side_x, side_w, 3),
    }
    if name == "databases" or any(c.get(key) for key, _ in REMOVALS):
        boxes["removed"] = Box(_list_box_lines(
            "Records removed before screening:", [(label, c.get(key, 0)) for key, label in REMOVALS],
            side_w), side_x, side_w, 0)
    for stage in c.get("omitted") or ():  # a stage the flow did not have: no boxes
        for role in OMITTED_BOXES[stage]:
            boxes.pop(role, None)
    return boxes


def _kappa_note(label: str, a: dict | None, items: str) -> str:
    """The agreement of a dual-screened stage; screened partly by two reviewers, how many (of the
    stage's `items`, records or reports) were."""
    if not a or not a.get("dual"):
        return ""
    kappa = "undefined" if a.get("kappa") is None else number(a["kappa"])  # may be negative
    screened = a.get("screened")  # absent from a prisma.json of an older metasr
    who = (f": {a['n']:,} of {screened:,} {items} screened by two reviewers;" if screened and screened > a["n"]
           else " by two reviewers:")
    text = f"{label} screening{who} Cohen's kappa = {kappa} {_n(a['n'])}; "
    if not a["conflicts"]:
        return text + "no conflicts."
    conflicts = f"{a['conflicts']:,} conflict{'s' if a['conflicts'] != 1 else ''}"
    return text + conflicts + (f", {a['unresolved']} unresolved." if a.get("unresolved") else ", all resolved.")


def footnotes(prisma: dict, meta: dict | None = None) -> list[str]:
    """Where declared counts come from, what the meta-analysis box counts, and agreement between
    reviewers when screening was dual (none of these is part of the PRISMA boxes)."""
    agreement = prisma.get("agreement") or {}
    declared = prisma.get("origin") == "declared"
    notes = [f"Counts declared by the reviewers, from {prisma.get('source')}; not counted by metasr"
             + (" (except the meta-analysis box)." if meta else ".") if declared else "",
             meta_note(meta) if meta else "",
             *(f"Note: {w}; the declared counts do not cover every pooled study."
               for w in (meta or {}).get("warnings") or ()),
             _kappa_note("Title/abstract", agreement.get("title_abstract"), "records"),
             _kappa_note("Full-text", agreement.get("full_text"), "reports")]
    return [n for n in notes if n]


def meta_note(meta: dict) -> str:
    n = len(meta.get("outcomes") or [])
    return (f"Included in meta-analysis: the studies of the {n} outcome{'s' if n != 1 else ''} pooled "
            "(k ≥ 2), counted by metasr from the pooled results.")


def meta_box(meta: dict, width: float) -> list[str]:
    lines = _wrap(f"Studies included in meta-analysis {_n(meta['studies'])}", width)
    if meta.get("reports") is not None:
        lines += _wrap(f"Reports of studies included in meta-analysis {_n(meta['reports'])}", width)
    return lines


def _column_width(name: str) -> float:
    main_w, side_w = WIDTHS[name]
    return main_w + ARROW_X + side_w


def layout(prisma: dict, meta: dict | None = None) -> dict:
    """Place every box; returns {"width", "height", "columns": {name: boxes}, "titles",
    "included", "meta", "stages"} in inches (y grows downwards). A row without boxes (a stage no
    column had) takes no room."""
    columns: dict[str, dict[str, Box]] = {}
    titles: dict[str, Box] = {}
    x = MARGIN + STAGE_W + GAP_X
    for name, text in (("databases", "Identification of new studies via databases and registers"),
                       ("other", "Identification of new studies via other methods")):
        if name not in prisma["columns"]:
            continue
        columns[name] = column_boxes(name, prisma["columns"][name], x)
        titles[name] = Box(_wrap(text, _column_width(name)), x, _column_width(name), -1,
                           fill=TITLE_FILL[name], bold=True, centre=True)
        x += _column_width(name) + COLUMN_GAP
    width = x - COLUMN_GAP + MARGIN

    db_main_w = WIDTHS["databases"][0]
    included = Box(
        _wrap(f"Studies included in review {_n(prisma['included']['studies'])}", db_main_w)
        + _wrap(f"Reports of included studies {_n(prisma['included']['reports'])}", db_main_w),
        MARGIN + STAGE_W + GAP_X, db_main_w, 4)

    in_meta = Box(meta_box(meta, db_main_w), MARGIN + STAGE_W + GAP_X, db_main_w, 5) if meta else None
    every_box = [b for boxes in columns.values() for b in boxes.values()] + [included] + \
        ([in_meta] if in_meta else [])
    y = MARGIN + max(t.height for t in titles.values())
    for t in titles.values():
        t.y = MARGIN
    row_top, row_height = {}, {}
    for row in ROWS:
        in_row = [b for b in every_box if b.row == row]
        if not in_row:
            continue
        y += ROW_GAP
        row_top[row], row_height[row] = y, max([b.height for b in in_row] + [_stage_min(row)])
        for b in in_row:  # centred in their row so that side arrows stay horizontal
            b.y = y + (row_height[row] - b.height) / 2
        y += row_height[row]
    notes = footnotes(prisma, meta)
    footnote = None
    if notes:
        footnote = Box([line for note in notes for line in _wrap(note, width - 2 * MARGIN)],
                       MARGIN, width - 2 * MARGIN, 5, fill="none", border=False)
        footnote.y = y + ROW_GAP / 2
        y = footnote.bottom
    height = y + MARGIN

    screening = [r for r in (1, 2, 3) if r in row_top]
    last = max(r for r in (4, 5) if r in row_top)
    stages = [("Identification", row_top[0], row_top[0] + row_height[0]),
              ("Screening", row_top[screening[0]], row_top[screening[-1]] + row_height[screening[-1]]),
              ("Included", row_top[4], row_top[last] + row_height[last])]
    return {"width": width, "height": height, "columns": columns, "titles": titles,
            "included": included, "meta": in_meta, "stages": stages, "footnote": footnote}


def _draw_box(ax, box: Box):
    from matplotlib.patches import FancyBboxPatch

    if box.border:
        ax.add_patch(FancyBboxPatch((box.x, box.y), box.width, box.height,
                                    boxstyle="round,pad=0,rounding_size=0.05", linewidth=0.8,
                                    edgecolor="black", facecolor=box.fill))
    if box.centre:
        return ax.text(box.x + box.width / 2, box.y + PAD, "\n".join(box.lines), ha="center",
                       va="top", fontsize=SIZE, weight="bold" if box.bold else "normal",
                       multialignment="center", linespacing=1.2)
    return ax.text(box.x + PAD, box.y + PAD, "\n".join(box.lines), ha="left", va="top",
                   fontsize=SIZE, weight="bold" if box.bold else "normal", linespacing=1.2)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color="black", lw=0.8, shrinkA=0, shrinkB=0,
                                mutation_scale=9))


def _draw_arrows(ax, boxes: dict[str, Box], included: Box, elbow: bool):
    chain = [role for role in ("identified", "screened", "sought", "assessed") if role in boxes]
    for upper, lower in pairwise(chain):
        a, b = boxes[upper], boxes[lower]
        _arrow(ax, (a.x + a.width / 2, a.bottom), (b.x + b.width / 2, b.y))
    for main, side in (("identified", "removed"), ("screened", "excluded"),
                       ("sought", "not_retrieved"), ("assessed", "reports_excluded")):
        if side in boxes and main in boxes:
            a, b = boxes[main], boxes[side]
            _arrow(ax, (a.x + a.width, a.mid_y), (b.x, a.mid_y))
    last = boxes["assessed"]
    centre_x = last.x + last.width / 2
    if not elbow:
        _arrow(ax, (centre_x, last.bottom), (centre_x, included.y))
        return
    ax.plot([centre_x, centre_x], [last.bottom, included.mid_y], color="black", lw=0.8,
            solid_capstyle="butt")
    _arrow(ax, (centre_x, included.mid_y), (included.x + included.width, included.mid_y))


def build_figure(prisma: dict, meta: dict | None = None):
    """Draw the diagram (with the meta-analysis box when `meta`, metasr.screening.prisma's
    meta_analysis_counts, is given); returns (figure, {"boxes": [(Box, Text)], "stages":
    [((top, bottom), Text)], "layout": layout}) so that tests can measure what was drawn."""
    from matplotlib.patches import FancyBboxPatch

    plan = layout(prisma, meta)
    width, height = plan["width"], plan["height"]
    drawn, stage_labels = [], []
    with style():
        fig = new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")
        for label, top, bottom in plan["stages"]:
            ax.add_patch(FancyBboxPatch((MARGIN, top), STAGE_W, bottom - top,
                                        boxstyle="round,pad=0,rounding_size=0.05", linewidth=0.8,
                                        edgecolor="black", facecolor=STAGE_FILL))
            stage_labels.append(((top, bottom), ax.text(
                MARGIN + STAGE_W / 2, (top + bottom) / 2, label, rotation=90, ha="center",
                va="center", fontsize=LABEL_SIZE, weight="bold")))
        for box in plan["titles"].values():
            drawn.append((box, _draw_box(ax, box)))
        for boxes in plan["columns"].values():
            for box in boxes.values():
                drawn.append((box, _draw_box(ax, box)))
        drawn.append((plan["included"], _draw_box(ax, plan["included"])))
        if plan["meta"]:
            drawn.append((plan["meta"], _draw_box(ax, plan["meta"])))
            top, bottom = plan["included"], plan["meta"]
            _arrow(ax, (top.x + top.width / 2, top.bottom), (bottom.x + bottom.width / 2, bottom.y))
        if plan["footnote"]:
            drawn.append((plan["footnote"], _draw_box(ax, plan["footnote"])))
        for name, boxes in plan["columns"].items():
            _draw_arrows(ax, boxes, plan["included"], elbow=name != "databases")
    return fig, {"boxes": drawn, "stages": stage_labels, "layout": plan}


def read_prisma(path) -> dict:
    path = Path(path)
    try:
        prisma = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Problem("PRISMA counts not found", file=str(path), rule="file exists",
                                 hint="run the screening step first (metasr screening run)")) from None
    except json.JSONDecodeError as err:
        raise InputError(Problem(f"not valid JSON: {err.msg}", file=str(path), row=err.lineno,
                                 rule="json")) from None
    if not isinstance(prisma, dict) or "databases" not in (prisma.get("columns") or {}) \
            or "included" not in prisma:
        raise InputError(Problem("not a metasr prisma.json (no columns.databases / included)",
                                 file=str(path), rule="prisma.json contract",
                                 hint="produce it with metasr.screening (metasr screening run)"))
    return prisma


def draw_prisma(prisma_json_path, svg_path, png_path, pooled_jsons=None) -> None:
    """Read prisma.json (and the pooled results, for the meta-analysis box) and write the PRISMA
    2020 flow diagram as SVG and PNG (atomically; the SVG is byte-identical across reruns).
    The meta-analysis box must be a subset of the included box, or nothing is written."""
    from metasr.errors import raise_if_errors
    from metasr.screening.prisma import meta_analysis_counts, meta_analysis_problems

    prisma = read_prisma(prisma_json_path)
    meta = None
    if pooled_jsons is not None:
        pooled = [json.loads(Path(p).read_text(encoding="utf-8")) for p in pooled_jsons]
        meta = meta_analysis_counts(prisma, pooled)
        meta["warnings"] = [w.message for w in raise_if_errors(meta_analysis_problems(prisma, meta))]
    fig, _ = build_figure(prisma, meta)
    save_figure(fig, svg_path, png_path)
