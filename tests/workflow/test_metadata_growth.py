"""Snakemake's metadata store grows linearly with the number of outcomes (issue 17).

Snakemake keeps a job's params and its list of inputs in the record of every output file of the
job. When batch jobs carried their outcomes' rows as params, the store grew as outcomes x batch
size (26 GB at 2,000 outcomes) and every invocation read it back. Measured here on review folders
whose outcomes have header-only sheets (SYNTHETIC: no study data, so each outcome job is quick)
and five outcome jobs: the bytes per outcome must stay flat from 50 to 500 outcomes, as the issue
asks (batches of 10 and of 100 outcomes; bench/bench_scale.py measures 500 and 2,000 outcomes with
data).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import run_snakemake

pytestmark = pytest.mark.slow

from metasr.extraction.sheets import OUTCOME_COLUMNS  # noqa: E402

JOBS = 5


def review_with_outcomes(folder: Path, n: int) -> Path:
    metasr = Path(sys.executable).with_name("metasr")
    subprocess.run([str(metasr), "init", str(folder), "--no-search"], check=True, capture_output=True)
    config = folder / "config.yaml"
    text = config.read_text().split("\noutcomes:\n")[0]
    outcomes = "".join(f"  synthetic_{i:04d}:\n    label: SYNTHETIC outcome {i}\n    measure: SMD\n" for i in range(n))
    config.write_text(text + f"\nexecution:\n  png: false\n  outcome_jobs: {JOBS}\noutcomes:\n" + outcomes)
    sheets = folder / "data" / "extraction" / "outcomes"
    for old in sheets.glob("*.csv"):
        old.unlink()
    for i in range(n):
        (sheets / f"synthetic_{i:04d}.csv").write_text(",".join(OUTCOME_COLUMNS) + "\n")
    return folder


def metadata_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in (folder / ".snakemake" / "metadata").rglob("*") if p.is_file())


def test_metadata_bytes_per_outcome_stay_flat(tmp_path):
    per_outcome = {}
    for n in (50, 500):
        folder = review_with_outcomes(tmp_path / f"review_{n}", n)
        run_snakemake(folder, "--cores", "2")
        assert "Nothing to be done" in run_snakemake(folder, "--cores", "1", "--dry-run").stdout
        per_outcome[n] = metadata_bytes(folder) / n
    assert per_outcome[500] < 1.25 * per_outcome[50], per_outcome
    assert per_outcome[500] < 8_000, per_outcome  # 50 MB at 2,000 outcomes would be 25,000 per outcome
