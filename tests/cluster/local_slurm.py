"""A private, throw-away, single-node SLURM cluster on 127.0.0.1 for integration tests.

Everything lives in one state directory: a fresh munge key and its own munged socket, a
private ``slurm.conf`` (selected through the ``SLURM_CONF`` environment variable, so /etc/slurm
and /etc/munge are never touched), spool and state directories, logs, and free TCP ports for
slurmctld and slurmd. Accounting is off (no slurmdbd): job status must be polled with
``squeue``, which shows finished jobs for ``MinJobAge`` seconds. ``bin/`` holds wrappers of the
SLURM client commands that pin SLURM_CONF, for processes that strip it (see ``env``).

The daemons run in the foreground as children of this process (``Popen``, own session), so
``stop()`` signals exactly the PIDs it started and nothing else. ``stop()`` first cancels the
jobs still known to this private controller (their ``slurmstepd`` processes outlive slurmd).

Needs root (slurmd launches jobs as the submitting user and must own the spool) and the
Debian packages slurmctld, slurmd, slurm-client and munge; ``unavailable_reason()`` says why
a cluster cannot be started here, for a clean ``pytest.skip``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
MUNGE_TOOLS = ("munge", "unmunge")
SLURM_CLIENTS = ("sbatch", "srun", "squeue", "scontrol", "sinfo", "scancel")
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


class LocalSlurmError(RuntimeError):
    """The cluster could not be started (with the daemon logs that say why)."""


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN_DIRS:
        candidate = Path(d) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot run on this machine, or None when it can."""
    if not hasattr(os, "geteuid") or not Path("/proc").is_dir():
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root (slurmd must own its spool and start jobs); run `make test` as root"
    missing = [b for b in (*DAEMONS, *MUNGE_TOOLS, *SLURM_CLIENTS) if find_binary(b) is None]
    if missing:
        return (
            f"SLURM/munge binaries not found: {', '.join(missing)} "
            "(install slurmctld slurmd slurm-client munge, e.g. tools/install_system_deps.sh as root)"
        )
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 2048


