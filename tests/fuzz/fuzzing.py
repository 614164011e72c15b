"""Helpers of the fuzz tests (see conftest.py): hostile values, the tally, the promise's
assertions, the SYNTHETIC base review."""

from __future__ import annotations

import collections
import csv
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings, strategies as st

REPO = Path(__file__).resolve().parents[2]
EXPORT_FIXTURES = REPO / "tests" / "fixtures" / "exports"
FAST = 40
DEEP = int(os.environ.get("METASR_FUZZ_DEEP") or 0)
DEPTHS = [pytest.param(FAST, id="fast"),
          pytest.param(DEEP or 500, id="deep", marks=[pytest.mark.slow, pytest.mark.skipif(
              not DEEP, reason="the deep fuzzing run is asked for with METASR_FUZZ_DEEP=<examples>")])]


def fuzz_settings(examples: int):
    """The fast run draws the same examples every time (a default run must not be flaky); the deep
    run draws new ones each time."""
    return settings(max_examples=examples, deadline=None, derandomize=examples <= FAST, database=None,
                    suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------- hostile values

HOSTILE = [
    "", " ", "NA", "n/a", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e999", "-1e999",
    "1e-320", "4.9e-324", "0", "-0", "0.0", "1", "-1", "2", "1,5", "1.2.3", "12 mmol/L", "<0.001", ">0.05",
    "p = 0.04", "²", "٣", "½", "9" * 5000, "1" + "0" * 400, "0x1A", "1_000", " 42 ", "42\n", "+5", "-5",
    '=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0", "+SUM(1;2)", "-2+3", "@SUM(A1)",
    "\t=1", "\r=1", "'=1", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{7*7}}", "${7*7}",
    '"', '""', "'", ",", ";", "a,b", 'a"b', "\n", "\r\n", "\r", "\x00", "\x01", "\x1b[31m", "\ufeff",
    "\u202eevil", "\u200b", "😀", "Müller", "Ünïcödé ≥ ≤ — …", "x" * 140_000, "TY  - JOUR", "ER  - ",
    "PMID- 1", "@article{x,", "</xml>", "<![CDATA[", "include", "exclude", "not_retrieved", "same",
    "distinct", "true", "false", "mean_sd", "events_n", "effect_p", "SMD", "OR", "group1_higher",
]


def hostile_text():
    """Known nasty cells (numbers at the edges, formula and markup injection, control characters,
    encodings, huge cells), and anything hypothesis makes up."""
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=30),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-10**30, max_value=10**30).map(str),
    )


# ---------------------------------------------------------------- tally

TALLY: collections.Counter = collections.Counter()


def tally(category: str, outcome: str) -> None:
    TALLY[(category, outcome)] += 1


# ---------------------------------------------------------------- the promise

def assert_clear(err, files: set[str] | None = None) -> None:
    """Every error of an InputError names a file (one of `files` when given) and says what is wrong;
    rows are spreadsheet rows or lines (>= 1)."""
    errors = err.errors or err.problems
    assert errors, "an InputError without problems"
    for problem in errors:
        assert problem.message, problem
        assert problem.file, f"no file named: {problem.format()}"
        if files is not None:
            assert Path(problem.file).name in files or str(problem.file) in files, problem.format()
        assert problem.row is None or problem.row >= 1, problem.format()
        assert "Traceback" not in problem.format()


def names_cell(err, file_name: str, row: int, column: str | None) -> bool:
    return any(Path(p.file or "").name == file_name and p.row == row and (column is None or p.column == column)
               for p in err.errors)


NAMED = ("naming the cell", "naming the row", "naming the file", "naming another file")  # closest first


def where_named(err, file_name: str, row: int, column: str | None) -> str:
    """How close the refusal comes to the corrupted cell: the cell, its row, its file, or only
    another file (a study id changed in one sheet is missing in another)."""
    if names_cell(err, file_name, row, column):
        return "naming the cell"
    if names_cell(err, file_name, row, None):
        return "naming the row"
    if any(Path(p.file or "").name == file_name for p in err.errors):
        return "naming the file"
    return "naming another file"


