"""Weighted least squares of many data sets at once, and the traces of its projection matrix.

Every array has the studies on its last axis and any number of leading axes (data sets, grid
points): `y` (..., k), weights `w` (..., k) that are 0 for padding cells, and a model matrix `X`
(..., k, p), or None for the intercept-only model (then every quantity is a plain weighted sum).
With W = diag(w), A = (X'WX)^-1 and P = W - W X A X' W (metafor's P), `Projection` gives the
coefficients, residuals, y'Py (the generalised Q) and the traces the tau2 estimators need,
without ever forming a k x k matrix or X'WX itself: the columns of X are orthogonalised in the
weighted inner product (modified Gram-Schmidt, X = U R with U'WU = diag(n)), which keeps the
condition number of X'WX from being squared into the results.

The traces are sums over pairs of studies of P_ij^2 (times variances): tr(PP), tr(PVPV),
tr(VPP). As sums of k-vectors and p x p matrices they cancel catastrophically when one study
carries most of the weight: its leverage h_i is then close to 1, and 1 - h_i is what is left of
a difference. A study with h_i > 0.9 (at most p of them for p < 10, as the h_i add up to p) is
therefore computed from the other studies directly: 1 - h_i = 1 / (1 + w_i x_i'B_i^-1 x_i) with
B_i = X'WX without study i, its residual is (1 - h_i) times its residual from the fit without it, and its pair terms are
summed over the other studies. Every remaining term is a sum of non-negative parts (or a
difference bounded by the part kept), so the traces keep their digits whatever the spread of the
weights (tests/stats/test_wls.py checks them against exact rational arithmetic).
"""

from __future__ import annotations

import numpy as np

# Leverage above which a study's terms are computed without cancellation. Below it, 1 - h_i and
# the terms it enters lose at most a factor h^2 / (1 - h)^2 = 81 ulps.
DOMINANT = 0.9


def xtdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """X' diag(d) X for one k x p matrix, without forming diag(d)."""
    return (X.T * d) @ X


