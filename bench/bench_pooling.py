"""Pooling benchmark: metasr against R metafor on the same synthetic data.

Measures
  1. REML fits per second at k = 20: the vectorised batch path (metasr.stats.batch.pool) and
     the single-fit path (metasr.stats.models.fit_rma, one call per meta-analysis);
  2. full per-outcome analyses per second at k = 20: fit + Q-profile confint + leave-one-out +
     trim-and-fill + Egger regression test + influence diagnostics (what metafor users run as
     rma, confint, leave1out, trimfill, regtest, influence);
  3. the time of one REML fit at k = 1,000 and k = 4,000.
When `Rscript` with metafor is installed, metafor runs the same data in the same process tree
and the script reports both and checks that the tau2 values agree; otherwise it compares with
metafor's figures measured on this machine (see METAFOR_MEASURED). metafor at k = 4,000 takes
minutes (it forms k x k matrices), so it runs only with --metafor-k4000.

    .venv/bin/python bench/bench_pooling.py [--quick] [--metafor-k4000] [--no-write]
    .venv/bin/python bench/bench_pooling.py --ab OLD_SRC [--rounds 5]

`--ab OLD_SRC` compares full analyses of this tree's metasr with another source tree's (a
checkout's `src`, e.g. `git worktree add /tmp/old <commit>`): each round runs 400 analyses in a
fresh process of each, one after the other, and counts CPU time; it prints both rates and their
ratio per round (no metafor, nothing written).

Writes the "## Pooling" section of bench/RESULTS.md (other sections are left untouched).
Data are synthetic: standardised mean differences of two-arm trials (5-300 patients per arm).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The metasr to measure: this repository's, or another tree's for --ab (read before the imports).
SRC = Path(sys.argv[sys.argv.index("--src") + 1]) if "--src" in sys.argv[:-1] else ROOT / "src"
sys.path.insert(0, str(SRC))

from metasr.stats import batch, bias, sensitivity  # noqa: E402
from metasr.stats.inference import q_profile  # noqa: E402
from metasr.stats.models import fit_rma  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
# metafor 3.8-1 on this machine, as reported in the project's issue (used when R is absent)
METAFOR_MEASURED = {"fits_per_s": 77.0, "analyses_per_s": 2.2, "k1000_s": 4.9, "k4000_s": 248.0}
TARGETS = {"fit_rate_x": 100, "analysis_rate_x": 20, "k4000_s": 0.1}

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; big <- as.logical(args[2])
y <- as.matrix(read.csv(file.path(dir, "yi.csv"), header = FALSE))
v <- as.matrix(read.csv(file.path(dir, "vi.csv"), header = FALSE))
n_fit <- as.integer(args[3]); n_full <- as.integer(args[4])
tau2 <- numeric(n_fit)
t0 <- proc.time()[3]
for (i in seq_len(n_fit)) tau2[i] <- tryCatch(rma(y[i, ], v[i, ])$tau2, error = function(e) NA)
fit_s <- proc.time()[3] - t0
t0 <- proc.time()[3]
for (i in seq_len(n_full)) {
  res <- rma(y[i, ], v[i, ])
  ci <- confint(res); l1 <- leave1out(res); tf <- trimfill(res); rt <- regtest(res); inf <- influence(res)
}
full_s <- proc.time()[3] - t0
timing <- function(file) {
  d <- read.csv(file.path(dir, file), header = FALSE)
  t0 <- proc.time()[3]; r <- rma(d[[1]], d[[2]]); c(proc.time()[3] - t0, r$tau2)
}
k1000 <- timing("k1000.csv")
k4000 <- if (big) timing("k4000.csv") else c(NA, NA)
fmt <- paste0('{"fit_s": %.6f, "n_fit": %d, "full_s": %.6f, "n_full": %d, "k1000_s": %.6f, "k1000_tau2": %.17g, ',
              '"k4000_s": %s, "k4000_tau2": %s, "version": "%s", "tau2": [%s]}\n')
cat(sprintf(fmt, fit_s, n_fit, full_s, n_full, k1000[1], k1000[2],
    ifelse(is.na(k4000[1]), "null", sprintf("%.6f", k4000[1])),
    ifelse(is.na(k4000[2]), "null", sprintf("%.17g", k4000[2])), as.character(packageVersion("metafor")),
    paste(ifelse(is.na(tau2), "null", sprintf("%.17g", tau2)), collapse = ",")))
"""


