"""File-level pooling step: an outcome's effect-input table in, its pooled-results JSON out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from metasr import dependence
from metasr.analysis_settings import (
    meta_regression_settings,
    moderator_variables,
    risk_of_bias_sensitivity,
    sheet_columns,
    small_study_settings,
)
from metasr.extraction.pipeline import output_columns
from metasr.io import plain_frame, write_json
from metasr.provenance import TEXT_COLUMNS
from metasr.stats.analysis import pool_outcome
from metasr.stats.effects import Options
from metasr.stats.rob_sensitivity import judgements


def read_effects(effects_csv: str | Path, text: Sequence[str] = ()) -> pd.DataFrame:
    """An outcome's effect table as the extraction step wrote it (extraction.sheets.write_sheet:
    a missing number is an empty cell): only an empty cell is missing, so that text is read as
    written and a study called NA, None or null keeps its id. The sheets' text columns
    (provenance.TEXT_COLUMNS) stay text, as extraction read them; `text`: further columns read as
    text (the effect sizes' subgroup and moderators: a level `01` stays `01`)."""
    dtype = dict.fromkeys([*TEXT_COLUMNS, *text], str)
    return plain_frame(pd.read_csv(effects_csv, dtype=dtype, keep_default_na=False, na_values=[""]))


def pool_outcome_file(effects_csv: str | Path, outcome_id: str, analysis: dict, out_json: str | Path,
                      studies: list[dict] | None = None) -> dict:
    """Pool one outcome as configured (every key of metasr.workflow.outcomes.ANALYSIS_KEYS: measure,
    method, test, order_by, escalc options, dependence, small-study methods, meta-regression,
    subgroup, scale, risk_of_bias_sensitivity) and write the JSON contract of docs/architecture.md,
    with the outcome's label and the published reference estimate. `studies` are the outcome's rows
    of the studies sheet, where meta-regression moderators come from, and the subgroup and order_by
    columns, unless the effect table carries them from the outcome's sheet (per effect size), and
    each study's risk of bias (the analysis without the studies at high risk)."""
    effects = read_effects(effects_csv, sheet_columns(analysis))
    options = Options.from_config(analysis.get("escalc"))
    regression = meta_regression_settings(analysis)
    per_row = set(effects.columns) - set(output_columns(analysis["measure"]))  # the sheet's own (sheet_columns)
    if regression:
        moderators = [c for c in moderator_variables(regression["moderators"]) if c not in per_row]
        effects = with_moderators(effects, moderators, studies or [])
    order_by, subgroup = analysis.get("order_by", "year"), analysis.get("subgroup")
    known = set(studies[0]) if studies else set()
    from_studies = [c for c in (subgroup, order_by) if c and c not in effects.columns and c in known]
    effects = with_moderators(effects, from_studies, studies or [])
    result = pool_outcome(effects, analysis["measure"], analysis["method"], analysis.get("test", "z"),
                          order_by=order_by, subgroup=subgroup, file=str(effects_csv),
                          scale=analysis.get("scale"), options=options,
                          dependence=dependence.settings(analysis),
                          small_study=small_study_settings(analysis), meta_regression=regression,
                          risk_of_bias=judgements(studies) if risk_of_bias_sensitivity(analysis) else None)
    result.update(outcome=outcome_id, label=analysis.get("label", outcome_id),
                  published=analysis.get("published"), scale=analysis.get("scale"))
    write_json(out_json, result)
    return result


def with_moderators(effects: pd.DataFrame, columns: list[str], studies: list[dict]) -> pd.DataFrame:
    """The effect table with each column's value from the study's row of the studies sheet
    (text, '' where the study has none; rob_overall as metasr.rob.study_value reads it, derived by
    the tool's rule when the sheet leaves it empty); it replaces a column of the same name."""
    from metasr.rob import study_value

    by_id = {str(s.get("study_id")): s for s in studies}
    out = effects.copy()
    for column in columns:
        out[column] = [str(study_value(by_id.get(str(sid), {}), column) or "").strip() for sid in effects["study_id"]]
    return out
