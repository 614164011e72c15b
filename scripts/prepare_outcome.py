# Validate and convert one outcome's extraction sheet into metafor-style effect inputs.
from metasr.extraction.pipeline import prepare_outcome
from metasr.workflow.runner import run_step

run_step(snakemake, prepare_outcome, snakemake.input.sheet, list(snakemake.params.studies),
         snakemake.wildcards.outcome, dict(snakemake.params.outcome),
         dict(snakemake.params.extraction), snakemake.output[0])
