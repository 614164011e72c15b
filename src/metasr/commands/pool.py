"""`metasr pool`: pool one table of studies and print metafor-style results as JSON."""

from __future__ import annotations

import argparse

from metasr import measures

# A copy of metasr.stats' methods, so that building the CLI does not import numpy;
# tests/test_vocabularies.py keeps it (and the config schema's) equal to the engine's.
METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "MH", "PETO")
VTYPES = tuple(dict.fromkeys(v for m in measures.MEASURES.values() for v in m.vtypes))


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pool",
        help="pool effect sizes (metafor-compatible) and print JSON",
        description=(
            "Read a CSV with escalc's column names for the measure (m1i,sd1i,n1i,m2i,sd2i,n2i | ai,bi,ci,di or "
            "ai,n1i,ci,n2i | x1i,t1i,x2i,t2i | xi,ni or xi,mi | xi,ti | ri,ni | yi,vi or yi,sei or yi,ci_lb,ci_ub "
            "| ti or pi with n1i,n2i for SMD: `ti` is person-time for IR, IRLN, IRS, IRFT and a t statistic "
            "otherwise) and print one JSON object with metafor's keys, `transform` and `transformed` (the "
            "estimate, CI and PI on the display scale). Rows whose 'usable' column is false are listed, not "
            "pooled."
        ),
    )
    parser.add_argument("input", metavar="INPUT.csv", help="table of studies")
    parser.add_argument("--measure", required=True, choices=measures.ids(), metavar="MEASURE",
                        help=f"effect measure, metafor's name: {', '.join(measures.ids())}")
    parser.add_argument("--method", required=True, choices=METHODS, help="model / tau2 estimator")
    parser.add_argument("--test", default="z", choices=("z", "knha", "t"),
                        help="z (Wald), knha (Knapp-Hartung) or, with --cluster, t (rma.mv's t test, df = k - p)")
    parser.add_argument("--mods", metavar="COLUMN", action="append",
                        help="moderator column(s) for meta-regression (repeat or comma-separate)")
    parser.add_argument("--subgroup", metavar="COLUMN", help="separate fits per level and Q between levels")
    parser.add_argument("--order", metavar="COLUMN", help="order of the cumulative meta-analysis")
    parser.add_argument("--by", metavar="COLUMN", help="pool each group of rows separately")
    parser.add_argument("--scale", choices=("identity", "log"),
                        help="scale of CI-form rows (yi, ci_lb, ci_ub); default log for measures analysed as logs")
    escalc = parser.add_argument_group("escalc options (metafor's names and defaults)")
    escalc.add_argument("--add", type=float, help="added to counts as --to says (default 1/2; 0 for PAS, PFT, IRS, IRFT)")
    escalc.add_argument("--to", choices=measures.TO_VALUES, default="only0",
                        help="which studies get --add: only0 (with a zero count, default), all, if0all, none")
    escalc.add_argument("--drop00", action="store_true",
                        help="two-group studies with no events (or only events) in both groups get no effect")
    escalc.add_argument("--vtype", choices=VTYPES, help="sampling variance type (default LS; see the measure)")
    dependent = parser.add_argument_group("dependent effect sizes (three-level model, metafor's rma.mv)")
    dependent.add_argument("--cluster", metavar="COLUMN",
                           help="column whose equal values mark effect sizes of one study (each row one effect size)")
    dependent.add_argument("--rho", type=float, metavar="R",
                           help="correlation of the sampling errors within a cluster (default 0)")
    dependent.add_argument("--robust", action="store_true",
                           help="add CR2 cluster-robust tests (clubSandwich, Satterthwaite df)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from metasr.stats.analysis import analyse, json_safe, read_study_table
    from metasr.stats.effects import Options

    table = read_study_table(args.input)
    mods = [m.strip() for item in (args.mods or []) for m in item.split(",") if m.strip()]
    escalc = Options(add=args.add, to=args.to, drop00=args.drop00, vtype=args.vtype)
    if args.cluster is not None or args.rho is not None or args.robust:
        pool, options = _multilevel(args, mods, escalc)
    else:
        _check_univariate_test(args)
        pool = analyse
        options = dict(measure=args.measure, method=args.method, test=args.test, mods=mods,
                       subgroup=args.subgroup, order=args.order, file=args.input, scale=args.scale, options=escalc)
    if args.by:
        result = _pool_by(table, args.by, args.input, options, pool)
    else:
        result = pool(table, **options)
    import sys

    try:
        sys.stdout.write(json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like
        pass
    return 0


def _check_univariate_test(args: argparse.Namespace) -> None:
    if args.test == "t":
        from metasr.errors import InputError, Problem

        raise InputError(Problem(message="--test t is the three-level model's t test and needs --cluster",
                                 file=args.input, value="t", rule="test",
                                 hint="add --cluster COLUMN, or use --test knha (Knapp-Hartung) for one effect per study"))


def _multilevel(args: argparse.Namespace, mods: list[str], escalc):
    """The three-level model's function and options; its flags belong together."""
    from metasr.errors import InputError, Problem
    from metasr.stats.multilevel import analyse_multilevel

    problems = []
    if args.cluster is None:
        problems.append(Problem(message="--rho and --robust need --cluster", file=args.input, rule="--cluster",
                                hint="name the column that identifies the study of each effect size"))
    problems += [Problem(message=f"{flag} is not available with --cluster", file=args.input, rule="--cluster",
                         hint="run the three-level model and this analysis separately")
                 for flag, given in (("--subgroup", args.subgroup), ("--order", args.order)) if given]
    if problems:
        raise InputError(problems)
    return analyse_multilevel, dict(measure=args.measure, method=args.method, test=args.test, cluster=args.cluster,
                                    rho=args.rho or 0.0, robust=args.robust, mods=mods, file=args.input,
                                    scale=args.scale, options=escalc)


def _pool_by(table, column: str, file: str, options: dict, pool) -> dict:
    from dataclasses import replace

    from metasr.errors import InputError, Problem

    if column not in table.columns:
        raise InputError(Problem(message=f"--by column '{column}' is missing", file=file, column=column,
                                 rule="required column", hint="name a column of the input table"))
    from metasr.progress import track

    problems, results = [], {}
    keys = table[column].astype(str).str.strip()
    for value in track(sorted(keys.unique()), "pooling", f"groups of {column}"):
        try:
            results[value] = pool(table[keys == value], **options)
        except InputError as err:  # report every group's problems together, saying which group
            shown = value or "(blank)"
            problems.extend(replace(p, message=f"{column} = {shown}: {p.message}") for p in err.problems)
    if problems:
        raise InputError(problems)
    return results
