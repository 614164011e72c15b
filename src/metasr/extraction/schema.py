"""JSON-schema checks of single sheet rows (schemas/*.schema.yaml), as Problems.

Cells arrive as text. Empty cells become null and cells that read as numbers become numbers
before validation, so a schema can say "a number or empty" and a typo such as "1,5" or "n/a"
is reported with its column and value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from metasr.errors import Problem

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
STUDIES_SCHEMA = "studies.schema.yaml"
OUTCOME_SCHEMA = "outcome_sheet.schema.yaml"

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
# Columns that stay text even when they look like numbers (ids and free text).
TEXT_COLUMNS = {"study_id", "record_id", "label", "comparison", "timepoint", "subgroup", "p_value",
                "notes", "derivation", "source_url", "source_location", "first_author", "design",
                "country", "population", "exposure_definition", "technique", "no_data_reason",
                "exclude_reason", "unit", "overlapping_cohort_with", "followup_years", "field_strength_T"}


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    with open(SCHEMA_DIR / name, encoding="utf-8") as fh:
        return Draft202012Validator(yaml.safe_load(fh))


def allowed_columns(name: str) -> list[str]:
    return list(validator(name).schema["properties"])


def coerce(row: dict[str, str]) -> dict:
    """Text cells -> None / int / float / str, ready for the schema and the rules."""
    typed = {}
    for column, text in row.items():
        if column == "__extra__":
            continue
        if isinstance(text, float) and text != text:  # NaN from a DataFrame
            typed[column] = None
        elif not isinstance(text, str):
            typed[column] = text
        elif text == "":
            typed[column] = None
        elif column not in TEXT_COLUMNS and _NUMBER.match(text):
            value = float(text)
            typed[column] = int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
        else:
            typed[column] = text
    return typed


def row_problems(name: str, typed: dict, file: str, row: int) -> list[Problem]:
    """Every schema violation of one typed row."""
    problems = []
    for err in sorted(validator(name).iter_errors(typed), key=lambda e: (list(e.path), e.validator)):
        problems.append(_to_problem(err, typed, file, row))
    return problems


def header_problems(name: str, header: list[str], file: str) -> list[Problem]:
    """Unknown columns (typos) and missing required columns, reported once per sheet."""
    allowed = allowed_columns(name)
    required = validator(name).schema.get("required", [])
    if len(header) == 1 and ";" in header[0]:
        return [Problem(message="the header is one cell with semicolons", file=file, row=1, value=header[0],
                        rule="csv-delimiter", hint="save the sheet as CSV with commas (not semicolons) as separators")]
    problems = [Problem(message=f"unknown column '{c}'", file=file, row=1, column=c, value=c, rule="known-column",
                        hint=f"allowed columns: {', '.join(allowed)}") for c in header if c not in allowed]
    problems += [Problem(message=f"required column '{c}' is missing", file=file, row=1, column=c,
                         rule="required-column", hint="add the column to the header row")
                 for c in required if c not in header]
    return problems


def _to_problem(err, typed: dict, file: str, row: int) -> Problem:
    column = err.path[0] if err.path else None
    schema = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "required":
        column = err.message.split("'")[1] if "'" in err.message else None
        return Problem(message=f"required value '{column}' is empty", file=file, row=row, column=column,
                       rule="required", hint="fill in this cell")
    if err.validator == "additionalProperties":
        return Problem(message=err.message, file=file, row=row, rule="known-column",
                       hint="rename or remove the column")
    value = typed.get(column) if column else None
    shown = "" if value is None else str(value)
    if err.validator == "enum":
        allowed = _enum_of(err)
        return Problem(message=f"'{shown}' is not an allowed value", file=file, row=row, column=column,
                       value=shown, rule="allowed-values",
                       hint=f"use one of: {', '.join('(empty)' if a is None else str(a) for a in allowed)}")
    if err.validator == "type" and value is None:
        return Problem(message=f"required value '{column}' is empty", file=file, row=row, column=column,
                       rule="required", hint=schema.get("description") or "fill in this cell")
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        wanted = [w for w in wanted if w != "null"]
        return Problem(message=f"expected {' or '.join(wanted)}, found '{shown}'", file=file, row=row,
                       column=column, value=shown, rule="type",
                       hint="write a plain number with a decimal point (no units, commas or text)"
                       if set(wanted) & {"number", "integer"} else "check the cell")
    if err.validator in ("minimum", "maximum", "minLength", "pattern"):
        return Problem(message=f"'{shown}' fails {err.validator} {err.validator_value}", file=file, row=row,
                       column=column, value=shown, rule=err.validator,
                       hint=schema.get("description") or "check the cell")
    return Problem(message=err.message, file=file, row=row, column=column, value=shown, rule=err.validator)


def _enum_of(err) -> list:
    return err.schema.get("enum", []) if isinstance(err.schema, dict) else []
