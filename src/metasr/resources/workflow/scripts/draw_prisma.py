# Draw the PRISMA 2020 flow diagram from the counts and the pooled results (meta-analysis box).
from metasr.figures.prisma import draw_prisma
from metasr.workflow.runner import run_step

run_step(snakemake, draw_prisma, snakemake.input.prisma, snakemake.output.svg, snakemake.output.png,
         list(snakemake.params.pooled))
