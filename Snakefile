# metasr: a systematic review and meta-analysis, from search exports to report.
# Thin on purpose: helpers live in rules/common.smk, logic in the metasr library (src/metasr).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


# Cheap review-wide steps run on the submitting host when a cluster executor is used.
localrules:
    all,
    screen_records,
    draw_prisma,
    plot_rob,
    plot_summary,
    write_report,


include: "rules/common.smk"
include: "rules/records.smk"
include: "rules/outcomes.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
