# The self-contained HTML report: aggregates every outcome, so it reruns whenever one changes.


rule write_report:
    input:
        **outcome_figures(),
        **review_figures(),
        **prisma_outputs(),
        pooled=expand("results/pooled/{outcome}.json", outcome=OUTCOMES),
        extraction=expand("results/extraction/{outcome}.csv", outcome=OUTCOMES),
        studies=REVIEW.config["extraction"]["studies"],
        data=input_files(),
    output:
        report(
            "results/report.html",
            caption="../report/report_html.rst",
            category="Report",
        ),
    log:
        "logs/write_report.log",
    localrule: True
    params:
        code=code("write_report"),
        config=REVIEW.config,
    script:
        "../scripts/write_report.py"
