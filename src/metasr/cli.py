"""The `metasr` command line: discovers sub-commands in `metasr.commands` and runs one.

A user mistake (`InputError`) is printed as a list of problems, never as a traceback, and the
process exits with status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from metasr import __version__, commands
from metasr.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metasr",
        description="Systematic reviews and meta-analyses: records, extraction, pooling, reports.",
    )
    parser.add_argument("--version", action="version", version=f"metasr {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"metasr.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        print(err.format(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
