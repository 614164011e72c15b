"""PRISMA counts: conservation laws catch tampering; the R PRISMA2020 CSV layout."""

from __future__ import annotations

import copy
import csv
import io

import pytest

from metasr.screening.prisma import check_conservation
from metasr.screening.prisma_csv import TEMPLATE, render_prisma_csv


@pytest.fixture
def prisma(workspace):
    return workspace.run()


def test_counts_are_conserved(prisma):
    assert check_conservation(prisma) == []


@pytest.mark.parametrize("path, delta", [
    (("columns", "databases", "excluded"), 1),
    (("columns", "databases", "duplicates"), -1),
    (("columns", "databases", "removed_automation"), 1),
    (("columns", "other", "removed_other"), 1),
    (("columns", "other", "assessed"), 1),
    (("records", "unique"), 1),
    (("included", "reports"), 1),
])
def test_a_broken_count_is_caught(prisma, path, delta):
    broken = copy.deepcopy(prisma)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] += delta
    problems = check_conservation(broken)
    assert problems and all(p.rule == "conservation" for p in problems)


def test_reason_list_must_add_up(prisma):
    broken = copy.deepcopy(prisma)
    broken["columns"]["databases"]["reports_excluded_reasons"][0]["n"] += 1
    assert any("reports excluded" in p.message for p in check_conservation(broken))


def test_r_template_csv(prisma):
    rows = list(csv.DictReader(io.StringIO(render_prisma_csv(prisma))))
    assert list(rows[0]) == ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
    assert [r["data"] for r in rows] == [t[0] for t in TEMPLATE]
    n = {r["data"]: r["n"] for r in rows if r["data"] != "NA"}
    assert n["database_results"] == "5"
    assert n["database_specific_results"] == "PubMed, 2; Scopus, 3"
    assert n["website_results"] == "2" and n["citations_results"] == "0"
    assert (n["duplicates"], n["records_screened"], n["records_excluded"]) == ("1", "4", "1")
    assert (n["dbr_sought_reports"], n["dbr_assessed"]) == ("3", "3")
    assert n["dbr_excluded"] == "lesion-level analysis only, 1"
    assert n["other_excluded"] == "0"  # no reasons: the bare total, which the package accepts
    assert (n["new_studies"], n["new_reports"], n["total_studies"], n["total_reports"]) == ("1", "2", "1", "2")
    # The package pattern-matches the `data` column: each name must hit exactly one row.
    names = [r["data"] for r in rows]
    for name in ("duplicates", "included", "screening", "total_studies", "database_results"):
        assert sum(name in d for d in names) == 1


def test_reason_labels_cannot_break_the_package_format(workspace):
    workspace.screening_cfg["exclusion_reasons"].append("no data; or, worse")
    workspace.full_text[1]["reason"] = "no data; or, worse"
    rows = list(csv.DictReader(io.StringIO(render_prisma_csv(workspace.run()))))
    dbr = next(r["n"] for r in rows if r["data"] == "dbr_excluded")
    assert dbr == "no data - or - worse, 1"


def test_registers_are_their_own_rows(workspace):
    workspace.sources_cfg["scopus"].update(method="register", database="ClinicalTrials.gov")
    prisma = workspace.run()
    assert prisma["columns"]["databases"]["registers"] == 3
    rows = list(csv.DictReader(io.StringIO(render_prisma_csv(prisma))))
    n = {r["data"]: r["n"] for r in rows if r["data"] != "NA"}
    assert (n["database_results"], n["register_results"]) == ("2", "3")
    assert n["register_specific_results"] == "ClinicalTrials.gov, 3"
    assert n["database_specific_results"] == "PubMed, 2"


def test_unknown_method_is_a_config_problem(workspace):
    from metasr.errors import InputError

    workspace.sources_cfg["web"]["method"] = "hand search"
    with pytest.raises(InputError) as err:
        workspace.run()
    [problem] = err.value.errors
    assert problem.key == "search.sources.web.method" and problem.value == "hand search"
