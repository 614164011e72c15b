"""Run the workflow on a disposable copy of the project (code, config, data)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_PARTS = ["Snakefile", "rules", "scripts", "config", "data", "report", "envs", "profiles"]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO_ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        else:
            shutil.copy2(src, dest / part)
    return dest


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True)
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
