"""Effect sizes and sampling variances, with metafor 3.8-1's `escalc` definitions and defaults.

Every measure of the registry (`metasr.measures`) has its formula here, under metafor's name and
with metafor's column names: two-group means (SMD, SMDH, SMD1, MD, ROM; SMD1 standardised by
group 2's SD alone: `m1i, n1i, m2i, sd2i, n2i`), variability (CVR, VR), two-group tables (RR, OR,
RD, PETO, AS, and the associations PHI, YUQ, YUY), two-group rates (IRR, IRD, IRSD), single-group
proportions (PR, PLN, PLO, PAS, PFT), single-group rates (IR, IRLN, IRS, IRFT), single-group means
(MN, MNLN: `mi, sdi, ni`, where `mi` is the mean, not a proportion's non-events), paired means (MC,
SMCC, SMCR, SMCRH, ROMC: `m1i, m2i, sd1i, sd2i, ni, ri` of one sample measured twice, where `ri` is
the correlation of the two measurements), correlations (COR, UCOR, ZCOR), partial correlations
(PCOR, SPCOR: a regression coefficient's t statistic `ti`, the sample size `ni`, the model's
number of predictors `mi` and, for SPCOR, its R² `r2i`) and generic effects (GEN: `yi` with `vi`
or `sei`, or an estimate with its 95% CI). metafor 3.8-1's other measures (RTET, the tetrachoric
correlation, among them) are not here.

escalc's options, with its defaults (`Options`):
- `add` (1/2; 0 for AS, PHI, IRSD, PAS, PFT, IRS, IRFT) is added to the counts of a study as `to` says:
  "only0" (studies with a zero count), "all" (every study), "if0all" (every study when any has
  a zero count) or "none";
- `drop00` (FALSE): two-group studies with no events (or only events) in both groups get no
  effect; they are reported as not usable, never dropped silently;
- `vtype` ("LS"): the sampling variance (SMD and SMD1: UB, LS, LS2, AV; MD: UB, LS, HO; SMDH, SMCC,
  SMCR: LS, LS2; ROM: LS, HO, AV, AVHO; RD and PR: UB, LS, AV; PHI: LS or CS (cross-sectional
  sampling), ST (stratified); PLN and PLO: LS, AV; COR, PCOR, SPCOR: LS, AV; UCOR: UB, LS, AV).
  "AV" averages over the studies of the table, so the formulas work on whole columns.

`ti` names two things in metafor, and here as there its meaning follows the measure: for the
single-group rate measures (IR, IRLN, IRS, IRFT) it is the person-time of the study (escalc's
`ti`); for every other measure a `ti` column is a t statistic: a regression coefficient's for the
partial correlations, else an independent-samples t, which gives an SMD with `n1i` and `n2i`
(Cochrane Handbook 6.5.2.3: d = t * sqrt(1/n1 + 1/n2), then Hedges' correction), as metafor's
escalc(measure = "SMD", ti = ...) does. So SMD tables and sheets keep working as they were, and a
rate table uses metafor's names unchanged. A signed two-sided p-value (`pi`) with both group
sizes gives an SMD through its t statistic.

`escalc(table, measure)` reads row by row so a table may mix forms (a row with `yi` uses it, an
SMD row with `ti` or `pi` uses those, any other row the measure's columns), then computes each
measure over its rows together. Every problem in the table is collected and raised at once as an
`InputError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metasr import measures
from metasr.errors import InputError, Problem
from metasr.io import is_missing, number_cell_hint, plain_number, underflows
from metasr.level import Z
from metasr.stats import distributions as dist
from metasr.stats.checks import LEAVE_OUT_HINT

MEASURES = measures.ids()
MEAN_COLUMNS = measures.MEAN_INPUTS
RATE_COLUMNS = measures.RATES[0]
TO_VALUES = measures.TO_VALUES


@dataclass(frozen=True)
class Options:
    """escalc's options; None takes the measure's default (`add`, `vtype`)."""

    add: float | None = None
    to: str = "only0"
    drop00: bool = False
    vtype: str | None = None

    @classmethod
    def from_config(cls, escalc: dict | None) -> Options:
        """An outcome's `escalc:` setting (add, to, drop00, vtype), as the outcome job and the
        validation of its sheet both compute its effects with it."""
        escalc = escalc or {}
        return cls(add=escalc.get("add"), to=escalc.get("to", "only0"), drop00=bool(escalc.get("drop00", False)),
                   vtype=escalc.get("vtype"))

    def resolved(self, measure: str) -> Options:
        record = measures.get(measure)
        add = record.add if self.add is None else float(self.add)
        vtype = self.vtype or (record.vtypes[0] if record.vtypes else None)
        return Options(add, self.to, bool(self.drop00), vtype)


def option_problems(measure: str, options: Options, file: str | None = None) -> list[Problem]:
    """Options a measure cannot take, or values escalc does not know (metasr.measures' rules)."""
    return measures.option_problems(measure, options.add, options.to, options.drop00, options.vtype, file=file)


# ---------------------------------------------------------------- scalar formulas (kept for callers)

def hedges_correction(mi):
    """Exact small-sample correction factor c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))."""
    from scipy.special import gammaln  # here, not at the top: a plain fit (GEN) imports no scipy

    mi = np.asarray(mi, dtype=float)
    return np.exp(gammaln(mi / 2) - 0.5 * np.log(mi / 2) - gammaln((mi - 1) / 2))


def _arrays(*values):
    return tuple(np.asarray(a, dtype=float) for a in values)


def smd(m1i, sd1i, n1i, m2i, sd2i, n2i, vtype: str = "LS"):
    """Hedges' g and its sampling variance."""
    return _smd({"m1i": m1i, "sd1i": sd1i, "n1i": n1i, "m2i": m2i, "sd2i": sd2i, "n2i": n2i}, vtype)


def smd_from_t(ti, n1i, n2i):
    """Hedges' g from an independent-samples t statistic (sign = direction of group 1 - group 2)."""
    ti, n1i, n2i = _arrays(ti, n1i, n2i)
    return _smd({"di": ti * np.sqrt(1 / n1i + 1 / n2i), "n1i": n1i, "n2i": n2i}, "LS")


def t_from_signed_p(pi, n1i, n2i):
    """t statistic from a signed two-sided p-value (the sign gives the direction)."""
    pi, n1i, n2i = _arrays(pi, n1i, n2i)
    return np.sign(pi) * dist.t_isf(np.abs(pi) / 2, n1i + n2i - 2)


def smd_from_p(pi, n1i, n2i):
    return smd_from_t(t_from_signed_p(pi, n1i, n2i), n1i, n2i)


def md(m1i, sd1i, n1i, m2i, sd2i, n2i):
    m1i, sd1i, n1i, m2i, sd2i, n2i = _arrays(m1i, sd1i, n1i, m2i, sd2i, n2i)
    return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i


def add_half_if_zero(ai, bi, ci, di, add: float = 0.5):
    """Cells after adding `add` to every cell of tables that have a zero cell."""
    ai, bi, ci, di = _arrays(ai, bi, ci, di)
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    inc = np.where(zero, add, 0.0)
    return ai + inc, bi + inc, ci + inc, di + inc


def log_rr(ai, bi, ci, di):
    ai, bi, ci, di = add_half_if_zero(ai, bi, ci, di)
    n1i, n2i = ai + bi, ci + di
    return np.log(ai / n1i) - np.log(ci / n2i), 1 / ai - 1 / n1i + 1 / ci - 1 / n2i


def log_or(ai, bi, ci, di):
    ai, bi, ci, di = add_half_if_zero(ai, bi, ci, di)
    return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di


def rd(ai, bi, ci, di):
    ai, bi, ci, di = add_half_if_zero(ai, bi, ci, di)
    n1i, n2i = ai + bi, ci + di
    p1i, p2i = ai / n1i, ci / n2i
    return p1i - p2i, p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i


def log_irr(x1i, t1i, x2i, t2i, add: float = 0.5):
    x1i, t1i, x2i, t2i = _arrays(x1i, t1i, x2i, t2i)
    inc = np.where((x1i == 0) | (x2i == 0), add, 0.0)
    x1i, x2i = x1i + inc, x2i + inc
    return np.log(x1i / t1i) - np.log(x2i / t2i), 1 / x1i + 1 / x2i


def peto_log_or(ai, bi, ci, di):
    """Peto's one-step log odds ratio per table (no continuity correction); NaN when V = 0."""
    ai, bi, ci, di = _arrays(ai, bi, ci, di)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _peto(ai, bi, ci, di)


def from_ci(estimate, ci_lb, ci_ub, log_scale: bool):
    """yi and vi from an estimate and its 95% CI (log-transformed first for ratio estimates)."""
    est, lb, ub = _arrays(estimate, ci_lb, ci_ub)
    if log_scale:
        est, lb, ub = np.log(est), np.log(lb), np.log(ub)
    return est, ((ub - lb) / (2 * Z)) ** 2


# ---------------------------------------------------------------- column formulas (escalc)

# measure id -> its formula f(columns, options) -> (yi, vi); each formula names its measure(s).
FORMULAS: dict = {}


def formula(*ids: str):
    """Register the decorated function as escalc's formula of these measures."""
    def register(fn):
        for measure in ids:
            FORMULAS[measure] = fn
        return fn
    return register

def _wmean(x, w):
    """metafor's .wmean(x, w, na.rm = TRUE)."""
    keep = ~(np.isnan(x) | np.isnan(w))
    return np.sum(x[keep] * w[keep]) / np.sum(w[keep])


def _added(zero, add: float, to: str, dropped):
    """What escalc adds to each study's counts under `to` (dropped studies count as no zero)."""
    zero = zero & ~dropped
    if to == "all":
        return np.full(zero.shape, add)
    if to == "only0":
        return np.where(zero, add, 0.0)
    if to == "if0all":
        return np.full(zero.shape, add if zero.any() else 0.0)
    return np.zeros(zero.shape)


def _zero_counts(family: str, d: dict, o: Options):
    """(studies with a zero count that `to` looks at, studies drop00 drops) of a count family;
    None for families without counts. The one definition of escalc's zero-cell rules here."""
    def col(name):
        return np.asarray(d[name], dtype=float)

    if family == "two-group tables":
        ai, bi, ci, di = (col(c) for c in ("ai", "bi", "ci", "di"))
        dropped = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0)) if o.drop00 else np.zeros(ai.shape, bool)
        return (ai == 0) | (bi == 0) | (ci == 0) | (di == 0), dropped
    if family == "two-group rates":
        x1i, x2i = col("x1i"), col("x2i")
        dropped = (x1i == 0) & (x2i == 0) if o.drop00 else np.zeros(x1i.shape, bool)
        return (x1i == 0) | (x2i == 0), dropped
    if family == "single-group proportions":
        xi, mi = col("xi"), col("mi")
        return (xi == 0) | (mi == 0), np.zeros(xi.shape, bool)
    if family == "single-group rates":
        xi = col("xi")
        return xi == 0, np.zeros(xi.shape, bool)
    return None


