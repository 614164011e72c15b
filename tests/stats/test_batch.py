"""The vectorised batch path against the single-fit path (metasr.stats.models.fit_rma)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metasr.errors import InputError
from metasr.stats import batch
from metasr.stats.models import fit_rma

KEYS = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q", "Q_pval")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"


def ragged(rng, m, kmin, kmax, tau2=0.1):
    """Synthetic meta-analyses of varying size, NaN-padded to kmax columns."""
    yi = np.full((m, kmax), np.nan)
    vi = np.full((m, kmax), np.nan)
    for i in range(m):
        k = int(rng.integers(kmin, kmax + 1))
        vi[i, :k] = np.exp(rng.uniform(np.log(0.005), np.log(1.0), k))
        yi[i, :k] = rng.normal(0.3, np.sqrt(vi[i, :k] + tau2 * rng.exponential()))
    return yi, vi


@pytest.mark.parametrize("method", batch.METHODS)
@pytest.mark.parametrize("test", batch.TESTS)
def test_batch_equals_single_fits(method, test):
    rng = np.random.default_rng(42)
    yi, vi = ragged(rng, 60, 2, 25)
    res = batch.pool(yi, vi, method, test)
    assert res["converged"].all()
    for i in range(len(yi)):
        keep = ~np.isnan(yi[i])
        single = fit_rma(yi[i, keep], vi[i, keep], method=method, test=test).to_dict()
        for key in KEYS:
            assert res[key][i] == pytest.approx(single[key], rel=1e-8, abs=1e-12), (i, key)
        assert res["k"][i] == keep.sum()


def test_batch_matches_metafor_reference():
    if not (FIXTURES / "expected.json").exists():
        pytest.skip("metafor fixtures absent")
    cases = [c for c in json.loads((FIXTURES / "expected.json").read_text())["cases"]
             if c["method"] in batch.METHODS and "moderators" not in c and "subgroup" not in c]
    assert len(cases) > 80
    for case in cases:
        res = batch.pool(np.array(case["yi"]), np.array(case["vi"]), case["method"], case["test"])
        for key in ("estimate", "se", "pval", "ci_lb", "ci_ub", "tau2", "I2", "H2", "Q"):
            assert res[key][0] == pytest.approx(case["expected"][key], rel=1e-6, abs=1e-9), (case["id"], key)


def test_single_study_rows_are_metafor_k1_models():
    res = batch.pool([[0.5, np.nan], [np.nan, np.nan]], [[0.1, np.nan], [np.nan, np.nan]], "REML", "knha")
    assert res["k"].tolist() == [1, 0]
    assert res["tau2"][0] == 0 and res["I2"][0] == 0 and res["H2"][0] == 1
    assert res["ci_lb"][0] == pytest.approx(0.5 - 1.959963984540054 * np.sqrt(0.1))  # z, as metafor
    assert np.isnan(res["estimate"][1])


def test_identical_effects_and_extreme_variances():
    yi = np.array([[0.2, 0.2, 0.2, 0.2], [1.0, -1.0, 3.0, 0.5]])
    vi = np.array([[1e-6, 1e4, 0.1, 3.0], [1e-6, 1e-6, 1e4, 1e4]])
    res = batch.pool(yi, vi)
    assert res["tau2"][0] == 0 and res["estimate"][0] == pytest.approx(0.2)
    single = fit_rma(yi[1], vi[1])
    assert res["tau2"][1] == pytest.approx(single.tau2, rel=1e-8)


def test_leave_one_out_and_cumulative_layouts():
    yi, vi = np.arange(4.0), np.arange(1.0, 5.0)
    ly, lv = batch.leave_one_out_arrays(yi, vi)
    assert ly.tolist() == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]] and lv[0].tolist() == [2, 3, 4]
    cy, cv = batch.cumulative_arrays(yi, vi)
    assert np.isnan(cy[0, 1]) and cy[3].tolist() == [0, 1, 2, 3]


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="not missing together"):
        batch.pool([[0.1, np.nan]], [[0.1, 0.2]])
    with pytest.raises(InputError, match="positive"):
        batch.pool([[0.1, 0.2]], [[0.1, 0.0]])
    with pytest.raises(InputError, match="shape"):
        batch.pool([[0.1, 0.2]], [[0.1]])
    with pytest.raises(InputError, match="unknown method"):
        batch.pool([[0.1, 0.2]], [[0.1, 0.2]], method="XX")


def test_two_local_maxima_the_global_one_is_found():
    # synthetic data set with a local REML maximum at tau2 = 0 (negative score there) and the
    # global maximum near tau2 = 1.3: a search that starts at 0 and climbs stops at the wrong one
    yi = np.array([0.883, 0.166, 0.331, -3.468])
    vi = np.array([4.2451, 0.1226, 0.3198, 1.9642])

    def restricted_loglik(t):
        w = 1 / (vi + t)
        mu = np.sum(w * yi) / np.sum(w)
        return -0.5 * (np.sum(np.log(vi + t)) + np.sum(w * (yi - mu) ** 2) + np.log(np.sum(w)))

    w0 = 1 / vi
    r0 = yi - np.sum(w0 * yi) / np.sum(w0)
    assert np.sum((w0 * r0) ** 2) - np.sum(w0) + np.sum(w0**2) / np.sum(w0) < 0  # score at 0
    tau2 = batch.pool(yi, vi, "REML")["tau2"][0]
    assert tau2 > 1 and restricted_loglik(tau2) > restricted_loglik(0.0)
    grid = np.geomspace(1e-6, 100, 20001)
    assert restricted_loglik(tau2) >= max(restricted_loglik(t) for t in grid) - 1e-12
    assert tau2 == pytest.approx(fit_rma(yi, vi).tau2, rel=1e-9)
