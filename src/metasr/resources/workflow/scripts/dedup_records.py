# De-duplicate the parsed records of every export, with an audit trail.
from metasr.records.pipeline import DedupFiles, dedup_records
from metasr.workflow.runner import run_step

overrides = snakemake.input.overrides[0] if snakemake.input.overrides else None
run_step(snakemake, dedup_records, list(snakemake.input.parsed), DedupFiles.from_rule(snakemake.output),
         overrides_csv=overrides)
