"""PRISMA 2020 counts from the screening flow, and the conservation laws they must obey.

Two columns, as in the PRISMA 2020 diagram: records from databases and registers, and records
from other methods (sources whose config `method` is `other`). A de-duplicated record belongs to
the databases column when any of its cluster's members came from a database or register, else
to the other column; an other-method record that duplicates a database record is therefore
counted as a duplicate in the other column. Each column obeys:

    identified = duplicates + removed_automation + removed_other + screened
    screened   = excluded + sought
    sought     = not_retrieved + assessed
    assessed   = reports_excluded + reports_included
    excluded   = sum of its reasons (both stages)

Reports and studies are counted apart (PRISMA 2020 "studies included in review" and "reports of
included studies"): a report may hold several studies (its full-text `study_id` lists them) and a
study may have several reports. Every included report belongs to at least one study and every
study has at least one report, so both counts are at most the number of report-study links.

Records are removed before screening only as duplicates when metasr counts the flow (every other
record is screened), so `removed_automation` and `removed_other` are 0 there; a declared flow
(metasr.screening.declared) may give them. A declared flow may also lack a stage (`omitted`:
"screening", "retrieval"): its boxes are not drawn, and the counts pass through it unchanged
(screened = sought, excluded = 0; sought = assessed, not_retrieved = 0) so the laws still hold.

The last box, studies (and their reports) included in the meta-analysis, counts what was pooled:
the studies of every outcome pooled with k >= 2 (`meta_analysis_counts`, from the pooled results,
so it is drawn after pooling). They are a subset of the included studies
(`meta_analysis_problems` checks it).
"""

from __future__ import annotations

from collections import Counter

from metasr.errors import Problem
from metasr.screening.flow import (
    DATABASES,
    EXCLUDED_FULL_TEXT,
    EXCLUDED_TITLE_ABSTRACT,
    INCLUDED,
    NOT_RETRIEVED,
    OTHER,
    UNRESOLVED_REASON,
    ScreenedRecord,
)

DATABASE_METHODS = ("database", "register")
METHODS = DATABASE_METHODS + ("other",)
SCHEMA = "metasr.prisma/1"
REMOVED_BEFORE_SCREENING = ("duplicates", "removed_automation", "removed_other")
OPTIONAL_STAGES = ("screening", "retrieval")  # stages a (declared) flow may lack


def column_of_method(method: str) -> str:
    return DATABASES if method in DATABASE_METHODS else OTHER


def _reason_counts(reasons: list[str], order: list[str]) -> list[dict]:
    """Reasons with their counts, in config order (unknown extras, e.g. unresolved, last)."""
    counts = Counter(reasons)
    ordered = [r for r in order if counts[r]] + sorted(r for r in counts if r not in order)
    return [{"reason": r, "n": counts[r]} for r in ordered]


def _identified(records: list[dict], sources_cfg: dict, column: str) -> list[dict]:
    counts = Counter(r["source"] for r in records)
    return [
        {"source": source, "database": cfg.get("database", source),
         "method": cfg.get("method", "database"),
         "n": counts.get(source, 0)}
        for source, cfg in sources_cfg.items()
        if column_of_method(cfg.get("method", "database")) == column
    ]


def _by_database(by_source: list[dict]) -> list[dict]:
    """Sources that share a database name (two PubMed exports) are one line in the diagram."""
    merged: dict[tuple[str, str], int] = {}
    for s in by_source:
        key = (s["database"], s["method"])
        merged[key] = merged.get(key, 0) + s["n"]
    return [{"database": d, "method": m, "n": n} for (d, m), n in merged.items()]


def _duplicates(column: str, records: list[dict], flow: list[ScreenedRecord], sources_cfg: dict) -> int:
    """Records of this column's sources that are not the one record kept for their cluster.

    Counted from the cluster memberships, independently of the flow, so that the law
    identified = duplicates + screened checks something.
    """
    cluster_column = {f.cluster_id: f.column for f in flow}
    in_column = Counter(r["cluster_id"] for r in records
                        if column_of_method(sources_cfg[r["source"]].get("method", "database")) == column)
    return sum(n - (cluster_column.get(cluster) == column) for cluster, n in in_column.items())


