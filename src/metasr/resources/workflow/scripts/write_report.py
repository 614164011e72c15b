# The self-contained HTML report, with what changed since the previous run.
from metasr.workflow.reporting import write_review_report
from metasr.workflow.runner import run_step

run_step(snakemake, write_review_report, dict(snakemake.input.items()), dict(snakemake.params.config),
         snakemake.output[0])
