"""validate_review: the default review passes; a corrupted copy gives every problem in one run."""

from pathlib import Path

import pytest

from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_COLUMNS, OUTCOME_SHEET_COLUMNS, STUDY_COLUMNS
from metasr.extraction.validate import validate_review


def errors(problems):
    return [p for p in problems if p.severity == "error"]


def test_default_review_is_valid(helpers):
    import yaml
    config = yaml.safe_load((helpers.REPO / "config/config.yaml").read_text())
    problems = validate_review(config, helpers.REPO)  # its cost: bench_scale.py parse
    assert errors(problems) == []
    # skewed median/range summaries of Blindenbacher 2020 are flagged, not fatal; so are the rows the run
    # leaves out for a reason the sheet does not give (p bounds, no direction, a beta for a rate ratio)
    assert {p.rule for p in problems} == {"skewness", "row-not-pooled"}
    assert sorted((p.file.rsplit("/", 1)[-1], p.row, p.column) for p in problems if p.rule == "row-not-pooled") == [
        ("amygdala_volume.csv", 2, "p_value"), ("edss.csv", 8, "direction"), ("nfl.csv", 4, "p_value"),
        ("relapse_rate.csv", 3, "effect_measure"), ("t2_lesion_volume.csv", 5, "p_value"),
        ("thalamic_volume.csv", 4, "p_value")]


def test_corrupted_default_review_lists_every_problem_at_once(default_review_copy, helpers):
    root, config = default_review_copy
    ext = root / "data/extraction"
    studies = helpers.read_rows(ext / "studies.csv")
    studies[0]["rob_overall"] = "medium"                         # risk-of-bias (metasr.rob's words)
    studies[1]["year"] = "20x2"                                  # type
    studies.append(dict(studies[2]))                             # unique-study
    helpers.write_sheet(ext / "studies.csv", list(studies[0]), studies)
    edss = helpers.read_rows(ext / "outcomes/edss.csv")
    blind = next(i for i, r in enumerate(edss) if r["study_id"] == "Blindenbacher2020")
    edss[blind]["min1"] = "2.5"                                  # min above median
    edss[blind]["n2"] = "530"                                    # n-consistent (studies: 53)
    krajnc = next(i for i, r in enumerate(edss) if r["reported_form"] == "p_value" and r["study_id"] == "Krajnc2022")
    edss[krajnc]["p_value"] = "1.7"                              # 0<p<=1
    edss[0]["study_id"] = "Nobody2020"                           # study-exists
    edss.append(dict(edss[-1]))                                  # unique-row
    helpers.write_sheet(ext / "outcomes/edss.csv", OUTCOME_COLUMNS, edss)
    sdmt = helpers.read_rows(ext / "outcomes/sdmt.csv")
    sdmt[0]["reported_form"] = "median_rng"                      # allowed-values
    sdmt[0]["source_location"] = ""                              # required
    helpers.write_sheet(ext / "outcomes/sdmt.csv", OUTCOME_COLUMNS, sdmt)
    (ext / "outcomes/brain_volume.csv").unlink()                 # sheet-exists
    (ext / "outcomes/fatigue.csv").write_text("study_id\n")      # declared-outcome
    narrative = helpers.read_rows(ext / "narrative.csv")
    narrative[0]["finding"] = ""                                 # required
    helpers.write_sheet(ext / "narrative.csv", NARRATIVE_COLUMNS, narrative)

    found = errors(validate_review(config, root))
    got = {(p.file.split("extraction/")[-1], p.rule) for p in found}
    expected = {("studies.csv", "risk-of-bias"), ("studies.csv", "type"), ("studies.csv", "unique-study"),
                ("outcomes/edss.csv", "min<=median"), ("outcomes/edss.csv", "n-consistent"),
                ("outcomes/edss.csv", "0<p<=1"), ("outcomes/edss.csv", "study-exists"),
                ("outcomes/edss.csv", "unique-row"), ("outcomes/sdmt.csv", "allowed-values"),
                ("outcomes/sdmt.csv", "required"), ("outcomes/brain_volume.csv", "sheet-exists"),
                ("outcomes/fatigue.csv", "declared-outcome"), ("narrative.csv", "required")}
    assert expected <= got, expected - got
    p = next(p for p in found if p.rule == "0<p<=1")
    assert (p.column, p.value, p.row) == ("p_value", "1.7", krajnc + 2) and p.hint


def test_screening_cross_checks(synthetic_review, helpers):
    root, config = synthetic_review
    assert errors(validate_review(config, root)) == []  # no screening file: check skipped
    full_text = root / "data/screening/full_text.csv"
    helpers.write_sheet(full_text, ["doi", "decision", "reason", "study_id"], [
        dict(doi="10.1/a", decision="include", study_id="S1"), dict(doi="10.1/b", decision="include", study_id="S3"),
        dict(doi="10.1/c", decision="exclude", reason="review")])
    found = {(p.rule, p.value) for p in errors(validate_review(config, root))}
    assert ("included-has-data", "S3") in found          # included but nothing extracted
    assert ("extracted-not-included", "S2") in found     # extracted but not included
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies.append(dict(study_id="S3", record_id="R3", label="Gamma 2022", no_data_reason="results not reported"))
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    found = {(p.rule, p.value) for p in errors(validate_review(config, root))}
    assert ("included-has-data", "S3") not in found


