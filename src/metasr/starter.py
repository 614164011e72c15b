"""Starter reviews: `metasr init FOLDER` writes a review folder that runs as it is.

Two ways to start:
- `init_review`: a commented config and every sheet with its header and one EXAMPLE row (with or
  without a search stage), for a review that starts from scratch;
- `init_from_table`: a review built from a table of study-level data the reviewer already has
  (metafor-style columns, one row per effect size: `metasr.table_layouts`), for a re-analysis or an
  update. Each row becomes an outcome-sheet row in the form its columns give; its `derivation` says
  where it came from. A study with several effect sizes in an outcome gets the outcome's
  `dependence` settings, which the run needs for them.

Sheet headers come from the modules that read the sheets, so a starter can never fall behind them.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from metasr.dependence import DEFAULT_RHO, METHODS
from metasr.errors import InputError, Problem
from metasr.extraction.sheets import (
    NARRATIVE_COLUMNS,
    OUTCOME_COLUMNS,
    OUTCOME_KEY,
    OUTCOME_SHEET_COLUMNS,
    SINGLE_OUTCOME_COLUMNS,
    STUDY_COLUMNS,
    format_cell,
)
from metasr.folder import CONFIG_NAMES
from metasr.io import csv_text, read_csv
from metasr.level import Z
from metasr.measures import FAMILIES, accepts_reported, get, ids, in_family, is_ratio, known
from metasr.resources import RESOURCES
from metasr.stats.inference import TESTS
from metasr.table_layouts import (
    ROW_COLUMNS,
    STUDY_COLUMN_NAMES,
    STUDY_DESCRIPTOR_COLUMNS,
    TABLE_FORMS,
    accepted_columns,
    effect_columns,
    layouts_text,
)

STARTER = RESOURCES / "starter"
EXAMPLE_STUDY = "EXAMPLE1"
EXAMPLE_OUTCOME = "example_outcome"
DECISION_COLUMNS = ["doi", "pmid", "title", "year", "decision", "reason", "notes"]
FULL_TEXT_COLUMNS = DECISION_COLUMNS[:-1] + ["study_id", "notes"]
EXAMPLE_TITLE = "EXAMPLE record: replace this file with the export of your database search"


def _render(name: str, **context) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(STARTER)), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(**context)


def _csv_text(columns: list[str], rows: list[dict]) -> str:
    unknown = sorted({key for row in rows for key in row} - set(columns))
    if unknown:  # a programming error: a starter row names a column its sheet does not have
        raise ValueError(f"columns not in the sheet: {unknown}")
    return csv_text(columns, [{c: format_cell(row.get(c)) for c in columns} for row in rows])


def _folder_hint(folder: Path) -> str:
    """The folder as `metasr run` takes it from the folder that holds it: its name, not the path as
    typed to `metasr init` (`../rev` is wrong from anywhere else)."""
    import shlex

    return shlex.quote(folder.absolute().name)


def _or_list(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)


def _review_id(folder: Path) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.absolute().name).strip("-.")
    return text or "review"


def _outcome_yaml(outcomes: dict[str, dict]) -> str:
    lines = []
    for oid, o in outcomes.items():
        lines.append(f"  {oid}:")
        for key in ("label", "measure", "unit", "higher_is"):
            if o.get(key) is not None:
                value = o[key]
                lines.append(f"    {key}: {_yaml_scalar(value)}")
        if o.get("dependence"):
            lines += _dependence_yaml(o["dependence"])
        if o.get("subgroup"):
            lines.append(f"    subgroup: {_yaml_scalar(o['subgroup'])}  # a column of this outcome's sheet")
        if o.get("meta_regression"):
            terms = ", ".join(_yaml_scalar(m) for m in o["meta_regression"]["moderators"])
            lines += ["    meta_regression:  # columns of this outcome's sheet", f"      moderators: [{terms}]"]
    return "\n".join(lines)


def _dependence_yaml(dependence: dict) -> list[str]:
    comment = ("Some studies give this outcome several effect sizes: the run needs to know how to pool them. "
               f"Choose the method ({', '.join(METHODS)}) and rho, the assumed correlation of a study's sampling "
               "errors (0 when its effect sizes come from different participants); docs/formats.md, "
               "outcomes.<id>.dependence.")
    lines = [f"    # {line}" for line in textwrap.wrap(comment, 94, break_on_hyphens=False)] + ["    dependence:"]
    return lines + [f"      {key}: {value if isinstance(value, float) else _yaml_scalar(value)}"
                    for key, value in dependence.items()]


def measures_comment() -> str:
    """The config's list of measures, by the data a study gives (from the measure registry)."""
    groups = "; ".join(f"{', '.join(in_family(family))} ({family})" for family in FAMILIES
                       if family != "generic" and in_family(family))
    text = (f"measure: {groups}; {', '.join(in_family('generic'))} (generic: an effect with its variance, "
            "SE or CI). higher_is: which direction is worse for patients (for the figures).")
    return "\n".join(f"# {line}" for line in textwrap.wrap(text, 98, break_on_hyphens=False))


