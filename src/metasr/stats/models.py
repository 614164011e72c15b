"""Common-effect and random-effects (meta-regression) models, as metafor's `rma.uni` fits them.

`fit_rma(yi, vi, method, test, X)` is the one entry point for inverse-variance models of one data
set, `fit_many` for many at once (fit_rma is fit_many on a batch of one); every single fit
is a `MetaFit` that keeps its inputs (yi, vi, X, method, test, measure) so other modules can
refit it (leave-one-out, trim-and-fill, cumulative). `fit_mh` and `fit_peto` pool 2x2 tables
directly and return a `TableFit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metasr import measures
from metasr.errors import InputError, Problem
from metasr.stats import distributions as dist, inference, mh_tests, tau2 as tau2_estimators
from metasr.stats.tau2 import Studies
from metasr.stats.wls import Projection

METHODS_RMA = ("FE",) + tau2_estimators.ESTIMATORS
TESTS = inference.TESTS
LM_TOL = 1e-7  # R's lm(): qr(X, tol = 1e-07) with LINPACK's limited column pivoting (dqrdc2)
EVTOL = 1e-7   # metafor's rma control evtol: X'X with an eigenvalue at or below it is refused


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

    def require_intercept_only(self, what: str, hint: str | None = None) -> None:
        """Analyses of the intercept-only model (small-study tests, sensitivity) refuse others."""
        if not self.is_intercept_only:
            raise InputError(f"{what} needs a model without moderators", hint=hint)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def to_dict(self) -> dict:
        """metafor's keys (those of the reference `expected` objects)."""
        out: dict[str, Any]
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
    intercept_only = X.shape[1] == 1 and bool(np.all(X == 1))  # of full rank: no SVD needed
    if not intercept_only and np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("model matrix is not of full rank")


def rank_problem(X, rma: bool = True) -> str | None:
    """Why metafor would not fit a model with matrix X, or None: a column whose norm falls below
    1e-7 of its original norm once the columns before it are projected out (lm's QR, the check
    metafor's regtest makes after adding its predictor), or, for rma models, an eigenvalue of X'X
    at or below 1e-7 (rma's own check)."""
    X = np.asarray(X, float)
    basis: list[np.ndarray] = []
    for j in range(X.shape[1]):
        x = X[:, j]
        r = x.copy()
        for _ in range(2):  # Gram-Schmidt twice: the residual is accurate to rounding
            for q in basis:
                r -= (q @ r) * q
        norm = float(np.linalg.norm(r))
        if norm < LM_TOL * (float(np.linalg.norm(x)) or 1.0):
            return ("the model matrix is no longer of full rank (a column lies within 1e-7 of the span of "
                    "the others: R's QR rule, where metafor's regtest stops)")
        basis.append(r / norm)
    if rma and float(np.linalg.eigvalsh(X.T @ X).min()) <= EVTOL:
        return "the model matrix is not of full rank (X'X has an eigenvalue at or below 1e-7: metafor's evtol)"
    return None


@dataclass
class Fits:
    """Fitted models of many data sets at once (row i: data set i), arrays over rows."""

    method: str
    test: str
    tau2: np.ndarray
    tau2_se: np.ndarray | None
    beta: np.ndarray      # (m, p)
    vb: np.ndarray        # (m, p, p)
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    df: np.ndarray | None
    Q: np.ndarray
    Q_df: np.ndarray
    Q_pval: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    weights: np.ndarray   # (m, k) percent, 0 in padding cells
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    converged: np.ndarray
    s2w: np.ndarray       # the factor on (X'WX)^-1 (1 for z and t tests)
    QM: np.ndarray | None = None
    QM_df: list | None = None
    QM_pval: np.ndarray | None = None

    def row(self, i: int, yi, vi, X=None, measure=None, coef_names=None, fixed_tau2=False, a=None) -> MetaFit:
        """Row i as a MetaFit of its data (yi, vi and X (k, p; None: intercept) of that row)."""
        X = np.ones((len(yi), 1)) if X is None else X
        return _fits_row(self, i, np.asarray(yi, float), np.asarray(vi, float), X, measure, coef_names, fixed_tau2, a)


