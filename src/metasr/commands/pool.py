"""`metasr pool`: pool one table of studies and print metafor-style results as JSON."""

from __future__ import annotations

import argparse

# Copies of metasr.stats' lists, so that building the CLI does not import numpy;
# tests/test_vocabularies.py keeps them (and the config schema's) equal to the engine's.
MEASURES = ("SMD", "MD", "RR", "OR", "RD", "IRR", "GEN")
METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "PMM", "GENQ", "HSk", "MH", "PETO")
TESTS = ("z", "t", "knha", "adhoc")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pool",
        help="pool effect sizes (metafor-compatible) and print JSON",
        description=(
            "Read a CSV with metafor-style columns (m1i,sd1i,n1i,m2i,sd2i,n2i | ai,bi,ci,di or ai,n1i,ci,n2i | "
            "x1i,t1i,x2i,t2i | yi,vi or yi,sei or yi,ci_lb,ci_ub | ti or pi with n1i,n2i for SMD) and print one "
            "JSON object with metafor's keys. Rows whose 'usable' column is false are listed, not pooled."
        ),
    )
    parser.add_argument("input", metavar="INPUT.csv", help="table of studies")
    parser.add_argument("--measure", required=True, choices=MEASURES, help="effect measure")
    parser.add_argument("--method", required=True, choices=METHODS, help="model / tau2 estimator")
    parser.add_argument("--test", default="z", choices=TESTS,
                        help="z (Wald), t (t and F distributions on k - p df), knha (Knapp-Hartung) or adhoc "
                             "(Knapp-Hartung with its factor truncated at 1)")
    parser.add_argument("--mods", metavar="COLUMN", action="append",
                        help="moderator column(s) for meta-regression (repeat or comma-separate)")
    parser.add_argument("--subgroup", metavar="COLUMN", help="separate fits per level and Q between levels")
    parser.add_argument("--order", metavar="COLUMN", help="order of the cumulative meta-analysis")
    parser.add_argument("--by", metavar="COLUMN", help="pool each group of rows separately")
    parser.add_argument("--scale", choices=("identity", "log"),
                        help="scale of CI-form rows (yi, ci_lb, ci_ub); default log for RR/OR/IRR")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from metasr.stats.analysis import analyse, json_safe, read_study_table

    table = read_study_table(args.input)
    mods = [m.strip() for item in (args.mods or []) for m in item.split(",") if m.strip()]
    options = dict(measure=args.measure, method=args.method, test=args.test, mods=mods,
                   subgroup=args.subgroup, order=args.order, file=args.input, scale=args.scale)
    if args.by:
        result = _pool_by(table, args.by, args.input, options)
    else:
        result = analyse(table, **options)
    import sys

    try:
        sys.stdout.write(json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like
        pass
    return 0


def _pool_by(table, column: str, file: str, options: dict) -> dict:
    from dataclasses import replace

    from metasr.errors import InputError, Problem
    from metasr.stats.analysis import analyse

    if column not in table.columns:
        raise InputError(Problem(message=f"--by column '{column}' is missing", file=file, column=column,
                                 rule="required column", hint="name a column of the input table"))
    problems, results = [], {}
    keys = table[column].astype(str).str.strip()
    for value in sorted(keys.unique()):
        try:
            results[value] = analyse(table[keys == value], **options)
        except InputError as err:  # report every group's problems together, saying which group
            shown = value or "(blank)"
            problems.extend(replace(p, message=f"{column} = {shown}: {p.message}") for p in err.problems)
    if problems:
        raise InputError(problems)
    return results
