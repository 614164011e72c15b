# Figures of the whole review: summary forest of every outcome and risk-of-bias plots. (Each
# outcome's own figures are drawn by its analysis job, rules/outcomes.smk.) PNG copies as
# `execution.png` says.


rule plot_summary:
    input:
        JOBS_DONE,
    output:
        **png_copy(png=review_figure("summary_forest", "png")),
        svg=review_figure("summary_forest"),
    log:
        "logs/plot_summary.log",
    localrule: True
    params:
        code=code("plot_summary"),
        pooled=OUTCOME_FILES["pooled"],
        outcomes=REVIEW.config["outcomes"],
        review=REVIEW.config["review"],
    script:
        "../scripts/plot_summary.py"


rule plot_rob:
    input:
        REVIEW.config["extraction"]["studies"],
        **rob_summary_weights(),
    output:
        **png_copy(traffic_png=review_figure("rob_traffic", "png")),
        **png_copy(summary_png=review_figure("rob_summary", "png")),
        traffic=review_figure("rob_traffic"),
        summary=review_figure("rob_summary"),
    log:
        "logs/plot_rob.log",
    localrule: True
    params:
        code=code("plot_rob"),
        content=REVIEW.content([REVIEW.config["extraction"]["studies"]]),
    script:
        "../scripts/plot_rob.py"
