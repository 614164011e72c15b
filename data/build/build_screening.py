"""Build the default review's screening decision files from ../shared/irl-review/records.csv.

Run by hand from anywhere:  .venv/bin/python data/build/build_screening.py
Writes data/screening/title_abstract.csv and data/screening/full_text.csv.

The source gives one final decision and one free-text reason per de-duplicated record (87
records, 22 included) but not the stage at which a record was excluded. The stage is
reconstructed by a fixed rule from the mapped reason:

* title/abstract: review, conference abstract, news item, methods paper, erratum, preprint of an
  included study, not MS / mixed population (all visible from title, abstract or publication type);
* full text: lesion-level analysis only, diagnostic accuracy only, no comparison group,
  rims analysed only as a continuous count or volume, and `other` (reverse designs, PRL-evolution
  outcomes, juxtacortical rims, descriptive letters, the "re-screen on full text" records).

Free-text reasons are mapped onto config `screening.exclusion_reasons` by the ordered rules in
REASON_RULES; the original wording is kept in `notes`. Screening was single-reviewer (the source
has one final decision), so there are no reviewer columns. Each row keys its record by the
identifiers the source carries (doi, pmid, title, year) exactly as given.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO.parent / "shared" / "irl-review"
OUT = REPO / "data" / "screening"

TITLE_ABSTRACT_REASONS = {
    "review", "conference abstract", "news item", "methods paper", "erratum",
    "preprint of an included study", "not MS / mixed population",
}

# (pattern on "publication_type | exclusion_reason", config reason), first match wins.
REASON_RULES = (
    (r"^news item|other: news item", "news item"),
    (r"\| review$", "review"),
    (r"\| conference abstract$", "conference abstract"),
    (r"methods paper", "methods paper"),
    (r"other: erratum", "erratum"),
    (r"other: preprint version of included study", "preprint of an included study"),
    (r"\| not MS / mixed population$", "not MS / mixed population"),
    (r"\| lesion-level analysis only$", "lesion-level analysis only"),
    (r"\| diagnostic accuracy only$", "diagnostic accuracy only"),
    (r"\| no comparison group \(IRL\+ vs IRL-\)$", "no comparison group (IRL+ vs IRL-)"),
    (r"continuous|count regression|lesion volume|correlated with",
     "rims analysed only as a continuous count or volume"),
    (r"\| other: ", "other"),
)

COLUMNS_TA = ("doi", "pmid", "title", "year", "decision", "reason", "notes")
COLUMNS_FT = ("doi", "pmid", "title", "year", "decision", "reason", "study_id", "notes")


def map_reason(record: dict) -> str:
    text = f"{record['publication_type']} | {record['exclusion_reason']}"
    for pattern, reason in REASON_RULES:
        if re.search(pattern, text):
            return reason
    raise SystemExit(f"{record['record_id']}: no rule maps reason {record['exclusion_reason']!r}")


def key_columns(record: dict) -> dict:
    return {"doi": record["doi"], "pmid": record["pmid"], "title": record["title"], "year": record["year"]}


def build(records: list[dict], study_of_record: dict[str, str]) -> tuple[list[dict], list[dict]]:
    title_abstract, full_text = [], []
    for record in records:
        origin = f"irl-review {record['record_id']}"
        if record["screening_decision"] == "include":
            title_abstract.append({**key_columns(record), "decision": "include", "reason": "", "notes": origin})
            full_text.append({**key_columns(record), "decision": "include", "reason": "",
                              "study_id": study_of_record[record["record_id"]], "notes": origin})
            continue
        if record["screening_decision"] != "exclude":
            raise SystemExit(f"{record['record_id']}: unknown decision {record['screening_decision']!r}")
        reason = map_reason(record)
        notes = f"{origin}; source reason: {record['exclusion_reason']}"
        if reason in TITLE_ABSTRACT_REASONS:
            title_abstract.append({**key_columns(record), "decision": "exclude", "reason": reason, "notes": notes})
        else:
            title_abstract.append({**key_columns(record), "decision": "include", "reason": "", "notes": origin})
            full_text.append({**key_columns(record), "decision": "exclude", "reason": reason,
                              "study_id": "", "notes": notes})
    return title_abstract, full_text


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, columns, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> int:
    if not SOURCE.is_dir():
        print(f"source data not found: {SOURCE}", file=sys.stderr)
        return 1
    records = read_csv(SOURCE / "records.csv")
    study_of_record = {row["record_id"]: row["study_id"] for row in read_csv(SOURCE / "studies.csv")}
    title_abstract, full_text = build(records, study_of_record)
    write_csv(OUT / "title_abstract.csv", COLUMNS_TA, title_abstract)
    write_csv(OUT / "full_text.csv", COLUMNS_FT, full_text)
    excluded_ta = sum(r["decision"] == "exclude" for r in title_abstract)
    excluded_ft = sum(r["decision"] == "exclude" for r in full_text)
    print(f"{len(records)} records: {excluded_ta} excluded at title/abstract, "
          f"{len(full_text)} full texts, {excluded_ft} excluded at full text, "
          f"{len(full_text) - excluded_ft} included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
