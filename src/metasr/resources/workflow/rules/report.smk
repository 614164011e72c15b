# The self-contained HTML report: aggregates every outcome, so it reruns whenever one changes.


rule write_report:
    input:
        **review_figures(),
        **prisma_outputs(),
        jobs=JOBS_DONE,
        studies=REVIEW.config["extraction"]["studies"],
        data=input_files(),
        config_file=REVIEW_FOLDER.shown_config,
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
        content=REVIEW.content(input_files()),
        config=REVIEW.config,
        outcomes=OUTCOME_FILES,
    script:
        "../scripts/write_report.py"
