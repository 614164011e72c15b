"""Parity with metafor 3.8-1 for regtest (every predictor, models rma and lm, meta-regression
fits), PET-PEESE's two regressions and trim and fill with L0, R0, Q0 and a given or chosen side
(tests/fixtures/modelling/{regtest,trimfill}.json, made by tools/reference/modelling.R).

trimfill refits without a control list (metafor's default convergence threshold 1e-5) and metasr
takes the same iterations, so its numbers agree with metafor's to ~1e-10 rather than to 1e-5."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats import bias
from metasr.stats.models import fit_rma

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
REGTEST = json.loads((FIXTURES / "regtest.json").read_text())["cases"]
TRIMFILL = json.loads((FIXTURES / "trimfill.json").read_text())["cases"]


def table(case) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / case["input"])


def close(actual, expected, rtol=1e-6) -> bool:
    if expected is None:
        return actual is None
    e = np.array(np.atleast_1d(expected), dtype=float)
    a = np.array(np.atleast_1d(actual), dtype=float).reshape(e.shape)
    return bool(np.allclose(a, e, rtol=rtol, atol=1e-12))


def test_fixture_covers_every_predictor_and_model():
    assert {c["predictor"] for c in REGTEST} == set(bias.REGTEST_PREDICTORS)
    assert {c["model"] for c in REGTEST} == {"rma", "lm"}
    assert {(c["estimator"], c["side"]) for c in TRIMFILL} >= {(e, s) for e in ("L0", "R0", "Q0")
                                                             for s in ("auto", "left", "right")}


@pytest.mark.parametrize("case", REGTEST, ids=lambda c: c["id"])
def test_regtest_matches_metafor(case):
    t = table(case)
    X = np.ones((len(t), 1))
    if case.get("mods"):
        X = np.column_stack([X, t[case["mods"]].to_numpy(float)])
    fit = fit_rma(t["yi"], t["vi"], method=case["method"], test=case["test"], X=X)
    res = bias.regtest(fit, model=case["model"], predictor=case["predictor"], ni=t["ni"].to_numpy(float))
    e = case["expected"]
    rtol = 1e-5 if case["method"] == "REML" and case["model"] == "rma" else 1e-6
    for key in ("zval", "pval", "est", "ci_lb", "ci_ub"):
        assert close(res[key], e[key], rtol), (key, res[key], e[key])
    if e.get("dfs") is not None:
        assert res["dfs"] == e["dfs"]
    for key, value in e.get("fit", {}).items():
        assert close(res["fit"][key], value, rtol), key


def test_regtest_without_sample_sizes_is_an_input_error():
    t = table(next(c for c in REGTEST if c["input"].endswith("hackshaw1998.csv")))
    fit = fit_rma(t["yi"], t["vi"], method="REML")
    with pytest.raises(InputError, match="sample size"):
        bias.regtest(fit, predictor="ninv")


def test_regtest_default_is_the_reported_egger_test():
    t = table(REGTEST[0])
    fit = fit_rma(t["yi"], t["vi"], method="REML")
    egger, reg = bias.egger_test(fit), bias.regtest(fit)
    assert egger["stat"] == pytest.approx(reg["zval"], rel=1e-12)
    assert egger["pval"] == pytest.approx(reg["pval"], rel=1e-12)
    assert bias.reported_egger({"egger": egger, "egger_lm": bias.egger_lm(fit)}) is egger


@pytest.mark.parametrize("case", [c for c in REGTEST if c["model"] == "lm" and c["predictor"] in ("sei", "vi")],
                         ids=lambda c: c["id"])
def test_pet_peese_is_built_on_metafors_regressions(case):
    t = table(case)
    fit = fit_rma(t["yi"], t["vi"], method="REML")
    pp = bias.pet_peese(fit)
    part = pp["pet" if case["predictor"] == "sei" else "peese"]
    e = case["expected"]
    assert close(part["est"], e["est"]) and close(part["ci_lb"], e["ci_lb"]) and close(part["ci_ub"], e["ci_ub"])
    assert close(part["se_est"], e["fit"]["se"][0]) and close(part["pval_est"], e["fit"]["pval"][0])
    # the rule: PEESE exactly when PET's one-sided p (two-sided p / 2) is below alpha
    assert pp["chosen"] == ("PEESE" if pp["pet"]["pval_est"] / 2 < bias.PET_PEESE_ALPHA else "PET")
    assert pp["est"] == pp[pp["chosen"].lower()]["est"]


def test_pet_peese_rule_on_both_branches():
    """hackshaw1998 (a clear effect: PEESE) and normand1999's sign-flipped copy of a null effect."""
    chosen = set()
    for case in REGTEST:
        if case["model"] == "lm" and case["predictor"] == "sei":
            t = table(case)
            chosen.add(bias.pet_peese(fit_rma(t["yi"], t["vi"], method="REML"))["chosen"])
    assert chosen == {"PET", "PEESE"}


@pytest.mark.parametrize("case", TRIMFILL, ids=lambda c: c["id"])
def test_trimfill_matches_metafor(case):
    t = table(case)
    fit = fit_rma(t["yi"], t["vi"], method=case["method"])
    side = None if case["side"] == "auto" else case["side"]
    res = bias.trimfill(fit, estimator=case["estimator"], side=side) if side or case["estimator"] != "L0" \
        else bias.trimfill(fit, estimator="L0", side=None)
    tf = bias.trimfill_model(fit, estimator=case["estimator"], side=side)
    e = case["expected"]
    assert (tf.side, tf.k0) == (e["side"], e["k0"])
    got = {"se_k0": tf.se_k0, "p_k0": tf.p_k0, "beta": tf.estimate, "se": tf.se, "zval": tf.zval,
           "pval": tf.pval, "ci_lb": tf.ci_lb, "ci_ub": tf.ci_ub, "tau2": tf.tau2}
    for key, value in got.items():
        if e[key] is None:
            assert math.isnan(value), key
        else:
            assert close(value, e[key], 1e-6), (key, value, e[key])
    assert close(tf.yi_fill, e["yi_fill"]) or (tf.k0 == 0 and not e["yi_fill"])
    assert res["k0"] == e["k0"] and res["estimator"] == case["estimator"]


def test_trimfill_estimators_that_metafor_cannot_compute_say_why():
    """R0 with no study below the centre, Q0 with a negative radicand: metafor stops with an R
    error (NaN in a loop condition); metasr reports the reason and no numbers."""
    yi = np.array([0.1, 0.2, 0.3, 0.35, 0.5, 0.9, 1.4])  # SYNTHETIC: every study above the centre's rank
    vi = np.array([0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2])
    fit = fit_rma(yi, vi, method="FE")
    for estimator in ("R0", "Q0", "L0"):
        for side in ("left", "right"):
            try:
                bias.trimfill_model(fit, estimator=estimator, side=side)
            except InputError as err:
                assert estimator in err.problems[0].message
                out = bias.trimfill(fit, estimator=estimator, side=side)
                assert out["k0"] is None and estimator in out["message"]
