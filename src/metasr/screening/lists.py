"""Work lists for reviewers, and feeding their answers back.

`screening_list`: the unique records as a title/abstract screening sheet. Records not yet
decided come first, ordered by title so that near matches sit together; each row says whether
it was already decided (`previous_decision`, copied into `decision`) and which other records it
nearly matches (`possible_duplicate_of`: titles at least 85 % alike that de-duplication kept
apart, with the similarity). Filled in, the sheet is a valid title/abstract decision file (it
names each record by `record_id`, and carries its DOI, PMID and title too).

`conflict_list` / `apply_resolutions`: the dual-screening rows where reviewer1 and reviewer2
disagree, as a sheet with blank `decision` and `reason` for the third reviewer; the filled
sheet is written back into the decision file, row by row (each conflict row names its row
in the decision file and its identifiers, which must still match).
"""

from __future__ import annotations

from pathlib import Path

from metasr.errors import Problem, raise_if_errors
from metasr.io import write_csv
from metasr.screening.decisions import LIST_COLUMNS, _decision_word, read_table
from metasr.screening.keys import KeyIndex, resolve

CONFLICT_COLUMNS = ["decision_file", "file_row", "record_id", "doi", "pmid", "title", "year",
                    "reviewer1", "reviewer2", "decision", "reason", "notes"]
NEAR_MATCH = 85.0


def near_matches(unique: list[dict]) -> dict[int, list[tuple[int, float]]]:
    """Pairs of unique records whose titles are at least `NEAR_MATCH` % alike (candidates of
    the de-duplication's blocking, so the cost stays near-linear)."""
    from metasr.records.dedup import candidate_pairs, title_similarity
    from metasr.records.normalise import keys_for_rows

    keys = keys_for_rows(unique)
    near: dict[int, list[tuple[int, float]]] = {}
    for i, j in sorted(candidate_pairs(keys)):
        score, _ = title_similarity(keys[i].title, keys[j].title)
        if score >= NEAR_MATCH:
            near.setdefault(i, []).append((j, score))
            near.setdefault(j, []).append((i, score))
    return near


def previous_decisions(decisions_csv, records: list[dict]) -> dict[str, tuple[str, str]]:
    """cluster_id -> (decision, reason) from an existing decision file (rows that name no
    single record are left out: `metasr screening run` reports them)."""
    if not decisions_csv or not Path(decisions_csv).is_file():
        return {}
    index = KeyIndex.from_records(records)
    _, rows = read_table(decisions_csv)
    found: dict[str, tuple[str, str]] = {}
    for row in rows:
        resolution = resolve(row, index)
        decision = _decision_word(row.get("decision", ""))
        if resolution.cluster_id and decision:
            found.setdefault(resolution.cluster_id, (decision, row.get("reason", "")))
    return found


def screening_list(records_dir, out_csv, title_abstract_csv=None) -> dict:
    from metasr.records.export import read_rows
    from metasr.records.normalise import title_key

    records_dir = Path(records_dir)
    unique = read_rows(records_dir / "unique.csv")
    records = read_rows(records_dir / "records.csv")
    decided = previous_decisions(title_abstract_csv, records)
    near = near_matches(unique)
    rows = []
    for i, record in enumerate(unique):
        decision, reason = decided.get(record["cluster_id"], ("", ""))
        matches = sorted(near.get(i, []), key=lambda m: -m[1])
        flags = [f for f, on in (("decided", decision), ("possible_duplicate", matches)) if on]
        rows.append({**{c: record.get(c, "") for c in LIST_COLUMNS},
                     "flags": ";".join(flags),
                     "possible_duplicate_of": "; ".join(
                         f"{unique[j]['record_id']} ({score:.0f}%)" for j, score in matches),
                     "previous_decision": decision, "previous_reason": reason,
                     "decision": decision, "reason": reason, "notes": ""})
    rows.sort(key=lambda r: (bool(r["previous_decision"]), title_key(r["title"]), r["record_id"]))
    for number, row in enumerate(rows, start=1):
        row["order"] = number
    write_csv(out_csv, LIST_COLUMNS, rows)
    return {"records": len(rows), "decided": sum(bool(r["previous_decision"]) for r in rows),
            "possible_duplicates": sum("possible_duplicate" in r["flags"] for r in rows)}


def conflict_list(decisions_csv, out_csv) -> int:
    """Rows of a dual-screening decision file where reviewer1 and reviewer2 disagree."""
    _, rows = read_table(decisions_csv)
    conflicts = []
    for number, row in enumerate(rows, start=2):
        first, second = (_decision_word(row.get(c, "")) for c in ("reviewer1", "reviewer2"))
        if first and second and first != second:
            conflicts.append({**{c: row.get(c, "") for c in CONFLICT_COLUMNS},
                              "decision_file": str(decisions_csv), "file_row": number})
    write_csv(out_csv, CONFLICT_COLUMNS, conflicts)
    return len(conflicts)


def apply_resolutions(conflicts_csv, decisions_csv) -> int:
    """Write the filled `decision` and `reason` of a conflict sheet into the decision file;
    returns the number of rows changed. Identifiers must still match the named row."""
    columns, rows = read_table(decisions_csv)
    _, answers = read_table(conflicts_csv)
    problems, changed = [], 0
    for line, answer in enumerate(answers, start=2):
        decision = answer.get("decision", "")
        if not decision:
            continue
        file_row = answer.get("file_row", "")
        number = int(file_row) if file_row.isascii() and file_row.isdigit() else 0
        target = rows[number - 2] if 2 <= number < len(rows) + 2 else None
        if target is None or any(answer.get(c, "") != target.get(c, "")
                                 for c in ("record_id", "doi", "pmid", "title") if c in columns):
            problems.append(Problem(
                message="the conflict row no longer matches its row in the decision file",
                file=str(conflicts_csv), row=line, column="file_row",
                value=answer.get("file_row"), rule="conflict sheet matches decisions",
                hint="make a new conflict sheet with `metasr screening conflicts`"))
            continue
        target["decision"], target["reason"] = decision, answer.get("reason", "")
        changed += 1
    raise_if_errors(problems)
    columns = columns + [c for c in ("decision", "reason") if c not in columns]
    write_csv(decisions_csv, columns, rows)
    return changed
