"""The registry of the figures a review produces: one record per figure kind.

Each per-outcome figure says where it goes, how many usable studies it needs, which function draws
it, whether it gets a PNG copy, and how the report and `snakemake --report` present it (section,
heading, caption). The workflow's outputs (metasr.workflow.outcomes), the outcome job, the
Snakemake report captions (rules/common.smk) and the HTML report (metasr.report.html) all read
these records, so adding a figure is: one record here, its drawing function, its caption file.

A drawing function takes the outcome's pooled result and a FigureContext and returns a matplotlib
Figure. Standard library only: parse time reads this module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FigureContext:
    """What a per-outcome drawing function may need besides the pooled result."""

    figure: dict = field(default_factory=dict)     # the outcome's figure settings (its config)
    review: dict = field(default_factory=dict)     # the review section of the config (group names)
    studies: list = field(default_factory=list)    # the outcome's rows of the studies sheet


@dataclass(frozen=True)
class OutcomeFigure:
    kind: str
    heading: str          # the report's heading
    caption: str          # the report's caption (one sentence)
    draw: str             # "module:function" (FigureContext convention above)
    min_k: int = 1        # usable studies the figure needs
    png: bool = False     # a 300-dpi PNG copy when execution.png asks for them
    section: str = "figures"  # where the report shows it: after the outcome, or inside one of its sections
    rst: str = ""         # the `snakemake --report` caption file (report/<rst>)
    category: str = ""    # the `snakemake --report` category
    planned: str = ""     # "module:function(outcome_cfg, usable_studies) -> bool" when more than min_k decides

    def path(self, outcome: str, suffix: str = "svg") -> str:
        return f"results/figures/{outcome}_{self.kind}.{suffix}"


@dataclass(frozen=True)
class ReviewFigure:
    key: str
    heading: str
    path: str             # SVG; the PNG copy (if `png`) beside it
    section: str          # "summary" or "risk_of_bias"
    rst: str
    category: str
    png: bool = True


SPREAD_MIN_K = 3  # funnel and sensitivity plots need a few studies (Cochrane Handbook 10.10.4)

OUTCOME_FIGURES = (
    OutcomeFigure("forest", "Forest plot",
                  "Studies, weights, pooled estimate (diamond) and, for a random-effects model, the 95% "
                  "prediction interval (the report's caption says which).",
                  "metasr.figures.forest:forest_figure", png=True, rst="forest.rst", category="Forest plots"),
    OutcomeFigure("funnel", "Funnel plot",
                  "Contour-enhanced funnel plot, with Egger's regression line and trim-and-fill studies where "
                  "those ran for the outcome (the report's caption says which).",
                  "metasr.figures.funnel:funnel_figure", min_k=SPREAD_MIN_K, png=True, section="small_study",
                  rst="funnel.rst", category="Funnel plots"),
    OutcomeFigure("leave1out", "Leave-one-out", "Pooled estimate with each study omitted in turn.",
                  "metasr.figures.sensitivity:leave1out_figure", min_k=SPREAD_MIN_K, rst="leave1out.rst",
                  category="Sensitivity"),
    OutcomeFigure("cumulative", "Cumulative meta-analysis", "Pooled estimate as studies accrue by year.",
                  "metasr.figures.sensitivity:cumulative_figure", min_k=SPREAD_MIN_K, rst="cumulative.rst",
                  category="Sensitivity"),
    OutcomeFigure("baujat", "Baujat plot",
                  "Each study's contribution to heterogeneity against its influence on the result.",
                  "metasr.figures.sensitivity:baujat_figure", min_k=SPREAD_MIN_K, rst="baujat.rst",
                  category="Sensitivity"),
    OutcomeFigure("bubble", "Bubble plot",
                  "Study effects against each moderator of the meta-regression (bubble area proportional to "
                  "the study's weight) with the regression line and its 95% CI, the other moderators at their "
                  "means.", "metasr.figures.bubble:bubble_figure", min_k=SPREAD_MIN_K, section="meta_regression",
                  rst="bubble.rst", category="Meta-regression",
                  planned="metasr.analysis_settings:bubble_planned"),
)
OUTCOME_FIGURE = {f.kind: f for f in OUTCOME_FIGURES}

REVIEW_FIGURES = (
    ReviewFigure("summary_forest", "Summary forest plot", "results/figures/summary_forest.svg", "summary",
                 "summary.rst", "Summary"),
    ReviewFigure("rob_traffic", "Traffic-light plot", "results/figures/rob_traffic.svg", "risk_of_bias",
                 "rob.rst", "Risk of bias"),
    ReviewFigure("rob_summary", "Summary plot", "results/figures/rob_summary.svg", "risk_of_bias",
                 "rob_summary.rst", "Risk of bias"),
)
REVIEW_FIGURE = {f.key: f for f in REVIEW_FIGURES}


def function(reference: str):
    """The function a "module:function" reference names."""
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)


def outcome_figures(outcome: str, outcome_cfg: dict, usable_studies: int, png: bool) -> dict[str, str]:
    """{kind: path} of the figures one outcome gets (and `<kind>_png` for PNG copies)."""
    out = {}
    for figure in OUTCOME_FIGURES:
        if usable_studies < figure.min_k:
            continue
        if figure.planned and not function(figure.planned)(outcome_cfg, usable_studies):
            continue
        out[figure.kind] = figure.path(outcome)
        if png and figure.png:
            out[f"{figure.kind}_png"] = figure.path(outcome, "png")
    return out


def figure_key(outcome: str, kind: str) -> str:
    """The key the report and the report rule give one outcome's figure."""
    return f"{outcome}_{kind}"


# The prefix of a figure's name among the report's inputs: `figure__<key>` (figure_key, or a
# review-wide figure's key).
REPORT_INPUT = "figure__"


# The rule that writes a job's inputs file is named after the job with this suffix (inputs_rule_name).
INPUTS_SUFFIX = "__inputs"


def inputs_rule_name(job_name: str) -> str:
    """The name of the rule that writes the inputs file of the job `job_name` (job_inputs_path)."""
    return f"{job_name}{INPUTS_SUFFIX}"


def outcome_id_clash(outcome: str) -> str | None:
    """Why `outcome` cannot be an outcome id, or None: a rule or a file of its would be another's.
    Read from the job names (inputs_rule_name; metasr.workflow.outcomes names the jobs
    `outcome_<id>`) and the figures' paths here, so the check cannot fall behind them: its
    one-outcome job `outcome_<id>` would be the inputs writer of the outcome `<id>` less the
    suffix; one of its figures would be a review-wide figure (an outcome `summary` would write
    results/figures/summary_forest.svg, the summary forest plot)."""
    if outcome.endswith(INPUTS_SUFFIX):
        return (f"an id ending in {INPUTS_SUFFIX} would name the step that prepares the inputs of an "
                f"outcome {outcome[:-len(INPUTS_SUFFIX)]}")
    for review_figure in REVIEW_FIGURES:
        for figure in OUTCOME_FIGURES:
            if figure.path(outcome) == review_figure.path:
                return f"its {figure.heading.lower()} would be the review's {review_figure.heading.lower()} " \
                       f"({review_figure.path})"
    return None
