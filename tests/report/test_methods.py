"""The methods paragraph says what was done, and nothing that was not."""

import copy

import pandas as pd
import pytest

from metasr.extraction import conversion_kinds
from metasr.extraction.effects import ASSUMED_R
from metasr.report.methods import conversion_counts, methods_paragraph
from metasr.stats.analysis import pool_outcome

SOFTWARE = {"Python": "3.11.7", "metasr": "0.1.0"}


def pooled_as(pooled: dict, **changes) -> dict:
    return {**copy.deepcopy(pooled), **changes}


def test_models_are_named_per_outcome(review_config, normand_pooled):
    a = pooled_as(normand_pooled, outcome="edss", label="EDSS")
    b = pooled_as(normand_pooled, outcome="sdmt", label="SDMT", method="DL", test="knha")
    text = methods_paragraph(review_config, [a, b], SOFTWARE)
    assert "restricted maximum likelihood) with Wald-type tests and confidence intervals (normal " \
           "distribution) for EDSS" in text
    assert "DerSimonian-Laird estimator) with the Knapp-Hartung adjustment for SDMT" in text
    assert "IRL-positive with IRL-negative" in text and "metasr 0.1.0" in text
    assert "Mantel-Haenszel" not in text and "common-effect" not in text


def test_nothing_pooled_says_so_and_claims_no_model(review_config):
    text = methods_paragraph(review_config, [{"outcome": "edss", "status": "single_study", "label": "EDSS"}],
                             SOFTWARE)
    assert "no meta-analysis was run" in text
    for not_done in ("random-effects", "Heterogeneity", "GRADE", "Small-study", "Cumulative", "leave-one-out"):
        assert not_done not in text
    assert "Outcomes with a single study (EDSS) are reported without pooling." in text


def test_conversions_are_those_the_rows_used(review_config, normand_pooled):
    extraction = {"edss": [{"usable": "true", "conversion": "none"},
                           {"usable": "true", "conversion": "t from two-sided p (Handbook 6.5.2.3)"},
                           {"usable": "false", "conversion": "Luo 2018 (S1) mean; Wan 2014 (S1) SD"}]}
    text = methods_paragraph(review_config, [normand_pooled], SOFTWARE, extraction)
    assert "exact two-sided P values through the t statistic" in text and "in 1 row" in text
    assert "median" not in text.lower() and "Luo" not in text  # the only median row was not used
    extraction["edss"][2]["usable"] = "true"
    text = methods_paragraph(review_config, [normand_pooled], SOFTWARE, extraction)
    assert "medians with interquartile ranges or ranges were converted to means and SDs " \
           "(Luo 2018 (S1) mean; Wan 2014 (S1) SD) in 1 row" in text
    assert "Hozo" not in text
    nothing = {"edss": [{"usable": "true", "conversion": "none"}]}
    assert "did not report" not in methods_paragraph(review_config, [normand_pooled], SOFTWARE, nothing)



def test_a_p_bound_used_as_if_exact_is_counted_once_not_among_exact_p_values(review_config, normand_pooled):
    exact = {"usable": "true", "conversion": "t from two-sided p (Handbook 6.5.2.3)",
             "conversion_detail": "two-sided p 0.017, df 73 -> |t| 2.4424; sign from direction 'group1_higher'"}
    bound = {"usable": "true", "conversion": "t from two-sided p (Handbook 6.5.2.3)",
             "conversion_detail": "p bound <0.001 used as if exact (conservative; extraction.p_value_bounds = "
                                  "as_exact); two-sided p <0.001, df 40 -> |t| 3.5510"}
    text = methods_paragraph(review_config, [normand_pooled], SOFTWARE, {"edss": [exact, bound]})
    assert "exact two-sided P values through the t statistic with group sizes (Cochrane Handbook 6.5.2.3) in 1 row" \
        in text
    assert "P values reported only as a bound were used as if exact (conservative) in 1 row" in text
    only_bound = methods_paragraph(review_config, [normand_pooled], SOFTWARE, {"edss": [bound]})
    assert "exact two-sided P values" not in only_bound and "used as if exact (conservative) in 1 row" in only_bound

