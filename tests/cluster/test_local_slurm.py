"""The private cluster harness itself: jobs run through sbatch/srun, and stop() ends what start() began."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from local_slurm import LocalSlurm, unavailable_reason


def _wait_for_jobs(cluster: LocalSlurm, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while cluster.run("squeue", "-h", "-o", "%i").stdout.strip():
        assert time.monotonic() < deadline, cluster.run("squeue", "--states=all").stdout
        time.sleep(0.2)


@pytest.mark.slurm
def test_batch_job_and_nested_srun_without_slurm_conf(slurm_cluster, tmp_path):
    # As snakemake-executor-plugin-slurm-jobstep does on the node: drop SLURM_CONF, then srun.
    out = tmp_path / "job.out"
    script = 'echo "job=$SLURM_JOB_ID"; unset SLURM_CONF; srun -n1 sh -c \'echo "step=$SLURM_JOB_ID.$SLURM_STEP_ID"\''
    job_id = slurm_cluster.run(
        "sbatch", "--parsable", "-o", str(out), "-D", str(tmp_path), "--wrap", script
    ).stdout
    job_id = job_id.strip().split(";")[0]
    _wait_for_jobs(slurm_cluster)
    state = slurm_cluster.run("squeue", "--states=all", "-h", "-j", job_id, "-o", "%T").stdout.strip()
    assert state == "COMPLETED", f"{state}\n{out.read_text() if out.exists() else ''}\n{slurm_cluster.logs()}"
    assert out.read_text().split() == [f"job={job_id}", f"step={job_id}.0"]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.slurm
def test_stop_ends_exactly_the_daemons_it_started():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"local SLURM cluster unavailable: {reason}")
    cluster = LocalSlurm(Path(tempfile.mkdtemp(prefix="metasr-slurm-")))
    try:
        cluster.start()
        pids = {name: proc.pid for name, proc in cluster.procs.items()}
        assert sorted(pids) == ["munged", "slurmctld", "slurmd"]
        assert all(_alive(pid) for pid in pids.values())
        assert cluster.node_state() == "idle"
        # A job still running at stop() is cancelled, not left behind.
        cluster.run("sbatch", "-o", "/dev/null", "--wrap", "sleep 300")
    finally:
        cluster.stop()
        shutil.rmtree(cluster.state_dir, ignore_errors=True)
    assert cluster.procs == {}
    assert not any(_alive(pid) for pid in pids.values())
    cluster.stop()  # idempotent


def test_skip_reasons(monkeypatch):
    import local_slurm

    monkeypatch.setattr(local_slurm.os, "geteuid", lambda: 1000)
    assert "root" in unavailable_reason()
    monkeypatch.setattr(local_slurm.os, "geteuid", lambda: 0)
    monkeypatch.setattr(local_slurm.shutil, "which", lambda name: None)
    monkeypatch.setattr(local_slurm, "SBIN_DIRS", ())
    reason = unavailable_reason()
    assert "slurmctld" in reason and "munged" in reason and "install_system_deps" in reason
