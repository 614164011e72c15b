"""SYNTHETIC reviews for testing metasr end to end and at scale (`metasr simulate`).

`simulate_review` writes a complete review folder (search exports, screening decisions, extraction
sheets, config) from known true effects, with `truth.json` saying what the pipeline must recover;
`metasr run FOLDER` runs it.
"""

from metasr.simulate.review import simulate_review

__all__ = ["simulate_review"]
