"""Shared paths for the records tests. `../shared` is optional: tests that need it skip."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "exports"
SHARED = REPO.parent / "shared"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "samples" / "exports").is_dir():
        pytest.skip("../shared is not available")
    return SHARED