def nothing_written(folder: Path) -> bool:
    """No file, and no temporary file, under `folder` (a failed step leaves nothing partial)."""
    return not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


# ---------------------------------------------------------------- the base review (SYNTHETIC)

def read_table(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_table(path: Path, table: list[list[str]]) -> None:
    """As a user's spreadsheet would: plain csv, no neutralising, UTF-8 (NUL and lone surrogates
    are written as they come; a surrogate cannot be UTF-8, so it is replaced)."""
    with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)


EXTRA_OUTCOMES = {
    "fuzz_rr": {"label": "SYNTHETIC events", "measure": "RR", "unit": "patients", "higher_is": "worse"},
    "fuzz_irr": {"label": "SYNTHETIC rates", "measure": "IRR", "unit": "events", "higher_is": "worse"},
    "fuzz_smd": {"label": "SYNTHETIC effects and tests", "measure": "SMD", "unit": "points", "higher_is": "worse",
                 "dependence": {"method": "independent"}},  # two studies give two comparisons each
}


def extra_sheets(study_ids: list[str]) -> dict[str, list[dict]]:
    """SYNTHETIC rows of the forms `metasr simulate` does not write."""
    a, b, c, d = study_ids[:4]
    prov = {"record_id": "R-SYN", "source_location": "Table 1 (SYNTHETIC)", "source_url": "https://example.org/synthetic",
            "notes": "SYNTHETIC"}
    return {
        "fuzz_rr": [
            {"study_id": a, "comparison": "x vs y", "reported_form": "events_n", "n1": "10", "events1": "4",
             "n2": "9", "events2": "2", **prov},
            {"study_id": b, "comparison": "x vs y", "reported_form": "effect_ci", "effect": "1.8",
             "effect_measure": "RR", "effect_ci_lb": "1.1", "effect_ci_ub": "2.9", **prov},
            {"study_id": c, "comparison": "x vs y", "subgroup": "women", "reported_form": "events_n", "n1": "5",
             "events1": "2", "n2": "4", "events2": "1", **prov},
            {"study_id": c, "comparison": "x vs y", "subgroup": "men", "reported_form": "events_n", "n1": "4",
             "events1": "2", "n2": "5", "events2": "1", **prov}],
        "fuzz_irr": [
            {"study_id": a, "comparison": "x vs y", "reported_form": "events_persontime", "events1": "30",
             "time1": "120.5", "events2": "18", "time2": "130", **prov},
            {"study_id": d, "comparison": "x vs y", "reported_form": "events_persontime", "events1": "9",
             "time1": "50", "events2": "4", "time2": "61", **prov}],
        "fuzz_smd": [
            {"study_id": a, "comparison": "x vs y", "reported_form": "effect_ci", "effect": "0.4",
             "effect_measure": "SMD", "effect_ci_lb": "0.1", "effect_ci_ub": "0.7", **prov},
            {"study_id": b, "comparison": "x vs y", "reported_form": "effect_se", "effect": "0.3",
             "effect_measure": "SMD", "effect_se": "0.12", **prov},
            {"study_id": c, "comparison": "x vs y", "reported_form": "effect_p", "effect": "0.5",
             "effect_measure": "SMD", "p_value": "0.03", **prov},
            {"study_id": d, "comparison": "x vs y", "reported_form": "p_value", "n1": "8", "n2": "9", "p_value": "0.04",
             "direction": "group1_higher", **prov},
            {"study_id": d, "comparison": "x vs z", "reported_form": "t_stat", "n1": "7", "n2": "6", "t_stat": "-2.1",
             "direction": "group1_lower", **prov},
            {"study_id": a, "comparison": "x vs z", "reported_form": "mean_sd", "subgroup": "young", "n1": "5",
             "mean1": "5.1", "sd1": "1.2", "n2": "5", "mean2": "4.2", "sd2": "1.1", **prov},
            {"study_id": a, "comparison": "x vs z", "reported_form": "median_range", "subgroup": "old", "n1": "5",
             "median1": "5.5", "min1": "2", "max1": "9", "n2": "4", "median2": "4.5", "min2": "1", "max2": "8",
             **prov}],
    }


