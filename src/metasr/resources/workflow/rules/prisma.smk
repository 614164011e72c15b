# The PRISMA 2020 flow diagram: from the counts of the review's own screening (rules/records.smk),
# or from counts declared in the config by a review without a search stage. It is drawn after
# pooling: its last box counts the studies (and reports) of the outcomes that were pooled.


if not REVIEW.has_search:

    rule declare_prisma:
        output:
            "results/screening/prisma.json",
        log:
            "logs/declare_prisma.log",
        localrule: True
        params:
            code=code("declare_prisma"),
            prisma=REVIEW.config["prisma"],
        script:
            "../scripts/declare_prisma.py"


rule draw_prisma:
    input:
        prisma="results/screening/prisma.json",
        jobs=JOBS_DONE,
    output:
        svg=report(
            "results/screening/prisma.svg",
            caption="../report/prisma.rst",
            category="PRISMA",
        ),
        png="results/screening/prisma.png",
    log:
        "logs/draw_prisma.log",
    localrule: True
    params:
        code=code("draw_prisma"),
        pooled=OUTCOME_FILES["pooled"],
    script:
        "../scripts/draw_prisma.py"
