"""Per-outcome analysis jobs: each job takes one outcome (or a batch of them) from its extraction
sheet through pooling to its figures, in one process.

Why one process per outcome and not one per step: a job is a fresh Python process, and a step's
own work is small next to starting Python and importing numpy, pandas and matplotlib (measured in
bench/RESULTS.md "Scale": 0.04 s of pooling behind 0.8 s of imports). Five steps per outcome paid
that five times. Why batches: beyond a few dozen outcomes even one process per outcome is the
dominant cost, so outcomes share at most `execution.outcome_jobs` jobs. Membership is a stable
hash of the outcome id, so adding or removing an outcome changes one job, not every job after it.
"""

from __future__ import annotations

import logging
import os
import zlib
from pathlib import Path

from metasr import outputs as registry
from metasr.outputs import INPUTS_SUFFIX, inputs_rule_name  # noqa: F401  (the rules name jobs with them)

log = logging.getLogger(__name__)

# `execution.png: auto` writes PNG copies for reviews up to this size: a 300-dpi PNG of a forest
# plot costs about twice the whole SVG figure set of its outcome (bench/RESULTS.md "Scale").
PNG_AUTO_MAX_OUTCOMES = 50

# Which outcome settings change an outcome's effect inputs (its conversion), and which its model.
# subgroup and meta_regression name the effect-size columns the effect table carries
# (analysis_settings.sheet_columns)
CONVERSION_KEYS = ("label", "measure", "unit", "higher_is", "flip", "assumed_correlation", "scale", "dependence",
                   "subgroup", "meta_regression")
ANALYSIS_KEYS = ("measure", "method", "test", "order_by", "label", "published", "subgroup", "scale", "escalc",
                 "dependence", "small_study", "meta_regression", "risk_of_bias_sensitivity")


def assign_outcome_jobs(outcomes: list[str], max_jobs: int) -> dict[str, list[str]]:
    """{job name: its outcomes}. One job per outcome while there are at most `max_jobs` outcomes;
    beyond that, outcomes share `max_jobs` jobs by a CRC-32 of their id (stable across runs,
    machines and Python versions, unlike hash()). Job names are valid Snakemake rule names and
    cannot collide: an outcome id never starts with '_'."""
    if max_jobs < 1:
        raise ValueError("max_jobs must be at least 1")
    if len(outcomes) <= max_jobs:
        return {f"outcome_{o}": [o] for o in outcomes}
    width = len(str(max_jobs - 1))
    jobs: dict[str, list[str]] = {}
    for outcome in outcomes:
        bucket = zlib.crc32(outcome.encode("utf-8")) % max_jobs
        jobs.setdefault(f"outcome__batch_{bucket:0{width}d}", []).append(outcome)
    return dict(sorted(jobs.items()))


def wants_png(setting: bool | str, n_outcomes: int) -> bool:
    """Resolve `execution.png` (true, false or auto) for a review of n_outcomes."""
    if setting == "auto":
        return n_outcomes <= PNG_AUTO_MAX_OUTCOMES
    return bool(setting)


