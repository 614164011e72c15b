# Contour-enhanced funnel plot of one outcome.
from metasr.figures.funnel import plot_funnel_file
from metasr.workflow.runner import run_step

run_step(snakemake, plot_funnel_file, snakemake.input[0], snakemake.output.svg, snakemake.output.png)
