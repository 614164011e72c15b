"""Effect sizes and sampling variances, with metafor's `escalc` definitions and defaults.

- SMD: Hedges' g (exact bias correction with gamma functions), large-sample variance (vtype LS).
  Also from a t statistic or a signed two-sided p-value with both group sizes (Cochrane
  Handbook 6.5.2.3): d = t * sqrt(1/n1 + 1/n2), then the same correction and variance.
- MD: raw mean difference, heteroscedastic variance.
- RR, OR (log scale), RD: 1/2 added to every cell of a study with a zero cell (to = "only0");
  studies with no events (or only events) in both arms are kept (drop00 = FALSE).
- IRR (log scale) from events and person-time, 1/2 added to both counts of a study with a zero.
- Generic: `yi` with `vi` or `sei`, or an estimate with its 95% CI (`yi, ci_lb, ci_ub`).

`escalc(table, measure)` works row by row so a table may mix forms: a row with `yi` uses it, a
row with `ti` or `pi` uses those (SMD only), any other row uses the measure's arm columns.
Every problem in the table is collected and raised at once as an `InputError`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import gammaln

from metasr.errors import InputError, Problem
from metasr.stats import distributions as dist

MEASURES = ("SMD", "MD", "RR", "OR", "RD", "IRR", "GEN")
RATIO_MEASURES = ("RR", "OR", "IRR")
MEAN_COLUMNS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
RATE_COLUMNS = ("x1i", "t1i", "x2i", "t2i")
Z975 = dist.norm_ppf(0.975)


# ---------------------------------------------------------------- vectorised formulas

def hedges_correction(mi):
    """Exact small-sample correction factor c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))."""
    mi = np.asarray(mi, dtype=float)
    return np.exp(gammaln(mi / 2) - 0.5 * np.log(mi / 2) - gammaln((mi - 1) / 2))


def _smd_from_d(di, n1i, n2i):
    ni = n1i + n2i
    yi = hedges_correction(ni - 2) * di
    vi = 1 / n1i + 1 / n2i + yi**2 / (2 * ni)
    return yi, vi


def smd(m1i, sd1i, n1i, m2i, sd2i, n2i):
    """Hedges' g and its large-sample variance."""
    m1i, sd1i, n1i, m2i, sd2i, n2i = (np.asarray(a, dtype=float) for a in (m1i, sd1i, n1i, m2i, sd2i, n2i))
    sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / (n1i + n2i - 2))
    return _smd_from_d((m1i - m2i) / sdpi, n1i, n2i)


def smd_from_t(ti, n1i, n2i):
    """Hedges' g from an independent-samples t statistic (sign = direction of group 1 - group 2)."""
    ti, n1i, n2i = (np.asarray(a, dtype=float) for a in (ti, n1i, n2i))
    return _smd_from_d(ti * np.sqrt(1 / n1i + 1 / n2i), n1i, n2i)


def t_from_signed_p(pi, n1i, n2i):
    """t statistic from a signed two-sided p-value (the sign gives the direction)."""
    pi, n1i, n2i = (np.asarray(a, dtype=float) for a in (pi, n1i, n2i))
    return np.sign(pi) * dist.t_isf(np.abs(pi) / 2, n1i + n2i - 2)


def smd_from_p(pi, n1i, n2i):
    return smd_from_t(t_from_signed_p(pi, n1i, n2i), n1i, n2i)


def md(m1i, sd1i, n1i, m2i, sd2i, n2i):
    m1i, sd1i, n1i, m2i, sd2i, n2i = (np.asarray(a, dtype=float) for a in (m1i, sd1i, n1i, m2i, sd2i, n2i))
    return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i


def add_half_if_zero(ai, bi, ci, di, add: float = 0.5):
    """Cells after adding `add` to every cell of tables that have a zero cell."""
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
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
    x1i, t1i, x2i, t2i = (np.asarray(a, dtype=float) for a in (x1i, t1i, x2i, t2i))
    inc = np.where((x1i == 0) | (x2i == 0), add, 0.0)
    x1i, x2i = x1i + inc, x2i + inc
    return np.log(x1i / t1i) - np.log(x2i / t2i), 1 / x1i + 1 / x2i


