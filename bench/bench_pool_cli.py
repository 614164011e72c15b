#!/usr/bin/env python
"""`metasr pool --by` as whole processes (start-up included), side by side with metafor in one run.

Usage: .venv/bin/python bench/bench_pool_cli.py [--groups 20000] [--metafor-fit 1000]
           [--metafor-full 150] [--memory 100000 1000000] [--big-k 100000] [--out DIR]

  1. A SYNTHETIC table of --groups meta-analyses of k = 20 standardised mean differences (columns
     group, yi, vi; bench_pooling.smd_data), pooled by `metasr pool FILE --measure GEN --method REML
     --by group --what fit --format csv` (its default --jobs, one worker per CPU, and --jobs 1) and by
     `--what full`: groups per second of wall time and of CPU time (user + sys of the process and its
     workers, from wait4), start-up and CSV reading included.
  2. metafor on the first --metafor-fit groups (fit: `rma(yi, vi, method = "REML")` per group) and
     the first --metafor-full groups (full: what `--what full` reports, see bench/metafor_loop.R),
     in one Rscript, its loops timed inside R (R's start-up and reading not counted, which favours
     metafor). metafor's rate is taken on a subset because its loop is slow; rates are groups/s.
  3. Agreement: metasr's rows for the subset against metafor's (default control, and threshold 1e-12
     for the fit); the largest difference of each quantity.
  4. Memory: peak RSS of `--what fit --format csv` on SYNTHETIC tables of --memory groups of k = 5.
  5. Big k: one REML fit of --big-k studies through the library (fit_rma, best of 3) and the CLI.

Prints Markdown for bench/RESULTS.md and writes the JSON results to --out.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_pooling import smd_data  # noqa: E402
from bench_scale import BIN, load, run_measured  # noqa: E402

METASR = str(BIN / "metasr")
# Peak RSS through GNU time: a child forked from this process reports at least this process's own
# peak in wait4's ru_maxrss (Linux keeps the larger maxrss across fork and exec), and this process
# holds the largest table it wrote; `time` is small, so its child's maxrss is the child's own.
GNU_TIME = "/usr/bin/time"
R_LOOP = BENCH / "metafor_loop.R"
TARGETS = {"fit_x": 100, "full_x": 50, "big_k_s": 1.0}
FIT_COLUMNS = ("estimate", "se", "tau2", "tau2_se", "Q")
FULL_COLUMNS = {"estimate": "estimate", "tau2": "tau2", "pi_lb": "pi_lb", "tau2_ci_lb": "tau2_ci_lb",
                "tau2_ci_ub": "tau2_ci_ub", "egger.pval": "egger_pval", "egger_lm.pval": "egger_lm_pval",
                "begg.pval": "begg_pval", "trimfill.k0": "trimfill_k0", "trimfill.estimate": "trimfill_estimate"}


def write_table(path: Path, groups: int, k: int, seed: int) -> Path:
    """A SYNTHETIC table (the name says so): `groups` meta-analyses of k SMD-like effects, sorted by group."""
    import pandas as pd

    yi, vi = smd_data(groups, k, seed)
    width = max(7, len(str(groups)))
    keys = np.char.add("g", np.char.zfill(np.arange(groups).astype(str), width))
    pd.DataFrame({"group": np.repeat(keys, k), "yi": yi.ravel(), "vi": vi.ravel()}).to_csv(
        path, index=False, float_format="%.17g")
    return path


def head_groups(src: Path, dst: Path, groups: int, k: int) -> Path:
    """The first `groups` groups of a table of k rows per group."""
    with open(src) as fin, open(dst, "w") as fout:
        for i, line in enumerate(fin):
            if i > groups * k:
                break
            fout.write(line)
    return dst


def pool(table: Path, what: str, out: Path, *extra: str) -> dict:
    """`metasr pool` as one process, its CSV written to `out`."""
    cmd = [METASR, "pool", str(table), "--measure", "GEN", "--method", "REML", *extra, "--what", what,
           "--format", "csv"]
    rss_file = out.with_suffix(".rss")
    timed_cmd = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if os.access(GNU_TIME, os.X_OK) else cmd
    with open(out, "w") as fh:
        result = run_measured(timed_cmd, stdout=fh)
    if result["returncode"] != 0:
        raise SystemExit(f"metasr failed: {result}")
    result["cmd"] = " ".join(cmd)
    if timed_cmd is cmd:
        result["peak_rss_mb"] = math.nan  # wait4's figure would include this process's own peak
    else:
        result["peak_rss_mb"] = int(rss_file.read_text().split()[-1]) / 1024
    result["output_mb"] = out.stat().st_size / 1e6
    return result


def best_of(runs: list[dict]) -> dict:
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "cpu_s": min(r["cpu_s"] for r in runs), "wall_all_s": [r["wall_s"] for r in runs]}


def read_rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as fh:
        return {row["group"]: row for row in csv.DictReader(fh)}


def largest_difference(ours: dict, theirs: dict, columns: dict) -> dict:
    """Largest absolute and relative (to max(|metafor|, 1e-4)) difference per column, over the
    groups both pooled; NA on one side only counts as a disagreement."""
    out = {}
    for col_ours, col_theirs in columns.items():
        worst_abs = worst_rel = 0.0
        one_sided = compared = 0
        for key, row in theirs.items():
            a, b = _number(ours[key].get(col_ours)), _number(row[col_theirs])
            if math.isnan(a) or math.isnan(b):
                one_sided += math.isnan(a) != math.isnan(b)
                continue
            compared += 1
            worst_abs = max(worst_abs, abs(a - b))
            worst_rel = max(worst_rel, abs(a - b) / max(abs(b), 1e-4))
        out[col_ours] = {"abs": worst_abs, "rel": worst_rel, "compared": compared, "na_one_side": one_sided}
    return out


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def bench_speed(args, tmp: Path) -> dict:
    table = write_table(tmp / f"pool_cli_SYNTHETIC_{args.groups}x{args.k}.csv", args.groups, args.k, args.seed)
    fit_subset = head_groups(table, tmp / f"pool_cli_SYNTHETIC_{args.metafor_fit}x{args.k}.csv",
                             args.metafor_fit, args.k)
    full_subset = head_groups(table, tmp / f"pool_cli_SYNTHETIC_{args.metafor_full}x{args.k}.csv",
                              args.metafor_full, args.k)
    out = {"groups": args.groups, "k": args.k, "load_start": load(), "uptime_start": uptime(),
           "jobs": len(os.sched_getaffinity(0))}
    out["fit"] = best_of([pool(table, "fit", tmp / "fit.csv", "--by", "group") for _ in range(args.repeats)])
    out["fit_one_process"] = best_of([pool(table, "fit", tmp / "fit_one.csv", "--by", "group", "--jobs", "1")
                                      for _ in range(args.repeats)])
    if (tmp / "fit.csv").read_bytes() != (tmp / "fit_one.csv").read_bytes():
        raise SystemExit("--jobs 1 and the default wrote different tables")
    out["full"] = pool(table, "full", tmp / "full.csv", "--by", "group")
    out["fit_subset"] = best_of([pool(fit_subset, "fit", tmp / "fit_subset.csv", "--by", "group")
                                 for _ in range(args.repeats)])
    out["full_subset"] = pool(full_subset, "full", tmp / "full_subset.csv", "--by", "group")
    if shutil.which("Rscript") is None:
        out["metafor"] = None
        return out
    before = load()
    r = subprocess.run(["Rscript", str(R_LOOP), str(fit_subset), str(full_subset), str(tmp)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise SystemExit(f"Rscript failed:\n{r.stderr}")
    out["metafor"] = {**json.loads(r.stdout.strip().splitlines()[-1]), "load_before": before, "load_after": load()}
    fit_ours, full_ours = read_rows(tmp / "fit.csv"), read_rows(tmp / "full.csv")
    fit_columns = {c: c for c in FIT_COLUMNS}
    out["agreement"] = {
        "fit_default": largest_difference(fit_ours, read_rows(tmp / "metafor_fit.csv"), fit_columns),
        "fit_tight": largest_difference(fit_ours, read_rows(tmp / "metafor_tight.csv"), fit_columns),
        "full_default": largest_difference(full_ours, read_rows(tmp / "metafor_full.csv"), FULL_COLUMNS)}
    out["load_end"], out["uptime_end"] = load(), uptime()
    return out


def bench_memory(args, tmp: Path) -> list[dict]:
    results = []
    for groups in args.memory:
        table = write_table(tmp / f"pool_cli_SYNTHETIC_{groups}x{args.memory_k}.csv", groups, args.memory_k,
                            args.seed)
        run = pool(table, "fit", tmp / "memory.csv", "--by", "group")
        results.append({"groups": groups, "k": args.memory_k, "input_mb": table.stat().st_size / 1e6, **run})
        print(json.dumps(results[-1]), flush=True)
        table.unlink()
    return results


BIG_CHILD = r"""
import json, sys, time
import numpy as np
from metasr.stats.models import fit_rma
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=(1, 2))
best = cpu = float("inf")
for _ in range(3):
    w, c = time.perf_counter(), time.process_time()
    fit = fit_rma(d[:, 0], d[:, 1], method="REML")
    best, cpu = min(best, time.perf_counter() - w), min(cpu, time.process_time() - c)
