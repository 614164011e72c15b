"""Checks of a table of effects before the engine sees it: every yi and vi finite and inside the
range the engine computes in, sampling variances of one table within the ratio where the model
asked for loses accuracy, and one row per study unless the rows' dependence is modelled.

The range: a model's sums of squares and products (w * yi^2, w^2, (yi - mu)^2 ...) must stay
inside double precision. Probing every estimator (z and Knapp-Hartung tests, random yi and vi at
scales 10^-40 .. 10^40; tests/stats/test_checks.py keeps the corners) showed fits failing from
vi ~ 1e-30 and ~ 1e30 and the EB refits failing from |yi| / sqrt(vi) ~ 1e28. The limits below
stay well inside: SEs from 1e-10 to 1e10 and |yi| up to 1e15 cover every measurement in any
unit; beyond them the hint asks for another unit.

The ratio: metafor warns that results may be unstable once the largest vi is 1e7 times the
smallest. The intercept-only models of metasr.stats.models are accurate to a few ulps at any
ratio the range allows (up to 1e40; tests/stats/test_checks.py compares them with exact rational
arithmetic), so they take any such table. Models with moderators lose digits in the traces behind
the SE of tau2 once two or more studies dominate the weights (about 5 digits left at a ratio of
4e7, none soon after: tests/stats/test_wls.py), and the three-level model of metasr.stats.multilevel is not verified
there: for them (`ratio_limit=True`) a table whose largest vi is VI_RATIO_MAX times the smallest
is refused, naming the two rows.
"""

from __future__ import annotations

import math
import re

from metasr import measures
from metasr.errors import InputError, Problem
from metasr.io import is_missing, plain_number

# How a row with a missing value is left out on purpose (metafor drops it with a warning; metasr
# never drops a row silently): the hint of every problem of a missing value the analysis needs.
LEAVE_OUT_HINT = ("to leave the row out on purpose, give the table a 'usable' column with false in this row "
                  "(and why in 'not_usable_reason'): it is then listed as not usable, not pooled")

YI_MAX = 1e15
VI_MIN, VI_MAX = 1e-20, 1e20
# metafor's rma.uni warns from this ratio of largest to smallest vi (models with moderators, three-level models)
VI_RATIO_MAX = 1e7
# What a row's yi and vi were computed from (escalc's effect_source); given directly otherwise.
_FROM = {"arms": "this row's arm data", "ti": "the t statistic and group sizes",
         "pi": "the p-value and group sizes", "ci": "the CI bounds", "yi_sei": "sei"}


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def effect_problems(table, file: str | None = None, rows=None) -> list[Problem]:
    """Problems of the `yi` and `vi` columns of an escalc'd table (one per row at most).

    `rows` are the rows' spreadsheet row numbers (default: `_row`, else header = 1)."""
    rows = list(rows) if rows is not None else _rows(table)
    sources = list(table["effect_source"]) if "effect_source" in table.columns else [None] * len(table)
    problems = []
    for yi, vi, row, source in zip(table["yi"], table["vi"], rows, sources, strict=True):
        if source == "drop00":  # a table drop00 left without an effect, pooled by MH or Peto on its counts
            continue
        yi, vi = _number(yi), _number(vi)
        if not math.isfinite(yi) or abs(yi) > YI_MAX:
            what = f"the effect computed from {_FROM[source]}" if source in _FROM and source != "yi_sei" else "yi"
            problems.append(Problem(
                message=f"{what} is {'not finite' if not math.isfinite(yi) else 'too large'}"
                        f" (yi = {yi:g}; the engine works with |yi| <= {YI_MAX:g})",
                file=file, row=row, column="yi", value=f"{yi:g}", rule="effect in range",
                hint="check the numbers of this row (a typo, a wrong unit or sign?); rescale the outcome's "
                     "unit if they are right"))
        elif not math.isfinite(vi) or not VI_MIN <= vi <= VI_MAX:
            what = f"the sampling variance computed from {_FROM[source]}" if source in _FROM else "vi"
            problems.append(Problem(
                message=f"{what} is "
                        f"{'not finite' if not math.isfinite(vi) else 'outside the range the engine works in'}"
                        f" (vi = {vi:g}; allowed {VI_MIN:g} to {VI_MAX:g})",
                file=file, row=row, column="vi", value=f"{vi:g}", rule="variance in range",
                hint="check the SDs, SEs, CIs and group sizes of this row; rescale the outcome's unit if "
                     "they are right"))
    return problems


