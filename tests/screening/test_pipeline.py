"""screen_records end to end on synthetic tables (tests/screening/conftest.py)."""

from __future__ import annotations

import csv
import json

import pytest

from metasr.errors import InputError


def rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_counts_of_synthetic_review(workspace):
    prisma = workspace.run()
    db, other = prisma["columns"]["databases"], prisma["columns"]["other"]
    assert prisma["records"] == {"identified": 7, "unique": 5, "duplicates": 2}
    assert [(s["source"], s["n"]) for s in db["identified_by_source"]] == [("pubmed", 2), ("scopus", 3)]
    assert (db["identified"], db["duplicates"], db["screened"], db["excluded"]) == (5, 1, 4, 1)
    assert db["excluded_reasons"] == [{"reason": "review", "n": 1}]
    assert (db["sought"], db["not_retrieved"], db["assessed"]) == (3, 0, 3)
    assert db["reports_excluded_reasons"] == [{"reason": "lesion-level analysis only", "n": 1}]
    assert (db["reports_included"], db["studies_included"]) == (2, 1)
    # The website copy of c5 duplicates a Scopus record: a duplicate in the other column.
    assert (other["identified"], other["duplicates"], other["screened"], other["excluded"]) == (2, 1, 1, 1)
    assert prisma["included"] == {"studies": 1, "reports": 2, "report_study_links": 2,
                                  "reports_with_several_studies": 0, "study_reports": {"Study1": ["c1", "c5"]}}
    assert (db["removed_automation"], db["removed_other"]) == (0, 0)  # metasr screens every unique record


def test_outputs_written_and_deterministic(workspace):
    workspace.run()
    out = workspace.root / "out"
    first = {name: (out / name).read_bytes() for name in
             ("screening.csv", "prisma.json", "prisma.csv", "conflicts.csv")}
    workspace.run()
    assert first == {name: (out / name).read_bytes() for name in first}
    screening = rows(out / "screening.csv")
    assert [r["cluster_id"] for r in screening] == ["c1", "c2", "c3", "c4", "c5"]
    assert [r["status"] for r in screening] == [
        "included", "excluded_title_abstract", "excluded_full_text", "excluded_title_abstract", "included"]
    assert screening[4]["prisma_column"] == "databases" and screening[3]["prisma_column"] == "other"
    assert not list(out.glob("*.tmp"))


def test_kappa_and_conflicts(workspace):
    prisma = workspace.run()
    ta = prisma["agreement"]["title_abstract"]
    # reviewer1: I E I E I ; reviewer2: I I I E E -> po = 3/5, pe = (3*3 + 2*2)/25 = 13/25
    assert ta["n"] == 5 and ta["conflicts"] == 2 and ta["unresolved"] == 0
    assert ta["kappa"] == pytest.approx((0.6 - 0.52) / 0.48)
    assert prisma["agreement"]["full_text"]["dual"] is False
    conflicts = rows(workspace.root / "out" / "conflicts.csv")
    assert [(c["row"], c["resolved"]) for c in conflicts] == [("3", "true"), ("6", "true")]


def test_unresolved_conflict_stops_unless_allowed(workspace):
    workspace.title_abstract[4]["decision"] = ""
    with pytest.raises(InputError) as err:
        workspace.run()
    [problem] = err.value.errors
    assert problem.row == 6 and problem.rule == "conflicts resolved"
    workspace.screening_cfg["allow_unresolved_conflicts"] = True
    prisma = workspace.run()
    assert prisma["agreement"]["title_abstract"]["unresolved"] == 1
    assert prisma["warnings"][0]["rule"] == "conflicts resolved"
    # passed on to full text, where it has a decision
    assert prisma["included"]["reports"] == 2


def test_record_without_decision_is_an_error(workspace):
    del workspace.title_abstract[2]
    with pytest.raises(InputError) as err:
        workspace.run()
    [problem] = err.value.errors
    assert "without a title/abstract decision" in problem.message and "10.1/three" in problem.value


def test_passed_on_record_without_full_text_decision_is_an_error(workspace):
    del workspace.full_text[1]
    with pytest.raises(InputError, match="without a full-text decision"):
        workspace.run()


def test_full_text_decision_after_exclusion_is_an_error(workspace):
    workspace.full_text.append({"pmid": "222", "decision": "exclude", "reason": "review"})
    with pytest.raises(InputError) as err:
        workspace.run()
    [problem] = err.value.errors
    assert problem.row == 5 and problem.rule == "screened = excluded + passed on"


