"""Bubble plots of meta-regressions: drawn from the pooling result (dat.bcg, metafor's BCG trials,
pooled by metasr with a meta-regression on latitude and allocation), or a note saying why not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.analysis_settings import meta_regression_settings
from metasr.figures import bubble
from metasr.figures.style import save_figure
from metasr.stats.analysis import pool_outcome

BCG = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv"


def pooled(moderators, per=10):
    bcg = pd.read_csv(BCG)
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"],
                          "year": bcg["year"], "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"],
                          "ablat": bcg["ablat"].astype(str), "alloc": bcg["alloc"]})
    settings = meta_regression_settings({"meta_regression": {"moderators": moderators,
                                                             "studies_per_coefficient": per}})
    return pool_outcome(table, "RR", "REML", "z", outcome="bcg", label="BCG trials", meta_regression=settings)


def test_bubble_areas_are_proportional_to_weights():
    areas = bubble.bubble_areas([1.0, 2.0, 4.0, 0.001])
    assert areas[2] == bubble.MAX_BUBBLE_PT2 and areas[1] / areas[0] == pytest.approx(2.0)
    assert areas[3] == bubble.MIN_BUBBLE_PT2  # a tiny weight stays visible


def test_numeric_and_factor_panels_on_the_ratio_scale(tmp_path):
    result = pooled(["ablat", "alloc"], per=4)
    save_figure(bubble.plot_bubble(result), tmp_path / "b.svg")
    text = (tmp_path / "b.svg").read_text()
    assert "Risk ratio (log scale)" in text and ">ablat<" in text and ">alloc<" in text
    assert "random" in text and "systematic" in text  # the factor's levels on its axis
    assert "ablat + alloc: QM(3) = 11.06, P = 0.01" in text and "R² = 53.8%" in text  # metafor: 11.0606, 53.84
    line = result["meta_regression"]["moderators"][0]["line"]
    assert np.all(np.diff(line["x"]) > 0) and len(line["x"]) == 100


@pytest.mark.parametrize("moderators, why", [(["ablat", "alloc"], "needs at least 30"), (None, "no meta-regression")])
def test_no_model_no_plot_but_the_reason(tmp_path, moderators, why):
    result = pooled(moderators) if moderators else {**pooled(["ablat"]), "meta_regression": None}
    save_figure(bubble.plot_bubble(result), tmp_path / "b.svg")
    text = (tmp_path / "b.svg").read_text()
    assert "Bubble plot not drawn" in text and why in text
