"""Ovid tagged export (Embase, MEDLINE via Ovid; .cgi/.ovd/.txt): each record opens with a
`<N. >` marker line, then `XX  - value` fields; continuation lines may be indented or bare.
Ovid keeps the journal, volume, issue, pages and year together in `SO`."""

from __future__ import annotations

import re

from metasr.records.formats.databases import names_pubmed
from metasr.records.formats.tagged import check_not_cut, join_authors, split_records

NAME = "ovid"
_MARKER = re.compile(r"^<\d+\.\s*>\s*$")
_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3})\s+- ?(.*)$")
# "Journal. 12 (3) (pp 55-64), 2018." / "... 12 (Supplement 3) (no pagination), 2018."
_CITATION = re.compile(r"(?:^|\.\s+)(?P<volume>[\w-]+)?\s*(?:\((?P<issue>[^)]*)\))?\s*"
                       r"\((?:pp\s*)?(?P<pages>[^)]*)\),\s*(?P<year>\d{4})")


def looks_like(head: str) -> bool:
    return bool(re.search(r"^<\d+\.\s*>\s*$", head, re.MULTILINE)
                and re.search(r"^[A-Z][A-Z0-9]{1,3}\s+- ", head, re.MULTILINE))


def _source_parts(source: str) -> dict:
    match = _CITATION.search(source)
    head = source[: match.start()] if match else source
    # Conference abstracts name the meeting after the journal ("Journal. Conference: ...").
    journal = head.split(". Conference:")[0].strip().rstrip(".")
    if not match:
        return {"journal": journal}
    pages = match.group("pages") or ""
    if "pagination" in pages.lower():
        pages = ""
    return {"journal": journal, "volume": match.group("volume") or "",
            "issue": match.group("issue") or "", "pages": pages}


def _pmid(record) -> str:
    """PM is the PubMed id an Embase record cites; in an Ovid MEDLINE record the unique
    identifier (UI, or AN) is the PMID itself. Embase's UI/AN is its own accession number."""
    pmid = record.first("PM")
    if pmid or not names_pubmed(record.values("DB")):
        return pmid
    return next((v for v in record.values("UI", "AN") if v.strip().isdigit()), "")


def to_fields(record) -> dict:
    parts = _source_parts(record.first("SO"))
    return {
        "line": record.line,
        "title": record.first("TI"),
        "authors": join_authors(record.values("AU")),
        "year": record.first("YR", "DP", "PY"),
        "journal": record.first("JN", "JA") or parts.get("journal", ""),
        "volume": record.first("VO", "VI") or parts.get("volume", ""),
        "issue": record.first("IP") or parts.get("issue", ""),
        "pages": record.first("PG") or parts.get("pages", ""),
        "doi": record.first("DO", "DI"),
        "pmid": _pmid(record),
        "abstract": record.first("AB"),
        "publication_type": record.first("PT", "ST"),
        "accession": record.first("UI", "AN"),
        "database": record.first("DB"),
    }


def parse(text: str, path: str) -> list[dict]:
    records = split_records(text.split("\n"), path, _TAG, start_line=_MARKER, fmt_name="Ovid")
    check_not_cut(text, records, path, "Ovid")
    return [to_fields(r) for r in records]
