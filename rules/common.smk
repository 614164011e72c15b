# Parse-time helpers: load and validate the review, list targets, give each job only what it needs.
from metasr.errors import InputError
from metasr.workflow.review import code_fingerprint, load_review
from snakemake.exceptions import WorkflowError

try:
    REVIEW = load_review(config, workflow.basedir)
except InputError as err:
    raise WorkflowError(
        f"metasr: the review's inputs have problems; nothing was run.\n{err.format()}"
    )

# Checksums of the library code behind each stage, passed as params so that a changed library
# reruns the jobs that use it (Snakemake itself only notices changed scripts).
CODE = {
    "records": code_fingerprint("records"),
    "screening": code_fingerprint("screening"),
    "extraction": code_fingerprint("extraction"),
    "pooling": code_fingerprint("stats", "workflow/pooling.py"),
    "figures": code_fingerprint("figures"),
    "report": code_fingerprint(
        "report", "history.py", "workflow/reporting.py", "figures/style.py"
    ),
}

OUTCOMES = REVIEW.outcomes
SOURCES = REVIEW.sources


wildcard_constraints:
    outcome="|".join(OUTCOMES),
    source="|".join(SOURCES),


def get_final_output():
    return [
        "results/records/unique.csv",
        "results/screening/prisma.json",
        "results/screening/prisma.svg",
        expand("results/extraction/{outcome}.csv", outcome=OUTCOMES),
        expand("results/pooled/{outcome}.json", outcome=OUTCOMES),
        list(outcome_figures().values()),
        list(review_figures().values()),
        "results/report.html",
    ]


def source_file(wildcards):
    return REVIEW.config["search"]["sources"][wildcards.source]["file"]


def source_settings(wildcards):
    return REVIEW.config["search"]["sources"][wildcards.source]


def parsed_records():
    return expand("results/records/parsed/{source}.csv", source=SOURCES)


def dedup_overrides():
    path = REVIEW.config["search"]["dedup"].get("overrides")
    return [path] if path else []


def outcome_sheet(wildcards):
    return REVIEW.sheet(wildcards.outcome)


def outcome_settings(wildcards):
    return REVIEW.config["outcomes"][wildcards.outcome]


def conversion_settings(wildcards):
    """The outcome settings that change its effect inputs (not its model), so that a new tau2
    method reruns pooling but not extraction."""
    outcome = REVIEW.config["outcomes"][wildcards.outcome]
    keys = ("label", "measure", "unit", "higher_is", "flip", "scale")
    return {k: outcome[k] for k in keys if k in outcome}


def outcome_studies(wildcards):
    return REVIEW.studies_by_outcome[wildcards.outcome]


def analysis_settings(wildcards):
    outcome = REVIEW.config["outcomes"][wildcards.outcome]
    keys = (
        "measure",
        "method",
        "test",
        "order_by",
        "label",
        "published",
        "subgroup",
        "scale",
    )
    return {k: outcome[k] for k in keys if k in outcome}


# Funnel and sensitivity plots need a few studies to say anything (Cochrane Handbook 10.10.4).
MIN_STUDIES_FOR_SPREAD_PLOTS = 3


def outcomes_for_spread_plots():
    return [
        o
        for o in OUTCOMES
        if REVIEW.usable_by_outcome.get(o, 0) >= MIN_STUDIES_FOR_SPREAD_PLOTS
    ]


def outcome_figures():
    """Every per-outcome figure the review gets: {report key: path}."""
    figures = {
        f"{o}_forest": f"results/figures/{o}_forest.svg"
        for o in REVIEW.outcomes_with_data
    }
    for o in outcomes_for_spread_plots():
        for kind in ("funnel", "leave1out", "cumulative", "baujat"):
            figures[f"{o}_{kind}"] = f"results/figures/{o}_{kind}.svg"
    return figures


def review_figures():
    return {
        "summary_forest": "results/figures/summary_forest.svg",
        "rob_traffic": "results/figures/rob_traffic.svg",
        "rob_summary": "results/figures/rob_summary.svg",
    }


def input_files():
    """Every data file the review reads, for the report's checksum table."""
    from metasr.config import input_paths

    paths = set(input_paths(REVIEW.config).values())
    paths.update(REVIEW.sheet(o) for o in OUTCOMES)
    return sorted(paths)
