"""Run the packaged Snakemake workflow on a review folder (`metasr run`, `make run`).

The review is checked here first, in this process, so that a mistake is reported as the list of
problems the rest of metasr prints (Snakemake would frame the same message with its own location
lines); then Snakemake runs the workflow shipped in the package (metasr.resources) with the review
folder as its working directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from metasr.folder import find_review
from metasr.resources import snakefile


def check_review(folder: str | Path):
    """Load and validate the review in `folder` (InputError listing every problem)."""
    from metasr.config import read_config
    from metasr.workflow.review_cache import load_review_cached

    location = find_review(folder)
    raw = read_config(location.config_file, shown=location.shown_config)
    return location, load_review_cached(raw, location.root, location.shown_config)


def snakemake_command(root: Path, snakemake_args: list[str]) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile()), "--directory", str(root),
            *snakemake_args]


def run_review(folder: str | Path, snakemake_args: list[str]) -> int:
    """Check the review, then run Snakemake on it; Snakemake's exit status is returned."""
    location, review = check_review(folder)
    for warning in review.warnings:
        print(warning.format(), file=sys.stderr)
    return subprocess.call(snakemake_command(location.root, snakemake_args))