def test_all_problems_reported_at_once(workspace):
    workspace.title_abstract[0]["decision"] = "maybe"
    workspace.title_abstract[1]["reason"] = "not relevant"
    workspace.full_text[0]["pmid"] = "999"
    with pytest.raises(InputError) as err:
        workspace.run()
    found = {(p.file.rsplit("/", 1)[-1], p.row, p.column) for p in err.value.errors}
    assert {("ta.csv", 2, "decision"), ("ta.csv", 3, "reason"), ("ft.csv", 2, "pmid")} <= found


def test_record_from_unconfigured_source_is_an_error(workspace):
    del workspace.sources_cfg["web"]
    with pytest.raises(InputError) as err:
        workspace.run()
    assert {p.row for p in err.value.errors} == {6, 7}
    assert all(p.column == "source" for p in err.value.errors)


def test_cluster_missing_from_unique_is_an_error(workspace, tmp_path):
    paths = workspace.write()
    lines = paths["unique_csv"].read_text().splitlines()
    paths["unique_csv"].write_text("\n".join(lines[:-1]) + "\n")
    from metasr.screening.pipeline import ScreeningFiles, screen_records

    with pytest.raises(InputError, match="cluster has records but no unique record"):
        screen_records(**paths, screening_cfg=workspace.screening_cfg,
                       sources_cfg=workspace.sources_cfg, out=ScreeningFiles.in_folder(tmp_path / "out"))


def test_not_retrieved_and_unresolved_full_text(workspace):
    workspace.full_text[1] = {"doi": "10.1/three", "decision": "not_retrieved", "reason": "paywalled"}
    prisma = workspace.run()
    db = prisma["columns"]["databases"]
    assert (db["sought"], db["not_retrieved"], db["assessed"], db["reports_excluded"]) == (3, 1, 2, 0)
    assert json.loads((workspace.root / "out" / "prisma.json").read_text())["columns"]["databases"] == db


def test_reason_on_include_and_study_id_on_exclude_are_warnings(workspace):
    workspace.title_abstract[0]["reason"] = "review"
    workspace.full_text[1]["study_id"] = "Study9"
    prisma = workspace.run()
    assert {(w["file"].rsplit("/", 1)[-1], w["row"], w["column"]) for w in prisma["warnings"]} == {
        ("ta.csv", 2, "reason"), ("ft.csv", 3, "study_id")}
    assert prisma["included"]["studies"] == 1


def test_dual_screening_without_decision_column(workspace):
    workspace.ta_columns = tuple(c for c in workspace.ta_columns if c != "decision")
    workspace.title_abstract[1]["reviewer2"] = "exclude"  # now both reviewers agree
    workspace.title_abstract[4]["reviewer2"] = "include"
    prisma = workspace.run()
    assert prisma["agreement"]["title_abstract"]["kappa"] == pytest.approx(1.0)
    assert prisma["columns"]["databases"]["excluded"] == 1
    workspace.title_abstract[4]["reviewer2"] = "exclude"
    with pytest.raises(InputError, match="unresolved conflict"):
        workspace.run()


def test_title_with_wrong_year_is_explained(workspace):
    workspace.title_abstract[3]["year"] = "2021"
    with pytest.raises(InputError) as err:
        workspace.run()
    [problem] = err.value.errors
    assert problem.row == 5 and "with year 2022" in problem.message


def test_two_exports_of_one_database_are_one_line(workspace):
    workspace.sources_cfg["scopus"]["database"] = "PubMed"  # synthetic: a second PubMed export
    prisma = workspace.run()
    db = prisma["columns"]["databases"]
    assert len(db["identified_by_source"]) == 2
    assert db["identified_by_database"] == [{"database": "PubMed", "method": "database", "n": 5}]


def test_decision_spellings(workspace):
    workspace.title_abstract[0]["decision"] = "Include"
    workspace.full_text[1] = {"doi": "10.1/three", "decision": "Not retrieved"}
    prisma = workspace.run()
    assert prisma["columns"]["databases"]["not_retrieved"] == 1


def test_fallback_to_a_weaker_identifier_is_a_warning(workspace):
    workspace.full_text[0]["doi"] = "10.1/typo"  # the row also has pmid 111
    prisma = workspace.run()
    [warning] = prisma["warnings"]
    assert (warning["row"], warning["column"], warning["value"]) == (2, "doi", "10.1/typo")
    assert "identified by pmid '111'" in warning["message"]


