# Write the de-duplicated records (RIS, CSV with screening decisions) and the cluster table.
from pathlib import Path

from metasr.records.export import export_records
from metasr.workflow.runner import run_step

run_step(snakemake, export_records, str(Path(snakemake.input.unique).parent),
         str(Path(snakemake.output.ris).parent), screening_csv=snakemake.input.screening)
