"""Many meta-analyses from one table: what `metasr pool --by GROUP` prints, one result per group.

Each group is analysed as `metasr pool` analyses a whole table (`analysis.analyse`, or
`multilevel.analyse_multilevel` with --cluster), and the result is the same, number for number
(tests/stats/test_grouped.py). Where it can be, the work is batched: groups of plain `yi, vi`
rows pooled by the overall intercept-only model of an inverse-variance method are laid out by
their number of studies and fitted together by the engine (`models.fit_many`; a single fit is a
batch of one, and the rows of a batch do not depend on each other), with their Q-profile CIs,
leave-one-out and cumulative refits and Egger's regressions; Begg's test and trim and fill then
run group by group on the fitted models. Every other group (arm data, rows with problems, MH or
Peto, moderators, subgroups, modelling options, three-level models) runs the single analysis.

`what` is "full" (everything analyse gives) or "fit" (the model alone: k, estimate, se, stat,
pval, CI, tau2 and its SE, I2, H2, Q and its test, df, PI, and `transformed`).

The table is read in chunks of rows, so memory stays flat however many groups it holds. Within
a chunk the groups are pooled in sorted order; a group's rows are expected together (as in a
table sorted by the --by column). A group whose rows come back after the chunk holding its
first rows is over is not pooled from part of its rows: it gets a row saying so. A group that
cannot be pooled (too few studies, bad rows) gets a row with the problems; the others are pooled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from metasr import measures
from metasr.errors import InputError, Problem
from metasr.io import os_error_problem, plain_frame
from metasr.stats import analysis, checks, inference
from metasr.stats.models import METHODS_RMA, fit_many
from metasr.stats.tau2 import Studies

WHAT = ("full", "fit")
CHUNK_ROWS = 100_000      # rows read at a time
BATCH_ROWS = 200_000      # studies fitted together at most (groups of one size)
FIT_KEYS = ("k", "estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "tau2_se", "I2", "H2", "Q", "Q_df",
            "Q_pval", "df", "pi_lb", "pi_ub", "transformed")


@dataclass
class Row:
    """One group's result (json-safe, analyse's keys), or the problems that stopped it."""

    key: str
    result: dict | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def pooled(self) -> bool:
        return self.result is not None

    def message(self) -> str:
        return "; ".join(p.format() for p in self.problems)


def fit_part(result: dict) -> dict:
    """The model part of an analysis (what="fit")."""
    return {key: result[key] for key in FIT_KEYS if key in result}


# ---------------------------------------------------------------- reading the table in chunks


def read_chunks(path: str, by: str, chunk_rows: int = CHUNK_ROWS, progress=None) -> Iterator[pd.DataFrame]:
    """The table as text in chunks of rows (as analysis.read_study_table reads it whole), each
    with its rows' spreadsheet numbers in `_row` and its group in `_group`."""
    try:
        handle = open(path, "rb")
    except OSError as err:
        problem = os_error_problem(err, path, "read")
        if problem is None:
            raise
        raise InputError(problem) from None
    with handle:
        size = max(1, handle.seek(0, 2))
        handle.seek(0)
        offset = 0
        try:
            reader = pd.read_csv(handle, dtype=str, keep_default_na=False, skipinitialspace=True,
                                 encoding="utf-8-sig", chunksize=chunk_rows)
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                if by not in chunk.columns:
                    raise InputError(Problem(message=f"--by column '{by}' is missing", file=path, column=by,
                                             rule="required column", hint="name a column of the input table"))
                chunk = plain_frame(chunk)
                chunk["_row"] = np.arange(offset + 2, offset + 2 + len(chunk))
                chunk["_group"] = chunk[by].astype(str).str.strip()
                offset += len(chunk)
                if progress is not None:
                    progress(min(handle.tell(), size), size)
                yield chunk
        except pd.errors.EmptyDataError:
            raise InputError(Problem(message="input file is empty", file=path, rule="CSV with a header row",
                                     hint="write a header row with metafor-style column names"))
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise InputError(Problem(message=f"cannot read the CSV: {err}", file=path, rule="CSV",
                                     hint="save the table as UTF-8 CSV with one header row"))