def column_counts(column: str, records: list[dict], flow: list[ScreenedRecord],
                  sources_cfg: dict, reasons_order: list[str]) -> dict:
    by_source = _identified(records, sources_cfg, column)
    members = [f for f in flow if f.column == column]
    status = Counter(f.status for f in members)
    included = [f for f in members if f.status == INCLUDED]
    identified = sum(s["n"] for s in by_source)
    screened = len(members)
    sought = screened - status[EXCLUDED_TITLE_ABSTRACT]
    return {
        "identified": identified,
        "identified_by_source": by_source,
        "identified_by_database": _by_database(by_source),
        "registers": sum(s["n"] for s in by_source if s["method"] == "register"),
        "duplicates": _duplicates(column, records, flow, sources_cfg),
        "removed_automation": 0,
        "removed_other": 0,
        "screened": screened,
        "excluded": status[EXCLUDED_TITLE_ABSTRACT],
        "excluded_reasons": _reason_counts(
            [f.title_abstract_reason for f in members if f.status == EXCLUDED_TITLE_ABSTRACT],
            reasons_order),
        "sought": sought,
        "not_retrieved": status[NOT_RETRIEVED],
        "assessed": sought - status[NOT_RETRIEVED],
        "reports_excluded": status[EXCLUDED_FULL_TEXT],
        "reports_excluded_reasons": _reason_counts(
            [f.full_text_reason for f in members if f.status == EXCLUDED_FULL_TEXT],
            reasons_order + [UNRESOLVED_REASON]),
        "reports_included": len(included),
        "studies_included": len({sid for f in included for sid in f.study_ids}),
    }


def prisma_counts(records: list[dict], flow: list[ScreenedRecord], sources_cfg: dict,
                  reasons_order: list[str], agreement: dict) -> dict:
    """All PRISMA 2020 numbers as one JSON-ready dict."""
    has_other = any(cfg.get("method") == "other" for cfg in sources_cfg.values())
    columns = {DATABASES: column_counts(DATABASES, records, flow, sources_cfg, reasons_order)}
    if has_other:
        columns[OTHER] = column_counts(OTHER, records, flow, sources_cfg, reasons_order)
    included = [f for f in flow if f.status == INCLUDED]
    return {
        "schema": SCHEMA,
        "records": {"identified": len(records), "unique": len(flow),
                    "duplicates": len(records) - len(flow)},
        "columns": columns,
        "included": {"studies": len({sid for f in included for sid in f.study_ids}), "reports": len(included),
                     "report_study_links": sum(len(f.study_ids) for f in included),
                     "reports_with_several_studies": sum(len(f.study_ids) > 1 for f in included),
                     "study_reports": study_reports(included)},
        "agreement": agreement,
    }


def study_reports(included: list[ScreenedRecord]) -> dict[str, list[str]]:
    """{study_id: its included reports (cluster ids)}, sorted: which reports a count of studies
    carries with it (the reports of the studies included in the meta-analysis)."""
    out: dict[str, set[str]] = {}
    for record in included:
        for study in record.study_ids:
            out.setdefault(study, set()).add(record.cluster_id)
    return {study: sorted(reports) for study, reports in sorted(out.items())}


def _law(problems: list, where: str, name: str, left: int, parts: dict) -> None:
    if left != sum(parts.values()):
        detail = " + ".join(f"{k} {v}" for k, v in parts.items())
        problems.append(Problem(
            f"{where}: {name} {left} != {detail}", rule="conservation",
            hint="a record was lost or counted twice; this is a bug in metasr, please report it"))


