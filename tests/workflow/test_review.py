"""load_review: the parse-time view of a review (studies per outcome, usable-study counts)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from metasr.errors import InputError
from metasr.extraction import pipeline, validate
from metasr.simulate import simulate_review
from metasr.workflow.review import load_review

REPO = Path(__file__).resolve().parents[2]


def usable_in_written_table(review, oid: str, tmp: Path) -> int:
    """The definition of "usable": studies with a usable row in prepare_outcome's table."""
    out = tmp / f"{oid}.csv"
    pipeline.prepare_outcome(review.root / review.sheet(oid), review.studies_by_outcome[oid], oid,
                             review.config["outcomes"][oid], review.config["extraction"], out)
    with open(out, newline="", encoding="utf-8") as fh:
        return len({r["study_id"] for r in csv.DictReader(fh) if r["usable"] == "true"})


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sim") / "review"
    simulate_review(root, outcomes=12, studies=10, records=60, seed=3)
    return root


@pytest.mark.parametrize("which", ["default", "simulated"])
def test_usable_counts_match_the_tables_prepare_outcome_writes(which, simulated, tmp_path):
    root = REPO if which == "default" else simulated
    review = load_review(yaml.safe_load((root / "config/config.yaml").read_text()), root)
    counts = {oid: usable_in_written_table(review, oid, tmp_path) for oid in review.outcomes}
    assert review.usable_by_outcome == counts
    assert any(counts.values()) and (which == "simulated" or not all(counts.values()))


def test_each_sheet_is_read_and_validated_once(simulated, monkeypatch):
    calls = []
    check = validate.check_outcome_rows
    monkeypatch.setattr(validate, "check_outcome_rows", lambda sheet, studies, *rest: calls.append(sheet.path)
                        or check(sheet, studies, *rest))
    monkeypatch.setattr(pipeline, "check_outcome_rows", validate.check_outcome_rows)
    review = load_review(yaml.safe_load((simulated / "config/config.yaml").read_text()), simulated)
    assert len(calls) == len(review.outcomes) == len(set(calls))


def test_loading_and_the_outcome_step_share_one_second_extraction_check(simulated, tmp_path):
    # The second extraction lacks one sheet: unresolved, loading stops naming the sheet; marked
    # resolved in resolutions.csv, loading and the outcome step both accept it.
    root = tmp_path / "review"
    shutil.copytree(simulated, root)
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    second = root / "second"
    shutil.copytree(root / config["extraction"]["studies"].rsplit("/", 1)[0], second)
    oid = sorted(config["outcomes"])[0]
    (second / "outcomes" / f"{oid}.csv").unlink()
    config["extraction"]["second_extractor_dir"] = str(second)
    with pytest.raises(InputError) as err:
        load_review(config, root)
    assert [(p.rule, Path(p.file).name) for p in err.value.errors] == [("discrepancy", f"{oid}.csv")]

    (second / "resolutions.csv").write_text(f"sheet,key,column,resolution\noutcomes/{oid}.csv,,(sheet),"
                                            "SYNTHETIC: not double-extracted\n")
    review = load_review(config, root)
    assert pipeline.sheet_discrepancies(root / review.sheet(oid), oid, config["extraction"], root) == []
    assert usable_in_written_table(review, oid, tmp_path) > 0


def test_a_full_text_include_of_no_record_and_no_study_is_named_at_its_row(tmp_path):
    from metasr.config import load_config

    for part in ("config", "data"):
        shutil.copytree(REPO / part, tmp_path / part)
    decisions = tmp_path / "data" / "screening" / "full_text.csv"
    lines = decisions.read_text(encoding="utf-8").splitlines()
    lines.append("10.1234/ghost,,Ghost,2020,include,,S099,SYNTHETIC row")
    decisions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_review(load_config(tmp_path / "config" / "config.yaml", root=tmp_path), tmp_path)
    found = {(Path(p.file).name, p.row, p.column, p.rule, p.value) for p in caught.value.problems}
    row = len(lines)
    assert ("full_text.csv", row, "doi", "decision for a known record", "10.1234/ghost") in found
    assert ("full_text.csv", row, "study_id", "included-has-data", "S099") in found
    assert all(p.row is not None for p in caught.value.problems)


