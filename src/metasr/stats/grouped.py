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

import collections
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import IO, Any

import numpy as np
import pandas as pd

from metasr import measures
from metasr.analysis_settings import SMALL_STUDY_MIN_K, sections_at
from metasr.errors import InputError, Problem
from metasr.forked import Deferred, ordered_map
from metasr.io import (
    MISSING_MARKERS,
    check_header,
    check_pandas_frame,
    check_row_widths,
    check_utf8,
    csv_shape,
    os_error_problem,
    plain_frame,
    plain_number,
    plain_number_texts,
    read_csv_header,
    spreadsheet_rows,
    undecodable_problem,
)
from metasr.stats import analysis, checks, inference, sections, tables
from metasr.stats.models import METHODS_RMA, fit_many
from metasr.stats.table_parts import NotPlain, Part, PartFile, iter_parts, part_runs
from metasr.stats.tau2 import Studies

WHAT = ("full", "fit")
CHUNK_ROWS = 100_000      # rows read at a time
BATCH_ROWS = 200_000      # studies fitted together at most (groups of one size)
FIT_KEYS = ("k", "n_clusters", "estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "tau2", "tau2_se", "sigma2", "I2",
            "I2_levels", "H2", "Q", "Q_df", "Q_pval", "df", "pi_lb", "pi_ub", "robust", "transformed")


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


def read_chunks(path: str, by: str, chunk_rows: int = CHUNK_ROWS, progress=None,
                effects_as_numbers: bool = False, part: Part | None = None) -> Iterator[pd.DataFrame]:
    """The table as text in chunks of rows (as analysis.read_study_table reads it whole), each
    with its rows' spreadsheet numbers in `_row` and its group in `_group`.

    With `effects_as_numbers`, the yi and vi columns are read as numbers by pandas' parser while
    every cell of them is a plain number in the engine's range (`plain_effects`): its numbers are
    Python's float() of the same text, and reading them so is several times faster than reading
    text and converting it. No message quotes such a cell's text. From the first chunk where one
    is not (a blank cell, a word, a vi of 0), the rest of the table is read as text, as without
    the option.

    With `part` (table_parts), only the rows of that part of the file, which has been checked."""
    if part is None:
        lines_before, width = csv_shape(path)  # (Excel's separator line `sep=,`: skipped)
        check_utf8(path)  # before the first group's result is written, not when pandas meets the byte
    else:  # (table_parts cuts no table with a separator line)
        lines_before, width = 0, len(read_csv_header(path))
    rows_read = 0 if part is None else part.rows_before
    read = _Reading(path, width, chunk_rows, part, lines_before)
    if effects_as_numbers:
        with closing(_number_chunks(read)) as number_chunks:
            for chunk, at in number_chunks:
                if chunk is None or not plain_effects(chunk["yi"].to_numpy(), chunk["vi"].to_numpy()).all():
                    break
                rows_read += len(chunk)
                yield _framed(path, by, width, chunk, rows_read - len(chunk))
                if progress is not None:
                    progress(*at)
            else:
                return
    rows_to_skip = rows_read - (0 if part is None else part.rows_before)  # read as numbers already
    for chunk, at in _text_chunks(read):
        if rows_to_skip > 0:
            rows_to_skip -= len(chunk)
            continue
        rows_read += len(chunk)
        yield _framed(path, by, width, chunk, rows_read - len(chunk))
        if progress is not None:
            progress(*at)


