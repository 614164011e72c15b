"""Root finders: one row alone takes exactly the steps it takes in a batch."""

from __future__ import annotations

import numpy as np
import pytest

from metasr.stats.zeroin import bracketed_newton


def _cubic(a, b):
    """f(x) = a - x^3 - b x (decreasing), with its derivative; rows idx of the coefficients."""
    def fun(idx, x):
        return a[idx] - x**3 - b[idx] * x, -3 * x**2 - b[idx]
    return fun


def _flat_slope(a):
    """f(x) = a - x with a derivative that says 0 (Newton refused: bisection only)."""
    def fun(idx, x):
        return a[idx] - x, np.zeros_like(x)
    return fun


@pytest.mark.parametrize("make", [
    lambda rng: _cubic(rng.uniform(0.1, 50, 5), rng.uniform(0, 3, 5)),
    lambda rng: _flat_slope(rng.uniform(0.5, 9.5, 5)),
])
def test_one_row_alone_equals_that_row_in_a_batch(make):
    rng = np.random.default_rng(3)
    fun = make(rng)
    lo, hi = np.zeros(5), np.full(5, 10.0)
    x0 = rng.uniform(0, 10, 5)
    batch = bracketed_newton(fun, lo, hi, x0)
    for i in range(5):
        alone = bracketed_newton(lambda idx, x, i=i: fun(np.full(len(idx), i), x), lo[i:i + 1], hi[i:i + 1],
                                 x0[i:i + 1])
        assert alone[0][0] == batch[0][i]  # the same root to the last bit
        assert alone[1][0] == batch[1][i] and alone[2][0] == batch[2][i]


def test_one_row_exact_root_at_the_start_and_no_convergence():
    root, ok, iterations = bracketed_newton(lambda idx, x: (2.0 - x, -np.ones_like(x)), [0.0], [4.0], [2.0])
    assert root[0] == 2.0 and ok[0] and iterations[0] == 1
    nan = bracketed_newton(lambda idx, x: (np.full_like(x, np.nan), np.full_like(x, np.nan)), [0.0], [1.0], [0.5])
    both = bracketed_newton(lambda idx, x: (np.full_like(x, np.nan), np.full_like(x, np.nan)), [0.0, 0.0], [1.0, 1.0],
                            [0.5, 0.5])
    assert nan[0][0] == both[0][0] and nan[1][0] == both[1][0] and nan[2][0] == both[2][0]
