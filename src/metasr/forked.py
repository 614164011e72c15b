"""`func(item)` for a stream of items, in order, each computed in a child process forked for it.

`metasr pool --by` reads a large table in chunks and pools and formats each chunk on its own;
the reading stays in this process while up to `jobs` children work on the chunks already read.
A child is forked when its item arrives, so it inherits the item (a chunk of a table: nothing is
copied or pickled on the way in) and the modules already imported (numpy, pandas: no start-up).
Its result comes back pickled through an unnamed temporary file, which (unlike a pipe) never
blocks the child however large the result. An exception raised by `func` in a child is raised
here, when its result would have been given. Where `fork` does not exist (Windows) or one job is
asked for, the items are computed here, one after the other: the results are the same.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import IO, Any


class Deferred:
    """An object that crosses from a worker process as its pickle, unpickled only if `value` is
    asked for (a result the parent rarely needs costs the worker, not the parent)."""

    def __init__(self, value: Any):
        self._value, self._pickle = value, b""

    @property
    def value(self) -> Any:
        if self._pickle:
            self._value, self._pickle = pickle.loads(self._pickle), b""
        return self._value

    def __getstate__(self) -> bytes:
        return self._pickle or pickle.dumps(self._value, protocol=pickle.HIGHEST_PROTOCOL)

    def __setstate__(self, state: bytes) -> None:
        self._value, self._pickle = None, state


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class _Child:
    pid: int
    result: IO[bytes]


def ordered_map(func: Callable[[Any], Any], items: Iterable, jobs: int) -> Generator:
    """func(item) for every item, in the items' order, with at most `jobs` children at once.
    Closing the iterator early (or an exception) stops the children still running."""
    if jobs <= 1 or not hasattr(os, "fork"):
        yield from map(func, items)
        return
    running: deque[_Child] = deque()
    try:
        for item in items:
            if len(running) >= jobs:
                yield _collect(running.popleft())
            running.append(_fork(func, item))
        while running:
            yield _collect(running.popleft())
    finally:
        for child in running:
            _stop(child)


def _fork(func, item) -> _Child:
    result = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        status = 1
        try:
            try:
                outcome = (True, func(item))
            except BaseException as err:  # noqa: BLE001 -- raised again in the parent
                outcome = (False, err)
            try:
                pickle.dump(outcome, result, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:  # noqa: BLE001 -- said in the parent
                result.seek(0)
                result.truncate()
                pickle.dump((False, RuntimeError(f"a worker's result could not be passed back: {err!r}")), result)
            result.flush()
            status = 0
        finally:
            os._exit(status)  # no atexit handlers, no flushing of the parent's buffered output
    return _Child(pid, result)


def _collect(child: _Child) -> Any:
    with child.result:
        _, status = os.waitpid(child.pid, 0)
        if status != 0:
            raise ChildProcessError(f"a worker process {_status_text(status)} before giving its result")
        child.result.seek(0)
        ok, value = pickle.load(child.result)
    if not ok:
        raise value
    return value


def _stop(child: _Child) -> None:
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(child.pid, 0)
    child.result.close()


def _status_text(status: int) -> str:
    """How a child ended, in words: "was killed by signal 9 (SIGKILL: ...)" or "ended with status 3"."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = signal.Signals(number).name if number in signal.valid_signals() else "an unknown signal"
        why = ", which the system sends when memory runs out" if number == signal.SIGKILL else ""
        return f"was killed by signal {number} ({name}{why})"
    return f"ended with status {os.WEXITSTATUS(status)}"
