"""The columns a table of study-level data may have (`metasr init --from-csv`), in one place.

metafor-style effect columns come in layouts (TABLE_FORMS), each of which becomes one reported
form of the outcome sheet; besides them a table names its study, year and outcome and may carry
some of the outcome sheet's own columns (ROW_COLUMNS). The CLI's help, the README's list and the
import itself read this module, so they cannot disagree. Pure Python (the CLI imports it to build
its help).
"""

from __future__ import annotations

from metasr.measures import FAMILIES, accepts_reported, ids, is_ratio

# (outcome-sheet form, {table column: sheet column}, what the layout is); the forms copied as they
# are come from the measure registry's families, a family with optional columns (SPCOR's r2i) once
# with them and once without. The first layout a row fills wins (so `ti` is person-time beside `xi`,
# as for metafor's rate measures, a regression coefficient's t beside ni and mi, and an
# independent-samples t beside n1i and n2i). For ratio measures the table's yi is on the log scale
# (metafor's convention), the sheet's `effect` on the ratio scale. A None sheet column is read, then
# converted (bi and di give n1 and n2; vi gives the SE).
TABLE_FORMS: tuple[tuple[str, dict[str, str | None], str], ...] = (
    ("mean_sd", {"m1i": "mean1", "sd1i": "sd1", "n1i": "n1", "m2i": "mean2", "sd2i": "sd2", "n2i": "n2"},
     "means"),
    *((family.sheet_forms[0], {c: s for c, s in family.sheet_columns.items() if c in kept}, family.id)
      for family in FAMILIES.values() if family.sheet_columns
      for kept in dict.fromkeys((tuple(family.sheet_columns),
                                 tuple(c for c in family.sheet_columns if c not in family.optional)))),
    ("events_n", {"ai": "events1", "bi": None, "ci": "events2", "di": None}, "two-group tables"),
    ("t_stat", {"ti": "t_stat", "n1i": "n1", "n2i": "n2"}, "t statistic"),
    ("effect_ci", {"yi": "effect", "ci_lb": "effect_ci_lb", "ci_ub": "effect_ci_ub"}, "effect and 95% CI"),
    ("effect_se", {"yi": "effect", "sei": "effect_se"}, "effect and SE"),
    ("effect_se", {"yi": "effect", "vi": None}, "effect and variance"),
)
# Columns that name each row's study (the first the table has is its study key).
STUDY_COLUMN_NAMES = ("study_id", "study", "label", "author", "authors")
# Columns that say which study-level facts and which outcome a row is.
KEY_COLUMN_NAMES = ("year", "outcome")
# Outcome-sheet columns a table may carry, copied to each row's sheet cell as written.
ROW_COLUMNS = ("comparison", "timepoint", "subgroup", "es_id", "shared_group", "unit", "source_url", "notes")
# Studies-sheet columns a table may carry, one value per study, copied to its studies-sheet row (the
# words that describe a study; GRADE starts from `design`).
STUDY_DESCRIPTOR_COLUMNS = ("first_author", "design", "country", "population", "exposure_definition", "technique")


def effect_columns() -> tuple[str, ...]:
    """Every effect column some layout reads, in layout order."""
    return tuple(dict.fromkeys(column for _, mapping, _ in TABLE_FORMS for column in mapping))


def accepted_columns(row_columns=ROW_COLUMNS) -> tuple[str, ...]:
    """Every column a table may have (`row_columns`: the outcome-sheet columns its measure's sheet has)."""
    return STUDY_COLUMN_NAMES + KEY_COLUMN_NAMES + effect_columns() + tuple(row_columns) + STUDY_DESCRIPTOR_COLUMNS


def layouts_text() -> str:
    """The layouts as help and README show them: 'm1i, sd1i, ... (means); ...'."""
    return "; ".join(f"{', '.join(mapping)} ({what})" for _, mapping, what in TABLE_FORMS)


def sheet_row_columns_text() -> str:
    """ROW_COLUMNS as help and README show them."""
    return ", ".join(ROW_COLUMNS)


def log_scale_measures() -> tuple[str, ...]:
    """The measures whose yi a table may give, on the log scale (their effect is a ratio)."""
    return tuple(m for m in ids() if is_ratio(m) and accepts_reported(m, m))