def _fits_row(f: Fits, i: int, yi, vi, X, measure=None, coef_names=None, fixed_tau2=False, a=None) -> MetaFit:
    k = len(yi)
    return MetaFit(
        yi=yi, vi=vi, X=X, method=f.method, test=f.test, measure=measure,
        tau2=float(f.tau2[i]), tau2_se=None if f.tau2_se is None else float(f.tau2_se[i]),
        beta=f.beta[i], vb=f.vb[i], se=f.se[i], stat=f.stat[i], pval=f.pval[i], ci_lb=f.ci_lb[i],
        ci_ub=f.ci_ub[i], df=None if f.df is None else int(f.df[i]),
        Q=float(f.Q[i]), Q_df=int(f.Q_df[i]), Q_pval=float(f.Q_pval[i]), I2=float(f.I2[i]), H2=float(f.H2[i]),
        weights=f.weights[i, :k], pi_lb=float(f.pi_lb[i]), pi_ub=float(f.pi_ub[i]),
        QM=None if f.QM is None else float(f.QM[i]),
        QM_df=f.QM_df if f.QM_df is None or f.QM is None or len(f.QM) == 1 else f.QM_df[i],
        QM_pval=None if f.QM_pval is None else float(f.QM_pval[i]),
        coef_names=list(coef_names) if coef_names is not None else ["intrcpt"], fixed_tau2=fixed_tau2, a=a)


def fit_many(s: Studies, method: str = "REML", test: str = "z", tau2=None, weights=None) -> Fits:
    """Fit a common-effect (`FE`) or random-effects model to every data set of `s` (metafor's
    rma.uni, row by row but computed together). `tau2` (m,) fixes the between-study variance;
    `weights` (m, k) are user weights a_i of the coefficients (sandwich covariance) and GENQ's
    weights (default 1/vi)."""
    p = s.p
    if method == "GENQ" and weights is None:
        weights = s.weights(np.zeros(s.m))
    tau2_hat, tau2_se, converged = _tau2(method, s, tau2, weights)
    c = coefficients(s, tau2_hat, test, weights)
    beta, se, df = c.beta, c.se, c.df
    Q, Q_df, Q_pval = inference.heterogeneity_q(s)
    I2, H2 = _i2_h2(method, s, Q, Q_df, tau2_hat)
    pi_lb = pi_ub = np.full(s.m, np.nan)
    if p == 1:
        pi_lb, pi_ub = inference.prediction_interval(beta[:, 0], se[:, 0], tau2_hat, test, df)
    w = c.projection.w if weights is None else s.plain(np.asarray(weights, float))
    fits = Fits(method=method, test=test, tau2=tau2_hat, tau2_se=tau2_se, beta=beta, vb=c.vb, se=se, stat=c.stat,
                pval=c.pval, ci_lb=c.ci_lb, ci_ub=c.ci_ub, df=df, Q=Q, Q_df=Q_df, Q_pval=Q_pval, I2=I2, H2=H2,
                weights=100 * w / w.sum(-1)[:, None], pi_lb=pi_lb, pi_ub=pi_ub, converged=converged, s2w=c.s2w)
    if p > 1:
        _moderator_tests(fits, s, test)
    return fits


@dataclass
class Coefficients:
    """The coefficients of every row at given tau2 values and their tests (arrays over rows)."""

    projection: Projection
    beta: np.ndarray      # (m, p)
    vb: np.ndarray        # (m, p, p), scaled by s2w
    s2w: np.ndarray
    se: np.ndarray
    df: np.ndarray | None  # residual df of t-type tests
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray


def coefficients(s: Studies, tau2: np.ndarray, test: str = "z", weights=None) -> Coefficients:
    """The coefficients at tau2 (m,) with their SEs, tests and CIs: the part of a fit that needs
    no heterogeneity statistics (what trim and fill's refit reports). `weights` as fit_many's."""
    proj = s.projection(tau2)
    beta, vb = proj.coefs(), proj.coef_cov()
    if weights is not None:
        beta, vb = _weighted_coefficients(s, tau2, s.plain(np.asarray(weights, float)))
    s2w = inference.vb_scale(test, proj.rss, s.k - s.p)
    vb = vb * s2w[:, None, None]
    se = np.sqrt(np.diagonal(vb, axis1=-2, axis2=-1))
    df = (s.k - s.p) if test in inference.T_TESTS else None
    stat, pval, ci_lb, ci_ub = inference.wald(beta, se, test, None if df is None else df[:, None])
    return Coefficients(proj, beta, vb, s2w, se, df, stat, pval, ci_lb, ci_ub)


def fit_rma(yi, vi, method: str = "REML", test: str = "z", X=None, measure: str | None = None,
            tau2: float | None = None, coef_names=None, weights=None) -> MetaFit:
    """Fit a common-effect (`FE`) or random-effects model with optional moderators X (k x p,
    including the intercept column). `tau2` fixes the between-study variance instead of
    estimating it. `weights` (a_i) replace the inverse-variance weights of the coefficients,
    whose covariance is then the sandwich (X'AX)^-1 X'A M A X (X'AX)^-1, M = diag(vi + tau2), as
    metafor's `rma(..., weights = )`; GENQ estimates tau2 with them (default a_i = 1/vi).
    The fit is `fit_many` on a batch of one."""
    yi, vi, X, a = _one_data_set(yi, vi, X, method, test, weights)
    p = X.shape[1]
    f = fit_many(Studies.one(yi, vi, X), method, test, None if tau2 is None else np.array([float(tau2)]),
                 None if a is None else a[None])
    names = list(coef_names) if coef_names is not None else (["intrcpt"] + [f"x{j}" for j in range(1, p)])
    return f.row(0, yi, vi, X, measure, names, fixed_tau2=tau2 is not None, a=a)


@dataclass
class CoefficientTests:
    """One model's coefficients and their tests, (p,) arrays named as MetaFit's."""

    beta: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray


def fit_coefficients(yi, vi, method: str = "REML", test: str = "z", X=None, weights=None) -> CoefficientTests:
    """The coefficients of fit_rma's model and their tests, the same numbers, without what else a
    fit reports (Q, I2, H2, the moderators' omnibus test): for the regressions of the small-study
    tests, which read only these."""
    yi, vi, X, a = _one_data_set(yi, vi, X, method, test, weights)
    s = Studies.one(yi, vi, X)
    a = None if a is None else a[None]
    tau2, _, _ = _tau2(method, s, None, a)
    c = coefficients(s, tau2, test, a)
    return CoefficientTests(c.beta[0], c.se[0], c.stat[0], c.pval[0], c.ci_lb[0], c.ci_ub[0])


def _one_data_set(yi, vi, X, method: str, test: str, weights):
    """(yi, vi, X (k, p), a) of one data set as float arrays, checked; a: the coefficients' user
    weights (GENQ's default 1/vi) or None."""
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    X = _as_design(X, len(yi))
    check_inputs(yi, vi, X, method, test)
    a = None if weights is None else np.asarray(weights, dtype=float)
    if method == "GENQ" and a is None:
        a = 1 / vi
    return yi, vi, X, a


def _weighted_coefficients(s: Studies, tau2, a):
    """Coefficients with user weights a_i and their sandwich covariance under M = diag(vi + tau2):
    (X'AX)^-1 X' A M A X (X'AX)^-1."""
    proj = s.projection(w=a)
    A = proj.coef_cov()
    meat = s.plain(a**2 * (s.v + tau2[:, None]))
    if s.X is None:
        middle = meat.sum(-1)[:, None, None]
    else:
        middle = (np.swapaxes(s.X, -1, -2) * meat[:, None, :]) @ s.X
    return proj.coefs(), A @ middle @ A