def test_every_conversion_metasr_writes_has_its_sentence():
    """The conversion texts metasr.extraction writes, each recognised (not 'other conversion')."""
    written = ["Luo 2018 (S3) mean; Shi 2020 (S3) SD", "Hozo 2005 mean and SD (median, range)",
               "Cochrane Handbook 6.5.2.5: mean = median, SD = IQR/1.35", "SD from SE (Handbook 6.5.2.2)",
               "SD from 95% CI using t (Handbook 6.5.2.2)", "MD from group means",
               "SE from 95% CI on the log scale via z (Handbook 6.3.2)", "SE from 95% CI via t (Handbook 6.5.2.3)",
               "SE from 95% CI via z (Handbook 6.3.1)", "SE from two-sided p via t (Handbook 6.5.2.3)",
               "SE from two-sided p via z (Handbook 6.3.2)", "SE from two-sided p via z (Handbook 6.3.1)",
               "t statistic as reported",
               "t from two-sided p (Handbook 6.5.2.3)", "t = difference / SE",
               "combined subgroups (Handbook Table 6.5.a)", "combined subgroups (sums)", "flipped", ASSUMED_R,
               "shared group 2 split between 3 comparisons (Handbook 23.3.4)"]
    found = conversion_counts({"x": [{"usable": "true", "conversion": c} for c in written]})
    assert not [key for key in found if key.startswith("other conversion")]
    assert set(found) == {kind.sentence for kind in conversion_kinds.KINDS}
    unknown = conversion_counts({"x": [{"usable": "true", "conversion": "made up by hand"}]})
    assert list(unknown) == ["other conversion: made up by hand"]  # named, never dropped



@pytest.mark.parametrize("conversion, said", [
    ("SE from two-sided p via z (Handbook 6.3.1)", "reported effects were derived from exact two-sided P values via "
                                                   "z (Cochrane Handbook 6.3.1)"),
    ("SE from two-sided p via z (Handbook 6.3.2)", "reported ratios were derived from exact two-sided P values via z "
                                                   "on the log scale (Cochrane Handbook 6.3.2)"),
    ("SE from two-sided p via t (Handbook 6.5.2.3)", "via the t distribution on n1 + n2 - 2 degrees of freedom "
                                                     "(Cochrane Handbook 6.5.2.3)"),
    ("SE from 95% CI via t (Handbook 6.5.2.3)", "95% confidence intervals with the t distribution"),
])
def test_an_se_from_a_p_value_or_ci_cites_the_handbook_section_of_its_effect(conversion, said):
    """6.3.1 is for differences, 6.3.2 for ratios, 6.5.2.3 for a difference in means with its group sizes."""
    [sentence] = conversion_counts({"x": [{"usable": "true", "conversion": conversion}]})
    assert said in sentence

def zero_cell_pooled(first_events: int = 0, **escalc) -> dict:
    from metasr.stats.effects import Options

    table = pd.DataFrame({"study_id": ["a", "b", "c"], "label": ["A", "B", "C"], "year": [2001, 2002, 2003],
                          "ai": [first_events, 3, 5], "n1i": [10, 20, 30], "ci": [2, 4, 9],
                          "n2i": [10, 20, 30]})  # SYNTHETIC
    return pool_outcome(table, "RR", "REML", outcome="dmt_response", label="Response", options=Options(**escalc))


def test_zero_cell_corrections_are_said_only_when_applied(review_config):
    text = methods_paragraph(review_config, [zero_cell_pooled()], SOFTWARE)
    assert "A continuity correction was applied: 0.5 added to each cell of the 2×2 table (zero cell; " \
           "escalc add = 0.5, to = only0), in Response (1 study)." in text
    assert "continuity" not in methods_paragraph(review_config, [zero_cell_pooled(1)], SOFTWARE)
    everyone = methods_paragraph(review_config, [zero_cell_pooled(to="all")], SOFTWARE)
    assert "to = all), in Response (3 studies)" in everyone


def test_pooled_studies_carry_the_correction_instead_of_none():
    studies = zero_cell_pooled()["studies"]
    assert studies[0]["conversion"].startswith("0.5 added to each cell of the 2×2 table (zero cell")
    assert studies[0]["continuity"] == {"add": 0.5, "to": "only0", "text": studies[0]["conversion"]}
    assert "continuity" not in studies[1]


