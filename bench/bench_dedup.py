#!/usr/bin/env python
"""Benchmark metasr's de-duplication: quality and speed side by side with bib-dedupe 0.11.0 on
the labelled real exports, and a 100,000-record scale set.

Usage: .venv/bin/python bench/bench_dedup.py [--records 100000] [--bib-dedupe PYTHON]
                                             [--bib-dedupe-scale 10000] [--out DIR]

* Labelled sets: ../shared/benchmarks/dedup/{tafenoquine,respiratory}.xml, scored with
  ../shared/tools/dedup_score.py (recall, false merges). Both tools get the same parsed fields.
* bib-dedupe runs in its own virtual environment (default /tmp/bibdedupe-venv/bin/python, not
  part of metasr's lock) through a subprocess; when it is not found the script says so and
  reports metasr alone.
* Scale set (SYNTHETIC, generated here): every record of the shared sample exports and the
  benchmark exports, then perturbed copies (case, punctuation, truncated titles, abbreviated
  journals, missing DOIs, author-format changes, missing pages) until --records rows. Each row
  carries `synthetic_origin` (the real record it was made from). De-duplication runs as
  `metasr records dedup` in a child process so its wall time and peak RSS are its own.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "src"))

from metasr.records.dedup import cluster_records  # noqa: E402
from metasr.records.pipeline import parse_file  # noqa: E402
from metasr.records.table import COLUMNS, write_csv_atomic  # noqa: E402

LABELLED = ["tafenoquine", "respiratory"]
# Sets labelled in this repository (tests/fixtures/dedup/README.md): name -> shared export.
OWN_LABELLED = {"diabetes_400": "diabetes_latin1_1845.csv", "endnote_ris_68": "endnote_ris_68.txt",
                "wos_tagged_500": "wos_tagged_500.txt",
                "zotero_1000_endnote": "zotero_1000_endnote.xml"}
BIB_DEDUPE_RUNNER = r"""
import json, sys, time
import pandas as pd
import bib_dedupe.bib_dedupe as bd
from bib_dedupe import verbose_print
verbose_print.verbosity_level = 0
df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
start = time.perf_counter()
prepped = bd.prep(df)
pairs = bd.block(prepped)
matched = bd.match(pairs)
groups = bd.cluster(matched)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "groups": [[str(i) for i in g] for g in groups]}))
"""


def load_scorer():
    spec = importlib.util.spec_from_file_location("dedup_score",
                                                  SHARED / "tools" / "dedup_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.score


def groups_of(cluster_of: list[int]) -> list[list[int]]:
    groups = defaultdict(list)
    for i, cluster in enumerate(cluster_of):
        groups[cluster].append(i)
    return list(groups.values())


def to_bib_dedupe_csv(rows: list[dict], path: Path) -> None:
    """The fields both tools see, in bib-dedupe's names (ID = position in the file)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "ENTRYTYPE", "title", "author", "year", "journal", "volume",
                         "number", "pages", "doi", "abstract"])
        for i, r in enumerate(rows):
            writer.writerow([str(i), "article", r["title"], r["authors"].replace("; ", " and "),
                             r["year"], r["journal"], r["volume"], r["issue"], r["pages"],
                             r["doi"], r["abstract"]])


