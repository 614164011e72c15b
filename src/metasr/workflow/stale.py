"""Results the current review no longer produces, removed at the end of a successful run.

A removed outcome, source or figure kind leaves its files in `results/`, where the report's
folder, a reviewer or a script would find them as if they were current. After every successful
run the files that no rule of the current workflow produces are deleted (and named in the log);
`results/history/`, the change log that outlives every run, is kept. A `results` that is a link
(to a bigger disk, say) is written through but never cleaned: its target may hold anything, and
a file there that no rule writes is not the review's to delete (`elsewhere`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)
KEEP = ("history",)  # folders of results/ that no rule writes on purpose


def stale_results(results: Path, produced: Callable[[str], bool]) -> list[Path]:
    """Files under `results/` (but its KEEP folders) that `produced` says no rule writes."""
    results = Path(results)
    if not results.is_dir():
        return []
    kept = [results / name for name in KEEP]
    return sorted(p for p in results.rglob("*")
                  if p.is_file() and not any(k == p or k in p.parents for k in kept)
                  and not produced(p.as_posix()))


def produced_by(products: Iterable) -> Callable[[str], bool]:
    """Whether a path is one of `products` (Snakemake's files of every rule: outputs, logs,
    benchmarks), as `Rule.is_producer` says: a product without wildcards is looked up by its path
    in a set, one with wildcards matched as Snakemake matches it.

    `Rule.is_producer` tries every product's regular expression in turn; asked for each of the
    14,000 files of a 2,000-outcome review's results, it took 15 s at the end of every run.
    """
    fixed, patterned = set(), []
    for product in products:
        if product.contains_wildcard():
            patterned.append(product)
        else:
            fixed.add(str(product))
    return lambda path: path in fixed or any(product.match(path) for product in patterned)


def elsewhere(results: Path) -> str | None:
    """Why the clean-up leaves `results` alone (it is a link, or lies under one, to another
    folder: a tester's unrelated file in the link's target was deleted), or None."""
    results = Path(results)
    real, lexical = os.path.realpath(results), os.path.join(os.path.realpath(results.parent), results.name)
    if real == lexical:
        return None
    return (f"{results} is a link to {real}, which the clean-up leaves alone (it deletes only inside the "
            f"review's own {results.name}/ folder)")


def remove_stale_results(results: Path, produced: Callable[[str], bool]) -> list[Path]:
    """Delete the stale files (and folders left empty); return what was removed. Nothing is
    removed when `results` leads elsewhere (`elsewhere`)."""
    if elsewhere(results):
        return []
    removed = stale_results(results, produced)
    for path in removed:
        path.unlink()
    for folder in sorted({p.parent for p in removed}, key=lambda f: len(f.parts), reverse=True):
        while folder != Path(results) and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    for path in removed:
        log.warning("removed %s: no step of the review writes it", path)
    return removed
