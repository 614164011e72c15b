# One outcome job's inputs file, from the packed inputs in this rule's params.
from metasr.workflow.outcomes import write_job_inputs
from metasr.workflow.runner import run_step

run_step(snakemake, write_job_inputs, snakemake.params.inputs, snakemake.output[0])