def groups_in_order(path: str, by: str, chunk_rows: int = CHUNK_ROWS, progress=None) -> Iterator[list]:
    """Lists of (key, rows) of complete groups, chunk by chunk, each list sorted by key. The group
    of a chunk's last row may go on in the next chunk, so it waits for it; a key seen in an
    earlier chunk again is reported (its rows are not together)."""
    done = _SeenKeys()
    chunks = read_chunks(path, by, chunk_rows, progress)
    chunk = next(chunks, None)
    while chunk is not None:
        following = next(chunks, None)
        if following is None:  # the last chunk: every group in it is complete
            yield _split(chunk, done)
            break
        last = chunk["_group"].iat[-1]
        is_last = (chunk["_group"] == last).to_numpy()
        yield _split(chunk[~is_last], done)
        chunk = pd.concat([chunk[is_last], following], ignore_index=True)


class _SeenKeys:
    """Groups already pooled (64-bit hashes of their keys: 8 bytes per group)."""

    def __init__(self):
        self.hashes = np.empty(0, dtype=np.int64)

    def seen(self, keys) -> np.ndarray:
        h = np.array([hash(k) for k in keys], dtype=np.int64)
        return np.isin(h, self.hashes)

    def add(self, keys) -> None:
        self.hashes = np.union1d(self.hashes, np.array([hash(k) for k in keys], dtype=np.int64))


