# The self-contained HTML report.
from metasr.workflow.reporting import write_review_report
from metasr.workflow.runner import run_step

run_step(snakemake, write_review_report, snakemake.input, dict(snakemake.params.config), snakemake.output[0])
