# The self-contained HTML report, with what changed since the previous run.
from metasr.workflow.reporting import write_review_report
from metasr.workflow.runner import run_step

# The outcomes' files come as params: the rule waits for the jobs' done files (workflow.outcomes.job_done_path).
run_step(snakemake, write_review_report, {**dict(snakemake.input.items()), **dict(snakemake.params.outcomes)},
         dict(snakemake.params.config), snakemake.output[0])
