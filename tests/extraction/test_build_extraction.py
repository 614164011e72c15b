"""The default review's sheets: every source row lands somewhere; the build reproduces the commit."""

import csv
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "irl-review"
EXTRACTION = REPO / "data" / "extraction"


def rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def committed_rows():
    sheets = {p.stem: rows(p) for p in sorted((EXTRACTION / "outcomes").glob("*.csv"))}
    return sheets, rows(EXTRACTION / "narrative.csv")


def test_75_source_rows_are_all_placed():
    sheets, narrative = committed_rows()
    assert sum(len(r) for r in sheets.values()) + len(narrative) == 75
    assert len(rows(EXTRACTION / "studies.csv")) == 22


def test_configured_outcomes_without_data_have_header_only_sheets():
    sheets, _ = committed_rows()
    assert sheets["dmt_response"] == [] and sheets["high_dose_dmt_response"] == []


def test_no_snippets_and_no_invented_risk_of_bias():
    studies = rows(EXTRACTION / "studies.csv")
    assert all(not s[c] for s in studies for c in s if c.startswith("rob_"))
    sheets, narrative = committed_rows()
    for r in [r for rs in sheets.values() for r in rs] + narrative:
        assert "snippet" not in r and r["source_url"] and r["record_id"] and r["source_location"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/irl-review is absent")
def test_every_source_row_is_accounted_for_by_study_and_outcome():
    source = rows(SHARED / "outcomes.csv")
    assert len(source) == 75
    sheets, narrative = committed_rows()
    placed = Counter(r["study_id"] for rs in sheets.values() for r in rs) + Counter(r["study_id"] for r in narrative)
    assert placed == Counter(r["study_id"] for r in source)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/irl-review is absent")
def test_build_reproduces_the_committed_sheets(tmp_path):
    spec = importlib.util.spec_from_file_location("build_extraction", REPO / "data/build/build_extraction.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(tmp_path) == 0
    for path in sorted(tmp_path.rglob("*.csv")):
        assert path.read_bytes() == (EXTRACTION / path.relative_to(tmp_path)).read_bytes(), path