def peto_log_or(ai, bi, ci, di):
    """Peto's one-step log odds ratio per table (no continuity correction); NaN when V = 0."""
    ai, bi, ci, di = (np.asarray(a, dtype=float) for a in (ai, bi, ci, di))
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    Ei = (ai + ci) * n1i / ni
    Vi = (ai + ci) * (bi + di) * (n1i / ni) * (n2i / ni) / (ni - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(Vi > 0, (ai - Ei) / Vi, np.nan), np.where(Vi > 0, 1 / Vi, np.nan)


def from_ci(estimate, ci_lb, ci_ub, log_scale: bool):
    """yi and vi from an estimate and its 95% CI (log-transformed first for ratio estimates)."""
    est, lb, ub = (np.asarray(a, dtype=float) for a in (estimate, ci_lb, ci_ub))
    if log_scale:
        est, lb, ub = np.log(est), np.log(lb), np.log(ub)
    return est, ((ub - lb) / (2 * Z975)) ** 2


ARM_FUNCTIONS = {"SMD": smd, "MD": md, "RR": log_rr, "OR": log_or, "RD": rd, "IRR": log_irr}


# ---------------------------------------------------------------- table level

def arm_columns(measure: str, columns) -> tuple[str, ...]:
    """The arm columns a measure needs (counts accept `ai,bi,ci,di` or `ai,n1i,ci,n2i`)."""
    if measure in ("SMD", "MD"):
        return MEAN_COLUMNS
    if measure == "IRR":
        return RATE_COLUMNS
    if measure in ("RR", "OR", "RD"):
        if {"bi", "di"} <= set(columns) or not {"n1i", "n2i"} <= set(columns):
            return ("ai", "bi", "ci", "di")
        return ("ai", "n1i", "ci", "n2i")
    return ()


def _present(value) -> bool:
    """False for blanks and every missing-value marker pandas may hand over (None, NaN, NA)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return False
    return str(value).strip().lower() not in ("", "na", "nan", "<na>")


class _RowReader:
    """Reads numbers from one row, recording a Problem for each unusable value."""

    def __init__(self, record: dict, row: int, file: str | None, problems: list):
        self.record, self.row, self.file, self.problems = record, row, file, problems

    def has(self, column: str) -> bool:
        return _present(self.record.get(column))

    def number(self, column: str, rule: str, hint: str) -> float | None:
        raw = self.record.get(column)
        if not _present(raw):
            self.problem(f"missing value in '{column}'", column, raw, rule, hint)
            return None
        try:
            value = float(str(raw).strip())
        except ValueError:
            self.problem(f"'{column}' is not a number", column, raw, "numeric", "write a plain number such as 12.5")
            return None
        if not math.isfinite(value):
            self.problem(f"'{column}' is not finite", column, raw, "numeric", "write a finite number")
            return None
        return value

    def problem(self, message, column, value, rule, hint):
        self.problems.append(Problem(message=message, file=self.file, row=self.row, column=column,
                                     value=None if value is None else str(value), rule=rule, hint=hint))


def _check(reader: _RowReader, ok: bool, message: str, column: str, value, rule: str, hint: str) -> bool:
    if not ok:
        reader.problem(message, column, value, rule, hint)
    return ok


def _generic_row(r: _RowReader, measure: str, log_ci: bool):
    yi = r.number("yi", "generic effect", "give yi with vi or sei, or yi with ci_lb and ci_ub")
    if r.has("vi"):
        vi = r.number("vi", "variance", "")
        if vi is not None and not _check(r, vi > 0, "sampling variance must be positive", "vi", vi,
                                         "vi > 0", "vi is the squared standard error"):
            return None
        return None if yi is None or vi is None else (yi, vi, "yi_vi")
    if r.has("sei"):
        sei = r.number("sei", "standard error", "")
        if sei is not None and not _check(r, sei > 0, "standard error must be positive", "sei", sei,
                                          "sei > 0", "check the reported standard error"):
            return None
        return None if yi is None or sei is None else (yi, sei**2, "yi_sei")
    if r.has("ci_lb") or r.has("ci_ub"):
        lb = r.number("ci_lb", "95% CI", "give both CI bounds")
        ub = r.number("ci_ub", "95% CI", "give both CI bounds")
        if None in (yi, lb, ub):
            return None
        if log_ci and not _check(r, min(yi, lb, ub) > 0, "ratio estimate and CI must be positive", "ci_lb",
                                 lb, "ratio > 0", "ratio estimates (RR, OR, IRR) are on the ratio scale"):
            return None
        if not _check(r, lb <= yi <= ub and lb < ub, "estimate must lie inside a CI of positive width", "ci_lb",
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
    if measure != "SMD":
        r.problem(f"'{column}' can only give an SMD", column, r.record.get(column), "measure SMD",
                  f"this outcome's measure is {measure}; give its arm data or yi/vi")
        return None
    sizes = _group_sizes(r)
    value = r.number(column, "test statistic", "")
    if sizes is None or value is None:
        return None
    if column == "pi":
        if not _check(r, 0 < abs(value) <= 1, "p-value must be in (0, 1], signed by direction", "pi", value,
                      "0 < |pi| <= 1", "use a negative p-value when group 1 is lower than group 2"):
            return None
        y, v = smd_from_p(value, *sizes)
    else:
        y, v = smd_from_t(value, *sizes)
    return float(y), float(v), column


def _arm_row(r: _RowReader, measure: str, columns: tuple[str, ...]):
    values = {c: r.number(c, "arm data", f"{measure} needs {', '.join(columns)}") for c in columns}
    if any(v is None for v in values.values()):
        return None
    if measure in ("SMD", "MD"):
        ok = True
        for c in ("n1i", "n2i"):
            ok &= _check(r, values[c] >= 2, "group size must be at least 2", c, values[c], "n >= 2",
                         "a mean difference needs a standard deviation in each group")
        for c in ("sd1i", "sd2i"):
            ok &= _check(r, values[c] >= 0, "standard deviation must not be negative", c, values[c],
                         "sd >= 0", "check the sign and the column")
        if ok and values["sd1i"] == 0 and values["sd2i"] == 0:
            r.problem("both standard deviations are 0", "sd1i", 0, "sd > 0", "an effect needs some variability")
            ok = False
        if not ok:
            return None
        y, v = ARM_FUNCTIONS[measure](*(values[c] for c in MEAN_COLUMNS))
        return float(y), float(v), "arms"
    if measure == "IRR":
        ok = True
        for c in ("x1i", "x2i"):
            ok &= _check(r, values[c] >= 0, "event count must not be negative", c, values[c], "events >= 0", "")
        for c in ("t1i", "t2i"):
            ok &= _check(r, values[c] > 0, "person-time must be positive", c, values[c], "t > 0",
                         "give the total follow-up time of the group")
        if not ok:
            return None
        y, v = log_irr(values["x1i"], values["t1i"], values["x2i"], values["t2i"])
        return float(y), float(v), "arms"
    cells = _cells(r, values)
    if cells is None:
        return None
    y, v = ARM_FUNCTIONS[measure](*cells)
    return float(y), float(v), "arms"


def _cells(r: _RowReader, values: dict):
    """(ai, bi, ci, di) from either counts layout, or None after recording problems."""
    ok = True
    for c, v in values.items():
        ok &= _check(r, v >= 0, "count must not be negative", c, v, "count >= 0", "")
    if not ok:
        return None
    if "bi" in values:
        ai, bi, ci, di = values["ai"], values["bi"], values["ci"], values["di"]
        for c, n in (("bi", ai + bi), ("di", ci + di)):
            ok &= _check(r, n >= 1, "group has no participants", c, n, "n >= 1", "")
        return (ai, bi, ci, di) if ok else None
    for ev, n in (("ai", "n1i"), ("ci", "n2i")):
        ok &= _check(r, values[n] >= 1, "group size must be at least 1", n, values[n], "n >= 1", "")
        ok &= _check(r, values[ev] <= values[n], f"events exceed the group size {n}", ev, values[ev],
                     "events <= n", f"'{ev}' counts participants with the event, at most '{n}'")
    if not ok:
        return None
    return values["ai"], values["n1i"] - values["ai"], values["ci"], values["n2i"] - values["ci"]


def _row_list(rows: list[int]) -> str:
    text = ", ".join(str(r) for r in rows[:10])
    return text + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


def escalc(table: pd.DataFrame, measure: str, file: str | None = None, scale: str | None = None,
           rows=None) -> pd.DataFrame:
    """Add `yi`, `vi`, `sei` and `effect_source` to every row of `table` (a copy).

    `rows` gives each row's spreadsheet row number for messages (default: header = 1, so the
    first data row is 2). `scale` says how CI-form rows (`yi, ci_lb, ci_ub`) are read:
    "log" for ratio estimates (the default for RR, OR, IRR), "identity" otherwise.
    """
    if measure not in MEASURES:
        raise InputError(Problem(message=f"unknown measure {measure!r}", file=file, value=measure,
                                 rule="measure", hint=f"use one of {', '.join(MEASURES)}"))
    log_ci = (scale == "log") if scale is not None else measure in RATIO_MEASURES
    rows = list(rows) if rows is not None else [i + 2 for i in range(len(table))]
    columns = arm_columns(measure, table.columns)
    missing = [c for c in columns if c not in table.columns]
    needs_missing: list[int] = []
    problems: list[Problem] = []
    results = []
    for record, row in zip(table.to_dict("records"), rows):
        r = _RowReader(record, row, file, problems)
        if r.has("yi") or measure == "GEN":
            results.append(_generic_row(r, measure, log_ci))
        elif r.has("ti"):
            results.append(_t_or_p_row(r, measure, "ti"))
        elif r.has("pi"):
            results.append(_t_or_p_row(r, measure, "pi"))
        elif missing:
            needs_missing.append(row)
            results.append(None)
        else:
            results.append(_arm_row(r, measure, columns))
    for column in missing if needs_missing else []:
        problems.append(Problem(
            message=f"column '{column}' is missing (needed by {measure} arm data)", file=file, column=column,
            rule="required column", value=None,
            hint=f"rows {_row_list(needs_missing)} have no yi/vi; give {', '.join(columns)} or yi and vi"))
    if problems:
        raise InputError(problems)
    out = table.copy()
    out["yi"] = [res[0] for res in results]
    out["vi"] = [res[1] for res in results]
    out["sei"] = np.sqrt(out["vi"].to_numpy(dtype=float))
    out["effect_source"] = [res[2] for res in results]
    return out