def _tau2(method, s: Studies, fixed, weights=None):
    """(tau2, its SE, converged): 0 for FE, the fixed value (with metafor's SE where it has one),
    or estimated."""
    ok = np.ones(s.m, dtype=bool)
    if method == "FE":
        return np.zeros(s.m), None, ok
    if fixed is not None:
        fixed = np.asarray(fixed, float)
        se = tau2_estimators.se_at(method, s, fixed) if method in tau2_estimators.SE_AT_FIXED else None
        return fixed, se, ok
    return tau2_estimators.estimate(method, s, weights)


def _i2_h2(method, s: Studies, Q, Q_df, tau2):
    """metafor's I2 and H2 (0 and 1 when k <= p)."""
    if method == "FE":
        I2, H2 = inference.i2_h2_from_q(Q, Q_df)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            I2, H2 = inference.i2_h2_from_tau2(tau2, inference.typical_variance(s))
    fit = Q_df > 0
    return np.where(fit, I2, 0.0), np.where(fit, H2, 1.0)


def _moderator_tests(fits: Fits, s: Studies, test: str) -> None:
    """Omnibus test of the moderators (all coefficients but an intercept) of every row."""
    X = s.X
    assert X is not None  # only models with moderators have them
    intercept = bool(np.all((X[..., 0] == 1) | (s.mask is not None and ~s.mask)))
    coefs = list(range(1, s.p)) if intercept else list(range(s.p))
    rows = [inference.omnibus(fits.beta[i], fits.vb[i], coefs, test, int(s.k[i] - s.p)) for i in range(s.m)]
    fits.QM = np.array([r[0] for r in rows])
    fits.QM_df = rows[0][1] if s.m == 1 else [r[1] for r in rows]
    fits.QM_pval = np.array([r[2] for r in rows])


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
    weights: np.ndarray  # percent weight of each table in the pooled estimate (NaN when none has any)
    tests: dict = field(default_factory=dict)  # Mantel-Haenszel's own tests (metasr.stats.mh_tests)

    @property
    def stat(self) -> float:
        return self.estimate / self.se

    @property
    def pval(self) -> float:
        return float(inference.wald(self.estimate, self.se, "z", None)[1])

    def to_dict(self) -> dict:
        stat, pval, ci_lb, ci_ub = inference.wald(self.estimate, self.se, "z", None)
        # one effect (or none): rma.mh and rma.peto report Q = 0 with QEp = 1 and H2 = 1
        Q_pval = float(dist.chi2_sf(self.Q, self.Q_df)) if self.Q_df > 0 else 1.0
        I2, H2 = inference.i2_h2_from_q(self.Q, self.Q_df) if self.Q_df > 0 else (0.0, 1.0)
        # metafor's k.yi: the tables with an effect of their own (Q's), when not every table has one
        # (double-zero tables, drop00's): k stays the tables in the estimate, as rma.mh's k
        k_yi = int(np.sum(np.isfinite(self.yi)))
        return {"k": self.k, **({"k_yi": k_yi} if k_yi != self.k else {}), "estimate": self.estimate,
                "se": self.se, "stat": float(stat), "pval": float(pval),
                "ci_lb": float(ci_lb), "ci_ub": float(ci_ub), "tau2": 0.0, "I2": float(I2), "H2": float(H2),
                "Q": self.Q, "Q_df": self.Q_df, "Q_pval": Q_pval, **self.tests}


def _escalc_q(measure, ai, bi, ci, di, effects_given=None):
    """The effects Q is computed on: escalc's (`effects_given`, as the table's add/to made them, or
    escalc's defaults), double-zero tables dropped (rma.mh's drop00 = TRUE) and effects that are
    not finite (a zero cell without a correction) left out (metafor's k.yi)."""
    from metasr.stats import effects

    if effects_given is None:
        effects_given = effects.compute(measure, {"ai": ai, "bi": bi, "ci": ci, "di": di})
    yi, vi = (np.asarray(a, dtype=float) for a in effects_given)
    keep = ~double_zero(measure, (ai, bi, ci, di)) & np.isfinite(yi) & np.isfinite(vi)
    yi, vi = np.where(keep, yi, np.nan), np.where(keep, vi, np.nan)
    return yi, vi, keep


