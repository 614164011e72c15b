"""Shared test helpers: where the repository and the read-only ../shared folder are, and the pooled
results that figure and report tests draw from: reference results (real published data sets, numbers
from R metafor) and SYNTHETIC pooled results of any size (tests/fixtures/pooled/synthetic.py)."""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (a fresh clone has no shared data)")
    return SHARED


POOLED_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "pooled"


def _load_synthetic():
    spec = importlib.util.spec_from_file_location("pooled_synthetic", POOLED_FIXTURES / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def synthetic_pooled():
    return _load_synthetic().synthetic_pooled


@pytest.fixture
def synthetic_module():
    return _load_synthetic()


@pytest.fixture
def bcg_pooled():
    return json.loads((POOLED_FIXTURES / "bcg_rr.json").read_text())


@pytest.fixture
def normand_pooled():
    return json.loads((POOLED_FIXTURES / "normand_smd.json").read_text())


@pytest.fixture
def review_config():
    return yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())


def _mount(*args: str) -> bool:
    import subprocess

    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    import subprocess

    subprocess.run(["umount", str(path)], capture_output=True)


@pytest.fixture
def full_disk(tmp_path) -> Path:
    """A folder on a real file system with 64 kB, nearly all of it taken: writes fail with ENOSPC.
    Needs root (mount); skipped otherwise (tests that monkeypatch the error run everywhere)."""
    import os

    place = tmp_path / "full"
    place.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(place)):
        pytest.skip("a small tmpfs needs root and mount")
    try:
        try:
            with open(place / "filler", "wb") as handle:
                while True:
                    handle.write(b"\0" * 1024)
                    handle.flush()
        except OSError:
            pass
        yield place
    finally:
        _umount(place)


@pytest.fixture
def read_only_dir(tmp_path) -> Path:
    """A read-only view (bind mount) of an empty folder: writes fail with EROFS even for root.
    Needs root (mount); skipped otherwise."""
    import os

    source, view = tmp_path / "source", tmp_path / "read_only"
    source.mkdir()
    view.mkdir()
    if os.geteuid() != 0 or not _mount("--bind", str(source), str(view)):
        pytest.skip("a read-only bind mount needs root and mount")
    try:
        if not _mount("-o", "remount,bind,ro", str(view)):
            pytest.skip("cannot remount read-only")
        yield view
    finally:
        _umount(view)


@pytest.fixture(scope="session")
def attractiveness_table():
    """A function giving the red-and-attractiveness experiments (tests/fixtures/dependent: several
    experiments per paper, arm means and SDs) as an extraction table, a new copy each call."""
    import pandas as pd

    raw = pd.read_csv(REPO_ROOT / "tests" / "fixtures" / "dependent" / "inputs" / "attractiveness.csv")

    def table() -> pd.DataFrame:
        return pd.DataFrame({"study_id": raw["study_id"], "label": raw["label"], "year": raw["year"],
                             "comparison": raw["comparison"], "m1i": raw["mean1"], "sd1i": raw["sd1"],
                             "n1i": raw["n1"], "m2i": raw["mean2"], "sd2i": raw["sd2"], "n2i": raw["n2"]})

    return table


@pytest.fixture(scope="session")
def konstantopoulos_table():
    """A function giving dat.konstantopoulos2011 (schools within districts; tests/fixtures/multilevel)
    as the yi, vi rows of an outcome, district = study ("D11"); `first_school=True`: one effect size
    per study (each district's first school). A new copy each call."""
    import pandas as pd

    raw = pd.read_csv(REPO_ROOT / "tests" / "fixtures" / "multilevel" / "inputs" / "konstantopoulos2011.csv")

    def table(first_school: bool = False) -> pd.DataFrame:
        out = pd.DataFrame({"study_id": "D" + raw["district"].astype(str), "year": raw["year"], "yi": raw["yi"],
                            "vi": raw["vi"]})
        return out.drop_duplicates("study_id").reset_index(drop=True) if first_school else out

    return table
