"""Decision files read against the records: the problems a row can have (records and decisions
are SYNTHETIC, tests/screening/conftest.py)."""

from __future__ import annotations

import csv

import pytest

from metasr.errors import InputError
from metasr.screening.decisions import FULL_TEXT, TITLE_ABSTRACT, final_decision, read_decisions
from metasr.screening.keys import KeyIndex


def _read(workspace, stage, columns, rows):
    path = workspace.root / f"{stage}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return read_decisions(path, stage, KeyIndex.from_records(workspace.records),
                          workspace.screening_cfg["exclusion_reasons"])


def test_a_search_exported_again_in_another_order_is_caught_by_the_title(workspace):
    """The website's two records were decided by record_id, with their titles; exported again in
    the other order, web:0 is the other paper. Refused, rather than each paper taking the
    other's decision."""
    workspace.ta_columns = ("record_id", *workspace.ta_columns)
    workspace.title_abstract[3] = {"record_id": "web:0", "title": "Synthetic news item", "year": "2022",
                                   "decision": "exclude", "reason": "other"}
    workspace.run()  # decided and run once
    web = [r for r in workspace.records if r["source"] == "web"]
    web[0]["record_id"], web[1]["record_id"] = "web:1", "web:0"
    with pytest.raises(InputError) as err:
        workspace.run()
    [moved] = [p for p in err.value.errors if p.rule == "record_id names the record described"]
    assert (moved.file.rsplit("/", 1)[-1], moved.row, moved.column, moved.value) == (
        "ta.csv", 5, "title", "Synthetic news item")
    assert "record_id 'web:0' now names 'Synthetic cohort five' (cluster c5)" in moved.message
    assert moved.hint.startswith("if the export changed order, key the decision by DOI/PMID (or title and year)")


def test_an_identifier_shared_by_records_kept_apart_points_to_the_record_id(workspace):
    workspace.records[3]["doi"] = "10.1/one"  # a record that a `distinct` override keeps apart from c1
    workspace.records[3].update(title="Synthetic review of rims", year="2021")  # a title two clusters share
    _, problems = _read(workspace, TITLE_ABSTRACT, ("doi", "title", "year", "decision"),
                        [{"doi": "10.1/one", "decision": "include"},
                         {"title": "Synthetic review of rims", "year": "2021", "decision": "include"}])
    assert [(p.row, p.rule, p.column) for p in problems] == [(2, "unambiguous key", "doi"),
                                                             (3, "unambiguous key", "title")]
    assert problems[0].hint.startswith("the records share this doi: identify the record by its record_id")
    assert problems[1].hint == "identify the record by doi, pmid or record_id instead"


def test_an_included_report_without_a_study_id_is_refused(workspace):
    """PRISMA counts the included studies by study_id: an include without one was counted as a
    study of its own, named by its cluster id."""
    rows = [{"pmid": "111", "decision": "include", "study_id": " ; "},
            {"doi": "10.1/three", "reviewer1": "include", "reviewer2": "include"},
            {"doi": "10.1/five", "decision": "exclude", "reason": "review"}]
    decisions, problems = _read(workspace, FULL_TEXT, ("doi", "pmid", "decision", "reason", "reviewer1",
                                                      "reviewer2", "study_id"), rows)
    assert [(p.row, p.column, p.rule, p.severity) for p in problems] == [
        (2, "study_id", "study_id for included reports", "error"),
        (3, "study_id", "study_id for included reports", "error")]
    assert "the study this report belongs to" in problems[0].hint
    assert [d.row for d in decisions] == [4]


def test_a_decision_sheet_saved_for_excel_is_read_with_excels_row_numbers(workspace):
    """A SYNTHETIC decision sheet with Excel's separator line (hidden in Excel, so the header is
    row 1) and empty unnamed columns a spreadsheet left; a value in one of them is refused."""
    path = workspace.root / "ta.csv"
    index = KeyIndex.from_records(workspace.records)
    reasons = workspace.screening_cfg["exclusion_reasons"]
    path.write_text("sep=,\r\ndoi,decision,reason,,\r\n10.1/one,include,,,\r\n10.1/five,exclude,review,,\r\n")
    decisions, problems = read_decisions(path, TITLE_ABSTRACT, index, reasons)
    assert problems == [] and [(d.row, d.decision) for d in decisions] == [(2, "include"), (3, "exclude")]
    path.write_text("sep=,\ndoi,decision,reason,,\n10.1/one,include,,,\n10.1/five,exclude,review, off topic,\n")
    with pytest.raises(InputError) as err:
        read_decisions(path, TITLE_ABSTRACT, index, reasons)
    [problem] = err.value.problems
    assert (problem.row, problem.rule, problem.value) == (3, "named columns", "off topic")


def test_final_decision_is_the_reviewers_when_they_agree():
    assert final_decision({"decision": "Include"}) == "include"
    assert final_decision({"reviewer1": "include", "reviewer2": "include"}) == "include"
    assert final_decision({"reviewer1": "include", "reviewer2": "exclude"}) == "unresolved"
    assert final_decision({"notes": "x"}) == ""
