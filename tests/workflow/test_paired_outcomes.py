"""End to end: paired (pre-post) outcomes (SMCC, ROMC) through the Snakemake pipeline, from their
extraction sheets (form paired_mean_sd) to pooled results, forest plots and the report, and an
outcome whose rows leave r blank for the outcome's assumed correlation (Cochrane Handbook 6.5.2.8).

The numbers are dat.lehmann2018's 12 within-subjects studies (R's metadat, as committed in
tests/fixtures/measures by tools/reference/measures.R: means and SDs on the two occasions, the
number of participants and the correlation between the occasions); the pooled results are
compared with metafor's. metadat gives no bibliographic records, so the review has no search stage.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness import finished_review, read_pooled, read_rows, write_config, write_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"
REFERENCE = json.loads((FIXTURES / "measures.json").read_text())
DATASET = "lehmann2018_within"
OUTCOMES = {"attractiveness": ("SMCC", "Attractiveness ratings, red vs control"),
            "attractiveness_ratio": ("ROMC", "Attractiveness ratings, ratio of means"),
            "attractiveness_assumed_r": ("SMCC", "Attractiveness ratings (r assumed where blank)")}
ASSUMED_R = 0.7
BLANK_R_ROWS = (1, 3)  # the studies whose r the third outcome leaves blank


def paired_review(root: Path) -> Path:
    studies, sheets = [], {}
    for i, row in enumerate(read_rows(FIXTURES / "inputs" / f"{DATASET}.csv"), start=1):
        sid = f"lehmann_{i:02d}"
        studies.append({"study_id": sid, "record_id": "metadat::dat.lehmann2018", "label": row["study"]})
        for oid in OUTCOMES:
            blank = oid.endswith("assumed_r") and i in BLANK_R_ROWS
            sheets.setdefault(oid, []).append({
                "study_id": sid, "comparison": "red vs control", "reported_form": "paired_mean_sd", "n": row["ni"],
                "mean1": row["m1i"], "sd1": row["sd1i"], "mean2": row["m2i"], "sd2": row["sd2i"],
                "r": "" if blank else row["ri"], "record_id": "metadat::dat.lehmann2018",
                "source_location": f"metadat::dat.lehmann2018 within-subjects, row {i}"})
    write_rows(root / "data" / "extraction" / "studies.csv", ["study_id", "record_id", "label"], studies)
    for oid, rows in sheets.items():
        write_rows(root / "data" / "extraction" / "outcomes" / f"{oid}.csv", list(rows[0]), rows)
    outcomes = {oid: {"label": label, "measure": measure} for oid, (measure, label) in OUTCOMES.items()}
    outcomes["attractiveness_assumed_r"]["assumed_correlation"] = ASSUMED_R
    return write_config(root, {
        "review": {"id": "paired", "title": "Paired outcomes (metadat::dat.lehmann2018)",
                   "question": "Do red clothes make a person look more attractive (within-subjects studies)?",
                   "reference": "metadat::dat.lehmann2018"},
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": None},
        "outcomes": outcomes})


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_review(paired_review(tmp_path_factory.mktemp("paired") / "review"))


@pytest.mark.parametrize("oid", ["attractiveness", "attractiveness_ratio"])
def test_paired_outcomes_pool_as_metafor(finished, oid):
    measure = OUTCOMES[oid][0]
    case = next(c for c in REFERENCE["pooled"] if c["id"] == f"{DATASET}_{measure}_REML_z")
    pooled = read_pooled(finished, oid)
    assert pooled["status"] == "pooled" and pooled["k"] == case["expected"]["k"] == 12
    for key in ("estimate", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub"):
        assert math.isclose(pooled["model"][key], case["expected"][key], rel_tol=1e-6), key
    for key, value in case["transformed"].items():
        assert math.isclose(pooled["transformed"][key], value, rel_tol=1e-6), key


def test_rows_without_r_use_the_outcomes_assumed_correlation_and_say_so(finished):
    effects = read_rows(finished / "results" / "extraction" / "attractiveness_assumed_r.csv")
    assumed = [i for i, row in enumerate(effects, start=1) if row["conversion"].startswith("assumed correlation")]
    assert assumed == list(BLANK_R_ROWS) and all(float(effects[i - 1]["ri"]) == ASSUMED_R for i in assumed)
    assert all(f"r = {ASSUMED_R:g} assumed" in effects[i - 1]["conversion_detail"] for i in assumed)
    html = (finished / "results" / "report.html").read_text()
    assert "the correlation between a paired study&#39;s two measurements was the outcome&#39;s assumed " \
           "correlation" in html and "in 2 rows" in html
    forest = (finished / "results" / "figures" / "attractiveness_assumed_r_forest.svg").read_text()
    assert "† Computed with the outcome" in forest  # the † footnote says what was done


def test_the_forest_shows_both_occasions_and_no_groups(finished):
    svg = (finished / "results" / "figures" / "attractiveness_forest.svg").read_text()
    assert all(f">{header}<" in svg for header in ("Mean (1)", "SD (1)", "Mean (2)", "SD (2)", "r", "Total"))
