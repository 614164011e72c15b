"""Pool many intercept-only meta-analyses at once.

`pool(yi, vi, method, test)` takes arrays of shape (m, k) -- m meta-analyses of up to k studies,
NaN-padded when they have fewer studies -- and returns arrays of length m with metafor's
quantities (estimate, se, stat, pval, ci_lb, ci_ub, tau2, tau2_se, I2, H2, Q, Q_df, Q_pval,
pi_lb, pi_ub). It is `metasr.stats.models.fit_many`, the engine every fit goes through, on the
rows laid out as `Studies`: leave-one-out analyses, cumulative analyses, `metasr pool --by` and
simulations cost a few array passes instead of m Python-level fits.

A row with one study is metafor's k = 1 model (tau2 = 0, z test); a row with none gives NaN.
"""

from __future__ import annotations

import numpy as np

from metasr.errors import InputError
from metasr.stats import inference
from metasr.stats.models import METHODS_RMA, fit_many
from metasr.stats.tau2 import Studies

METHODS = METHODS_RMA
TESTS = inference.TESTS
KEYS = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "tau2_se", "I2", "H2", "Q", "Q_df", "Q_pval",
        "pi_lb", "pi_ub", "df")


def _as_2d(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name} must be a (meta-analyses x studies) array, got {arr.ndim} dimensions")
    return arr


def check(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """(yi, vi) as (m, k) arrays with their NaN padding checked: a study is present when yi is
    not NaN, and then vi is a positive number."""
    yi, vi = _as_2d(yi, "yi"), _as_2d(vi, "vi")
    if yi.shape != vi.shape:
        raise InputError(f"yi has shape {yi.shape} but vi has shape {vi.shape}")
    mask = ~np.isnan(yi)
    problems = []
    if np.any(mask != ~np.isnan(vi)):
        r, c = np.argwhere(mask != ~np.isnan(vi))[0]
        problems.append(f"yi and vi are not missing together (first at row {r}, column {c})")
    if np.any(np.isinf(yi)) or np.any(np.isinf(vi)):
        problems.append("yi and vi must be finite (use NaN for padding)")
    if np.any(vi[mask & ~np.isnan(vi)] <= 0):
        problems.append("sampling variances must be positive")
    if problems:
        raise InputError("; ".join(problems))
    return yi, vi


def _check_method(method: str, test: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise InputError(f"unknown test {test!r}; use one of {', '.join(TESTS)}")


def estimate_tau2(yi, vi, method: str = "REML"):
    """(tau2, converged) for every row of (m, k) arrays with NaN padding (rows with fewer than two
    studies: 0)."""
    res = pool(yi, vi, method)
    return res["tau2"], res["converged"]


def pool(yi, vi, method: str = "REML", test: str = "z", level: float = inference.LEVEL) -> dict:
    """Pool every row of (m, k) arrays (NaN padding); returns a dict of length-m arrays with
    metafor's names plus `k` and `converged`."""
    _check_method(method, test)
    yi, vi = check(yi, vi)
    k = (~np.isnan(yi)).sum(-1)
    m = len(k)
    out = {key: np.full(m, np.nan) for key in KEYS}
    out["k"] = k
    out["converged"] = np.ones(m, dtype=bool)
    out["s2w"] = np.full(m, np.nan)
    for rows, row_method, row_test in ((np.flatnonzero(k >= 2), method, test),
                                       (np.flatnonzero(k == 1), "FE", "z")):  # metafor's k = 1 model
        if rows.size:
            _fill(out, rows, fit_many(Studies.padded(yi[rows], vi[rows]), row_method, row_test), level)
    return out


def _fill(out: dict, rows, f, level) -> None:
    """Write the intercept-only fits f into the rows of out."""
    values = {"estimate": f.beta[:, 0], "se": f.se[:, 0], "stat": f.stat[:, 0], "pval": f.pval[:, 0],
              "ci_lb": f.ci_lb[:, 0], "ci_ub": f.ci_ub[:, 0], "tau2": f.tau2,
              "tau2_se": np.full(len(rows), np.nan) if f.tau2_se is None else f.tau2_se,
              "I2": f.I2, "H2": f.H2, "Q": f.Q, "Q_df": f.Q_df, "Q_pval": f.Q_pval, "pi_lb": f.pi_lb,
              "pi_ub": f.pi_ub, "df": np.full(len(rows), np.nan) if f.df is None else f.df, "s2w": f.s2w}
    for key, value in values.items():
        out[key][rows] = value
    out["converged"][rows] = f.converged


def leave_one_out_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """(k, k-1) arrays whose row i is the data set without study i."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    keep = ~np.eye(k, dtype=bool)
    return yi[None, :].repeat(k, 0)[keep].reshape(k, k - 1), vi[None, :].repeat(k, 0)[keep].reshape(k, k - 1)


def cumulative_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """(k, k) arrays whose row j holds the first j + 1 studies (NaN after)."""
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    lower = np.tril(np.ones((k, k), dtype=bool))
    return np.where(lower, yi[None, :], np.nan), np.where(lower, vi[None, :], np.nan)
