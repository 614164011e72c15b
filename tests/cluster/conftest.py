"""Fixtures for the SLURM tests: a private single-node cluster per test module, always stopped."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Test modules here import the cluster harness by name (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(HERE))
from local_slurm import LocalSlurm, LocalSlurmError, unavailable_reason  # noqa: E402


def _raise_on_sigterm(signum, frame):
    # A CI timeout or `kill` sends SIGTERM; turn it into an exception so that fixture teardown
    # still stops the daemons (Python's default SIGTERM action skips every finally block).
    raise SystemExit(128 + signum)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running private SLURM cluster (munged, slurmctld, slurmd on 127.0.0.1), stopped after the module."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"local SLURM cluster unavailable: {reason}")
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    state = Path(tempfile.mkdtemp(prefix="metasr-slurm-"))  # short path: munge's socket name is limited
    cluster = LocalSlurm(state)
    try:
        try:
            cluster.start()
        except LocalSlurmError as err:
            pytest.fail(f"could not start the local SLURM cluster:\n{err}")
        yield cluster
    finally:
        cluster.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(state, ignore_errors=True)