def continuity_added(measure: str, data: dict, options: Options | None = None) -> np.ndarray:
    """What escalc adds to each study's counts (0 for none; studies drop00 drops get 0)."""
    options = (options or Options()).resolved(measure)
    rule = _zero_counts(measures.get(measure).family, data, options)
    if rule is None or not options.add:
        return np.zeros(len(next(iter(data.values()))) if data else 0)
    zero, dropped = rule
    return _added(zero, options.add, options.to, dropped)


CONTINUITY_TARGETS = {"two-group tables": ("each cell of the 2×2 table", "zero cell"),
                      "two-group rates": ("each group's event count", "zero events"),
                      "single-group proportions": ("the events and non-events", "zero count"),
                      "single-group rates": ("the event count", "zero events")}


def continuity_text(measure: str, add: float, to: str) -> str:
    """What escalc's `add`/`to` did to a study, in words: "0.5 added to each cell of the 2×2
    table (zero cell; escalc add = 0.5, to = only0)"."""
    target, zero = CONTINUITY_TARGETS[measures.get(measure).family]
    why = {"only0": zero, "all": "added to every study", "if0all": f"a study of the outcome has a {zero}"}.get(to, to)
    return f"{add:g} added to {target} ({why}; escalc add = {add:g}, to = {to})"


def _cells(d: dict, o: Options):
    """(ai, bi, ci, di) after drop00 and `add`/`to`; dropped tables are NaN."""
    ai, bi, ci, di = (np.asarray(d[c], dtype=float) for c in ("ai", "bi", "ci", "di"))
    zero, dropped = _zero_counts("two-group tables", d, o)
    inc = _added(zero, o.add or 0.0, o.to, dropped)  # resolved options always hold a number
    cells = [np.where(dropped, np.nan, x + inc) for x in (ai, bi, ci, di)]
    return (*cells,)


@formula("RR")
def _rr(d, o):
    ai, bi, ci, di = _cells(d, o)
    n1i, n2i = ai + bi, ci + di
    return np.log(ai / n1i) - np.log(ci / n2i), 1 / ai - 1 / n1i + 1 / ci - 1 / n2i


@formula("OR")
def _or(d, o):
    ai, bi, ci, di = _cells(d, o)
    p1i, p2i = ai / (ai + bi), ci / (ci + di)
    return np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i)), 1 / ai + 1 / bi + 1 / ci + 1 / di


@formula("RD")
def _rd(d, o):
    ai, bi, ci, di = _cells(d, o)
    n1i, n2i = ai + bi, ci + di
    p1i, p2i = ai / n1i, ci / n2i
    if o.vtype == "UB":
        vi = p1i * (1 - p1i) / (n1i - 1) + p2i * (1 - p2i) / (n2i - 1)
    elif o.vtype == "AV":
        m1, m2 = _wmean(p1i, n1i), _wmean(p2i, n2i)
        vi = m1 * (1 - m1) / n1i + m2 * (1 - m2) / n2i
    else:
        vi = p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i
    return p1i - p2i, vi


@formula("AS")
def _as(d, o):
    ai, bi, ci, di = _cells(d, o)
    n1i, n2i = ai + bi, ci + di
    return np.arcsin(np.sqrt(ai / n1i)) - np.arcsin(np.sqrt(ci / n2i)), 1 / (4 * n1i) + 1 / (4 * n2i)


def _margins(ai, bi, ci, di):
    """The 2x2 table's row and column proportions: (pi1., pi2., pi.1, pi.2)."""
    ni = ai + bi + ci + di
    return (ai + bi) / ni, (ci + di) / ni, (ai + ci) / ni, (bi + di) / ni


