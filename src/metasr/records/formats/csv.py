"""CSV / TSV exports (Zotero, Scopus, Rayyan, R data frames, hand-made lists) with a column
mapping.

Each table field is looked up through `COLUMN_SYNONYMS` (case- and punctuation-insensitive
header names as Zotero, Scopus, EndNote, Covidence and R's `write.csv` write them); a caller
can pass `mapping={field: column}` to override any of them. Cells holding only `NA`/`NULL`
(R, SQL) are empty. Python's csv module is used rather than pandas so that each record keeps the
physical line it starts on (fields may span lines) and a ragged row is reported by line.
"""

from __future__ import annotations

import csv as _csv
import io
import re
from typing import Any

from metasr.errors import InputError, Problem
from metasr.io import allow_long_fields, separator_line, unclosed_quote_problem

NAME = "csv"

COLUMN_SYNONYMS = {
    "title": ["title", "article title", "document title", "primary title", "ti"],
    "authors": ["authors", "author", "author full names", "author names", "au"],
    "year": ["year", "publication year", "published year", "py", "pubyear", "date",
             "publication date"],
    "journal": ["journal", "publication title", "source title", "journal title", "secondary title",
                "source", "so", "journal/book"],
    "volume": ["volume", "vl"],
    "issue": ["issue", "number", "is"],
    "pages": ["pages", "page", "page range", "pg"],
    "doi": ["doi", "di"],
    "pmid": ["pmid", "pubmed id", "pubmedid", "pm"],
    "abstract": ["abstract", "abstract note", "ab"],
    "publication_type": ["publication type", "publication_type", "document type", "item type",
                         "type", "pt", "dt"],
    "accession": ["id", "key", "record id", "record_id", "eid", "accession number", "ut",
                  "unique wos id", "covidence #"],
}
_SCOPUS_PAGES = ("page start", "page end", "art. no.")
_NULLS = {"na", "n/a", "null", "none", "nan"}
_PMID_IN_EXTRA = re.compile(r"\bPMID:\s*(\d+)")


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9#/.]+", " ", header.lower()).strip()


def looks_like(head: str) -> bool:
    head = head.lstrip("\ufeff")
    length, named = separator_line(head)
    first = head[length:].split("\n", 1)[0]
    keys = {_key(cell) for cell in re.split(f"[,;\t{re.escape(named or '')}]", first.replace('"', ""))}
    return bool(keys & set(COLUMN_SYNONYMS["title"]))


def _dialect(text: str) -> str:
    header = text.split("\n", 1)[0]
    return max([",", ";", "\t"], key=header.count)


def _separator(text: str) -> tuple[str, str]:
    """(the text after Excel's separator line, if it starts with one, the separator the line names
    or, without one, the header's most common of comma, semicolon and tab). Lines are then numbered
    as Excel, which hides that line, shows them: the header is line 1."""
    length, named = separator_line(text)
    text = text[length:]
    return text, named or _dialect(text)


def resolve_columns(header: list[str], mapping: dict | None, path: str) -> dict:
    """field → column index, from the mapping given, else from the synonyms."""
    keys = [_key(h) for h in header]
    columns = {}
    for field, names in COLUMN_SYNONYMS.items():
        for name in names:
            if name in keys:
                columns[field] = keys.index(name)
                break
    for field, column in (mapping or {}).items():
        if column not in header:
            raise InputError(Problem(message="column mapping names a column that is not in the "
                                     "file", file=str(path), row=1, column=column,
                                     rule="csv column mapping", hint=f"columns: {header}"))
        columns[field] = header.index(column)
    if "title" not in columns:
        raise InputError(Problem(message="no title column in CSV header", file=str(path), row=1,
                                 value=", ".join(header)[:120], rule="csv column mapping",
                                 hint="name a title column (e.g. 'title') or pass a mapping"))
    return columns


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    value = row[index].strip()
    return "" if value.lower() in _NULLS else value


def _pages(row, keys, columns) -> str:
    pages = _cell(row, columns.get("pages"))
    if pages:
        return pages
    start, end, article = (_cell(row, keys.index(k)) if k in keys else "" for k in _SCOPUS_PAGES)
    if start and end:
        return f"{start}-{end}"
    return start or article


def parse(text: str, path: str, mapping: dict | None = None) -> list[dict]:
    allow_long_fields()
    text, delimiter = _separator(text.lstrip("\ufeff"))
    reader = _csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(Problem(message="CSV file is empty", file=str(path), row=1,
                                 rule="export file format")) from None
    keys = [_key(h) for h in header]
    columns = resolve_columns(header, mapping, path)
    extra = keys.index("extra") if "extra" in keys else None
    records = []
    last_start, end = 1, reader.line_num  # where the last record read starts and ends
    line = end + 1
    try:
        for row in reader:
            last_start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                line = reader.line_num + 1
                continue
            if len(row) > len(header):
                raise InputError(Problem(
                    message=f"row has {len(row)} fields but the header has {len(header)}",
                    file=str(path), row=line, value=",".join(row)[:80], rule="csv row width",
                    hint="a field probably contains an unquoted delimiter or quote"))
            record: dict[str, Any] = {field: _cell(row, index) for field, index in columns.items()}
            record["pages"] = _pages(row, keys, columns)
            if not record.get("pmid") and extra is not None:
                found = _PMID_IN_EXTRA.search(_cell(row, extra))
                record["pmid"] = found.group(1) if found else ""
            record["line"] = line
            records.append(record)
            last_width = len(row)
            line = reader.line_num + 1
    except _csv.Error as err:
        raise InputError(Problem(message=f"CSV syntax error: {err}", file=str(path),
                                 row=reader.line_num, rule="export file format",
                                 hint="check for an unclosed quote")) from None
    # Python's csv reader takes everything after a quote that never closes into one cell.
    problem = unclosed_quote_problem(text, last_start, path, header, delimiter)
    if problem is not None:
        raise InputError(problem)
    if records and not text.endswith("\n") and last_width < len(header):
        raise InputError(Problem(
            message=f"the last row has {last_width} of the header's {len(header)} fields and the file ends "
                    "without a line break: it seems cut off", file=str(path), row=records[-1]["line"],
            rule="export file format", hint="export the search again (if the file is complete, end it with a "
                                            "line break)"))
    return records
