"""metasr.workflow.outcomes: which job analyses which outcome, what it writes, and the analysis."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from metasr.config import load_config
from metasr.errors import InputError
from metasr.resources import WORKFLOW
from metasr.workflow.outcomes import (
    analyse_outcomes,
    assign_outcome_jobs,
    outcome_job,
    outcome_job_minutes,
    outcome_job_settings,
    outcome_outputs,
)
from metasr.workflow.review import load_review

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_one_job_per_outcome_up_to_the_limit():
    assert assign_outcome_jobs(["edss", "sdmt"], 25) == {"outcome_edss": ["edss"], "outcome_sdmt": ["sdmt"]}
    assert assign_outcome_jobs([], 3) == {}


def test_beyond_the_limit_outcomes_share_that_many_jobs_each_outcome_once():
    outcomes = [f"outcome_{i:03d}" for i in range(500)]
    jobs = assign_outcome_jobs(outcomes, 25)
    assert len(jobs) <= 25
    assert sorted(o for members in jobs.values() for o in members) == outcomes
    assert all(name.startswith("outcome__batch_") for name in jobs)
    assert max(len(m) for m in jobs.values()) < 3 * 500 / 25  # roughly balanced
    assert assign_outcome_jobs(list(reversed(outcomes)), 25).keys() == jobs.keys()  # order-free


def test_adding_an_outcome_changes_one_job_only():
    outcomes = [f"o{i}" for i in range(100)]
    before = assign_outcome_jobs(outcomes, 10)
    after = assign_outcome_jobs(outcomes + ["new_outcome"], 10)
    changed = [name for name in after if set(after[name]) != set(before.get(name, []))]
    assert len(changed) == 1 and "new_outcome" in after[changed[0]]


def test_job_names_cannot_collide_with_an_outcome_named_like_a_batch():
    jobs = assign_outcome_jobs(["batch_1", "x"], 2)
    assert set(jobs) == {"outcome_batch_1", "outcome_x"}
    with pytest.raises(ValueError):
        assign_outcome_jobs(["x"], 0)


CFG = {"label": "EDSS", "measure": "SMD"}


def test_outputs_follow_the_number_of_usable_studies_and_the_png_setting():
    assert set(outcome_outputs("edss", CFG, 0, png=True)) == {"effects", "pooled"}
    assert set(outcome_outputs("edss", CFG, 2, png=True)) == {"effects", "pooled", "forest", "forest_png"}
    assert set(outcome_outputs("edss", CFG, 2, png=False)) == {"effects", "pooled", "forest"}
    assert set(outcome_outputs("edss", CFG, 3, png=False)) == {"effects", "pooled", "forest", "funnel", "leave1out",
                                                               "cumulative", "baujat"}
    assert outcome_outputs("edss", CFG, 3, png=True)["funnel_png"] == "results/figures/edss_funnel.png"


def test_a_bubble_plot_is_an_output_when_a_meta_regression_is_configured():
    with_regression = {**CFG, "meta_regression": {"moderators": ["year"]}}
    assert outcome_outputs("edss", with_regression, 12, png=False)["bubble"] == "results/figures/edss_bubble.svg"
    assert "bubble" not in outcome_outputs("edss", with_regression, 9, png=False)  # 10 per coefficient
    assert "bubble" not in outcome_outputs("edss", CFG, 12, png=False)


def test_small_study_and_meta_regression_settings_reach_the_analysis():
    cfg = {"label": "EDSS", "measure": "SMD", "small_study": {"min_k": 5},
           "meta_regression": {"moderators": ["year"]}, "grade": {"imprecision": -1}}
    analysis = outcome_job_settings(cfg)["analysis"]
    assert analysis["small_study"] == {"min_k": 5} and analysis["meta_regression"] == {"moderators": ["year"]}


def test_moderators_come_from_the_studies_sheet():
    import pandas as pd

    from metasr.workflow.pooling import with_moderators

    effects = pd.DataFrame({"study_id": ["A", "B", "C"], "year": [2001, 2002, 2003]})
    studies = [{"study_id": "A", "dose": "10", "year": "1999"}, {"study_id": "B", "dose": ""}]
    out = with_moderators(effects, ["dose", "year"], studies)  # SYNTHETIC doses
    assert out["dose"].tolist() == ["10", "", ""] and out["year"].tolist() == ["1999", "", ""]
    assert effects["year"].tolist() == [2001, 2002, 2003]  # the input table is left as it was


def test_settings_leave_out_what_the_analysis_does_not_use():
    settings = outcome_job_settings({"label": "EDSS", "measure": "SMD", "method": "REML", "unit": "points",
                                     "grade": {"imprecision": -1}})
    assert settings["conversion"] == {"label": "EDSS", "measure": "SMD", "unit": "points"}
    assert settings["analysis"] == {"measure": "SMD", "method": "REML", "label": "EDSS"}
    assert "grade" not in settings["figure"]


def job_for(review, outcome: str, tmp_path: Path) -> dict:
    job = outcome_job(review, outcome, png=False)
    job["sheet"] = str(REPO_ROOT / job["sheet"])
    job["outputs"] = {kind: str(tmp_path / path) for kind, path in job["outputs"].items()}
    for path in job["outputs"].values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return job


def test_analyse_outcomes_writes_every_output_of_the_default_reviews_outcomes(tmp_path):
    review = load_review(load_config(REPO_ROOT / "config" / "config.yaml", REPO_ROOT), REPO_ROOT)
    jobs = {o: job_for(review, o, tmp_path) for o in ("edss", "brain_volume")}
    analyse_outcomes(jobs, review.config["extraction"], review.config["review"])
    for job in jobs.values():
        assert all(Path(p).stat().st_size > 0 for p in job["outputs"].values()), job["outputs"]
    pooled = json.loads(Path(jobs["edss"]["outputs"]["pooled"]).read_text())
    assert pooled["outcome"] == "edss" and pooled["k"] == review.usable_by_outcome["edss"] == 2
    assert "forest" not in jobs["brain_volume"]["outputs"]  # no usable study: nothing to draw


def test_a_bad_sheet_stops_the_job_with_an_input_error(tmp_path):
    review = load_review(load_config(REPO_ROOT / "config" / "config.yaml", REPO_ROOT), REPO_ROOT)
    job = job_for(review, "edss", tmp_path)
    bad = tmp_path / "edss.csv"
    bad.write_text(Path(job["sheet"]).read_text().replace(",median_range,", ",median_rang,", 1))
    job["sheet"] = str(bad)
    with pytest.raises(InputError):
        analyse_outcomes({"edss": job}, review.config["extraction"], review.config["review"])
    assert not Path(job["outputs"]["pooled"]).exists()


def test_png_copies_auto_for_small_reviews_or_as_configured():
    from metasr.workflow.outcomes import PNG_AUTO_MAX_OUTCOMES, wants_png

    assert wants_png("auto", 15) and wants_png("auto", PNG_AUTO_MAX_OUTCOMES)
    assert not wants_png("auto", PNG_AUTO_MAX_OUTCOMES + 1)
    assert wants_png(True, 500) and not wants_png(False, 1)


def test_slurm_runtime_grows_by_a_minute_per_ten_outcomes():
    assert [outcome_job_minutes(["o"] * n) for n in (1, 10, 11, 20)] == [3, 3, 4, 4]


def test_packed_job_inputs_read_back_the_same_and_pack_the_same():
    """The writer rule's params: what is packed is what the job reads; the same inputs give the
    same text (a rerun only when they change); study rows pack to a fraction of their JSON."""
    from metasr.workflow.outcomes import pack_job_inputs, unpack_job_inputs

    rows = [{"study_id": f"S{i:02d}", "m1i": f"{i}.5", "sd1i": "1.2", "n1i": "30", "label": "Ünïcode 2020"}
            for i in range(30)]
    inputs = {"outcomes": {"edss": {"studies": rows, "settings": {"measure": "SMD"}}},
              "extraction": {"studies": "data/extraction/studies.csv"}, "review": {"id": "x"}}
    packed = pack_job_inputs(inputs)
    assert unpack_job_inputs(packed) == inputs
    assert pack_job_inputs(json.loads(json.dumps(inputs))) == packed
    reordered = {key: inputs[key] for key in reversed(list(inputs))}
    assert pack_job_inputs(reordered) == packed
    changed = json.loads(json.dumps(inputs))
    changed["outcomes"]["edss"]["studies"][3]["n1i"] = "31"
    assert pack_job_inputs(changed) != packed
    assert len(packed) < len(json.dumps(inputs)) / 3
    assert not set(packed) & set("{}")  # Snakemake would read braces in params as wildcards


def test_a_job_writes_its_done_file_after_its_outputs_and_not_when_it_fails(tmp_path):
    from metasr.workflow.outcomes import analyse_job, job_inputs

    review = load_review(load_config(REPO_ROOT / "config" / "config.yaml", REPO_ROOT), REPO_ROOT)
    jobs = {o: job_for(review, o, tmp_path) for o in ("edss", "brain_volume")}
    inputs, done = tmp_path / "job.json", tmp_path / "job.done"
    inputs.write_text(json.dumps(job_inputs(jobs, review.config)))
    analyse_job(inputs, done)
    assert json.loads(done.read_text()) == {o: job["outputs"] for o, job in jobs.items()}
    assert all(Path(p).stat().st_mtime_ns <= done.stat().st_mtime_ns for job in jobs.values()
               for p in job["outputs"].values())
    done.unlink()
    jobs["edss"]["sheet"] = str(tmp_path / "missing.csv")
    inputs.write_text(json.dumps(job_inputs(jobs, review.config)))
    with pytest.raises(InputError):
        analyse_job(inputs, done)
    assert not done.exists()


def test_the_rules_reading_every_outcome_get_each_outcomes_files_in_outcome_order():
    from metasr import outputs as registry
    from metasr.workflow.outcomes import outcome_files

    review = load_review(load_config(REPO_ROOT / "config" / "config.yaml", REPO_ROOT), REPO_ROOT)
    jobs = {o: outcome_job(review, o, png=True) for o in reversed(review.outcomes)}
    files = outcome_files(jobs)
    assert files["pooled"] == [f"results/pooled/{o}.json" for o in sorted(review.outcomes)]
    assert files["extraction"] == [f"results/extraction/{o}.csv" for o in sorted(review.outcomes)]
    figures = {name: path for name, path in files.items() if name.startswith(registry.REPORT_INPUT)}
    assert figures == {registry.REPORT_INPUT + registry.figure_key(o, kind): path for o, job in jobs.items()
                       for kind, path in job["outputs"].items() if kind in registry.OUTCOME_FIGURE}
    assert figures and not any(path.endswith(".png") for path in figures.values())


def test_a_jobs_inputs_hold_each_study_row_once_and_give_every_outcome_its_rows_back():
    from metasr.workflow.outcomes import job_inputs, outcome_jobs_of

    review = load_review(load_config(REPO_ROOT / "config" / "config.yaml", REPO_ROOT), REPO_ROOT)
    jobs = {o: outcome_job(review, o, png=False) for o in review.outcomes}
    inputs = json.loads(json.dumps(job_inputs(jobs, review.config)))  # as the job reads its file
    assert outcome_jobs_of(inputs) == jobs
    shared = [i for i in inputs["studies"] if sum(i in job["study_ids"] for job in inputs["outcomes"].values()) > 1]
    assert shared  # the default review's studies report several outcomes: their rows are written once
    assert len(json.dumps(inputs)) < len(json.dumps(jobs))


def test_no_rule_of_the_workflow_is_named_as_an_outcome_job():
    """Outcome jobs are named `outcome_<id>` (and their writers `outcome_<id>__inputs`): a rule of
    the workflow so named would clash with an outcome's; outcome_id_clash assumes there is none."""
    rules = re.findall(r"^\s*rule (\w+):", "".join(p.read_text() for p in (WORKFLOW / "rules").glob("*.smk"))
                       + (WORKFLOW / "Snakefile").read_text(), re.MULTILINE)
    assert rules and not [r for r in rules if r.startswith("outcome_")]


def test_lost_outputs_are_the_missing_files_of_finished_jobs(tmp_path):
    from metasr.workflow.outcomes import lost_outputs

    done, figure, pooled = tmp_path / "a.done", tmp_path / "a_forest.svg", tmp_path / "a.json"
    unfinished = {str(tmp_path / "b.done"): [str(tmp_path / "b.json")]}  # not run yet: Snakemake's to plan
    done.write_text(""), pooled.write_text("{}")
    assert lost_outputs({str(done): [str(figure), str(pooled)], **unfinished}) == [str(figure)]
    figure.write_text("<svg/>")
    assert lost_outputs({str(done): [str(figure), str(pooled)], **unfinished}) == []
