"""Whole analyses: one table of studies in, one JSON-ready dict out.

`analyse` is what `metasr pool` prints (metafor's keys, as in the reference `expected` objects);
`pool_outcome` builds the `results/pooled/{outcome}.json` structure of docs/architecture.md from
an extraction table, including the studies that could not be used and why. Both prepare the table
the same way (`_effects_table`) and run the optional sections by one set of rules about k
(`metasr.analysis_settings.sections_at`, with the small-study minimum from the config or
`metasr pool --small-study-min-k`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from metasr import measures
from metasr.analysis_settings import SMALL_STUDY_MIN_K, sections_at
from metasr.dependence import pooled_as_dependent
from metasr.errors import InputError, raise_if_errors
from metasr.io import (
    check_pandas_frame,
    check_row_widths,
    csv_shape,
    os_error_problem,
    plain_frame,
    spreadsheet_rows,
    undecodable_problem,
)
from metasr.provenance import PROVENANCE_COLUMNS, TEXT_COLUMNS
from metasr.stats import checks, effects, inference
from metasr.stats.checks import LEAVE_OUT_HINT
from metasr.stats.metareg import MOSTLY_NUMERIC, design_matrix, fit_metareg, metareg_dict
from metasr.stats.models import MetaFit, double_zero, fit_mh, fit_mh_rates, fit_peto, fit_rma
from metasr.stats.sections import model_dict, optional_sections, sensitivity_dict
from metasr.stats.subgroup import subgroup_analysis
from metasr.stats.tables import (
    TABLE_METHODS,
    _problem,
    _rows,
    _some,
    _text,
    add_level_transformed,
    check_k,
    check_method,
    json_safe,
    order_skip_reason,
    split_dropped,
    split_usable,
    subgroup_levels,
    table_display,
    transformed,
)

PASSTHROUGH = ("study_id", "label", "year")
ARM_FIELDS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "ai", "bi", "ci", "di", "n2i", "x1i", "t1i", "x2i", "t2i",
              "xi", "mi", "sdi", "ni", "ri", "ti", "pi", "r2i")
COUNT_FIELDS = ("n1i", "n2i", "ai", "bi", "ci", "di", "x1i", "x2i", "xi", "mi", "ni", "year", "shared_group",
                "shared_split")


# ---------------------------------------------------------------- helpers

def _table_cells(table: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A table method's cells: x1i, t1i, x2i, t2i for two-group rates, else ai, bi, ci, di."""
    if measures.get(measure).family == "two-group rates":
        x1i, t1i, x2i, t2i = (table[c].astype(float).to_numpy() for c in effects.RATE_COLUMNS)
        return x1i, t1i, x2i, t2i
    return _cells(table)


def _in_file(err: InputError, file) -> InputError:
    """The error with `file` named in its problems that name none (a table's, a section's)."""
    return InputError([p if p.file else replace(p, file=file) for p in err.problems])


def _cells(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a = table["ai"].astype(float).to_numpy()
    c = table["ci"].astype(float).to_numpy()
    if "bi" in table.columns and "di" in table.columns:
        return a, table["bi"].astype(float).to_numpy(), c, table["di"].astype(float).to_numpy()
    return a, table["n1i"].astype(float).to_numpy() - a, c, table["n2i"].astype(float).to_numpy() - c


def _check_table_rows(table: pd.DataFrame, method: str, rows, file) -> None:
    bad = [row for row, src in zip(rows, table["effect_source"], strict=True) if src not in ("arms", "drop00")]
    if bad:
        raise InputError([_problem(f"method {method} needs the 2x2 counts of every study", file, row=row,
                                   column="ai", rule="counts for MH/Peto",
                                   hint="give ai, bi, ci, di (or ai, n1i, ci, n2i) or use an inverse-variance method")
                          for row in bad])


def read_study_table(path: str) -> pd.DataFrame:
    """A CSV of studies as text (numbers are parsed, with row-level messages, by escalc),
    with each row's spreadsheet row number in `_row`."""
    skip, width = csv_shape(path)
    try:
        # the header's columns only: empty cells beyond them (a spreadsheet's leftovers, which
        # csv_shape lets through) would otherwise shift every cell of pandas' frame; Excel's
        # separator line skipped, so rows are numbered from the header as Excel shows them
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig",
                            skip_blank_lines=False, usecols=range(width), index_col=False, skiprows=skip)
    except OSError as err:
        problem = os_error_problem(err, path, "read")
        if problem is None:
            raise
        raise InputError(problem) from None
    except pd.errors.EmptyDataError:
        raise InputError(_problem("input file is empty", path, rule="CSV with a header row",
                                  hint="write a header row with metafor-style column names")) from None
    except UnicodeDecodeError:  # named by row and column, with what the file looks like
        raise undecodable_problem(path) from None
    except pd.errors.ParserError as err:
        check_row_widths(path, width, exact=True)  # a row too long: named with its row number
        raise InputError(_problem(f"cannot read the CSV: {err}", path, rule="CSV",
                                  hint="save the table as UTF-8 CSV with one header row")) from None
    check_pandas_frame(path, width, table)
    table.columns = [str(c).strip() for c in table.columns]
    return spreadsheet_rows(plain_frame(table))