def variance_ratio_problems(table, file: str | None = None, rows=None) -> list[Problem]:
    """One problem when the largest vi is VI_RATIO_MAX times the smallest or more."""
    rows = list(rows) if rows is not None else _rows(table)
    vi = [(_number(v), row) for v, row in zip(table["vi"], rows, strict=True)]
    vi = [(v, row) for v, row in vi if math.isfinite(v) and v > 0]
    if len(vi) < 2:
        return []
    (low, low_row), (high, high_row) = min(vi), max(vi)
    if high < VI_RATIO_MAX * low:
        return []
    return [Problem(
        message=f"the sampling variance of this row ({high:g}) is {high / low:.3g} times that of row {low_row} "
                f"({low:g}): from {VI_RATIO_MAX:g} on, metafor warns that the fit is unstable, and models with "
                "moderators or several effect sizes per study lose accuracy",
        file=file, row=high_row, column="vi", value=f"{high:g}", rule="variance ratio",
        hint=f"check both rows (a variance given as an SE, or an SD as a variance?); if they are right, "
             f"pool without row {high_row} or {low_row} and report it separately")]


def table_problems(table, file: str | None = None, rows=None, ratio_limit: bool = True) -> list[Problem]:
    """Every reason the engine cannot take this escalc'd table: per row first, then (for models
    with moderators or dependent effect sizes: `ratio_limit`) the ratio of the variances."""
    problems = effect_problems(table, file, rows)
    if problems or not ratio_limit:
        return problems
    return variance_ratio_problems(table, file, rows)


def check_effects(table, file: str | None = None, rows=None, ratio_limit: bool = True) -> None:
    problems = table_problems(table, file, rows, ratio_limit)
    if problems:
        raise InputError(problems)


def duplicate_study_problems(table, file: str | None = None) -> list[Problem]:
    """A study id on several pooled rows: pooling them as independent studies counts the
    study's participants twice (Cochrane Handbook 23.3.4)."""
    if "study_id" not in table.columns:
        return []
    first: dict[str, int] = {}
    problems = []
    for study, row in zip(table["study_id"], _rows(table), strict=True):
        study = "" if is_missing(study) else str(study).strip()
        if not study:
            continue
        if study in first:
            problems.append(Problem(
                message=f"study '{study}' is pooled twice (also in row {first[study]}): its rows are not "
                        "independent studies",
                file=file, row=row, column="study_id", value=study, rule="one row per study",
                hint="give each study one usable row (mark the others usable = false), give independent "
                     "samples distinct study ids, or model the dependence with --cluster study_id"))
        else:
            first[study] = row
    return problems


# Columns that name a study in a table given to `metasr pool` (study_id is the one pool reads; a
# spreadsheet's own export often calls it study or label).
STUDY_COLUMNS = ("study_id", "study", "label", "author", "trial")
# A row label that names a summary of the table, not a study: alone, or followed by a bracket or
# colon as RevMan and spreadsheets write them ("Total (95% CI)", "Subtotal: adults").
SUMMARY_LABEL = r"(?:sub[- ]?total|total|overall|pooled|sum|summary|all studies)(?:\s*[(\[:].*)?"
_SUMMARY_LABEL = re.compile(SUMMARY_LABEL, re.IGNORECASE | re.DOTALL)
_MERGED_HINT = ("give every row its study id (a sheet's merged cells export as blanks below the first row: "
                "unmerge them and fill the id in); if the rows are one study's, keep one usable row "
                "(mark the others usable = false) or model them with --cluster")


def count_columns(measure: str) -> tuple[str, ...]:
    """The columns of a count measure's data that hold counts (events, non-events, participants;
    not person-time); none for other measures."""
    record = measures.get(measure)
    if not record.zero_rule:
        return ()
    sheet = measures.FAMILIES[record.family].sheet_columns
    return tuple(dict.fromkeys(c for layout in record.inputs for c in layout
                               if not str(sheet.get(c, "")).startswith("time")))


def study_column(table) -> str | None:
    """The column of the table's study ids: study_id, else a column called study."""
    return next((c for c in ("study_id", "study") if c in table.columns), None)


