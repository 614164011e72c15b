"""Results the review no longer produces are removed after a successful run; nothing else is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from snakemake.io import IOFile

from metasr.workflow.stale import elsewhere, produced_by, remove_stale_results, stale_results

from harness import run_snakemake


def test_produced_by_answers_as_snakemake_matches_each_product():
    products = [IOFile("results/report.html"), IOFile("results/records/{source}.csv"),
                IOFile("results/figures/{outcome}_{kind,[a-z]+}.svg"), IOFile("logs/write_report.log"),
                IOFile("results/a.b")]
    produced = produced_by(products)
    paths = ["results/report.html", "results/report.htm", "results/report.html.bak", "results/records/pubmed.csv",
             "results/records/sub/pubmed.csv", "results/figures/edss_forest.svg", "results/figures/edss_Forest.svg",
             "logs/write_report.log", "results/aXb", "results/a.b", "./results/report.html", "results/"]
    for path in paths:
        assert produced(path) == any(product.match(path) for product in products), path
    assert produced("results/records/sub/pubmed.csv") and not produced("results/aXb")


def test_stale_files_are_removed_with_their_empty_folders_and_history_is_kept(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the workflow asks about paths relative to the review folder
    results = Path("results")
    for name in ("report.html", "figures/old_forest.svg", "gone/deep/old.json", "history/2026-01-01.json"):
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text("x")
    current = {"results/report.html"}
    produced = produced_by([IOFile(p) for p in current])
    assert stale_results(results, produced) == [results / "figures/old_forest.svg", results / "gone/deep/old.json"]
    removed = remove_stale_results(results, produced)
    assert len(removed) == 2 and not (results / "gone").exists() and not (results / "figures").exists()
    assert (results / "report.html").exists() and (results / "history/2026-01-01.json").exists()
    assert stale_results(Path("absent"), produced) == []


def test_a_results_link_to_another_folder_is_never_cleaned(tmp_path: Path, monkeypatch):
    """SYNTHETIC: with results -> a folder of the reviewer's, the clean-up deleted an unrelated file there."""
    elsewhere_folder = tmp_path / "elsewhere"
    (elsewhere_folder / "figures").mkdir(parents=True)
    (elsewhere_folder / "thesis.docx").write_text("x")
    (elsewhere_folder / "figures/old_forest.svg").write_text("x")
    review = tmp_path / "review"
    review.mkdir()
    (review / "results").symlink_to(elsewhere_folder)
    monkeypatch.chdir(review)
    produced = produced_by([IOFile("results/report.html")])
    assert remove_stale_results(Path("results"), produced) == []
    assert (elsewhere_folder / "thesis.docx").exists() and (elsewhere_folder / "figures/old_forest.svg").exists()
    assert "is a link to" in elsewhere(Path("results"))
    assert elsewhere(Path("absent")) is None


@pytest.mark.slow
def test_a_run_removes_what_the_review_no_longer_produces(finished_run: Path, tmp_path: Path):
    workdir = tmp_path / "review"
    shutil.copytree(finished_run, workdir, symlinks=True)
    kept = sorted(p for p in (workdir / "results").rglob("*") if p.is_file())
    stray = [workdir / "results/figures/dropped_outcome_forest.svg", workdir / "results/pooled/dropped_outcome.json"]
    for path in stray:
        path.write_text("left by an outcome the review no longer has")
    # A run with nothing to do ends before its success handler: have the report written again.
    proc = run_snakemake(workdir, "--cores", "1", "--forcerun", "write_report")
    assert "removed 2 result file(s)" in proc.stdout
    assert not any(p.exists() for p in stray)
    assert sorted(p for p in (workdir / "results").rglob("*") if p.is_file()) == kept
