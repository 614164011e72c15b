# Pooling: one job per outcome, with the outcome's measure, method and test from config.


rule pool_outcome:
    input:
        "results/extraction/{outcome}.csv",
    output:
        "results/pooled/{outcome}.json",
    log:
        "logs/pool_outcome/{outcome}.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["pooling"],
        analysis=analysis_settings,
    script:
        "../scripts/pool_outcome.py"
