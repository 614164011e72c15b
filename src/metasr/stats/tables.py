"""One table of studies made ready to pool, and what every analysis of it shares: the methods and
the checks of method, test and k, the usable and dropped rows (with their spreadsheet rows), the
display of the measure, and results as plain JSON. metasr.stats.analysis, .multilevel, .dependent
and .grouped read them here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from metasr import measures
from metasr.errors import InputError, Problem
from metasr.stats import inference
from metasr.stats.checks import LEAVE_OUT_HINT
from metasr.stats.models import METHODS_RMA

TABLE_METHODS = measures.table_methods()
METHODS = METHODS_RMA + tuple(TABLE_METHODS)
DROP00_REASON = "no events in either group, or only events: no effect (escalc drop00 = TRUE)"


def json_safe(value):
    """Plain JSON types: numpy scalars and arrays unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _problem(message, file=None, column=None, value=None, rule=None, hint=None, row=None):
    return Problem(message=message, file=file, row=row, column=column,
                   value=None if value is None else str(value), rule=rule, hint=hint)


def check_method(measure: str, method: str, test: str, file=None) -> None:
    problems = []
    if not measures.known(measure):
        problems.append(_problem(f"unknown measure {measure!r}", file, value=measure, rule="measure",
                                 hint=f"use one of {', '.join(measures.ids())}"))
    if method not in METHODS:
        problems.append(_problem(f"unknown method {method!r}", file, value=method, rule="method",
                                 hint=f"use one of {', '.join(METHODS)}"))
    elif method in TABLE_METHODS and measure not in TABLE_METHODS[method]:
        problems.append(_problem(f"method {method} pools {'/'.join(TABLE_METHODS[method])}, not {measure}", file,
                                 value=method, rule="method for measure",
                                 hint="use an inverse-variance method (FE, REML, ...) for this measure"))
    if test not in inference.TESTS:
        problems.append(_problem(f"unknown test {test!r}", file, value=test, rule="test",
                                 hint=f"use one of {', '.join(inference.TESTS)}"))
    elif test != "z" and method in TABLE_METHODS:
        problems.append(_problem(f"method {method} has no {test} test", file, value=test, rule="test",
                                 hint="use --test z with MH or PETO"))
    if problems:
        raise InputError(problems)


def _minimum_k(method: str, test: str, p: int) -> int:
    """Studies a fit needs: a common-effect fit with z tests (inverse variance, Mantel-Haenszel,
    Peto) pools even one; a between-study variance or a t test needs one more than coefficients."""
    if method in ("FE", "MH", "PETO") and test == "z":
        return p
    return p + 1


def check_k(k: int, method: str, test: str, p: int = 1, file=None, what: str = "") -> None:
    need = _minimum_k(method, test, p)
    if k < need:
        reason = "a between-study variance" if method not in ("FE", "MH", "PETO") else "a test with k - p df"
        raise InputError(_problem(
            f"{what}{k} usable stud{'y' if k == 1 else 'ies'}, but {method} with test {test} and {p} "
            f"coefficient{'s' if p > 1 else ''} needs at least {need} (to estimate {reason})",
            file, value=str(k), rule="enough studies",
            hint="add studies, use method FE with test z, or report the single study without pooling"))


def _rows(table: pd.DataFrame) -> list[int]:
    if "_row" in table.columns:
        return [int(r) for r in table["_row"]]
    return [i + 2 for i in range(len(table))]


def transformed(model: dict, display: measures.Display) -> dict | None:
    """The estimate, CI and PI on the display scale (metafor's predict(fit, transf = ...))."""
    if "estimate" not in model:
        return None
    return {key: display.back(model.get(key)) for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}


def table_display(table: pd.DataFrame, measure: str, scale: str | None = None) -> measures.Display:
    """The outcome's display, its targs from the studies pooled (e.g. the harmonic mean of ni)."""
    columns = [c for c in ("ni", "xi", "mi", "ti") if c in table.columns]
    numbers = pd.DataFrame({c: pd.to_numeric(table[c], errors="coerce") for c in columns}, index=table.index)
    args = measures.transform_args(measure, numbers.to_dict("records"), scale)
    return measures.display_for(measure, scale, args)


