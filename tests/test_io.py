"""Atomic writes leave either the old file or the new one, never half of one, with normal permissions;
the one CSV writer makes no cell a spreadsheet would run and the one reader gives back what was
written; what the system refuses (a full disk, a read-only folder, an unreadable file) is a problem
naming the path."""

from __future__ import annotations

import codecs
import errno
import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from metasr.errors import InputError
from metasr.io import (
    atomic_path,
    atomic_write_text,
    check_csv_shape,
    csv_lines,
    csv_plain_cell,
    csv_safe_cell,
    csv_text,
    csv_write_lines,
    json_safe,
    parse_csv_text,
    plain_frame,
    read_bytes,
    read_csv,
    read_csv_rows,
    spreadsheet_rows,
    translate_os_error,
    write_csv,
    write_json,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "metasr"


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("step failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644


def test_json_has_no_nan_and_is_sorted(tmp_path):
    write_json(tmp_path / "r.json", {"b": math.nan, "a": [1.5, math.inf]})
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text) == {"a": [1.5, None], "b": None}
    assert text.index('"a"') < text.index('"b"')
    assert json_safe({"x": (1, 2)}) == {"x": [1, 2]}


def test_an_output_on_a_folder_or_under_a_file_is_a_clear_input_error(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("keep")
    with pytest.raises(InputError, match="it is a folder"):
        atomic_write_text(tmp_path / "folder", "x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        atomic_write_text(tmp_path / "file" / "out.csv", "x")
    assert (tmp_path / "file").read_text() == "keep" and not list((tmp_path / "folder").iterdir())


# ---------------------------------------------------------------- formula-safe CSV

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_formula_cells_get_an_apostrophe_and_numbers_stay_numbers():
    assert csv_safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert csv_safe_cell("+SUM(1;2)") == "'+SUM(1;2)" and csv_safe_cell("@A1") == "'@A1"
    assert csv_safe_cell("-0.5") == "-0.5" and csv_safe_cell("+3") == "+3" and csv_safe_cell("-1e-05") == "-1e-05"
    assert csv_safe_cell(-0.5) == -0.5 and csv_safe_cell(None) is None
    assert csv_safe_cell("'=x") == "''=x"  # so that reading back gives "'=x" again


@given(st.text())
def test_the_reader_undoes_exactly_what_the_writer_did(text):
    assert csv_plain_cell(csv_safe_cell(text)) == text


@given(st.text())
def test_no_written_cell_starts_a_formula(text):
    cell = csv_safe_cell(text)
    assert not cell.startswith(FORMULA_START) or re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell)


# Text without NUL (the reader refuses NUL bytes: binary files) and without lone surrogates (not
# text: every input is decoded from bytes, so none reaches an output).
CELL = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


@given(st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=5))
def test_a_table_written_and_read_back_is_unchanged(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_csv(path, ["a", "b", "c"], rows)
    table = read_csv_rows(path)
    # A line break inside a cell is written as "\n" (a lone "\r" would end the row for a reader).
    assert table == [["a", "b", "c"], *([c.replace("\r\n", "\n").replace("\r", "\n") for c in r] for r in rows)]
    assert csv_text(["a", "b", "c"], rows) == path.read_text(encoding="utf-8")


# A column of one kind of value, as the CSV writers get them: numbers (with NaN, infinities and
# -0.0), None, text (formula-like, quotes, commas, line breaks, spaces), or any of these mixed.
NUMBER = st.one_of(st.integers(), st.floats(), st.none())
COLUMN_VALUE = st.one_of(NUMBER, CELL, st.booleans(), st.sampled_from(["=1+2", "-0.5", " a ", "x,y", 'q"', "a\r\nb"]))


def _columns(rows: int):
    """1 to 5 columns of `rows` cells, each of numbers, of text or of anything."""
    column = st.one_of(*(st.lists(value, min_size=rows, max_size=rows) for value in (NUMBER, CELL, COLUMN_VALUE)))
    return st.lists(column, min_size=1, max_size=5)


@given(st.integers(0, 4).flatmap(_columns))
def test_lines_formatted_a_column_at_a_time_are_what_the_csv_writer_writes(columns):
    names = [f"c{i}" for i in range(len(columns))]
    rows = [list(row) for row in zip(*columns, strict=True)]
    expected = csv_text(names, rows).split("\n", 1)[1]
    assert "".join(line + "\n" for line in csv_lines(columns)) == expected
    shared = [columns[0], *columns, columns[-1]]  # the very same objects twice: formatted once, same text
    assert "".join(line + "\n" for line in csv_lines(shared)) == csv_text(["a", *names, "b"], [
        [row[0], *row, row[-1]] for row in rows]).split("\n", 1)[1]


def test_lines_get_empty_cells_for_columns_added_after_them():
    import io

    handle = io.StringIO()
    csv_write_lines(handle, csv_lines([["a", "=b"], [1.5, None]]), missing=2)
    assert handle.getvalue() == csv_text(["x", "y", "u", "v"], [["a", 1.5, "", ""], ["=b", None, "", ""]]).split(
        "\n", 1)[1]


def test_a_pandas_frame_read_back_loses_the_apostrophes_the_writer_added():
    import pandas as pd

    cells = {"first": ["'=x", "a"], "inside": ["it's", "'plain"], "later": ["b", "''+1"], "none": ["1", "2"]}
    frame = plain_frame(pd.DataFrame({**cells, "number": [1.5, 2.0]}))
    assert {c: frame[c].tolist() for c in cells} == {c: [csv_plain_cell(v) for v in vs] for c, vs in cells.items()}
    assert frame["first"].tolist() == ["=x", "a"] and frame["later"].tolist() == ["b", "'+1"]


def test_pandas_rows_keep_their_spreadsheet_numbers_and_blank_rows_are_left_out():
    import io

    import pandas as pd

    text = "g,yi,vi\na,0.1,0.01\n\na,0.2,0.02\n  \n, ,\nb,,0.03\n,0.1,\n\n"
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                        skip_blank_lines=False)
    rows = spreadsheet_rows(frame)
    assert rows["_row"].tolist() == [2, 4, 7, 8] and rows["g"].tolist() == ["a", "a", "b", ""]
    assert spreadsheet_rows(frame.iloc[4:].copy(), rows_before=4)["_row"].tolist() == [7, 8]


def test_a_cell_longer_than_pythons_csv_limit_is_read(tmp_path):
    abstract = "word " * 30_000  # 150 kB: Python's csv module stops at 128 kB by default
    write_csv(tmp_path / "t.csv", ["id", "abstract"], [{"id": "1", "abstract": abstract}])
    assert read_csv(tmp_path / "t.csv")[1] == [{"id": "1", "abstract": abstract}]


def test_every_csv_of_metasr_is_written_and_read_in_metasr_io():
    """One place neutralises formula cells and one undoes it: no module writes (or reads) CSV on
    its own. The record exports' parser reads foreign CSV dialects with line numbers; its cells
    are not metasr's, so it is the one reader allowed."""
    own = re.compile(r"csv\.(writer|DictWriter|reader|DictReader)\(|to_csv\(")
    allowed = {SRC / "io.py", SRC / "records" / "formats" / "csv.py"}
    offenders = [f"{path.relative_to(SRC)}:{number}" for path in sorted(SRC.rglob("*.py")) if path not in allowed
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if own.search(line)]
    assert offenders == []
    pandas_readers = [path.relative_to(SRC) for path in sorted(SRC.rglob("*.py"))
                      if "pd.read_csv(" in path.read_text(encoding="utf-8")
                      and "plain_frame(" not in path.read_text(encoding="utf-8")]
    assert pandas_readers == []


# ---------------------------------------------------------------- bad bytes

def test_a_cp1252_sheet_is_reported_with_its_row_and_column(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_bytes("study_id,label,notes\nS1,Smith 2020,ok\nS2,Müller 2021,ok\n".encode("cp1252"))
    with pytest.raises(InputError) as err:
        read_csv_rows(path)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.rule) == (str(path), 3, "label", "encoding")
    assert "Windows-1252" in problem.message and "CSV UTF-8" in problem.hint


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_the_bad_byte_and_its_row_and_column_are_the_same_after_a_bom(tmp_path, bom):
    """utf-8-sig counts positions after its BOM: the byte named was 3 bytes early."""
    path = tmp_path / "sheet.csv"
    path.write_bytes(bom + "study,year\r\nAronson,1948\r\n\u00b5Ferguson,1949\r\n".encode("cp1252"))
    with pytest.raises(InputError) as err:
        read_csv_rows(path)
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (3, "study") and "byte 0xb5" in problem.message


def test_a_cp1252_table_given_to_pool_is_named_by_row_and_column_not_by_pandas(tmp_path):
    from metasr.stats.analysis import read_study_table
    from metasr.stats.grouped import read_chunks

    path = tmp_path / "t.csv"
    path.write_bytes("study,yi,vi\nA,0.1,0.2\nM\u00fcller,0.3,0.1\n".encode("cp1252"))
    for read in (read_study_table, lambda p: list(read_chunks(p, "study"))):
        with pytest.raises(InputError) as err:
            read(str(path))
        [problem] = err.value.problems
        assert (problem.row, problem.column) == (3, "study") and "Windows-1252" in problem.message


def test_a_nul_byte_is_binary_not_csv(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"a,b\n1,2\n3,\x00\n")
    with pytest.raises(InputError) as err:
        read_csv_rows(path)
    [problem] = err.value.problems
    assert problem.row == 3 and problem.column == "b" and "binary" in problem.message


# ---------------------------------------------------------------- what the system refuses

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_a_problem_naming_the_output_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "results" / "table.csv"
    target.parent.mkdir()
    target.write_text("old")
    monkeypatch.setattr(os, "replace", _no_space)
    with pytest.raises(InputError) as err:
        write_csv(target, ["a"], [{"a": 1}])
    [problem] = err.value.problems
    assert problem.file == str(target) and "disk is full" in problem.message and problem.rule == "disk space"
    assert target.read_text() == "old" and [p.name for p in target.parent.iterdir()] == ["table.csv"]


def test_a_really_full_disk(full_disk):
    with pytest.raises(InputError, match="the disk is full") as err:
        write_csv(full_disk / "results" / "big.csv", ["text"], [{"text": "x" * 200_000}])
    assert err.value.problems[0].file == str(full_disk / "results" / "big.csv")
    assert not (full_disk / "results" / "big.csv").exists()
    assert [p.name for p in (full_disk / "results").iterdir()] == []


def test_a_read_only_folder(read_only_dir):
    with pytest.raises(InputError, match="read-only") as err:
        atomic_write_text(read_only_dir / "results" / "report.html", "x")
    assert err.value.problems[0].file == str(read_only_dir / "results" / "report.html")


def test_a_permission_error_on_write_says_what_to_do(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "out"))

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(InputError) as err:
        atomic_write_text(tmp_path / "out" / "x.json", "{}")
    assert "permission denied" in err.value.problems[0].message and "writable" in err.value.problems[0].hint


