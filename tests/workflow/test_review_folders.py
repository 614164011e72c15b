"""A review is a folder: `metasr init` starts one, `metasr run` runs it, and two reviews never mix.

The starter reviews hold EXAMPLE rows (said in every such row); the second review beside the
default one is the starter imported from a table of the BCG vaccine trials (Colditz et al. 1994,
metafor's dat.bcg, copied in tests/fixtures/review_folders/bcg.csv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO_ROOT, planned_jobs, run_snakemake, snakemake_command

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
BCG = REPO_ROOT / "tests" / "fixtures" / "review_folders" / "bcg.csv"
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def metasr(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "metasr"), *args], cwd=cwd, env=ENV, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"metasr {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def pooled(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (folder / "results" / "pooled").glob("*.json")}


def test_init_then_run_gives_a_report_and_a_rerun_does_nothing(tmp_path):
    review = tmp_path / "my review"
    metasr("init", str(review))
    assert "EXAMPLE" in (review / "data/extraction/studies.csv").read_text()
    metasr("run", str(review), "--cores", "2", cwd=tmp_path)
    assert (review / "results/report.html").is_file() and (review / "logs").is_dir()
    assert json.loads((review / "results/screening/prisma.json").read_text())["included"]["studies"] == 1
    assert set(pooled(review)) == {"example_outcome"}
    again = metasr("run", str(review), "--cores", "1", "--dry-run", cwd=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr
    # a deleted figure or result of an outcome is made again (the rules after the outcome jobs
    # wait for the jobs' done files alone)
    lost = [*sorted((review / "results/figures").glob("example_outcome_*.svg"))[:1],
            review / "results/pooled/example_outcome.json"]
    for path in lost:
        path.unlink()
    assert {rule for rule, _ in planned_jobs(review)} >= {"outcome_example_outcome"}
    metasr("run", str(review), "--cores", "1", cwd=tmp_path)
    assert all(path.is_file() for path in lost)


def test_a_review_without_a_search_stage_runs_from_extraction(tmp_path):
    review = tmp_path / "reanalysis"
    metasr("init", str(review), "--no-search")
    rules = {rule for rule, _ in planned_jobs(review)}
    assert not rules & {"ingest_records", "dedup_records", "screen_records", "draw_prisma"}
    metasr("run", str(review), "--cores", "2")
    assert not (review / "results/screening").exists()
    report = (review / "results/report.html").read_text()
    assert "starts from its included studies" in report


def test_declared_prisma_counts_are_drawn_and_attributed(tmp_path):
    review = tmp_path / "update"
    metasr("init", str(review), "--no-search")
    config = review / "config.yaml"
    config.write_text(config.read_text() + """
prisma:
  source: "Figure 1 of the published review"
  databases: {identified: 120, duplicates: 20, screened: 100, excluded: 90, sought: 10,
              not_retrieved: 1, assessed: 9, reports_excluded: {wrong comparison: 8}}
  studies_included: 1
  reports_included: 1
