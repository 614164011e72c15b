"""Double extraction: compare a second extractor's sheets with the first, cell by cell.

The second extractor's directory has the same layout as data/extraction (studies.csv,
outcomes/{outcome}.csv, narrative.csv). Rows are matched by their key, the sheet's key columns
joined by `|` (`key_columns`). Numbers agree when equal to 1e-9
(relative), text when equal after trimming, case-folding and collapsing spaces; `notes` is not
compared. A discrepancy is resolved when `{second_extractor_dir}/resolutions.csv` lists it
(columns: sheet, key, column, resolution); a resolution that matches no discrepancy is reported
(a mistyped key would otherwise leave its discrepancy unresolved without a word). Pooling refuses
unresolved discrepancies unless config `extraction.allow_discrepancies` is true.

Agreement statistics: per sheet and overall, the share of compared cells that agree, and Cohen's
kappa for the categorical columns (reported_form, direction, effect_measure, rob_*).
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from metasr.config import SECOND_EXTRACTOR_RESOLUTIONS, second_extractor_sheets
from metasr.errors import Problem, printable
from metasr.extraction.sheets import NARRATIVE_KEY, OUTCOME_KEY, STUDY_KEY, read_sheet
from metasr.io import read_csv
from metasr.rob import ALL_COLUMNS

IGNORED = {"notes"}
CATEGORICAL = {"reported_form", "reported_form2", "direction", "effect_measure", "rob_tool", *ALL_COLUMNS}


@dataclass(frozen=True)
class Discrepancy:
    sheet: str
    key: str
    column: str
    first: str
    second: str
    row_first: int | None
    row_second: int | None


def same(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    except ValueError:
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def key_columns(sheet_name: str) -> tuple[str, ...]:
    if sheet_name == "studies.csv":
        return STUDY_KEY
    if sheet_name == "narrative.csv":
        return NARRATIVE_KEY
    return OUTCOME_KEY


def compare_sheets(first_path: Path, second_path: Path, sheet_name: str):
    """(discrepancies, compared cell pairs per column) between two versions of one sheet."""
    first, second = read_sheet(first_path), read_sheet(second_path)
    keys = key_columns(sheet_name)

    def index(sheet):
        rows = {}
        for rownum, row in sheet.numbered():
            if any(row.values()):
                rows.setdefault("|".join(row.get(k, "") for k in keys), (rownum, row))
        return rows

    a, b = index(first), index(second)
    columns = [c for c in dict.fromkeys(first.header + second.header) if c not in IGNORED and c not in keys]
    found: list[Discrepancy] = []
    pairs: dict[str, list[tuple[str, str]]] = {c: [] for c in columns}
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            found.append(Discrepancy(sheet_name, key, "(row)", "present" if key in a else "missing",
                                     "present" if key in b else "missing",
                                     a[key][0] if key in a else None, b[key][0] if key in b else None))
            continue
        (ra, rowa), (rb, rowb) = a[key], b[key]
        for c in columns:
            va, vb = rowa.get(c, ""), rowb.get(c, "")
            pairs[c].append((va, vb))
            if not same(va, vb):
                found.append(Discrepancy(sheet_name, key, c, va, vb, ra, rb))
    return found, pairs


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' categorical codes; None when undefined (no pairs, or one code)."""
    n = len(pairs)
    if n == 0:
        return None
    norm = [(" ".join(x.split()).casefold(), " ".join(y.split()).casefold()) for x, y in pairs]
    observed = sum(x == y for x, y in norm) / n
    ca, cb = Counter(x for x, _ in norm), Counter(y for _, y in norm)
    expected = sum(ca[k] * cb[k] for k in ca) / n ** 2
    return None if expected == 1 else (observed - expected) / (1 - expected)


def sheet_pairs(config: dict, root: Path) -> list[tuple[str, Path, Path]]:
    """(sheet name, the first extractor's file, the second extractor's) of every sheet compared."""
    second = root / config["extraction"]["second_extractor_dir"]
    return [(name, root / first, second / name) for first, name in second_extractor_sheets(config)]


def load_resolutions(second_dir: Path) -> dict[tuple[str, str, str], int]:
    """{(sheet, key, column): its row in resolutions.csv} of every row that gives a resolution."""
    path = second_dir / SECOND_EXTRACTOR_RESOLUTIONS
    if not path.exists():
        return {}
    _, rows = read_csv(path, strip=True)
    return {(r.get("sheet", ""), r.get("key", ""), r.get("column", "")): number
            for number, r in enumerate(rows, start=2) if r.get("resolution")}


