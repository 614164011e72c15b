# Risk-of-bias traffic-light and summary plots from the studies sheet (summary weighted by one
# outcome's analysis when risk_of_bias.summary is weighted).
from metasr.figures.rob import plot_rob_files
from metasr.workflow.runner import run_step

out = snakemake.output
run_step(snakemake, plot_rob_files, snakemake.input[0], out.traffic, out.get("traffic_png"),
         out.summary, out.get("summary_png"), snakemake.input.get("weights"))