def test_an_include_without_a_study_id_is_named_for_the_study_it_may_be(synthetic_review, helpers):
    """S2's include lost its study_id: the message says so, where it said S2 was not included."""
    root, config = synthetic_review
    full_text = root / "data/screening/full_text.csv"
    helpers.write_sheet(full_text, ["doi", "decision", "reviewer1", "reviewer2", "study_id"], [
        dict(doi="10.1/a", decision="include", study_id="S1"), dict(doi="10.1/b", reviewer1="include",
                                                                    reviewer2="include")])
    [problem] = errors(validate_review(config, root))
    assert (problem.rule, problem.value, problem.column) == ("extracted-not-included", "S2", "study_id")
    assert "no full-text include names it" in problem.message
    assert ("the include at row 3 of" in problem.message
            and "names no study (empty study_id): if it is this study's report, write 'S2'" in problem.message)
    # the reviewers' agreement is the include (screening reads it so), as a filled decision is
    helpers.write_sheet(full_text, ["doi", "reviewer1", "reviewer2", "study_id"], [
        dict(doi="10.1/a", reviewer1="include", reviewer2="include", study_id="S1"),
        dict(doi="10.1/b", reviewer1="Include", reviewer2="include", study_id="S2")])
    assert errors(validate_review(config, root)) == []


def test_a_record_id_of_the_search_must_name_one_of_its_records(synthetic_review, helpers):
    """A record_id written as the records step writes them ({source}:{index}) is checked against
    the number of records of that source's export; any other text is the reviewers' reference."""
    from metasr.extraction.validate import record_id_problems

    root, config = synthetic_review
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies[0]["record_id"], studies[1]["record_id"] = "pubmed:10", "embase:3"
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    cells: list = []
    validate_review(config, root, record_ids=cells)
    assert {(c.file.rsplit("/", 1)[-1], c.row, c.value) for c in cells} >= {
        ("studies.csv", 2, "pubmed:10"), ("studies.csv", 3, "embase:3"), ("score.csv", 2, "R1")}
    sources = {"pubmed": {"file": "data/search/pubmed.nbib"}, "other": {"file": "data/search/other.csv"}}
    problems = record_id_problems(cells, sources, {"pubmed": 10, "other": 2})
    assert [(p.row, p.column, p.value, p.severity) for p in problems] == [
        (2, "record_id", "pubmed:10", "error"), (3, "record_id", "embase:3", "warning")]
    assert "names no record: the export of search source 'pubmed' (data/search/pubmed.nbib) holds 10 records " \
           "(pubmed:0 to pubmed:9)" in problems[0].message
    assert "renumbers them" in problems[0].hint
    assert record_id_problems(cells, sources, {"pubmed": 11, "other": 2})[0].severity == "warning"
    assert record_id_problems(cells, sources, {}) == []  # no search records: nothing to name
    from metasr.extraction.validate import RecordIdCell

    curie = [RecordIdCell("studies.csv", 2, "pubmed:31403674")]  # a PMID written as a CURIE
    assert record_id_problems(curie, sources, {"pubmed": 10})[0].hint.startswith("'31403674' looks like a PubMed id")


def test_study_without_rows_or_reason_is_named_without_screening(synthetic_review, helpers):
    root, config = synthetic_review
    config = {**config, "screening": {}}
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies.append(dict(study_id="S3", record_id="R3", label="Gamma 2022", notes="SYNTHETIC"))
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    problems = validate_review(config, root)
    assert errors(problems) == []
    (warning,) = [p for p in problems if p.rule == "study-has-data"]
    assert (warning.severity, warning.value, warning.row, warning.column) == ("warning", "S3", 4, "no_data_reason")
    assert warning.file.endswith("studies.csv") and "no_data_reason" in warning.hint
    studies[-1]["no_data_reason"] = "results not reported"
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    assert not [p for p in validate_review(config, root) if p.rule == "study-has-data"]


def test_study_without_rows_is_not_warned_twice_with_screening(synthetic_review, helpers):
    root, config = synthetic_review
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies.append(dict(study_id="S3", record_id="R3", label="Gamma 2022", notes="SYNTHETIC"))
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    helpers.write_sheet(root / "data/screening/full_text.csv", ["doi", "decision", "reason", "study_id"], [
        dict(doi="10.1/a", decision="include", study_id="S1"), dict(doi="10.1/b", decision="include", study_id="S2"),
        dict(doi="10.1/c", decision="include", study_id="S3")])
    found = [(p.rule, p.value) for p in validate_review(config, root) if p.value == "S3"]
    assert found == [("included-has-data", "S3")]


@pytest.mark.parametrize("sid", ["NA", "NaN", "na"])
def test_a_study_id_read_as_missing_is_refused(synthetic_review, helpers, sid):
    root, config = synthetic_review
    for name in ("studies.csv", "outcomes/score.csv", "outcomes/relapse.csv", "narrative.csv"):
        path = root / "data/extraction" / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nS1,", f"\n{sid},"), encoding="utf-8")
    found = [(p.row, p.column, p.rule, p.value) for p in errors(validate_review(config, root))]
    assert found == [(2, "study_id", "study-id-not-missing", sid)]


