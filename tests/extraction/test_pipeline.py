"""prepare_outcome: validate, convert, write the effect-input table atomically."""

import pytest

from metasr.errors import InputError
from metasr.extraction import conversions as conv
from metasr.extraction.pipeline import output_columns, prepare_outcome
from metasr.extraction.sheets import OUTCOME_COLUMNS, load_studies, studies_in_outcome

EXTRACTION = {"median_conversion": "luo_shi", "p_value_bounds": "exclude"}


def run(root, outcome_id, config, out=None):
    sheet = root / "data/extraction/outcomes" / f"{outcome_id}.csv"
    studies = load_studies(root / "data/extraction/studies.csv")
    ids = studies_in_outcome(sheet)
    rows = [r for r in studies.to_dict("records") if r["study_id"] in ids]
    out = out or root / "results/extraction" / f"{outcome_id}.csv"
    warnings = prepare_outcome(sheet, rows, outcome_id, config["outcomes"][outcome_id], config["extraction"], out)
    return out, warnings


def test_smd_outcome_rows_and_columns(synthetic_review, helpers):
    root, config = synthetic_review
    out, warnings = run(root, "score", config)
    rows = helpers.read_rows(out)
    assert list(rows[0]) == output_columns("SMD")
    s1, s2 = rows
    assert (s1["study_id"], s1["label"], s1["year"], s1["usable"]) == ("S1", "Alpha 2020", "2020", "true")
    assert (s1["m1i"], s1["sd1i"], s1["n1i"]) == ("5", "2", "20") and s1["conversion"] == "none"
    assert float(s2["ti"]) == pytest.approx(conv.t_from_p(0.04, 30, 30), rel=1e-9)
    assert s2["reported_form"] == "p_value" and "t from two-sided p" in s2["conversion"]
    for r in rows:
        assert r["record_id"] and r["source_location"] == "Table 2" and r["source_url"].startswith("https://")
    assert warnings == []


def test_rr_outcome_and_provenance(synthetic_review, helpers):
    root, config = synthetic_review
    out, _ = run(root, "relapse", config)
    (row,) = helpers.read_rows(out)
    assert list(row) == output_columns("RR")
    assert (row["ai"], row["n1i"], row["ci"], row["n2i"]) == ("5", "20", "3", "20")



def test_a_rows_derivation_is_carried_next_to_its_conversion(synthetic_review, helpers):
    """How a number was derived from the source (digitised from a figure; the import's note) reached
    no results file."""
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0]["derivation"] = "digitised from Fig. 3 (SYNTHETIC)"
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out, _ = run(root, "score", config)
    s1, s2 = helpers.read_rows(out)
    columns = list(s1)
    assert columns.index("derivation") == columns.index("conversion_detail") + 1
    assert (s1["derivation"], s2["derivation"]) == ("digitised from Fig. 3 (SYNTHETIC)", "")

def test_errors_raise_and_write_nothing(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0]["sd1"] = "-2"
    rows[1]["study_id"] = "S7"
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out = root / "results/extraction/score.csv"
    with pytest.raises(InputError) as err:
        run(root, "score", config, out)
    rules = {p.rule for p in err.value.problems}
    assert {"sd>0", "study-exists"} <= rules
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.iterdir()))  # no temporary file left behind


def test_a_problem_computing_an_effect_names_the_sheet_cell_not_the_results_file(synthetic_review, helpers):
    """n1 = 1 passes the sheet checks (n >= 1) but gives no SMD: the problem names the reviewer's
    sheet, its row and column n1, and nothing is written."""
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0]["n1"] = "1"
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out = root / "results/extraction/score.csv"
    with pytest.raises(InputError) as err:
        run(root, "score", config, out)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (str(sheet), 2, "n1") and "results" not in problem.file
    assert not out.exists()


