"""Benchmark: a run of the default review with nothing changed (living-review target: under 3 s).

Copies the workflow into a temporary folder, runs the default review once to completion, then times
repeated `snakemake --cores 2` runs that have nothing to do, and a dry run after one outcome's method
changed. Writes the numbers into bench/RESULTS.md under "## Living review".

Run: .venv/bin/python bench/bench_living.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "workflow"))
from harness import copy_review, run_snakemake  # noqa: E402

SECTION = "## Living review"


def timed(workdir: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = run_snakemake(workdir, *args)
    return time.perf_counter() - start, proc.stdout + proc.stderr


def measure(repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = copy_review(Path(tmp) / "review")
        full, _ = timed(workdir, "--cores", "2")
        noop = []
        for _ in range(repeats):
            seconds, out = timed(workdir, "--cores", "2")
            assert "Nothing to be done" in out, out[-2000:]
            noop.append(seconds)
        config = workdir / "config" / "config.yaml"
        config.write_text(config.read_text().replace("\n  sdmt:\n", "\n  sdmt:\n    method: DL\n", 1))
        one_outcome, _ = timed(workdir, "--cores", "2")
    return {"full": full, "noop": noop, "one_outcome": one_outcome}


def write_results(numbers: dict) -> str:
    noop = numbers["noop"]
    load = os.getloadavg()[0]
    text = (f"{SECTION}\n\n"
            f"Measured by `bench/bench_living.py` on {platform.node()} ({os.cpu_count()} cores, "
            f"load average {load:.1f} at the end), {time.strftime('%Y-%m-%d')}.\n\n"
            "| run | wall time |\n|---|---|\n"
            f"| default review from scratch (`--cores 2`) | {numbers['full']:.1f} s |\n"
            f"| nothing changed: median of {len(noop)} runs (target < 3 s) | {statistics.median(noop):.2f} s "
            f"(min {min(noop):.2f}, max {max(noop):.2f}) |\n"
            f"| one outcome's tau2 method changed (its outcome job + summary + report) | "
            f"{numbers['one_outcome']:.1f} s |\n")
    results = REPO / "bench" / "RESULTS.md"
    current = results.read_text() if results.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(current):
        updated = pattern.sub(text.rstrip("\n"), current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    results.write_text(updated if updated.endswith("\n") else updated + "\n")
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    print(write_results(measure(parser.parse_args().repeats)))
