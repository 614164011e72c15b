"""metasr.stats.mh_tests: the Cochran-Mantel-Haenszel, Tarone and rate Mantel-Haenszel tests equal
metafor's rma.mh (MH, MHp, TA, TAp) on published data sets and SYNTHETIC tables with zero cells
(tests/fixtures/mantel_haenszel, written by tools/reference/mantel_haenszel.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metasr.stats import mh_tests
from metasr.stats.models import fit_mh, fit_mh_rates

CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "mantel_haenszel" / "expected.json")
                   .read_text())["cases"]
ODDS_RATIO_CASES = [c for c in CASES if c["measure"] == "OR"]
RATE_CASES = [c for c in CASES if c["measure"] == "IRR"]


def cells(case: dict) -> list[np.ndarray]:
    return [np.asarray(case[name], dtype=float) for name in ("ai", "bi", "ci", "di")]


@pytest.mark.parametrize("case", ODDS_RATIO_CASES, ids=[c["id"] for c in ODDS_RATIO_CASES])
def test_odds_ratio_tests_equal_metafor(case):
    want = case["expected"]
    fit = fit_mh(*cells(case), "OR")
    assert fit.estimate == pytest.approx(want["estimate"], rel=1e-12)
    cmh = mh_tests.cmh_test(*cells(case))
    tarone = mh_tests.tarone_test(*cells(case), fit.estimate)
    assert cmh["CMH"] == pytest.approx(want["CMH"], rel=1e-11)
    assert cmh["CMH_pval"] == pytest.approx(want["CMH_pval"], rel=1e-10)
    assert tarone["tarone"] == pytest.approx(want["tarone"], rel=1e-10, abs=1e-12)
    assert tarone["tarone_pval"] == pytest.approx(want["tarone_pval"], rel=1e-9)
    assert tarone["tarone_df"] == want["tables"] - 1


@pytest.mark.parametrize("case", RATE_CASES, ids=[c["id"] for c in RATE_CASES])
def test_rate_ratio_test_equals_metafor(case):
    counts = [np.asarray(case[name], dtype=float) for name in ("x1i", "t1i", "x2i", "t2i")]
    assert fit_mh_rates(*counts).estimate == pytest.approx(case["expected"]["estimate"], rel=1e-12)
    test = mh_tests.rate_mh_test(*counts)
    assert test["CMH"] == pytest.approx(case["expected"]["CMH"], rel=1e-11)
    assert test["CMH_pval"] == pytest.approx(case["expected"]["CMH_pval"], rel=1e-10)


def test_the_fitted_count_has_the_pooled_odds_ratio_and_the_table_s_margins():
    rng = np.random.default_rng(5)  # SYNTHETIC margins and odds ratios, both sides of 1
    n1, n2 = rng.integers(2, 400, 200).astype(float), rng.integers(2, 400, 200).astype(float)
    m1 = np.minimum(rng.integers(1, 300, 200), n1 + n2 - 1).astype(float)
    for psi in (0.05, 0.7, 1.0, 1.3, 40.0):
        a = mh_tests._fitted_a(n1, n2, m1, psi)
        assert np.all(a >= np.maximum(0, m1 - n2)) and np.all(a <= np.minimum(n1, m1))
        inner = (a > 0) & (a < np.minimum(n1, m1))
        odds = a[inner] * (n2 - m1 + a)[inner] / ((n1 - a) * (m1 - a))[inner]
        assert np.allclose(odds, psi, rtol=1e-9)


def test_fewer_than_two_informative_tables_have_no_tarone_test():
    one = mh_tests.tarone_test([3, 0], [7, 10], [1, 0], [9, 12], 0.5)  # the second table has no events
    assert one["tarone_df"] == 0 and np.isnan(one["tarone"]) and np.isnan(one["tarone_pval"])
    assert np.isnan(mh_tests.cmh_test([0, 0], [5, 6], [0, 0], [5, 6])["CMH"])  # no events at all