def _yaml_scalar(value) -> str:
    """A YAML scalar that reads back as the same string (quoted unless plainly safe)."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _()/.-]*", text) and text.lower() not in ("yes", "no", "true",
                                                                                     "false", "null", "on", "off"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_empty(folder: Path, force: bool) -> None:
    existing = [name for name in CONFIG_NAMES if (folder / name).exists()]
    if existing and not force:
        raise InputError(Problem(message=f"{folder} already holds a review ({existing[0]})", file=str(folder),
                                 rule="new-folder",
                                 hint="choose a new folder; --force only adds the starter files the folder lacks "
                                      "and never changes an existing file"))
    if folder.exists() and not folder.is_dir():
        raise InputError(Problem(message=f"{folder} is a file, not a folder", file=str(folder), rule="new-folder",
                                 hint="choose a folder name"))


def _context(folder: Path, title: str, outcomes: dict[str, dict], with_search: bool,
             from_csv: str | None = None) -> dict[str, Any]:
    """What the starter's config.yaml and README.md templates fill in."""
    return dict(title=title, review_id=_review_id(folder), folder_hint=_folder_hint(folder), tests=_or_list(TESTS),
                with_search=with_search, from_csv=from_csv, outcomes_yaml=_outcome_yaml(outcomes),
                measures_comment=measures_comment())


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _write_new(folder: Path, files: dict[str, str]) -> tuple[list[Path], list[Problem]]:
    """Write the files `folder` does not have yet; an existing file is the user's data (a filled
    review under --force) and is never overwritten: the note lists the files kept."""
    kept = [rel for rel in files if (folder / rel).exists()]
    written = _write(folder, {rel: text for rel, text in files.items() if rel not in kept})
    if not kept:
        return written, []
    return written, [Problem(
        message=f"{len(kept)} file(s) already there were kept as they are: {', '.join(kept)}", file=str(folder),
        rule="keep-existing", severity="warning",
        hint="--force only adds the files the folder lacks; to start a review afresh, choose a new folder")]


def _example_export() -> str:
    """One RIS record, clearly an example, that the starter's screening decisions include."""
    return "\n".join([
        "TY  - JOUR", f"TI  - {EXAMPLE_TITLE}", "AU  - Example, A.", "PY  - 2024",
        "JO  - EXAMPLE journal", "AB  - EXAMPLE abstract. This record only shows the format.", "ER  - ", "",
    ])


def _example_sheets(with_search: bool) -> dict[str, str]:
    study = {"study_id": EXAMPLE_STUDY, "record_id": "EXAMPLE-R1", "label": "EXAMPLE study (replace me)",
             "year": 2024, "design": "EXAMPLE: randomised controlled trial", "n_group1": 30, "n_group2": 30,
             "notes": "EXAMPLE row: replace it with your first included study"}
    outcome = {"study_id": EXAMPLE_STUDY, "comparison": "experimental vs control", "timepoint": "end of treatment",
               "reported_form": "mean_sd", "n1": 30, "mean1": 12.4, "sd1": 3.1, "n2": 30, "mean2": 10.2,
               "sd2": 2.9, "unit": "points", "record_id": "EXAMPLE-R1", "source_location": "EXAMPLE: Table 2",
               "notes": "EXAMPLE numbers, not data: replace this row"}
    narrative = {"study_id": EXAMPLE_STUDY, "outcome": "quality of life", "comparison": "experimental vs control",
                 "finding": "EXAMPLE: reported as 'no difference' without numbers", "direction": "no_difference",
                 "record_id": "EXAMPLE-R1", "source_location": "EXAMPLE: Results, paragraph 3",
                 "notes": "EXAMPLE row: replace or delete it"}
    files = {
        "data/extraction/studies.csv": _csv_text(STUDY_COLUMNS, [study]),
        f"data/extraction/outcomes/{EXAMPLE_OUTCOME}.csv": _csv_text(OUTCOME_SHEET_COLUMNS, [outcome]),
        "data/extraction/narrative.csv": _csv_text(NARRATIVE_COLUMNS, [narrative]),
    }
    if with_search:
        decision = {"title": EXAMPLE_TITLE, "year": 2024, "decision": "include",
                    "notes": "EXAMPLE decision: replace with yours"}
        files.update({
            "data/search/example_database.ris": _example_export(),
            "data/screening/title_abstract.csv": _csv_text(DECISION_COLUMNS, [decision]),
            "data/screening/full_text.csv": _csv_text(FULL_TEXT_COLUMNS, [{**decision, "study_id": EXAMPLE_STUDY}]),
        })
    return files


