"""Conversions against published worked examples, exact identities, and large normal samples."""

import math

import numpy as np
import pytest

from metasr.extraction import conversions as conv


def test_luo_mean_from_range_reproduces_metaBLUE_example():
    # metaBLUE::Luo.mean documentation: X = (1, 4, 10), n = 30, type S1 -> 4.356748
    assert conv.luo_mean_range(1, 4, 10, 30) == pytest.approx(4.356748, abs=1e-6)


def test_wan_sd_from_range_reproduces_metaBLUE_example():
    # metaBLUE::Wan.std documentation: X = (1, 4, 10), n = 30, type S1 -> 2.205578
    assert conv.wan_sd_range(1, 10, 30) == pytest.approx(2.205578, abs=1e-6)
    assert conv.median_to_mean_sd(30, 4, minimum=1, maximum=10).sd == pytest.approx(2.205578, abs=1e-6)


@pytest.mark.parametrize("n, table", [(5, 2.326), (10, 3.078), (13, 3.336), (20, 3.735), (30, 4.086),
                                      (40, 4.322), (50, 4.498)])
def test_wan_xi_approximates_published_expected_range(n, table):
    # Wan et al. 2014, Table 1 (expected range of n standard normals); the closed form used by
    # Wan's formula (9) and by Shi 2020 is within 1.5% of the table.
    assert conv.wan_xi(n) == pytest.approx(table, rel=0.015)


def test_handbook_p_to_t_worked_example():
    # Cochrane Handbook 6.5.2.3: MD 3.8, P = 0.008, groups of 25 and 22 -> t = 2.78, SE = 1.37,
    # within-group SD = 1.37 / sqrt(1/25 + 1/22) = 4.69
    t = conv.t_from_p(0.008, 25, 22)
    assert t == pytest.approx(2.78, abs=0.005)
    se = 3.8 / t
    assert se == pytest.approx(1.37, abs=0.005)
    assert se / math.sqrt(1 / 25 + 1 / 22) == pytest.approx(4.69, abs=0.01)


def test_handbook_ci_divisor_for_small_groups():
    # Handbook 6.5.2.2: n = 25 -> t(24) = 2.0639, divisor 4.128; large groups use 3.92
    assert conv.ci_divisor(25) == pytest.approx(4.128, abs=5e-4)
    assert conv.ci_divisor(200) == pytest.approx(3.92, abs=5e-3)
    assert conv.sd_from_ci(1.0, 5.128, 25) == pytest.approx(5.0 * 4.128 / conv.ci_divisor(25), rel=1e-9)


def test_sd_from_se():
    assert conv.sd_from_se(2.0, 16) == 8.0


def test_combine_groups_equals_pooled_raw_data():
    # Handbook Table 6.5.a must give exactly the mean and SD of the union of the raw values.
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 3, 17), rng.normal(14, 5, 29)
    n, m, sd = conv.combine_groups(len(a), a.mean(), a.std(ddof=1), len(b), b.mean(), b.std(ddof=1))
    both = np.concatenate([a, b])
    assert n == 46
    assert m == pytest.approx(both.mean(), rel=1e-12)
    assert sd == pytest.approx(both.std(ddof=1), rel=1e-12)


def test_hozo_formulas_and_switch_points():
    # Hozo 2005: (a + 2m + b)/4 up to n = 25, the median above; SD formula up to 15, range/4 to 70, range/6 above
    assert conv.hozo_mean(0, 4, 12, 10) == pytest.approx(5.0)
    assert conv.hozo_mean(0, 4, 12, 26) == 4
    assert conv.hozo_sd(0, 4, 12, 15) == pytest.approx(math.sqrt(((0 - 8 + 12) ** 2 / 4 + 144) / 12))
    assert conv.hozo_sd(0, 4, 12, 16) == 3.0
    assert conv.hozo_sd(0, 4, 12, 71) == 2.0


def test_symmetric_summaries_give_the_median_as_mean():
    for est in (conv.luo_mean_range(2, 5, 8, 40), conv.luo_mean_iqr(4, 5, 6, 40),
                conv.luo_mean_iqr_range(2, 4, 5, 6, 8, 40)):
        assert est == pytest.approx(5.0)


@pytest.mark.parametrize("n", [51, 401])
def test_estimators_recover_normal_mean_and_sd(n):
    # Transcription check: on normal samples the estimators should land near the sample mean/SD.
    rng = np.random.default_rng(20240501 + n)
    errors_mean, errors_sd = {k: [] for k in "S1 S2 S3".split()}, {k: [] for k in "S1 S2 S3".split()}
    for _ in range(300):
        x = rng.normal(50, 10, n)
        a, q1, m, q3, b = np.min(x), *np.percentile(x, [25, 50, 75]), np.max(x)
        for scen, est in (("S1", conv.median_to_mean_sd(n, m, minimum=a, maximum=b)),
                          ("S2", conv.median_to_mean_sd(n, m, q1=q1, q3=q3)),
                          ("S3", conv.median_to_mean_sd(n, m, q1=q1, q3=q3, minimum=a, maximum=b))):
            errors_mean[scen].append(est.mean - x.mean())
            errors_sd[scen].append(est.sd / x.std(ddof=1) - 1)
    for scen in ("S1", "S2", "S3"):
        assert abs(np.mean(errors_mean[scen])) < 0.3      # mean within 0.03 SD on average
        assert abs(np.mean(errors_sd[scen])) < 0.04        # SD unbiased within 4%


def test_median_to_mean_sd_names_its_method():
    assert "Luo 2018 (S1)" in conv.median_to_mean_sd(10, 5, minimum=1, maximum=9).method
    assert "Shi 2020 (S3)" in conv.median_to_mean_sd(10, 5, q1=3, q3=7, minimum=1, maximum=9).method
    assert "Hozo 2005" in conv.median_to_mean_sd(10, 5, minimum=1, maximum=9, method="hozo").method
    assert conv.median_to_mean_sd(10, 5, q1=3, q3=7, method="hozo").sd == pytest.approx(4 / 1.35)
    with pytest.raises(ValueError):
        conv.median_to_mean_sd(10, 5)


def test_effect_se_from_ci_and_p():
    assert conv.se_from_effect_ci(0.04, 0.27, ratio=False) == pytest.approx(0.23 / 3.919928, rel=1e-6)
    # ratio CI is symmetric on the log scale
    assert conv.se_from_effect_ci(1.47, 3.60, ratio=True) == pytest.approx(
        (math.log(3.60) - math.log(1.47)) / 3.919928, rel=1e-6)
    # p = 0.05 -> z = 1.96 -> SE = estimate / 1.96
    assert conv.se_from_effect_p(0.5, 0.05, ratio=False) == pytest.approx(0.5 / 1.959964, rel=1e-6)
    assert conv.z_from_p(0.01) == pytest.approx(2.5758, abs=1e-4)


def test_median_asymmetry():
    assert conv.median_asymmetry(5, 0, 10) == 0
    assert conv.median_asymmetry(0, 0, 10) == 1
    assert conv.median_asymmetry(3, 3, 3) == 0
