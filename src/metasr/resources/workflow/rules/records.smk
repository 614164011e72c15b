# Search records: parse each export, de-duplicate across exports, screen, count for PRISMA 2020.
# Included only when the review has a search stage (`search` and `screening` in its config).


rule ingest_records:
    input:
        source_file,
    output:
        "results/records/parsed/{source}.csv",
    log:
        "logs/ingest_records/{source}.log",
    params:
        code=code("ingest_records"),
        content=lambda w: REVIEW.content([source_file(w)]),
        source=lambda w: w.source,
        database=lambda w: source_settings(w)["database"],
        format=lambda w: source_settings(w)["format"],
        empty=lambda w: source_settings(w)["empty"],
    script:
        "../scripts/ingest_records.py"


rule dedup_records:
    input:
        parsed=parsed_records(),
        overrides=dedup_overrides(),
    output:
        records="results/records/records.csv",
        unique="results/records/unique.csv",
        audit="results/records/audit.csv",
    log:
        "logs/dedup_records.log",
    params:
        code=code("dedup_records"),
        content=REVIEW.content(dedup_overrides()),
    script:
        "../scripts/dedup_records.py"


rule screen_records:
    input:
        records="results/records/records.csv",
        unique="results/records/unique.csv",
        title_abstract=REVIEW.config["screening"]["title_abstract"],
        full_text=REVIEW.config["screening"]["full_text"],
    output:
        screening="results/screening/screening.csv",
        prisma_json="results/screening/prisma.json",
        prisma_csv="results/screening/prisma.csv",
        conflicts="results/screening/conflicts.csv",
    log:
        "logs/screen_records.log",
    localrule: True
    params:
        code=code("screen_records"),
        content=REVIEW.content(
            [
                REVIEW.config["screening"]["title_abstract"],
                REVIEW.config["screening"]["full_text"],
            ]
        ),
        screening=REVIEW.config["screening"],
        sources=REVIEW.config["search"]["sources"],
    script:
        "../scripts/screen_records.py"


# Not part of `all`: ask for it by name (`snakemake export_records`) to get the de-duplicated
# records for a reference manager or screening tool, and the cluster table to review.
rule export_records:
    input:
        records="results/records/records.csv",
        unique="results/records/unique.csv",
        audit="results/records/audit.csv",
        screening="results/screening/screening.csv",
    output:
        ris="results/records/export/records.ris",
        csv="results/records/export/records.csv",
        clusters="results/records/export/clusters.csv",
    log:
        "logs/export_records.log",
    params:
        code=code("export_records"),
    script:
        "../scripts/export_records.py"
