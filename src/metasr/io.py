"""Small file helpers shared by every stage: atomic writes, deterministic JSON, the one CSV
reader and writer, and clear problems for what the operating system refuses.

Every CSV metasr writes goes through `write_csv` (or `csv_text`): text cells that a spreadsheet
would run as a formula get a leading apostrophe (`csv_safe_cell`), and every CSV metasr reads
goes through `read_csv_rows`, which takes the apostrophe off again (`csv_plain_cell`), so a
table written and read back is unchanged.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import json
import math
import operator
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, TypeVar

from metasr.errors import InputError, Problem

# ---------------------------------------------------------------- missing values

# The text a table cell holds for a missing value, lower-cased: blank, R's write.csv `NA`,
# pandas' `NaN` and `<NA>`. Every reader of a user's effect table treats these alike.
MISSING_MARKERS = frozenset({"", "na", "nan", "<na>"})
# What a reviewer writes in a cell for a value a study did not report, lower-cased: never a value
# (a moderator level 'NR', a category of its own), always a missing one.
NOT_REPORTED_MARKERS = MISSING_MARKERS | frozenset({"nr", "n.r.", "n.r", "n/r", "not reported", "n/a", "n.a.", "-",
                                                    "--", "\u2013", "\u2014", "?", "."})


# A number as a spreadsheet or R writes one: ASCII digits, an optional sign, point and exponent.
# Python's float() also reads `1_000` (as 1000) and other scripts' digits (`١`, `１`); a cell
# holding them is a typo or not a number, never silently a number.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NON_FINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"})


def plain_number(text) -> float:
    """A cell's number: its text (spaces around it aside) as a plain decimal number, or inf/nan;
    ValueError for anything else, also for what float() alone would read (`1_000`, `١`). A number
    too small for a double is 0, as float() reads it (`underflows` tells it)."""
    value = str(text).strip()
    if _PLAIN_NUMBER.fullmatch(value) or value.lower() in _NON_FINITE:
        return float(value)
    raise ValueError(f"not a plain number: {value!r}")


def underflows(text) -> bool:
    """Whether a plain number's text is not 0 (a digit 1-9 before its exponent) though float() reads 0."""
    text = str(text).strip()
    return bool(_PLAIN_NUMBER.fullmatch(text) and re.search(r"[1-9]", re.split(r"[eE]", text)[0])) and float(text) == 0


_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)"
_MEAN_AND_SD = re.compile(rf"\s*{_NUM}\s*(?:\(\s*{_NUM}\s*\)|(?:\u00b1|\+/-|\+-)\s*{_NUM})\s*")
_EFFECT_AND_CI = re.compile(rf"\s*{_NUM}\s*[(\[]\s*(?:95\s*%\s*CI:?\s*)?{_NUM}\s*(?:-|\u2013|\u2014|to|,|;)\s*"
                            rf"{_NUM}\s*[)\]]\s*", re.IGNORECASE)
# The column a mean's SD goes in, and an effect's CI bounds, by the column the pair was written in
_SD_COLUMN = {"m1i": "sd1i", "m2i": "sd2i", "mi": "sdi", "mean1": "sd1", "mean2": "sd2", "mean": "sd"}
_CI_COLUMNS = {"yi": ("ci_lb", "ci_ub"), "effect": ("effect_ci_lb", "effect_ci_ub")}


def number_cell_hint(text, column: str | None = None) -> str | None:
    """How to write a cell that holds more than a number, for what spreadsheets commonly hold: a
    mean with its SD ('55 (47)', '55 ± 47'), an effect with its CI ('0.30 (0.09-1.00)'), a number
    too small for a double ('1e-400'); None for anything else."""
    value = str(text).strip()
    if _EFFECT_AND_CI.fullmatch(value):
        lb, ub = _CI_COLUMNS.get(str(column), ("its CI's lower bound column", "upper bound column"))
        return f"one cell holds an effect and its CI: split it, the effect here and the bounds in {lb} and {ub}"
    if _MEAN_AND_SD.fullmatch(value):
        if column in _SD_COLUMN:
            return f"one cell holds a mean and its SD: split it, the mean here and the SD in {_SD_COLUMN[column]}"
        return "one cell holds two numbers (a count and its %, a mean and its SD?): write only this column's number"
    if underflows(value):
        return ("the number is too small for a computer's numbers (it would read as 0): write 0 if it is 0, "
                "else check the cell (a wrong exponent or unit?)")
    return None


def plain_number_texts(texts) -> bool:
    """Whether none of `texts` (cells float() read) holds what plain_number refuses: an underscore
    or a character outside ASCII (one test of their joined text, for columns of many cells)."""
    joined = "".join(map(str, texts))
    return "_" not in joined and joined.isascii()


def is_missing(value: Any) -> bool:
    """Whether a cell is a missing value: None, a NaN (or pandas' NA, NaT), or a MISSING_MARKERS
    text in any case with spaces around it."""
    if value is None:
        return True
    if not isinstance(value, str):
        try:
            if value != value:  # NaN and NaT are the only values unequal to themselves
                return True
        except TypeError:  # pandas' NA: its comparisons are NA, whose truth value is an error
            return True
    return str(value).strip().lower() in MISSING_MARKERS


