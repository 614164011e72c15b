"""fit_rma / fit_common / fit_mh / fit_peto: definitions checked by hand and by invariances."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from metasr.errors import InputError
from metasr.stats.models import fit_coefficients, fit_common, fit_mh, fit_peto, fit_rma

# synthetic data (not from a study)
YI = np.array([0.12, 0.45, -0.08, 0.31, 0.6, 0.22])
VI = np.array([0.02, 0.05, 0.04, 0.01, 0.09, 0.03])


def test_common_effect_by_hand():
    fit = fit_common(YI, VI)
    w = 1 / VI
    mu = np.sum(w * YI) / np.sum(w)
    Q = np.sum(w * (YI - mu) ** 2)
    assert math.isclose(fit.estimate, mu) and math.isclose(fit.se[0], 1 / math.sqrt(w.sum()))
    assert math.isclose(fit.Q, Q) and fit.Q_df == 5
    assert math.isclose(fit.Q_pval, stats.chi2.sf(Q, 5))
    assert math.isclose(fit.I2, max(0, 100 * (Q - 5) / Q)) and math.isclose(fit.H2, Q / 5)
    assert fit.tau2 == 0 and fit.pi_lb == fit.ci_lb[0]
    assert np.isclose(fit.weights.sum(), 100)


def test_knapp_hartung_and_prediction_interval_by_hand():
    fit = fit_rma(YI, VI, "DL", "knha")
    w = 1 / (VI + fit.tau2)
    mu = np.sum(w * YI) / np.sum(w)
    s2 = np.sum(w * (YI - mu) ** 2) / 5
    se = math.sqrt(s2 / w.sum())
    t = stats.t.ppf(0.975, 5)
    assert math.isclose(fit.se[0], se) and fit.df == 5
    assert math.isclose(fit.ci_ub[0], mu + t * se)
    assert math.isclose(fit.pval[0], 2 * stats.t.sf(abs(mu / se), 5))
    assert math.isclose(fit.pi_ub, mu + t * math.sqrt(se**2 + fit.tau2))
    z = fit_rma(YI, VI, "DL", "z")
    assert math.isclose(z.pi_ub, z.estimate + stats.norm.ppf(0.975) * math.sqrt(z.se[0] ** 2 + z.tau2))


def test_random_effects_i2_uses_typical_within_study_variance():
    fit = fit_rma(YI, VI, "REML")
    w = 1 / VI
    s2 = 5 / (w.sum() - (w**2).sum() / w.sum())
    assert math.isclose(fit.I2, 100 * fit.tau2 / (fit.tau2 + s2))
    assert math.isclose(fit.H2, (fit.tau2 + s2) / s2)


def test_fixed_tau2():
    fit = fit_rma(YI, VI, "REML", tau2=0.05)
    w = 1 / (VI + 0.05)
    assert fit.tau2 == 0.05 and math.isclose(fit.estimate, np.sum(w * YI) / w.sum())


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "ML", "EB", "PM", "SJ", "GENQ"])
@pytest.mark.parametrize("test", ["z", "t", "knha", "adhoc"])
@pytest.mark.parametrize("moderator", [False, True])
def test_fit_coefficients_are_the_fits_coefficients_to_the_last_bit(method, test, moderator):
    # SYNTHETIC data: an intercept-only model and a regression on sei (Egger's)
    rng = np.random.default_rng(len(method) + len(test))
    vi = rng.uniform(0.01, 0.4, 12)
    yi = 0.2 + rng.normal(0, np.sqrt(vi + 0.05))
    X = np.column_stack([np.ones(12), np.sqrt(vi)]) if moderator else None
    fit, coefs = fit_rma(yi, vi, method, test, X=X), fit_coefficients(yi, vi, method, test, X=X)
    for name in ("beta", "se", "stat", "pval", "ci_lb", "ci_ub"):
        assert getattr(coefs, name).tobytes() == getattr(fit, name).tobytes(), name


# PM is left out: metafor's PM stops at uniroot's absolute tolerance, which does not scale;
# EB has the same estimating equation, solved exactly, and is in.
@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["DL", "REML", "ML", "EB", "HE", "HS", "SJ"]),
       st.floats(min_value=-5, max_value=5), st.floats(min_value=0.1, max_value=10))
def test_location_and_scale_equivariance(method, shift, scale):
    base = fit_rma(YI, VI, method)
    moved = fit_rma(scale * YI + shift, scale**2 * VI, method)
    assert math.isclose(moved.estimate, scale * base.estimate + shift, rel_tol=1e-7, abs_tol=1e-9)
    assert math.isclose(moved.tau2, scale**2 * base.tau2, rel_tol=1e-7, abs_tol=1e-12)
    assert math.isclose(moved.I2, base.I2, rel_tol=1e-7, abs_tol=1e-9)


def test_programming_errors_are_value_errors():
    with pytest.raises(ValueError):
        fit_rma(YI, VI, "XX")
    with pytest.raises(ValueError):
        fit_rma(YI[:1], VI[:1], "REML")
    with pytest.raises(ValueError):
        fit_rma(YI, -VI, "FE")


def test_mantel_haenszel_single_table_equals_crude_ratio():
    # one synthetic table: MH OR = ad/bc and the RBG variance = Woolf's 1/a+1/b+1/c+1/d
    fit = fit_mh([12], [38], [5], [45], "OR")
    assert math.isclose(fit.estimate, math.log(12 * 45 / (38 * 5)))
    assert math.isclose(fit.se**2, 1 / 12 + 1 / 38 + 1 / 5 + 1 / 45)
    rr = fit_mh([12], [38], [5], [45], "RR")
    assert math.isclose(rr.estimate, math.log((12 / 50) / (5 / 50)))
    assert math.isclose(rr.se**2, 1 / 12 - 1 / 50 + 1 / 5 - 1 / 50)


def test_mantel_haenszel_without_events_is_an_input_error():
    with pytest.raises(InputError) as err:
        fit_mh([0, 0], [10, 12], [1, 2], [9, 10], "RR")
    assert err.value.problems[0].column == "ai"


def test_peto_skips_uninformative_tables():
    # synthetic: the second table has no events at all and carries no information
    with_empty = fit_peto([3, 0], [17, 20], [7, 0], [13, 20])
    alone = fit_peto([3], [17], [7], [13])
    assert math.isclose(with_empty.estimate, alone.estimate) and with_empty.k == 2 and with_empty.Q_df == 0


def test_mantel_haenszel_rate_ratio_single_stratum_and_hart():
    from metasr.stats.models import fit_mh_rates

    one = fit_mh_rates([9], [413], [19], [398])
    assert math.isclose(one.estimate, math.log((9 / 413) / (19 / 398)))
    assert math.isclose(one.se**2, 1 / 9 + 1 / 19)
    # Hart 1999 (real data, the reference fixture): the MH IRR lies close to metafor's common-effect estimate
    import json
    from pathlib import Path

    import pandas as pd

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
    hart = pd.read_csv(fixtures / "inputs/hart1999.csv")
    cases = json.loads((fixtures / "expected.json").read_text())["cases"]
    fe = next(c for c in cases if c["id"] == "hart1999_IRR_FE_z")
    mh = fit_mh_rates(hart.x1i, hart.t1i, hart.x2i, hart.t2i)
    assert mh.k == 6 and mh.Q_df == 5
    assert abs(mh.estimate - fe["expected"]["estimate"]) < 0.05 and 0.8 < mh.se / fe["expected"]["se"] < 1.25


MH_CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "mantel_haenszel" / "expected.json")
                      .read_text())["cases"]


@pytest.mark.parametrize("case", [c for c in MH_CASES if c["measure"] == "IRD"], ids=lambda c: c["id"])
def test_mantel_haenszel_rate_difference_equals_rma_mh(case):
    from metasr.stats.models import fit_mh_rates

    fit = fit_mh_rates(case["x1i"], case["t1i"], case["x2i"], case["t2i"], measure="IRD")
    want = case["expected"]
    assert math.isclose(fit.estimate, want["estimate"], rel_tol=1e-12)
    assert math.isclose(fit.se, want["se"], rel_tol=1e-12)
    assert math.isclose(fit.Q, want["Q"]["default"], rel_tol=1e-10) and fit.Q_df == want["Q_df"]
    assert "CMH" not in fit.to_dict()  # metafor's MH test is the rate ratio's
