"""File-level steps of the records stage (the workflow's scripts and the CLI call these).

`ingest_records` parses one export into `results/records/parsed/{source}.csv`;
`dedup_records` clusters the parsed tables and writes `records.csv` (every input record, its
`cluster_id` and `is_primary`), `unique.csv` (one row per cluster: the most complete record,
blanks filled from the other members) and `audit.csv` (one row per link). Rows are sorted by
source name, then position in the file, whatever order the inputs are listed in, so the same
inputs give byte-identical files. Records in = unique + duplicates is checked before anything is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from metasr.errors import InputError, Problem, printable, raise_if_errors
from metasr.io import StepFiles, parse_csv_text, read_bytes, read_csv_rows, write_csv
from metasr.records.dedup import AUDIT_COLUMNS, Clustering, cluster_records, read_overrides
from metasr.records.detect import holds_nothing, parse_export
from metasr.records.formats.databases import names_other, names_pubmed
from metasr.records.table import COLUMNS, FIELDS, build_table, clean_pmid, unreadable_values

log = logging.getLogger(__name__)

RECORD_COLUMNS = [*COLUMNS, "cluster_id", "is_primary"]
UNIQUE_COLUMNS = ["cluster_id", "n_records", "record_ids", *COLUMNS]
# The format setting of a search source that leaves the format to detection.
AUTO = "auto"


@dataclass(frozen=True)
class DedupFiles(StepFiles):
    """The tables de-duplication writes."""

    FILE_NAMES = ("records.csv", "unique.csv", "audit.csv")
    records: Path
    unique: Path
    audit: Path


def source_name(path: str | Path) -> str:
    """A record-id-safe source name from a file name: 'Scopus export (1).ris' → 'scopus_export_1'."""
    stem = Path(path).name.split(".")[0]
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "source"


def parse_file(path, source: str | None = None, database: str = "", fmt: str | None = None,
               mapping: dict | None = None, empty: bool = False) -> list[dict]:
    """Parse one export into table rows (`COLUMNS`). A `database` given here (the review's
    configuration names each search) wins over what the export says about itself; so does a
    format (`fmt`; None or "auto": recognised from the content). Values the table cannot keep
    (a year 'abcd') are logged as warnings with their line. `empty`: the search found nothing
    (the source's `empty: true`), and its file must be empty: no rows. An empty file is refused
    otherwise, as a failed export."""
    if empty:
        return _no_records(path)
    fmt = None if fmt == AUTO else fmt
    try:
        export, raw = parse_export(path, fmt=fmt, mapping=mapping)
    except InputError as err:
        if fmt is None:
            raise
        # The file may simply not be in the format it was declared to be.
        given = (f"the file was read as {fmt!r}, the format given for it (the search source's `format` "
                 "in the config, or --format): give `auto` to have the format recognised")
        raise InputError([dataclasses.replace(problem, hint=f"{problem.hint}; {given}" if problem.hint else given)
                          for problem in err.problems]) from None
    # (UTF-16 and UTF-32 are read only when a byte-order mark says so: no guess to warn about)
    if export.encoding not in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
        log.warning(f"{printable(str(path))}: not UTF-8; read as {export.encoding} (re-save as UTF-8 if names "
                    "look wrong in records.csv)")
    rows = build_table(raw, source or source_name(path), Path(path).name, database, export.format)
    _unsure_pmids(raw, rows, database, path)
    for warning in unreadable_values(raw, rows, path):
        log.warning(warning.format())
    if database:
        for row in rows:
            row["database"] = database
    return rows


def _unsure_pmids(raw: list[dict], rows: list[dict], database: str, path) -> None:
    """PubMed-id-like numbers of records that name no database metasr can place (RIS
    `unsure_pmid`): the source's database in the config decides. Named PubMed or MEDLINE, they
    are PMIDs; else they are not read (an Embase or CINAHL number read as a PMID keeps true
    duplicates apart), and a warning says so."""
    unsure = [(fields, row) for fields, row in zip(raw, rows, strict=True)
              if fields.get("unsure_pmid") and not row["pmid"]]
    if not unsure:
        return
    if names_pubmed([database]) and not names_other([database]):
        for fields, row in unsure:
            row["pmid"] = clean_pmid(fields["unsure_pmid"])
        return
    log.warning(Problem(
        message=f"{len(unsure)} record(s) hold a number in AN or C2 under no database known as MEDLINE/PubMed (or "
                "as another): the numbers are not read as PubMed ids, since other databases (Embase, CINAHL) "
                "number their records the same way", file=str(path), row=unsure[0][0].get("line") or None,
        rule="export file format", severity="warning",
        hint="if the file comes from PubMed or MEDLINE, name its source's database so in the config "
             "(database: PubMed); or export the records with their database (DB) filled in").format())


def _no_records(path) -> list[dict]:
    """The rows of a search that found nothing: none, from a file that holds nothing."""
    if not holds_nothing(read_bytes(path)):
        raise InputError(Problem(message="the search source says it found nothing (empty: true), but its file holds "
                                         "records", file=str(path), row=1, rule="empty search",
                                 hint="remove `empty: true` from the source in the config, or give the empty file "
                                      "of the search that found nothing"))
    return []


def ingest_records(path, out_csv, source: str, database: str, fmt: str = AUTO, empty: bool = False) -> int:
    """Parse one export and write its table atomically; returns the number of records."""
    rows = parse_file(path, source=source, database=database, fmt=fmt, empty=empty)
    write_csv(out_csv, COLUMNS, rows)
    return len(rows)


def is_parsed_table(path) -> bool:
    """True for a table `metasr records parse` wrote (told by its header; exports are parsed)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
        header = next(iter(parse_csv_text(first, path)), [])
    except (OSError, UnicodeDecodeError, InputError):
        return False
    return header[:4] == COLUMNS[:4]


def read_parsed(path) -> list[dict]:
    """A parsed-records table (`metasr records parse`), checked: it may have been edited by hand."""
    table = read_csv_rows(path)
    header = table[0] if table else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(Problem(message=f"parsed records table lacks columns {missing}",
                                 file=str(path), row=1, rule="parsed records columns",
                                 hint="re-create it with `metasr records parse`"))
    rows, problems = [], []
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.append(Problem(message=f"row has {len(cells)} cells, the header {len(header)}",
                                    file=str(path), row=number, rule="parsed records columns",
                                    hint="quote cells that contain commas, or re-create the table"))
            continue
        row = dict(zip(header, cells, strict=True))
        if not re.fullmatch(r"[0-9]{1,12}", row["source_index"].strip()):
            problems.append(Problem(message="source_index must be a whole number", file=str(path), row=number,
                                    column="source_index", value=row["source_index"], rule="parsed records columns",
                                    hint="re-create the table with `metasr records parse`"))
        rows.append(row)
    raise_if_errors(problems)
    return rows


def load_inputs(paths) -> list[dict]:
    """Rows from parsed tables or raw exports (parsed on the fly, source = file name)."""
    rows: list[dict] = []
    seen_sources: dict[str, str] = {}  # source name -> the file it came from
    seen_files: set[Path] = set()
    for path in paths:
        # The same file twice would count its records twice in PRISMA's "identified".
        if Path(path).resolve() in seen_files:
            raise InputError(Problem(message="this file is given twice", file=str(path),
                                     rule="unique inputs", hint="list each export once"))
        seen_files.add(Path(path).resolve())
        if is_parsed_table(path):
            table = read_parsed(path)
        else:
            name, n = source_name(path), 2
            while name in seen_sources:
                name, n = f"{source_name(path)}_{n}", n + 1
            table = parse_file(path, source=name)
        for source in {row["source"] for row in table}:
            if source in seen_sources and seen_sources[source] != str(path):
                raise InputError(Problem(message=f"source {source!r} appears in two inputs",
                                         file=str(path), column="source", value=source,
                                         rule="unique sources",
                                         hint=f"also in {seen_sources[source]}; give each "
                                         "export its own source name"))
            seen_sources[source] = str(path)
        rows.extend(table)
    # Sorted by source, then position: the order the inputs are listed in changes nothing.
    rows.sort(key=lambda r: (r["source"], int(r["source_index"])))
    raise_if_errors(repeated_exports(rows))
    return rows


def repeated_exports(rows: list[dict]) -> list[Problem]:
    """One export given as two sources (two config entries naming one file, or a copy of it):
    every record of one source equals, field for field and in order, a record of the other. Its
    records would be counted twice in PRISMA's "identified"."""
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    first_with: dict[str, str] = {}
    problems = []
    for source, records in sorted(by_source.items()):
        content = "\x1e".join("\x1f".join([r["format"], *(str(r[f]) for f in FIELDS)]) for r in records)
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        if digest not in first_with:
            first_with[digest] = source
            continue
        other = first_with[digest]
        files = sorted({by_source[other][0]["source_file"], records[0]["source_file"]})
        problems.append(Problem(
            message=f"sources '{other}' and '{source}' are the same export ({len(records)} identical "
                    f"records, file{'s' if len(files) > 1 else ''} {' and '.join(files)}): its records "
                    "would be counted twice",
            file=records[0]["source_file"], column="source", value=source, rule="one source per export",
            hint=f"give each export once: in the review's config, remove search.sources.{source} or "
                 f"search.sources.{other}, or point it at its own export file"))
    return problems


def completeness(row: dict) -> int:
    return sum(1 for f in FIELDS if row.get(f)) + 2 * bool(row.get("doi")) + bool(
        row.get("abstract"))


def build_outputs(rows: list[dict], clustering: Clustering) -> tuple[list, list, list]:
    members: dict[int, list[int]] = {}
    for i, cluster in enumerate(clustering.cluster_of):
        members.setdefault(cluster, []).append(i)
    width = max(6, len(str(len(members))))
    cluster_ids = {c: f"C{c + 1:0{width}d}" for c in members}
    primary_of = {c: max(m, key=lambda i: (completeness(rows[i]), -i)) for c, m in members.items()}
    records = []
    for i, row in enumerate(rows):
        cluster = clustering.cluster_of[i]
        records.append({**row, "cluster_id": cluster_ids[cluster],
                        "is_primary": str(primary_of[cluster] == i)})
    unique = []
    for cluster in sorted(members):
        group = members[cluster]
        primary = rows[primary_of[cluster]]
        merged = dict(primary)
        donors = sorted(group, key=lambda i: (-completeness(rows[i]), i))
        for field in FIELDS:
            if not merged.get(field):
                merged[field] = next((rows[i][field] for i in donors if rows[i].get(field)), "")
        unique.append({"cluster_id": cluster_ids[cluster], "n_records": len(group),
                       "record_ids": "; ".join(rows[i]["record_id"] for i in group), **merged})
    audit = [{"record_id": rows[link.b]["record_id"], "linked_to": rows[link.a]["record_id"],
              "rule": link.rule, "fields": link.fields, "score": f"{link.score:g}",
              "override": link.override}
             for link in sorted(clustering.links, key=lambda link: (link.b, link.a))]
    check_conservation(records, unique)
    return records, unique, audit


def check_conservation(records: list[dict], unique: list[dict]) -> None:
    """Records in = unique + duplicates, and one primary per cluster. A failure is a bug."""
    duplicates = sum(1 for r in records if r["is_primary"] != "True")
    primaries = sum(1 for r in records if r["is_primary"] == "True")
    if len(records) != len(unique) + duplicates or primaries != len(unique) or \
            sum(u["n_records"] for u in unique) != len(records):
        raise RuntimeError(f"record conservation violated: {len(records)} records, "
                           f"{len(unique)} unique, {duplicates} duplicates, {primaries} primaries")


def dedup_rows(rows: list[dict], overrides_csv=None) -> tuple[list, list, list]:
    ids = [r["record_id"] for r in rows]
    if len(set(ids)) != len(ids):
        seen, dup = set(), None
        for record_id in ids:
            if record_id in seen:
                dup = record_id
                break
            seen.add(record_id)
        raise InputError(Problem(message="record_id appears twice in the inputs", value=dup,
                                 column="record_id", rule="unique record ids",
                                 hint="each export needs its own source name"))
    from metasr.progress import Progress

    same, distinct = read_overrides(overrides_csv, rows)
    progress = Progress(f"de-duplicating {len(rows)} records")
    try:
        clustering = cluster_records(rows, same, distinct, progress=progress)
    except InputError as err:  # overrides that contradict each other through other records
        raise InputError([dataclasses.replace(p, file=str(overrides_csv)) if p.file is None and
                          overrides_csv is not None else p for p in err.problems]) from None
    finally:
        progress.close()
    return build_outputs(rows, clustering)


def dedup_records(parsed_csvs: list, out: DedupFiles, overrides_csv=None) -> dict:
    """De-duplicate parsed tables (or raw exports) into the `out` tables."""
    from metasr.progress import track

    rows = load_inputs(list(track([str(p) for p in parsed_csvs], "reading records", "files")))
    records, unique, audit = dedup_rows(rows, overrides_csv)
    write_csv(out.records, RECORD_COLUMNS, records)
    write_csv(out.unique, UNIQUE_COLUMNS, unique)
    write_csv(out.audit, AUDIT_COLUMNS, audit)
    return {"records": len(records), "unique": len(unique),
            "duplicates": len(records) - len(unique), "links": len(audit)}
