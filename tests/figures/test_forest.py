"""Forest plot: layout content, orientation of the favours labels, k = 1, sizes 2 to 200, an axis
that shows every square, risk-of-bias columns, subgroups as the engine fits them."""

import re
from pathlib import Path

import pytest

from metasr import measures
from metasr.figures import forest
from metasr.figures.style import save_figure
from metasr.outputs import FigureContext
from metasr.workflow.outcomes import draw_outcome_figure

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pooled"


def svg_text(pooled, tmp_path, outcome_cfg=None, review=None, name="f", png=True):
    svg, png_path = tmp_path / f"{name}.svg", (tmp_path / f"{name}.png" if png else None)
    save_figure(forest.plot_forest(pooled, outcome_cfg or {}, review or {}), svg, png_path)
    assert not png or png_path.stat().st_size > 1000
    return svg.read_text()


def test_bcg_forest_shows_revman_content(bcg_pooled, review_config, tmp_path):
    text = svg_text(bcg_pooled, tmp_path, {"higher_is": "worse"}, review_config["review"])
    # Back-transformed pooled RR from metafor: exp(-0.7145) = 0.49 [0.34, 0.70].
    assert "0.49 [0.34, 0.70]" in text
    # tau² and I² as the report writes them (metasr.display): metafor's 0.3132 and 92.22%
    assert "Tau² = 0.313; Chi² = 152.23, df = 12 (P &lt; 0.0001); I² = 92.2%" in text
    assert "Test for overall effect: Z = 3.97 (P &lt; 0.0001)" in text  # P = 7.1e-05
    assert "Test for subgroup differences: Chi² = 1.86, df = 2 (P = 0.394)" in text
    assert text.count("Subtotal (95% CI)") == 3
    assert "Prediction interval" in text and "[0.15, 1.55]" in text
    assert "Favours IRL-positive" in text and "Favours IRL-negative" in text
    assert "Aronson 1948" in text and "Events" in text


def test_favours_labels_follow_direction_and_config():
    review = {"groups": {"experimental": "E", "control": "C"}}
    assert forest.favours_labels({"higher_is": "worse"}, review) == ("Favours E", "Favours C")
    assert forest.favours_labels({"higher_is": "better"}, review) == ("Favours C", "Favours E")
    assert forest.favours_labels({}, review) == ("Higher in C", "Higher in E")
    given = {"higher_is": "worse", "favours": {"left": "Less disability"}}
    assert forest.favours_labels(given, review) == ("Less disability", "Favours C")


def test_sort_by_year_and_weight(bcg_pooled):
    by_year = [s["year"] for s in forest.sort_studies(bcg_pooled["studies"], "year")]
    assert by_year == sorted(by_year)
    by_weight = [s["weight"] for s in forest.sort_studies(bcg_pooled["studies"], "weight")]
    assert by_weight == sorted(by_weight, reverse=True)


def test_single_study_is_not_pooled(synthetic_pooled, tmp_path):
    text = svg_text(synthetic_pooled(1), tmp_path)
    assert "k = 1: not pooled" in text
    assert "Total (95% CI)" not in text and "Heterogeneity" not in text


def test_no_data_says_so(tmp_path):
    pooled = {"outcome": "x", "label": "X", "status": "no_data", "studies": [],
              "status_message": "no study-level data yet"}
    assert "no study-level data yet" in svg_text(pooled, tmp_path)


def test_long_labels_are_cut_visibly(synthetic_pooled, tmp_path):
    text = svg_text(synthetic_pooled(3, long_labels=True), tmp_path)
    drawn = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", text))
    assert "…" in drawn and "that must be cut visibly" not in drawn  # the middle goes, the year stays


@pytest.mark.parametrize("k", [2, 10, 200])
def test_every_study_row_is_drawn(synthetic_pooled, tmp_path, k):
    # A 200-row PNG at 300 dpi takes long to rasterise; the SVG carries the same layout.
    text = svg_text(synthetic_pooled(k, seed=k), tmp_path, name=f"k{k}", png=k < 200)
    assert len(re.findall(r"Synthetic study \d+ 20\d\d", text)) == k


def test_file_step_is_byte_identical_on_rerun(tmp_path, review_config):
    outcome = review_config["outcomes"]["dmt_response"]
    paths = []
    for run in (1, 2):
        svg, png = tmp_path / f"{run}.svg", tmp_path / f"{run}.png"
        draw_outcome_figure("forest", FIXTURES / "bcg_rr.json",
                            FigureContext(figure=outcome, review=review_config["review"]), svg, png)
        paths.append((svg.read_bytes(), png.read_bytes()))
    assert paths[0] == paths[1]
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_config_favours_list_and_log_scale_generic_effects(normand_pooled, tmp_path):
    review = {"groups": {"experimental": "E", "control": "C"}}
    assert forest.favours_labels({"favours": ["Less", "More"]}, review) == ("Less", "More")
    pooled = dict(normand_pooled, measure="GEN")  # yi treated as log ratios by config
    text = svg_text(pooled, tmp_path, {"scale": "log"}, review)
    m = normand_pooled["model"]
    import math

    assert f"{math.exp(m['estimate']):.2f} [{math.exp(m['ci_lb']):.2f}" in text