print(json.dumps({"fit_s": best, "fit_cpu_s": cpu, "tau2": fit.tau2, "estimate": float(fit.beta[0])}))
"""


def bench_big_k(args, tmp: Path) -> dict:
    table = write_table(tmp / f"pool_cli_SYNTHETIC_1x{args.big_k}.csv", 1, args.big_k, args.big_k_seed)
    before = load()
    r = subprocess.run([sys.executable, "-c", BIG_CHILD, str(table)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    library = {**json.loads(r.stdout.strip().splitlines()[-1]), "load_before": before, "load_after": load()}
    # --by group (one group): the batched fit path. Without --by, `--what fit` runs the whole
    # single analysis (leave-one-out refits: k x k) and keeps the fit part: timed at --no-by-k.
    cli = best_of([pool(table, "fit", tmp / "big.csv", "--by", "group") for _ in range(args.repeats)])
    row = read_rows_plain(tmp / "big.csv")
    cli["tau2"], cli["estimate"] = float(row["tau2"]), float(row["estimate"])
    out = {"k": args.big_k, "library": library, "cli": cli, "no_by": {}}
    table.unlink()
    for k in args.no_by_k:
        table = write_table(tmp / f"pool_cli_SYNTHETIC_1x{k}.csv", 1, k, args.big_k_seed)
        out["no_by"][k] = {"by_group": pool(table, "fit", tmp / "k.csv", "--by", "group"),
                           "no_by": pool(table, "fit", tmp / "k.csv")}
    return out


def read_rows_plain(path: Path) -> dict:
    with open(path, newline="") as fh:
        return next(csv.DictReader(fh))


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------- report

def markdown(res: dict) -> str:
    s, lines = res.get("speed"), []
    if s:
        mf = s["metafor"]
        lines += [f"SYNTHETIC table: {s['groups']:,} meta-analyses of k = {s['k']} (group, yi, vi; "
                  "metasr pool ... --measure GEN --method REML --by group --format csv). metasr: whole processes, "
                  "start-up and reading included, best of "
                  f"{len(s['fit']['wall_all_s'])} for fit (walls {_list(s['fit']['wall_all_s'])}), one run for full. "
                  "metafor: loops timed inside R, start-up and reading not counted.", "",
                  "| what | metasr groups | metasr wall (s) | metasr CPU (s) | metasr groups/s (wall / CPU) | "
                  "metafor groups | metafor loop (s, wall / CPU) | metafor groups/s (wall / CPU) | "
                  "ratio (wall / CPU) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for what, n_sub in (("fit", "fit_groups"), ("full", "full_groups")):
            subset = mf[n_sub] if mf else 0
            runs = [(f"{what} (--jobs default: {s.get('jobs', '?')})", s[what], s["groups"])]
            if f"{what}_one_process" in s:
                runs.append((f"{what}, --jobs 1", s[f"{what}_one_process"], s["groups"]))
            runs.append((f"{what}, same subset as metafor", s[f"{what}_subset"], subset))
            for label, run, groups in runs:
                rate_w, rate_c = groups / run["wall_s"], groups / run["cpu_s"]
                if mf:
                    m_w, m_c = mf[n_sub] / mf[f"{what}_s"], mf[n_sub] / mf[f"{what}_cpu_s"]
                    tail = (f"{mf[n_sub]:,} | {mf[f'{what}_s']:.2f} / {mf[f'{what}_cpu_s']:.2f} | "
                            f"{m_w:.1f} / {m_c:.1f} | **{rate_w / m_w:.0f}x** / {rate_c / m_c:.0f}x |")
                else:
                    tail = "- | - | - | - |"
                lines.append(f"| {label} | {groups:,} | {run['wall_s']:.2f} | {run['cpu_s']:.2f} | "
                             f"{rate_w:,.0f} / {rate_c:,.0f} | {tail}")
        lines += ["", f"Peak RSS: fit {s['fit']['peak_rss_mb']:.0f} MB, full {s['full']['peak_rss_mb']:.0f} MB; "
                  f"output {s['fit']['output_mb']:.1f} MB (fit) and {s['full']['output_mb']:.1f} MB (full). "
                  f"Load: start `{s['uptime_start']}`; end `{s.get('uptime_end', '')}`."]
        if mf:
            lines += ["", f"metafor {mf['metafor']} (R {mf['R']}); Rscript load average before / after "
                      f"{mf['load_before']} / {mf['load_after']}.", "",
                      "| agreement with metafor (largest difference over the subset) | absolute | relative | "
                      "compared | NA on one side |", "|---|---:|---:|---:|---:|"]
            for name, cols in s["agreement"].items():
                for col, d in cols.items():
                    lines.append(f"| {name}: {col} | {d['abs']:.1e} | {d['rel']:.1e} | {d['compared']} | "
                                 f"{d['na_one_side']} |")
    for m in res.get("memory", []):
        if m is res["memory"][0]:
            lines += ["", "| groups (k) | input | output | wall (s) | CPU (s) | groups/s (wall) | peak RSS | "
                      "load before / after |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
        lines.append(f"| {m['groups']:,} ({m['k']}) | {m['input_mb']:.0f} MB | {m['output_mb']:.0f} MB | "
                     f"{m['wall_s']:.1f} | {m['cpu_s']:.1f} | {m['groups'] / m['wall_s']:,.0f} | "
                     f"{m['peak_rss_mb']:.0f} MB | {m['load_before']} / {m['load_after']} |")
    b = res.get("big_k")
    if b:
        lib, cli = b["library"], b["cli"]
        lines += ["", f"Big k = {b['k']:,} (one SYNTHETIC meta-analysis, REML): library `fit_rma` best of 3 "
                  f"{lib['fit_s']:.3f} s ({lib['fit_cpu_s']:.3f} s CPU, load {lib['load_before']}); CLI "
                  f"`--what fit --format csv` (start-up and reading {b['k']:,} rows included) "
                  f"{cli['wall_s']:.2f} s wall, {cli['cpu_s']:.2f} s CPU, peak RSS {cli['peak_rss_mb']:.0f} MB; "
                  f"tau2 library {lib['tau2']:.12g}, CLI {cli['tau2']:.12g}."]
        if b["no_by"]:
            lines += ["", "| k (one group), `--what fit --format csv` | with `--by group`: wall / CPU / RSS | "
                      "without `--by`: wall / CPU / RSS |", "|---:|---|---|"]
            for k, v in b["no_by"].items():
                lines.append(f"| {int(k):,} | " + " | ".join(
                    f"{v[x]['wall_s']:.2f} s / {v[x]['cpu_s']:.2f} s / {v[x]['peak_rss_mb']:.0f} MB"
                    for x in ("by_group", "no_by")) + " |")
    return "\n".join(lines)


def _list(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=20000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--metafor-fit", type=int, default=1000, help="groups metafor fits (its fit rate)")
    parser.add_argument("--metafor-full", type=int, default=150, help="groups metafor analyses fully")
    parser.add_argument("--memory", type=int, nargs="*", default=[100000, 1000000], help="group counts (k small)")
    parser.add_argument("--memory-k", type=int, default=5)
    parser.add_argument("--big-k", type=int, default=100000, help="k of the one big fit (0: skip)")
    parser.add_argument("--no-by-k", type=int, nargs="*", default=[1000, 2000, 4000],
                        help="k of single fits also run without --by (the whole single analysis)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of the fit commands (best reported)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--big-k-seed", type=int, default=18, help="seed of the big fits (18: tau2 > 0)")
    parser.add_argument("--tmp", default=None)
    parser.add_argument("--out", default="/tmp/metasr-bench-pool-cli", help="folder for the JSON results")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="pool-cli-", dir=args.tmp))
    res = {"date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "uptime_start": uptime(),
           "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True,
                                    text=True).stdout.strip(), "nproc": os.cpu_count(),
           "python": sys.version.split()[0]}
    try:
        if not args.skip_speed:
            res["speed"] = bench_speed(args, tmp)
            print(json.dumps(res["speed"], indent=1), flush=True)
        if args.memory:
            res["memory"] = bench_memory(args, tmp)
        if args.big_k:
            res["big_k"] = bench_big_k(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["uptime_end"] = uptime()
    text = markdown(res)
    res["markdown"] = text
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"pool-cli-{args.groups}.json").write_text(json.dumps(res, indent=1))
    print(f"\n{res['date_utc']}, commit {res['commit']}; start `{res['uptime_start']}`; end `{res['uptime_end']}`\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
