"""Shared set-ups of the engine's tests: the estimators a batched refit is checked under, and the
SYNTHETIC data sets those checks draw."""

import numpy as np
import pytest

# Every estimator family and both tests: closed forms, iterative ones, an empirical Bayes one, and
# the Knapp-Hartung adjustment on one closed and one iterative estimator.
REFIT_ESTIMATORS = [("REML", "z"), ("DL", "knha"), ("ML", "z"), ("PM", "z"), ("FE", "z"), ("GENQ", "knha"),
                    ("EB", "z"), ("SJ", "z")]


@pytest.fixture(params=REFIT_ESTIMATORS, ids=[f"{method}-{test}" for method, test in REFIT_ESTIMATORS])
def refit_estimator(request) -> tuple[str, str]:
    """(method, test) of a model whose batched refits must each equal the refit alone."""
    return request.param


@pytest.fixture
def synthetic_trials():
    """trials(seed, k_low, k_high, dominant): three SYNTHETIC data sets (trial, rng, k, yi, vi) of
    k_low to k_high - 1 studies, in the first of which study `dominant` holds most of the weight;
    `rng` is the one that drew them, for the caller's further draws."""

    def trials(seed: int, k_low: int, k_high: int, dominant: int):
        rng = np.random.default_rng(seed)
        for trial in range(3):
            k = int(rng.integers(k_low, k_high))
            yi, vi = rng.normal(size=k), rng.uniform(0.01, 0.3, k)
            if trial == 0:
                vi[dominant] = 1e-4
            yield trial, rng, k, yi, vi

    return trials
