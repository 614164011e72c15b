# Parse one search export into the normalised record table.
from metasr.records.pipeline import ingest_records
from metasr.workflow.runner import run_step

run_step(snakemake, ingest_records, snakemake.input[0], snakemake.output[0],
         source=snakemake.params.source, database=snakemake.params.database,
         fmt=snakemake.params.format, empty=snakemake.params.empty)