# ---------------------------------------------------------------- model fitting

def fit_table(table: pd.DataFrame, measure: str, method: str, test: str, file=None):
    """The intercept-only fit of an escalc'd table: MetaFit (inverse variance) or TableFit."""
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    if method in TABLE_METHODS:
        _check_table_rows(table, method, _rows(table), file)
        cells = _table_cells(table, measure)
        try:
            if measures.get(measure).family == "two-group rates":
                return fit_mh_rates(*cells, (yi, vi), measure)
            return fit_mh(*cells, measure, (yi, vi)) if method == "MH" else fit_peto(*cells)
        except InputError as err:  # the table's problem: name its file
            raise _in_file(err, file) from None
    return fit_rma(yi, vi, method=method, test=test, measure=measure)


def _order_values(table: pd.DataFrame, column: str, file=None):
    """One sort key per study (numbers when every value is a number); blanks are problems."""
    if column not in table.columns:
        raise InputError(_problem(f"order column '{column}' is missing", file, column=column,
                                  rule="required column", hint="name a column of the input table"))
    values = table[column].map(_text)
    blank = [row for row, v in zip(_rows(table), values, strict=True) if v == ""]
    if blank:
        raise InputError([_problem(f"'{column}' is missing, so the cumulative order is undefined", file, row=row,
                                   column=column, rule="order value",
                                   hint=f"give every study a value; {LEAVE_OUT_HINT}")
                          for row in blank])
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(float)
    if numeric.notna().mean() >= MOSTLY_NUMERIC:  # a typo, not a column of text to sort as text
        raise InputError([_problem(f"'{column}' holds numbers but this cell is not one, so the cumulative order "
                                   "is undefined", file, row=row, column=column, value=value, rule="order value",
                                   hint="write a plain number (no thousands separators, units or text)")
                          for row, value, number in zip(_rows(table), values, numeric, strict=True)
                          if pd.isna(number)])
    return values.to_numpy(dtype=str)  # a column of text (labels, dates as text) orders as text


def _effects_table(df: pd.DataFrame, measure: str, method: str, test: str, file, scale, options,
                   warnings: list[str] | None = None):
    """The usable rows with their effects (escalc) and the rows that are not usable, with why.
    With `warnings` (a table given to `metasr pool`), rows that are no study of their own are
    refused first (checks.study_row_problems) and counts that are not whole numbers added to it."""
    check_method(measure, method, test, file)
    table, not_usable = split_usable(df, file)
    if warnings is not None:
        raise_if_errors(checks.study_row_problems(table, file, checks.count_columns(measure)))
        warnings.extend(checks.fractional_count_warnings(table, checks.count_columns(measure), file))
    with np.errstate(all="ignore"):  # an overflow is what the caller's checks report
        table = effects.escalc(table, measures.effect_measure(measure, method), file=file, scale=scale,
                               rows=_rows(table), options=options)
    if method in TABLE_METHODS:  # rma.mh and rma.peto keep the tables drop00 leaves without an effect
        return table, not_usable
    table, dropped = split_dropped(table)
    return table, not_usable + dropped