def test_unknown_and_missing_columns(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    columns = [c if c != "sd1" else "sd_1" for c in OUTCOME_COLUMNS if c != "record_id"]
    helpers.write_sheet(sheet, columns, [{("sd_1" if k == "sd1" else k): v for k, v in r.items() if k != "record_id"}
                                         for r in rows])
    found = {(p.rule, p.column) for p in errors(validate_review(config, root))}
    assert ("known-column", "sd_1") in found and ("required-column", "record_id") in found


def test_studies_sheet_rules(synthetic_review, helpers):
    root, config = synthetic_review
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies[0].update(rob_tool="NOS", rob_selection="low", rob_outcome="some concerns", rob_overall="high")
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    assert errors(validate_review(config, root)) == []
    studies[0].update(rob_tool="ROBINS", n_group1="50")
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    found = {(p.rule, p.column) for p in errors(validate_review(config, root))}
    assert ("risk-of-bias", "rob_tool") in found and ("n-consistent", "n_total") in found


@pytest.mark.parametrize("text", ["not,a,csv\n\"unclosed", ""])
def test_odd_files_do_not_crash(synthetic_review, text):
    root, config = synthetic_review
    (root / "data/extraction/outcomes/score.csv").write_text(text)
    problems = validate_review(config, root)
    assert all(p.rule for p in problems)


def test_unreadable_sheets_are_problems_not_tracebacks(synthetic_review):
    root, config = synthetic_review
    (root / "data/extraction/narrative.csv").write_bytes("study_id,finding\nS1,caf\xe9\n".encode("latin-1"))
    (root / "data/extraction/outcomes/relapse.csv").unlink()
    found = {(p.rule, str(p.file).split("extraction/")[-1]) for p in validate_review(config, root)}
    assert ("encoding", "narrative.csv") in found and ("sheet-exists", "outcomes/relapse.csv") in found
    (root / "data/extraction/studies.csv").unlink()
    assert "file-exists" in {p.rule for p in validate_review(config, root)}


def test_study_labels_overlaps_narrative_direction_and_delimiter(synthetic_review, helpers):
    root, config = synthetic_review
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies[1].update(label="Alpha 2020", overlapping_cohort_with="S1; S5")
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    narrative = helpers.read_rows(root / "data/extraction/narrative.csv")
    narrative[0]["direction"] = "up"
    helpers.write_sheet(root / "data/extraction/narrative.csv", NARRATIVE_COLUMNS, narrative)
    (root / "data/extraction/outcomes/relapse.csv").write_text("study_id;comparison;reported_form\n")
    found = {(p.rule, p.severity, p.value) for p in validate_review(config, root)}
    assert ("unique-label", "warning", "Alpha 2020") in found
    assert ("overlap-exists", "error", "S5") in found
    assert ("allowed-values", "error", "up") in found
    assert ("csv-delimiter", "error", "study_id;comparison;reported_form") in found


def test_a_label_with_a_line_break_is_refused(synthetic_review, helpers):
    """Figures draw a label on one line; a quoted cell may hold a line break (SYNTHETIC label)."""
    root, config = synthetic_review
    studies = helpers.read_rows(root / "data/extraction/studies.csv")
    studies[1]["label"] = "Beta\n2021"
    helpers.write_sheet(root / "data/extraction/studies.csv", list(studies[0]), studies)
    (problem,) = [p for p in validate_review(config, root) if p.rule == "one-line-label"]
    assert (problem.severity, problem.row, problem.column) == ("error", 3, "label")


def test_studies_sheet_risk_of_bias_tools(synthetic_review, helpers):
    """Every tool's columns are accepted; the tool's own words and overall rule are checked."""
    root, config = synthetic_review
    path = root / "data/extraction/studies.csv"
    studies = helpers.read_rows(path)
    columns = STUDY_COLUMNS  # every tool's domains are among its columns
    studies[0].update(rob_tool="ROBINS-I", rob_confounding="serious", rob_classification="low",
                      rob_selection="low", rob_deviations="moderate", rob_missing="low",
                      rob_measurement="low", rob_reporting="low", rob_overall="serious")  # SYNTHETIC
    studies[1].update(rob_tool="NOS", rob_selection="4", rob_comparability="2", rob_outcome="3")
    helpers.write_sheet(path, columns, studies)
    assert errors(validate_review(config, root)) == []
    studies[0].update(rob_overall="moderate")        # less severe than the worst domain
    studies[1].update(rob_comparability="3")         # NOS comparability has two stars
    helpers.write_sheet(path, columns, studies)
    found = {(p.rule, p.row, p.column) for p in errors(validate_review(config, root))}
    assert found == {("risk-of-bias", 2, "rob_overall"), ("risk-of-bias", 3, "rob_comparability")}


def test_a_number_that_overflows_is_a_problem_with_its_cell(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0]["sd1"] = "1e999"  # reads as infinity
    rows[0]["mean2"] = "4e-200"
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    found = {(p.row, p.column, p.rule) for p in validate_review(config, root) if p.severity == "error"}
    assert {(2, "sd1", "number-range"), (2, "mean2", "number-range")} <= found


def test_a_cp1252_sheet_names_the_row_and_column_of_the_first_bad_byte(synthetic_review):
    root, config = synthetic_review
    sheet = root / "data/extraction/studies.csv"
    text = sheet.read_text(encoding="utf-8").replace("Beta 2021", "Bêta 2021")
    sheet.write_bytes(text.encode("cp1252"))
    [problem] = [p for p in validate_review(config, root) if p.rule == "encoding"]
    assert (problem.file, problem.row, problem.column) == (str(sheet), 3, "label")


def test_a_superscript_digit_in_a_narrative_group_size_is_a_problem(synthetic_review, helpers):
    """'²'.isdigit() is true but int('²') fails: the group size check must not crash on it."""
    root, config = synthetic_review
    path = root / "data/extraction/narrative.csv"
    rows = helpers.read_rows(path)
    rows[0]["n1"] = "²"
    rows[0]["n2"] = "9" * 5000
    helpers.write_sheet(path, NARRATIVE_COLUMNS, rows)
    found = {(p.column, p.rule) for p in validate_review(config, root)}
    assert {("n1", "n>=1"), ("n2", "n>=1")} <= found


def test_a_null_effect_with_a_p_value_gives_no_standard_error(synthetic_review, helpers):
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/relapse.csv"
    rows = helpers.read_rows(sheet)
    rows[0] = helpers.outcome_row(study_id="S1", reported_form="effect_p", effect="1", effect_measure="RR",
                                  p_value="0.2")
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    found = {(p.row, p.column, p.rule) for p in validate_review(config, root) if p.severity == "error"}
    assert found == {(2, "effect", "effect_p: effect not null")}


def test_a_study_row_wider_than_the_header_is_found_before_any_job(synthetic_review):
    """An unquoted comma in studies.csv shifted its cells: found at validation, as in outcome sheets
    (the risk-of-bias and report steps read the same file later)."""
    root, config = synthetic_review
    sheet = root / "data/extraction/studies.csv"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    lines[1] += ",stray"
    lines[2] += ",,"  # empty trailing cells a spreadsheet leaves behind are fine
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = {(p.row, p.rule) for p in validate_review(config, root) if p.severity == "error"}
    assert found == {(2, "row-width")}


def test_sheets_saved_by_excel_with_a_separator_line_and_empty_columns_are_valid(synthetic_review):
    """SYNTHETIC sheets as Excel saves them for some users: a first line `sep=,` (Excel hides it)
    and empty columns without a name on the right. A value in such a column is refused, with its
    row as Excel shows it, alongside the sheets' other problems."""
    root, config = synthetic_review
    for sheet in (root / "data/extraction").rglob("*.csv"):
        lines = sheet.read_text(encoding="utf-8").splitlines()
        sheet.write_text("sep=,\r\n" + "".join(f"{line},,,\r\n" for line in lines), encoding="utf-8")
    assert errors(validate_review(config, root)) == []
    sheet = root / "data/extraction/outcomes/score.csv"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-3] + ",,stray,"  # the first data row: row 2 in Excel, line 3 of the file
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "data/extraction/narrative.csv").write_text("sep=,\nstudy_id,outcome,finding,,\nS9,age,x,,\n")
    found = {(p.file.split("extraction/")[-1], p.row, p.rule) for p in errors(validate_review(config, root))}
    assert found == {("outcomes/score.csv", 2, "named columns"), ("narrative.csv", 2, "study-exists"),
                     ("narrative.csv", 2, "required")}  # (S9 is no study; no record_id, source_location)


