"""Living review: the work a change causes is proportional to the change.

Each test copies a finished run of the default review, changes one thing, and asserts the exact set
of jobs Snakemake plans (`--dry-run`) before anything runs. The study added here is synthetic (made
up for the test, and labelled so); the default review's data are untouched.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from metasr import history

from harness import planned_jobs, run_snakemake

pytestmark = pytest.mark.slow

SYNTHETIC_PMID = "99999901"
SYNTHETIC_DOI = "10.0000/metasr.synthetic.2026.1"
SYNTHETIC_TITLE = "SYNTHETIC TEST RECORD: processing speed in patients with and without iron rim lesions"
SYNTHETIC_STUDY = "Synthetic2026"

# The jobs that aggregate every outcome's settings or results (they rerun whenever any outcome does).
AGGREGATES = {("plot_summary", ""), ("write_report", "")}
# ... and the PRISMA diagram, whose meta-analysis box counts the pooled studies (it reruns when a
# pooled result is rewritten).
POOLED_AGGREGATES = AGGREGATES | {("draw_prisma", "")}
# ... and the one that draws every study's risk of bias (reruns when the studies sheet changes).
STUDY_AGGREGATES = AGGREGATES | {("plot_rob", "")}


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    """A private copy of the finished run, Snakemake's metadata included (timestamps preserved)."""
    dest = tmp_path / "review"
    shutil.copytree(finished_run, dest, symlinks=True)
    return dest


def outcome_jobs(outcome: str) -> set[tuple[str, str]]:
    """The default review has fewer outcomes than `execution.outcome_jobs`: one job per outcome
    (extraction, pooling and figures; rules/outcomes.smk)."""
    return {(f"outcome_{outcome}", ""), (f"outcome_{outcome}__inputs", "")}


def append_csv_row(path: Path, values: dict) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=header, lineterminator="\n").writerow(values)


def add_synthetic_study_to_sdmt(workdir: Path) -> None:
    """A new (synthetic) study: its search record, its screening decisions, its study row and its
    SDMT numbers, the way a reviewer adds a study to a living review."""
    data = workdir / "data"
    with open(data / "search" / "pubmed.nbib", "a", encoding="utf-8") as fh:
        fh.write(f"\nPMID- {SYNTHETIC_PMID}\nDP  - 2026\nTI  - {SYNTHETIC_TITLE}\n"
                 f"FAU - Synthetic, Tester\nAU  - Synthetic T\nPT  - Journal Article\nTA  - Mult Scler\n"
                 f"AID - {SYNTHETIC_DOI} [doi]\n")
    key = {"doi": SYNTHETIC_DOI, "pmid": SYNTHETIC_PMID, "title": SYNTHETIC_TITLE, "year": "2026"}
    append_csv_row(data / "screening" / "title_abstract.csv", {**key, "decision": "include",
                                                               "notes": "synthetic test record"})
    append_csv_row(data / "screening" / "full_text.csv", {**key, "decision": "include",
                                                          "study_id": SYNTHETIC_STUDY,
                                                          "notes": "synthetic test record"})
    append_csv_row(data / "extraction" / "studies.csv", {
        "study_id": SYNTHETIC_STUDY, "record_id": "SYNTH1", "label": "Synthetic 2026", "first_author": "Synthetic T",
        "year": "2026", "design": "synthetic test study", "n_total": "60", "n_group1": "25", "n_group2": "35",
        "notes": "SYNTHETIC: made up by the living-review test"})
    append_csv_row(data / "extraction" / "outcomes" / "sdmt.csv", {
        "study_id": SYNTHETIC_STUDY, "comparison": ">=1 rim lesion vs none", "timepoint": "baseline",
        "reported_form": "mean_sd", "n1": "25", "mean1": "48.0", "sd1": "11.0", "n2": "35", "mean2": "55.0",
        "sd2": "10.0", "unit": "SDMT points", "record_id": "SYNTH1", "source_location": "synthetic",
        "notes": "SYNTHETIC: made up by the living-review test"})


