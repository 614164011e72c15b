"""Reading extraction sheets: a header that is none, a column of the reviewer's named like the sheet's own."""

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
