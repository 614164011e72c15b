"""Library checksums per stage: a code change reruns the stage that runs that code, nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import metasr
from metasr.workflow.review import code_fingerprint

PACKAGE = Path(metasr.__file__).resolve().parent


def copy_package(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PACKAGE, tmp_path / "metasr", ignore=shutil.ignore_patterns("__pycache__")))


def test_fingerprint_is_stable_and_scoped(tmp_path):
    package = copy_package(tmp_path)
    stats_before = code_fingerprint("stats", package=package)
    records_before = code_fingerprint("records", package=package)
    assert stats_before == code_fingerprint("stats", package=package) != records_before

    tau2 = package / "stats" / "tau2.py"
    tau2.write_bytes(tau2.read_bytes())  # touched, not changed
    assert code_fingerprint("stats", package=package) == stats_before

    tau2.write_text(tau2.read_text() + "\n# a change\n")
    assert code_fingerprint("stats", package=package) != stats_before
    assert code_fingerprint("records", package=package) == records_before


def test_shared_modules_count_for_every_stage(tmp_path):
    package = copy_package(tmp_path)
    stages = ("records", "screening", "extraction", "stats", "figures", "report")
    before = {stage: code_fingerprint(stage, package=package) for stage in stages}
    (package / "io.py").write_text((package / "io.py").read_text() + "\n# a change\n")
    assert all(code_fingerprint(stage, package=package) != before[stage] for stage in stages)


def test_templates_count_for_the_report(tmp_path):
    package = copy_package(tmp_path)
    before = code_fingerprint("report", package=package)
    template = next((package / "report").rglob("*.j2"))
    template.write_text(template.read_text() + "\n")
    assert code_fingerprint("report", package=package) != before
