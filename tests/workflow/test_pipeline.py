"""End to end: the default review runs from search exports to report, and a rerun does nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import REPO_ROOT, run_snakemake

pytestmark = pytest.mark.slow


def outcomes(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config" / "config.yaml").read_text())["outcomes"]


def test_every_stage_writes_its_outputs(finished_run: Path):
    results = finished_run / "results"
    for rel in ["records/records.csv", "records/unique.csv", "records/audit.csv",
                "screening/prisma.json", "screening/prisma.svg", "screening/prisma.png",
                "figures/summary_forest.svg", "report.html"]:
        assert (results / rel).is_file(), rel
    for oid in outcomes(finished_run):
        assert (results / "extraction" / f"{oid}.csv").is_file()
        pooled = json.loads((results / "pooled" / f"{oid}.json").read_text())
        assert pooled["status"] in {"pooled", "single_study", "no_data"}
        if pooled["k"] >= 1:
            assert (results / "figures" / f"{oid}_forest.svg").is_file(), oid
        else:
            assert pooled["status_message"], "an outcome without data must say so"


def test_outcomes_without_data_are_reported_not_dropped(finished_run: Path):
    pooled = json.loads((finished_run / "results" / "pooled" / "dmt_response.json").read_text())
    assert pooled["status"] == "no_data" and pooled["k"] == 0
    assert "no study-level data" in pooled["status_message"]
    assert pooled["published"]["estimate"] == pytest.approx(0.97)
    report = (finished_run / "results" / "report.html").read_text()
    assert "Response to disease-modifying treatment" in report


def test_pipeline_pools_what_the_pool_command_pools(finished_run: Path):
    """The pooling rule and `metasr pool` give the same numbers for the same effect inputs."""
    for oid, cfg in outcomes(finished_run).items():
        pooled = json.loads((finished_run / "results" / "pooled" / f"{oid}.json").read_text())
        if pooled["status"] != "pooled":
            continue
        table = finished_run / "results" / "extraction" / f"{oid}.csv"
        proc = subprocess.run([str(Path(sys.executable).with_name("metasr")), "pool", str(table),
                               "--measure", cfg["measure"], "--method", cfg.get("method", "REML")],
                              capture_output=True, text=True, check=True)
        direct = json.loads(proc.stdout)
        assert pooled["model"]["estimate"] == pytest.approx(direct["estimate"], rel=1e-12)
        assert pooled["model"]["tau2"] == pytest.approx(direct["tau2"], rel=1e-12, abs=1e-15)


def test_second_run_has_nothing_to_do(finished_run: Path):
    proc = run_snakemake(finished_run, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_lint_is_clean(finished_run: Path):
    """snakemake --lint finds nothing but the one exemption tools/lint_workflow.py documents
    (rules run the installed metasr package, not a conda env); the checker itself sees lints."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lint_workflow", REPO_ROOT / "tools" / "lint_workflow.py")
    lint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lint)
    found = lint.lints(finished_run)
    assert found and {title for _, title in found} == set(lint.EXEMPT)


def test_snakemake_report_builds_with_captions(finished_run: Path, tmp_path: Path):
    import zipfile

    report = tmp_path / "snakemake-report.zip"  # not inside the shared finished run
    run_snakemake(finished_run, "--report", str(report))
    with zipfile.ZipFile(report) as archive:
        names = archive.namelist()
        text = "".join(archive.read(n).decode("utf-8", "replace") for n in names
                       if n.endswith((".html", ".js", ".json")))
    assert any(n.endswith("edss_forest.svg") for n in names)
    assert any(n.endswith("prisma.svg") for n in names)
    assert "in the RevMan layout" in text  # the forest plot's caption (report/forest.rst)


def test_invalid_config_names_key_and_stops_before_any_job(workflow_copy: Path):
    config = workflow_copy / "config" / "config.yaml"
    config.write_text(config.read_text().replace("measure: IRR", "measure: IRRR", 1))
    proc = run_snakemake(workflow_copy, "--cores", "1", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "outcomes.relapse_rate.measure" in text and "IRRR" in text and "allowed" in text
    assert "Traceback" not in text
    assert not (workflow_copy / "results").exists()