def test_not_usable_rows_are_kept_with_reasons(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[1]["p_value"] = "<0.001"
    rows.append(helpers.outcome_row(study_id="S2", comparison="other threshold", reported_form="direction_only",
                                    direction="group1_higher", record_id="R2"))
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out, warnings = run(root, "score", config)
    got = helpers.read_rows(out)
    assert len(got) == 3
    reasons = [r["not_usable_reason"] for r in got if r["usable"] == "false"]
    assert any("bound" in r for r in reasons) and any(r.startswith("direction only") for r in reasons)
    # the job says which row it leaves out and why (a direction_only row is left out deliberately)
    assert [(w.row, w.column, w.rule) for w in warnings] == [(3, "p_value", "row-not-pooled")]
    config["extraction"]["p_value_bounds"] = "as_exact"
    out, warnings = run(root, "score", config)
    assert warnings == []
    assert sum(r["usable"] == "true" for r in helpers.read_rows(out)) == 2


def test_subgroups_are_combined(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = [helpers.outcome_row(study_id="S1", subgroup="RRMS", reported_form="mean_sd", n1="8", mean1="5", sd1="2",
                                n2="9", mean2="4", sd2="2"),
            helpers.outcome_row(study_id="S1", subgroup="PPMS", reported_form="mean_sd", n1="6", mean1="7", sd1="3",
                                n2="5", mean2="6", sd2="1")]
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out, _ = run(root, "score", config)
    (row,) = helpers.read_rows(out)
    n, m, sd = conv.combine_groups(8, 5, 2, 6, 7, 3)
    assert row["n1i"] == str(n) and float(row["m1i"]) == pytest.approx(m) and float(row["sd1i"]) == pytest.approx(sd)
    assert "Table 6.5.a" in row["conversion"] and "RRMS, PPMS" in row["conversion_detail"]


def test_several_usable_rows_stop_without_a_dependence_setting(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows.append({**rows[0], "comparison": "second threshold"})
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out = root / "results/extraction/score.csv"
    with pytest.raises(InputError) as err:
        run(root, "score", config, out)
    (problem,) = err.value.problems
    assert problem.rule == "dependence-declared" and problem.value == "S1" and problem.file == str(sheet)
    assert "rows 2, 4" in problem.message and all(m in problem.hint for m in
                                                  ("multilevel", "robust", "aggregate", "independent"))
    assert not out.exists()
    config["outcomes"]["score"]["dependence"] = {"method": "multilevel"}
    _, warnings = run(root, "score", config)
    # the copied row's group data are identical: a shared control arm that the sheet does not declare?
    assert [(w.rule, w.severity, w.row) for w in warnings] == [("shared-group", "warning", 2)] * 2


THREE_ARMS = [  # SYNTHETIC: one trial, two active arms against one control arm of 30
    dict(study_id="S1", comparison="A vs control", shared_group="2", reported_form="mean_sd", n1="20", mean1="5",
         sd1="2", n2="30", mean2="4", sd2="2.5"),
    dict(study_id="S1", comparison="B vs control", shared_group="2", reported_form="mean_sd", n1="10", mean1="6",
         sd1="3", n2="30", mean2="4", sd2="2.5"),
]


def three_arms(root, helpers):
    """S1 as a three-arm trial in studies.csv: arms of 20 and 10 (group 1) and a control arm of 30."""
    path = root / "data/extraction/studies.csv"
    studies = helpers.read_rows(path)
    studies[0].update(n_total="60", n_group1="30", n_group2="30")
    helpers.write_sheet(path, list(studies[0]), studies)


@pytest.mark.parametrize("measure, cells, split", [
    ("SMD", {}, {"n2i": 15.0, "m2i": 4.0, "sd2i": 2.5}),
    ("RR", {"reported_form": "events_n", "events1": "5", "events2": "9"}, {"ci": 4.5, "n2i": 15.0}),
])
def test_a_shared_control_arm_is_split_between_its_comparisons(synthetic_review, helpers, measure, cells, split):
    root, config = synthetic_review
    three_arms(root, helpers)
    rows = [helpers.outcome_row(**{**r, **cells}) for r in THREE_ARMS]
    columns = OUTCOME_COLUMNS + ["shared_group"]
    helpers.write_sheet(root / "data/extraction/outcomes/score.csv", columns, rows)
    config["outcomes"]["score"].update(measure=measure, dependence={"method": "independent"})
    out, _ = run(root, "score", config)
    for row in helpers.read_rows(out):
        assert {key: float(row[key]) for key in split} == split
        assert row["shared_group"] == "2" and row["shared_split"] == "2"
        assert "split between 2 comparisons (Handbook 23.3.4)" in row["conversion"]
    config["outcomes"]["score"]["dependence"] = {"method": "multilevel", "multi_arm": "correlated"}
    out, _ = run(root, "score", config)
    assert [row["n2i"] for row in helpers.read_rows(out)] == ["30", "30"]
    assert all(row["shared_split"] == "" for row in helpers.read_rows(out))


def test_a_shared_group_of_a_reported_effect_cannot_be_split(synthetic_review, helpers):
    root, config = synthetic_review
    three_arms(root, helpers)
    rows = [helpers.outcome_row(**THREE_ARMS[0]),
            helpers.outcome_row(study_id="S1", comparison="B vs control", shared_group="2", reported_form="effect_ci",
                                effect="0.3", effect_measure="SMD", effect_ci_lb="-0.1", effect_ci_ub="0.7")]
    helpers.write_sheet(root / "data/extraction/outcomes/score.csv", OUTCOME_COLUMNS + ["shared_group"], rows)
    config["outcomes"]["score"]["dependence"] = {"method": "independent"}
    out, _ = run(root, "score", config)
    whole, effect = helpers.read_rows(out)
    assert effect["usable"] == "false" and "cannot be split" in effect["not_usable_reason"]
    assert whole["usable"] == "true" and whole["n2i"] == "30" and whole["shared_split"] == ""


def test_header_only_sheet_gives_header_only_output(synthetic_review, helpers):
    root, config = synthetic_review
    helpers.write_sheet(root / "data/extraction/outcomes/score.csv", OUTCOME_COLUMNS, [])
    out, _ = run(root, "score", config)
    assert out.read_text().strip() == ",".join(output_columns("SMD"))


def test_reruns_are_byte_identical(synthetic_review):
    root, config = synthetic_review
    out, _ = run(root, "score", config)
    first = out.read_bytes()
    out, _ = run(root, "score", config)
    assert out.read_bytes() == first


def test_default_review_outcomes(helpers, tmp_path):
    import yaml
    config = yaml.safe_load((helpers.REPO / "config/config.yaml").read_text())
    usable = {}
    for oid in config["outcomes"]:
        out, _ = run(helpers.REPO, oid, config, tmp_path / f"{oid}.csv")
        usable[oid] = [r["study_id"] for r in helpers.read_rows(out) if r["usable"] == "true"]
    assert usable["edss"] == ["Blindenbacher2020", "Krajnc2022"]
    assert usable["t2_lesion_volume"] == ["Blindenbacher2020"]
    assert usable["msss"] == ["Maggi2021"] and usable["edss_change_rate"] == ["Calvi2023", "Reeves2024"]
    assert usable["dmt_response"] == [] and usable["brain_volume"] == [] and usable["relapse_rate"] == []
    edss = {r["study_id"]: r for r in helpers.read_rows(tmp_path / "edss.csv") if r["usable"] == "true"}
    # Blindenbacher 2020 Table 1: EDSS median 2 (0-3), n 13 vs 1.5 (0-4.5), n 53 -> Luo/Wan
    assert float(edss["Blindenbacher2020"]["m1i"]) == pytest.approx(conv.luo_mean_range(0, 2, 3, 13))
    assert float(edss["Blindenbacher2020"]["sd2i"]) == pytest.approx(4.5 / conv.wan_xi(53))
    assert float(edss["Krajnc2022"]["ti"]) == pytest.approx(conv.t_from_p(0.017, 47, 28))


def test_median_conversion_setting_is_honoured(synthetic_review, helpers):
    root, config = synthetic_review
    helpers.write_sheet(root / "data/extraction/outcomes/score.csv", OUTCOME_COLUMNS, [
        helpers.outcome_row(study_id="S1", reported_form="median_range", n1="12", median1="5", min1="1", max1="9",
                            n2="12", median2="4", min2="1", max2="8")])
    config["extraction"]["median_conversion"] = "hozo"
    out, _ = run(root, "score", config)
    (row,) = helpers.read_rows(out)
    assert float(row["m1i"]) == pytest.approx(conv.hozo_mean(1, 5, 9, 12)) and "Hozo 2005" in row["conversion"]
    assert float(row["sd1i"]) == pytest.approx(conv.hozo_sd(1, 5, 9, 12))


def test_subgroups_reported_as_medians_are_converted_then_combined(synthetic_review, helpers):
    root, config = synthetic_review
    config["outcomes"]["score"]["flip"] = True
    helpers.write_sheet(root / "data/extraction/outcomes/score.csv", OUTCOME_COLUMNS, [
        helpers.outcome_row(study_id="S1", subgroup="a", reported_form="median_range", n1="8", median1="5", min1="1",
                            max1="9", n2="9", median2="4", min2="1", max2="8"),
        helpers.outcome_row(study_id="S1", subgroup="b", reported_form="mean_sd", n1="6", mean1="7", sd1="3",
                            n2="5", mean2="6", sd2="1")])
    out, _ = run(root, "score", config)
    (row,) = helpers.read_rows(out)
    est = conv.median_to_mean_sd(8, 5, minimum=1, maximum=9)
    n, m, sd = conv.combine_groups(8, est.mean, est.sd, 6, 7, 3)
    assert float(row["m1i"]) == pytest.approx(-m) and float(row["sd1i"]) == pytest.approx(sd)
    assert row["conversion"].startswith("Luo 2018 (S1)") and row["conversion"].endswith("flipped")


def test_studies_in_outcome_reads_the_header_as_validation_does(tmp_path):
    sheet = tmp_path / "o.csv"
    sheet.write_text(" study_id ,n1\nB2020,3\nA2019,4\n,5\nA2019,6\n", encoding="utf-8")
    assert studies_in_outcome(sheet) == ["A2019", "B2020"]
    sheet.write_text("n1\n3\n", encoding="utf-8")
    assert studies_in_outcome(sheet) == []
    sheet.write_text("", encoding="utf-8")
    assert studies_in_outcome(sheet) == []


def test_means_of_plus_minus_1e308_are_refused_against_the_sheet(synthetic_review, helpers):
    """The means are finite, but their difference is not (issue 16, item 7): validation names
    both cells as numbers too large to compute with, before any job starts."""
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0].update(mean1="1e308", mean2="-1e308")
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out = root / "results/extraction/score.csv"
    with pytest.raises(InputError) as err:
        run(root, "score", config, out)
    assert {(p.file, p.row, p.column, p.rule) for p in err.value.errors} == {
        (str(sheet), 2, "mean1", "number-range"), (str(sheet), 2, "mean2", "number-range")}
    assert not out.exists()


def test_an_effect_beyond_the_engine_is_refused_against_the_sheet_before_pooling(synthetic_review, helpers):
    """Numbers inside the sheet's range whose effect is not (means of +-1e100, SDs of 1e-90)."""
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0].update(mean1="1e100", mean2="-1e100", sd1="1e-90", sd2="1e-90")
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out = root / "results/extraction/score.csv"
    with pytest.raises(InputError) as err:
        run(root, "score", config, out)
    [problem] = err.value.errors
    assert (problem.file, problem.row) == (str(sheet), 2) and problem.rule in ("effect in range", "finite effect")
    assert problem.column in ("mean1", "mean2", "sd1", "sd2") and "reported mean_sd numbers" in problem.message
    assert not out.exists()


def test_a_tiny_sd_that_gives_an_effect_beyond_the_engine_is_named(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0].update(mean1="5e50", sd1="1e-40", sd2="1e-40")
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    with pytest.raises(InputError) as err:
        run(root, "score", config)
    [problem] = err.value.errors
    assert problem.row == 2 and problem.column in ("mean1", "sd1", "sd2")
    assert problem.rule in ("effect in range", "finite effect")


def test_p_of_1_with_an_effect_is_a_problem_not_a_division_by_zero(synthetic_review, helpers):
    """Issue 16, item 6: `p_value = 1` in an effect_p row stopped parse time with ZeroDivisionError."""
    from metasr.extraction.converting import conversion_settings, convert_rows
    from metasr.extraction.sheets import read_sheet
    from metasr.extraction.validate import check_outcome_rows, validate_review

    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0] = helpers.outcome_row(study_id="S1", reported_form="effect_p", effect="0.4", effect_measure="SMD",
                                  p_value="1")
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    problems = [p for p in validate_review(config, root) if p.severity == "error"]
    assert [(p.file, p.row, p.column, p.rule) for p in problems] == [(str(sheet), 2, "p_value", "effect_p: p<1")]
    # Rows that validation refuses never reach conversion; converting one anyway is still no crash.
    _, typed = check_outcome_rows(read_sheet(sheet), None)
    settings = conversion_settings("score", config["outcomes"]["score"], config["extraction"])
    usable = {row["study_id"] for row, result in convert_rows([t for _, t in typed], settings) if result.usable}
    assert usable == {"S2"}


