"""Inference helpers: the Q-profile CI's search range as metafor's confint() has it."""

from __future__ import annotations

import numpy as np

from metasr.stats.inference import q_profile
from metasr.stats.models import fit_rma


def test_a_q_profile_bound_beyond_metafors_search_range_is_its_end_marked_beyond():
    """dat.laopaiboon2015, trials 1-2 (RR): the upper Q-profile bound lies beyond
    max(100, 10 tau2), where confint() stops and prints ">100"; I2 and H2 follow from 100
    (metafor 3.8-1, confint(fit, control = list(tol = 1e-12)): 99.5661753246, 230.507865683)."""
    yi = np.array([-0.40546510810816461, 2.4542482093495024])
    vi = np.array([0.35416666666666669, 0.51726316169437081])
    fit = fit_rma(yi, vi, method="REML")
    got = q_profile(yi, vi, np.ones((2, 1)), fit.tau2)
    assert got["tau2_ci"][1] == 100.0 and got["tau2_ci_ub_sign"] == ">" and "tau2_ci_lb_sign" not in got
    assert np.allclose(got["tau2_ci"][0], 0.378192880814, rtol=1e-9)
    assert np.allclose([got["I2_ci"][1], got["H2_ci"][1]], [99.5661753246, 230.507865683], rtol=1e-9)
    yi3, vi3 = np.array([0.1, 0.5, 0.3]), np.array([0.01, 0.02, 0.03])  # SYNTHETIC: bounds inside the range
    inside = q_profile(yi3, vi3, np.ones((3, 1)), fit_rma(yi3, vi3, method="REML").tau2)
    assert inside["tau2_ci"][1] < 100 and not {"tau2_ci_lb_sign", "tau2_ci_ub_sign"} & set(inside)
