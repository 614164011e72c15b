"""Meta-regression: mixed-effects models with moderators (metafor's `rma(yi, vi, mods = ~ ...)`).

Numeric moderators enter as they are; a text moderator (or `factor(x)`) is dummy-coded against
its first level in R's factor() order (`metasr.stats.formula`), as R's treatment contrasts do;
interactions (`a:b`, `a*b`) follow R's model.matrix(). The fit itself is `fit_rma` with a model
matrix; this module builds the matrix and adds R2, the share of tau2 the moderators account for.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np
import pandas as pd

from metasr.errors import InputError, Problem
from metasr.io import NOT_REPORTED_MARKERS
from metasr.stats import formula
from metasr.stats.checks import LEAVE_OUT_HINT
from metasr.stats.inference import q_profile
from metasr.stats.models import MetaFit, fit_rma

# A moderator column whose cells are numbers but for a few is read as numbers with typos, not as
# a factor whose levels would be every distinct number (R makes it a factor without a word).
MOSTLY_NUMERIC = 0.8


def design_matrix(table: pd.DataFrame, mods, file: str | None = None, rows=None):
    """(X with an intercept column, coefficient names) for a moderator formula over columns of
    `table` (`metasr.stats.formula`: terms joined by +, interactions a:b and a*b, factor(a));
    `mods` is a formula string or a list of terms. Coefficient names are R's."""
    rows = list(rows) if rows is not None else [i + 2 for i in range(len(table))]
    try:
        terms = formula.parse(mods)
    except ValueError as err:
        raise InputError(Problem(message=str(err), file=file, value=str(mods), rule="moderator formula",
                                 hint="write terms like a + b, a:b, a*b or factor(a)")) from None
    variables = list(dict.fromkeys(v for term in terms for v in term))
    problems, coded = [], {}
    for variable in variables:
        result = _variable_columns(table, variable, file, rows)
        if isinstance(result, list):
            problems.extend(result)
        else:
            coded[variable] = result
    if problems:
        raise InputError(problems)
    columns, names = [np.ones(len(table))], ["intrcpt"]
    present = {frozenset(t) for t in terms}
    for term in terms:
        parts = []
        for v in term:
            values, labels, levels = coded[v]
            if levels is not None and (len(term) == 1 or frozenset(set(term) - {v}) in present):
                values, labels = values[:, 1:], labels[1:]  # treatment contrasts: drop the reference
            parts.append((values, labels))
        for values, labels in _crossed(parts):
            columns.append(values)
            names.append(labels)
    X = np.column_stack(columns)
    _check_rank(X, names, [v[0] for v in variables], file)
    return X, names


def _crossed(parts):
    """Columns of an interaction, the first variable varying fastest (R's order)."""
    index_lists = [range(values.shape[1]) for values, _ in parts]
    for combo in itertools.product(*reversed(index_lists)):
        combo = tuple(reversed(combo))
        col = np.ones(parts[0][0].shape[0])
        for (values, _), j in zip(parts, combo, strict=True):
            col = col * values[:, j]
        yield col, ":".join(labels[j] for (_, labels), j in zip(parts, combo, strict=True))


