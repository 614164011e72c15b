# metasr: a systematic review and meta-analysis, from search exports to report.
# Thin on purpose: helpers live in rules/common.smk, logic in the metasr library (src/metasr).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/records.smk"
include: "rules/extraction.smk"
include: "rules/pooling.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    input:
        get_final_output(),
    default_target: True
