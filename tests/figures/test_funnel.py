"""Funnel plot: Egger's line agrees with metafor, k < 3 says why, filled studies are drawn."""

import math

import pytest

from metasr.figures import funnel, shown
from metasr.figures.style import save_figure


def test_egger_line_is_the_reported_tests_model(bcg_pooled):
    """The line drawn is the model of the Egger test the report shows (regtest(fit): rma, sei):
    its intercept is metafor's limit estimate."""
    yi = [s["yi"] for s in bcg_pooled["studies"]]
    sei = [s["sei"] for s in bcg_pooled["studies"]]
    intercept, _ = funnel.egger_line(yi, sei, bcg_pooled["method"], bcg_pooled["test"])
    expected = bcg_pooled["small_study"]["egger"]["limit_estimate"]  # metafor regtest(res)
    assert intercept == pytest.approx(expected, rel=1e-6)


def test_funnel_caption_and_report_show_the_same_egger_test(bcg_pooled, tmp_path):
    from metasr.report.html import describe_outcome_figure, small_study_section

    save_figure(funnel.plot_funnel(bcg_pooled), tmp_path / "f.svg", tmp_path / "f.png")
    text = (tmp_path / "f.svg").read_text()
    # the reported Egger test (regtest, model rma: P = 0.4218), not the classic lm form (P = 0.19)
    assert "Egger's test P = 0.422" in text and "P = 0.19" not in text and "1 study filled" in text
    assert "Risk ratio (log scale)" in text
    bcg_pooled["k"] = len(bcg_pooled["studies"])
    rows = {r["method"]: r["test"] for r in small_study_section(bcg_pooled)["rows"]}
    [egger] = [name for name in rows if "Egger" in name]
    assert "P = 0.422" in rows[egger]
    assert "Egger's test P = 0.422" in describe_outcome_figure("funnel", bcg_pooled)


def test_filled_studies_are_drawn_when_given(bcg_pooled, tmp_path):
    bcg_pooled["small_study"]["trimfill"]["filled"] = [{"yi": 0.3, "vi": 0.1}]  # SYNTHETIC
    assert shown.filled_studies(bcg_pooled["small_study"]["trimfill"]) == [(0.3, math.sqrt(0.1))]
    save_figure(funnel.plot_funnel(bcg_pooled), tmp_path / "f.svg")
    assert "Filled (trim-and-fill)" in (tmp_path / "f.svg").read_text()


@pytest.mark.parametrize("k", [1, 2])
def test_too_few_studies_says_why(synthetic_pooled, tmp_path, k):
    funnel_path = tmp_path / "f.svg"
    save_figure(funnel.plot_funnel(synthetic_pooled(k)), funnel_path)
    assert f"k = {k} (needs at least 3" in funnel_path.read_text()


def test_synthetic_egger_matches_metafor(bcg_pooled, synthetic_module):
    """The SYNTHETIC fixtures' Egger test reproduces metafor's regtest(lm) on BCG."""
    yi = [s["yi"] for s in bcg_pooled["studies"]]
    vi = [s["vi"] for s in bcg_pooled["studies"]]
    got = synthetic_module.egger_lm(yi, vi)
    want = bcg_pooled["small_study"]["egger_lm"]
    for key in ("stat", "pval", "limit_estimate"):
        assert got[key] == pytest.approx(want[key], rel=1e-7)


def test_filled_studies_from_metasr_stats(bcg_pooled, tmp_path):
    """Filled studies as metasr.stats.bias.filled_studies computes them are drawn."""
    from metasr.stats import bias, models
    yi = [s["yi"] for s in bcg_pooled["studies"]]
    vi = [s["vi"] for s in bcg_pooled["studies"]]
    fit = models.fit_rma(yi, vi, method="REML", test="z", measure="RR")
    bcg_pooled["small_study"]["trimfill"]["filled"] = bias.filled_studies(fit)
    filled = shown.filled_studies(bcg_pooled["small_study"]["trimfill"])
    assert len(filled) == bcg_pooled["small_study"]["trimfill"]["k0"] == 1
    save_figure(funnel.plot_funnel(bcg_pooled), tmp_path / "f.svg", tmp_path / "f.png")
    assert "Filled (trim-and-fill)" in (tmp_path / "f.svg").read_text()


def test_the_line_is_the_reported_egger_regression_when_given(bcg_pooled):
    """metafor: regtest(rma(yi, vi, data = dat.bcg)) has intercept -0.5104 (the limit estimate);
    with the slope in the pooling result the funnel draws that line, not the lm one."""
    egger = bcg_pooled["small_study"]["egger"]
    assert egger["limit_estimate"] == pytest.approx(-0.510431874, rel=1e-6)
    assert funnel.reported_line(bcg_pooled["small_study"]) is None  # no slope: the lm line is drawn
    egger["slope"] = -0.76  # SYNTHETIC slope, to see it used
    assert funnel.reported_line(bcg_pooled["small_study"]) == (egger["limit_estimate"], -0.76)


def egger_lines(fig) -> list:
    """The lines drawn in the colour of Egger's regression line."""
    from matplotlib.colors import to_hex

    from metasr.figures import style

    colour = to_hex(style.COLOURS["prediction"])
    return [line for ax in fig.axes for line in ax.lines if to_hex(line.get_color()) == colour]


