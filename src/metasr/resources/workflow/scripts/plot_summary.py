# One summary forest across all outcomes, against the published estimates.
from metasr.figures.summary import plot_summary_file
from metasr.workflow.runner import run_step

config_view = {"outcomes": dict(snakemake.params.outcomes), "review": dict(snakemake.params.review)}
run_step(snakemake, plot_summary_file, list(snakemake.params.pooled), config_view,
         snakemake.output.svg, snakemake.output.get("png"))
