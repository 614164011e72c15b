"""Permutation tests against metafor 3.8-1's permutest(exact = TRUE) on published data sets
(tests/fixtures/modelling/permutest.json): exact p-values compared exactly (they are counts over
every sign pattern or distinct row arrangement); random permutations are checked on their
statistics and counting rule, not on metafor's random p."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats.metareg import design_matrix, fit_metareg
from metasr.stats.permutation import multiset_permutations, n_arrangements, permutest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
CASES = json.loads((FIXTURES / "permutest.json").read_text())["cases"]


def fit_case(case):
    t = pd.read_csv(FIXTURES / case["input"], dtype=str, keep_default_na=False)
    t = t.iloc[np.atleast_1d(case["rows"]) - 1].reset_index(drop=True)
    X, names = design_matrix(t, case["formula"])
    return fit_metareg(t["yi"].astype(float), t["vi"].astype(float), X, names, case["method"], case["test"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_exact_permutation_p_values_equal_metafors(case):
    fit = fit_case(case)
    res, e = permutest(fit, exact=True), case["expected"]
    assert res["exact"] and res["permutations"] == n_arrangements(fit)
    assert np.allclose(res["zval"], np.atleast_1d(e["zval"]), rtol=1e-6)
    # p = count / number of arrangements: equal counts give equal p (to rounding)
    assert np.allclose(res["pval"], np.atleast_1d(e["pval"]), rtol=0, atol=1e-12)
    assert math.isclose(res["QMp"], e["QMp"], rel_tol=0, abs_tol=1e-12)


def test_exact_is_metafors_default_when_there_are_few_arrangements():
    fit = fit_case(next(c for c in CASES if c["formula"] == "~ 1" and len(np.atleast_1d(c["rows"])) == 9))
    assert n_arrangements(fit) == 512
    assert permutest(fit)["exact"] and not permutest(fit, iter=100, seed=1)["exact"]


def test_random_permutations_count_the_observed_arrangement_and_are_seeded():
    fit = fit_case(next(c for c in CASES if c["formula"] == "~ alloc" and c["method"] == "REML" and c["test"] == "z"))
    a, b = permutest(fit, iter=50, seed=7), permutest(fit, iter=50, seed=7)
    assert a == b and not a["exact"] and a["permutations"] == 50
    assert a["QMp"] >= 1 / 50 and all(p >= 1 / 50 for p in a["pval"])  # the observed one counts


def test_multiset_permutations_are_distinct_and_complete():
    items = ["a", "b", "a", "c"]
    perms = multiset_permutations(items)
    arrangements = {tuple(items[i] for i in p) for p in perms}
    assert len(perms) == len(arrangements) == 12


def test_too_many_exact_arrangements_is_an_input_error():
    rng = np.random.default_rng(0)  # SYNTHETIC
    k = 12
    t = pd.DataFrame({"yi": rng.normal(size=k), "vi": rng.uniform(0.01, 0.1, k), "x": rng.normal(size=k)})
    X, names = design_matrix(t, "x")
    fit = fit_metareg(t["yi"], t["vi"], X, names, "DL", "z")
    with pytest.raises(InputError, match="exact permutation"):
        permutest(fit, exact=True)


def one_refit(fit, yi, X):
    """The refit of one permuted data set alone: fit_rma with the fit's method, test, weights and
    fixed tau2 (the reference the batched refits must equal)."""
    from metasr.stats.models import fit_rma

    f = fit_rma(yi, fit.vi, method=fit.method, test=fit.test, X=X, weights=fit.a,
                tau2=fit.tau2 if fit.fixed_tau2 else None)
    return f.stat, (float(f.stat[0] ** 2) if f.is_intercept_only else f.QM)


def test_batched_refits_are_each_refit_alone_number_for_number(refit_estimator, synthetic_trials, monkeypatch):
    """Refits fitted together (permutation._refit_stats, in batches smaller than the refits here)
    give each permuted data set's own refit exactly: moderators' rows permuted, and signs flipped
    with weights or a fixed tau2 (not the batch module's path); SYNTHETIC data, one with a study
    that holds most of the weight."""
    from metasr.stats import permutation
    from metasr.stats.models import fit_rma

    method, test = refit_estimator
    monkeypatch.setattr(permutation, "REFIT_BATCH", 7)
    for _, rng, k, yi, vi in synthetic_trials(3, 6, 11, dominant=0):
        X = np.column_stack([np.ones(k), rng.normal(size=k), np.arange(k) % 2])
        fit = fit_rma(yi, vi, method=method, test=test, X=X)
        orders = [list(rng.permutation(k)) for _ in range(20)]
        permuted = [fit.X[o] for o in orders]
        stat, QM = permutation._refit_stats(fit, len(orders), lambda part, fit=fit, permuted=permuted: (
            np.tile(fit.yi, (len(permuted[part]), 1)), np.array(permuted[part])))
        alone = [one_refit(fit, fit.yi, fit.X[o]) for o in orders]
        assert np.array_equal(stat, np.array([a[0] for a in alone]))
        assert np.array_equal(QM, np.array([a[1] for a in alone]))
        plain = fit_rma(yi, vi, method=method, test=test, weights=1 / (vi + 0.05), tau2=0.02)
        signs = rng.choice([-1.0, 1.0], size=(15, k))
        stat, QM = permutation._sign_flip_stats(plain, signs)
        alone = [one_refit(plain, s * plain.yi, None) for s in signs]
        assert np.array_equal(stat, np.array([a[0] for a in alone]))
        assert np.array_equal(QM, np.array([a[1] for a in alone]))