def _variable_columns(table, variable, file, rows):
    """(k x m values, m labels, levels or None) of one variable: a numeric column, or a factor's
    indicator columns for every level (the reference is dropped where contrasts apply)."""
    name, forced = variable
    if name not in table.columns:
        return [Problem(message=f"moderator column '{name}' is missing", file=file, column=name,
                        rule="required column", hint="name a column of the input table")]
    # spaces around a value (a non-breaking one from a spreadsheet too) are no part of it, as in effect cells
    raw = table[name].map(lambda v: v.strip() if isinstance(v, str) else v)
    blank = (raw.isna() | raw.astype(str).str.lower().isin(NOT_REPORTED_MARKERS)).to_numpy()
    if blank.any():  # 'NR' is a value not reported, never a factor level of its own
        return [Problem(message=f"moderator '{name}' is missing" + (f" ('{value}': not reported)" if value else ""),
                        file=file, row=int(row), column=name, rule="moderator value",
                        hint=f"give a value; or, {LEAVE_OUT_HINT}")
                for row, value in zip(np.asarray(rows)[blank], raw.astype(str)[blank], strict=True)]
    label = formula.label(name, forced)
    numeric = pd.to_numeric(raw, errors="coerce")
    infinite = numeric.notna() & ~np.isfinite(numeric.to_numpy(dtype=float))
    if infinite.any():
        return [Problem(message=f"moderator '{name}' is not a finite number", file=file, row=int(row), column=name,
                        value=str(value), rule="moderator value", hint="write the moderator's value as a number")
                for row, value in zip(np.asarray(rows)[infinite.to_numpy()], raw[infinite], strict=True)]
    if numeric.notna().all() and not forced:
        return numeric.to_numpy(dtype=float)[:, None], [label], None
    if not forced and numeric.notna().mean() >= MOSTLY_NUMERIC:  # a typo, not a factor of one odd level
        return [Problem(message=f"moderator '{name}' holds numbers but this cell is not one", file=file, row=int(row),
                        column=name, value=str(value), rule="moderator value",
                        hint=f"correct the cell; or, if '{name}' is a set of categories, write factor({name})")
                for row, value, number in zip(rows, raw, numeric, strict=True) if pd.isna(number)]
    text = raw.astype(str).str.strip()
    if numeric.notna().all():  # factor(x) of numbers: R's levels are the sorted numbers as text
        text = numeric.map(_r_number)
    levels = formula.factor_levels(text)
    if len(levels) < 2:  # no contrast to estimate (R would give the factor no column at all)
        return [Problem(message=f"moderator '{name}' has a single value ('{levels[0]}')", file=file, column=name,
                        value=levels[0], rule="full-rank moderators",
                        hint="drop the moderator or choose studies where it varies")]
    values = np.column_stack([(text == level).to_numpy(dtype=float) for level in levels])
    return values, [f"{label}{level}" for level in levels], levels


def _r_number(x: float) -> str:
    """A number as R's as.character() writes it (15 significant digits, no trailing .0)."""
    return f"{x:.15g}"


def _check_rank(X: np.ndarray, names: list[str], mods: list[str], file) -> None:
    """A constant or collinear moderator leaves its coefficient undefined: each term is checked
    against the terms before it that are not themselves aliased (metafor drops the same ones)."""
    problems = []
    kept = [0]
    for j in range(1, X.shape[1]):
        if np.linalg.matrix_rank(X[:, kept + [j]]) > len(kept):
            kept.append(j)
        else:
            problems.append(Problem(
                message=f"moderator term '{names[j]}' is constant or a combination of earlier terms",
                file=file, column=next((m for m in mods if names[j].startswith(m)), names[j]),
                rule="full-rank moderators", hint="drop the moderator or choose studies where it varies"))
    if problems:
        raise InputError(problems)


def r2(fit: MetaFit) -> float | None:
    """metafor's R2 (%) of a meta-regression: with random effects the proportional reduction of
    tau2 against the intercept-only model (pseudo-R2); for a common-effect model the adjusted R2 of
    the weighted least-squares regression of yi on the moderators (lm(yi ~ X, weights = 1/vi, or the
    user's weights)), 0 when the effects do not vary."""
    if fit.p == 1:
        return None
    if fit.method == "FE":
        return _weighted_adjusted_r2(fit)
    tau2_0 = fit_rma(fit.yi, fit.vi, method=fit.method, test=fit.test, weights=fit.a).tau2
    if tau2_0 <= 0:
        return 0.0
    return max(0.0, 100 * (tau2_0 - fit.tau2) / tau2_0)


def _weighted_adjusted_r2(fit: MetaFit) -> float | None:
    yi = np.asarray(fit.yi, float)
    if np.all(yi == yi[0]):  # metafor: var(yi) == 0 gives 0
        return 0.0
    w = np.asarray(fit.a if fit.a is not None else 1 / fit.vi, float)
    X = np.asarray(fit.X, float)
    sw = np.sqrt(w)
    beta, _, rank, _ = np.linalg.lstsq(X * sw[:, None], yi * sw, rcond=None)
    rss = float(np.sum(w * (yi - X @ beta) ** 2))
    tss = float(np.sum(w * (yi - np.sum(w * yi) / np.sum(w)) ** 2))
    n = len(yi)
    if n == rank:  # no residual df: the adjusted R2 is undefined (metafor's NaN)
        return None
    adjusted = 1 - (rss / tss) * (n - 1) / (n - rank)
    return max(0.0, 100 * adjusted)


def fit_metareg(yi, vi, X, names, method: str = "REML", test: str = "z", measure=None, weights=None) -> MetaFit:
    return fit_rma(yi, vi, method=method, test=test, X=X, measure=measure, coef_names=names, weights=weights)


