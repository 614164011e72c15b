"""Small file helpers shared by every stage: atomic writes and deterministic JSON."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from metasr.errors import InputError, Problem


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    Readers never see half a file, and a failed step leaves no partial output. The file gets the
    permissions a plain `open()` would give (mkstemp's 0600 would hide results from co-workers).
    """
    path = Path(path)
    check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_output_path(path: Path) -> None:
    """A clear error, not an OSError traceback, when an output would land on a folder or under a
    file (a mistyped --out is the usual cause)."""
    if path.is_dir():
        raise InputError(Problem(message=f"cannot write {path}: it is a folder", file=str(path),
                                 rule="output path", hint="give a file name, or another --out"))
    blocked = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise InputError(Problem(message=f"cannot write {path}: {blocked} is a file, not a folder",
                                 file=str(path), rule="output path",
                                 hint="choose an --out folder that is not an existing file"))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


def json_safe(value: Any) -> Any:
    """NaN and infinities become null (JSON has no such numbers); numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False) + "\n")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def csv_safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP's CSV injection
    guidance): text starting with '=', '+', '-', '@', a tab or a carriage return gets a leading
    apostrophe. Numbers, and text that is a plain number ('-0.5'), stay as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _NUMBER.match(value):
        return value
    return "'" + value


def write_csv_safe(path: str | os.PathLike, columns: list[str], rows: list[dict]) -> None:
    """Write rows (dicts) as a UTF-8 CSV for people and their spreadsheets: every cell through
    `csv_safe_cell`, atomically."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([csv_safe_cell(row.get(c, "")) for c in columns] for row in rows)
