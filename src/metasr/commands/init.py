"""`metasr init FOLDER`: start a review folder that runs as it is."""

from __future__ import annotations

import argparse
import sys

from metasr.table_layouts import STUDY_COLUMN_NAMES, layouts_text, log_scale_measures, sheet_row_columns_text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "init",
        help="start a review folder (commented config, every sheet with an EXAMPLE row)",
        description=(
            "Write a starter review into FOLDER: a commented config.yaml, every sheet with its header and one "
            "row marked EXAMPLE, and a README saying what each file is and what to do next. It runs as it is "
            "(`metasr run FOLDER`). With --from-csv, the review's studies and outcome sheets come from a table "
            "of study-level data you already have instead, one row per effect size, in metafor-style columns: "
            f"the study ({' or '.join(STUDY_COLUMN_NAMES)}: rows naming one study are its effect sizes), year, "
            f"outcome, one of these layouts: {layouts_text()}; and, copied to the outcome sheet, "
            f"{sheet_row_columns_text()} (es_id tells a study's effect sizes apart). For "
            f"{', '.join(log_scale_measures())} yi is on the log scale. Any other column is refused, unless "
            "--subgroup or --moderators names it: a characteristic of each effect size (the kind of outcome "
            "measured, say), copied to the outcome sheets and analysed by."
        ),
    )
    parser.add_argument("folder", metavar="FOLDER", help="the new review folder")
    parser.add_argument("--no-search", action="store_true",
                        help="a review that starts from its included studies (no search exports or screening)")
    parser.add_argument("--from-csv", metavar="TABLE.csv", help="start from a table of study-level data")
    parser.add_argument("--measure", help="effect measure of the table's outcomes (required with --from-csv)")
    parser.add_argument("--subgroup", metavar="COLUMN",
                        help="with --from-csv: a column of the table to analyse each outcome's subgroups by")
    parser.add_argument("--moderators", metavar="COLUMN[,COLUMN...]",
                        help="with --from-csv: columns of the table each outcome's meta-regression takes as moderators")
    parser.add_argument("--force", action="store_true",
                        help="write into FOLDER even if it holds a review, adding only the starter files it lacks: "
                             "an existing file is never changed (the files kept are listed)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from metasr.errors import InputError, Problem
    from metasr.starter import init_from_table, init_review

    if args.from_csv:
        if not args.measure:
            raise InputError(Problem(message="--from-csv needs --measure", rule="measure",
                                     hint="say how the table's outcomes are pooled, e.g. --measure SMD"))
        moderators = [m.strip() for m in (args.moderators or "").split(",") if m.strip()]
        written, notes = init_from_table(args.folder, args.from_csv, args.measure, force=args.force,
                                         subgroup=args.subgroup, moderators=moderators)
    else:
        given = [flag for flag, value in (("--measure", args.measure), ("--subgroup", args.subgroup),
                                          ("--moderators", args.moderators)) if value]
        if given:
            raise InputError([Problem(message=f"{flag} is only used with --from-csv", rule="from-csv",
                                      hint="the starter's example outcome is set in config.yaml") for flag in given])
        written, notes = init_review(args.folder, with_search=not args.no_search, force=args.force)
    for note in notes:
        print(note.format(), file=sys.stderr)
    print(f"review started in {args.folder} ({len(written)} files written); read {args.folder}/README.md, "
          f"then run: metasr run {args.folder}")
    return 0
