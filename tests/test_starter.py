"""Starter reviews: `metasr init` writes folders whose sheets match what metasr reads."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from metasr.config import load_config
from metasr.errors import InputError
from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_SHEET_COLUMNS, STUDY_COLUMNS
from metasr.extraction.validate import validate_review
from metasr.measures import ids
from metasr.starter import init_from_table, init_review

BCG = Path(__file__).resolve().parent / "fixtures" / "review_folders" / "bcg.csv"


def header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


@pytest.mark.parametrize("with_search", [True, False])
def test_starter_is_valid_and_every_row_says_example(tmp_path, with_search):
    folder = tmp_path / "review"
    written, notes = init_review(folder, with_search=with_search)
    assert not notes
    config = load_config(folder / "config.yaml")  # paths exist, schema holds
    assert bool(config.get("search")) == with_search
    assert header(folder / "data/extraction/studies.csv") == STUDY_COLUMNS
    # every column the outcome sheet's schema has, so each form's cells (events, n, r, es_id, ...) are there
    assert header(folder / "data/extraction/outcomes/example_outcome.csv") == OUTCOME_SHEET_COLUMNS
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
    assert "--force" in info.value.problems[0].hint and "never changes an existing file" in info.value.problems[0].hint


def test_force_keeps_every_existing_file_and_adds_the_missing_ones(tmp_path):
    """--force on a filled review must not replace its data by the starter's EXAMPLE rows."""
    folder = tmp_path / "r"
    init_review(folder)
    studies = folder / "data/extraction/studies.csv"
    config = folder / "config.yaml"
    studies.write_text(studies.read_text().replace("EXAMPLE1", "Smith2020"))
    config.write_text(config.read_text() + "# my edit\n")
    (folder / "data/extraction/narrative.csv").unlink()
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    written, notes = init_review(folder, force=True)
    assert written == [folder / "data/extraction/narrative.csv"]
    assert all(p.read_bytes() == text for p, text in before.items())
    assert [n.rule for n in notes] == ["keep-existing"] and "config.yaml" in notes[0].message
    assert "data/extraction/studies.csv" in notes[0].message and notes[0].severity == "warning"


def test_force_from_table_keeps_an_existing_review(tmp_path):
    folder = tmp_path / "r"
    init_review(folder)
    config = (folder / "config.yaml").read_bytes()
    table = write(tmp_path / "t.csv", "study,yi,vi\nA,-0.5,0.04\n")
    written, notes = init_from_table(folder, table, "RR", force=True)
    assert (folder / "config.yaml").read_bytes() == config
    assert written == [folder / "data/extraction/outcomes/outcome.csv"]
    assert notes[-1].rule == "keep-existing"


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


