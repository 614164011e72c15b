"""Progress of long steps: a bar on an interactive terminal, a few log lines everywhere else.

A reviewer running `metasr records dedup` on 40,000 records at a terminal sees a bar (tqdm) per
step; in a Snakemake job, a log file, a pipe or CI nothing is drawn (bars garble logs and
parallel jobs), and the same steps appear as at most a dozen INFO log lines instead. Set
METASR_PROGRESS=0 to silence the bars, =1 to force them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

log = logging.getLogger("metasr.progress")
T = TypeVar("T")
LOG_STEPS = 10  # log lines per step when no bar is drawn


def bars_wanted() -> bool:
    """Whether to draw bars: an interactive stderr outside CI, unless METASR_PROGRESS says otherwise."""
    setting = os.environ.get("METASR_PROGRESS", "")
    if setting in ("0", "1"):
        return setting == "1"
    return bool(getattr(sys.stderr, "isatty", lambda: False)()) and not os.environ.get("CI")


class Progress:
    """Progress of named steps, each with a total: `progress(step, done, total)`.

    The callable shape is what long library steps accept (e.g. metasr.records.dedup's
    cluster_records), so the library never imports a progress library itself."""

    def __init__(self, what: str, bars: bool | None = None):
        self.what = what
        self.bars = bars_wanted() if bars is None else bars
        self._bar = None
        self._step: str | None = None
        self._logged = -1

    def __call__(self, step: str, done: int, total: int) -> None:
        if step != self._step:
            self.close()
            self._step, self._logged = step, -1
            if self.bars:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=f"{self.what}: {step}", unit="", leave=False,
                                 dynamic_ncols=True)
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()
        else:
            self._log(step, done, total)
        if done >= total:
            self.close()

    def _log(self, step: str, done: int, total: int) -> None:
        tenth = done * LOG_STEPS // total if total else LOG_STEPS
        if tenth > self._logged:
            self._logged = tenth
            log.info("%s: %s %d/%d", self.what, step, done, total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def track(items: Iterable[T], what: str, step: str, total: int | None = None) -> Iterator[T]:
    """Iterate over `items`, reporting progress as one step of `what`."""
    items = list(items) if total is None and not hasattr(items, "__len__") else items
    total = len(items) if total is None else total  # type: ignore[arg-type]
    progress = Progress(what)
    try:
        for done, item in enumerate(items, start=1):
            yield item
            progress(step, done, total)
    finally:
        progress.close()
