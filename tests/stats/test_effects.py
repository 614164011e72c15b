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


# ---------------------------------------------------------------- every measure and option vs metafor
# tests/fixtures/measures: tools/reference/measures.R on published metadat data sets (and one small
# SYNTHETIC table of zero counts with person-time).

MEASURE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"
REFERENCE = json.loads((MEASURE_FIXTURES / "measures.json").read_text())


def fixture_table(case) -> pd.DataFrame:
    return pd.read_csv(MEASURE_FIXTURES / case["input"], dtype=str, keep_default_na=False)


def fixture_options(case) -> effects.Options:
    o = case.get("options") or {}  # R writes an empty list for no options
    return effects.Options(add=o.get("add"), to=o.get("to", "only0"), drop00=bool(o.get("drop00", False)),
                           vtype=o.get("vtype"))


def expected_arrays(case):
    yi = np.array([np.nan if v is None else v for v in case["yi"]], dtype=float)
    vi = np.array([np.nan if v is None else v for v in case["vi"]], dtype=float)
    return yi, vi


def undefined_rows(case, table) -> list[int]:
    """Spreadsheet rows where metafor has no effect (NA, or a zero variance) other than drop00's."""
    yi, vi = expected_arrays(case)
    data = {c: table[c].astype(float).to_numpy() for c in table.columns if c in ("ai", "ci", "x1i", "x2i")}
    if "n1i" in table.columns and "ai" in data:
        data.update(bi=table["n1i"].astype(float).to_numpy() - data["ai"],
                    di=table["n2i"].astype(float).to_numpy() - data["ci"])
    dropped = effects.dropped00(case["measure"], data, fixture_options(case)) if data else np.zeros(len(yi), bool)
    bad = (np.isnan(yi) | np.isnan(vi) | (vi <= 0)) & ~dropped
    return [i + 2 for i in np.flatnonzero(bad)]


@pytest.mark.parametrize("case", REFERENCE["escalc"], ids=lambda c: c["id"])
def test_escalc_matches_metafor_for_every_measure_and_option(case):
    table = fixture_table(case)
    options = fixture_options(case)
    undefined = undefined_rows(case, table)
    if undefined:  # metafor's NA: here a problem naming each such row, never a silent NA
        with pytest.raises(InputError) as err:
            effects.escalc(table, case["measure"], options=options)
        assert sorted({p.row for p in err.value.problems}) == undefined
        return
    out = effects.escalc(table, case["measure"], options=options)
    yi, vi = expected_arrays(case)
    # a study drop00 leaves without yi has no effect here (escalc keeps IRSD's vi, which needs no counts)
    vi = np.where(np.isnan(yi), np.nan, vi)
    assert np.allclose(out["yi"], yi, rtol=1e-10, atol=1e-13, equal_nan=True)
    assert np.allclose(out["vi"], vi, rtol=1e-10, atol=1e-13, equal_nan=True)
    assert (out["effect_source"] == "drop00").tolist() == np.isnan(yi).tolist()


def test_fixtures_cover_every_measure_and_option_value():
    from metasr import measures

    cases = REFERENCE["escalc"]
    assert {c["measure"] for c in cases} == set(measures.ids()) - {"GEN"}
    for m in measures.MEASURES.values():
        given = {(c["options"] or {}).get("vtype", m.vtypes[0] if m.vtypes else None) for c in cases
                 if c["measure"] == m.id}
        assert set(m.vtypes) <= given, m.id
        if "to" in m.options:
            assert set(effects.TO_VALUES) <= {(c["options"] or {}).get("to", "only0") for c in cases
                                              if c["measure"] == m.id}
            assert any("add" in (c["options"] or {}) for c in cases if c["measure"] == m.id)
        if "drop00" in m.options:
            assert any((c["options"] or {}).get("drop00") for c in cases if c["measure"] == m.id)


