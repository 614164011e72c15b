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