def _split(chunk: pd.DataFrame, done: _SeenKeys) -> list:
    if not len(chunk):
        return []
    codes, keys = pd.factorize(chunk["_group"], sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    rows = chunk.iloc[order].reset_index(drop=True)
    again = done.seen(keys)
    done.add(keys)
    return [(key, rows.iloc[bounds[j]:bounds[j + 1]], bool(again[j])) for j, key in enumerate(keys)]


# ---------------------------------------------------------------- pooling


@dataclass
class Options:
    """What to compute for every group: analyse's (or analyse_multilevel's) keyword arguments."""

    kwargs: dict
    what: str = "full"
    multilevel: bool = False

    def batchable(self) -> bool:
        """Whether groups may go through the batched path (the overall intercept-only model of an
        inverse-variance method, no modelling sections)."""
        k = self.kwargs
        modelling = k.get("modelling")
        return (not self.multilevel and k["method"] in METHODS_RMA and not any(m for m in (k.get("mods") or []))
                and not k.get("subgroup") and not (modelling is not None and modelling.any()))


def pool_groups(path: str, by: str, options: Options, chunk_rows: int = CHUNK_ROWS, progress=None) -> Iterator[Row]:
    """One Row per group of `path` by column `by`, in order (sorted within each chunk)."""
    _check_run(options)
    for groups in groups_in_order(path, by, chunk_rows, progress):
        yield from _pool_chunk(groups, by, options)


def _check_run(options: Options) -> None:
    """What would stop every group: checked once (InputError), before any group is pooled."""
    k = options.kwargs
    if options.multilevel:
        return
    analysis.check_method(k["measure"], k["method"], k["test"], k.get("file"))
    analysis._check_options([m for m in (k.get("mods") or []) if m], k.get("subgroup"), k.get("order"), k.get("file"))
    from metasr.stats import effects

    problems = effects.option_problems(k["measure"], k.get("options") or effects.Options(), k.get("file"))
    if problems:
        raise InputError(problems)


def _pool_chunk(groups: list, by: str, options: Options) -> Iterator[Row]:
    single: dict[int, Row] = {}
    batched: dict[int, Row] = {}
    plan = []
    for j, (key, rows, again) in enumerate(groups):
        if again:
            single[j] = Row(key, problems=[Problem(
                message=f"{by} = {key or '(blank)'}: its rows are not together in the table (some came after other "
                        "groups' rows, beyond the part of the table read at once)",
                rule="groups together", hint=f"sort the table by {by}")])
        else:
            plan.append((j, key, rows))
    clean = _clean_groups(plan, options) if options.batchable() else {}
    for j, key, rows in plan:
        if j not in clean:
            single[j] = _single(key, rows, by, options)
    if clean:
        batched = _batched(clean, by, options)
    for j in range(len(groups)):
        yield batched[j] if j in batched else single[j]


def _single(key: str, rows: pd.DataFrame, by: str, options: Options) -> Row:
    """One group through the single-analysis path."""
    from metasr.stats.multilevel import analyse_multilevel

    table = rows.drop(columns=["_group"]).reset_index(drop=True)
    pool = analyse_multilevel if options.multilevel else analysis.analyse
    try:
        result = pool(table, **options.kwargs)
    except InputError as err:  # this group's problems (its row says which group)
        return Row(key, problems=err.problems)
    return Row(key, fit_part(result) if options.what == "fit" else result)


# ---------------------------------------------------------------- the batched path


_TRUE, _FALSE = analysis._TRUE, analysis._FALSE


@dataclass
class _Group:
    key: str
    rows: pd.DataFrame           # the group's rows (text)
    yi: np.ndarray               # usable studies
    vi: np.ndarray
    usable: np.ndarray           # bool per row
    display: measures.Display


def _number(text: str) -> float:
    """A cell as escalc reads a number (float() of the stripped text), NaN when it is not one."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _clean_groups(plan: list, options: Options) -> dict[int, _Group]:
    """The groups the batched path gives exactly analyse's result for: every usable row a plain
    yi, vi inside the engine's range, one row per study, enough studies. The others (whatever
    would raise a problem or take another path in analyse) go through the single path."""
    k = options.kwargs
    if not plan:
        return {}
    table = plan[0][2]
    if not ({"yi", "vi"} <= set(table.columns)):
        return {}
    frames = [rows for _, _, rows in plan]
    whole = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    sizes = np.array([len(f) for f in frames])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    usable, bad_flag = _usable_flags(whole)
    yi = np.array([_number(t) for t in whole["yi"]])
    vi = np.array([_number(t) for t in whole["vi"]])
    ok_row = ~usable | (np.isfinite(yi) & np.isfinite(vi) & (vi > 0) & (np.abs(yi) <= checks.YI_MAX)
                        & (vi >= checks.VI_MIN) & (vi <= checks.VI_MAX))
    ok_row &= ~bad_flag
    dup = _duplicate_studies(whole, usable)
    need = analysis._minimum_k(k["method"], k["test"], 1)
    scale = k.get("scale")
    constant = None if measures.TRANSFORMS[measures.transform_name(k["measure"], scale)].args \
        else measures.display_for(k["measure"], scale, {})
    clean = {}
    for (j, key, rows), a, b in zip(plan, starts[:-1], starts[1:]):
        use = usable[a:b]
        if not ok_row[a:b].all() or dup[a:b].any() or use.sum() < need:
            continue
        display = constant
        if display is None:
            display = analysis.table_display(rows[use].reset_index(drop=True), k["measure"], scale)
        clean[j] = _Group(key, rows, yi[a:b][use], vi[a:b][use], use, display)
    return clean


def _usable_flags(table: pd.DataFrame):
    """(usable, invalid) per row as analysis.split_usable reads the `usable` column."""
    n = len(table)
    if "usable" not in table.columns:
        return np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    text = table["usable"].str.strip().str.lower()
    yes, no = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    return yes, ~(yes | no)


def _duplicate_studies(table: pd.DataFrame, usable: np.ndarray) -> np.ndarray:
    """Usable rows whose study id another usable row of their group has (checks.duplicate_study_problems)."""
    if "study_id" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    ids = table["study_id"].str.strip()
    keyed = pd.DataFrame({"g": table["_group"], "s": ids})[usable & (ids != "").to_numpy()]
    dup = np.zeros(len(table), dtype=bool)
    dup[keyed.index[keyed.duplicated(keep=False)]] = True
    return dup


def _batched(clean: dict[int, _Group], by: str, options: Options) -> dict[int, Row]:
    """Rows of the clean groups, fitted together by number of studies."""
    by_k: dict[int, list[int]] = {}
    for j, g in clean.items():
        by_k.setdefault(len(g.yi), []).append(j)
    out = {}
    for k, members in by_k.items():
        step = max(1, BATCH_ROWS // max(k, 1))
        for start in range(0, len(members), step):
            part = members[start:start + step]
            out.update(zip(part, _fit_batch([clean[j] for j in part], by, options)))
    return out


def _fit_batch(groups: list[_Group], by: str, options: Options) -> list[Row]:
    kw = options.kwargs
    method, test, measure = kw["method"], kw["test"], kw["measure"]
    y = np.stack([g.yi for g in groups])
    v = np.stack([g.vi for g in groups])
    s = Studies(y, v)
    fits = fit_many(s, method, test)
    full = options.what == "full"
    k = y.shape[1]
    extra = _full_parts(groups, fits, s, options) if full and k >= 1 else None
    rows = []
    for i, g in enumerate(groups):
        fit = fits.row(i, g.yi, g.vi, measure=measure)
        model = fit.to_dict()
        if not full:
            model.pop("weights")
            model["transformed"] = analysis.transformed(model, g.display)
            rows.append(Row(g.key, analysis.json_safe(model)))
            continue
        result = {"measure": measure, "method": method, "test": test, "transform": g.display.to_json()}
        rows.append(_full_result(g, fit, model, result, extra, i, by, options))
    return rows


def _full_parts(groups, fits, s: Studies, options: Options) -> dict:
    """What every group's full analysis needs that is computed for all at once."""
    from metasr.stats import bias, sensitivity

    kw = options.kwargs
    method, test = kw["method"], kw["test"]
    m, k = s.y.shape
    parts: dict = {}
    if method != "FE":
        parts["qp"] = inference.q_profile_many(s)
    if k >= analysis.SENSITIVITY_MIN_K:
        loo_y = np.concatenate([np.delete(s.y, i, axis=1)[:, None, :] for i in range(k)], axis=1).reshape(m * k, k - 1)
        loo_v = np.concatenate([np.delete(s.v, i, axis=1)[:, None, :] for i in range(k)], axis=1).reshape(m * k, k - 1)
        parts["deleted"] = sensitivity.refits(method, test, loo_y, loo_v)
        X = np.stack([bias.sei_design(g.vi) for g in groups])
        parts["sei"] = fit_many(Studies(s.y, s.v, None, X), method, test)
        parts["lm"] = fit_many(Studies(s.y, s.v, None, X), "FE", "z")
    return parts


