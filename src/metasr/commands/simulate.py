"""`metasr simulate`: write a complete SYNTHETIC review from known true effects."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write a synthetic review (exports, decisions, sheets, config, truth.json)",
        description=(
            "Write a complete SYNTHETIC review into DIR: search exports (MEDLINE, RIS, Web of Science, CSV) "
            "with realistic duplicates, title/abstract and full-text decisions, extraction sheets in mixed "
            "reported forms, a studies sheet and config/config.yaml, all simulated from known true effects "
            "(DIR/truth.json). The same seed gives byte-identical files."
        ),
    )
    parser.add_argument("--outcomes", type=int, default=3, metavar="N", help="number of outcomes (default 3)")
    parser.add_argument("--studies", type=int, default=6, metavar="K", help="studies per outcome (default 6)")
    parser.add_argument("--records", type=int, default=200, metavar="R",
                        help="records in the search exports, duplicates included (default 200)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the review into")
    parser.add_argument("--force", action="store_true", help="write into DIR even if it holds a config already")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metasr.errors import InputError, Problem
    from metasr.simulate import simulate_review

    out = Path(args.out)
    if (out / "config" / "config.yaml").exists() and not args.force:
        raise InputError(Problem(message="the folder already holds a review (config/config.yaml)", file=str(out),
                                 rule="simulate output", hint="choose an empty folder or pass --force"))
    truth = simulate_review(out, outcomes=args.outcomes, studies=args.studies, records=args.records,
                            seed=args.seed)
    counts = truth["prisma"]["records"]
    print(f"SYNTHETIC review written to {out}: {counts['identified']} records ({counts['unique']} unique), "
          f"{truth['prisma']['included']['studies']} included studies, {len(truth['outcomes'])} outcomes; "
          f"truth in {out / 'truth.json'}")
    print(f"run it: metasr run {out}")
    return 0
