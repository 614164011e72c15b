"""PRISMA 2020 counts declared in the config, for a review without its own search stage.

A review that re-analyses or updates a published meta-analysis starts from its included studies;
its flow counts come from elsewhere (the published flow diagram). They are checked with the same
conservation laws as counted flows, and written as the same prisma.json, marked `origin: declared`
with their `source`, so the diagram and the report say where the numbers come from.

A flow may lack a stage, as flows drawn with the PRISMA2020 tool's flexible boxes do: without
`screened` and `excluded` there was no title/abstract screening (identified = removed + sought),
without `sought` and `not_retrieved` no separate retrieval (what was screened in was assessed).
The stage is then listed in `omitted` and not drawn; nothing is inferred for it.

Standard library only: the config check runs at parse time.
"""

from __future__ import annotations

from metasr.errors import Problem
from metasr.screening.prisma import REMOVED_BEFORE_SCREENING, SCHEMA

COLUMNS = ("databases", "other")
STAGE_KEYS = {"screening": ("screened", "excluded"), "retrieval": ("sought", "not_retrieved")}


def omitted(column: dict) -> list[str]:
    """The stages a declared column lacks (neither of the stage's counts given)."""
    return [stage for stage, keys in STAGE_KEYS.items() if not any(k in column for k in keys)]


def _sought(column: dict) -> int:
    """Reports sought: as declared, or (no retrieval stage) the reports assessed."""
    return column["sought"] if "sought" in column else column["assessed"]


def _screened(column: dict) -> int:
    """Records screened: as declared, or (no screening stage) what went on to retrieval."""
    return column["screened"] if "screened" in column else _sought(column)


def _law(problems: list, source: str, key: str, name: str, left: int, parts: dict) -> None:
    if left != sum(parts.values()):
        detail = " + ".join(f"{k} {v}" for k, v in parts.items())
        problems.append(Problem(message=f"{name} {left} is not {detail}", file=source, key=key,
                                rule="prisma-counts-add-up",
                                hint="copy the counts from the flow diagram again: each box is the sum of the "
                                     "boxes it splits into"))


def declared_problems(prisma: dict, source: str) -> list[Problem]:
    """Every PRISMA law the declared counts break (the schema has checked their types)."""
    problems: list[Problem] = []
    included = 0
    for name in COLUMNS:
        column = prisma.get(name)
        if not column:
            continue
        key = f"prisma.{name}"
        problems += _pair_problems(column, source, key)
        removed = {k: column.get(k, 0) for k in REMOVED_BEFORE_SCREENING}
        screened = _screened(column)
        next_box = "screened" if "screened" in column else "sought" if "sought" in column else "assessed"
        _law(problems, source, key, "identified", column["identified"], {**removed, next_box: screened})
        if "screened" in column:
            _law(problems, source, key, "screened", screened,
                 {"excluded": column.get("excluded", 0), "sought": _sought(column)})
        if "sought" in column:
            _law(problems, source, key, "sought", column["sought"],
                 {"not retrieved": column.get("not_retrieved", 0), "assessed": column["assessed"]})
        if sum(column["reports_excluded"].values()) > column["assessed"]:
            problems.append(Problem(message="more reports excluded than assessed", file=source,
                                    key=f"{key}.reports_excluded", rule="prisma-counts-add-up",
                                    hint="reports excluded by reason cannot exceed reports assessed"))
        included += column["assessed"] - sum(column["reports_excluded"].values())
    if included != prisma["reports_included"]:
        problems.append(Problem(
            message=f"reports included {prisma['reports_included']} is not reports assessed minus reports "
                    f"excluded ({included})", file=source, key="prisma.reports_included",
            rule="prisma-counts-add-up", hint="check the assessed and excluded boxes of the flow diagram"))
    if (prisma["studies_included"] == 0) != (prisma["reports_included"] == 0):
        # A report may hold several studies and a study may have several reports: only "none of one
        # without none of the other" holds.
        problems.append(Problem(message="studies and reports included: one is 0 and the other is not", file=source,
                                key="prisma.studies_included", rule="prisma-counts-add-up",
                                hint="every included study has at least one report, every included report "
                                     "belongs to at least one study"))
    return problems


def _pair_problems(column: dict, source: str, key: str) -> list[Problem]:
    """A stage is declared whole or not at all: screened with excluded, sought with not_retrieved."""
    return [Problem(message=f"{given} is declared without {missing}", file=source, key=f"{key}.{missing}",
                    rule="prisma-counts-add-up",
                    hint=f"declare both {given} and {missing}, or neither (the flow then has no {stage} stage)")
            for stage, pair in STAGE_KEYS.items() for given, missing in (pair, pair[::-1])
            if given in column and missing not in column]


def _column_counts(name: str, column: dict) -> dict:
    reasons = [{"reason": r, "n": n} for r, n in column["reports_excluded"].items()]
    screened = _screened(column)
    label = "Databases and registers" if name == "databases" else "Other methods"
    excluded = column.get("excluded", 0)
    return {
        "identified": column["identified"],
        "identified_by_source": [{"source": name, "database": label, "method": name, "n": column["identified"]}],
        "identified_by_database": [{"database": label, "method": name, "n": column["identified"]}],
        "registers": 0,
        "duplicates": column.get("duplicates", 0),
        "removed_automation": column.get("removed_automation", 0),
        "removed_other": column.get("removed_other", 0),
        "screened": screened,
        "excluded": excluded,
        "excluded_reasons": [],
        "sought": _sought(column),
        "not_retrieved": column.get("not_retrieved", 0),
        "assessed": column["assessed"],
        "reports_excluded": sum(column["reports_excluded"].values()),
        "reports_excluded_reasons": reasons,
        "reports_included": column["assessed"] - sum(column["reports_excluded"].values()),
        "omitted": omitted(column),
    }


def declared_prisma(prisma: dict) -> dict:
    """prisma.json (metasr.screening.prisma's layout) from counts declared in the config."""
    columns = {name: _column_counts(name, prisma[name]) for name in COLUMNS if prisma.get(name)}
    identified = sum(c["identified"] for c in columns.values())
    unique = sum(c["screened"] for c in columns.values())
    return {
        "schema": SCHEMA,
        "origin": "declared",
        "source": prisma["source"],
        "records": {"identified": identified, "unique": unique, "duplicates": identified - unique},
        "columns": columns,
        "included": {"studies": prisma["studies_included"], "reports": prisma["reports_included"]},
        "agreement": {},
        "warnings": [],
    }


def write_declared_prisma(prisma: dict, out_json) -> dict:
    """Write prisma.json from declared counts (checked again: the step may run without the CLI)."""
    from metasr.errors import raise_if_errors
    from metasr.io import write_json

    raise_if_errors(declared_problems(prisma, "config (prisma)"))
    counts = declared_prisma(prisma)
    write_json(out_json, counts)
    return counts
