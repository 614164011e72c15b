"""The fast schema check (fastjsonschema) never accepts a row that jsonschema rejects.

schema.row_problems returns no problems as soon as the fast check accepts a row and asks jsonschema
for the detailed list otherwise; so the fast check must agree with jsonschema on every good row
(else no speed-up) and on every bad one (else a problem would be hidden). Rows: every fixture row,
every row of the default review, the bad cells the other extraction tests write, and each column
of a good row set to each of many bad or odd cells (SYNTHETIC).
"""

from pathlib import Path

import pytest

from metasr.extraction import schema
from metasr.extraction.sheets import OUTCOME_COLUMNS, STUDY_COLUMNS, is_blank, read_sheet

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "extraction"

CELLS = ["", " ", "ten", "n/a", "1,5", "-3", "0", "1", "1.5", "1e3", "2.0", "-0.5", "5000", "1899", "1900", "2100",
         "2101", ".5", "-", "NaN", "inf", "1.2.3", "<0.001", "p=0.3", "mean_sdd", "median_rng", "mean_sd",
         "median_iqr", "events_n", "effect_ci", "group1_up", "group1_higher", "RR", "HR", "low", "moderate",
         "some concerns", "NOS", "ROBINS", "20x2", "1abc", "S1", "x y", "99999999999999999999", "1e-400",
         "Nobody2020", "Alpha 2020"]

GOOD_OUTCOME_ROW = dict(study_id="S1", comparison="rim+ vs rim-", reported_form="mean_sd", n1="20", mean1="5",
                        sd1="2", n2="20", mean2="4", sd2="2", record_id="R1", source_location="Table 2",
                        source_url="https://example.org/synthetic", notes="SYNTHETIC")
GOOD_STUDY_ROW = dict(study_id="S1", record_id="R1", label="Alpha 2020", year="2020", n_total="40", n_group1="20",
                      n_group2="20", rob_tool="NOS", rob_overall="low", notes="SYNTHETIC")


def agree(name: str, typed: dict) -> tuple[bool, bool]:
    accepts = schema.fast_accepts(name)
    assert accepts is not None, f"{name} no longer qualifies for the fast check (see schema.FAST_KEYWORDS)"
    return accepts(typed), not list(schema.validator(name).iter_errors(typed))


def sheet_rows(path):
    allowed = set(schema.allowed_columns(schema.OUTCOME_SCHEMA if "outcome" in str(path) or "bad_rows" in str(path)
                                         else schema.STUDIES_SCHEMA))
    return [schema.coerce({k: v for k, v in r.items() if k in allowed}) for r in read_sheet(path).rows
            if not is_blank(r)]


def mutations(good: dict, columns: list[str]):
    for column in columns:
        for cell in CELLS:
            yield {**{c: "" for c in columns}, **good, column: cell}
        yield {k: v for k, v in good.items() if k != column}  # column absent
    yield {**good, "not_a_column": "1"}


@pytest.mark.parametrize("name,good,columns", [(schema.OUTCOME_SCHEMA, GOOD_OUTCOME_ROW, OUTCOME_COLUMNS),
                                               (schema.STUDIES_SCHEMA, GOOD_STUDY_ROW, STUDY_COLUMNS)])
def test_fast_check_agrees_with_jsonschema_on_mutated_rows(name, good, columns):
    seen = {True: 0, False: 0}
    for row in mutations(good, columns):
        typed = schema.coerce(row)
        fast, full = agree(name, typed)
        assert fast == full, (row, typed)
        seen[full] += 1
    assert seen[True] > 50 and seen[False] > 50  # both kinds were exercised


def test_fast_check_agrees_on_fixture_and_default_review_rows():
    paths = [FIXTURES / "bad_rows.csv", *sorted((REPO / "data/extraction/outcomes").glob("*.csv"))]
    rows = [typed for p in paths for typed in sheet_rows(p)]
    assert rows
    for typed in rows:
        fast, full = agree(schema.OUTCOME_SCHEMA, typed)
        assert fast == full, typed
    bad = [t for t in sheet_rows(FIXTURES / "bad_rows.csv") if not agree(schema.OUTCOME_SCHEMA, t)[1]]
    assert bad  # the fixture's schema failures are rejected by both
    for path in (FIXTURES / "studies.csv", REPO / "data/extraction/studies.csv"):
        for typed in sheet_rows(path):
            assert agree(schema.STUDIES_SCHEMA, typed)[0] is True


@pytest.mark.parametrize("value", [True, False, 2.0, -1.0, float("nan"), b"x", [], {}])
def test_fast_check_is_never_more_permissive_on_odd_python_values(value):
    for name, good in ((schema.OUTCOME_SCHEMA, GOOD_OUTCOME_ROW), (schema.STUDIES_SCHEMA, GOOD_STUDY_ROW)):
        for column in ("n1", "mean1", "reported_form", "study_id", "year", "n_total", "label", "record_id"):
            if column not in schema.allowed_columns(name):
                continue
            typed = {**schema.coerce(good), column: value}
            fast, full = agree(name, typed)
            assert full or not fast, (column, value)


def test_row_problems_are_the_jsonschema_problems():
    sheet = read_sheet(FIXTURES / "bad_rows.csv")
    allowed = set(schema.allowed_columns(schema.OUTCOME_SCHEMA))
    for rownum, row in sheet.numbered():
        typed = schema.coerce({k: v for k, v in row.items() if k in allowed})
        full = [schema._to_problem(e, typed, sheet.path, rownum) for e in sorted(
            schema.validator(schema.OUTCOME_SCHEMA).iter_errors(typed), key=lambda e: (list(e.path), e.validator))]
        assert schema.row_problems(schema.OUTCOME_SCHEMA, typed, sheet.path, rownum) == full


@pytest.mark.parametrize("extra", [{"unevaluatedProperties": False}, {"dependentRequired": {"a": ["b"]}},
                                   {"additionalProperties": {"type": "string"}}, {"allOf": [{"required": ["a"]}]},
                                   {"properties": {"a": {"$ref": "https://example.org/s.json"}}},
                                   {"properties": {"a": {"enum": [1, "x"]}}},
                                   {"properties": {"a": {"format": "date"}}}])
def test_schemas_beyond_the_shared_keywords_get_no_fast_check(extra):
    base = {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}
    assert schema._fast_compatible(base)
    assert not schema._fast_compatible({**base, **extra})


@pytest.mark.parametrize(("column", "text", "hint"), [
    ("n1", "55.5", "write a whole number (no decimals, units, commas or text)"),
    ("n1", "ten", "write a whole number (no decimals, units, commas or text)"),
    ("mean1", "1,5", "write a plain number, with a point as the decimal separator (no units, commas or text)"),
])
def test_a_type_problem_hints_at_how_the_column_is_written(column, text, hint):
    """A group size is a whole number: its hint must not ask for a decimal point (SYNTHETIC row)."""
    typed = schema.coerce({"study_id": "S1", "reported_form": "mean_sd", column: text})
    [problem] = [p for p in schema.row_problems(schema.OUTCOME_SCHEMA, typed, "sheet.csv", 2) if p.rule == "type"]
    assert (problem.column, problem.hint) == (column, hint)


def test_digits_of_other_scripts_and_underscores_stay_text():
    """A sheet cell `١٢` (Arabic-Indic twelve) or `1_2` is not a number to a spreadsheet or to R;
    the schema's type check then names it, instead of coercion making it 12."""
    cells = {"n1": "\u0661\u0662", "n2": "1_2", "mean1": "12"}
    assert schema.coerce(cells) == {**cells, "mean1": 12}
