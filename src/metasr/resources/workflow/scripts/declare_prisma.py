# The PRISMA 2020 counts a review without a search stage declares in its config.
from metasr.screening.declared import write_declared_prisma
from metasr.workflow.runner import run_step

run_step(snakemake, write_declared_prisma, dict(snakemake.params.prisma), snakemake.output[0])
