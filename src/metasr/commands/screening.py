"""`metasr screening run`: decision files + de-duplicated records → PRISMA 2020 counts and diagram."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("screening", help="apply screening decisions; PRISMA 2020 counts")
    actions = parser.add_subparsers(dest="screening_command", metavar="ACTION")
    run = actions.add_parser(
        "run", help="check decisions against the records; write screening.csv, prisma.json|csv, "
                    "conflicts.csv and the PRISMA flow diagram")
    run.add_argument("--records", required=True,
                     help="directory with records.csv and unique.csv (metasr records dedup)")
    run.add_argument("--title-abstract", help="title/abstract decision CSV "
                                              "(default: screening.title_abstract in config)")
    run.add_argument("--full-text", help="full-text decision CSV (default: screening.full_text in config)")
    run.add_argument("--review", metavar="FOLDER", default=".", help="review folder (default: here)")
    run.add_argument("--config", metavar="FILE", help="the review's config file (instead of --review)")
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--no-figure", action="store_true", help="skip prisma.svg and prisma.png")
    run.set_defaults(func=run_screening)

    sheet = actions.add_parser(
        "list", help="title/abstract screening sheet: undecided records first, near-duplicate "
                     "and already-decided records flagged; filled in, it is a decision file")
    sheet.add_argument("--records", required=True, help="directory with records.csv and unique.csv")
    sheet.add_argument("--title-abstract", help="existing title/abstract decisions (optional)")
    sheet.add_argument("--out", required=True, help="CSV to write")
    sheet.set_defaults(func=run_list)

    conflicts = actions.add_parser(
        "conflicts", help="the rows where reviewer1 and reviewer2 disagree, as a sheet to fill in")
    conflicts.add_argument("--decisions", required=True, help="decision file with reviewer1, reviewer2")
    conflicts.add_argument("--out", required=True, help="CSV to write")
    conflicts.set_defaults(func=run_conflicts)

    resolve = actions.add_parser(
        "resolve", help="write a filled conflict sheet's decisions back into the decision file")
    resolve.add_argument("sheet", help="conflict sheet (metasr screening conflicts), filled in")
    resolve.add_argument("--decisions", required=True, help="the decision file to update")
    resolve.set_defaults(func=run_resolve)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_screening(args) -> int:
    import sys
    from pathlib import Path

    from metasr.config import has_search, load_config
    from metasr.errors import InputError, Problem
    from metasr.folder import review_from_options
    from metasr.records.pipeline import DedupFiles
    from metasr.screening.pipeline import ScreeningFiles, screen_records

    location = review_from_options(args.review, args.config)
    config = load_config(location.config_file, root=location.root, check_files=False)
    if not has_search(config):
        raise InputError(Problem(message="the review has no search stage", file=location.shown_config,
                                 key="screening", rule="stages",
                                 hint="screening needs `search` and `screening` in the config"))
    screening = config["screening"]
    title_abstract = args.title_abstract or location.root / screening["title_abstract"]
    full_text = args.full_text or location.root / screening["full_text"]
    tables, out = DedupFiles.in_folder(args.records), ScreeningFiles.in_folder(args.out)
    prisma = screen_records(tables.records, tables.unique, title_abstract,
                            full_text, screening, config["search"]["sources"], out)
    if not args.no_figure:
        from metasr.figures.prisma import draw_prisma

        draw_prisma(out.prisma_json, Path(args.out) / "prisma.svg", Path(args.out) / "prisma.png")
    for warning in prisma.get("warnings", []):
        print(Problem(**warning).format(), file=sys.stderr)
    totals, included = prisma["records"], prisma["included"]
    print(f"{totals['identified']} records, {totals['duplicates']} duplicates, {totals['unique']} "
          f"screened -> {included['reports']} reports of {included['studies']} studies included "
          f"({args.out})")
    return 0


def run_list(args) -> int:
    from metasr.screening.lists import screening_list

    summary = screening_list(args.records, args.out, args.title_abstract)
    print(f"{summary['records']} records ({summary['decided']} decided, "
          f"{summary['possible_duplicates']} flagged as possible duplicates) -> {args.out}")
    return 0


def run_conflicts(args) -> int:
    from metasr.screening.lists import conflict_list

    count = conflict_list(args.decisions, args.out)
    print(f"{count} conflicts -> {args.out} (fill decision and reason, then "
          f"`metasr screening resolve {args.out} --decisions {args.decisions}`)")
    return 0


def run_resolve(args) -> int:
    from metasr.screening.lists import apply_resolutions

    count = apply_resolutions(args.sheet, args.decisions)
    print(f"{count} decisions written into {args.decisions}")
    return 0
