# Extraction, pooling and figures of this job's outcomes (one or a batch).
from metasr.workflow.outcomes import analyse_outcomes
from metasr.workflow.runner import run_step

run_step(snakemake, analyse_outcomes, dict(snakemake.params.outcomes),
         dict(snakemake.params.extraction), dict(snakemake.params.review))