# ---------------------------------------------------------------- a step's files

StepFilesT = TypeVar("StepFilesT", bound="StepFiles")


@dataclass(frozen=True)
class StepFiles:
    """Base of the files one library step reads or writes, as named paths (a dataclass).

    A subclass declares one path field per file and, in FILE_NAMES, the files' usual names in
    one folder, in field order (what the command line's --out folder holds). The workflow
    names the files itself: a rule's named inputs or outputs carry the fields' names.
    """

    FILE_NAMES: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def in_folder(cls: type[StepFilesT], folder: str | os.PathLike) -> StepFilesT:
        return cls(*(Path(folder) / name for name in cls.FILE_NAMES))

    @classmethod
    def from_rule(cls: type[StepFilesT], named: Any) -> StepFilesT:
        """From a rule's `snakemake.input` or `snakemake.output` (entries named as the fields)."""
        return cls(*(Path(getattr(named, field.name)) for field in fields(cls)))


# ---------------------------------------------------------------- what the system refuses

# errno -> (what happened, what to do), for reading and for writing.
_READ_PROBLEMS = {
    errno.ENOENT: ("not found", "check the path (as the command or the config gives it)"),
    errno.EACCES: ("permission denied", "make the file readable by the user running metasr"),
    errno.EPERM: ("permission denied", "make the file readable by the user running metasr"),
    errno.EISDIR: ("it is a folder, not a file", "name the file inside the folder"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.ENAMETOOLONG: ("the path is too long", "use a shorter path"),
    errno.ELOOP: ("the path has a loop of symbolic links", "check the links"),
    errno.EIO: ("input/output error", "the disk or network file system failed; check it and run again"),
}
_WRITE_PROBLEMS = {
    errno.ENOSPC: ("the disk is full", "free some space on that disk (or move the review to a disk "
                   "with room) and run again; nothing partial was kept"),
    errno.EDQUOT: ("the disk quota is used up", "free some space within your quota and run again; "
                   "nothing partial was kept"),
    errno.EROFS: ("the file system is read-only", "run the review in a folder you can write to"),
    errno.EACCES: ("permission denied", "make the folder writable by the user running metasr, or run "
                   "the review in a copy you can write to"),
    errno.EPERM: ("permission denied", "make the folder writable by the user running metasr, or run "
                  "the review in a copy you can write to"),
    errno.EISDIR: ("it is a folder", "give a file name"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose an output folder that is not "
                    "an existing file"),
    errno.ENAMETOOLONG: ("the path is too long", "use a shorter path"),
    errno.EIO: ("input/output error", "the disk or network file system failed; check it and run again"),
}


# The rule each refusal breaks, as Problems name rules.
_RULES = {errno.ENOSPC: "disk space", errno.EDQUOT: "disk space", errno.EROFS: "writable folder",
          errno.EACCES: "permission", errno.EPERM: "permission", errno.ENOENT: "file exists",
          errno.EISDIR: "path names a file", errno.ENOTDIR: "path names a file",
          errno.ENAMETOOLONG: "path length", errno.ELOOP: "path", errno.EIO: "working disk"}
SYSTEM_RULES = frozenset(_RULES.values())


def os_error_problem(err: OSError, path: str | os.PathLike | None = None, action: str = "read") -> Problem | None:
    """A Problem for an OSError the user can act on (a missing or unreadable file, a full disk,
    a read-only folder), naming the path; None for any other OSError (a bug keeps its traceback).

    `action` is "read" or "write": the same errno asks for a different remedy.
    """
    known = _WRITE_PROBLEMS if action == "write" else _READ_PROBLEMS
    if err.errno not in known:
        return None
    what, hint = known[err.errno]
    where = str(path if path is not None else err.filename or "")
    return Problem(message=f"cannot {action} {'this path' if where else 'a file'}: {what}", file=where or None,
                   rule=_RULES[err.errno], hint=hint)


def translate_os_error(err: OSError) -> InputError | None:
    """The clear problem for an OSError that escaped to the top (the CLI, a workflow step): the
    path it names, as a write when the errno only happens on writes."""
    action = "write" if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) else "read"
    problem = os_error_problem(err, err.filename, action)
    return None if problem is None else InputError(problem)


# ---------------------------------------------------------------- atomic writes

def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    Readers never see half a file, and a failed step leaves no partial output. The file gets the
    permissions a plain `open()` would give (mkstemp's 0600 would hide results from co-workers).
    A full disk, a read-only or unwritable folder become an InputError naming `path`.
    """
    path = Path(path)
    check_output_path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
        os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        # Only errors about this output; an input the block failed to read keeps its own name.
        named = err.filename if isinstance(err.filename, (str, os.PathLike)) else None
        if named is None or Path(named) in (Path(tmp or path), path, *path.parents):
            problem = os_error_problem(err, path, "write")
            if problem is not None:
                raise InputError(problem) from None
        raise
    finally:
        if tmp is not None:
            try:
                Path(tmp).unlink(missing_ok=True)
            except OSError:
                pass


def check_output_path(path: Path) -> None:
    """A clear error, not an OSError traceback, when an output would land on a folder or under a
    file (a mistyped --out is the usual cause)."""
    if path.is_dir():
        raise InputError(Problem(message=f"cannot write {path}: it is a folder", file=str(path),
                                 rule="output path", hint="give a file name, or another --out"))
    blocked = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise InputError(Problem(message=f"cannot write {path}: {blocked} is a file, not a folder",
                                 file=str(path), rule="output path",
                                 hint="choose an --out folder that is not an existing file"))


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (hex), read in blocks so that a large export is not held whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


def json_safe(value: Any) -> Any:
    """NaN and infinities become null (JSON has no such numbers); numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False) + "\n")


