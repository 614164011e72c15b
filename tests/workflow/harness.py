"""Run the workflow on a disposable copy of the default review (a review folder: config and data).

The workflow itself is the repository's (`--snakefile`); the copy is the working directory, as
with `metasr run FOLDER` or `snakemake --directory FOLDER`."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REVIEW_PARTS = ["config", "data"]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SNAKEFILE = str(REPO_ROOT / "Snakefile")


def copy_review(dest: Path) -> Path:
    """The default review (config/ and data/) copied into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in REVIEW_PARTS:
        shutil.copytree(REPO_ROOT / part, dest / part)
    return dest


def read_rows(path: Path) -> list[dict]:
    """A CSV the workflow wrote, as dicts (plain csv: what a user's spreadsheet would see)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, columns: list[str], rows: list[dict], ignore_extra: bool = False) -> None:
    """A sheet as a user writes it (plain csv); keys outside `columns` refused unless ignored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n",
                                extrasaction="ignore" if ignore_extra else "raise")
        writer.writeheader()
        writer.writerows(rows)


def write_config(folder: Path, config: dict) -> Path:
    """`config` written as the review folder's config.yaml; returns the folder."""
    import yaml

    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return folder


def finished_review(folder: Path) -> Path:
    """The review folder after a whole run (for module-scoped fixtures)."""
    run_snakemake(folder, "--cores", "2")
    return folder


def read_pooled(folder: Path, outcome: str) -> dict:
    return json.loads((folder / "results" / "pooled" / f"{outcome}.json").read_text())


def snakemake_command(*args: str) -> list[str]:
    """snakemake with the repository's workflow, run in the review folder (the working directory)."""
    return [SNAKEMAKE, "--snakefile", SNAKEFILE, *args]


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(snakemake_command(*args), cwd=workdir, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def planned_jobs(workdir: Path) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run plans, without the `all` target."""
    out = run_snakemake(workdir, "--dry-run", "--cores", "1").stdout
    jobs, rule = set(), None
    for line in out.splitlines():
        header = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if header:
            if rule:
                jobs.add((rule, ""))
            rule = header.group(1)
            continue
        wildcards = re.match(r"^\s+wildcards: (.*)$", line)
        if wildcards and rule:
            jobs.add((rule, wildcards.group(1).split("=", 1)[1] if "=" in wildcards.group(1) else ""))
            rule = None
        elif rule and line.strip() == "" :
            jobs.add((rule, ""))
            rule = None
    if rule:
        jobs.add((rule, ""))
    jobs.discard(("all", ""))
    # An empty plan must be Snakemake saying so, not a dry-run format this parser misses.
    assert jobs or "Nothing to be done" in out, out[-3000:]
    return jobs
