"""metasr.stats.grouped: every group's result is what `analyse` gives for the group's rows alone,
number for number, on the batched path and the single one; groups that cannot be pooled are rows
with their problems; the table is read in chunks without splitting or repeating a group."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats import analysis, grouped
from metasr.stats.models import METHODS_RMA


def synthetic_table(seed: int = 1, groups: int = 40) -> pd.DataFrame:
    """SYNTHETIC groups of 1 to 12 studies (sizes repeat, so several groups share a batch), with
    rows marked not usable, a few groups with problems, and a year to order cumulative analyses."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        k = int(rng.integers(1, 13))
        tau2 = rng.choice([0.0, 0.05, 0.3])
        mu = rng.normal(0, 0.5)
        for i in range(k):
            vi = float(10 ** rng.uniform(-2.5, -0.3))
            yi = float(rng.normal(mu, np.sqrt(vi + tau2)))
            rows.append({"g": f"G{g:03d}", "study_id": f"S{i}", "year": str(int(rng.integers(1990, 2024))),
                         "yi": repr(yi), "vi": repr(vi), "usable": "true", "not_usable_reason": ""})
        if k > 3 and g % 5 == 0:  # a study left out, with its reason
            rows[-1].update(usable="false", not_usable_reason="outcome measured differently")
    rows[3]["vi"] = "0"                      # a group with a bad row
    rows[10]["yi"] = ""                      # and one with a missing effect
    rows[20]["study_id"] = rows[21]["study_id"]  # and one with a study pooled twice
    return pd.DataFrame(rows)


def single_results(table: pd.DataFrame, kwargs: dict, what: str) -> dict:
    """analyse() on each group alone, as `metasr pool` on that group's rows would."""
    out = {}
    table = table.copy()
    table["_row"] = np.arange(2, len(table) + 2)
    for key, rows in table.groupby("g", sort=True):
        try:
            result = analysis.analyse(rows.reset_index(drop=True), **kwargs)
            out[key] = grouped.fit_part(result) if what == "fit" else result
        except InputError as err:
            out[key] = [p.message for p in err.problems]
    return out


def grouped_results(tmp_path, table: pd.DataFrame, kwargs: dict, what: str, chunk_rows=grouped.CHUNK_ROWS) -> dict:
    path = tmp_path / "groups.csv"
    table.to_csv(path, index=False)
    rows = grouped.pool_groups(str(path), "g", grouped.Options(dict(kwargs, file=None), what), chunk_rows=chunk_rows)
    return {row.key: row.result if row.pooled else [p.message for p in row.problems] for row in rows}


CASES = [(m, "z") for m in METHODS_RMA] + [(m, t) for m in ("REML", "DL", "PM", "SJ") for t in ("t", "knha", "adhoc")]


