"""The report's parts for dependent effect sizes: the multilevel model's rows."""

from metasr.report import dependent


def multilevel_pooled(**model) -> dict:
    """SYNTHETIC: a three-level model's results."""
    return {"measure": "GEN", "model": {"model_type": "three-level", "estimate": 0.18, "ci_lb": 0.02,
                                        "ci_ub": 0.35, "stat": 2.2, "pval": 0.03, "Q": 578.86,
                                        "Q_df": 55, "Q_pval": 1e-90, "sigma2": [0.07, 0.03], **model}}


def test_p_values_are_written_by_the_display_module():
    rows = dict(dependent.model_rows(multilevel_pooled()))
    assert rows["Cochran's Q"] == "Q = 578.86, df = 55, P < 0.0001"
    assert rows["Test for overall effect"] == "z = 2.20, P = 0.030"
    rows = dict(dependent.model_rows(multilevel_pooled(pval=0.0004, robust={}, df=9.5)))
    assert rows["Robust test"] == "t = 2.20, df = 9.5 (Satterthwaite), P = 0.0004"
    assert not any("P = <" in value for value in rows.values())


def test_a_t_test_of_the_three_level_model_is_written_with_its_df():
    rows = dict(dependent.model_rows(multilevel_pooled(test="t", df=55, pval=0.0332)))
    assert rows["Test for overall effect"] == "t = 2.20, df = 55, P = 0.033"  # rma.mv(test = "t"): k - p df
    model_based = {"test": "t", "df": 55, "ci_lb": 0.05, "ci_ub": 0.31}
    robust = dict(dependent.model_rows(multilevel_pooled(robust={}, test="t", df=9.46, model_based=model_based)))
    assert robust["Model-based 95% CI (t)"] == "0.18 [0.05, 0.31]"
    assert robust["Robust test"] == "t = 2.20, df = 9.5 (Satterthwaite), P = 0.030"


def test_estimates_and_intervals_are_written_by_the_display_module():
    rows = dict(dependent.model_rows(multilevel_pooled(estimate=-0.05, ci_lb=-0.09, ci_ub=-0.01,
                                                        pi_lb=-0.08, pi_ub=-0.02, I2=95.04, I2_levels=[63.0, 32.04])))
    # a true minus, and two significant digits of the largest magnitude (0.09): three decimals
    assert rows["Pooled estimate [95% CI]"] == "\u22120.050 [\u22120.090, \u22120.010]"
    assert rows["95% prediction interval"] == "[\u22120.080, \u22120.020]"  # the estimate's decimals
    assert rows["Test for overall effect"] == "z = 2.20, P = 0.030"
    assert rows["I² total / between / within"] == "95.0% / 63.0% / 32.0%"
    assert rows["σ² between studies"] == "0.070" and rows["σ² within studies"] == "0.030"  # as tau² is written
    model_based = {"ci_lb": 0.05, "ci_ub": 0.31}
    robust = dict(dependent.model_rows(multilevel_pooled(robust={}, df=9.46, model_based=model_based)))
    assert robust["Pooled estimate [95% CI] (CR2 cluster-robust)"] == "0.18 [0.02, 0.35]"
    assert robust["Model-based 95% CI (z)"] == "0.18 [0.05, 0.31]"
    assert robust["Robust test"].startswith("t = 2.20, df = 9.5 (Satterthwaite)")
    missing = dict(dependent.model_rows(multilevel_pooled(estimate=None, sigma2=None)))
    assert missing["Pooled estimate [95% CI]"] == "–" and missing["95% prediction interval"] == "–"
    assert missing["σ² between studies"] == "–"


def test_rho_sensitivity_estimates_share_the_column_decimals():
    pooled = {**multilevel_pooled(), "dependence": {"method": "multilevel", "rho": 0.6, "multi_arm": "split"},
              "rho_sensitivity": [
                  {"rho": 0.0, "estimate": -0.05, "ci_lb": -0.09, "ci_ub": -0.01, "sigma2": [0.07, 0.03]},
                  {"rho": 0.8, "estimate": 0.15, "ci_lb": 0.11, "ci_ub": 0.19, "sigma2": [0.07, 0.031]}]}
    rows = dependent.section(pooled)["rho_rows"]
    assert [r["estimate"] for r in rows] == ["\u22120.05 [\u22120.09, \u22120.01]", "0.15 [0.11, 0.19]"]
    assert rows[1]["variance"] == "0.070 / 0.031" and rows[1]["rho"] == "0.8"


def test_the_note_of_a_univariate_fit_is_a_sentence_of_its_own():
    pooled = {"measure": "GEN", "k": 11, "k_studies": 11,
              "dependence": {"method": "robust", "description": "CR2", "rho": 0.0, "multi_arm": "split_shared"},
              "model": {"model_type": "univariate", "model_note": "every study holds one effect size: univariate"}}
    assert ". Every study holds one effect size: univariate." in dependent.section(pooled)["text"]


def test_a_three_level_model_of_a_measure_without_a_null_is_not_tested():
    """A single-group mean (MN) has no null: its dependent outcome's table says so, as a univariate one's."""
    rows = dict(dependent.model_rows({**multilevel_pooled(), "measure": "MN"}))
    assert rows["Test for overall effect"] == "– (the measure has no null)"
