# Extraction, pooling and figures of this job's outcomes (one or a batch), from the job's inputs file.
from metasr.workflow.outcomes import analyse_job
from metasr.workflow.runner import run_step

run_step(snakemake, analyse_job, snakemake.input[0], snakemake.output.done)