def outcome_job_minutes(outcomes: list[str]) -> int:
    """SLURM runtime request of a job: 2 minutes plus one per 10 outcomes. An outcome of 30
    studies takes about a second (bench/RESULTS.md "Scale"); this leaves room for slow nodes and
    big outcomes without asking a group of 5 batches for hours (SLURM adds the members' runtimes)."""
    return 2 + -(-len(outcomes) // 10)


def outcome_outputs(outcome: str, outcome_cfg: dict, usable_studies: int, png: bool) -> dict[str, str]:
    """Every file the analysis of one outcome writes: {kind: path}: its effect inputs, its pooled
    result, and the figures metasr.outputs says it gets (by usable studies and configuration)."""
    outputs = {"effects": f"results/extraction/{outcome}.csv", "pooled": f"results/pooled/{outcome}.json"}
    return {**outputs, **registry.outcome_figures(outcome, outcome_cfg, usable_studies, png)}


def outcome_job_settings(outcome_cfg: dict, rob_columns: bool = False) -> dict:
    """The parts of an outcome's config that its analysis uses (so that an unrelated key, such as
    its GRADE judgements or summary-of-findings settings, does not rerun it). rob_columns: the
    review's `risk_of_bias.forest`, which the outcome's `forest.risk_of_bias` overrides."""
    figure = {k: v for k, v in outcome_cfg.items() if k not in {"grade", "sof"}}
    forest = dict(figure.get("forest") or {})
    if forest.get("risk_of_bias", rob_columns):
        forest["risk_of_bias"] = True
        figure["forest"] = forest
    return {
        "conversion": {k: outcome_cfg[k] for k in CONVERSION_KEYS if k in outcome_cfg},
        "analysis": {k: outcome_cfg[k] for k in ANALYSIS_KEYS if k in outcome_cfg},
        "figure": figure,
    }


def job_inputs_path(job_name: str) -> str:
    """Where the job's inputs (study rows, settings, outputs of each outcome) are written."""
    return f"results/.jobs/{job_name}.json"


def job_done_path(job_name: str) -> str:
    """The file a job writes when all its outcomes' outputs are written: what the rules that read
    every outcome (the report, the summary forest, PRISMA's last box) wait for.

    As their inputs, the outcomes' files would be thousands (7 per outcome), and Snakemake finds
    each one's producer by testing it against every output of the rule that may write it: a batch
    of B outcomes has 7B outputs, so building the job graph grew as outcomes x batch size (at 2,000
    outcomes, 14,000 files against 560 outputs each). Those rules take the jobs' done files as
    inputs and the outcomes' files as params (`outcome_files`): one edge per job, the same reruns."""
    return f"results/.jobs/{job_name}.done"


def lost_outputs(jobs: dict[str, list[str]]) -> list[str]:
    """The files of finished jobs that are gone ({done file: the job's other outputs}): a job
    whose done file is there but a figure or result of it was deleted. Asked for by the workflow's
    target, they rerun their job; otherwise nothing would, as every rule after the jobs waits for
    their done files alone (job_done_path says why)."""
    # os.path, not pathlib: 14,000 files at 2,000 outcomes at every Snakemake start, 2.5x faster
    return [path for done, outputs in jobs.items() if os.path.exists(done)
            for path in outputs if not os.path.exists(path)]


def outcome_files(outcome_jobs: dict[str, dict]) -> dict:
    """The files of every outcome that the rules reading all outcomes are given, in outcome order:
    `extraction` (the effect inputs) and `pooled` (lists), and each figure as `figure__<report key>`
    (metasr.outputs)."""
    ordered = sorted(outcome_jobs)
    files: dict = {"extraction": [outcome_jobs[o]["outputs"]["effects"] for o in ordered],
                   "pooled": [outcome_jobs[o]["outputs"]["pooled"] for o in ordered]}
    for o in ordered:
        for kind, path in outcome_jobs[o]["outputs"].items():
            if kind in registry.OUTCOME_FIGURE:
                files[registry.REPORT_INPUT + registry.figure_key(o, kind)] = path
    return files


def job_inputs(outcome_jobs: dict[str, dict], config: dict) -> dict:
    """Everything a job's outcomes need besides their sheets (each outcome's outcome_job and the
    review-wide settings): one small file per job.

    Why a file and not params: Snakemake keeps a job's params and its list of inputs in the
    metadata record of every output file of the job. A batch of B outcomes has about 7B outputs;
    with the study rows of all B outcomes in its params the store grew as outcomes x batch size
    (26 GB at 2,000 outcomes, bench/RESULTS.md "Scale"), and every invocation read it back. The
    rule that writes this file (one output) carries them once, packed (`pack_job_inputs`); the
    analysis job's only input is the file, so each of its records stays a few hundred bytes
    whatever the batch size. Reruns are the same: a change to an outcome's sheet, rows or settings
    changes the writer's params, which reruns it, and so the job.

    A study's row is written once per job (`studies`, by study id), each outcome naming its
    studies (`study_ids`): the outcomes of a review share most of their studies, and the rows
    repeated for every outcome were most of the text that every Snakemake invocation packs
    (16 MB at 500 outcomes). `outcome_jobs_of` gives the outcome jobs back.
    """
    studies: dict[str, dict] = {}
    outcomes = {}
    for outcome, job in outcome_jobs.items():
        ids = [str(row["study_id"]) for row in job["studies"]]
        studies.update(zip(ids, job["studies"], strict=True))
        outcomes[outcome] = {**{k: v for k, v in job.items() if k != "studies"}, "study_ids": ids}
    return {"outcomes": outcomes, "studies": studies, "extraction": config["extraction"], "review": config["review"]}


def outcome_jobs_of(inputs: dict) -> dict[str, dict]:
    """The outcome jobs (each with its `studies` rows) of a job's inputs (job_inputs)."""
    rows = inputs["studies"]
    return {outcome: {**{k: v for k, v in job.items() if k != "study_ids"},
                      "studies": [rows[i] for i in job["study_ids"]]}
            for outcome, job in inputs["outcomes"].items()}


def pack_job_inputs(inputs: dict) -> str:
    """The inputs as the writer rule's params: canonical JSON, compressed, as base64 text (no
    braces, which Snakemake would read as wildcards). The params are stored in the writer's
    metadata record and read back by every Snakemake invocation, so they are kept small (study
    rows compress several times); the same inputs always pack the same. zlib's default level: every
    invocation packs every job's inputs, and level 9 took 2.5 times as long for 13 % less."""
    import base64
    import json
    import zlib

    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def unpack_job_inputs(packed: str) -> dict:
    import base64
    import json
    import zlib

    return json.loads(zlib.decompress(base64.b64decode(packed)).decode("utf-8"))


def write_job_inputs(packed: str, out_json) -> None:
    """Write a job's inputs file from its packed params (and a line saying so in its log)."""
    import logging

    from metasr.io import write_json

    inputs = unpack_job_inputs(packed)
    write_json(out_json, inputs)
    logging.getLogger(__name__).info("wrote %s: %s", out_json, ", ".join(inputs["outcomes"]))


def analyse_job(inputs_json, done) -> None:
    """Run one job's outcomes from its inputs file (job_inputs); then write `done` (job_done_path),
    which lists the files written."""
    import json

    from metasr.io import atomic_write_text

    inputs = json.loads(Path(inputs_json).read_text(encoding="utf-8"))
    outcome_jobs = outcome_jobs_of(inputs)
    analyse_outcomes(outcome_jobs, inputs["extraction"], inputs["review"])
    written = {o: job["outputs"] for o, job in outcome_jobs.items()}
    atomic_write_text(done, json.dumps(written, indent=1, sort_keys=True) + "\n")


def outcome_job(review, outcome: str, png: bool) -> dict:
    """What one outcome's analysis needs besides the review-wide settings: its `sheet`, its
    `studies` (rows of studies.csv), its `settings` and its `outputs` (what analyse_outcome takes)."""
    cfg, usable = review.config["outcomes"][outcome], review.usable_by_outcome.get(outcome, 0)
    return {
        "sheet": review.sheet(outcome),
        "studies": review.studies_by_outcome[outcome],
        "settings": outcome_job_settings(cfg, bool((review.config.get("risk_of_bias") or {}).get("forest"))),
        "outputs": outcome_outputs(outcome, cfg, usable, png),
    }


def analyse_outcomes(outcomes: dict[str, dict], extraction_cfg: dict, review_cfg: dict) -> None:
    """Run every outcome of a job, in the order given; each value is an outcome_job. The first
    input error stops the job (Snakemake then removes its outputs)."""
    import gc

    from metasr.progress import track

    # A figure is tens of thousands of objects in reference cycles: with Python's default threshold
    # (a collection every 700 allocations) collecting took about a tenth of an outcome job's time
    # (bench/RESULTS.md). Every 50,000 keeps that small and the memory within some 15 MB of it.
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, *threshold[1:])
    try:
        for outcome, job in track(outcomes.items(), "analysing outcomes", "outcomes", total=len(outcomes)):
            analyse_outcome(outcome, job, extraction_cfg, review_cfg)
    finally:
        gc.set_threshold(*threshold)