# ---------------------------------------------------------------- reading inputs

def read_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes; a missing, unreadable or folder path is an InputError naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as err:
        problem = os_error_problem(err, path, "read")
        if problem is None:
            raise
        raise InputError(problem) from None


# ---------------------------------------------------------------- CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TOUCHED = frozenset("=+-@\t\r'")  # first characters csv_safe_cell may act on
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")
# Python's csv module refuses fields over 128 kB by default; an abstract or a hand-made cell can
# be longer, and a table metasr wrote must be readable by metasr.
_FIELD_LIMIT = 2**31 - 1


def csv_safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP's CSV injection
    guidance): text starting with '=', '+', '-', '@', a tab or a carriage return gets a leading
    apostrophe. Numbers, and text that is a plain number ('-0.5'), stay as they are.

    Text that already starts with apostrophes before such a character gets one more, so that
    `csv_plain_cell` undoes exactly what this did.
    """
    if not isinstance(value, str) or not value or value[0] not in _TOUCHED:
        return value  # nearly every cell: tables of 100,000 records pass here
    if value.startswith(_FORMULA_START) and not _NUMBER.match(value) or _ESCAPED.match(value):
        return "'" + value
    return value


def csv_plain_cell(value: str) -> str:
    """The inverse of `csv_safe_cell`: one leading apostrophe off text it would have added one to."""
    return value[1:] if value[:1] == "'" and _ESCAPED.match(value) else value


def allow_long_fields() -> None:
    """Let Python's csv module read fields longer than its default 128 kB."""
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)


def _cell(value: Any) -> Any:
    # csv.writer quotes a cell holding "\n" but not one holding a lone "\r", which a reader then
    # takes for a line break: line breaks inside a cell are written as "\n".
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return csv_safe_cell(value)


def _rows_for_writing(columns: Sequence[str], rows: Iterable) -> Iterator[list]:
    for row in rows:
        cells = [row.get(c, "") for c in columns] if isinstance(row, dict) else row
        yield [_cell(cell) if isinstance(cell, str) else cell for cell in cells]  # numbers pass as they are


def write_csv(path: str | os.PathLike, columns: Sequence[str], rows: Iterable) -> None:
    """Write a UTF-8 CSV atomically: a header, then `rows` (dicts keyed by column, or lists in
    column order), every cell through `csv_safe_cell` (and line breaks inside cells as "\n").
    Cells are written as given (format numbers first if their text matters)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([csv_safe_cell(c) for c in columns])
        writer.writerows(_rows_for_writing(columns, rows))


def csv_stream(handle, columns: Sequence[str]):
    """Write the header to an open text handle now; returns a function that writes rows (dicts
    keyed by column, or lists in column order) with the same cell rules as write_csv, for tables
    too large to hold in memory (`metasr pool --by --format csv`)."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([csv_safe_cell(c) for c in columns])
    return lambda rows: writer.writerows(_rows_for_writing(columns, rows))


_NUMBER_TYPES = frozenset({int, float, type(None)})
# Text csv.writer writes as it is: none of the characters that make it quote a cell, no space at
# either end (a stricter test than csv's own; any other text is written by csv.writer itself).
_PLAIN_TEXT = re.compile(r'(?:[^,"\r\n\s](?:[^,"\r\n]*[^,"\r\n\s])?)?')


def csv_lines(columns: Sequence[Sequence]) -> list[str]:
    """Rows given column by column (every column as long), as the lines csv_stream writes for
    them (without line ends), under the same cell rules. Numbers are formatted a column at a
    time, which for tables of many rows of numbers is several times faster than csv.writer; a
    column holding the very same objects as an earlier one (a value and its identity transform)
    is formatted once."""
    if len(columns) < 2:  # csv.writer quotes a row of one empty cell: let it write such rows
        return [_written(list(row)) for row in zip(*columns, strict=True)]
    texts: list[list[str]] = []
    for at, values in enumerate(columns):
        same = next((texts[i] for i in range(at) if _same_objects(columns[i], values)), None)
        texts.append(same if same is not None else csv_cells(values))
    return list(map(",".join, zip(*texts, strict=True)))


