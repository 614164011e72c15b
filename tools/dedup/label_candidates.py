#!/usr/bin/env python
"""Help a person label the duplicate records of an export: list candidate pairs, accept the
obvious ones by a fixed criterion, and write the labels in the layout of
../shared/benchmarks/dedup/*_labels.csv (source_index, is_duplicate, ref_group, note).

Usage:
  label_candidates.py EXPORT --review OUT.tsv        # pairs a person must decide, one a line
  label_candidates.py EXPORT --decisions DEC.csv --labels LABELS.csv

Candidates come from a generator that shares no rule with metasr's de-duplication: any two
records with the same DOI, or titles whose word sets are at least 80 % alike (rapidfuzz
token_set_ratio on lower-case letters and digits) within two years of each other. A pair is
*obvious* when the titles are the same word for word after lower-casing and dropping
punctuation, the first author's surname is the same word, the years are equal and the DOIs
are equal or one is missing, the first page numbers agree (or one is missing) and both or
neither are supplement items. Obvious pairs form groups; every other candidate pair joins two
such groups, and the review file lists each pair of groups once, with all their records, for
a person to decide. DEC.csv holds those decisions (columns a, b, same, note: a and b the
groups' lowest indices, same = 1 or 0); a pair of groups the review file lists but DEC.csv
lacks is an error, so nothing is labelled by default. The reference groups are the connected
components of the obvious pairs and the pairs decided `same`.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from metasr.records.pipeline import parse_file  # noqa: E402  (parsing only)


def plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def first_surname(authors: str) -> str:
    first = (authors or "").split(";")[0].strip()
    word = first.split(",")[0] if "," in first else (first.split() or [""])[0]
    return plain(word)


def candidates(rows: list[dict]) -> set[tuple[int, int]]:
    pairs = set()
    by_doi = defaultdict(list)
    for i, r in enumerate(rows):
        if r["doi"]:
            by_doi[r["doi"]].append(i)
    for members in by_doi.values():
        pairs.update((a, b) for k, a in enumerate(members) for b in members[k + 1:])
    titles = [plain(r["title"]) for r in rows]
    years = [int(r["year"]) if r["year"].isdigit() else None for r in rows]
    scores = process.cdist(titles, titles, scorer=fuzz.token_set_ratio, score_cutoff=80,
                           workers=1)
    for a, b in zip(*scores.nonzero(), strict=True):
        if a < b and titles[a] and titles[b]:
            if years[a] is None or years[b] is None or abs(years[a] - years[b]) <= 2:
                pairs.add((int(a), int(b)))
    return pairs


def first_digits(pages: str) -> str:
    found = re.search(r"\d+", pages or "")
    return found.group(0).lstrip("0") if found else ""


def supplement(row: dict) -> bool:
    text = " ".join((row["volume"], row["issue"])).lower()
    return "suppl" in text or bool(re.match(r"^\s*s\d", row["pages"], re.IGNORECASE))


def obvious(x: dict, y: dict) -> bool:
    pages = first_digits(x["pages"]), first_digits(y["pages"])
    return (plain(x["title"]) == plain(y["title"]) and len(plain(x["title"]).split()) >= 4
            and first_surname(x["authors"]) == first_surname(y["authors"]) != ""
            and x["year"] == y["year"] != ""
            and (x["doi"] == y["doi"] or not x["doi"] or not y["doi"])
            and (pages[0] == pages[1] or "" in pages) and supplement(x) == supplement(y))


def components(n: int, pairs) -> list[int]:
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        parent[max(find(a), find(b))] = min(find(a), find(b))
    return [find(i) for i in range(n)]


def review_items(rows, pairs) -> dict[tuple[int, int], tuple[int, int]]:
    """Pairs of obvious groups (named by their lowest index) that a non-obvious candidate pair
    joins, each with one example pair."""
    sure = [(a, b) for a, b in pairs if obvious(rows[a], rows[b])]
    root = components(len(rows), sure)
    items = {}
    for a, b in sorted(pairs):
        x, y = sorted((root[a], root[b]))
        if x != y:
            items.setdefault((x, y), (a, b))
    return items, root


FIELDS = ["title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
          "publication_type"]


def write_review(rows, pairs, out) -> int:
    items, root = review_items(rows, pairs)
    group = defaultdict(list)
    for i, r in enumerate(root):
        group[r].append(i)
    with open(out, "w", encoding="utf-8") as handle:
        for x, y in items:
            handle.write(f"## {x} {y}   (groups {group[x]} / {group[y]})\n")
            for i in (x, y):
                for j in group[i]:
                    handle.write(f"  {j}: " + " | ".join(rows[j][f][:110] for f in FIELDS)
                                 + "\n")
    return len(items)


def write_labels(rows, pairs, decisions_csv, out) -> dict:
    decided = {}
    if decisions_csv and Path(decisions_csv).exists():
        with open(decisions_csv, encoding="utf-8") as handle:
            for d in csv.DictReader(handle):
                decided[(int(d["a"]), int(d["b"]))] = (d["same"].strip() == "1",
                                                       d.get("note", ""))
    items, root = review_items(rows, pairs)
    accepted = [(i, r) for i, r in enumerate(root) if i != r]
    notes = defaultdict(list)
    for x, y in items:
        if (x, y) not in decided:
            raise SystemExit(f"groups {x} {y} are undecided: add them to {decisions_csv}")
        same, note = decided.pop((x, y))
        if same:
            accepted.append((x, y))
        if note:
            notes[x].append(note)
            notes[y].append(note)
    if decided:
        raise SystemExit(f"decisions for groups that are not candidates: {sorted(decided)}")
    parent = list(range(len(rows)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in accepted:
        parent[find(b)] = find(a)
    members = defaultdict(list)
    for i in range(len(rows)):
        members[find(i)].append(i)
    group_of, number = {}, 0
    for i in range(len(rows)):
        root = find(i)
        if len(members[root]) > 1 and root not in group_of:
            group_of[root] = number
            number += 1
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source_index", "is_duplicate", "ref_group", "note"])
        for i in range(len(rows)):
            group = group_of.get(find(i), -1)
            writer.writerow([i, int(group >= 0), group, "; ".join(dict.fromkeys(notes[i]))])
    removable = sum(len(m) - 1 for m in members.values())
    return {"records": len(rows), "groups": number, "removable": removable}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export")
    parser.add_argument("--review")
    parser.add_argument("--decisions")
    parser.add_argument("--labels")
    args = parser.parse_args()
    rows = parse_file(args.export, source="label")
    pairs = candidates(rows)
    if args.review:
        print(f"{len(pairs)} candidate pairs, {write_review(rows, pairs, args.review)} to decide")
    if args.labels:
        print(write_labels(rows, pairs, args.decisions, args.labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
