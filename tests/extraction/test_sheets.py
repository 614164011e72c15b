"""Reading extraction sheets: a header that is none, a column of the reviewer's named like the sheet's own,
a spreadsheet's leftover columns and Excel's separator line."""

import pytest

from metasr.errors import InputError
from metasr.extraction.sheets import OUTCOME_SHEET_COLUMNS, read_sheet


def test_a_moderator_named_like_a_sheet_column_is_said_to_be_reserved(tmp_path):
    sheet = tmp_path / "tb.csv"
    sheet.write_text(",".join([*OUTCOME_SHEET_COLUMNS, "time"]) + "\n")
    with pytest.raises(InputError) as err:
        read_sheet(sheet)
    (problem,) = err.value.problems
    assert problem.column == "time" and problem.message.startswith("column 'time' appears twice")
    assert problem.hint.startswith("'time' is a column of outcome sheets itself")
    assert "another name (e.g. 'mod_time')" in problem.hint and "meta_regression moderators" in problem.hint


def test_a_column_of_the_reviewer_twice_keeps_the_plain_hint(tmp_path):
    sheet = tmp_path / "tb.csv"
    sheet.write_text("study_id,dose,dose\n")
    with pytest.raises(InputError) as err:
        read_sheet(sheet)
    assert err.value.problems[0].hint.startswith("rename or delete one of the two columns")


def test_a_spreadsheets_empty_unnamed_columns_are_left_out(tmp_path):
    """SYNTHETIC sheet as Excel or LibreOffice saves it: empty columns without a name on the right."""
    sheet = tmp_path / "tb.csv"
    sheet.write_text("study_id,dose,,,\nS1,10,,,\n,,,,\nS2,20,,,\n")
    read = read_sheet(sheet)
    assert read.header == ["study_id", "dose"] and read.shape_problems == {}
    assert read.numbered() == [(2, {"study_id": "S1", "dose": "10"}), (3, {"study_id": "", "dose": ""}),
                               (4, {"study_id": "S2", "dose": "20"})]


def test_a_value_in_a_column_without_a_name_is_kept_as_a_problem_of_its_row(tmp_path):
    """SYNTHETIC: an unquoted comma in row 3 moved its last cell into a leftover column; row 4 is
    too long. Each row's problem is kept for validation to report with the rest."""
    sheet = tmp_path / "tb.csv"
    sheet.write_text("study_id,notes,dose,,\nS1,ok,10,,\nS2,blind, random,20,\nS3,ok,30,,,x\n")
    read = read_sheet(sheet)
    assert read.header == ["study_id", "notes", "dose"]
    assert [(row, p.rule, p.value) for row, p in read.shape_problems.items()] == [(3, "named columns", "20"),
                                                                                  (4, "row-width", "x")]
    problem = read.shape_problems[3]
    assert (problem.file, problem.column) == (str(sheet), None) and "column 4 has no name" in problem.message
    assert "a comma inside a cell shifts the cells after it right" in problem.hint


def test_excels_separator_line_is_skipped_and_the_header_is_row_1(tmp_path):
    """SYNTHETIC: Excel hides a first line `sep=,`; rows are numbered as Excel shows them."""
    sheet = tmp_path / "tb.csv"
    sheet.write_text("sep=,\nstudy_id,dose\nS1,10\nS2\n")
    read = read_sheet(sheet)
    assert read.header == ["study_id", "dose"] and read.numbered()[0] == (2, {"study_id": "S1", "dose": "10"})
    assert list(read.shape_problems) == [3]
    sheet.write_text("sep=;\nstudy_id;dose\nS1;10\n")
    with pytest.raises(InputError) as err:
        read_sheet(sheet)
    [problem] = err.value.problems
    assert (problem.rule, problem.row) == ("csv-delimiter", 1) and "separated by semicolons" in problem.message
