"""The Baujat plot's numbers: from the pooled file's leave-one-out fits, or refitted."""

import numpy as np
import pandas as pd
import pytest

from metasr.figures import influence
from metasr.stats.analysis import pool_outcome

# SYNTHETIC effects (yi, vi) of 12 studies, one of them outlying.
YI = [0.10, 0.32, -0.05, 0.41, 0.22, 0.18, 1.35, 0.05, 0.27, 0.30, -0.12, 0.19]
VI = [0.04, 0.02, 0.05, 0.03, 0.01, 0.06, 0.05, 0.02, 0.04, 0.03, 0.07, 0.02]


def _pooled(method: str, test: str) -> dict:
    k = len(YI)
    table = pd.DataFrame({"study_id": [f"s{i}" for i in range(k)], "label": [f"Study {i}" for i in range(k)],
                          "year": list(range(2000, 2000 + k)), "yi": YI, "vi": VI})
    return pool_outcome(table, "GEN", method, test)


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("REML", "knha"), ("DL", "t"), ("FE", "z"), ("PM", "z")])
def test_the_stored_coordinates_are_those_of_the_refits(method, test):
    pooled = _pooled(method, test)
    points = influence.baujat_points(pooled)
    stored = influence.stored_baujat_coordinates(pooled, points.studies)
    assert stored is not None
    x, y = influence.baujat_coordinates(YI, VI, method, test)
    np.testing.assert_allclose(stored[0], x, rtol=1e-13)
    np.testing.assert_allclose(stored[1], y, rtol=1e-12)


def test_the_plot_and_its_text_refit_nothing_when_the_pooled_file_has_the_fits(monkeypatch):
    pooled = _pooled("REML", "z")
    monkeypatch.setattr(influence, "baujat_coordinates", lambda *a, **k: pytest.fail("refitted"))
    points = influence.baujat_points(pooled)
    assert len(points.x) == len(YI) and np.isfinite(points.y).all()


def test_without_leave_one_out_fits_the_model_is_refitted():
    pooled = _pooled("REML", "z")
    without = {**pooled, "sensitivity": {k: v for k, v in pooled["sensitivity"].items() if k != "leave1out"}}
    assert influence.stored_baujat_coordinates(without, influence.baujat_points(pooled).studies) is None
    np.testing.assert_allclose(influence.baujat_points(without).y, influence.baujat_points(pooled).y, rtol=1e-12)