def analyse_outcome(outcome: str, job: dict, extraction_cfg: dict, review_cfg: dict) -> None:
    """Extraction sheet -> effect inputs -> pooled JSON -> figures, for one outcome."""
    # Imported here so that listing jobs at parse time does not import matplotlib or pandas.
    from metasr.extraction.pipeline import prepare_outcome
    from metasr.workflow.pooling import pool_outcome_file

    out, settings = job["outputs"], job["settings"]
    log.info("%s: preparing effect inputs from %s", outcome, job["sheet"])
    prepare_outcome(job["sheet"], list(job["studies"]), outcome, dict(settings["conversion"]),
                    dict(extraction_cfg), out["effects"])
    pool_outcome_file(out["effects"], outcome, dict(settings["analysis"]), out["pooled"], list(job["studies"]))
    context = registry.FigureContext(figure=dict(settings["figure"]), review=dict(review_cfg),
                                     studies=list(job["studies"]))
    for figure in registry.OUTCOME_FIGURES:
        if figure.kind in out:
            draw_outcome_figure(figure.kind, out["pooled"], context, out[figure.kind],
                                out.get(f"{figure.kind}_png"))
    log.info("%s: wrote %s", outcome, ", ".join(sorted(Path(p).name for p in out.values())))


def draw_outcome_figure(kind: str, pooled_json, context, svg_path, png_path=None) -> None:
    """Draw one of an outcome's figures (metasr.outputs) from its pooled result file."""
    import json

    from metasr.figures.style import save_figure

    pooled = json.loads(Path(pooled_json).read_text(encoding="utf-8"))
    save_figure(registry.function(registry.OUTCOME_FIGURE[kind].draw)(pooled, context), svg_path, png_path)
