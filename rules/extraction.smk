# Extraction: one job per outcome turns its sheet into metafor-style effect inputs. The job's
# inputs are only this outcome's sheet; its studies' rows and settings arrive as params, so a change
# elsewhere in the review does not rerun it.


rule prepare_outcome:
    input:
        sheet=outcome_sheet,
    output:
        "results/extraction/{outcome}.csv",
    log:
        "logs/prepare_outcome/{outcome}.log",
    conda:
        "../envs/metasr.yaml"
    params:
        code=CODE["extraction"],
        outcome=conversion_settings,
        studies=outcome_studies,
        extraction=REVIEW.config["extraction"],
    script:
        "../scripts/prepare_outcome.py"
