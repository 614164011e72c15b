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
    log:
        "logs/plot_forest/{outcome}.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["figures"],
        outcome=outcome_settings,
        review=REVIEW.config["review"],
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
    log:
        "logs/plot_summary.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["figures"],
        outcomes=REVIEW.config["outcomes"],
        review=REVIEW.config["review"],
    script:
        "../scripts/plot_summary.py"


rule plot_funnel:
    input:
        "results/pooled/{outcome}.json",
    output:
        svg=report(
            "results/figures/{outcome}_funnel.svg",
            caption="../report/funnel.rst",
            category="Funnel plots",
        ),
        png="results/figures/{outcome}_funnel.png",
    log:
        "logs/plot_funnel/{outcome}.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["figures"],
    script:
        "../scripts/plot_funnel.py"


rule plot_sensitivity:
    input:
        "results/pooled/{outcome}.json",
    output:
        leave1out=report(
            "results/figures/{outcome}_leave1out.svg",
            caption="../report/leave1out.rst",
            category="Sensitivity",
        ),
        cumulative=report(
            "results/figures/{outcome}_cumulative.svg",
            caption="../report/cumulative.rst",
            category="Sensitivity",
        ),
        baujat=report(
            "results/figures/{outcome}_baujat.svg",
            caption="../report/baujat.rst",
            category="Sensitivity",
        ),
    log:
        "logs/plot_sensitivity/{outcome}.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["figures"],
    script:
        "../scripts/plot_sensitivity.py"


rule plot_rob:
    input:
        config["extraction"]["studies"],
    output:
        traffic=report(
            "results/figures/rob_traffic.svg",
            caption="../report/rob.rst",
            category="Risk of bias",
        ),
        traffic_png="results/figures/rob_traffic.png",
        summary=report(
            "results/figures/rob_summary.svg",
            caption="../report/rob_summary.rst",
            category="Risk of bias",
        ),
        summary_png="results/figures/rob_summary.png",
    log:
        "logs/plot_rob.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["figures"],
    script:
        "../scripts/plot_rob.py"
