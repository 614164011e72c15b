"""Screening sheets and the conflict loop (SYNTHETIC records and decisions)."""

import csv

import pytest

from metasr.errors import InputError
from metasr.records.pipeline import DedupFiles, dedup_records
from metasr.screening.decisions import TITLE_ABSTRACT, read_decisions
from metasr.screening.keys import KeyIndex
from metasr.screening.lists import apply_resolutions, conflict_list, screening_list

RIS = "".join(f"TY  - JOUR\nAU  - {a}\nTI  - {t}\nT2  - Synthetic Journal\nPY  - {y}\nVL  - {v}\n"
              f"SP  - {p}\nER  - \n\n" for a, t, y, v, p in [
                  ("Absinta, M", "Rim lesions and disability in a SYNTHETIC cohort", 2019, 1, 10),
                  ("Absinta, M", "Rim lesions and disability in a SYNTHETIC cohort", 2019, 1, 10),
                  ("Absinta, M", "Rim lesions and disability in a SYNTHETIC cohort: 5 years", 2021, 3, 40),
                  ("Reich, D", "Another SYNTHETIC study of paramagnetic rims", 2020, 2, 5)])


def _rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def records_dir(tmp_path):
    (tmp_path / "search.ris").write_text(RIS, encoding="utf-8")
    dedup_records([tmp_path / "search.ris"], DedupFiles.in_folder(tmp_path / "records"))
    return tmp_path / "records"


def test_screening_list_flags_near_duplicates_and_decided_records(tmp_path, records_dir):
    decisions = tmp_path / "ta.csv"
    decisions.write_text("title,year,decision,reason\nAnother SYNTHETIC study of paramagnetic "
                         "rims,2020,exclude,review\n", encoding="utf-8")
    summary = screening_list(records_dir, tmp_path / "list.csv", decisions)
    rows = _rows(tmp_path / "list.csv")
    assert summary == {"records": 3, "decided": 1, "possible_duplicates": 2}
    assert [r["order"] for r in rows] == ["1", "2", "3"]
    assert rows[-1]["flags"] == "decided" and rows[-1]["decision"] == "exclude"
    assert rows[0]["flags"] == rows[1]["flags"] == "possible_duplicate"
    assert rows[1]["record_id"] in rows[0]["possible_duplicate_of"]
    # Filled in, the sheet is a decision file.
    for row in rows:
        row["decision"], row["reason"] = row["decision"] or "include", row["reason"]
    with open(tmp_path / "list.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    index = KeyIndex.from_records(_rows(records_dir / "records.csv"))
    decided, problems = read_decisions(tmp_path / "list.csv", TITLE_ABSTRACT, index, ["review"])
    assert len(decided) == 3 and not [p for p in problems if p.severity == "error"]


def test_conflict_loop(tmp_path, records_dir):
    decisions = tmp_path / "ta.csv"
    decisions.write_text(
        "title,year,reviewer1,reviewer2,decision,reason\n"
        "Rim lesions and disability in a SYNTHETIC cohort,2019,include,exclude,,\n"
        "Another SYNTHETIC study of paramagnetic rims,2020,exclude,exclude,,review\n"
        "Rim lesions and disability in a SYNTHETIC cohort: 5 years,2021,exclude,include,,\n",
        encoding="utf-8")
    index = KeyIndex.from_records(_rows(records_dir / "records.csv"))
    before, _ = read_decisions(decisions, TITLE_ABSTRACT, index, ["review"])
    assert sum(d.decision == "unresolved" for d in before) == 2
    assert conflict_list(decisions, tmp_path / "conflicts.csv") == 2
    sheet = _rows(tmp_path / "conflicts.csv")
    assert [r["file_row"] for r in sheet] == ["2", "4"]
    sheet[0].update(decision="include")
    sheet[1].update(decision="exclude", reason="review")
    with open(tmp_path / "conflicts.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    assert apply_resolutions(tmp_path / "conflicts.csv", decisions) == 2
    after, problems = read_decisions(decisions, TITLE_ABSTRACT, index, ["review"])
    assert [d.decision for d in after] == ["include", "exclude", "exclude"]
    assert not [p for p in problems if p.severity == "error"]
    assert [d.is_conflict for d in after] == [True, False, True]  # the reviewers' votes stay


def test_a_stale_conflict_sheet_is_refused(tmp_path, records_dir):
    decisions = tmp_path / "ta.csv"
    decisions.write_text("title,year,reviewer1,reviewer2,decision\nA,2019,include,exclude,\n",
                         encoding="utf-8")
    conflict_list(decisions, tmp_path / "conflicts.csv")
    decisions.write_text("title,year,reviewer1,reviewer2,decision\nB,2019,include,exclude,\n",
                         encoding="utf-8")
    sheet = tmp_path / "conflicts.csv"
    sheet.write_text(sheet.read_text().replace(",include,exclude,,", ",include,exclude,include,"))
    with pytest.raises(InputError, match="no longer matches"):
        apply_resolutions(sheet, decisions)
