"""Moderator formulas and R's factor() level order (tests/fixtures/modelling/factor_levels.json
holds levels(factor(x)) from R 4 on this machine: ICU collation under LC_COLLATE=C.UTF-8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metasr.stats.formula import factor_levels, parse, r_sort_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
LEVELS = json.loads((FIXTURES / "factor_levels.json").read_text())["cases"]


@pytest.mark.parametrize("case", LEVELS, ids=lambda c: ",".join(c["values"][:3]))
def test_factor_levels_are_rs(case):
    assert factor_levels(case["values"]) == case["levels"]


def test_the_issue_13_example():
    assert factor_levels(["rct", "Cohort", "case-control"])[0] == "case-control"


def test_numbers_sort_numerically_and_text_digit_by_digit():
    assert factor_levels(["10", "9", "2.5"]) == ["2.5", "9", "10"]
    assert factor_levels(["10", "9", "x"]) == ["10", "9", "x"]


def test_case_is_only_a_tie_breaker():
    assert sorted(["B", "a", "A", "b"], key=r_sort_key) == ["a", "A", "b", "B"]


def test_parse_expands_crossings_in_rs_order():
    terms = parse("~ a * b + c")
    assert terms == [(("a", False),), (("b", False),), (("c", False),), (("a", False), ("b", False))]
    assert parse(["a:b"]) == [(("a", False), ("b", False))]
    assert parse("factor(g) + x") == [(("g", True),), (("x", False),)]
    assert parse("1") == [] and parse(["a", "a"]) == [(("a", False),)]
    assert len(parse("a*b*c")) == 7



@pytest.mark.parametrize("formula, labels", [
    # attr(terms(formula), "term.labels") in R 4.x
    ("setting + design:setting", ["setting", "setting:design"]),
    ("b + a*b", ["b", "a", "b:a"]),
    ("a + b + b:a + a:b", ["a", "b", "a:b"]),
    ("interval + hrs_total + hrs_total:interval", ["interval", "hrs_total", "interval:hrs_total"]),
    ("c:a + a*b", ["a", "b", "c:a", "a:b"]),
])
def test_an_interactions_variables_come_in_the_order_the_formula_first_names_them(formula, labels):
    # coefficient names and btt positions follow from this order (dat.landenberger2005:
    # setting + design:setting gave other columns 3-4 than metafor's)
    assert [":".join(v for v, _ in term) for term in parse(formula)] == labels

def test_unreadable_term_is_a_value_error():
    with pytest.raises(ValueError):
        parse("log(a)")


@pytest.mark.parametrize("formula", ["design - 1", "0 + design", "design -1"])
def test_a_formula_without_an_intercept_is_refused_for_what_it_is(formula):
    # it was read as a moderator column named 'design - 1' (or '0') that the table lacks
    with pytest.raises(ValueError, match="without an intercept"):
        parse(formula)
