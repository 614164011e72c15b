"""`metasr pool`: pool one table of studies (or each group of its rows) and print metafor-style results.

Exit status: 0 when everything was pooled; 1 when some groups of --by could not be (their rows
say why); 2 when the input or the options have problems (nothing is pooled).
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from metasr import measures
from metasr.analysis_settings import SMALL_STUDY_LOWEST_MIN_K, SMALL_STUDY_MIN_K

# A copy of metasr.stats' methods and tests, so that building the CLI does not import numpy;
# tests/test_vocabularies.py keeps them (and the config schema's) equal to the engine's.
METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "PMM", "GENQ", "HSk", "MH", "PETO")
TESTS = ("z", "t", "knha", "adhoc")
VTYPES = tuple(dict.fromkeys(v for m in measures.MEASURES.values() for v in m.vtypes))
WHAT = ("full", "fit")              # metasr.stats.grouped.WHAT (tests/test_vocabularies.py)
FORMATS = ("json", "jsonl", "csv")  # metasr.stats.grouped.FORMATS
# The options the three-level model (--cluster: metasr.stats.multilevel.analyse_multilevel) takes,
# by argparse dest. Any other option of pool given with --cluster is refused by name
# (`_not_with_cluster`), never ignored.
CLUSTER_OPTIONS = frozenset({"input", "measure", "method", "test", "mods", "subgroup", "by", "what", "format", "scale",
                             "add", "to", "drop00", "vtype", "cluster", "rho", "robust", "btt", "jobs"})


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pool",
        help="pool effect sizes (metafor-compatible) and print JSON",
        description=(
            f"Read a CSV with escalc's column names for the measure ({measures.layouts_text()} "
            "| ti or pi with n1i,n2i for SMD: `ti` is person-time for IR, IRLN, IRS, IRFT and a t statistic "
            "otherwise, for PCOR and SPCOR a regression coefficient's, mi the model's predictors and r2i its R²; "
            "ri is the correlation of a correlation measure, or of the two measurements for paired "
            "means) and print one JSON object with metafor's keys, `transform` and `transformed` (the estimate, "
            "CI and PI on the display scale). Rows whose 'usable' column is false are listed, not pooled (with "
            "the reason in their 'not_usable_reason'); a missing value the analysis needs stops it, naming the "
            "row (metafor would drop the row with a warning): mark such a row usable = false to leave it out "
            "on purpose."
        ),
    )
    parser.add_argument("input", metavar="INPUT.csv", help="table of studies")
    parser.add_argument("--measure", required=True, choices=measures.ids(), metavar="MEASURE",
                        help=f"effect measure, metafor's name: {', '.join(measures.ids())}")
    parser.add_argument("--method", required=True, choices=METHODS, help="model / tau2 estimator")
    parser.add_argument("--test", default="z", choices=TESTS,
                        help="z (Wald), t (t and F distributions on k - p df; with --cluster rma.mv's t test), "
                             "knha (Knapp-Hartung) or adhoc (Knapp-Hartung with its factor truncated at 1)")
    parser.add_argument("--mods", metavar="TERMS", action="append",
                        help="moderators for meta-regression: columns (repeat or comma-separate) or terms of a "
                             "formula: a + b, a:b and a*b (interactions), factor(a) (a numeric column as a factor); "
                             "text columns are factors with R's level order, the first level the reference")
    parser.add_argument("--subgroup", metavar="COLUMN",
                        help="separate fits per level and Q between levels; with --cluster, the three-level model "
                             "with a mean per level and a Wald test of equal means (HTZ with --robust)")
    parser.add_argument("--order", metavar="COLUMN", help="order of the cumulative meta-analysis: a column of numbers "
                        "orders by number (a cell that is not one is an error), a column of text by text")
    parser.add_argument("--small-study-min-k", type=_small_study_min_k, metavar="K",
                        default=SMALL_STUDY_MIN_K,
                        help="run Egger's and Begg's tests and trim and fill from K studies (default %(default)s, "
                             "the pipeline's default, after the Cochrane Handbook; metafor runs them from 3)")
    parser.add_argument("--by", metavar="COLUMN",
                        help="pool each group of rows separately (many groups: sort the table by COLUMN; a group that "
                             "cannot be pooled gets a row saying why, the others are pooled, and the exit status is 1)")
    parser.add_argument("--what", choices=WHAT, default="full",
                        help="full: the whole analysis (default); fit: the model alone (k, estimate, se, stat, pval, "
                             "CI, tau2 and its SE, I2, H2, Q and its test, PI, transformed) -- much faster for many "
                             "groups; not with --mods, --subgroup, --order or the modelling options")
    parser.add_argument("--format", choices=FORMATS, default="json",
                        help="json: one object (keyed by group with --by); jsonl: one JSON object per line (group); "
                             "csv: one row per group, nested sections as dotted columns (egger.pval), lists only in "
                             "JSON. Written as the groups are pooled")
    parser.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                        help="with --by: worker processes pooling parts of the table while it is read (default: one "
                             "per CPU this process may use; 1: none). The output is the same")
    parser.add_argument("--scale", choices=("identity", "log"),
                        help="scale of CI-form rows (yi, ci_lb, ci_ub); default log for measures analysed as logs")
    escalc = parser.add_argument_group("escalc options (metafor's names and defaults)")
    escalc.add_argument("--add", type=float,
                        help="added to counts as --to says (default 1/2; 0 for PAS, PFT, IRS, IRFT)")
    escalc.add_argument("--to", choices=measures.TO_VALUES, default="only0",
                        help="which studies get --add: only0 (with a zero count, default), all, if0all, none")
    escalc.add_argument("--drop00", action="store_true",
                        help="two-group studies with no events (or only events) in both groups get no effect (MH and "
                             "PETO keep their tables in the estimate, as rma.mh: k, and k_yi the tables with one)")
    escalc.add_argument("--vtype", choices=VTYPES, help="sampling variance type (default LS; see the measure)")
    dependent = parser.add_argument_group("dependent effect sizes (three-level model, metafor's rma.mv)")
    dependent.add_argument("--cluster", metavar="COLUMN",
                           help="column whose equal values mark effect sizes of one study (each row one effect size)")
    dependent.add_argument("--rho", type=float, metavar="R",
                           help="correlation of the sampling errors within a cluster (default 0)")
    dependent.add_argument("--robust", action="store_true",
                           help="add CR2 cluster-robust tests (clubSandwich, Satterthwaite df)")
    add_modelling_arguments(parser)
    parser.set_defaults(func=handle, options_outside_cluster=_options_outside(parser, CLUSTER_OPTIONS))


def _options_outside(parser: argparse.ArgumentParser, kept) -> tuple[tuple[str, str, object], ...]:
    """(dest, flag, default) of each of the parser's options whose dest `kept` does not hold."""
    return tuple((action.dest, action.option_strings[0], action.default) for action in parser._actions
                 if action.option_strings and action.dest not in kept and action.dest != "help")


