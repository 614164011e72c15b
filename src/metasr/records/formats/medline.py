"""PubMed MEDLINE (.nbib / .txt): `TAG - value` with tags padded to four characters, continuation
lines indented by six spaces, records separated by blank lines and opened by `PMID-`."""

from __future__ import annotations

import logging
import re

from metasr.errors import Problem
from metasr.records.formats.tagged import check_not_cut, join_authors, split_records

log = logging.getLogger(__name__)

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
    check_not_cut(text, records, path, "MEDLINE")
    check_complete(records, path)
    return [to_fields(r) for r in records]


def check_complete(records, path: str) -> None:
    """MEDLINE has no end tag, so a file cut at the end of a line still splits into records.
    PubMed ends every record with its source line (SO): when the other records have one and the
    last does not, the file may have been cut inside that record, or the record was added by
    hand. A warning (in the step's log), since both happen."""
    if len(records) < 2 or records[-1].values("SO") or not all(r.values("SO") for r in records[:-1]):
        return
    last = records[-1]
    log.warning(Problem(
        message=f"the last MEDLINE record has no SO (source) line, which every other record ends with: "
                f"if the file was cut off after line {last.fields[-1][2]}, its last record is incomplete",
        file=str(path), row=last.line, rule="export file format", severity="warning",
        hint="export the search again (PubMed: Save > Format: PubMed) unless the record was added by hand").format())