def csv_cells(values: Sequence) -> list[str]:
    """The text csv_stream writes for each of `values`, one column's cells in rows of two or more
    cells: for ints and floats csv.writer's str() (the shortest text that reads back as the same
    float), empty for None; text through `csv_safe_cell` and csv.writer's quoting."""
    kinds = set(map(type, values))
    if kinds <= _NUMBER_TYPES:
        text = list(map(str, values))
        return text if type(None) not in kinds else ["" if v is None else t for v, t in zip(values, text, strict=True)]
    if kinds == {str} and len(distinct := dict.fromkeys(values)) < len(values):  # a column of few texts: each once
        texts = {value: _cell_text(value) for value in distinct}
        return [texts[value] for value in values]
    return [_cell_text(value) for value in values]


def _cell_text(value: Any) -> str:
    if isinstance(value, str) and _PLAIN_TEXT.fullmatch(text := _cell(value)):
        return text
    return _written([value, ""])[:-1]  # the cell, then the comma before the empty cell


def _written(cells: list) -> str:
    """One row as csv_stream writes it, without its line end."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(_rows_for_writing((), [cells]))
    return buffer.getvalue()[:-1]


def _same_objects(a: Sequence, b: Sequence) -> bool:
    return len(a) == len(b) and all(map(operator.is_, a, b))


def csv_write_lines(handle, lines: Sequence[str], missing: int = 0) -> None:
    """Write lines from `csv_lines` to an open text handle, each followed by `missing` empty cells
    (columns of the table that came after these lines were formatted)."""
    if lines:
        end = "," * missing + "\n"
        handle.write(end.join(lines) + end)


def csv_text(columns: Sequence[str], rows: Iterable) -> str:
    """The text `write_csv` would write (for outputs assembled in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_safe_cell(c) for c in columns])
    writer.writerows(_rows_for_writing(columns, rows))
    return buffer.getvalue()


def _bad_utf8(data: bytes, err: UnicodeDecodeError, path) -> Problem:
    """Where (row, column) a file stops being UTF-8: the rows before the bad byte are parsed."""
    # utf-8-sig counts positions after its BOM: in `data`, the byte is that many bytes further on
    start = err.start + len(data) - len(err.object)
    before = data[:start].decode("utf-8-sig", errors="replace")
    before = before[separator_line(before)[0]:]  # rows numbered as read_csv_rows numbers them
    parsed = list(csv.reader(io.StringIO(before)))
    at_row_start = not before or before.endswith("\n")
    row = len(parsed) + 1 if at_row_start else max(len(parsed), 1)
    header = parsed[0] if parsed else []
    index = 0 if at_row_start or not parsed else len(parsed[-1]) - 1
    column = header[index].strip() if row > 1 and index < len(header) else None
    byte = data[start: start + 1].hex()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # (UTF-32's LE mark too)
        return Problem(message="the file is UTF-16 text (Excel's 'Unicode Text', which is tab-separated), "
                               "not UTF-8 CSV", file=str(path), row=1, rule="encoding",
                       hint="save the sheet as 'CSV UTF-8 (comma delimited)'")
    guess = "Windows-1252 (Excel's plain 'CSV' on Windows)" if _decodes_cp1252(data) else "not text"
    return Problem(message=f"the file is not UTF-8 text: byte 0x{byte} cannot be read (it looks like {guess})",
                   file=str(path), row=row, column=column, rule="encoding",
                   hint="save the sheet as 'CSV UTF-8 (comma delimited)'")