def init_review(folder: str | Path, with_search: bool = True,
                force: bool = False) -> tuple[list[Path], list[Problem]]:
    """Write a starter review (EXAMPLE rows) into `folder`; return the files written and a note
    of the existing files kept (with `force`, which writes only the files the folder lacks)."""
    folder = Path(folder)
    _check_empty(folder, force)
    outcomes = {EXAMPLE_OUTCOME: {"label": "EXAMPLE outcome (replace me)", "measure": "SMD",
                                  "unit": "points", "higher_is": "worse"}}
    context = _context(folder, "EXAMPLE review (replace this title)", outcomes, with_search=with_search)
    files = {"config.yaml": _render("config.yaml.j2", **context), "README.md": _render("README.md.j2", **context),
             **_example_sheets(with_search)}
    return _write_new(folder, files)


# ---------------------------------------------------------------------------------------------
# Starting from a table of study-level data (the columns it may have: metasr.table_layouts)


@dataclass
class TableImport:
    """What a study-level table gives: studies, one sheet of rows per outcome, the studies that give
    an outcome several effect sizes, and problems (warnings: what the import decided for the user)."""

    studies: dict[str, dict] = field(default_factory=dict)
    rows: dict[str, list[dict]] = field(default_factory=dict)
    descriptors: dict[int, dict[str, str]] = field(default_factory=dict)  # table row -> its study's descriptors
    dependent: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    outcome_names: dict[str, str] = field(default_factory=dict)  # outcome id -> its name as the table writes it