def test_a_full_text_include_may_name_several_studies(tmp_path):
    from metasr.extraction.validate import included_study_ids

    path = tmp_path / "full_text.csv"
    path.write_text("doi,decision,study_id\n10.1/a,include,Exp1; Exp2 ;Exp3\n10.1/b,include,Exp2\n"
                    "10.1/c,exclude,\n", encoding="utf-8")  # SYNTHETIC decisions
    assert included_study_ids(path) == {"Exp1", "Exp2", "Exp3"}


def test_meta_regression_moderators_are_studies_sheet_columns(default_review_copy, helpers):
    """A moderator names a studies.csv column: one the schema knows (year), or one it may have only
    because a moderator names it (here `dose`, SYNTHETIC values); a moderator missing from the
    sheet is a problem naming the column and the config key."""
    root, config = default_review_copy
    config["outcomes"]["edss"]["meta_regression"] = {"moderators": ["year", "dose"]}
    problems = errors(validate_review(config, root))
    missing = [p for p in problems if p.rule == "moderator-column"]
    # the config's name is wrong, or a sheet lacks the column: the problem is where the name is given
    assert [(p.value, p.key, p.row) for p in missing] == [("dose", "outcomes.edss.meta_regression.moderators", None)]
    assert missing[0].file.endswith("config.yaml") and "studies.csv" in missing[0].message
    ext = root / "data/extraction"
    studies = helpers.read_rows(ext / "studies.csv")
    for i, row in enumerate(studies):
        row["dose"] = str(i)  # SYNTHETIC
    helpers.write_sheet(ext / "studies.csv", list(studies[0]), studies)
    assert errors(validate_review(config, root)) == []
    del config["outcomes"]["edss"]["meta_regression"]  # without the moderator, the column is unknown
    assert {p.rule for p in errors(validate_review(config, root))} == {"known-column"}