def double_zero(measure: str, cells) -> np.ndarray:
    """Tables with no events (or, for 2x2 tables, only events) in both groups: rma.mh's drop00
    leaves their effects out of Q. `cells`: ai, bi, ci, di, or x1i, t1i, x2i, t2i for rates."""
    if measures.get(measure).family == "two-group rates":
        x1i, _, x2i, _ = (np.asarray(c, dtype=float) for c in cells)
        return (x1i == 0) & (x2i == 0)
    ai, bi, ci, di = (np.asarray(c, dtype=float) for c in cells)
    return ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))


def _q_around(yi, vi, estimate: float):
    """Cochran's Q with inverse-variance weights around the pooled (MH) estimate."""
    if len(yi) < 2:
        return 0.0, 0
    return max(0.0, float(np.sum((yi - estimate) ** 2 / vi))), len(yi) - 1


def fit_mh(ai, bi, ci, di, measure: str, effects_given=None) -> TableFit:
    """Mantel-Haenszel pooled RR, OR or RD (Robins-Breslow-Greenland variance for OR,
    Greenland-Robins for RR, Sato et al. 1989 for RD), no continuity correction. Q uses the
    escalc effects (`effects_given`: the table's (yi, vi), computed with its add/to; else 1/2
    added to zero cells), double-zero tables dropped, around the MH estimate (as rma.mh)."""
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    _require_events(ai, ci, bi, di, measure)
    if measure == "OR":
        R, S = ai * di / ni, bi * ci / ni
        P, Qi = (ai + di) / ni, (bi + ci) / ni
        sR, sS = R.sum(), S.sum()
        _require_ratio(measure, sR, sS)
        estimate = math.log(sR / sS)
        var = (np.sum(P * R) / (2 * sR**2) + np.sum(P * S + Qi * R) / (2 * sR * sS)
               + np.sum(Qi * S) / (2 * sS**2))
        w = S
    elif measure == "RR":
        R, S = ai * n2i / ni, ci * n1i / ni
        sR, sS = R.sum(), S.sum()
        _require_ratio(measure, sR, sS)
        estimate = math.log(sR / sS)
        var = np.sum((n1i * n2i * (ai + ci) - ai * ci * ni) / ni**2) / (sR * sS)
        w = S
    elif measure == "RD":
        w = n1i * n2i / ni
        W = np.sum(w)
        estimate = float(np.sum((ai * n2i - ci * n1i) / ni) / W)
        P = np.sum((n1i**2 * ci - n2i**2 * ai + n1i * n2i * (n2i - n1i) / 2) / ni**2)
        Qs = np.sum((ai * (n2i - ci) + ci * (n1i - ai)) / (2 * ni))
        var = (estimate * P + Qs) / W**2
    else:
        raise ValueError(f"Mantel-Haenszel pools RR, OR or RD, not {measure}")
    yi, vi, keep = _escalc_q(measure, ai, bi, ci, di, effects_given)
    Q, Q_df = _q_around(yi[keep], vi[keep], estimate)
    tests = {**mh_tests.cmh_test(ai, bi, ci, di), **mh_tests.tarone_test(ai, bi, ci, di, estimate)} \
        if measure == "OR" else {}
    return TableFit("MH", measure, "z", yi, vi, float(estimate), float(math.sqrt(var)), Q, Q_df, len(ai),
                    _percent(w), tests)


def _require_ratio(measure: str, sR: float, sS: float) -> None:
    """InputError when a sum of the Mantel-Haenszel ratio sR / sS is 0 (the ratio is then 0 or
    infinite, and metafor's estimate NA)."""
    if sR > 0 and sS > 0:
        return
    first, second = ("1", "2") if sR == 0 else ("2", "1")
    empty = (f"no table has both events in group {first} and non-events in group {second}" if measure == "OR"
             else f"no table has events in group {first}")
    raise InputError(Problem(message=f"the Mantel-Haenszel {measure} is undefined: {empty}",
                             rule="events in both groups",
                             hint="describe the studies narratively, or pool them by another method"))


