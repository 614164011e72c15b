# Outcomes: each job takes its outcomes from extraction sheet to effect inputs, pooled results and
# figures, in one process (src/metasr/workflow/outcomes.py says why). Up to
# `execution.outcome_jobs` outcomes get a job each; more share that many jobs. A job's only file
# inputs are its outcomes' sheets; their studies' rows and settings arrive as params, so a change
# elsewhere in the review does not rerun it.

for job_name, job_outcomes in OUTCOME_JOBS.items():

    rule:
        name:
            job_name
        input:
            sheets=[REVIEW.sheet(o) for o in job_outcomes],
        output:
            **outcome_job_outputs(job_outcomes),
        log:
            f"logs/outcomes/{job_name}.log",
        group:
            "outcomes"
        resources:
            runtime=outcome_job_minutes(job_outcomes),
        params:
            code=CODE["outcomes"],
            outcomes={o: OUTCOME[o] for o in job_outcomes},
            extraction=REVIEW.config["extraction"],
            review=REVIEW.config["review"],
        script:
            "../scripts/analyse_outcomes.py"