def test_ti_is_person_time_for_rates_and_a_t_statistic_for_smd():
    # One `ti` column, two meanings, as in metafor: IR's person-time; SMD's t statistic.
    rates = pd.DataFrame({"xi": [9, 8], "ti": [413, 263]})  # dat.hart1999, warfarin arm
    out = effects.escalc(rates, "IR")
    assert np.allclose(out["yi"], [9 / 413, 8 / 263]) and np.allclose(out["vi"], [9 / 413**2, 8 / 263**2])
    t_rows = pd.DataFrame({"ti": [2.1], "n1i": [15], "n2i": [16]})
    y, v = effects.smd_from_t(2.1, 15, 16)
    out = effects.escalc(t_rows, "SMD")
    assert math.isclose(out["yi"][0], float(y)) and out["effect_source"][0] == "ti"
    with pytest.raises(InputError) as err:  # a t statistic gives no rate: IR reads ti as time, needs xi
        effects.escalc(t_rows, "IR")
    assert "xi" in {p.column for p in err.value.problems}


def test_smd_rows_from_t_join_the_average_variance():
    # vtype AV averages yi over every SMD row, those from t statistics included (metafor's di).
    arms = {"m1i": "5.2", "sd1i": "1.9", "n1i": "23", "m2i": "4.1", "sd2i": "2.3", "n2i": "31"}
    table = pd.DataFrame([arms, {"ti": "-2.5", "n1i": "12", "n2i": "14"}])
    out = effects.escalc(table, "SMD", options=effects.Options(vtype="AV"))
    d = np.array([float(effects.smd(5.2, 1.9, 23, 4.1, 2.3, 31)[0]), float(effects.smd_from_t(-2.5, 12, 14)[0])])
    mean = np.sum(d * np.array([54, 26])) / 80
    assert np.allclose(out["vi"], [1 / 23 + 1 / 31 + mean**2 / 108, 1 / 12 + 1 / 14 + mean**2 / 52])


def test_options_a_measure_cannot_take_are_problems():
    table = pd.DataFrame({"ri": [0.3], "ni": [50]})
    with pytest.raises(InputError) as err:
        effects.escalc(table, "COR", options=effects.Options(vtype="UB", to="all"))
    assert {p.key for p in err.value.problems} == {"vtype", "to"}
    with pytest.raises(InputError) as err:
        effects.escalc(pd.DataFrame({"xi": [3], "ni": [10]}), "PR", options=effects.Options(to="sometimes"))
    assert err.value.problems[0].key == "to"


def test_drop00_studies_get_no_effect_and_say_why():
    table = pd.DataFrame({"ai": [0, 2], "n1i": [118, 44], "ci": [0, 3], "n2i": [105, 35]})  # dat.nielweise2007
    out = effects.escalc(table, "RR", options=effects.Options(drop00=True))
    assert math.isnan(out["yi"][0]) and out["effect_source"].tolist() == ["drop00", "arms"]


@pytest.mark.parametrize(("column", "cell", "rule"), [("ni", "3", "ni >= 4"), ("ri", "1", "-1 < ri < 1"),
                                                      ("ri", " 1e0 ", "-1 < ri < 1")])
def test_a_refused_cell_is_shown_as_written(column, cell, rule):
    """The problem echoes the cell the user typed ('3'), not the number it was read as ('3.0')."""
    table = pd.DataFrame({"ni": ["40", "50"], "ri": ["0.3", "0.2"]})  # SYNTHETIC
    table.loc[1, column] = cell
    with pytest.raises(InputError) as err:
        effects.escalc(table, "ZCOR")
    assert [(p.row, p.column, p.rule, p.value) for p in err.value.problems] == [(3, column, rule, cell.strip())]


def test_the_hypergeometric_function_of_ucor_is_right_where_gsl_is_not():
    """2F1(1/2, 1/2; 5; 0.9984) (UCOR of r = -0.04, n = 12, dat.cohen1981): scipy's hyp2f1 agrees
    with ours; gsl's hyperg_2F1, which metafor calls, gives 1.06475043502."""
    from scipy.special import hyp2f1

    from metasr.stats.effects import hyp2f1_1mw

    assert abs(hyp2f1_1mw(0.5, 0.5, 5, 0.0016) / float(hyp2f1(0.5, 0.5, 5, 0.9984)) - 1) < 1e-12


