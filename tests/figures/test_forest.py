"""Forest plot: layout content, orientation of the favours labels, k = 1, sizes 2 to 200."""

import re
from pathlib import Path

import pytest

from metasr.figures import forest
from metasr.figures.style import save_figure

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
    assert "Tau² = 0.31; Chi² = 152.23, df = 12 (P &lt; 0.00001); I² = 92%" in text
    assert "Test for overall effect: Z = 3.97 (P = 0.00007)" in text
    assert "Test for subgroup differences: Chi² = 1.86, df = 2 (P = 0.39)" in text
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
    assert "…" in text and "must be cut visibly" not in text


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
        forest.plot_forest_file(FIXTURES / "bcg_rr.json", outcome, review_config["review"], svg, png)
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


def test_correlation_and_rate_forests(tmp_path):
    text = svg_text(pooled_measure("molloy2014", "COR"), tmp_path, name="cor", png=False)
    assert ">r<" in text and "Correlation" in text and "Test for overall effect" in text
    text = svg_text(pooled_measure("hart1999", "IRLN"), tmp_path, name="ir", png=False)
    assert "Person-time" in text and "Incidence rate" in text and "log incidence rate scale" in text
