"""Parity with metafor 3.8-1 for the tau2 estimators PMM, GENQ (with weights) and HSk, the tests
t and adhoc (and knha, z), user weights, prediction intervals and fit statistics, on published data
sets (tests/fixtures/modelling/tau2_tests.json, made by tools/reference/modelling.R).

Tolerance: 1e-6 relative for closed forms, 1e-5 for iterative fits (REML, PMM). PMM is compared as
rma() reports it by default (uniroot at its default tolerance, whose steps metasr takes), and its
exact root (`root="exact"`) against metafor at tol = 1e-12."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.stats import tau2 as T
from metasr.stats.model_comparison import fit_stats
from metasr.stats.models import fit_rma

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
CASES = json.loads((FIXTURES / "tau2_tests.json").read_text())["cases"]
ITERATIVE = ("REML", "ML", "PMM")


def table(case) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / case["input"])


def fit_case(case):
    t = table(case)
    X = np.ones((len(t), 1))
    if case["mods"]:
        X = np.column_stack([X, t[case["mods"]].to_numpy(float)])
    weights = {"none": None, "inverse_vi": 1 / t["vi"].to_numpy(), "ni": t["ni"].to_numpy(float)}[case["weights"]]
    return fit_rma(t["yi"], t["vi"], method=case["method"], test=case["test"], X=X, weights=weights)


def assert_close(actual, expected, rtol, what=""):
    e = np.array(np.atleast_1d(expected), dtype=float)
    a = np.array(np.atleast_1d(actual), dtype=float).reshape(e.shape)
    assert np.allclose(a, e, rtol=rtol, atol=1e-12, equal_nan=True), f"{what}: {a} != {e}"


def test_fixture_covers_every_new_estimator_and_test():
    assert {c["method"] for c in CASES} >= {"PMM", "GENQ", "HSk"}
    assert {c["test"] for c in CASES} >= {"z", "t", "adhoc", "knha"}
    assert {c["weights"] for c in CASES} >= {"inverse_vi", "ni"}
    assert len(CASES) > 150


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_fit_matches_metafor(case):
    fit, e = fit_case(case), case["expected"]
    rtol = 1e-5 if case["method"] in ITERATIVE else 1e-6
    got = {"beta": fit.beta, "se": fit.se, "zval": fit.stat, "pval": fit.pval, "ci_lb": fit.ci_lb,
           "ci_ub": fit.ci_ub, "vb": fit.vb, "tau2": fit.tau2, "se_tau2": fit.tau2_se, "QE": fit.Q,
           "QEp": fit.Q_pval, "I2": fit.I2, "H2": fit.H2}
    if case["mods"]:
        got.update(QM=fit.QM, QMp=fit.QM_pval)
    else:
        got.update(pi_lb=fit.pi_lb, pi_ub=fit.pi_ub)
    for key, value in got.items():
        assert_close(value, e[key], rtol, key)
    if e["ddf"] is not None:
        assert fit.df == e["ddf"]
    stats = fit_stats(fit)
    for name in ("ML", "REML"):
        assert_close([stats[name][k] for k in ("ll", "dev", "AIC", "BIC", "AICc")], e["fit_stats"][name], rtol, name)


@pytest.mark.parametrize("case", [c for c in CASES if c["method"] == "PMM" and c["test"] == "z"],
                         ids=lambda c: c["id"])
def test_pmm_exact_root_matches_metafor_at_tight_tolerance(case):
    t = table(case)
    X = np.ones((len(t), 1))
    if case["mods"]:
        X = np.column_stack([X, t[case["mods"]].to_numpy(float)])
    tau2 = T.pmm(T.Studies.one(t["yi"].to_numpy(), t["vi"].to_numpy(), X), root="exact")[0][0]
    assert_close(tau2, case["expected"]["tau2_exact"], 1e-9, "tau2")


def test_adhoc_never_shrinks_the_knapp_hartung_interval():
    """adhoc = knha with s2 truncated at 1: on data with s2 < 1 its SE is the t test's."""
    t = table(next(c for c in CASES if c["input"].endswith("normand1999.csv")))
    for method in ("DL", "REML"):
        fits = {test: fit_rma(t["yi"], t["vi"], method=method, test=test) for test in ("t", "knha", "adhoc")}
        assert fits["adhoc"].se[0] >= fits["knha"].se[0] - 1e-15
        assert fits["adhoc"].se[0] >= fits["t"].se[0] - 1e-15
        assert np.isclose(fits["adhoc"].se[0], max(fits["knha"].se[0], fits["t"].se[0]))