def test_long_group_names_wrap_without_hiding_the_measure(normand_pooled, tmp_path):
    review = {"groups": {"experimental": "Patients with at least one paramagnetic rim lesion "
                                         "on 7T MRI in the brain",
                         "control": "Patients without any rim lesion"}}
    text = svg_text(normand_pooled, tmp_path, {"higher_is": "better"}, review)
    assert "Std. mean difference" in text
    assert "Patients without any" in text and "rim lesion" in text
    assert "on 7T MRI in the brain" not in text  # cut visibly after two lines


MEASURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"


def pooled_measure(dataset: str, measure: str) -> dict:
    """A pooled result of a metadat data set (tests/fixtures/measures), as the pipeline writes it."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(MEASURES / "inputs" / f"{dataset}.csv", dtype=str, keep_default_na=False)
    table["study_id"] = [f"S{i}" for i in range(len(table))]
    table["label"] = table["study"]
    return pool_outcome(table, measure, "REML", outcome=dataset, label=dataset)


def test_prevalence_forest_shows_events_of_total_in_percent(tmp_path):
    pooled = pooled_measure("pritz1997", "PLO")  # dat.pritz1997
    text = svg_text(pooled, tmp_path, png=False)
    assert "Events" in text and "Total" in text and "Proportion (%)" in text
    assert "BCG" not in text and "Favours" not in text and "Test for overall effect" not in text
    assert "logit proportion scale (transf.ilogit)" in text
    t = pooled["transformed"]
    assert f"{100 * t['estimate']:.2f} [{100 * t['ci_lb']:.2f}, {100 * t['ci_ub']:.2f}]" in text
    assert "95.45 [" in text  # Tanabe et al.: 10 of 10, with escalc's 1/2 added: 10.5 / 11


def test_prevalence_axis_spans_every_ci_inside_0_to_100_percent():
    pooled = pooled_measure("pritz1997", "PLO")  # Hadeishi (12/12) and Tanabe (10/10) reach 99.8 %
    fig = forest.plot_forest(pooled)
    ax = next(a for a in fig.axes if a.get_xticks().size)
    lo, hi = ax.get_xlim()
    disp = forest.style.display(pooled)
    assert all(lo <= s["ci_lb"] and s["ci_ub"] <= hi for s in pooled["studies"])  # no CI is cut
    assert 0 < disp.shown(lo) and disp.shown(hi) < 100  # the axis ends inside the scale
    assert not any(getattr(child, "arrow_patch", None) is not None for child in ax.get_children())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["25", "50", "75", "90", "99"]  # round percentages spread over the logit axis


def dependent_pooled() -> dict:
    """SYNTHETIC: two studies with several effect sizes each, named alike up to a number at the end,
    pooled in a three-level model."""
    studies = []
    for sid, values in (("A", (-0.18, 0.23, 0.30, -0.01, 0.02)), ("B", (0.65, 0.36))):
        for j, yi in enumerate(values):
            studies.append({"study_id": sid, "label": f"District {sid}", "year": 2000, "es_id": f"{sid}{j}",
                            "comparison": f"modified vs traditional calendar, school{j + 9}", "yi": yi,
                            "vi": 0.001 if abs(yi) < 0.1 else 0.1, "weight": 10.0})
    return {"outcome": "ml", "label": "SYNTHETIC multilevel", "measure": "GEN", "method": "REML",
            "status": "pooled", "k": len(studies), "studies": studies,
            "dependence": {"method": "multilevel", "rho": 0.0},
            "model": {"model_type": "three-level", "estimate": 0.18, "ci_lb": 0.02, "ci_ub": 0.35,
                      "sigma2": [0.06, 0.03], "I2": 90.0, "I2_levels": [60.0, 30.0], "n_clusters": 2, "k": 7}}


def test_effect_sizes_share_decimals_and_keep_labels_apart(tmp_path):
    pooled = dependent_pooled()
    rows, _ = forest.build_rows(pooled, [forest.Column("weight", "Weight"), forest.Column("effect", "")], "year")
    effects = [r.cells["effect"] for r in rows if r.kind == "study"]
    assert effects[3] == "−0.01 [−0.07, 0.05]" and effects[0] == "−0.18 [−0.80, 0.44]"
    assert {len(e.split(" ")[0].split(".")[1]) for e in effects} == {2}  # one number of decimals
    text = svg_text(pooled, tmp_path, png=False)
    for j in range(5):  # cut at the usual width these would all read "...schoo…"
        assert f"calendar, school{j + 9}, A{j}<" in text


def test_correlation_and_rate_forests(tmp_path):
    text = svg_text(pooled_measure("molloy2014", "COR"), tmp_path, name="cor", png=False)
    assert ">r<" in text and "Correlation" in text and "Test for overall effect" in text
    text = svg_text(pooled_measure("hart1999", "IRLN"), tmp_path, name="ir", png=False)
    assert "Person-time" in text and "Incidence rate" in text and "log incidence rate scale" in text


# ---------------------------------------------------------------------------------------------
# The axis shows every square; only whiskers are cut (with arrows)


def far_out_pooled() -> dict:
    """SYNTHETIC: eleven precise studies near 0.2 and one imprecise study at SMD 1.53, the largest
    effect of the default review when the axis stopped at 1.5 and drew it as an arrow only."""
    import math

    studies = [{"study_id": f"S{i}", "label": f"Synthetic {i}", "year": 2000 + i, "yi": 0.15 + 0.01 * i,
                "vi": 0.01, "weight": 8.0} for i in range(11)]
    studies.append({"study_id": "FAR", "label": "Synthetic far", "year": 2020, "yi": 1.53, "vi": 0.36,
                    "weight": 1.0})
    for s in studies:
        s["sei"] = math.sqrt(s["vi"])
        s["ci_lb"], s["ci_ub"] = s["yi"] - 1.96 * s["sei"], s["yi"] + 1.96 * s["sei"]
    return {"outcome": "far", "label": "SYNTHETIC far-out effect", "measure": "SMD", "method": "REML",
            "status": "pooled", "k": 12, "studies": studies,
            "model": {"estimate": 0.25, "ci_lb": 0.18, "ci_ub": 0.32, "pi_lb": 0.1, "pi_ub": 0.4, "tau2": 0.001,
                      "I2": 10.0, "Q": 12.0, "Q_df": 11, "Q_pval": 0.36, "stat": 7.0, "pval": 1e-12}}


def test_every_square_is_on_the_axis_and_long_whiskers_get_arrows():
    pooled = far_out_pooled()
    fig = forest.plot_forest(pooled)
    ax = next(a for a in fig.axes if a.get_xlim()[1] > 0)
    lo, hi = ax.get_xlim()
    assert all(lo < s["yi"] < hi for s in pooled["studies"])
    assert hi > 1.53 * forest.SQUARE_ROOM - 1e-9  # room for the square itself, not only its centre
    squares = next(c for c in ax.collections if type(c).__name__ == "PathCollection").get_offsets()
    assert len(squares) == len(pooled["studies"])  # every study has its square
    assert max(x for x, _ in squares) == pytest.approx(1.53)
    assert pooled["studies"][-1]["ci_ub"] > hi  # the whisker is cut ...
    assert any(getattr(child, "arrow_patch", None) is not None for child in ax.get_children())  # ... with an arrow


def test_numbers_use_one_format_down_each_column(tmp_path):
    pooled = far_out_pooled()
    for s, mean in zip(pooled["studies"][:4], (5, 5.25, 4, 6.5), strict=True):  # SYNTHETIC arm data, 4 studies
        s.update(m1i=mean, sd1i=1.2, n1i=20, m2i=5, sd2i=1, n2i=20)
    text = svg_text(pooled, tmp_path, png=False)
    assert ">5.00<" in text and ">5<" not in text  # means share their decimals: no "5" beside "5.00"
    assert ">20<" in text  # counts stay whole
    assert "P &lt; 0.0001" in text and "P = &lt;" not in text
    assert "−" in text and "-0." not in text  # true minus signs in numbers


def test_the_effect_column_keeps_every_bound_on_its_side_of_the_null():
    # the pooled row of metafor's robust(rma.mv(...), clubSandwich = TRUE) on dat.konstantopoulos2011
    # (0.1905 [-0.0026, 0.3836]) below SYNTHETIC studies: the whole column gets three decimals
    pooled = far_out_pooled()
    pooled["model"].update(estimate=0.19051950634988496, ci_lb=-0.002552045426440386, ci_ub=0.3835910581262103)
    rows, _ = forest.build_rows(pooled, [forest.Column("effect", "")], "year")
    total = next(r for r in rows if r.kind == "total")
    assert total.cells["effect"] == "0.191 [−0.003, 0.384]"  # not "0.19 [0.00, 0.38]"
    assert {len(r.cells["effect"].split(" ")[0].split(".")[1]) for r in rows if r.kind == "study"} == {3}


def test_a_study_whose_bound_would_round_onto_the_null_gets_more_decimals_in_its_row(bcg_pooled):
    # dat.bcg's Coetzee & Berjak: metafor escalc("RR") 0.6254 [0.3926, 0.9962], "1.00" at the column's two decimals
    rows, _ = forest.build_rows(bcg_pooled, [forest.Column("effect", "")], "year")
    effects = {r.cells["effect"] for r in rows if r.kind in ("study", "total")}
    assert "0.625 [0.393, 0.996]" in effects and "0.49 [0.34, 0.70]" in effects
    assert "0.46 [0.39, 0.54]" in effects  # the other studies keep the column's two decimals


# ---------------------------------------------------------------------------------------------
# Risk-of-bias columns (RevMan's layout)


ROB_ROWS = [  # SYNTHETIC judgements
    {"study_id": "S0", "rob_tool": "RoB2", "rob_randomisation": "low", "rob_deviations": "some concerns",
     "rob_missing": "low", "rob_measurement": "high", "rob_reporting": "low"},
    {"study_id": "S1", "rob_tool": "RoB2", "rob_randomisation": "low", "rob_deviations": "low",
     "rob_missing": "low", "rob_measurement": "low", "rob_reporting": "low"},
]


def test_risk_of_bias_columns_one_cell_per_domain(tmp_path):
    from metasr import rob

    pooled = far_out_pooled()
    fig = forest.plot_forest(pooled, {"forest": {"risk_of_bias": True}}, {}, rob_rows=ROB_ROWS)
    circles = [a for a in fig.artists if type(a).__name__ == "Circle"]
    # 12 studies x (5 RoB 2 domains + overall); ten studies are not assessed (grey cells).
    assert len(circles) == 12 * 6
    colours = [c.get_facecolor() for c in circles]
    from matplotlib.colors import to_rgba

    assert colours.count(to_rgba(rob.JUDGEMENTS["high"][0])) == 2  # S0's D4 and its overall
    assert colours.count(to_rgba(rob.JUDGEMENTS[""][0])) == 10 * 6
    save_figure(fig, tmp_path / "rob.svg")
    text = (tmp_path / "rob.svg").read_text()
    assert "Risk of bias" in text and ">D5<" in text and ">Overall<" in text
    assert "D1 randomisation process" in text and "grey: not assessed" in text


def test_risk_of_bias_columns_only_when_asked_and_honest_when_unassessed(tmp_path):
    pooled = far_out_pooled()
    plain = forest.plot_forest(pooled, {}, {}, rob_rows=ROB_ROWS)
    assert not [a for a in plain.artists if type(a).__name__ == "Circle"]
    unassessed = forest.plot_forest(pooled, {"forest": {"risk_of_bias": True}}, {},
                                    rob_rows=[{"study_id": "S0"}])
    assert not [a for a in unassessed.artists if type(a).__name__ == "Circle"]
    save_figure(unassessed, tmp_path / "u.svg")
    assert "not assessed for any study of this outcome" in (tmp_path / "u.svg").read_text()


def test_continuity_corrections_are_marked(tmp_path):
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.DataFrame({"study_id": ["a", "b", "c"], "label": ["Zero", "B", "C"], "year": [2001, 2002, 2003],
                          "ai": [0, 3, 5], "n1i": [10, 20, 30], "ci": [2, 4, 9], "n2i": [10, 20, 30]})  # SYNTHETIC
    text = svg_text(pool_outcome(table, "RR", "REML", outcome="x", label="X"), tmp_path, png=False)
    assert "Zero 2001 ‡" in text and "‡ Continuity correction: 0.5 added to each cell" in text
    assert "†" not in text  # a correction is not a conversion of the reported form


# ---------------------------------------------------------------------------------------------
# Subgroups as metasr.stats.subgroup fits them


def test_subgroups_drawn_as_the_engine_fits_them(bcg_pooled, tmp_path):
    from metasr.stats.subgroup import subgroup_analysis

    studies = bcg_pooled["studies"]
    groups = ["single" if i == 0 else ("a" if i % 2 else "b") for i in range(len(studies))]
    sub = subgroup_analysis([s["yi"] for s in studies], [s["vi"] for s in studies], groups, "REML", "z", "RR")
    pooled = dict(bcg_pooled, studies=[dict(s, subgroup=g) for s, g in zip(studies, groups, strict=True)],
                  subgroups=dict(sub, variable="SYNTHETIC split"))
    text = svg_text(pooled, tmp_path, png=False)
    import math

    for level in sub["levels"]:  # every level's subtotal is the engine's estimate and CI
        fit = sub["fits"][level]
        shown = f"{math.exp(fit['estimate']):.2f} [{math.exp(fit['ci_lb']):.2f}, {math.exp(fit['ci_ub']):.2f}]"
        assert shown in text
    assert text.count("Subtotal (95% CI)") == 3  # the one-study level keeps its own estimate
    assert "not applicable (one study)" in text
    assert f"Chi² = {sub['Q_between']:.2f}, df = 2" in text


def test_a_freeman_tukey_subtotal_is_shown_with_its_subgroups_harmonic_mean():
    """dat.pritz1997 by a SYNTHETIC era (studies 1-7, 8-14): each subtotal as metafor's
    predict(rma(yi, vi, subset = era), transf = transf.ipft.hm, targs = list(ni = ni[era])), not
    with the harmonic mean of all 14 studies (81.74 [66.88, 93.38], 78.89 [63.34, 91.45])."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(MEASURES / "inputs" / "pritz1997.csv")
    table = table.assign(study_id=[f"P{i + 1:02d}" for i in range(len(table))],
                         era=["early" if i < 7 else "late" for i in range(len(table))])
    pooled = pool_outcome(table, "PFT", "REML", subgroup="era")
    rows, notes = forest.build_rows(pooled, [forest.Column("effect", "")], "none")
    subtotals = [r for r in rows if r.kind == "subtotal"]
    assert [r.cells["effect"] for r in subtotals] == ["81.45 [66.72, 93.02]", "79.15 [63.47, 91.79]"]
    assert "each subtotal with the harmonic mean of its subgroup's ni" in " ".join(notes)
    # drawn where the axis (labelled with all 14 studies' harmonic mean) reads the printed numbers
    disp = measures.display_of(pooled)
    for row, printed in zip(subtotals, ([81.45, 66.72, 93.02], [79.15, 63.47, 91.79]), strict=True):
        assert [round(disp.shown(v), 2) for v in (row.est, row.lb, row.ub)] == printed


