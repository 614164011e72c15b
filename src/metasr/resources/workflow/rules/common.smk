# Parse-time helpers: find the review, load and validate it, list targets, give each job only
# what it needs. The review is a folder (metasr.folder): the working directory, or the folder of
# the --configfile given; every path below is relative to it.
import functools
from pathlib import Path

from metasr import outputs as FIGURES
from metasr.errors import InputError
from metasr.resources import WORKFLOW
from metasr.workflow.outcomes import (
    assign_outcome_jobs,
    inputs_rule_name,
    job_done_path,
    job_inputs,
    job_inputs_path,
    lost_outputs,
    outcome_job,
    outcome_files,
    outcome_job_minutes,
    pack_job_inputs,
    wants_png,
)
from metasr.workflow.fingerprint import script_fingerprint
from metasr.workflow.metadata_cache import record_count, widen_record_cache
from metasr.workflow.review import snakemake_review
from metasr.workflow.review_cache import load_review_cached
from snakemake.exceptions import WorkflowError

try:
    REVIEW_FOLDER, RAW_CONFIG = snakemake_review(
        workflow.overwrite_configfiles,
        config,
        not workflow.modifier.is_main_snakefile(),
        workflow.overwrite_workdir is not None,
    )
except InputError as err:
    raise WorkflowError(f"metasr: no review to run; nothing was run.\n{err.format()}")

if (
    workflow.modifier.is_main_snakefile()
    and REVIEW_FOLDER.root != Path.cwd().absolute()
):

    workdir: REVIEW_FOLDER.root


try:
    REVIEW = load_review_cached(
        RAW_CONFIG, REVIEW_FOLDER.root, REVIEW_FOLDER.shown_config
    )
except InputError as err:
    raise WorkflowError(
        f"metasr: the review in {REVIEW_FOLDER.root} has problems; nothing was run.\n"
        f"{err.format()}"
    )


# Checksums of the library code behind each rule's script, derived from what the script imports
# (metasr.workflow.fingerprint), passed as params so that a changed library reruns the jobs that
# use it (Snakemake itself only notices changed scripts).
@functools.cache
def code(script):
    return script_fingerprint(WORKFLOW / "scripts" / f"{script}.py")


OUTCOMES = REVIEW.outcomes
SOURCES = REVIEW.sources
EXECUTION = REVIEW.config["execution"]
OUTCOME_JOBS = assign_outcome_jobs(OUTCOMES, EXECUTION["outcome_jobs"])
PNG = wants_png(EXECUTION["png"], len(OUTCOMES))
# What each outcome's analysis reads and writes (metasr.workflow.outcomes.outcome_job).
OUTCOME = {o: outcome_job(REVIEW, o, PNG) for o in OUTCOMES}
# What the rules that read every outcome wait for (one file per job) and are given (the outcomes'
# files, as params): metasr.workflow.outcomes.job_done_path says why not the files themselves.
JOBS_DONE = [job_done_path(job) for job in OUTCOME_JOBS]
OUTCOME_FILES = outcome_files(OUTCOME)
# Room for every output's metadata record in Snakemake's cache (metasr.workflow.metadata_cache).
widen_record_cache(record_count(OUTCOME, len(OUTCOME_JOBS)))


wildcard_constraints:
    source="|".join(SOURCES),


def get_final_output():
    return [
        ["results/records/unique.csv"] if REVIEW.has_search else [],
        list(prisma_outputs().values()),
        JOBS_DONE,
        lost_outcome_files(),
        list(review_figures().values()),
        "results/report.html",
    ]


def lost_outcome_files():
    """Outcome files deleted since their job ran: asked for, so that the job runs again."""
    return lost_outputs(
        {
            job_done_path(job): [
                path for o in outcomes for path in OUTCOME[o]["outputs"].values()
            ]
            for job, outcomes in OUTCOME_JOBS.items()
        }
    )