def _slug(text: str, prefix: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"{prefix}_{slug}".strip("_")
    return slug


def _outcome_id(result: TableImport, name: str, file: str, line: int) -> str:
    """The id of the outcome the table names `name` (a new one at its first row). Names are told
    apart as written: `Pain ≥50% relief` and `Pain <50% relief` share a slug but are two outcomes,
    so the later one gets `_2` (as study ids do), and a warning says which ids the names became."""
    for oid, known_name in result.outcome_names.items():
        if known_name == name:
            return oid
    base = _slug(name, "outcome")
    oid, n = base, 2
    while oid in result.outcome_names:
        oid, n = f"{base}_{n}", n + 1
    if oid != base:
        result.problems.append(Problem(
            message=f"the outcomes '{result.outcome_names[base]}' and '{name}' are imported as two outcomes, "
                    f"{base} and {oid}", file=file, row=line, column="outcome", value=name, rule="outcome-id",
            severity="warning", hint="if they are one outcome, write its name the same way on every row"))
    result.outcome_names[oid] = name
    return oid


def _number(row: dict, column: str) -> float | None:
    text = (row.get(column) or "").strip()
    if text == "" or text.lower() in ("na", "nan"):
        return None
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value


def _form_of(row: dict, columns: set[str]):
    for form, mapping, _ in TABLE_FORMS:
        if set(mapping) <= columns and all((row.get(c) or "").strip() for c in mapping):
            return form, mapping
    return None, None


# The outcome sheet's columns of counts (whole numbers in the sheet's schema)
_COUNT_SHEET_COLUMNS = ("n", "n1", "n2", "events", "events1", "events2")


def _sheet_row(row: dict, form: str, mapping: dict, measure: str, file: str, line: int,
               problems: list[Problem]) -> dict | None:
    values = {}
    for column in mapping:
        value = _number(row, column)
        if value is None or not math.isfinite(value):
            problems.append(Problem(message=f"'{column}' is not a finite number", file=file, row=line, column=column,
                                    value=row.get(column), rule="numeric", hint="write a plain number such as 12.5"))
            return None
        if (column in ("bi", "di") or mapping[column] in _COUNT_SHEET_COLUMNS) and not value.is_integer():
            # checked here, in the table's own column: the sheet's n1 is ai + bi, a number not in the table
            problems.append(Problem(message=f"'{column}' is a count but this cell is not a whole number", file=file,
                                    row=line, column=column, value=row.get(column), rule="whole number",
                                    hint="write the whole number (no decimals; a point between the thousands, as in "
                                         "13.536 for 13536, is read as a decimal point)"))
            return None
        values[column] = value
    out: dict[str, Any] = {"reported_form": form}
    if "bi" in mapping:  # ai, bi, ci, di -> events and group sizes
        values["n1i"], values["n2i"] = values["ai"] + values["bi"], values["ci"] + values["di"]
        mapping = {"ai": "events1", "n1i": "n1", "ci": "events2", "n2i": "n2"}
    if form.startswith("effect"):
        if not accepts_reported(measure, measure) and get(measure).family != "generic":
            problems.append(Problem(
                message=f"yi cannot be imported as a {measure}", file=file, row=line, column="yi",
                rule="effect-columns",
                hint=f"give {measure}'s own columns ({', '.join(get(measure).inputs[0])}), or import the effects "
                     "with --measure GEN"))
            return None
        return _effect_row(values, form, measure, out)
    for column, sheet_column in mapping.items():
        value = values[column]
        out[sheet_column] = int(value) if sheet_column in _COUNT_SHEET_COLUMNS and \
            float(value).is_integer() else value
    return out


def _effect_row(values: dict, form: str, measure: str, out: dict) -> dict:
    """An effect row; a ratio's log-scale yi (and its SE) become the ratio and its 95% CI."""
    effect_measure = "other" if get(measure).family == "generic" else measure
    yi = values["yi"]
    if form == "effect_ci":
        lb, ub = values["ci_lb"], values["ci_ub"]
        if not is_ratio(measure):
            return {**out, "effect": yi, "effect_measure": effect_measure, "effect_ci_lb": lb, "effect_ci_ub": ub}
    else:  # effect_se: from sei or vi
        se = values["sei"] if "sei" in values else math.sqrt(values["vi"])
        if not is_ratio(measure):
            return {**out, "reported_form": "effect_se", "effect": yi, "effect_measure": effect_measure,
                    "effect_se": se}
        lb, ub = yi - Z * se, yi + Z * se
    return {**out, "reported_form": "effect_ci", "effect": math.exp(yi), "effect_measure": measure,
            "effect_ci_lb": math.exp(lb), "effect_ci_ub": math.exp(ub)}


def _single_group(measure: str) -> bool:
    return FAMILIES[get(measure).family].groups == 1


def sheet_row_columns(measure: str) -> tuple[str, ...]:
    """The outcome-sheet columns a table may carry for a measure (a single group shares no group)."""
    return tuple(c for c in ROW_COLUMNS if not (_single_group(measure) and c == "shared_group"))


# Columns of a --from-csv table that --subgroup or --moderators cannot name: the study, the outcome
# and the effect's own numbers.
NOT_CHARACTERISTICS = frozenset((*STUDY_COLUMN_NAMES, "outcome", *effect_columns()))


def _unknown_columns(header: list[str], measure: str, file: str, characteristics: Sequence[str] = ()) -> list[Problem]:
    accepted = accepted_columns(sheet_row_columns(measure)) + tuple(characteristics)
    problems = [Problem(message=f"column '{column}' is not one that --from-csv imports", file=file, row=1,
                        column=column, value=column, rule="known-column",
                        hint=f"rename it to one of: {', '.join(accepted)}; delete it; or, if it describes each "
                             "effect size (a moderator or subgroup), name it with --moderators or --subgroup")
                for column in header if column not in accepted]
    problems += [Problem(message=f"column '{column}' (--subgroup or --moderators) is not in the table",
                         file=file, row=1, column=column, value=column, rule="required-column",
                         hint="name a column of the table's header")
                 for column in characteristics if column not in header]
    return problems + [Problem(message=f"column '{column}' is the table's own, not a characteristic of each effect "
                                      "size (--subgroup, --moderators)", file=file, row=1, column=column, value=column,
                               rule="characteristic", hint="name a column that describes each effect size")
                       for column in characteristics if column in NOT_CHARACTERISTICS]


def read_study_table(path: str | Path, measure: str, characteristics: Sequence[str] = (),
                     subgroup: str | None = None) -> TableImport:
    """Studies and outcome-sheet rows from a table of study-level data (metasr.table_layouts).

    The study column names each row's study; rows naming one study are its effect sizes
    (`_name_studies` says when their years make them different studies). `characteristics` are
    further columns copied to the outcome sheets (each effect size's subgroup or moderators); every
    row needs a value of `subgroup`."""
    path = Path(path)
    if not known(measure):
        raise InputError(Problem(message=f"unknown measure {measure!r}", value=measure, rule="measure",
                                 hint=f"use one of {', '.join(ids())}"))
    header, table = read_csv(path, strip=True)  # (columns without a name, a spreadsheet's leftovers, left out)
    study_column = next((c for c in STUDY_COLUMN_NAMES if c in header), None)
    if study_column is None:
        raise InputError(Problem(message="no study column", file=str(path), row=1, rule="required-column",
                                 hint=f"name the study of each row in a column called one of: "
                                      f"{', '.join(STUDY_COLUMN_NAMES)}"))
    unknown = _unknown_columns(header, measure, str(path), characteristics)
    if unknown:
        raise InputError(unknown)
    result = TableImport()
    lines: dict[str, list[int]] = {}  # study key -> its rows, in file order
    years: dict[str, dict[str, list[int]]] = {}  # study key -> {year (or ''): its rows}
    for line, raw in enumerate(table, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if any(row.values()) and _import_row(row, line, study_column, set(header), measure, str(path), result,
                                             characteristics, subgroup):
            lines.setdefault(row[study_column], []).append(line)
            years.setdefault(row[study_column], {}).setdefault(row.get("year", ""), []).append(line)
    if not result.problems and not result.rows:
        result.problems.append(Problem(message="the table has no rows", file=str(path), rule="rows",
                                       hint="one row per study (and outcome)"))
    if [p for p in result.problems if p.severity == "error"]:
        raise InputError(result.problems)
    _name_studies(result, lines, years, str(path))
    result.problems += _study_descriptors(result, str(path), characteristics)
    result.problems += _indistinct_rows(result, str(path), characteristics)
    if [p for p in result.problems if p.severity == "error"]:
        raise InputError(result.problems)
    result.dependent = _dependent_studies(result)
    return result


def _import_row(row: dict, line: int, study_column: str, columns: set[str], measure: str, file: str,
                result: TableImport, characteristics: Sequence[str] = (), subgroup: str | None = None) -> bool:
    """Add one table row to its outcome's sheet (its study_id is the study key until
    `_name_studies`); False when the row has a problem."""
    label = row.get(study_column, "")
    if not label:
        result.problems.append(Problem(message="the study is not named", file=file, row=line, column=study_column,
                                       rule="required", hint="give every row its study"))
        return False
    form, mapping = _form_of(row, columns)
    if form is None:
        result.problems.append(Problem(
            message="no complete set of effect columns", file=file, row=line, rule="effect-columns",
            hint=f"give one of: {layouts_text()}"))
        return False
    sheet_row = _sheet_row(row, form, mapping, measure, file, line, result.problems)
    if sheet_row is None:
        return False
    if row.get("shared_group") and row["shared_group"] not in ("1", "2"):
        result.problems.append(Problem(message="shared_group must be 1 or 2 (or empty)", file=file, row=line,
                                       column="shared_group", value=row["shared_group"], rule="shared-group",
                                       hint="the group (1 or 2) this row shares with the study's other rows"))
        return False
    name = Path(file).name
    sheet_row.update({c: row[c] for c in (*sheet_row_columns(measure), *characteristics) if row.get(c)})
    if subgroup and not row.get(subgroup):  # every effect size of a subgroup analysis needs its subgroup
        result.problems.append(Problem(message=f"this effect size has no '{subgroup}' (--subgroup)", file=file,
                                       row=line, column=subgroup, rule="subgroup-value",
                                       hint=f"give every row its {subgroup}"))
        return False
    sheet_row.update(study_id=label, comparison=row.get("comparison") or "as in the table",
                     source_location=f"{name} row {line}",
                     derivation=f"imported from {name} row {line} ({', '.join(mapping)})")
    result.rows.setdefault(_outcome_id(result, row.get("outcome") or "", file, line), []).append(sheet_row)
    result.descriptors[line] = {c: row[c] for c in STUDY_DESCRIPTOR_COLUMNS if row.get(c)}
    return True


def _name_studies(result: TableImport, lines: dict[str, list[int]], years: dict[str, dict[str, list[int]]],
                  file: str) -> None:
    """The studies, in file order, and each row's study id.

    The study column names the study; its rows' years decide only when they disagree. If the
    table tells those rows apart as effect sizes of one study (es_id, comparison or timepoint),
    they are one study: splitting it by year would pool its effect sizes as separate studies
    (dat.konstantopoulos2011: one district's schools in 1994 and 1995). Its year in the studies
    sheet is the earliest (a study is dated by its first report; a later year on some rows is
    usually a later report or wave of it), and its notes keep every year. Rows that would be the
    same effect size of one study are, as in a citation, different studies of the same name
    (dat.bcg: Rosenthal et al 1960 and 1961 are two trials). Either way the import says so."""
    study_of_line: dict[int, str] = {}
    for key, rows in lines.items():
        given = years.get(key, {})
        if len([y for y in given if y]) < 2:
            year = next((y for y in given if y), "")
            study_of_line.update(dict.fromkeys(rows, _add_study(result, key, year, file, "")))
        elif _told_apart(result, key):
            study_of_line.update(dict.fromkeys(rows, _merge_years(result, key, given, rows[0], file)))
        else:
            for year in sorted(given, key=_year_order):
                study_of_line.update(dict.fromkeys(given[year], _add_study(result, key, year, file, "")))
            result.problems.append(Problem(
                message=f"study '{key}' has rows with different years ({_years_text(given)}) that are not told "
                        "apart as effect sizes of one study: imported as one study per year", file=file,
                row=rows[0], column="year", value=", ".join(given), rule="study-year", severity="warning",
                hint="if they are one study, give its rows one year, or es_id values saying which effect size "
                     "each row is"))
    for sheet_rows in result.rows.values():
        for row in sheet_rows:
            row["study_id"] = row["record_id"] = study_of_line[_row_line(row)]


def _study_descriptors(result: TableImport, file: str, characteristics: Sequence[str] = ()) -> list[Problem]:
    """Copy the table's study descriptors (design, country, ...) to each study's studies-sheet row;
    a study whose rows give two values is a problem, unless the column is also a characteristic of
    each effect size (--subgroup, --moderators), which the outcome sheets then carry alone."""
    given: dict[str, dict[str, dict[str, int]]] = {}  # study -> column -> value -> its first row
    for rows in result.rows.values():
        for row in rows:
            line = _row_line(row)
            for column, value in result.descriptors.get(line, {}).items():
                given.setdefault(row["study_id"], {}).setdefault(column, {}).setdefault(value, line)
    problems = []
    for sid, columns in given.items():
        for column, values in columns.items():
            if len(values) == 1:
                result.studies[sid][column] = next(iter(values))
            elif column not in characteristics:
                problems.append(Problem(
                    message=f"study '{sid}' has different {column} values, and the studies sheet holds one per "
                            "study", file=file, row=sorted(values.values())[1], column=column,
                    value=", ".join(values), rule="one-value-per-study",
                    hint=f"give the study's rows one {column}; or, if it describes each effect size, name the "
                         "column with --subgroup or --moderators"))
    return problems


def _told_apart(result: TableImport, key: str) -> bool:
    """Whether a study's rows are different effect sizes by the outcome sheet's key."""
    for rows in result.rows.values():
        seen = [tuple(str(r.get(c) or "") for c in OUTCOME_KEY) for r in rows if r["study_id"] == key]
        if len(seen) != len(set(seen)):
            return False
    return True


def _merge_years(result: TableImport, key: str, given: dict[str, list[int]], first: int, file: str) -> str:
    year = min((y for y in given if y), key=_year_order)
    listed = _years_text(given)
    result.problems.append(Problem(
        message=f"study '{key}' has rows with different years ({listed}): imported as one study of {year}, "
                "its rows as its effect sizes", file=file, row=first, column="year", value=", ".join(given),
        rule="study-year", severity="warning",
        hint="a study is dated by its earliest year; if its rows are different studies, give them different "
             "names in the study column"))
    return _add_study(result, key, year, file, f"; its rows give the years {listed}: the earliest is kept")


def _years_text(given: dict[str, list[int]]) -> str:
    return "; ".join(f"{year or 'no year'} in row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"
                     for year, rows in sorted(given.items(), key=lambda item: _year_order(item[0])))


def _add_study(result: TableImport, key: str, year: str, file: str, notes: str) -> str:
    shown = f"{key} {year}" if year and year not in key else key
    sid = _study_id(shown, result.studies)
    result.studies[sid] = {"study_id": sid, "record_id": sid, "label": shown,
                           "year": int(year) if year.isdigit() else None,
                           "notes": f"imported from {Path(file).name}{notes}"}
    return sid


def _year_order(year: str) -> tuple:
    return (0, int(year), "") if year.isdigit() else (1, 0, year)


# Latin letters that Unicode does not decompose into a base letter and a mark
_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss", "đ": "d",
                          "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i"})


