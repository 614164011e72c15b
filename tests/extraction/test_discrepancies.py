"""Double extraction: cell-by-cell discrepancies, agreement statistics, refusal to pool."""

import shutil

import pytest

from metasr.errors import InputError
from metasr.extraction.discrepancies import agreement_percent, cohen_kappa, discrepancy_report, format_report
from metasr.extraction.pipeline import prepare_outcome
from metasr.extraction.sheets import NARRATIVE_KEY, OUTCOME_COLUMNS, OUTCOME_KEY, STUDY_KEY, load_studies
from metasr.extraction.validate import validate_review


@pytest.fixture
def double(synthetic_review, helpers):
    root, config = synthetic_review
    second = root / "second"
    shutil.copytree(root / "data/extraction", second)
    config["extraction"]["second_extractor_dir"] = "second"
    rows = helpers.read_rows(second / "outcomes/score.csv")
    rows[0]["sd1"] = "2.5"                     # numeric disagreement
    rows[1]["direction"] = "group1_lower"      # categorical disagreement
    rows[0]["notes"] = "other wording"         # notes are not compared
    rows[1]["p_value"] = "0.040"               # same number written differently
    helpers.write_sheet(second / "outcomes/score.csv", OUTCOME_COLUMNS, rows)
    return root, config, second


def test_report_lists_cells_and_agreement(double):
    root, config, _ = double
    report = discrepancy_report(config, root)
    cells = {(d["sheet"], d["key"].split("|")[0], d["column"]) for d in report["discrepancies"]}
    assert cells == {("outcomes/score.csv", "S1", "sd1"), ("outcomes/score.csv", "S2", "direction")}
    score = next(s for s in report["sheets"] if s["sheet"] == "outcomes/score.csv")
    assert score["cells_compared"] - score["cells_agreeing"] == 2
    assert report["overall"]["unresolved"] == 2
    assert "UNRESOLVED" in format_report(report)


def test_the_text_report_shows_hostile_cells_escaped(double):
    root, config, _ = double
    report = discrepancy_report(config, root)
    report["discrepancies"][0].update(key="S1\x1b[2J", first="2.5\x07")
    text = format_report(report)
    assert "S1\\x1b[2J" in text and "\x1b" not in text and "\x07" not in text


def test_validation_and_pooling_refuse_unresolved(double, helpers):
    root, config, second = double
    rules = [p.rule for p in validate_review(config, root) if p.severity == "error"]
    assert rules.count("discrepancy") == 2
    studies = load_studies(root / "data/extraction/studies.csv").to_dict("records")
    ext = {**config["extraction"], "second_extractor_dir": str(second)}
    with pytest.raises(InputError) as err:
        prepare_outcome(root / "data/extraction/outcomes/score.csv", studies, "score", config["outcomes"]["score"],
                        ext, root / "out.csv")
    assert {p.rule for p in err.value.problems} == {"discrepancy"}
    warnings = prepare_outcome(root / "data/extraction/outcomes/score.csv", studies, "score",
                               config["outcomes"]["score"], {**ext, "allow_discrepancies": True}, root / "out.csv")
    assert {w.rule for w in warnings} == {"discrepancy"} and (root / "out.csv").exists()


def test_resolutions_clear_discrepancies(double, helpers):
    root, config, second = double
    report = discrepancy_report(config, root)
    helpers.write_sheet(second / "resolutions.csv", ["sheet", "key", "column", "resolution"],
                        [dict(sheet=d["sheet"], key=d["key"], column=d["column"], resolution="checked the paper")
                         for d in report["discrepancies"]])
    assert discrepancy_report(config, root)["overall"]["unresolved"] == 0
    assert [p for p in validate_review(config, root) if p.rule == "discrepancy"] == []


def test_rows_in_one_extraction_only(double, helpers):
    root, config, second = double
    rows = helpers.read_rows(second / "outcomes/relapse.csv")
    helpers.write_sheet(second / "outcomes/relapse.csv", OUTCOME_COLUMNS, rows + [
        helpers.outcome_row(study_id="S2", reported_form="events_n", n1="30", events1="4", n2="30", events2="2")])
    report = discrepancy_report(config, root)
    assert any(d["column"] == "(row)" and d["first"] == "missing" for d in report["discrepancies"])