def test_missing_unreadable_and_folder_inputs_are_problems(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="not found"):
        read_bytes(tmp_path / "absent.ris")
    with pytest.raises(InputError, match="it is a folder"):
        read_csv(tmp_path)
    target = tmp_path / "locked.csv"
    target.write_text("a\n1\n")

    def denied(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InputError) as err:
        read_csv(target)
    assert err.value.problems[0].file == str(target) and "readable" in err.value.problems[0].hint


def test_other_os_errors_stay_bugs():
    assert translate_os_error(OSError(errno.EBADF, "Bad file descriptor")) is None
    clear = translate_os_error(OSError(errno.ENOSPC, "No space left on device", "results/x.png"))
    assert clear.problems[0].file == "results/x.png" and "disk is full" in clear.problems[0].message


def test_a_row_wider_than_its_header_is_a_problem_unless_the_extra_cells_are_empty(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("doi,title,decision\n10.1/a,Rims, lesions and disability,include\n10.1/b,Plain,exclude,,\n")
    with pytest.raises(InputError) as err:
        read_csv(path)
    [problem] = err.value.problems
    assert (problem.row, problem.rule, problem.value) == (2, "row-width", "include")
    path.write_text("doi,title,decision\n10.1/b,Plain,exclude,,\n")
    assert read_csv(path)[1] == [{"doi": "10.1/b", "title": "Plain", "decision": "exclude"}]


def test_step_files_in_a_folder_and_from_a_rule(tmp_path):
    from dataclasses import fields
    from types import SimpleNamespace

    from metasr.io import StepFiles
    from metasr.records.export import ExportFiles
    from metasr.records.pipeline import DedupFiles
    from metasr.screening.pipeline import ScreeningFiles

    files = ScreeningFiles.in_folder(tmp_path)
    assert files.prisma_json == tmp_path / "prisma.json" and files.conflicts == tmp_path / "conflicts.csv"
    rule_output = SimpleNamespace(screening="a.csv", prisma_json="b.json", prisma_csv="c.csv", conflicts="d.csv",
                                  svg="not a field")
    assert ScreeningFiles.from_rule(rule_output) == ScreeningFiles(*map(Path, ("a.csv", "b.json", "c.csv", "d.csv")))
    # Every step's usual names are one per field.
    assert {DedupFiles, ExportFiles, ScreeningFiles} <= set(StepFiles.__subclasses__())
    for cls in StepFiles.__subclasses__():
        assert len(cls.FILE_NAMES) == len(fields(cls)), cls


def test_a_files_checksum_is_its_bytes_sha256_read_in_blocks(tmp_path):
    import hashlib

    from metasr.io import file_sha256

    path = tmp_path / "export.ris"
    data = bytes(range(256)) * 9000  # over two blocks of 1 MiB
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize(("value", "missing"), [
    (None, True), ("", True), ("  ", True), ("NA", True), (" na ", True), ("NaN", True), ("<NA>", True),
    (float("nan"), True), ("N/A2", False), ("NAB", False), ("0", False), (0, False), ("Nadia", False),
])
def test_missing_value_markers(value, missing):
    from metasr.io import is_missing

    assert is_missing(value) is missing


def test_pandas_missing_values_are_missing():
    import numpy as np
    import pandas as pd

    from metasr.io import is_missing

    assert is_missing(pd.NA) and is_missing(pd.NaT) and is_missing(np.float32("nan"))


# ---- the shape of a table (SYNTHETIC files)

def test_tabs_and_excels_separator_line_are_named_and_the_hint_can_be_followed_in_any_region(tmp_path):
    from metasr.io import header_problems

    path = tmp_path / "table.csv"
    [tabs] = header_problems(path, ["study\tyi\tvi"])
    assert tabs.rule == "csv-delimiter" and "one cell with tabs" in tabs.message
    assert "LibreOffice" in tabs.hint and "region" in tabs.hint
    for line, more in (("sep=;", True), ("sep=,", False)):  # for a reader that does not skip it (pool --by)
        [sep] = header_problems(path, parse_csv_text(f"{line}\nstudy{line[-1]}yi\nA{line[-1]}0.1\n", path)[0])
        assert "separator line" in sep.message and "delete the first line" in sep.hint
        assert ("LibreOffice" in sep.hint) == more


# SYNTHETIC tables saved for Excel: a first line naming the separator, which Excel hides.
SEPARATOR_LINE_TABLES = [
    "sep=,\nstudy,yi,vi\nA,0.1,0.01\nB,0.3,0.02\n",
    "\ufeffsep=,\r\nstudy,yi,vi\r\nA,0.1,0.01\r\nB,0.3,0.02\r\n",  # with a byte-order mark, Windows line ends
    "SEP=,\rstudy,yi,vi\rA,0.1,0.01\rB,0.3,0.02\r",  # Excel for Mac's line ends
]


@pytest.mark.parametrize("text", SEPARATOR_LINE_TABLES)
def test_excels_separator_line_is_skipped_by_every_reader(tmp_path, text):
    from metasr.io import csv_shape, read_csv_header, separator_lines

    path = tmp_path / "table.csv"
    path.write_bytes(text.encode())
    assert read_csv_rows(path) == [["study", "yi", "vi"], ["A", "0.1", "0.01"], ["B", "0.3", "0.02"]]
    assert read_csv(path) == (["study", "yi", "vi"], [{"study": "A", "yi": "0.1", "vi": "0.01"},
                                                      {"study": "B", "yi": "0.3", "vi": "0.02"}])
    assert separator_lines(path) == 1 and csv_shape(path) == (1, 3)  # pandas skips one line, reads 3 columns
    assert read_csv_header(path, skip_separator_line=True) == ["study", "yi", "vi"]
    with pytest.raises(InputError, match="separator line"):  # a pandas reader that does not skip it
        check_csv_shape(path)


@pytest.mark.parametrize(("text", "rule"), [
    ("sep=,\nstudy,yi,vi\nA,0.1,0.01\nB,0.3\n", "row-width"),  # a short row
    ("sep=,\nstudy,yi,vi\nA,0.1,0.01\nB,0.3,0.02,9\n", "row-width"),  # a long one
    ('sep=,\nstudy,yi,vi\nA,0.1,0.01\nB,"0.3,0.02\n', "CSV quoting"),  # a quote never closed
    ("sep=,\nstudy,yi,vi\nA,0.1,0.01\nB\xe9,0.3,0.02\n", "encoding"),  # a Windows-1252 byte
])
def test_rows_after_the_separator_line_are_numbered_as_excel_shows_them(tmp_path, text, rule):
    """Excel hides the `sep=` line: the header is row 1, and the fourth line of the file row 3."""
    from metasr.io import check_row_widths

    path = tmp_path / "table.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(InputError) as err:
        read_csv(path)
    assert [(p.rule, p.row) for p in err.value.problems] == [(rule, 3)]
    if rule == "row-width":  # the width checks of pandas' readers, fast and exact
        for exact in (False, True):
            with pytest.raises(InputError) as err:
                check_row_widths(path, 3, exact=exact)
            assert [p.row for p in err.value.problems] == [3]


def test_a_separator_line_passes_the_fast_width_check(tmp_path, monkeypatch):
    """The fast way (comma counts) skips the `sep=,` line rather than falling back to parsing."""
    import metasr.io as metasr_io
    from metasr.io import check_row_widths

    path = tmp_path / "table.csv"
    path.write_text("sep=,\nstudy,yi,vi,g\nA,0.1,0.01,x\n")
    monkeypatch.setattr(metasr_io, "read_csv_rows", lambda *_: pytest.fail("parsed every row"))
    check_row_widths(path, 4)


@pytest.mark.parametrize(("line", "says", "hint"), [
    ("sep=;", "separated by semicolons, not by commas", "LibreOffice"),
    ("sep=\t", "separated by tabs", "LibreOffice"),
    ("sep=|", "separated by '|'", "LibreOffice"),
    ("sep=", "naming no separator", "delete the first line"),
])
def test_a_separator_line_naming_another_separator_is_refused(tmp_path, line, says, hint):
    """metasr reads commas only (a sheet saved with semicolons writes decimal commas too)."""
    from metasr.io import csv_shape

    path = tmp_path / "table.csv"
    path.write_text(f"{line}\nstudy;yi;vi\nA;0,1;0,01\n")
    for read in (read_csv_rows, csv_shape):
        with pytest.raises(InputError) as err:
            read(path)
        [problem] = err.value.problems
        assert (problem.rule, problem.row, problem.value) == ("csv-delimiter", 1, line.strip(" "))
        assert says in problem.message and hint in problem.hint


def test_a_first_line_like_a_separator_line_but_longer_is_the_header(tmp_path):
    from metasr.io import separator_line, separator_lines

    path = tmp_path / "table.csv"
    path.write_text("sep=,x\nA,B\n")
    assert read_csv_rows(path) == [["sep=", "x"], ["A", "B"]] and separator_lines(path) == 0
    assert separator_line("study,yi\n") == (0, None) and separator_line("sep=;\r\nx") == (7, ";")


def test_old_mac_line_ends_are_lines(tmp_path):
    """Excel for Mac's 'CSV (Macintosh)': carriage returns alone end its lines."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b"study,yi,vi\rA,0.1,0.01\rB,\"two\rlines\",0.02\r")
    assert read_csv_rows(path) == [["study", "yi", "vi"], ["A", "0.1", "0.01"], ["B", "two\nlines", "0.02"]]


def test_a_header_that_is_none_is_refused(tmp_path):
    from metasr.io import header_problems

    path = tmp_path / "table.csv"
    [dup] = header_problems(path, ["study", "yi", "vi", " yi"])  # names compared as readers strip them
    assert (dup.rule, dup.column, dup.row) == ("unique-column", "yi", 1)
    assert "appears twice (columns 2 and 4)" in dup.message and "rename or delete" in dup.hint
    [semi] = header_problems(path, ["study;yi;vi"])
    assert semi.rule == "csv-delimiter" and "commas" in semi.hint
    [data] = header_problems(path, ["A", "0.1", "0.01"])
    assert data.rule == "header-row" and "'0.1' in column 2" in data.message
    assert header_problems(path, ["study", "yi", "", "", "vi"]) == []  # unnamed columns are not twice
    path.write_text("doi,title,decision,decision\n10.1/a,Rims,include,exclude\n")
    with pytest.raises(InputError, match="appears twice"):
        read_csv(path, strip=True)


def test_a_short_row_is_refused_and_an_empty_row_kept(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("doi,title,decision\n10.1/a,Rims\n\n10.1/b,Plain,exclude\n")
    with pytest.raises(InputError) as err:
        read_csv(path)
    [problem] = err.value.problems
    assert (problem.row, problem.rule) == (2, "row-width") and "2 cells, the header 3" in problem.message
    path.write_text("doi,title,decision\n\n10.1/b,Plain,exclude\n")
    assert read_csv(path)[1][1] == {"doi": "10.1/b", "title": "Plain", "decision": "exclude"}


@pytest.mark.parametrize(("text", "row", "column"), [
    ('doi,title,decision\n10.1/a,"Rims, iron",include\n10.1/b,"Open,exclude\n10.1/c,X,include\n', 3, "title"),
    ('doi,title,decision\n10.1/a,Rims,"include', 2, "decision"),
    ('"doi,title,decision\n10.1/a,Rims,include\n', 1, None),
])
def test_a_quote_never_closed_is_refused_with_its_line(tmp_path, text, row, column):
    """The csv module (not strict) reads the rest of the file into such a cell, silently."""
    path = tmp_path / "decisions.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_csv(path)
    [problem] = err.value.problems
    assert (problem.row, problem.rule) == (row, "CSV quoting") and "never closed" in problem.message
    assert problem.column == column


def test_a_utf16_sheet_is_named_utf16_not_windows_1252(tmp_path):
    path = tmp_path / "decisions.txt"  # Excel's 'Unicode Text': UTF-16 with a mark, tab-separated
    path.write_bytes("\ufeffrecord_id\tdecision\r\ns:0\tinclude\r\n".encode("utf-16-le"))
    with pytest.raises(InputError) as err:
        read_csv(path)
    [problem] = err.value.problems
    assert "UTF-16" in problem.message and "1252" not in problem.message and problem.row == 1


def test_quotes_that_close_are_no_problem(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text('doi,title\n10.1/a,"say ""hi""\nthere"\n10.1/b,x"y\n10.1/c,"q"r\n')
    assert [r["title"] for r in read_csv(path)[1]] == ['say "hi"\nthere', 'x"y', "qr"]


@pytest.mark.parametrize(("text", "bad_rows"), [
    ("s,yi,vi\nA,1,2\nB,3,4\n", []),
    ("s,yi,vi\r\nA,1,2\r\nB,3,4", []),
    ("s,yi,vi\nA,1,2\n\nB,3,4\n\n\n", []),                   # blank lines
    ('s,yi,vi\n"A, B",1,2\nC,3,4\n', []),                    # a quoted comma
    ("s,yi,vi\nA,1,2,\nB,3,4\n", []),                        # an empty cell beyond the header
    ("s,yi,vi\nA,1\nB,3,4\n", [2]),
    ("s,yi,vi\nA,1,2,9\nB,3\nC,5\n", [2, 3, 4]),             # a long row and short ones
    ("s,yi,vi\nA,1,2,9,9\nB\nC,5,6\n", [2, 3]),                # commas that add up: one row long, one short
    ("s,yi,vi\nA,1,2,,\n,,,,\nB,3,4,,\n", []),                  # Excel's leftover empty columns
    ("s,yi,vi\nA,1,2,9\nB,3,4,9\n", [2, 3]),                 # every row longer (pandas' index trap)
    ('s,yi,vi\n"A\nB",1\nC,3,4\n', [2]),                     # a line break inside quotes
])
def test_row_widths_are_checked_the_fast_way_and_the_exact_way_alike(tmp_path, text, bad_rows):
    from metasr.io import check_row_widths

    path = tmp_path / "table.csv"
    path.write_bytes(text.encode())
    for exact in (False, True):
        if not bad_rows:
            check_row_widths(path, 3, exact=exact)
            continue
        with pytest.raises(InputError) as err:
            check_row_widths(path, 3, exact=exact)
        assert [p.row for p in err.value.problems] == bad_rows


@pytest.mark.parametrize(("text", "value"), [(" 1.5 ", 1.5), ("+.5", 0.5), ("5.", 5.0), ("-0", -0.0), ("1E-3", 0.001),
                                             ("inf", math.inf), ("-Infinity", -math.inf)])
def test_a_plain_number_is_read_as_float_reads_it(text, value):
    from metasr.io import plain_number

    assert plain_number(text) == value


@pytest.mark.parametrize("text", ["1_000", "\u0661", "\uff11", "0x10", "1,5", "1.5.2", "", "e5", "12 kg"])
def test_what_float_alone_would_read_as_a_number_is_not_one(text):
    """`1_000` is 1000 and `١` (Arabic-Indic one) is 1 to Python's float(); to a spreadsheet and to
    R they are text, so a typo there must not become a number."""
    from metasr.io import plain_number, plain_number_texts

    with pytest.raises(ValueError):
        plain_number(text)
    assert plain_number_texts(["0.5", text]) == (text.isascii() and "_" not in text)


def test_a_row_with_a_number_is_never_blank():
    """A table whose yi the reader typed as numbers, all present: every row is kept and numbered,
    whatever its text cells hold (the fast path of spreadsheet_rows)."""
    import pandas as pd

    frame = pd.DataFrame({"g": ["a", " ", ""], "yi": [0.1, 0.2, 0.3], "label": ["x", "", " "]})
    rows = spreadsheet_rows(frame, rows_before=10)
    assert rows["_row"].tolist() == [12, 13, 14] and rows["yi"].tolist() == [0.1, 0.2, 0.3]


def test_a_value_in_a_column_without_a_name_is_refused_naming_row_and_column(tmp_path):
    """An unquoted comma shifted the row right: 13,536 became 13 and 536, 12619 went to a column
    no reader reads. Columns without a name that are empty (a spreadsheet's leftovers) pass."""
    path = tmp_path / "t.csv"
    path.write_text("study,ai,bi,ci,di,\nA,4,119,11,128,\nHart 1977,62,13,536,248,12619\n")
    with pytest.raises(InputError) as err:
        check_csv_shape(path)
    (problem,) = err.value.problems
    assert (problem.row, problem.value) == (3, "12619") and "column 6 has no name" in problem.message
    path.write_text("study,ai,bi,ci,di,,\nA,4,119,11,128,,\nB,62,13536,248,12619,,\n")
    assert check_csv_shape(path) == 7


def test_read_csv_leaves_out_a_spreadsheets_empty_unnamed_columns_and_refuses_values_in_them(tmp_path):
    """SYNTHETIC decision sheets: Excel saved two empty columns right of the table, one between."""
    path = tmp_path / "decisions.csv"
    path.write_text("doi,,decision,,\n10.1/a,,include,,\n\n10.1/b,,exclude,,\n")
    assert read_csv(path) == (["doi", "decision"], [{"doi": "10.1/a", "decision": "include"},
                                                     {"doi": "", "decision": ""},
                                                     {"doi": "10.1/b", "decision": "exclude"}])
    path.write_text("doi,title,decision,,\n10.1/a,Rims, iron,include,\n10.1/b,Plain,exclude,,\n10.1/c,x,y,z,w,v\n")
    with pytest.raises(InputError) as err:
        read_csv(path)
    assert [(p.row, p.rule, p.value) for p in err.value.problems] == [(2, "named columns", "include"),
                                                                      (4, "row-width", "v")]
    assert "column 4 has no name" in err.value.problems[0].message
    assert "put that cell in quotes" in err.value.problems[0].hint


@pytest.mark.parametrize(("text", "column", "says"), [
    ("55 (47)", "m1i", "the SD in sd1i"), ("55 ± 47", "mean1", "the SD in sd1"), ("55 +/- 47", "mi", "sdi"),
    ("13536 (12)", "bi", "only this column's number"),
    ("0.30 (0.09-1.00)", "yi", "ci_lb and ci_ub"), ("0.30 [0.09, 1.00]", "effect", "effect_ci_lb and effect_ci_ub"),
    ("0.30 (95% CI 0.09 to 1.00)", "effect", "effect_ci_lb"),
    ("1e-400", "ai", "would read as 0"),
])
def test_cells_holding_more_than_a_number_get_a_hint_of_their_own(text, column, says):
    from metasr.io import number_cell_hint

    assert says in number_cell_hint(text, column)
    assert number_cell_hint("12.5", column) is None


def test_a_number_too_small_for_a_double_is_told_from_0():
    from metasr.io import underflows

    assert underflows("1e-400") and underflows(" -2.5E-999 ")
    assert not any(underflows(t) for t in ("0e-400", "0.000", "0", "1e-300", "abc", ""))


def test_check_utf8_finds_a_bad_byte_in_any_block_and_passes_text(tmp_path):
    from metasr.io import check_utf8

    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n" + b"x,1\n" * 10 + "é,2\n".encode())  # a character split between blocks
    check_utf8(path, block_size=5)
    path.write_bytes(b"a,b\n" + b"x,1\n" * 10 + "\u00e9".encode()[:1] + b",2\n")  # a lead byte, then ASCII
    with pytest.raises(InputError):
        check_utf8(path, block_size=5)
    path.write_bytes(b"a,b\nx,1\n" + "\u00b5".encode("cp1252"))
    with pytest.raises(InputError):
        check_utf8(path, block_size=5)
