"""Cohen's kappa against hand-computed values."""

from __future__ import annotations

import pytest

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