def check_conservation(prisma: dict) -> list[Problem]:
    """Every conservation law of the counts; an empty list means they all hold."""
    problems: list[Problem] = []
    totals = prisma["records"]
    _law(problems, "all records", "identified", totals["identified"],
         {"unique": totals["unique"], "duplicates": totals["duplicates"]})
    columns = prisma["columns"]
    _law(problems, "all records", "identified", totals["identified"],
         {name: c["identified"] for name, c in columns.items()})
    _law(problems, "all records", "unique", totals["unique"],
         {name: c["screened"] for name, c in columns.items()})
    for name, c in columns.items():
        _law(problems, name, "identified", c["identified"],
             {**{k: c.get(k, 0) for k in REMOVED_BEFORE_SCREENING}, "screened": c["screened"]})
        _law(problems, name, "identified", c["identified"],
             {s["source"]: s["n"] for s in c["identified_by_source"]})
        _law(problems, name, "screened", c["screened"], {"excluded": c["excluded"], "sought": c["sought"]})
        _law(problems, name, "excluded", c["excluded"],
             {r["reason"]: r["n"] for r in c["excluded_reasons"]})
        _law(problems, name, "sought", c["sought"],
             {"not retrieved": c["not_retrieved"], "assessed": c["assessed"]})
        _law(problems, name, "assessed", c["assessed"],
             {"reports excluded": c["reports_excluded"], "reports included": c["reports_included"]})
        _law(problems, name, "reports excluded", c["reports_excluded"],
             {r["reason"]: r["n"] for r in c["reports_excluded_reasons"]})
        if min(v for v in c.values() if isinstance(v, int)) < 0:
            problems.append(Problem(f"{name}: negative count", rule="conservation",
                                    hint="a record was counted twice; this is a bug in metasr"))
    _law(problems, "all records", "reports included", prisma["included"]["reports"],
         {name: c["reports_included"] for name, c in columns.items()})
    included = prisma["included"]
    links = included.get("report_study_links", included["reports"])
    for what in ("studies", "reports"):
        if included[what] > links or (included["reports"] and included[what] < 1):
            problems.append(Problem(
                f"all records: {what} included {included[what]} exceeds the {links} report-study links",
                rule="conservation", hint="a report or study was counted twice; this is a bug in metasr"))
    return problems


# ---------------------------------------------------------------------------------------------
# Studies included in the meta-analysis


def meta_analysis_counts(prisma: dict, pooled_results: list[dict]) -> dict:
    """Studies (and reports) included in the meta-analysis: those of the outcomes that were pooled
    (status "pooled", k >= 2), each study once; `effect_sizes` sums the effect sizes pooled over the
    outcomes (more than the studies when a study gives several). `reports` is None when the flow
    does not say which reports belong to which study (a declared flow). `study_ids` and `outcomes`
    say what was counted."""
    from metasr.dependence import effect_size_count

    pooled = [p for p in pooled_results if p.get("status") == "pooled"]
    studies = sorted({str(s.get("study_id")) for p in pooled for s in p.get("studies") or []})
    outcomes = sorted(str(p.get("outcome")) for p in pooled)
    mapping = (prisma.get("included") or {}).get("study_reports")
    reports = None
    if mapping is not None:
        reports = len({r for study in studies for r in mapping.get(study, [])})
    return {"studies": len(studies), "reports": reports, "effect_sizes": sum(effect_size_count(p) for p in pooled),
            "study_ids": studies, "outcomes": outcomes}


def meta_analysis_problems(prisma: dict, meta: dict) -> list[Problem]:
    """The meta-analysis box is a subset of the included box: fewer or as many studies and
    reports, and (when the flow maps studies to reports) only included studies. A declared flow
    (another review's, which this analysis may have updated with new studies) gets warnings."""
    problems: list[Problem] = []
    included = prisma.get("included") or {}
    declared = prisma.get("origin") == "declared"
    for what in ("studies", "reports"):
        if meta.get(what) is not None and meta[what] > included.get(what, 0):
            problems.append(Problem(
                f"{meta[what]} {what} in the meta-analysis but {included.get(what, 0)} included in the "
                + ("declared flow" if declared else "review"), rule="conservation",
                severity="warning" if declared else "error",
                hint="the declared counts do not cover every study this analysis pooled" if declared else
                "every pooled study must be an included study (full-text screening study_id); check the "
                "studies sheet against the screening decisions"))
    mapping = included.get("study_reports")
    if mapping is not None:
        unknown = [s for s in meta.get("study_ids") or [] if s not in mapping]
        if unknown:
            problems.append(Problem(
                f"pooled studies not included at full text: {', '.join(unknown)}", rule="conservation",
                hint="give their reports this study_id in the full-text decisions"))
    return problems
