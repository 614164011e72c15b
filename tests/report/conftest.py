"""Fixtures for figure tests: reference pooled results (real published data sets, numbers from
R metafor) and SYNTHETIC pooled results of any size (tests/fixtures/pooled/synthetic.py)."""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pooled"
REPO = Path(__file__).resolve().parents[2]


def _load_synthetic():
    spec = importlib.util.spec_from_file_location("pooled_synthetic", FIXTURES / "synthetic.py")
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
    return json.loads((FIXTURES / "bcg_rr.json").read_text())


@pytest.fixture
def normand_pooled():
    return json.loads((FIXTURES / "normand_smd.json").read_text())


@pytest.fixture
def review_config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())
