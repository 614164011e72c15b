"""A checked review, remembered until one of its inputs changes.

Every Snakemake invocation parses the workflow, and parsing validates the whole review
(`review.load_review`: the config, every sheet, the search exports): at 2,000 outcomes that was
half of a run with nothing to do, and `metasr run` validated once more before starting Snakemake.
The result of a successful check is therefore written to `.snakemake/metasr/review.json` with a
key, and given back while the key is the same. The key covers what the check depends on:

- the config as read (its parsed values), the folder and the name the messages give the config;
- every file of the review folder and of its `external_data` folders, by path, size, inode,
  modification and change time (the same test Snakemake applies to decide what to rerun), except
  the folders the workflow writes (`folder.GENERATED`) and hidden ones (`.git`, `.venv`), which
  hold no inputs and many files;
- the files the check opened, wherever they are (a config may name a file in a hidden folder);
- metasr's version, a checksum of the code and schemas the check runs, and the versions of the
  libraries it reads files with (CHECK_LIBRARIES).

Only a review without errors is remembered (a review with problems is checked, and they are
reported, every time). The file is plain JSON read back as data, never code; anything unexpected
in it (another version, a damaged file, a folder that cannot be written) means checking again.
Standard library only, as all parse-time code.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from metasr import __version__
from metasr.config import raw_config_problems
from metasr.errors import InputError, Problem, raise_if_errors
from metasr.folder import GENERATED, allowed_roots
from metasr.io import atomic_write_text, file_sha256
from metasr.versions import installed
from metasr.workflow.fingerprint import source_fingerprint
from metasr.workflow.review import Review, load_review

CACHE = Path(".snakemake") / "metasr" / "review.json"
FORMAT = 2
# The code a check runs: load_review and everything it imports (inside functions too).
CHECK_CODE = "import metasr.workflow.review\n"
# The libraries whose reading of a file a check's result depends on (the rest of metasr's are pinned
# with it in requirements.lock).
CHECK_LIBRARIES = ("pyyaml", "jsonschema", "fastjsonschema", "numpy", "pandas", "bibtexparser", "lxml", "rapidfuzz")

_opened: list[str] | None = None  # while a check runs: the files it opens


def load_review_cached(raw_config: dict, root: str | Path, source: str = "config/config.yaml") -> Review:
    """load_review's result, from the cache when no input changed; checked (and remembered) otherwise."""
    root = Path(root).absolute()
    cache = root / CACHE
    raise_if_errors(raw_config_problems(raw_config, source, root))  # before the key reads and walks it
    # The folders are walked once, before any check: a file changed while a check runs is checked again.
    inputs = _inputs_digest(raw_config, root, source)
    record = _read(cache)
    if record is not None and record["key"] == _key(inputs, record["opened"]):
        try:
            return _review(record, root)
        except (KeyError, TypeError, ValueError):  # a record not written by _write: check again
            pass
    review, opened = _checked(raw_config, root, source)
    review.digests = _digests(opened)
    _write(cache, _key(inputs, opened), opened, review)
    return review


def _digests(paths: list[str]) -> dict[str, str]:
    """The SHA-256 of each file a check opened (Review.content reads them from here)."""
    digests = {}
    for path in paths:
        try:
            digests[path] = file_sha256(path)
        except OSError:  # gone since, or a folder: Review.content reads it (or reports it) itself
            pass
    return digests


# ---------------------------------------------------------------- the key


def _inputs_digest(raw_config: dict, root: Path, source: str):
    """The key's part that does not depend on what a check opened: config, code, versions and
    the stat lines of the folders' files."""
    base = {"format": FORMAT, "metasr": __version__, "python": sys.version, "code": source_fingerprint(CHECK_CODE),
            "libraries": installed(CHECK_LIBRARIES), "config": raw_config, "root": str(root), "source": source}
    digest = hashlib.sha256(json.dumps(base, sort_keys=True, default=str).encode())
    for folder in allowed_roots(root, raw_config.get("external_data")):
        for entry in _folder_files(folder):
            digest.update(entry.encode())
    return digest


def _key(inputs, opened: list[str]) -> str:
    """The key: `inputs` (_inputs_digest) and the stat lines of the files a check opened."""
    digest = inputs.copy()
    for path in sorted(set(opened)):
        digest.update(_stat_line(path).encode())
    return digest.hexdigest()


def _stat_line(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}\0missing\n"
    return f"{path}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n"


def _folder_files(folder: Path) -> list[str]:
    """Stat lines of the files under `folder`, sorted; generated and hidden folders left out,
    linked folders followed once."""
    lines: list[str] = []
    seen: set[str] = set()
    todo = [(str(folder), True)]
    while todo:
        directory, top = todo.pop()
        try:
            real = os.path.realpath(directory)
            if real in seen:
                continue
            seen.add(real)
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if not entry.name.startswith(".") and not (top and entry.name in GENERATED):
                    todo.append((entry.path, False))
            else:
                lines.append(_stat_line(entry.path))
    return sorted(lines)


# ---------------------------------------------------------------- checking, with the files it opens


def _checked(raw_config: dict, root: Path, source: str) -> tuple[Review, list[str]]:
    global _opened
    _watch_opens()
    _opened = []
    try:
        review = load_review(raw_config, root, source)
        return review, sorted(set(_opened))
    finally:
        _opened = None


_watching = False


def _watch_opens() -> None:
    """An audit hook (it cannot be removed; it does nothing outside a check) noting opened files."""
    global _watching
    if not _watching:
        sys.addaudithook(_on_event)
        _watching = True


def _on_event(event: str, args: tuple) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], (str, os.PathLike)):
        path = os.path.abspath(os.fspath(args[0]))
        if not path.startswith((sys.prefix, sys.base_prefix)) and not path.endswith((".py", ".pyc")):
            _opened.append(path)


# ---------------------------------------------------------------- the file


def _read(cache: Path) -> dict | None:
    try:
        record = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(record, dict) and record.get("format") == FORMAT and isinstance(record.get("key"), str)
            and isinstance(record.get("opened"), list) and all(isinstance(p, str) for p in record["opened"])):
        return None
    return record


def _write(cache: Path, key: str, opened: list[str], review: Review) -> None:
    studies = {row["study_id"]: row for rows in review.studies_by_outcome.values() for row in rows}
    record = {"format": FORMAT, "key": key, "opened": opened,
              "config": review.config, "studies": studies,
              "study_ids": {o: [row["study_id"] for row in rows] for o, rows in review.studies_by_outcome.items()},
              "usable": review.usable_by_outcome, "warnings": [w.to_dict() for w in review.warnings],
              "digests": review.digests}
    try:
        text = json.dumps(record, allow_nan=False)
    except (TypeError, ValueError):  # a config that is not plain JSON: not remembered
        return
    try:
        atomic_write_text(cache, text)  # readers (parallel jobs) see the old file or the new one, never half
    except (InputError, OSError):
        pass  # a folder that cannot be written is checked every time


def _review(record: dict, root: Path) -> Review:
    studies = record["studies"]
    return Review(config=record["config"], root=root,
                  studies_by_outcome={o: [studies[i] for i in ids] for o, ids in record["study_ids"].items()},
                  usable_by_outcome=record["usable"], warnings=[Problem(**w) for w in record["warnings"]],
                  digests=dict(record["digests"]))