def test_a_misspelt_moderator_is_the_configs_problem_with_the_sheet_column_it_may_mean(default_review_copy,
                                                                                      helpers):
    root, config = default_review_copy
    ext = root / "data/extraction"
    rows = helpers.read_rows(ext / "outcomes/edss.csv")
    for i, row in enumerate(rows):
        row["meanage"] = str(40 + i)  # SYNTHETIC: each effect size's own value
    helpers.write_sheet(ext / "outcomes/edss.csv", list(rows[0]), rows)
    config["outcomes"]["edss"]["meta_regression"] = {"moderators": ["meanag"]}
    problems = errors(validate_review(config, root))
    moderator = next(p for p in problems if p.rule == "moderator-column")
    assert moderator.file.endswith("config.yaml") and moderator.hint.startswith("did you mean 'meanage'?")
    unknown = next(p for p in problems if p.rule == "known-column")  # the sheet's column the config does not name
    assert unknown.column == "meanage" and "outcomes.edss.subgroup or .meta_regression.moderators" in unknown.hint


def test_a_subgroup_column_is_a_column_of_the_studies_or_the_outcome_sheet(default_review_copy, helpers):
    """`outcomes.<id>.subgroup` and a non-default `order_by` name a studies.csv column (or a sheet
    column that reaches the effect table); a name that is neither stops the run at validation."""
    root, config = default_review_copy
    config["outcomes"]["edss"]["subgroup"] = "no_such_column"
    config["outcomes"]["edss"]["order_by"] = "no_such_order"
    missing = [p for p in errors(validate_review(config, root)) if p.rule == "analysis-column"]
    assert [(p.value, p.key, p.row) for p in missing] == [
        ("no_such_column", "outcomes.edss.subgroup", None), ("no_such_order", "outcomes.edss.order_by", None)]
    assert missing[0].file.endswith("config.yaml") and "add a column 'no_such_column'" in missing[0].hint
    config["outcomes"]["edss"].update(subgroup="comparison", order_by="year")  # a sheet column, the default
    assert errors(validate_review(config, root)) == []


def test_every_study_of_a_subgroup_analysis_has_a_level(default_review_copy, helpers):
    """A studies.csv column the schema does not know may be a subgroup (here `region`, SYNTHETIC
    values); a study of the outcome without a value is a problem at its row."""
    root, config = default_review_copy
    ext = root / "data/extraction"
    studies = helpers.read_rows(ext / "studies.csv")
    for i, row in enumerate(studies):
        row["region"] = "north" if i % 2 else "south"  # SYNTHETIC
    edss = {r["study_id"] for r in helpers.read_rows(ext / "outcomes/edss.csv")}
    first = next(i for i, row in enumerate(studies) if row["study_id"] in edss)
    studies[first]["region"] = ""
    helpers.write_sheet(ext / "studies.csv", list(studies[0]), studies)
    config["outcomes"]["edss"]["subgroup"] = "region"
    problems = errors(validate_review(config, root))
    assert [(p.rule, p.row, p.column) for p in problems] == [("subgroup-value", first + 2, "region")]
    studies[first]["region"] = "east"
    helpers.write_sheet(ext / "studies.csv", list(studies[0]), studies)
    assert errors(validate_review(config, root)) == []



def test_a_subgroup_by_rob_overall_reads_the_derived_overall(default_review_copy, helpers):
    """`subgroup: rob_overall` reads the overall in use (metasr.rob.study_value): a study whose
    overall cell is empty but whose domains give it by the tool's rule has a level, as the traffic
    light and GRADE show it (SYNTHETIC judgements)."""
    root, config = default_review_copy
    ext = root / "data/extraction"
    studies = helpers.read_rows(ext / "studies.csv")
    for row in studies:
        row.update(rob_tool="RoB2", rob_randomisation="low", rob_deviations="low", rob_missing="low",
                   rob_measurement="low", rob_reporting="low", rob_overall="low")
    edss = {r["study_id"] for r in helpers.read_rows(ext / "outcomes/edss.csv")}
    first = next(i for i, row in enumerate(studies) if row["study_id"] in edss)
    studies[first].update(rob_overall="", rob_missing="high")  # derived: high
    header = list(dict.fromkeys([*studies[0], "rob_tool", "rob_overall"]))
    helpers.write_sheet(ext / "studies.csv", header, studies)
    config["outcomes"]["edss"]["subgroup"] = "rob_overall"
    assert errors(validate_review(config, root)) == []
    studies[first].update(rob_missing="", rob_randomisation="some concerns")  # nothing to derive
    helpers.write_sheet(ext / "studies.csv", header, studies)
    problems = errors(validate_review(config, root))
    assert [(p.rule, p.row, p.column) for p in problems] == [("subgroup-value", first + 2, "rob_overall")]


