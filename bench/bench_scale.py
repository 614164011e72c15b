#!/usr/bin/env python
"""Scale benchmarks of the whole pipeline on SYNTHETIC reviews (`metasr simulate`).

Usage: .venv/bin/python bench/bench_scale.py PART [options]

PART is one of
  outcomes   full `snakemake --cores 2` runs of simulated reviews with --outcomes N (default 1 10
             100 500, 30 studies each): wall time, CPU time, peak RSS, number of jobs, parse+DAG
             time (a dry run), and the wall time of every job by rule (from snakemake's own
             .snakemake/metadata start/end times). A run longer than --timeout is stopped and
             reported with the jobs it finished.
  records    1k, 10k, 100k records: parsing, de-duplication and screening by calling the library
             functions directly (each size in a fresh process, so that its peak RSS is its own),
             and through snakemake (--via-snakemake sizes, default 1k and 10k; target
             results/screening/prisma.json).
  overhead   per-job overhead: snakemake running 40 trivial jobs (`script:` writing a file, and
             `shell:` touch) with --cores 1; start-up of a bare Python; import time of every
             module a rule's script imports (and of snakemake's own script preamble).
  noop       no-op rerun (`snakemake` with nothing to do) and dry run of finished runs (--workdir;
             a stopped run is finished first), and the size of their .snakemake/metadata. `outcomes`
             measures the same after every run that finishes.
  parse      parse-time cost: metasr.workflow.review.load_review on reviews of N outcomes.
  jobcost    inside one job of each rule, CPU time of its imports vs its work (fresh process each,
             best of 3), on a finished 1-outcome run; plus Python start-up and the import of
             snakemake's script preamble. CPU times do not stretch with the machine's load.
  summary    Markdown tables of the results found in --out.

Every measurement records the load average before and after (the machine may be shared); the
results are written as JSON to --out (default /tmp/metasr-bench-scale/PART.json) and printed as
Markdown for bench/RESULTS.md. Data are synthetic: `metasr simulate` makes every record, study
and number (see src/metasr/simulate).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SNAKEMAKE = str(BIN / "snakemake")
# The repository's workflow, run in the review folder (as `metasr run FOLDER` does).
WORKFLOW = [SNAKEMAKE, "--snakefile", str(Path(__file__).resolve().parents[1] / "Snakefile")]
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_measured(cmd: list[str], cwd: Path | None = None, timeout: float | None = None,
                 stdout=subprocess.DEVNULL) -> dict:
    """Run cmd; wall time, user+sys CPU and peak RSS of it and every descendant it waited for
    (wait4 reports the maximum over the reaped process tree)."""
    before = load()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=stdout, stderr=subprocess.STDOUT,
                            start_new_session=True)
    # A blocking wait4, the timeout kept by a timer thread: waiting in steps (sleeping between
    # polls) would add up to a step to every wall time, 8 % of a 0.6 s command at 50 ms.
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        os.killpg(proc.pid, signal.SIGTERM)

    timer = threading.Timer(timeout, stop) if timeout else None
    if timer is not None:
        timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if timer is not None:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"cmd": " ".join(cmd), "wall_s": time.perf_counter() - start, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "returncode": proc.returncode, "timed_out": timed_out.is_set(),
            "load_before": before, "load_after": load()}


def simulate(out: Path, outcomes: int, studies: int, records: int, seed: int) -> dict:
    cmd = [str(BIN / "metasr"), "simulate", "--outcomes", str(outcomes), "--studies", str(studies),
           "--records", str(records), "--seed", str(seed), "--out", str(out), "--force"]
    result = run_measured(cmd)
    if result["returncode"] != 0:
        raise SystemExit(f"simulate failed: {result}")
    return result


def job_times(workdir: Path) -> dict:
    """Wall time of every finished job, by rule, from snakemake's metadata records."""
    jobs: dict[tuple, list[float]] = {}
    meta = workdir / ".snakemake" / "metadata"
    if not meta.is_dir():
        return {}
    for path in meta.iterdir():
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if record.get("incomplete") or record.get("starttime") is None:
            continue
        # One record per output file, end times a few milliseconds apart. A job hash can be reused by a
        # later job of the same rule, so outputs of one hash are one job only while their ends are close.
        key = (record["rule"], record.get("job_hash"))
        jobs.setdefault(key, []).append((record["starttime"], record["endtime"]))
    by_rule = defaultdict(list)
    for (rule, _), times in jobs.items():
        times.sort(key=lambda t: t[1])
        group = [times[0]]
        for item in times[1:] + [None]:
            if item is not None and item[1] - group[-1][1] < 0.5:
                group.append(item)
                continue
            by_rule[rule_family(rule)].append(max(e for _, e in group) - min(s for s, _ in group))
            group = [item]
    return {rule: {"jobs": len(v), "total_s": sum(v), "mean_s": sum(v) / len(v), "max_s": max(v)}
            for rule, v in sorted(by_rule.items())}


