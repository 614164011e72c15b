"""A large table of many groups cut into parts that worker processes pool on their own.

`grouped.chunks_of_groups` reads a table `chunk_rows` rows at a time and holds back the rows of
the last group of a chunk for the next one, so that a group is pooled whole when its rows are
together; it pools a chunk's groups in sorted order. The parts found here are exactly those
chunks, as byte ranges of the file: pooling each part alone (in sorted order within it) and
putting the results one after the other gives what reading the whole table gives, group for
group and in the same order.

Only a plain table is cut: every line a row (no quotes, no carriage returns), every row as wide
as the header, no blank lines, each group's rows together (no key in two runs of rows), and keys
that are their own text (no spaces or non-ASCII bytes at their ends, which reading strips, no
empty key). The file is looked at with numpy a block at a time, without parsing it. Any other
table (None) is read by one process, which also names its problems.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

BLOCK_BYTES = 1 << 20
MAX_KEY_BYTES = 256     # longer keys: not worth a matrix of their bytes


@dataclass(frozen=True)
class Part:
    """Rows of a table: bytes [start, end) of the file, `rows` rows after `rows_before` others."""

    start: int
    end: int
    rows_before: int
    rows: int


def parts(path: str | os.PathLike, by: str, chunk_rows: int) -> list[Part] | None:
    """The chunks `grouped.chunks_of_groups` would pool, as Parts; None if the table is not plain."""
    try:
        with open(path, "rb") as handle:
            return _parts(handle, by, chunk_rows)
    except OSError:
        return None  # the one-process reader says what the system refused


def _parts(handle, by: str, chunk_rows: int) -> list[Part] | None:
    header = handle.readline()
    if not header.endswith(b"\n") or b'"' in header or b"\r" in header:
        return None
    cells = [c.strip() for c in header.rstrip(b"\n").removeprefix(b"\xef\xbb\xbf").split(b",")]
    if cells.count(by.encode("utf-8")) != 1 or not all(cells):  # (an unnamed column's cells are looked at)
        return None
    scan = _Scan(len(cells), cells.index(by.encode("utf-8")), handle.tell())
    while block := handle.read(BLOCK_BYTES):
        cut = block.rfind(b"\n") + 1
        if not cut:
            return None  # a line longer than a block, or a last line without its line end
        if not scan.lines(block[:cut] if cut < len(block) else block):
            return None
        handle.seek(cut - len(block), 1)  # the next block starts at the next line
    if not scan.rows or not scan.keys_once():
        return None
    return scan.parts(chunk_rows)


class _Scan:
    """The rows' groups, block by block: where each run of rows of one key starts (row, byte)."""

    def __init__(self, width: int, column: int, offset: int):
        self.width, self.column = width, column
        self.offset = offset            # byte of the next block's first line
        self.rows = 0
        self.last_key: bytes | None = None
        self.run_rows: list[np.ndarray] = []   # first row of every run
        self.run_bytes: list[np.ndarray] = []  # its byte offset
        self.run_keys: list[np.ndarray] = []

    def lines(self, block: bytes) -> bool:
        """Take the complete lines of `block`; False where the table is not plain."""
        if b'"' in block or b"\r" in block or b"\0" in block:
            return False
        data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)
        starts = np.concatenate(([0], ends[:-1] + 1))
        commas = np.flatnonzero(data == 44)
        if len(commas) != len(ends) * (self.width - 1):
            return False
        fields = commas.reshape(len(ends), self.width - 1)
        # as many commas as lines times width - 1, and each line's first after its start and
        # last before its end: each line has width - 1 of them
        if self.width > 1 and (np.any(fields[:, 0] < starts) or np.any(fields[:, -1] > ends)):
            return False
        keys = self._keys(data, starts, ends, fields)
        if keys is None:
            return False
        new = np.empty(len(keys), dtype=bool)
        new[0] = self.last_key is None or keys[0] != self.last_key
        new[1:] = keys[1:] != keys[:-1]
        at = np.flatnonzero(new)
        self.run_rows.append(self.rows + at)
        self.run_bytes.append(self.offset + starts[at])
        self.run_keys.append(keys[at])
        self.rows += len(keys)
        self.offset += len(block)
        self.last_key = bytes(keys[-1])
        return True

    def _keys(self, data, starts, ends, fields) -> np.ndarray | None:
        """Each line's key as bytes (numpy 'S'); None for an empty key, one with spaces or
        non-ASCII bytes at an end, or a long one."""
        lo = starts if self.column == 0 else fields[:, self.column - 1] + 1
        hi = ends if self.column == self.width - 1 else fields[:, self.column]
        length = hi - lo
        if length.min() < 1 or length.max() > MAX_KEY_BYTES:
            return None
        first, last = data[lo], data[hi - 1]
        if np.any((first <= 32) | (first >= 128) | (last <= 32) | (last >= 128)):
            return None
        span = np.arange(length.max())
        padded = np.concatenate([data, np.zeros(len(span), dtype=np.uint8)])
        matrix = np.lib.stride_tricks.sliding_window_view(padded, len(span))[lo]  # row copies: fast
        if length.min() < len(span):
            matrix[span >= length[:, None]] = 0
        return matrix.view(f"S{len(span)}").ravel()

    def keys_once(self) -> bool:
        """Whether no key starts two runs (every group's rows are together)."""
        keys = np.concatenate(self.run_keys)
        return len(np.unique(keys)) == len(keys)

    def parts(self, chunk_rows: int) -> list[Part]:
        """The chunks of chunks_of_groups: pandas' chunk i ends at row i * chunk_rows; when
        another follows, the run of the chunk's last row waits for it."""
        run_rows, run_bytes = np.concatenate(self.run_rows), np.concatenate(self.run_bytes)
        chunk_ends = np.arange(chunk_rows, self.rows, chunk_rows)  # chunks another chunk follows
        run_of_last = np.searchsorted(run_rows, chunk_ends - 1, side="right") - 1
        cuts = np.unique(run_of_last[run_of_last > 0])  # a cut at row 0 leaves the chunk empty: no part
        rows = [0, *run_rows[cuts].tolist()]
        starts = [int(run_bytes[0]), *run_bytes[cuts].tolist()]
        ends = [*starts[1:], self.offset]
        counts = np.diff([*rows, self.rows]).tolist()
        return [Part(*p) for p in zip(starts, ends, rows, counts, strict=True)]


class PartFile(io.RawIOBase):
    """A file's header line and then bytes [start, end) of it (without `part`: the whole file),
    as one file to read (for pandas), which tells how much of it has been read."""

    def __init__(self, path: str | os.PathLike, part: Part | None = None):
        self.handle = open(path, "rb")  # noqa: SIM115 -- closed with this object
        if part is None:
            self.head, self.left = b"", self.handle.seek(0, 2)
            self.handle.seek(0)
        else:
            self.head = self.handle.readline()
            self.handle.seek(part.start)
            self.left = part.end - part.start
        self.total, self.done = len(self.head) + self.left, 0

    def readable(self) -> bool:
        return True

    def size(self) -> int:
        return self.total

    def tell(self) -> int:
        return self.done

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self.head:
            n = min(len(view), len(self.head))
            view[:n], self.head = self.head[:n], self.head[n:]
        else:
            n = self.handle.readinto(view[:min(len(view), self.left)]) or 0
            self.left -= n
        self.done += n
        return n

    def close(self) -> None:
        self.handle.close()
        super().close()
