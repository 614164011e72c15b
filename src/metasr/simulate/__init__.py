"""SYNTHETIC reviews for testing metasr end to end and at scale (`metasr simulate`).

`simulate_review` writes a complete review (search exports, screening decisions, extraction
sheets, config) from known true effects, with `truth.json` saying what the pipeline must recover;
`copy_workflow` adds the workflow code so that the folder runs with `snakemake`.
"""

from metasr.simulate.review import copy_workflow, simulate_review

__all__ = ["copy_workflow", "simulate_review"]