def _full_result(g: _Group, fit, model: dict, result: dict, parts: dict, i: int, by: str, options: Options) -> Row:
    from metasr.stats import bias, sensitivity

    kw = options.kwargs
    order = kw.get("order")
    k = len(g.yi)
    if "qp" in parts:
        model.update({key: value[i].tolist() for key, value in parts["qp"].items()})
    result.update(model)
    table = g.rows[g.usable].reset_index(drop=True)
    try:
        if k >= analysis.SENSITIVITY_MIN_K:
            sei_fit = parts["sei"].row(i, g.yi, g.vi, bias.sei_design(g.vi), coef_names=["intrcpt", "x1"])
            egger_lm = _egger_lm(fit, parts["lm"], i)
            result.update(analysis.bias_dict(fit, sei_fit=sei_fit, egger_lm=egger_lm))
            ordering = analysis._order_values(table, order, kw.get("file")) if order else None
            cumulated = None
            if ordering is not None:
                idx = sensitivity.cumulative_order(fit, ordering)
                cumulated = sensitivity.refits(fit.method, fit.test, *_cumulative_arrays(g, idx))
            result.update(analysis.sensitivity_dict(fit, ordering, order, deleted=parts["deleted"].rows(i * k, (i + 1) * k),
                                                    cumulated=cumulated))
    except InputError as err:
        return Row(g.key, problems=err.problems)
    result["transformed"] = analysis.transformed(result, g.display)
    result["yi"] = g.yi.tolist()
    result["vi"] = g.vi.tolist()
    not_usable = _not_usable(g)
    if not_usable:
        result["not_usable"] = not_usable
    return Row(g.key, analysis.json_safe(result))


def _cumulative_arrays(g: _Group, idx):
    from metasr.stats import batch

    return batch.cumulative_arrays(g.yi[idx], g.vi[idx])