def smd_data(m: int, k: int, seed: int):
    """m synthetic meta-analyses of k standardised mean differences."""
    rng = np.random.default_rng(seed)
    n1 = np.round(np.exp(rng.uniform(np.log(5), np.log(300), (m, k))))
    n2 = np.round(np.exp(rng.uniform(np.log(5), np.log(300), (m, k))))
    tau2 = np.where(rng.uniform(size=m) < 0.3, 0.0, rng.exponential(0.1, m))
    delta = rng.normal(rng.normal(0, 0.5, (m, 1)), np.sqrt(tau2)[:, None], (m, k))
    vi = 1 / n1 + 1 / n2 + delta**2 / (2 * (n1 + n2))
    return rng.normal(delta, np.sqrt(1 / n1 + 1 / n2)), vi


def timed(fn, min_seconds: float = 1.0, min_calls: int = 1):
    """(seconds per call, result of the last call), repeating until min_seconds have passed."""
    calls, start, out = 0, time.perf_counter(), None
    while calls < min_calls or time.perf_counter() - start < min_seconds:
        out = fn()
        calls += 1
    return (time.perf_counter() - start) / calls, out


def full_analysis(yi, vi):
    fit = fit_rma(yi, vi)
    q_profile(fit.yi, fit.vi, fit.X)
    sensitivity.leave_one_out_and_influence(fit)
    bias.trimfill(fit)
    bias.egger_test(fit)
    return fit


def measure_metasr(yi, vi, n_single: int, n_full: int, big: dict, seconds: float) -> dict:
    out = {}
    batch_s, res = timed(lambda: batch.pool(yi, vi, "REML"), seconds)
    out["batch_fits_per_s"] = len(yi) / batch_s
    out["batch_tau2"] = res["tau2"]
    start = time.perf_counter()
    single_tau2 = np.array([fit_rma(yi[i], vi[i]).tau2 for i in range(n_single)])
    out["single_fits_per_s"] = n_single / (time.perf_counter() - start)
    out["single_tau2"] = single_tau2
    start = time.perf_counter()
    for i in range(n_full):
        full_analysis(yi[i], vi[i])
    out["analyses_per_s"] = n_full / (time.perf_counter() - start)
    for k, (y, v) in big.items():
        out[f"k{k}_s"], fit = timed(partial(fit_rma, y, v), seconds / 2)
        out[f"k{k}_tau2"] = fit.tau2
        out[f"k{k}_batch_s"], _ = timed(partial(batch.pool, y, v, "REML"), seconds / 2)
    return out