def rule_family(rule: str) -> str:
    """Outcome rules are one per outcome or batch (rules/outcomes.smk): report them together."""
    if rule.startswith("outcome_") and rule.endswith("__inputs"):
        return "outcome_*__inputs (writes a job's inputs file; a `run:` job)"
    if rule.startswith("outcome__batch_"):
        return "outcome__batch_* (a batch of outcomes)"
    if rule.startswith("outcome_"):
        return "outcome_* (one outcome)"
    return rule


def count_dry_run_jobs(text: str) -> int | None:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "total" and parts[1].isdigit():
            return int(parts[1])
    return None


# ---------------------------------------------------------------- parts

def set_execution(workdir: Path, png: bool) -> None:
    """Set the review's `execution.png` (PNG copies of forest and funnel plots, or not), keeping
    the simulator's config as written (its comments say the data are synthetic)."""
    path = workdir / "config" / "config.yaml"
    text = path.read_text()
    if "\nexecution:" in text:
        raise SystemExit(f"{path} already has an execution section; set png there")
    path.write_text(text + f"execution:\n  png: {'true' if png else 'false'}\n")


def bench_noop(args) -> dict:
    """No-op reruns of finished runs (--workdir, e.g. kept by `outcomes --keep`): a run stopped by
    --timeout is first finished (that run measured as `finish`)."""
    results = []
    for workdir in map(Path, args.workdir or []):
        entry = {"workdir": str(workdir), "outcomes": len(list((workdir / "data/extraction/outcomes").glob("*.csv")))}
        with open(workdir / "bench-finish.log", "w") as log:
            entry["finish"] = run_measured([*WORKFLOW, "--cores", "2"], cwd=workdir, stdout=log)
        entry["noop"] = noop_reruns(workdir, args.noop_repeats)
        results.append(entry)
        print(json.dumps(entry, indent=1), flush=True)
    return {"part": "noop", "results": results}


def bench_outcomes(args) -> dict:
    results = []
    for n in args.sizes or [1, 10, 100, 500]:
        workdir = Path(tempfile.mkdtemp(prefix=f"scale-o{n}-", dir=args.tmp))
        sim = simulate(workdir, n, args.studies, args.records, args.seed)
        if args.png is not None:
            set_execution(workdir, png=args.png)
        dry = run_measured([*WORKFLOW, "--cores", "2", "--dry-run", "--quiet", "rules"], cwd=workdir,
                           stdout=subprocess.PIPE)
        dry_text = subprocess.run([*WORKFLOW, "--cores", "2", "--dry-run"], cwd=workdir, env=ENV,
                                  capture_output=True, text=True).stdout
        n_jobs = count_dry_run_jobs(dry_text)
        # The run's log beside the review, not in it: a file the review folder gains or changes is a
        # change of the review (its check is redone by the next invocation, which the no-ops would time).
        with open(workdir.parent / f"{workdir.name}-run.log", "w") as log:
            run = run_measured([*WORKFLOW, "--cores", "2"], cwd=workdir, timeout=args.timeout, stdout=log)
        times = job_times(workdir)
        done = sum(r["jobs"] for r in times.values())
        entry = {"outcomes": n, "studies": args.studies, "records": args.records,
                 "png": "auto" if args.png is None else args.png, "jobs": n_jobs,
                 "jobs_done": done, "simulate": sim, "dry_run": dry, "run": run, "job_times": times,
                 "workdir": str(workdir)}
        if not run["timed_out"] and run["returncode"] == 0 and args.noop_repeats > 0:
            entry["noop"] = noop_reruns(workdir, args.noop_repeats)
        results.append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k != "job_times"}, indent=1), flush=True)
        if not args.keep and not run["timed_out"] and run["returncode"] == 0:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"part": "outcomes", "results": results}