def add_level_transformed(subgroups: dict, table: pd.DataFrame, groups, measure: str,
                          scale: str | None = None) -> dict:
    """Each subgroup's estimate, CI and PI on the display scale (`transformed`, in its `fits`
    entry or its level dict), back-transformed with its own studies' targs: metafor's
    predict(rma(yi, vi, subset = level), transf = transf.ipft.hm, targs = list(ni = ni[level])),
    not the whole outcome's harmonic mean. `groups`: each row of `table`'s level."""
    values = np.asarray([str(g) for g in groups])
    levels = subgroups.get("levels") or []
    targets = [(lv["level"], lv) for lv in levels if isinstance(lv, dict)] or \
        list((subgroups.get("fits") or {}).items())
    for level, fit in targets:
        fit["transformed"] = transformed(fit, table_display(table[values == str(level)], measure, scale))
    return subgroups


def split_dropped(table: pd.DataFrame):
    """(rows with an effect, [{study_id, row, reason}] for the studies escalc's drop00 left out)."""
    dropped = table["effect_source"] == "drop00"
    entries = [{"study_id": _text(table["study_id"].iloc[i]) if "study_id" in table.columns else None,
                "row": int(table["_row"].iloc[i]) if "_row" in table.columns else i + 2, "reason": DROP00_REASON}
               for i in np.flatnonzero(dropped.to_numpy())]
    return table[~dropped].reset_index(drop=True), entries


# ---------------------------------------------------------------- usable rows


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def split_usable(df: pd.DataFrame, file=None):
    """(usable rows with their spreadsheet row in `_row`, [{study_id, reason}] for the others)."""
    table = df.copy()
    if "_row" not in table.columns:
        table["_row"] = [i + 2 for i in range(len(table))]
    if "usable" not in table.columns:
        return table.reset_index(drop=True), []
    flags: list[bool] = []
    problems = []
    for value, row in zip(table["usable"], table["_row"], strict=True):
        text = _text(value).lower()
        if isinstance(value, (bool, np.bool_)):
            flags.append(bool(value))
        elif text in _TRUE:
            flags.append(True)
        elif text in _FALSE:
            flags.append(False)
        else:
            flags.append(False)
            problems.append(_problem("'usable' must be true or false", file, row=int(row), column="usable",
                                     value=value, rule="boolean", hint="write true or false"))
    if problems:
        raise InputError(problems)
    usable = np.array(flags, dtype=bool)
    reasons = table["not_usable_reason"] if "not_usable_reason" in table.columns else pd.Series([""] * len(table))
    not_usable = [
        {"study_id": _text(table["study_id"].iloc[i]) if "study_id" in table.columns else None,
         "row": int(table["_row"].iloc[i]),
         "reason": _text(reasons.iloc[i]) or "marked not usable (no reason given)"}
        for i in np.flatnonzero(~usable)
    ]
    return table[usable].reset_index(drop=True), not_usable


def _text(value) -> str:
    """A cell as stripped text; every missing-value marker pandas may hand over becomes ''."""
    if value is None or (not isinstance(value, str) and np.ndim(value) == 0 and pd.isna(value)):
        return ""
    return str(value).strip()


def subgroup_levels(table: pd.DataFrame, subgroup: str, file=None) -> list[str]:
    """Each row's level of the `subgroup` column (`metasr pool --subgroup`), as text; InputError
    for a missing column, a row without a level, or a single level."""
    if subgroup not in table.columns:
        raise InputError(_problem(f"subgroup column '{subgroup}' is missing", file, column=subgroup,
                                  rule="required column", hint="name a column of the input table"))
    groups = [_text(g) for g in table[subgroup]]
    blank = [_problem(f"subgroup '{subgroup}' is missing", file, row=row, column=subgroup,
                      rule="subgroup value", hint=f"give every study a level; {LEAVE_OUT_HINT}")
             for row, g in zip(_rows(table), groups, strict=True) if g == ""]
    if blank:
        raise InputError(blank)
    if len(set(groups)) < 2:
        raise InputError(_problem("subgroup analysis needs at least two levels", file, column=subgroup,
                                  value=", ".join(sorted(set(groups))), rule="subgroup levels",
                                  hint="choose a column with two or more values"))
    return groups


# ---------------------------------------------------------------- pipeline: one outcome


def _some(names: list[str], shown: int = 5) -> str:
    """'a, b, c' or 'a, b, c, d, e and 3 more'."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def order_skip_reason(table: pd.DataFrame, order_by: str | None) -> str:
    """Why the studies (one row each) have no cumulative order, in one sentence (the column or some
    values missing)."""
    if order_by not in table.columns:
        return f"the order column '{order_by}' is not a column of the studies or the outcome's sheet"
    blank = [str(s) for s, v in zip(table["study_id"], table[order_by].map(_text), strict=True) if v == ""]
    return (f"'{order_by}' is missing for {len(blank)} of {len(table)} studies ({_some(blank)}), so there is no "
            f"order to add them in; give every study a {order_by}")
