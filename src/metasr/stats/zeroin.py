"""R's uniroot() (Brent's method as R_zeroin2 implements it), for metafor-identical roots.

metafor 3.8 finds the Paule-Mandel tau2 with uniroot() at its default tolerance
(.Machine$double.eps^0.25 = 1.2e-4 absolute), so its PM estimate lies up to that far from the
exact root. To be numerically identical to metafor we take the same steps; `metasr.stats.tau2.pm`
offers the exact root too (`root="exact"`).
"""

from __future__ import annotations

import numpy as np

UNIROOT_TOL = float(np.finfo(float).eps ** 0.25)


def r_zeroin(f, lower: float, upper: float, tol: float = UNIROOT_TOL, maxit: int = 1000) -> float:
    """Brent's zero finder step for step as R's uniroot() runs it (R_zeroin2 in R's sources).

    metafor solves the Paule-Mandel equation with uniroot() at its default tolerance; reproducing
    the same iterates gives the same tau2 to ~1e-12, where a tighter solver would differ by up to tol."""
    eps = np.finfo(float).eps
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0:
        return a
    if fb == 0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p, q = cb * t1, 1.0 - t1
            else:  # inverse quadratic interpolation
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            p, q = (p, -q) if p > 0 else (-p, q)
            if p < 0.75 * cb * q - abs(tol_act * q) / 2 and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b
