"""The path of every unique record through screening, with conservation at the record level.

Every de-duplicated record needs a title/abstract decision; every record passed on needs a
full-text decision; a full-text decision for a record that title/abstract screening excluded is
an error (it would be counted twice). Unresolved reviewer conflicts stop the run unless config
allows them; when allowed, an unresolved title/abstract conflict is passed on to full text
(screening errs towards inclusion) and an unresolved full-text conflict counts as excluded with
the reason "unresolved conflict", so that no record is included without a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from metasr.errors import Problem
from metasr.screening.decisions import FULL_TEXT, STAGE_LABELS, TITLE_ABSTRACT, UNRESOLVED, Decision

DATABASES = "databases"
OTHER = "other"
UNRESOLVED_REASON = "unresolved conflict"

# Final status of a unique record.
EXCLUDED_TITLE_ABSTRACT = "excluded_title_abstract"
NOT_RETRIEVED = "not_retrieved"
EXCLUDED_FULL_TEXT = "excluded_full_text"
INCLUDED = "included"


@dataclass(frozen=True)
class ScreenedRecord:
    cluster_id: str
    column: str  # databases | other (PRISMA 2020 column the record is counted in)
    title_abstract: Decision | None
    full_text: Decision | None

    @property
    def passed_title_abstract(self) -> bool:
        return self.title_abstract is not None and self.title_abstract.decision in ("include", UNRESOLVED)

    @property
    def status(self) -> str:
        if not self.passed_title_abstract:
            return EXCLUDED_TITLE_ABSTRACT
        decision = self.full_text.decision if self.full_text else ""
        if decision == "include":
            return INCLUDED
        if decision == "not_retrieved":
            return NOT_RETRIEVED
        return EXCLUDED_FULL_TEXT

    @property
    def title_abstract_reason(self) -> str:
        decision = self.title_abstract  # None: the record has no decision (build_flow's problem)
        return decision.reason if decision is not None and self.status == EXCLUDED_TITLE_ABSTRACT else ""

    @property
    def full_text_reason(self) -> str:
        decision = self.full_text  # None: passed title and abstract, but no full-text decision
        if decision is None or self.status != EXCLUDED_FULL_TEXT:
            return ""
        return UNRESOLVED_REASON if decision.decision == UNRESOLVED else decision.reason

    @property
    def study_ids(self) -> tuple[str, ...]:
        """The studies an included report belongs to (a report may hold several; an include
        without a study_id is refused when the decision file is read)."""
        if self.status != INCLUDED or self.full_text is None:  # included: by its full-text decision
            return ()
        return self.full_text.study_ids

    @property
    def study_id(self) -> str:
        return "; ".join(self.study_ids)


def _describe(record: dict) -> str:
    for column in ("doi", "pmid", "title"):
        if record.get(column):
            return f"{column} {record[column]!r}"
    return f"record {record.get('record_id', '')!r}"


def build_flow(unique: dict[str, dict], columns: dict[str, str],
               title_abstract: list[Decision], full_text: list[Decision],
               files: dict[str, str], allow_unresolved: bool) -> tuple[list[ScreenedRecord], list[Problem]]:
    """Join decisions to unique records (keyed by cluster_id) and check that each is counted once."""
    ta = {d.cluster_id: d for d in title_abstract}
    ft = {d.cluster_id: d for d in full_text}
    problems = _unresolved_problems(title_abstract + full_text, allow_unresolved)
    flow = []
    for cluster_id in sorted(unique):
        record = ScreenedRecord(cluster_id, columns[cluster_id], ta.get(cluster_id), ft.get(cluster_id))
        if record.title_abstract is None:
            problems.append(_missing(files[TITLE_ABSTRACT], TITLE_ABSTRACT, unique[cluster_id], cluster_id))
        elif record.passed_title_abstract and record.full_text is None:
            problems.append(_missing(files[FULL_TEXT], FULL_TEXT, unique[cluster_id], cluster_id))
        elif not record.passed_title_abstract and record.full_text is not None:
            d = record.full_text
            problems.append(Problem(
                "full-text decision for a record excluded at title/abstract screening "
                f"({files[TITLE_ABSTRACT]} row {record.title_abstract.row})",
                file=d.file, row=d.row, value=d.key, rule="screened = excluded + passed on",
                hint="delete the full-text row, or change the title/abstract decision to include"))
        flow.append(record)
    return flow, problems


def _missing(path: str, stage: str, record: dict, cluster_id: str) -> Problem:
    title = record.get("title", "")
    shown = repr(title[:90]) if title else "(no title)"
    origin = f"{record.get('source_file', '')} line {record.get('line', '')}".strip() if record.get("line") \
        else record.get("source_file", "")
    # record_id is the key every record has, titled or not (metasr.screening.keys).
    return Problem(
        f"record without a {STAGE_LABELS[stage]} decision: {shown} (cluster {cluster_id}"
        f"{', from ' + origin if origin else ''})",
        file=path, value=_describe(record), rule="every record has a decision",
        hint=f"add a row for this record to {path} (its record_id {record.get('record_id', '')!r} names it, "
             "if no DOI, PMID or title does)")


def _unresolved_problems(decisions: list[Decision], allow: bool) -> list[Problem]:
    problems = []
    for d in decisions:
        if d.decision != UNRESOLVED:
            continue
        fate = ("passed on to full text" if d.stage == TITLE_ABSTRACT
                else f"counted as excluded ({UNRESOLVED_REASON})")
        problems.append(Problem(
            f"unresolved conflict: reviewer1 '{d.reviewer1}', reviewer2 '{d.reviewer2}'"
            + (f"; {fate}" if allow else ""),
            file=d.file, row=d.row, column="decision", value=d.key,
            rule="conflicts resolved", severity="warning" if allow else "error",
            hint="write the consensus in 'decision' (or set screening.allow_unresolved_conflicts)"))
    return problems
