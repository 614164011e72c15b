"""The search stage's inputs are checked before any job runs, with a cache by checksum."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from metasr.config import load_config
from metasr.workflow import precheck

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def review(tmp_path) -> Path:
    for part in ("config", "data"):
        shutil.copytree(REPO / part, tmp_path / part)
    return tmp_path


def config_of(root: Path) -> dict:
    return load_config(root / "config" / "config.yaml", root=root)


def test_the_default_review_passes_and_is_cached(review, monkeypatch):
    assert [p for p in precheck.check_search_inputs(config_of(review), review) if p.severity == "error"] == []
    assert (review / precheck.CACHE).is_file()
    monkeypatch.setattr(precheck, "search_problems", lambda *a: pytest.fail("checked again although unchanged"))
    assert precheck.check_search_inputs(config_of(review), review) == []


def test_a_cut_export_is_named_before_any_job(review):
    export = review / "data" / "search" / "scopus.ris"
    export.write_text(export.read_text(encoding="utf-8-sig") + "TY  - JOUR\nTI  - cut off here\n")
    problems = [p for p in precheck.check_search_inputs(config_of(review), review) if p.severity == "error"]
    assert problems and all(p.file.endswith("scopus.ris") and p.row for p in problems)
    assert not (review / precheck.CACHE).exists()


def test_a_decision_for_no_record_is_named_but_duplicates_across_exports_are_not(review):
    decisions = review / "data" / "screening" / "title_abstract.csv"
    lines = decisions.read_text(encoding="utf-8").splitlines()
    lines.append("10.9999/not.in.any.export,,Made-up title,2020,exclude,review,SYNTHETIC row")
    decisions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = [p for p in precheck.check_search_inputs(config_of(review), review) if p.severity == "error"]
    # The default review's decisions name records exported by several databases (one cluster
    # after de-duplication): only the made-up record is a problem here.
    assert [(p.row, p.rule) for p in problems] == [(len(lines), "decision for a known record")]


def test_a_source_read_in_its_declared_format(review):
    config = config_of(review)
    config["search"]["sources"]["scopus"]["format"] = "bibtex"
    problems = [p for p in precheck.check_search_inputs(config, review) if p.severity == "error"]
    assert problems and all(p.file.endswith("scopus.ris") and "read as 'bibtex'" in p.hint for p in problems)
    config["search"]["sources"]["scopus"]["format"] = "ris"
    assert [p for p in precheck.check_search_inputs(config, review) if p.severity == "error"] == []
