"""The default review on a real (private, single-node) SLURM cluster through profiles/slurm.

Runs the review twice on disposable copies of the workflow, at the same time: once locally
(`--cores 2`) and once with `--workflow-profile profiles/slurm` (snakemake-executor-plugin-slurm,
sbatch + squeue against the cluster from the `slurm_cluster` fixture). Then checks that the jobs
really went through sbatch (the controller's log, squeue, the plugin's SLURM logs), that the
per-outcome rules were grouped into few submissions, that every results/pooled/*.json equals
the local run's, and that a dry run afterwards finds nothing to rerun.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slurm

REPO_ROOT = Path(__file__).resolve().parents[2]

VENV_BIN = Path(sys.executable).parent
PROFILE = yaml.safe_load((REPO_ROOT / "profiles" / "slurm" / "config.yaml").read_text())
GROUP = "outcomes"
COMPONENTS = 5
TIMEOUT = 900  # seconds per snakemake run; a hung run fails instead of blocking CI


def _copy(dest: Path) -> Path:
    """A disposable copy of the workflow, by tests/workflow/harness.py (imported by path)."""
    spec = importlib.util.spec_from_file_location(
        "metasr_tests_workflow_harness", REPO_ROOT / "tests" / "workflow" / "harness.py"
    )
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    dest.mkdir(parents=True)
    return harness.copy_review(dest)


def _venv_env(base: dict[str, str]) -> dict[str, str]:
    """The project's venv first on PATH, as after `source .venv/bin/activate`; jobs inherit it."""
    env = dict(base)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    return env


class Run:
    """A snakemake run in its own session, logged to a file; stop() ends it if it still runs."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str], log: Path):
        self.name, self.log = name, log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "snakemake"), "--snakefile", str(REPO_ROOT / "Snakefile"), *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait(self, deadline: float) -> str:
        try:
            self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} did not finish within {TIMEOUT}s:\n{self.log.read_text()[-6000:]}"
            ) from None
        text = self.log.read_text()
        assert self.proc.returncode == 0, f"{self.name} failed ({self.proc.returncode}):\n{text[-8000:]}"
        return text

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        # SIGINT first: snakemake then cancels its SLURM jobs (scancel) and exits.
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _pooled(workdir: Path) -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text()) for p in sorted((workdir / "results" / "pooled").glob("*.json"))
    }


def _outputs(workdir: Path) -> set[str]:
    return {str(p.relative_to(workdir)) for p in (workdir / "results").rglob("*") if p.is_file()}


def test_default_review_on_slurm_matches_local_run(slurm_cluster, tmp_path):
    local = _copy(tmp_path / "local")
    cluster = _copy(tmp_path / "slurm")

    t0 = time.monotonic()
    deadline = t0 + TIMEOUT
    runs = []
    try:
        # Both at once: the SLURM run spends much of its time waiting (queue, squeue polls).
        runs.append(
            Run("the local run", ["--cores", "2"], local, _venv_env(os.environ), tmp_path / "local.log")
        )
        runs.append(
            Run(
                "the SLURM run",
                [
                    "--workflow-profile",
                    str(REPO_ROOT / "profiles" / "slurm"),
                    # The cluster answers at once; no need to wait 20 s before the first squeue.
                    "--slurm-init-seconds-before-status-checks",
                    "2",
                    "--slurm-keep-successful-logs",
                    # Groups of 5 outcome jobs (the profile's value, stated here so that the
                    # test sees several group submissions whatever the profile says).
                    "--group-components",
                    f"{GROUP}={COMPONENTS}",
                ],
                cluster,
                slurm_cluster.client_env(_venv_env(os.environ)),
                tmp_path / "slurm.log",
            )
        )
        cluster_out = runs[1].wait(deadline)
        runs[0].wait(deadline)
    finally:
        for run in runs:
            run.stop()
    elapsed = time.monotonic() - t0

    # 1. Jobs went through sbatch: every SLURM job id the plugin reports was accepted by our
    #    controller and finished COMPLETED (squeue keeps finished jobs for MinJobAge).
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", cluster_out)
    assert submitted, f"no job was submitted to SLURM:\n{cluster_out[-6000:]}"
    ctld_log = slurm_cluster.controller_log()
    for job_id in submitted:
        assert (
            f"_slurm_rpc_submit_batch_job: JobId={job_id} " in ctld_log
        ), f"JobId={job_id} not in slurmctld log"
    jobs = {
        job_id: (state, cpus)
        for job_id, state, cpus in (
            line.split("|")
            for line in slurm_cluster.run("squeue", "--states=all", "-h", "-o", "%i|%T|%C").stdout.split()
        )
    }
    assert all(jobs.get(j, ("?",))[0] == "COMPLETED" for j in submitted), {j: jobs.get(j) for j in submitted}

    # 2. The outcome jobs (one per outcome here) ran inside SLURM jobs, grouped: at most ceil(outcomes / components)
    #    submissions, and each outcome's pooled result is named in one of their SLURM logs.
    pooled = _pooled(cluster)
    outcomes = sorted(name.removesuffix(".json") for name in pooled)
    # The plugin files a group job's log under group_<group>_<its rules>/.
    group_logs = sorted((cluster / ".snakemake" / "slurm_logs").glob(f"group_{GROUP}_*/**/*.log"))
    limit = math.ceil(len(outcomes) / COMPONENTS)
    assert 1 <= len(group_logs) <= limit, f"{len(group_logs)} group submissions for {len(outcomes)} outcomes"
    group_text = "\n".join(p.read_text(errors="replace") for p in group_logs)
    assert all(f"results/pooled/{o}.json" in group_text for o in outcomes)
    for p in group_logs:
        assert p.stem in submitted, f"{p} is not the log of a job this run submitted"
        # Members run one after another, so a group job books the profile's `cores` (1) CPUs.
        assert jobs[p.stem][1] == str(PROFILE["cores"]), (p, jobs[p.stem])

    # 3. Same results as the local run.
    local_pooled = _pooled(local)
    assert local_pooled, "the local run pooled nothing"
    assert sorted(pooled) == sorted(local_pooled)
    for name, result in local_pooled.items():
        ours = pooled[name]
        keys = sorted(
            k for k in set(result) | set(ours) if result.get(k, "<absent>") != ours.get(k, "<absent>")
        )
        assert not keys, (
            f"results/pooled/{name} differs between the SLURM and the local run in {keys} "
            "(in a shared checkout, also check whether src/metasr changed during the runs)"
        )
    assert _outputs(cluster) == _outputs(local)

    # 4. Snakemake's records of the jobs that ran on the node are complete: nothing to rerun.
    again = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--snakefile", str(REPO_ROOT / "Snakefile"), "-n",
         "--workflow-profile", str(REPO_ROOT / "profiles" / "slurm")],
        cwd=cluster,
        env=slurm_cluster.client_env(_venv_env(os.environ)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, (
        again.stdout + again.stderr
    )[-6000:]

    print(
        f"\nSLURM run: {len(submitted)} sbatch submissions ({len(group_logs)} for {len(outcomes)} outcomes), "
        f"both runs done in {elapsed:.0f}s"
    )
