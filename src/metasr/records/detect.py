"""Read an export file: decode its bytes, normalise line endings, pick the format from content.

Decoding tries UTF-8 (with or without BOM) and falls back to Windows-1252 / Latin-1, which is what
EndNote, Excel and R write on Windows; the choice is reported in `ExportText.encoding`. The
format is decided from the first few kilobytes (tags, markers, headers), never from the file
name alone, because databases and reference managers use `.txt` for four different formats; the
extension only breaks ties between formats whose content both match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from metasr.errors import InputError, Problem
from metasr.records.formats import bibtex, csv, endnote_xml, medline, ovid, ris, wos

# Order matters: the most specific signatures first (an Ovid record contains RIS-like tags,
# a CSV header can contain the word "title" that any text has).
FORMATS = {
    "endnote_xml": endnote_xml,
    "medline": medline,
    "ovid": ovid,
    "ris": ris,
    "wos": wos,
    "bibtex": bibtex,
    "csv": csv,
}
_HEAD_CHARS = 8000


@dataclass(frozen=True)
class ExportText:
    path: str
    text: str  # decoded, BOM removed, line endings "\n"
    encoding: str
    format: str


def decode(data: bytes, path: str) -> tuple[str, str]:
    if not data.strip():
        raise InputError(Problem(message="export file is empty", file=str(path), row=1,
                                 rule="export file format", hint="export the search again"))
    if b"\x00" in data[:_HEAD_CHARS]:
        raise InputError(Problem(message="file is binary, not a text export (it contains NUL "
                                 "bytes; UTF-16 or a word-processor / zip file?)", file=str(path),
                                 row=1, rule="export file format",
                                 hint="export as RIS, MEDLINE, BibTeX, CSV or EndNote XML text"))
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte string")  # unreachable


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_format(text: str, path: str) -> str:
    head = text[:_HEAD_CHARS]
    matches = [name for name, module in FORMATS.items() if module.looks_like(head)]
    if not matches:
        first = next((line for line in head.split("\n") if line.strip()), "")
        raise InputError(Problem(message="unknown export format", file=str(path), row=1,
                                 value=first[:80], rule="export file format",
                                 hint="supported: PubMed MEDLINE, RIS, Web of Science tagged, "
                                 "Ovid, BibTeX, CSV with a title column, EndNote XML"))
    suffix = Path(path).suffix.lower()
    by_suffix = {".nbib": "medline", ".ris": "ris", ".bib": "bibtex", ".xml": "endnote_xml",
                 ".csv": "csv", ".tsv": "csv"}
    if len(matches) > 1 and by_suffix.get(suffix) in matches:
        return by_suffix[suffix]
    return matches[0]


def read_export(path: str | Path, fmt: str | None = None) -> ExportText:
    """Decode a file; detect its format unless `fmt` names one."""
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InputError(Problem(message=f"cannot read export file: {err.strerror}", file=path,
                                 rule="file exists", hint="check the path")) from None
    text, encoding = decode(data, path)
    text = normalise_newlines(text).lstrip("\ufeff")
    return ExportText(path=path, text=text, encoding=encoding,
                      format=fmt or detect_format(text, path))


def parse_export(path: str | Path, fmt: str | None = None, mapping: dict | None = None) -> tuple[
        ExportText, list[dict]]:
    """Decode, detect and parse one export into raw records (see `formats`)."""
    # A column mapping only means something for CSV: it also names the format.
    export = read_export(path, fmt or ("csv" if mapping else None))
    name = export.format
    if name not in FORMATS:
        raise InputError(Problem(message=f"unknown format name {name!r}", file=export.path,
                                 rule="export file format", hint=f"one of {sorted(FORMATS)}"))
    module = FORMATS[name]
    records = module.parse(export.text, export.path, mapping) if name == "csv" else \
        module.parse(export.text, export.path)
    if not records:
        raise InputError(Problem(message=f"no records found in {name} export", file=export.path,
                                 row=1, rule="export file format",
                                 hint="the file has a recognised header but no records"))
    return ExportText(export.path, export.text, export.encoding, name), records
