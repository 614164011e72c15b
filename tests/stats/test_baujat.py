"""Baujat coordinates on the fitted model (any method, test and moderators) against metafor
3.8-1's baujat() (tests/fixtures/modelling/baujat.json): 1e-6 relative (1e-5 for REML)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.stats.metareg import design_matrix, fit_metareg
from metasr.stats.sensitivity import baujat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
CASES = json.loads((FIXTURES / "baujat.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_baujat_matches_metafor(case):
    t = pd.read_csv(FIXTURES / case["input"], dtype=str, keep_default_na=False)
    X, names = design_matrix(t, case["formula"])
    fit = fit_metareg(t["yi"].astype(float), t["vi"].astype(float), X, names, case["method"], case["test"])
    res = baujat(fit)
    rtol = 1e-5 if case["method"] == "REML" else 1e-6
    assert np.allclose(res["x"], case["expected"]["x"], rtol=rtol, atol=1e-12)
    assert np.allclose(np.array(res["y"], float), case["expected"]["y"], rtol=rtol, atol=1e-12)


def test_random_effects_baujat_differs_from_the_common_effect_one():
    """Issue 13: the old plot always used the common-effect model."""
    case = next(c for c in CASES if c["method"] == "REML" and c["formula"] == "~ 1" and "bcg" in c["id"])
    t = pd.read_csv(FIXTURES / case["input"])
    from metasr.stats.models import fit_rma

    re, fe = baujat(fit_rma(t["yi"], t["vi"], method="REML")), baujat(fit_rma(t["yi"], t["vi"], method="FE"))
    assert np.max(np.abs(np.array(re["x"]) - np.array(fe["x"]))) > 1