def test_paired_columns_are_recognised_before_a_correlations(tmp_path):
    # dat.lehmann2018 (tests/fixtures/measures): ri beside m1i, m2i is the two measurements' correlation
    init_from_table(tmp_path / "r", Path(__file__).parent / "fixtures/measures/inputs/lehmann2018_within.csv", "SMCC")
    with open(tmp_path / "r/data/extraction/outcomes/outcome.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and {r["reported_form"] for r in rows} == {"paired_mean_sd"}
    assert [rows[0][c] for c in ("n", "mean1", "sd1", "mean2", "sd2", "r")] == ["15", "3.66", "0.59976", "3.446666667",
                                                                              "0.6085667249", "0.66"]


def test_regression_columns_are_recognised_with_or_without_r2(tmp_path):
    # dat.aloe2013 (tests/fixtures/measures): ti, ni, mi, r2i are a regression coefficient's t, n, predictors, R²
    init_from_table(tmp_path / "r", Path(__file__).parent / "fixtures/measures/inputs/aloe2013.csv", "SPCOR")
    with open(tmp_path / "r/data/extraction/outcomes/outcome.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and {r["reported_form"] for r in rows} == {"regression_t"}
    assert [rows[0][c] for c in ("t_stat", "n", "predictors", "r2")] == ["4.61", "218", "4", "0.24"]
    table = write(tmp_path / "t.csv", "study,ti,ni,mi\nAbu-Bader (2000),4.61,218,4\nCole et al. (2004),6.19,232,7\n")
    init_from_table(tmp_path / "p", table, "PCOR")
    with open(tmp_path / "p/data/extraction/outcomes/outcome.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["reported_form"], r["t_stat"], r["predictors"]) for r in rows] == [("regression_t", "4.61", "4"),
                                                                                  ("regression_t", "6.19", "7")]
    assert "r2" not in rows[0]
    with pytest.raises(InputError) as err:  # a semi-partial correlation needs each model's R²
        init_from_table(tmp_path / "s", table, "SPCOR")
    assert [(p.row, p.column, p.rule) for p in err.value.problems] == [(2, "r2", "form-cells"), (3, "r2", "form-cells")]


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


@pytest.mark.parametrize("column", ["ai", "bi", "ci", "di"])
def test_a_count_that_is_not_whole_is_named_in_the_tables_own_column(tmp_path, column):
    """'13.536' in bi was reported as the sheet's n1 (75.536), a column the table does not have."""
    cells = {"ai": "62", "bi": "13536", "ci": "248", "di": "12619"} | {column: "13.536"}
    text = "study,ai,bi,ci,di\nA,4,119,11,128\nB," + ",".join(cells.values()) + "\n"
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r", write(tmp_path / "t.csv", text), "RR")
    [problem] = info.value.problems
    assert (problem.row, problem.column, problem.value, problem.rule) == (3, column, "13.536", "whole number")


def test_empty_columns_without_a_name_are_a_spreadsheets_leftovers_and_values_in_them_are_refused(tmp_path):
    text = "study,yi,vi,,,\nA,0.1,0.01,,,\nB,0.3,0.02,,,\n"
    init_from_table(tmp_path / "r", write(tmp_path / "t.csv", text), "GEN")
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r2", write(tmp_path / "t.csv", text.replace("B,0.3,0.02,,,", "B,0.3,0,02,,")),
                        "GEN")
    [problem] = info.value.problems
    assert (problem.row, problem.value) == (3, "02") and "column 4 has no name" in problem.message
    assert not (tmp_path / "r2").exists()


def test_a_table_saved_for_excel_starts_with_a_separator_line_that_is_skipped(tmp_path):
    """SYNTHETIC table with Excel's `sep=,` line, which Excel hides: the header is row 1 there, so
    a problem in the second study is in row 3."""
    text = "sep=,\r\nstudy,yi,vi,,\r\nA,0.1,0.01,,\r\nB,0.3,0.02,,\r\n"
    init_from_table(tmp_path / "r", write(tmp_path / "t.csv", text), "GEN")
    with open(tmp_path / "r/data/extraction/studies.csv", newline="") as fh:
        assert [row["study_id"] for row in csv.DictReader(fh)] == ["A", "B"]
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r2", write(tmp_path / "t.csv", text.replace("B,0.3,0.02", "B,0.3,zero")), "GEN")
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "vi")]
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r3", write(tmp_path / "t.csv", "sep=;\nstudy;yi;vi\nA;0,1;0,01\n"), "GEN")
    assert [(p.row, p.rule) for p in info.value.problems] == [(1, "csv-delimiter")]
    assert not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()


