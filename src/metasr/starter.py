"""Starter reviews: `metasr init FOLDER` writes a review folder that runs as it is.

Two ways to start:
- `init_review`: a commented config and every sheet with its header and one EXAMPLE row (with or
  without a search stage), for a review that starts from scratch;
- `init_from_table`: a review built from a table of study-level data the reviewer already has
  (metafor-style columns, one row per study and outcome), for a re-analysis or an update. Each row
  becomes an outcome-sheet row in the form its columns give; its `derivation` says where it came from.

Sheet headers come from the modules that read the sheets, so a starter can never fall behind them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from metasr.errors import InputError, Problem
from metasr.extraction.sheets import (
    NARRATIVE_COLUMNS,
    OUTCOME_COLUMNS,
    SINGLE_OUTCOME_COLUMNS,
    STUDY_COLUMNS,
    format_cell,
)
from metasr.folder import CONFIG_NAMES
from metasr.io import csv_text, read_csv
from metasr.level import Z
from metasr.measures import FAMILIES, accepts_reported, get, ids, is_ratio, known
from metasr.resources import RESOURCES

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
    return "\n".join(lines)


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
                                 rule="new-folder", hint="choose a new folder (or pass --force to overwrite)"))
    if folder.exists() and not folder.is_dir():
        raise InputError(Problem(message=f"{folder} is a file, not a folder", file=str(folder), rule="new-folder",
                                 hint="choose a folder name"))


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


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
        f"data/extraction/outcomes/{EXAMPLE_OUTCOME}.csv": _csv_text(OUTCOME_COLUMNS, [outcome]),
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


def init_review(folder: str | Path, with_search: bool = True, force: bool = False) -> list[Path]:
    """Write a starter review (EXAMPLE rows) into `folder`; return the files written."""
    folder = Path(folder)
    _check_empty(folder, force)
    outcomes = {EXAMPLE_OUTCOME: {"label": "EXAMPLE outcome (replace me)", "measure": "SMD",
                                  "unit": "points", "higher_is": "worse"}}
    context = dict(title="EXAMPLE review (replace this title)", review_id=_review_id(folder),
                   folder_hint=str(folder), with_search=with_search, from_csv=None,
                   outcomes_yaml=_outcome_yaml(outcomes))
    files = {"config.yaml": _render("config.yaml.j2", **context), "README.md": _render("README.md.j2", **context),
             **_example_sheets(with_search)}
    return _write(folder, files)


# ---------------------------------------------------------------------------------------------
# Starting from a table of study-level data

# Which metafor-style columns make which outcome-sheet form: (form, {table column: sheet column});
# the forms copied as they are come from the measure registry's families.
# The first form whose columns a row fills wins (so `ti` is person-time beside `xi`, as for
# metafor's rate measures, and a t statistic beside n1i and n2i). For ratio measures the table's
# yi is on the log scale (metafor's convention), the sheet's `effect` on the ratio scale.
TABLE_FORMS = (
    ("mean_sd", {"m1i": "mean1", "sd1i": "sd1", "n1i": "n1", "m2i": "mean2", "sd2i": "sd2", "n2i": "n2"}),
    *((family.sheet_forms[0], family.sheet_columns) for family in FAMILIES.values() if family.sheet_columns),
    ("events_n", {"ai": "events1", "bi": None, "ci": "events2", "di": None}),
    ("t_stat", {"ti": "t_stat", "n1i": "n1", "n2i": "n2"}),
    ("effect_ci", {"yi": "effect", "ci_lb": "effect_ci_lb", "ci_ub": "effect_ci_ub"}),
    ("effect_se", {"yi": "effect", "sei": "effect_se"}),
    ("effect_se", {"yi": "effect", "vi": None}),
)
STUDY_COLUMN_NAMES = ("study_id", "study", "label", "author", "authors")


@dataclass
class TableImport:
    """What a study-level table gives: studies, one sheet of rows per outcome, and problems."""

    studies: dict[str, dict] = field(default_factory=dict)
    rows: dict[str, list[dict]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _slug(text: str, prefix: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"{prefix}_{slug}".strip("_")
    return slug


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
    for form, mapping in TABLE_FORMS:
        if set(mapping) <= columns and all((row.get(c) or "").strip() for c in mapping):
            return form, mapping
    return None, None


def _sheet_row(row: dict, form: str, mapping: dict, measure: str, file: str, line: int,
               problems: list[Problem]) -> dict | None:
    values = {}
    for column in mapping:
        value = _number(row, column)
        if value is None or not math.isfinite(value):
            problems.append(Problem(message=f"'{column}' is not a finite number", file=file, row=line, column=column,
                                    value=row.get(column), rule="numeric", hint="write a plain number such as 12.5"))
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
        out[sheet_column] = int(value) if sheet_column in ("n", "n1", "n2", "events", "events1", "events2") and \
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


def read_study_table(path: str | Path, measure: str) -> TableImport:
    """Studies and outcome-sheet rows from a table of study-level data (see TABLE_FORMS)."""
    path = Path(path)
    if not known(measure):
        raise InputError(Problem(message=f"unknown measure {measure!r}", value=measure, rule="measure",
                                 hint=f"use one of {', '.join(ids())}"))
    header, table = read_csv(path, strip=True)
    result = TableImport()
    study_column = next((c for c in STUDY_COLUMN_NAMES if c in header), None)
    if study_column is None:
        raise InputError(Problem(message="no study column", file=str(path), row=1, rule="required-column",
                                 hint=f"name the study of each row in a column called one of: "
                                      f"{', '.join(STUDY_COLUMN_NAMES)}"))
    columns = set(header)
    for line, raw in enumerate(table, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        _import_row(row, line, study_column, columns, measure, str(path), result)
    if result.problems:
        raise InputError(result.problems)
    if not result.rows:
        raise InputError(Problem(message="the table has no rows", file=str(path), rule="rows",
                                 hint="one row per study (and outcome)"))
    return result


def _import_row(row: dict, line: int, study_column: str, columns: set[str], measure: str, file: str,
                result: TableImport) -> None:
    label = row.get(study_column, "")
    if not label:
        result.problems.append(Problem(message="the study is not named", file=file, row=line, column=study_column,
                                       rule="required", hint="give every row its study"))
        return
    form, mapping = _form_of(row, columns)
    if form is None:
        result.problems.append(Problem(
            message="no complete set of effect columns", file=file, row=line, rule="effect-columns",
            hint="give m1i, sd1i, n1i, m2i, sd2i, n2i (means), ai, n1i, ci, n2i or ai, bi, ci, di (events), "
                 "x1i, t1i, x2i, t2i (events and person-time), or yi with sei, vi or ci_lb and ci_ub"))
        return
    sheet_row = _sheet_row(row, form, mapping, measure, file, line, result.problems)
    if sheet_row is None:
        return
    year = row.get("year", "")
    shown = f"{label} {year}" if year and year not in label else label
    study_id = _study_id(shown, result.studies)
    result.studies.setdefault(study_id, {"study_id": study_id, "record_id": study_id, "label": shown,
                                         "year": int(year) if year.isdigit() else None,
                                         "notes": f"imported from {Path(file).name}"})
    outcome = _slug(row.get("outcome") or "outcome", "outcome")
    sheet_row.update(study_id=study_id, comparison=row.get("comparison") or "as in the table",
                     record_id=study_id, source_location=f"{Path(file).name} row {line}",
                     derivation=f"imported from {Path(file).name} row {line} ({', '.join(mapping)})")
    result.rows.setdefault(outcome, []).append(sheet_row)


def _study_id(label: str, studies: dict) -> str:
    """A valid study id from the label with its year (letters first), the same for every row of
    one study (rows with the same label and year are one study)."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "", label.title().replace(" ", ""))
    if not base or not base[0].isalpha():
        base = f"S{base}"
    for sid, study in studies.items():
        if study["label"] == label:
            return sid
    sid, n = base, 2
    while sid in studies:
        sid, n = f"{base}_{n}", n + 1
    return sid