def _decodes_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def decode_csv(data: bytes, path) -> str:
    """UTF-8 text without a BOM; InputError naming the row and column of the first bad byte, or
    of a NUL byte (binary content)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(_bad_utf8(data, err, path)) from None
    if "\x00" in text:
        at = data.index(b"\x00")
        problem = _bad_utf8(data, UnicodeDecodeError("utf-8", data, at, at + 1, "NUL byte"), path)
        raise InputError(Problem(message="the file contains a NUL byte: it is binary, not CSV text",
                                 file=problem.file, row=problem.row, column=problem.column,
                                 rule="encoding", hint="save the sheet as 'CSV UTF-8 (comma delimited)'"))
    return text


def check_utf8(path, block_size: int = 1 << 20) -> None:
    """InputError (undecodable_problem's) when a file is not UTF-8 text, found by decoding it a
    block at a time: for readers that stream a large file and would meet a bad byte only after
    writing results for the rows before it."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(block_size), b""):
                if not block.isascii() or decoder.getstate()[0]:  # ASCII needs no decoding (most tables)
                    decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise undecodable_problem(path) from None
    except OSError:
        return  # the reader opens the file and says what the system refused


def undecodable_problem(path) -> InputError:
    """For a reader (pandas) that failed to decode a file: the error naming the row and column of
    its first byte that is not UTF-8, and what the file looks like (decode_csv's)."""
    try:
        decode_csv(read_bytes(path), path)
    except InputError as err:
        return err
    return InputError(Problem(message="the file is not UTF-8 text", file=str(path), rule="encoding",
                              hint="save the sheet as 'CSV UTF-8 (comma delimited)'"))


def parse_csv_text(text: str, path, **reader_options) -> list[list[str]]:
    """Every row of CSV text as cells (apostrophes from `csv_safe_cell` taken off). A quote that
    is never closed is an InputError (`unclosed_quote_problem`)."""
    allow_long_fields()
    if "\r" in text and "\n" not in text:  # old Mac line ends (Excel's 'CSV (Macintosh)'): lines all the same
        text = text.replace("\r", "\n")
    reader = csv.reader(io.StringIO(text), **reader_options)
    rows, last_start, end = [], 1, 0
    try:
        for cells in reader:
            rows.append([csv_plain_cell(cell) for cell in cells])
            last_start, end = end + 1, reader.line_num
    except csv.Error as err:
        raise InputError(Problem(message=f"not a readable CSV: {err}", file=str(path), row=reader.line_num,
                                 rule="CSV", hint="save the sheet again as 'CSV UTF-8 (comma delimited)'")) from None
    problem = unclosed_quote_problem(text, last_start, path, rows[0] if rows else [],
                                     reader_options.get("delimiter", ","))
    if problem is not None:
        raise InputError(problem)
    return rows


def unclosed_quote(text: str, first_line: int, delimiter: str = ",") -> tuple[int, int] | None:
    """(line, 0-based column) where a quoted cell opens that the text never closes, looking at
    the record starting on `first_line` (the last one: Python's csv reader, unless strict,
    takes everything from such a quote to the end of the file into one cell, silently); None
    when its quotes close. A quote opens a quoted cell only as the cell's first character, as
    for the csv module."""
    start = 0
    for _ in range(first_line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    state, column, opened, opened_column = "start", 0, -1, 0
    for position in range(start, len(text)):
        char = text[position]
        if state == "quoted":
            state = "quote" if char == '"' else "quoted"
        elif char == '"' and state in ("start", "quote"):
            if state == "start":
                opened, opened_column = position, column
            state = "quoted"
        elif char == delimiter:
            state, column = "start", column + 1
        elif char in "\r\n":
            state, column = "start", 0
        else:
            state = "field"
    if state != "quoted":
        return None
    return first_line + text.count("\n", start, opened), opened_column


def unclosed_quote_problem(text: str, first_line: int, path, header: Sequence[str],
                           delimiter: str = ",") -> Problem | None:
    found = unclosed_quote(text, first_line, delimiter)
    if found is None:
        return None
    line, column = found
    rest = text.count("\n") + (0 if text.endswith("\n") else 1) - line
    swallowed = f": the rest of the file ({rest} more line{'s' * (rest != 1)}) would be read " \
        "into that one cell" if rest > 0 else ""
    return Problem(
        message=f"a quote opens a cell on line {line} and is never closed{swallowed}",
        # (on line 1 the header itself is what the quote swallowed: it names no column)
        file=str(path), row=line, column=header[column].strip() if line > 1 and column < len(header) else None,
        rule="CSV quoting",
        hint='close the quote, or write a quote inside a cell as two quotes ("") and put the '
             "cell in quotes; then save or export the file again")


def read_csv_rows(path: str | os.PathLike) -> list[list[str]]:
    """Every row of a UTF-8 CSV file as lists of cells, header first (after Excel's separator
    line `sep=,`, `after_separator_line`). A missing or unreadable file, bytes that are not UTF-8
    and broken CSV are InputErrors naming the file (and row)."""
    return parse_csv_text(after_separator_line(decode_csv(read_bytes(path), path), path), path)


# ---------------------------------------------------------------- Excel's separator line

# The first line a CSV made for Excel may have, naming its separator: `sep=,` or `sep=;`. Excel
# reads it as a setting, not a row, and hides it: the header is row 1 and the first data row
# row 2. Readers skip it and number the rows after it as Excel shows them, so that a message's
# row is the row the reviewer sees in the program the file was made for (LibreOffice and Google
# Sheets would show the line as a row; a text editor as line 1).
_SEPARATOR_LINE = re.compile(r"sep=(.?)", re.IGNORECASE)
_FIRST_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
# German, French and other Excels save 'CSV' with semicolons whatever the format's name says: the
# ways that are sure to write commas.
_SAVE_WITH_COMMAS = ("save the sheet as CSV with commas as separators: LibreOffice Calc (Save As, Text CSV, "
                     "field delimiter ',') and Google Sheets (Download, .csv) write them; Excel writes the "
                     "list separator of Windows' region settings, so set it to ',' (and the decimal symbol "
                     "to '.') before saving")
_SEPARATOR_NAMES = {";": "semicolons", "\t": "tabs"}


def separator_line(text: str) -> tuple[int, str | None]:
    """(the length of the text's first line with its line end, the separator it names) when that
    line is Excel's separator line (`sep=;` names ';', a bare `sep=` names ''); (0, None) when
    the text starts with anything else."""
    first = _FIRST_LINE.match(text)
    line = first.group() if first else ""
    found = _SEPARATOR_LINE.fullmatch(line.rstrip("\r\n").strip(" "))  # (not a tab: `sep=<tab>` names one)
    return (len(line), found.group(1)) if found else (0, None)


def after_separator_line(text: str, path) -> str:
    """CSV text without its first line when that is Excel's `sep=,` (`separator_line`); the text
    itself without one. A separator line naming another separator is an InputError: metasr reads
    comma-separated files (a sheet saved with semicolons also writes decimal commas)."""
    length, separator = separator_line(text)
    if separator is None or separator == ",":
        return text[length:]
    line = text[:length].rstrip("\r\n").strip(" ")
    if not separator:
        raise InputError(Problem(message=f"the first line '{line}' is Excel's separator line naming no separator",
                                 file=str(path), row=1, value=line, rule="csv-delimiter",
                                 hint="delete the first line, or write 'sep=,'"))
    named = _SEPARATOR_NAMES.get(separator, f"'{separator}'")
    raise InputError(Problem(message=f"the first line, Excel's separator line '{line}', says the cells are separated "
                                     f"by {named}, not by commas", file=str(path), row=1, value=line,
                             rule="csv-delimiter", hint=_SAVE_WITH_COMMAS))


def separator_lines(path: str | os.PathLike) -> int:
    """1 when a CSV file starts with Excel's `sep=,` line, else 0: the lines a reader that is
    given the file itself (pandas) skips before the header (`csv_shape`). InputError when the
    line names another separator (`after_separator_line`)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(64)  # a separator line is short; a longer first line is none
    except OSError:
        return 0  # the reader opens the file and says what the system refused
    text = first.decode("utf-8-sig", errors="replace")
    return 1 if len(after_separator_line(text, path)) < len(text) else 0


def read_csv(path: str | os.PathLike, strip: bool = False) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows as dicts) of a UTF-8 CSV, without the columns a spreadsheet left empty and
    unnamed (`named_columns`). A header that is not one (`header_problems`), a row of another
    width than the header (`row_width_problem`) and a value in a column without a name are
    InputErrors; an empty row stays, as a row of empty cells, so that rows keep their
    spreadsheet numbers."""
    table = read_csv_rows(path)
    clean = (lambda c: c.strip()) if strip else (lambda c: c)
    header = [clean(c) for c in table[0]] if table else []
    problems = header_problems(path, header)
    if problems:
        raise InputError(problems)
    shape = row_shape_problems(path, header, table[1:])
    if shape:
        raise InputError(list(shape.values()))
    named = named_columns(header)
    rows = [{header[i]: clean(cells[i]) if i < len(cells) else "" for i in named} for cells in table[1:]]
    return [header[i] for i in named], rows


# ---------------------------------------------------------------- the shape of a table

def header_problems(path, header: Sequence[str]) -> list[Problem]:
    """What makes the first row of a CSV someone wrote no header: one cell holding semicolons (a
    sheet saved with semicolons as separators), a number among its cells (the first row is
    data), a column name twice (names compared without the spaces around them, as readers strip them)."""
    if header and _SEPARATOR_LINE.fullmatch(",".join(header).strip()):
        return [Problem(message=f"the first line is Excel's separator line ('{','.join(header).strip()}'), not "
                                "the header", file=str(path), row=1, value=",".join(header).strip(),
                        rule="csv-delimiter",
                        hint="delete the first line so that the header is the first line"
                             + ("" if ",".join(header).strip()[4:] == "," else f"; then {_SAVE_WITH_COMMAS}"))]
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if len(header) == 1 and separator in header[0]:
            return [Problem(message=f"the header is one cell with {name}: the file is not comma-separated",
                            file=str(path), row=1,
                            value=header[0][:80], rule="csv-delimiter", hint=_SAVE_WITH_COMMAS)]
    numbers = [(i, c.strip()) for i, c in enumerate(header, start=1) if _NUMBER.match(c.strip())]
    if numbers:
        column, value = numbers[0]
        return [Problem(message=f"the first row holds a number ('{value}' in column {column}), so it is data, "
                                "not the header", file=str(path), row=1, value=value, rule="header-row",
                        hint="insert a first row that names the columns")]
    first: dict[str, int] = {}
    problems = []
    for number, name in enumerate((c.strip() for c in header), start=1):
        if not name:
            continue  # columns without a name are the readers' to judge (spreadsheets leave them)
        if name in first:
            problems.append(Problem(message=f"column '{name}' appears twice (columns {first[name]} and {number})",
                                    file=str(path), row=1, column=name, rule="unique-column",
                                    hint="rename or delete one of the two columns: a reader would take the "
                                         "values of only one of them"))
        else:
            first[name] = number
    return problems


def row_width_problem(path, row: int, cells: Sequence[str], width: int) -> Problem | None:
    """A row with fewer cells than the header (a cell left out shifts the cells after it), or with
    something in cells beyond it (an unquoted comma split a cell). An empty row, and empty cells
    beyond the header (a spreadsheet's leftovers), are not problems."""
    if len(cells) == width or not any(c.strip() for c in cells):
        return None
    if len(cells) > width:
        beyond = cells[width:]
        if not any(c.strip() for c in beyond):
            return None
        return Problem(message=f"the row has {len(cells)} cells, the header {width}", file=str(path), row=row,
                       value=",".join(beyond)[:80], rule="row-width",
                       hint="a comma inside a cell needs quotes (a spreadsheet adds them when it saves CSV)")
    return Problem(message=f"the row has {len(cells)} cells, the header {width}", file=str(path), row=row,
                   value=",".join(cells)[:80], rule="row-width",
                   hint="give the row a cell for every column (an empty cell still needs its comma)")


def row_shape_problems(path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> dict[int, Problem]:
    """By row number (from 2), in row order, what makes a row's cells not fit the header: another
    width (`row_width_problem`) or a value in a column without a name (`unnamed_column_problems`);
    one problem a row, as both most often mean one thing, an unquoted comma."""
    problems = {number: problem for number, cells in enumerate(rows, start=2)
                if (problem := row_width_problem(path, number, cells, len(header))) is not None}
    for problem in unnamed_column_problems(path, header, rows):
        problems.setdefault(problem.row or 0, problem)
    return dict(sorted(problems.items()))


def read_csv_header(path: str | os.PathLike, skip_separator_line: bool = False) -> list[str]:
    """The first row of a CSV file as cells, read without reading the rest (for readers that
    leave the rest to pandas); [] for an empty file. With `skip_separator_line`, the first row
    after Excel's `sep=,` line if the file starts with one (`after_separator_line`)."""
    try:
        with open(path, "rb") as handle:
            data = b""
            for line in handle:  # a header with a line break inside quotes goes on to the next line
                data += line
                if data.count(b'"') % 2 == 0 and not (skip_separator_line and _just_separator_line(data)):
                    break
    except OSError as err:
        problem = os_error_problem(err, path, "read")
        if problem is None:
            raise
        raise InputError(problem) from None
    text = decode_csv(data, path)
    rows = parse_csv_text(after_separator_line(text, path) if skip_separator_line else text, path)
    return rows[0] if rows else []


def _just_separator_line(data: bytes) -> bool:
    text = data.decode("utf-8-sig", errors="replace")
    return 0 < separator_line(text)[0] == len(text)


def check_header(path: str | os.PathLike, header: Sequence[str]) -> None:
    """InputError with the header's problems (`header_problems`), if any."""
    problems = header_problems(path, header)
    if problems:
        raise InputError(problems)


def check_row_widths(path: str | os.PathLike, width: int, exact: bool = False) -> None:
    """InputError naming every row of a CSV file whose width is wrong (`row_width_problem`).

    Meant for files pandas reads, which pads a short row and (reading the header's columns) lets
    a long one through. Unless `exact`, the common file is passed by counting the commas of each
    line (`_every_line_fits`: with no quotes a line is a row); any other file, and one with a line
    of another width, has every row parsed (csv module) and measured, which also tells empty
    cells beyond the header (a spreadsheet's leftovers) from a row that is really too long."""
    if not exact and _every_line_fits(path, width):
        return
    table = read_csv_rows(path)
    problems = [problem for number, cells in enumerate(table[1:], start=2)
                if (problem := row_width_problem(path, number, cells, width)) is not None]
    if problems:
        raise InputError(problems)


class CsvShape(NamedTuple):
    """What a reader given a CSV file itself (pandas) needs to know of it."""

    lines_before: int  # before the header: 1 for Excel's separator line `sep=,` (pandas' skiprows)
    width: int  # the header's cells (pandas' usecols: range(width))


def csv_shape(path: str | os.PathLike) -> CsvShape:
    """Before pandas reads a CSV file: `check_csv_shape`'s checks, of the rows after Excel's
    separator line if the file starts with one, which pandas is then told to skip."""
    lines_before = separator_lines(path)
    return CsvShape(lines_before, check_csv_shape(path, skip_separator_line=bool(lines_before)))


def check_csv_shape(path: str | os.PathLike, skip_separator_line: bool = False) -> int:
    """Before pandas reads a CSV file: InputError for a header that is none, for rows of another
    width and for values in columns without a name; the header's width (0 for an empty file,
    which pandas reports). Without `skip_separator_line` a first line `sep=,` is taken for the
    header and refused (`header_problems`), for a reader that does not skip it (`csv_shape`)."""
    header = read_csv_header(path, skip_separator_line)
    check_header(path, header)
    if header:
        check_row_widths(path, len(header))
        if not all(cell.strip() for cell in header):  # rare: only then is every row parsed
            problems = unnamed_column_problems(path, header, read_csv_rows(path)[1:])
            if problems:
                raise InputError(problems)
    return len(header)


def named_columns(header: Sequence[str]) -> list[int]:
    """The columns (0-based) a reader reads: those with a name in the header. The others are a
    spreadsheet's leftovers (Excel and LibreOffice save columns that once held something, empty
    and unnamed), left out once `unnamed_column_problems` found no value in them."""
    return [i for i, cell in enumerate(header) if cell.strip()]


def unnamed_column_problems(path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[Problem]:
    """A value in a column whose header cell is empty (a spreadsheet's leftover columns are empty
    throughout): no reader would read it, and it is most often a row's cells shifted right by an
    unquoted comma. Rows are numbered from 2 (as the spreadsheet shows them)."""
    unnamed = [i for i, cell in enumerate(header) if not cell.strip()]
    if not unnamed:
        return []  # nearly every table: its rows are not looked at
    return [Problem(message=f"column {i + 1} has no name in the header but this row has a value in it",
                    file=str(path), row=number, value=cells[i].strip()[:80], rule="named columns",
                    hint="a comma inside a cell shifts the cells after it right: put that cell in quotes (a "
                         "spreadsheet adds them when it saves CSV); otherwise name the column or delete the value")
            for number, cells in enumerate(rows, start=2) for i in unnamed if i < len(cells) and cells[i].strip()]


def check_pandas_frame(path: str | os.PathLike, width: int, frame) -> None:
    """After pandas read (part of) a file `check_csv_shape` passed: a first column taken as the
    index (pandas does so when the first row has one cell more than the header) means a row is
    too long, named by the exact check."""
    import pandas as pd

    if not isinstance(frame.index, pd.RangeIndex):
        check_row_widths(path, width, exact=True)


def _every_line_fits(path, width: int, block_size: int = 1 << 20) -> bool:
    """Whether every line of a file without quotes and with one kind of line end has width - 1
    commas, or is empty: counted line by line with numpy, a block at a time (a quote-free line is
    a row, so this is the row-width check without parsing)."""
    import numpy as np  # here: parse time imports this module, and only readers of large tables need numpy

    commas = length = 0  # of the line the previous block left unfinished
    line_feeds = returns = 0
    try:
        with open(path, "rb") as handle:
            if separator_lines(path):  # Excel's `sep=,` line: not a row of the table
                first = handle.readline()
                if b"\r" in first.rstrip(b"\r\n"):
                    return False  # old Mac line ends: the full check finds the lines
            for block in iter(lambda: handle.read(block_size), b""):
                if b'"' in block:
                    return False
                line_feeds += block.count(b"\n")
                returns += block.count(b"\r")
                data = np.frombuffer(block, dtype=np.uint8)
                ends = np.flatnonzero(data == 10)
                comma_at = np.flatnonzero(data == 44)
                before = np.searchsorted(comma_at, ends)  # commas before each line end
                per_line = np.diff(before, prepend=0)
                lengths = np.diff(ends, prepend=-1) - 1
                if len(ends):
                    per_line[0] += commas
                    lengths[0] += length
                    if not _lines_fit(per_line, lengths, data, ends, width):
                        return False
                    commas, length = len(comma_at) - int(before[-1]), len(data) - int(ends[-1]) - 1
                else:
                    commas, length = commas + len(comma_at), length + len(data)
    except OSError:
        return False  # the full check reads the file, and says what the system refused
    if returns not in (0, line_feeds):
        return False  # old Mac line ends, or a carriage return inside a cell
    return commas == width - 1 or (commas == 0 and length == 0)  # the last line, if it has no line end


def _lines_fit(per_line, lengths, data, ends, width: int) -> bool:
    """Every line has width - 1 commas or is empty (a carriage return before its line feed aside)."""
    import numpy as np

    cr = (ends > 0) & (data[np.maximum(ends - 1, 0)] == 13)
    empty = (lengths - cr) == 0
    return bool(np.all((per_line == width - 1) | (empty & (per_line == 0))))


def spreadsheet_rows(frame, rows_before: int = 0):
    """A frame pandas read with `skip_blank_lines=False` (its rows after `rows_before` others),
    each row's spreadsheet number in `_row`, blank lines counted as the spreadsheet shows them,
    and the blank rows (every cell empty) left out, as the extraction sheets leave them out."""
    frame["_row"] = range(rows_before + 2, rows_before + 2 + len(frame))
    if frame.shape[1] < 2 or _a_column_of_numbers(frame):
        return frame
    first = frame.iloc[:, 0]  # a blank row's first cell is empty: look at the others only then
    maybe = [i for i, cell in enumerate(first.tolist()) if isinstance(cell, str) and not cell.strip()]
    if not maybe:
        return frame
    cells = frame.iloc[maybe].drop(columns="_row").itertuples(index=False)
    blank = [i for i, row in zip(maybe, cells, strict=True) if all(isinstance(c, str) and not c.strip() for c in row)]
    return frame.drop(index=frame.index[blank]).reset_index(drop=True) if blank else frame


def _a_column_of_numbers(frame) -> bool:
    """Whether a column the reader typed as numbers has a value in every row (then no row is blank:
    a blank cell of such a column is NaN). Looking at the text of each row's cells is the slow part
    of reading a large table, and pooling tables read yi and vi as numbers."""
    return any(frame[column].dtype.kind in "fiu" and not frame[column].isna().any()
               for column in frame.columns if column != "_row")


def plain_frame(frame):
    """A pandas DataFrame read by pandas itself, with `csv_plain_cell` applied to its text cells."""
    from pandas.api.types import is_numeric_dtype

    for column in frame.columns:
        if not is_numeric_dtype(frame[column]):
            values = frame[column]
            try:  # only text starting with an apostrophe can change; most columns have none
                text = "\n".join(values.tolist())
                if "'" not in text or "\n'" not in "\n" + text:  # the first test is the fast one
                    continue
            except TypeError:  # not all text: look at every cell
                pass
            frame[column] = values.map(lambda v: csv_plain_cell(v) if isinstance(v, str) else v)
    return frame
