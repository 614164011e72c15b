# Write the de-duplicated records (RIS, CSV with screening decisions) and the cluster table.
from metasr.records.export import ExportFiles, export_records
from metasr.records.pipeline import DedupFiles
from metasr.workflow.runner import run_step

run_step(snakemake, export_records, DedupFiles.from_rule(snakemake.input), ExportFiles.from_rule(snakemake.output),
         screening_csv=snakemake.input.screening)
