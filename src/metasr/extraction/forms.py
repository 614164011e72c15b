"""Reported forms: which cells each form needs, and how forms group into kinds.

Two-group forms give each group's cells (`mean1`, `n2`, ...); single-group forms (a prevalence,
a rate, a mean, a correlation) give one study-level group (`events`, `n`, `time`, `mean`, `r`). A
single group's mean comes in the forms a group's does (`single_mean_se`: `n`, `mean`, `se`), its
cells named as a group's without the group number (`q1`, not `q1_1`). Which measures a form can
give is the registry's (`metasr.measures.FAMILIES`).
"""

from __future__ import annotations

from metasr import measures
from metasr.measures import MEAN_FORMS as MEAN_FORM_ORDER, SINGLE_MEAN_FORMS as SINGLE_MEAN_FORM_ORDER

# Cells one group needs for each per-group form ("q1_"/"q3_" become q1_1, q3_2, ...).
GROUP_FORM_FIELDS = {
    "mean_sd": ("n", "mean", "sd"),
    "mean_se": ("n", "mean", "se"),
    "mean_ci": ("n", "mean", "ci_lb", "ci_ub"),
    "median_iqr": ("n", "median", "q1_", "q3_"),
    "median_range": ("n", "median", "min", "max"),
    "median_iqr_range": ("n", "median", "q1_", "q3_", "min", "max"),
    "events_n": ("n", "events"),
    "events_persontime": ("events", "time"),
}
# Cells a per-study form needs.
STUDY_FORM_FIELDS = {
    "effect_ci": ("effect", "effect_measure", "effect_ci_lb", "effect_ci_ub"),
    "effect_se": ("effect", "effect_measure", "effect_se"),
    "effect_p": ("effect", "effect_measure", "p_value"),
    "p_value": ("p_value", "n1", "n2"),
    "t_stat": ("t_stat", "n1", "n2"),
    "direction_only": ("direction",),
    "other": ("exclude_reason",),
}


def cell(stem: str, group: int) -> str:
    """The sheet column of a group's cell: group 1 or 2 ('mean1', 'q1_2'), or 0 for a single
    group's ('mean', 'q1')."""
    return f"{stem}{group}" if group else stem.rstrip("_")


def group_form(form: str) -> str:
    """The group form a single-group mean form is one group of ('single_mean_se' -> 'mean_se')."""
    return form.removeprefix("single_") if form in SINGLE_MEAN_FORMS else form


SINGLE_MEAN_FORMS = set(SINGLE_MEAN_FORM_ORDER)
# Cells a single-group form needs (one group: the study's sample).
SINGLE_FORM_FIELDS = {
    "events_total": ("events", "n"),
    "events_time": ("events", "time"),
    **{single: tuple(cell(stem, 0) for stem in GROUP_FORM_FIELDS[form])
       for single, form in zip(SINGLE_MEAN_FORM_ORDER, MEAN_FORM_ORDER, strict=True)},
    "correlation": ("r", "n"),
    # one sample measured twice (pre-post) or matched pairs: occasion 1 and 2, the pairs, their r
    "paired_mean_sd": ("n", "mean1", "sd1", "mean2", "sd2", "r"),
    # a regression coefficient's t statistic, the sample size and the model's number of predictors
    # (its R², `r2`, as well for a semi-partial correlation: measure_cells)
    "regression_t": ("t_stat", "n", "predictors"),
}
STUDY_FORM_FIELDS.update(SINGLE_FORM_FIELDS)
# Cells of a form that an outcome setting may stand in for when the paper gives none: a paired
# sample's r (the outcome's assumed_correlation). Whether it does is checked with the outcome's
# settings (extraction.converting.assumed_cell_problems), not per row.
ASSUMABLE_CELLS: dict[str | None, tuple[str, ...]] = {"paired_mean_sd": ("r",)}
MEAN_FORMS = set(MEAN_FORM_ORDER)
MEDIAN_FORMS = {"median_iqr", "median_range", "median_iqr_range"}
EFFECT_FORMS = {"effect_ci", "effect_se", "effect_p"}
TEST_FORMS = {"p_value", "t_stat"}
SINGLE_FORMS = set(SINGLE_FORM_FIELDS)
NO_DATA_FORMS = {"direction_only", "other"}


def group_forms(row: dict) -> tuple[str | None, str | None]:
    """(form of group 1, form of group 2) for per-group forms, else (None, None)."""
    form = row.get("reported_form")
    if form not in GROUP_FORM_FIELDS:
        return None, None
    return form, row.get("reported_form2") or form


def required_cells(row: dict) -> list[str]:
    """Column names a row's reported form needs filled, but for those an outcome setting may stand
    in for (ASSUMABLE_CELLS, checked with the outcome's settings)."""
    form = row.get("reported_form")
    if form in STUDY_FORM_FIELDS:
        return [c for c in STUDY_FORM_FIELDS[form] if c not in ASSUMABLE_CELLS.get(form, ())]
    form1, form2 = group_forms(row)
    if form1 is None or form2 is None:
        return []
    # An unknown reported_form2 is the schema's problem to report (allowed values); here it
    # needs no cells, rather than stopping the validation that reports it.
    return [f"{f}1" for f in GROUP_FORM_FIELDS[form1]] + [f"{f}2" for f in GROUP_FORM_FIELDS.get(form2, ())]


def measure_cells(measure, form) -> tuple[str, ...]:
    """Cells a form copied as reported needs for this measure beyond the form's own: the sheet cells
    of the family's optional columns that the measure reads (SPCOR: the model's R², `r2`; PCOR needs
    none); () for an unknown measure or a form the measure's family does not take."""
    if not measures.known(measure):
        return ()
    record = measures.get(measure)
    family = measures.FAMILIES[record.family]
    if form not in family.sheet_forms:
        return ()
    return tuple(family.sheet_columns[c] for c in record.inputs[0] if c in family.optional)