def test_bcg_table_gives_thirteen_trials(tmp_path):
    # dat.bcg names two trials 'Rosenthal et al' (1960, 1961) and two 'Comstock et al' (1974, 1976)
    _, notes = init_from_table(tmp_path / "r", BCG, "OR")
    with open(tmp_path / "r/data/extraction/studies.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 13
    assert [(p.rule, p.row) for p in notes] == [("study-year", 4), ("study-year", 12)]


def test_starter_config_lists_every_measure(tmp_path):
    init_review(tmp_path / "r")
    comment = " ".join(line for line in (tmp_path / "r/config.yaml").read_text().splitlines()
                       if line.startswith("#"))
    listed = set(re.findall(r"\b[A-Z][A-Z0-9]{1,4}\b", comment.split("measure:", 1)[1].split("higher_is")[0]))
    assert set(ids()) <= listed


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# Real data: R's metadat dat.konstantopoulos2011 (schools within districts), districts 11, 12 and 644;
# district 644's schools carry the years 1995 and 1994.
KONSTANTOPOULOS = ("study,year,es_id,yi,vi\n"
                   "D11,1976,school1,-0.18,0.118\nD11,1976,school2,-0.22,0.118\n"
                   "D12,1989,school1,0.13,0.014\nD12,1989,school2,-0.26,0.014\n"
                   "D644,1995,school1,0.12,0.087\nD644,1995,school2,0.61,0.082\n"
                   "D644,1994,school3,0.04,0.067\nD644,1994,school4,-0.05,0.067\n")


def test_a_study_with_several_rows_is_one_study_with_several_effect_sizes(tmp_path):
    table = write(tmp_path / "konst.csv", KONSTANTOPOULOS)
    _, notes = init_from_table(tmp_path / "r", table, "GEN")
    studies = rows_of(tmp_path / "r/data/extraction/studies.csv")
    assert [(s["study_id"], s["year"]) for s in studies] == [("D111976", "1976"), ("D121989", "1989"),
                                                             ("D6441994", "1994")]
    assert "1995 in rows 6, 7" in studies[2]["notes"]
    assert [(p.rule, p.severity, p.row) for p in notes if p.rule == "study-year"] == [("study-year", "warning", 6)]
    rows = rows_of(tmp_path / "r/data/extraction/outcomes/outcome.csv")
    assert [r["es_id"] for r in rows] == ["school1", "school2"] * 2 + ["school1", "school2", "school3", "school4"]
    assert [r["study_id"] for r in rows].count("D6441994") == 4
    config = load_config(tmp_path / "r" / "config.yaml")
    assert config["outcomes"]["outcome"]["dependence"]["method"] == "multilevel"
    assert any(p.rule == "dependence" for p in notes)
    assert not [p for p in validate_review(config, tmp_path / "r") if p.severity == "error"]


def test_independent_studies_get_no_dependence_settings(tmp_path):
    init_from_table(tmp_path / "r", write(tmp_path / "t.csv", "study,yi,vi\nA,0.1,0.01\nB,0.2,0.02\n"), "GEN")
    assert "dependence" not in load_config(tmp_path / "r" / "config.yaml")["outcomes"]["outcome"]
    assert "es_id" not in header(tmp_path / "r/data/extraction/outcomes/outcome.csv")


def test_rows_nothing_tells_apart_are_refused(tmp_path):
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r", write(tmp_path / "t.csv", "study,yi,vi\nA,0.1,0.01\nA,0.2,0.02\n"), "GEN")
    [problem] = info.value.problems
    assert (problem.rule, problem.row) == ("distinct-rows", 3) and "es_id" in problem.hint
    assert not (tmp_path / "r").exists()


def test_unknown_columns_are_refused_with_the_accepted_ones(tmp_path):
    table = write(tmp_path / "t.csv", "study,cluster,yi,vi,es_id\nA,1,0.1,0.01,a\n")
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r", table, "GEN")
    [problem] = info.value.problems
    assert (problem.rule, problem.column, problem.row) == ("known-column", "cluster", 1)
    assert "es_id" in problem.hint and "yi" in problem.hint
    assert not (tmp_path / "r").exists()


def test_sheet_columns_of_the_table_are_carried_over(tmp_path):
    table = write(tmp_path / "t.csv", "study,comparison,timepoint,subgroup,unit,notes,yi,sei\n"
                                      "A,drug vs placebo,12 weeks,men,points,Table 3,0.1,0.2\n")
    init_from_table(tmp_path / "r", table, "GEN")
    [row] = rows_of(tmp_path / "r/data/extraction/outcomes/outcome.csv")
    assert (row["comparison"], row["timepoint"], row["subgroup"], row["unit"], row["notes"]) == \
        ("drug vs placebo", "12 weeks", "men", "points", "Table 3")


def test_study_descriptors_of_the_table_go_to_the_studies_sheet(tmp_path):
    """A table's design, country, ... describe its studies (GRADE starts from design): one value per
    study in the studies sheet; a study with two is a problem unless the column describes each
    effect size (--subgroup, --moderators). SYNTHETIC rows."""
    text = ("study,es_id,design,country,yi,vi\n"
            "A,1,cohort,Norway,0.1,0.01\nA,2,cohort,,0.3,0.02\nB,1,RCT,Chile,0.2,0.02\n")
    init_from_table(tmp_path / "r", write(tmp_path / "t.csv", text), "GEN")
    studies = {r["study_id"]: r for r in rows_of(tmp_path / "r/data/extraction/studies.csv")}
    assert [(s["design"], s["country"]) for s in studies.values()] == [("cohort", "Norway"), ("RCT", "Chile")]
    assert "design" not in rows_of(tmp_path / "r/data/extraction/outcomes/outcome.csv")[0]
    mixed = write(tmp_path / "m.csv", text.replace("A,2,cohort", "A,2,case-control"))
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "s", mixed, "GEN")
    [problem] = info.value.problems
    assert (problem.rule, problem.row, problem.column, problem.value) == \
        ("one-value-per-study", 3, "design", "cohort, case-control")
    init_from_table(tmp_path / "u", mixed, "GEN", subgroup="design")  # each effect size's own design
    assert {r["design"] for r in rows_of(tmp_path / "u/data/extraction/studies.csv")} == {"", "RCT"}


