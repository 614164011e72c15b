"""Checksums of the code a workflow step runs, derived from what its script imports.

Snakemake notices a `script:` rule's script only by its modification time, and never the library
it calls. Each rule therefore passes, as a param, a checksum of every metasr module its script
imports (directly or through other metasr modules, including imports inside functions) and of
the data files those modules' folders hold (templates, schemas), and of the script itself. A
change to, say, the pooling engine reruns the jobs whose scripts reach it, and only them; a module
added to a step is covered without anyone listing it. The rules are left out (Snakemake tracks
their params and files), and so are the starter templates (no step reads them).

Standard library only: every Snakemake invocation computes these at parse time.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = "metasr"
# Folders of the package whose files no step reads as library code.
NOT_CODE = ("resources/workflow", "resources/starter")


# Each Snakemake invocation fingerprints about ten scripts that reach mostly the same modules and
# folders: what the files are is looked up once per process (their contents are read every time).
@cache
def module_file(name: str, package: Path = PACKAGE) -> Path | None:
    """The file of a metasr module ("metasr.stats.tau2") in `package`, or None if it is not one."""
    if name != ROOT and not name.startswith(ROOT + "."):
        return None
    parts = name.split(".")[1:]
    base = package.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# Import statements that name a metasr module, at the start of a line (at any indentation, so
# inside functions too): `import metasr.a[.b] [as x][, metasr.c]`, `from metasr[.a] import b [as x], c`
# and its parenthesised form over several lines (comments in it may hold parentheses). A regular
# expression, not ast.parse: parsing the package's sources took about 0.3 s of every Snakemake
# invocation, the scan 5 ms. Only metasr's own modules matter here, and
# tests/workflow/test_fingerprint.py checks the scan against the syntax tree on every module of the
# package. A line that merely looks like an import (in a docstring) makes a checksum cover one
# module more: more reruns, never fewer.
_IMPORT = re.compile(r"^[ \t]*(?:import[ \t]+(metasr\b[^\n#;]*)"
                     r"|from[ \t]+(metasr\b[\w.]*)[ \t]+import[ \t]+(\((?:[^)#]|#[^\n]*)*\)|[^\n#;]*))", re.M)
# Code a module imports when it runs, named in a string "metasr.module:function" (metasr.outputs
# names each figure's drawing function so: metasr.outputs.function imports it). Such a module is
# reached as an import is.
_NAMED_CODE = re.compile(r"""["'](metasr(?:\.\w+)+):\w+["']""")


def imports_of(source: str) -> set[str]:
    """Every metasr module name `source` imports (`from metasr import x` gives metasr.x too), or
    names as code to load ("metasr.figures.funnel:funnel_figure")."""
    names: set[str] = set(_NAMED_CODE.findall(source))
    for plain, module, members in _IMPORT.findall(source):
        if plain:
            names.update(part.split()[0] for part in plain.split(",") if part.split())
        else:
            names.add(module)
            text = re.sub(r"#[^\n]*", "", members).strip("() \t\n\\")
            names.update(f"{module}.{part.split()[0]}" for part in text.replace("\\\n", " ").split(",")
                         if part.split())
    return names


@cache
def _module_imports(path: Path) -> frozenset[str]:
    return frozenset(imports_of(path.read_text(encoding="utf-8")))


def reached_modules(source: str, package: Path = PACKAGE) -> set[Path]:
    """The files of every metasr module `source` reaches through imports, its packages included."""
    seen: set[Path] = set()
    todo = list(imports_of(source))
    while todo:
        name = todo.pop()
        path = module_file(name, package)
        if path is None or path in seen:
            continue
        seen.add(path)
        todo += _module_imports(path)
        parent = name.rsplit(".", 1)[0]
        if parent != name:
            todo.append(parent)  # importing metasr.a.b runs metasr/a/__init__.py first
    return seen


def is_workflow_file(path: Path, package: Path = PACKAGE) -> bool:
    return path.resolve().relative_to(package.resolve()).as_posix().startswith(NOT_CODE)


def data_files(modules: set[Path], package: Path = PACKAGE) -> set[Path]:
    """Non-Python files beside the modules and in their folders' data folders (subfolders that are
    not packages: report/templates, resources/schemas)."""
    return set().union(*(_folder_data(folder, package) for folder in {m.parent for m in modules}))


@cache
def _folder_data(folder: Path, package: Path) -> frozenset[Path]:
    found = set()
    places = [folder] + [d for d in folder.iterdir() if d.is_dir() and not (d / "__init__.py").exists()]
    for place in places:
        files = place.glob("*") if place == folder else place.rglob("*")
        for path in files:
            relative = path.relative_to(package).as_posix()
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in relative \
                    and not is_workflow_file(path, package):
                found.add(path)
    return frozenset(found)


def code_files(script: Path, package: Path = PACKAGE) -> list[Path]:
    """The library files behind one script (a workflow script, or a library module itself)."""
    modules = reached_modules(Path(script).read_text(encoding="utf-8"), package)
    script = Path(script).resolve()
    if script.is_relative_to(package.resolve()) and not is_workflow_file(script, package):
        modules.add(script)
    return sorted(modules | data_files(modules, package))


def script_fingerprint(script: Path, package: Path = PACKAGE) -> str:
    """A checksum of a workflow script and of the library code and data it reaches (paths and
    contents). The script is in it because the profiles leave out Snakemake's `code` rerun trigger,
    which for a `script:` rule compares only the script's modification time (an install or a copy
    rewrites every script: each job would rerun)."""
    files = code_files(script, package)
    script = Path(script).resolve()
    return _checksum(files if script in files else [script, *files], package)


def source_fingerprint(source: str, package: Path = PACKAGE) -> str:
    """A checksum of the library code and data that Python source (import lines) reaches."""
    modules = reached_modules(source, package)
    return _checksum(sorted(modules | data_files(modules, package)), package)


def _checksum(paths: list[Path], package: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        name = path.relative_to(package).as_posix() if path.is_relative_to(package) else path.name
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
