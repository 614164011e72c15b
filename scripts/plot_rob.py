# Risk-of-bias traffic-light and summary plots from the studies sheet.
from metasr.figures.rob import plot_rob_files
from metasr.workflow.runner import run_step

run_step(snakemake, plot_rob_files, snakemake.input[0], snakemake.output.traffic, snakemake.output.traffic_png,
         snakemake.output.summary, snakemake.output.summary_png)
