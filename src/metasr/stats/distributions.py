"""The few distribution functions the engine needs: the normal and chi-square ones of our own, the
t, F and chi-square-quantile ones from scipy.special.

Why our own: every `metasr` command and every pooling job of the workflow is a fresh process, and
importing scipy.special costs about 0.2 s of it (scipy 1.17's array-API layer runs dir(numpy), which
imports numpy.f2py and more). A fit (`pool --what fit`) needs only the normal distribution (z tests,
critical values) and the chi-square upper tail (Q test), so those are computed here with numpy and
Python's math, and that path imports no scipy at all (tests/commands/test_pool_cli.py checks it).
t_sf, t_ppf, t_isf, chi2_ppf and f_sf import scipy.special when first called.

Ours, and how. tests/stats/test_distributions.py compares them with R's pnorm, qnorm and pchisq
(tools/reference/distributions.R) and with 60-digit values (tools/reference/distributions_decimal.py)
over their whole range: normal tails within 3e-16 (relative) down to the smallest doubles, chi-square
tails within 7e-15 for df from 0.5 to 1e6, within 1e-15 in the far tails (down to 1e-305), where
R's own pchisq is off by up to 4e-13.
- norm_cdf, norm_sf: glibc's erfc (math.erfc, about 1 ulp), with the rounding of x / sqrt(2) put
  back to first order (it would otherwise cost up to 1e-13 in the far tails, |x| near 38).
- norm_ppf, norm_isf: Wichura's AS241 (statistics.NormalDist.inv_cdf), as R's qnorm: the same values.
- chi2_sf(x, df) = Q(df / 2, x / 2), the regularised upper incomplete gamma function: the power series
  of P below a + 1, Lentz's continued fraction of Q above, both times x^a e^-x / Gamma(a) by Loader's
  (2000) formula, which keeps its error near eps even for df of a million, where the plain log terms
  (a log x, lgamma(a)) are 1e7 and would leave 1e-9; long double where double's rounding would show
  (see below).
Scalars in give numpy float64 scalars out; arrays broadcast as numpy's ufuncs do; NaN propagates.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

EPS = float(np.finfo(float).eps)

# 1 / sqrt(2) as hi + lo (hi its double, lo the rest, from a 50-digit decimal), for the normal tails
_RSQRT2, _RSQRT2_LO = 0.7071067811865476, -4.833646656726457e-17
_SPLITTER = 134217729.0  # 2^27 + 1: Dekker's split of a double into two halves whose products are exact
_RSQRT2_HEAD = _SPLITTER * _RSQRT2 - (_SPLITTER * _RSQRT2 - _RSQRT2)
_RSQRT2_TAIL = _RSQRT2 - _RSQRT2_HEAD
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_erfc = np.frompyfunc(math.erfc, 1, 1)
_inv_cdf = np.frompyfunc(NormalDist().inv_cdf, 1, 1)


# --- normal ---------------------------------------------------------------------------------------

def _result(out: np.ndarray):
    """A numpy float64 scalar for a 0-d result, the array otherwise."""
    return out[()] if out.ndim == 0 else out


def _upper_normal(x) -> np.ndarray:
    """P(Z > x) = erfc(x / sqrt(2)) / 2, with the rounding of x / sqrt(2) corrected to first order:
    erfc(z + e) = erfc(z) - 2 / sqrt(pi) exp(-z^2) e. Relative to erfc, the correction is about
    2 z e, 1e-13 at |x| = 38, so it matters in the far tail only."""
    # beyond |x| = 40 the tails are 0 and 1 in double precision; clipping keeps the split finite
    x = np.clip(np.asarray(x, float), -40.0, 40.0)
    z = x * _RSQRT2
    t = _SPLITTER * x
    x_head = t - (t - x)
    x_tail = x - x_head
    # Dekker's two-product: x * _RSQRT2 - z exactly, plus x * _RSQRT2_LO
    e = (((x_head * _RSQRT2_HEAD - z) + x_head * _RSQRT2_TAIL + x_tail * _RSQRT2_HEAD) + x_tail * _RSQRT2_TAIL
         + x * _RSQRT2_LO)
    tail = np.asarray(_erfc(z), float)
    return 0.5 * (tail - _TWO_OVER_SQRT_PI * np.exp(-z * z) * e)


def norm_cdf(x):
    return _result(_upper_normal(-np.asarray(x, float)))


def norm_sf(x):
    return _result(_upper_normal(x))


def norm_ppf(q):
    """The normal quantile (AS241): -inf at 0, inf at 1, NaN outside [0, 1]."""
    q = np.asarray(q, float)
    out = np.where(q == 0, -np.inf, np.where(q == 1, np.inf, np.nan))
    inside = (q > 0) & (q < 1)
    if inside.any():
        out = np.atleast_1d(out)
        out[np.atleast_1d(inside)] = _inv_cdf(q[inside]).astype(float)
        out = out.reshape(q.shape)
    return _result(out)


def norm_isf(p):
    return -norm_ppf(p)


# --- chi-square -----------------------------------------------------------------------------------
# chi2_sf(x, df) = Q(a, x / 2), a = df / 2. Doubles throughout, except three steps where their rounding
# would show, done in long double (80 bits, eps 1e-19, on x86-64 Linux; where numpy's long double is a
# plain double, those steps lose their edge: up to about 1e-13 in the far tails): stirlerr(a); the log
# of the density where it is below -FAR or x / a outside [1/2, 2] (terms much larger than their sum);
# 1 - P where Q < 1/4 (P's rounding magnified up to 20 times). A scalar takes the same steps in plain
# Python (a hundred times faster than numpy on one element; the engine asks for one Q test at a time
# in many places).

LD = np.longdouble
LONG = np.finfo(LD).eps < EPS
FAR = 4.0
TINY = 1e-300  # Lentz's stand-in for a zero denominator
MAX_TERMS = 100_000  # series and fraction take some 10 sqrt(df) terms near x = df: df to 1e7 converge
# the vectorised loops check convergence every CHECK_EVERY iterations and drop the converged points
# once half are; meanwhile those take terms that change nothing (the series' are below half an ulp of
# the sum, the fraction's factors are held at 1)
CHECK_EVERY = 8
_HALF_LOG_2PI = {np.float64: 0.5 * math.log(2 * math.pi),
                 LD: LD("0.91893853320467274178032973640561763986139747")}
# log1pmx's series: log(1 + t) - t = r (2 y S(y) - t), r = t / (2 + t), y = r^2,
# S(y) = sum_k y^k / (2k + 3); 22 terms reach long double's eps for |r| <= 1/3, i.e. -1/2 <= t <= 1
_ATANH_SERIES = {np.float64: tuple(1.0 / (2 * k + 3) for k in range(22)),
                 LD: tuple(LD(1) / (2 * k + 3) for k in range(22))}
# Stirling's series of stirlerr(a) in 1/a: B_2k / (2k (2k - 1)); ten terms leave under 1e-20 from a = 10
_STIRLING_SERIES = tuple(LD(n) / d for n, d in (
    (1, 12), (-1, 360), (1, 1260), (-1, 1680), (1, 1188), (-691, 360360), (1, 156), (-3617, 122400),
    (43867, 244188), (-174611, 125400)))
_STIRLING_FROM = 10


def _log1pmx_series(t, coefs):
    """log(1 + t) - t for -1/2 <= t <= 1 without cancellation (a scalar or an array, of coefs' type)."""
    r = t / (2 + t)
    y = r * r
    s = coefs[-1]
    for c in coefs[-2::-1]:
        s = s * y + c
    return r * (2 * y * s - t)


def _stirlerr(a: np.ndarray) -> np.ndarray:
    """stirlerr(a) = lgamma(a + 1) - (a + 1/2) log(a) + a - log(sqrt(2 pi)), the error of Stirling's
    formula, in long double: its series from a = 10 on; below, stirlerr(a + 1) + (a + 1/2) log(1 + 1/a)
    - 1, whose terms are small (no large terms cancel, as in lgamma(a + 1) - (a + 1/2) log(a))."""
    b = np.array(a, LD)
    s = np.zeros_like(b)
    for _ in range(_STIRLING_FROM + 1):
        up = b < _STIRLING_FROM
        if not up.any():
            break
        bu = b[up]
        u = 1 / bu
        near = u <= 1  # log1pmx's series there, so that the 1 cancels exactly
        with np.errstate(divide="ignore", invalid="ignore"):
            s[up] += np.where(near, (bu + 0.5) * _log1pmx_series(np.where(near, u, 0), _ATANH_SERIES[LD]) + 0.5 * u,
                              (bu + 0.5) * np.log1p(u) - 1)
        b[up] = bu + 1
    y = 1 / (b * b)
    series = np.zeros_like(b)
    for c in _STIRLING_SERIES[::-1]:
        series = series * y + c
    return s + series / b


def _stirlerrs(a: np.ndarray) -> np.ndarray:
    """stirlerr of each a, each distinct value once and kept (few distinct df, as a rule, and the
    same ones call after call: a permutation test's refits, a leave-one-out's)."""
    values, where = np.unique(a, return_inverse=True)
    return np.array([_stirlerr_scalar(float(v)) for v in values], dtype=LD)[where]


@functools.lru_cache(maxsize=1024)
def _stirlerr_scalar(a: float):
    return _stirlerr(np.array([a]))[0]


def _log_density(a: np.ndarray, x: np.ndarray, stirlerr) -> np.ndarray:
    """log(x^a e^-x / Gamma(a)) by Loader's formula a log1pmx((x - a) / a) + log(sqrt(a / (2 pi)))
    - stirlerr(a), in the arrays' dtype: the terms a log x, x and lgamma(a), each about a log a,
    cancel analytically. Where x / a is within [1/2, 2], x - a is exact and log1pmx's series is used."""
    t = (x - a) / a
    near = (t >= -0.5) & (t <= 1.0)
    far = ~near
    body = np.empty_like(t)
    body[near] = a[near] * _log1pmx_series(t[near], _ATANH_SERIES[a.dtype.type])
    with np.errstate(divide="ignore"):
        body[far] = a[far] * (np.log(x[far]) - np.log(a[far])) - (x[far] - a[far])
    return body + (0.5 * np.log(a) - _HALF_LOG_2PI[a.dtype.type]) - stirlerr


def _log_density_scalar(a, x, stirlerr):
    """_log_density for scalars: Python floats, or numpy long doubles."""
    kind, log = (np.float64, math.log) if isinstance(a, float) else (LD, np.log)
    t = (x - a) / a
    if -0.5 <= t <= 1.0:
        body = a * _log1pmx_series(t, _ATANH_SERIES[kind])
    else:
        body = a * ((log(x) if x > 0 else -math.inf) - log(a)) - (x - a)
    return body + (0.5 * log(a) - _HALF_LOG_2PI[kind]) - stirlerr


def _density(a: np.ndarray, x: np.ndarray, stirlerr: np.ndarray) -> np.ndarray:
    """x^a e^-x / Gamma(a) (1-d arrays; stirlerr(a) in long double)."""
    log_d = _log_density(a, x, stirlerr.astype(float))
    with np.errstate(under="ignore"):
        out = np.exp(log_d)
        redo = (log_d < -FAR) | (x < 0.5 * a) | (x > 2 * a)
        if LONG and redo.any():
            out[redo] = np.exp(_log_density(a[redo].astype(LD), x[redo].astype(LD), stirlerr[redo])).astype(float)
    return out


def _density_scalar(a: float, x: float) -> float:
    stirlerr = _stirlerr_scalar(a)
    log_d = _log_density_scalar(a, x, float(stirlerr))
    if LONG and (log_d < -FAR or not 0.5 * a <= x <= 2 * a):
        return float(np.exp(_log_density_scalar(LD(a), LD(x), stirlerr)))
    return math.exp(log_d)


def _lower_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sum_n x^n / ((a + 1) ... (a + n)) for x < a + 1 (P(a, x) = x^a e^-x / Gamma(a + 1) times it), in
    the arrays' dtype, to where the rest, below term x / (a + n + 1 - x) (a geometric bound), is under
    eps / 4 of the sum."""
    eps = np.finfo(x.dtype).eps
    out = np.full_like(x, np.nan)
    idx = np.arange(x.size)
    term = np.ones_like(x)
    total = np.ones_like(x)
    n = 0
    ratio, rest = np.empty_like(x), np.empty_like(x)  # in-place work: fresh arrays cost more here
    while idx.size and n < MAX_TERMS:
        for _ in range(CHECK_EVERY):
            n += 1
            np.add(a, n, out=ratio)
            np.divide(x, ratio, out=ratio)
            term *= ratio
            total += term
        np.subtract(a, x, out=rest)  # the rest's bound, over eps / 4 of the sum
        rest += n + 1
        np.divide(term, rest, out=rest)
        rest *= x
        done = rest <= 0.25 * eps * total
        if 2 * np.count_nonzero(done) >= done.size:  # compressing costs more than a few idle terms
            out[idx[done]] = total[done]
            keep = ~done
            idx, a, x, term, total = idx[keep], a[keep], x[keep], term[keep], total[keep]
            ratio, rest = ratio[keep], rest[keep]
    return out


def _lower_series_scalar(a, x):
    """_lower_series for scalars: Python floats, or numpy long doubles."""
    eps = EPS if isinstance(a, float) else np.finfo(LD).eps
    term = total = a * 0 + 1
    for n in range(1, MAX_TERMS):
        term *= x / (a + n)
        total += term
        if term * x <= 0.25 * eps * total * (a + n + 1 - x):
            return total
    return math.nan


def _upper_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The continued fraction Q(a, x) Gamma(a) / (x^a e^-x) = 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a
    - 2 (2 - a) / (x + 5 - a - ...))) for x >= a + 1, by the modified Lentz method."""
    out = np.full(x.shape, np.nan)
    idx = np.arange(x.size)
    b = x + 1 - a
    c = np.full_like(x, 1 / TINY)
    d = 1 / b
    f = d.copy()
    converged = np.zeros(x.shape, bool)
    i = 0
    while idx.size and i < MAX_TERMS:
        for _ in range(CHECK_EVERY):
            i += 1
            an = -i * (i - a)
            b += 2
            d = an * d + b
            d[np.abs(d) < TINY] = TINY
            c = b + an / c
            c[np.abs(c) < TINY] = TINY
            d = 1 / d
            delta = d * c
            converged = np.abs(delta - 1) <= EPS
            delta[converged] = 1.0  # f stays as it converged (each idle factor would round it)
            f *= delta
        done = converged
        if 2 * np.count_nonzero(done) >= done.size:
            out[idx[done]] = f[done]
            keep = ~done
            idx, a, b, c, d, f = idx[keep], a[keep], b[keep], c[keep], d[keep], f[keep]
    return out


def _upper_fraction_scalar(a: float, x: float) -> float:
    b = x + 1 - a
    c = 1 / TINY
    d = f = 1 / b
    for i in range(1, MAX_TERMS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = d if abs(d) >= TINY else TINY
        c = b + an / c
        c = c if abs(c) >= TINY else TINY
        d = 1 / d
        delta = d * c
        if abs(delta - 1) <= EPS:
            return f
        f *= delta
    return math.nan


def _upper_gamma(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) = Gamma(a, x) / Gamma(a) for a > 0, 0 < x < inf (1-d arrays): 1 - P by P's series below
    x = a + 1, Lentz's fraction above."""
    stirlerr = _stirlerrs(a)
    density = _density(a, x, stirlerr)
    q = np.empty_like(x)
    lower = x < a + 1
    q[lower] = 1 - density[lower] / a[lower] * _lower_series(a[lower], x[lower])
    redo = lower & (q < 0.25)
    if LONG and redo.any():
        al, xl = a[redo].astype(LD), x[redo].astype(LD)
        p = np.exp(_log_density(al, xl, stirlerr[redo])) / al * _lower_series(al, xl)
        q[redo] = (1 - p).astype(float)
    upper = ~lower
    q[upper] = density[upper] * _upper_fraction(a[upper], x[upper])
    return q


def _upper_gamma_scalar(a: float, x: float) -> float:
    if x >= a + 1:
        return _density_scalar(a, x) * _upper_fraction_scalar(a, x)
    q = 1 - _density_scalar(a, x) / a * _lower_series_scalar(a, x)
    if LONG and q < 0.25:
        al, xl = LD(a), LD(x)
        p = np.exp(_log_density_scalar(al, xl, _stirlerr_scalar(a))) / al * _lower_series_scalar(al, xl)
        q = float(1 - p)
    return q


def _chi2_sf_scalar(x: float, df: float) -> float:
    if not df > 0 or math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if x == math.inf:
        return 0.0
    if df == math.inf:
        return 1.0  # all its mass at infinity, as R's
    return _upper_gamma_scalar(df / 2, x / 2)


def chi2_sf(x, df):
    """P(X > x) for X chi-square on df > 0 degrees of freedom (R's pchisq(x, df, lower.tail = FALSE)):
    1 at x <= 0, 0 at x = inf, NaN where df <= 0 or either is NaN."""
    if np.ndim(x) == 0 and np.ndim(df) == 0:
        return np.float64(_chi2_sf_scalar(float(x), float(df)))
    x, df = np.broadcast_arrays(np.asarray(x, float), np.asarray(df, float))
    shape = x.shape
    x, df = x.ravel(), df.ravel()
    out = np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore"):
        valid = df > 0
        out[valid & (x <= 0)] = 1.0
        out[valid & (x == np.inf)] = 0.0
        out[valid & (df == np.inf) & (x > 0) & (x < np.inf)] = 1.0  # all its mass at infinity, as R's
        inner = valid & (df < np.inf) & (x > 0) & (x < np.inf)
    if inner.any():
        out[inner] = _upper_gamma(df[inner] / 2, x[inner] / 2)
    return out.reshape(shape)


# --- scipy.special, imported when first needed ----------------------------------------------------

def t_sf(x, df):
    from scipy import special

    return special.stdtr(df, -np.asarray(x, float))


def t_ppf(q, df):
    from scipy import special

    return special.stdtrit(df, q)


def t_isf(p, df):
    from scipy import special

    return -special.stdtrit(df, p)


def chi2_ppf(q, df):
    from scipy import special

    return 2.0 * special.gammaincinv(np.asarray(df, float) / 2.0, q)


def f_sf(x, dfn, dfd):
    from scipy import special

    return special.fdtrc(dfn, dfd, x)