def unmatched_resolutions(second_dir: Path, resolved: dict, found: list[dict]) -> list[Problem]:
    """Warnings for resolutions.csv rows that match no discrepancy found: a mistyped sheet, key or
    column (its discrepancy stays unresolved), or a discrepancy since corrected in the sheets."""
    matched = {(d["sheet"], d["key"], d["column"]) for d in found}
    file = str(second_dir / SECOND_EXTRACTOR_RESOLUTIONS)
    return [_unmatched(file, number, entry, found) for entry, number in resolved.items() if entry not in matched]


def _unmatched(file: str, row: int, entry: tuple[str, str, str], found: list[dict]) -> Problem:
    sheet, key, column = entry
    keys = sorted({d["key"] for d in found if d["sheet"] == sheet})
    nearest = difflib.get_close_matches(key, keys, n=3, cutoff=0.5)
    form = "|".join(key_columns(sheet))
    hint = (f"a key of {sheet} is its {form} joined by '|', empty fields kept, exactly as `metasr extraction "
            "discrepancies` prints it; column is the cell's column, (row) or (sheet)")
    if nearest:
        hint += "; the nearest keys with a discrepancy: " + ", ".join(nearest)
    elif not any(d["sheet"] == sheet for d in found):
        hint += f"; no discrepancy is left in {sheet or 'an unnamed sheet'} (if it was corrected, delete this row)"
    return Problem(message=f"this resolution matches no discrepancy (sheet {sheet!r}, key {key!r}, column "
                           f"{column!r})", file=file, row=row, value=key, rule="resolution-matches",
                   severity="warning", hint=hint)


def sheet_discrepancies(name: str, first: Path, second: Path, resolved: dict) -> tuple[list[dict], dict]:
    """(every discrepancy of one sheet pair, each with `resolved`; the cell pairs compared). A sheet
    that only one extraction has is one discrepancy (column "(sheet)"), resolvable like any other."""
    if not first.exists() or not second.exists():
        if first.exists() == second.exists():
            return [], {}
        d = Discrepancy(name, "", "(sheet)", str(first.exists()), str(second.exists()), None, None)
        return [{**asdict(d), "resolved": (name, "", "(sheet)") in resolved}], {}
    found, pairs = compare_sheets(first, second, name)
    return [{**asdict(d), "resolved": (d.sheet, d.key, d.column) in resolved} for d in found], pairs


def discrepancy_report(config: dict, root: Path) -> dict:
    """Cell-by-cell discrepancies and agreement statistics for every sheet, and the resolutions
    that match none of them (`unmatched_resolutions`, as problems' dicts)."""
    root = Path(root)
    second_dir = root / (config.get("extraction") or {})["second_extractor_dir"]
    resolved = load_resolutions(second_dir)
    sheets: list[dict] = []
    discrepancies: list[dict] = []
    total_cells = total_agree = 0
    for name, first, second in sheet_pairs(config, root):
        found, pairs = sheet_discrepancies(name, first, second, resolved)
        discrepancies += found
        if not first.exists() or not second.exists():
            sheets.append({"sheet": name, "status": "missing in " +
                                     ("first" if not first.exists() else "second") + " extraction"})
            continue
        cells = sum(len(p) for p in pairs.values())
        agree = sum(same(x, y) for p in pairs.values() for x, y in p)
        total_cells, total_agree = total_cells + cells, total_agree + agree
        kappas = {c: cohen_kappa(p) for c, p in pairs.items() if c in CATEGORICAL and p}
        sheets.append({"sheet": name, "cells_compared": cells, "cells_agreeing": agree,
                       "agreement": agree / cells if cells else None,
                       "rows_only_in_one": sum(d["column"] == "(row)" for d in found),
                       "kappa": {c: k for c, k in kappas.items()}})
    overall = {"cells_compared": total_cells, "cells_agreeing": total_agree,
               "agreement": total_agree / total_cells if total_cells else None,
               "discrepancies": len(discrepancies),
               "unresolved": sum(not d["resolved"] for d in discrepancies)}
    unmatched = [p.to_dict() for p in unmatched_resolutions(second_dir, resolved, discrepancies)]
    return {"sheets": sheets, "discrepancies": discrepancies, "overall": overall, "unmatched_resolutions": unmatched}


