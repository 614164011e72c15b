"""Permutation tests of a meta-regression or meta-analysis (metafor's `permutest`).

An intercept-only model is refitted with the signs of the yi flipped (2^k sign patterns); a model
with moderators is refitted with the rows of its model matrix permuted (k! / prod(m_j!) distinct
arrangements, m_j the multiplicities of identical rows). The p-value of a coefficient is the share
of refits whose |statistic| is at least the observed one (less sqrt(eps), metafor's comptol); the
omnibus p is the share with QM at least the observed QM. metafor's defaults: the exact test over
every arrangement when there are at most `iter` = 1000 of them (or when `exact` is asked for),
otherwise `iter` random arrangements with the observed one counted first; random arrangements come
from numpy's generator with `seed` (R's random numbers are not reproduced, so random-permutation
p-values agree with metafor's only in distribution).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from metasr.errors import InputError
from metasr.stats import batch
from metasr.stats.models import MetaFit, fit_many
from metasr.stats.tau2 import Studies

ITER = 1000
COMPTOL = math.sqrt(np.finfo(float).eps)
EXACT_LIMIT = 1_000_000  # refits beyond which an exact test is refused
REFIT_BATCH = 2000  # permuted data sets fitted together (memory: this many times k x p)


def n_arrangements(fit: MetaFit) -> int:
    """The number of distinct refits of the exact test."""
    if fit.is_intercept_only:
        return 2**fit.k
    counts = Counter(map(tuple, fit.X.tolist())).values()
    n = math.factorial(fit.k)
    for c in counts:
        n //= math.factorial(c)
    return n


def multiset_permutations(items: list) -> list[list[int]]:
    """Every distinct ordering of `items` (as lists of indices into items, one index per distinct
    value used in the order of first appearance)."""
    keys = list(dict.fromkeys(items))
    pools = {key: [i for i, it in enumerate(items) if it == key] for key in keys}
    counts = [len(pools[key]) for key in keys]
    out: list[list[int]] = []

    def rec(prefix, counts):
        if len(prefix) == len(items):
            used = {key: iter(pools[key]) for key in keys}
            out.append([next(used[keys[j]]) for j in prefix])
            return
        for j, c in enumerate(counts):
            if c:
                counts[j] -= 1
                prefix.append(j)
                rec(prefix, counts)
                prefix.pop()
                counts[j] += 1

    rec([], counts)
    return out


def _refit_stats(fit: MetaFit, n: int, data: Callable[[slice], tuple[np.ndarray, np.ndarray | None]],
                 ) -> tuple[np.ndarray, np.ndarray]:
    """z (or t) of every coefficient and QM of the model refitted n times, to `data(part)` = (y (m, k),
    model matrices X (m, k, p) or None for the intercept only) of the refits in `part`, a batch at a
    time by the engine (`fit_many`: the rows of a batch do not depend on each other, so each is the
    refit that data alone gives, number for number: tests/stats/test_permutation.py)."""
    stats, qms = [], []
    for start in range(0, n, REFIT_BATCH):
        y, X = data(slice(start, start + REFIT_BATCH))
        m = len(y)
        tau2 = np.full(m, fit.tau2) if fit.fixed_tau2 else None
        a = None if fit.a is None else np.tile(fit.a, (m, 1))
        f = fit_many(Studies(y, np.tile(fit.vi, (m, 1)), None, X), fit.method, fit.test, tau2, a)
        stats.append(f.stat)
        if X is None:
            qms.append(f.stat[:, 0] ** 2)
        else:
            assert f.QM is not None  # a model with moderators has its omnibus test
            qms.append(f.QM)
    return np.concatenate(stats), np.concatenate(qms).astype(float)


def _omnibus(fit: MetaFit) -> float:
    """QM: the squared statistic of an intercept-only model, else the test of the moderators."""
    if fit.is_intercept_only:
        return float(fit.stat[0] ** 2)
    assert fit.QM is not None  # every model with moderators has its omnibus test
    return fit.QM


def _sign_flip_stats(fit: MetaFit, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z (or t) and QM of the intercept-only model for every row of sign patterns."""
    yi = signs * fit.yi[None, :]
    if fit.method in batch.METHODS and fit.test in batch.TESTS and fit.a is None and not fit.fixed_tau2:
        res = batch.pool(yi, np.broadcast_to(fit.vi, yi.shape), method=fit.method, test=fit.test)
        stat = res["stat"][:, None]
        return stat, stat[:, 0] ** 2
    return _refit_stats(fit, len(yi), lambda part: (yi[part], None))


def permutest(fit: MetaFit, exact: bool | None = None, iter: int = ITER, seed: int | None = None) -> dict:
    """metafor's permutest(fit): pval (per coefficient), QMp, the observed zval and QM, the number
    of permutations, exact (bool) and the seed of random permutations."""
    if iter < 2:
        raise InputError("the number of permutations must be at least 2")
    n_exact = n_arrangements(fit)
    use_exact = bool(exact) or n_exact <= iter
    if use_exact and n_exact > EXACT_LIMIT:
        raise InputError(f"an exact permutation test needs {n_exact} refits",
                         hint=f"use random permutations (--permutations N, N < {n_exact})")
    obs_stat = fit.stat
    obs_QM = _omnibus(fit)
    rng = np.random.default_rng(seed)
    if fit.is_intercept_only:
        if use_exact:
            grid = np.array(np.meshgrid(*([[1.0, -1.0]] * fit.k), indexing="ij")).reshape(fit.k, -1).T
            signs = grid
        else:
            signs = rng.choice([-1.0, 1.0], size=(iter, fit.k))
            signs[0] = 1.0
        stat, QM = _sign_flip_stats(fit, signs)
    else:
        if use_exact:
            orders = multiset_permutations([tuple(r) for r in fit.X.tolist()])
        else:
            orders = [list(range(fit.k))] + [list(rng.permutation(fit.k)) for _ in range(iter - 1)]
        def permuted(part: slice) -> tuple[np.ndarray, np.ndarray]:
            order = np.asarray(orders[part])
            return np.tile(fit.yi, (len(order), 1)), fit.X[order]

        stat, QM = _refit_stats(fit, len(orders), permuted)
    pval = np.mean(np.abs(stat) >= np.abs(obs_stat)[None, :] - COMPTOL, axis=0)
    QMp = float(np.mean(QM >= obs_QM - COMPTOL))
    return {"pval": np.minimum(pval, 1.0).tolist(), "QMp": QMp, "zval": obs_stat.tolist(), "QM": obs_QM,
            "permutations": int(len(stat)), "exact": use_exact, "seed": None if use_exact else seed,
            "coef_names": fit.coef_names}
