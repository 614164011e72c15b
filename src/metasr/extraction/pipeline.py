"""Workflow step: one outcome sheet -> results/extraction/{outcome}.csv (metafor-style inputs).

Contract (docs/architecture.md, "Extraction"): one output row per source row, nothing dropped;
study_id, label, year, usable, not_usable_reason, the measure's columns, then provenance
(record_id, source_location, source_url, reported_form, conversion, conversion_detail, and the sheet's
own note of how a number was derived from the source: derivation) and the
comparison the row belongs to, with what tells a study's effect sizes apart (timepoint, es_id) and,
for a multi-arm trial, the group it shares with its other comparisons (shared_group) and between
how many comparisons that group was split (shared_split).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from metasr import dependence
from metasr.analysis_settings import sheet_columns
from metasr.errors import Problem, raise_if_errors
from metasr.extraction.converting import (
    SHEET_ROW,
    conversion_settings,
    outcome_effect_problems,
    usable_rows_by_study,
)
from metasr.extraction.effects import MEASURE_COLUMNS, EffectRow
from metasr.extraction.schema import coerce
from metasr.extraction.settings import extraction_settings
from metasr.extraction.sheets import read_sheet, write_sheet
from metasr.extraction.validate import check_outcome_rows
from metasr.provenance import PROVENANCE_COLUMNS

LEAD_COLUMNS = ["study_id", "label", "year", "usable", "not_usable_reason"]


def output_columns(measure: str, characteristics: Sequence[str] = ()) -> list[str]:
    """The effect table's columns; `characteristics`: the effect-size columns the outcome's sheet
    carries for its analyses (analysis_settings.sheet_columns), last."""
    columns = [*LEAD_COLUMNS, *MEASURE_COLUMNS[measure], *PROVENANCE_COLUMNS]
    return columns + [c for c in characteristics if c not in columns]


def prepare_outcome(sheet_csv, studies: list[dict], outcome_id: str, outcome_cfg: dict,
                    extraction_cfg: dict, out_csv) -> list[Problem]:
    """Validate one outcome sheet, convert every row, write the effect-input table atomically.

    Raises InputError (nothing written) on any error; returns the warnings.
    """
    extraction_cfg = extraction_settings({"extraction": extraction_cfg or {}})
    settings = conversion_settings(outcome_id, outcome_cfg, extraction_cfg)
    sheet = read_sheet(sheet_csv)
    by_id = {s["study_id"]: {**coerce(s), SHEET_ROW: None} for s in studies}
    characteristics = [c for c in sheet_columns(outcome_cfg) if c in sheet.header]
    problems, typed_rows = check_outcome_rows(sheet, by_id, characteristics)
    problems += sheet_discrepancies(sheet_csv, outcome_id, extraction_cfg)
    warnings = raise_if_errors(problems)
    effect_problems, converted = outcome_effect_problems(typed_rows, settings, outcome_cfg, sheet.path)
    warnings += raise_if_errors(effect_problems)
    numbered = sorted(((_output_row(row, result, by_id, characteristics), row[SHEET_ROW])
                       for row, result in converted),
                      key=lambda pair: pair[0]["study_id"])  # stable: keeps sheet order within a study
    rows = [row for row, _ in numbered]
    if settings.multi_arm is None:  # the outcome does not say how dependent effect sizes are handled
        raise_if_errors(dependence.undeclared_problems(outcome_id, sheet.path,
                                                       usable_rows_by_study(rows, [n for _, n in numbered])))
    write_sheet(out_csv, output_columns(settings.measure, characteristics), rows)
    return warnings


def _output_row(row: dict, result: EffectRow, studies: dict[str, dict], characteristics: Sequence[str] = ()) -> dict:
    study = studies.get(row["study_id"], {})
    out = {"study_id": row["study_id"], "label": study.get("label") or row["study_id"],
           "year": study.get("year"), "usable": result.usable,
           "not_usable_reason": "" if result.usable else result.reason}
    out.update({k: (float(v) if isinstance(v, float) else v) for k, v in result.values.items()})
    out.update({"record_id": row.get("record_id"), "source_location": row.get("source_location"),
                "source_url": row.get("source_url"), "reported_form": row.get("reported_form"),
                "conversion": result.conversion if result.usable else "",
                "conversion_detail": "; ".join(result.detail) if result.usable else "",
                "derivation": row.get("derivation"),
                "comparison": row.get("comparison"), "timepoint": row.get("timepoint"), "es_id": row.get("es_id"),
                "shared_group": row.get("shared_group"),
                "shared_split": result.shared_split if result.usable else None})
    out.update({c: row.get(c) for c in characteristics if c not in out})
    return out


def sheet_discrepancies(sheet_csv, outcome_id: str, extraction_cfg: dict, root=".") -> list[Problem]:
    """Unresolved differences from the second extraction of this outcome's sheet (none without
    one): validation's own check, for this sheet (paths relative to the review folder `root`)."""
    if not extraction_cfg.get("second_extractor_dir"):
        return []
    from metasr.extraction.discrepancies import discrepancy_problems

    config = {"extraction": {**extraction_cfg, "outcomes_dir": str(Path(sheet_csv).parent)},
              "outcomes": {outcome_id: {}}}
    return discrepancy_problems(config, Path(root), only=f"outcomes/{outcome_id}.csv")
