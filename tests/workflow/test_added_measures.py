"""End to end: metafor 3.8-1's measures added after the first ones through the Snakemake pipeline,
from their extraction sheets to pooled results, forest plots and the report: partial and
semi-partial correlations (PCOR, SPCOR: form regression_t), the phi coefficient of 2x2 tables
(PHI: events_n), SMD1 (mean_sd, standardised by the control group's SD) and IRSD (events_persontime).

The numbers are metadat's (R), as committed in tests/fixtures/measures by tools/reference/measures.R:
dat.aloe2013, dat.bourassa1996, dat.normand1999 and dat.hart1999; the pooled results are compared
with metafor's. metadat gives no bibliographic records, so the review has no search stage.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness import finished_review, read_pooled, read_rows, write_config, write_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"
REFERENCE = json.loads((FIXTURES / "measures.json").read_text())


def regression(row: dict) -> dict:
    return {"reported_form": "regression_t", "t_stat": row["ti"], "n": row["ni"], "predictors": row["mi"],
            "r2": row["r2i"]}


def table(row: dict) -> dict:
    return {"reported_form": "events_n", "events1": row["ai"], "n1": int(row["ai"]) + int(row["bi"]),
            "events2": row["ci"], "n2": int(row["ci"]) + int(row["di"])}


def means(row: dict) -> dict:
    return {"reported_form": "mean_sd", **{f"{cell}{g}": row[f"{column}{g}i"] for g in (1, 2)
                                           for cell, column in (("n", "n"), ("mean", "m"), ("sd", "sd"))}}


def rates(row: dict) -> dict:
    return {"reported_form": "events_persontime", "events1": row["x1i"], "time1": row["t1i"], "events2": row["x2i"],
            "time2": row["t2i"]}


# outcome: (measure, metadat data set, its sheet row, label)
OUTCOMES = {"supervision": ("PCOR", "aloe2013", regression, "Supervision and job outcomes (partial r)"),
            "supervision_sr": ("SPCOR", "aloe2013", regression, "Supervision and job outcomes (semi-partial r)"),
            "eye_dominance": ("PHI", "bourassa1996", table, "Left-handedness and left-eye dominance"),
            "length_of_stay": ("SMD1", "normand1999", means, "Length of stay (standardised by routine care)"),
            "stroke": ("IRSD", "hart1999", rates, "Stroke (square root rate difference)")}
COLUMNS = ["study_id", "comparison", "reported_form", "t_stat", "n", "predictors", "r2", "events1", "n1", "events2",
           "n2", "mean1", "sd1", "mean2", "sd2", "time1", "time2", "record_id", "source_location"]


def added_review(root: Path) -> Path:
    studies, sheets = {}, {}
    for oid, (_, dataset, sheet_row, _) in OUTCOMES.items():
        for i, row in enumerate(read_rows(FIXTURES / "inputs" / f"{dataset}.csv"), start=1):
            sid = f"{dataset}_{i:02d}"
            studies[sid] = {"study_id": sid, "record_id": f"metadat::dat.{dataset}", "label": row["study"]}
            sheets.setdefault(oid, []).append({
                "study_id": sid, "comparison": "as in metadat", **sheet_row(row),
                "record_id": f"metadat::dat.{dataset}", "source_location": f"metadat::dat.{dataset}, row {i}"})
    write_rows(root / "data" / "extraction" / "studies.csv", ["study_id", "record_id", "label"], list(studies.values()))
    for oid, rows in sheets.items():
        write_rows(root / "data" / "extraction" / "outcomes" / f"{oid}.csv", COLUMNS, rows, ignore_extra=True)
    return write_config(root, {
        "review": {"id": "added", "title": "Added measures (metadat)", "question": "Do the added measures pool as "
                   "metafor pools them?", "reference": "metadat"},
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": None},
        "outcomes": {oid: {"label": label, "measure": measure} for oid, (measure, _, _, label) in OUTCOMES.items()}})


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_review(added_review(tmp_path_factory.mktemp("added") / "review"))


@pytest.mark.parametrize("oid", sorted(OUTCOMES))
def test_added_measures_pool_as_metafor(finished, oid):
    measure, dataset, *_ = OUTCOMES[oid]
    case = next(c for c in REFERENCE["pooled"] if c["id"] == f"{dataset}_{measure}_REML_z")
    pooled = read_pooled(finished, oid)
    assert pooled["status"] == "pooled" and pooled["k"] == case["expected"]["k"]
    for key in ("estimate", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub"):
        assert math.isclose(pooled["model"][key], case["expected"][key], rel_tol=1e-6), key


def test_the_forests_show_what_each_study_gave(finished):
    figures = finished / "results" / "figures"
    svg = (figures / "supervision_sr_forest.svg").read_text()
    assert all(f">{header}<" in svg for header in ("t", "Predictors", "R²", "Total", "Semi-partial correlation"))
    assert ">Favours" not in svg
    svg = (figures / "eye_dominance_forest.svg").read_text()
    assert ">Phi coefficient<" in svg and ">Events<" in svg and ">Experimental<" in svg
    svg = (figures / "length_of_stay_forest.svg").read_text()
    assert ">Std. mean difference (control SD)<" in svg and ">SD<" in svg


def test_the_report_names_each_measure(finished):
    html = (finished / "results" / "report.html").read_text()
    for text in ("semi-partial correlation", "phi coefficient", "t = 4.61, 4 predictors, R² = 0.24, n = 218"):
        assert text in html, text