def _ascii(text: str) -> str:
    """Latin letters without their accents (Müller -> Muller, Ødegård -> Odegard); other scripts stay."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _study_id(label: str, studies: dict) -> str:
    """A new valid study id from a study's label with its year (letters first): Latin letters lose
    their accents, other characters are left out (the label keeps them)."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "", _ascii(label).title().replace(" ", ""))
    if not base or not base[0].isalpha():
        base = f"S{base}"
    sid, n = base, 2
    while sid in studies:
        sid, n = f"{base}_{n}", n + 1
    return sid


def _row_line(row: dict) -> int:
    return int(row["source_location"].rsplit(" ", 1)[1])


def _indistinct_rows(result: TableImport, file: str, characteristics: Sequence[str] = ()) -> list[Problem]:
    """Rows of one study and outcome that the outcome sheet's key (and the effect sizes'
    `characteristics`) cannot tell apart."""
    problems = []
    columns = [*OUTCOME_KEY, *(c for c in characteristics if c not in OUTCOME_KEY)]
    for rows in result.rows.values():
        first: dict[tuple, int] = {}
        for row in rows:
            key = tuple(str(row.get(c) or "") for c in columns)
            line = _row_line(row)
            if key not in first:
                first[key] = line
                continue
            problems.append(Problem(
                message=f"this row and row {first[key]} are both study {row['study_id']} with nothing to tell them "
                        f"apart ({', '.join(c for c in columns if c != 'study_id')} are the same)",
                file=file, row=line, rule="distinct-rows",
                hint="add an es_id column saying which effect size of the study each row is (e.g. the school, "
                     "the measure), or comparison / timepoint columns; a study's rows with different es_id are "
                     "pooled as dependent effect sizes of one study"))
    return problems