def run_bib_dedupe(python: str, rows: list[dict], workdir: Path, timeout: int) -> dict | None:
    data = workdir / "bib_dedupe_input.csv"
    to_bib_dedupe_csv(rows, data)
    runner = workdir / "run_bib_dedupe.py"
    runner.write_text(BIB_DEDUPE_RUNNER)
    wall = time.perf_counter()
    try:
        done = subprocess.run([python, str(runner), str(data)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - wall
    result["groups"] = [[int(i) for i in g] for g in result["groups"]]
    return result


def labelled_runs(bib_python: str | None, workdir: Path) -> list[dict]:
    import pandas as pd

    score = load_scorer()
    results = []
    bench = SHARED / "benchmarks" / "dedup"
    sets = [(name, bench / f"{name}.xml", bench / f"{name}_labels.csv") for name in LABELLED]
    for name, export in OWN_LABELLED.items():
        path = SHARED / "samples" / "exports" / export
        if name == "diabetes_400":
            sys.path.insert(0, str(REPO / "tests" / "records"))
            from test_benchmarks import _first_rows
            path = _first_rows(path, 400, workdir / "diabetes_latin1_400.csv")
        sets.append((name, path, REPO / "tests" / "fixtures" / "dedup" / f"{name}_labels.csv"))
    for name, path, labels_path in sets:
        labels = pd.read_csv(labels_path, keep_default_na=False)
        start = time.perf_counter()
        rows = parse_file(path, source=name)
        parsed = time.perf_counter()
        clustering = cluster_records(rows)
        done = time.perf_counter()
        row = {"set": name, "records": len(rows),
               "metasr": {**score(groups_of(clustering.cluster_of), labels),
                          "seconds": round(done - parsed, 3),
                          "seconds_with_parsing": round(done - start, 3)}}
        if bib_python:
            other = run_bib_dedupe(bib_python, rows, workdir, timeout=1800)
            if "error" in other:
                row["bib_dedupe"] = other
            else:
                row["bib_dedupe"] = {**score(other["groups"], labels),
                                     "seconds": round(other["seconds"], 3)}
        results.append(row)
    return results


# ------------------------------------------------------------------ synthetic scale set

def real_records() -> list[dict]:
    paths = sorted((SHARED / "samples" / "exports").iterdir())
    paths += [SHARED / "benchmarks" / "dedup" / f"{n}.xml" for n in LABELLED]
    rows = []
    for path in paths:
        rows.extend(parse_file(path, source="real"))
    return rows


_STOP = {"of", "the", "and", "for", "in", "on"}


def abbreviate_journal(journal: str, rng: random.Random) -> str:
    words = [w for w in re.split(r"\s+", journal) if w.lower() not in _STOP]
    return " ".join(w[: rng.randint(3, 6)] if len(w) > 5 else w for w in words)


def reformat_authors(authors: str, rng: random.Random) -> str:
    style = rng.choice(["initials", "initials_first", "upper"])
    out = []
    for name in authors.split("; "):
        surname, _, given = name.partition(",")
        initials = "".join(p[0] for p in re.split(r"[\s.\-]+", given.strip()) if p)
        if style == "initials":
            out.append(f"{surname.strip()} {initials}".strip())
        elif style == "initials_first":
            out.append(f"{'. '.join(initials)}. {surname.strip()}" if initials else surname)
        else:
            out.append(name.upper())
    return "; ".join(out)


def perturb(row: dict, rng: random.Random) -> dict:
    copy = dict(row)
    title = copy["title"]
    if rng.random() < 0.3:
        title = rng.choice([title.upper(), title.lower(), title.title()])
    if rng.random() < 0.3:
        title = re.sub(r"[^\w\s]", rng.choice(["", " "]), title) + rng.choice(["", "."])
    if rng.random() < 0.15 and len(title) > 80:
        cut = title[: rng.randint(60, len(title) - 10)]
        title = cut.rsplit(" ", 1)[0]
    copy["title"] = title
    if rng.random() < 0.4 and copy["journal"]:
        copy["journal"] = abbreviate_journal(copy["journal"], rng)
    if rng.random() < 0.5:
        copy["doi"] = ""
    if rng.random() < 0.2:
        copy["pmid"] = ""
    if rng.random() < 0.4 and copy["authors"]:
        copy["authors"] = reformat_authors(copy["authors"], rng)
    if rng.random() < 0.2:
        copy["pages"] = ""
    if rng.random() < 0.3:
        copy["abstract"] = ""
    return copy


def scale_set(n: int, seed: int = 20251123) -> list[dict]:
    rng = random.Random(seed)
    base = real_records()
    rows = []
    for i, row in enumerate(base[:n]):
        rows.append({**row, "synthetic_origin": i, "synthetic_copy": False})
    while len(rows) < n:
        i = rng.randrange(len(base))
        rows.append({**perturb(base[i], rng), "synthetic_origin": i, "synthetic_copy": True})
    rng.shuffle(rows)
    for index, row in enumerate(rows):
        row.update(record_id=f"scale:{index}", source="scale", source_file="synthetic_scale.csv",
                   source_index=index, line=index + 2, database="synthetic", format="csv")
    return rows


def scale_run(n: int, workdir: Path, bib_python: str | None, bib_n: int) -> dict:
    start = time.perf_counter()
    rows = scale_set(n)
    made = time.perf_counter() - start
    table = workdir / "scale.csv"
    write_csv_atomic(rows, table, COLUMNS)
    out = workdir / "scale_out"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([str(REPO / ".venv" / "bin" / "metasr"), "records", "dedup", str(table),
                    "--out", str(out)], check=True, capture_output=True)
    seconds = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kb = after.ru_maxrss
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(out / "records.csv", encoding="utf-8", newline="") as handle:
        clusters = [r["cluster_id"] for r in csv.DictReader(handle)]
    cluster_of_original = {row["synthetic_origin"]: cluster for row, cluster in zip(rows, clusters, strict=True)
                           if not row["synthetic_copy"]}
    copies = [(row["synthetic_origin"], cluster) for row, cluster in zip(rows, clusters, strict=True)
              if row["synthetic_copy"]]
    copies_together = sum(cluster_of_original[origin] == cluster for origin, cluster in copies)
    result = {"records": n, "real_records": len(cluster_of_original), "generate_seconds": round(made, 1),
              "dedup_seconds": round(seconds, 1), "dedup_cpu_seconds": round(cpu, 1),
              "peak_rss_mb": round(peak_kb / 1024, 1),
              "peak_rss_note": "largest child process (the metasr run)",
              "unique": len(set(clusters)),
              "copies_with_their_original": round(copies_together / len(copies), 4) if copies else None}
    if bib_python and bib_n:
        subset = rows[:bib_n]
        wall = time.perf_counter()
        clustering = cluster_records(subset)
        ours = time.perf_counter() - wall
        other = run_bib_dedupe(bib_python, subset, workdir, timeout=3600)
        result["subset"] = {"records": bib_n, "metasr_seconds": round(ours, 2),
                            "metasr_unique": len(set(clustering.cluster_of)),
                            "bib_dedupe": {"seconds": round(other["seconds"], 2),
                                           "unique": bib_n - sum(len(g) - 1
                                                                 for g in other["groups"])}
                            if "error" not in other else other}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--bib-dedupe", default="/tmp/bibdedupe-venv/bin/python",
                        help="python of a venv with bib-dedupe 0.11.0 installed")
    parser.add_argument("--bib-dedupe-scale", type=int, default=10_000,
                        help="records of the scale set also given to bib-dedupe (0: none)")
    parser.add_argument("--out", help="write the JSON results here")
    args = parser.parse_args()
    if not (SHARED / "benchmarks" / "dedup").is_dir():
        print("../shared is not available: nothing to benchmark", file=sys.stderr)
        return 1
    bib_python = args.bib_dedupe if Path(args.bib_dedupe).exists() else None
    if bib_python:
        check = subprocess.run([bib_python, "-c", "import bib_dedupe, importlib.metadata as m;"
                                "print(m.version('bib-dedupe'))"], capture_output=True, text=True)
        bib_python = bib_python if check.returncode == 0 else None
        version = check.stdout.strip()
    found = f"found, version {version}" if bib_python else f"not found at {args.bib_dedupe} (metasr only)"
    print(f"bib-dedupe: {found}")
    print(f"cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(),
                   "bib_dedupe": version if bib_python else None,
                   "labelled": labelled_runs(bib_python, work),
                   "scale": scale_run(args.records, work, bib_python, args.bib_dedupe_scale)}
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