def test_genq_with_inverse_variance_weights_is_dersimonian_laird():
    t = table(CASES[0])
    s = T.Studies.one(t["yi"].to_numpy(), t["vi"].to_numpy())
    assert np.isclose(T.genq(s)[0][0], T.dl(s)[0][0], rtol=1e-12)


def test_hsk_is_hs_scaled_by_k_over_k_minus_p():
    t = table(CASES[0])
    yi, vi = t["yi"].to_numpy(), t["vi"].to_numpy()
    k = len(yi)
    w = 1 / vi
    s = T.Studies.one(yi, vi)
    Q = T.generalised_q(s, np.zeros(1))[0]
    assert np.isclose(T.hsk(s)[0][0], max(0.0, (k / (k - 1) * Q - k) / w.sum()), rtol=1e-12)


R_LIVE = """
suppressMessages({library(metafor); library(jsonlite)})
d <- read.csv(commandArgs(TRUE)[1])
out <- list()
for (m in c("PMM", "HSk", "GENQ")) for (test in c("t", "adhoc")) {
  w <- if (m == "GENQ") d$ni else NULL
  r <- do.call(rma, c(list(yi = d$yi, vi = d$vi, mods = ~ d$x, method = m, test = test,
                           control = list(tol = 1e-12)), if (!is.null(w)) list(weights = w)))
  out[[paste(m, test)]] <- list(tau2 = r$tau2, beta = c(r$beta), se = r$se, QMp = r$QMp, se_tau2 = r$se.tau2)
}
cat(toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def _have_r() -> bool:
    import shutil
    import subprocess

    if shutil.which("Rscript") is None:
        return False
    probe = 'quit(status = !all(sapply(c("metafor", "jsonlite"), requireNamespace, quietly = TRUE)))'
    return subprocess.run(["Rscript", "-e", probe], capture_output=True).returncode == 0


@pytest.mark.skipif(not _have_r(), reason="needs Rscript with metafor and jsonlite")
def test_live_new_estimators_on_random_data(tmp_path):
    import subprocess

    rng = np.random.default_rng(13)  # SYNTHETIC meta-regression data
    k = 25
    ni = rng.integers(20, 400, k)
    vi = 4 / ni
    x = rng.normal(size=k)
    yi = 0.3 + 0.2 * x + rng.normal(0, np.sqrt(vi + 0.04))
    path = tmp_path / "synthetic.csv"
    pd.DataFrame({"yi": yi, "vi": vi, "ni": ni, "x": x}).to_csv(path, index=False)
    script = tmp_path / "live.R"
    script.write_text(R_LIVE)
    ref = json.loads(subprocess.run(["Rscript", str(script), str(path)], capture_output=True, text=True,
                                    check=True).stdout)
    X = np.column_stack([np.ones(k), x])
    for key, e in ref.items():
        method, test = key.split()
        tau2 = T.pmm(T.Studies.one(yi, vi, X), root="exact")[0][0] if method == "PMM" else None
        fit = fit_rma(yi, vi, method=method, test=test, X=X, weights=ni.astype(float) if method == "GENQ" else None,
                      tau2=tau2)
        assert_close(fit.tau2, e["tau2"], 1e-8, key)
        assert_close(fit.beta, e["beta"], 1e-8, key)
        assert_close(fit.se, e["se"], 1e-8, key)
        assert_close(fit.QM_pval, e["QMp"], 1e-8, key)
        if method != "PMM":
            assert_close(fit.tau2_se, e["se_tau2"], 1e-8, key)
