"""profiles/slurm/config.yaml stays consistent with the workflow (no cluster needed)."""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILE = yaml.safe_load((REPO_ROOT / "profiles" / "slurm" / "config.yaml").read_text())
DEFAULT = yaml.safe_load((REPO_ROOT / "profiles" / "default" / "config.yaml").read_text())
RULES = {
    m.group(1)
    for f in sorted((REPO_ROOT / "rules").glob("*.smk"))
    for m in re.finditer(r"^rule (\w+):", f.read_text(), re.MULTILINE)
}


def test_executor_and_status_by_squeue():
    assert PROFILE["executor"] == "slurm"
    # sacct without accounting never reports a job: the run would wait forever.
    assert PROFILE["slurm-status-command"] == "squeue"
    # squeue sees finished jobs for MinJobAge (default 300 s); the plugin needs >= 3 x this delay.
    assert 3 * PROFILE["slurm-init-seconds-before-status-checks"] <= 300


def test_outcome_jobs_are_grouped():
    rules = (REPO_ROOT / "rules" / "outcomes.smk").read_text()
    assert re.search(r'group:\s*\n\s*"outcomes"', rules), "the outcome rules lost their group"
    assert PROFILE["group-components"]["outcomes"] >= 2


def test_named_rules_exist():
    # A renamed rule would silently lose its resources.
    named = set(PROFILE["set-resources"])
    assert named <= RULES, f"profile names rules the workflow lacks: {sorted(named - RULES)}"


def test_resources_for_sbatch():
    defaults = PROFILE["default-resources"]
    assert defaults["runtime"] > 0 and defaults["mem_mb"] > 0
    # cpus_per_task would override each rule's `threads`.
    assert "cpus_per_task" not in defaults
    for rule, res in PROFILE["set-resources"].items():
        assert set(res) <= {"runtime", "mem_mb", "cpus_per_task", "slurm_partition", "slurm_extra"}, rule


def test_general_settings_of_the_default_profile_are_kept():
    # --workflow-profile profiles/slurm replaces profiles/default for the run.
    for key, value in DEFAULT.items():
        if key != "cores":
            assert PROFILE.get(key) == value, key


def test_snakemake_accepts_the_profile_and_groups_outcomes(tmp_path):
    """A dry run with the profile (no cluster needed): every key is a valid option, and the
    outcome jobs of the default review form ceil(outcome jobs / group-components) group jobs."""
    spec = importlib.util.spec_from_file_location(
        "metasr_tests_workflow_harness", REPO_ROOT / "tests" / "workflow" / "harness.py"
    )
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    workdir = tmp_path / "review"
    workdir.mkdir()
    harness.copy_review(workdir)
    proc = subprocess.run(
        harness.snakemake_command("-n", "--workflow-profile", str(REPO_ROOT / "profiles" / "slurm")),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    # The outcome jobs, not the local rules that write their inputs files.
    outcome_jobs = {r for r in re.findall(r"rule (outcome_\w+):", out) if not r.endswith("__inputs")}
    assert outcome_jobs, out[-3000:]
    groups = re.findall(r"Group job outcomes", out)
    assert len(groups) == math.ceil(len(outcome_jobs) / PROFILE["group-components"]["outcomes"]), out[-3000:]
