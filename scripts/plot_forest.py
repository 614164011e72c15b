# Forest plot of one outcome.
from metasr.figures.forest import plot_forest_file
from metasr.workflow.runner import run_step

run_step(snakemake, plot_forest_file, snakemake.input[0], dict(snakemake.params.outcome),
         dict(snakemake.params.review), snakemake.output.svg, snakemake.output.png)