def test_a_sheets_subgroup_that_differs_from_the_studies_sheets_is_a_warning(default_review_copy, helpers):
    """The outcome sheet's value is used; a different value for the same study in studies.csv is
    likely a typo (SYNTHETIC `region` values)."""
    root, config = default_review_copy
    ext = root / "data/extraction"
    studies = helpers.read_rows(ext / "studies.csv")
    for row in studies:
        row["region"] = "north"
    helpers.write_sheet(ext / "studies.csv", list(studies[0]), studies)
    rows = helpers.read_rows(ext / "outcomes/edss.csv")
    for row in rows:
        row["region"] = "north"
    rows[0]["region"] = "North"
    helpers.write_sheet(ext / "outcomes/edss.csv", list(rows[0]), rows)
    config["outcomes"]["edss"]["subgroup"] = "region"
    found = [p for p in validate_review(config, root) if p.rule == "subgroup-agrees"]
    assert [(p.severity, p.row, p.column, p.value) for p in found] == [("warning", 2, "region", "North")]
    assert f"'north' for study '{rows[0]['study_id']}'" in found[0].message

def _correlation_review(root, helpers, config, measure, cells):
    """The synthetic review with a correlation outcome (SYNTHETIC) whose second row has `cells`."""
    rows = [helpers.outcome_row(study_id="S1", reported_form="correlation", r="0.3", n="40"),
            helpers.outcome_row(**{"study_id": "S2", "reported_form": "correlation", "r": "0.2", "n": "60",
                                   "record_id": "R2", **cells})]
    helpers.write_sheet(root / "data/extraction/outcomes/assoc.csv", OUTCOME_SHEET_COLUMNS, rows)
    config["outcomes"]["assoc"] = {"label": "Association", "measure": measure, "unit": "r", "higher_is": "better"}
    return config


@pytest.mark.parametrize(("measure", "cells", "column", "rule"), [
    ("ZCOR", {"r": "1"}, "r", "-1 < ri < 1"),
    ("ZCOR", {"r": "-1"}, "r", "-1 < ri < 1"),
    ("ZCOR", {"n": "3"}, "n", "ni >= 4"),
    ("COR", {"n": "2"}, "n", "ni >= 4"),
    ("UCOR", {"n": "4"}, "n", "ni >= 5"),
])
def test_rows_the_effect_computation_refuses_are_refused_by_validation(synthetic_review, helpers, measure, cells,
                                                                         column, rule):
    """The outcome job's effect computation refuses these rows: validation finds them first, with
    the sheet's row and column."""
    root, config = synthetic_review
    config = _correlation_review(root, helpers, config, measure, cells)
    found = errors(validate_review(config, root))
    assert [(p.file, p.row, p.column, p.rule) for p in found] == [
        (str(root / "data/extraction/outcomes/assoc.csv"), 3, column, rule)]
    # a correlation of 1 or a sample of 3 may be what the paper reported: how to keep the row unpooled
    assert found[0].hint.endswith("; if the row is not to be pooled, give it an exclude_reason (the row stays in "
                                  "the sheet, marked not usable)")


def test_the_smallest_samples_a_correlation_measure_takes_are_valid(synthetic_review, helpers):
    root, config = synthetic_review
    config = _correlation_review(root, helpers, config, "UCOR", {"n": "5", "r": "-0.99"})
    assert errors(validate_review(config, root)) == []


def test_a_group_of_one_is_refused_for_a_comparison_of_means(synthetic_review, helpers):
    """A mean difference needs an SD in each group: n1 = 1 is refused, whatever the form."""
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/score.csv"
    rows = helpers.read_rows(sheet)
    rows[0]["n1"] = "1"
    helpers.write_sheet(sheet, OUTCOME_COLUMNS, rows)
    found = [(p.row, p.column, p.rule) for p in errors(validate_review(config, root))]
    assert found == [(2, "n1", "n>=2")]


def test_a_misspelt_header_is_one_problem_with_a_suggestion(synthetic_review, helpers):
    """'ri' for 'r': the unknown column suggests 'r', and the rows that need 'r' make one problem."""
    root, config = synthetic_review
    config = _correlation_review(root, helpers, config, "ZCOR", {})
    sheet = root / "data/extraction/outcomes/assoc.csv"
    sheet.write_text(sheet.read_text(encoding="utf-8").replace(",r,", ",ri,", 1), encoding="utf-8")
    found = [p for p in errors(validate_review(config, root)) if p.file == str(sheet)]
    assert [(p.row, p.column, p.rule) for p in found] == [(1, "ri", "known-column"), (1, "r", "form-cells")]
    assert found[0].hint.startswith("did you mean 'r'?") and "rows 2, 3 need it" in found[1].message


def test_an_unreadable_studies_sheet_gives_no_follow_on_problems(synthetic_review):
    """studies.csv that cannot be read is one problem; no row of another sheet is 'not in studies.csv'."""
    root, config = synthetic_review
    studies = root / "data/extraction/studies.csv"
    studies.write_bytes(studies.read_text(encoding="utf-8").replace("Beta", "B\u00eata").encode("cp1252"))
    assert [p.rule for p in errors(validate_review(config, root))] == ["encoding"]


def test_a_column_twice_or_a_short_row_in_a_sheet_is_found(synthetic_review):
    """A second 'mean1' column (the reader kept one of the two) and a row missing its last cells
    (the cells after a left-out one shift): both found, each once."""
    root, config = synthetic_review
    sheet = root / "data/extraction/outcomes/relapse.csv"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    original = list(lines)
    lines[0] += ",mean1"
    lines[1:] = [line + ",99" for line in lines[1:]]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [(p.row, p.column, p.rule) for p in validate_review(config, root) if p.severity == "error"]
    assert found == [(1, "mean1", "unique-column")]
    lines = list(original)
    lines[1] = lines[1].rsplit(",", 2)[0]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [(p.row, p.rule) for p in validate_review(config, root) if p.severity == "error"]
    assert found == [(2, "row-width")]


