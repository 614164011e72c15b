"""The scipy.special wrappers give scipy.stats' values (they exist only to import faster)."""

import numpy as np
from scipy import stats

from metasr.stats import distributions as dist

X = np.array([-8.0, -2.5, -0.3, 0.0, 0.7, 1.96, 4.0, 12.0])
P = np.array([1e-12, 1e-6, 0.025, 0.3, 0.5, 0.8, 0.975, 1 - 1e-9])


def test_normal():
    assert np.allclose(dist.norm_cdf(X), stats.norm.cdf(X), rtol=1e-14, atol=0)
    assert np.allclose(dist.norm_sf(X), stats.norm.sf(X), rtol=1e-14, atol=0)
    assert np.allclose(dist.norm_ppf(P), stats.norm.ppf(P), rtol=1e-14)
    assert np.allclose(dist.norm_isf(P), stats.norm.isf(P), rtol=1e-14)


def test_t_chi2_f():
    for df in (1, 2.5, 11, 300):
        assert np.allclose(dist.t_sf(X, df), stats.t.sf(X, df), rtol=1e-13, atol=0)
        assert np.allclose(dist.t_ppf(P, df), stats.t.ppf(P, df), rtol=1e-12)
        assert np.allclose(dist.t_isf(P, df), stats.t.isf(P, df), rtol=1e-12)
        q = np.abs(X) * 3
        assert np.allclose(dist.chi2_sf(q, df), stats.chi2.sf(q, df), rtol=1e-13, atol=0)
        assert np.allclose(dist.chi2_ppf(P, df), stats.chi2.ppf(P, df), rtol=1e-10)
        assert np.allclose(dist.f_sf(q, df, 7), stats.f.sf(q, df, 7), rtol=1e-13, atol=0)