def metareg_dict(fit: MetaFit) -> dict:
    """metafor's meta-regression keys plus R2 and (random effects) Q-profile CIs for tau2, I2, H2."""
    out = fit.to_dict()
    out["R2"] = r2(fit)
    if fit.method != "FE":
        out.update(q_profile(fit.yi, fit.vi, fit.X, fit.tau2))
    return out


# ---------------------------------------------------------------- predictions (bubble plots)

LINE_POINTS = 100   # points of a regression line
LINE_WIDEN = 0.04   # metafor's regplot draws the line 4% beyond the moderator's range on each side


class RegressionFit(Protocol):
    """What predictions read of a fitted meta-regression (MetaFit, multilevel.MultilevelFit)."""

    beta: np.ndarray
    vb: np.ndarray
    test: str
    coef_names: list

    @property
    def X(self) -> np.ndarray: ...

    @property
    def df(self) -> Any: ...


def predict(fit: RegressionFit, X0, level: float = 0.95) -> dict:
    """metafor's predict(fit, newmods) for rows of the model matrix X0 (intercept column included):
    `pred`, `se`, `ci_lb`, `ci_ub` (z or t quantile as the fit's test)."""
    from metasr.stats.inference import critical_value

    X0 = np.atleast_2d(np.asarray(X0, float))
    pred = X0 @ fit.beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", X0, fit.vb, X0))
    crit = critical_value(fit.test, fit.df, level)
    return {"pred": pred.tolist(), "se": se.tolist(), "ci_lb": (pred - crit * se).tolist(),
            "ci_ub": (pred + crit * se).tolist()}


def marginal_predictions(fit: RegressionFit, table: pd.DataFrame, mods, rows=None) -> list[dict]:
    """One entry per moderator variable of the formula `mods` fitted in `fit` (on `table`): the
    studies' values `x` and the model's predictions with every other model-matrix column held at
    its mean, as metafor's regplot draws its line. A numeric moderator gets `line` (x, pred, se,
    ci_lb, ci_ub over its range widened by LINE_WIDEN, LINE_POINTS points); a factor gets `levels`
    (one prediction per level). A variable in an interaction gets no prediction (`note` says
    why): its effect depends on the other variable."""
    rows = list(rows) if rows is not None else [i + 2 for i in range(len(table))]
    terms = formula.parse(mods)
    names = list(fit.coef_names)
    means = fit.X.mean(axis=0)
    out = []
    for variable in dict.fromkeys(v for term in terms for v in term):
        values, labels, levels = _variable_columns(table, variable, None, rows)
        name = formula.label(*variable)
        entry: dict[str, Any] = {"moderator": variable[0], "label": name,
                                 "kind": "numeric" if levels is None else "factor"}
        if levels is None:
            entry["x"] = values[:, 0].tolist()
        else:
            entry["x"] = [levels[j] for j in values.argmax(axis=1)]
        if any(variable in term and len(term) > 1 for term in terms) or (variable,) not in terms:
            entry["note"] = "in an interaction: its effect depends on the other moderator, so no marginal line"
        elif levels is None:
            entry["line"] = _numeric_line(fit, means, names.index(labels[0]), values[:, 0])
        else:
            entry["levels"] = _level_predictions(fit, means, names, labels, levels)
        out.append(entry)
    return out


def _numeric_line(fit: RegressionFit, means: np.ndarray, column: int, x: np.ndarray) -> dict:
    span = float(np.max(x) - np.min(x))
    xs = np.linspace(np.min(x) - LINE_WIDEN * span, np.max(x) + LINE_WIDEN * span, LINE_POINTS)
    X0 = np.tile(means, (LINE_POINTS, 1))
    X0[:, column] = xs
    return {"x": xs.tolist(), **predict(fit, X0)}


def _level_predictions(fit: RegressionFit, means: np.ndarray, names: list[str], labels: list[str],
                       levels) -> list[dict]:
    columns = {level: names.index(label) for level, label in zip(levels, labels, strict=True) if label in names}
    X0 = np.tile(means, (len(levels), 1))
    X0[:, list(columns.values())] = 0.0
    for i, level in enumerate(levels):
        if level in columns:  # the reference level has no column: all indicators 0
            X0[i, columns[level]] = 1.0
    p = predict(fit, X0)
    return [{"level": level, **{key: p[key][i] for key in p}} for i, level in enumerate(levels)]
