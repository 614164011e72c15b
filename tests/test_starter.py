"""Starter reviews: `metasr init` writes folders whose sheets match what metasr reads."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from metasr.config import load_config
from metasr.errors import InputError
from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_COLUMNS, STUDY_COLUMNS
from metasr.extraction.validate import validate_review
from metasr.starter import init_from_table, init_review

BCG = Path(__file__).resolve().parent / "fixtures" / "review_folders" / "bcg.csv"


def header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


@pytest.mark.parametrize("with_search", [True, False])
def test_starter_is_valid_and_every_row_says_example(tmp_path, with_search):
    folder = tmp_path / "review"
    written = init_review(folder, with_search=with_search)
    config = load_config(folder / "config.yaml")  # paths exist, schema holds
    assert bool(config.get("search")) == with_search
    assert header(folder / "data/extraction/studies.csv") == STUDY_COLUMNS
    assert header(folder / "data/extraction/outcomes/example_outcome.csv") == OUTCOME_COLUMNS
    assert header(folder / "data/extraction/narrative.csv") == NARRATIVE_COLUMNS
    for path in written:
        if path.suffix == ".csv":
            rows = path.read_text().splitlines()[1:]
            assert rows and all("EXAMPLE" in row for row in rows if row.strip()), path
        elif path.suffix == ".ris":
            assert "TI  - EXAMPLE" in path.read_text()
    assert not [p for p in validate_review(config, folder) if p.severity == "error"]
    assert "metasr run" in (folder / "README.md").read_text()


def test_init_refuses_to_overwrite_a_review(tmp_path):
    init_review(tmp_path / "r")
    with pytest.raises(InputError) as info:
        init_review(tmp_path / "r")
    assert info.value.problems[0].rule == "new-folder"
    init_review(tmp_path / "r", force=True)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_from_table_maps_metafor_columns_to_sheet_forms(tmp_path):
    table = write(tmp_path / "t.csv",
                  "study,year,outcome,m1i,sd1i,n1i,m2i,sd2i,n2i,yi,sei\n"
                  "Smith,2020,pain,5,2,20,4,2,21,,\n"
                  "Jones,2021,pain,,,,,,,0.3,0.1\n"
                  "Smith,2020,Quality of life,6,1,20,5,1,21,,\n")
    init_from_table(tmp_path / "r", table, "SMD")
    config = load_config(tmp_path / "r" / "config.yaml")
    assert set(config["outcomes"]) == {"pain", "quality_of_life"}
    with open(tmp_path / "r/data/extraction/outcomes/pain.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["reported_form"] for r in rows] == ["mean_sd", "effect_se"]
    assert rows[0]["study_id"] == "Smith2020" and rows[0]["n2"] == "21" and "t.csv row 2" in rows[0]["derivation"]
    assert rows[1]["effect"] == "0.3" and rows[1]["effect_measure"] == "SMD"
    with open(tmp_path / "r/data/extraction/studies.csv", newline="") as fh:
        assert [s["label"] for s in csv.DictReader(fh)] == ["Smith 2020", "Jones 2021"]


def test_from_table_turns_log_ratios_into_ratios_with_their_ci(tmp_path):
    table = write(tmp_path / "t.csv", "study,yi,vi\nA,-0.5,0.04\n")
    init_from_table(tmp_path / "r", table, "RR")
    with open(tmp_path / "r/data/extraction/outcomes/outcome.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["reported_form"] == "effect_ci" and float(row["effect"]) == pytest.approx(0.60653066)
    assert float(row["effect_ci_lb"]) == pytest.approx(0.60653066 * 2.718281828 ** (-1.959963985 * 0.2))


def test_single_group_columns_are_recognised(tmp_path):
    table = write(tmp_path / "t.csv", "study,xi,ni\nA,5,40\nB,7,52\n")
    init_from_table(tmp_path / "r", table, "PLO")
    with open(tmp_path / "r/data/extraction/outcomes/outcome.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["reported_form"], r["events"], r["n"]) for r in rows] == [("events_total", "5", "40"),
                                                                         ("events_total", "7", "52")]


@pytest.mark.parametrize("text, measure, rule", [
    ("label,m1i\nA,1\n", "SMD", "effect-columns"),
    ("year,yi,vi\n2020,1,1\n", "GEN", "required-column"),
    ("study,yi,vi\nA,x,1\n", "GEN", "numeric"),
    ("study,yi,vi\nA,0.2,0.1\n", "PLO", "effect-columns"),
    ("study,yi,vi\nA,0.2,0.1\n", "XYZ", "measure"),
])
def test_table_problems_name_row_and_column(tmp_path, text, measure, rule):
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r", write(tmp_path / "t.csv", text), measure)
    assert info.value.problems[0].rule == rule
    assert not (tmp_path / "r").exists()


def test_bcg_table_gives_thirteen_trials(tmp_path):
    init_from_table(tmp_path / "r", BCG, "OR")
    with open(tmp_path / "r/data/extraction/studies.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 13