def plain_effects(yi: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """Per row, whether yi and vi are numbers the engine takes as they are (checks.effect_problems)."""
    if yi.dtype.kind != "f" or vi.dtype.kind != "f":
        return np.zeros(len(yi), dtype=bool)
    return (np.abs(yi) <= checks.YI_MAX) & (vi >= checks.VI_MIN) & (vi <= checks.VI_MAX)  # False for NaN and inf


def _framed(path: str, by: str, width: int, chunk: pd.DataFrame, rows_before: int) -> pd.DataFrame:
    check_pandas_frame(path, width, chunk)
    chunk.columns = [str(c).strip() for c in chunk.columns]
    if by not in chunk.columns:
        raise InputError(Problem(message=f"--by column '{by}' is missing", file=path, column=by,
                                 rule="required column", hint="name a column of the input table"))
    chunk = spreadsheet_rows(plain_frame(chunk), rows_before)
    chunk["_group"] = _keys(chunk[by])
    return chunk


@dataclass
class _Reading:
    """How pandas reads the table (or a part of it, table_parts) in chunks."""

    path: str
    width: int            # the header's columns (usecols)
    chunk_rows: int
    part: Part | None = None
    lines_before: int = 0  # lines before the header (skiprows: Excel's separator line)
    columns: tuple[str, ...] | None = None  # these alone, by name (usecols), instead of the header's


def _chunks_read(read: _Reading, dtype) -> Iterator[tuple[pd.DataFrame, tuple[int, int]]]:
    """pandas' chunks of the file's `width` header columns (as analysis.read_study_table reads
    them), each with (bytes read, file size) after it."""
    try:
        handle = PartFile(read.path, read.part)
    except OSError as err:
        problem = os_error_problem(err, read.path, "read")
        if problem is None:
            raise
        raise InputError(problem) from None
    with handle:
        size = max(1, handle.size())
        for chunk in pd.read_csv(handle, dtype=dtype, keep_default_na=False, skipinitialspace=True,
                                 encoding="utf-8-sig", skip_blank_lines=False,
                                 usecols=read.columns or range(read.width),
                                 index_col=False, chunksize=read.chunk_rows, skiprows=read.lines_before):
            yield chunk, (min(handle.tell(), size), size)


def _number_chunks(read: _Reading) -> Generator[tuple[pd.DataFrame | None, tuple[int, int]]]:
    """Chunks with yi and vi read as numbers; (None, ...) where a cell of them is not one or the
    table has another problem (which the text reader then names)."""
    header = [cell.lstrip("\ufeff") for cell in read_csv_header(read.path, skip_separator_line=True)]
    names = {variant for cell in header if cell.strip() in ("yi", "vi")
             for variant in (cell, cell.strip(), cell.lstrip())}
    if len({cell.strip() for cell in header} & {"yi", "vi"}) < 2:
        yield None, (0, 0)
        return
    dtype: defaultdict[str, Any] = defaultdict(lambda: str, dict.fromkeys(names, "float64"))
    try:
        yield from _chunks_read(read, dtype)
    except (ValueError, UnicodeDecodeError):  # pandas' parser errors are ValueErrors too
        yield None, (0, 0)


def _text_chunks(read: _Reading) -> Iterator[tuple[pd.DataFrame, tuple[int, int]]]:
    path = read.path
    try:
        yield from _chunks_read(read, str)
    except pd.errors.EmptyDataError:
        raise InputError(Problem(message="input file is empty", file=path, rule="CSV with a header row",
                                 hint="write a header row with metafor-style column names")) from None
    except UnicodeDecodeError:  # named by row and column, with what the file looks like
        raise undecodable_problem(path) from None
    except pd.errors.ParserError as err:
        check_row_widths(path, read.width, exact=True)  # a row too long: named with its row number
        raise InputError(Problem(message=f"cannot read the CSV: {err}", file=path, rule="CSV",
                                 hint="save the table as UTF-8 CSV with one header row")) from None


def _keys(column: pd.Series) -> pd.Series:
    """The groups' keys: the column's text without spaces around it. Nearly always no key has
    any, and seeing that in a list is several times faster than pandas' str.strip of every cell."""
    text = column.astype(str)
    keys = text.tolist()
    try:
        if list(map(str.strip, keys)) == keys:
            return text
    except TypeError:  # not all text: let pandas say what a missing cell becomes
        pass
    return text.str.strip()


def chunks_of_groups(path: str, by: str, chunk_rows: int = CHUNK_ROWS, progress=None,
                     effects_as_numbers: bool = False, part: Part | None = None) -> Iterator[Chunk]:
    """The table as Chunks of complete groups, each sorted by key. The group of a chunk's last
    row may go on in the next chunk, so it waits for it; a key seen in an earlier chunk again is
    marked (its rows are not together)."""
    done = _SeenKeys()
    chunks = read_chunks(path, by, chunk_rows, progress, effects_as_numbers, part)
    chunk = next(chunks, None)
    while chunk is not None:
        following = next(chunks, None)
        if following is None:  # the last chunk: every group in it is complete
            yield Chunk.of(chunk, done)
            break
        last = chunk["_group"].iat[-1]
        is_last = (chunk["_group"] == last).to_numpy()
        if not is_last.all():
            yield Chunk.of(chunk[~is_last], done)
        chunk = pd.concat([chunk[is_last], following], ignore_index=True)


class _SeenKeys:
    """Groups already pooled (64-bit hashes of their keys, kept sorted: 8 bytes per group). A chunk's
    keys are looked up by binary search and merged in by insertion, so each chunk costs a pass over
    the keys seen, not a new sort of them all (which grew faster than the number of groups)."""

    def __init__(self):
        self.hashes = np.empty(0, dtype=np.int64)

    def seen_and_add(self, keys) -> np.ndarray:
        h = np.array([hash(k) for k in keys], dtype=np.int64)
        at = np.searchsorted(self.hashes, h)
        seen = self.hashes[np.minimum(at, len(self.hashes) - 1)] == h if len(self.hashes) else np.zeros(len(h), bool)
        new = np.unique(h[~seen])
        self.hashes = np.insert(self.hashes, np.searchsorted(self.hashes, new), new)
        return seen


@dataclass
class Chunk:
    """Complete groups: their rows sorted by key (stable), group j in rows[bounds[j]:bounds[j+1]]."""

    keys: list
    rows: pd.DataFrame
    bounds: np.ndarray
    again: np.ndarray  # the key was a group of an earlier chunk

    @classmethod
    def of(cls, frame: pd.DataFrame, done: _SeenKeys) -> Chunk:
        codes, keys = pd.factorize(frame["_group"], sort=True)
        if np.all(codes[1:] >= codes[:-1]):  # sorted already (a table sorted by its groups): no copy
            sorted_codes, rows = codes, frame.reset_index(drop=True)
        else:
            order = np.argsort(codes, kind="stable")
            sorted_codes, rows = codes[order], frame.iloc[order].reset_index(drop=True)
        bounds = np.searchsorted(sorted_codes, np.arange(len(keys) + 1))
        keys = keys.tolist()  # a list of the keys at once (iterating a pandas Index is slow)
        return cls(keys, rows, bounds, done.seen_and_add(keys))

    def group(self, j: int) -> pd.DataFrame:
        return self.rows.iloc[self.bounds[j]:self.bounds[j + 1]]

    @property
    def group_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.keys)), np.diff(self.bounds))