def _dependent_studies(result: TableImport) -> dict[str, list[str]]:
    """{outcome: the studies that give it several effect sizes} (rows that differ only by subgroup
    are combined into one effect size, so they do not count)."""
    out = {}
    for oid, rows in result.rows.items():
        sizes: dict[str, set] = {}
        for row in rows:
            sizes.setdefault(row["study_id"], set()).add(tuple(str(row.get(c) or "") for c in OUTCOME_KEY
                                                                 if c != "subgroup"))
        several = sorted(sid for sid, keys in sizes.items() if len(keys) > 1)
        if several:
            out[oid] = several
    return out


def _dependence_note(config: Path, oid: str, studies: list[str]) -> Problem:
    return Problem(file=str(config),
        message=f"outcome '{oid}': {len(studies)} studies give several effect sizes ({', '.join(studies[:5])}"
                f"{', ...' if len(studies) > 5 else ''}); config.yaml pools them by the three-level model "
                f"(dependence method multilevel, rho {DEFAULT_RHO})",
        key=f"outcomes.{oid}.dependence", rule="dependence", severity="warning",
        hint="check the outcome's dependence settings in config.yaml: the method (" + ", ".join(METHODS)
             + ") and rho (0 when a study's effect sizes come from different participants)")


def _sheet_columns(measure: str, rows: list[dict], characteristics: Sequence[str] = ()) -> list[str]:
    """The outcome sheet's columns for a measure, with the optional ones (es_id, ...) its rows use
    and the effect sizes' `characteristics` last."""
    base = set(SINGLE_OUTCOME_COLUMNS if _single_group(measure) else OUTCOME_COLUMNS)
    columns = [c for c in OUTCOME_SHEET_COLUMNS if c in base or any(row.get(c) not in (None, "") for row in rows)]
    return columns + [c for c in characteristics if c not in columns]


