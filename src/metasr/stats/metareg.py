"""Meta-regression: mixed-effects models with moderators (metafor's `rma(yi, vi, mods = ~ ...)`).

Numeric moderators enter as they are; a text moderator is dummy-coded against its first level
(sorted), as R's treatment contrasts do. The fit itself is `fit_rma` with a model matrix; this
module builds the matrix and adds R2, the share of tau2 the moderators account for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metasr.errors import InputError, Problem
from metasr.stats.inference import q_profile
from metasr.stats.models import MetaFit, fit_rma


def design_matrix(table: pd.DataFrame, mods: list[str], file: str | None = None, rows=None):
    """(X with an intercept column, coefficient names) for moderator columns of `table`."""
    rows = list(rows) if rows is not None else [i + 2 for i in range(len(table))]
    problems, columns, names = [], [np.ones(len(table))], ["intrcpt"]
    for mod in mods:
        if mod not in table.columns:
            problems.append(Problem(message=f"moderator column '{mod}' is missing", file=file, column=mod,
                                    rule="required column", hint="name a column of the input table"))
            continue
        raw = table[mod]
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        for row in np.asarray(rows)[blank.to_numpy()]:
            problems.append(Problem(message=f"moderator '{mod}' is missing", file=file, row=int(row), column=mod,
                                    rule="moderator value", hint="give a value or drop the row from the analysis"))
        numeric = pd.to_numeric(raw, errors="coerce")
        if numeric[~blank].notna().all():
            columns.append(numeric.to_numpy(dtype=float))
            names.append(mod)
        else:
            levels = sorted(raw[~blank].astype(str).str.strip().unique())
            for level in levels[1:]:
                columns.append((raw.astype(str).str.strip() == level).to_numpy(dtype=float))
                names.append(f"{mod}{level}")
    if problems:
        raise InputError(problems)
    X = np.column_stack(columns)
    _check_rank(X, names, mods, file)
    return X, names


def _check_rank(X: np.ndarray, names: list[str], mods: list[str], file) -> None:
    """A constant or collinear moderator leaves its coefficient undefined."""
    problems = []
    for j in range(1, X.shape[1]):
        if np.linalg.matrix_rank(X[:, : j + 1]) <= j:
            problems.append(Problem(
                message=f"moderator term '{names[j]}' is constant or a combination of earlier terms",
                file=file, column=next((m for m in mods if names[j].startswith(m)), names[j]),
                rule="full-rank moderators", hint="drop the moderator or choose studies where it varies"))
    if problems:
        raise InputError(problems)


def r2(fit: MetaFit) -> float | None:
    """Pseudo-R2 (%): proportional reduction of tau2 relative to the intercept-only model."""
    if fit.method == "FE" or fit.p == 1:
        return None
    tau2_0 = fit_rma(fit.yi, fit.vi, method=fit.method, test=fit.test).tau2
    if tau2_0 <= 0:
        return 0.0
    return max(0.0, 100 * (tau2_0 - fit.tau2) / tau2_0)


def fit_metareg(yi, vi, X, names, method: str = "REML", test: str = "z", measure=None) -> MetaFit:
    return fit_rma(yi, vi, method=method, test=test, X=X, measure=measure, coef_names=names)


def metareg_dict(fit: MetaFit) -> dict:
    """metafor's meta-regression keys plus R2 and (random effects) Q-profile CIs for tau2, I2, H2."""
    out = fit.to_dict()
    out["R2"] = r2(fit)
    if fit.method != "FE":
        out.update(q_profile(fit.yi, fit.vi, fit.X))
    return out