def init_from_table(folder: str | Path, table_csv: str | Path, measure: str, force: bool = False) -> list[Path]:
    """Write a review (no search stage) whose studies and outcome sheets come from `table_csv`."""
    folder = Path(folder)
    _check_empty(folder, force)
    imported = read_study_table(table_csv, measure)
    outcomes = {oid: {"label": oid.replace("_", " ").capitalize(), "measure": measure}
                for oid in sorted(imported.rows)}
    context = dict(title=f"Review imported from {Path(table_csv).name}", review_id=_review_id(folder),
                   folder_hint=str(folder), with_search=False, from_csv=Path(table_csv).name,
                   outcomes_yaml=_outcome_yaml(outcomes))
    files = {"config.yaml": _render("config.yaml.j2", **context), "README.md": _render("README.md.j2", **context),
             "data/extraction/studies.csv": _csv_text(STUDY_COLUMNS, list(imported.studies.values())),
             "data/extraction/narrative.csv": _csv_text(NARRATIVE_COLUMNS, [])}
    columns = SINGLE_OUTCOME_COLUMNS if FAMILIES[get(measure).family].groups == 1 else OUTCOME_COLUMNS
    for oid, rows in imported.rows.items():
        files[f"data/extraction/outcomes/{oid}.csv"] = _csv_text(columns, rows)
    return _write(folder, files)