def metadata_size(workdir: Path) -> dict:
    """Bytes and number of files of snakemake's per-output metadata store."""
    meta = workdir / ".snakemake" / "metadata"
    sizes = [p.stat().st_size for p in meta.iterdir()] if meta.is_dir() else []
    return {"bytes": sum(sizes), "files": len(sizes), "largest_bytes": max(sizes, default=0)}


def noop_reruns(workdir: Path, repeats: int) -> dict:
    """After a finished run: wall and CPU time of `snakemake` with nothing to do and of its dry run
    (each `repeats` times, in that order), and the size of the metadata store they read."""
    def rerun(extra: list[str]) -> list[dict]:
        runs = []
        for _ in range(repeats):
            r = run_measured([*WORKFLOW, "--cores", "2", *extra], cwd=workdir)
            if r["returncode"] != 0:
                raise SystemExit(f"no-op rerun failed: {r}")
            runs.append(r)
        return runs

    def median(runs: list[dict], key: str) -> float:
        values = sorted(r[key] for r in runs)
        return values[len(values) // 2]

    out = {"metadata": metadata_size(workdir)}
    for name, extra in (("rerun", []), ("dry_run", ["--dry-run"])):
        runs = rerun(extra)
        out[name] = {"wall_s": median(runs, "wall_s"), "cpu_s": median(runs, "cpu_s"),
                     "wall_all_s": [r["wall_s"] for r in runs], "load_before": runs[0]["load_before"],
                     "load_after": runs[-1]["load_after"]}
    # A no-op rerun must have had nothing to do; the dry run says so (untimed).
    text = subprocess.run([*WORKFLOW, "--cores", "2", "--dry-run"], cwd=workdir, env=ENV, capture_output=True,
                          text=True).stdout
    out["jobs_left"] = count_dry_run_jobs(text) or 0
    return out

RECORDS_CHILD = r"""
import json, sys, time, resource, tempfile
from pathlib import Path
import yaml
t0 = time.perf_counter()
from metasr.records.pipeline import RECORD_COLUMNS, UNIQUE_COLUMNS, dedup_rows, parse_file
from metasr.records.dedup import AUDIT_COLUMNS
from metasr.io import write_csv
from metasr.screening.pipeline import ScreeningFiles, screen_records
imports = time.perf_counter() - t0
d = Path(sys.argv[1])
cfg = yaml.safe_load((d / "config/config.yaml").read_text())
out = Path(tempfile.mkdtemp())
times, cpu = {"imports": imports}, {}
def stage(name, start, cpu_start):
    times[name] = time.perf_counter() - start
    cpu[name] = time.process_time() - cpu_start
t, c = time.perf_counter(), time.process_time()
rows = []
for name, s in cfg["search"]["sources"].items():
    rows += parse_file(d / s["file"], source=name, database=s["database"])
stage("parse", t, c)
t, c = time.perf_counter(), time.process_time()
records, unique, audit = dedup_rows(rows, d / "data/search/dedup_overrides.csv")
stage("dedup", t, c)
t, c = time.perf_counter(), time.process_time()
write_csv(out / "records.csv", RECORD_COLUMNS, records)
write_csv(out / "unique.csv", UNIQUE_COLUMNS, unique)
write_csv(out / "audit.csv", AUDIT_COLUMNS, audit)
stage("write", t, c)
t, c = time.perf_counter(), time.process_time()
prisma = screen_records(out / "records.csv", out / "unique.csv", d / cfg["screening"]["title_abstract"],
                        d / cfg["screening"]["full_text"], cfg["screening"], cfg["search"]["sources"],
                        ScreeningFiles.in_folder(out))
stage("screen", t, c)
truth = json.loads((d / "truth.json").read_text())
print(json.dumps({"times": times, "cpu": cpu, "records": len(records), "unique": len(unique),
                  "prisma_equals_truth": prisma["records"] == truth["prisma"]["records"]
                  and prisma["included"] == truth["prisma"]["included"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_records(args) -> dict:
    results = []
    for n in args.sizes or [1000, 10000, 100000]:
        workdir = Path(tempfile.mkdtemp(prefix=f"scale-r{n}-", dir=args.tmp))
        sim = simulate(workdir, 1, 10, n, args.seed)
        before = load()
        proc = subprocess.run([PYTHON, "-c", RECORDS_CHILD, str(workdir)], env=ENV, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        direct = json.loads(proc.stdout.strip().splitlines()[-1])
        direct.update(load_before=before, load_after=load())
        entry = {"records": n, "simulate": sim, "direct": direct}
        if n in (args.via_snakemake or [1000, 10000]):
            run = run_measured([*WORKFLOW, "--cores", "2", "results/screening/prisma.json"], cwd=workdir,
                               timeout=args.timeout)
            entry["snakemake"] = run
            entry["snakemake_job_times"] = job_times(workdir)
        results.append(entry)
        print(json.dumps(entry, indent=1), flush=True)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"part": "records", "results": results}


TRIVIAL_SNAKEFILE = """
rule all:
    input:
        expand("py/{i}.txt", i=range(N)),
        expand("sh/{i}.txt", i=range(N)),

rule trivial_script:
    output:
        "py/{i}.txt",
    script:
        "trivial.py"

rule trivial_shell:
    output:
        "sh/{i}.txt",
    shell:
        "touch {output}"
"""


def script_imports() -> dict[str, list[str]]:
    """The metasr modules each rule's script imports (its `from X import` lines)."""
    found = {}
    for script in sorted((REPO / "scripts").glob("*.py")):
        modules = [line.split()[1] for line in script.read_text().splitlines()
                   if line.startswith("from metasr") or line.startswith("import metasr")]
        found[script.stem] = modules
    return found


def time_import(code: str, repeats: int = 3) -> dict:
    """Best wall and CPU (user + sys) time of a fresh `python -c code`, over `repeats` runs: CPU time
    is what the code costs; wall time also shows how much a loaded machine stretches it."""
    runs = [run_measured([PYTHON, "-c", code]) for _ in range(repeats)]
    if any(r["returncode"] for r in runs):
        raise SystemExit(f"failed: python -c {code!r}")
    return {"wall_s": min(r["wall_s"] for r in runs), "cpu_s": min(r["cpu_s"] for r in runs),
            "load": runs[-1]["load_after"]}


def bench_overhead(args) -> dict:
    n = args.trivial_jobs
    workdir = Path(tempfile.mkdtemp(prefix="scale-trivial-", dir=args.tmp))
    (workdir / "Snakefile").write_text(TRIVIAL_SNAKEFILE.replace("N)", f"{n})"))
    (workdir / "trivial.py").write_text("open(snakemake.output[0], 'w').close()\n")
    out = {"part": "overhead", "trivial_jobs": n}
    out["trivial_dry_run"] = run_measured([SNAKEMAKE, "--cores", "1", "--dry-run"], cwd=workdir)
    out["trivial_script"] = run_measured([SNAKEMAKE, "--cores", "1"] + [f"py/{i}.txt" for i in range(n)], cwd=workdir)
    out["trivial_shell"] = run_measured([SNAKEMAKE, "--cores", "1"] + [f"sh/{i}.txt" for i in range(n)], cwd=workdir)
    out["trivial_script_job_times"] = job_times(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    out["python_startup_s"] = time_import("pass")
    out["import_s"] = {"snakemake.script (every script job's preamble)": time_import("import snakemake.script"),
                       "metasr.workflow.runner": time_import("import metasr.workflow.runner")}
    for library in ("numpy", "pandas", "scipy.stats", "matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot",
                    "jsonschema", "yaml", "rapidfuzz"):
        out["import_s"][f"library: {library.split(';')[0]}"] = time_import(f"import {library}")
    for script, modules in script_imports().items():
        code = "; ".join(f"import {m}" for m in modules)
        out["import_s"][f"{script}: {', '.join(modules)}"] = time_import(code)
    out["load"] = load()
    print(json.dumps(out, indent=1), flush=True)
    return out


PARSE_CHILD = r"""
import json, os, sys, time, yaml
from pathlib import Path
t = time.perf_counter()
import metasr.extraction.validate as validate
import metasr.workflow.review as review
imports = time.perf_counter() - t
parts = {}
def timed(module, name):
    inner = getattr(module, name)
    def wrapper(*a, **k):
        w, c = time.perf_counter(), time.process_time()
        try:
            return inner(*a, **k)
        finally:
            p = parts.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
            p["wall_s"] += time.perf_counter() - w
            p["cpu_s"] += time.process_time() - c
            p["calls"] += 1
    setattr(module, name, wrapper)
timed(validate, "validate_review")
timed(review, "usable_rows")
d = Path(sys.argv[1])
raw = yaml.safe_load((d / "config/config.yaml").read_text())
os.chdir(d)
t, c = time.perf_counter(), time.process_time()
review.load_review(raw, d)
total, total_cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"imports_s": imports, "load_review_s": total, "load_review_cpu_s": total_cpu, "parts": parts}))
"""


def bench_parse(args) -> dict:
    results = []
    for n in args.sizes or [1, 10, 100, 500]:
        workdir = Path(tempfile.mkdtemp(prefix=f"scale-p{n}-", dir=args.tmp))
        simulate(workdir, n, args.studies, args.records, args.seed)
        before = load()
        proc = subprocess.run([PYTHON, "-c", PARSE_CHILD, str(workdir)], env=ENV, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        entry = {"outcomes": n, **json.loads(proc.stdout.strip().splitlines()[-1]), "load_before": before,
                 "load_after": load()}
        results.append(entry)
        print(json.dumps(entry), flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return {"part": "parse", "results": results}


JOB_CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
rule, d = sys.argv[1], Path(sys.argv[2])
tmp = Path(tempfile.mkdtemp())
c0, w0 = time.process_time(), time.perf_counter()
IMPORTS = {
    "ingest_records": "from metasr.records.pipeline import ingest_records as f",
    "dedup_records": "from metasr.records.pipeline import dedup_records as f",
    "screen_records": "from metasr.screening.pipeline import screen_records as f",
    "draw_prisma": "from metasr.figures.prisma import draw_prisma as f",
    "prepare_outcome": "from metasr.extraction.pipeline import prepare_outcome as f",
    "pool_outcome": "from metasr.workflow.pooling import pool_outcome_file as f",
    "plot_forest": "from metasr.figures.forest import plot_forest_file as f",
    "plot_funnel": "from metasr.figures.funnel import plot_funnel_file as f",
    "plot_sensitivity": "from metasr.figures.sensitivity import plot_sensitivity_files as f",
    "plot_rob": "from metasr.figures.rob import plot_rob_files as f",
}
exec(IMPORTS[rule])
import metasr.workflow.runner
c_imp, w_imp = time.process_time(), time.perf_counter()
from metasr.config import load_config
# Set-up the job does not do (snakemake hands it config values and study rows as params).
cfg = load_config(d / "config/config.yaml", root=d)
oid = sorted(cfg["outcomes"])[0]
res = d / "results"
import csv
with open(d / "data/extraction/studies.csv", newline="") as fh:
    study_rows = list(csv.DictReader(fh))
c1, w1 = time.process_time(), time.perf_counter()
if rule == "ingest_records":
    f(d / cfg["search"]["sources"]["pubmed"]["file"], tmp / "p.csv", source="pubmed", database="PubMed")
elif rule == "dedup_records":
    f(sorted((res / "records/parsed").glob("*.csv")), tmp, overrides_csv=d / "data/search/dedup_overrides.csv")
elif rule == "screen_records":
    f(res / "records/records.csv", res / "records/unique.csv", d / cfg["screening"]["title_abstract"],
      d / cfg["screening"]["full_text"], cfg["screening"], cfg["search"]["sources"], tmp)
elif rule == "draw_prisma":
    f(res / "screening/prisma.json", tmp / "p.svg", tmp / "p.png")
elif rule == "prepare_outcome":
    sheet = d / f"data/extraction/outcomes/{oid}.csv"
    with open(sheet, newline="") as fh:
        ids = {r["study_id"] for r in csv.DictReader(fh)}
    f(sheet, [r for r in study_rows if r["study_id"] in ids], oid, cfg["outcomes"][oid], cfg["extraction"],
      tmp / "e.csv")
elif rule == "pool_outcome":
    f(res / f"extraction/{oid}.csv", oid, cfg["outcomes"][oid], tmp / "p.json")
elif rule == "plot_forest":
    f(res / f"pooled/{oid}.json", cfg["outcomes"][oid], cfg["review"], tmp / "f.svg", tmp / "f.png")
elif rule == "plot_funnel":
    f(res / f"pooled/{oid}.json", tmp / "f.svg", tmp / "f.png")
elif rule == "plot_sensitivity":
    f(res / f"pooled/{oid}.json", tmp / "l.svg", tmp / "c.svg", tmp / "b.svg")
elif rule == "plot_rob":
    f(d / "data/extraction/studies.csv", tmp / "a.svg", tmp / "a.png", tmp / "b.svg", tmp / "b.png")
c2, w2 = time.process_time(), time.perf_counter()
print(json.dumps({"import_cpu_s": c_imp - c0, "work_cpu_s": c2 - c1, "import_wall_s": w_imp - w0,
                  "work_wall_s": w2 - w1}))
"""
JOB_RULES = ["ingest_records", "dedup_records", "screen_records", "draw_prisma", "prepare_outcome", "pool_outcome",
             "plot_forest", "plot_funnel", "plot_sensitivity", "plot_rob"]


def bench_jobcost(args) -> dict:
    """Inside one job: CPU time of its imports vs its work, per rule (a finished run's folder is
    simulated and run first unless --workdir names one). Each rule in a fresh process, best of 3."""
    if args.workdir:
        workdir = Path(args.workdir[0])
    else:
        workdir = Path(tempfile.mkdtemp(prefix="scale-jobcost-", dir=args.tmp))
        simulate(workdir, 1, args.studies, args.records, args.seed)
        subprocess.run([*WORKFLOW, "--cores", "2"], cwd=workdir, env=ENV, check=True, capture_output=True)
    results = {"python_startup": time_import("pass"),
               "snakemake_script_preamble": time_import("import snakemake.script")}
    for rule in JOB_RULES:
        runs = []
        for _ in range(3):
            proc = subprocess.run([PYTHON, "-c", JOB_CHILD, rule, str(workdir)], env=ENV, capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr)
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        best = {k: min(r[k] for r in runs) for k in runs[0]}
        results[rule] = {**best, "load": load()}
        print(rule, json.dumps(results[rule]), flush=True)
    return {"part": "jobcost", "workdir": str(workdir), "results": results}


def summary(args) -> dict:
    """Markdown tables from the JSON results in --out (job times re-read from kept run folders)."""
    out = Path(args.out)
    lines = []

    def newest(part):
        files = sorted(out.glob(f"{part}-*.json"), key=lambda p: p.stat().st_mtime)
        return [json.loads(f.read_text()) for f in files]

    runs = {r["outcomes"]: r for res in newest("outcomes") for r in res["results"]}
    if runs:
        lines += ["| outcomes (x studies) | jobs | parse + DAG (dry run) | full run wall | CPU (user+sys) | peak RSS | "
                  "wall per outcome | load (1 min) before/after |", "|---|---|---|---|---|---|---|---|"]
        for n, r in sorted(runs.items()):
            run = r["run"]
            done = ""
            if run["timed_out"]:
                done = f" (stopped; {r['jobs_done']} of {r['jobs']} jobs done)"
            elif run["returncode"]:
                done = f" (failed, exit {run['returncode']}; {r['jobs_done']} of {r['jobs']} jobs done)"
            per_outcome = "-" if run["timed_out"] or run["returncode"] else f"{run['wall_s'] / n:.1f} s"
            lines.append(f"| {n} (x {r['studies']}) | {r['jobs']} | {r['dry_run']['wall_s']:.1f} s | "
                         f"{run['wall_s']:.0f} s{done} | {run['cpu_s']:.0f} s | {run['peak_rss_mb']:.0f} MB | "
                         f"{per_outcome} | "
                         f"{run['load_before'].split()[0]} / {run['load_after'].split()[0]} |")
        biggest = max(runs)
        workdir = Path(runs[biggest]["workdir"])
        times = job_times(workdir) if workdir.is_dir() else runs[biggest]["job_times"]
        total = sum(t["total_s"] for t in times.values())
        lines += ["", f"Job wall time by rule, {biggest} outcomes:", "",
                  "| rule | jobs | mean per job | max | share of job time |", "|---|---|---|---|---|"]
        for rule, t in sorted(times.items(), key=lambda kv: -kv[1]["total_s"]):
            lines.append(f"| {rule} | {t['jobs']} | {t['mean_s']:.2f} s | {t['max_s']:.2f} s | "
                         f"{100 * t['total_s'] / total:.0f} % |")
    merged = {r["records"]: r for res in newest("records") for r in res["results"]}
    for res in [{"results": [merged[k] for k in sorted(merged)]}] if merged else []:
        lines += ["", "| records | unique | parse | de-dup | write tables | screen | total (direct) | total CPU | "
                  "per 1k records | peak RSS | snakemake (7 jobs) | load before |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in res["results"]:
            t = r["direct"]["times"]
            total = t["parse"] + t["dedup"] + t["write"] + t["screen"]
            smk = f"{r['snakemake']['wall_s']:.0f} s" if "snakemake" in r else "-"
            if "snakemake" not in r:
                older = [x for res_ in newest("records") for x in res_["results"]
                         if x["records"] == r["records"] and "snakemake" in x]
                smk = f"{older[-1]['snakemake']['wall_s']:.0f} s" if older else smk
            lines.append(f"| {r['records']:,} | {r['direct']['unique']:,} | {t['parse']:.1f} s | {t['dedup']:.1f} s | "
                         f"{t['write']:.1f} s | {t['screen']:.1f} s | {total:.1f} s | "
                         f"{sum(r['direct'].get('cpu', {}).values()):.1f} s | {1000 * total / r['records']:.2f} s | "
                         f"{r['direct']['peak_rss_mb']:.0f} MB | {smk} | "
                         f"{r['direct']['load_before'].split()[0]} |")
    for res in newest("overhead")[-1:]:
        lines += ["", "| what | CPU | wall |", "|---|---|---|"]
        for name, v in [("python -c pass", res["python_startup_s"]), *res["import_s"].items()]:
            if isinstance(v, dict):
                lines.append(f"| {name} | {v['cpu_s']:.2f} s | {v['wall_s']:.2f} s |")
        n = res["trivial_jobs"]
        for kind in ("trivial_script", "trivial_shell"):
            lines.append(f"| snakemake, {n} x `{kind.split('_')[1]}:` job (--cores 1), per job | "
                         f"{res[kind]['cpu_s'] / n:.2f} s | {res[kind]['wall_s'] / n:.2f} s |")
    for res in newest("jobcost")[-1:]:
        r = res["results"]
        lines += ["", "| job of rule | imports (CPU) | work (CPU) | imports (wall) | work (wall) | load after |",
                  "|---|---|---|---|---|---|"]
        for name in ("python_startup", "snakemake_script_preamble"):
            lines.append(f"| {name.replace('_', ' ')} | {r[name]['cpu_s']:.2f} s | - | {r[name]['wall_s']:.2f} s | - | "
                         f"{r[name]['load'].split()[0]} |")
        for rule in JOB_RULES:
            v = r[rule]
            lines.append(f"| {rule} | {v['import_cpu_s']:.2f} s | {v['work_cpu_s']:.2f} s | "
                         f"{v['import_wall_s']:.2f} s | "
                         f"{v['work_wall_s']:.2f} s | {v['load'].split()[0]} |")
    for res in newest("parse")[-1:]:
        lines += ["", "| outcomes | load_review wall | CPU | validate_review (CPU) | usable_rows (CPU) | "
                  "per outcome (CPU) | load before |", "|---|---|---|---|---|---|---|"]
        for r in res["results"]:
            parts = r["parts"]
            lines.append(f"| {r['outcomes']} | {r['load_review_s']:.1f} s | {r['load_review_cpu_s']:.1f} s | "
                         f"{parts['validate_review']['cpu_s']:.1f} s | {parts['usable_rows']['cpu_s']:.1f} s | "
                         f"{r['load_review_cpu_s'] / r['outcomes']:.2f} s | {r['load_before'].split()[0]} |")
    text = "\n".join(lines)
    print(text)
    return {"part": "summary", "markdown": text}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["outcomes", "noop", "records", "overhead", "parse", "jobcost", "summary"])
    parser.add_argument("--workdir", nargs="*", help="jobcost: a finished run of a simulated review; noop: runs")
    parser.add_argument("--sizes", type=int, nargs="*", help="outcome counts or record counts")
    parser.add_argument("--studies", type=int, default=30, help="studies per outcome (default 30)")
    parser.add_argument("--records", type=int, default=1000, help="records of the outcome runs (default 1000)")
    parser.add_argument("--via-snakemake", type=int, nargs="*", help="record sizes also run through snakemake")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900, help="stop a run after this many seconds")
    parser.add_argument("--trivial-jobs", type=int, default=40)
    parser.add_argument("--noop-repeats", type=int, default=3,
                        help="outcomes: no-op reruns and dry runs after a finished run (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the simulated review folders")
    parser.add_argument("--png", action=argparse.BooleanOptionalAction, default=None,
                        help="outcomes: set config execution.png true/false (default: the config's auto)")
    parser.add_argument("--tmp", default=None, help="where to put the simulated reviews")
    parser.add_argument("--out", default="/tmp/metasr-bench-scale", help="folder for the JSON results")
    args = parser.parse_args(argv)
    result = {"outcomes": bench_outcomes, "noop": bench_noop, "records": bench_records, "overhead": bench_overhead,
              "parse": bench_parse, "jobcost": bench_jobcost,
              "summary": summary}[args.part](args)
    if args.part == "summary":
        return 0
    result.update(nproc=os.cpu_count(), python=sys.version.split()[0], finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    suffix = "-".join(str(s) for s in args.sizes) if args.sizes else "default"
    (Path(args.out) / f"{args.part}-{suffix}.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