@formula("PHI")
def _phi(d, o):
    ai, bi, ci, di = _cells(d, o)
    n1i, n2i = ai + bi, ci + di
    yi = (ai * di - bi * ci) / np.sqrt(n1i * n2i * (ai + ci) * (bi + di))
    if o.vtype == "ST":
        # the groups' sizes fixed by the design (stratified sampling), as escalc
        p1i, p2i = ai / n1i, ci / n2i
        q1i, q2i = 1 - p1i, 1 - p2i
        mixed = p2i * q1i + p1i * q2i
        vi = (n1i + n2i) ** 2 * (4 * n1i**3 * p1i**2 * p2i * q1i**2 * q2i
                                  + 4 * n2i**3 * p1i * p2i**2 * q1i * q2i**2
                                  + n1i * n2i**2 * p2i * q2i * mixed * (p2i * q1i + p1i * (4 * q1i + q2i))
                                  + n1i**2 * n2i * p1i * q1i * mixed * (p1i * q2i + p2i * (q1i + 4 * q2i))) \
            / (4 * (ai + ci) ** 3 * (bi + di) ** 3)
        return yi, vi
    # LS and CS: cross-sectional (multinomial) sampling, only the total fixed
    r1, r2, c1, c2 = _margins(ai, bi, ci, di)
    vi = (1 - yi**2 + yi * (1 + yi**2 / 2) * (r1 - r2) * (c1 - c2) / np.sqrt(r1 * r2 * c1 * c2)
          - 0.75 * yi**2 * ((r1 - r2) ** 2 / (r1 * r2) + (c1 - c2) ** 2 / (c1 * c2))) / (n1i + n2i)
    return yi, vi


@formula("YUQ")
def _yuq(d, o):
    ai, bi, ci, di = _cells(d, o)
    odds_ratio = (ai / bi) / (ci / di)
    yi = (odds_ratio - 1) / (odds_ratio + 1)
    return yi, (1 - yi**2) ** 2 * (1 / ai + 1 / bi + 1 / ci + 1 / di) / 4


@formula("YUY")
def _yuy(d, o):
    ai, bi, ci, di = _cells(d, o)
    root = np.sqrt((ai / bi) / (ci / di))
    yi = (root - 1) / (root + 1)
    return yi, (1 - yi**2) ** 2 * (1 / ai + 1 / bi + 1 / ci + 1 / di) / 16


def _peto(ai, bi, ci, di):
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    Ei = (ai + ci) * n1i / ni
    Vi = (ai + ci) * (bi + di) * (n1i / ni) * (n2i / ni) / (ni - 1)
    return np.where(Vi > 0, (ai - Ei) / Vi, np.nan), np.where(Vi > 0, 1 / Vi, np.nan)


@formula("PETO")
def _peto_measure(d, o):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _peto(*_cells(d, o))


def _rates(d, o):
    x1i, t1i, x2i, t2i = (np.asarray(d[c], dtype=float) for c in RATE_COLUMNS)
    zero, dropped = _zero_counts("two-group rates", d, o)
    inc = _added(zero, o.add, o.to, dropped)
    x1i, x2i = np.where(dropped, np.nan, x1i + inc), np.where(dropped, np.nan, x2i + inc)
    return x1i, t1i, x2i, t2i


@formula("IRR")
def _irr(d, o):
    x1i, t1i, x2i, t2i = _rates(d, o)
    return np.log(x1i / t1i) - np.log(x2i / t2i), 1 / x1i + 1 / x2i


@formula("IRD")
def _ird(d, o):
    x1i, t1i, x2i, t2i = _rates(d, o)
    ir1i, ir2i = x1i / t1i, x2i / t2i
    return ir1i - ir2i, ir1i / t1i + ir2i / t2i


@formula("IRSD")
def _irsd(d, o):
    x1i, t1i, x2i, t2i = _rates(d, o)
    return np.sqrt(x1i / t1i) - np.sqrt(x2i / t2i), 1 / (4 * t1i) + 1 / (4 * t2i)


def _smd_d(d: dict):
    """(d, n1i, n2i) from means and SDs, or from a d already given (a t statistic's)."""
    n1i, n2i = np.asarray(d["n1i"], dtype=float), np.asarray(d["n2i"], dtype=float)
    if "di" in d:
        return np.asarray(d["di"], dtype=float), n1i, n2i
    m1i, sd1i, m2i, sd2i = (np.asarray(d[c], dtype=float) for c in ("m1i", "sd1i", "m2i", "sd2i"))
    sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / (n1i + n2i - 2))
    return (m1i - m2i) / sdpi, n1i, n2i


def _smd(d, vtype):
    di, n1i, n2i = _smd_d(d)
    return _hedges(di, n1i, n2i, n1i + n2i - 2, n1i + n2i, vtype)


def _hedges(di, n1i, n2i, mi, npi, vtype):
    """Hedges' g from d standardised by an SD on mi degrees of freedom from npi participants (the
    pooled SD: n1i + n2i - 2 and n1i + n2i; SMD1's control SD: n2i - 1 and n2i), as escalc."""
    cmi = hedges_correction(mi)
    yi = cmi * di
    if vtype == "UB":
        vi = 1 / n1i + 1 / n2i + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
    elif vtype == "AV":
        vi = 1 / n1i + 1 / n2i + _wmean(yi, n1i + n2i) ** 2 / (2 * npi)
    elif vtype == "LS2":
        vi = cmi**2 * (1 / n1i + 1 / n2i + di**2 / (2 * npi))
    else:
        vi = 1 / n1i + 1 / n2i + yi**2 / (2 * npi)
    return yi, vi


@formula("SMD")
def _smd_formula(d, o):
    return _smd(d, o.vtype)


@formula("SMD1")
def _smd1(d, o):
    m1i, n1i, m2i, sd2i, n2i = (np.asarray(d[c], dtype=float) for c in measures.CONTROL_SD)
    return _hedges((m1i - m2i) / sd2i, n1i, n2i, n2i - 1, n2i, o.vtype)


def _means(d):
    return (np.asarray(d[c], dtype=float) for c in MEAN_COLUMNS)


