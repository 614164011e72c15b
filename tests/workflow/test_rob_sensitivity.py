"""The sensitivity analysis without the studies at high risk of bias, end to end: a SYNTHETIC
review (`metasr simulate`, RoB 2 judgements in its studies sheet) run by the pipeline; each pooled
outcome's section left out exactly the studies the sheet judges at high risk, refitted the
outcome's model on the others (the engine's own fit on them), and the report and its methods say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metasr.extraction.sheets import read_sheet
from metasr.simulate import simulate_review
from metasr.stats.models import fit_rma
from metasr.stats.rob_sensitivity import at_high_risk, judgements

from harness import run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def review(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("robsens") / "review"
    simulate_review(workdir, outcomes=2, studies=8, records=60, seed=4)
    config = workdir / "config" / "config.yaml"
    config.write_text(config.read_text() + "execution:\n  png: false\n")
    run_snakemake(workdir, "--cores", "2")
    return workdir


def test_each_outcome_leaves_out_its_studies_at_high_risk_and_the_report_shows_it(review: Path):
    sheet = read_sheet(review / "data" / "extraction" / "studies.csv")
    overall = judgements([{k: "" if v is None else str(v) for k, v in r.items()} for r in sheet.rows])
    assert overall is not None and any(at_high_risk(w) for w in overall.values())
    ran = []
    for path in sorted((review / "results" / "pooled").glob("*.json")):
        pooled = json.loads(path.read_text())
        if pooled["status"] != "pooled":
            continue
        section = pooled["sensitivity"]["excluding_high_risk"]
        high = {s["study_id"] for s in pooled["studies"] if at_high_risk(overall[s["study_id"]])}
        assert {s["study_id"] for s in section["left_out"]} == high
        if "skipped" in section:
            continue
        kept = [s for s in pooled["studies"] if s["study_id"] not in high]
        fit = fit_rma([s["yi"] for s in kept], [s["vi"] for s in kept], method=pooled["method"], test=pooled["test"],
                      measure=pooled["measure"])
        assert section["model"]["estimate"] == pytest.approx(fit.estimate, rel=1e-10)
        assert section["model"]["ci_ub"] == pytest.approx(float(fit.ci_ub[0]), rel=1e-10)
        assert section["k_studies"] == len(kept)
        ran.append(pooled["label"])
    assert ran
    report = (review / "results" / "report.html").read_text()
    assert report.count("<h4>Without the studies at high risk of bias</h4>") >= len(ran)
    assert "a sensitivity analysis left out the studies at high risk of bias" in report
