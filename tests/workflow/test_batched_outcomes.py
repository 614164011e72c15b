"""A review with more outcomes than `execution.outcome_jobs`: outcomes share that many jobs, every
outcome is analysed, and a change to one outcome reruns its batch only. On a SYNTHETIC review
(`metasr simulate`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metasr.simulate import simulate_review
from metasr.workflow.outcomes import assign_outcome_jobs

from harness import planned_jobs, run_snakemake

pytestmark = pytest.mark.slow

OUTCOME_JOBS = 2


@pytest.fixture(scope="module")
def batched_review(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("batched") / "review"
    simulate_review(workdir, outcomes=5, studies=4, records=120, seed=5)
    config = workdir / "config" / "config.yaml"
    config.write_text(config.read_text() + f"execution:\n  outcome_jobs: {OUTCOME_JOBS}\n  png: false\n")
    return workdir


def test_outcomes_share_the_configured_number_of_jobs_and_all_are_analysed(batched_review: Path):
    outcomes = sorted(json.loads((batched_review / "truth.json").read_text())["outcomes"])
    batches = assign_outcome_jobs(outcomes, OUTCOME_JOBS)
    planned = {rule for rule, _ in planned_jobs(batched_review) if rule.startswith("outcome_")}
    # Each batch job and the small rule that writes its inputs file (workflow.outcomes.job_inputs).
    assert planned == set(batches) | {f"{b}__inputs" for b in batches} and len(batches) <= OUTCOME_JOBS

    run_snakemake(batched_review, "--cores", "2")
    for outcome in outcomes:
        pooled = json.loads((batched_review / "results" / "pooled" / f"{outcome}.json").read_text())
        assert pooled["outcome"] == outcome and pooled["k"] >= 3
        assert (batched_review / "results" / "figures" / f"{outcome}_funnel.svg").is_file()
    assert planned_jobs(batched_review) == set()
    # execution.png: false: SVGs only (the PRISMA diagram keeps its PNG).
    pngs = {p.name for p in (batched_review / "results").rglob("*.png")}
    assert pngs == {"prisma.png"}, pngs

    # One outcome's method changes: its batch reruns, the other batch does not (the aggregates do,
    # the PRISMA diagram among them: its meta-analysis box counts the pooled studies).
    changed = outcomes[0]
    config = batched_review / "config" / "config.yaml"
    text = config.read_text()
    config.write_text(text.replace(f"\n  {changed}:\n", f"\n  {changed}:\n    method: DL\n", 1))
    batch = next(name for name, members in batches.items() if changed in members)
    assert planned_jobs(batched_review) == {(batch, ""), (f"{batch}__inputs", ""), ("plot_summary", ""),
                                            ("write_report", ""), ("draw_prisma", "")}