def test_subgroups_of_dependent_effect_sizes_keep_them_under_their_studies(tmp_path, attractiveness_table):
    from metasr import dependence
    from metasr.stats.analysis import pool_outcome

    table = attractiveness_table()
    table["raters"] = ["female" if "female" in c else "male" if "male" in c else "clothing"
                       for c in table["comparison"]]
    dep = dependence.settings({"dependence": {"method": "robust", "rho": 0.5}})
    pooled = pool_outcome(table, "SMD", "REML", "z", dependence=dep, subgroup="raters", label="Attractiveness")
    columns = [forest.Column("n1i", "Total"), forest.Column("weight", "Weight"), forest.Column("effect", "")]
    rows, notes = forest.build_rows(pooled, columns, "year")
    titles = [r.label for r in rows if r.kind == "group_title"]
    assert titles[0] == "clothing" and "female" in titles and "male" in titles
    assert any(r.label.startswith(forest.forest_groups.INDENT) for r in rows)  # effect sizes under a study
    subtotals = [r for r in rows if r.kind == "subtotal"]
    assert len(subtotals) == 3 and all("n1i" not in r.cells for r in subtotals)  # no arm totals over shared samples
    levels = pooled["subgroups"]["levels"]
    assert [r.est for r in subtotals] == [lv["estimate"] for lv in levels]
    df = pooled["subgroups"]["Q_between_df"]
    assert f"Test for subgroup differences: F(2, {df[1]:.1f}) = " in " ".join(notes) and "CR2 HTZ" in " ".join(notes)
    assert "Attractiveness" in svg_text(pooled, tmp_path, png=False)