def test_non_utf8_decision_file_is_a_problem(workspace):
    paths = workspace.write()
    text = paths["title_abstract_csv"].read_text(encoding="utf-8")
    paths["title_abstract_csv"].write_bytes((text + ",,Synthétique,2020,exclude,review,,,\n").encode("cp1252"))
    from metasr.screening.pipeline import ScreeningFiles, screen_records

    with pytest.raises(InputError) as err:
        screen_records(**paths, screening_cfg=workspace.screening_cfg,
                       sources_cfg=workspace.sources_cfg, out=ScreeningFiles.in_folder(workspace.root / "out"))
    [problem] = err.value.errors
    assert problem.rule == "encoding" and problem.row == 7 and problem.column == "title"


def test_an_unknown_column_in_a_decision_file_is_a_problem(workspace):
    """Sheets refuse unknown columns; a decision file did not ('reviewr1' lost a reviewer)."""
    from metasr.screening.pipeline import ScreeningFiles, screen_records

    for row in workspace.title_abstract:
        row["reviewr1"] = row.pop("reviewer1", "")
    workspace.ta_columns = tuple("reviewr1" if c == "reviewer1" else c for c in workspace.ta_columns)
    paths = workspace.write()
    text = paths["full_text_csv"].read_text(encoding="utf-8").splitlines()
    paths["full_text_csv"].write_text("\n".join([text[0] + ",comment"] + [t + ",SYNTHETIC" for t in text[1:]]) + "\n")
    with pytest.raises(InputError) as err:
        screen_records(**paths, screening_cfg=workspace.screening_cfg, sources_cfg=workspace.sources_cfg,
                       out=ScreeningFiles.in_folder(workspace.root / "out"))
    found = {(p.file.rsplit("/", 1)[-1], p.row, p.column, p.rule) for p in err.value.errors}
    assert ("ta.csv", 1, "reviewr1", "known column") in found
    assert ("ft.csv", 1, "comment", "known column") in found
    assert not (workspace.root / "out").exists()


def test_the_screening_sheet_of_metasr_screening_list_is_a_valid_decision_file(workspace):
    """Its extra columns (order, flags, abstract ...) are known columns of a decision file."""
    from metasr.screening.decisions import known_columns
    from metasr.screening.lists import LIST_COLUMNS

    assert set(LIST_COLUMNS) <= set(known_columns("title_abstract"))
    assert "study_id" not in known_columns("title_abstract") and "study_id" in known_columns("full_text")


def test_screening_csv_cells_cannot_run_as_formulas(workspace):
    from metasr.io import read_csv

    workspace.title_abstract[0]["notes"] = "=HYPERLINK(\"http://evil.example\")"
    workspace.run()
    raw = rows(workspace.root / "out" / "screening.csv")
    assert any(r["notes"] == "'=HYPERLINK(\"http://evil.example\")" for r in raw)
    assert not any(c.startswith("=") for r in raw for c in r.values())
    back = read_csv(workspace.root / "out" / "screening.csv")[1]
    assert any(r["notes"] == "=HYPERLINK(\"http://evil.example\")" for r in back)


def test_a_report_holding_several_studies_and_a_study_with_two_reports(workspace):
    # SYNTHETIC: the PubMed report holds two experiments; the second belongs to cohort five's study too
    workspace.full_text[0]["study_id"] = "Study1a;  Study1b"
    workspace.full_text[2]["study_id"] = "Study1b"
    prisma = workspace.run()
    assert prisma["included"] == {"studies": 2, "reports": 2, "report_study_links": 3,
                                  "reports_with_several_studies": 1,
                                  "study_reports": {"Study1a": ["c1"], "Study1b": ["c1", "c5"]}}
    assert prisma["columns"]["databases"]["studies_included"] == 2
    screening = {r["record_id"]: r["study_id"] for r in rows(workspace.root / "out" / "screening.csv")}
    assert screening["pubmed:0"] == "Study1a; Study1b" and screening["scopus:2"] == "Study1b"


def test_a_second_row_for_a_report_of_several_studies_says_how_to_list_them(workspace):
    workspace.full_text.append({"doi": "10.1/one", "decision": "include", "study_id": "Study2"})
    with pytest.raises(InputError) as err:
        workspace.run()
    (problem,) = [p for p in err.value.problems if p.rule == "one decision per record"]
    assert "study_id 'Study1; Study2'" in problem.hint
