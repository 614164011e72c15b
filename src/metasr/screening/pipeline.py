"""The screening step: records + decision files → screening.csv, prisma.json/csv, conflicts.csv.

`screen_records` is what the workflow calls. It collects every problem of both decision files
and of the record tables before stopping, checks that no record is lost or counted twice, and
writes its outputs only when everything holds, each through a temporary file and a rename so
that an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from metasr.errors import Problem, raise_if_errors
from metasr.io import StepFiles, atomic_write_text, csv_text
from metasr.screening.agreement import CONFLICT_COLUMNS, conflict_rows, partial_dual_problems, stage_agreement
from metasr.screening.decisions import FULL_TEXT, TITLE_ABSTRACT, read_decisions, read_table
from metasr.screening.flow import ScreenedRecord, build_flow
from metasr.screening.keys import KeyIndex
from metasr.screening.prisma import (
    DATABASES,
    METHODS,
    check_conservation,
    column_of_method,
    prisma_counts,
)
from metasr.screening.prisma_csv import render_prisma_csv


@dataclass(frozen=True)
class ScreeningFiles(StepFiles):
    """The files screen_records writes."""

    FILE_NAMES = ("screening.csv", "prisma.json", "prisma.csv", "conflicts.csv")
    screening: Path
    prisma_json: Path
    prisma_csv: Path
    conflicts: Path


SCREENING_COLUMNS = (
    "cluster_id", "record_id", "prisma_column", "sources", "title", "year", "doi", "pmid",
    "title_abstract_decision", "title_abstract_reason", "title_abstract_row",
    "full_text_decision", "full_text_reason", "full_text_row", "study_id", "status", "notes",
)


def check_sources(sources_cfg: dict) -> list[Problem]:
    problems = []
    for source, cfg in sorted(sources_cfg.items()):
        method = (cfg or {}).get("method", "database")
        if method not in METHODS:
            problems.append(Problem(
                f"search source '{source}' has an unknown method", file="config",
                key=f"search.sources.{source}.method", value=str(method),
                rule="PRISMA method", hint="use one of: " + ", ".join(METHODS)))
    return problems


def _sources_by_file(sources_cfg: dict) -> dict[str, str]:
    names = [(Path(cfg.get("file", "")).name, source) for source, cfg in sources_cfg.items()]
    counts: dict[str, int] = {}
    for name, _ in names:
        counts[name] = counts.get(name, 0) + 1
    return {name: source for name, source in names if name and counts[name] == 1}


def load_records(records_csv, unique_csv, sources_cfg: dict) -> tuple[list[dict], dict[str, dict], list[Problem]]:
    """Read records.csv (every record) and unique.csv (one per cluster) and check they agree."""
    problems: list[Problem] = []
    tables = {}
    for path, needed in ((records_csv, ("record_id", "source", "cluster_id")), (unique_csv, ("record_id",))):
        if not Path(path).is_file():
            problems.append(Problem("record table not found", file=str(path), rule="file exists",
                                    hint="run the records step (metasr records dedup) first"))
            continue
        columns, rows = read_table(path)
        for column in needed:
            if column not in columns:
                problems.append(Problem(f"missing column '{column}'", file=str(path), row=1,
                                        column=column, rule="records contract (docs/architecture.md)"))
        tables[path] = rows
    raise_if_errors(problems)
    records, unique_rows = tables[records_csv], tables[unique_csv]

    by_file = _sources_by_file(sources_cfg)
    for row_number, record in enumerate(records, start=2):
        if record["source"] not in sources_cfg and record.get("source_file") in by_file:
            # Parsed outside the workflow (`metasr records dedup FILES`): the source is named
            # after the file; the config knows the file.
            record["source"] = by_file[record["source_file"]]
        if record["source"] not in sources_cfg:
            problems.append(Problem(
                "record from a source that is not in config search.sources", file=str(records_csv),
                row=row_number, column="source", value=record["source"], rule="known source",
                hint="add the source to search.sources (with its method) or re-run the records step"))
    cluster_of_record = {r["record_id"]: r["cluster_id"] for r in records}
    unique: dict[str, dict] = {}
    for row_number, row in enumerate(unique_rows, start=2):
        cluster = row.get("cluster_id") or cluster_of_record.get(row["record_id"], "")
        if not cluster:
            problems.append(Problem("unique record with no cluster in records.csv", file=str(unique_csv),
                                    row=row_number, column="record_id", value=row["record_id"],
                                    rule="unique ⊆ records"))
        elif cluster in unique:
            problems.append(Problem("two unique records for one cluster", file=str(unique_csv),
                                    row=row_number, column="cluster_id", value=cluster,
                                    rule="one row per cluster"))
        else:
            unique[cluster] = row
    for cluster in sorted({r["cluster_id"] for r in records} - set(unique)):
        problems.append(Problem("cluster has records but no unique record", file=str(unique_csv),
                                value=cluster, rule="records in = unique + duplicates",
                                hint="re-run the de-duplication step"))
    return records, unique, problems


def cluster_columns(records: list[dict], sources_cfg: dict) -> dict[str, str]:
    """PRISMA column of each cluster: databases when any member came from a database/register."""
    columns: dict[str, str] = {}
    for record in records:
        method = sources_cfg[record["source"]].get("method", "database")
        if column_of_method(method) == DATABASES or record["cluster_id"] not in columns:
            columns[record["cluster_id"]] = column_of_method(method)
    return columns


def screening_rows(flow: list[ScreenedRecord], unique: dict[str, dict], records: list[dict]) -> list[dict]:
    sources: dict[str, set[str]] = {}
    for record in records:
        sources.setdefault(record["cluster_id"], set()).add(record["source"])
    rows = []
    for item in flow:
        record, ta, ft = unique[item.cluster_id], item.title_abstract, item.full_text
        rows.append({
            "cluster_id": item.cluster_id, "record_id": record.get("record_id", ""),
            "prisma_column": item.column, "sources": ";".join(sorted(sources.get(item.cluster_id, ()))),
            "title": record.get("title", ""), "year": record.get("year", ""),
            "doi": record.get("doi", ""), "pmid": record.get("pmid", ""),
            "title_abstract_decision": ta.decision if ta else "",
            "title_abstract_reason": ta.reason if ta else "",
            "title_abstract_row": ta.row if ta else "",
            "full_text_decision": ft.decision if ft else "",
            "full_text_reason": item.full_text_reason or (ft.reason if ft else ""),
            "full_text_row": ft.row if ft else "",
            "study_id": item.study_id, "status": item.status,
            "notes": " | ".join(dict.fromkeys(n for n in (ta.notes if ta else "", ft.notes if ft else "") if n)),
        })
    return rows


def screen_records(records_csv, unique_csv, title_abstract_csv, full_text_csv,
                   screening_cfg: dict, sources_cfg: dict, out: ScreeningFiles) -> dict:
    """Run screening; write the screening table, PRISMA counts (JSON, CSV) and conflicts to `out`.

    Returns the PRISMA counts (the content of prisma.json). Raises InputError listing every
    problem when the decisions are incomplete, inconsistent or in conflict; warnings (e.g.
    unresolved conflicts that config allows) are kept in prisma.json under "warnings".
    """
    records_csv, unique_csv = str(records_csv), str(unique_csv)
    raise_if_errors(check_sources(sources_cfg))
    records, unique, record_problems = load_records(records_csv, unique_csv, sources_cfg)
    raise_if_errors(record_problems)
    files = {TITLE_ABSTRACT: str(title_abstract_csv), FULL_TEXT: str(full_text_csv)}
    screened = screen(records, unique, files, screening_cfg, sources_cfg)

    atomic_write_text(out.screening, csv_text(SCREENING_COLUMNS, screening_rows(screened.flow, unique, records)))
    atomic_write_text(out.conflicts, csv_text(CONFLICT_COLUMNS, conflict_rows(screened.decisions)))
    atomic_write_text(out.prisma_csv, render_prisma_csv(screened.prisma))
    atomic_write_text(out.prisma_json, json.dumps(screened.prisma, indent=2, sort_keys=False) + "\n")
    return screened.prisma


@dataclass(frozen=True)
class Screened:
    flow: list[ScreenedRecord]
    decisions: list  # both stages' decisions, title/abstract first
    prisma: dict


def screen(records: list[dict], unique: dict[str, dict], files: dict[str, str], screening_cfg: dict,
           sources_cfg: dict) -> Screened:
    """The decision files applied to the de-duplicated records (`records`, `unique` by cluster), nothing
    written; InputError lists every problem. The workflow's pre-run check calls this on records it
    de-duplicated in memory, so a decision file's mistakes stop a run before any job starts."""
    reasons = list(screening_cfg.get("exclusion_reasons") or [])
    index = KeyIndex.from_records(records)
    ta, ta_problems = read_decisions(files[TITLE_ABSTRACT], TITLE_ABSTRACT, index, reasons)
    ft, ft_problems = read_decisions(files[FULL_TEXT], FULL_TEXT, index, reasons)
    problems = ta_problems + ft_problems + partial_dual_problems(ta) + partial_dual_problems(ft)
    if not any(p.severity == "error" for p in problems):
        flow, flow_problems = build_flow(
            unique, cluster_columns(records, sources_cfg), ta, ft, files,
            bool(screening_cfg.get("allow_unresolved_conflicts", False)))
        problems += flow_problems
    warnings = raise_if_errors(problems)

    agreement = {TITLE_ABSTRACT: stage_agreement(ta), FULL_TEXT: stage_agreement(ft)}
    prisma = prisma_counts(records, flow, sources_cfg, reasons, agreement)
    raise_if_errors(check_conservation(prisma))
    prisma["warnings"] = [w.to_dict() for w in warnings]
    return Screened(flow=flow, decisions=ta + ft, prisma=prisma)
