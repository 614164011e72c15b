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


def test_q_profile_bounds_both_below_zero_are_metafors_null_set():
    """SYNTHETIC near-identical effects: Q(0) lies below the lower chi-square quantile, so both
    bounds fall below 0; metafor 3.8-1's confint() gives 0 for both with lb.sign = ub.sign = "<"
    (printed "<0.0000", "the CIs are therefore equal to the null/empty set"), I2 0 and H2 1."""
    yi, vi = np.array([0.1, 0.1001, 0.0999, 0.1, 0.1]), np.ones(5)
    got = q_profile(yi, vi, np.ones((5, 1)), fit_rma(yi, vi, method="REML").tau2)
    assert got["tau2_ci"] == [0.0, 0.0] and got["I2_ci"] == [0.0, 0.0] and got["H2_ci"] == [1.0, 1.0]
    assert got["tau2_ci_lb_sign"] == got["tau2_ci_ub_sign"] == "<"
