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
    return [np.atleast_1d(np.asarray(case[name], dtype=float)) for name in ("ai", "bi", "ci", "di")]


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
    if want["tarone_pval"] is None:  # one table takes part: 0 on 0 df, no P value (metafor: NA)
        assert np.isnan(tarone["tarone_pval"])
    else:
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


def test_with_fewer_than_two_informative_tables_tarone_has_no_test():
    one = mh_tests.tarone_test([3, 0], [7, 10], [1, 0], [9, 12], 0.5)  # the second table has no events
    assert (one["tarone"], one["tarone_df"]) == (0.0, 0) and np.isnan(one["tarone_pval"])  # as metafor's TA
    none = mh_tests.tarone_test([0, 0], [7, 10], [0, 0], [9, 12], 0.5)
    assert none["tarone_df"] is None and np.isnan(none["tarone"]) and np.isnan(none["tarone_pval"])
    assert np.isnan(mh_tests.cmh_test([0, 0], [5, 6], [0, 0], [5, 6])["CMH"])  # no events at all


OPTION_SETS = {"default": {}, "to_all": {"to": "all"}, "add1_all": {"add": 1.0, "to": "all"}}


@pytest.mark.parametrize("case", ODDS_RATIO_CASES + RATE_CASES, ids=[c["id"] for c in ODDS_RATIO_CASES + RATE_CASES])
def test_q_of_a_mantel_haenszel_fit_uses_the_continuity_correction_asked_for(case):
    """rma.mh's QE is computed on escalc's effects with its add and to (metasr pool --add/--to);
    the single-table and one-informative-table cases are pooled too (a z-test common-effect fit)."""
    import pandas as pd

    from metasr.stats.analysis import analyse
    from metasr.stats.effects import Options

    names = ("ai", "bi", "ci", "di") if case["measure"] == "OR" else ("x1i", "t1i", "x2i", "t2i")
    columns = {n: np.atleast_1d(np.asarray(case[n], dtype=float)) for n in names}
    table = pd.DataFrame({"study_id": [f"S{i}" for i in range(len(columns[names[0]]))],
                          **{n: [repr(float(x)) for x in values] for n, values in columns.items()}})
    for name, options in OPTION_SETS.items():
        result = analyse(table, case["measure"], "MH", options=Options(**options))
        assert result["Q"] == pytest.approx(case["expected"]["Q"][name], rel=1e-10, abs=1e-12), name
        assert result["estimate"] == pytest.approx(case["expected"]["estimate"], rel=1e-12)
    if case["measure"] == "OR" and case["expected"]["tables"] == 1:
        assert (result["tarone"], result["tarone_df"]) == (0.0, 0) and np.isnan(result["tarone_pval"] or np.nan)


def test_an_undefined_mantel_haenszel_odds_ratio_is_a_problem_naming_the_table(tmp_path):
    """SYNTHETIC: a double-zero table and one whose group 1 has only events: every product b*c is
    0, so the MH odds ratio is infinite (metafor: NA); it was pooled with a null estimate."""
    from metasr.errors import InputError
    from metasr.stats.analysis import analyse, read_study_table

    path = tmp_path / "two.csv"
    path.write_text("study_id,ai,bi,ci,di\nA,0,10,0,12\nB,5,0,2,8\n")
    with pytest.raises(InputError) as err:
        analyse(read_study_table(str(path)), "OR", "MH", file=str(path))
    [problem] = err.value.problems
    assert problem.file == str(path) and problem.rule == "events in both groups"
    assert "no table has both events in group 2 and non-events in group 1" in problem.message