def test_small_study_and_sensitivity_only_where_run(review_config, bcg_pooled, normand_pooled):
    bcg = pooled_as(bcg_pooled, k=13)
    text = methods_paragraph(review_config, [bcg], SOFTWARE)
    assert f"Small-study effects were examined for {bcg['label']}" in text
    few = pooled_as(normand_pooled, small_study={"skipped": "k = 9 < 10"}, sensitivity=None)
    text = methods_paragraph(review_config, [few], SOFTWARE)
    assert "Small-study effects were not assessed: no pooled outcome had the 10 studies they need" in text
    assert "Egger" not in text.split("GRADE")[0] and "leave-one-out" not in text and "Cumulative" not in text
    # outcomes with their own minimum: said per outcome ("at least 3 and 10 studies" garbled them)
    own = pooled_as(bcg_pooled, k=13, outcome="k3", label="K3")
    own["small_study"] = {**(own.get("small_study") or {}), "settings": {"min_k": 3}}
    text = methods_paragraph(review_config, [bcg, own], SOFTWARE)
    assert f"(at least 3 studies for K3 and 10 for {bcg['label']})" in text
    assert f"with at least 3 studies for K3 and 10 for {bcg['label']}" in text


def test_grade_rules_follow_the_implementation(review_config, normand_pooled):
    from metasr.report.grade import OPTIMAL_INFORMATION_SIZE

    text = methods_paragraph(review_config, [normand_pooled], SOFTWARE)
    assert "started at high certainty" in text and "ROBINS-I or ROBINS-E" in text
    assert f"fewer than {OPTIMAL_INFORMATION_SIZE} participants" in text
    assert "reviewers set their own ratings" not in text
    config = copy.deepcopy(review_config)
    config["outcomes"][normand_pooled["outcome"]] = {**config["outcomes"].get(normand_pooled["outcome"], {}),
                                                    "grade": {"indirectness": -1, "reason": "test"}}
    assert "reviewers set their own ratings" in methods_paragraph(config, [normand_pooled], SOFTWARE)


def test_subgroup_analyses_and_meta_regressions_are_named_where_they_ran(review_config):
    from pathlib import Path

    from metasr.analysis_settings import meta_regression_settings

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "year": bcg["year"],
                          "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"],
                          "ablat": bcg["ablat"].astype(str), "alloc": bcg["alloc"]})
    regression = meta_regression_settings({"meta_regression": {"moderators": ["ablat"], "permutations": 100}})
    by_alloc = pool_outcome(table, "RR", "REML", outcome="tb", label="Tuberculosis", subgroup="alloc")
    on_latitude = pool_outcome(table, "RR", "DL", "knha", outcome="tb2", label="TB cases",
                               meta_regression=regression)
    text = methods_paragraph(review_config, [by_alloc, on_latitude], SOFTWARE)
    assert "Subgroup analyses (alloc for Tuberculosis) fitted the outcome's model to each subgroup" in text
    assert ("For TB cases, a mixed-effects meta-regression (residual heterogeneity by the DerSimonian-Laird "
            "estimator) on ablat was fitted with the Knapp-Hartung adjustment; P values were also obtained by a "
            "permutation test (100 random permutations).") in text
    one_level = pool_outcome(table.assign(alloc="random"), "RR", "REML", outcome="tb", label="TB", subgroup="alloc")
    assert one_level["subgroups"].get("skipped")
    text = methods_paragraph(review_config, [one_level], SOFTWARE)  # planned, so said, with its reason
    assert "Subgroup analyses" not in text
    assert f"Planned but not run: the subgroup analysis by alloc for TB ({one_level['subgroups']['skipped']})." in text
    assert "meta-regression" not in methods_paragraph(review_config, [by_alloc], SOFTWARE)
    constant = pool_outcome(table.assign(ablat="40"), "RR", "REML", outcome="tb", label="TB",
                            meta_regression=regression)
    assert "Planned but not run: the meta-regression on ablat for TB (moderator term 'ablat' is constant" in \
        methods_paragraph(review_config, [constant], SOFTWARE)


def test_mantel_haenszel_tests_are_named_for_the_outcomes_that_have_them(review_config):
    from pathlib import Path

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "year": bcg["year"],
                          "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]})
    odds = pool_outcome(table, "OR", "MH", outcome="tb", label="TB (OR)")
    risks = pool_outcome(table, "RR", "MH", outcome="tb_rr", label="TB (RR)")
    text = methods_paragraph(review_config, [odds, risks], SOFTWARE)
    assert "For TB (OR), the Cochran-Mantel-Haenszel test (with continuity correction) and Tarone's" in text
    assert "TB (RR), the" not in text and "test of the rate ratio" not in text
    assert "For TB (OR) and TB (RR), pooled by Mantel-Haenszel or Peto, these tests used the inverse-variance " \
           "common-effect model of the same effects." in text
    # their leave-one-out refits are Mantel-Haenszel fits, without influence diagnostics
    assert "Leave-one-out analyses were run for TB (OR) and TB (RR), each refitted with the outcome's own " \
           "model." in text and "influence" not in text