def measure_metafor(yi, vi, n_fit: int, n_full: int, big: dict, k4000: bool) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    probe = subprocess.run([rscript, "-e", "library(metafor)"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.savetxt(tmp / "yi.csv", yi[:max(n_fit, n_full)], delimiter=",", fmt="%.17g")
        np.savetxt(tmp / "vi.csv", vi[:max(n_fit, n_full)], delimiter=",", fmt="%.17g")
        for k, (y, v) in big.items():
            np.savetxt(tmp / f"k{k}.csv", np.column_stack([y, v]), delimiter=",", fmt="%.17g")
        (tmp / "bench.R").write_text(R_SCRIPT)
        run = subprocess.run([rscript, str(tmp / "bench.R"), str(tmp), "TRUE" if k4000 else "FALSE",
                              str(n_fit), str(n_full)], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return None
    r = json.loads(run.stdout.strip().splitlines()[-1])
    return {"version": r["version"], "fits_per_s": r["n_fit"] / r["fit_s"], "analyses_per_s": r["n_full"] / r["full_s"],
            "k1000_s": r["k1000_s"], "k1000_tau2": r["k1000_tau2"], "k4000_s": r["k4000_s"],
            "k4000_tau2": r["k4000_tau2"], "tau2": np.array([np.nan if t is None else t for t in r["tau2"]])}


def agreement(ours: np.ndarray, theirs: np.ndarray, vi: np.ndarray) -> tuple[float, int]:
    """Largest tau2 difference, relative to the total variance tau2 + s2 (s2: metafor's typical
    within-study variance), where the other fit converged; and how often it did not."""
    ok = np.isfinite(theirs)
    w = 1 / vi[: len(theirs)][ok]
    s2 = (w.shape[1] - 1) * w.sum(1) / (w.sum(1) ** 2 - (w**2).sum(1))
    diff = np.abs(ours[: len(theirs)][ok] - theirs[ok]) / (np.abs(theirs[ok]) + s2)
    return float(diff.max()) if diff.size else float("nan"), int((~ok).sum())


def report(ours: dict, mf: dict | None, n: dict, vi: np.ndarray) -> str:
    live = mf is not None
    ref = dict(METAFOR_MEASURED)
    if live:
        ref.update({k: mf[k] for k in ("fits_per_s", "analyses_per_s", "k1000_s")})
        if mf["k4000_s"] is not None:
            ref["k4000_s"] = mf["k4000_s"]
    source = (f"metafor {mf['version']} run side by side in this benchmark" if live
              else "metafor's figures measured on this machine (from the issue; Rscript/metafor not available here)")
    k4000_source = ("measured in this run" if live and mf["k4000_s"] is not None
                    else "figure from the issue (run with --metafor-k4000 to measure it)")
    rows = [
        ("REML fits/s, k = 20, batch", ours["batch_fits_per_s"], ref["fits_per_s"], "rate"),
        ("REML fits/s, k = 20, single fits", ours["single_fits_per_s"], ref["fits_per_s"], "rate"),
        ("full analyses/s, k = 20", ours["analyses_per_s"], ref["analyses_per_s"], "rate"),
        ("one REML fit, k = 1,000 (s)", ours["k1000_s"], ref["k1000_s"], "time"),
        ("one REML fit, k = 4,000 (s)", ours["k4000_s"], ref["k4000_s"], "time"),
        ("one REML fit, k = 4,000, batch path (s)", ours["k4000_batch_s"], ref["k4000_s"], "time"),
    ]
    lines = ["## Pooling", "",
             f"`bench/bench_pooling.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python "
             f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}; the machine was shared "
             "with other jobs, so rates are conservative). Synthetic standardised mean differences (5-300 "
             f"patients per arm). Compared with {source}.", "",
             "| measure | metasr | metafor | speed-up |", "|---|---:|---:|---:|"]
    for name, val, theirs, kind in rows:
        speed = val / theirs if kind == "rate" else theirs / val
        fmt = (lambda x: f"{x:,.1f}") if kind == "rate" else (lambda x: f"{x:.4g}")
        lines.append(f"| {name} | {fmt(val)} | {fmt(theirs)} | {speed:,.0f}x |")
    fit_x = ours["batch_fits_per_s"] / ref["fits_per_s"]
    single_x = ours["single_fits_per_s"] / ref["fits_per_s"]
    full_x = ours["analyses_per_s"] / ref["analyses_per_s"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines += ["", f"Targets: >= {TARGETS['fit_rate_x']}x metafor's REML fit rate — batch {fit_x:,.0f}x "
              f"({verdict(fit_x >= TARGETS['fit_rate_x'])}), single fits {single_x:,.0f}x "
              f"({verdict(single_x >= TARGETS['fit_rate_x'])}); >= {TARGETS['analysis_rate_x']}x its full-analysis "
              f"rate — {full_x:,.0f}x ({verdict(full_x >= TARGETS['analysis_rate_x'])}); k = 4,000 REML under "
              f"{TARGETS['k4000_s']} s — {ours['k4000_s']:.3g} s ({verdict(ours['k4000_s'] < TARGETS['k4000_s'])}). "
              f"metafor k = 4,000: {k4000_source}.",
              "", f"Sizes: batch {n['batch']:,} meta-analyses; single fits {n['single']:,}; full analyses "
              f"{n['full']:,} (metafor: {n['mf_fit']:,} fits, {n['mf_full']:,} analyses)."]
    diff = agreement(ours["batch_tau2"], ours["single_tau2"], vi)[0]
    lines.append(f"Batch and single-fit tau2 agree to {diff:.1e} (largest difference relative to tau2 + s2, "
                 "s2 the typical within-study variance).")
    if live:
        d, failed = agreement(ours["batch_tau2"], mf["tau2"], vi)
        lines.append(f"Against metafor's default-control rma() on the same {len(mf['tau2']):,} data sets: tau2 "
                     f"agrees to {d:.1e} (same scale; metafor stops once tau2 changes by less than 1e-5), "
                     f"metafor failed on {failed}; "
                     f"k = 1,000 tau2 {ours['k1000_tau2']:.10g} vs metafor {mf['k1000_tau2']:.10g}.")
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    """Replace the section's generated part: "## Pooling" up to its first subsection (written by
    hand: comparisons between commits) or the next section."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Pooling\n.*?(?=^### |^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def full_rate(n: int, rounds: int = 5) -> float:
    """Full analyses per CPU second, best of `rounds` runs of the same n data sets."""
    yi, vi = smd_data(n, 20, seed=11)
    for i in range(min(n, 30)):  # warm caches and lazy imports
        full_analysis(yi[i], vi[i])
    best = 0.0
    for _ in range(rounds):
        start = time.process_time()
        for i in range(n):
            full_analysis(yi[i], vi[i])
        best = max(best, n / (time.process_time() - start))
    return best


def ab(old_src: str, rounds: int) -> str:
    """Full analyses/s of another source tree's metasr and of this one's, in alternating processes."""
    def rate(src: Path) -> float:
        out = subprocess.run([sys.executable, __file__, "--full-only", "400", "--src", str(src)], check=True,
                             capture_output=True, text=True).stdout
        return float(out.split()[-1])

    lines = [f"| round | {old_src} | {ROOT / 'src'} | this / other |", "|---:|---:|---:|---:|"]
    for r in range(1, rounds + 1):
        before, after = rate(Path(old_src)), rate(ROOT / "src")
        lines.append(f"| {r} | {before:,.0f} | {after:,.0f} | {after / before:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller samples (a smoke run)")
    ap.add_argument("--metafor-k4000", action="store_true", help="also time metafor at k = 4,000 (minutes)")
    ap.add_argument("--no-write", action="store_true", help="print the section without updating RESULTS.md")
    ap.add_argument("--src", help="the metasr source tree to measure (default: this repository's src)")
    ap.add_argument("--full-only", type=int, metavar="N", help="print full analyses per CPU second of N data sets")
    ap.add_argument("--ab", metavar="OLD_SRC", help="compare full analyses with another source tree's metasr")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of --ab")
    args = ap.parse_args(argv)
    if args.full_only:
        print(f"{full_rate(args.full_only):.1f}")
        return 0
    if args.ab:
        print(ab(args.ab, args.rounds))
        return 0
    n = {"batch": 2_000 if args.quick else 20_000, "single": 50 if args.quick else 500,
         "full": 10 if args.quick else 100, "mf_fit": 50 if args.quick else 500, "mf_full": 5 if args.quick else 30}
    yi, vi = smd_data(n["batch"], 20, seed=1)
    big = {k: tuple(a[0] for a in smd_data(1, k, seed=k)) for k in (1000, 4000)}
    seconds = 0.5 if args.quick else 2.0
    ours = measure_metasr(yi, vi, n["single"], n["full"], big, seconds)
    mf = measure_metafor(yi, vi, n["mf_fit"], n["mf_full"], big, args.metafor_k4000)
    section = report(ours, mf, n, vi)
    print(section)
    if not args.no_write:
        write_section(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