def test_pooled_estimate_without_its_interval_is_drawn_without_a_diamond(bcg_pooled, tmp_path):
    # A pooled estimate whose CI could not be computed (null bounds in the JSON) used to stop the
    # figure with a TypeError where the diamond is cut at the axis limits.
    model = {**bcg_pooled["model"], "ci_lb": None, "ci_ub": None, "pi_lb": None, "pi_ub": None}
    pooled = {**bcg_pooled, "model": model, "subgroups": None}
    figure = forest.plot_forest(pooled, {}, {})
    diamonds = [p for ax in figure.axes for p in ax.patches if type(p).__name__ == "Polygon"]
    assert diamonds == []
    assert "Total (95% CI)" in svg_text(pooled, tmp_path)


def test_negative_row_sum_weights_of_correlated_effect_sizes_are_drawn_and_explained(tmp_path):
    """Assink & Wibbelink 2016 (metadat dat.assink2016) in the three-level model with rho = 0.5:
    metafor's row-sum weights of 7 effect sizes are negative (weights(fit, type = "rowsum"): -0.40
    to 3.79); the forest drew them with math.sqrt of a negative number and stopped the run."""
    import pandas as pd

    from metasr import dependence
    from metasr.stats.analysis import pool_outcome

    raw = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "multilevel" / "inputs" / "assink2016.csv")
    table = pd.DataFrame({"study_id": [f"S{s:02d}" for s in raw["study"]], "yi": raw["yi"], "vi": raw["vi"],
                          "es_id": raw["esid"]})
    dep = dependence.settings({"dependence": {"method": "multilevel", "rho": 0.5}})
    pooled = pool_outcome(table, "GEN", "REML", "z", dependence=dep, label="Delinquency")
    weights = [s["weight"] for s in pooled["studies"]]
    assert sum(w < 0 for w in weights) == 7 and min(weights) == pytest.approx(-0.4010022, rel=1e-4)
    text = svg_text(pooled, tmp_path, png=False)
    assert "Delinquency" in text and "a share can be negative" in text
    assert forest.marker_size(min(weights), max(weights)) == forest.marker_size(0.0, max(weights))


