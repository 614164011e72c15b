"""EndNote XML (EndNote, Zotero, Mendeley exports): `<xml><records><record>…`, where text
sits either directly in a field element or in nested `<style>` runs.

lxml's iterparse streams the file (the 3.8 MB respiratory benchmark parses in well under a
second), gives each record its source line, and reports a malformed document with a line
number. Field choice follows EndNote's own semantics; `<number>` is EndNote's issue field for
journal articles, but some libraries (the respiratory benchmark) fill it with a record id, so it
is kept only when it looks like an issue (short) and the file's numbers repeat as issues do.
"""

from __future__ import annotations

import io
import re

from metasr.errors import InputError, Problem
from metasr.records.formats.databases import names_pubmed

NAME = "endnote_xml"
_ISSUE_LIKE = re.compile(r"^(?:\d{1,3}|[A-Za-z]?\d{1,3}[A-Za-z]?(?:\s*[-/,]\s*\d{1,3})?|"
                         r"(?:suppl|supplement|spec|special)[\w .-]*\d*)$", re.IGNORECASE)


def looks_like(head: str) -> bool:
    return bool(re.match(r"^\s*(<\?xml[^>]*>\s*)?<xml>\s*<records>", head.lstrip("\ufeff")))


def _text(element) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _first(record, *paths: str) -> str:
    for path in paths:
        found = record.find(path)
        if found is not None:
            text = _text(found).strip()
            if text:
                return text
    return ""


def _issue(record) -> str:
    issue = _first(record, "issue")
    if issue:
        return issue
    number = _first(record, "number")
    return number if _ISSUE_LIKE.match(number) else ""


def drop_record_id_numbers(records: list[dict], numbers: list[str]) -> None:
    """Issue numbers repeat (most journals have 1-12, 1-52); record ids do not. When the
    `<number>` values of a file are nearly all distinct, they are ids: clear them all."""
    values = [n for n in numbers if n]
    if len(values) >= 20 and len(set(values)) >= 0.8 * len(values):
        for record, number in zip(records, numbers, strict=True):
            if number and record["issue"] == number:
                record["issue"] = ""


def _pmid(record) -> str:
    """The accession number is a PMID in a record EndNote fetched from PubMed or MEDLINE only:
    other databases number their records with digits too (`formats.databases`), and a record
    naming no database is not trusted with one (a wrong PMID keeps true duplicates apart)."""
    accession = _first(record, "accession-num")
    names = [_first(record, "remote-database-provider"), _first(record, "remote-database-name")]
    if re.fullmatch(r"\d{1,9}", accession) and names_pubmed(names):
        return accession
    return ""


def to_fields(record) -> dict:
    authors = [_text(a).strip() for a in record.findall("contributors/authors/author")]
    return {
        "line": record.sourceline,
        "title": _first(record, "titles/title"),
        "authors": "; ".join(a for a in authors if a),
        "year": _first(record, "dates/year", "dates/pub-dates/date"),
        "journal": _first(record, "titles/secondary-title", "periodical/full-title",
                          "titles/alt-title", "periodical/abbr-1"),
        "volume": _first(record, "volume"),
        "issue": _issue(record),
        "pages": _first(record, "pages"),
        "doi": _first(record, "electronic-resource-num"),
        "pmid": _pmid(record),
        "abstract": _first(record, "abstract"),
        "publication_type": record.find("ref-type").get("name", "")
        if record.find("ref-type") is not None else "",
        "accession": _first(record, "accession-num", "rec-number"),
        "database": _first(record, "remote-database-provider", "remote-database-name"),
    }


# An entity declaration (in the document type's internal subset, before the root element).
_ENTITY_DECLARATION = re.compile(r"<!ENTITY\b")


def parse(text: str, path: str) -> list[dict]:
    from lxml import etree

    # The text is already decoded; drop the declaration so its encoding name cannot disagree.
    data = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text).encode("utf-8")
    root = re.search(r"<[A-Za-z_]", text)  # the root element: declarations can only come before it
    declared = _ENTITY_DECLARATION.search(text, 0, root.start() if root else len(text))
    if declared:
        raise InputError(Problem(message="the file declares XML entities (<!ENTITY ...>), which are not allowed",
                                 file=str(path), row=text.count("\n", 0, declared.start()) + 1,
                                 rule="export file format",
                                 hint="an EndNote export declares none: export the records from EndNote again "
                                      "(entities can expand to a file's contents or to gigabytes of text)"))
    records, numbers = [], []
    try:
        for _, element in etree.iterparse(io.BytesIO(data), events=("end",), tag="record",
                                          recover=False, huge_tree=True):
            records.append(to_fields(element))
            numbers.append("" if _first(element, "issue") else _first(element, "number"))
            element.clear(keep_tail=True)
    except etree.XMLSyntaxError as err:
        line = err.position[0] if err.position else None
        raise InputError(Problem(message=f"EndNote XML is not well formed: {err.msg}",
                                 file=str(path), row=line, rule="export file format",
                                 hint="the export may have been cut off (missing end tag); "
                                 "export it again")) from None
    drop_record_id_numbers(records, numbers)
    return records