def test_cohen_kappa_known_value():
    # 2x2 table a=20 (yes,yes), b=5, c=10, d=15: po = 0.7, pe = 0.5 -> kappa 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([("a", "a")] * 3) is None and cohen_kappa([]) is None


def test_validation_and_the_outcome_step_make_one_check(double, helpers):
    """A sheet the second extractor lacks is one discrepancy, resolvable in resolutions.csv, to
    validation and to the outcome step alike (they used to disagree, and the workflow compared
    twice to cover it)."""
    root, config, second = double
    (second / "outcomes/relapse.csv").unlink()
    studies = load_studies(root / "data/extraction/studies.csv").to_dict("records")
    sheet = root / "data/extraction/outcomes/relapse.csv"
    ext = {**config["extraction"], "second_extractor_dir": str(second)}
    [at_validation] = [p for p in validate_review(config, root) if "relapse" in str(p.file) and p.rule == "discrepancy"]
    with pytest.raises(InputError) as err:
        prepare_outcome(sheet, studies, "relapse", config["outcomes"]["relapse"], ext, root / "out.csv")
    assert [p.message for p in err.value.problems] == [at_validation.message]
    assert "in the first extraction only" in at_validation.message
    helpers.write_sheet(second / "resolutions.csv", ["sheet", "key", "column", "resolution"],
                        [dict(sheet="outcomes/relapse.csv", key="", column="(sheet)", resolution="single extractor")])
    assert [p for p in validate_review(config, root) if "relapse" in str(p.file) and p.rule == "discrepancy"] == []
    prepare_outcome(sheet, studies, "relapse", config["outcomes"]["relapse"], ext, root / "out.csv")


def test_a_resolution_that_matches_no_discrepancy_is_reported(double, helpers):
    """A mistyped key (4 fields where an outcome sheet's key has 5) used to be ignored in silence,
    its discrepancy left unresolved."""
    root, config, second = double
    report = discrepancy_report(config, root)
    real = next(d for d in report["discrepancies"] if d["column"] == "sd1")
    short = real["key"].rsplit("|", 1)[0]
    helpers.write_sheet(second / "resolutions.csv", ["sheet", "key", "column", "resolution"],
                        [dict(sheet=real["sheet"], key=short, column="sd1", resolution="first is right")])
    report = discrepancy_report(config, root)
    [unmatched] = report["unmatched_resolutions"]
    assert unmatched["row"] == 2 and unmatched["value"] == short and unmatched["file"].endswith("resolutions.csv")
    assert real["key"] in unmatched["hint"] and "|".join(OUTCOME_KEY) in unmatched["hint"]
    assert "matches no discrepancy" in format_report(report) and "\n    hint: " in format_report(report)
    warnings = [p for p in validate_review(config, root) if p.rule == "resolution-matches"]
    assert [(p.severity, p.row) for p in warnings] == [("warning", 2)]


def test_a_sheet_in_one_extraction_reads_plainly(double):
    root, config, second = double
    (second / "narrative.csv").unlink()
    text = format_report(discrepancy_report(config, root))
    assert "narrative.csv (sheet): sheet present in the first extraction only" in text


def test_the_documented_key_is_the_key_the_code_forms():
    from metasr.formats import load

    key = load("resolutions")["properties"]["key"]
    for columns in (OUTCOME_KEY, NARRATIVE_KEY, STUDY_KEY):
        assert "|".join(columns) in key["description"]
    assert all(len(example.split("|")) == len(OUTCOME_KEY) for example in key["examples"])


@pytest.mark.parametrize(("agreeing", "compared", "shown"), [
    (10518, 10521, "99.97%"), (9999999, 10000000, "99.99999%"), (5, 10, "50.0%"), (10, 10, "100.0%"),
    (1, 10000, "0.01%"), (0, 10, "0.0%"), (0, 0, "n/a")])
def test_agreement_is_never_rounded_to_all_or_none(agreeing, compared, shown):
    assert agreement_percent(agreeing, compared) == shown


def test_the_overall_line_does_not_round_a_disagreement_away(double):
    root, config, _ = double
    report = discrepancy_report(config, root)
    report["overall"].update(cells_compared=10521, cells_agreeing=10518)
    assert "10518/10521 cells agree (99.97%)" in format_report(report)
