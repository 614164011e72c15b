"""`metasr init FOLDER`: start a review folder that runs as it is."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "init",
        help="start a review folder (commented config, every sheet with an EXAMPLE row)",
        description=(
            "Write a starter review into FOLDER: a commented config.yaml, every sheet with its header and one "
            "row marked EXAMPLE, and a README saying what each file is and what to do next. It runs as it is "
            "(`metasr run FOLDER`). With --from-csv, the review's studies and outcome sheets come from a table "
            "of study-level data you already have instead (metafor-style columns: study, year, outcome, and "
            "m1i,sd1i,n1i,m2i,sd2i,n2i | ai,n1i,ci,n2i | ai,bi,ci,di | x1i,t1i,x2i,t2i | yi with sei, vi or "
            "ci_lb,ci_ub; for RR, OR and IRR yi is on the log scale)."
        ),
    )
    parser.add_argument("folder", metavar="FOLDER", help="the new review folder")
    parser.add_argument("--no-search", action="store_true",
                        help="a review that starts from its included studies (no search exports or screening)")
    parser.add_argument("--from-csv", metavar="TABLE.csv", help="start from a table of study-level data")
    parser.add_argument("--measure", help="effect measure of the table's outcomes (required with --from-csv)")
    parser.add_argument("--force", action="store_true", help="write into FOLDER even if it holds a review")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from metasr.errors import InputError, Problem
    from metasr.starter import init_from_table, init_review

    if args.from_csv:
        if not args.measure:
            raise InputError(Problem(message="--from-csv needs --measure", rule="measure",
                                     hint="say how the table's outcomes are pooled, e.g. --measure SMD"))
        written = init_from_table(args.folder, args.from_csv, args.measure, force=args.force)
    else:
        if args.measure:
            raise InputError(Problem(message="--measure is only used with --from-csv", rule="measure",
                                     hint="the starter's example outcome is set in config.yaml"))
        written = init_review(args.folder, with_search=not args.no_search, force=args.force)
    print(f"review started in {args.folder} ({len(written)} files); read {args.folder}/README.md, "
          f"then run: metasr run {args.folder}")
    return 0