def handle(args: argparse.Namespace) -> int:
    import sys

    with _collector_paused():  # the engine's imports (numpy, pandas, scipy)
        from metasr.stats import grouped  # noqa: F401
        from metasr.stats.effects import Options
    mods = [m.strip() for item in (args.mods or []) for m in item.split(",") if m.strip()]
    _check_input_file(args.input)
    _check_what(args, mods)
    escalc = Options(add=args.add, to=args.to, drop00=args.drop00, vtype=args.vtype)
    multilevel = args.cluster is not None or args.rho is not None or args.robust
    if multilevel:
        options = _multilevel(args, mods, escalc)
    else:
        options = dict(measure=args.measure, method=args.method, test=args.test, mods=mods,
                       subgroup=args.subgroup, order=args.order, file=args.input, scale=args.scale, options=escalc,
                       modelling=modelling_options(args), small_study_min_k=args.small_study_min_k)
    try:
        if args.by:
            return _pool_by(args, options, multilevel)
        return _pool_one(args, options, multilevel)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


@contextmanager
def _collector_paused():
    """No cyclic garbage collection inside: imports of numpy, pandas and scipy make some 60,000
    objects, none of them garbage, and the collector would walk them over and over (~0.04 s)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _jobs(text: str) -> int:
    """An argparse type: a whole number of worker processes, at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _small_study_min_k(text: str) -> int:
    """An argparse type: a whole number of studies of at least 3 (a regression on sei needs them)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < SMALL_STUDY_LOWEST_MIN_K:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least {SMALL_STUDY_LOWEST_MIN_K}")
    return value


def _pool_one(args, options: dict, multilevel: bool) -> int:
    import sys

    from metasr.stats import grouped
    from metasr.stats.analysis import analyse, read_study_table

    table = read_study_table(args.input)
    if multilevel:
        from metasr.stats.multilevel import analyse_multilevel

        result = analyse_multilevel(table, **options)  # JSON-safe already
    else:  # the model alone for --what fit: no refits, whose cost grows with k squared
        result = analyse(table, **options, fit_only=args.what == "fit")
    for warning in result.get("warnings") or []:  # the fit alone leaves them out: said here
        print(f"warning: {_clip(warning)}", file=sys.stderr)
    if args.what == "fit":
        result = grouped.fit_part(result)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(result, indent=2, allow_nan=False) + "\n")
        sys.stdout.flush()
    else:
        writer = grouped.Writer(sys.stdout, args.format, None)
        writer.write(grouped.Row("", result))
        writer.close()
    return 0


def _pool_by(args, options: dict, multilevel: bool) -> int:
    """Every group of --by, streamed as it is pooled; the groups that cannot be are listed on stderr."""
    import sys

    from metasr.forked import available_cpus
    from metasr.progress import Progress
    from metasr.stats import grouped

    _keep_freed_memory()
    _leave_loaded_objects_to_refcounts()
    progress = Progress("pooling")
    writer = grouped.Writer(sys.stdout, args.format, args.by)
    failed, total = [], 0
    items = grouped.pool_rendered(args.input, args.by, grouped.Options(options, args.what, multilevel), writer.render,
                                  jobs=args.jobs or available_cpus(),
                                  progress=lambda done, size: progress(f"groups of {args.by}", done, size))
    try:
        for rendered in items:
            writer.emit(rendered)
            total += rendered.count
            failed += rendered.failed
            for key, warning in rendered.warnings:
                print(_clip(f"warning: {args.by} = {key or '(blank)'}: {warning}"), file=sys.stderr)
        writer.close()
    finally:
        items.close()
        progress.close()
    if failed:
        shown = "\n".join(_clip(f"  {args.by} = {row.key or '(blank)'}: {grouped.row_message(row)}")
                          for row in failed[:10])
        more = f"\n  ... and {len(failed) - 10} more" if len(failed) > 10 else ""
        print(f"{len(failed)} of {total} groups could not be pooled (status 'failed' in the output):\n{shown}{more}",
              file=sys.stderr)
        return 1
    return 0


def _keep_freed_memory() -> None:
    """Let glibc's malloc keep freed memory for reuse instead of returning every large array to
    the system: the batched fits allocate arrays of megabytes hundreds of times, and fresh pages
    for each cost more than the arithmetic (a 20,000-group REML fit: 0.85 s instead of 0.33 s).
    Nothing happens on other C libraries."""
    import ctypes

    try:  # the symbols of the process itself, the C library's among them (find_library runs ldconfig: 20 ms)
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    except (OSError, TypeError):  # Windows has no such handle
        mallopt = None
    if mallopt is not None:
        mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: arrays up to 1 GB from the heap
        mallopt(-1, 1 << 31)  # M_TRIM_THRESHOLD: keep up to 2 GB of freed heap


def _leave_loaded_objects_to_refcounts() -> None:
    """Take the objects alive now (the modules of numpy, pandas and scipy: some 60,000 objects)
    out of the cyclic garbage collector's view: its full collections, and the one when the process
    ends, no longer walk them all (0.05 to 0.08 s of a 20,000-group run). Garbage is collected
    first, so only live objects are set aside (a test session calling this keeps nothing it would
    have freed); an object set aside is still freed when its last reference goes. What pooling
    allocates from here on is collected as before."""
    import gc

    gc.collect()
    gc.freeze()


def _clip(line: str, width: int = 300) -> str:
    """A summary line for the terminal: printable (a group's key is the user's text) and at most `width` long."""
    from metasr.errors import printable

    line = printable(line)
    return line if len(line) <= width else line[:width - 3] + "..."


def _check_input_file(path: str) -> None:
    """The table is read more than once (its shape is checked before pandas parses it), which a
    pipe or a device does not allow: it read as empty."""
    from pathlib import Path

    from metasr.errors import InputError, Problem

    if Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir():  # a folder: its own message
        raise InputError(Problem(message="the input is not a file but a pipe or a device", file=path,
                                 rule="input file", hint="save the table to a file and give its path"))


def _check_what(args: argparse.Namespace, mods: list[str]) -> None:
    """--what fit is the overall model's numbers: a meta-regression, a subgroup analysis, a
    cumulative order or a modelling section has others, which it would leave out without a word
    (--weights changes the fit itself, and is taken)."""
    import dataclasses

    from metasr.errors import InputError, Problem

    if args.what != "fit":
        return
    sections = dataclasses.replace(modelling_options(args), weights=None)
    asked = [name for name, given in (("--mods", mods), ("--subgroup", args.subgroup), ("--order", args.order),
                                      ("the modelling options", sections.any())) if given]
    if asked:
        raise InputError(Problem(
            message=f"--what fit gives the overall model's numbers (estimate, SE, CI, tau2, Q, I2, H2, PI), not what "
                    f"{' and '.join(asked)} ask for", file=args.input, rule="--what",
            hint="leave out --what fit: the full output has them"))


def _multilevel(args: argparse.Namespace, mods: list[str], escalc):
    """The three-level model's function and options; its flags belong together."""
    from metasr.errors import InputError, Problem

    problems = []
    if args.cluster is None:
        problems.append(Problem(message="--rho and --robust need --cluster", file=args.input, rule="--cluster",
                                hint="name the column that identifies the study of each effect size"))
    problems += [Problem(message=f"{flag} is not available with --cluster", file=args.input, rule="--cluster",
                         hint=f"the three-level model takes {_cluster_flags()}; run {flag} without --cluster "
                              "(one effect size per study) or leave it out")
                 for flag in _not_with_cluster(args)]
    if problems:
        raise InputError(problems)
    return dict(measure=args.measure, method=args.method, test=args.test, cluster=args.cluster, rho=args.rho or 0.0,
                robust=args.robust, mods=mods, file=args.input, scale=args.scale, options=escalc,
                subgroup=args.subgroup, btt=[b for b in (args.btt or "").split(",") if b.strip()] or None)


