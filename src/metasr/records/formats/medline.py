"""PubMed MEDLINE (.nbib / .txt): `TAG - value` with tags padded to four characters, continuation
lines indented by six spaces, records separated by blank lines and opened by `PMID-`."""

from __future__ import annotations

import re

from metasr.records.formats.tagged import join_authors, split_records

NAME = "medline"
_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3})\s*- ?(.*)$")
_CONTINUATION = re.compile(r"^\s+\S")
_DOI = re.compile(r"^(\S+)\s*\[doi\]", re.IGNORECASE)


def looks_like(head: str) -> bool:
    return bool(re.search(r"^PMID- ?\d", head, re.MULTILINE))


def _doi(record) -> str:
    for value in record.values("LID", "AID"):
        match = _DOI.match(value)
        if match:
            return match.group(1)
    return ""


def to_fields(record) -> dict:
    authors = record.values("FAU") or record.values("AU")
    return {
        "line": record.line,
        "title": record.first("TI", "BTI"),
        "authors": join_authors(authors),
        "year": record.first("DP", "DEP"),
        "journal": record.first("JT", "TA"),
        "volume": record.first("VI"),
        "issue": record.first("IP"),
        "pages": record.first("PG"),
        "doi": _doi(record),
        "pmid": record.first("PMID"),
        "abstract": record.first("AB"),
        "publication_type": "; ".join(record.values("PT")),
        "accession": record.first("PMID"),
        "database": "PubMed",
    }


def parse(text: str, path: str) -> list[dict]:
    records = split_records(text.split("\n"), path, _TAG, start_tags=("PMID",), blank_ends=True,
                            continuation=_CONTINUATION, fmt_name="MEDLINE")
    return [to_fields(r) for r in records]