def test_subgroups_of_dependent_effect_sizes_are_named_as_the_three_level_model_compares_them(review_config):
    pooled = {"outcome": "red", "label": "Attractiveness", "status": "pooled", "method": "REML", "test": "z",
              "model": {"estimate": 0.4}, "subgroups": {"variable": "raters", "model": "three-level",
                                                        "levels": [{"level": "female"}, {"level": "male"}],
                                                        "Q_between_test": "CR2 HTZ"}}
    text = methods_paragraph(review_config, [pooled], SOFTWARE)
    assert ("Subgroups of dependent effect sizes (raters for Attractiveness) were compared in the three-level "
            "model with one mean per subgroup") in text and "CR2 cluster-robust HTZ test" in text
    assert "fitted the outcome's model to each subgroup separately" not in text


def test_search_de_duplication_and_screening_are_said_from_the_counted_flow(review_config, normand_pooled):
    prisma = {"records": {"identified": 31, "unique": 14, "duplicates": 17},
              "columns": {"databases": {"identified": 25, "identified_by_database": [
                  {"database": "PubMed", "n": 8}, {"database": "Scopus", "n": 17}]},
                  "other": {"identified": 6, "identified_by_database": [{"database": "citation searching", "n": 6}]}},
              "agreement": {"title_abstract": {"dual": True, "n": 14, "kappa": 0.6957, "conflicts": 2,
                                               "unresolved": 0},
                            "full_text": {"dual": False, "n": 0, "kappa": None, "conflicts": 0, "unresolved": 0}},
              "included": {"studies": 3, "reports": 4}}
    text = methods_paragraph(review_config, [normand_pooled], SOFTWARE, prisma=prisma)
    assert text.startswith("Records were identified from PubMed and Scopus (25 records) and by other methods: "
                           "citation searching (6 records). De-duplication removed 17 duplicate records (each kept in "
                           "an audit trail), leaving 14 unique records. Titles and abstracts were screened "
                           "independently by two reviewers (Cohen's κ = 0.70 on 14 records; 2 disagreements, each "
                           "resolved). Full texts were screened by one reviewer. In all, 3 studies (4 reports) were "
                           "included. We compared")
    prisma["agreement"]["title_abstract"]["screened"] = 16  # two of them screened by one reviewer
    assert "Titles and abstracts were screened independently by two reviewers for 14 of 16 records, by one for the " \
           "others (Cohen's κ = 0.70 on 14 records;" in methods_paragraph(review_config, [normand_pooled], SOFTWARE,
                                                                      prisma=prisma)
    prisma["agreement"]["full_text"] = {"dual": True, "screened": 88, "n": 88, "kappa": 1.0, "conflicts": 0,
                                        "not_retrieved": 1}
    assert "Full texts were screened independently by two reviewers (Cohen's κ = 1.00 on 88 records); 1 report " \
           "could not be retrieved. In all" in methods_paragraph(review_config, [normand_pooled], SOFTWARE,
                                                                 prisma=prisma)
    declared = {**prisma, "origin": "declared"}  # counts the config declares: metasr did not do the search
    assert methods_paragraph(review_config, [normand_pooled], SOFTWARE, prisma=declared).startswith("We compared")
    assert methods_paragraph(review_config, [normand_pooled], SOFTWARE).startswith("We compared")


def bcg_table(**extra) -> pd.DataFrame:
    """metafor's dat.bcg as an extraction table of 2x2 counts."""
    from pathlib import Path

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "year": bcg["year"],
                         "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"], **extra})


def test_a_correction_of_mantel_haenszel_and_peto_outcomes_is_said_for_what_it_touched(review_config):
    """rma.mh and rma.peto pool the raw counts: the correction changed the per-study effects shown
    (and the inverse-variance small-study tests, where they ran), never their pooled estimate."""
    zero = zero_cell_pooled()
    table = bcg_table()
    table.loc[0, "ai"] = 0  # SYNTHETIC zero cell in the first BCG trial
    by_mh = pool_outcome(table, "OR", "MH", outcome="tb", label="TB")
    by_peto = pool_outcome(table.head(5), "OR", "PETO", outcome="tb5", label="TB five")
    assert by_mh["studies"][0]["continuity"] and "skipped" not in by_mh["small_study"]
    text = methods_paragraph(review_config, [zero, by_mh, by_peto], SOFTWARE)
    correction = by_mh["studies"][0]["continuity"]["text"]
    assert "A continuity correction was applied: 0.5 added to each cell of the 2×2 table (zero cell; escalc " \
           "add = 0.5, to = only0), in Response (1 study)." in text  # the inverse-variance outcome: as before
    assert f"A continuity correction was applied in TB (1 study) and TB five (1 study): {correction}; " \
           "these outcomes were pooled by the Mantel-Haenszel method or Peto's method from the raw counts (as " \
           "metafor's rma.mh and rma.peto), so the correction changed only the per-study effects shown (studies " \
           "table, forest plot) and, for TB, the inverse-variance small-study tests, not the pooled estimates." in text
    assert "to = only0), in TB" not in text  # not said as a correction of the pooled estimate
    alone = methods_paragraph(review_config, [by_peto], SOFTWARE)
    assert "this outcome was pooled by Peto's method from the raw counts (as metafor's rma.peto), so the " \
           "correction changed only the per-study effects shown (studies table, forest plot), not the pooled " \
           "estimate." in alone