def test_adding_a_study_to_one_outcome_reruns_that_outcome_and_the_aggregates(run_copy: Path):
    add_synthetic_study_to_sdmt(run_copy)
    records = {("ingest_records", "pubmed"), ("dedup_records", ""), ("screen_records", ""), ("draw_prisma", "")}
    assert planned_jobs(run_copy) == records | outcome_jobs("sdmt") | STUDY_AGGREGATES

    run_snakemake(run_copy, "--cores", "2")
    pooled = json.loads((run_copy / "results" / "pooled" / "sdmt.json").read_text())
    assert SYNTHETIC_STUDY in {s["study_id"] for s in pooled["studies"]}
    report = (run_copy / "results" / "report.html").read_text()
    assert "Synthetic 2026" in report or SYNTHETIC_STUDY in report
    assert len(list((run_copy / "results" / "history").glob("*.json"))) == 2
    assert planned_jobs(run_copy) == set()


def test_changing_one_outcomes_method_reruns_only_that_outcome(run_copy: Path):
    config = run_copy / "config" / "config.yaml"
    text = config.read_text()
    assert "\n  sdmt:\n" in text
    config.write_text(text.replace("\n  sdmt:\n", "\n  sdmt:\n    method: DL\n", 1))
    assert planned_jobs(run_copy) == outcome_jobs("sdmt") | POOLED_AGGREGATES
    run_snakemake(run_copy, "--cores", "2")
    # the report's change log says why the results moved: the settings changed, no data file did
    changes = (run_copy / "results" / "report.html").read_text().split('id="changes"')[1].split("</section>")[0]
    assert f"Inputs changed: {history.SETTINGS_INPUT}" in changes


def test_changing_one_outcomes_grade_judgement_reruns_no_outcome_job(run_copy: Path):
    config = run_copy / "config" / "config.yaml"
    text = config.read_text()
    config.write_text(text.replace("\n  sdmt:\n", "\n  sdmt:\n    grade: {indirectness: -1, reason: test}\n", 1))
    assert planned_jobs(run_copy) == AGGREGATES


def test_identical_reexport_or_touch_reruns_nothing(run_copy: Path):
    for path in (run_copy / "data").rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes())  # a re-export: same bytes, new timestamp
    assert planned_jobs(run_copy) == set()



def test_a_changed_sheet_with_an_older_time_still_reruns_its_outcome(run_copy: Path):
    # a colleague's sheet unpacked with its own (older) time: Snakemake's time test alone misses it
    import os

    sheet = run_copy / "data" / "extraction" / "outcomes" / "sdmt.csv"
    rows = sheet.read_text(encoding="utf-8").splitlines(keepends=True)
    sheet.write_text(rows[0] + "".join(rows[1:]).replace("\n", " \n", 1), encoding="utf-8")
    os.utime(sheet, (946_684_800, 946_684_800))  # 2000-01-01
    assert planned_jobs(run_copy) == outcome_jobs("sdmt") | POOLED_AGGREGATES

def test_a_study_level_change_reruns_the_outcomes_that_study_contributes_to(run_copy: Path):
    studies = run_copy / "data" / "extraction" / "studies.csv"
    with open(studies, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    target = "Maggi2021"
    contributed = sorted(p.stem for p in (run_copy / "data" / "extraction" / "outcomes").glob("*.csv")
                         if target in p.read_text())
    assert contributed and len(contributed) < len(list((run_copy / "data/extraction/outcomes").glob("*.csv")))
    for row in rows:
        if row["study_id"] == target:
            row["country"] = (row["country"] + " (corrected)").strip()
    with open(studies, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    expected = set().union(*(outcome_jobs(o) for o in contributed)) | STUDY_AGGREGATES | POOLED_AGGREGATES
    assert planned_jobs(run_copy) == expected
