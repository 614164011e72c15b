# The self-contained HTML report: aggregates every outcome, so it reruns whenever one changes.


rule write_report:
    input:
        pooled=expand("results/pooled/{outcome}.json", outcome=OUTCOMES),
        extraction=expand("results/extraction/{outcome}.csv", outcome=OUTCOMES),
        prisma_json="results/screening/prisma.json",
        prisma_svg="results/screening/prisma.svg",
        **outcome_figures(),
        **review_figures(),
        studies=config["extraction"]["studies"],
        data=input_files(),
    output:
        report("results/report.html", caption="../report/report_html.rst", category="Report"),
    params:
        config=REVIEW.config,
    log:
        "logs/write_report.log",
    conda:
        "../envs/metasr.yaml"
    script:
        "../scripts/write_report.py"
