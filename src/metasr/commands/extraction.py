"""`metasr extraction validate|discrepancies`: check the extraction sheets from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("extraction", help="check extraction sheets (validation, double extraction)")
    sub = parser.add_subparsers(dest="extraction_command", metavar="ACTION", required=True)
    validate = sub.add_parser("validate", help="run every extraction check; list all problems at once")
    discrepancies = sub.add_parser("discrepancies", help="compare with the second extractor's sheets")
    for p in (validate, discrepancies):
        p.add_argument("--review", metavar="FOLDER", default=".", help="review folder (default: here)")
        p.add_argument("--config", metavar="FILE", help="the review's config file (instead of --review)")
        p.add_argument("--json", action="store_true", help="print JSON instead of text")
    validate.set_defaults(func=run_validate)
    discrepancies.set_defaults(func=run_discrepancies)


def _load(args) -> tuple[dict, Path]:
    from metasr.config import load_config
    from metasr.folder import review_from_options

    location = review_from_options(args.review, args.config)
    return load_config(location.config_file, root=location.root, check_files=False), location.root


def run_validate(args) -> int:
    from metasr.errors import InputError
    from metasr.workflow.review import review_input_problems

    config, root = _load(args)
    # the sheets, and their record ids against the search's records (the search's own files are
    # `metasr run`'s to check)
    problems = review_input_problems(config, root, search_problems=False)
    errors = [p for p in problems if p.severity == "error"]
    if args.json:
        print(json.dumps({"errors": len(errors), "warnings": len(problems) - len(errors),
                          "problems": [p.to_dict() for p in problems]}, indent=2))
        return 2 if errors else 0
    if errors:
        raise InputError(problems)
    for p in problems:
        print(p.format(), file=sys.stderr)
    print(f"extraction sheets are valid ({len(problems)} warning{'s' if len(problems) != 1 else ''})")
    return 0


def run_discrepancies(args) -> int:
    from metasr.errors import InputError
    from metasr.extraction.discrepancies import discrepancy_report, format_report
    config, root = _load(args)
    if not (config.get("extraction") or {}).get("second_extractor_dir"):
        raise InputError("no second extraction configured", hint="set extraction.second_extractor_dir in the config")
    report = discrepancy_report(config, root)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    unresolved = report["overall"]["unresolved"]
    return 2 if unresolved and not config["extraction"].get("allow_discrepancies") else 0
