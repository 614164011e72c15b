"""`metasr run FOLDER [snakemake options]`: run the workflow on a review folder."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the review in FOLDER (Snakemake: only what changed is recomputed)",
        description=(
            "Check the review in FOLDER (its config.yaml or config/config.yaml and every sheet), then run the "
            "metasr workflow on it with Snakemake: results go to FOLDER/results/, logs to FOLDER/logs/. Anything "
            "after FOLDER is passed to Snakemake unchanged, e.g. `metasr run FOLDER -n` (dry run), `--cores 4`, "
            "`--workflow-profile PROFILE`."
        ),
    )
    parser.add_argument("folder", metavar="FOLDER", help="the review folder")
    rest = parser.add_argument("snakemake_args", nargs=argparse.REMAINDER, metavar="...",
                               help="options for Snakemake (optional)")
    rest.required = False  # argparse counts a REMAINDER positional as required: "required: FOLDER, ..."
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from metasr.workflow.launch import run_review

    return run_review(args.folder, list(args.snakemake_args))
