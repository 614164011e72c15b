"""Records out: the de-duplicated records for reference managers and screening tools.

`export_records` reads the records stage's tables (`unique.csv`, `records.csv`, `audit.csv`)
and, when screening has run, `screening.csv`, and writes
- `records.ris`: one RIS record per cluster (the merged unique record), readable by reference
  managers and by metasr's own RIS parser; the PMID goes in `AN`, read back as one because the
  provider is `DP - metasr` (other databases' AN is their own accession number), the screening
  status, decisions and reasons go in `N1` notes and the cluster id in `ID`;
- `records.csv`: the same records with their screening columns, every cell formula-safe;
- `clusters.csv`: every duplicate link, in the overrides layout (`record_a`, `record_b`,
  `decision` blank, then the rule, fields, score and both titles): a reviewer writes `distinct`
  (or `same` for a pair added by hand) and passes the file back as the overrides file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from metasr.errors import InputError, Problem
from metasr.io import StepFiles, atomic_write_text, read_csv, write_csv
from metasr.records.formats.ris import METASR_PROVIDER
from metasr.records.pipeline import DedupFiles

SCREENING_FIELDS = ("status", "title_abstract_decision", "title_abstract_reason",
                    "full_text_decision", "full_text_reason", "study_id")
RECORD_FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi",
                 "pmid", "abstract", "publication_type", "database")
CSV_COLUMNS = ["cluster_id", "record_id", "n_records", "record_ids", *RECORD_FIELDS,
               *SCREENING_FIELDS]
CLUSTER_COLUMNS = ["record_a", "record_b", "decision", "cluster_id", "rule", "fields", "score",
                   "override", "title_a", "title_b", "year_a", "year_b", "doi_a", "doi_b"]


@dataclass(frozen=True)
class ExportFiles(StepFiles):
    """The files export_records writes."""

    FILE_NAMES = ("records.ris", "records.csv", "clusters.csv")
    ris: Path
    csv: Path
    clusters: Path


# Publication types as reference managers know them (RIS TY).
_RIS_TYPES = [(re.compile(r"conference|congress|meeting|abstract|proceeding", re.I), "CONF"),
              (re.compile(r"book section|chapter|\bchap\b", re.I), "CHAP"),
              (re.compile(r"^book$|\bbook\b", re.I), "BOOK"),
              (re.compile(r"thesis|dissertation", re.I), "THES"),
              (re.compile(r"report", re.I), "RPRT")]


def read_rows(path) -> list[dict]:
    if not Path(path).is_file():
        raise InputError(Problem(message="table not found", file=str(path), rule="file exists",
                                 hint="run `metasr records dedup` (and `metasr screening run`)"))
    return read_csv(path)[1]


def ris_type(publication_type: str) -> str:
    for pattern, code in _RIS_TYPES:
        if pattern.search(publication_type or ""):
            return code
    return "JOUR"


def _ris_line(tag: str, value: str) -> str:
    # One field one line: RIS has no escape for line breaks.
    return f"{tag}  - {' '.join(str(value).split())}"


def ris_record(row: dict) -> str:
    lines = [_ris_line("TY", ris_type(row.get("publication_type", "")))]
    for author in (row.get("authors") or "").split("; "):
        if author.strip():
            lines.append(_ris_line("AU", author))
    pages = row.get("pages", "")
    start, sep, end = pages.partition("-")
    fields = [("TI", row.get("title")), ("T2", row.get("journal")), ("PY", row.get("year")),
              ("VL", row.get("volume")), ("IS", row.get("issue")),
              ("SP", start if sep and "," not in pages and ";" not in pages else pages),
              ("EP", end if sep and "," not in pages and ";" not in pages else ""),
              ("DO", row.get("doi")), ("AN", row.get("pmid")), ("AB", row.get("abstract")),
              ("M3", row.get("publication_type")), ("DB", row.get("database")),
              ("DP", METASR_PROVIDER), ("ID", row.get("cluster_id"))]
    lines += [_ris_line(tag, value) for tag, value in fields if value]
    notes = [f"{name}: {row[name]}" for name in SCREENING_FIELDS if row.get(name)]
    if row.get("record_ids"):
        notes.append(f"metasr records: {row['record_ids']}")
    lines += [_ris_line("N1", note) for note in notes]
    lines.append("ER  - ")
    return "\n".join(lines) + "\n"


def merged_rows(unique: list[dict], screening: list[dict] | None) -> list[dict]:
    by_cluster = {r["cluster_id"]: r for r in screening or []}
    rows = []
    for record in unique:
        decided = by_cluster.get(record["cluster_id"], {})
        rows.append({**record, **{f: decided.get(f, "") for f in SCREENING_FIELDS}})
    return rows


def cluster_rows(records: list[dict], audit: list[dict]) -> list[dict]:
    by_id = {r["record_id"]: r for r in records}
    rows = []
    for link in audit:
        a, b = by_id.get(link["linked_to"], {}), by_id.get(link["record_id"], {})
        rows.append({"record_a": link["linked_to"], "record_b": link["record_id"], "decision": "",
                     "cluster_id": b.get("cluster_id", ""), "rule": link["rule"],
                     "fields": link["fields"], "score": float(link["score"] or 0),
                     "override": link.get("override", ""), "title_a": a.get("title", ""),
                     "title_b": b.get("title", ""), "year_a": a.get("year", ""),
                     "year_b": b.get("year", ""), "doi_a": a.get("doi", ""),
                     "doi_b": b.get("doi", "")})
    rows.sort(key=lambda r: (r["cluster_id"], r["record_a"], r["record_b"]))
    return rows


def export_records(tables: DedupFiles, out: ExportFiles, screening_csv=None) -> dict:
    """Write the RIS, CSV and cluster files of the de-duplicated `tables` (see the module doc)."""
    unique = read_rows(tables.unique)
    records = read_rows(tables.records)
    audit = read_rows(tables.audit)
    screening = read_rows(screening_csv) if screening_csv else None
    rows = merged_rows(unique, screening)
    atomic_write_text(out.ris, "\n".join(ris_record(r) for r in rows))
    write_csv(out.csv, CSV_COLUMNS, rows)
    write_csv(out.clusters, CLUSTER_COLUMNS, cluster_rows(records, audit))
    return {"records": len(rows), "links": len(audit)}