def with_effects(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a table with an effect of their own: a Mantel-Haenszel or Peto table keeps the
    tables drop00 left without one (they are in its estimate), inverse-variance models of its
    effects leave them out (metafor's rma of the table's yi and vi: NA rows omitted)."""
    return table[table["effect_source"] != "drop00"].reset_index(drop=True)


def analyse(df: pd.DataFrame, measure: str, method: str, test: str = "z", mods=None, subgroup=None,
            order=None, file: str | None = None, scale: str | None = None,
            options: effects.Options | None = None, modelling=None,
            small_study_min_k: int = SMALL_STUDY_MIN_K, fit_only: bool = False) -> dict:
    """Everything `metasr pool` prints for one table (metafor keys; JSON-safe).

    `options` are escalc's (add, to, drop00, vtype); `transform` names the back-transformation
    to the display scale and `transformed` holds the estimate, CI and PI on it (metafor's
    predict(fit, transf = ...)); `modelling` (a metasr.stats.modelling.ModellingOptions) adds the
    sections its flags ask for. Small-study tests run from `small_study_min_k` studies (by default
    the pipeline's minimum; metafor itself runs them from 3). `fit_only` stops the overall model
    after the fit (`metasr pool --what fit`): no Q-profile CIs, refits or modelling sections, whose
    cost grows with k squared."""
    warnings: list[str] = []
    table, not_usable = _effects_table(df, measure, method, test, file, scale, options, warnings)
    ratio_limit = any(m for m in (mods or [])) or (modelling is not None and modelling.any())
    raise_if_errors(checks.table_problems(table, file, ratio_limit=ratio_limit)
                    + checks.duplicate_study_problems(table, file))
    display = table_display(table, measure, scale)
    result: dict = {"measure": measure, "method": method, "test": test, "transform": display.to_json()}
    mods = [m for m in (mods or []) if m]
    _check_options(mods, subgroup, order, file)
    if modelling is not None and modelling.any():
        _check_modelling(method, subgroup, file)
    else:
        modelling = None
    if mods:
        result.update(_analyse_metareg(table, measure, method, test, mods, file, modelling))
    elif subgroup:
        result.update(_analyse_subgroups(table, measure, method, test, subgroup, file, scale, display))
    else:
        result.update(_analyse_overall(table, measure, method, test, order, file, display, modelling,
                                       small_study_min_k, fit_only, options))
    result["yi"] = table["yi"].tolist()
    result["vi"] = table["vi"].tolist()
    if not_usable:
        result["not_usable"] = not_usable
    if warnings:
        result["warnings"] = warnings
    return json_safe(result)


def _check_options(mods, subgroup, order, file) -> None:
    """One analysis at a time: a cumulative order belongs to the overall model only."""
    chosen = [name for name, given in (("moderators", mods), ("subgroup", subgroup)) if given]
    if len(chosen) > 1 or (chosen and order):
        raise InputError(_problem(f"choose one of moderators, subgroup or a cumulative order (got "
                                  f"{', '.join(chosen + (['order'] if order else []))})", file,
                                  rule="one analysis", hint="run metasr pool once per analysis"))


def _check_modelling(method: str, subgroup, file) -> None:
    _reject_table_method(method, "the modelling options", file)
    if subgroup:
        raise InputError(_problem("the modelling options apply to the overall model or a meta-regression, "
                                  "not to a subgroup analysis", file, rule="one analysis",
                                  hint="run metasr pool with --by for one model per group"))


def _user_weights(table, method: str, modelling, file):
    """The weights column's values (GENQ's a_i and the coefficients' weights), if given."""
    from metasr.stats.modelling import column_values

    if modelling is None or not modelling.weights:
        return None
    return column_values(table, modelling.weights, file, "weight", _rows(table))


def _modelling_sections(fit, table, modelling, file, design) -> dict:
    from metasr.stats.modelling import modelling_dict

    if modelling is None:
        return {}
    try:
        return modelling_dict(fit, table, modelling, file=file, rows=_rows(table), design=design)
    except InputError as err:  # a section's problem with the data: name the file it is in
        raise _in_file(err, file) from None


def _reject_table_method(method: str, what: str, file) -> None:
    if method in TABLE_METHODS:
        raise InputError(_problem(f"{what}: inverse-variance models only, not {method}", file, value=method,
                                  rule="method", hint="use FE or a random-effects method"))


def _analyse_metareg(table, measure, method, test, mods, file, modelling=None) -> dict:
    _reject_table_method(method, "meta-regression", file)
    X, names = design_matrix(table, mods, file, rows=_rows(table))
    check_k(len(table), method, test, X.shape[1], file)
    weights = _user_weights(table, method, modelling, file)
    fit = fit_metareg(table["yi"], table["vi"], X, names, method, test, measure, weights=weights)
    design = lambda formula: design_matrix(table, formula, file, rows=_rows(table))  # noqa: E731
    return {**metareg_dict(fit), **_modelling_sections(fit, table, modelling, file, design)}


def _analyse_subgroups(table, measure, method, test, subgroup, file, scale=None, display=None) -> dict:
    """metafor's subgroup keys (one fit per level and the test between them), with what the test
    is, each level's results on the display scale, and the model of all studies (`overall`)."""
    groups = subgroup_levels(table, subgroup, file)
    result = _fit_subgroups(table, groups, measure, method, test)
    if "skipped" in result:
        raise InputError(_problem(result["skipped"], file, column=subgroup, rule="subgroup analysis",
                                  hint="combine the subgroup with another, or use an inverse-variance method"))
    if result.get("Q_between") is not None:  # none when one subgroup alone has an estimate
        result["Q_between_test"] = "Wald-type test of the subgroups' estimates from separate fits"
    add_level_transformed(result, table, groups, measure, scale)
    check_k(len(table), method, test, 1, file)
    overall = model_dict(fit_table(table, measure, method, test, file))
    result["overall"] = {**overall, "transformed": transformed(overall, display)}
    return result


def _analyse_overall(table, measure, method, test, order, file, display, modelling, small_study_min_k,
                     fit_only: bool = False, options=None) -> dict:
    check_k(len(table), method, test, 1, file)
    weights = _user_weights(table, method, modelling, file)
    if weights is not None:
        fit = fit_rma(table["yi"], table["vi"], method=method, test=test, measure=measure, weights=weights)
    else:
        fit = fit_table(table, measure, method, test, file)
    if fit_only:
        result = fit.to_dict()
        result["transformed"] = transformed(result, display)
        return result
    result = model_dict(fit)
    ordering = _order_values(table, order, file) if order else None
    if isinstance(fit, MetaFit):
        result.update(optional_sections(fit, small_study_min_k, ordering, order))
    else:
        result.update(_table_sections(table, measure, method, test, file, small_study_min_k, ordering, order,
                                      options))
    design = lambda formula: design_matrix(table, formula, file, rows=_rows(table))  # noqa: E731
    result.update(_modelling_sections(fit, table, modelling, file, design))
    result["transformed"] = transformed(result, display)
    return result


def _table_sections(table: pd.DataFrame, measure: str, method: str, test: str, file, small_study_min_k: int,
                    ordering=None, order_by: str | None = None, options=None) -> dict:
    """A Mantel-Haenszel or Peto fit's leave-one-out and (given an ordering) cumulative analyses,
    refitted with its own method, when k allows (analysis_settings.sections_at). Its small-study
    tests would be the inverse-variance model's, so `metasr pool` leaves them to that model."""
    from metasr.stats import sensitivity

    runs = sections_at(len(table), small_study_min_k, ordering is not None)
    refit = _table_refit(table, measure, method, test, file, options)
    out = {}
    if runs["sensitivity"]:
        out["leave1out"] = sensitivity.table_leave_one_out(refit, len(table))
    if ordering is not None and (runs["sensitivity"] or runs["cumulative"]):
        out["cumulative"] = sensitivity.table_cumulative(refit, len(table), ordering, order_by=order_by)
    return out


def _continuity(entries: list[dict], table: pd.DataFrame, measure: str, options) -> list[dict]:
    """Studies whose counts escalc's add/to changed say so: `continuity` {add, to, text}, and the
    text in `conversion` (instead of "none"), so that no correction is applied silently."""
    if "continuity_add" not in table.columns:
        return entries
    resolved = (options or effects.Options()).resolved(measure)
    for entry, add in zip(entries, table["continuity_add"], strict=True):
        if add and float(add) > 0:
            text = effects.continuity_text(measure, float(add), resolved.to)
            entry["continuity"] = {"add": float(add), "to": resolved.to, "text": text}
            before = str(entry.get("conversion") or "").strip()
            entry["conversion"] = text if before.lower() in {"", "none"} else f"{before}; {text}"
    return entries


def _study_entries(table: pd.DataFrame, weights) -> list[dict]:
    crit = inference.critical_value("z", None)
    entries = []
    for i, rec in enumerate(table.to_dict("records")):
        entry = {key: _integral(key, _passthrough(rec.get(key), key in TEXT_COLUMNS)) for key in PASSTHROUGH
                 if key in rec}
        yi, vi = float(rec["yi"]), float(rec["vi"])
        sei = math.sqrt(vi)
        entry.update(yi=yi, vi=vi, sei=sei, ci_lb=yi - crit * sei, ci_ub=yi + crit * sei,
                     weight=None if weights is None else float(weights[i]),
                     effect_source=rec.get("effect_source"))
        for key in ARM_FIELDS + PROVENANCE_COLUMNS:
            if key in rec and _text(rec[key]) != "":
                entry[key] = _integral(key, _passthrough(rec[key], key in TEXT_COLUMNS))
        entries.append(entry)
    return entries


def _integral(key: str, value):
    """Counts and years read as floats (a blank elsewhere in the column) go back to integers."""
    if key in COUNT_FIELDS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _passthrough(value, text_column: bool = False):
    """A cell of the effect table as the pooled JSON gives it: a cell of the sheets' text columns
    (provenance.TEXT_COLUMNS) as written (es_id 1.10 is not 1.1, study 007 not 7), other
    numeric-looking text as numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text_column:
            return text
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    return value


def pool_outcome(effects_table: pd.DataFrame, measure: str, method: str, test: str = "z", order_by: str = "year",
                 outcome: str | None = None, label: str | None = None, published: dict | None = None,
                 file: str | None = None, scale: str | None = None,
                 options: effects.Options | None = None, dependence: dict | None = None,
                 small_study: dict | None = None, meta_regression: dict | None = None,
                 subgroup: str | None = None, risk_of_bias: dict[str, str] | None = None) -> dict:
    """The results/pooled/{outcome}.json structure for one outcome's extraction table.

    `dependence` is the outcome's setting (metasr.dependence.settings): with multilevel, robust or
    aggregate, the effect sizes of a study are pooled as dependent (metasr.stats.dependent).
    `small_study` and `meta_regression` are the outcome's settings (metasr.analysis_settings;
    default: the small-study defaults and no meta-regression); the table holds the moderators'
    columns. `subgroup` names the table's column whose levels get a subgroup analysis
    (`subgroups`, as `metasr pool --subgroup` fits it; each study entry then carries its level).
    `risk_of_bias`: each study's overall judgement (metasr.stats.rob_sensitivity.judgements), for the
    sensitivity analysis without the studies at high risk of bias; None: not run."""
    from metasr.analysis_settings import small_study_settings
    from metasr.stats.outcome_analyses import small_study_section

    small_study = small_study or small_study_settings({})
    table, not_usable = _effects_table(effects_table, measure, method, test, file, scale, options)
    dependent = pooled_as_dependent(dependence)
    checks.check_effects(table, file, ratio_limit=dependent)
    display = table_display(table, measure, scale)
    k = len(table)
    n_studies = len({_text(s) for s in table["study_id"]}) if "study_id" in table.columns else k
    out = {"outcome": outcome, "label": label, "measure": measure, "method": method, "test": test,
           "transform": display.to_json(), "dependence": _dependence_json(dependence),
           "k": k, "k_studies": n_studies, "k_rows": len(effects_table), "k_not_usable": len(not_usable),
           "not_usable": [{"study_id": n["study_id"], "reason": n["reason"]} for n in not_usable],
           "model": None, "common_effect": None, "transformed": None,
           "small_study": _not_pooled(small_study, k, "small-study methods"),
           "meta_regression": _not_pooled(meta_regression, k, "meta-regression"),
           "sensitivity": None, "published": published}
    if subgroup:
        out["subgroups"] = _subgroups_skipped(subgroup, f"k = {k}: the outcome is not pooled")
    if k == 0:
        out.update(status="no_data", status_message="no study-level data yet", studies=[])
        return _ordered(json_safe(out))
    if k == 1 or (dependent and n_studies == 1):
        message = "k = 1: not pooled" if k == 1 else f"1 study ({k} effect sizes): not pooled"
        out.update(status="single_study", status_message=message,
                   studies=_continuity(_study_entries(table, [100.0] if k == 1 else None), table, measure, options))
        return _ordered(json_safe(out))
    if dependent:
        return _pool_dependent(out, table, measure, method, test, order_by, dependence, display, file, small_study,
                               subgroup, meta_regression, risk_of_bias, scale)
    check_k(k, method, test, 1, file, what="")
    fit = fit_table(table, measure, method, test, file)
    effect_rows = with_effects(table)
    common = fit_rma(effect_rows["yi"], effect_rows["vi"], method="FE", test="z", measure=measure)
    iv_fit = fit if isinstance(fit, MetaFit) else common  # MH/Peto: small-study tests on the IV model
    weights = fit.weights  # Mantel-Haenszel/Peto fits carry their own
    model = model_dict(fit)
    out.update(status="pooled", status_message="", studies=_continuity(_study_entries(table, weights), table,
                                                                    measure, options),
               model=model, common_effect=model_dict(common))
    out["transformed"] = transformed(model, display)
    table_method = None if isinstance(fit, MetaFit) else method
    out["small_study"] = small_study_section(iv_fit, small_study, display.null is not None, table_method)
    if meta_regression:
        from metasr.stats.outcome_analyses import meta_regression_section

        out["meta_regression"] = meta_regression_section(effect_rows, meta_regression, method, test, measure, file,
                                                         tuple(TABLE_METHODS))
    if subgroup:
        entries = out["studies"]
        assert isinstance(entries, list)
        out["subgroups"] = _outcome_subgroups(table, subgroup, method, test, measure, entries, scale)
    runs = sections_at(k, small_study["min_k"], bool(order_by))
    refit = None if isinstance(fit, MetaFit) else _table_refit(table, measure, method, test, file, options)
    if runs["sensitivity"]:
        out["sensitivity"] = _outcome_sensitivity(fit, table, order_by, file, refit)
    elif runs["cumulative"]:
        out["sensitivity"] = {"cumulative": _outcome_cumulative(fit, table, order_by, file, refit)}
    if risk_of_bias is not None:
        refit_rows = _refit_rows(table, measure, method, test, file, options)
        _add_sensitivity(out, _excluding_high_risk(table, risk_of_bias, refit_rows, method, test, measure, scale))
    return _ordered(json_safe(out))


def _add_sensitivity(out: dict, section: dict) -> None:
    """The analysis without the studies at high risk of bias beside the other sensitivity analyses
    (which k may not have allowed: then it is alone)."""
    out["sensitivity"] = {**(out.get("sensitivity") or {}), "excluding_high_risk": section}


def _excluding_high_risk(table: pd.DataFrame, overall: dict[str, str], refit, method: str, test: str,
                         measure: str, scale: str | None) -> dict:
    """The outcome's model without its studies at high risk of bias (metasr.stats.rob_sensitivity),
    with its estimate on the display scale of the studies kept."""
    from metasr.stats import rob_sensitivity

    ids = [_text(s) for s in table["study_id"]]
    labels = {sid: _text(label) for sid, label in zip(ids, table.get("label", pd.Series(ids)), strict=True)}
    result = rob_sensitivity.section(ids, labels, overall, refit, method, test)
    if "model" in result:
        kept = ~np.isin(np.asarray(ids, dtype=str), [s["study_id"] for s in result["left_out"]])
        result["transformed"] = transformed(result["model"], table_display(table[kept], measure, scale))
    return result


def _refit_rows(table: pd.DataFrame, measure: str, method: str, test: str, file, options=None):
    """The outcome's model on some of its rows (a boolean mask), as its main fit: inverse-variance
    models on the rows' effects; Mantel-Haenszel and Peto on the rows' tables, their effects
    computed again (as _table_refit). InputError when the model cannot be fitted on them."""
    def refit(keep: np.ndarray) -> dict:
        part = table[keep]
        check_k(len(part), method, test, 1, file)
        if method in TABLE_METHODS:
            part = _escalc_again(part, measure, method, file, options)
        fit = fit_table(part, measure, method, test, file)
        if not (math.isfinite(fit.estimate) and math.isfinite(float(np.ravel(fit.se)[0]))):
            raise InputError(_problem(f"the {method} estimate is undefined (no events to weigh)", file,
                                      rule="estimable"))
        return fit.to_dict()

    return refit


def _escalc_again(part: pd.DataFrame, measure: str, method: str, file, options=None) -> pd.DataFrame:
    """escalc's effects of some of the tables again: with to = "if0all" a subset without a zero cell
    has none corrected, as metafor's subset = computes them."""
    part = part.drop(columns=[c for c in ESCALC_COLUMNS if c in part.columns])
    with np.errstate(all="ignore"):
        return effects.escalc(part, measures.effect_measure(measure, method), file=file, rows=_rows(part),
                              options=options)


def _dependence_json(dependence: dict | None) -> dict | None:
    if dependence is None:
        return None
    from metasr.stats.dependent import dependence_json

    return dependence_json(dependence)


def _pool_dependent(out: dict, table, measure, method, test, order_by, dependence, display, file,
                    small_study: dict, subgroup: str | None = None, meta_regression: dict | None = None,
                    risk_of_bias: dict[str, str] | None = None, scale: str | None = None) -> dict:
    """Several effect sizes per study, pooled as metasr.stats.dependent says."""
    from metasr.stats.dependent import pool_dependent, refit_studies, subgroups_dependent

    if dependence["method"] == "aggregate":
        check_k(out["k_studies"], method, test, 1, file, what="after aggregation: ")
        _reject_table_method(method, "aggregation within studies", file)
    parts = pool_dependent(table, method, test, dependence, order_by, measure, small_study["min_k"])
    entries = _study_entries(table, parts.pop("weights"))
    for entry in entries:
        entry["es_label"] = es_label(entry)
    out.update(status="pooled", status_message="", studies=entries, **parts)
    out["transformed"] = transformed(out["model"], display)
    if subgroup:
        groups, reason = _subgroup_groups(table, subgroup, method)
        result = None if groups is None else subgroups_dependent(table, groups, method, test, dependence, measure)
        out["subgroups"] = {"variable": subgroup, **(result or {"skipped": reason})}
        if result is not None and "skipped" not in result:
            add_level_transformed(out["subgroups"], table, groups, measure, scale)
            for entry, level in zip(entries, groups or [], strict=True):
                entry["subgroup"] = level
    if meta_regression:
        from metasr.stats.outcome_analyses import meta_regression_dependent

        out["meta_regression"] = meta_regression_dependent(table, meta_regression, method, dependence, file, test)
    if risk_of_bias is not None:
        def refit(keep: np.ndarray) -> dict:
            return refit_studies(table[keep], method, test, dependence, measure, file)

        _add_sensitivity(out, _excluding_high_risk(table, risk_of_bias, refit, method, test, measure, scale))
    return _ordered(json_safe(out))


def es_label(entry: dict) -> str:
    from metasr.dependence import es_label as label

    return label(entry)


def _not_pooled(settings: dict | None, k: int, what: str) -> dict | None:
    """A configured section (small-study methods, meta-regression) of an outcome not pooled."""
    if settings is None:
        return None
    return {"skipped": f"k = {k}: the outcome is not pooled, so no {what}", "settings": settings}


def _subgroups_skipped(column: str, reason: str) -> dict:
    return {"variable": column, "skipped": reason}


def _outcome_subgroups(table: pd.DataFrame, column: str, method: str, test: str, measure: str,
                       entries: list[dict], scale: str | None = None) -> dict:
    """The outcome's subgroup analysis by `column` (subgroup_analysis, as `metasr pool --subgroup`,
    with each level's `transformed`), or why it did not run; each study entry gets its level when
    it ran."""
    groups, reason = _subgroup_groups(table, column, method)
    if groups is None:
        return _subgroups_skipped(column, reason)
    result = _fit_subgroups(table, groups, measure, method, test)
    if "skipped" in result:
        return _subgroups_skipped(column, result["skipped"])
    for entry, level in zip(entries, groups, strict=True):
        entry["subgroup"] = level
    return {"variable": column, **add_level_transformed(result, table, groups, measure, scale)}


def _fit_subgroups(table: pd.DataFrame, groups, measure: str, method: str, test: str) -> dict:
    """One fit per subgroup with the outcome's method and the test between them (`pool --subgroup`
    and the pipeline alike); {"skipped": why} when a subgroup cannot be fitted."""
    if method in TABLE_METHODS:
        return table_subgroups(table, groups, measure, method)
    return subgroup_analysis(table["yi"], table["vi"], groups, method, test, measure)


def table_subgroups(table: pd.DataFrame, groups, measure: str, method: str) -> dict:
    """A Mantel-Haenszel or Peto outcome's subgroup analysis: its own method in each subgroup
    (metafor's rma.mh / rma.peto with subset =, as RevMan's subgroups of such an analysis) and the
    Wald-type test between the subgroups' estimates (Q between, as for inverse-variance subgroups).

    A subgroup whose estimate is undefined (no events in either group of every study: metafor's NA)
    is kept with no estimate and its reason (`not_estimable`, RevMan's "Not estimable") and left out
    of the test (with one estimable subgroup there is no test: Q between None, with a note);
    {"skipped": why} when no subgroup has an estimate."""
    from metasr.stats.formula import factor_levels

    values = np.asarray(groups).astype(str)
    levels = factor_levels(values)
    fits, not_estimable = {}, {}
    for level in levels:
        try:
            fit = fit_table(table[values == level], measure, method, "z")
        except InputError as err:
            not_estimable[level] = err.problems[0].message
            continue
        if math.isfinite(fit.estimate) and math.isfinite(fit.se):
            fits[level] = fit
        else:
            not_estimable[level] = "no events to weigh"
    if not fits:
        level, why = next(iter(not_estimable.items()))
        return {"skipped": f"the {method} estimate of every subgroup is undefined ('{level}': {why})"}
    out: dict = {"levels": levels, "estimate": [fits[lv].estimate if lv in fits else None for lv in levels],
                 "se": [fits[lv].se if lv in fits else None for lv in levels], "tau2": [None] * len(levels),
                 "k": [fits[lv].k if lv in fits else int(np.sum(values == lv)) for lv in levels],
                 "fits": {lv: fit.to_dict() for lv, fit in fits.items()}}
    out.update(_q_between_of_estimable(levels, fits, method))
    if not_estimable:
        out["not_estimable"] = not_estimable
    return out


def _q_between_of_estimable(levels: list, fits: dict, method: str) -> dict:
    """The test between the subgroups that have an estimate with a variance, and a note naming the
    others. A subgroup whose estimate has no variance (an MH risk difference of tables without
    events: 0, SE 0) would have infinite weight in the test."""
    from metasr.stats.subgroup import q_between

    tested = [lv for lv in levels if lv in fits and fits[lv].se > 0]
    Q, df, p = q_between([fits[lv].estimate for lv in tested], [fits[lv].se for lv in tested]) \
        if len(tested) > 1 else (None, None, None)
    out = {"Q_between": Q, "Q_between_df": df, "Q_between_pval": p}
    # without a test (one subgroup has an estimate) the note says so first, and nothing is "left out of" it
    notes = ["no test for subgroup differences: it needs at least two subgroups with an estimate"] if Q is None else []
    left_out = "" if Q is None else " left out of the test for subgroup differences"
    no_variance = [lv for lv in levels if lv in fits and lv not in tested]
    if no_variance:
        notes.append(f"subgroup {_quoted(no_variance)}{left_out}: its estimate has no variance (SE 0)")
    undefined = [lv for lv in levels if lv not in fits]
    if undefined:
        notes.append(f"subgroup {_quoted(undefined)} not estimable (its {method} estimate is undefined)"
                     + (f" and{left_out}" if left_out else ""))
    if notes:
        out["Q_between_note"] = "; ".join(notes)
    return out


def _quoted(levels: list) -> str:
    return ", ".join(f"'{level}'" for level in levels)


def _subgroup_groups(table: pd.DataFrame, column: str, method: str) -> tuple[list[str] | None, str]:
    """Each pooled row's subgroup, or (None, why there is no subgroup analysis)."""
    groups = table[column].map(_text).tolist()
    blank = [str(s) for s, g in zip(table["study_id"], groups, strict=True) if g == ""]
    if blank:  # validation stops a run first; a table given directly can still lack levels
        return None, f"'{column}' is missing for {_some(blank)}"
    if len(set(groups)) < 2:
        return None, f"every pooled study has the same '{column}' ({groups[0]}): no subgroups to compare"
    return groups, ""


ESCALC_COLUMNS = ("yi", "vi", "sei", "effect_source", "continuity_add")  # what effects.escalc adds


def _table_refit(table: pd.DataFrame, measure: str, method: str, test: str, file, options=None):
    """Refits of a Mantel-Haenszel or Peto fit on some of its tables, for its leave-one-out and
    cumulative analyses, as metafor refits them: escalc's effects again on those tables (with
    to = "if0all" a subset without a zero cell has none corrected), the fit's to_dict; where the
    pooled ratio is undefined on them (the rows were checked when the whole table was fitted, so
    that is the only problem left) no estimate, and for MH a Q of 0 when it has one effect or
    none, as rma.mh's; else None (metafor's NA)."""
    from metasr.stats import sensitivity

    def refit(rows: np.ndarray) -> dict | None:
        part = _escalc_again(table.iloc[rows], measure, method, file, options)
        try:
            return fit_table(part, measure, method, test, file).to_dict()
        except InputError:
            if method == "MH" and _q_effects(part, measure) <= 1:
                return {**dict.fromkeys(sensitivity.TABLE_CUMULATIVE_KEYS), "Q": 0.0, "Q_pval": 1.0, "I2": 0.0,
                        "H2": 1.0}
            return None

    return refit


def _q_effects(table: pd.DataFrame, measure: str) -> int:
    """How many of the tables' effects a Mantel-Haenszel Q takes (rma.mh's k.yi)."""
    yi, vi = table["yi"].to_numpy(float), table["vi"].to_numpy(float)
    return int(np.sum(~double_zero(measure, _table_cells(table, measure)) & np.isfinite(yi) & np.isfinite(vi)))


def _outcome_cumulative(fit, table: pd.DataFrame, order_by: str, file, refit=None) -> dict:
    """The cumulative analysis by `order_by` (`refit`: a Mantel-Haenszel or Peto fit's, _table_refit),
    or the reason it was not run."""
    from metasr.stats import sensitivity

    try:
        ordering = _order_values(table, order_by, file)
    except InputError as err:
        blank = order_by not in table.columns or (table[order_by].map(_text) == "").any()
        first = err.problems[0]
        reason = order_skip_reason(table, order_by) if blank else f"{first.message} (row {first.row}: '{first.value}')"
        return {"order_by": order_by, "skipped": reason}
    if refit is not None:
        return sensitivity.table_cumulative(refit, len(table), ordering, order_by=order_by)
    with np.errstate(divide="ignore", invalid="ignore"):  # as sensitivity_dict: metafor's NaN, no warnings
        return sensitivity.cumulative(fit, ordering, order_by=order_by)


def _outcome_sensitivity(fit, table: pd.DataFrame, order_by: str | None, file, refit=None) -> dict:
    """Leave-one-out, with influence for an inverse-variance fit (`refit`: a Mantel-Haenszel or
    Peto fit's refits, _table_refit); cumulative by `order_by`, or the reason it was not run."""
    from metasr.stats import sensitivity

    if refit is not None:
        result = {"leave1out": sensitivity.table_leave_one_out(refit, len(table))}
    else:
        result = sensitivity_dict(fit)
    if order_by:
        result["cumulative"] = _outcome_cumulative(fit, table, order_by, file, refit)
    return result


_KEY_ORDER = ("outcome", "label", "measure", "method", "test", "dependence", "status", "status_message", "k",
              "k_studies", "k_rows", "k_not_usable", "studies", "by_study", "not_usable", "model", "common_effect",
              "rho_sensitivity", "transform", "transformed", "small_study", "meta_regression", "subgroups",
              "sensitivity", "published")
# Keys only some results carry: those of dependent outcomes, and of outcomes with a subgroup setting.
_OPTIONAL_KEYS = ("by_study", "rho_sensitivity", "subgroups")


def _ordered(out: dict) -> dict:
    return {key: out.get(key) for key in _KEY_ORDER if key in out or key not in _OPTIONAL_KEYS}
