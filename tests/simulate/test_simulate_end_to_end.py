"""End to end: a simulated review runs through snakemake, and the pipeline finds what the
simulator put in (PRISMA counts exactly; pooled effects near the true ones)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metasr.simulate import simulate_review

pytestmark = pytest.mark.slow

METASR = str(Path(sys.executable).with_name("metasr"))
PRISMA_KEYS = ("identified", "duplicates", "screened", "excluded", "sought", "not_retrieved", "assessed",
               "reports_excluded", "reports_included", "studies_included")


def metasr_run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`metasr run FOLDER ...`, as a user runs a review folder."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([METASR, "run", str(workdir), *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"metasr run {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory) -> tuple[Path, dict]:
    workdir = tmp_path_factory.mktemp("e2e") / "review"
    # Through the command line, as a user would: `metasr simulate ...`, then the workflow on it.
    proc = subprocess.run([str(Path(sys.executable).with_name("metasr")), "simulate", "--outcomes", "3", "--studies",
                           "6", "--records", "200", "--seed", "31", "--out", str(workdir)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    truth = json.loads((workdir / "truth.json").read_text())
    assert truth == json.loads(json.dumps(simulate_review(workdir.with_name("again"), outcomes=3, studies=6,
                                                          records=200, seed=31)))
    metasr_run(workdir, "--cores", "2")
    return workdir, truth


def test_prisma_counts_equal_the_simulated_truth(simulated_run):
    workdir, truth = simulated_run
    prisma = json.loads((workdir / "results/screening/prisma.json").read_text())
    assert prisma["records"] == truth["prisma"]["records"]
    assert prisma["records"]["identified"] == 200
    assert {k: prisma["included"][k] for k in truth["prisma"]["included"]} == truth["prisma"]["included"]
    mapping = prisma["included"]["study_reports"]  # which included reports are whose
    assert (len(mapping), sum(map(len, mapping.values()))) == (truth["prisma"]["included"]["studies"],
                                                               truth["prisma"]["included"]["reports"])
    for column, counts in prisma["columns"].items():
        want = truth["prisma"]["columns"][column]
        assert {k: counts[k] for k in PRISMA_KEYS} == {k: want[k] for k in PRISMA_KEYS}, column
    assert prisma["warnings"] == []


def test_pooled_estimates_are_near_the_true_effects(simulated_run):
    workdir, truth = simulated_run
    for oid, true in truth["outcomes"].items():
        pooled = json.loads((workdir / f"results/pooled/{oid}.json").read_text())
        assert pooled["status"] == "pooled", oid
        assert pooled["k"] == true["k_usable"] and pooled["k_rows"] >= true["k"], oid
        assert {s["study_id"] for s in pooled["studies"]} == {s["study_id"] for s in true["studies"] if s["usable"]}
        model = pooled["model"]
        # theta inside a 99.9% interval around the estimate (the 95% CI misses 1 time in 20).
        half = 3.29 / 1.96 * (model["ci_ub"] - model["ci_lb"]) / 2
        assert abs(model["estimate"] - true["theta"]) <= half, (oid, model["estimate"], true["theta"])


def test_the_report_and_figures_are_written(simulated_run):
    workdir, truth = simulated_run
    report = (workdir / "results/report.html").read_text()
    assert "SYNTHETIC review" in report
    for oid in truth["outcomes"]:
        assert (workdir / f"results/figures/{oid}_forest.svg").is_file()
    proc = metasr_run(workdir, "--cores", "1", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr
