"""metasr.stats.table_parts: the parts of a plain table are exactly the chunks
grouped.chunks_of_groups pools (same groups, same rows, same row numbers); a table that is not
plain is not cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metasr.stats import grouped, table_parts
from metasr.stats.table_parts import PartFile, iter_parts, parts


def sizes_table(sizes, seed: int = 3) -> pd.DataFrame:
    """SYNTHETIC rows: group i has sizes[i] rows (keys in file order, not sorted)."""
    rng = np.random.default_rng(seed)
    keys = [f"k{(i * 7919) % 1000:03d}" for i in range(len(sizes))]
    return pd.DataFrame({"id": np.arange(sum(sizes)), "g": np.repeat(keys, sizes),
                         "yi": rng.normal(size=sum(sizes)), "vi": rng.uniform(0.01, 0.1, sum(sizes))})


def serial_chunks(path, chunk_rows):
    return [(c.keys, c.rows["_row"].tolist()) for c in grouped.chunks_of_groups(str(path), "g", chunk_rows)]


def part_chunks(path, chunk_rows):
    out = []
    for part in parts(path, "g", chunk_rows):
        chunks = list(grouped.chunks_of_groups(str(path), "g", part.rows, part=part))
        assert len(chunks) == 1
        out.append((chunks[0].keys, chunks[0].rows["_row"].tolist()))
    return out


@pytest.mark.parametrize("sizes, chunk_rows", [
    ([3, 5, 2, 7, 1, 4, 4, 6], 5),
    ([1] * 30, 7),
    ([2, 40, 3, 3, 25, 1], 10),   # groups longer than a chunk are held back whole
    ([12, 3, 9], 12),             # a chunk that is one group
    ([4, 4, 4, 4], 4),            # chunks end exactly at group ends
    ([5, 5, 5], 100),             # one chunk: one part
])
@pytest.mark.parametrize("block_bytes", [1 << 20, 80])  # the whole table in one block, or a few lines in each
def test_parts_are_the_chunks_read_whole(tmp_path, monkeypatch, sizes, chunk_rows, block_bytes):
    monkeypatch.setattr(table_parts, "BLOCK_BYTES", block_bytes)
    path = tmp_path / "t.csv"
    sizes_table(sizes).to_csv(path, index=False)
    assert part_chunks(path, chunk_rows) == serial_chunks(path, chunk_rows)


def test_parts_cover_the_file_in_order(tmp_path):
    path = tmp_path / "t.csv"
    sizes_table([3, 5, 2, 7, 1, 4, 4, 6]).to_csv(path, index=False)
    cut = parts(path, "g", 5)
    header = len(path.read_bytes().split(b"\n")[0]) + 1
    assert cut[0].start == header and cut[-1].end == path.stat().st_size
    assert all(a.end == b.start and a.rows_before + a.rows == b.rows_before for a, b in zip(cut, cut[1:], strict=False))
    assert sum(p.rows for p in cut) == 32


def test_a_byte_order_mark_and_the_key_column_anywhere(tmp_path):
    table = sizes_table([3, 5, 2, 7, 1, 4])[["yi", "vi", "g", "id"]]
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf" + table.to_csv(index=False).encode())
    assert part_chunks(path, 4) == serial_chunks(path, 4)
    table[["id", "yi", "vi", "g"]].to_csv(path, index=False)  # the last column
    assert part_chunks(path, 4) == serial_chunks(path, 4)


PLAIN = "g,yi,vi\na,0.1,0.01\na,0.2,0.02\nb,0.3,0.03\nc,0.4,0.04\nc,0.5,0.05\n"


@pytest.mark.parametrize("text", [
    PLAIN.replace("b,0.3", '"b",0.3'),          # quotes: a line may not be a row
    PLAIN.replace("\n", "\r\n"),                # carriage returns
    PLAIN.replace("b,0.3,0.03\n", "b,0.3,0.03\n\n"),  # a blank line
    PLAIN.replace("b,0.3", ",0.3"),             # an empty key
    PLAIN.replace("b,0.3", "b ,0.3"),           # a key that reading strips
    PLAIN.replace("b,0.3", "b\u00a0,0.3"),      # (a non-breaking space too)
    PLAIN + "a,0.6,0.06\n",                     # a group's rows apart
    PLAIN.replace("b,0.3,0.03", "b,0.3"),       # a short row
    PLAIN.replace("b,0.3,0.03", "b,0.3,0.03,x"),  # a long one
    PLAIN.rstrip("\n"),                         # no line end after the last row
    PLAIN.replace("g,yi,vi", "h,yi,vi"),        # no column g
    PLAIN.replace("g,yi,vi", "g,yi,g"),         # two
    PLAIN.replace("g,yi,vi", "g,yi,"),          # an unnamed column
    "g,yi,vi\n",                                # no rows
])
def test_a_table_that_is_not_plain_is_not_cut(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    assert parts(path, "g", 2) is None


def test_parts_come_before_the_scan_ends(tmp_path, monkeypatch):
    """Parts are given as the scan passes them; a table found not to be plain later says so then."""
    monkeypatch.setattr(table_parts, "BLOCK_BYTES", 64)
    path = tmp_path / "t.csv"
    path.write_text(PLAIN + "d,0.6,0.06\na,0.7,0.07\n")  # a's rows apart: seen at the end
    found = iter_parts(path, "g", 2)
    assert next(found).rows == 3
    with pytest.raises(table_parts.NotPlain):
        list(found)


def test_plain_table_is_cut(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(PLAIN)
    assert [(p.rows_before, p.rows) for p in parts(path, "g", 2)] == [(0, 3), (3, 2)]  # a, a wait for b; c waits for c
    assert parts(tmp_path / "missing.csv", "g", 2) is None


def test_part_file_reads_the_header_then_the_part(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(PLAIN)
    part = parts(path, "g", 2)[1]
    with PartFile(path, part) as handle:
        assert handle.size() == len("g,yi,vi\nc,0.4,0.04\nc,0.5,0.05\n")
        assert handle.read(3) == b"g,y" and handle.tell() == 3
        assert handle.read() == b"i,vi\nc,0.4,0.04\nc,0.5,0.05\n" and handle.read() == b""
    with PartFile(path) as whole:
        assert whole.read() == PLAIN.encode() and whole.tell() == whole.size()


@pytest.mark.parametrize("column", ["id", "g", "vi"])
def test_part_runs_are_where_each_run_of_a_key_starts_within_the_part(tmp_path, column):
    path = tmp_path / "t.csv"
    table = sizes_table([3, 5, 2, 7, 1, 4, 4, 6])
    table["vi"] = table["g"] + "x"  # a key column last (its cells end at the line end)
    table.to_csv(path, index=False)
    at = list(table.columns).index(column)
    for part in parts(path, "g", 5):
        starts, keys = table_parts.part_runs(path, part, len(table.columns), at)
        cells = table[column].iloc[part.rows_before:part.rows_before + part.rows].astype(str).tolist()
        expected = [i for i in range(len(cells)) if i == 0 or cells[i] != cells[i - 1]]
        assert starts.tolist() == expected
        assert [key.decode() for key in keys.tolist()] == [cells[i] for i in expected]


@pytest.mark.parametrize("body, rows", [
    ('a,1,0.1\na,2,0.1\nb,"3",0.1\n', 3),  # a quote
    ("a,1,0.1\na,2\nb,3,0.1\n", 3),        # a row one cell short
    ("a,1,0.1\na,2,0.1\nb,3,0.1", 3),       # no line end after the last row
    ("a,1,0.1\na,2,0.1\nb,3,0.1\n", 4),    # not the rows the part was found with
])
def test_part_runs_of_a_part_that_is_not_plain_are_none(tmp_path, body, rows):
    path = tmp_path / "t.csv"
    path.write_text("g,yi,vi\n" + body)
    part = table_parts.Part(start=len("g,yi,vi\n"), end=path.stat().st_size, rows_before=0, rows=rows)
    assert table_parts.part_runs(path, part, 3, 0) is None
