"""Web of Science tagged text ("other reference software"): `FN`/`VR` header, two-character tag,
one space, value; continuation lines indented by three spaces; `ER` closes a record, `EF` the
file."""

from __future__ import annotations

import re

from metasr.records.formats.tagged import join_authors, join_pages, split_records

NAME = "wos"
_TAG = re.compile(r"^([A-Z][A-Z0-9])(?: (.*)|)$")
_CONTINUATION = re.compile(r"^ {2,3}\S")
# Tags that continue over indented lines but are lists, one item per line.
_LIST_TAGS = ("AU", "AF")


def looks_like(head: str) -> bool:
    return bool(re.match(r"^(FN |VR |PT [A-Z]\b)", head.lstrip("\ufeff \t\n")))


def _list_values(record, tag: str, lines: list[str]) -> list[str]:
    """AU/AF put one name per line; the splitter joined them, so re-read the lines."""
    names = []
    for t, _, line in record.fields:
        if t != tag:
            continue
        names.append(lines[line - 1][3:].strip())
        following = line
        while following < len(lines) and _CONTINUATION.match(lines[following]):
            names.append(lines[following].strip())
            following += 1
    return names


def to_fields(record, lines: list[str]) -> dict:
    authors = _list_values(record, "AF", lines) or _list_values(record, "AU", lines)
    return {
        "line": record.line,
        "title": record.first("TI"),
        "authors": join_authors(authors),
        "year": record.first("PY", "EA", "PD"),
        "journal": record.first("SO", "J9", "JI"),
        "volume": record.first("VL"),
        "issue": record.first("IS"),
        "pages": join_pages(record.first("BP"), record.first("EP")) or record.first("AR"),
        "doi": record.first("DI"),
        "pmid": record.first("PM"),
        "abstract": record.first("AB"),
        "publication_type": record.first("DT", "PT"),
        "accession": record.first("UT"),
        "database": "Web of Science",
    }


def parse(text: str, path: str) -> list[dict]:
    lines = text.split("\n")
    records = split_records(lines, path, _TAG, start_tags=("PT",), end_tags=("ER",),
                            ignore_tags=("FN", "VR", "EF"), continuation=_CONTINUATION,
                            fmt_name="Web of Science")
    return [to_fields(r, lines) for r in records]