def test_a_column_twice_in_studies_is_reported_once(synthetic_review):
    """Not also as 'study not in studies.csv' on every row of the other sheets."""
    root, config = synthetic_review
    sheet = root / "data/extraction/studies.csv"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    lines[0] += ",year"
    lines[1:] = [line + ",1999" for line in lines[1:]]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [(p.row, p.column, p.rule) for p in validate_review(config, root) if p.severity == "error"]
    assert found == [(1, "year", "unique-column")]


def test_an_outcome_sheet_may_hold_the_columns_its_effect_sizes_are_analysed_by(default_review_copy, helpers):
    """A column the outcome analyses by (its subgroup, a meta-regression moderator) may be one of its
    sheet's: each effect size's own value (SYNTHETIC `scale_version`). Unnamed by the config it is an
    unknown column; named, a row without a subgroup is a problem at that row of the outcome sheet, and
    a moderator in neither sheet is one naming both."""
    root, config = default_review_copy
    sheet = root / "data/extraction/outcomes/edss.csv"
    rows = helpers.read_rows(sheet)
    header = list(rows[0]) + ["scale_version"]
    for i, row in enumerate(rows):
        row["scale_version"] = "v1" if i % 2 else "v2"  # SYNTHETIC
    helpers.write_sheet(sheet, header, rows)
    assert [(p.rule, p.column) for p in errors(validate_review(config, root))] == [("known-column", "scale_version")]
    config["outcomes"]["edss"].update(subgroup="scale_version", meta_regression={"moderators": ["scale_version"]})
    assert errors(validate_review(config, root)) == []
    rows[0]["scale_version"] = ""
    helpers.write_sheet(sheet, header, rows)
    problems = errors(validate_review(config, root))
    assert [(p.rule, p.row, p.column, Path(p.file).name) for p in problems] == [
        ("subgroup-value", 2, "scale_version", "edss.csv")]
    config["outcomes"]["edss"].update(subgroup=None, meta_regression={"moderators": ["dose"]})
    missing = [p for p in errors(validate_review(config, root)) if p.rule == "moderator-column"]
    assert [p.value for p in missing] == ["dose"] and "nor of the outcome sheet" in missing[0].message


def test_a_review_declares_its_own_studies_sheet_columns(default_review_copy):
    """The default review records the MRI field strength of its studies: its own column, declared in
    its config (`extraction.study_columns`), not one of the tool's."""
    root, config = default_review_copy
    assert config["extraction"]["study_columns"] == ["field_strength_T"]
    assert errors(validate_review(config, root)) == []
    del config["extraction"]["study_columns"]
    [problem] = errors(validate_review(config, root))
    assert (problem.rule, problem.column) == ("known-column", "field_strength_T")
    assert "declare it in config.yaml under extraction.study_columns" in problem.hint


def test_a_missing_column_named_under_defaults_is_one_problem_at_the_defaults_key(default_review_copy):
    root, config = default_review_copy
    config["defaults"] = {"order_by": "publication_year", "meta_regression": {"moderators": ["field_strength"]}}
    for outcome in config["outcomes"].values():
        outcome.update(order_by="publication_year", meta_regression={"moderators": ["field_strength"]})
    config["outcomes"]["edss"]["order_by"] = "edss_order"  # the outcome's own: its own key
    problems = [p for p in errors(validate_review(config, root))
                if p.rule in ("analysis-column", "moderator-column")]
    assert sorted((p.key, p.value) for p in problems) == [
        ("defaults.meta_regression.moderators", "field_strength"), ("defaults.order_by", "publication_year"),
        ("outcomes.edss.order_by", "edss_order")]


def _mean_review(root, helpers, config, measure, cells):
    """The synthetic review with a single-group mean outcome (SYNTHETIC) whose second row has `cells`."""
    rows = [helpers.outcome_row(study_id="S1", reported_form="single_mean_sd", mean="7.6", sd="1.1", n="40"),
            helpers.outcome_row(**{"study_id": "S2", "reported_form": "single_mean_sd", "mean": "6.8", "sd": "0.8",
                                   "n": "45", "record_id": "R2", **cells})]
    helpers.write_sheet(root / "data/extraction/outcomes/level.csv", OUTCOME_SHEET_COLUMNS, rows)
    config["outcomes"]["level"] = {"label": "HbA1c", "measure": measure, "unit": "%", "higher_is": "worse"}
    return config


@pytest.mark.parametrize(("measure", "cells", "column", "rule"), [
    ("MN", {"sd": "0"}, "sd", "sd>0"),
    ("MN", {"n": "1"}, "n", "n>=2"),
    ("MN", {"n": "2.5"}, "n", "type"),
    ("MNLN", {"mean": "0"}, "mean", "mi > 0"),
    ("MNLN", {"mean": "-1.2"}, "mean", "mi > 0"),
])
def test_a_bad_single_group_mean_is_refused_with_its_cell(synthetic_review, helpers, measure, cells, column, rule):
    root, config = synthetic_review
    config = _mean_review(root, helpers, config, measure, cells)
    found = [(p.file, p.row, p.column, p.rule) for p in errors(validate_review(config, root))]
    assert found == [(str(root / "data/extraction/outcomes/level.csv"), 3, column, rule)]
    problem = errors(validate_review(config, root))[0]
    assert problem.value == cells[column] and problem.hint


