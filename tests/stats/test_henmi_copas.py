"""Henmi-Copas intervals against metafor 3.8-1's hc() (uniroot at tol 1e-12; its inner integrals
at integrate()'s default tolerance) on published data sets (tests/fixtures/modelling/hc.json):
1e-6 relative."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats.henmi_copas import hc, hc_fit
from metasr.stats.models import fit_rma

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
CASES = json.loads((FIXTURES / "hc.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_hc_matches_metafor(case):
    t = pd.read_csv(FIXTURES / case["input"])
    res = hc_fit(fit_rma(t["yi"], t["vi"], method="DL"))
    for key, value in case["expected"].items():
        assert np.isclose(res[key], value, rtol=1e-6, atol=1e-12), key


def test_the_interval_is_wider_than_the_common_effect_one_and_centred_on_it():
    t = pd.read_csv(FIXTURES / CASES[0]["input"])
    res, fe = hc(t["yi"], t["vi"]), fit_rma(t["yi"], t["vi"], method="FE")
    assert res["beta"] == pytest.approx(fe.estimate, rel=1e-12)
    assert res["ci_ub"] - res["beta"] == pytest.approx(res["beta"] - res["ci_lb"], rel=1e-12)
    assert res["ci_ub"] - res["ci_lb"] > fe.ci_ub[0] - fe.ci_lb[0]


def test_one_study_is_an_input_error():
    with pytest.raises(InputError):
        hc([0.1], [0.01])
