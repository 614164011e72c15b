"""Subgroups: separate fits per level and the Q test for differences between levels."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metasr.stats.models import fit_rma
from metasr.stats.subgroup import fit_levels, q_between, subgroup_analysis

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = {c["id"]: c for c in json.loads((FIXTURES / "expected.json").read_text())["cases"]}


@pytest.mark.parametrize("case_id", [k for k, c in CASES.items() if c.get("subgroup")])
def test_metafor_subgroup_cases(case_id):
    case = CASES[case_id]
    groups = pd.read_csv(FIXTURES / case["input"])[case["subgroup"]]
    result = subgroup_analysis(case["yi"], case["vi"], groups, case["method"], case["test"])
    for key, value in case["expected"].items():
        if key == "levels":
            assert result[key] == value
        else:
            assert np.allclose(result[key], value, rtol=1e-6, atol=1e-9), key


def test_q_between_by_hand():
    est, se = np.array([0.2, 0.5, -0.1]), np.array([0.1, 0.2, 0.15])  # synthetic
    w = 1 / se**2
    mu = np.sum(w * est) / w.sum()
    Q, df, p = q_between(est, se)
    assert math.isclose(Q, np.sum(w * (est - mu) ** 2)) and df == 2 and math.isclose(p, stats.chi2.sf(Q, 2))


def test_single_study_level_keeps_its_own_estimate():
    yi, vi = [0.1, 0.3, 0.2, 0.9], [0.01, 0.02, 0.03, 0.05]  # synthetic
    result = subgroup_analysis(yi, vi, ["a", "a", "a", "b"], "REML")
    assert result["k"] == [3, 1] and result["tau2"][1] == 0.0
    assert math.isclose(result["estimate"][1], 0.9) and math.isclose(result["se"][1], math.sqrt(0.05))
    assert math.isclose(result["estimate"][0], fit_rma(yi[:3], vi[:3], "REML").estimate)


def test_levels_come_in_rs_factor_order():
    # SYNTHETIC effects: only the order of the levels matters (R: levels(factor(g)))
    yi, vi = [0.1, 0.3, 0.2, 0.4, 0.5, 0.6], [0.05] * 6
    assert list(fit_levels(yi, vi, ["12", "12", "5", "5", "1", "1"])) == ["1", "5", "12"]
    assert list(fit_levels(yi, vi, ["RCT", "RCT", "match", "match", "nonequiv", "nonequiv"])) == \
        ["match", "nonequiv", "RCT"]
