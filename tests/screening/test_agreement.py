"""Cohen's kappa against hand-computed values."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from metasr.screening.agreement import cohen_kappa


def test_textbook_two_by_two():
    # 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: po = 0.7, pe = 0.5, kappa = 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    result = cohen_kappa(pairs)
    assert result["n"] == 50
    assert result["po"] == pytest.approx(0.7) and result["pe"] == pytest.approx(0.5)
    assert result["kappa"] == pytest.approx(0.4)
    se = (0.7 * 0.3 / (50 * 0.25)) ** 0.5
    assert result["se"] == pytest.approx(se)
    assert result["ci_lb"] == pytest.approx(0.4 - 1.959964 * se, abs=1e-6)


def test_three_categories_and_perfect_agreement():
    pairs = [("i", "i"), ("e", "e"), ("n", "n"), ("i", "e")]
    # po = 3/4; marginals r1 i2 e1 n1, r2 i1 e2 n1 -> pe = (2+2+1)/16
    assert cohen_kappa(pairs)["kappa"] == pytest.approx((0.75 - 5 / 16) / (1 - 5 / 16))
    assert cohen_kappa([("i", "i"), ("e", "e")])["kappa"] == pytest.approx(1.0)


def test_undefined_cases():
    assert cohen_kappa([])["kappa"] is None
    only_one_category = cohen_kappa([("e", "e")] * 4)
    assert only_one_category["kappa"] is None and only_one_category["po"] == 1.0


def test_the_interval_stays_inside_kappas_range():
    """24 pairs, one disagreement: kappa 0.83 with se 0.16 gives a normal upper bound of 1.15."""
    pairs = [("i", "i")] * 20 + [("e", "e")] * 3 + [("i", "e")]
    result = cohen_kappa(pairs)
    assert result["kappa"] + 1.959964 * result["se"] > 1
    assert result["ci_ub"] == 1.0 and result["ci_lb"] == pytest.approx(result["kappa"] - 1.959964 * result["se"])
    worst = cohen_kappa([("i", "e")] * 3 + [("e", "i")] * 3 + [("i", "i")])
    assert -1 <= worst["ci_lb"] <= worst["kappa"] <= worst["ci_ub"] <= 1


@given(st.lists(st.tuples(st.sampled_from("ie"), st.sampled_from("ie")), min_size=1, max_size=60))
def test_any_interval_lies_in_minus_one_to_one(pairs):
    result = cohen_kappa(pairs)
    if result["kappa"] is not None:
        assert -1 <= result["ci_lb"] <= result["kappa"] <= result["ci_ub"] <= 1
