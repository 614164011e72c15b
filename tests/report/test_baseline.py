"""The baseline of the summary of findings and GRADE (metasr.report.baseline). SYNTHETIC studies."""

from __future__ import annotations

import pytest

from metasr.report import baseline


def pooled_of(measure: str, studies: list[dict]) -> dict:
    return {"measure": measure, "studies": studies}


TABLES = [{"ai": 5, "n1i": 50, "ci": 10, "n2i": 100}, {"ai": 2, "n1i": 40, "ci": 6, "n2i": 40},
          {"ai": 1, "n1i": 30, "ci": 3, "n2i": 60}]


def test_the_assumed_control_risk_is_the_reviewers_else_the_median_control_group_risk():
    pooled = pooled_of("RR", TABLES)
    median = baseline.assumed_control_risk(pooled, {})
    assert median["risk"] == pytest.approx(0.1) and median["label"] == "Study population"  # 0.10, 0.15, 0.05
    assert "median control-group risk of the 3 studies" in median["source"]
    set_by_reviewers = baseline.assumed_control_risk(pooled, {"assumed_risk": 0.2})
    assert set_by_reviewers["risk"] == 0.2 and "sof.assumed_risk" in set_by_reviewers["source"]
    assert baseline.assumed_control_risk(pooled_of("RR", [{"yi": 0.1, "vi": 0.01}]), {}) is None


def test_rate_ratios_assume_a_control_rate():
    rates = pooled_of("IRR", [{"x1i": 4, "t1i": 100, "x2i": 8, "t2i": 200},
                              {"x1i": 1, "t1i": 50, "x2i": 9, "t2i": 100}])
    assert baseline.absolute_kind(rates) in baseline.RATE_KINDS
    assert baseline.assumed_control_risk(rates, {})["risk"] == pytest.approx((0.04 + 0.09) / 2)


def test_the_representative_sd_is_the_reviewers_else_the_median_control_sd():
    pooled = pooled_of("SMD", [{"sd2i": 2.0}, {"sd2i": 4.0}, {"sd2i": 3.0}, {}])
    assert baseline.representative_sd(pooled, {}) == (3.0, "median control-group SD of 3 studies")
    assert baseline.representative_sd(pooled, {"sd": 1.5})[0] == 1.5
    assert baseline.representative_sd(pooled_of("SMD", []), {}) == (None, "")


def test_per_1000_rounds_half_away_from_zero():
    assert [baseline.per_1000(x) for x in (0.0125, -0.0125, 0.0004, 0.9995)] == [13, -13, 0, 1000]
