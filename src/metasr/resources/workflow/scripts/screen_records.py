# Apply the screening decisions and count the PRISMA 2020 flow.
from metasr.screening.pipeline import ScreeningFiles, screen_records
from metasr.workflow.runner import run_step

run_step(snakemake, screen_records, snakemake.input.records, snakemake.input.unique,
         snakemake.input.title_abstract, snakemake.input.full_text,
         dict(snakemake.params.screening), dict(snakemake.params.sources),
         ScreeningFiles.from_rule(snakemake.output))
