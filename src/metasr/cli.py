"""The `metasr` command line: discovers sub-commands in `metasr.commands` and runs one.

A user mistake (`InputError`) is printed as a list of problems, never as a traceback, and the
process exits with status 2; so is what the system refuses that the user can fix (a missing or
unreadable file, a full disk, a read-only folder: `metasr.io.translate_os_error`). Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from metasr import __version__, commands
from metasr.errors import InputError
from metasr.io import translate_os_error


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
    except ChildProcessError as err:  # a worker of `pool --by --jobs` lost (killed, out of memory)
        print(f"error: {err}; the output stops there. Run it again (`--jobs 1` pools in this one process, "
              "with less memory)", file=sys.stderr)
        return 1
    except OSError as err:
        clear = translate_os_error(err)
        if clear is None:
            raise
        print(clear.format(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