def init_from_table(folder: str | Path, table_csv: str | Path, measure: str, force: bool = False,
                    subgroup: str | None = None, moderators: Sequence[str] = ()) -> tuple[list[Path], list[Problem]]:
    """Write a review (no search stage) whose studies and outcome sheets come from `table_csv`;
    return the files written and the warnings saying what the import decided (and, with `force`,
    which existing files were kept: it writes only the files the folder lacks). `subgroup` and
    `moderators` are columns of the table copied to the outcome sheets (each effect size's value)
    and named as every outcome's subgroup and meta-regression moderators."""
    folder = Path(folder)
    _check_empty(folder, force)
    characteristics = list(dict.fromkeys([*([subgroup] if subgroup else []), *moderators]))
    imported = read_study_table(table_csv, measure, characteristics, subgroup)
    outcomes: dict[str, dict] = {}
    for oid in sorted(imported.rows):
        outcomes[oid] = {"label": imported.outcome_names[oid] or "Outcome", "measure": measure}
        if oid in imported.dependent:
            outcomes[oid]["dependence"] = {"method": "multilevel", "rho": DEFAULT_RHO}
        if subgroup:
            outcomes[oid]["subgroup"] = subgroup
        if moderators:
            outcomes[oid]["meta_regression"] = {"moderators": list(moderators)}
    notes = imported.problems + [_dependence_note(folder / "config.yaml", oid, studies)
                                 for oid, studies in sorted(imported.dependent.items())]
    context = _context(folder, f"Review imported from {Path(table_csv).name}", outcomes, with_search=False,
                       from_csv=Path(table_csv).name)
    files = {"config.yaml": _render("config.yaml.j2", **context), "README.md": _render("README.md.j2", **context),
             "data/extraction/studies.csv": _csv_text(STUDY_COLUMNS, list(imported.studies.values())),
             "data/extraction/narrative.csv": _csv_text(NARRATIVE_COLUMNS, [])}
    for oid, rows in imported.rows.items():
        files[f"data/extraction/outcomes/{oid}.csv"] = _csv_text(_sheet_columns(measure, rows, characteristics), rows)
    _refuse_what_run_would_refuse(files, imported, str(table_csv))
    written, kept = _write_new(folder, files)
    return written, notes + kept


