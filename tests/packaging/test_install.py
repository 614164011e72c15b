"""metasr as an installed package: `pip install .` (not editable) into a fresh venv, then
`metasr init` and `metasr run` from an unrelated directory, with nothing from the checkout on the
path. The workflow, schemas and starter files must come from the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# What a source distribution needs to build the wheel (the rest of the repository is not shipped).
SOURCE = ("pyproject.toml", "README.md", "src")


def run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_installed_package_starts_and_runs_a_review(tmp_path: Path):
    source = tmp_path / "source"
    source.mkdir()
    for part in SOURCE:
        (shutil.copytree if (REPO / part).is_dir() else shutil.copy2)(
            REPO / part, source / part, **({"ignore": shutil.ignore_patterns("__pycache__", "*.egg-info")}
                                           if (REPO / part).is_dir() else {}))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin"
    run([str(python), "-m", "pip", "install", "-q", "-r", str(REPO / "requirements.lock")], tmp_path, env)
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(source)], tmp_path, env)
    shutil.rmtree(source)  # the installed package must not need its source

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run([str(python), "-c", "import metasr, metasr.resources as r; print(metasr.__file__); "
                                    "print(r.snakefile().is_file())"], work, env).stdout.split()
    assert "site-packages" in where[0] and where[1] == "True"
    run([str(env_dir / "bin" / "metasr"), "init", "review"], work, env)
    run([str(python), "-m", "metasr", "run", "review", "--cores", "2"], work, env)
    assert (work / "review" / "results" / "report.html").is_file()
    assert (work / "review" / "results" / "pooled" / "example_outcome.json").is_file()
    # One version source: what the CLI says is what the package metadata says.
    version = run([str(python), "-m", "metasr", "--version"], work, env).stdout.split()[-1]
    metadata = run([str(python), "-c", "import importlib.metadata as m; print(m.version('metasr'))"], work, env)
    assert version == metadata.stdout.strip()