# ---------------------------------------------------------------- pooling


@dataclass
class Options:
    """What to compute for every group: analyse's (or analyse_multilevel's) keyword arguments."""

    kwargs: dict
    what: str = "full"
    multilevel: bool = False

    def display_reads_rows(self) -> bool:
        """Whether the measure's display takes arguments from the studies' rows (the harmonic mean
        of ni or ti: tables.table_display), so that each group has its own."""
        k = self.kwargs
        return bool(measures.TRANSFORMS[measures.transform_name(k["measure"], k.get("scale"))].args)

    def batchable(self) -> bool:
        """Whether groups may go through the batched path (the overall intercept-only model of an
        inverse-variance method, no modelling sections)."""
        k = self.kwargs
        modelling = k.get("modelling")
        return (not self.multilevel and k["method"] in METHODS_RMA and not any(m for m in (k.get("mods") or []))
                and not k.get("subgroup") and not (modelling is not None and modelling.any()))


@dataclass
class Block:
    """Groups pooled on the batched path with what="fit": their keys and one list of json-safe
    values per column (analyse's keys; `transformed.estimate` ... for the nested section)."""

    keys: list
    columns: dict

    def results(self) -> Iterator[Row]:
        names = list(self.columns)
        nested = [n for n in names if "." in n]
        for i, key in enumerate(self.keys):
            result = {n: self.columns[n][i] for n in names if "." not in n}
            for n in nested:
                section, name = n.split(".", 1)
                result.setdefault(section, {})[name] = self.columns[n][i]
            yield Row(key, result)


def pool_groups(path: str, by: str, options: Options, chunk_rows: int = CHUNK_ROWS, progress=None) -> Iterator[Row]:
    """One Row per group of `path` by column `by`, in order (sorted within each chunk)."""
    for item in pool_blocks(path, by, options, chunk_rows, progress):
        yield from item.results() if isinstance(item, Block) else (item,)


def pool_blocks(path: str, by: str, options: Options, chunk_rows: int = CHUNK_ROWS, progress=None):
    """Rows and Blocks (runs of groups pooled together) in group order."""
    _check_run(options)
    yield from _blocks(path, by, options, chunk_rows, progress)


def pool_rendered(path: str, by: str, options: Options, render, jobs: int = 1, chunk_rows: int | None = None,
                  progress=None) -> Generator[Rendered]:
    """`render(item)` of every item of `pool_blocks`, in the same order. With jobs > 1 a plain
    table is cut into the parts `pool_blocks` would read as chunks (table_parts), and up to
    `jobs` worker processes (metasr.forked) pool and render a part each; the results are the same.
    With one job the table is cut too where the parts may be read as numbers alone (`_plain_block`)."""
    _check_run(options)
    chunk_rows = chunk_rows or CHUNK_ROWS
    cut = _cut(path, by, chunk_rows) if jobs > 1 or (options.what == "fit" and options.batchable()) else None
    if cut is None:
        yield from map(render, _blocks(path, by, options, chunk_rows, progress))
        return
    check_header(path, read_csv_header(path))  # what check_csv_shape says beyond what the scan sees
    check_utf8(path)

    def pooled_part(part: Part) -> tuple[Part, list[Rendered]]:
        return part, list(map(render, _blocks(path, by, options, part.rows, None, part)))

    found = _Found(cut)
    held: list[tuple[Part, list[Rendered]]] = []
    results = ordered_map(pooled_part, found, jobs)
    try:
        for done in results:
            held.append(done)
            if not found.last and len(held) > jobs:  # the scan, paced by the workers, is behind
                found.finish()
            if not found.last:  # nothing is given before the whole table is known to be plain
                continue
            for part, rendered in held:
                yield from rendered
                if progress is not None:
                    progress(part.end, found.size)
            held.clear()
    except NotPlain:  # found late in the scan: nothing was given yet
        results.close()  # (the workers stop before one process reads the table)
        yield from map(render, _blocks(path, by, options, chunk_rows, progress))
    finally:
        results.close()


def _cut(path: str, by: str, chunk_rows: int) -> Iterator[Part] | None:
    """The parts of a plain table as the scan finds them, or None for a table of one part or one
    that is not plain as far as the first part."""
    found = iter_parts(path, by, chunk_rows)
    try:
        first = next(found)
    except NotPlain:
        return None
    if first.last:
        return None
    return itertools.chain([first], found)


