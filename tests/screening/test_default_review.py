"""The default review's decision files against the real IRL-review records (needs ../shared).

The record tables here are built from ../shared/irl-review/records.csv with one record per
cluster and a single database source; the real exports and de-duplication are the records
step's business. What is tested is that every decision finds its record and the counts match
the source: 87 records, 22 included studies.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from metasr.screening.pipeline import ScreeningFiles, screen_records

REPO = Path(__file__).resolve().parents[2]


def write_records(shared: Path, tmp: Path, source: str = "irl") -> tuple[Path, Path]:
    with open(shared / "irl-review" / "records.csv", newline="", encoding="utf-8") as handle:
        shared_rows = list(csv.DictReader(handle))
    columns = ["record_id", "source", "database", "title", "year", "doi", "pmid", "cluster_id", "is_primary"]
    rows = [{"record_id": f"{source}:{i}", "source": source, "database": "IRL review", "title": r["title"],
             "year": r["year"], "doi": r["doi"].lower(), "pmid": r["pmid"], "cluster_id": r["record_id"],
             "is_primary": "true"} for i, r in enumerate(shared_rows)]
    for name in ("records.csv", "unique.csv"):
        with open(tmp / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return tmp / "records.csv", tmp / "unique.csv"


def test_default_decisions_cover_every_record(shared_dir, tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    records, unique = write_records(shared_dir, tmp_path)
    prisma = screen_records(records, unique, REPO / "data/screening/title_abstract.csv",
                            REPO / "data/screening/full_text.csv", config["screening"],
                            {"irl": {"file": "x", "database": "IRL review", "method": "database"}},
                            ScreeningFiles.in_folder(tmp_path / "out"))
    db = prisma["columns"]["databases"]
    assert (db["screened"], db["excluded"], db["sought"]) == (87, 29, 58)
    assert (db["not_retrieved"], db["reports_excluded"], db["reports_included"]) == (0, 36, 22)
    assert {k: prisma["included"][k] for k in ("studies", "reports", "report_study_links",
                                                "reports_with_several_studies")} == {
        "studies": 22, "reports": 22, "report_study_links": 22, "reports_with_several_studies": 0}
    assert len(prisma["included"]["study_reports"]) == 22
    assert prisma["agreement"]["title_abstract"]["dual"] is False
    with open(tmp_path / "out" / "screening.csv", newline="", encoding="utf-8") as handle:
        included = {r["cluster_id"]: r["study_id"] for r in csv.DictReader(handle) if r["status"] == "included"}
    with open(shared_dir / "irl-review" / "studies.csv", newline="", encoding="utf-8") as handle:
        assert included == {r["record_id"]: r["study_id"] for r in csv.DictReader(handle)}


def test_build_script_reproduces_committed_files(shared_dir, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_screening", REPO / "data/build/build_screening.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    monkeypatch.setattr(build, "OUT", tmp_path)
    assert build.main() == 0
    for name in ("title_abstract.csv", "full_text.csv"):
        assert (tmp_path / name).read_bytes() == (REPO / "data/screening" / name).read_bytes()


def test_cli_reports_problems_without_traceback(tmp_path):
    (tmp_path / "records.csv").write_text("record_id,source,cluster_id\nx:0,nowhere,c1\n")
    (tmp_path / "unique.csv").write_text("record_id,cluster_id\nx:0,c1\n")
    result = subprocess.run(
        [sys.executable, "-m", "metasr.cli", "screening", "run", "--records", str(tmp_path),
         "--config", str(REPO / "config/config.yaml"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "record from a source that is not in config search.sources" in result.stderr
    assert "row 2" in result.stderr


def test_cli_run_on_the_default_review(shared_dir, tmp_path):
    write_records(shared_dir, tmp_path, source="pubmed")  # every record as if from PubMed
    result = subprocess.run(
        [sys.executable, "-m", "metasr.cli", "screening", "run", "--records", str(tmp_path),
         "--config", str(REPO / "config/config.yaml"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "87 screened -> 22 reports of 22 studies included" in result.stdout
    for name in ("screening.csv", "prisma.json", "prisma.csv", "conflicts.csv", "prisma.svg", "prisma.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_cli_refuses_a_decision_file_linked_out_of_the_review(tmp_path):
    """SYNTHETIC: screening loaded the config without `metasr run`'s location checks."""
    review = tmp_path / "review"
    for part in ("config", "data"):
        shutil.copytree(REPO / part, review / part)
    sheet = review / "data/screening/title_abstract.csv"
    shutil.move(sheet, tmp_path / "title_abstract.csv")
    sheet.symlink_to(tmp_path / "title_abstract.csv")
    result = subprocess.run(
        [sys.executable, "-m", "metasr.cli", "screening", "run", "--records", str(tmp_path),
         "--review", str(review), "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "screening.title_abstract" in result.stderr and "outside the review folder" in result.stderr
