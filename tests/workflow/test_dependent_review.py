"""End to end: a review whose reports hold several studies and whose studies give several effect
sizes, through search, screening, extraction, pooling, figures and the report.

The numbers are two published data sets from R's metadat 1.2-0, as tools/reference/dependent.R
writes them into tests/fixtures/dependent/inputs (with metafor 3.8-1 / clubSandwich 0.5.8 results in
expected.json):
- attractiveness: dat.lehmann2018 (the red-attractiveness effect), the between-subjects experiments
  of six reports that hold several experiments each (Elliot & Niesta 2008: 5; Elliot et al. 2010: 5;
  Lehmann & Calin-Jageman 2017: 3; O'Mara et al. 2016: 3; Kirsch 2015: 2; Sullivan et al. 2016: 2),
  one study per experiment and one effect size per comparison (female and male raters, or the
  stimulus): 20 studies, 29 effect sizes, pooled with the three-level model and CR2 inference;
- cessation: dat.hasselblad1998 (smoking cessation), nine trials of counselling against no contact;
  Cottraux et al. 1983 compares individual and group counselling with one no-contact arm, which is
  split between the two comparisons (Cochrane Handbook 23.3.4); aggregated within trials, then REML.
The review joins the two (it is a test review, not a published one). metadat holds no bibliographic
records: the search exports and screening decisions here are BUILT minimal from the data sets'
citations (dat.lehmann2018's Full_Citation; authors and year of dat.hasselblad1998's trials, whose
titles it does not give), plus three reports of dat.lehmann2018 excluded as within-subjects or
conference designs, and one duplicate found by citation searching.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from metasr import dependence
from metasr.errors import InputError

from harness import finished_review, read_pooled, read_rows, write_config, write_rows

# The records carry more fields than each sheet takes.
write_sheet = functools.partial(write_rows, ignore_extra=True)

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dependent"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
ITERATIVE = dict(rel=1e-5, abs=1e-8)
# Reports of dat.lehmann2018 that the test review screens out (citations as dat.lehmann2018 gives them).
EXCLUDED = [
    ("Roberts, S. C., Owen, R. C., & Havlicek, J. (2010). Distinguishing between Perceiver and Wearer Effects in "
     "Clothing Color-Associated Attributions. Evolutionary Psychology, 8(3), 350-364. "
     "http://doi.org/10.1177/147470491000800304", "full_text", "within-subjects design"),
    ("Young, S. G. (2015). The effect of red on male perceptions of female attractiveness: Moderation by baseline "
     "attractiveness of female faces. European Journal of Social Psychology, 45(2), 146-151. "
     "http://doi.org/10.1002/ejsp.2098", "full_text", "within-subjects design"),
    ("Wartenberg, W., Hoepfner, T., Potthast, P., & Mirau, A. (2011). If you wear red on a date, you will please "
     "your mate. Proceedings of Empiriepraktikumskongress, 6th, Aug. 7, pp 26-27. University of Jena, Germany.",
     "title_abstract", "conference abstract"),
]




def _record(citation: str) -> dict:
    year = re.search(r"\((\d{4})", citation)
    doi = re.search(r"(10\.\d{4,9}/[^\s]+)", citation)
    return {"title": citation, "authors": citation.split(" (")[0], "year": year.group(1) if year else "",
            "doi": doi.group(1).rstrip(".") if doi else ""}


def dependent_review(root: Path) -> Path:
    """The review folder (config, BUILT search exports and decisions, extraction sheets)."""
    att = read_rows(FIXTURES / "inputs" / "attractiveness.csv")
    ces = read_rows(FIXTURES / "inputs" / "cessation.csv")
    reports: dict[str, dict] = {}  # report -> {record, studies}
    for row in att:
        entry = reports.setdefault(row["report"], {"record": _record(row["citation"]), "studies": []})
        if row["study_id"] not in entry["studies"]:
            entry["studies"].append(row["study_id"])
    for row in ces:
        reports.setdefault(row["study_id"], {"record": {
            "title": f"Counselling for smoking cessation: trial report of {row['authors']} {row['year']} (BUILT "
                     "record: dat.hasselblad1998 gives authors and year only)",
            "authors": row["authors"], "year": row["year"], "doi": ""}, "studies": [row["study_id"]]})
    records, ta, ft = [], [], []
    for i, entry in enumerate(reports.values()):
        records.append(entry["record"])
        ta.append({"record_id": f"databases:{i}", "decision": "include"})
        ft.append({"record_id": f"databases:{i}", "decision": "include", "study_id": "; ".join(entry["studies"])})
    for citation, stage, reason in EXCLUDED:
        i = len(records)
        records.append(_record(citation))
        ta.append({"record_id": f"databases:{i}", "decision": "exclude" if stage == "title_abstract" else "include",
                   "reason": reason if stage == "title_abstract" else ""})
        if stage == "full_text":
            ft.append({"record_id": f"databases:{i}", "decision": "exclude", "reason": reason})
    data = root / "data"
    record_columns = ["title", "authors", "year", "doi"]
    write_sheet(data / "search" / "databases.csv", record_columns, records)
    write_sheet(data / "search" / "citations.csv", record_columns, [records[0]])  # a duplicate, found twice
    write_sheet(data / "screening" / "title_abstract.csv", ["record_id", "decision", "reason"], ta)
    write_sheet(data / "screening" / "full_text.csv", ["record_id", "decision", "reason", "study_id"], ft)
    studies = {}
    for row in att:
        studies.setdefault(row["study_id"], {"study_id": row["study_id"], "label": row["label"], "year": row["year"],
                                             "record_id": row["report"], "design": "randomised experiment"})
    for row in ces:
        studies.setdefault(row["study_id"], {"study_id": row["study_id"], "label": row["label"], "year": row["year"],
                                             "record_id": row["study_id"], "design": "randomised controlled trial"})
    write_sheet(data / "extraction" / "studies.csv", ["study_id", "record_id", "label", "year", "design"],
               list(studies.values()))
    source = {"source_location": "metadat::dat.lehmann2018", "reported_form": "mean_sd"}
    write_sheet(data / "extraction" / "outcomes" / "attractiveness.csv",
               ["study_id", "comparison", "reported_form", "n1", "mean1", "sd1", "n2", "mean2", "sd2", "record_id",
                "source_location"],
               [{**row, **source, "record_id": row["report"]} for row in att])
    source = {"source_location": "metadat::dat.hasselblad1998", "reported_form": "events_n"}
    write_sheet(data / "extraction" / "outcomes" / "cessation.csv",
               ["study_id", "comparison", "shared_group", "reported_form", "events1", "n1", "events2", "n2",
                "record_id", "source_location"],
               [{**row, **source, "record_id": row["study_id"]} for row in ces])
    config = {
        "review": {"id": "dependent", "title": "Several studies per report, several effect sizes per study",
                   "reference": "metadat::dat.lehmann2018 and metadat::dat.hasselblad1998 (a test review)",
                   "groups": {"experimental": "Intervention", "control": "Control"}},
        "search": {"sources": {
            "databases": {"file": "data/search/databases.csv", "database": "Databases (BUILT export)"},
            "citations": {"file": "data/search/citations.csv", "database": "Citation searching (BUILT)",
                          "method": "other"}}},
        "screening": {"title_abstract": "data/screening/title_abstract.csv",
                      "full_text": "data/screening/full_text.csv",
                      "exclusion_reasons": ["conference abstract", "within-subjects design"]},
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": None},
        "outcomes": {
            "attractiveness": {"label": "Perceived attractiveness, red vs control", "measure": "SMD",
                               "higher_is": "better", "dependence": {"method": "robust", "rho": 0.5}},
            "cessation": {"label": "Smoking cessation, counselling vs no contact", "measure": "OR",
                          "higher_is": "better",
                          "dependence": {"method": "aggregate", "rho": 0, "multi_arm": "split_shared"}}},
    }
    return write_config(root, config)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_review(dependent_review(tmp_path_factory.mktemp("dependent") / "review"))


def test_prisma_counts_records_reports_and_studies(finished):
    prisma = json.loads((finished / "results" / "screening" / "prisma.json").read_text())
    assert prisma["records"] == {"identified": 19, "unique": 18, "duplicates": 1}
    db = prisma["columns"]["databases"]
    assert (db["screened"], db["excluded"], db["assessed"], db["reports_excluded"]) == (18, 1, 17, 2)
    included = dict(prisma["included"])
    study_reports = included.pop("study_reports")
    assert included == {"studies": 29, "reports": 15, "report_study_links": 29, "reports_with_several_studies": 6}
    assert len(study_reports) == 29
    assert study_reports["Elliot2010_e1"] == study_reports["Elliot2010_e7"] == ["C000001"]
    screening = {r["record_id"]: r["study_id"] for r in read_rows(finished / "results/screening/screening.csv")}
    assert "Elliot2010_e1; Elliot2010_e2; Elliot2010_e3; Elliot2010_e4; Elliot2010_e7" in screening.values()


def test_pooled_numbers_are_metafors(finished):
    att, ref = read_pooled(finished, "attractiveness"), EXPECTED["attractiveness"]
    assert (att["k"], att["k_studies"], att["model"]["model_type"]) == (29, 20, "three-level")
    for key in ("estimate", "se", "df", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert att["model"][key] == pytest.approx(ref["model"][key], **ITERATIVE), key
    assert att["model"]["sigma2"] == pytest.approx(ref["model"]["sigma2"], **ITERATIVE)
    assert [r["estimate"] for r in att["rho_sensitivity"]] == pytest.approx(
        [r["estimate"] for r in ref["rho_sensitivity"]], **ITERATIVE)
    assert att["small_study"]["egger_robust"]["pval"] == pytest.approx(ref["egger_robust"]["pval"], **ITERATIVE)
    ces, ref = read_pooled(finished, "cessation"), EXPECTED["cessation"]
    assert (ces["k"], ces["k_studies"], ces["model"]["k"]) == (10, 9, 9)
    for key in ("estimate", "se", "ci_lb", "ci_ub", "tau2"):
        assert ces["model"][key] == pytest.approx(ref["model"][key], **ITERATIVE), key
    cottraux = [s for s in ces["studies"] if s["study_id"] == "Cottraux1983"]
    assert [(s["ci"], s["n2i"], s["shared_split"]) for s in cottraux] == [(4.5, 70, 2)] * 2


def test_summary_of_findings_counts_studies_effect_sizes_and_participants_once(finished):
    html = (finished / "results" / "report.html").read_text()
    att, ces = EXPECTED["attractiveness"], EXPECTED["cessation"]
    # participants: each study once; Cottraux's no-contact arm once (140, not 2 x 140)
    assert f"{att['participants']:,} (20 studies, 29 effect sizes)" in html  # thousands separated
    assert f"{ces['participants']:,} (9 studies, 10 effect sizes)" in html
    assert dependence.participants(read_pooled(finished, "cessation")) == ces["participants"]
    assert "Studies included in meta-analysis (reports)</th><td class=\"num\">29 (" in html
    assert "Effect sizes pooled (summed over the 2 pooled outcomes)</th><td class=\"num\">39</td>" in html


def test_report_gives_the_model_the_rho_table_and_the_methods(finished):
    html = (finished / "results" / "report.html").read_text()
    assert "σ² between studies" in html and "I² total / between / within" in html
    assert "(CR2 cluster-robust)" in html and "Satterthwaite" in html
    assert "sensitivity to the assumed correlation rho" in html
    assert "pooled with a three-level model" in html and "split evenly between them" in html
    assert "combined into one" in html  # the aggregated outcome


def test_forest_groups_effect_sizes_under_their_study(finished):
    from metasr.figures.forest import Column, arm_columns, build_rows

    att = read_pooled(finished, "attractiveness")
    columns = arm_columns(att, {}) + [Column("weight", "Weight"), Column("effect", "")]
    rows, footnotes = build_rows(att, columns, "year")
    titles = [r.label for r in rows if r.kind == "group_title"]
    assert len(titles) == 9 and "Kirsch 2015 Exp 1" in titles  # the 9 studies with several effect sizes
    kirsch = [r.label.strip() for r in rows[[r.label for r in rows].index("Kirsch 2015 Exp 1") + 1:][:2]]
    assert kirsch == ["red vs control, female raters", "red vs control, male raters"]
    assert sum(r.kind == "study" for r in rows) == 29
    assert any(f.startswith("Three-level model (REML): σ² between studies") for f in footnotes)
    ces = read_pooled(finished, "cessation")
    rows, _ = build_rows(ces, arm_columns(ces, {}) + [Column("weight", "Weight"), Column("effect", "")], "year")
    labels = [r.label for r in rows]
    i = labels.index("Cottraux et al. 1983")
    assert [r.label.strip() for r in rows[i + 1:i + 4]] == [  # † a shared control split between them
        "group counselling vs no contact †", "individual counselling vs no contact †", "Combined within study"]
    _, notes = build_rows(ces, arm_columns(ces, {}) + [Column("weight", "Weight"), Column("effect", "")], "year")
    assert any("shared group's participants split between its comparisons" in note for note in notes)
    svg = (finished / "results" / "figures" / "attractiveness_forest.svg").read_text()
    assert "Three-level" in svg and "CR2" in svg


def test_without_a_dependence_setting_the_run_stops_before_any_job(tmp_path):
    from metasr.config import read_yaml
    from metasr.workflow.review import load_review

    root = dependent_review(tmp_path / "review")
    config = read_yaml(root / "config.yaml")
    del config["outcomes"]["attractiveness"]["dependence"]
    with pytest.raises(InputError) as err:
        load_review(config, root)
    problems = err.value.problems
    assert {p.rule for p in problems} == {"dependence-declared"} and len(problems) == 9
    assert all(p.file.endswith("attractiveness.csv") and "multilevel" in p.hint for p in problems)
