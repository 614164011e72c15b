"""Common-effect and random-effects (meta-regression) models, as metafor's `rma.uni` fits them.

`fit_rma(yi, vi, method, test, X)` is the one entry point for inverse-variance models; `fit_mh`
and `fit_peto` (in `metasr.stats.mh`-style functions below) pool 2x2 tables directly. Every fit
is a `MetaFit` that keeps its inputs (yi, vi, X, method, test, measure) so other modules can
refit it (leave-one-out, trim-and-fill, cumulative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metasr.stats import inference, tau2 as tau2_estimators
from metasr.stats.tau2 import Projection

METHODS_RMA = ("FE",) + tau2_estimators.ESTIMATORS
TESTS = ("z", "knha")


@dataclass
class MetaFit:
    """A fitted inverse-variance model (intercept-only when X is a single column of ones)."""

    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    method: str
    test: str
    measure: str | None
    tau2: float
    tau2_se: float | None
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    df: int | None
    Q: float
    Q_df: int
    Q_pval: float
    I2: float
    H2: float
    weights: np.ndarray  # percent
    pi_lb: float
    pi_ub: float
    QM: float | None = None
    QM_df: list | None = None
    QM_pval: float | None = None
    coef_names: list = field(default_factory=lambda: ["intrcpt"])

    @property
    def k(self) -> int:
        return len(self.yi)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def is_intercept_only(self) -> bool:
        return self.p == 1 and bool(np.all(self.X[:, 0] == 1))

    @property
    def estimate(self) -> float:
        return float(self.beta[0])

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def to_dict(self) -> dict:
        """metafor's keys (those of the reference `expected` objects)."""
        if self.is_intercept_only:
            out = {
                "k": self.k,
                "estimate": self.estimate,
                "se": float(self.se[0]),
                "stat": float(self.stat[0]),
                "pval": float(self.pval[0]),
                "ci_lb": float(self.ci_lb[0]),
                "ci_ub": float(self.ci_ub[0]),
            }
        else:
            out = {
                "k": self.k,
                "coef_names": list(self.coef_names),
                "coef": self.beta.tolist(),
                "se": self.se.tolist(),
                "stat": self.stat.tolist(),
                "pval": self.pval.tolist(),
                "ci_lb": self.ci_lb.tolist(),
                "ci_ub": self.ci_ub.tolist(),
            }
        out["tau2"] = self.tau2
        if self.tau2_se is not None:
            out["tau2_se"] = self.tau2_se
        out.update(I2=self.I2, H2=self.H2, Q=self.Q, Q_df=self.Q_df, Q_pval=self.Q_pval)
        if self.test == "knha":
            out["df"] = self.df
        if self.is_intercept_only:
            out.update(weights=self.weights.tolist(), pi_lb=self.pi_lb, pi_ub=self.pi_ub)
        else:
            out.update(QM=self.QM, QM_df=self.QM_df, QM_pval=self.QM_pval)
        return out


def _as_design(X, k: int) -> np.ndarray:
    if X is None:
        return np.ones((k, 1))
    X = np.asarray(X, dtype=float)
    return X.reshape(k, -1)


def check_inputs(yi, vi, X, method: str, test: str) -> None:
    """Programming-level checks (user input is validated in effects/analysis before this)."""
    if method not in METHODS_RMA:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS_RMA)}")
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; use z or knha")
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi))):
        raise ValueError("yi and vi must be finite")
    if np.any(vi <= 0):
        raise ValueError("sampling variances must be positive")
    if len(yi) <= X.shape[1] and method != "FE":
        raise ValueError(f"{method} needs more studies (k = {len(yi)}) than coefficients ({X.shape[1]})")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("model matrix is not of full rank")


def fit_rma(yi, vi, method: str = "REML", test: str = "z", X=None, measure: str | None = None,
            tau2: float | None = None, coef_names=None) -> MetaFit:
    """Fit a common-effect (`FE`) or random-effects model with optional moderators X (k x p,
    including the intercept column). `tau2` fixes the between-study variance instead of
    estimating it."""
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = len(yi)
    X = _as_design(X, k)
    check_inputs(yi, vi, X, method, test)
    p = X.shape[1]
    if method == "FE":
        tau2_hat, tau2_se = 0.0, None
    elif tau2 is not None:
        tau2_hat = float(tau2)
        tau2_se = tau2_estimators.se_at(method, yi, vi, X, tau2_hat) if method in ("REML", "ML", "PM", "EB") else None
    else:
        tau2_hat, tau2_se = tau2_estimators.estimate_tau2(method, yi, vi, X)
    proj = Projection(yi, 1 / (vi + tau2_hat), X)
    df_resid = k - p
    vb = proj.A
    if test == "knha":
        vb = vb * inference.knha_scale(yi, vi, X, tau2_hat)
    se = np.sqrt(np.diag(vb))
    df = df_resid if test == "knha" else None
    stat, pval, ci_lb, ci_ub = inference.wald(proj.beta, se, test, df)
    Q, Q_df, Q_pval = inference.heterogeneity_q(yi, vi, X)
    if method == "FE":
        I2, H2 = inference.i2_h2_from_q(Q, Q_df)
    else:
        I2, H2 = inference.i2_h2_from_tau2(tau2_hat, inference.typical_variance(vi, X))
    weights = 100 * proj.w / np.sum(proj.w)
    pi_lb = pi_ub = math.nan
    QM = QM_df = QM_pval = None
    if p == 1:
        pi_lb, pi_ub = inference.prediction_interval(float(proj.beta[0]), float(se[0]), tau2_hat, test, df)
    has_intercept = bool(np.all(X[:, 0] == 1))
    if p > 1:
        coefs = list(range(1, p)) if has_intercept else list(range(p))
        QM, QM_df, QM_pval = inference.omnibus(proj.beta, vb, coefs, test, df_resid)
    names = list(coef_names) if coef_names is not None else (["intrcpt"] + [f"x{j}" for j in range(1, p)])
    return MetaFit(
        yi=yi, vi=vi, X=X, method=method, test=test, measure=measure,
        tau2=float(tau2_hat), tau2_se=None if tau2_se is None else float(tau2_se),
        beta=proj.beta, vb=vb, se=se, stat=stat, pval=pval, ci_lb=ci_lb, ci_ub=ci_ub, df=df,
        Q=Q, Q_df=Q_df, Q_pval=Q_pval, I2=float(I2), H2=float(H2), weights=weights,
        pi_lb=float(pi_lb), pi_ub=float(pi_ub), QM=QM, QM_df=QM_df, QM_pval=QM_pval, coef_names=names,
    )


def fit_common(yi, vi, test: str = "z", X=None, measure: str | None = None) -> MetaFit:
    """Common-effect (inverse-variance) model."""
    return fit_rma(yi, vi, method="FE", test=test, X=X, measure=measure)