class _Found:
    """The parts, watched: `last` once the last part (the end of the scan) has been seen."""

    def __init__(self, cut: Iterator[Part]):
        self.cut, self.last, self.size = cut, False, 1
        self.ahead: collections.deque[Part] = collections.deque()

    def __iter__(self) -> Iterator[Part]:
        while True:
            if not self.ahead and not self._next():
                return
            yield self.ahead.popleft()

    def finish(self) -> None:
        """Scan to the end now (NotPlain where the table is not plain), keeping the parts ahead."""
        while self._next():
            pass

    def _next(self) -> bool:
        part = next(self.cut, None)
        if part is not None:
            self.last, self.size = part.last, max(self.size, part.end)
            self.ahead.append(part)
        return part is not None


def _blocks(path: str, by: str, options: Options, chunk_rows: int, progress,
            part: Part | None = None) -> Iterator[Row | Block]:
    """pool_blocks' items, the run checked already (`_check_run`); of one part of the table with `part`."""
    # What "fit" gives for groups of plain numbers comes from their numbers alone (never their text)
    effects_as_numbers = options.what == "fit" and options.batchable()
    if part is not None and effects_as_numbers and (block := _plain_block(path, by, options, part)) is not None:
        yield block
        return
    for chunk in chunks_of_groups(path, by, chunk_rows, progress, effects_as_numbers, part):
        yield from _pool_chunk(chunk, by, options)


def _plain_block(path: str, by: str, options: Options, part: Part) -> Block | None:
    """What `_blocks` gives for a part of a plain table when every group of it is clean (one
    Block), found from the part's yi and vi read as numbers and its keys found with numpy
    (`_plain_chunk`); None where that does not apply, and the part is read as usual. Reading it as
    text (a Python string per cell of the --by column, then the frame's checks) was two fifths of
    the command's work for a table of yi and vi."""
    chunk = None if options.display_reads_rows() else _plain_chunk(path, by, part)
    if chunk is None:
        return None
    clean = _Clean.of(chunk, options)
    if clean is None or not clean.ok.all():  # a group the single path names (too few studies)
        return None
    return Block(chunk.keys, clean.fit_columns(np.arange(len(chunk.keys)), options))


def _plain_chunk(path: str, by: str, part: Part) -> Chunk | None:
    """The part as `chunks_of_groups` gives it to the batched path, its rows only yi and vi (as
    `read_chunks` reads them as numbers), where nothing else of the table changes the result: no
    column `_Clean.of` reads besides them (`_flags_or_labels`), names as written (no spaces
    around them), keys no apostrophe starts (which `plain_frame` would take off). None
    otherwise, or where a cell of yi or vi is not a number."""
    header = [cell.lstrip("\ufeff") if i == 0 else cell for i, cell in enumerate(read_csv_header(path))]
    names = set(header)
    if (len(names) < len(header) or not {by, "yi", "vi"} <= names or by in ("yi", "vi") or _flags_or_labels(header)
            or any(c != c.strip() for c in header)):
        return None
    found = part_runs(path, part, len(header), header.index(by))
    if found is None:
        return None
    starts, run_keys = found
    keys = [key.decode("utf-8") for key in run_keys.tolist()]
    if len(set(keys)) < len(keys) or any(key.startswith("'") for key in keys):
        return None
    effects = _part_effects(_Reading(path, len(header), part.rows, part, columns=("yi", "vi")))
    if effects is None or len(effects) != part.rows:
        return None
    order = sorted(range(len(keys)), key=keys.__getitem__)  # Chunk.of's order: keys sorted
    ends = np.append(starts[1:], part.rows)
    sizes = (ends - starts)[order]
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    rows = np.repeat(starts[order] - bounds[:-1], sizes) + np.arange(part.rows)  # the runs in key order
    return Chunk([keys[j] for j in order], effects.iloc[rows].reset_index(drop=True), bounds,
                 np.zeros(len(keys), dtype=bool))


def _part_effects(read: _Reading) -> pd.DataFrame | None:
    """The part's `read.columns` as numbers, read as read_chunks reads yi and vi as numbers (one
    chunk of the part's rows); None where a cell is not one (or the file cannot be read: the text
    reader then says why)."""
    try:
        chunks = [chunk for chunk, _ in _chunks_read(read, "float64")]
    except (ValueError, UnicodeDecodeError, InputError):  # pandas' parser errors are ValueErrors too
        return None
    return chunks[0] if len(chunks) == 1 else None


def _check_run(options: Options) -> None:
    """What would stop every group: checked once (InputError), before any group is pooled."""
    k = options.kwargs
    if options.multilevel:
        return
    tables.check_method(k["measure"], k["method"], k["test"], k.get("file"))
    analysis._check_options([m for m in (k.get("mods") or []) if m], k.get("subgroup"), k.get("order"), k.get("file"))
    from metasr.stats import effects

    problems = effects.option_problems(k["measure"], k.get("options") or effects.Options(), k.get("file"))
    if problems:
        raise InputError(problems)


