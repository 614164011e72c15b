"""The search stage's inputs, checked before any job runs.

Snakemake deletes a job's outputs before the job starts and keeps them deleted when it fails, so a
bad export met by `ingest_records` (or a bad decision file met by `screen_records`) used to leave
`results/` half rebuilt: parsed tables from the new input, no screening, the old report. Reading
every export and decision file at parse time instead stops such a run before any job starts, and
`results/` stays as the last good run left it.

What is checked is what the `dedup_records` and `screen_records` jobs check, on the same records:
every export parses (as `ingest_records` parses it), the same export is not declared twice, the
de-duplication overrides name records and say `same` or `distinct`, and the records are clustered
in memory, as the de-duplication job clusters them, so that the decision files are checked against
the clusters: every record has its one title/abstract decision, every decision names a record.
Nothing is written but the cache below.

Exports can be large, so the outcome is cached by the files' checksums in
`.snakemake/metasr/search-check.json` of the review folder: an unchanged search costs one
checksum per file. The cache keeps the number of records of each source, with which the extraction
sheets' record ids are checked (`metasr.extraction.validate.record_id_problems`).
"""

from __future__ import annotations

import json
from pathlib import Path

from metasr.errors import InputError, Problem
from metasr.io import atomic_write_text, file_sha256

CACHE = Path(".snakemake") / "metasr" / "search-check.json"


def search_files(config: dict) -> list[str]:
    """Every file the search stage reads, as the config names them."""
    files = [s["file"] for s in config["search"]["sources"].values()]
    files += [config["screening"]["title_abstract"], config["screening"]["full_text"]]
    overrides = (config["search"].get("dedup") or {}).get("overrides")
    return files + ([overrides] if overrides else [])


def search_problems(config: dict, root: Path, record_counts: dict[str, int] | None = None) -> list[Problem]:
    """Every problem of the exports, the overrides and the decision files, and the warnings.
    `record_counts`, when given, receives the number of records of each source (once the exports parse)."""
    from metasr.records.pipeline import dedup_rows, parse_file, repeated_exports
    from metasr.screening.decisions import FULL_TEXT, TITLE_ABSTRACT
    from metasr.screening.pipeline import screen

    problems: list[Problem] = []
    rows: list[dict] = []
    for source, settings in sorted(config["search"]["sources"].items()):
        try:
            rows += parse_file(root / settings["file"], source=source, database=settings["database"],
                               fmt=settings["format"], empty=settings["empty"])
        except InputError as err:
            problems += err.problems
    problems += repeated_exports(rows)
    if problems:
        return problems
    if record_counts is not None:
        for source in config["search"]["sources"]:
            record_counts[source] = sum(row["source"] == source for row in rows)
    rows.sort(key=lambda r: (r["source"], int(r["source_index"])))  # load_inputs' order: the same cluster ids
    overrides = (config["search"].get("dedup") or {}).get("overrides")
    screening = config["screening"]
    files = {TITLE_ABSTRACT: str(root / screening["title_abstract"]), FULL_TEXT: str(root / screening["full_text"])}
    try:
        records, unique, _ = dedup_rows(rows, root / overrides if overrides else None)
        screened = screen(records, {row["cluster_id"]: row for row in unique}, files, screening,
                          config["search"]["sources"])
    except InputError as err:
        return err.problems
    return [Problem(**warning) for warning in screened.prisma["warnings"]]


def check_search_inputs(config: dict, root: Path, record_counts: dict[str, int] | None = None) -> list[Problem]:
    """search_problems, skipped when every file is as it was at the last clean check (whose record
    counts then fill `record_counts`)."""
    from metasr.workflow.fingerprint import script_fingerprint

    root = Path(root)
    files = {path: file_sha256(root / path) for path in search_files(config) if (root / path).is_file()}
    # The outcome also depends on the settings and on the code that reads the files.
    files["(settings)"] = json.dumps([config["search"], config["screening"]], sort_keys=True, default=str)
    files["(code)"] = script_fingerprint(Path(__file__))
    cache = root / CACHE
    counts = record_counts if record_counts is not None else {}
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and cached.get("inputs") == files:
            counts.update(cached.get("record_counts") or {})
            return []
    except (OSError, ValueError):
        pass
    problems = search_problems(config, root, counts)
    if not any(p.severity == "error" for p in problems):
        try:
            atomic_write_text(cache, json.dumps({"inputs": files, "record_counts": counts}, sort_keys=True))
        except (InputError, OSError):
            pass  # a read-only review: check again next time
    return problems