@formula("MD")
def _md(d, o):
    m1i, sd1i, n1i, m2i, sd2i, n2i = _means(d)
    if o.vtype == "HO":
        sdpi2 = ((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / (n1i + n2i - 2)
        return m1i - m2i, sdpi2 * (1 / n1i + 1 / n2i)
    return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i


@formula("SMDH")
def _smdh(d, o):
    m1i, sd1i, n1i, m2i, sd2i, n2i = _means(d)
    cmi = hedges_correction(n1i + n2i - 2)
    s2 = sd1i**2 + sd2i**2
    yi = cmi * (m1i - m2i) / np.sqrt(s2 / 2)
    if o.vtype == "LS2":
        vi = (yi**2 * sd1i**2 / (2 * n1i * s2**2) + yi**2 * sd2i**2 / (2 * n2i * s2**2)
              + 2 * sd1i**2 / (n1i * s2) + 2 * sd2i**2 / (n2i * s2))
    else:
        vi = cmi**2 * (yi**2 * (sd1i**4 / (n1i - 1) + sd2i**4 / (n2i - 1)) / (2 * s2**2)
                       + (sd1i**2 / (n1i - 1) + sd2i**2 / (n2i - 1)) / (s2 / 2))
    return yi, vi


@formula("ROM")
def _rom(d, o):
    m1i, sd1i, n1i, m2i, sd2i, n2i = _means(d)
    yi = np.log(m1i / m2i)
    if o.vtype == "HO":
        sdpi2 = ((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / (n1i + n2i - 2)
        return yi, sdpi2 / (n1i * m1i**2) + sdpi2 / (n2i * m2i**2)
    if o.vtype == "AV":
        cv1, cv2 = _wmean(sd1i / m1i, n1i), _wmean(sd2i / m2i, n2i)
        return yi, cv1**2 / n1i + cv2**2 / n2i
    if o.vtype == "AVHO":
        cv = (np.sum(n1i * sd1i / m1i) + np.sum(n2i * sd2i / m2i)) / np.sum(n1i + n2i)
        return yi, cv**2 * (1 / n1i + 1 / n2i)
    return yi, sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2)


@formula("CVR")
def _cvr(d, o):
    m1i, sd1i, n1i, m2i, sd2i, n2i = _means(d)
    yi = np.log(sd1i / m1i) + 1 / (2 * (n1i - 1)) - np.log(sd2i / m2i) - 1 / (2 * (n2i - 1))
    vi = 1 / (2 * (n1i - 1)) + sd1i**2 / (n1i * m1i**2) + 1 / (2 * (n2i - 1)) + sd2i**2 / (n2i * m2i**2)
    return yi, vi


@formula("VR")
def _vr(d, o):
    sd1i, n1i, sd2i, n2i = (np.asarray(d[c], dtype=float) for c in ("sd1i", "n1i", "sd2i", "n2i"))
    yi = np.log(sd1i / sd2i) + 1 / (2 * (n1i - 1)) - 1 / (2 * (n2i - 1))
    return yi, 1 / (2 * (n1i - 1)) + 1 / (2 * (n2i - 1))


def _proportion_counts(d, o):
    """(xi, mi, ni) after `add`/`to` (ni = xi + mi), and the unadjusted ni."""
    xi, mi = np.asarray(d["xi"], dtype=float), np.asarray(d["mi"], dtype=float)
    zero, dropped = _zero_counts("single-group proportions", d, o)
    inc = _added(zero, o.add, o.to, dropped)
    xi, mi = xi + inc, mi + inc
    return xi, mi, xi + mi


@formula("PR")
def _pr(d, o):
    xi, mi, ni = _proportion_counts(d, o)
    pri = xi / ni
    if o.vtype == "UB":
        return pri, pri * (1 - pri) / (ni - 1)
    if o.vtype == "AV":
        m = _wmean(pri, ni)
        return pri, m * (1 - m) / ni
    return pri, pri * (1 - pri) / ni


@formula("PLN")
def _pln(d, o):
    xi, mi, ni = _proportion_counts(d, o)
    if o.vtype == "AV":
        return np.log(xi / ni), 1 / (_wmean(xi / ni, ni) * ni) - 1 / ni
    return np.log(xi / ni), 1 / xi - 1 / ni


@formula("PLO")
def _plo(d, o):
    xi, mi, ni = _proportion_counts(d, o)
    pri = xi / ni
    if o.vtype == "AV":
        m = _wmean(pri, ni)
        return np.log(pri / (1 - pri)), 1 / (m * ni) + 1 / ((1 - m) * ni)
    return np.log(pri / (1 - pri)), 1 / xi + 1 / mi


@formula("PAS")
def _pas(d, o):
    xi, mi, ni = _proportion_counts(d, o)
    return np.arcsin(np.sqrt(xi / ni)), 1 / (4 * ni)


@formula("PFT")
def _pft(d, o):
    xi, mi, ni = _proportion_counts(d, o)
    yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
    return yi, 1 / (4 * ni + 2)


def _rate_counts(d, o):
    xi, ti = np.asarray(d["xi"], dtype=float), np.asarray(d["ti"], dtype=float)
    zero, dropped = _zero_counts("single-group rates", d, o)
    xi = xi + _added(zero, o.add, o.to, dropped)
    return xi, ti, xi / ti


@formula("IR")
def _ir(d, o):
    xi, ti, iri = _rate_counts(d, o)
    return iri, iri / ti


@formula("IRLN")
def _irln(d, o):
    xi, ti, iri = _rate_counts(d, o)
    return np.log(iri), 1 / xi


@formula("IRS")
def _irs(d, o):
    xi, ti, iri = _rate_counts(d, o)
    return np.sqrt(iri), 1 / (4 * ti)


@formula("IRFT")
def _irft(d, o):
    xi, ti, iri = _rate_counts(d, o)
    return 0.5 * (np.sqrt(iri) + np.sqrt(iri + 1 / ti)), 1 / (4 * ti)


@formula("MN")
def _mn(d, o):
    mi, sdi, ni = (np.asarray(d[c], dtype=float) for c in measures.SINGLE_MEAN)
    return mi, sdi**2 / ni


@formula("MNLN")
def _mnln(d, o):
    mi, sdi, ni = (np.asarray(d[c], dtype=float) for c in measures.SINGLE_MEAN)
    return np.log(mi), sdi**2 / (ni * mi**2)


def _paired(d):
    return (np.asarray(d[c], dtype=float) if c in d else None for c in measures.PAIRED)


def _change_variance(sd1i, sd2i, ri):
    """The variance of the change scores, sd1^2 + sd2^2 - 2 r sd1 sd2 (Cochrane Handbook 6.5.2.8)."""
    return sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i


@formula("MC")
def _mc(d, o):
    m1i, m2i, sd1i, sd2i, ni, ri = _paired(d)
    return m1i - m2i, _change_variance(sd1i, sd2i, ri) / ni


@formula("SMCC")
def _smcc(d, o):
    m1i, m2i, sd1i, sd2i, ni, ri = _paired(d)
    cmi = hedges_correction(ni - 1)
    di = (m1i - m2i) / np.sqrt(_change_variance(sd1i, sd2i, ri))
    yi = cmi * di
    if o.vtype == "LS2":
        return yi, cmi**2 * (1 / ni + di**2 / (2 * ni))
    return yi, 1 / ni + yi**2 / (2 * ni)


@formula("SMCR")
def _smcr(d, o):
    m1i, m2i, sd1i, _, ni, ri = _paired(d)
    cmi = hedges_correction(ni - 1)
    di = (m1i - m2i) / sd1i
    yi = cmi * di
    if o.vtype == "LS2":
        return yi, cmi**2 * (2 * (1 - ri) / ni + di**2 / (2 * ni))
    return yi, 2 * (1 - ri) / ni + yi**2 / (2 * ni)


@formula("SMCRH")
def _smcrh(d, o):
    # Bonett (2008), as escalc: standardised by sd1i, the change variance in the sampling variance
    m1i, m2i, sd1i, sd2i, ni, ri = _paired(d)
    cmi = hedges_correction(ni - 1)
    yi = cmi * (m1i - m2i) / sd1i
    vi = _change_variance(sd1i, sd2i, ri) / (sd1i**2 * (ni - 1)) + yi**2 / (2 * (ni - 1))
    return yi, cmi**2 * vi


@formula("ROMC")
def _romc(d, o):
    m1i, m2i, sd1i, sd2i, ni, ri = _paired(d)
    vi = sd1i**2 / (ni * m1i**2) + sd2i**2 / (ni * m2i**2) - 2 * ri * sd1i * sd2i / (m1i * m2i * ni)
    return np.log(m1i / m2i), vi


# Tanh-sinh nodes and weights on (0, 1), with 1 - t kept exact near 1, for hyp2f1_1mw.
_TS = np.arange(-4.5, 4.5 + 1e-12, 1 / 256)
_TS_U = np.pi / 2 * np.sinh(_TS)
_TS_T = 1 / (1 + np.exp(-2 * _TS_U))
_TS_1MT = 1 / (1 + np.exp(2 * _TS_U))
_TS_W = np.pi / 2 * np.cosh(_TS) / np.cosh(_TS_U) ** 2 / 2 / 256


def hyp2f1_1mw(a: float, b: float, c: float, w: float) -> float:
    """Gauss's 2F1(a, b; c; 1 - w) for 0 <= w <= 1 and c > b > 0, the function metafor's UCOR
    evaluates with gsl's hyperg_2F1. The series where it converges; else Euler's integral by
    tanh-sinh quadrature, which copes with z = 1 - w near 1, where scipy's hyp2f1 returns NaN when
    c - a - b is an integer. gsl's value is off for small |r| with an even n: 2F1(1/2, 1/2; 5; 0.9984)
    (r = -0.04, n = 12, dat.cohen1981) is 1.0641825389 here and in scipy's hyp2f1, 1.0647504350 in
    gsl, so UCOR and its UB variance differ from metafor's there (yi by 5e-4, vi by 2e-2, relative)."""
    z = 1 - w
    term, total = 1.0, 1.0
    for k in range(4000):
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        if abs(term) < 1e-17 * abs(total):
            return total
    from scipy.special import gammaln

    log_norm = gammaln(c) - gammaln(b) - gammaln(c - b)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        f = np.exp((b - 1) * np.log(_TS_T) + (c - b - 1) * np.log(_TS_1MT) + log_norm) * (w + z * _TS_1MT) ** (-a)
    return float(np.sum(np.where(np.isfinite(f), f, 0.0) * _TS_W))


def _hyp2f1(a, b, c, w):
    return np.array([hyp2f1_1mw(a, b, ci, wi) for ci, wi in zip(np.atleast_1d(c), np.atleast_1d(w), strict=False)])


def _cor_variance(yi, ri, ni, vtype):
    if vtype == "UB":
        return yi**2 - (1 - (ni - 3) / (ni - 2) * (1 - ri**2) * _hyp2f1(1, 1, ni / 2, ri**2))
    if vtype == "AV":
        return (1 - _wmean(yi, ni) ** 2) ** 2 / (ni - 1)
    return (1 - yi**2) ** 2 / (ni - 1)


@formula("COR")
def _cor(d, o):
    ri, ni = np.asarray(d["ri"], dtype=float), np.asarray(d["ni"], dtype=float)
    return ri, _cor_variance(ri, ri, ni, o.vtype)


@formula("UCOR")
def _ucor(d, o):
    ri, ni = np.asarray(d["ri"], dtype=float), np.asarray(d["ni"], dtype=float)
    yi = ri * _hyp2f1(0.5, 0.5, (ni - 2) / 2, ri**2)
    return yi, _cor_variance(yi, ri, ni, o.vtype)


@formula("ZCOR")
def _zcor(d, o):
    ri, ni = np.asarray(d["ri"], dtype=float), np.asarray(d["ni"], dtype=float)
    return np.arctanh(ri), 1 / (ni - 3)



def _regression(d):
    """(ti, ni, mi, the residual degrees of freedom ni - mi - 1)."""
    ti, ni, mi = (np.asarray(d[c], dtype=float) for c in measures.REGRESSION)
    return ti, ni, mi, ni - mi - 1


@formula("PCOR")
def _pcor(d, o):
    ti, ni, mi, df = _regression(d)
    yi = ti / np.sqrt(ti**2 + df)
    centre = _wmean(yi, ni) if o.vtype == "AV" else yi
    return yi, (1 - centre**2) ** 2 / df


@formula("SPCOR")
def _spcor(d, o):
    ti, ni, mi, df = _regression(d)
    r2i = np.asarray(d["r2i"], dtype=float)
    yi = ti * np.sqrt(1 - r2i) / np.sqrt(df)
    centre = _wmean(yi, ni) if o.vtype == "AV" else yi
    # escalc's variance as written there: (r2^2 - 2 r2 + (r2 - sr^2) + 1 - (r2 - sr^2)^2) / n
    return yi, (r2i**2 - 2 * r2i + (r2i - centre**2) + 1 - (r2i - centre**2) ** 2) / ni


def compute(measure: str, data: dict, options: Options | None = None):
    """yi, vi (arrays) of a measure from columns in metafor's names, as escalc computes them.

    Tables take `ai, bi, ci, di`, proportions `xi, mi` (rows a reader has normalised); the
    options are resolved against the measure's defaults. Dropped studies (drop00) are NaN."""
    options = (options or Options()).resolved(measure)
    with np.errstate(divide="ignore", invalid="ignore"):
        yi, vi = FORMULAS[measure](data, options)
    return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)


def dropped00(measure: str, data: dict, options: Options | None = None):
    """Which studies escalc's drop00 leaves without an effect (boolean array)."""
    options = (options or Options()).resolved(measure)
    record = measures.get(measure)
    if not (options.drop00 and "drop00" in record.options):
        return np.zeros(len(next(iter(data.values()))), bool)
    return _zero_counts(record.family, data, options)[1]


# ---------------------------------------------------------------- reading a table

def arm_columns(measure: str, columns) -> tuple[str, ...]:
    """The columns a measure needs (counts accept `ai,bi,ci,di` or `ai,n1i,ci,n2i`, proportions
    `xi,ni` or `xi,mi`): the first layout whose columns are all there, else the first one."""
    record = measures.get(measure)
    if record.family == "generic":
        return ()
    present = set(columns)
    if record.family == "two-group tables":
        if {"bi", "di"} <= present or not {"n1i", "n2i"} <= present:
            return record.inputs[0]
        return record.inputs[1]
    for layout in record.inputs:
        if set(layout) <= present:
            return layout
    return record.inputs[0]


def _present(value) -> bool:
    """False for blanks and every missing-value marker (metasr.io.is_missing)."""
    return not is_missing(value)


class _RowReader:
    """Reads numbers from one row, recording a Problem for each unusable value."""

    def __init__(self, record: dict, row: int, file: str | None, problems: list):
        self.record, self.row, self.file, self.problems = record, row, file, problems
        self.read: dict[str, float] = {}  # column -> the number its cell was read as

    def has(self, column: str) -> bool:
        return _present(self.record.get(column))

    def number(self, column: str, rule: str, hint: str) -> float | None:
        raw = self.record.get(column)
        if not _present(raw):
            self.problem(f"missing value in '{column}'", column, raw, rule,
                         f"{hint}; {LEAVE_OUT_HINT}" if hint else LEAVE_OUT_HINT)
            return None
        try:
            value = plain_number(raw)
        except ValueError:
            self.problem(f"'{column}' is not a number", column, raw, "numeric",
                         number_cell_hint(raw, column) or "write a plain number such as 12.5")
            return None
        if not math.isfinite(value):
            self.problem(f"'{column}' is not finite", column, raw, "numeric", "write a finite number")
            return None
        if column != "yi" and underflows(raw):  # a count of 1e-400 would be a zero count (and get add = 1/2)
            self.problem(f"'{column}' is too small for a number a computer holds: it would read as 0", column, raw,
                         "numeric", number_cell_hint(raw, column))
            return None
        self.read[column] = value
        return value

    def problem(self, message, column, value, rule, hint):
        if column in self.read and value == self.read[column]:  # the cell as written, not as read (3, not 3.0)
            value = str(self.record[column]).strip()
        self.problems.append(Problem(message=message, file=self.file, row=self.row, column=column,
                                     value=None if value is None else str(value), rule=rule, hint=hint))

    def check(self, ok: bool, message: str, column: str, value, rule: str, hint: str = "") -> bool:
        if not ok:
            self.problem(message, column, value, rule, hint)
        return ok


def _generic_row(r: _RowReader, log_ci: bool):
    yi = r.number("yi", "generic effect", "give yi with vi or sei, or yi with ci_lb and ci_ub")
    if r.has("vi"):
        vi = r.number("vi", "variance", "")
        if vi is not None and not r.check(vi > 0, "sampling variance must be positive", "vi", vi, "vi > 0",
                                          "vi is the squared standard error"):
            return None
        return None if yi is None or vi is None else (yi, vi, "yi_vi")
    if r.has("sei"):
        sei = r.number("sei", "standard error", "")
        if sei is not None and not r.check(sei > 0, "standard error must be positive", "sei", sei, "sei > 0",
                                           "check the reported standard error"):
            return None
        return None if yi is None or sei is None else (yi, sei**2, "yi_sei")
    if r.has("ci_lb") or r.has("ci_ub"):
        lb = r.number("ci_lb", "95% CI", "give both CI bounds")
        ub = r.number("ci_ub", "95% CI", "give both CI bounds")
        if yi is None or lb is None or ub is None:
            return None
        if log_ci and not r.check(min(yi, lb, ub) > 0, "ratio estimate and CI must be positive", "ci_lb", lb,
                                  "ratio > 0", "ratio estimates are given on the ratio scale"):
            return None
        if not r.check(lb <= yi <= ub and lb < ub, "estimate must lie inside a CI of positive width", "ci_lb",
                       f"{lb}..{ub}", "ci_lb <= yi <= ci_ub, ci_lb < ci_ub", "check the order of the bounds"):
            return None
        y, v = from_ci(yi, lb, ub, log_ci)
        return float(y), float(v), "ci"
    r.problem("yi needs a variance: give vi, sei, or ci_lb and ci_ub", "vi", None, "generic effect",
              "add a vi or sei column, or the 95% CI bounds")
    return None


def _group_sizes(r: _RowReader, minimum: int = 2):
    n1 = r.number("n1i", "group size", "number of participants in group 1")
    n2 = r.number("n2i", "group size", "number of participants in group 2")
    ok = True
    for col, n in (("n1i", n1), ("n2i", n2)):
        if n is not None and n < minimum:
            r.problem(f"group size must be at least {minimum}", col, n, f"n >= {minimum}",
                      "a standardised difference needs a variance in each group")
            ok = False
    return (n1, n2) if ok and n1 is not None and n2 is not None else None


def _t_or_p_row(r: _RowReader, measure: str, column: str):
    """An SMD row from a t statistic or a signed p-value: {di, n1i, n2i}."""
    if not measures.get(measure).from_test:
        r.problem(f"'{column}' can only give an SMD", column, r.record.get(column), "measure SMD",
                  f"this outcome's measure is {measure}; give its arm data or yi/vi")
        return None
    sizes = _group_sizes(r)
    value = r.number(column, "test statistic", "")
    if sizes is None or value is None:
        return None
    if column == "pi":
        if not r.check(0 < abs(value) <= 1, "p-value must be in (0, 1], signed by direction", "pi", value,
                       "0 < |pi| <= 1", "use a negative p-value when group 1 is lower than group 2"):
            return None
        value = float(t_from_signed_p(value, *sizes))
    n1, n2 = sizes
    return {"di": value * math.sqrt(1 / n1 + 1 / n2), "n1i": n1, "n2i": n2}, column


# Checks of the values a family's columns hold: (columns, test, message, rule, hint).
def _mean_checks(r: _RowReader, v: dict, measure: str) -> bool:
    if "sd1i" not in v and "m1i" in v:  # SMD1's layout: standardised by sd2i alone
        return _control_sd_checks(r, v, measure)
    ok = True
    for c in ("n1i", "n2i"):
        ok &= r.check(v[c] >= 2, "group size must be at least 2", c, v[c], "n >= 2",
                      "a comparison of means needs a standard deviation in each group")
    for c in ("sd1i", "sd2i"):
        ok &= r.check(v[c] >= 0, "standard deviation must not be negative", c, v[c], "sd >= 0",
                      "check the sign and the column")
    if not ok:
        return False
    if measure in measures.in_family("variability"):
        for c in ("sd1i", "sd2i"):
            ok &= r.check(v[c] > 0, f"{measure} needs a positive standard deviation", c, v[c], "sd > 0",
                          "a ratio of variability needs variability in both groups")
    elif v["sd1i"] == 0 and v["sd2i"] == 0:
        r.problem("both standard deviations are 0", "sd1i", 0, "sd > 0", "an effect needs some variability")
        return False
    if measures.log_scale(measure) and "m1i" in v:
        positive = (v["m1i"] > 0 and v["m2i"] > 0) if measure in measures.in_family("variability") \
            else v["m1i"] * v["m2i"] > 0
        ok &= r.check(positive, f"{measure} needs means above 0" if measure in measures.in_family("variability")
                      else f"{measure} needs two means of the same sign, not 0", "m1i", f"{v['m1i']}, {v['m2i']}",
                      "means > 0", "a ratio of means is defined for measurements on a ratio scale")
    return ok


def _control_sd_checks(r: _RowReader, v: dict, measure: str) -> bool:
    """A difference of means standardised by group 2's SD (SMD1): escalc refuses a group size <= 0
    and a negative SD, and has no Hedges correction (so no effect) on n2i - 1 < 2 degrees of
    freedom. Here the division needs sd2i > 0 too."""
    ok = r.check(v["n1i"] >= 1, "group size must be at least 1", "n1i", v["n1i"], "n >= 1")
    ok &= r.check(v["n2i"] >= 3, f"{measure} needs at least 3 participants in group 2", "n2i", v["n2i"], "n2i >= 3",
                  f"{measure} is standardised by group 2's SD, whose small-sample (Hedges) correction needs n2i - 1 "
                  ">= 2 degrees of freedom; with fewer, pool the SMD (both groups' SDs)")
    ok &= r.check(v["sd2i"] > 0, f"{measure} divides by sd2i, which must be positive", "sd2i", v["sd2i"], "sd2i > 0",
                  "sd2i is the control group's SD, the one the difference is standardised by")
    return ok


def _table_checks(r: _RowReader, v: dict):
    """(ai, bi, ci, di) from either counts layout, or None after recording problems."""
    ok = True
    for c, x in v.items():
        ok &= r.check(x >= 0, "count must not be negative", c, x, "count >= 0")
    if not ok:
        return None
    if "bi" in v:
        for c, n in (("bi", v["ai"] + v["bi"]), ("di", v["ci"] + v["di"])):
            ok &= r.check(n >= 1, "group has no participants", c, n, "n >= 1")
        return dict(v) if ok else None
    for ev, n in (("ai", "n1i"), ("ci", "n2i")):
        ok &= r.check(v[n] >= 1, "group size must be at least 1", n, v[n], "n >= 1")
        ok &= r.check(v[ev] <= v[n], f"events exceed the group size {n}", ev, v[ev], "events <= n",
                      f"'{ev}' counts participants with the event, at most '{n}'")
    if not ok:
        return None
    return {"ai": v["ai"], "bi": v["n1i"] - v["ai"], "ci": v["ci"], "di": v["n2i"] - v["ci"]}


def _rate_checks(r: _RowReader, v: dict, events: tuple, times: tuple) -> bool:
    ok = True
    for c in events:
        ok &= r.check(v[c] >= 0, "event count must not be negative", c, v[c], "events >= 0")
    for c in times:
        ok &= r.check(v[c] > 0, "person-time must be positive", c, v[c], "t > 0",
                      "give the total follow-up time of the group")
    return ok


def _proportion_checks(r: _RowReader, v: dict):
    """{xi, mi} from `xi, ni` or `xi, mi`, or None after recording problems."""
    ok = r.check(v["xi"] >= 0, "event count must not be negative", "xi", v["xi"], "xi >= 0")
    if "ni" in v:
        ok &= r.check(v["ni"] >= 1, "sample size must be at least 1", "ni", v["ni"], "ni >= 1")
        ok &= r.check(v["xi"] <= v["ni"], "events exceed the sample size", "xi", v["xi"], "xi <= ni",
                      "'xi' counts participants with the event, at most 'ni'")
        mi = v["ni"] - v["xi"]
        if ok and r.has("mi"):
            given = r.number("mi", "counts", "")
            ok &= given is not None and r.check(given == mi, "'ni' is not 'xi' + 'mi'", "mi", given,
                                                "ni = xi + mi", "give ni or mi, or make them agree")
        return {"xi": v["xi"], "mi": mi} if ok else None
    ok &= r.check(v["mi"] >= 0, "non-event count must not be negative", "mi", v["mi"], "mi >= 0")
    ok &= r.check(v["xi"] + v["mi"] >= 1, "the study has no participants", "mi", v["mi"], "xi + mi >= 1")
    return dict(v) if ok else None


def _single_mean_checks(r: _RowReader, v: dict, measure: str) -> bool:
    """A sample's mean, SD and size: escalc refuses a negative SD or mean (MNLN), and a size <= 0;
    here an SD needs two participants (as a group's does for the two-group means), an SD of 0
    would give the study a variance of 0 (infinite weight), and a log mean needs a mean above 0."""
    ok = r.check(v["ni"] >= 2 and float(v["ni"]).is_integer(), "sample size must be a whole number of at least 2",
                 "ni", v["ni"], "ni >= 2, whole",
                 "give the number of participants the mean and SD were computed from (an SD needs two or more)")
    ok &= r.check(v["sdi"] > 0, "standard deviation must be positive", "sdi", v["sdi"], "sdi > 0",
                  "an SD of 0 gives the study no sampling variance; check the SD (not the SE) and its column")
    if measures.log_scale(measure):
        ok &= r.check(v["mi"] > 0, f"{measure} needs a mean above 0", "mi", v["mi"], "mi > 0",
                      "a log mean is defined for measurements on a ratio scale; pool the raw mean (MN) otherwise")
    return ok


def _paired_checks(r: _RowReader, v: dict, measure: str) -> bool:
    """One sample measured twice: escalc refuses a negative SD, |ri| > 1 and ni <= 0. Here the
    sample needs two pairs (an SD, and SMCC's and SMCR's Hedges correction of ni - 1 degrees of
    freedom), ri lies strictly inside (-1, 1) (at +-1 the occasions are one measurement), SMCR and
    SMCRH divide by sd1i, and a ratio of means needs two means of one sign. An SD of 0 is allowed
    where escalc's note allows it: the SD of the change scores given as sd1i with sd2i = 0, ri = 0."""
    ok = r.check(v["ni"] >= 2 and float(v["ni"]).is_integer(), "number of pairs must be a whole number of at least 2",
                 "ni", v["ni"], "ni >= 2, whole", "give the number of participants measured on both occasions")
    ok &= r.check(-1 < v["ri"] < 1, "correlation must lie strictly between -1 and 1", "ri", v["ri"], "-1 < ri < 1",
                  "ri is the correlation between the two measurements of the same participants")
    sds = [c for c in ("sd1i", "sd2i") if c in v]
    for c in sds:
        ok &= r.check(v[c] >= 0, "standard deviation must not be negative", c, v[c], "sd >= 0",
                      "check the sign and the column")
    if not ok:
        return False
    if measures.get(measure).raw_score:
        return r.check(v["sd1i"] > 0, f"{measure} divides by sd1i, which is 0", "sd1i", v["sd1i"], "sd1i > 0",
                       "sd1i is the SD to standardise by (usually the pre-test's)")
    if measures.log_scale(measure):
        return r.check(v["m1i"] * v["m2i"] > 0, f"{measure} needs two means of the same sign, not 0", "m1i",
                       f"{v['m1i']}, {v['m2i']}", "means > 0",
                       "a ratio of means is defined for measurements on a ratio scale; pool the mean change (MC)")
    change = v["sd1i"] ** 2 + v["sd2i"] ** 2 - 2 * v["ri"] * v["sd1i"] * v["sd2i"]
    return r.check(change > 0, "the change scores have no variance (sd1i, sd2i and ri give an SD of change of 0)",
                   "sd1i", f"{v['sd1i']}, {v['sd2i']}", "sd1i^2 + sd2i^2 - 2 ri sd1i sd2i > 0",
                   "give both occasions' SDs, or the SD of the change scores as sd1i with sd2i = 0 and ri = 0")


def _correlation_checks(r: _RowReader, v: dict, measure: str) -> bool:
    minimum = 5 if measure == "UCOR" else 4
    ok = r.check(-1 < v["ri"] < 1, "correlation must lie strictly between -1 and 1", "ri", v["ri"], "-1 < ri < 1",
                 "a correlation of +-1 has no sampling variance")
    ok &= r.check(v["ni"] >= minimum, f"{measure} needs a sample size of at least {minimum}", "ni", v["ni"],
                  f"ni >= {minimum}", "metafor gives no sampling variance for smaller samples")
    return ok


def _regression_checks(r: _RowReader, v: dict, measure: str) -> bool:
    """A regression coefficient's t statistic: escalc refuses ni <= 0, mi < 0, no residual degrees
    of freedom (ni - mi - 1 <= 0) and an R^2 outside [0, 1]. Here ni and mi are whole numbers, the
    model has at least the predictor whose t is given, and R^2 < 1 (at 1 nothing is left to
    explain). A semi-partial correlation's square is what the predictor adds to R^2, so it cannot
    exceed R^2: t, R^2, ni or mi is wrong then (an adjusted R^2, say)."""
    ok = r.check(v["mi"] >= 1 and float(v["mi"]).is_integer(), "number of predictors must be a whole number of at "
                 "least 1", "mi", v["mi"], "mi >= 1, whole",
                 "mi counts the model's predictors (not the intercept), the one whose t is given among them")
    ok &= r.check(v["ni"] >= 1 and float(v["ni"]).is_integer(), "sample size must be a whole number", "ni", v["ni"],
                  "ni >= 1, whole", "give the number of observations the model was fitted to")
    if ok:
        ok = r.check(v["ni"] - v["mi"] - 1 >= 1, "the model has no residual degrees of freedom (ni - mi - 1 < 1)",
                     "mi", f"{v['mi']:g} predictors, ni = {v['ni']:g}", "mi <= ni - 2",
                     "a model of ni observations on mi predictors and an intercept has ni - mi - 1 residual degrees "
                     "of freedom; check ni and mi")
    if "r2i" not in v:
        return ok
    ok &= r.check(0 <= v["r2i"] < 1, "R² must lie in [0, 1)", "r2i", v["r2i"], "0 <= r2i < 1",
                  "r2i is the model's R² as a proportion (0.24, not 24 %); an R² of 1 leaves nothing to explain")
    if not ok:
        return False
    sr2 = v["ti"] ** 2 * (1 - v["r2i"]) / (v["ni"] - v["mi"] - 1)
    return r.check(sr2 <= v["r2i"], f"the squared semi-partial correlation ({sr2:.4g}) exceeds R² ({v['r2i']:g})",
                   "r2i", v["r2i"], "t² (1 - r2i) / (ni - mi - 1) <= r2i",
                   "what one predictor adds to R² cannot exceed R²: check ti, r2i (the model's R², not an adjusted "
                   "R²), ni and mi")


def _arm_row(r: _RowReader, measure: str, columns: tuple[str, ...]):
    """The measure's columns of one row, checked and normalised (tables: ai..di; proportions:
    xi, mi), or None after recording problems."""
    values = {c: r.number(c, "arm data", f"{measure} needs {', '.join(columns)}") for c in columns}
    if any(v is None for v in values.values()):
        return None
    family = measures.get(measure).family
    if family in ("two-group means", "variability"):
        if not _mean_checks(r, values, measure):
            return None
        if measures.get(measure).from_test:  # rows from t statistics join these as d values
            di, n1i, n2i = _smd_d(values)
            return {"di": float(di), "n1i": float(n1i), "n2i": float(n2i)}
        return values
    if family == "two-group tables":
        return _table_checks(r, values)
    if family == "two-group rates":
        return values if _rate_checks(r, values, ("x1i", "x2i"), ("t1i", "t2i")) else None
    if family == "single-group proportions":
        return _proportion_checks(r, values)
    if family == "single-group rates":
        return values if _rate_checks(r, values, ("xi",), ("ti",)) else None
    if family == "single-group means":
        return values if _single_mean_checks(r, values, measure) else None
    if family == "paired means":
        return values if _paired_checks(r, values, measure) else None
    if family == "partial correlations":
        return values if _regression_checks(r, values, measure) else None
    return values if _correlation_checks(r, values, measure) else None


def _row_list(rows: list[int]) -> str:
    text = ", ".join(str(r) for r in rows[:10])
    return text + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


def _read_row(r: _RowReader, measure: str, columns, missing, log_ci: bool):
    """('generic', (yi, vi, source)) | ('data', (values, source)) | ('missing', None) | (None, None)."""
    record = measures.get(measure)
    if r.has("yi") or record.family == "generic":
        return "generic", _generic_row(r, log_ci)
    test_columns = [c for c in ("ti", "pi") if c not in columns]
    # A measure that takes no test statistic uses its own columns when the row has them all
    # (a `ti` beside them is another table's column); without them, `ti`/`pi` is explained.
    complete = not missing and all(r.has(c) for c in columns)
    for column in test_columns if record.from_test or not complete else ():
        if r.has(column):
            read = _t_or_p_row(r, measure, column)
            return ("data", read) if read else (None, None)
    if missing:
        return "missing", None
    values = _arm_row(r, measure, columns)
    return ("data", (values, "arms")) if values else (None, None)


def escalc(table: pd.DataFrame, measure: str, file: str | None = None, scale: str | None = None,
           rows=None, options: Options | None = None) -> pd.DataFrame:
    """Add `yi`, `vi`, `sei`, `effect_source` and `continuity_add` (what `add`/`to` added to the
    row's counts, 0 for none) to every row of `table` (a copy).

    `rows` gives each row's spreadsheet row number for messages (default: header = 1, so the
    first data row is 2). `scale` says how CI-form rows (`yi, ci_lb, ci_ub`) are read: "log"
    for ratio estimates (the default for measures analysed as logs), "identity" otherwise.
    Studies that drop00 leaves without an effect get NaN and `effect_source` "drop00".
    """
    if not measures.known(measure):
        raise InputError(Problem(message=f"unknown measure {measure!r}", file=file, value=measure, rule="measure",
                                 hint=f"use one of {', '.join(MEASURES)}"))
    options = options or Options()
    problems = option_problems(measure, options, file)
    if problems:
        raise InputError(problems)
    log_ci = (scale == "log") if scale is not None else measures.log_scale(measure)
    rows = list(rows) if rows is not None else [i + 2 for i in range(len(table))]
    columns = arm_columns(measure, table.columns)
    missing = [c for c in columns if c not in table.columns]
    needs_missing: list[int] = []
    results: list = [None] * len(table)
    data_rows: list[tuple[int, dict, str]] = []
    for i, (record, row) in enumerate(zip(table.to_dict("records"), rows, strict=True)):
        kind, read = _read_row(_RowReader(record, row, file, problems), measure, columns, missing, log_ci)
        if kind == "generic":
            results[i] = read
        elif kind == "data":
            data_rows.append((i, *read))
        elif kind == "missing":
            needs_missing.append(row)
    cased = {str(c).strip().lower(): str(c).strip() for c in table.columns}
    for column in missing if needs_missing else []:
        # names are escalc's, in its case: 'AI' is not ai
        mean = f"the table has '{cased[column]}': names are read as written, so rename it '{column}'; " \
            if column in cased and cased[column] != column else ""
        problems.append(Problem(
            message=f"column '{column}' is missing (needed by {measure} arm data)", file=file, column=column,
            rule="required column", value=None,
            hint=f"{mean}rows {_row_list(needs_missing)} have no yi/vi; give {', '.join(columns)} or yi and vi"))
    if data_rows and not problems:
        _compute_rows(measure, options, data_rows, results, rows, file, problems)
    if problems:
        raise InputError(problems)
    out = table.copy()
    out["yi"] = [res[0] for res in results]
    out["vi"] = [res[1] for res in results]
    out["sei"] = np.sqrt(out["vi"].to_numpy(dtype=float))
    out["effect_source"] = [res[2] for res in results]
    # What escalc's add/to added to the row's counts (0: nothing), so that it can be said.
    out["continuity_add"] = [res[3] if len(res) > 3 else 0.0 for res in results]
    return out


def _compute_rows(measure, options, data_rows, results, rows, file, problems) -> None:
    """yi, vi of the measure's rows together (AV variances and if0all look at all of them)."""
    keys = sorted({k for _, values, _ in data_rows for k in values})
    data = {k: np.array([values.get(k, np.nan) for _, values, _ in data_rows], dtype=float) for k in keys}
    yi, vi = compute(measure, data, options)
    dropped = dropped00(measure, data, options)
    added = continuity_added(measure, data, options)
    for j, (i, _, source) in enumerate(data_rows):
        if dropped[j]:
            results[i] = (math.nan, math.nan, "drop00")
        elif math.isfinite(yi[j]) and math.isfinite(vi[j]) and vi[j] > 0:
            results[i] = (float(yi[j]), float(vi[j]), source, float(added[j]))
        else:
            values = data_rows[j][1]
            zero = next((c for c in COUNT_CELLS if values.get(c) == 0), None)
            problems.append(Problem(
                message=undefined_effect_text(measure, yi[j], vi[j]), file=file, row=rows[i], rule="finite effect",
                column=None if zero is None else COUNT_CELLS[zero], value=None,
                hint="a count of 0 (no events, or events in every participant) needs a continuity correction "
                     "(to = only0 or all, add > 0)" if "to" in measures.get(measure).options
                else "check the study's numbers"))


# The count cell an undefined effect comes from, by the count that is 0: no events (ai, ci, xi,
# x1i, x2i) or events in every participant (no non-events: bi, di, mi), which is the events cell.
COUNT_CELLS = {"ai": "ai", "ci": "ci", "xi": "xi", "x1i": "x1i", "x2i": "x2i", "bi": "ai", "di": "ci", "mi": "xi"}


def undefined_effect_text(measure: str, yi: float, vi: float) -> str:
    """Why a study's effect cannot be pooled: a finite effect whose sampling variance is 0 (a
    raw proportion of 0 or 1 without a correction) has no weight; anything else is undefined."""
    if math.isfinite(yi) and vi == 0:
        return f"{measure}'s sampling variance is 0 for this study (yi = {yi:g}), so it cannot be weighted"
    return f"{measure} is undefined for this study (yi = {yi:g}, vi = {vi:g})"