""")
    metasr("run", str(review), "--cores", "2")
    prisma = json.loads((review / "results/screening/prisma.json").read_text())
    assert prisma["origin"] == "declared" and (review / "results/screening/prisma.svg").is_file()
    assert "declared in the config, from Figure 1 of the published review" in \
        (review / "results/report.html").read_text()


def test_a_second_review_beside_the_default_keeps_its_own_results_and_history(finished_run: Path):
    """Run from the default review's folder with --configfile, as the old README said: nothing of the
    default review (outcomes, narrative, results, history) reaches the second, and back."""
    second = finished_run.parent / "bcg"
    metasr("init", str(second), "--from-csv", str(BCG), "--measure", "RR")
    default_results = {p: p.stat().st_mtime_ns for p in (finished_run / "results").rglob("*") if p.is_file()}
    run_snakemake(finished_run, "--cores", "2", "--configfile", str(second / "config.yaml"))
    assert set(pooled(second)) == {"outcome"}
    assert pooled(second)["outcome"]["k"] == 13
    # metafor: rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    assert pooled(second)["outcome"]["model"]["estimate"] == pytest.approx(-0.7145323, abs=1e-7)
    assert len(list((second / "results/history").glob("*.json"))) == 1
    assert {p: p.stat().st_mtime_ns for p in (finished_run / "results").rglob("*") if p.is_file()} == default_results
    assert "Nothing to be done" in run_snakemake(finished_run, "--cores", "1", "--dry-run").stdout


def test_directory_and_configfile_must_name_the_same_review(finished_run: Path, tmp_path: Path):
    other = tmp_path / "other"
    metasr("init", str(other), "--no-search")
    proc = run_snakemake(finished_run, "--cores", "1", "--dry-run", "--directory", str(finished_run),
                         "--configfile", str(other / "config.yaml"), check=False)
    assert proc.returncode != 0 and "is not the folder of the review" in proc.stdout + proc.stderr


def test_config_values_from_the_command_line_are_refused(finished_run: Path):
    proc = run_snakemake(finished_run, "--cores", "1", "--dry-run", "--config", "execution={png: false}", check=False)
    assert proc.returncode != 0 and "--config values are not supported" in proc.stdout + proc.stderr


def test_a_templated_config_runs_nothing(tmp_path):
    review = tmp_path / "hostile"
    metasr("init", str(review), "--no-search")
    marker = tmp_path / "pwned"
    config = review / "config.yaml"
    config.write_text(f'__use_yte__: true\n# ?__import__("os").system("touch {marker}")\n' + config.read_text())
    for proc in (metasr("run", str(review), "--cores", "1", check=False),
                 subprocess.run(snakemake_command("--cores", "1", "--directory", str(review)), env=ENV,
                                capture_output=True, text=True)):
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "templating (__use_yte__) is not supported" in out
    assert not marker.exists()


@pytest.mark.parametrize("text", ["", "# comments only\n", "- a list\n", "a scalar\n"])
def test_a_config_that_is_not_a_mapping_stops_every_entry_point(tmp_path, text):
    review = tmp_path / "review"
    review.mkdir()
    (review / "config.yaml").write_text(text)
    runs = [metasr("run", str(review), "--cores", "1", check=False),
            metasr("extraction", "validate", "--review", str(review), check=False),
            metasr("screening", "run", "--review", str(review), "--records", str(tmp_path / "records"),
                   "--out", str(tmp_path / "screening"), check=False)]
    for proc in runs:
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "config.yaml: the config " in proc.stderr and "rule: config-mapping" in proc.stderr
    assert sorted(p.name for p in review.iterdir()) == ["config.yaml"] and not (tmp_path / "screening").exists()
    direct = subprocess.run(snakemake_command("--cores", "1", "--directory", str(review)), env=ENV,
                            capture_output=True, text=True)
    assert direct.returncode != 0 and "rule: config-mapping" in direct.stdout + direct.stderr
    assert not (review / "results").exists()


def test_metasr_run_reports_problems_without_a_traceback(tmp_path):
    missing = metasr("run", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 2 and "review folder not found" in missing.stderr
    review = tmp_path / "broken"
    metasr("init", str(review), "--no-search")
    sheet = review / "data/extraction/outcomes/example_outcome.csv"
    sheet.write_text(sheet.read_text().replace(",12.4,3.1,", ",12.4,-3.1,"))
    proc = metasr("run", str(review), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "data/extraction/outcomes/example_outcome.csv, row 2, column 'sd1'" in proc.stderr
    assert not (review / "results").exists()


def test_the_workflow_runs_as_a_snakemake_module(tmp_path: Path):
    host = tmp_path / "host"
    metasr("init", str(host), "--no-search")
    (host / "Snakefile").write_text(f"""
configfile: "config.yaml"


module metasr:
    snakefile:
        "{REPO_ROOT / 'Snakefile'}"
    config:
        config


use rule * from metasr as metasr_*


rule all:
    default_target: True
    input:
        rules.metasr_all.input,
