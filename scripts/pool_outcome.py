# Pool one outcome with its configured measure, method and test.
from metasr.workflow.pooling import pool_outcome_file
from metasr.workflow.runner import run_step

run_step(snakemake, pool_outcome_file, snakemake.input[0], snakemake.wildcards.outcome,
         dict(snakemake.params.analysis), snakemake.output[0])