def test_the_scale_note_says_which_rows_use_the_harmonic_mean():
    from metasr import measures
    from metasr.figures.forest import scale_note

    note = scale_note(measures.Display("PFT", "ipft_hm", (("ni", 12.59),)))
    assert "ni = 12.59 (harmonic mean) for the pooled results; each study's row with its own ni." in note
    ratio = measures.Display("RR", "exp")
    assert scale_note(ratio) == f"Effects shown as {ratio.scale_text}."
    # a raw proportion: a noun phrase too ("Effects shown as analysed as raw proportion." was not one)
    assert scale_note(measures.display_for("PR")) == \
        "Effects shown as proportions (%), analysed on the raw proportion scale."


# ---------------------------------------------------------------------------------------------
# Where the plot draws a row is where the axis reads the numbers the table prints for it


def pritz_with_edges(measure: str) -> dict:
    """dat.pritz1997 and two edge studies: 0 of 20 and 1 of 1 (SYNTHETIC rows)."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(MEASURES / "inputs" / "pritz1997.csv", dtype=str, keep_default_na=False)
    table = pd.concat([table, pd.DataFrame({"study": ["Zero study", "One-patient study"], "xi": ["0", "1"],
                                            "ni": ["20", "1"]})], ignore_index=True)
    table["study_id"] = [f"S{i}" for i in range(len(table))]
    table["label"] = table["study"]
    return pool_outcome(table, measure, "REML", outcome="edge", label="edge")


def drawn_rows(pooled: dict) -> tuple[list, dict, object]:
    """The table's rows, and per row (by index) the x of its square or diamond centre and of its
    interval's ends as drawn, on the analysis scale; and the plot's axes."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.patches import Polygon

    fig = forest.plot_forest(pooled)
    ax = next(a for a in fig.axes if a.get_xticks().size)
    columns = forest.arm_columns(pooled, {}) + [forest.Column("weight", "Weight"), forest.Column("effect", "")]
    rows, _ = forest.build_rows(pooled, columns, "year")
    drawn: dict[int, dict] = {}
    for c in ax.collections:
        if isinstance(c, PathCollection):
            for x, y in c.get_offsets():
                drawn.setdefault(int(y), {})["est"] = x
        if isinstance(c, LineCollection):
            for (x0, y), (x1, _) in c.get_segments():
                drawn.setdefault(int(y), {}).update(lb=x0, ub=x1)
    for p in ax.patches:
        if isinstance(p, Polygon):
            (lb, y), (est, _), (ub, _) = p.get_xy()[:3]
            drawn.setdefault(int(y), {}).update(est=est, lb=lb, ub=ub)
    return rows, drawn, ax