""")
    proc = subprocess.run([str(BIN / "snakemake"), "--cores", "2"], cwd=host, env=ENV, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(pooled(host)) == {"example_outcome"} and (host / "results/report.html").is_file()


def test_a_bad_export_stops_the_run_before_any_job_and_results_stay(finished_run: Path, tmp_path: Path):
    import shutil

    review = tmp_path / "review"
    shutil.copytree(finished_run, review, symlinks=True)
    before = {p: p.stat().st_mtime_ns for p in (review / "results").rglob("*") if p.is_file()}
    export = review / "data" / "search" / "wos.txt"
    export.write_text(export.read_text(encoding="utf-8-sig")[:-40], encoding="utf-8")  # cut off
    proc = run_snakemake(review, "--cores", "2", check=False)
    assert proc.returncode != 0 and "wos.txt" in proc.stdout + proc.stderr
    assert {p: p.stat().st_mtime_ns for p in (review / "results").rglob("*") if p.is_file()} == before


def test_results_of_a_removed_outcome_are_removed_and_history_kept(finished_run: Path, tmp_path: Path):
    import shutil

    import yaml

    review = tmp_path / "review"
    shutil.copytree(finished_run, review, symlinks=True)
    config = review / "config" / "config.yaml"
    raw = yaml.safe_load(config.read_text())
    del raw["outcomes"]["sdmt"]
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    (review / "data/extraction/outcomes/sdmt.csv").unlink()
    history = sorted((review / "results/history").glob("*.json"))
    proc = run_snakemake(review, "--cores", "2")
    assert "removed" in proc.stdout + proc.stderr
    assert not list((review / "results").rglob("sdmt*"))
    assert set(history) <= set((review / "results/history").glob("*.json"))
    assert "Nothing to be done" in run_snakemake(review, "--cores", "1", "--dry-run").stdout


def test_a_sources_declared_format_reaches_its_parse_job(workflow_copy: Path):
    target = "results/records/parsed/wos.csv"
    run_snakemake(workflow_copy, "--cores", "1", target)
    config = workflow_copy / "config" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    wos = "wos: {file: data/search/wos.txt, database: Web of Science, method: database"
    assert wos in text

    config.write_text(text.replace(wos, wos + ", format: wos"), encoding="utf-8")
    dry = run_snakemake(workflow_copy, "--dry-run", "--cores", "1", target).stdout
    assert "ingest_records" in dry and "wildcards: source=wos" in dry  # the changed setting reruns the job

    config.write_text(text.replace(wos, wos + ", format: medline"), encoding="utf-8")
    refused = run_snakemake(workflow_copy, "--cores", "1", target, check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "data/search/wos.txt" in refused.stderr and "read as 'medline'" in refused.stderr


def test_a_register_searched_without_hits_is_in_prisma_with_none(workflow_copy: Path):
    config = workflow_copy / "config" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    wos = "wos: {file: data/search/wos.txt, database: Web of Science, method: database}"
    assert wos in text
    (workflow_copy / "data" / "search" / "ctgov.txt").write_text("")
    register = "ctgov: {file: data/search/ctgov.txt, database: ClinicalTrials.gov, method: register, empty: true}"
    config.write_text(text.replace(wos, f"{wos}\n    {register}"), encoding="utf-8")
    run_snakemake(workflow_copy, "--cores", "2", "results/screening/prisma.json")
    prisma = json.loads((workflow_copy / "results" / "screening" / "prisma.json").read_text(encoding="utf-8"))
    sources = {s["database"]: s["n"] for s in prisma["columns"]["databases"]["identified_by_source"]}
    assert sources["ClinicalTrials.gov"] == 0 and prisma["columns"]["databases"]["registers"] == 0


def test_the_records_export_is_written_on_request(workflow_copy: Path):
    run_snakemake(workflow_copy, "--cores", "2", "export_records")
    export = workflow_copy / "results" / "records" / "export"
    assert {p.name for p in export.iterdir()} == {"records.ris", "records.csv", "clusters.csv"}
    assert "TY  - " in (export / "records.ris").read_text(encoding="utf-8")
