"""Synthetic record tables and decision files for screening tests (all data here are made up)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

RECORD_COLUMNS = ("record_id", "source", "source_index", "database", "title", "year", "doi", "pmid",
                  "cluster_id", "is_primary")
REASONS = ["review", "conference abstract", "lesion-level analysis only", "other"]
SOURCES = {
    "pubmed": {"file": "pubmed.nbib", "database": "PubMed", "method": "database"},
    "scopus": {"file": "scopus.ris", "database": "Scopus", "method": "database"},
    "web": {"file": "web.csv", "database": "Websites", "method": "other"},
}


def write_csv(path: Path, columns, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def synthetic_records() -> list[dict]:
    """Synthetic: 7 records, 5 clusters; c1 found in PubMed and Scopus, c5 on a website and in
    Scopus (so it counts in the databases column), c4 only on a website."""
    rows = [
        ("pubmed:0", "pubmed", "Synthetic rim study one", "2020", "10.1/one", "111", "c1", "true"),
        ("scopus:0", "scopus", "Synthetic Rim Study One.", "2020", "10.1/ONE", "", "c1", "false"),
        ("pubmed:1", "pubmed", "Synthetic review of rims", "2021", "", "222", "c2", "true"),
        ("scopus:1", "scopus", "Synthetic lesion-level paper", "2019", "10.1/three", "", "c3", "true"),
        ("web:0", "web", "Synthetic news item", "2022", "", "", "c4", "true"),
        ("web:1", "web", "Synthetic cohort five", "2023", "", "", "c5", "false"),
        ("scopus:2", "scopus", "Synthetic cohort five", "2023", "10.1/five", "", "c5", "true"),
    ]
    return [
        {"record_id": r[0], "source": r[1], "source_index": r[0].split(":")[1],
         "database": SOURCES[r[1]]["database"], "title": r[2], "year": r[3], "doi": r[4].lower(),
         "pmid": r[5], "cluster_id": r[6], "is_primary": r[7]}
        for r in rows
    ]


TA_COLUMNS = ("doi", "pmid", "title", "year", "decision", "reason", "reviewer1", "reviewer2", "notes")
FT_COLUMNS = ("doi", "pmid", "title", "year", "decision", "reason", "study_id", "notes")


def synthetic_title_abstract() -> list[dict]:
    return [
        {"doi": "https://doi.org/10.1/ONE", "decision": "include", "reviewer1": "include", "reviewer2": "include"},
        {"pmid": "222", "decision": "exclude", "reason": "Review", "reviewer1": "exclude", "reviewer2": "include"},
        {"doi": "10.1/three", "decision": "include", "reviewer1": "include", "reviewer2": "include"},
        {"title": "SYNTHETIC news item!", "year": "2022", "decision": "exclude", "reason": "other",
         "reviewer1": "exclude", "reviewer2": "exclude"},
        {"doi": "10.1/five", "decision": "include", "reviewer1": "include", "reviewer2": "exclude"},
    ]


def synthetic_full_text() -> list[dict]:
    return [
        {"pmid": "111", "decision": "include", "study_id": "Study1"},
        {"doi": "10.1/three", "decision": "exclude", "reason": "lesion-level analysis only"},
        {"title": "Synthetic cohort five", "year": "2023", "decision": "include", "study_id": "Study1"},
    ]


class Workspace:
    """A directory with synthetic records.csv, unique.csv and both decision files."""

    def __init__(self, root: Path):
        self.root = root
        self.records = synthetic_records()
        self.title_abstract = synthetic_title_abstract()
        self.full_text = synthetic_full_text()
        self.screening_cfg = {"exclusion_reasons": list(REASONS), "allow_unresolved_conflicts": False}
        self.sources_cfg = {k: dict(v) for k, v in SOURCES.items()}
        self.ta_columns = TA_COLUMNS
        self.ft_columns = FT_COLUMNS

    def write(self) -> dict:
        primaries = [r for r in self.records if r["is_primary"] == "true"]
        paths = {
            "records_csv": write_csv(self.root / "records.csv", RECORD_COLUMNS, self.records),
            "unique_csv": write_csv(self.root / "unique.csv", RECORD_COLUMNS, primaries),
            "title_abstract_csv": write_csv(self.root / "ta.csv", self.ta_columns, self.title_abstract),
            "full_text_csv": write_csv(self.root / "ft.csv", self.ft_columns, self.full_text),
        }
        return paths

    def run(self):
        from metasr.screening.pipeline import ScreeningFiles, screen_records

        return screen_records(**self.write(), screening_cfg=self.screening_cfg,
                              sources_cfg=self.sources_cfg, out=ScreeningFiles.in_folder(self.root / "out"))


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def workspace_class() -> type[Workspace]:
    """For tests that need several workspaces (property tests); SOURCES and REASONS ride along."""
    Workspace.SOURCES, Workspace.REASONS = SOURCES, REASONS
    return Workspace
