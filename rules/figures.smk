# Figures: per-outcome plots from pooled results; review-wide summary and risk-of-bias plots.


rule plot_forest:
    input:
        "results/pooled/{outcome}.json",
    output:
        svg=report(
            "results/figures/{outcome}_forest.svg",
            caption="../report/forest.rst",
            category="Forest plots",
        ),
        png="results/figures/{outcome}_forest.png",
    params:
        outcome=outcome_settings,
        review=REVIEW.config["review"],
    log:
        "logs/plot_forest/{outcome}.log",
    conda:
        "../envs/metasr.yaml"
    script:
        "../scripts/plot_forest.py"


rule plot_summary:
    input:
        expand("results/pooled/{outcome}.json", outcome=OUTCOMES),
    output:
        svg=report(
            "results/figures/summary_forest.svg",
            caption="../report/summary.rst",
            category="Summary",
        ),
        png="results/figures/summary_forest.png",
    params:
        outcomes=REVIEW.config["outcomes"],
        review=REVIEW.config["review"],
    log:
        "logs/plot_summary.log",
    conda:
        "../envs/metasr.yaml"
    script:
        "../scripts/plot_summary.py"