# ---------------------------------------------------------------- single-group means (MN, MNLN)

def test_single_group_means_are_escalcs():
    # metafor 3.8-1: escalc("MN", mi = c(-1.3, 8.26), sdi = c(1.831, 1.35), ni = c(29, 30)) and "MNLN" of 8.26
    table = pd.DataFrame({"mi": [-1.3, 8.26], "sdi": [1.831, 1.35], "ni": [29, 30]})
    out = effects.escalc(table, "MN")
    assert np.allclose(out["yi"], [-1.3, 8.26]) and np.allclose(out["vi"], [1.831**2 / 29, 1.35**2 / 30])
    out = effects.escalc(table.iloc[[1]], "MNLN")
    assert math.isclose(out["yi"].iloc[0], math.log(8.26)) and math.isclose(out["vi"].iloc[0], 1.35**2 / (30 * 8.26**2))


@pytest.mark.parametrize("measure, cells, column, rule", [
    ("MN", {"sdi": "0"}, "sdi", "sdi > 0"),
    ("MN", {"sdi": "-2"}, "sdi", "sdi > 0"),
    ("MN", {"ni": "0"}, "ni", "ni >= 2, whole"),
    ("MN", {"ni": "1"}, "ni", "ni >= 2, whole"),
    ("MN", {"ni": "12.5"}, "ni", "ni >= 2, whole"),
    ("MNLN", {"mi": "0"}, "mi", "mi > 0"),
    ("MNLN", {"mi": "-1.3"}, "mi", "mi > 0"),
])
def test_a_bad_single_group_mean_is_named_by_row_and_column(measure, cells, column, rule):
    table = pd.DataFrame({"study": ["a", "b"], "mi": ["7.6", "6.8"], "sdi": ["1.07", "0.8"], "ni": ["319", "45"]})
    for key, value in cells.items():
        table.loc[1, key] = value
    with pytest.raises(InputError) as err:
        effects.escalc(table, measure, file="means.csv")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.rule) == ("means.csv", 3, column, rule)
    assert problem.value == cells[column] and problem.hint


def test_a_negative_mean_is_a_raw_mean_but_no_log_mean():
    table = pd.DataFrame({"mi": [-1.7, 0.2], "sdi": [1.459, 1.446], "ni": [213, 209]})  # dat.senn2013, De Fronzo
    assert effects.escalc(table, "MN")["yi"].tolist() == [-1.7, 0.2]
    with pytest.raises(InputError) as err:
        effects.escalc(table, "MNLN")
    assert [p.row for p in err.value.problems] == [2] and "MN" in err.value.problems[0].hint


# ---------------------------------------------------------------- paired means (MC, SMCC, SMCR, SMCRH, ROMC)

# dat.lehmann2018's first within-subjects study (red vs control)
PAIR = {"m1i": 3.66, "m2i": 3.446667, "sd1i": 0.59976, "sd2i": 0.6085667, "ni": 15, "ri": 0.66}


def test_mean_change_is_escalcs_with_the_change_scores_variance():
    out = effects.escalc(pd.DataFrame([PAIR]), "MC")
    var_change = 0.59976**2 + 0.6085667**2 - 2 * 0.66 * 0.59976 * 0.6085667  # Cochrane Handbook 6.5.2.8
    assert math.isclose(out["yi"][0], 3.66 - 3.446667) and math.isclose(out["vi"][0], var_change / 15)


def test_the_sd_of_the_change_scores_can_be_given_as_sd1i():
    # ?escalc: sd1i = the SD of the differences, sd2i = 0 and ri = 0 (MC and SMCC)
    given = effects.escalc(pd.DataFrame([{**PAIR, "sd1i": 0.5, "sd2i": 0, "ri": 0}]), "SMCC")
    c = float(effects.hedges_correction(14))
    assert math.isclose(given["yi"][0], c * (3.66 - 3.446667) / 0.5)


