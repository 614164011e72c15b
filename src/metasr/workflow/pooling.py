"""File-level pooling step: an outcome's effect-input table in, its pooled-results JSON out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from metasr import dependence
from metasr.io import plain_frame, write_json
from metasr.stats.analysis import pool_outcome
from metasr.stats.effects import Options

TEXT_COLUMNS = {"study_id": str, "label": str, "record_id": str, "comparison": str, "timepoint": str, "es_id": str}


def pool_outcome_file(effects_csv: str | Path, outcome_id: str, analysis: dict, out_json: str | Path) -> dict:
    """Pool one outcome as configured (measure, method, test, order_by, escalc options) and write
    the JSON contract of docs/architecture.md, with the outcome's label and the published reference
    estimate."""
    effects = plain_frame(pd.read_csv(effects_csv, dtype=TEXT_COLUMNS, keep_default_na=True))
    escalc = analysis.get("escalc") or {}
    options = Options(add=escalc.get("add"), to=escalc.get("to", "only0"), drop00=bool(escalc.get("drop00", False)),
                      vtype=escalc.get("vtype"))
    result = pool_outcome(effects, analysis["measure"], analysis["method"], analysis.get("test", "z"),
                          order_by=analysis.get("order_by", "year"), file=str(effects_csv),
                          scale=analysis.get("scale"), options=options,
                          dependence=dependence.settings(analysis))
    result.update(outcome=outcome_id, label=analysis.get("label", outcome_id),
                  published=analysis.get("published"), scale=analysis.get("scale"))
    write_json(out_json, result)
    return result
