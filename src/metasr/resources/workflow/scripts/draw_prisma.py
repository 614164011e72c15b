# Draw the PRISMA 2020 flow diagram from the counts.
from metasr.figures.prisma import draw_prisma
from metasr.workflow.runner import run_step

run_step(snakemake, draw_prisma, snakemake.input[0], snakemake.output.svg, snakemake.output.png)
