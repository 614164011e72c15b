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
