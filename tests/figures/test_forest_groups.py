"""The forest plot's parts for grouped effect sizes (metasr.figures.forest_groups): the model lines
of a three-level model."""

from metasr.figures import forest_groups


def three_level(**model) -> dict:
    """SYNTHETIC: a three-level model's results."""
    return {"measure": "GEN", "method": "REML", "test": model.pop("outcome_test", "z"),
            "dependence": {"method": "multilevel", "rho": 0.0}, "k": 56, "k_studies": 11,
            "model": {"model_type": "three-level", "estimate": 0.18, "ci_lb": 0.02, "ci_ub": 0.35, "stat": 2.18,
                      "pval": 0.0332, "sigma2": [0.065, 0.033], "I2": 90.0, "I2_levels": [60.0, 30.0],
                      "Q": 578.86, "Q_df": 55, "Q_pval": 1e-90, **model}}


def test_the_test_line_names_the_models_test():
    assert forest_groups.footer_lines(three_level(test="z"))[-1] == "Test for overall effect: Z = 2.18 (P = 0.033)"
    # rma.mv(test = "t"): the t test with k - p df, not a Z
    t = three_level(test="t", df=55, outcome_test="t")
    assert forest_groups.footer_lines(t)[-1] == "Test for overall effect: t = 2.18, df = 55 (P = 0.033)"
    robust = three_level(test="t", df=9.41, robust={})
    assert forest_groups.footer_lines(robust)[-1] == \
        "Test for overall effect (CR2 cluster-robust, Satterthwaite df = 9.4): t = 2.18 (P = 0.033)"


def test_a_robust_univariate_fit_is_labelled_as_cr2(konstantopoulos_table):
    """A robust outcome whose studies each hold one effect size: CR2 t test, not 'IV, Random' and Z."""
    from metasr import dependence
    from metasr.stats.analysis import pool_outcome

    dep = dependence.settings({"dependence": {"method": "robust", "rho": 0}})
    pooled = pool_outcome(konstantopoulos_table(first_school=True), "GEN", "REML", "z", dependence=dep)
    assert forest_groups.model_header(pooled) == "IV, Random (REML), 95% CI (CR2)"
    assert forest_groups.overall_test_line(pooled) == \
        "Test for overall effect (CR2 cluster-robust, Satterthwaite df = 9.4): t = 1.00 (P = 0.342)"
    assert forest_groups.model_header({"method": "REML", "model": {"model_type": "univariate"}}) is None


def test_a_three_level_model_of_a_measure_without_a_null_has_no_test_line():
    """A single-group mean (MN) has no null: no test against 0, as for its univariate fits."""
    lines = forest_groups.footer_lines({**three_level(), "measure": "MN"})
    assert lines and not any("Test for overall effect" in line for line in lines)


def test_subgroups_of_one_three_level_model_nest_studies_and_say_why_no_heterogeneity_line():
    from metasr.figures import forest

    studies = [{"study_id": sid, "label": f"District {sid}", "year": 2000, "comparison": "as in the table",
                "es_id": f"school{j}", "yi": 0.1 * j, "vi": 0.01, "weight": 10.0, "subgroup": group}
               for sid, group in (("A", "early"), ("B", "late")) for j in (1, 2)]
    level = {"k": 2, "k_studies": 1, "estimate": 0.15, "se": 0.1, "ci_lb": -0.05, "ci_ub": 0.35}
    pooled = {**three_level(), "studies": studies, "status": "pooled",
              "subgroups": {"variable": "era", "model": "three-level", "sigma2": [0.074, 0.045],
                            "levels": [{**level, "level": "early"}, {**level, "level": "late"}],
                            "Q_between": 0.2, "Q_between_df": 1, "Q_between_pval": 0.65}}
    rows, _ = forest.build_rows(pooled, [forest.Column("weight", "Weight"), forest.Column("effect", "")], "year")
    labels = [r.label for r in rows]
    assert "early" in labels and forest_groups.INDENT + "District A 2000" in labels  # the study nested
    assert forest_groups.INDENT * 2 + "school1" in labels  # its effect sizes below it, no placeholder
    assert not any("as in the table" in label for label in labels)
    notes = [r.label for r in rows if r.kind == "note"]
    assert len(notes) == 2 and all("not per subgroup (one three-level model, era as moderator)" in n
                                   and "0.074" in n for n in notes)


def test_a_nested_effect_size_keeps_its_mark():
    """A converted effect size under its study's heading lost its † (its label was replaced)."""
    from metasr.figures import forest

    studies = [{"study_id": "A", "label": "District A", "year": 2000, "es_id": f"school{j}", "yi": 0.1 * j,
                "vi": 0.01, "weight": 10.0, "conversion": "SD from SE (Handbook 6.5.2.2)" if j == 1 else "none"}
               for j in (1, 2)] + [{"study_id": "B", "label": "District B", "year": 2001, "es_id": "school1",
                                    "yi": 0.2, "vi": 0.02, "weight": 10.0}]
    pooled = {**three_level(), "studies": studies, "status": "pooled"}
    rows, _ = forest.build_rows(pooled, [forest.Column("weight", "Weight"), forest.Column("effect", "")], "year")
    labels = [r.label for r in rows]
    assert forest_groups.INDENT + "school1 †" in labels and forest_groups.INDENT + "school2" in labels