def remove_stale_results():
    """Delete results the current review no longer produces (metasr.workflow.stale)."""
    from metasr.workflow.stale import (
        elsewhere,
        produced_by,
        remove_stale_results as remove,
        stale_results,
    )

    results = Path("results")
    produced = produced_by(
        product for rule in workflow.rules for product in rule.products()
    )
    linked = elsewhere(results)
    left = stale_results(results, produced) if linked else []
    if left:
        print(
            f"metasr: {linked}: {len(left)} file(s) there that no step of the review writes are kept "
            "(delete old results among them by hand):"
        )
        print("".join(f"  {p}\n" for p in left), end="")
    removed = remove(results, produced)
    if removed:
        print(
            f"metasr: removed {len(removed)} result file(s) that no step of the review writes "
            "(results/ holds what the workflow generates; keep files of your own elsewhere):"
        )
        print("".join(f"  {p}\n" for p in removed), end="")


def prisma_outputs():
    """The PRISMA counts and diagram, when the review has a flow (counted or declared)."""
    if not REVIEW.has_prisma:
        return {}
    return {
        "prisma_json": "results/screening/prisma.json",
        "prisma_svg": "results/screening/prisma.svg",
    }


def source_file(wildcards):
    return REVIEW.config["search"]["sources"][wildcards.source]["file"]


def source_settings(wildcards):
    return REVIEW.config["search"]["sources"][wildcards.source]


def parsed_records():
    return expand("results/records/parsed/{source}.csv", source=SOURCES)


def dedup_overrides():
    path = (
        REVIEW.config["search"]["dedup"].get("overrides") if REVIEW.has_search else None
    )
    return [path] if path else []


def outcome_job_outputs(outcomes, done):
    """Every file a job writes: `done` first (the rules after the job wait for it alone, and
    Snakemake finds a file's producer by testing the rule's outputs in order, building each one's
    pattern), then its outcomes' files, named `<outcome>__<kind>`; figures go to the Snakemake
    report with their caption and category (metasr.outputs)."""
    outputs = {"done": done}
    for o in outcomes:
        for kind, path in OUTCOME[o]["outputs"].items():
            figure = FIGURES.OUTCOME_FIGURE.get(kind)
            outputs[f"{o}__{kind}"] = path
            if figure:
                caption = f"../report/{figure.rst}"
                outputs[f"{o}__{kind}"] = report(
                    path, caption=caption, category=figure.category
                )
    return outputs


def png_copy(**outputs):
    """Named PNG outputs when the review writes PNG copies (`execution.png`), else none."""
    return outputs if PNG else {}


def review_figures():
    """The review-wide figures, as the report rule's inputs: {figure__<key>: SVG path}."""
    return {FIGURES.REPORT_INPUT + f.key: f.path for f in FIGURES.REVIEW_FIGURES}


def review_figure(key, suffix="svg"):
    """One review-wide figure's path, with its Snakemake report caption for the SVG."""
    figure = FIGURES.REVIEW_FIGURE[key]
    path = figure.path[: -len(".svg")] + f".{suffix}"
    caption = f"../report/{figure.rst}"
    return (
        path
        if suffix != "svg"
        else report(path, caption=caption, category=figure.category)
    )


def rob_summary_weights():
    """The pooled result whose study weights weight the risk-of-bias summary, if it is weighted."""
    rob = REVIEW.config.get("risk_of_bias") or {}
    if rob.get("summary") != "weighted":
        return {}
    return {"weights": f"results/pooled/{rob['weight_outcome']}.json"}


def input_files():
    """Every data file the review reads, for the report's checksum table (the second extractor's
    files too: the report's methods count the discrepancies between the two extractions).
    """
    from metasr.config import input_paths, second_extractor_files

    paths = set(input_paths(REVIEW.config).values())
    paths.update(REVIEW.sheet(o) for o in OUTCOMES)
    paths.update(second_extractor_files(REVIEW.config, REVIEW_FOLDER.root))
    return sorted(paths)