def test_heterogeneity_is_promised_only_as_each_model_reports_it(review_config):
    """metafor's rma.mh and rma.peto print I², H² and Q, no tau²: their outcomes are not promised one."""
    table = bcg_table()
    by_mh = pool_outcome(table, "OR", "MH", outcome="tb", label="TB")
    by_peto = pool_outcome(table, "OR", "PETO", outcome="tb_peto", label="TB (Peto)")
    random = pool_outcome(table, "RR", "REML", outcome="tb_rr", label="TB (RR)")
    text = methods_paragraph(review_config, [by_mh, by_peto], SOFTWARE)
    assert "Heterogeneity is reported as I², H² and Cochran's Q (a common-effect model has no between-study " \
           "variance)." in text and "tau²" not in text
    mixed = methods_paragraph(review_config, [random, by_mh], SOFTWARE)
    assert "Heterogeneity is reported as tau², I² (with confidence intervals from the Q-profile method), H² and " \
           "Cochran's Q for TB (RR); I², H² and Cochran's Q (a common-effect model has no between-study variance) " \
           "for TB; 95% prediction intervals" in mixed


def test_three_level_outcomes_are_described_by_their_own_model(review_config, attractiveness_table):
    """A three-level outcome: its sigma² components, not 'tau², I², H²', and no univariate
    random-effects sentence."""
    from metasr import dependence

    cfg = {"dependence": {"method": "multilevel", "rho": 0.5}}
    pooled = pool_outcome(attractiveness_table(), "SMD", "REML", "z", outcome="red", label="Attractiveness",
                          dependence=dependence.settings(cfg))
    assert pooled["model"]["model_type"] == "three-level"
    config = {**review_config, "outcomes": {"red": {"label": "Attractiveness", "measure": "SMD", **cfg}}}
    text = methods_paragraph(config, [pooled], SOFTWARE)
    assert "Outcomes with at least two studies were pooled: a three-level model (variance components by restricted " \
           "maximum likelihood; described below) with Wald-type tests and confidence intervals (normal " \
           "distribution) for Attractiveness." in text
    assert "random-effects model (inverse-variance" not in text and "tau²" not in text and "H²" not in text
    assert "Heterogeneity is reported as the variance components σ² between studies and within studies, I² per " \
           "level and Cochran's Q; 95% prediction intervals" in text
    robust = pool_outcome(attractiveness_table(), "SMD", "REML", "z", outcome="red", label="Attractiveness",
                          dependence=dependence.settings({"dependence": {"method": "robust", "rho": 0.5}}))
    assert "a three-level model (variance components by restricted maximum likelihood; described below) with CR2 " \
           "cluster-robust tests and confidence intervals (Satterthwaite degrees of freedom) for Attractiveness" in \
        methods_paragraph(config, [robust], SOFTWARE)



def test_an_outcome_set_up_as_dependent_with_one_effect_size_per_study_is_said_to_be_univariate(review_config):
    from metasr import dependence

    cfg = {"dependence": {"method": "multilevel", "rho": 0.5}}
    pooled = pool_outcome(bcg_table(), "RR", "REML", "z", outcome="tb", label="TB", dependence=dependence.settings(cfg))
    assert pooled["model"].get("model_type") != "three-level"  # one effect size per study: nothing to nest
    config = {**review_config, "outcomes": {"tb": {"label": "TB", "measure": "RR", **cfg}}}
    text = methods_paragraph(config, [pooled], SOFTWARE)
    assert ("For TB, set up for several effect sizes per study, every study contributed one, so the outcome's "
            "univariate model was fitted.") in text
    assert "were pooled with a three-level model" not in text

