"""End to end: a prevalence outcome (PFT), a correlation outcome (ZCOR) and two single-group mean
outcomes (MN, MNLN) through the Snakemake pipeline, from their extraction sheets to pooled results,
forest plots and the report.

The numbers are published data sets from R's metadat (as committed in tests/fixtures/measures by
tools/reference/measures.R): dat.pritz1997 (Pritz 1997: good outcome after surgery for
intracerebral aneurysms, xi of ni patients, 14 studies) and dat.molloy2014 (Molloy et al. 2014:
correlation of conscientiousness with medication adherence, ri and ni, 16 studies), dat.senn2013
(Senn et al. 2013: the placebo arms' mean change in HbA1c, 18 arms) and dat.normand1999 (Normand
1999: length of stay in the specialist stroke-care arms, 9 studies). metadat gives
no bibliographic records for these studies, so the review starts from its included studies (no
search stage); the pooled results are compared with metafor's.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness import finished_review, read_pooled, read_rows, write_config, write_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"
REFERENCE = json.loads((FIXTURES / "measures.json").read_text())
OUTCOMES = {  # outcome id: (metadat data set, measure, label, sheet cells from the data set's columns)
    "good_outcome": ("pritz1997", "PFT", "Good outcome after aneurysm surgery", {"events": "xi", "n": "ni"}),
    "adherence": ("molloy2014", "ZCOR", "Conscientiousness and medication adherence", {"r": "ri", "n": "ni"}),
    "hba1c_change": ("senn2013_placebo", "MN", "Change in HbA1c on placebo",
                     {"mean": "mi", "sd": "sdi", "n": "ni"}),
    "length_of_stay": ("normand1999_specialist", "MNLN", "Length of stay in specialist care",
                       {"mean": "mi", "sd": "sdi", "n": "ni"}),
}
FORMS = {"PFT": "events_total", "ZCOR": "correlation", "MN": "single_mean_sd", "MNLN": "single_mean_sd"}




def single_group_review(dest: Path) -> Path:
    """A review folder with the two single-group outcomes. It starts from its included studies
    (metadat holds no bibliographic records): config, studies and outcome sheets only."""
    root = dest
    data = root / "data"
    studies, sheets = [], {}
    for oid, (dataset, measure, _, cells) in OUTCOMES.items():
        for i, row in enumerate(read_rows(FIXTURES / "inputs" / f"{dataset}.csv"), start=1):
            sid, rid = f"{dataset}_{i:02d}", f"metadat::dat.{dataset}"
            studies.append({"study_id": sid, "record_id": rid, "label": row["study"], "year": row.get("year", "")})
            sheets.setdefault(oid, []).append({
                "study_id": sid, "comparison": "single group", "reported_form": FORMS[measure],
                **{cell: row[column] for cell, column in cells.items()},
                "record_id": rid, "source_location": f"metadat::dat.{dataset}, row {i}"})
    write_rows(data / "extraction" / "studies.csv", ["study_id", "record_id", "label", "year"], studies)
    for oid, rows in sheets.items():
        write_rows(data / "extraction" / "outcomes" / f"{oid}.csv",
                   ["study_id", "comparison", "reported_form", "events", "n", "r", "mean", "sd", "record_id",
                    "source_location"],
                   rows)
    config = {
        "review": {"id": "single-group", "title": "Single-group outcomes (metadat data sets)",
                   "question": "How often is the outcome good after aneurysm surgery, and how does "
                               "conscientiousness correlate with medication adherence?",
                   "reference": "metadat::dat.pritz1997 and metadat::dat.molloy2014"},
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": None},
        "outcomes": {oid: {"label": label, "measure": measure} for oid, (_, measure, label, _) in OUTCOMES.items()},
    }
    return write_config(root, config)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_review(single_group_review(tmp_path_factory.mktemp("single") / "review"))


def reference(dataset: str, measure: str) -> dict:
    return next(c for c in REFERENCE["pooled"] if c["id"] == f"{dataset}_{measure}_REML_z")


@pytest.mark.parametrize("oid", list(OUTCOMES))
def test_single_group_outcomes_pool_as_metafor_and_back_transform(finished, oid):
    dataset, measure, _, _ = OUTCOMES[oid]
    pooled = read_pooled(finished, oid)
    case = reference(dataset, measure)
    assert pooled["status"] == "pooled" and pooled["k"] == case["expected"]["k"]
    for key in ("estimate", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub"):
        assert math.isclose(pooled["model"][key], case["expected"][key], rel_tol=1e-6), key
    for key, value in case["transformed"].items():
        assert math.isclose(pooled["transformed"][key], value, rel_tol=1e-6), key
    assert pooled["transform"]["name"] == case["transform"]
    assert pooled["transform"]["analysis_scale"]  # the JSON states the analysis scale


def test_forest_plots_show_single_group_columns_and_the_analysis_scale(finished):
    prevalence = (finished / "results" / "figures" / "good_outcome_forest.svg").read_text()
    assert "Events" in prevalence and "Total" in prevalence and "Proportion (%)" in prevalence
    assert "Freeman-Tukey double arcsine" in prevalence and "transf.ipft.hm" in prevalence
    assert "Test for overall effect" not in prevalence  # no null: no test against it
    correlation = (finished / "results" / "figures" / "adherence_forest.svg").read_text()
    assert ">r<" in correlation and "Fisher" in correlation and "transf.ztor" in correlation
    # The pooled proportion in %, as metafor's predict(transf = transf.ipft.hm) gives it.
    pft = reference("pritz1997", "PFT")["transformed"]
    assert f"{100 * pft['estimate']:.2f} [{100 * pft['ci_lb']:.2f}, {100 * pft['ci_ub']:.2f}]" in prevalence


def test_report_states_the_scale(finished):
    html = (finished / "results" / "report.html").read_text()
    assert "Good outcome after aneurysm surgery" in html and "Conscientiousness and medication adherence" in html
    assert "Freeman-Tukey double arcsine proportion scale" in html and "We pooled 4 single-group outcomes" in html
    # of the two mean outcomes only the MNLN one was analysed on the log scale
    assert "the means of Length of stay in specialist care were analysed on the log mean scale and " \
           "back-transformed for display (exp)" in html


def test_a_mean_is_shown_as_a_mean_without_a_test_against_0(finished):
    html = (finished / "results" / "report.html").read_text()
    for dataset, measure in (("senn2013_placebo", "MN"), ("normand1999_specialist", "MNLN")):
        t = reference(dataset, measure)["transformed"]
        assert f"Mean {t['estimate']:.2f} ({t['ci_lb']:.2f} to {t['ci_ub']:.2f})".replace("-", "−") in html
    assert html.count("– (the measure has no null)") == 3  # PFT, MN, MNLN: no test for overall effect (ZCOR has one)
    change = (finished / "results" / "figures" / "hba1c_change_forest.svg").read_text()
    los = (finished / "results" / "figures" / "length_of_stay_forest.svg").read_text()
    for svg in (change, los):
        assert all(f">{header}<" in svg for header in ("Mean", "SD", "Total")) and "Test for overall effect" not in svg
    # MNLN on the exp scale: each study's mean and the pooled mean, as metafor's predict(transf = exp)
    t = reference("normand1999_specialist", "MNLN")["transformed"]
    assert "55.00 [48.08, 62.92]" in los and f"{t['estimate']:.2f} [{t['ci_lb']:.2f}, {t['ci_ub']:.2f}]" in los
    assert "back-transformed from the log mean scale (exp)" in los
    assert all(f">{tick}<" in los for tick in ("10", "20", "50", "100"))  # 1-2-5 ticks on the log axis
