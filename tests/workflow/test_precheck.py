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
    counts: dict[str, int] = {}
    assert [p for p in precheck.check_search_inputs(config_of(review), review, counts) if p.severity == "error"] == []
    assert (review / precheck.CACHE).is_file()
    monkeypatch.setattr(precheck, "search_problems", lambda *a: pytest.fail("checked again although unchanged"))
    cached: dict[str, int] = {}
    assert precheck.check_search_inputs(config_of(review), review, cached) == []
    # each source's number of records, for the extraction sheets' record ids: from the cache too
    pubmed = (review / "data" / "search" / "pubmed.nbib").read_text(encoding="utf-8").count("PMID-")
    assert cached == counts and counts["pubmed"] == pubmed and set(counts) == {"pubmed", "scopus", "wos", "other"}


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


def errors_of(review: Path) -> list:
    return [p for p in precheck.check_search_inputs(config_of(review), review) if p.severity == "error"]


def append_rows(path: Path, *rows: str) -> int:
    """Append rows to a CSV; returns the row number of the first one (the header is row 1)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, *rows]) + "\n", encoding="utf-8")
    return len(lines) + 1


@pytest.mark.parametrize("row, column, rule", [
    ("pubmed:1,scopus:1,maybe,SYNTHETIC row", "decision", "override decision"),
    ("pubmed:99999,pubmed:1,same,SYNTHETIC row", "record_a", "override identifier"),
])
def test_a_bad_dedup_override_is_named_before_any_job(review, row, column, rule):
    number = append_rows(review / "data" / "search" / "dedup_overrides.csv", row)
    assert [(Path(p.file).name, p.row, p.column, p.rule) for p in errors_of(review)] == \
        [("dedup_overrides.csv", number, column, rule)]


def test_two_decisions_for_one_cluster_are_named_before_any_job(review):
    decisions = review / "data" / "screening" / "title_abstract.csv"
    first = decisions.read_text(encoding="utf-8").splitlines()[1]
    number = append_rows(decisions, first)
    assert [(p.row, p.rule) for p in errors_of(review)] == [(number, "one decision per record")]


def test_a_record_without_a_decision_is_named_before_any_job(review):
    decisions = review / "data" / "screening" / "title_abstract.csv"
    lines = decisions.read_text(encoding="utf-8").splitlines()
    dropped = lines.pop(1)
    decisions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [problem] = errors_of(review)
    assert problem.rule == "every record has a decision" and problem.file.endswith("title_abstract.csv")
    assert dropped.split(",")[2][:40] in problem.message and "line " in problem.message


def test_an_empty_export_record_is_named_at_its_line_before_any_job(review):
    export = review / "data" / "search" / "scopus.ris"
    text = export.read_text(encoding="utf-8-sig")
    export.write_text(text + "\nTY  - JOUR\nER  - \n", encoding="utf-8")
    [problem] = errors_of(review)
    assert problem.rule == "empty record" and problem.file.endswith("scopus.ris")
    assert problem.row == len(text.split("\n")) + 1