def _problem(d: dict, file: str, allow: bool) -> Problem:
    where = "first" if d["row_first"] is not None else "second"
    if d["column"] == "(sheet)":
        only = "first" if d["first"] == "True" else "second"
        return Problem(message=f"{d['sheet']} is in the {only} extraction only", file=file, rule="discrepancy",
                       severity="warning" if allow else "error",
                       hint="add the other extractor's sheet, or record the decision in resolutions.csv of the "
                            f"second extractor's directory (sheet {d['sheet']}, key empty, column (sheet))")
    return Problem(message=f"extractors disagree on '{d['column']}' for {d['key'] or 'the sheet'}: "
                           f"{d['first']!r} (first) vs {d['second']!r} (second)",
                   file=file, row=d["row_first"] if d["row_first"] is not None else d["row_second"],
                   column=None if d["column"].startswith("(") else d["column"], value=d["first"],
                   rule="discrepancy", severity="warning" if allow else "error",
                   hint="correct the sheet, or record the decision in resolutions.csv of the second "
                        f"extractor's directory (sheet, key, column, resolution); row is in the {where} extraction")


def discrepancy_problems(config: dict, root: Path, only: str | None = None) -> list[Problem]:
    """Unresolved discrepancies as problems (warnings with extraction.allow_discrepancies): every
    sheet of the review, or the one sheet named `only` ("outcomes/<id>.csv"). The one check both
    validation and an outcome's extraction step run."""
    ext = config.get("extraction") or {}
    allow = bool(ext.get("allow_discrepancies"))
    resolved = load_resolutions(Path(root) / ext["second_extractor_dir"])
    problems, every = [], []
    for name, first, second in sheet_pairs(config, Path(root)):
        if only is None or name == only:
            found, _ = sheet_discrepancies(name, first, second, resolved)
            every += found
            problems += [_problem(d, str(first), allow) for d in found if not d["resolved"]]
    mine = {entry: row for entry, row in resolved.items() if only is None or entry[0] == only}
    return problems + unmatched_resolutions(Path(root) / ext["second_extractor_dir"], mine, every)


def agreement_percent(agreeing: int, compared: int) -> str:
    """The share of cells that agree, in per cent: one decimal, more when one decimal would round a
    disagreement away (10518 of 10521 is 99.97%, never 100.0%) or the only agreeing cells to 0.0%."""
    if not compared:
        return "n/a"
    share = 100 * agreeing / compared
    decimals = 1
    while decimals < 6 and ((agreeing < compared and round(share, decimals) >= 100)
                            or (0 < agreeing and round(share, decimals) <= 0)):
        decimals += 1
    return f"{share:.{decimals}f}%"


def format_report(report: dict) -> str:
    lines = ["Double extraction: agreement"]
    for s in report["sheets"]:
        if "status" in s:
            lines.append(f"  {s['sheet']}: {s['status']}")
            continue
        agreement = agreement_percent(s["cells_agreeing"], s["cells_compared"])
        kappas = ", ".join(f"{c} {k:.2f}" for c, k in s["kappa"].items() if k is not None)
        lines.append(f"  {s['sheet']}: {s['cells_agreeing']}/{s['cells_compared']} cells agree ({agreement})"
                     + (f"; rows in one extraction only: {s['rows_only_in_one']}" if s["rows_only_in_one"] else "")
                     + (f"; kappa: {kappas}" if kappas else ""))
    o = report["overall"]
    overall = agreement_percent(o["cells_agreeing"], o["cells_compared"])
    lines.append(f"Overall: {o['cells_agreeing']}/{o['cells_compared']} cells agree ({overall}); "
                 f"{o['discrepancies']} discrepancies, {o['unresolved']} unresolved")
    for d in report["discrepancies"]:
        flag = "resolved" if d["resolved"] else "UNRESOLVED"
        if d["column"] == "(sheet)":
            only = "first" if d["first"] == "True" else "second"
            lines.append(f"  [{flag}] {d['sheet']} (sheet): sheet present in the {only} extraction only")
        else:
            lines.append(f"  [{flag}] {d['sheet']} {d['key']} {d['column']}: {d['first']!r} vs {d['second']!r}")
    text = "\n".join(printable(line) for line in lines)  # sheet names, keys and cells are the user's text
    return "\n".join([text, *(Problem(**p).format() for p in report.get("unmatched_resolutions", []))])
