"""`metasr records parse|dedup|export`: read search exports, find duplicate records, write
the de-duplicated records back out."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("records", help="parse search exports and remove duplicates")
    actions = parser.add_subparsers(dest="records_command", metavar="ACTION")

    parse = actions.add_parser("parse", help="parse one export into the normalised record table")
    parse.add_argument("file", help="export: MEDLINE, RIS, WoS, Ovid, BibTeX, CSV, EndNote XML")
    parse.add_argument("--out", required=True, help="CSV to write")
    parse.add_argument("--source", help="source name used in record ids (default: file name)")
    parse.add_argument("--database", default="", help="database name (default: from the file)")
    parse.add_argument("--format", dest="fmt", help="force a format instead of detecting it")
    parse.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                       help="CSV only: read table field FIELD (title, authors, year, journal, "
                       "volume, issue, pages, doi, pmid, abstract, publication_type, accession) "
                       "from column COLUMN; repeatable")
    parse.set_defaults(func=run_parse)

    dedup = actions.add_parser("dedup", help="cluster duplicate records across exports")
    dedup.add_argument("files", nargs="+", help="exports or parsed tables")
    dedup.add_argument("--out", required=True, help="directory for records/unique/audit.csv")
    dedup.add_argument("--overrides", help="CSV record_a,record_b,decision (same|distinct)")
    dedup.set_defaults(func=run_dedup)

    export = actions.add_parser(
        "export", help="write the de-duplicated records as RIS and CSV (with screening "
        "decisions) and the duplicate clusters as a table a reviewer can fill in")
    export.add_argument("--records", required=True,
                        help="directory with records.csv, unique.csv, audit.csv")
    export.add_argument("--screening", help="screening.csv of `metasr screening run` (optional)")
    export.add_argument("--out", required=True,
                        help="directory for records.ris, records.csv, clusters.csv")
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def column_mapping(pairs: list[str]) -> dict:
    from metasr.errors import InputError, Problem
    from metasr.records.table import FIELDS

    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or field.strip() not in FIELDS or not column.strip():
            raise InputError(Problem(message="--map needs FIELD=COLUMN with a table field",
                                     value=pair, rule="csv column mapping",
                                     hint=f"fields: {', '.join(FIELDS)}"))
        mapping[field.strip()] = column.strip()
    return mapping


def run_parse(args) -> int:
    from metasr.io import write_csv
    from metasr.records.pipeline import parse_file
    from metasr.records.table import COLUMNS

    rows = parse_file(args.file, source=args.source, database=args.database, fmt=args.fmt,
                      mapping=column_mapping(args.map) or None)
    write_csv(args.out, COLUMNS, rows)
    print(f"{args.file}: {len(rows)} records ({rows[0]['format']}) -> {args.out}")
    return 0


def run_dedup(args) -> int:
    from metasr.records.pipeline import DedupFiles, dedup_records

    summary = dedup_records(args.files, DedupFiles.in_folder(args.out), args.overrides)
    print(f"{summary['records']} records -> {summary['unique']} unique, "
          f"{summary['duplicates']} duplicates removed ({summary['links']} links in "
          f"{args.out}/audit.csv)")
    return 0


def run_export(args) -> int:
    from metasr.records.export import ExportFiles, export_records
    from metasr.records.pipeline import DedupFiles

    summary = export_records(DedupFiles.in_folder(args.records), ExportFiles.in_folder(args.out), args.screening)
    print(f"{summary['records']} records -> {args.out}/records.ris, records.csv; "
          f"{summary['links']} duplicate links -> {args.out}/clusters.csv (fill 'decision' and "
          f"pass it as the overrides file)")
    return 0
