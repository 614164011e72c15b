"""Generalised-Q CIs for tau2 (tests/fixtures/modelling/genq_ci.json). metafor's
confint(type = "GENQ") needs the CompQuadForm package, which this machine cannot install; the
fixture computes the same definition in R (Imhof's integral with integrate() at rel.tol 1e-12 and
uniroot at tol 1e-12), so these tests check metasr against that independent implementation of
metafor's definition. Fit statistics, Wald tests and LRTs are checked in test_metareg_modelling.py
and test_models_modelling.py against metafor itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats import model_comparison as mc
from metasr.stats.models import fit_rma

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
GENQ = json.loads((FIXTURES / "genq_ci.json").read_text())["cases"]


@pytest.mark.parametrize("case", GENQ, ids=lambda c: c["id"])
def test_genq_ci_matches_the_reference(case):
    t = pd.read_csv(FIXTURES / case["input"])
    a = t["ni"].to_numpy(float) if case["weights"] == "ni" else 1 / t["vi"].to_numpy()
    fit = fit_rma(t["yi"], t["vi"], method="GENQ", weights=a)
    res = mc.genq_ci_tau2(fit)
    assert np.allclose(res["tau2_ci"], case["expected"]["tau2_ci"], rtol=1e-6, atol=1e-10)


def test_genq_ci_contains_the_genq_estimate():
    t = pd.read_csv(FIXTURES / GENQ[0]["input"])
    fit = fit_rma(t["yi"], t["vi"], method="GENQ")
    lb, ub = mc.genq_ci_tau2(fit)["tau2_ci"]
    assert lb <= fit.tau2 <= ub


def test_profile_ci_needs_a_likelihood_fit():
    t = pd.read_csv(FIXTURES / GENQ[0]["input"])
    with pytest.raises(InputError, match="ML or REML"):
        mc.profile_ci_tau2(fit_rma(t["yi"], t["vi"], method="DL"))


def test_lrt_refuses_models_with_equal_parameter_counts():
    t = pd.read_csv(FIXTURES / GENQ[0]["input"])
    fit = fit_rma(t["yi"], t["vi"], method="ML")
    with pytest.raises(InputError, match="same number"):
        mc.lrt(fit, fit)


def test_a_genq_bound_beyond_the_searched_range_is_marked_as_the_profile_ones_are():
    """dat.laopaiboon2015, trials 1-2 (RR): tau2's upper bound lies beyond max(100, 10 tau2)."""
    yi = np.array([-0.40546510810816461, 2.4542482093495024])
    vi = np.array([0.35416666666666669, 0.51726316169437081])
    fit = fit_rma(yi, vi, method="GENQ", weights=1 / vi)
    res = mc.genq_ci_tau2(fit)
    assert res["tau2_ci"][1] == max(100.0, 10 * fit.tau2) and res["ub_sign"] == ">"


BTT_GREP = json.loads((FIXTURES / "btt_grep.json").read_text())["cases"]


@pytest.mark.parametrize("case", BTT_GREP, ids=lambda c: c["id"])
def test_btt_by_a_pattern_takes_the_coefficients_metafor_s_grep_takes(case):
    """anova(fit, btt = "intensity"): every coefficient whose name the pattern matches (a factor's
    levels and interactions); the result names them. metafor 3.8-1, REML at tol 1e-12."""
    from metasr.stats.formula import parse
    from metasr.stats.metareg import design_matrix, fit_metareg

    t = pd.read_csv(FIXTURES / case["input"], dtype=str, keep_default_na=False)
    variables = {v for term in parse(case["formula"]) for v, _ in term}
    t = t[np.all([t[v].str.strip() != "" for v in variables], axis=0)].reset_index(drop=True)
    X, names = design_matrix(t, case["formula"])
    fit = fit_metareg(t["yi"].astype(float), t["vi"].astype(float), X, names, case["method"], case["test"])
    want = case["expected"]
    assert fit.coef_names == want["coef_names"]
    result = mc.wald_test(fit, [case["btt"]])
    assert result["btt"] == want["btt"]
    assert result["btt_matched"] == {case["btt"]: [want["coef_names"][j - 1] for j in want["btt"]]}
    assert np.allclose([result["QM"], result["QMp"]], [want["QM"], want["QMp"]], rtol=1e-6)
    assert np.atleast_1d(result["QMdf"]).tolist() == np.atleast_1d(want["QMdf"]).tolist()


def test_btt_exact_name_takes_that_coefficient_only_and_a_pattern_matching_none_is_a_problem():
    t = pd.read_csv(FIXTURES / "inputs" / "anand1999.csv", dtype=str, keep_default_na=False)
    from metasr.stats.metareg import design_matrix, fit_metareg

    X, names = design_matrix(t, "year * intensity")
    fit = fit_metareg(t["yi"].astype(float), t["vi"].astype(float), X, names, "REML", "z")
    assert "btt_matched" not in mc.wald_test(fit, ["year"]) and mc.wald_test(fit, ["year"])["btt"] == [2]
    with pytest.raises(InputError, match="nor one whose name contains it"):
        mc.wald_test(fit, ["dose"])
    with pytest.raises(InputError, match="nor a valid pattern"):
        mc.wald_test(fit, ["year("])
