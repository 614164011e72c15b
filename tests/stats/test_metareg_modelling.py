"""Meta-regression parity with metafor 3.8-1 on published data sets: interactions (a:b, a*b),
several categorical moderators (R's level order, treatment contrasts), factor(), Wald tests of
sets of coefficients (anova(fit, btt)), profile-likelihood and Q-profile CIs for tau2, R2
(tests/fixtures/modelling/metareg.json), and likelihood-ratio tests between nested models with
their fit statistics (anova_lrt.json). 1e-6 relative for closed forms, 1e-5 for ML/REML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.stats import model_comparison as mc
from metasr.stats.formula import parse
from metasr.stats.inference import q_profile_tau2
from metasr.stats.metareg import design_matrix, fit_metareg, r2

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
METAREG = json.loads((FIXTURES / "metareg.json").read_text())["cases"]
LRT = json.loads((FIXTURES / "anova_lrt.json").read_text())["cases"]
FIT_STATS = ("ll", "dev", "AIC", "BIC", "AICc")


def complete_rows(case, formulas) -> pd.DataFrame:
    """The rows R keeps: no blank in any variable of the formulas."""
    t = pd.read_csv(FIXTURES / case["input"], dtype=str, keep_default_na=False)
    variables = {v for f in formulas for term in parse(f) for v, _ in term}
    keep = np.all([t[v].str.strip() != "" for v in variables], axis=0) if variables else np.ones(len(t), bool)
    return t[keep].reset_index(drop=True)


def fit_formula(t, formula, method, test):
    X, names = design_matrix(t, formula)
    return fit_metareg(t["yi"].astype(float), t["vi"].astype(float), X, names, method, test)


def close(actual, expected, rtol, atol=1e-10) -> bool:
    e = np.array(np.atleast_1d(expected), dtype=float)
    a = np.array(np.atleast_1d(actual), dtype=float).reshape(e.shape)
    return bool(np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True))


def test_fixture_has_interactions_and_categorical_moderators():
    formulas = {c["formula"] for c in METAREG}
    assert any("*" in f for f in formulas) and any(":" in f for f in formulas) and any("factor(" in f for f in formulas)
    assert "~ controls + design" in formulas and "~ country" in formulas


@pytest.mark.parametrize("case", METAREG, ids=lambda c: f"{c['id']}")
def test_metareg_matches_metafor(case):
    t = complete_rows(case, [case["formula"]])
    fit = fit_formula(t, case["formula"], case["method"], case["test"])
    e = case["expected"]
    rtol = 1e-5 if case["method"] in ("REML", "ML") else 1e-6
    assert fit.coef_names == list(np.atleast_1d(e["coef_names"]))
    got = {"beta": fit.beta, "se": fit.se, "zval": fit.stat, "pval": fit.pval, "ci_lb": fit.ci_lb, "ci_ub": fit.ci_ub,
           "vb": fit.vb, "tau2": fit.tau2, "QE": fit.Q, "I2": fit.I2, "H2": fit.H2, "QM": fit.QM, "QMp": fit.QM_pval}
    boundary = fit.tau2 == 0 and e["tau2"] < 1e-8  # see test_boundary_optimum_is_zero
    for key, value in got.items():
        atol = {"tau2": 1e-8, "I2": 1e-6, "H2": 1e-8}.get(key, 1e-10) if boundary else 1e-10
        assert close(value, e[key], rtol, atol), (key, value, e[key])
    if e.get("R2") is not None:
        assert close(r2(fit), e["R2"], rtol)
    stats = mc.fit_stats(fit)
    for name in ("ML", "REML"):
        assert close([stats[name][k] for k in FIT_STATS], e["fit_stats"][name], rtol), name
    for w in e["wald"]:
        res = mc.wald_test(fit, list(np.atleast_1d(w["btt"])))
        assert close(res["QM"], w["QM"], rtol) and close(res["QMp"], w["QMp"], rtol)
        assert res["QMdf"][0] == np.atleast_1d(w["QMdf"])[0]
    assert close(q_profile_tau2(fit.yi, fit.vi, fit.X, fit.tau2)[:2], e["tau2_ci_qp"], 1e-6)
    if "tau2_ci_pl" in e:
        assert close(mc.profile_ci_tau2(fit)["tau2_ci"], e["tau2_ci_pl"], 1e-5)


BOUNDARY = [c for c in METAREG if c["method"] == "ML" and 0 < c["expected"]["tau2"] < 1e-8]


@pytest.mark.parametrize("case", BOUNDARY, ids=lambda c: c["id"])
def test_boundary_optimum_is_zero(case):
    """metafor's Fisher scoring stops at tau2 ~ 1e-9 on these ML fits; the maximum is at tau2 = 0:
    the ML score is negative there, and the likelihood at metafor's value is not higher."""
    from metasr.stats.tau2 import Studies, loglik, score

    t = complete_rows(case, [case["formula"]])
    fit = fit_formula(t, case["formula"], "ML", "z")
    assert fit.tau2 == 0
    s = Studies.one(fit.yi, fit.vi, fit.X)
    assert score(s, np.zeros(1), reml=False)[0] < 0
    assert loglik(s, np.zeros(1), False)[0] >= loglik(s, np.array([case["expected"]["tau2"]]), False)[0]


def test_wald_test_by_name_equals_by_position():
    case = next(c for c in METAREG if c["formula"] == "~ ablat * year" and c["method"] == "REML")
    fit = fit_formula(complete_rows(case, [case["formula"]]), case["formula"], "REML", "z")
    assert mc.wald_test(fit, ["year", "ablat:year"])["QM"] == mc.wald_test(fit, [3, 4])["QM"]


@pytest.mark.parametrize("case", LRT, ids=lambda c: c["id"])
def test_lrt_matches_metafor(case):
    t = complete_rows(case, [case["full"], case["reduced"]])
    full = fit_formula(t, case["full"], case["method"], "z")
    reduced = fit_formula(t, case["reduced"], case["method"], "z")
    res, e = mc.lrt(full, reduced), case["expected"]
    for key in ("LRT", "pval", "QE_full", "QE_reduced", "tau2_full", "tau2_reduced", "R2"):
        assert close(res[key], e[key], 1e-5), key
    assert (res["parms_full"], res["parms_reduced"]) == (e["parms_full"], e["parms_reduced"])
    assert close([res["fit_stats_full"][k] for k in FIT_STATS], e["fit_stats_full"], 1e-5)
    assert close([res["fit_stats_reduced"][k] for k in FIT_STATS], e["fit_stats_reduced"], 1e-5)