def test_smcr_needs_no_sd2i_and_standardises_by_sd1i():
    row = {k: v for k, v in PAIR.items() if k != "sd2i"}
    out = effects.escalc(pd.DataFrame([row]), "SMCR")
    c = float(effects.hedges_correction(14))
    assert math.isclose(out["yi"][0], c * (3.66 - 3.446667) / 0.59976)
    assert math.isclose(out["vi"][0], 2 * (1 - 0.66) / 15 + out["yi"][0] ** 2 / 30)


@pytest.mark.parametrize("measure, cells, column, rule", [
    ("MC", {"ri": "1"}, "ri", "-1 < ri < 1"),
    ("MC", {"ri": "-1.2"}, "ri", "-1 < ri < 1"),
    ("SMCC", {"ni": "1"}, "ni", "ni >= 2, whole"),
    ("SMCC", {"ni": "14.5"}, "ni", "ni >= 2, whole"),
    ("MC", {"sd2i": "-0.6"}, "sd2i", "sd >= 0"),
    ("MC", {"sd1i": "0", "sd2i": "0"}, "sd1i", "sd1i^2 + sd2i^2 - 2 ri sd1i sd2i > 0"),
    ("SMCR", {"sd1i": "0"}, "sd1i", "sd1i > 0"),
    ("SMCRH", {"sd1i": "0"}, "sd1i", "sd1i > 0"),
    ("ROMC", {"m2i": "0"}, "m1i", "means > 0"),
    ("ROMC", {"m1i": "-3.66"}, "m1i", "means > 0"),
])
def test_a_bad_pair_is_named_by_row_and_column(measure, cells, column, rule):
    table = pd.DataFrame([{k: str(v) for k, v in PAIR.items()}] * 2)
    for key, value in cells.items():
        table.loc[1, key] = value
    with pytest.raises(InputError) as err:
        effects.escalc(table, measure, file="pairs.csv")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.rule) == ("pairs.csv", 3, column, rule)
    assert problem.hint


def test_a_paired_table_without_ri_names_the_column():
    table = pd.DataFrame([{k: v for k, v in PAIR.items() if k != "ri"}])
    with pytest.raises(InputError) as err:
        effects.escalc(table, "MC", file="pairs.csv")
    assert [p.column for p in err.value.problems] == ["ri"]


def test_a_column_named_in_another_case_is_named_in_the_hint():
    table = pd.DataFrame({"AI": ["4"], "BI": ["119"], "CI": ["11"], "DI": ["128"]})
    with pytest.raises(InputError) as err:
        effects.escalc(table, "RR", file="t.csv")
    assert [p.column for p in err.value.problems] == ["ai", "bi", "ci", "di"]
    assert "the table has 'AI'" in err.value.problems[0].hint and "rename it 'ai'" in err.value.problems[0].hint


@pytest.mark.parametrize(("cell", "says"), [("1e-400", "would read as 0"), ("55 (47)", "SD in sd1i")])
def test_a_cell_that_is_no_plain_number_gets_the_hint_for_what_it_holds(cell, says):
    """'1e-400' was read as 0 (and given escalc's 1/2 as a zero count); '55 (47)' is a mean with its SD."""
    table = pd.DataFrame({"ai": [cell, "6", "3"], "bi": ["119", "300", "228"], "ci": ["11", "29", "11"],
                          "di": ["128", "274", "209"]})
    table = pd.DataFrame({"m1i": [cell, "50", "52"], "sd1i": ["40", "41", "45"], "n1i": ["20", "30", "40"],
                          "m2i": ["60", "55", "57"], "sd2i": ["40", "41", "45"], "n2i": ["20", "30", "40"]}) \
        if "SD" in says else table
    with pytest.raises(InputError) as err:
        effects.escalc(table, "MD" if "SD" in says else "RR", file="t.csv")
    [problem] = err.value.problems
    assert problem.row == 2 and problem.value == cell and says in problem.hint


# ---------------------------------------------------------------- 2x2 associations (PHI, YUQ, YUY)

# dat.bourassa1996, Mills 1925: left-handed left-eyed, left-handed right-eyed, right-handed left-eyed,
# right-handed right-eyed
MILLS = {"ai": 93, "bi": 17, "ci": 130, "di": 760}