def test_formula_text_in_labels_and_comparisons_is_written_safe_and_read_back_intact(synthetic_review, helpers):
    from metasr.io import read_csv

    root, config = synthetic_review
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies[0]["label"] = '=HYPERLINK("http://evil.example","Alpha 2020")'
    from metasr.extraction.sheets import STUDY_COLUMNS
    helpers.write_sheet(root / "data/extraction/studies.csv", STUDY_COLUMNS, studies)
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0]["comparison"] = "=cmd|' /C calc'!A0"
    rows[1]["mean1"] = ""
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    out, _ = run(root, "score", config)
    raw = helpers.read_rows(out)
    assert raw[0]["label"] == '\'=HYPERLINK("http://evil.example","Alpha 2020")'
    assert raw[0]["comparison"] == "'=cmd|' /C calc'!A0"
    assert float(raw[1]["ti"]) > 0 and not raw[1]["ti"].startswith("'")  # numbers stay numbers
    back = read_csv(out)[1]
    assert back[0]["label"] == '=HYPERLINK("http://evil.example","Alpha 2020")'
    assert back[0]["comparison"] == "=cmd|' /C calc'!A0"


def test_a_shared_group_needs_a_second_row_and_two_groups(synthetic_review, helpers):
    from metasr.extraction.plausibility import shared_group_problems

    rows = [(2, dict(study_id="S1", shared_group=2, reported_form="mean_sd", n2=30, mean2=4, sd2=2)),
            (3, dict(study_id="S1", shared_group=2, reported_form="mean_sd", n2=30, mean2=4, sd2=2, timepoint="6 mo")),
            (4, dict(study_id="S2", shared_group=1, reported_form="events_total", events=3, n=10)),
            (5, dict(study_id="S2", shared_group=1, reported_form="events_total", events=4, n=10))]
    problems = shared_group_problems(rows, "sheet.csv")
    assert sorted((p.row, p.rule, p.severity) for p in problems) == [
        (2, "shared-group", "error"), (3, "shared-group", "error"), (4, "shared-group", "error"),
        (5, "shared-group", "error")]
