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
    run.add_argument("--config", default="config/config.yaml", help="review config (default: %(default)s)")
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--no-figure", action="store_true", help="skip prisma.svg and prisma.png")
    run.set_defaults(func=run_screening)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _project_path(config_path, relative: str):
    from pathlib import Path

    # Config paths are relative to the project root, the folder that holds config/.
    root = Path(config_path).resolve().parent.parent
    return Path(relative) if Path(relative).is_absolute() else root / relative


def run_screening(args) -> int:
    import sys
    from pathlib import Path

    from metasr.errors import Problem
    from metasr.config import load_config
    from metasr.screening.pipeline import screen_records

    config = load_config(args.config, check_files=False)
    screening = config["screening"]
    title_abstract = args.title_abstract or _project_path(args.config, screening["title_abstract"])
    full_text = args.full_text or _project_path(args.config, screening["full_text"])
    records = Path(args.records)
    prisma = screen_records(records / "records.csv", records / "unique.csv", title_abstract,
                            full_text, screening, config["search"]["sources"], args.out)
    if not args.no_figure:
        from metasr.figures.prisma import draw_prisma

        out = Path(args.out)
        draw_prisma(out / "prisma.json", out / "prisma.svg", out / "prisma.png")
    for warning in prisma.get("warnings", []):
        print(Problem(**warning).format(), file=sys.stderr)
    totals, included = prisma["records"], prisma["included"]
    print(f"{totals['identified']} records, {totals['duplicates']} duplicates, {totals['unique']} "
          f"screened -> {included['reports']} reports of {included['studies']} studies included "
          f"({args.out})")
    return 0