def test_phi_is_the_pearson_correlation_of_the_two_dichotomies():
    hand = np.repeat([1, 1, 0, 0], list(MILLS.values()))
    eye = np.repeat([1, 0, 1, 0], list(MILLS.values()))
    out = effects.escalc(pd.DataFrame([MILLS]), "PHI")
    assert math.isclose(out["yi"][0], np.corrcoef(hand, eye)[0, 1], rel_tol=1e-12)


def test_yules_q_and_y_are_the_odds_ratios_transforms():
    odds_ratio = (93 * 760) / (17 * 130)
    q, y = (effects.escalc(pd.DataFrame([MILLS]), m)["yi"][0] for m in ("YUQ", "YUY"))
    assert math.isclose(q, (odds_ratio - 1) / (odds_ratio + 1), rel_tol=1e-12)
    assert math.isclose(y, (math.sqrt(odds_ratio) - 1) / (math.sqrt(odds_ratio) + 1), rel_tol=1e-12)


def test_phi_adds_nothing_to_a_zero_cell_by_default_and_yules_q_one_half():
    # escalc's add is 0 for PHI (as for AS) and 1/2 for YUQ and YUY; dat.bourassa1996, Lavery 1944
    lavery = pd.DataFrame([{"ai": 27, "bi": 0, "ci": 101, "di": 261}])
    phi = effects.escalc(lavery, "PHI")
    assert phi["continuity_add"][0] == 0 and math.isclose(phi["yi"][0], 27 * 261 / math.sqrt(27 * 362 * 128 * 261))
    assert effects.escalc(lavery, "YUQ")["continuity_add"][0] == 0.5
    with pytest.raises(InputError) as err:  # no correction: the odds ratio is infinite
        effects.escalc(lavery, "YUQ", options=effects.Options(to="none"))
    assert [p.row for p in err.value.problems] == [2]


def test_a_table_without_one_column_margin_has_no_phi():
    table = pd.DataFrame([MILLS, {"ai": 0, "bi": 12, "ci": 0, "di": 30}])  # no one left-eyed: phi is 0 / 0
    with pytest.raises(InputError) as err:
        effects.escalc(table, "PHI", file="tables.csv")
    assert [(p.file, p.row) for p in err.value.problems] == [("tables.csv", 3)]


# ---------------------------------------------------------------- IRSD, SMD1

def test_irsd_is_the_difference_of_the_rates_square_roots():
    # dat.hart1999, the first trial: 9 events in 413 patient-years vs 19 in 398
    out = effects.escalc(pd.DataFrame([{"x1i": 9, "t1i": 413, "x2i": 19, "t2i": 398}]), "IRSD")
    assert math.isclose(out["yi"][0], math.sqrt(9 / 413) - math.sqrt(19 / 398), rel_tol=1e-12)
    assert math.isclose(out["vi"][0], 1 / (4 * 413) + 1 / (4 * 398), rel_tol=1e-12)
    zero = effects.escalc(pd.DataFrame([{"x1i": 0, "t1i": 120, "x2i": 2, "t2i": 110}]), "IRSD")  # add = 0
    assert zero["continuity_add"][0] == 0 and math.isclose(zero["yi"][0], -math.sqrt(2 / 110))


# dat.normand1999, the first study: specialist vs routine care, length of stay
NORMAND = {"m1i": 55, "sd1i": 47, "n1i": 155, "m2i": 75, "sd2i": 64, "n2i": 156}


def test_smd1_is_standardised_by_the_control_sd_alone():
    expected = float(effects.hedges_correction(155)) * (55 - 75) / 64
    full = effects.escalc(pd.DataFrame([NORMAND]), "SMD1")
    assert math.isclose(full["yi"][0], expected, rel_tol=1e-12)
    assert math.isclose(full["vi"][0], 1 / 155 + 1 / 156 + expected**2 / (2 * 156), rel_tol=1e-12)
    without = effects.escalc(pd.DataFrame([{k: v for k, v in NORMAND.items() if k != "sd1i"}]), "SMD1")
    blank = effects.escalc(pd.DataFrame([{**NORMAND, "sd1i": ""}]), "SMD1")  # sd1i is not read
    assert without["yi"][0] == blank["yi"][0] == full["yi"][0]


