"""Root finders for many equations at once (one per row), the engine's only ones.

`uniroot` is R's uniroot() (Brent's method as R_zeroin2 implements it), taking R's steps in
every row together: metafor 3.8 finds the Paule-Mandel tau2 with uniroot() at its default
tolerance (.Machine$double.eps^0.25 = 1.2e-4 absolute), so its PM estimate lies up to that far
from the exact root; taking the same steps gives metafor's value to ~1e-12.

`bracketed_newton` finds the root of a function that is positive at `lo` and negative at `hi`
to machine precision: Newton steps that fall back to bisection whenever they would leave the
shrinking bracket. Both take `fun(idx, x)`, evaluating the rows `idx` at the values x.
"""

from __future__ import annotations

import math

import numpy as np

UNIROOT_TOL = float(np.finfo(float).eps ** 0.25)
EPS = float(np.finfo(float).eps)
NEWTON_MAXITER = 200
NEWTON_RTOL = 4 * EPS


def uniroot(fun, lower, upper, tol: float = UNIROOT_TOL, maxit: int = 1000) -> np.ndarray:
    """R's uniroot(f, c(lower, upper)) in every row: fun(idx, x) -> f (arrays); the brackets
    must have f(lower) and f(upper) of opposite signs (or one of them 0)."""
    a = np.array(lower, dtype=float, copy=True)
    b = np.array(upper, dtype=float, copy=True)
    rows = np.arange(len(a))
    fa, fb = fun(rows, a), fun(rows, b)
    root = np.where(fa == 0, a, b)
    live = (fa != 0) & (fb != 0)
    rows, a, b, fa, fb = rows[live], a[live], b[live], fa[live], fb[live]
    c, fc = a.copy(), fa.copy()
    for _ in range(maxit + 1):
        if rows.size == 0:
            return root
        prev_step = b - a
        swap = np.abs(fc) < np.abs(fb)
        if swap.any():
            a, b, c = np.where(swap, b, a), np.where(swap, c, b), np.where(swap, b, c)
            fa, fb, fc = np.where(swap, fb, fa), np.where(swap, fc, fb), np.where(swap, fb, fc)
        tol_act = 2 * EPS * np.abs(b) + tol / 2
        new_step = (c - b) / 2
        finished = (np.abs(new_step) <= tol_act) | (fb == 0)
        if finished.any():
            root[rows[finished]] = b[finished]
            keep = ~finished
            rows, a, b, c, fa, fb, fc = rows[keep], a[keep], b[keep], c[keep], fa[keep], fb[keep], fc[keep]
            prev_step, tol_act, new_step = prev_step[keep], tol_act[keep], new_step[keep]
            if rows.size == 0:
                return root
        interpolate = (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
        if interpolate.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                cb = c - b
                t2 = fb / fa
                q_, t1 = fa / fc, fb / fc
                secant = a == c
                p = np.where(secant, cb * t2, t2 * (cb * q_ * (q_ - t1) - (b - a) * (t1 - 1.0)))
                q = np.where(secant, 1.0 - t2, (q_ - 1.0) * (t1 - 1.0) * (t2 - 1.0))
                q = np.where(p > 0, -q, q)
                p = np.abs(p)
                accept = interpolate & (p < 0.75 * cb * q - np.abs(tol_act * q) / 2) & (p < np.abs(prev_step * q / 2))
                new_step = np.where(accept, p / q, new_step)
        new_step = np.where(np.abs(new_step) < tol_act, np.where(new_step > 0, tol_act, -tol_act), new_step)
        a, fa = b, fb
        b = b + new_step
        fb = fun(rows, b)
        same = ((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0))
        c, fc = np.where(same, a, c), np.where(same, fa, fc)
    root[rows] = b  # R returns the last iterate after maxit steps
    return root


def bracketed_newton(fun, lo, hi, x0):
    """Root in every row of a function positive at lo and negative at hi: fun(idx, x) -> (f, f').
    Returns (root, converged, iterations)."""
    lo, hi = np.array(lo, dtype=float, copy=True), np.array(hi, dtype=float, copy=True)
    x = np.array(x0, dtype=float, copy=True)
    if len(x) == 1:
        return _newton_one(fun, float(lo[0]), float(hi[0]), float(x[0]))
    root = x.copy()
    iterations = np.zeros(len(x), dtype=int)
    rows = np.arange(len(x))
    for it in range(1, NEWTON_MAXITER + 1):
        f, df = fun(rows, x)
        pos = f > 0
        lo = np.where(pos, x, lo)
        hi = np.where(pos, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - f / df
        new = np.where(f == 0, x, np.where((df < 0) & (step > lo) & (step < hi), step, 0.5 * (lo + hi)))
        done = ((f == 0) | (np.abs(new - x) <= NEWTON_RTOL * np.maximum(np.abs(new), 1e-300))
                | (hi - lo <= NEWTON_RTOL * hi))
        x = new
        if done.any():
            root[rows[done]] = x[done]
            iterations[rows[done]] = it
            keep = ~done
            rows, x, lo, hi = rows[keep], x[keep], lo[keep], hi[keep]
            if rows.size == 0:
                break
    root[rows] = x
    iterations[rows] = NEWTON_MAXITER
    converged = np.ones(len(root), dtype=bool)
    converged[rows] = False
    return root, converged, iterations


def _newton_one(fun, lo: float, hi: float, x: float):
    """bracketed_newton's steps for one row, in Python floats: the same IEEE arithmetic as the
    array version (so the same root to the last bit), without the dozen numpy calls per step that
    dominate a small single fit's root finding."""
    rows = np.zeros(1, dtype=int)
    for it in range(1, NEWTON_MAXITER + 1):
        f_arr, df_arr = fun(rows, np.array([x]))
        f, df = float(f_arr[0]), float(df_arr[0])
        if f > 0:
            lo = x
        else:
            hi = x
        if f == 0:
            new = x
        else:
            step = x - f / df if df < 0 else math.nan  # the array version's condition needs df < 0
            new = step if lo < step < hi else 0.5 * (lo + hi)
        done = f == 0 or abs(new - x) <= NEWTON_RTOL * max(abs(new), 1e-300) or hi - lo <= NEWTON_RTOL * hi
        x = new
        if done:
            return np.array([x]), np.ones(1, dtype=bool), np.array([it])
    return np.array([x]), np.zeros(1, dtype=bool), np.array([NEWTON_MAXITER])