def test_a_negative_single_group_mean_is_a_raw_mean(synthetic_review, helpers):
    root, config = synthetic_review
    assert errors(validate_review(_mean_review(root, helpers, config, "MN", {"mean": "-1.2"}), root)) == []


@pytest.mark.parametrize("first, es_id, duplicated", [
    ("1", " 1 ", True), ("1", "2", False), ("1", "01", False), ("1", "1.0", False), ("1.1", "1.10", False),
    ("1", "1a", False)])
def test_es_ids_are_compared_as_text(tmp_path, first, es_id, duplicated):
    """es_ids are labels, kept as text through the pipeline: 1.1 and 1.10 (section numbers) were
    refused as duplicates because the pipeline read them back as numbers; 1 and 01 are different
    ids too, as the effect table and the pooled results now keep them. The duplicate names es_id."""
    from metasr.extraction.sheets import read_sheet
    from metasr.extraction.validate import check_outcome_rows

    cells = {"comparison": "modified vs traditional calendar", "reported_form": "effect_se", "effect_measure": "SMD",
             "effect_se": "0.3435", "record_id": "R11", "source_location": "Table 1"}
    rows = [{"study_id": "D11", "es_id": first, "effect": "-0.18", **cells},
            {"study_id": "D11", "es_id": es_id, "effect": "-0.22", **cells}]
    path = tmp_path / "achievement.csv"
    path.write_text(",".join(OUTCOME_SHEET_COLUMNS) + "\n" + "".join(
        ",".join(row.get(c, "") for c in OUTCOME_SHEET_COLUMNS) + "\n" for row in rows))
    problems, typed = check_outcome_rows(read_sheet(path), None)
    found = [p for p in problems if p.rule == "unique-row"]
    assert [(p.row, p.column) for p in found] == ([(3, "es_id")] if duplicated else [])
    assert [row["es_id"] for _, row in typed] == [first, es_id.strip()]


def _proportion_review(root, helpers, config, outcome: dict, cells: dict):
    """The synthetic review with a single-group proportion outcome (SYNTHETIC: 16 of 17, then `cells`)."""
    rows = [helpers.outcome_row(study_id="S1", reported_form="events_total", events="16", n="17"),
            helpers.outcome_row(**{"study_id": "S2", "reported_form": "events_total", "record_id": "R2", **cells})]
    helpers.write_sheet(root / "data/extraction/outcomes/prev.csv", OUTCOME_SHEET_COLUMNS, rows)
    config["outcomes"]["prev"] = {"label": "Prevalence", "unit": "patients", "higher_is": "worse", "method": "REML",
                                  **outcome}
    return config


@pytest.mark.parametrize(("outcome", "cells", "message"), [
    ({"measure": "PLO", "escalc": {"add": 0}}, {"events": "10", "n": "10"},
     "PLO is undefined for this study (yi = inf, vi = inf)"),
    ({"measure": "PLO", "escalc": {"add": 0}}, {"events": "0", "n": "20"},
     "PLO is undefined for this study (yi = -inf, vi = inf)"),
    ({"measure": "PR", "escalc": {"add": 0}}, {"events": "10", "n": "10"},
     "PR's sampling variance is 0 for this study (yi = 1), so it cannot be weighted"),
])
def test_a_row_without_an_effect_under_the_outcomes_escalc_options_is_refused_on_its_sheet(
        synthetic_review, helpers, outcome, cells, message):
    """Validation computes the effects with the outcome's escalc options, as its pooling step does:
    without a continuity correction a count of 0 (or events in everyone) has no effect (PLO) or a
    variance of 0 (PR). The problem names the user's sheet, its row and the study, not the derived
    table the pooling step reads."""
    root, config = synthetic_review
    config = _proportion_review(root, helpers, config, outcome, cells)
    [problem] = errors(validate_review(config, root))
    assert (problem.file, problem.row, problem.column, problem.rule) == (
        str(root / "data/extraction/outcomes/prev.csv"), 3, "events", "finite effect")
    assert problem.message == f"{message}, from the reported events_total numbers of study 'S2'"
    assert "escalc: {add: 0.5, to: only0}" in problem.hint and "exclude_reason" in problem.hint


@pytest.mark.parametrize(("outcome", "cells"), [
    ({"measure": "PLO"}, {"events": "10", "n": "10"}),  # escalc's default add = 0.5
    ({"measure": "PR", "escalc": {"add": 0}}, {"events": "10", "n": "10", "exclude_reason": "all occluded"}),
    ({"measure": "PFT", "escalc": {"add": 0}}, {"events": "0", "n": "20"}),  # defined at 0
])
def test_a_proportion_of_0_or_1_is_valid_where_the_outcome_gives_it_an_effect(synthetic_review, helpers, outcome,
                                                                             cells):
    root, config = synthetic_review
    config = _proportion_review(root, helpers, config, outcome, cells)
    assert errors(validate_review(config, root)) == []