# ---------------------------------------------------------------- partial correlations (PCOR, SPCOR)

# dat.aloe2013, Abu-Bader (2000): t of the coefficient of interest, n, predictors, R^2
ABU_BADER = {"ti": 4.61, "ni": 218, "mi": 4, "r2i": 0.24}


def test_partial_correlations_from_a_coefficients_t():
    # Aloe & Becker 2012: r_p = t / sqrt(t^2 + df), sr = t sqrt(1 - R^2) / sqrt(df), df = n - m - 1
    pcor = effects.escalc(pd.DataFrame([ABU_BADER]), "PCOR")
    assert math.isclose(pcor["yi"][0], 4.61 / math.sqrt(4.61**2 + 213), rel_tol=1e-12)
    assert math.isclose(pcor["vi"][0], (1 - pcor["yi"][0] ** 2) ** 2 / 213, rel_tol=1e-12)
    spcor = effects.escalc(pd.DataFrame([ABU_BADER]), "SPCOR")
    assert math.isclose(spcor["yi"][0], 4.61 * math.sqrt(0.76) / math.sqrt(213), rel_tol=1e-12)
    negative = effects.escalc(pd.DataFrame([{**ABU_BADER, "ti": -4.61}]), "PCOR")  # the sign is t's
    assert negative["yi"][0] == -pcor["yi"][0]


def test_pcor_reads_no_r2_and_takes_a_model_with_one_residual_df():
    table = pd.DataFrame([{**ABU_BADER, "r2i": ""}, {"ti": 2.0, "ni": 6, "mi": 4, "r2i": ""}])
    out = effects.escalc(table, "PCOR")  # escalc too: ni - mi - 1 = 1 > 0
    assert math.isclose(out["yi"][1], 2 / math.sqrt(5)) and math.isclose(out["vi"][1], (1 - 0.8) ** 2)


@pytest.mark.parametrize("measure, cells, column, rule", [
    ("PCOR", {"mi": "217"}, "mi", "mi <= ni - 2"),
    ("PCOR", {"mi": "0"}, "mi", "mi >= 1, whole"),
    ("PCOR", {"mi": "4.5"}, "mi", "mi >= 1, whole"),
    ("PCOR", {"ni": "217.5"}, "ni", "ni >= 1, whole"),
    ("PCOR", {"ti": "NA"}, "ti", "arm data"),
    ("SPCOR", {"r2i": "1"}, "r2i", "0 <= r2i < 1"),
    ("SPCOR", {"r2i": "-0.1"}, "r2i", "0 <= r2i < 1"),
    ("SPCOR", {"r2i": "24"}, "r2i", "0 <= r2i < 1"),
    ("SPCOR", {"r2i": "0.01"}, "r2i", "t² (1 - r2i) / (ni - mi - 1) <= r2i"),
    ("SPCOR", {"r2i": ""}, "r2i", "arm data"),
    ("SMD1", {"n2i": "2"}, "n2i", "n2i >= 3"),
    ("SMD1", {"sd2i": "0"}, "sd2i", "sd2i > 0"),
])
def test_a_bad_regression_or_control_group_is_named_by_row_and_column(measure, cells, column, rule):
    base = ABU_BADER if measure != "SMD1" else NORMAND
    table = pd.DataFrame([{k: str(v) for k, v in base.items()}] * 2)
    for key, value in cells.items():
        table.loc[1, key] = value
    with pytest.raises(InputError) as err:
        effects.escalc(table, measure, file="studies.csv")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.rule) == ("studies.csv", 3, column, rule)
    assert problem.hint


def test_spcor_without_an_r2_column_names_it():
    with pytest.raises(InputError) as err:
        effects.escalc(pd.DataFrame([{k: v for k, v in ABU_BADER.items() if k != "r2i"}]), "SPCOR")
    assert [p.column for p in err.value.problems] == ["r2i"]
