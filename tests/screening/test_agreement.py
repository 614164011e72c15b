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


def test_partly_dual_screening_is_a_warning(workspace):
    """2 of the 5 title/abstract rows have one reviewer's decision only: kappa describes 3
    records, and the run says so (it said nothing, and the diagram 'by two reviewers')."""
    workspace.title_abstract[1]["reviewer2"] = ""
    workspace.title_abstract[3].update(reviewer1="", reviewer2="")
    prisma = workspace.run()
    ta = prisma["agreement"]["title_abstract"]
    assert (ta["dual"], ta["n"], ta["screened"]) == (True, 3, 5)
    [warning] = prisma["warnings"]
    assert (warning["file"].rsplit("/", 1)[-1], warning["row"], warning["column"], warning["severity"]) == (
        "ta.csv", 3, "reviewer2", "warning")
    assert warning["message"].startswith("3 of 5 title/abstract decisions were made by two reviewers, not the "
                                         "other 2 (rows 3, 5)")
    assert prisma["agreement"]["full_text"]["dual"] is False  # single screening throughout: no warning


def test_dual_screening_of_every_record_is_no_warning(workspace):
    prisma = workspace.run()
    assert prisma["warnings"] == [] and prisma["agreement"]["title_abstract"]["screened"] == 5


def test_a_report_not_retrieved_was_screened_by_no_one(workspace):
    """Every retrieved report dual-screened, one not retrieved (no reviewer's decision): screening was
    dual throughout, not 'by two reviewers for 2 of 3, by one for the others'."""
    workspace.full_text = [{**row, "reviewer1": row["decision"], "reviewer2": row["decision"]}
                           for row in workspace.full_text]
    workspace.full_text[1] = {"doi": "10.1/three", "decision": "not_retrieved", "reason": "no full text"}
    workspace.ft_columns = (*workspace.ft_columns, "reviewer1", "reviewer2")
    prisma = workspace.run()
    ft = prisma["agreement"]["full_text"]
    assert (ft["dual"], ft["n"], ft["screened"], ft["not_retrieved"]) == (True, 2, 2, 1)
    assert prisma["warnings"] == []
