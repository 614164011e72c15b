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
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BLOCK_BYTES = 1 << 20
MAX_KEY_BYTES = 256     # longer keys: not worth a matrix of their bytes


@dataclass(frozen=True)
class Part:
    """Rows of a table: bytes [start, end) of the file, `rows` rows after `rows_before` others;
    `last` when it is the table's last part (then the whole table has been found plain)."""

    start: int
    end: int
    rows_before: int
    rows: int
    last: bool = False


class NotPlain(Exception):
    """The table is not plain (found while it was being cut): it is read by one process."""


def parts(path: str | os.PathLike, by: str, chunk_rows: int) -> list[Part] | None:
    """The chunks `grouped.chunks_of_groups` would pool, as Parts; None if the table is not plain."""
    try:
        return list(iter_parts(path, by, chunk_rows))
    except NotPlain:
        return None


def iter_parts(path: str | os.PathLike, by: str, chunk_rows: int) -> Iterator[Part]:
    """The Parts of `parts`, each as soon as the scan has passed it; NotPlain (when the table turns
    out not to be plain) may come after some Parts, at the latest once the last was given."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 -- closed below, also when the caller stops early
    except OSError:
        raise NotPlain from None  # the one-process reader says what the system refused
    with handle:
        yield from _parts(handle, by, chunk_rows)


def _parts(handle, by: str, chunk_rows: int) -> Iterator[Part]:
    header = handle.readline()
    if not header.endswith(b"\n") or b'"' in header or b"\r" in header:
        raise NotPlain
    cells = [c.strip() for c in header.rstrip(b"\n").removeprefix(b"\xef\xbb\xbf").split(b",")]
    if cells.count(by.encode("utf-8")) != 1 or not all(cells):  # (an unnamed column's cells are looked at)
        raise NotPlain
    scan = _Scan(len(cells), cells.index(by.encode("utf-8")), handle.tell(), chunk_rows)
    while block := handle.read(BLOCK_BYTES):
        cut = block.rfind(b"\n") + 1
        if not cut:
            raise NotPlain  # a line longer than a block, or a last line without its line end
        if not scan.lines(block[:cut] if cut < len(block) else block):
            raise NotPlain
        handle.seek(cut - len(block), 1)  # the next block starts at the next line
        yield from scan.parts()
    if not scan.rows or not scan.keys_once():
        raise NotPlain
    yield scan.last_part()


def part_runs(path: str | os.PathLike, part: Part, width: int, column: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Of a part of a plain table `width` columns wide, keyed by column `column`: the row (counted
    within the part) where each run of rows of one key starts, and the runs' keys (bytes, numpy
    'S', padded with NULs, which no key holds); None where the part's lines are not plain."""
    try:
        with open(path, "rb") as handle:
            handle.seek(part.start)
            data = handle.read(part.end - part.start)
    except OSError:
        return None  # the reader that takes over says what the system refused
    scan = _Scan(width, column, part.start, part.rows + 1)
    if not data.endswith(b"\n") or not scan.lines(data) or scan.rows != part.rows:
        return None
    return scan.run_rows[1:], scan.run_keys[0]


class _Scan:
    """The rows' groups, block by block: where each run of rows of one key starts (row, byte)."""

    def __init__(self, width: int, column: int, offset: int, chunk_rows: int):
        self.width, self.column, self.chunk_rows = width, column, chunk_rows
        self.offset = offset            # byte of the next block's first line
        self.rows = 0
        self.cut = (0, offset)          # (row, byte) where the next part starts
        self.chunk_end = chunk_rows     # the end of the next chunk of pandas' to look at
        self.last_key: bytes | None = None
        # the first row of each run that starts in the last block, and of the run before them
        # (row, byte offset): where the run of any row of that block starts
        self.run_rows, self.run_bytes = np.array([-1]), np.array([-1])
        self.run_keys: list[np.ndarray] = []  # of every run

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
        self.run_rows = np.concatenate((self.run_rows[-1:], self.rows + at))
        self.run_bytes = np.concatenate((self.run_bytes[-1:], self.offset + starts[at]))
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

    def parts(self) -> Iterator[Part]:
        """The parts the rows scanned so far settle: pandas' chunk i ends at row i * chunk_rows,
        and when another follows (a row after it has been scanned), the run of its last row waits
        for it. A chunk that is one run yields no part."""
        while self.chunk_end < self.rows:  # the chunk's last row is in the last block, or just before
            run = np.searchsorted(self.run_rows, self.chunk_end - 1, side="right") - 1
            cut = int(self.run_rows[run]), int(self.run_bytes[run])
            if cut[0] > self.cut[0]:
                yield Part(self.cut[1], cut[1], self.cut[0], cut[0] - self.cut[0])
                self.cut = cut
            self.chunk_end += self.chunk_rows

    def last_part(self) -> Part:
        return Part(self.cut[1], self.offset, self.cut[0], self.rows - self.cut[0], last=True)


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
