"""A review is a folder: where its config is, what its paths are relative to, what it may read.

A review folder holds `config.yaml` (or `config/config.yaml`, the layout of the default review at
the repository root) and the review's data. Every path in the config is relative to the folder;
results go to `FOLDER/results/`, logs to `FOLDER/logs/`. Input files are read from inside the
folder only, unless the config lists other folders under `external_data` on purpose: a path that
climbs out of the review (`../other/file.ris`, `/etc/passwd`), or a link inside it that leads out,
is a mistake until the reviewer says otherwise, and its content is never read, nor echoed back.

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
    """The folders inputs may come from: the review, and those listed in `external_data` (checked
    by `external_data_problems` first)."""
    return [_absolute(root), *(_external_folder(root, entry) for entry in external or [])]


def _external_folder(root: Path, entry: str) -> Path:
    extra = Path(entry)
    return Path(os.path.normpath(extra if extra.is_absolute() else Path(root) / extra))


EXTERNAL_HINT = ("list the folders that hold the inputs, e.g. `external_data: [/data/shared, ../common]` "
                 "(absolute, or relative to the review folder)")


def external_data_problems(root: Path, external: object, source: str) -> list[Problem]:
    """What is wrong with `external_data`, checked before anything reads or walks its folders (every
    Snakemake invocation stats their files: metasr.workflow.review_cache). Each entry must be an
    existing folder that is neither the file system's root nor a folder holding the review (walking
    it would read everything around the review, the review's own results included), nor one the
    workflow writes (GENERATED: its clean-up deletes files there)."""
    if external is None:
        return []
    if not isinstance(external, list):
        kind = "a mapping" if isinstance(external, dict) else "a single value"
        hint = f"write it as a list: `external_data: [{external}]`" if isinstance(external, str) else EXTERNAL_HINT
        return [Problem(message=f"external_data must be a list of folders, not {kind}", file=source,
                        key="external_data", value=str(external), rule="external-data", hint=hint)]
    problems = []
    for index, entry in enumerate(external):
        why = _external_entry_problem(_absolute(root), entry)
        if why:
            problems.append(Problem(message=why[0], file=source, key=f"external_data.{index}", value=str(entry),
                                    rule="external-data", hint=why[1]))
    return problems


def _external_entry_problem(root: Path, entry: object) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) for one entry of `external_data`, or None."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not a folder name", EXTERNAL_HINT
    folder = _external_folder(root, entry)
    real, real_root = Path(os.path.realpath(folder)), Path(os.path.realpath(root))
    if real == Path(real.anchor):
        return "the file system's root cannot be an external_data folder", EXTERNAL_HINT
    if folder in root.parents or real in real_root.parents:
        return ("this folder holds the review folder itself: every file around the review would be read "
                "as its input", "name the folder beside the review that holds the data (e.g. ../shared), "
                                "not a folder above the review")
    if generated_part(root, folder):
        return (f"{generated_part(root, folder)}/ is written by the workflow, not an input folder",
                "keep inputs in data/ (or another folder of your own)")
    if not folder.is_dir():
        return (f"folder not found: {folder}" if not folder.exists() else f"{folder} is not a folder"), \
            f"give an existing folder, absolute or relative to the review folder {root}"
    return None


def generated_part(root: Path, path: Path) -> str | None:
    """The folder of GENERATED that `path` lies in, inside the review `root` (by name); None otherwise."""
    try:
        first = Path(os.path.normpath(path)).relative_to(_absolute(root)).parts[:1]
    except ValueError:
        return None
    return first[0] if first and first[0] in GENERATED else None


def inside(path: Path, roots: list[Path]) -> bool:
    """Whether `path` (after removing `..` by name, not by following links) lies in one of `roots`.

    Lexical on purpose: it judges the path as written (`..`, `/`); where a link in it leads is
    judged by `bad_link`, on the inputs that exist.
    """
    normal = Path(os.path.normpath(path))
    return any(normal == r or r in normal.parents for r in roots)


@dataclass(frozen=True)
class BadLink:
    """A link on the way to an input (the input itself, or a folder above it) that leads where
    inputs may not come from: out of the allowed folders ("outside"), into a folder the workflow
    writes ("generated": its clean-up would delete the input), or to nothing ("missing")."""

    link: Path
    target: Path
    why: str


def bad_link(path: Path, root: Path, roots: list[Path]) -> BadLink | None:
    """The first component of `path` (lexically inside one of `roots`) that is such a link, or None.

    Each component is followed, not only the whole path: when `data/` itself links to a share, the
    link to name (and to allow) is `data`, not every file read through it. A component that does
    not exist ends the walk: whether inputs exist is judged elsewhere."""
    normal = Path(os.path.normpath(path))
    base = next((r for r in roots if normal == r or r in normal.parents), None)
    if base is None:
        return None
    real_roots = [*roots, *(Path(os.path.realpath(r)) for r in roots)]
    current = base
    for part in normal.relative_to(base).parts:
        current = current / part
        if not current.is_symlink():
            if not current.exists():
                return None
            continue
        target = Path(os.path.realpath(current))
        why = ("missing" if not target.exists() else "outside" if not inside(target, real_roots)
               else "generated" if link_generated(root, target) else None)
        if why:
            return BadLink(current, target, why)
    return None


def link_generated(root: Path, target: Path) -> str | None:
    """The folder of GENERATED that a link's real `target` lies in, in the review `root` reached
    either as written or through its own links."""
    return generated_part(root, target) or generated_part(Path(os.path.realpath(root)), target)


def bad_link_problem(found: BadLink, uses: list[tuple[str, str]], root: Path, source: str) -> Problem:
    """One problem per bad link, however many inputs are read through it (`uses`: (key, path as
    written)); the first input's key is the problem's."""
    shown = _shown(found.link, root)
    through = [rel for _, rel in uses if rel != shown]
    via = f" (read through it: {', '.join(through[:3])}{', ...' if len(through) > 3 else ''})" if through else ""
    key, rel = uses[0]
    if found.why == "missing":
        return Problem(message=f"'{shown}' is a link to {found.target}, which does not exist{via}", file=source,
                       key=key, value=rel, rule="file-exists",
                       hint=f"point the link at the file it stands for (ln -sfn TARGET {shown}), or put the "
                            "file itself in its place")
    if found.why == "generated":
        part = link_generated(root, found.target)
        return Problem(message=f"'{shown}' is a link to {found.target}, in {part}/, which the workflow writes "
                               f"(and clears of files no step writes){via}", file=source, key=key, value=rel,
                       rule="input-in-generated",
                       hint="keep inputs in data/: move the file there in place of the link")
    return Problem(message=f"'{shown}' is a link to {found.target}, outside the review folder{via}", file=source,
                   key=key, value=rel, rule="inside-review", hint=_allow_hint(found.target, root))


def _shown(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(_absolute(root)).as_posix()
    except ValueError:
        return str(path)


def _allow_hint(target: Path, root: Path) -> str:
    """How to allow what a link leads to: its folder (the target itself when it is one) under
    external_data, unless external_data would refuse that folder; copying always works."""
    folder = target if target.is_dir() else target.parent
    copy = "copy the data into the review folder in place of the link"
    refused = _external_entry_problem(_absolute(root), str(folder))
    if refused:
        return f"{copy} ({folder} cannot be an external_data folder: {refused[0]})"
    return f"{copy}, or allow the folder if reading it from there is intended: `external_data: [{folder}]`"


def outside_problem(rel: str, key: str, source: str, roots: list[Path]) -> Problem:
    shown = ", ".join(str(r) for r in roots)
    return Problem(message=f"'{rel}' lies outside the review folder", file=source, key=key, value=rel,
                   rule="inside-review",
                   hint=f"inputs are read from {shown} only: copy the file into the review folder, or list "
                        "its folder under `external_data:` in the config if reading it from there is intended")


def review_from_options(review: str | None = None, config: str | None = None) -> ReviewFolder:
    """The review a command works on: `--config FILE`, else `--review FOLDER` (default: here)."""
    return review_of_config(config) if config else find_review(review or ".")