class _Basis:
    """Modified Gram-Schmidt of the columns of X (..., k, p) in the inner product sum(w a b):
    X = U R, U's columns orthogonal with squared norms n, R unit upper triangular."""

    def __init__(self, X: np.ndarray, w: np.ndarray):
        p = X.shape[-1]
        self.w = w
        self.U = [X[..., j].astype(float, copy=True) for j in range(p)]
        self.R = np.zeros(w.shape[:-1] + (p, p))
        self.n: list[np.ndarray] = []
        for j in range(p):
            for i in range(j):
                c = (w * self.U[i] * self.U[j]).sum(-1) / self.n[i]
                self.R[..., i, j] = c
                self.U[j] -= c[..., None] * self.U[i]
            self.R[..., j, j] = 1.0
            self.n.append((w * self.U[j] ** 2).sum(-1))

    def project(self, y):
        """(coordinates d of the fitted values in U, residual y - U d), sequentially (MGS)."""
        r = y.astype(float, copy=True)
        d = []
        for U, n in zip(self.U, self.n, strict=True):
            c = (self.w * U * r).sum(-1) / n
            r -= c[..., None] * U
            d.append(c)
        return np.stack(d, -1), r

    def solve_R(self, d):
        """R^-1 d by back substitution (d: (..., p))."""
        p = d.shape[-1]
        beta = np.empty_like(d)
        for j in range(p - 1, -1, -1):
            beta[..., j] = d[..., j] - (self.R[..., j, j + 1:] * beta[..., j + 1:]).sum(-1)
        return beta

    def solve_Rt(self, x):
        """R'^-1 x by forward substitution (x: (..., p))."""
        p = x.shape[-1]
        t = np.empty_like(x, dtype=float)
        for j in range(p):
            t[..., j] = x[..., j] - (self.R[..., :j, j] * t[..., :j]).sum(-1)
        return t

    def coords(self):
        """U as (..., k, p) scaled to unit weighted norm: sqrt(w) times it is the orthonormal Q."""
        return np.stack([U / np.sqrt(n)[..., None] for U, n in zip(self.U, self.n, strict=True)], -1)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_i a_i b_i over the last axis, without the product array (faster than (a * b).sum(-1)
    for the short axes of many studies' fits; each row summed alike whatever the batch)."""
    return np.einsum("...i,...i->...", a, b)


class Projection:
    """Weighted least squares of y on X (None: intercept only) with weights w, on the last axis."""

    def __init__(self, y: np.ndarray, w: np.ndarray, X: np.ndarray | None = None, dominance: bool = True):
        """`dominance=False` promises that no study holds DOMINANT of the weight (for the
        intercept-only model, true at every tau2 when it is true at tau2 = 0, as weights 1/(vi +
        tau2) only grow more alike), which saves looking."""
        if y.shape != w.shape:
            y = np.broadcast_to(y, w.shape)
        if X is not None and X.shape[:-1] != w.shape:
            X = np.broadcast_to(X, w.shape + X.shape[-1:])
        self.y, self.w, self.X = y, w, X
        self._h: np.ndarray | None = None
        self._m_diag: np.ndarray | None = None
        # (row indices, study per row, its 1 - h_i) of the studies with h_i > DOMINANT
        self._dominant: list[tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]] | None = None
        self._beta: np.ndarray | None = None
        if X is None:
            self.sw = np.einsum("...i->...", w)
            self._beta = _dot(w, y) / self.sw   # (...,)
            self.resid = y - self._beta[..., None]
            dominant = dominance and w.shape[-1] and np.any(w.max(-1) > DOMINANT * self.sw)
        else:
            self.basis = _Basis(X, w)
            self._d, self.resid = self.basis.project(y)
            self.Uc = self.basis.coords()            # (..., k, p), sum(w Uc_l Uc_m) = delta_lm
            self._h = w * (self.Uc**2).sum(-1)
            dominant = np.any(self._h > DOMINANT)
        if dominant:
            self._fix_dominant()

    @property
    def beta(self) -> np.ndarray:
        """Coefficients: (...,) intercept only, else (..., p) (solved when first asked for: the
        scores of a tau2 search need only residuals and traces)."""
        if self._beta is None:
            self._beta = self.basis.solve_R(self._d)
        return self._beta

    @property
    def h(self) -> np.ndarray:
        """Leverages w_i x_i'(X'WX)^-1 x_i (the diagonal of the whitened hat matrix)."""
        if self._h is None:
            self._h = self.w / self.sw[..., None]
        return self._h

    @property
    def m_diag(self) -> np.ndarray:
        """1 - h_i, from the other studies' sums where h_i > DOMINANT."""
        if self._m_diag is None:
            m_diag = 1 - self.h
            for rows, i, m_ii in self._dominant or ():
                m_diag[rows + (i,)] = m_ii
            self._m_diag = m_diag
        return self._m_diag

    # ------------------------------------------------------------------ studies with h_i > 1/2

    def _fix_dominant(self) -> None:
        """1 - h_i and the residual of studies with h_i > 1/2 from the other studies' sums."""
        slots = 1 if self.X is None else int(self.X.shape[-1] / DOMINANT)
        order = np.argsort(-self.h, axis=-1)[..., :slots]
        lead = np.take_along_axis(self.h, order, -1) > DOMINANT
        dominant = []
        for s in range(order.shape[-1]):
            rows = np.nonzero(lead[..., s])
            if rows[0].size:
                i = order[..., s][rows]
                dominant.append((rows, i, self._fix_one(rows, i)))
        self._dominant = dominant

    @staticmethod
    def _without(values, rows, i):
        """values[rows] (n, k, ...) with study i of each row set to 0."""
        v = values[rows].copy()
        v[np.arange(len(i)), i] = 0
        return v

    def _fix_one(self, rows, i) -> np.ndarray:
        """Study i of each row in `rows`: its residual set from the others' fit; returns its 1 - h_i."""
        n = np.arange(len(i))
        y = self.y[rows]
        w_other = self._without(self.w, rows, i)
        wi, yi = self.w[rows][n, i], y[n, i]
        # A study alone in the span of its columns (k = p, or the only one of a level) has
        # h_i = 1 and residual 0; the others' fit is then undefined (0/0), which is not used.
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.X is None:
                s_other = w_other.sum(-1)
                m_ii = s_other / (s_other + wi)
                resid = m_ii * (yi - (w_other * y).sum(-1) / s_other)
            else:
                X = self.X[rows]
                xi = X[n, i]
                basis = _Basis(X, w_other)
                d, _ = basis.project(y)
                t = basis.solve_Rt(xi)
                c = wi * (t**2 / np.stack(basis.n, -1)).sum(-1)
                m_ii = np.where(np.isfinite(c), 1 / (1 + c), 0.0)
                resid = m_ii * (yi - (xi * basis.solve_R(d)).sum(-1))
        self.resid[rows + (i,)] = np.where(m_ii > 0, resid, 0.0)
        return m_ii

    # ------------------------------------------------------------------ sums and traces

    @property
    def rss(self) -> np.ndarray:
        """y'Py: the (generalised) Q statistic."""
        return (self.w * self.resid**2).sum(-1)

    @property
    def py(self) -> np.ndarray:
        """Py = W (y - X beta)."""
        return self.w * self.resid

    @property
    def ppy(self) -> np.ndarray:
        """y'PPy."""
        py = self.py
        return _dot(py, py)

    def quad(self, u: np.ndarray) -> np.ndarray:
        """u'Pu (a slope in root finding, where a few lost digits do not matter)."""
        wu = self.w * u
        if self.X is None:
            return (wu * u).sum(-1) - wu.sum(-1) ** 2 / self.sw
        c = (wu[..., None] * self.Uc).sum(-2)
        return (wu * u).sum(-1) - (c**2).sum(-1)

    def tr_P(self) -> np.ndarray:
        if self.X is not None:
            return (self.w * self.m_diag).sum(-1)
        # Intercept only: sw - sum(w^2) / sw without forming h, where no w_i exceeds DOMINANT of
        # sw (the difference then keeps a tenth of sw: at most a digit lost); rows with such a
        # study take the other studies' sums. Row by row, so a batch gives each row's own value.
        tr = self.sw - _dot(self.w, self.w) / self.sw
        for rows, _, _ in self._dominant or ():
            tr[rows] = (self.w[rows] * self.m_diag[rows]).sum(-1)
        return tr

    def tr_PV(self, v) -> np.ndarray:
        return (self.w * v * self.m_diag).sum(-1)

    def pair_sum(self, u: np.ndarray, u2: np.ndarray) -> np.ndarray:
        """sum_ij u_i u2_j M_ij^2, M = I - H the residual projection of the whitened model (so
        P_ij^2 = w_i w_j M_ij^2): tr(PP) = pair_sum(w, w), tr(PVPV) = pair_sum(wv, wv),
        tr(VPP) = pair_sum(wv, w)."""
        off = self._off_diagonal(u2, self.w, self.h)
        for rows, i, _ in self._dominant or ():
            off[rows + (i,)] = self._off_diagonal_alone(u2, rows, i)
        return (u * (u2 * self.m_diag**2 + off)).sum(-1)

    def _off_diagonal(self, u2, w, h):
        """sum_{j != i} u2_j H_ij^2 for every i, as the full sum less the i = j term."""
        if self.X is None:
            return w * ((u2 * w).sum(-1) / self.sw**2)[..., None] - u2 * h**2
        G = np.swapaxes(self.Uc, -1, -2) @ (self.Uc * (u2 * w)[..., None])
        return w * ((self.Uc @ G) * self.Uc).sum(-1) - u2 * h**2

    def _off_diagonal_alone(self, u2, rows, i):
        """sum_{j != i} u2_j H_ij^2 for study i of each row of `rows`, over the other studies."""
        n = np.arange(len(i))
        wi = self.w[rows][n, i]
        c = self._without(u2 * self.w, rows, i)
        if self.X is None:
            return wi * c.sum(-1) / self.sw[rows] ** 2
        Uc = self.Uc[rows]
        G = np.swapaxes(Uc, -1, -2) @ (Uc * c[..., None])
        ui = Uc[n, i]
        return wi * (ui * (G @ ui[..., None])[..., 0]).sum(-1)

    def tr_PP(self) -> np.ndarray:
        return self.pair_sum(self.w, self.w)

    def tr_PVPV(self, v) -> np.ndarray:
        wv = self.w * v
        return self.pair_sum(wv, wv)

    def tr_VPP(self, v) -> np.ndarray:
        return self.pair_sum(self.w * v, self.w)

    # ------------------------------------------------------------------ coefficients

    def logdet_XtWX(self) -> np.ndarray:
        if self.X is None:
            return np.log(self.sw)
        return np.log(np.stack(self.basis.n, -1)).sum(-1)  # det(R' diag(n) R) = prod(n)

    def coefs(self) -> np.ndarray:
        """beta as (..., p)."""
        return self.beta[..., None] if self.X is None else self.beta

    def coef_cov(self) -> np.ndarray:
        """(X'WX)^-1 as (..., p, p): R^-1 diag(1/n) R^-T."""
        if self.X is None:
            return (1 / self.sw)[..., None, None]
        p = self.X.shape[-1]
        eye = np.broadcast_to(np.eye(p), self.basis.R.shape)
        Rinv = np.stack([self.basis.solve_R(eye[..., :, j]) for j in range(p)], -1)
        n = np.stack(self.basis.n, -1)
        return (Rinv / n[..., None, :]) @ np.swapaxes(Rinv, -1, -2)
