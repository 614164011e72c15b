"""Fail-safe N (Rosenthal, Orwin, Rosenberg) against metafor 3.8-1's fsn() on published data sets
(tests/fixtures/modelling/fsn.json): closed forms, 1e-9 relative; fsnum exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats.fsn import fsn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
CASES = json.loads((FIXTURES / "fsn.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_fsn_matches_metafor(case):
    t = pd.read_csv(FIXTURES / case["input"])
    res = fsn(t["yi"], t["vi"], type=case["type"], alpha=case["alpha"], target=case.get("target"),
              weighted=case["weighted"])
    e = case["expected"]
    assert res["fsnum"] == e["fsnum"]
    for key in ("alpha", "pval", "meanes", "target"):
        if e[key] is None:
            assert res[key] is None, key
        else:
            assert np.isclose(res[key], e[key], rtol=1e-9, atol=0), key


def test_every_type_is_covered():
    assert {c["type"] for c in CASES} == {"Rosenthal", "Orwin", "Rosenberg"}


def test_unknown_type_is_an_input_error():
    with pytest.raises(InputError, match="fail-safe"):
        fsn([0.1, 0.2], [0.01, 0.02], type="REM")