def _refuse_what_run_would_refuse(files: dict[str, str], imported: TableImport, table_csv: str) -> None:
    """The imported sheets pass the checks `metasr run` makes of them (an r of 1.2, events above
    n): checked in a temporary folder before anything is written, each problem named at the
    table's own row, with the sheet cell it became."""
    import tempfile

    from metasr.config import load_config
    from metasr.extraction.validate import validate_review

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, files)
        config = load_config(root / "config.yaml", root=root, check_files=False)
        problems = [p for p in validate_review(config, root) if p.severity == "error"]
        lines = {f"data/extraction/outcomes/{oid}.csv": [_row_line(r) for r in rows]
                 for oid, rows in imported.rows.items()}
        if problems:
            raise InputError([_at_table_row(p, root, lines, table_csv) for p in problems])


def _at_table_row(problem: Problem, root: Path, lines: dict[str, list[int]], table_csv: str) -> Problem:
    """A problem of an imported sheet, named at the table row the sheet row came from."""
    from dataclasses import replace

    try:
        sheet = Path(problem.file or "").resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return problem
    rows = lines.get(sheet)
    if rows is None or problem.row is None or not 2 <= problem.row < len(rows) + 2:
        return replace(problem, file=table_csv, row=None,
                       message=f"{problem.message} (in the imported {sheet})")
    return replace(problem, file=table_csv, row=rows[problem.row - 2],
                   message=f"{problem.message} (imported as {sheet} row {problem.row}, column '{problem.column}')")
