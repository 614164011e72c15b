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