def is_summary_label(text: str) -> bool:
    """Whether a row label reads as a total or summary of the other rows ('Total', 'Overall' ...)."""
    return bool(_SUMMARY_LABEL.fullmatch(str(text).strip()))


def study_row_problems(table, file: str | None = None, counts=()) -> list[Problem]:
    """Rows of a table given to pool that are no study of their own: a blank study id (merged
    cells) and a total or summary row (its label, or with `counts` the count columns, the last
    row's counts being the sums of the others'). Pooled, either counts participants twice."""
    rows = _rows(table)
    labelled = _summary_label_problems(table, rows, file)
    sums = [p for p in _summary_sum_problems(table, rows, file, counts) if p.row not in {q.row for q in labelled}]
    return _blank_id_problems(table, rows, file) + labelled + sums


def _blank_id_problems(table, rows, file) -> list[Problem]:
    column = study_column(table)
    if column is None:
        return []
    return [Problem(message="the study id is blank, so this row cannot be told apart from another study's",
                    file=file, row=row, column=column, rule="study id", hint=_MERGED_HINT)
            for row, value in zip(rows, table[column], strict=True) if is_missing(value)]


_SUMMARY_HINT = ("delete the row (a total is not a study: pooling it counts every participant twice), "
                 "or give the table a 'usable' column with false in this row")


def _summary_label_problems(table, rows, file) -> list[Problem]:
    columns = [c for c in table.columns if str(c).strip().lower() in STUDY_COLUMNS]
    if not columns:
        return []
    problems = []
    for row, cells in zip(rows, zip(*(table[c] for c in columns), strict=True), strict=True):
        label = next(((c, v) for c, v in zip(columns, cells, strict=True)
                      if not is_missing(v) and is_summary_label(v)), None)
        if label is not None:
            problems.append(Problem(message=f"the row is labelled '{str(label[1]).strip()}': a total or summary "
                                            "row, not a study", file=file, row=row, column=label[0],
                                    value=str(label[1]).strip(), rule="one row per study", hint=_SUMMARY_HINT))
    return problems


def _summary_sum_problems(table, rows, file, counts) -> list[Problem]:
    """The last row, when each of its counts (two at least) is the sum of the other rows' (a
    spreadsheet's Total row without a label)."""
    columns = [c for c in counts if c in table.columns]
    if len(table) < 3 or not columns:
        return []
    matched = []
    for column in columns:
        *read, last = [_count(v) for v in table[column]]
        if last is None:
            continue
        others = [v for v in read if v is not None]
        if len(others) < len(read) or last <= 0 or last != sum(others):
            return []  # a count that is not the others' sum: a study
        matched.append(column)
    if len(matched) < 2:
        return []
    cells = ", ".join(f"{c} = {str(table[c].iloc[-1]).strip()}" for c in matched)
    return [Problem(message=f"the last row's counts are the sums of the other rows' ({cells}): a total row, "
                            "not a study", file=file, row=rows[-1], column=matched[0],
                    value=str(table[matched[0]].iloc[-1]).strip(), rule="one row per study", hint=_SUMMARY_HINT)]


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{3})+")


def fractional_count_warnings(table, counts, file: str | None = None) -> list[str]:
    """One warning per count cell that is not a whole number. metafor pools such counts as they
    are (an effective sample size after a design effect is one), so pool does too, but it says
    so: '13.536' is more often 13,536 written with a dot between the thousands."""
    rows = _rows(table)
    warnings = []
    for column in (c for c in counts if c in table.columns):
        for row, value in zip(rows, table[column], strict=True):
            number = _count(value)
            if number is None or number.is_integer():
                continue
            text = str(value).strip()
            where = Problem(message="", file=file, row=row, column=column).location()
            fix = (f"; if it means {text.replace('.', '').replace(',', '')} (a point between the thousands), "
                   "write the number without it" if _THOUSANDS.fullmatch(text) else "")
            warnings.append(f"{where}: the count '{text}' is not a whole number; it is pooled as {number:g}, as "
                            f"metafor pools it{fix}")
    return warnings


def _count(value) -> float | None:
    if is_missing(value):
        return None
    try:
        number = plain_number(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _rows(table) -> list[int]:
    if "_row" in table.columns:
        return [int(r) for r in table["_row"]]
    return [i + 2 for i in range(len(table))]
