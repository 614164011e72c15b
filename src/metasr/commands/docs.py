"""`metasr docs formats`: the reference of every input file, generated from the schemas."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("docs", help="print reference documentation generated from the schemas")
    actions = parser.add_subparsers(dest="docs_command", metavar="TOPIC", required=True)
    formats = actions.add_parser("formats", help="every input file: columns, types, allowed values, examples "
                                                 "(the repository keeps it as docs/formats.md)")
    formats.set_defaults(func=handle_formats)


def handle_formats(args: argparse.Namespace) -> int:
    from metasr.formats import formats_markdown

    print(formats_markdown(), end="")
    return 0
