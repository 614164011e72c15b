"""Read an export file: decode its bytes, normalise line endings, pick the format from content.

Decoding reads UTF-16 and UTF-32 when a byte-order mark says so, tries UTF-8 (with or without
BOM) and falls back to Windows-1252 / Latin-1, which is what
EndNote, Excel and R write on Windows; the choice is reported in `ExportText.encoding` (and logged
when it is not UTF-8). A file that is UTF-8 apart from a few stray bytes is refused at their lines. The
format is decided from the first few kilobytes (tags, markers, headers), never from the file
name alone, because databases and reference managers use `.txt` for four different formats; the
extension only breaks ties between formats whose content both match.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from metasr.errors import InputError, Problem, raise_if_errors
from metasr.io import read_bytes
from metasr.records.formats import bibtex, csv, endnote_xml, medline, ovid, ris, wos
from metasr.records.table import FIELDS

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


_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")  # control characters no text export contains


def holds_nothing(data: bytes) -> bool:
    """Whether an export's bytes are empty: whitespace, or a byte-order mark alone."""
    return not data.removeprefix(codecs.BOM_UTF8).strip()


def decode(data: bytes, path: str) -> tuple[str, str]:
    """Text and encoding of an export's bytes. A file that starts with a UTF-8 byte-order mark
    promises UTF-8, so a bad byte in it is damage, not another encoding; one with a UTF-16 or
    UTF-32 mark is read in that encoding. Binary content (NUL or other control bytes) is refused
    with the line where it starts; a DOS end-of-file mark (Ctrl-Z) at the end is dropped."""
    if holds_nothing(data):
        raise InputError(Problem(message="export file is empty", file=str(path), row=1,
                                 rule="export file format", hint="export the search again"))
    wide = _wide_encoding(data)
    if wide:
        return _checked(_decode_wide(data, wide, path), path), wide
    marked = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8):] if marked else data
    try:
        text, encoding = body.decode("utf-8"), "utf-8-sig"
    except UnicodeDecodeError as err:
        if marked:
            raise InputError(Problem(
                message=f"the file is marked as UTF-8 but byte 0x{body[err.start]:02x} is not UTF-8 "
                        "(the file is damaged, or binary data was pasted into it)",
                file=str(path), row=_line_at(body, err.start), rule="export file format",
                hint="export the search again")) from None
        raise_if_errors(_mixed_encoding_problems(body, path))
        text, encoding = _legacy_text(data)
    return _checked(text, path), encoding


# Byte-order marks of the wide encodings (UTF-32 first: its little-endian mark begins with
# UTF-16's). EndNote saves XML, and Excel and Notepad 'Unicode' text, as UTF-16 with a mark.
_WIDE_BOMS = (("utf-32", codecs.BOM_UTF32_LE), ("utf-32", codecs.BOM_UTF32_BE),
              ("utf-16", codecs.BOM_UTF16_LE), ("utf-16", codecs.BOM_UTF16_BE))


def _wide_encoding(data: bytes) -> str:
    """'utf-16' or 'utf-32' when the bytes start with that encoding's byte-order mark."""
    return next((name for name, bom in _WIDE_BOMS if data.startswith(bom)), "")


def _decode_wide(data: bytes, encoding: str, path: str) -> str:
    try:
        return data.decode(encoding)  # the codec reads the mark for the byte order
    except UnicodeDecodeError as err:
        raise InputError(Problem(
            message=f"the file is marked as {encoding.upper()} but bytes {err.start}-{err.end - 1} "
                    "are not (the file is damaged or cut off)",
            file=str(path), row=data[: err.start].decode(encoding, errors="replace").count("\n") + 1,
            rule="export file format", hint="export the search again")) from None


_DOS_END = re.compile(r"\x1a+\s*\Z")  # Ctrl-Z: the end-of-file mark DOS programs write


def _checked(text: str, path: str) -> str:
    """The text without a trailing DOS end-of-file mark; binary content refused."""
    text = _DOS_END.sub("", text) if "\x1a" in text[-16:] else text
    binary = _BINARY.search(text)
    if binary:
        raise InputError(Problem(
            message=f"the file contains binary data (control character U+{ord(binary.group()):04X}), "
                    "not a text export: UTF-16 without a byte-order mark, a word-processor or zip "
                    "file, or a damaged export?",
            file=str(path), row=normalise_newlines(text[: binary.start()]).count("\n") + 1,
            rule="export file format",
            hint="export as RIS, MEDLINE, BibTeX, CSV or EndNote XML text (UTF-8)"))
    return text