def printed_numbers(text: str) -> list[float]:
    return [float(v.replace("−", "-")) for v in re.findall(r"−?\d+\.\d+", text)]


def test_freeman_tukey_studies_are_drawn_where_the_axis_reads_their_printed_numbers():
    """A study's numbers are back-transformed with its own ni, the axis labels with the harmonic
    mean: Kassell et al. (43/58), printed 74.14 [62.01, 84.69], drew its square where the axis
    reads 76.69 %, and the 1/1 study, printed 100.00 [0.00, 100.00], at 89.56 % from 9.33 %."""
    pooled = pritz_with_edges("PFT")
    disp = forest.style.display(pooled)
    rows, drawn, ax = drawn_rows(pooled)
    lo, hi = ax.get_xlim()
    checked = 0
    for i, row in enumerate(rows):
        if row.kind not in {"study", "total", "prediction"}:
            continue
        printed = printed_numbers(row.cells["effect"])
        names = ["est", "lb", "ub"][-len(printed):]  # the prediction interval prints no estimate
        for name, value in zip(names, printed, strict=True):
            x = drawn[i].get(name)
            if x is None or (name != "est" and (x <= lo or x >= hi)):  # off the axis, or cut at its end
                continue
            assert disp.shown(x) == pytest.approx(value, abs=0.006), (row.label, name)
            checked += 1
    assert checked >= 35
    kassell = next(i for i, r in enumerate(rows) if r.label.startswith("Kassell"))
    assert disp.shown(drawn[kassell]["est"]) == pytest.approx(74.14, abs=0.006)


def arrow_rows(ax) -> set[int]:
    return {int(child.xy[1]) for child in ax.get_children() if getattr(child, "arrow_patch", None) is not None}


@pytest.mark.parametrize("measure", ["PAS", "PFT"])
def test_proportions_at_0_and_100_percent_are_drawn_at_the_ends_of_the_axis_without_arrows(measure):
    """The axis stopped 0.1 % inside the bounds: the 0/20, 1/1, 12/12 and 10/10 studies had no
    square, and CIs that end at 100 % (or at 99.99 %: Finn et al. under PAS) got arrows, as did
    the prediction interval printed [7.29, 100.00]."""
    pooled = pritz_with_edges(measure)
    disp = forest.style.display(pooled)
    rows, drawn, ax = drawn_rows(pooled)
    lo, hi = ax.get_xlim()
    assert (disp.shown(lo), disp.shown(hi)) == (pytest.approx(0.0, abs=1e-9), pytest.approx(100.0))
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "0" and labels[-1] == "100"
    studies = [i for i, r in enumerate(rows) if r.kind == "study"]
    assert all("est" in drawn[i] for i in studies)  # every study has its square ...
    squares = next(c for c in ax.collections if type(c).__name__ == "PathCollection")
    assert not squares.get_clip_on()  # ... drawn whole at the ends of the axis
    assert arrow_rows(ax) == set()  # no interval leaves the scale
    zero, one = (next(i for i in studies if rows[i].label.startswith(name)) for name in ("Zero", "One-patient"))
    assert [disp.shown(drawn[zero][k]) for k in ("est", "lb")] == [pytest.approx(0.0, abs=1e-9)] * 2
    assert disp.shown(drawn[one]["est"]) == disp.shown(drawn[one]["ub"]) == pytest.approx(100.0)


def test_raw_proportions_get_arrows_only_where_the_printed_interval_leaves_0_to_100_percent():
    pooled = pritz_with_edges("PR")  # Wald CIs: 2.38 [−4.14, 8.90] for 0/20 (with 1/2 added)
    rows, drawn, ax = drawn_rows(pooled)
    outside = {i for i, r in enumerate(rows) if r.kind in {"study", "prediction"}
               and any(v < 0 or v > 100 for v in printed_numbers(r.cells["effect"]))}
    assert outside and arrow_rows(ax) == outside
    assert all("est" in drawn[i] for i, r in enumerate(rows) if r.kind == "study")


