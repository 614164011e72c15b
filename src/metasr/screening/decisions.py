"""Decision files: read, validate and resolve title/abstract and full-text decisions.

One row is one reviewer-team decision on one record. `decision` is the final (consensus)
decision; `reviewer1` and `reviewer2`, when both columns exist, are the independent decisions
of dual screening. An empty `decision` is filled from the reviewers when they agree and is an
unresolved conflict when they do not. Every problem in a file is collected before anything stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from metasr.errors import Problem
from metasr.io import read_csv
from metasr.screening.keys import KeyIndex, Resolution, resolve

TITLE_ABSTRACT = "title_abstract"
FULL_TEXT = "full_text"
STAGE_LABELS = {TITLE_ABSTRACT: "title/abstract", FULL_TEXT: "full-text"}
DECISIONS = {
    TITLE_ABSTRACT: ("include", "exclude"),
    FULL_TEXT: ("include", "exclude", "not_retrieved"),
}
IDENTIFIER_COLUMNS = ("record_id", "doi", "pmid", "title")
REQUIRED_COLUMNS = ("decision",)
DECISION_COLUMNS = (*IDENTIFIER_COLUMNS, "year", "decision", "reason", "reviewer1", "reviewer2", "notes")
STAGE_COLUMNS = {TITLE_ABSTRACT: (), FULL_TEXT: ("study_id",)}
# The screening sheet `metasr screening list` writes (metasr.screening.lists); filled in, it is a
# decision file, so its columns are known here.
LIST_COLUMNS = ["order", "record_id", "cluster_id", "flags", "possible_duplicate_of",
                "previous_decision", "previous_reason", "title", "authors", "year", "journal",
                "doi", "pmid", "abstract", "decision", "reason", "notes"]
UNRESOLVED = "unresolved"  # final decision of a conflict nobody resolved
STUDY_SEPARATOR = ";"  # a report holding several studies lists them in one study_id cell


def split_study_ids(cell: str | None) -> tuple[str, ...]:
    """The studies a full-text include names: 'Smith2020a; Smith2020b' -> ('Smith2020a', 'Smith2020b')."""
    ids = (part.strip() for part in str(cell or "").split(STUDY_SEPARATOR))
    return tuple(dict.fromkeys(i for i in ids if i))


@dataclass(frozen=True)
class Decision:
    """A validated decision bound to one de-duplication cluster."""

    stage: str
    file: str
    row: int
    cluster_id: str
    key: str  # how the row identified the record, for messages and audit
    decision: str  # include | exclude | not_retrieved | unresolved
    reason: str  # canonical exclusion reason ("" unless excluded)
    reviewer1: str
    reviewer2: str
    study_id: str  # one or several study ids, "; "-separated
    notes: str

    @property
    def study_ids(self) -> tuple[str, ...]:
        return split_study_ids(self.study_id)

    @property
    def is_conflict(self) -> bool:
        return bool(self.reviewer1 and self.reviewer2 and self.reviewer1 != self.reviewer2)


def read_table(path: str | Path) -> tuple[list[str], list[dict]]:
    """Read a CSV as strings (identifiers such as PMIDs must never become numbers), cells
    stripped. Raises InputError naming the row when the file is not UTF-8 (spreadsheets on
    Windows save as cp1252), is missing or cannot be read."""
    return read_csv(path, strip=True)


def _canonical(value: str) -> str:
    return " ".join(value.split()).casefold()


def _reason_lookup(reasons: list[str]) -> dict[str, str]:
    return {_canonical(r): r for r in reasons}


def known_columns(stage: str) -> list[str]:
    """A decision file's columns: its own, and those of the screening sheet (`metasr screening
    list`), which filled in is a decision file."""
    return list(dict.fromkeys([*DECISION_COLUMNS, *STAGE_COLUMNS[stage], *LIST_COLUMNS]))


def check_columns(path: str, columns: list[str], stage: str | None = None,
                  rows: Sequence[dict] = ()) -> list[Problem]:
    """Missing and unknown columns (a blank header cell is unknown only when its column holds
    something: spreadsheets leave empty columns behind)."""
    problems = []
    if stage is not None:
        known = known_columns(stage)
        filled = any(row.get("") for row in rows)
        problems += [Problem(
            f"unknown column '{c}'" if c else "a column without a name holds values", file=path, row=1,
            column=c or None, value=c or None, rule="known column",
            hint=("study_id belongs in the full-text decision file; " if c == "study_id" else "")
            + f"allowed columns: {', '.join(known)} (put anything else in 'notes')")
            for c in dict.fromkeys(columns) if c not in known and (c or filled)]
    dual = "reviewer1" in columns and "reviewer2" in columns
    for column in REQUIRED_COLUMNS:
        if column not in columns and not dual:  # dual screening may leave agreement implicit
            problems.append(Problem(
                f"missing column '{column}'", file=path, row=1, column=column,
                rule="required column",
                hint="decision files have columns doi, pmid, title, year, decision, reason "
                     "(optional reviewer1, reviewer2, notes; full text also study_id)"))
    if not any(c in columns for c in IDENTIFIER_COLUMNS):
        problems.append(Problem(
            "no identifier column", file=path, row=1, rule="record identifier",
            hint="add at least one of record_id, doi, pmid, title (+ year)"))
    return problems


def _check_value(path, row, column, value, allowed, stage) -> list[Problem]:
    if value and value not in allowed:
        return [Problem(
            f"unknown {STAGE_LABELS[stage]} decision", file=path, row=row, column=column,
            value=value, rule="allowed decision", hint="use one of: " + ", ".join(allowed))]
    return []


def _decision_word(value: str) -> str:
    """'Include', 'Not retrieved' and 'not-retrieved' are spellings of include / not_retrieved."""
    return "_".join(value.replace("-", " ").split()).lower()


def final_decision(row: dict) -> str:
    """A decision row's final decision as screening reads it: `decision`, else the reviewers' when
    they agree (UNRESOLVED when they do not); "" when the row has none."""
    return _final_decision(*(_decision_word(row.get(c) or "") for c in ("decision", "reviewer1", "reviewer2")))


def _final_decision(decision: str, reviewer1: str, reviewer2: str) -> str:
    if decision:
        return decision
    given = {r for r in (reviewer1, reviewer2) if r}
    if len(given) == 1:
        return given.pop()
    if len(given) > 1:
        return UNRESOLVED
    return ""


_RESOLUTION_RULES = {"no_key": "record identifier", "unknown": "decision for a known record",
                     "ambiguous": "unambiguous key", "inconsistent": "consistent identifiers",
                     "moved": "record_id names the record described"}
_RESOLUTION_HINTS = {
    "no_key": "give the record's doi, pmid, or title and year",
    "unknown": "check the identifier against results/records/records.csv",
    "ambiguous": "identify the record by doi, pmid or record_id instead",
    "inconsistent": "the identifiers belong to different records; fix one of them",
    "moved": "if the export changed order, key the decision by DOI/PMID (or title and year) or fix the record_id "
             "(results/records/records.csv gives each record_id its title); if the row's title, DOI, PMID or "
             "year is mistyped, correct that cell",
}


def _resolution_problem(path: str, row_number: int, resolution: Resolution) -> Problem:
    key = resolution.key
    hint = _RESOLUTION_HINTS[resolution.error or ""]
    if resolution.error == "ambiguous" and key is not None and key.kind in ("doi", "pmid"):
        # records that share an identifier yet were kept apart (a `distinct` override, a notice
        # and its article): only the record_id tells them apart
        hint = (f"the records share this {key.kind}: identify the record by its record_id "
                "(results/records/records.csv)")
    return Problem(
        resolution.detail, file=path, row=row_number,
        column=resolution.column or (key.kind.replace("title_year", "title") if key else None),
        value=resolution.value or (key.value.replace("\x1f", " | ") if key else None),
        rule=_RESOLUTION_RULES[resolution.error or ""], hint=hint)


def _parse_row(stage, path, row_number, row, index, reasons) -> tuple[Decision | None, list[Problem]]:
    allowed = DECISIONS[stage]
    decision, reviewer1, reviewer2 = (_decision_word(row.get(c, "")) for c in ("decision", "reviewer1", "reviewer2"))
    problems = []
    for column, value in (("decision", decision), ("reviewer1", reviewer1), ("reviewer2", reviewer2)):
        problems += _check_value(path, row_number, column, value, allowed, stage)

    final = _final_decision(decision, reviewer1, reviewer2)
    if not final:
        problems.append(Problem(
            "no decision", file=path, row=row_number, column="decision", rule="decision required",
            hint="fill 'decision' (" + " / ".join(allowed) + ")"))

    reason = ""
    raw_reason = row.get("reason", "")
    if final == "exclude":
        reason = reasons.get(_canonical(raw_reason), "")
        if not raw_reason:
            problems.append(Problem(
                "exclusion without a reason", file=path, row=row_number, column="reason",
                rule="exclusion reason required",
                hint="use one of screening.exclusion_reasons: " + "; ".join(reasons.values())))
        elif not reason:
            problems.append(Problem(
                "exclusion reason not in screening.exclusion_reasons", file=path, row=row_number,
                column="reason", value=raw_reason, rule="reason from config list",
                hint="use one of: " + "; ".join(reasons.values())
                     + " (put details in 'notes', or add the reason to config)"))
    elif final == "not_retrieved":
        reason = raw_reason  # free text: why the report could not be obtained
    elif final == "include" and raw_reason:
        problems.append(Problem(
            "reason given for an included record (ignored)", file=path, row=row_number,
            column="reason", value=raw_reason, rule="reasons are for exclusions",
            severity="warning", hint="clear the reason, or check that 'decision' is right"))
    study_id = row.get("study_id", "") if stage == FULL_TEXT else ""
    if stage == FULL_TEXT and final == "include" and not split_study_ids(study_id):
        # PRISMA counts the included studies by their study_id, and the extraction sheets name
        # them so: an included report must say which study (or studies) it reports.
        problems.append(Problem(
            "included report without a study_id", file=path, row=row_number, column="study_id",
            value=study_id or None, rule="study_id for included reports",
            hint="write the study_id (as in studies.csv) of the study this report belongs to; a report "
                 f"holding several studies lists them separated by '{STUDY_SEPARATOR}', and a study with "
                 "several reports gives each of them its study_id"))
    if study_id and final != "include":
        problems.append(Problem(
            "study_id on a report that is not included (ignored)", file=path, row=row_number,
            column="study_id", value=study_id, rule="study_id for included reports",
            severity="warning", hint="study_id links included reports to studies"))

    resolution = resolve(row, index)
    if resolution.error:
        problems.append(_resolution_problem(path, row_number, resolution))

    deciding = resolution.key  # the identifier that matched (unmatched ones come before it)
    if deciding is not None:
        problems += [Problem(
            f"{key.describe()} matches no record; identified by {deciding.describe()} instead",
            file=path, row=row_number, column=key.kind, value=key.value, rule="decision for a known record",
            severity="warning", hint="check the identifier (a typo, or an export that lacks it)")
            for key in resolution.unmatched]
    # a resolution without error names its cluster and key, and one with an error is a problem
    if any(p.severity == "error" for p in problems) or resolution.cluster_id is None or deciding is None:
        return None, problems
    return Decision(
        stage=stage, file=path, row=row_number, cluster_id=resolution.cluster_id,
        key=deciding.describe(), decision=final, reason=reason,
        reviewer1=reviewer1, reviewer2=reviewer2,
        study_id="; ".join(split_study_ids(study_id)) if final == "include" else "",
        notes=row.get("notes", ""),
    ), problems


def read_decisions(path: str | Path, stage: str, index: KeyIndex,
                   exclusion_reasons: list[str]) -> tuple[list[Decision], list[Problem]]:
    """Parse one decision file; return its valid decisions and every problem found."""
    path = str(path)
    if not Path(path).is_file():
        return [], [Problem(f"{STAGE_LABELS[stage]} decision file not found", file=path,
                            rule="file exists", hint="check screening paths in config")]
    columns, rows = read_table(path)
    problems = check_columns(path, columns, stage, rows)
    if problems:
        return [], problems
    reasons = _reason_lookup(exclusion_reasons)
    decisions = []
    for row_number, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue  # a blank spreadsheet line is not a decision
        decision, row_problems = _parse_row(stage, path, row_number, row, index, reasons)
        problems += row_problems
        if decision:
            decisions.append(decision)
    problems += _duplicate_decisions(decisions)
    return decisions, problems


def _duplicate_decisions(decisions: list[Decision]) -> list[Problem]:
    rows_by_cluster: dict[str, list[Decision]] = {}
    for decision in decisions:
        rows_by_cluster.setdefault(decision.cluster_id, []).append(decision)
    problems = []
    for cluster, group in sorted(rows_by_cluster.items()):
        if len(group) < 2:
            continue
        first = group[0]
        for other in group[1:]:
            several = first.study_id and other.study_id and first.study_id != other.study_id
            problems.append(Problem(
                f"second decision for the same record (row {first.row} already decides it; "
                f"cluster {cluster})", file=other.file, row=other.row, value=other.key,
                rule="one decision per record",
                hint=f"a report holding several studies is one row listing them: study_id "
                     f"'{first.study_id}{STUDY_SEPARATOR} {other.study_id}'" if several else
                "records that the de-duplication merged need one row; delete one of them"))
    return problems