@pytest.mark.parametrize("method, test", CASES)
@pytest.mark.parametrize("what", grouped.WHAT)
def test_every_group_is_what_analyse_gives_for_its_rows(tmp_path, method, test, what):
    table = synthetic_table(seed=len(method) + len(test))
    kwargs = dict(measure="GEN", method=method, test=test, order="year" if what == "full" else None,
                  small_study_min_k=3 + (len(method) + len(test)) % 8)  # groups of k = 1..12 fall on both sides
    expected = single_results(table, dict(kwargs, file=None), what)
    got = grouped_results(tmp_path, table, kwargs, what)
    assert list(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key
    failed = [key for key, value in got.items() if isinstance(value, list)]
    assert 3 <= len(failed) < len(got) / 2  # the bad groups (and k = 1 ones) failed, the rest pooled


def test_groups_of_every_size_are_batched_and_equal_the_single_path(monkeypatch, tmp_path):
    """The batched path is taken (not the single one) for clean groups, and agrees."""
    table = synthetic_table(seed=5)
    calls = []
    real = analysis.analyse
    monkeypatch.setattr(analysis, "analyse", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = grouped_results(tmp_path, table, dict(measure="GEN", method="REML", test="z"), "full")
    assert len(calls) < 12  # only the groups with problems (and k = 1) take the single path
    monkeypatch.setattr(analysis, "analyse", real)
    assert got == single_results(table, dict(measure="GEN", method="REML", test="z", file=None), "full")


def test_other_analyses_run_the_single_path_per_group(tmp_path):
    table = synthetic_table(seed=3)
    table["x"] = [str(i % 4) for i in range(len(table))]
    for kwargs in (dict(measure="GEN", method="REML", test="z", mods=["x"]),
                   dict(measure="GEN", method="DL", test="knha", subgroup="x")):
        expected = single_results(table, dict(kwargs, file=None), "full")
        assert grouped_results(tmp_path, table, kwargs, "full") == expected


def test_chunks_keep_groups_whole_and_report_groups_split_apart(tmp_path):
    table = synthetic_table(seed=2)
    kwargs = dict(measure="GEN", method="DL", test="z")
    whole = grouped_results(tmp_path, table, kwargs, "fit")
    assert grouped_results(tmp_path, table, kwargs, "fit", chunk_rows=7) == whole
    shuffled = pd.concat([table.iloc[40:], table.iloc[:40]], ignore_index=True)  # G000.. rows after the others
    split = table.iloc[list(range(0, 30)) + list(range(50, len(table))) + list(range(30, 50))]
    got = grouped_results(tmp_path, shuffled, kwargs, "fit", chunk_rows=1000)
    assert got == single_results(shuffled, dict(kwargs, file=None), "fit")  # one chunk: any order
    path = tmp_path / "split.csv"
    split.to_csv(path, index=False)
    rows = list(grouped.pool_groups(str(path), "g", grouped.Options(kwargs, "fit"), chunk_rows=10))
    reported = [r for r in rows if not r.pooled and "not together" in r.problems[0].message]
    assert reported and len({r.key for r in rows}) < len(rows)


def test_writers(tmp_path):
    import io

    rows = [grouped.Row("a", {"k": 3, "estimate": 0.5, "tau2_ci": [0.0, 1.0], "weights": [1, 2],
                              "egger": {"pval": 0.2}}),
            grouped.Row("b", problems=[analysis._problem("too few", rule="enough studies")])]
    out = {}
    for fmt in grouped.FORMATS:
        handle = io.StringIO()
        writer = grouped.Writer(handle, fmt, "g")
        for row in rows:
            writer.write(row)
        writer.close()
        out[fmt] = handle.getvalue()
    assert json.loads(out["json"])["a"]["tau2_ci"] == [0.0, 1.0]
    assert json.loads(out["json"])["b"]["status"] == "failed"
    lines = [json.loads(line) for line in out["jsonl"].splitlines()]
    assert lines[0]["g"] == "a" and lines[1]["message"] == "too few [rule: enough studies]"
    header, a, b = out["csv"].splitlines()
    assert header == "g,status,message,k,estimate,tau2_ci_lb,tau2_ci_ub,egger.pval"
    assert a == "a,pooled,,3,0.5,0.0,1.0,0.2" and b.startswith("b,failed,too few")


def _written(items, fmt: str, by: str | None = "g") -> str:
    import io

    handle = io.StringIO()
    writer = grouped.Writer(handle, fmt, by)
    for item in items:
        writer.write(item)
    writer.close()
    return handle.getvalue()


def test_blocks_are_written_as_their_rows_one_by_one():
    """The CSV of a Block (formatted a column at a time) is the text of its rows written one by one
    (the general path), with None, ints, -0.0, hostile and quoted keys, a transformed column that
    is the very list of its value's, columns only a later row has (empty cells after the block's
    lines) and columns the block lacks."""
    values = [0.5, None, -0.0, 1e-300, 12.0]
    block = grouped.Block(["=cmd()", "a,b", 'say "hi"', "two\nlines", "-1"], {
        "k": [3, 4, 5, 6, 7], "estimate": values, "se": [0.1, 0.2, None, 1e300, 2.5],
        "transformed.estimate": values, "transformed.ci_lb": [1.0, None, 0.0, 0.0, -3.0]})
    before = grouped.Row("+first", {"k": 2, "estimate": 0.25, "only_before": "=x"})
    after = grouped.Row("@later", {"k": 9, "extra": {"col": 1.5}, "tau2_ci": [0.0, 2.0]})
    failed = grouped.Row("", problems=[analysis._problem("too few", rule="enough studies")])
    for items in ([block], [before, block, after], [failed, block, block, after]):
        rows = [row for item in items for row in (item.results() if isinstance(item, grouped.Block) else [item])]
        for by in ("g", None, "transformed.estimate"):
            assert _written(items, "csv", by) == _written(rows, "csv", by)
        for fmt in ("json", "jsonl"):
            assert _written(items, fmt) == _written(rows, fmt)


def test_keys_are_read_without_spaces_around_them(tmp_path):
    path = tmp_path / "keys.csv"
    path.write_text("g,yi,vi\nA,0.1,0.01\nA ,0.2,0.02\n\" A\",0.3,0.03\nB,0.1,0.01\nB,0.2,0.02\n", encoding="utf-8")
    rows = list(grouped.pool_groups(str(path), "g", grouped.Options(dict(measure="GEN", method="DL", test="z"), "fit")))
    assert [(r.key, r.result["k"]) for r in rows] == [("A", 3), ("B", 2)]
    spaced = [chunk["_group"].tolist() for chunk in grouped.read_chunks(str(path), "g")]
    plain = [chunk["_group"].tolist() for chunk in grouped.read_chunks(str(path), "g", chunk_rows=2)]
    assert spaced == [["A", "A", "A", "B", "B"]] and plain == [["A", "A"], ["A", "B"], ["B"]]


# Cells pandas' number parser and Python's float() both read, written as people write numbers
_PLAIN_CELLS = ["0.5", " 0.25", "0.125 ", "+.5", "5.", "-0", "1E-3", "2e+00", '"0.75"',
                "0.1000000000000000055511151231257827", "1e-400", "3"]


@pytest.mark.parametrize("bad_cell", ["", "NA", "nan", "1_0", "0x1", "inf", "1e400", "abc", "0", "\u0661", "\uff11"])
def test_effects_read_as_numbers_are_the_text_path_s_numbers_up_to_a_cell_that_is_not_one(tmp_path, bad_cell):
    rng = np.random.default_rng(3)  # SYNTHETIC
    lines = ["g, yi,vi"]
    for g in range(12):
        for i in range(4):
            yi = _PLAIN_CELLS[(4 * g + i) % len(_PLAIN_CELLS)] if g % 2 else repr(float(rng.normal()))
            lines.append(f"G{g:02d},{yi},{rng.uniform(0.01, 0.2)!r}")
    lines[31] = lines[31].rsplit(",", 1)[0] + "," + bad_cell  # a vi in the 8th group (the 8th chunk of 4 rows)
    path = tmp_path / "by.csv"
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    as_text = list(grouped.read_chunks(str(path), "g", chunk_rows=4))
    as_numbers = list(grouped.read_chunks(str(path), "g", chunk_rows=4, effects_as_numbers=True))
    assert [c["vi"].dtype.kind for c in as_numbers] == ["f"] * 7 + ["O"] * 5
    for text, numbers in zip(as_text, as_numbers, strict=True):
        assert text["_row"].tolist() == numbers["_row"].tolist() and text["g"].tolist() == numbers["g"].tolist()
        for name in ("yi", "vi"):
            assert np.array_equal(grouped._numbers(text[name]), grouped._numbers(numbers[name]), equal_nan=True)
    table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    table.columns = [c.strip() for c in table.columns]
    kwargs = dict(measure="GEN", method="REML", test="z")
    got = grouped_results(tmp_path, table, kwargs, "fit", chunk_rows=4)
    assert got == single_results(table, dict(kwargs, file=None), "fit")
    assert isinstance(got["G07"], list)  # float() reads 1_0 as 10, escalc's reader does not (io.plain_number)


@pytest.mark.parametrize("chunk_rows", [2, 3, 100])
def test_rows_after_blank_lines_keep_their_spreadsheet_numbers_in_every_chunk(tmp_path, chunk_rows):
    path = tmp_path / "by.csv"  # SYNTHETIC
    path.write_text("g,yi,vi\na,0.1,0.01\n\na,0.2,0.02\n  \n,,\nb,0.3,-0.03\nb,0.1,0.01\n\nc,0.1,0.01\n"
                    "c,0.3,0.02\n")
    for as_numbers in (False, True):
        chunks = grouped.read_chunks(str(path), "g", chunk_rows=chunk_rows, effects_as_numbers=as_numbers)
        assert [row for chunk in chunks for row in chunk["_row"]] == [2, 4, 7, 8, 10, 11]
    rows = grouped.pool_groups(str(path), "g", grouped.Options(dict(measure="GEN", method="DL", test="z"), "fit"),
                               chunk_rows=chunk_rows)
    assert {row.key: [p.row for p in row.problems] for row in rows} == {"a": [], "b": [7], "c": []}


def test_empty_cells_beyond_the_header_are_a_spreadsheets_leftovers_not_data(tmp_path):
    """SYNTHETIC table saved with two empty columns past the header on every row (Excel does this
    for columns once used): pandas took the first columns as an index and read the group from vi."""
    path = tmp_path / "trail.csv"
    path.write_text("g,yi,vi\na,0.1,0.01,,\na,0.3,0.02,,\n,,,,\nb,0.2,0.02,,\nb,0.25,0.03,,\n")
    for what in ("fit", "full"):
        rows = list(grouped.pool_groups(str(path), "g", grouped.Options(dict(measure="GEN", method="DL", test="z"),
                                                                        what)))
        assert [(r.key, r.result["k"]) for r in rows] == [("a", 2), ("b", 2)]
    table = analysis.read_study_table(str(path))
    assert table["g"].tolist() == ["a", "a", "b", "b"] and table["_row"].tolist() == [2, 3, 5, 6]


def test_the_keys_seen_are_told_apart_chunk_after_chunk_as_a_set_would():
    rng = np.random.default_rng(1)
    seen_keys, reference = grouped._SeenKeys(), set()
    for _ in range(30):
        keys = [f"g{x}" for x in rng.integers(0, 5000, 300)]
        assert list(seen_keys.seen_and_add(keys)) == [k in reference for k in keys]
        reference.update(keys)
    assert len(seen_keys.hashes) == len(reference) and np.all(np.diff(seen_keys.hashes) > 0)


@pytest.mark.parametrize(("text", "rows"), [
    ("g,yi,vi\na,0.1,0.01,0.5\na,0.3,0.02,0.5\nb,0.2,0.015,0.5\nb,0.1,0.01,0.5\n", [2, 3, 4, 5]),  # index trap
    ("g,yi,vi\na,0.1,0.01\na,0.3,0.02\nb,0.2,0.015\nb,0.1,0.01,9\n", [5]),  # too long, in a later chunk
    ("g,yi,vi\na,0.1,0.01\na,0.3,0.02\nb,0.2,0.015\nb,0.1\n", [5]),
])
def test_chunks_of_another_width_than_the_header_are_refused_before_any_group(tmp_path, text, rows):
    path = tmp_path / "by.csv"  # SYNTHETIC
    path.write_text(text)
    with pytest.raises(InputError) as err:
        list(grouped.read_chunks(str(path), "g", chunk_rows=2))
    assert [(p.rule, p.row) for p in err.value.problems] == [("row-width", row) for row in rows]


@pytest.mark.parametrize("what", grouped.WHAT)
def test_total_rows_and_blank_study_ids_fail_their_group_as_pool_refuses_them(tmp_path, what):
    """A group's total row, or a blank study id (merged cells), takes the group off the batched
    path: it fails with the single analysis' problem, the other groups are pooled."""
    table = synthetic_table(seed=7, groups=6)
    first = table.index[table["g"] == "G001"][0]
    table.loc[first, "study_id"] = "Total"
    table.loc[table.index[table["g"] == "G002"][0], "study_id"] = ""
    kwargs = dict(measure="GEN", method="REML", test="z")
    got = grouped_results(tmp_path, table, kwargs, what)
    assert got == single_results(table, dict(kwargs, file=None), what)
    assert any("total or summary row" in m for m in got["G001"])
    assert any("study id is blank" in m for m in got["G002"])


def test_a_byte_that_is_not_utf8_late_in_the_table_stops_the_run_before_any_group_is_written(tmp_path):
    """pandas met a Windows-1252 byte in a later chunk, after the groups before it were written."""
    from metasr.stats.grouped import read_chunks

    table = tmp_path / "t.csv"
    rows = "".join(f"g{i // 5},0.{i % 7 + 1},0.0{i % 5 + 1}\n" for i in range(60_000))  # pandas reads 256 kB
    table.write_bytes(b"group,yi,vi\n" + rows.encode() + "g\u00b5,0.5,0.05\n".encode("cp1252"))
    chunks = read_chunks(str(table), "group", chunk_rows=1000, effects_as_numbers=True)
    with pytest.raises(InputError) as err:
        next(chunks)
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.rule) == (60_002, "group", "encoding") and "0xb5" in problem.message


def _pooled_text(path, fmt: str, kwargs: dict, what: str, jobs: int | None, chunk_rows: int):
    """What the command writes, says has failed and warns of, and the groups it counts; with
    jobs=None as the table read whole in chunks gives it (pool_blocks, never cut into parts)."""
    import io

    handle = io.StringIO()
    writer = grouped.Writer(handle, fmt, "g")
    failed, warnings, count = [], [], 0
    options = grouped.Options(dict(kwargs, file=None), what)
    items = (map(writer.render, grouped.pool_blocks(str(path), "g", options, chunk_rows)) if jobs is None else
             grouped.pool_rendered(str(path), "g", options, writer.render, jobs=jobs, chunk_rows=chunk_rows))
    for rendered in items:
        writer.emit(rendered)
        failed += [row.key for row in rendered.failed]
        warnings += rendered.warnings
        count += rendered.count
    writer.close()
    return handle.getvalue(), failed, warnings, count


@pytest.mark.parametrize("fmt", grouped.FORMATS)
@pytest.mark.parametrize("what, order, block_bytes", [
    ("fit", "sorted", 1 << 20), ("fit", "shuffled", 1 << 20), ("fit", "apart", 1 << 20), ("full", "sorted", 1 << 20),
    ("fit", "sorted", 300), ("fit", "apart", 300)])  # small blocks: the scan is paced by the workers
def test_worker_processes_write_what_one_process_writes(tmp_path, monkeypatch, fmt, what, order, block_bytes):
    """Parts of the table pooled by worker processes (table_parts, metasr.forked) give the same
    text, failed groups and warnings as one process, in the same order: for a sorted table, one
    whose groups are together in another order, and one whose groups are apart (not cut)."""
    from metasr.stats import table_parts
    from metasr.stats.table_parts import parts

    monkeypatch.setattr(table_parts, "BLOCK_BYTES", block_bytes)

    table = synthetic_table(seed=4, groups=24)
    if order != "sorted":
        blocks = [rows for _, rows in table.groupby("g", sort=False)]
        np.random.default_rng(5).shuffle(blocks)
        table = pd.concat(blocks, ignore_index=True)
    if order == "apart":
        table = pd.concat([table.iloc[5:], table.iloc[:5]], ignore_index=True)
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    assert (parts(path, "g", 20) is None) == (order == "apart")
    kwargs = dict(measure="GEN", method="REML", test="z")
    whole = _pooled_text(path, fmt, kwargs, what, jobs=None, chunk_rows=20)
    assert whole[1] and whole[3] >= 24  # some groups cannot be pooled (and one apart is there twice)
    assert _pooled_text(path, fmt, kwargs, what, jobs=1, chunk_rows=20) == whole
    assert _pooled_text(path, fmt, kwargs, what, jobs=3, chunk_rows=20) == whole


def _plain_table(keys, sizes, columns=("g", "yi", "vi"), seed: int = 7) -> str:
    """A SYNTHETIC plain table: groups `keys` of `sizes` rows in that order, effects written in
    several of the spellings float() reads (exponents, a sign, no leading or trailing digit)."""
    rng = np.random.default_rng(seed)
    spell = [repr, "{:.3e}".format, "{:+.4f}".format, lambda x: f"{x:.5f}".replace("0.", ".", 1), "{:.17g}".format]
    lines = [",".join(columns)]
    for key, k in zip(keys, sizes, strict=True):
        for i in range(k):
            cells = {"g": key, "yi": spell[i % 5](abs(rng.normal(0.3, 0.5))),
                     "vi": spell[(i + 2) % 5](float(rng.uniform(0.01, 0.2))), "note": f"row {i}",
                     "usable": "no" if i == 2 else "yes", "study": "s", "ni": str(20 + 7 * i)}
            lines.append(",".join(cells[c] for c in columns))
    return "\n".join(lines) + "\n"


PLAIN_KEYS = ["b", "a", "10", "9", "t\u00e9t", "NA", "c-1", "a b", "z"]  # together, not in sorted order


@pytest.mark.parametrize("name, columns, edit, parts_as_before", [
    ("clean", ("g", "yi", "vi"), None, 0),
    ("other columns", ("vi", "note", "yi", "g"), None, 0),
    ("a group of one study", ("g", "yi", "vi"), lambda t: t.replace("\nz,", "\nzz,", 1), 1),
    ("a vi of 0", ("g", "yi", "vi"), lambda t: t.replace("\n9,", "\n9,0.5,0\n9,", 1), 1),
    ("a word for yi", ("g", "yi", "vi"), lambda t: t.replace("\na,", "\na,NA,0.1\na,", 1), 1),
    ("a usable column", ("g", "yi", "vi", "usable"), None, 4),
    ("a study column", ("study", "g", "yi", "vi"), None, 4),
    ("a key an apostrophe starts", ("g", "yi", "vi"), lambda t: t.replace("\nz,", "\n'z,"), 1),
    ("a name with a space", ("g", "yi", "vi"), lambda t: t.replace("yi", " yi", 1), 4),
    ("a display from ni (PFT)", ("g", "yi", "vi", "ni"), None, 4),
])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_parts_read_as_numbers_alone_write_what_the_table_read_whole_writes(tmp_path, monkeypatch, name, columns,
                                                                           edit, parts_as_before, fmt):
    """--what fit on a plain table reads the yi and vi of a part alone where every group of it is
    clean (_plain_block); the text, failures, warnings and count are those of the table read
    whole, in one process and in workers. A part with anything else is read as before."""
    text = _plain_table(PLAIN_KEYS, [3, 2, 5, 4, 2, 6, 3, 7, 2], columns)
    path = tmp_path / "t.csv"
    path.write_text(edit(text) if edit else text, encoding="utf-8")
    blocks = []
    monkeypatch.setattr(grouped, "_plain_block", lambda *a, f=grouped._plain_block: blocks.append(f(*a)) or blocks[-1])
    kwargs = dict(measure="PFT" if "ni" in columns else "GEN", method="REML", test="z")
    whole = _pooled_text(path, fmt, kwargs, "fit", jobs=None, chunk_rows=9)
    assert _pooled_text(path, fmt, kwargs, "fit", jobs=1, chunk_rows=9) == whole
    assert len(blocks) == 4  # the parts (of about 9 rows), each tried
    assert blocks.count(None) == parts_as_before
    assert bool(whole[1]) == (name in ("a group of one study", "a vi of 0", "a word for yi"))
    assert _pooled_text(path, fmt, kwargs, "fit", jobs=2, chunk_rows=9) == whole
    assert whole[3] == len(PLAIN_KEYS) + (name == "a group of one study")


def test_a_block_from_a_worker_under_other_columns(tmp_path):
    """A Block rendered where the writer's columns were not known (a worker) is formatted again
    under the writer's columns when rows with other columns came first."""
    import io
    import pickle

    block = grouped.Block(["a", "b"], {"k": [3, 4], "estimate": [0.5, -1.25]})
    before = grouped.Row("+first", {"k": 2, "only_before": "x", "estimate": 0.25})
    handle = io.StringIO()
    writer = grouped.Writer(handle, "csv", "g")
    writer.write(before)
    writer.emit(pickle.loads(pickle.dumps(writer.render(block))))
    writer.close()
    assert handle.getvalue() == _written([before, block], "csv")
    assert handle.getvalue().splitlines()[-1] == "b,pooled,,4,,-1.25"