def test_a_logit_square_beyond_0_1_percent_stays_on_the_axis():
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(MEASURES / "inputs" / "pritz1997.csv", dtype=str, keep_default_na=False)
    table = pd.concat([table, pd.DataFrame({"study": ["Registry"], "xi": ["0"], "ni": ["5000"]})],  # SYNTHETIC
                      ignore_index=True)
    table["study_id"] = [f"S{i}" for i in range(len(table))]
    table["label"] = table["study"]
    pooled = pool_outcome(table, "PLO", "REML", outcome="edge", label="edge")
    rows, drawn, ax = drawn_rows(pooled)
    registry = next(i for i, r in enumerate(rows) if r.label.startswith("Registry"))
    assert forest.style.display(pooled).shown(drawn[registry]["est"]) == pytest.approx(0.01, abs=0.001)  # 0.5 / 5001
    assert drawn[registry]["est"] > ax.get_xlim()[0]  # the axis reaches past the square ...
    assert registry in arrow_rows(ax)  # ... and cuts its CI with an arrow


def test_a_fisher_z_axis_stretched_toward_r_of_1_is_labelled_along_its_length():
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(MEASURES / "inputs" / "molloy2014.csv", dtype=str, keep_default_na=False)
    table = pd.concat([table, pd.DataFrame({"study": ["Near perfect"], "year": ["2015"], "ri": ["0.999"],
                                            "ni": ["10"]})], ignore_index=True)  # SYNTHETIC row
    table["study_id"] = [f"S{i}" for i in range(len(table))]
    table["label"] = table["study"]
    fig = forest.plot_forest(pool_outcome(table, "ZCOR", "REML", outcome="z", label="z"))
    ax = next(a for a in fig.axes if a.get_xticks().size)
    lo, hi = ax.get_xlim()
    ticks = list(ax.get_xticks())
    assert hi > 3.8 and max(ticks) > 0.7 * hi and min(ticks) < 0.7 * lo  # z = 3.8 is r = 0.999
    fig.canvas.draw()
    boxes = sorted((label.get_window_extent() for label in ax.get_xticklabels()), key=lambda b: b.x0)
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))  # no label over another


@pytest.mark.parametrize(("test", "suffix"), [("z", ""), ("t", " (t distribution)"), ("knha", " (Knapp-Hartung)"),
                                              ("adhoc", " (Knapp-Hartung, ad hoc)")])
def test_effect_header_names_the_interval_of_the_test(test, suffix):
    """metafor's test = "t" is the t distribution without Knapp-Hartung's adjusted SE."""
    name, model = forest.effect_header({"measure": "SMD", "method": "REML", "test": test})
    assert model == "IV, Random (REML), 95% CI" + suffix



def test_long_labels_keep_their_year_and_second_report_apart(synthetic_pooled, tmp_path):
    pooled = synthetic_pooled(3)
    base = "Langer & Applebee — writing-to-learn intervention in school classrooms (grade 3)"
    labels = [f"{base} 1987", f"{base} (second report) 1987", "Willey 1988"]
    for study, label in zip(pooled["studies"], labels, strict=True):
        study["label"], study["year"] = label, int(label[-4:])
    text = svg_text(pooled, tmp_path, png=False)
    drawn = re.findall(r"<text[^>]*>([^<]*)</text>", text)
    cuts = [d for d in drawn if d.startswith("Langer")]
    assert len(set(cuts)) == 2 and all("…" in d for d in cuts)
    assert any(d.endswith("(second report) 1987") for d in cuts) and any(d.endswith("(grade 3) 1987") for d in cuts)
    assert f"<title>{labels[1].replace('&', '&amp;')}</title>" in text


def test_subgroup_statistics_and_headings_wrap_rather_than_drop(tmp_path):
    """A narrow table (short labels, no arm columns): the subgroup's heterogeneity line keeps its
    I², a long subgroup heading its end, each wrapped onto further rows within the table."""
    heading = "Japan (single-centre neurosurgical series with long follow-up)"
    studies = [{"study_id": s, "label": s, "year": 2001 + i, "yi": 0.5, "vi": 0.01 * (i + 1), "weight": 20.0,
                "subgroup": heading if i < 2 else "y"} for i, s in enumerate("ABCD")]
    level = {"k": 2, "estimate": 0.5, "se": 0.1, "ci_lb": 0.3, "ci_ub": 0.7, "tau2": 0.0, "Q": 0.0, "Q_df": 1,
             "Q_pval": 1.0, "I2": 0.0}
    pooled = {"outcome": "o", "label": "O", "measure": "SMD", "method": "REML", "status": "pooled",
              "studies": studies, "model": {"estimate": 0.5, "ci_lb": 0.36, "ci_ub": 0.64, "tau2": 0.0},
              "subgroups": {"variable": "g", "levels": [{**level, "level": heading}, {**level, "level": "y"}],
                            "Q_between": 0.0, "Q_between_df": 1, "Q_between_pval": 1.0}}
    text = svg_text(pooled, tmp_path, png=False)
    drawn = re.findall(r"<text[^>]*>([^<]*)</text>", text)
    assert not any("…" in d for d in drawn)
    assert sum("I² = 0.0%" in d for d in drawn) >= 2 + 1  # each subgroup's line and the overall one
    assert "Japan" in " ".join(drawn) and "follow-up)" in " ".join(drawn)
    rows = forest.wrap_wide_rows(forest.build_rows(pooled, [forest.Column("weight", "Weight"),
                                                            forest.Column("effect", "")], "year")[0],
                                 [forest.Column("weight", "Weight"), forest.Column("effect", "")])
    assert sum(r.kind == "group_title" for r in rows) > 2  # the heading took a second row


