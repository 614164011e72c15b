"""JSON-schema checks of single sheet rows (schemas/*.schema.yaml), as Problems.

Cells arrive as text. Empty cells become null and cells that read as numbers become numbers
before validation, so a schema can say "a number or empty" and a typo such as "1,5" or "n/a"
is reported with its column and value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema
import yaml
from jsonschema import Draft202012Validator

from metasr.errors import Problem
from metasr.io import number_cell_hint
from metasr.provenance import TEXT_COLUMNS  # noqa: F401  (read as schema.TEXT_COLUMNS too)
from metasr.resources import SCHEMAS

STUDIES_SCHEMA = "studies.schema.yaml"
OUTCOME_SCHEMA = "outcome_sheet.schema.yaml"

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", re.ASCII)  # ASCII digits only (io.plain_number)


@cache
def validator(name: str) -> Draft202012Validator:
    with open(SCHEMAS / name, encoding="utf-8") as fh:
        return Draft202012Validator(yaml.safe_load(fh))


# The fast check: jsonschema's iter_errors costs ~1 ms per outcome-sheet row, most of it resolving
# $refs through `referencing` (measured: 30k rows of `metasr simulate --outcomes 500 --studies 30`
# took ~27 of load_review's ~30 s CPU). A fastjsonschema-compiled validator answers "is this row
# valid?" in ~15 us. Valid rows (nearly all) stop there; a rejected row gets jsonschema's full,
# detailed problem list exactly as before, so the fast check can hide no problem as long as it
# never accepts a row jsonschema rejects. To make sure of that it is used only when the schema
# sticks to keywords that both libraries read alike (below, checked when it is compiled; see
# tests/extraction/test_schema.py); where they differ, fastjsonschema is the stricter one (no
# bools or 2.0 as integers, "$" in a pattern only at the very end), which only sends a row to
# jsonschema. A schema using anything else (say a 2020-12 keyword such as unevaluatedProperties,
# which fastjsonschema would ignore) silently falls back to jsonschema for every row.
FAST_KEYWORDS = frozenset({"$schema", "$defs", "$ref", "title", "description", "examples", "type",
                           "additionalProperties",
                           "required", "properties", "enum", "minLength", "maxLength", "pattern", "minimum",
                           "maximum"})


def _fast_compatible(schema) -> bool:
    """True when `schema` (and its subschemas) uses only FAST_KEYWORDS, local $refs and text/null enums."""
    if not isinstance(schema, dict) or not set(schema) <= FAST_KEYWORDS:
        return False
    if "$ref" in schema and not (isinstance(schema["$ref"], str) and schema["$ref"].startswith("#/")):
        return False
    if "enum" in schema and not all(v is None or isinstance(v, str) for v in schema["enum"]):
        return False
    if "additionalProperties" in schema and schema["additionalProperties"] is not False:
        return False
    subschemas = list((schema.get("properties") or {}).values()) + list((schema.get("$defs") or {}).values())
    return all(_fast_compatible(sub) for sub in subschemas)


@cache
def fast_accepts(name: str) -> Callable[[dict], bool] | None:
    """A quick "jsonschema finds nothing wrong" for the named schema; None when it cannot be trusted."""
    schema = validator(name).schema
    if not _fast_compatible(schema):
        return None
    check = fastjsonschema.compile(schema, use_default=False, use_formats=False, detailed_exceptions=False)

    def accepts(typed: dict) -> bool:
        try:
            check(typed)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return accepts


def allowed_columns(name: str) -> list[str]:
    return list(validator(name).schema["properties"])


def coerce(row: dict[str, str]) -> dict:
    """Text cells -> None / int / float / str, ready for the schema and the rules."""
    typed: dict[str, Any] = {}
    for column, text in row.items():
        if isinstance(text, str):  # nearly every cell, so tested first (parse time runs this per cell)
            if text == "":
                typed[column] = None
            elif column not in TEXT_COLUMNS and _NUMBER.match(text):
                value = float(text)
                typed[column] = int(value) if value.is_integer() and "." not in text and "e" not in text.lower() \
                    else value
            else:
                typed[column] = text
        elif isinstance(text, float) and text != text:  # NaN from a DataFrame
            typed[column] = None
        else:
            typed[column] = text
    return typed


def row_problems(name: str, typed: dict, file: str, row: int) -> list[Problem]:
    """Every schema violation of one typed row."""
    accepts = fast_accepts(name)
    if accepts is not None and accepts(typed):
        return []
    problems = []
    for err in sorted(validator(name).iter_errors(typed), key=lambda e: (list(e.path), e.validator)):
        problems.append(_to_problem(err, typed, file, row))
    return problems


def header_problems(name: str, header: list[str], file: str) -> list[Problem]:
    """Unknown columns (typos) and missing required columns, reported once per sheet."""
    allowed = allowed_columns(name)
    required = validator(name).schema.get("required", [])
    problems = [Problem(message=f"unknown column '{c}'", file=file, row=1, column=c, value=c, rule="known-column",
                        hint=_did_you_mean(c, [a for a in allowed if a not in header])
                        + f"allowed columns: {', '.join(allowed)}") for c in header if c not in allowed]
    problems += [Problem(message=f"required column '{c}' is missing", file=file, row=1, column=c,
                         rule="required-column", hint="add the column to the header row")
                 for c in required if c not in header]
    return problems


def _did_you_mean(column: str, candidates: list[str]) -> str:
    """'did you mean 'x'? ' for the closest allowed column not in the header, or ''."""
    import difflib

    close = difflib.get_close_matches(column.lower(), candidates, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


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
                       hint=number_cell_hint(shown, column) or _type_hint(wanted))
    if err.validator in ("minimum", "maximum", "minLength", "pattern"):
        return Problem(message=f"'{shown}' fails {err.validator} {err.validator_value}", file=file, row=row,
                       column=column, value=shown, rule=err.validator,
                       hint=schema.get("description") or "check the cell")
    return Problem(message=err.message, file=file, row=row, column=column, value=shown, rule=err.validator)


def _type_hint(wanted: list[str]) -> str:
    """How to write a cell of the wanted JSON Schema types."""
    if "number" in wanted:
        return "write a plain number, with a point as the decimal separator (no units, commas or text)"
    if "integer" in wanted:
        return "write a whole number (no decimals, units, commas or text)"
    return "check the cell"


def _enum_of(err) -> list:
    return err.schema.get("enum", []) if isinstance(err.schema, dict) else []
