"""Reading and writing the extraction sheets.

Sheets are CSV files that people edit in spreadsheets, so every cell is read as text and row
numbers are the ones a spreadsheet shows (header = row 1, first data row = row 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from metasr import rob
from metasr.errors import InputError, Problem
from metasr.io import header_problems, named_columns, read_csv_rows, row_shape_problems, write_csv

STUDY_COLUMNS = [
    "study_id", "record_id", "label", "first_author", "year", "design", "country", "population",
    "exposure_definition", "technique", "n_total", "n_group1", "n_group2",
    "followup_years", "overlapping_cohort_with", "source_url", "no_data_reason", "notes",
    "rob_tool", *rob.ALL_COLUMNS,
]

GROUP_FIELDS = ["n", "mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1_", "q3_", "min", "max",
                "events", "time"]


# A single-group study's cells (prevalence: events of n; rate: events in time; correlation: r of n).
SINGLE_FIELDS = ["events", "n", "time", "r"]
# A single group's mean and its spread (the sample size is `n`): a group's cells without its number.
SINGLE_MEAN_FIELDS = ["mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1", "q3", "min", "max"]
# A regression model's (regression_t, with `t_stat` and `n`): its number of predictors and its R².
REGRESSION_FIELDS = ["predictors", "r2"]


def group_column(field: str, group: int) -> str:
    """'mean', 1 -> 'mean1'; quartiles are 'q1_1', 'q3_2' so that q1 of group 1 stays readable."""
    return f"{field}{group}"


_OUTCOME_LEAD = ["study_id", "comparison", "timepoint", "subgroup", "reported_form", "reported_form2"]
# Optional columns for several effect sizes per study: which effect size a row is, and which of its
# groups it shares with the study's other comparisons (a multi-arm trial's control arm).
DEPENDENCE_COLUMNS = ["es_id", "shared_group"]
_OUTCOME_TAIL = ["effect", "effect_measure", "effect_ci_lb", "effect_ci_ub", "effect_se", "p_value", "t_stat",
                 "direction", "unit", "exclude_reason", "record_id", "source_location", "source_url",
                 "derivation", "notes"]
_GROUP_COLUMNS = [group_column(f, 1) for f in GROUP_FIELDS] + [group_column(f, 2) for f in GROUP_FIELDS]
# Every column an outcome sheet may have (schemas/outcome_sheet.schema.yaml, in its order).
OUTCOME_SHEET_COLUMNS = (_OUTCOME_LEAD + DEPENDENCE_COLUMNS + _GROUP_COLUMNS + SINGLE_FIELDS + SINGLE_MEAN_FIELDS
                         + REGRESSION_FIELDS + _OUTCOME_TAIL)
# The sheet of a two-group outcome, and of a single-group outcome (prevalence, incidence rate,
# correlation: one group's cells).
OUTCOME_COLUMNS = _OUTCOME_LEAD + _GROUP_COLUMNS + _OUTCOME_TAIL
SINGLE_OUTCOME_COLUMNS = (
    ["study_id", "comparison", "timepoint", "subgroup", "reported_form"] + SINGLE_FIELDS
    + ["unit", "exclude_reason", "record_id", "source_location", "source_url", "derivation", "notes"]
)

NARRATIVE_COLUMNS = [
    "study_id", "outcome", "comparison", "timepoint", "n1", "n2", "finding", "direction", "p_value",
    "unit", "record_id", "source_location", "source_url", "derivation", "notes",
]

# Which columns identify one row of each kind of sheet (duplicates and double extraction use them).
OUTCOME_KEY = ("study_id", "comparison", "timepoint", "es_id", "subgroup")
NARRATIVE_KEY = ("study_id", "outcome", "comparison", "timepoint")
STUDY_KEY = ("study_id",)


@dataclass
class Sheet:
    """A CSV sheet as text: its header and rows (dicts), each row with its spreadsheet row number,
    and the rows whose cells do not fit the header (`metasr.io.row_shape_problems`), by row number."""

    path: str
    header: list[str]
    rows: list[dict[str, str]]
    shape_problems: dict[int, Problem] = field(default_factory=dict)

    def numbered(self):
        return [(i + 2, row) for i, row in enumerate(self.rows)]


def read_sheet(path: str | Path) -> Sheet:
    """Read a CSV sheet as text; raise InputError if it is missing, unreadable, not UTF-8 CSV or
    its header is none (`metasr.io.header_problems`). Columns without a name are a spreadsheet's
    leftovers and left out (`metasr.io.named_columns`). Rows whose cells do not fit the header
    (another width, a value in a column without a name) are kept (the cells the header names),
    their problems in `shape_problems`, for validation to report with the rest."""
    path = Path(path)
    if not path.exists():
        raise InputError(Problem(message="file not found", file=str(path), rule="file-exists",
                                 hint="create it (a header row is enough) or fix the path in config"))
    table = read_csv_rows(path)
    if not table:
        return Sheet(str(path), [], [])
    header = [h.strip() for h in table[0]]
    problems = [_reserved(p) for p in header_problems(path, header)]
    if problems:
        raise InputError(problems)
    named = named_columns(header)
    # a blank line stays, as an empty row, so that row numbers match the spreadsheet
    rows = [{header[i]: (cells[i].strip() if i < len(cells) else "") for i in named} for cells in table[1:]]
    return Sheet(str(path), [header[i] for i in named], rows, row_shape_problems(path, header, table[1:]))


# The columns each kind of sheet reads itself: a column of the reviewer's (a moderator) cannot have
# their names.
BUILT_IN_COLUMNS = {"outcome sheets": OUTCOME_SHEET_COLUMNS, "the studies sheet": STUDY_COLUMNS,
                    "the narrative sheet": NARRATIVE_COLUMNS}


def _reserved(problem: Problem) -> Problem:
    """A column name twice where one of them is a sheet's own column: the reviewer's column (a
    moderator added at the end) took a name the sheet reserves, so say so."""
    name = problem.column
    sheets = [sheet for sheet, columns in BUILT_IN_COLUMNS.items() if name in columns]
    if problem.rule != "unique-column" or not sheets:
        return problem
    return replace(problem, hint=f"'{name}' is a column of {' and of '.join(sheets)} itself (their columns: "
                                 "`metasr docs formats`); give your own column another name (e.g. "
                                 f"'mod_{name}'), and use that name wherever the config names it "
                                 "(meta_regression moderators, subgroup, study_columns)")


def is_blank(row: dict) -> bool:
    return not any(row.values())


def load_studies(path: str | Path):
    """studies.csv as a pandas DataFrame of strings (empty cells are ''), in file order."""
    import pandas as pd

    sheet = read_sheet(path)
    rows = [r for r in sheet.rows if not is_blank(r)]
    return pd.DataFrame(rows, columns=sheet.header, dtype=str).fillna("")


def studies_in_outcome(sheet_csv: str | Path) -> list[str]:
    """Sorted ids of the studies with at least one row in an outcome sheet (fast: parse time)."""
    path = Path(sheet_csv)
    if not path.exists():
        return []
    table = read_csv_rows(path)
    # Header cells stripped as read_sheet strips them, so " study_id" finds the same studies
    # that validation saw.
    header = [h.strip() for h in table[0]] if table else []
    if "study_id" not in header:
        return []
    column = header.index("study_id")
    ids = {cells[column].strip() for cells in table[1:] if len(cells) > column}
    return sorted(i for i in ids if i)


def write_sheet(path: str | Path, columns: list[str], rows: list[dict]) -> None:
    """Write rows as a CSV (atomic and formula-safe, `metasr.io.write_csv`), numbers formatted
    by `format_cell`."""
    write_csv(path, columns, ([format_cell(row.get(c)) for c in columns] for row in rows))


def format_cell(value) -> str:
    """Numbers with up to 10 significant digits (stable across runs); None -> ''; bools lower-case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)