def _percent(w: np.ndarray) -> np.ndarray:
    """Weights in percent of their total (NaN when the total is 0)."""
    total = np.sum(w)
    return 100 * w / total if total > 0 else np.full(len(w), np.nan)


def fit_mh_rates(x1i, t1i, x2i, t2i, effects_given=None, measure: str = "IRR") -> TableFit:
    """Mantel-Haenszel pooled incidence rate ratio (log scale) or rate difference (IRD), as
    metafor's rma.mh; Q on the escalc effects (`effects_given`, as for fit_mh) of the studies
    with events."""
    from metasr.stats import effects

    x1i, t1i, x2i, t2i = (np.asarray(a, dtype=float) for a in (x1i, t1i, x2i, t2i))
    if measure == "IRD":
        return _fit_mh_rate_difference(x1i, t1i, x2i, t2i, effects_given)
    empty = [name for name, x in (("x1i", x1i), ("x2i", x2i)) if x.sum() == 0]
    if empty:
        raise InputError([Problem(message=f"Mantel-Haenszel IRR is undefined: '{name}' is 0 in every study",
                                  column=name, rule="events in both groups",
                                  hint="describe the studies narratively") for name in empty])
    Ti = t1i + t2i
    w = x2i * t1i / Ti
    R, S = np.sum(x1i * t2i / Ti), np.sum(w)
    se = math.sqrt(np.sum(t1i * t2i * (x1i + x2i) / Ti**2) / (R * S))
    yi, vi = effects.log_irr(x1i, t1i, x2i, t2i) if effects_given is None else effects_given
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    keep = ~double_zero("IRR", (x1i, t1i, x2i, t2i)) & np.isfinite(yi) & np.isfinite(vi)
    yi, vi = np.where(keep, yi, np.nan), np.where(keep, vi, np.nan)
    estimate = math.log(R / S)
    Q, Q_df = _q_around(yi[keep], vi[keep], estimate)
    return TableFit("MH", "IRR", "z", yi, vi, float(estimate), float(se), Q, Q_df, len(x1i), _percent(w),
                    mh_tests.rate_mh_test(x1i, t1i, x2i, t2i))


def _fit_mh_rate_difference(x1i, t1i, x2i, t2i, effects_given) -> TableFit:
    """rma.mh(measure = "IRD"): weights t1 t2 / T, the variance of Greenland and Robins (1985)."""
    from metasr.stats import effects

    if x1i.sum() + x2i.sum() == 0:
        raise InputError(Problem(message="Mantel-Haenszel IRD has no variance: no study has an event",
                                 column="x1i", rule="events", hint="describe the studies narratively"))
    w = t1i * t2i / (t1i + t2i)
    estimate = float(np.sum((x1i * t2i - x2i * t1i) / (t1i + t2i)) / np.sum(w))
    se = float(math.sqrt(np.sum(w**2 * (x1i / t1i**2 + x2i / t2i**2))) / np.sum(w))
    given = effects.compute("IRD", {"x1i": x1i, "t1i": t1i, "x2i": x2i, "t2i": t2i}) if effects_given is None \
        else effects_given
    yi, vi = (np.asarray(a, dtype=float) for a in given)
    keep = ~double_zero("IRD", (x1i, t1i, x2i, t2i)) & np.isfinite(yi) & np.isfinite(vi)  # rma.mh's drop00
    Q, Q_df = _q_around(yi[keep], vi[keep], estimate)
    return TableFit("MH", "IRD", "z", np.where(keep, yi, np.nan), np.where(keep, vi, np.nan), estimate, se, Q,
                    Q_df, len(x1i), _percent(w))


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
                    int(informative.sum()) - 1, len(ai), _percent(Vi))
