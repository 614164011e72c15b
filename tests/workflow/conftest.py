"""Fixtures: a disposable copy of the workflow, and one finished run of the default review."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Test modules here import the harness by name (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import copy_review, run_snakemake


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Path:
    return copy_review(tmp_path / "review")


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """The default review, run once to completion, shared by the tests that only read results."""
    workdir = copy_review(tmp_path_factory.mktemp("finished") / "review")
    run_snakemake(workdir, "--cores", "2")
    return workdir