def test_a_robust_outcome_of_one_effect_size_per_study_is_said_to_use_cr2_inference(review_config,
                                                                                    konstantopoulos_table):
    from metasr import dependence

    cfg = {"dependence": {"method": "robust", "rho": 0}}
    pooled = pool_outcome(konstantopoulos_table(first_school=True), "GEN", "REML", "z", outcome="ach",
                          label="Achievement", dependence=dependence.settings(cfg))
    config = {**review_config, "outcomes": {"ach": {"label": "Achievement", "measure": "GEN", **cfg}}}
    text = methods_paragraph(config, [pooled], SOFTWARE)
    assert ("a random-effects model (inverse-variance weights; between-study variance by restricted maximum "
            "likelihood) with CR2 cluster-robust tests and confidence intervals (Satterthwaite degrees of freedom) "
            "for Achievement") in text
    assert "normal distribution" not in text


def test_the_study_level_refits_of_three_level_outcomes_are_said_as_they_ran(review_config, konstantopoulos_table):
    """A cumulative analysis not run (a study without a year) is not claimed."""
    from metasr import dependence

    cfg = {"dependence": {"method": "multilevel", "rho": 0, "rho_sensitivity": [0]}}
    config = {**review_config, "outcomes": {"ach": {"label": "Achievement", "measure": "GEN", **cfg}}}
    table = konstantopoulos_table()
    ordered = pool_outcome(table, "GEN", "REML", "z", outcome="ach", label="Achievement",
                           dependence=dependence.settings(cfg))
    assert "Leave-one-out and cumulative analyses left out or added whole studies. Small-study effects were " \
           "tested" in methods_paragraph(config, [ordered], SOFTWARE)
    table.loc[table["study_id"] == "D11", "year"] = None
    unordered = pool_outcome(table, "GEN", "REML", "z", outcome="ach", label="Achievement",
                             dependence=dependence.settings(cfg))
    text = methods_paragraph(config, [unordered], SOFTWARE)
    assert "Leave-one-out analyses left out whole studies. Small-study" in text and "cumulative analyses" not in text
    assert "Cumulative meta-analyses" not in text


def test_the_selection_model_is_named_as_it_ran(review_config):
    from metasr.analysis_settings import small_study_settings

    table = bcg_table()
    step = pool_outcome(table, "RR", "REML", outcome="tb", label="TB", small_study=small_study_settings(
        {"small_study": {"selmodel": {"steps": [0.025], "alternative": "less"}}}))
    assert step["small_study"]["selmodel"]["type"] == "stepfun"
    text = methods_paragraph(review_config, [step], SOFTWARE)
    assert "PET-PEESE and a step-function selection model (cut point 0.025; one-sided P values, alternative " \
           "'less')." in text and "or beta" not in text
    beta = pool_outcome(table, "RR", "REML", outcome="tb2", label="TB2", small_study=small_study_settings(
        {"small_study": {"selmodel": {"type": "beta"}}}))
    assert beta["small_study"]["selmodel"]["type"] == "beta"
    both = methods_paragraph(review_config, [step, beta], SOFTWARE)
    assert "a step-function selection model (cut point 0.025; one-sided P values, alternative 'less'; for TB) and " \
           "a beta selection model (one-sided P values, alternative 'greater'; for TB2)." in both


def test_each_small_study_method_names_the_outcomes_it_ran_for_and_why_not_the_others(review_config):
    """The tester's review (dat.bcg by MH, dat.pritz1997 as PFT): PET-PEESE ran for TB, not for the
    proportion (no null), and the selection model for neither (why, each)."""
    from pathlib import Path

    table = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "measures" / "inputs" / "pritz1997.csv")
    table["study_id"] = [f"P{i + 1:02d}" for i in range(len(table))]
    prevalence = pool_outcome(table, "PFT", "REML", outcome="good", label="Good outcome")  # dat.pritz1997, k = 14
    tb = pool_outcome(bcg_table(), "RR", "MH", outcome="tb", label="TB")
    text = methods_paragraph(review_config, [tb, prevalence], SOFTWARE)
    assert "Begg's rank correlation, trim-and-fill and PET-PEESE (for TB)." in text
    assert "PET-PEESE was not run for Good outcome: the measure has no null effect, and PET's intercept tests " \
           "effects against 0." in text
    assert "The selection model was not run for TB: too few studies per interval of one-sided (greater) p-values" \
        in text
    assert "The selection model was not run for Good outcome: the measure has no null effect" in text