def test_single_group_tables_take_es_id_but_not_shared_group(tmp_path):
    init_from_table(tmp_path / "r", write(tmp_path / "t.csv", "study,es_id,ri,ni\nA,x,0.3,40\nA,y,0.2,40\n"),
                    "ZCOR")
    assert [r["es_id"] for r in rows_of(tmp_path / "r/data/extraction/outcomes/outcome.csv")] == ["x", "y"]
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "s", write(tmp_path / "u.csv", "study,shared_group,ri,ni\nA,1,0.3,40\n"), "ZCOR")
    assert info.value.problems[0].column == "shared_group"


def test_columns_named_as_subgroup_or_moderators_are_each_effect_size_s_and_analysed_by(tmp_path):
    """--subgroup and --moderators: a column of the table describing each effect size (SYNTHETIC
    `setting`) is copied to the outcome sheet and named in the config; the review then validates."""
    table = write(tmp_path / "t.csv", "study,es_id,setting,yi,vi\nA,1,school,0.1,0.01\nA,2,home,0.3,0.02\n"
                                      "B,1,school,0.2,0.02\nC,1,home,0.4,0.03\n")
    init_from_table(tmp_path / "r", table, "GEN", subgroup="setting", moderators=["setting"])
    rows = rows_of(tmp_path / "r/data/extraction/outcomes/outcome.csv")
    assert [r["setting"] for r in rows] == ["school", "home", "school", "home"]
    outcome = load_config(tmp_path / "r" / "config.yaml")["outcomes"]["outcome"]
    assert outcome["subgroup"] == "setting" and outcome["meta_regression"]["moderators"] == ["setting"]
    config = load_config(tmp_path / "r" / "config.yaml")
    assert not [p for p in validate_review(config, tmp_path / "r") if p.severity == "error"]
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "s", table, "GEN", moderators=["settings"])
    assert [(p.rule, p.column) for p in info.value.problems] == [("known-column", "setting"),
                                                                 ("required-column", "settings")]
    assert "name it with --moderators or --subgroup" in info.value.problems[0].hint


def test_subgroup_and_moderators_need_a_table(tmp_path, capsys):
    from metasr.cli import main

    assert main(["init", str(tmp_path / "r"), "--subgroup", "x", "--moderators", "y"]) == 2
    err = capsys.readouterr().err
    assert "--subgroup is only used with --from-csv" in err and "--moderators is only used with --from-csv" in err


