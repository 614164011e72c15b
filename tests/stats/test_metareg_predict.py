"""Predictions of meta-regression models for bubble plots: metafor's predict(fit, newmods) on
regplot's line (other columns at their means) and per factor level, on published data sets
(dat.bcg, dat.molloy2014, dat.bangertdrowns2004; tools/reference/bubble.R -> tests/fixtures/bubble)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.stats.metareg import design_matrix, fit_metareg, marginal_predictions, predict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = json.loads((FIXTURES / "bubble" / "predict.json").read_text())["cases"]


def fitted(case):
    table = pd.read_csv(FIXTURES / "modelling" / "inputs" / f"{case['data']}.csv", dtype=str, keep_default_na=False)
    mods = [m.strip() for m in case["mods"].split("+")]
    variables = [m.replace("factor(", "").replace(")", "") for m in mods]
    table = table[(table[variables] != "").all(axis=1)].reset_index(drop=True)
    X, names = design_matrix(table, mods)
    fit = fit_metareg(table["yi"].astype(float), table["vi"].astype(float), X, names, case["method"], case["test"])
    return fit, table, mods


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_marginal_predictions_equal_metafor(case):
    fit, table, mods = fitted(case)
    assert fit.coef_names == case["coef_names"]
    np.testing.assert_allclose(fit.beta, case["beta"], rtol=1e-6)
    panel = next(p for p in marginal_predictions(fit, table, mods) if p["moderator"] == case["plot"])
    assert panel["kind"] == ("numeric" if "x" in case else "factor")
    if panel["kind"] == "numeric":
        got = panel["line"]
        np.testing.assert_allclose(got["x"], case["x"], rtol=1e-12)
    else:
        assert [lv["level"] for lv in panel["levels"]] == case["levels"]
        got = {key: [lv[key] for lv in panel["levels"]] for key in ("pred", "se", "ci_lb", "ci_ub")}
    for key in ("pred", "se", "ci_lb", "ci_ub"):
        np.testing.assert_allclose(got[key], case[key], rtol=1e-6, atol=1e-10, err_msg=key)
    np.testing.assert_allclose(fit.weights, case["weights"], rtol=1e-6)


def test_predict_at_the_studies_reproduces_fitted_values():
    fit, table, mods = fitted(CASES[0])
    p = predict(fit, fit.X)
    np.testing.assert_allclose(p["pred"], fit.X @ fit.beta)
    assert all(lb < pr < ub for lb, pr, ub in zip(p["ci_lb"], p["pred"], p["ci_ub"], strict=True))


def test_a_moderator_in_an_interaction_gets_no_marginal_line():
    table = pd.read_csv(FIXTURES / "modelling" / "inputs" / "bcg.csv", dtype=str, keep_default_na=False)
    X, names = design_matrix(table, ["ablat*year"])
    fit = fit_metareg(table["yi"].astype(float), table["vi"].astype(float), X, names, "REML", "z")
    panels = marginal_predictions(fit, table, ["ablat*year"])
    assert [p["moderator"] for p in panels] == ["ablat", "year"]
    assert all("line" not in p and "interaction" in p["note"] for p in panels)
    assert len(panels[0]["x"]) == 13
