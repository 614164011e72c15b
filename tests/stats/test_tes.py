"""The test of excess significance against metafor 3.8-1's tes() on published data sets
(tests/fixtures/modelling/tes.json; powers under tau2 > 0 integrated at rel.tol 1e-12 in R).

Everything is compared at 1e-8 relative except theta_lim, which metafor finds with uniroot() at its
default tolerance (1.2e-4): that is compared at 1e-3 relative, and metasr's (exact) limit is checked
to be the root, i.e. the test's p there equals tes_alpha."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.stats.models import fit_rma
from metasr.stats.tes import poisson_binomial, tes, tes_fit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
CASES = [c for c in json.loads((FIXTURES / "tes.json").read_text())["cases"] if "theta" not in (c["options"] or {})]


def options(case) -> dict:
    return {key.replace(".", "_"): value for key, value in (case["options"] or {}).items()}


def fit_of(case):
    t = pd.read_csv(FIXTURES / case["input"])
    return fit_rma(t["yi"], t["vi"], method=case["method"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_tes_matches_metafor(case):
    fit = fit_of(case)
    res, e = tes_fit(fit, **options(case)), case["expected"]
    assert (res["k"], res["O"], res["test"]) == (e["k"], e["O"], e["test"])
    assert res["sig"] == e["sig"]
    for key in ("E", "OEratio", "pval", "power", "theta"):
        assert np.allclose(res[key], e[key], rtol=1e-8, atol=1e-300), key
    if e["stat"] is not None:
        assert np.isclose(res["stat"], e["stat"], rtol=1e-8)
    lim = e["theta_lim"]
    if lim is None:
        assert res["theta_lim"] is None
    else:
        assert np.allclose(np.array(res["theta_lim"], dtype=float), np.array(lim, dtype=float), rtol=1e-3,
                           equal_nan=True)


@pytest.mark.parametrize("case", [c for c in CASES if not c["options"]], ids=lambda c: c["id"])
def test_theta_lim_is_where_p_equals_tes_alpha(case):
    fit = fit_of(case)
    res = tes_fit(fit)
    if res["theta_lim"] is None:
        pytest.skip("no limit (the test is not significant even at H0)")
    at = tes(fit.yi, fit.vi, res["theta_lim"], fit.tau2, test=res["test"], find_lim=False)
    assert at["pval"] == pytest.approx(0.10, abs=1e-9)


def test_exact_test_distribution_is_poisson_binomial():
    rng = np.random.default_rng(1)  # SYNTHETIC powers
    p = rng.uniform(0.05, 0.9, 8)
    pmf = poisson_binomial(p)
    assert pmf.sum() == pytest.approx(1.0)
    draws = (rng.uniform(size=(200_000, 8)) < p).sum(1)
    assert np.allclose(np.bincount(draws, minlength=9) / 200_000, pmf, atol=3e-3)