def _line_at(data: bytes, offset: int) -> int:
    return normalise_newlines(data[:offset].decode("utf-8", errors="replace")).count("\n") + 1


def _mixed_encoding_problems(body: bytes, path: str) -> list[Problem]:
    """A file that holds valid UTF-8 beside bytes that are not: mostly UTF-8 with a stray byte.

    Read as Windows-1252 it would decode without a word, every accented letter of the UTF-8 part
    turned into two (Müller -> MÃ¼ller), which also keeps duplicates apart. A file consistently in
    Windows-1252 or Latin-1 has no valid UTF-8 multi-byte sequence (in practice), so it is still read
    as such."""
    text = body.decode("utf-8", errors="surrogateescape")
    if not any(ord(ch) > 0x7F and not 0xDC80 <= ord(ch) <= 0xDCFF for ch in text):
        return []
    lines = [number for number, line in enumerate(text.split("\n"), start=1)
             if any(0xDC80 <= ord(ch) <= 0xDCFF for ch in line)]
    shown = ", ".join(map(str, lines[:10])) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
    return [Problem(
        message=f"the file is UTF-8 but {'lines' if len(lines) > 1 else 'line'} {shown} "
                f"{'hold' if len(lines) > 1 else 'holds'} bytes that are not UTF-8 (a character typed or pasted "
                "in another encoding)",
        file=str(path), row=lines[0], rule="encoding",
        hint="retype the characters at those lines in an editor saving UTF-8, or export the search again")]


def _legacy_text(data: bytes) -> tuple[str, str]:
    for encoding in ("cp1252", "latin-1"):
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
                                 hint=_unknown_format_advice(head) + "supported: PubMed MEDLINE, "
                                 "RIS, Web of Science tagged, Ovid, BibTeX, CSV with a title column, "
                                 "EndNote XML"))
    suffix = Path(path).suffix.lower()
    by_suffix = {".nbib": "medline", ".ris": "ris", ".bib": "bibtex", ".xml": "endnote_xml",
                 ".csv": "csv", ".tsv": "csv"}
    if len(matches) > 1 and by_suffix.get(suffix) in matches:
        return by_suffix[suffix]
    return matches[0]


_ONE_SPACE_RIS = re.compile(r"^TY -", re.MULTILINE)


def _unknown_format_advice(head: str) -> str:
    """What to do with the near misses people do export: PubMed's XML and RIS whose tags are
    followed by one space ('TY - JOUR') instead of two."""
    if "<PubmedArticleSet" in head or "<PubmedArticle>" in head:
        return ("this is PubMed XML: in PubMed choose Send to > Citation manager (a .nbib file, "
                "PubMed format); ")
    if _ONE_SPACE_RIS.search(head):
        return "RIS tags need two spaces before the dash ('TY  - JOUR', not 'TY - JOUR'); "
    return ""


def read_export(path: str | Path, fmt: str | None = None) -> ExportText:
    """Decode a file; detect its format unless `fmt` names one."""
    path = str(path)
    data = read_bytes(path)
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
    raise_if_errors(empty_record_problems(records, export.path, name))
    return ExportText(export.path, export.text, export.encoding, name), records


# A record type alone (RIS `TY`, a BibTeX entry type) says nothing about a report; nor does a
# BibTeX citation key (read as `accession`), a label the reference manager made up.
_CONTENT_FIELDS = [f for f in FIELDS if f != "publication_type"]
_LABEL_FIELDS = {"bibtex": {"accession"}}


def empty_record_problems(records: list[dict], path: str, fmt: str) -> list[Problem]:
    """Records that hold no bibliographic field at all (an RIS `TY`/`ER` pair with nothing between).

    Such a record is refused rather than skipped: it is no report, so it cannot be screened or
    named in a decision file, yet dropping it would make metasr's count of records identified
    differ from the database's without a word. The reviewer decides: delete it from the export
    (noting the edit) or export the search again."""
    problems = []
    content = [f for f in _CONTENT_FIELDS if f not in _LABEL_FIELDS.get(fmt, set())]
    for number, record in enumerate(records, start=1):
        if any(str(record.get(f) or "").strip() for f in content):
            continue
        line = record.get("line")
        problems.append(Problem(
            message=f"record {number} of the {fmt} export is empty: no title, authors, year, journal, "
                    "identifier or abstract", file=path, row=line if isinstance(line, int) else None,
            rule="empty record",
            hint="an empty record is no report and cannot be screened; delete it from the export (from "
                 "this line to its end) and note the edit, or export the search again"))
    return problems
