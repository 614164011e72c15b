"""Common-effect and random-effects (meta-regression) models, as metafor's `rma.uni` fits them.

`fit_rma(yi, vi, method, test, X)` is the one entry point for inverse-variance models; every fit
is a `MetaFit` that keeps its inputs (yi, vi, X, method, test, measure) so other modules can
refit it (leave-one-out, trim-and-fill, cumulative). `fit_mh` and `fit_peto` pool 2x2 tables
directly and return a `TableFit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metasr.errors import InputError, Problem
from metasr.stats import inference, tau2 as tau2_estimators
from metasr.stats.tau2 import Projection
from metasr.stats import distributions as dist

METHODS_RMA = ("FE",) + tau2_estimators.ESTIMATORS
TESTS = inference.TESTS


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
    fixed_tau2: bool = False          # tau2 given, not estimated (no parameter in the fit statistics)
    a: np.ndarray | None = None       # user weights of the coefficients (None: inverse variance)

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
        if self.test in inference.T_TESTS:
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
        raise ValueError(f"unknown test {test!r}; use one of {', '.join(TESTS)}")
    if not (np.all(np.isfinite(yi)) and np.all(np.isfinite(vi))):
        raise ValueError("yi and vi must be finite")
    if np.any(vi <= 0):
        raise ValueError("sampling variances must be positive")
    if len(yi) <= X.shape[1] and method != "FE":
        raise ValueError(f"{method} needs more studies (k = {len(yi)}) than coefficients ({X.shape[1]})")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("model matrix is not of full rank")


def fit_rma(yi, vi, method: str = "REML", test: str = "z", X=None, measure: str | None = None,
            tau2: float | None = None, coef_names=None, weights=None) -> MetaFit:
    """Fit a common-effect (`FE`) or random-effects model with optional moderators X (k x p,
    including the intercept column). `tau2` fixes the between-study variance instead of
    estimating it. `weights` (a_i) replace the inverse-variance weights of the coefficients,
    whose covariance is then the sandwich (X'AX)^-1 X'A M A X (X'AX)^-1, M = diag(vi + tau2), as
    metafor's `rma(..., weights = )`; GENQ estimates tau2 with them (default a_i = 1/vi)."""
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = len(yi)
    X = _as_design(X, k)
    check_inputs(yi, vi, X, method, test)
    p = X.shape[1]
    if method == "GENQ" and weights is None:
        weights = 1 / vi
    weights = None if weights is None else np.asarray(weights, dtype=float)
    tau2_hat, tau2_se = _tau2(method, yi, vi, X, tau2, weights)
    proj = Projection(yi, 1 / (vi + tau2_hat), X)
    beta, vb = proj.beta, proj.A
    if weights is not None:
        beta, vb = _weighted_coefficients(yi, vi + tau2_hat, X, weights)
    vb = vb * inference.vb_scale(test, yi, vi, X, tau2_hat)
    se = np.sqrt(np.diag(vb))
    df = k - p if test in inference.T_TESTS else None
    stat, pval, ci_lb, ci_ub = inference.wald(beta, se, test, df)
    Q, Q_df, Q_pval = inference.heterogeneity_q(yi, vi, X)
    I2, H2 = _i2_h2(method, vi, X, Q, Q_df, tau2_hat)
    pi_lb = pi_ub = math.nan
    if p == 1:
        pi_lb, pi_ub = inference.prediction_interval(float(beta[0]), float(se[0]), tau2_hat, test, df)
    QM, QM_df, QM_pval = _moderator_test(beta, vb, X, test, k - p)
    names = list(coef_names) if coef_names is not None else (["intrcpt"] + [f"x{j}" for j in range(1, p)])
    w = proj.w if weights is None else weights
    return MetaFit(
        yi=yi, vi=vi, X=X, method=method, test=test, measure=measure,
        tau2=float(tau2_hat), tau2_se=None if tau2_se is None else float(tau2_se),
        beta=beta, vb=vb, se=se, stat=stat, pval=pval, ci_lb=ci_lb, ci_ub=ci_ub, df=df,
        Q=Q, Q_df=Q_df, Q_pval=Q_pval, I2=float(I2), H2=float(H2), weights=100 * w / np.sum(w),
        pi_lb=float(pi_lb), pi_ub=float(pi_ub), QM=QM, QM_df=QM_df, QM_pval=QM_pval, coef_names=names,
        fixed_tau2=tau2 is not None, a=weights,
    )


def _weighted_coefficients(yi, marginal_var, X, a):
    """Coefficients with user weights a_i and their sandwich covariance under M = diag(vi + tau2)."""
    proj = Projection(yi, a, X)
    B = proj.A @ (X.T * a)
    return proj.beta, (B * marginal_var) @ B.T


def _tau2(method, yi, vi, X, fixed, weights=None):
    """(tau2, its SE): 0 for FE, the fixed value (with metafor's SE where it has one), or estimated."""
    if method == "FE":
        return 0.0, None
    if fixed is not None:
        se = (tau2_estimators.se_at(method, yi, vi, X, float(fixed))
              if method in ("REML", "ML", "PM", "EB", "PMM") else None)
        return float(fixed), se
    return tau2_estimators.estimate_tau2(method, yi, vi, X, weights)


def _i2_h2(method, vi, X, Q, Q_df, tau2):
    if method == "FE":
        return inference.i2_h2_from_q(Q, Q_df)
    return inference.i2_h2_from_tau2(tau2, inference.typical_variance(vi, X))


def _moderator_test(beta, vb, X, test, df_resid):
    """Omnibus test of the moderators (all coefficients but the intercept); None without moderators."""
    p = X.shape[1]
    if p == 1:
        return None, None, None
    coefs = list(range(1, p)) if bool(np.all(X[:, 0] == 1)) else list(range(p))
    return inference.omnibus(beta, vb, coefs, test, df_resid)


def fit_common(yi, vi, test: str = "z", X=None, measure: str | None = None) -> MetaFit:
    """Common-effect (inverse-variance) model."""
    return fit_rma(yi, vi, method="FE", test=test, X=X, measure=measure)


# ---------------------------------------------------------------- 2x2 tables: Mantel-Haenszel, Peto

@dataclass
class TableFit:
    """A Mantel-Haenszel or Peto common-effect fit of 2x2 tables (log scale for RR and OR)."""

    method: str
    measure: str
    test: str
    yi: np.ndarray  # escalc effects (for plots and refits), NaN for tables with no information
    vi: np.ndarray
    estimate: float
    se: float
    Q: float
    Q_df: int
    k: int

    @property
    def stat(self) -> float:
        return self.estimate / self.se

    @property
    def pval(self) -> float:
        return float(inference.wald(self.estimate, self.se, "z", None)[1])

    def to_dict(self) -> dict:
        stat, pval, ci_lb, ci_ub = inference.wald(self.estimate, self.se, "z", None)
        Q_pval = float(dist.chi2_sf(self.Q, self.Q_df)) if self.Q_df > 0 else math.nan
        I2, H2 = inference.i2_h2_from_q(self.Q, self.Q_df)
        return {"k": self.k, "estimate": self.estimate, "se": self.se, "stat": float(stat), "pval": float(pval),
                "ci_lb": float(ci_lb), "ci_ub": float(ci_ub), "tau2": 0.0, "I2": I2, "H2": H2,
                "Q": self.Q, "Q_df": self.Q_df, "Q_pval": Q_pval}


def _escalc_q(measure, ai, bi, ci, di):
    """Q test on the escalc effects, double-zero tables dropped (as rma.mh/rma.peto do)."""
    from metasr.stats import effects

    keep = ~(((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0)))
    yi, vi = effects.compute(measure, {"ai": ai, "bi": bi, "ci": ci, "di": di})
    yi, vi = np.where(keep, yi, np.nan), np.where(keep, vi, np.nan)
    return yi, vi, keep


def _q_around(yi, vi, estimate: float):
    """Cochran's Q with inverse-variance weights around the pooled (MH) estimate."""
    if len(yi) < 2:
        return 0.0, 0
    return max(0.0, float(np.sum((yi - estimate) ** 2 / vi))), len(yi) - 1


def fit_mh(ai, bi, ci, di, measure: str) -> TableFit:
    """Mantel-Haenszel pooled RR, OR or RD (Robins-Breslow-Greenland variance for OR,
    Greenland-Robins for RR, Sato et al. 1989 for RD), no continuity correction. Q uses the
    escalc effects (1/2 added to zero cells, double-zero tables dropped) around the MH estimate."""
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    _require_events(ai, ci, bi, di, measure)
    if measure == "OR":
        R, S = ai * di / ni, bi * ci / ni
        P, Qi = (ai + di) / ni, (bi + ci) / ni
        sR, sS = R.sum(), S.sum()
        estimate = math.log(sR / sS)
        var = (np.sum(P * R) / (2 * sR**2) + np.sum(P * S + Qi * R) / (2 * sR * sS)
               + np.sum(Qi * S) / (2 * sS**2))
    elif measure == "RR":
        R, S = ai * n2i / ni, ci * n1i / ni
        sR, sS = R.sum(), S.sum()
        estimate = math.log(sR / sS)
        var = np.sum((n1i * n2i * (ai + ci) - ai * ci * ni) / ni**2) / (sR * sS)
    elif measure == "RD":
        W = np.sum(n1i * n2i / ni)
        estimate = float(np.sum((ai * n2i - ci * n1i) / ni) / W)
        P = np.sum((n1i**2 * ci - n2i**2 * ai + n1i * n2i * (n2i - n1i) / 2) / ni**2)
        Qs = np.sum((ai * (n2i - ci) + ci * (n1i - ai)) / (2 * ni))
        var = (estimate * P + Qs) / W**2
    else:
        raise ValueError(f"Mantel-Haenszel pools RR, OR or RD, not {measure}")
    yi, vi, keep = _escalc_q(measure, ai, bi, ci, di)
    Q, Q_df = _q_around(yi[keep], vi[keep], estimate)
    return TableFit("MH", measure, "z", yi, vi, float(estimate), float(math.sqrt(var)), Q, Q_df, len(ai))


def fit_mh_rates(x1i, t1i, x2i, t2i) -> TableFit:
    """Mantel-Haenszel pooled incidence rate ratio (log scale), as metafor's rma.mh for IRR."""
    from metasr.stats import effects

    x1i, t1i, x2i, t2i = (np.asarray(a, dtype=float) for a in (x1i, t1i, x2i, t2i))
    empty = [name for name, x in (("x1i", x1i), ("x2i", x2i)) if x.sum() == 0]
    if empty:
        raise InputError([Problem(message=f"Mantel-Haenszel IRR is undefined: '{name}' is 0 in every study",
                                  column=name, rule="events in both groups",
                                  hint="describe the studies narratively") for name in empty])
    Ti = t1i + t2i
    R, S = np.sum(x1i * t2i / Ti), np.sum(x2i * t1i / Ti)
    se = math.sqrt(np.sum(t1i * t2i * (x1i + x2i) / Ti**2) / (R * S))
    keep = ~((x1i == 0) & (x2i == 0))
    yi, vi = effects.log_irr(x1i, t1i, x2i, t2i)
    yi, vi = np.where(keep, yi, np.nan), np.where(keep, vi, np.nan)
    estimate = math.log(R / S)
    Q, Q_df = _q_around(yi[keep], vi[keep], estimate)
    return TableFit("MH", "IRR", "z", yi, vi, float(estimate), float(se), Q, Q_df, len(x1i))


def _require_events(ai, ci, bi, di, measure) -> None:
    """Mantel-Haenszel ratios need events (and OR non-events) in both arms across the tables."""
    empty = []
    if measure != "RD":  # RR and OR need events
        empty += [name for name, cells in (("ai", ai), ("ci", ci)) if cells.sum() == 0]
    if measure == "OR":
        empty += [name for name, cells in (("bi", bi), ("di", di)) if cells.sum() == 0]
    if empty:
        raise InputError([Problem(message=f"Mantel-Haenszel {measure} is undefined: '{name}' is 0 in every study",
                                  column=name, rule="events in both groups",
                                  hint="use the risk difference (RD) or describe the studies narratively")
                          for name in empty])


def fit_peto(ai, bi, ci, di) -> TableFit:
    """Peto's one-step pooled log odds ratio."""
    from metasr.stats import effects

    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    Ei = (ai + ci) * n1i / ni
    Vi = (ai + ci) * (bi + di) * (n1i / ni) * (n2i / ni) / (ni - 1)
    informative = Vi > 0
    if not informative.any():
        raise InputError(Problem(message="Peto's odds ratio is undefined: no table has both events and non-events",
                                 rule="informative tables", hint="use the risk difference or describe the studies"))
    OE, V = (ai - Ei)[informative], Vi[informative]
    estimate = float(OE.sum() / V.sum())
    Q = float(np.sum(OE**2 / V) - OE.sum() ** 2 / V.sum())
    yi, vi, _ = _escalc_q("OR", ai, bi, ci, di)
    return TableFit("PETO", "OR", "z", yi, vi, estimate, float(1 / math.sqrt(V.sum())), Q,
                    int(informative.sum()) - 1, len(ai))