def test_an_extraction_record_id_of_the_search_names_one_of_its_records(tmp_path):
    """A sheet's record_id written as the records step writes them must name a record of that
    export; the default review's own references (R001, ...) are text and are not checked."""
    from metasr.config import load_config

    for part in ("config", "data"):
        shutil.copytree(REPO / part, tmp_path / part)
    studies = tmp_path / "data" / "extraction" / "studies.csv"
    text = studies.read_text(encoding="utf-8")
    studies.write_text(text.replace("Absinta2019,R001,", "Absinta2019,pubmed:999,", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_review(load_config(tmp_path / "config" / "config.yaml", root=tmp_path), tmp_path)
    [problem] = caught.value.errors
    assert (Path(problem.file).name, problem.row, problem.column, problem.rule) == (
        "studies.csv", 2, "record_id", "record-exists")
    studies.write_text(text.replace("Absinta2019,R001,", "Absinta2019,pubmed:3,", 1), encoding="utf-8")
    load_review(load_config(tmp_path / "config" / "config.yaml", root=tmp_path), tmp_path)  # cached counts


def test_a_rho_too_negative_for_a_study_stops_the_run_before_any_job(tmp_path):
    """A negative rho passes the schema (-1 < rho < 1) but a study of n effect sizes needs rho >
    -1/(n - 1): the outcome job crashed on it (not positive definite), leaving partial results."""
    from metasr.starter import init_from_table

    table = tmp_path / "t.csv"  # dat.konstantopoulos2011's districts 11 and 12, and four schools of 644
    table.write_text("study,year,es_id,yi,vi\nD11,1976,s1,-0.18,0.118\nD11,1976,s2,-0.22,0.118\n"
                     "D12,1989,s1,0.13,0.014\nD12,1989,s2,-0.26,0.014\nD644,1994,s1,0.12,0.087\n"
                     "D644,1994,s2,0.61,0.082\nD644,1994,s3,0.04,0.067\nD644,1994,s4,-0.05,0.067\n")
    root = tmp_path / "r"
    init_from_table(root, table, "GEN")
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["outcomes"]["outcome"]["dependence"].update(rho=-0.4, rho_sensitivity=[0, -0.2])
    with pytest.raises(InputError) as err:
        load_review(config, root)
    [problem] = err.value.problems
    assert (problem.key, problem.rule, problem.value) == ("outcomes.outcome.dependence.rho", "dependence-rho", "-0.4")
    assert "study 'D6441994' (4 effect sizes)" in problem.message
    assert not (root / "results").exists()


def test_a_row_without_an_effect_under_the_outcomes_escalc_options_stops_loading_at_its_sheet(tmp_path):
    """`metasr run` loads the review before Snakemake starts: a row whose effect the outcome's
    escalc options leave undefined (no events, no continuity correction) is named on the user's
    sheet with its study, not on the derived table the pooling step would have read."""
    from metasr.config import load_config

    for part in ("config", "data"):
        shutil.copytree(REPO / part, tmp_path / part)
    sheet = tmp_path / "data" / "extraction" / "outcomes" / "dmt_response.csv"
    header = sheet.read_text(encoding="utf-8").splitlines()[0].split(",")
    with open(tmp_path / "data/extraction/studies.csv", newline="", encoding="utf-8") as fh:
        records = {r["study_id"]: r["record_id"] for r in csv.DictReader(fh)}
    with open(sheet, "a", newline="", encoding="utf-8") as fh:  # SYNTHETIC counts for two included studies
        writer = csv.DictWriter(fh, fieldnames=header)
        for sid, events1 in (("Maggi2021", "5"), ("Absinta2019", "0")):
            writer.writerow({"study_id": sid, "comparison": "PRL+ vs PRL-", "reported_form": "events_n", "n1": "20",
                             "events1": events1, "n2": "20", "events2": "4", "record_id": records[sid],
                             "source_location": "SYNTHETIC", "notes": "SYNTHETIC"})
    config_file = tmp_path / "config" / "config.yaml"
    config_file.write_text(config_file.read_text(encoding="utf-8").replace(
        "  dmt_response:\n", "  dmt_response:\n    escalc: {add: 0}\n", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_review(load_config(config_file, root=tmp_path), tmp_path)
    [problem] = caught.value.errors
    assert (Path(problem.file).name, problem.row, problem.column, problem.rule) == (
        "dmt_response.csv", 3, "events1", "finite effect")
    assert problem.message.endswith("of study 'Absinta2019'") and "escalc: {add: 0.5" in problem.hint
