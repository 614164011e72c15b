"""RIS (Scopus, Web of Science, Embase, EndNote, Zotero dialects): `TY  - ` opens a record,
`ER  - ` closes it, one `XX  - value` field per line; continuation lines (WoS indents abstracts,
EndNote writes bare paragraphs) extend the previous field.

Dialects differ in where they put identifiers and the journal: full titles are in T2/JF/JO,
abbreviations in J2/JA; a PubMed ID arrives as AN in a MEDLINE/PubMed record (EndNote from
PubMed, Ovid MEDLINE, EBSCO MEDLINE; digits) or as C2 in a Scopus record (digits), while other
databases' AN is their own accession number (Ovid Embase, CINAHL) and EndNote uses C2 for the
PMCID; pages are SP[-EP] or an article number in C7.
"""

from __future__ import annotations

import re

from metasr.records.formats.databases import names_other, names_pubmed
from metasr.records.formats.tagged import join_authors, join_pages, split_records

NAME = "ris"
_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*)|)$")
_DIGITS = re.compile(r"^\d{1,9}$")
# metasr's own RIS export (`metasr.records.export`) names itself as the provider: its AN holds
# the PMID of the merged record, whichever database the record came from.
METASR_PROVIDER = "metasr"


def looks_like(head: str) -> bool:
    return bool(re.search(r"^TY  - ", head, re.MULTILINE))


def _pmid_tags(record) -> tuple[str, ...]:
    """The tags that hold a PubMed id in this record, by the database it names. A record naming
    no database gets none: its AN may as well be an Embase or CINAHL accession number, and a
    wrong PMID does silent harm (it keeps true duplicates apart), whereas a missing one costs a
    key that the DOI and title stand in for (`_unsure_pmid`: the source's database in the config
    decides, `metasr.records.pipeline`)."""
    if METASR_PROVIDER in record.values("DP"):
        return ("AN",)
    database = _database(record)
    if database == "PubMed":
        return ("AN",)
    if database == "Scopus":
        return ("C2",)
    return ()


def _pmid(record) -> str:
    for value in record.values(*_pmid_tags(record)):
        if _DIGITS.match(value.strip()):
            return value
    return ""


def _unsure_pmid(record) -> str:
    """A number in AN or C2 of a record whose database is neither MEDLINE/PubMed nor one with
    accession numbers of its own (none named, or a name metasr does not know): perhaps a PMID,
    which the source's database in the config decides (`metasr.records.pipeline`)."""
    names = record.values("DB", "DP")
    if not _pmid_tags(record) and not names_other(names):
        return next((v.strip() for v in record.values("AN", "C2") if _DIGITS.match(v.strip())), "")
    return ""


def _database(record) -> str:
    names = record.values("DB", "DP")
    text = " ".join(names).lower()
    if "scopus" in text:
        return "Scopus"
    if "embase" in text:
        return "Embase"
    if names_pubmed(names):
        return "PubMed"
    if any(v.startswith("WOS:") for v in record.values("AN", "UT")):
        return "Web of Science"
    return names[0] if names else ""


def _accession(record) -> str:
    return record.first("AN", "ID", "U1")


def _is_doi(value: str) -> bool:
    return value.strip().lower().startswith("10.")


def to_fields(record) -> dict:
    pages = join_pages(record.first("SP"), record.first("EP")) or record.first("C7")
    m3 = record.first("M3")
    return {
        "line": record.line,
        "title": record.first("TI", "T1", "CT", "BT"),
        "authors": join_authors(record.values("AU", "A1")),
        "year": record.first("PY", "Y1", "DA"),
        "journal": record.first("T2", "JF", "JO", "J2", "JA", "T3"),
        "volume": record.first("VL"),
        "issue": record.first("IS"),
        "pages": pages,
        # DOI fields, and M3 when it holds a DOI (some EndNote exports put it there); not URLs
        # (UR often points at a related item's DOI, and a wrong DOI keeps true duplicates apart).
        "doi": record.first("DO", "DI") or (m3 if _is_doi(m3) else ""),
        "pmid": _pmid(record),
        "unsure_pmid": _unsure_pmid(record),
        "abstract": record.first("AB", "N2"),
        "publication_type": record.first("TY") if _is_doi(m3) else record.first("M3", "TY"),
        "accession": _accession(record),
        "database": _database(record),
    }


def parse(text: str, path: str) -> list[dict]:
    records = split_records(text.split("\n"), path, _TAG, start_tags=("TY",), end_tags=("ER",),
                            fmt_name="RIS")
    return [to_fields(r) for r in records]