def seven_bcg_trials():
    """The first 7 trials of metafor's dat.bcg, pooled as the pipeline does: too few for the
    small-study tests (k < 10), enough for a funnel plot."""
    from pathlib import Path

    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv").head(7)
    table = pd.DataFrame({"study_id": [f"S{i}" for i in range(7)], "year": bcg["year"], "ai": bcg["ai"],
                          "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]})
    return pool_outcome(table, "RR", "REML", outcome="tb", label="TB (7 trials)")


def test_no_egger_line_nor_filled_studies_where_the_tests_did_not_run(tmp_path):
    from metasr.outputs import OUTCOME_FIGURE
    from metasr.report.html import figure_caption

    pooled = seven_bcg_trials()
    assert "skipped" in pooled["small_study"]
    fig = funnel.plot_funnel(pooled)
    assert egger_lines(fig) == []
    save_figure(fig, tmp_path / "f.svg")
    text = (tmp_path / "f.svg").read_text()
    assert "Egger's regression line" not in text and "Filled" not in text
    assert "Small-study tests not run: k = 7" in text
    caption = figure_caption(OUTCOME_FIGURE["funnel"], pooled)
    assert caption.startswith("Contour-enhanced funnel plot") and "Egger's regression line" not in caption
    assert "; small-study tests not run for this outcome, so no regression line or filled studies: " \
           f"{pooled['small_study']['skipped']}." in caption


def test_the_caption_says_what_the_funnel_draws_for_the_outcome(bcg_pooled, tmp_path):
    from metasr.outputs import OUTCOME_FIGURE
    from metasr.report.html import figure_caption

    kind = OUTCOME_FIGURE["funnel"]
    assert len(egger_lines(funnel.plot_funnel(bcg_pooled))) == 1
    assert figure_caption(kind, bcg_pooled).endswith(
        "with Egger's regression line and no filled studies drawn (trim and fill imputed 1; their positions are "
        "not in the results).")
    bcg_pooled["small_study"]["trimfill"]["filled"] = [{"yi": 0.3, "vi": 0.1}]  # SYNTHETIC position
    assert figure_caption(kind, bcg_pooled).endswith(
        "with Egger's regression line and the 1 study trim and fill imputed (open circles).")
    bcg_pooled["small_study"]["trimfill"] = {"skipped": "not requested"}
    bcg_pooled["small_study"]["filled"] = [{"yi": 0.3, "vi": 0.1}]  # ignored: trim and fill did not run
    fig = funnel.plot_funnel(bcg_pooled)
    save_figure(fig, tmp_path / "f.svg")
    assert "Filled" not in (tmp_path / "f.svg").read_text()
    assert figure_caption(kind, bcg_pooled).endswith("with Egger's regression line.")
    bcg_pooled["small_study"]["egger"] = {"skipped": "not requested"}
    assert egger_lines(funnel.plot_funnel(bcg_pooled)) == []
    assert "no regression line or filled studies" in figure_caption(kind, bcg_pooled)


def test_a_three_level_outcome_draws_its_own_egger_test(attractiveness_table, tmp_path):
    """Dependent effect sizes: the line is the three-level CR2 Egger regression (its intercept the
    limit estimate), labelled as such, not a univariate refit."""
    from metasr import dependence
    from metasr.stats.analysis import pool_outcome

    pooled = pool_outcome(attractiveness_table(), "SMD", "REML", "z", outcome="red", label="Attractiveness",
                          dependence=dependence.settings({"dependence": {"method": "robust", "rho": 0.5}}))
    robust = pooled["small_study"]["egger_robust"]
    [line] = egger_lines(funnel.plot_funnel(pooled))
    x, y = line.get_data()
    assert x[0] == pytest.approx(robust["limit_estimate"]) and y[0] == 0
    assert x[-1] == pytest.approx(robust["limit_estimate"] + robust["slope"] * y[-1])
    save_figure(funnel.plot_funnel(pooled), tmp_path / "f.svg")
    text = (tmp_path / "f.svg").read_text()
    assert "Egger's regression line (three-level model, CR2)" in text
    assert "Egger's test (three-level model, CR2) P" in text


@pytest.mark.parametrize(("label", "columns"), [
    ("Egger's regression line (three-level model, CR2)", 3),  # moved left
    ("Egger's regression line (three-level model, CR2; Satterthwaite df)", 2)])
def test_the_key_stays_inside_the_figure_with_a_margin(label, columns):
    from matplotlib.lines import Line2D

    from metasr.figures import style

    fig = style.new_figure(6.2, 5.2)
    handles = [Line2D([], [], label=text) for text in
               ("P < 0.01", "0.01 ≤ P < 0.05", "0.05 ≤ P < 0.10", "Pooled estimate", label, "Study")]
    legend = funnel.legend_inside(fig, handles)
    for dpi in (100, style.PNG_DPI):  # text hinted for the screen is narrower than in the PNG
        fig.set_dpi(dpi)
        box = legend.get_window_extent(fig.canvas.get_renderer()).transformed(fig.dpi_scale_trans.inverted())
        assert box.x0 >= 0 and box.x1 <= 6.2 - funnel.LEGEND_MARGIN_IN + 1e-9, dpi
    assert legend in fig.legends and len(fig.legends) == 1 and legend._ncols == columns
