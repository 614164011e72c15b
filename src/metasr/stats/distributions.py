"""The few distribution functions the engine needs, from scipy.special.

scipy.stats computes these same functions through scipy.special (ndtr, stdtr, chdtrc, fdtrc, gammaincinv
and the inverses), but importing scipy.stats costs about a second, and every pooling job of the workflow is a
fresh process that would pay it. These wrappers import in a third of that and give identical values
(tests/stats/test_distributions.py compares them with scipy.stats).
"""

from __future__ import annotations

import numpy as np
from scipy import special


def norm_cdf(x):
    return special.ndtr(x)


def norm_sf(x):
    return special.ndtr(-np.asarray(x, float))


def norm_ppf(q):
    return special.ndtri(q)


def norm_isf(p):
    return -special.ndtri(p)


def t_sf(x, df):
    return special.stdtr(df, -np.asarray(x, float))


def t_ppf(q, df):
    return special.stdtrit(df, q)


def t_isf(p, df):
    return -special.stdtrit(df, p)


def chi2_sf(x, df):
    return special.chdtrc(df, x)


def chi2_ppf(q, df):
    return 2.0 * special.gammaincinv(np.asarray(df, float) / 2.0, q)


def f_sf(x, dfn, dfd):
    return special.fdtrc(dfn, dfd, x)
