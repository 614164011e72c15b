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

A file the check read whose stat line changed but whose bytes did not (touched, checked out
again by git, saved unchanged) changes nothing the check saw: the record keeps the SHA-256 of each
file the check opened (unless its stat line changed while the check ran), and a key that differs
only by such files is the same review (the record is then written again under the new key). A
file added or removed, a changed file the check did not open (not hashed: a folder may hold large
full texts), or any other part of the key means checking again.

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
FORMAT = 3
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
    base = _base_digest(raw_config, root, source)
    folders = _folders_files(raw_config, root)
    record = _read(cache)
    if record is not None:
        lines = {**_stat_lines(record["opened"]), **folders}
        key = _key(base, lines)
        try:
            if record["key"] == key:
                return _review(record, root)
            if _same_bytes(record, base, lines):
                review = _review(record, root)
                _write(cache, base, key, record["opened"], review, _with_lines(record["files"], lines))
                return review
        except (KeyError, TypeError, ValueError, AttributeError):  # a record not written by _write: check again
            pass
    review, opened = _checked(raw_config, root, source)
    review.digests = _digests(opened)
    after = _stat_lines(opened)
    lines = {**after, **folders}  # a folder's file as it was before the check read it
    # A file's SHA-256 stands for the bytes the check read when its stat line did not change from
    # before the check to after the hashing; files the check did not open have none.
    files = {path: [line, review.digests.get(path) if after.get(path) == line else None]
             for path, line in lines.items()}
    _write(cache, base, _key(base, lines), opened, review, files)
    return review


def _digests(paths) -> dict[str, str]:
    """The SHA-256 of each file that can be read (Review.content reads them from here)."""
    digests = {}
    for path in paths:
        try:
            digests[path] = file_sha256(path)
        except OSError:  # gone since, or a folder: Review.content reads it (or reports it) itself
            pass
    return digests


# ---------------------------------------------------------------- the key


def _base_digest(raw_config: dict, root: Path, source: str) -> str:
    """The key's part that is not the files: config, code and versions."""
    base = {"format": FORMAT, "metasr": __version__, "python": sys.version, "code": source_fingerprint(CHECK_CODE),
            "libraries": installed(CHECK_LIBRARIES), "config": raw_config, "root": str(root), "source": source}
    return hashlib.sha256(json.dumps(base, sort_keys=True, default=str).encode()).hexdigest()


def _folders_files(raw_config: dict, root: Path) -> dict[str, str]:
    """The stat line of every file of the review folder and its external_data folders, by path."""
    lines: dict[str, str] = {}
    for folder in allowed_roots(root, raw_config.get("external_data")):
        lines.update(_folder_files(folder))
    return lines


def _key(base: str, lines: dict[str, str]) -> str:
    """The key: the base digest and the stat lines of the folders' files and of the files a check opened."""
    digest = hashlib.sha256(base.encode())
    for path in sorted(lines):
        digest.update(lines[path].encode())
    return digest.hexdigest()


def _same_bytes(record: dict, base: str, lines: dict[str, str]) -> bool:
    """Whether only stat lines differ from the record's, of files whose bytes are those it saw."""
    files = record["files"]
    if record["base"] != base or set(files) != set(lines):
        return False
    for path, line in lines.items():
        old_line, old_digest = files[path]
        if line != old_line and (old_digest is None or _digests([path]).get(path) != old_digest):
            return False
    return True


def _with_lines(files: dict, lines: dict[str, str]) -> dict:
    return {path: [lines[path], digest] for path, (_, digest) in files.items()}


def _stat_lines(paths) -> dict[str, str]:
    return {path: _stat_line(path) for path in paths}


def _stat_line(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}\0missing\n"
    return f"{path}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n"


def _folder_files(folder: Path) -> dict[str, str]:
    """Stat lines of the files under `folder`, by path; generated and hidden folders left out,
    linked folders followed once."""
    lines: dict[str, str] = {}
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
                lines[entry.path] = _stat_line(entry.path)
    return lines


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
            and isinstance(record.get("base"), str) and isinstance(record.get("files"), dict)
            and isinstance(record.get("opened"), list) and all(isinstance(p, str) for p in record["opened"])):
        return None
    return record


def _write(cache: Path, base: str, key: str, opened: list[str], review: Review, files: dict) -> None:
    """files: [stat line, SHA-256 or None] by path, of every file in the key."""
    studies = {row["study_id"]: row for rows in review.studies_by_outcome.values() for row in rows}
    record = {"format": FORMAT, "key": key, "base": base, "files": files, "opened": opened,
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