def _pool_chunk(chunk: Chunk, by: str, options: Options):
    n = len(chunk.keys)
    clean = _Clean.of(chunk, options) if options.batchable() else None
    is_clean = np.zeros(n, dtype=bool) if clean is None else clean.ok & ~chunk.again
    done: dict[int, Row] = {}
    if clean is not None and is_clean.any():
        if options.what == "fit":
            columns = clean.fit_columns(np.flatnonzero(is_clean), options)
        else:
            done.update(clean.full_rows(np.flatnonzero(is_clean), by, options))
    j = 0
    while j < n:
        if is_clean[j] and options.what == "fit":
            stop = j
            while stop < n and is_clean[stop]:
                stop += 1
            yield Block(chunk.keys[j:stop], {name: values[j:stop] for name, values in columns.items()})
            j = stop
            continue
        if j in done:
            yield done[j]
        elif chunk.again[j]:
            yield Row(chunk.keys[j], problems=[Problem(
                message=f"the rows of {by} = {chunk.keys[j] or '(blank)'} are not together in the table (some come "
                        "after other groups' rows, beyond the part of the table read at once): not pooled again",
                rule="groups together", hint=f"sort the table by {by}")])
        else:
            yield _single(chunk.keys[j], chunk.group(j), options)
        j += 1


def _single(key: str, rows: pd.DataFrame, options: Options) -> Row:
    """One group through the single-analysis path."""
    from metasr.stats.multilevel import analyse_multilevel

    table = rows.drop(columns=["_group"]).reset_index(drop=True)
    for name in ("yi", "vi"):  # read as numbers (read_chunks): the text analyse reads, the same floats
        if name in table.columns and table[name].dtype.kind in "fO":
            table[name] = [v if isinstance(v, str) else repr(float(v)) for v in table[name].tolist()]
    try:
        if options.multilevel:
            result = analyse_multilevel(table, **options.kwargs)
        else:  # the model alone for what="fit": no refits, whose cost grows with k squared
            result = analysis.analyse(table, **options.kwargs, fit_only=options.what == "fit")
    except InputError as err:  # this group's problems (its row says which group)
        return Row(key, problems=err.problems)
    return Row(key, fit_part(result) if options.what == "fit" else result)


# ---------------------------------------------------------------- the batched path


_TRUE, _FALSE = tables._TRUE, tables._FALSE


def _numbers(column: pd.Series) -> np.ndarray:
    """Cells as escalc reads numbers (io.plain_number), NaN where that fails."""
    if column.dtype.kind == "f":  # read as numbers (read_chunks)
        return column.to_numpy()
    values = column.to_numpy(dtype=object)
    try:
        if plain_number_texts(values):  # else some cell is one float() reads and escalc does not
            return values.astype(float)  # float() of each cell
    except (ValueError, TypeError):
        pass
    out = np.empty(len(values))
    for i, text in enumerate(values):
        try:
            out[i] = plain_number(text)
        except (ValueError, TypeError):
            out[i] = math.nan
    return out