def test_effect_sizes_told_apart_by_their_subgroup_need_no_es_id_and_every_row_needs_one(tmp_path):
    """dat.crede2010's form (SYNTHETIC numbers): one sample gives two criteria, told apart by the
    column named as the subgroup; a row without a subgroup, or an effect column named as one, is
    refused before anything is written."""
    table = write(tmp_path / "t.csv", "study,criterion,ri,ni\nA,gpa,0.3,100\nA,grade,0.2,100\nB,gpa,0.4,80\n"
                                      "C,grade,0.1,60\n")
    init_from_table(tmp_path / "r", table, "ZCOR", subgroup="criterion")
    config = load_config(tmp_path / "r" / "config.yaml")
    assert not [p for p in validate_review(config, tmp_path / "r") if p.severity == "error"]
    blank = write(tmp_path / "b.csv", "study,criterion,ri,ni\nA,gpa,0.3,100\nB,,0.4,80\n")
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "s", blank, "ZCOR", subgroup="criterion")
    assert [(p.rule, p.row, p.column) for p in info.value.problems] == [("subgroup-value", 3, "criterion")]
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "s", table, "ZCOR", moderators=["ri"])
    assert [(p.rule, p.column) for p in info.value.problems] == [("known-column", "criterion"),
                                                                 ("characteristic", "ri")]
    assert not (tmp_path / "s").exists()


def test_study_ids_keep_latin_letters_without_accents_and_labels_keep_everything(tmp_path):
    table = write(tmp_path / "t.csv", "study,year,yi,vi\nMüller & Ødegård,2004,0.1,0.01\n李,2004,0.2,0.02\n"
                                      "Łukasz,2001,0.3,0.02\n")
    init_from_table(tmp_path / "r", table, "GEN")
    studies = rows_of(tmp_path / "r/data/extraction/studies.csv")
    assert [(s["study_id"], s["label"]) for s in studies] == [
        ("MullerOdegard2004", "Müller & Ødegård 2004"), ("S2004", "李 2004"), ("Lukasz2001", "Łukasz 2001")]


def test_a_table_the_run_would_refuse_is_refused_at_its_own_row_and_nothing_is_written(tmp_path):
    """SYNTHETIC: an r of 1.2 passed the import and stopped `metasr run` at the generated sheet."""
    table = write(tmp_path / "t.csv", "study,year,ri,ni\nA,2001,0.3,40\nB,2002,1.2,50\nC,2003,0.1,30\n")
    with pytest.raises(InputError) as info:
        init_from_table(tmp_path / "r", table, "ZCOR")
    [problem] = info.value.problems
    assert (problem.file, problem.row, problem.rule) == (str(table), 3, "-1<=r<=1")
    assert "imported as data/extraction/outcomes/outcome.csv row 3" in problem.message
    assert not (tmp_path / "r").exists()


def test_outcome_names_whose_ids_would_collide_stay_different_outcomes_with_their_names(tmp_path):
    """SYNTHETIC: `Pain ≥50% relief` and `Pain <50% relief` both became pain_50_relief, one
    outcome pooling four rows of two outcomes; the label kept only the slug."""
    table = write(tmp_path / "t.csv", "study,year,outcome,yi,vi\nA,2020,Pain ≥50% relief,0.1,0.01\n"
                                      "B,2021,Pain ≥50% relief,0.2,0.02\nC,2021,Pain <50% relief,-1.2,0.02\n"
                                      "D,2022,Pain <50% relief,-1.3,0.02\nE,2022,Pain/Score,1,1\n"
                                      "F,2022,Pain Score,1,1\nG,2022,pain_score,1,1\n")
    _, notes = init_from_table(tmp_path / "r", table, "GEN")
    outcomes = load_config(tmp_path / "r" / "config.yaml")["outcomes"]
    assert {oid: o["label"] for oid, o in outcomes.items()} == {
        "pain_50_relief": "Pain ≥50% relief", "pain_50_relief_2": "Pain <50% relief",
        "pain_score": "Pain/Score", "pain_score_2": "Pain Score", "pain_score_3": "pain_score"}
    assert [r["study_id"] for r in rows_of(tmp_path / "r/data/extraction/outcomes/pain_50_relief_2.csv")] == \
        ["C2021", "D2022"]
    assert [(n.rule, n.row) for n in notes if n.rule == "outcome-id"] == [("outcome-id", 4), ("outcome-id", 7),
                                                                          ("outcome-id", 8)]


def test_run_hint_names_the_folder_not_the_path_as_typed(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    init_review("../rel")
    for name in ("config.yaml", "README.md"):
        text = (tmp_path / "rel" / name).read_text()
        assert "metasr run rel`" in text and "../rel" not in text, name
    assert "z, t, knha or adhoc" in (tmp_path / "rel" / "config.yaml").read_text()
