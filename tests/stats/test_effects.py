"""escalc: metafor's effect sizes, row-mixing, zero cells and input problems."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metasr.errors import InputError
from metasr.stats import effects

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = json.loads((FIXTURES / "expected.json").read_text())["cases"]


@pytest.mark.parametrize("input_file,measure", sorted({(c["input"], c["measure"]) for c in CASES}))
def test_escalc_reproduces_metafor_yi_vi(input_file, measure):
    case = next(c for c in CASES if c["input"] == input_file and c["measure"] == measure)
    table = pd.read_csv(FIXTURES / input_file, dtype=str, keep_default_na=False)
    out = effects.escalc(table, measure)
    assert np.allclose(out["yi"], case["yi"], rtol=1e-10, atol=1e-12)
    assert np.allclose(out["vi"], case["vi"], rtol=1e-10, atol=1e-12)


def test_hedges_correction_exact_and_approximate():
    # c(m) -> 1 - 3/(4m - 1) for large m (Hedges 1981); exact value for m = 2: Gamma(1)/(1*Gamma(1/2))
    assert math.isclose(effects.hedges_correction(2), 1 / math.sqrt(math.pi), rel_tol=1e-12)
    assert math.isclose(effects.hedges_correction(1000), 1 - 3 / (4 * 1000 - 1), rel_tol=1e-6)


def test_smd_from_t_and_signed_p_agree_with_arm_data():
    # synthetic study: means, SDs, group sizes; its pooled-variance t statistic and p-value
    m1, sd1, n1, m2, sd2, n2 = 5.2, 1.9, 23, 4.1, 2.3, 31
    sp = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    t = (m1 - m2) / (sp * math.sqrt(1 / n1 + 1 / n2))
    p = 2 * stats.t.sf(abs(t), n1 + n2 - 2)
    y_arm, v_arm = effects.smd(m1, sd1, n1, m2, sd2, n2)
    y_t, v_t = effects.smd_from_t(t, n1, n2)
    y_p, v_p = effects.smd_from_p(p, n1, n2)
    y_neg, _ = effects.smd_from_p(-p, n1, n2)
    assert np.allclose([y_t, v_t], [y_arm, v_arm], rtol=1e-12)
    assert np.allclose([y_p, v_p], [y_arm, v_arm], rtol=1e-10)
    assert math.isclose(float(y_neg), -float(y_arm), rel_tol=1e-10)


def test_zero_cells_get_one_half_only_in_that_study_and_double_zero_kept():
    # synthetic 2x2 tables: row 1 has a zero cell, row 2 none, row 3 a double zero
    table = pd.DataFrame({"ai": [0, 3, 0], "n1i": [10, 20, 15], "ci": [2, 4, 0], "n2i": [12, 22, 14]})
    out = effects.escalc(table, "OR")
    assert math.isclose(out["yi"][0], math.log(0.5 * 10.5 / (10.5 * 2.5)))
    assert math.isclose(out["yi"][1], math.log(3 * 18 / (17 * 4)))
    assert math.isclose(out["vi"][2], 1 / 0.5 + 1 / 15.5 + 1 / 0.5 + 1 / 14.5)
    rr = effects.escalc(table, "RR")
    assert math.isclose(rr["yi"][2], math.log(0.5 / 16) - math.log(0.5 / 15))


def test_irr_and_rd():
    y, v = effects.log_irr(9, 413, 19, 398)
    assert math.isclose(y, math.log(9 / 413) - math.log(19 / 398)) and math.isclose(v, 1 / 9 + 1 / 19)
    y, v = effects.log_irr(0, 100, 4, 120)
    assert math.isclose(y, math.log(0.5 / 100) - math.log(4.5 / 120))
    y, v = effects.rd(3, 7, 1, 9)
    assert math.isclose(y, 0.2) and math.isclose(v, 0.3 * 0.7 / 10 + 0.1 * 0.9 / 10)


def test_generic_forms_and_mixed_rows():
    # synthetic mixed table: arm data, yi/vi, yi/sei, yi with CI, t statistic, signed p
    table = pd.DataFrame({
        "m1i": ["10", "", "", "", "", ""], "sd1i": ["2", "", "", "", "", ""], "n1i": ["20", "", "", "", "15", "15"],
        "m2i": ["9", "", "", "", "", ""], "sd2i": ["2", "", "", "", "", ""], "n2i": ["20", "", "", "", "16", "16"],
        "yi": ["", "0.3", "0.4", "0.5", "", ""], "vi": ["", "0.04", "", "", "", ""], "sei": ["", "", "0.1", "", "", ""],
        "ci_lb": ["", "", "", "0.1", "", ""], "ci_ub": ["", "", "", "0.9", "", ""],
        "ti": ["", "", "", "", "2.1", ""], "pi": ["", "", "", "", "", "-0.04"],
    })
    out = effects.escalc(table, "SMD", scale="identity")
    assert list(out["effect_source"]) == ["arms", "yi_vi", "yi_sei", "ci", "ti", "pi"]
    assert math.isclose(out["vi"][2], 0.01)
    assert math.isclose(out["vi"][3], (0.8 / (2 * stats.norm.ppf(0.975))) ** 2)
    assert out["yi"][5] < 0


def test_ratio_ci_is_log_transformed():
    table = pd.DataFrame({"yi": [2.0], "ci_lb": [1.0], "ci_ub": [4.0]})
    out = effects.escalc(table, "GEN", scale="log")
    assert math.isclose(out["yi"][0], math.log(2))
    assert math.isclose(out["sei"][0], math.log(4) / (2 * stats.norm.ppf(0.975)))


def test_problems_name_row_column_and_value_all_at_once():
    table = pd.DataFrame({"ai": ["3", "x", "12"], "n1i": ["10", "10", "10"], "ci": ["2", "1", "1"],
                          "n2i": ["10", "1", "10"]})
    with pytest.raises(InputError) as err:
        effects.escalc(table, "RR", file="t.csv")
    problems = err.value.problems
    assert {(p.row, p.column) for p in problems} == {(3, "ai"), (4, "ai")}
    assert all(p.file == "t.csv" and p.hint is not None for p in problems)


def test_small_groups_negative_variance_and_missing_columns():
    with pytest.raises(InputError) as err:
        effects.escalc(pd.DataFrame({"m1i": [1], "sd1i": [1], "n1i": [1], "m2i": [0], "sd2i": [1], "n2i": [5]}), "SMD")
    assert err.value.problems[0].column == "n1i"
    with pytest.raises(InputError) as err:
        effects.escalc(pd.DataFrame({"yi": [0.1, 0.2], "vi": [0.1, -0.2]}), "GEN")
    assert (err.value.problems[0].row, err.value.problems[0].column) == (3, "vi")
    with pytest.raises(InputError) as err:
        effects.escalc(pd.DataFrame({"m1i": [1.0], "sd1i": [1.0], "n1i": [10]}), "MD", file="x.csv")
    assert {p.column for p in err.value.problems} == {"m2i", "sd2i", "n2i"}


def test_t_statistic_only_for_smd():
    with pytest.raises(InputError) as err:
        effects.escalc(pd.DataFrame({"ti": [2.0], "n1i": [10], "n2i": [10]}), "MD")
    assert err.value.problems[0].column == "ti"
