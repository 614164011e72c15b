"""A review is a folder: where its config is, what its paths are relative to, what it may read.

A review folder holds `config.yaml` (or `config/config.yaml`, the layout of the default review at
the repository root) and the review's data. Every path in the config is relative to the folder;
results go to `FOLDER/results/`, logs to `FOLDER/logs/`. Input files are read from inside the
folder only, unless the config lists other folders under `external_data` on purpose: a path that
climbs out of the review (`../other/file.ris`, `/etc/passwd`) is a mistake until the reviewer says
otherwise, and its content is never echoed back.

This module is imported at parse time by every Snakemake invocation: standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from metasr.errors import InputError, Problem

# Where a folder's config may live, in the order they are looked for.
CONFIG_NAMES = ("config.yaml", "config/config.yaml")
# The folders of a review that the workflow writes (results, logs, Snakemake's records): no inputs.
GENERATED = ("results", "logs", ".snakemake")


@dataclass(frozen=True)
class ReviewFolder:
    """The review's folder (`root`) and the config file the reviewer wrote."""

    root: Path
    config_file: Path

    @property
    def shown_config(self) -> str:
        """The config file as messages name it: relative to the folder when it lies inside."""
        try:
            return str(self.config_file.relative_to(self.root))
        except ValueError:
            return str(self.config_file)


def find_review(folder: str | os.PathLike) -> ReviewFolder:
    """The review in `folder`: its `config.yaml` or `config/config.yaml`."""
    root = _absolute(folder)
    if not root.is_dir():
        raise InputError(Problem(message=f"review folder not found: {folder}", file=str(folder),
                                 rule="review-folder",
                                 hint="give the folder that holds the review's config.yaml "
                                      "(`metasr init FOLDER` starts one)"))
    for name in CONFIG_NAMES:
        if (root / name).is_file():
            return ReviewFolder(root=root, config_file=root / name)
    raise InputError(Problem(message=f"no config.yaml in {folder}", file=str(folder), rule="review-folder",
                             hint="a review folder holds config.yaml (or config/config.yaml); "
                                  "`metasr init FOLDER` writes a starter review"))


def review_of_config(config_file: str | os.PathLike) -> ReviewFolder:
    """The review a config file belongs to: its folder, or the folder above `config/`."""
    path = _absolute(config_file)
    if not path.is_file():
        raise InputError(Problem(message=f"config file not found: {config_file}", file=str(config_file),
                                 rule="file-exists",
                                 hint="give the path of the review's config.yaml (`metasr init FOLDER` "
                                      "writes a starter review)"))
    root = path.parent.parent if path.parent.name == "config" else path.parent
    return ReviewFolder(root=root, config_file=path)


def _absolute(path: str | os.PathLike) -> Path:
    """`path` made absolute with `..` removed by name, as `inside` compares paths: a folder given as
    `..` or `../review` is the folder it names."""
    return Path(os.path.abspath(path))


def allowed_roots(root: Path, external: list[str] | None) -> list[Path]:
    """The folders inputs may come from: the review, and those listed in `external_data`."""
    roots = [_absolute(root)]
    for entry in external or []:
        extra = Path(entry)
        roots.append(Path(os.path.normpath(extra if extra.is_absolute() else root / extra)))
    return roots


def inside(path: Path, roots: list[Path]) -> bool:
    """Whether `path` (after removing `..` by name, not by following links) lies in one of `roots`.

    Lexical on purpose: a link the reviewer placed inside the folder is their choice; a path
    written with `..` or from `/` that leaves the folder is not.
    """
    normal = Path(os.path.normpath(path))
    return any(normal == r or r in normal.parents for r in roots)


def outside_problem(rel: str, key: str, source: str, roots: list[Path]) -> Problem:
    shown = ", ".join(str(r) for r in roots)
    return Problem(message=f"'{rel}' lies outside the review folder", file=source, key=key, value=rel,
                   rule="inside-review",
                   hint=f"inputs are read from {shown} only: copy the file into the review folder, or list "
                        "its folder under `external_data:` in the config if reading it from there is intended")


def review_from_options(review: str | None = None, config: str | None = None) -> ReviewFolder:
    """The review a command works on: `--config FILE`, else `--review FOLDER` (default: here)."""
    return review_of_config(config) if config else find_review(review or ".")
