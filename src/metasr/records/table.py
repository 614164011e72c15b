"""The normalised record table: its columns and how a raw record becomes a row.

The columns are the contract in docs/architecture.md ("Search records"). Every format parser
returns dicts keyed by `FIELDS` (+ `line`); `build_table` adds the identity columns and cleans
identifiers (DOI lower case without resolver prefix, PMID digits only) so that every later stage
can compare them directly.
"""

from __future__ import annotations

import html
import re
import unicodedata
import urllib.parse

from metasr.errors import Problem

FIELDS = [
    "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "abstract", "publication_type", "accession",
]
COLUMNS = [
    "record_id", "source", "source_file", "source_index", "line", "database", "format",
    *FIELDS,
]

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE)
_DOI_CORE = re.compile(r"10\.\d{4,9}/\S+")
_SPACES = re.compile(r"\s+")


def clean_text(value) -> str:
    """Collapse whitespace (exports wrap long fields over lines) and strip."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _SPACES.sub(" ", text).strip()


def clean_doi(value) -> str:
    """`https://doi.org/10.1/AB` → `10.1/ab`; values without a DOI in them give ''. One DOI
    written two ways gives one value: percent-encoded in a URL (`10.1002/%28SICI%29…`), with
    HTML entities (`&lt;`), with a trailing '[doi]' note or closing bracket of the text around
    it."""
    text = clean_text(value)
    if not text:
        return ""
    if "%" in text:
        text = urllib.parse.unquote(text)
    if "&" in text:
        text = html.unescape(text)
    text = _DOI_PREFIX.sub("", text)
    match = _DOI_CORE.search(text)
    if not match:
        return ""
    doi = re.sub(r"\[doi\]$", "", match.group(0), flags=re.IGNORECASE).rstrip(".,;")
    for opening, closing in ("()", "[]", "<>"):
        while doi.endswith(closing) and doi.count(closing) > doi.count(opening):
            doi = doi[:-1].rstrip(".,;")
    return doi.lower()


def clean_pmid(value) -> str:
    """A PMID is digits only; MEDLINE and RIS exports sometimes append ' [pmid]' or similar."""
    match = re.search(r"\d{1,9}", clean_text(value))
    return match.group(0) if match else ""


def clean_year(value) -> str:
    """The first plausible 4-digit year in a date field ('2017 Feb', '2019/09/18/')."""
    match = re.search(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)", clean_text(value))
    return match.group(1) if match else ""


def build_table(raw_records: list[dict], source: str, source_file: str, database: str,
                fmt: str) -> list[dict]:
    """Raw parser output → rows with exactly `COLUMNS`, in file order."""
    rows = []
    for index, raw in enumerate(raw_records):
        row = {
            "record_id": f"{source}:{index}",
            "source": source,
            "source_file": source_file,
            "source_index": index,
            "line": raw.get("line", ""),
            "database": clean_text(raw.get("database")) or database,
            "format": fmt,
        }
        for field in FIELDS:
            row[field] = clean_text(raw.get(field, ""))
        row["doi"] = clean_doi(row["doi"])
        row["pmid"] = clean_pmid(row["pmid"])
        row["year"] = clean_year(row["year"])
        rows.append(row)
    return rows


# What a cleaned identifier must look like; a value given but not of that form is dropped.
READABLE = {"year": "a year (1500-2099)", "doi": "a DOI (10.NNNN/...)", "pmid": "a PubMed id (digits)"}


def unreadable_values(raw_records: list[dict], rows: list[dict], path) -> list[Problem]:
    """Warnings for identifiers an export gives that `build_table` could not read (a year
    'abcd', a DOI without '10.'): the record keeps a blank there, and the user should know."""
    warnings = []
    for raw, row in zip(raw_records, rows, strict=True):
        for field, wanted in READABLE.items():
            given = clean_text(raw.get(field, ""))
            if given and not row[field]:
                warnings.append(Problem(
                    message=f"record {row['source_index'] + 1}: {field} is not {wanted}, so the record has no {field}",
                    file=str(path), row=raw.get("line") or None, column=field, value=given[:80],
                    rule="readable identifier", severity="warning",
                    hint=f"correct the {field} in the export if the record should have one"))
    return warnings
