"""PRISMA 2020 counts in the CSV layout of the PRISMA2020 R package (Haddaway et al. 2022).

`PRISMA2020::PRISMA_data(read.csv(path))` reads this file: columns data, node, box,
description, boxtext, tooltips, url, n, with one row per quantity named as in the package's
template (`inst/extdata/PRISMA.csv`). The package finds rows by pattern-matching the `data`
column, so only the template's names are written. Reason lists go in `n` as
"reason, count; reason, count"; the package splits reasons at the first comma, so commas and
semicolons inside a reason are replaced.

The package's other-methods column has no duplicate or title/abstract boxes: `website_results`
and friends carry the records identified, `other_sought_reports` the reports passed on after
metasr's screening of them. prisma.json and metasr's own diagram show the full flow.
"""

from __future__ import annotations

from metasr.io import csv_text
from metasr.screening.flow import DATABASES, OTHER

COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")

# (data, node, box, description, boxtext); tooltips repeat the description on boxes with a node.
TEMPLATE = (
    ("NA", "node4", "prevstud", "Grey title box: previous studies", "Previous studies"),
    ("previous_studies", "node5", "box1", "Studies included in the previous version of the review",
     "Studies included in previous version of review"),
    ("previous_reports", "NA", "box1", "Reports of studies included in the previous version",
     "Reports of studies included in previous version of review"),
    ("NA", "node6", "newstud", "Title box: identification of new studies via databases and registers",
     "Identification of new studies via databases and registers"),
    ("database_results", "node7", "box2", "Records identified from databases", "Databases"),
    ("database_specific_results", "NA", "box2", "Records identified from each database",
     "Specific Databases"),
    ("register_results", "NA", "box2", "Records identified from registers", "Registers"),
    ("register_specific_results", "NA", "box2", "Records identified from each register",
     "Specific Registers"),
    ("NA", "node16", "othstud", "Title box: identification of new studies via other methods",
     "Identification of new studies via other methods"),
    ("website_results", "node17", "box11", "Records identified from websites", "Websites"),
    ("organisation_results", "NA", "box11", "Records identified from organisations", "Organisations"),
    ("citations_results", "NA", "box11", "Records identified from citation searching",
     "Citation searching"),
    ("duplicates", "node8", "box3", "Duplicate records removed before screening", "Duplicate records"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools",
     "Records marked as ineligible by automation tools"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons",
     "Records removed for other reasons"),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)",
     "Records screened"),
    ("records_excluded", "node10", "box5", "Records excluded at title/abstract (databases and registers)",
     "Records excluded"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval (databases and registers)",
     "Reports sought for retrieval"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved (databases and registers)",
     "Reports not retrieved"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval (other methods)",
     "Reports sought for retrieval"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved (other methods)",
     "Reports not retrieved"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility (databases and registers)",
     "Reports assessed for eligibility"),
    ("dbr_excluded", "node14", "box9", "Reports excluded with reasons (databases and registers)",
     "Reports excluded"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility (other methods)",
     "Reports assessed for eligibility"),
    ("other_excluded", "node21", "box15", "Reports excluded with reasons (other methods)",
     "Reports excluded"),
    ("new_studies", "node15", "box10", "New studies included in the review",
     "New studies included in review"),
    ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies"),
    ("total_studies", "node22", "box16", "Total studies included in the review",
     "Total studies included in review"),
    ("total_reports", "NA", "box16", "Reports of total included studies",
     "Reports of total included studies"),
    ("identification", "node1", "identification", "Stage label: identification", "Identification"),
    ("screening", "node2", "screening", "Stage label: screening", "Screening"),
    ("included", "node3", "included", "Stage label: included", "Included"),
)


def _label(text: str) -> str:
    return text.replace(",", " -").replace(";", " -")


def reason_list(items: list[dict], total: int) -> str:
    """'reason, n; reason, n' or, with no reasons, the bare total (the package reads both)."""
    if not items:
        return str(total)
    return "; ".join(f"{_label(i['reason'])}, {i['n']}" for i in items)


def _other_kind(database: str) -> str:
    name = database.casefold()
    if "citation" in name:
        return "citations_results"
    if "organi" in name:
        return "organisation_results"
    return "website_results"


def template_values(prisma: dict) -> dict[str, str]:
    """The `n` value of each template row."""
    db = prisma["columns"][DATABASES]
    other = prisma["columns"].get(OTHER)
    databases = [s for s in db["identified_by_database"] if s["method"] != "register"]
    registers = [s for s in db["identified_by_database"] if s["method"] == "register"]
    values = {
        "previous_studies": "0", "previous_reports": "0",
        "database_results": str(sum(s["n"] for s in databases)),
        "database_specific_results": reason_list(
            [{"reason": s["database"], "n": s["n"]} for s in databases], 0),
        "register_results": str(sum(s["n"] for s in registers)),
        "register_specific_results": reason_list(
            [{"reason": s["database"], "n": s["n"]} for s in registers], 0),
        "website_results": "0", "organisation_results": "0", "citations_results": "0",
        "duplicates": str(db["duplicates"]),
        "excluded_automatic": str(db.get("removed_automation", 0)),
        "excluded_other": str(db.get("removed_other", 0)),
        "records_screened": str(db["screened"]),
        "records_excluded": str(db["excluded"]),
        "dbr_sought_reports": str(db["sought"]),
        "dbr_notretrieved_reports": str(db["not_retrieved"]),
        "dbr_assessed": str(db["assessed"]),
        "dbr_excluded": reason_list(db["reports_excluded_reasons"], db["reports_excluded"]),
        "other_sought_reports": "0", "other_notretrieved_reports": "0", "other_assessed": "0",
        "other_excluded": "0",
        "new_studies": str(db["studies_included"]),
        "new_reports": str(db["reports_included"]),
        "total_studies": str(prisma["included"]["studies"]),
        "total_reports": str(prisma["included"]["reports"]),
    }
    if other:
        for source in other["identified_by_database"]:
            kind = _other_kind(source["database"])
            values[kind] = str(int(values[kind]) + source["n"])
        values.update({
            "other_sought_reports": str(other["sought"]),
            "other_notretrieved_reports": str(other["not_retrieved"]),
            "other_assessed": str(other["assessed"]),
            "other_excluded": reason_list(other["reports_excluded_reasons"], other["reports_excluded"]),
        })
    return values


def render_prisma_csv(prisma: dict) -> str:
    values = template_values(prisma)
    return csv_text(COLUMNS, ([data, node, box, description, boxtext, description if node != "NA" else "NA",
                               "NA", values.get(data, "0")]
                              for data, node, box, description, boxtext in TEMPLATE))
