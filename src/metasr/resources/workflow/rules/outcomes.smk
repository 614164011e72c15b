# Outcomes: each job takes its outcomes from extraction sheet to effect inputs, pooled results and
# figures, in one process (src/metasr/workflow/outcomes.py says why). Up to
# `execution.outcome_jobs` outcomes get a job each; more share that many jobs. What a job's
# outcomes need (their studies' rows, settings, outputs) is written by a small writer rule into one
# file, the job's only input (workflow.outcomes.job_inputs says why not params); the writer's
# inputs are the outcomes' sheets, so a change elsewhere in the review does not rerun them. The
# writer is a script, not a `run:` block: Snakemake runs `run:` jobs in a new Snakemake process
# that parses the whole workflow again (14 s of CPU per job at 2,000 outcomes).

for job_name, job_outcomes in OUTCOME_JOBS.items():

    rule:
        name:
            inputs_rule_name(job_name)
        input:
            sheets=[REVIEW.sheet(o) for o in job_outcomes],
        output:
            job_inputs_path(job_name),
        log:
            f"logs/outcomes/{inputs_rule_name(job_name)}.log",
        localrule: True
        params:
            inputs=pack_job_inputs(
                job_inputs({o: OUTCOME[o] for o in job_outcomes}, REVIEW.config)
            ),
            code=code("write_job_inputs"),
            content=REVIEW.content([REVIEW.sheet(o) for o in job_outcomes]),
        script:
            "../scripts/write_job_inputs.py"

    rule:
        name:
            job_name
        input:
            job_inputs_path(job_name),
        output:
            **outcome_job_outputs(job_outcomes, job_done_path(job_name)),
        log:
            f"logs/outcomes/{job_name}.log",
        group:
            "outcomes"
        resources:
            runtime=outcome_job_minutes(job_outcomes),
        params:
            code=code("analyse_outcomes"),
        script:
            "../scripts/analyse_outcomes.py"