@dataclass
class LocalSlurm:
    """A single-node cluster in ``state_dir``: ``start()``, run jobs with ``env``, ``stop()``."""

    state_dir: Path
    partition: str = "debug"
    # The node as SLURM sees it. `SlurmdParameters=config_overrides` lets it claim more than the
    # machine has (at least 4 CPUs and 8 GB by default), so that jobs sized for a real cluster
    # (sbatch --mem, --cpus-per-task) are accepted on a small CI runner and a 2-CPU group job does
    # not hold up every other job; nothing enforces the limits here (no cgroups), SLURM only books
    # them.
    cpus: int = field(default_factory=lambda: max(os.cpu_count() or 1, 4))
    mem_mb: int = field(default_factory=lambda: max(int(_mem_total_mb() * 0.8), 8192))
    # Finished jobs stay visible to `squeue --states=all` this long (no accounting here). The
    # plugin needs MinJobAge >= 3 x its first status-check delay or it falls back to sacct; an
    # hour also lets a test list every job of its run afterwards.
    min_job_age: int = 3600
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        self.conf = self.state_dir / "slurm.conf"
        self.log_dir = self.state_dir / "log"
        self.munge_dir = self.state_dir / "munge"
        self.munge_socket = self.munge_dir / "munge.socket"
        self.bin_dir = self.state_dir / "bin"
        self.ctld_port = 0
        self.slurmd_port = 0

    # ------------------------------------------------------------------ environment
    @property
    def env(self) -> dict[str, str]:
        """Variables that point SLURM clients (and the jobs they submit) at this cluster.

        Besides SLURM_CONF, ``PATH`` starts with ``bin_dir``: wrappers of the client commands that
        pin SLURM_CONF. They matter inside jobs: snakemake-executor-plugin-slurm-jobstep (0.6.1)
        drops every SLURM_* variable except the job's identity before it runs the job step with
        `srun`, so a bare `srun` would look for /etc/slurm/slurm.conf (a real cluster has one;
        this private cluster deliberately does not write it).
        """
        return {"SLURM_CONF": str(self.conf), "PATH": self._path(os.environ.get("PATH", ""))}

    def _path(self, path: str) -> str:
        return os.pathsep.join([str(self.bin_dir), *(p for p in path.split(os.pathsep) if p), *SBIN_DIRS])

    def client_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) without SLURM job variables, plus ``env``."""
        base = dict(os.environ if base is None else base)
        env = {k: v for k, v in base.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = self._path(base.get("PATH", ""))
        return env

    def run(self, *cmd: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster."""
        proc = subprocess.run(
            list(cmd), env=self.client_env(), capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise LocalSlurmError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    # ------------------------------------------------------------------ set-up
    def _write_files(self) -> None:
        for d in (self.log_dir, self.munge_dir, self.state_dir / "ctld", self.state_dir / "slurmd"):
            d.mkdir(parents=True, exist_ok=True)
        # munged insists on private directories for its key and socket.
        os.chmod(self.state_dir, 0o755)
        os.chmod(self.munge_dir, 0o700)
        key = self.munge_dir / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))  # what `mungekey --create` does, without needing it
        os.chmod(key, 0o400)

        self.ctld_port = free_port()
        self.slurmd_port = free_port()
        while self.slurmd_port == self.ctld_port:
            self.slurmd_port = free_port()
        (self.state_dir / "plugstack.conf").write_text("")
        self.bin_dir.mkdir(exist_ok=True)
        for name in SLURM_CLIENTS:
            wrapper = self.bin_dir / name
            wrapper.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{find_binary(name)}" "$@"\n')
            wrapper.chmod(0o755)
        s = self.state_dir
        self.conf.write_text(f"""\
# Private single-node cluster for metasr's integration tests (tests/cluster/local_slurm.py).
ClusterName=metasrci
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
PlugStackConfig={s}/plugstack.conf
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmctldPidFile={s}/ctld/slurmctld.pid
SlurmdPidFile={s}/slurmd/slurmd.pid
StateSaveLocation={s}/ctld
SlurmdSpoolDir={s}/slurmd
SlurmctldLogFile={self.log_dir}/slurmctld.log
SlurmdLogFile={self.log_dir}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge={self.min_job_age}
SlurmdParameters=config_overrides
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.mem_mb} State=UNKNOWN
PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def _spawn(self, name: str, *cmd: str) -> None:
        out = open(self.log_dir / f"{name}.out", "ab")
        try:
            self.procs[name] = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.client_env(),
                start_new_session=True,  # a terminal's Ctrl-C goes to pytest, which stops us cleanly
            )
        finally:
            out.close()

    def _wait(self, what: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise LocalSlurmError(
                        f"{name} exited ({proc.returncode}) while waiting for {what}\n{self.logs()}"
                    )
            if ready():
                return
            time.sleep(0.2)
        raise LocalSlurmError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")

    def _munge_works(self) -> bool:
        sock = f"--socket={self.munge_socket}"
        cred = subprocess.run([find_binary("munge"), sock, "-n"], capture_output=True)
        if cred.returncode != 0:
            return False
        back = subprocess.run([find_binary("unmunge"), sock], input=cred.stdout, capture_output=True)
        return back.returncode == 0

    def _ctld_up(self) -> bool:
        proc = self.run("scontrol", "ping", check=False, timeout=10)
        return "UP" in proc.stdout

    def node_state(self) -> str:
        proc = self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%T", check=False, timeout=10)
        return proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else ""

    def start(self, timeout: float = 60) -> LocalSlurm:
        reason = unavailable_reason()
        if reason:
            raise LocalSlurmError(reason)
        self._write_files()
        try:
            self._spawn(
                "munged",
                find_binary("munged"),
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={self.munge_dir / 'munge.key'}",
                f"--pid-file={self.munge_dir / 'munged.pid'}",
                f"--seed-file={self.munge_dir / 'munged.seed'}",
                f"--log-file={self.log_dir / 'munged.log'}",
            )
            self._wait("munged", self._munge_works, timeout)
            # -c: clean start (no saved jobs), -i: ignore state errors; -D: foreground.
            self._spawn("slurmctld", find_binary("slurmctld"), "-D", "-c", "-i", "-f", str(self.conf))
            self._wait("slurmctld", self._ctld_up, timeout)
            self._spawn("slurmd", find_binary("slurmd"), "-D", "-f", str(self.conf), "-N", self.node)
            self._wait(
                f"node {self.node} to become idle",
                lambda: self.node_state() in ("idle", "mixed", "allocated", "completing"),
                timeout,
            )
        except BaseException:
            self.stop()
            raise
        return self

    # ------------------------------------------------------------------ inspection
    def logs(self, tail: int = 40) -> str:
        parts = []
        for f in sorted(self.log_dir.glob("*")):
            lines = f.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {f.name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(parts)

    def controller_log(self) -> str:
        f = self.log_dir / "slurmctld.log"
        return f.read_text(errors="replace") if f.exists() else ""

    def job_ids(self) -> list[str]:
        """Jobs this controller still knows (pending, running, or finished < MinJobAge ago)."""
        proc = self.run("squeue", "--states=all", "-h", "-o", "%i", check=False, timeout=10)
        return proc.stdout.split()

    # ------------------------------------------------------------------ tear-down
    def _active_job_ids(self) -> list[str]:
        proc = self.run("squeue", "-h", "-o", "%i", check=False, timeout=10)
        return proc.stdout.split() if proc.returncode == 0 else []

    def stop(self, grace: float = 10) -> None:
        """Cancel our jobs, then stop the daemons we started (only those PIDs). Idempotent."""
        ctld = self.procs.get("slurmctld")
        if ctld is not None and ctld.poll() is None:
            try:
                jobs = self._active_job_ids()
                if jobs:
                    self.run("scancel", *jobs, check=False, timeout=10)
                    deadline = time.monotonic() + grace
                    while self._active_job_ids() and time.monotonic() < deadline:
                        time.sleep(0.2)
            except (subprocess.SubprocessError, OSError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=grace)

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