def test_the_funnel_plot_is_called_contour_enhanced_only_where_it_has_contours(review_config, bcg_pooled):
    """A proportion has no null, so its funnel has no significance contours (figures.shown.funnel_contours)."""
    from pathlib import Path

    table = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "measures" / "inputs" / "pritz1997.csv")
    table["study_id"] = [f"P{i + 1:02d}" for i in range(len(table))]
    prevalence = pool_outcome(table, "PFT", "REML", outcome="good", label="Good outcome")  # dat.pritz1997, k = 14
    assert "skipped" not in prevalence["small_study"]
    text = methods_paragraph(review_config, [prevalence], SOFTWARE)
    assert "Small-study effects were examined for Good outcome (at least 10 studies): funnel plot around the " \
           "pooled estimate (without significance contours: the measure has no null to test against), " in text
    assert "contour-enhanced" not in text
    both = methods_paragraph(review_config, [pooled_as(bcg_pooled, k=13), prevalence], SOFTWARE)
    assert "contour-enhanced funnel plot (for Good outcome, whose measure has no null to test against, a funnel " \
           "plot around the pooled estimate without significance contours)" in both
    assert ": contour-enhanced funnel plot, " in methods_paragraph(review_config, [pooled_as(bcg_pooled, k=13)],
                                                                  SOFTWARE)


def test_methods_say_which_outcomes_were_refitted_without_high_risk_of_bias(review_config):
    overall = {f"S{i:02d}": "high" if i in (1, 3) else "low" for i in range(13)}
    ran = pool_outcome(bcg_table(), "RR", "REML", outcome="tb", label="TB", risk_of_bias=overall)
    none = pool_outcome(bcg_table(), "RR", "REML", outcome="death", label="Death", risk_of_bias={})
    off = pool_outcome(bcg_table(), "RR", "REML", outcome="other", label="Other")
    text = methods_paragraph(review_config, [ran, none, off], SOFTWARE)
    assert "For TB, a sensitivity analysis left out the studies at high risk of bias" in text
    assert "did not run: for Death, no study has an overall risk-of-bias judgement." in text
    assert "Other" not in text.split("high risk")[-1]


def test_methods_give_each_reason_the_analysis_without_high_risk_of_bias_did_not_run(review_config):
    """The reasons are the sections' own, e.g. a model that cannot be fitted on the studies kept."""
    bcg = bcg_table()
    overall = {f"S{i:02d}": "high" if i > 1 else "low" for i in range(13)}
    kept = pool_outcome(bcg.assign(ai=lambda t: t["ai"].where(t.index > 1, 0),
                                   ci=lambda t: t["ci"].where(t.index > 1, 0)),
                        "OR", "MH", outcome="tb", label="TB", risk_of_bias=overall)
    assert kept["sensitivity"]["excluding_high_risk"]["skipped"].startswith("the MH model cannot be fitted")
    low = pool_outcome(bcg, "RR", "REML", outcome="death", label="Death",
                       risk_of_bias=dict.fromkeys(overall, "low"))
    text = methods_paragraph(review_config, [kept, low], SOFTWARE)
    assert ("did not run: for TB, the MH model cannot be fitted on the 2 studies kept; for Death, no study is at "
            "high risk of bias.") in text
    # outcomes with the same reason together, whatever their counts
    other = {**copy.deepcopy(low), "outcome": "other", "label": "Other"}
    other["sensitivity"]["excluding_high_risk"]["skipped"] = "no study is at high risk of bias (2 low): ..."
    assert "for Death and Other, no study is at high risk of bias." in methods_paragraph(review_config, [low, other],
                                                                                         SOFTWARE)


def test_methods_say_how_risk_of_bias_was_assessed(review_config, normand_pooled):
    """The tools used with their sources (metasr.rob.TOOLS), the reviewers when recorded (SYNTHETIC)."""
    studies = [{"study_id": "A", "rob_tool": "RoB2", "rob_overall": "low"},
               {"study_id": "B", "rob_tool": "NOS", "rob_selection": "4", "rob_comparability": "2", "rob_outcome": "3"},
               {"study_id": "C"}]
    config = {**review_config, "risk_of_bias": {"reviewers": 2}}
    text = methods_paragraph(config, [normand_pooled], SOFTWARE, studies=studies)
    assert "Risk of bias was assessed by 2 reviewers with RoB 2 (Sterne et al. BMJ 2019;366:l4898) and " \
           "Newcastle–Ottawa Scale (Wells et al., ohri.ca; AHRQ good/fair/poor thresholds), for 2 of 3 studies" in text
    assert "ROBINS" not in text.split("Risk of bias was assessed")[1].split(".")[0]
    unrecorded = methods_paragraph(review_config, [normand_pooled], SOFTWARE, studies=studies[:1])
    assert "Risk of bias was assessed with RoB 2 (Sterne et al. BMJ 2019;366:l4898), for 1 of 1 studies" in unrecorded
    assert "Risk of bias was assessed" not in methods_paragraph(review_config, [normand_pooled], SOFTWARE)