def test_risk_of_bias_columns_of_several_tools_name_each_rows_tool(tmp_path):
    pooled = far_out_pooled()
    rows = ROB_ROWS + [{"study_id": "S2", "rob_tool": "NOS", "rob_selection": "good", "rob_comparability": "fair",
                        "rob_outcome": "poor", "rob_overall": "poor"}]
    panel = forest.rob_panel(pooled["studies"], rows)
    assert panel.tools == {"S0": "RoB2", "S1": "RoB2", "S2": "NOS"} and panel.tool_w > 0
    assert "+ low (NOS: good)" in panel.notes[-1] and "× high (NOS: poor)" in panel.notes[-1]
    fig = forest.plot_forest(pooled, {"forest": {"risk_of_bias": True}}, {}, rob_rows=rows)
    save_figure(fig, tmp_path / "rob.svg")
    drawn = re.findall(r"<text[^>]*>([^<]*)</text>", (tmp_path / "rob.svg").read_text())
    assert "Tool" in drawn and drawn.count("RoB2") == 2 and drawn.count("NOS") == 1
    assert not forest.rob_panel(pooled["studies"], ROB_ROWS).tools  # one tool: no column


def test_a_paired_outcome_shows_each_occasions_mean_and_sd_the_r_and_the_pairs(tmp_path):
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    # dat.lehmann2018's within-subjects studies (tests/fixtures/measures): red (1) vs control (2)
    table = pd.read_csv(FIXTURES.parent / "measures" / "inputs" / "lehmann2018_within.csv", dtype=str,
                        keep_default_na=False)
    pooled = pool_outcome(table, "ROMC", "REML", outcome="red", label="Attractiveness")
    columns = forest.arm_columns(pooled, {})
    assert [c.header for c in columns] == ["Mean (1)", "SD (1)", "Mean (2)", "SD (2)", "r", "Total"]
    assert {c.group for c in columns} == {"single"}
    text = svg_text(pooled, tmp_path, png=False)
    assert "Ratio of means (paired)" in text and "1.06 [0.99, 1.14]" in text and "0.66" in text
    assert "Test for overall effect" in text and "Favours" not in text


def test_the_dagger_says_what_was_done_to_a_studys_effect():
    """A flipped row and a row with an assumed r were said to be 'derived from the reported form'."""
    from metasr.extraction.effects import ASSUMED_R
    from metasr.figures.forest import study_footnotes

    flipped = [{"conversion": "none; flipped"}, {"conversion": ASSUMED_R}]
    note = " ".join(study_footnotes(flipped))
    assert "† Reversed in direction (the outcome's flip); or computed with the outcome's assumed correlation" in note
    assert "reported form" not in note
    derived = study_footnotes([{"conversion": "SD from SE (Handbook 6.5.2.2)"}])
    assert "derived from the reported form" in " ".join(derived)


def test_a_partial_correlation_forest_shows_each_models_t_predictors_and_r2(tmp_path):
    pooled = pooled_measure("aloe2013", "SPCOR")  # dat.aloe2013
    columns = forest.arm_columns(pooled, {})
    assert [c.header for c in columns] == ["t", "Predictors", "R²", "Total"]
    assert {c.group for c in columns} == {"single"}
    rows, _ = forest.build_rows(pooled, columns, "year")
    first = next(r for r in rows if r.kind == "study" and r.cells.get("predictors0") == "4")
    assert (first.cells["t0"], first.cells["r20"], first.cells["total0"]) == ("4.61", "0.24", "218")
    text = svg_text(pooled, tmp_path, png=False)
    assert ">Semi-partial correlation<" in text and ">0.17 [0.04, 0.30]<" in text  # metafor: 0.169 [0.039, 0.299]
    assert "Favours" not in text and "Test for overall effect" in text
    pcor = pooled_measure("aloe2013", "PCOR")  # without r2i a PCOR forest has no R² column
    pcor["studies"] = [{k: v for k, v in s.items() if k != "r2i"} for s in pcor["studies"]]
    assert [c.header for c in forest.arm_columns(pcor, {})] == ["t", "Predictors", "Total"]


def test_a_phi_forest_compares_the_two_groups_tables(tmp_path):
    pooled = pooled_measure("bourassa1996", "PHI")  # dat.bourassa1996: left- vs right-handed, left eye
    columns = forest.arm_columns(pooled, {})
    assert [(c.header, c.group) for c in columns] == [("Events", "experimental"), ("Total", "experimental"),
                                                      ("Events", "control"), ("Total", "control")]
    text = svg_text(pooled, tmp_path, {"favours": ["left", "right"]}, png=False)
    assert "Phi coefficient" in text and ">left<" in text and ">right<" in text
    t = pooled["transformed"]  # metafor: 0.2106 [0.1771, 0.2441], shown with the studies' three decimals
    shown = f">{t['estimate']:.3f} [{t['ci_lb']:.3f}, {t['ci_ub']:.3f}]<"
    assert shown == ">0.211 [0.177, 0.244]<" and shown in text
