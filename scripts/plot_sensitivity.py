# Leave-one-out, cumulative and Baujat plots of one outcome.
from metasr.figures.sensitivity import plot_sensitivity_files
from metasr.workflow.runner import run_step

run_step(snakemake, plot_sensitivity_files, snakemake.input[0], snakemake.output.leave1out,
         snakemake.output.cumulative, snakemake.output.baujat)
