"""Run the packaged Snakemake workflow on a review folder (`metasr run`, `make run`).

The review is checked here first, in this process, so that a mistake is reported as the list of
problems the rest of metasr prints (Snakemake would frame the same message with its own location
lines); then Snakemake runs the workflow shipped in the package (metasr.resources) with the review
folder as its working directory.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from metasr.errors import InputError, Problem
from metasr.folder import find_review
from metasr.resources import WORKFLOW, snakefile

# Snakemake options `metasr run` cannot pass on: the run reads the folder's config.yaml, and only
# that (a --config override would not be validated, and Snakemake refuses a malformed one with a
# traceback); the folder is the review's own.
_WRITE_IT_IN_THE_CONFIG = "write the setting into the review's config.yaml (a run always reflects its config file)"
_GIVE_THE_FOLDER = "give the review's folder: `metasr run FOLDER` reads FOLDER/config.yaml"
REFUSED_OPTIONS = {"--config": _WRITE_IT_IN_THE_CONFIG, "-C": _WRITE_IT_IN_THE_CONFIG,
                   "--configfile": _GIVE_THE_FOLDER, "--configfiles": _GIVE_THE_FOLDER,
                   "--directory": _GIVE_THE_FOLDER, "-d": _GIVE_THE_FOLDER}


def check_review(folder: str | Path):
    """Load and validate the review in `folder` (InputError listing every problem)."""
    from metasr.config import read_config
    from metasr.workflow.review_cache import load_review_cached

    location = find_review(folder)
    raw = read_config(location.config_file, shown=location.shown_config)
    return location, load_review_cached(raw, location.root, location.shown_config)


# The package's profile, named: without --workflow-profile, Snakemake looks for `default` and
# `profiles/default` in the working directory first, and a folder of that name there (a review
# called "default", another project's profiles) would replace metasr's settings.
DEFAULT_PROFILE = WORKFLOW / "profiles" / "default"


def snakemake_command(root: Path, snakemake_args: list[str]) -> list[str]:
    profile = [] if any(a.split("=", 1)[0] == "--workflow-profile" for a in snakemake_args) else \
        ["--workflow-profile", str(DEFAULT_PROFILE)]
    return [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile()), "--directory", str(root),
            *profile, *snakemake_args]


def refused_options(snakemake_args: list[str]) -> list[Problem]:
    """The options of REFUSED_OPTIONS among the arguments for Snakemake (also as --option=value)."""
    return [Problem(message=f"{arg.split('=', 1)[0]} is not an option of `metasr run`", value=arg, rule="run-options",
                    hint=REFUSED_OPTIONS[arg.split("=", 1)[0]])
            for arg in snakemake_args if arg.split("=", 1)[0] in REFUSED_OPTIONS]


def run_review(folder: str | Path, snakemake_args: list[str]) -> int:
    """Check the options and the review, then run Snakemake on it; Snakemake's exit status is returned."""
    problems = refused_options(snakemake_args)
    if problems:
        raise InputError(problems)
    try:
        location, review = check_review(folder)
    except InputError as err:
        raise InputError(err.problems + results_kept(folder)) from None
    for warning in review.warnings:
        print(warning.format(), file=sys.stderr)
    return run_until_done(snakemake_command(location.root, snakemake_args))


def results_kept(folder: str | Path) -> list[Problem]:
    """After a refused run: a warning that the review's results are still the last successful
    run's (a refusal writes nothing, so the report a reader opens is not of the review as it is)."""
    try:
        report = find_review(folder).root / "results" / "report.html"
        written = report.stat().st_mtime
    except (InputError, OSError):
        return []
    when = datetime.fromtimestamp(written, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [Problem(message=f"the results are still those of the last successful run (report written {when}), not "
                            "of the review as it is now", file=str(report), rule="results kept", severity="warning",
                    hint="they are replaced when a run succeeds; until then do not read the report as current")]


def run_until_done(command: list[str]) -> int:
    """Run `command` and wait for it, also when `metasr run` is asked to stop: Ctrl-C or SIGTERM
    (`timeout`, a job manager) is passed on to Snakemake once, as the interrupt it cleans up after
    (it removes incomplete outputs and releases the folder's lock), and its exit status returned.

    Snakemake runs in a process group of its own, so that Ctrl-C on a terminal reaches it only
    through here, once: a second interrupt would cut its clean-up short. The handlers are set before
    Snakemake starts, so that it does not inherit an ignored SIGINT (a background job's) and miss
    the interrupt."""
    started: list[subprocess.Popen] = []

    def stop(signum, frame) -> None:
        if started:
            started[0].send_signal(signal.SIGINT)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        started.append(subprocess.Popen(command, process_group=0))
        return started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