def test_a_review_mixing_single_group_and_two_group_outcomes_says_which_is_which(review_config):
    """Two-group outcomes are compared, single-group ones pooled; of a raw mean (MN) beside a log
    mean (MNLN), only the latter's outcomes were analysed on the log mean scale."""
    from metasr.report.methods import outcomes_sentence

    config = {**review_config, "review": {"groups": {"experimental": "Intervention", "control": "Control"}},
              "outcomes": {"pain": {"measure": "SMD"}, "tb": {"measure": "OR"},
                           "los_log": {"measure": "MNLN", "label": "Length of stay (log)"},
                           "los": {"measure": "MN", "label": "Length of stay"}, "prev": {"measure": "PFT"}}}
    text = outcomes_sentence(config)
    assert text.startswith("We compared Intervention with Control on 2 outcomes and pooled 3 single-group outcomes, ")
    assert "; the means of Length of stay (log) were analysed on the log mean scale and back-transformed" in text
    assert "; proportions were analysed on the Freeman-Tukey" in text
    alone = {**config, "outcomes": {"los_log": {"measure": "MNLN"}}}
    assert "; means were analysed on the log mean scale" in outcomes_sentence(alone)
    assert outcomes_sentence(alone).startswith("We pooled 1 single-group outcome, ")


def _compared(discrepancies: list[dict]) -> dict:
    """A comparison of two extractions as metasr.extraction.discrepancies reports it."""
    return {"sheets": [{"sheet": "studies.csv", "cells_compared": 10000, "cells_agreeing": 9999},
                       {"sheet": "outcomes/tb.csv", "cells_compared": 521, "cells_agreeing": 519},
                       {"sheet": "narrative.csv", "status": "missing in second extraction"}],
            "overall": {"cells_compared": 10521, "cells_agreeing": 10518, "discrepancies": len(discrepancies),
                        "unresolved": sum(not d["resolved"] for d in discrepancies)},
            "discrepancies": discrepancies}


def _found(column: str, resolved: bool = True) -> dict:
    return {"sheet": "outcomes/tb.csv", "key": "S1", "column": column, "resolved": resolved}


def test_double_extraction_is_described_with_its_agreement_and_resolutions(review_config):
    config = copy.deepcopy(review_config)
    config["extraction"]["second_extractor_dir"] = "data/extraction_second/"
    found = [_found("events1"), _found("sd1"), _found("year"), _found("(sheet)")]
    text = methods_paragraph(config, [], SOFTWARE, double_extraction=_compared(found))
    assert ("Data were extracted independently by two reviewers, whose 2 sheets were compared cell by cell: "
            "10518 of 10521 cells agreed (99.97%).") in text
    assert ("The 4 discrepancies (3 cells; 1 sheet extracted by one reviewer only) were each resolved, the "
            "decision recorded in data/extraction_second/resolutions.csv.") in text


def test_discrepancies_left_unresolved_are_said_to_be_so(review_config):
    found = [_found("events1"), _found("(row)", resolved=False)]
    text = methods_paragraph(review_config, [], SOFTWARE, double_extraction=_compared(found))
    assert ("Of the 2 discrepancies (1 cell; 1 row extracted by one reviewer only), 1 was resolved (decisions "
            "recorded in") in text
    assert "and 1 left unresolved; the first reviewer's values were analysed." in text


def test_one_extraction_is_not_described_as_two(review_config):
    assert "two reviewers, whose" not in methods_paragraph(review_config, [], SOFTWARE)


def test_tables_kept_in_a_mantel_haenszel_estimate_but_not_in_q_are_said():
    from metasr.report.methods import correction_sentences

    pooled = [{"outcome": "mort", "label": "Mortality", "method": "MH", "studies": [],
               "model": {"k": 26, "k_yi": 20, "estimate": -0.2}}]
    [sentence] = correction_sentences(pooled)
    assert "stayed in the Mantel-Haenszel or Peto estimate but not in the heterogeneity statistics" in sentence
    assert "6 of 26 studies in Mortality" in sentence
    assert correction_sentences([{**pooled[0], "model": {"k": 26}}]) == []