def _not_with_cluster(args: argparse.Namespace) -> list[str]:
    """The options given (not at their defaults) that the three-level model does not take."""
    return [flag for dest, flag, default in args.options_outside_cluster if getattr(args, dest) != default]


def _cluster_flags() -> str:
    return ", ".join(f"--{dest.replace('_', '-')}" for dest in sorted(CLUSTER_OPTIONS - {"input", "measure",
                                                                                        "method"}))


# ---------------------------------------------------------------- modelling flags (small-study effects,
# selection models, model comparison); their sections carry metafor's names, see metasr.stats.modelling

def add_modelling_arguments(parser) -> None:
    group = parser.add_argument_group(
        "small-study effects and model building",
        "Each flag adds one section to the output, with metafor 3.8-1's quantities under metafor's names.")
    group.add_argument("--weights", metavar="COLUMN",
                       help="user weights a_i: GENQ's tau2 estimator and the coefficients' weights "
                            "(default for GENQ: 1/vi); as rma(..., weights = )")
    group.add_argument("--regtest-model", choices=("rma", "lm"),
                       help="regtest: rma (the fit's method and test) or lm (weighted least squares); "
                            "section 'regtest' (zval, pval, dfs, est, ci_lb, ci_ub)")
    group.add_argument("--regtest-predictor", choices=("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"),
                       help="regtest predictor (default sei); ni-based ones read the column given by --ni")
    group.add_argument("--ni", metavar="COLUMN", default="ni", help="column of total sample sizes (default ni)")
    group.add_argument("--pet-peese", action="store_true",
                       help="PET-PEESE: PEESE's limit estimate when PET's intercept is significant one-sided at "
                            "0.05, else PET's (model lm unless --regtest-model rma); section 'pet_peese'")
    group.add_argument("--trimfill-estimator", choices=("L0", "R0", "Q0"),
                       help="trim-and-fill estimator of k0 (default L0); section 'trimfill' with se_k0, p_k0")
    group.add_argument("--trimfill-side", choices=("left", "right"),
                       help="side of the missing studies (default: from the sign of Egger's slope)")
    group.add_argument("--fsn", metavar="TYPE", action="append", choices=("Rosenthal", "Orwin", "Rosenberg"),
                       help="fail-safe N (repeat for several types); section 'fsn'")
    group.add_argument("--fsn-target", type=float, metavar="VALUE",
                       help="Orwin's target effect (default: half the mean)")
    group.add_argument("--tes", action="store_true", help="test of excess significance; section 'tes'")
    group.add_argument("--hc", action="store_true", help="Henmi-Copas interval; section 'hc'")
    group.add_argument("--selmodel", choices=("stepfun", "beta"),
                       help="selection model by ML (step function: Vevea-Hedges; beta: Citkowicz-Vevea); "
                            "section 'selmodel' (beta, se, tau2, delta, LRT, LRTp, ...). beta integrates at "
                            "1e-12 relative tolerance: its SEs are metafor's with control = list(intCtrl = "
                            "list(rel.tol = 1e-12, subdivisions = 2000L)); metafor's default tolerance can "
                            "give SEs a few percent apart")
    group.add_argument("--steps", metavar="P[,P...]", help="step-function cut points of the p-values (default 0.025)")
    group.add_argument("--selmodel-alternative", choices=("greater", "less", "two.sided"), default="greater",
                       help="sidedness of the p-values the selection acts on (default greater)")
    group.add_argument("--btt", metavar="COEFS",
                       help="Wald test that these coefficients (names or metafor's 1-based positions, "
                            "comma-separated) are 0; section 'wald' (QM, QMdf, QMp). A name that is no "
                            "coefficient's takes every coefficient whose name it matches, as metafor's grep "
                            "(e.g. a factor's levels); 'btt_matched' lists them")
    group.add_argument("--anova", metavar="FORMULA", dest="anova_reduced",
                       help="likelihood-ratio test of the model against this reduced moderator formula ('1' for "
                            "intercept only; REML fits are refitted by ML); section 'anova'")
    group.add_argument("--fit-stats", action="store_true",
                       help="log-likelihood, deviance, AIC, BIC, AICc (ML and REML)")
    group.add_argument("--permutations", type=int, metavar="N",
                       help="permutation test: exact when there are at most N arrangements, else N random "
                            "ones; section 'permutest'")
    group.add_argument("--exact-permutations", action="store_true", help="always the exact permutation test")
    group.add_argument("--seed", type=int, dest="permutation_seed", metavar="N", help="seed of random permutations")
    group.add_argument("--tau2-ci", choices=("QP", "PL", "GENQ"),
                       help="CI for tau2: Q-profile, profile likelihood (ML/REML fits) or generalised Q; "
                            "section 'confint' (its tau2_ci and type)")
    group.add_argument("--baujat", action="store_true", help="Baujat coordinates on the fitted model; section 'baujat'")


def modelling_options(args):
    from metasr.stats.modelling import ModellingOptions

    steps = None
    if args.steps:
        from metasr.errors import InputError

        try:
            steps = [float(s) for s in args.steps.split(",") if s.strip()]
        except ValueError:
            raise InputError(f"--steps must be numbers between 0 and 1, got {args.steps!r}",
                             hint="e.g. --steps 0.025,0.5") from None
    return ModellingOptions(
        weights=args.weights, regtest_model=args.regtest_model, regtest_predictor=args.regtest_predictor, ni=args.ni,
        pet_peese=args.pet_peese, trimfill_estimator=args.trimfill_estimator, trimfill_side=args.trimfill_side,
        fsn=args.fsn or [], fsn_target=args.fsn_target, tes=args.tes, hc=args.hc, selmodel=args.selmodel,
        steps=steps, selmodel_alternative=args.selmodel_alternative,
        btt=[b for b in (args.btt or "").split(",") if b.strip()] or None, anova_reduced=args.anova_reduced,
        fit_stats=args.fit_stats, permutations=args.permutations, exact_permutations=args.exact_permutations,
        permutation_seed=args.permutation_seed, tau2_ci=args.tau2_ci, baujat=args.baujat)
