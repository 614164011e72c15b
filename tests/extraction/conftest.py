"""Helpers for extraction tests: synthetic sheets (marked SYNTHETIC) and a copy of the default review."""

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_COLUMNS, STUDY_COLUMNS

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "extraction"


def write_sheet(path: Path, columns: list[str], rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def read_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


PROVENANCE = dict(record_id="R1", source_location="Table 2", source_url="https://example.org/synthetic")


def outcome_row(**cells) -> dict:
    return {**PROVENANCE, "comparison": "rim+ vs rim-", "notes": "SYNTHETIC", **cells}


@pytest.fixture
def synthetic_review(tmp_path):
    """A small SYNTHETIC review: two studies, an SMD outcome, an RR outcome, a narrative row."""
    studies = [dict(study_id="S1", record_id="R1", label="Alpha 2020", year="2020", n_total="40", n_group1="20",
                    n_group2="20", notes="SYNTHETIC"),
               dict(study_id="S2", record_id="R2", label="Beta 2021", year="2021", n_total="60", n_group1="30",
                    n_group2="30", notes="SYNTHETIC")]
    write_sheet(tmp_path / "data/extraction/studies.csv", STUDY_COLUMNS, studies)
    write_sheet(tmp_path / "data/extraction/outcomes/score.csv", OUTCOME_COLUMNS, [
        outcome_row(study_id="S1", reported_form="mean_sd", n1="20", mean1="5", sd1="2", n2="20", mean2="4", sd2="2"),
        outcome_row(study_id="S2", reported_form="p_value", n1="30", n2="30", p_value="0.04", direction="group1_higher",
                    record_id="R2")])
    write_sheet(tmp_path / "data/extraction/outcomes/relapse.csv", OUTCOME_COLUMNS, [
        outcome_row(study_id="S1", reported_form="events_n", n1="20", events1="5", n2="20", events2="3")])
    write_sheet(tmp_path / "data/extraction/narrative.csv", NARRATIVE_COLUMNS, [
        dict(study_id="S2", outcome="age", finding="younger with rims (SYNTHETIC)", record_id="R2",
             source_location="abstract")])
    config = {
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": "data/extraction/narrative.csv", "median_conversion": "luo_shi",
                       "p_value_bounds": "exclude"},
        "screening": {"full_text": "data/screening/full_text.csv"},
        "outcomes": {"score": {"label": "Score", "measure": "SMD", "unit": "points", "higher_is": "worse"},
                     "relapse": {"label": "Relapse", "measure": "RR", "unit": "patients", "higher_is": "worse"}},
    }
    return tmp_path, config


@pytest.fixture
def default_review_copy(tmp_path):
    """The committed default review's config and extraction sheets, copied so a test may corrupt them."""
    shutil.copytree(REPO / "data" / "extraction", tmp_path / "data" / "extraction")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    return tmp_path, config


@pytest.fixture
def helpers():
    """Helper functions for tests (conftest is not importable under --import-mode=importlib)."""
    from types import SimpleNamespace
    return SimpleNamespace(write_sheet=write_sheet, read_rows=read_rows, outcome_row=outcome_row,
                           FIXTURES=FIXTURES, REPO=REPO)