def _egger_lm(fit, lm_fits, i: int) -> dict:
    """bias.egger_lm from the weighted least squares of yi on sei fitted for all groups at once."""
    from metasr.stats import bias

    return bias.egger_lm(fit, lm=(lm_fits.beta[i], lm_fits.vb[i], lm_fits.Q[i]))  # FE, z: vb = (X'WX)^-1


def _not_usable(g: _Group) -> list[dict]:
    """analysis.split_usable's entries for the rows marked not usable."""
    rows = g.rows
    out = []
    for i in np.flatnonzero(~g.usable):
        reason = rows["not_usable_reason"].iat[i] if "not_usable_reason" in rows.columns else ""
        out.append({"study_id": analysis._text(rows["study_id"].iat[i]) if "study_id" in rows.columns else None,
                    "row": int(rows["_row"].iat[i]),
                    "reason": analysis._text(reason) or "marked not usable (no reason given)"})
    return out


# ---------------------------------------------------------------- output: json, jsonl, csv

FORMATS = ("json", "jsonl", "csv")


def row_message(row: Row) -> str:
    """The problems of a group that was not pooled, on one line (where in the input, what, rule)."""
    def one(p: Problem) -> str:
        where = replace(p, file=None).location()
        return (f"{where}: " if where else "") + p.message + (f" [rule: {p.rule}]" if p.rule else "")

    return "; ".join(one(p) for p in row.problems)


def _record(row: Row, by: str | None) -> dict:
    """A row as one flat-topped record: the group, status, message and the result's keys."""
    record = {} if by is None else {_group_column(by): row.key}
    if row.pooled:
        record["status"] = "pooled"
        record.update(row.result)
    else:
        record.update(status="failed", message=row_message(row), problems=[p.to_dict() for p in row.problems])
    return record


def _group_column(by: str) -> str:
    return by if by not in ("status", "message", "problems", *FIT_KEYS) else "group"


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested sections as dotted columns (egger.pval); two-number CIs as _lb/_ub; other lists
    (weights, yi, leave-one-out arrays ...) only in JSON."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            if key.endswith("_ci") and len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
                out[name + "_lb"], out[name + "_ub"] = value
        else:
            out[name] = value
    return out


class Writer:
    """Streams rows to a text handle as one JSON object keyed by group (json), one JSON object
    per line (jsonl) or a CSV table (csv: spooled to a temporary file, as its columns are the
    union of every row's, and written through metasr.io's CSV writer at the end)."""

    def __init__(self, handle, fmt: str, by: str | None):
        import json

        self.handle, self.fmt, self.by = handle, fmt, by
        self.dumps = json.JSONEncoder(allow_nan=False, separators=(", ", ": ")).encode
        self.count = 0
        self.columns = dict.fromkeys(([] if by is None else [_group_column(by)]) + ["status", "message"])
        self.spool = None

    def write(self, row: Row) -> None:
        if self.fmt == "jsonl":
            self.handle.write(self.dumps(_record(row, self.by)) + "\n")
        elif self.fmt == "json":
            value = row.result if row.pooled else {"status": "failed", "message": row_message(row),
                                                   "problems": [p.to_dict() for p in row.problems]}
            self.handle.write(("{" if self.count == 0 else ",\n") + self.dumps(row.key) + ": " + self.dumps(value))
        else:
            self._spool(row)
        self.count += 1

    def _spool(self, row: Row) -> None:
        import pickle
        import tempfile

        if self.spool is None:
            self.spool = tempfile.TemporaryFile()
        record = _record(row, self.by)
        record.pop("problems", None)
        flat = flatten(record)
        for key in flat:
            if key not in self.columns:
                self.columns[key] = None
        pickle.dump(flat, self.spool, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        if self.fmt == "json":
            self.handle.write("{}\n" if self.count == 0 else "}\n")
        elif self.fmt == "csv":
            self._write_csv()
        self.handle.flush()

    def _write_csv(self) -> None:
        import pickle

        from metasr.io import csv_stream

        columns = list(self.columns)
        write = csv_stream(self.handle, columns)
        if self.spool is None:
            return
        self.spool.seek(0)
        batch = []
        while True:
            try:
                batch.append(pickle.load(self.spool))
            except EOFError:
                break
            if len(batch) >= 10_000:
                write(batch)
                batch = []
        write(batch)
        self.spool.close()