@dataclass
class _Clean:
    """Which groups of a chunk the batched path gives exactly analyse's result for: every usable
    row a plain yi, vi inside the engine's range, one row per study, enough studies. The others
    (whatever would raise a problem or take another path in analyse) take the single path."""

    chunk: Chunk
    ok: np.ndarray        # per group
    usable: np.ndarray    # per row
    yi: np.ndarray        # per row
    vi: np.ndarray
    k: np.ndarray         # usable rows per group
    displays: list        # per group (None where not needed)

    @classmethod
    def of(cls, chunk: Chunk, options: Options) -> _Clean | None:
        kw = options.kwargs
        rows = chunk.rows
        if not {"yi", "vi"} <= set(rows.columns):
            return None
        usable, bad_flag = _usable_flags(rows)
        yi, vi = _numbers(rows["yi"]), _numbers(rows["vi"])
        bad_row = (usable & ~plain_effects(yi, vi)) | bad_flag | _duplicate_studies(rows, usable)
        group = chunk.group_of_row
        n = len(chunk.keys)
        k = np.bincount(group, weights=usable, minlength=n).astype(int)
        ok = (np.bincount(group, weights=bad_row, minlength=n) == 0)
        ok &= k >= tables._minimum_k(kw["method"], kw["test"], 1)
        scale = kw.get("scale")
        displays: list[measures.Display | None] = [measures.display_for(kw["measure"], scale, {})] * n
        if options.display_reads_rows():
            displays = [tables.table_display(chunk.group(j)[usable[chunk.bounds[j]:chunk.bounds[j + 1]]]
                                               .reset_index(drop=True), kw["measure"], scale) if ok[j] else None
                        for j in range(n)]
        return cls(chunk, ok, usable, yi, vi, k, displays)

    def buckets(self, groups: np.ndarray):
        """(groups, y (m, k), v (m, k), row indices) of the groups, by number of studies, in
        batches of at most BATCH_ROWS studies."""
        use_idx = np.flatnonzero(self.usable)
        first = np.concatenate([[0], np.cumsum(self.k)])[:-1]  # each group's first usable row in use_idx
        for k in np.unique(self.k[groups]):
            members = groups[self.k[groups] == k]
            step = max(1, BATCH_ROWS // max(int(k), 1))
            for start in range(0, len(members), step):
                part = members[start:start + step]
                idx = use_idx[first[part][:, None] + np.arange(k)]
                yield part, self.yi[idx], self.vi[idx], idx

    # ------------------------------------------------------------ what = "fit"

    def fit_columns(self, groups: np.ndarray, options: Options) -> dict:
        """Per column (analyse's fit keys) a list over the chunk's groups (None where not clean)."""
        kw = options.kwargs
        n = len(self.chunk.keys)
        arrays: dict[str, np.ndarray] = {}
        for part, y, v, _ in self.buckets(groups):
            f = fit_many(Studies(y, v), kw["method"], kw["test"])
            values = {"k": np.full(len(part), y.shape[1]), "estimate": f.beta[:, 0], "se": f.se[:, 0],
                      "stat": f.stat[:, 0], "pval": f.pval[:, 0], "ci_lb": f.ci_lb[:, 0], "ci_ub": f.ci_ub[:, 0],
                      "tau2": f.tau2, "tau2_se": f.tau2_se, "I2": f.I2, "H2": f.H2, "Q": f.Q, "Q_df": f.Q_df,
                      "Q_pval": f.Q_pval, "df": f.df, "pi_lb": f.pi_lb, "pi_ub": f.pi_ub}
            for name, value in values.items():
                if value is None:
                    continue
                if name not in arrays:
                    arrays[name] = np.zeros(n, dtype=np.asarray(value).dtype)
                arrays[name][part] = value
        columns = {name: _json_values(arrays[name]) for name in FIT_KEYS if name in arrays}
        # The identity transform gives the value itself (None when it is not finite): then the
        # transformed column is the very list of values, which the CSV writer formats once.
        identity = all(d.identity for d in self.displays if d is not None)
        for name in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
            columns[f"transformed.{name}"] = columns[name] if identity else self._back(columns[name], groups)
        return columns

    def _back(self, raw: list, groups) -> list:
        """display.back of every value (tables.transformed), as the single path does it."""
        out: list = [None] * len(raw)
        for j in groups:
            out[j] = self.displays[j].back(raw[j])
        return out

    # ------------------------------------------------------------ what = "full"

    def full_rows(self, groups: np.ndarray, by: str, options: Options) -> dict[int, Row]:
        out = {}
        for part, y, v, idx in self.buckets(groups):
            out.update(_full_batch(self, part, y, v, idx, by, options))
        return out


def _json_values(a: np.ndarray) -> list:
    """Plain Python values (tables.json_safe): ints stay ints, non-finite floats are None."""
    values = a.tolist()
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        values = [x if math.isfinite(x) else None for x in values]
    return values


def _flags_or_labels(columns) -> bool:
    """Whether a table has a column `_Clean.of` reads besides yi and vi: usable flags
    (`_usable_flags`) or study labels (`_duplicate_studies`)."""
    return "usable" in columns or any(_labels_studies(c) for c in columns)


def _labels_studies(column) -> bool:
    return str(column).strip().lower() in checks.STUDY_COLUMNS


def _usable_flags(table: pd.DataFrame):
    """(usable, invalid) per row as analysis.split_usable reads the `usable` column."""
    n = len(table)
    if "usable" not in table.columns:
        return np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    text = table["usable"].str.strip().str.lower()
    yes, no = text.isin(_TRUE).to_numpy(), text.isin(_FALSE).to_numpy()
    return yes, ~(yes | no)


def _duplicate_studies(table: pd.DataFrame, usable: np.ndarray) -> np.ndarray:
    """Usable rows that are no study of their own: a study id another usable row of their group
    has (checks.duplicate_study_problems), a blank id or a summary label (checks.study_row_problems:
    the single path names them)."""
    dup = np.zeros(len(table), dtype=bool)
    for column in filter(_labels_studies, table.columns):
        labels = table[column].astype(str).str.strip()
        dup |= usable & labels.str.fullmatch(checks.SUMMARY_LABEL, case=False, flags=re.DOTALL).to_numpy(dtype=bool)
    column = checks.study_column(table)
    if column is None:
        return dup
    ids = table[column].str.strip()
    known = ~ids.str.lower().isin(MISSING_MARKERS).to_numpy()
    dup |= usable & ~known
    if column != "study_id":
        return dup
    keyed = pd.DataFrame({"g": table["_group"], "s": ids})[usable & known]
    dup[keyed.index[keyed.duplicated(keep=False)]] = True
    return dup


def _full_batch(clean: _Clean, part, y, v, idx, by: str, options: Options) -> dict[int, Row]:
    """Full analyses of groups of one size: the fits and refits of all of them at once, then
    each group's sections from them (the functions analyse calls, given the batched parts)."""
    from metasr.stats import batch, bias, sensitivity

    kw = options.kwargs
    method, test, measure = kw["method"], kw["test"], kw["measure"]
    m, k = y.shape
    s = Studies(y, v)
    fits = fit_many(s, method, test)
    qp = inference.q_profile_many(s, fits.tau2) if method != "FE" else None
    order = kw.get("order")
    min_k = kw.get("small_study_min_k", SMALL_STUDY_MIN_K)
    runs = sections_at(k, min_k, bool(order))
    deleted = sei = lm = X = None
    if runs["sensitivity"]:
        keep = ~np.eye(k, dtype=bool)
        deleted = sensitivity.refits(method, test, np.repeat(y, k, 0).reshape(m, k, k)[:, keep].reshape(m * k, k - 1),
                                     np.repeat(v, k, 0).reshape(m, k, k)[:, keep].reshape(m * k, k - 1))
    if runs["small_study"]:
        X = np.sqrt(v)[..., None] * np.array([0.0, 1.0]) + np.array([1.0, 0.0])  # regtest's [1, sei]
        sei = fit_many(Studies(y, v, None, X), method, test)
        lm = fit_many(Studies(y, v, None, X), "FE", "z")
    out = {}
    for i, j in enumerate(part):
        yi, vi = y[i], v[i]
        fit = fits.row(i, yi, vi, measure=measure)
        result = {"measure": measure, "method": method, "test": test,
                  "transform": clean.displays[j].to_json()}
        model = fit.to_dict()
        if qp is not None:
            model.update(inference.q_profile_keys(qp, i))
        result.update(model)
        try:
            sei_fit = egger_lm = cumulated = None
            if sei is not None and lm is not None and X is not None:  # small-study tests run
                sei_fit = sei.row(i, yi, vi, X[i], coef_names=["intrcpt", "x1"])
                egger_lm = bias.egger_lm(fit, lm=(lm.beta[i], lm.vb[i], lm.Q[i]))
            ordering = analysis._order_values(_usable_rows(clean, j), order, kw.get("file")) if order else None
            if ordering is not None and runs["cumulative"]:
                at = sensitivity.cumulative_order(fit, ordering)
                cumulated = sensitivity.refits(method, test, *batch.cumulative_arrays(yi[at], vi[at]))
            result.update(sections.optional_sections(
                fit, min_k, ordering, order, sei_fit=sei_fit,
                egger_lm=egger_lm, deleted=None if deleted is None else deleted.rows(i * k, (i + 1) * k),
                cumulated=cumulated))
        except InputError as err:
            out[j] = Row(clean.chunk.keys[j], problems=err.problems)
            continue
        result["transformed"] = tables.transformed(result, clean.displays[j])
        result["yi"] = yi.tolist()
        result["vi"] = vi.tolist()
        not_usable = _not_usable(clean, j)
        if not_usable:
            result["not_usable"] = not_usable
        out[j] = Row(clean.chunk.keys[j], tables.json_safe(result))
    return out


def _usable_rows(clean: _Clean, j: int) -> pd.DataFrame:
    a, b = clean.chunk.bounds[j], clean.chunk.bounds[j + 1]
    return clean.chunk.rows.iloc[a:b][clean.usable[a:b]].reset_index(drop=True)


def _not_usable(clean: _Clean, j: int) -> list[dict]:
    """analysis.split_usable's entries for the rows of group j marked not usable."""
    a, b = clean.chunk.bounds[j], clean.chunk.bounds[j + 1]
    rows = clean.chunk.rows
    out = []
    for i in a + np.flatnonzero(~clean.usable[a:b]):
        reason = rows["not_usable_reason"].iat[i] if "not_usable_reason" in rows.columns else ""
        out.append({"study_id": tables._text(rows["study_id"].iat[i]) if "study_id" in rows.columns else None,
                    "row": int(rows["_row"].iat[i]),
                    "reason": tables._text(reason) or "marked not usable (no reason given)"})
    return out


# ---------------------------------------------------------------- output: json, jsonl, csv

FORMATS = ("json", "jsonl", "csv")


def row_message(row: Row) -> str:
    """The problems of a group that was not pooled, on one line (where in the input, what, rule)."""
    def one(p: Problem) -> str:
        where = replace(p, file=None).location()
        return (f"{where}: " if where else "") + p.message + (f" [rule: {p.rule}]" if p.rule else "")

    return "; ".join(one(p) for p in row.problems)


def _json_value(row: Row):
    """A row's value in the json format (keyed by its group)."""
    if row.pooled:
        return row.result
    return {"status": "failed", "message": row_message(row), "problems": [p.to_dict() for p in row.problems]}


def _record(row: Row, by: str | None) -> dict:
    """A row as one flat-topped record: the group, status, message and the result's keys."""
    record: dict[str, Any] = {} if by is None else {_group_column(by): row.key}
    if row.result is not None:
        record["status"] = "pooled"
        record.update(row.result)
    else:
        record.update(status="failed", message=row_message(row), problems=[p.to_dict() for p in row.problems])
    return record


def _group_column(by: str) -> str:
    return by if by not in ("status", "message", "problems", *FIT_KEYS) else "group"


PER_LEVEL = ("sigma2", "I2_levels")  # a three-level model's (metasr.stats.multilevel)


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested sections as dotted columns (egger.pval); two-number CIs as _lb/_ub; the three-level
    model's values per level as metafor numbers its variance components (sigma2.1, sigma2.2); other
    lists (weights, yi, leave-one-out arrays ...) only in JSON."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            if key.endswith("_ci") and len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
                out[name + "_lb"], out[name + "_ub"] = value
            elif key in PER_LEVEL:
                out.update({f"{name}.{level}": v for level, v in enumerate(value, start=1)})
        else:
            out[name] = value
    return out


@dataclass
class Rendered:
    """An item of `pool_blocks` (a Row or a Block) as a Writer writes it, made by `Writer.render`
    where the item was pooled (possibly a worker process, metasr.forked), with what the command
    says about it. For csv, a Block's lines are under `columns`, the columns it would add to a
    writer that has seen nothing else; a writer whose columns differ formats `block` again."""

    count: int                                   # groups
    failed: list[Row] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (key, warning)
    text: str = ""                               # json, jsonl
    lines: list[str] = field(default_factory=list)  # csv: a Block's lines
    columns: tuple[str, ...] = ()                # csv: the columns of `lines`
    record: dict | None = None                   # csv: a Row, flattened
    block: Deferred | None = None                # csv: the Block (read only for other columns)


class Writer:
    """Streams rows to a text handle as one JSON object keyed by group (json), one JSON object
    per line (jsonl) or a CSV table (csv: spooled to a temporary file, as its columns are the
    union of every row's, and written through metasr.io's CSV writer at the end; a Block's rows
    are spooled as their CSV text already, formatted a column at a time by metasr.io).

    `render` makes an item's text and depends on nothing written before (worker processes call
    it); `emit` writes what `render` made, in order; `write` is the two."""

    def __init__(self, handle, fmt: str, by: str | None):
        import json

        self.handle, self.fmt, self.by = handle, fmt, by
        self.dumps = json.JSONEncoder(allow_nan=False).encode
        self.count = 0
        self.columns = dict.fromkeys(self._first_columns())
        self.spool: IO[bytes] | None = None

    def _first_columns(self) -> list[str]:
        return ([] if self.by is None else [_group_column(self.by)]) + ["status", "message"]

    def write(self, item) -> None:
        """A Row or a Block."""
        self.emit(self.render(item))

    def render(self, item) -> Rendered:
        rows = list(item.results()) if isinstance(item, Block) and self.fmt != "csv" else [item]
        out = Rendered(len(item.keys) if isinstance(item, Block) else 1)
        for row in rows:
            if isinstance(row, Row):
                out.failed += [] if row.pooled else [row]
                out.warnings += [(row.key, w) for w in (row.result or {}).get("warnings") or []]
        if self.fmt == "jsonl":
            out.text = "".join(self.dumps(_record(row, self.by)) + "\n" for row in rows)
        elif self.fmt == "json":
            out.text = ",\n".join(self.dumps(row.key) + ": " + self.dumps(_json_value(row)) for row in rows)
        elif isinstance(item, Block):
            out.columns, out.lines = self._block_lines(item)
            out.block = Deferred(item)
        else:
            record = _record(item, self.by)
            record.pop("problems", None)
            out.record = flatten(record)
        return out

    def emit(self, rendered: Rendered) -> None:
        """What `render` made, after everything emitted before."""
        if self.fmt == "json" and rendered.text:
            self.handle.write(("{" if self.count == 0 else ",\n") + rendered.text)
        elif self.fmt == "jsonl":
            self.handle.write(rendered.text)
        elif rendered.record is not None:
            self._spool_item(rendered.record)
        elif rendered.block is not None:
            for name in rendered.columns:
                self.columns.setdefault(name)
            lines = rendered.lines
            if tuple(self.columns) != rendered.columns:  # rows of other columns came before
                lines = self._block_lines(rendered.block.value, self.columns)[1]
            self._spool_item(("lines", len(self.columns), lines))
        self.count += rendered.count

    def _spool_item(self, item) -> None:
        """A flattened row (a dict), or ("lines", number of columns, lines) of a Block."""
        import pickle
        import tempfile

        if self.spool is None:
            self.spool = tempfile.TemporaryFile()
        if isinstance(item, dict):
            for key in item:
                self.columns.setdefault(key)
        pickle.dump(item, self.spool, protocol=pickle.HIGHEST_PROTOCOL)

    def _block_lines(self, block: Block, columns=None) -> tuple[tuple[str, ...], list[str]]:
        """A Block's rows as CSV lines, formatted a column at a time, under
        `columns` (by default those a writer that has seen nothing else would have): a row's cells
        as the general path would write them ("" where it has no value). Columns only grow, so a
        later row's new columns are empty cells after these lines (metasr.io.csv_write_lines)."""
        from metasr.io import csv_lines

        n = len(block.keys)
        given: dict[str, list] = {} if self.by is None else {_group_column(self.by): block.keys}
        given["status"] = ["pooled"] * n
        given.update(block.columns)  # a column named twice keeps its last values, as in a row's dict
        names = tuple(columns if columns is not None else dict.fromkeys([*self._first_columns(), *given]))
        empty = [None] * n
        return names, csv_lines([given.get(name, empty) for name in names])

    def close(self) -> None:
        if self.fmt == "json":
            self.handle.write("{}\n" if self.count == 0 else "}\n")
        elif self.fmt == "csv":
            self._write_csv()
        self.handle.flush()

    def _write_csv(self) -> None:
        import pickle

        from metasr.io import csv_stream, csv_write_lines

        columns = list(self.columns)
        write = csv_stream(self.handle, columns)
        if self.spool is None:
            return
        self.spool.seek(0)
        while True:
            try:
                item = pickle.load(self.spool)
            except EOFError:
                break
            if isinstance(item, tuple):
                _, width, lines = item
                csv_write_lines(self.handle, lines, missing=len(columns) - width)
            else:
                write([item])
        self.spool.close()
