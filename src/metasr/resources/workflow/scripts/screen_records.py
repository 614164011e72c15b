# Apply the screening decisions and count the PRISMA 2020 flow.
from pathlib import Path

from metasr.screening.pipeline import screen_records
from metasr.workflow.runner import run_step

run_step(snakemake, screen_records, snakemake.input.records, snakemake.input.unique,
         snakemake.input.title_abstract, snakemake.input.full_text,
         dict(snakemake.params.screening), dict(snakemake.params.sources),
         str(Path(snakemake.output.prisma_json).parent))
