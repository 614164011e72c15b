"""A whole SYNTHETIC review: search exports, screening decisions, extraction sheets, config, truth.

`simulate_review(out_dir, outcomes=N, studies=K, records=R, seed=S)` writes a folder that the
workflow runs as it runs a real review (`config/`, `data/`), plus `truth.json` (what every file
was generated from, and the counts and effects the pipeline must recover) and `README.md`.
`metasr run out_dir` runs the simulated review end to end.

Everything depends on the seed only (numpy's Generator; files written with fixed line endings,
no clocks, no set iteration), so one seed gives byte-identical files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from metasr import measures
from metasr.errors import InputError, Problem
from metasr.io import csv_text
from metasr.simulate import records as rec, vocab
from metasr.simulate.effects import Outcome, Study, make_outcome, simulate_outcome_rows

TA_REASONS = ["wrong population", "wrong intervention", "wrong study design", "review or editorial",
              "conference abstract", "erratum"]
FT_REASONS = ["wrong comparator", "wrong outcome", "no usable data", "wrong study design", "other"]
EXCLUSION_REASONS = list(dict.fromkeys(TA_REASONS + FT_REASONS))
SECONDARY_REPORT = 0.15  # share of studies with a second included report
PASS_TITLE_ABSTRACT = 0.12  # share of the other articles passed on to full text
NOT_RETRIEVED = 0.08  # share of full texts sought but not retrieved
REVIEWER_DISAGREEMENT = 0.06  # title/abstract: one reviewer differs, the consensus decides

TA_COLUMNS = ["doi", "pmid", "title", "year", "decision", "reason", "reviewer1", "reviewer2", "notes"]
FT_COLUMNS = ["doi", "pmid", "title", "year", "decision", "reason", "study_id", "notes"]


def check_parameters(outcomes: int, studies: int, records: int) -> None:
    problems = []
    for name, value, low in (("--outcomes", outcomes, 1), ("--studies", studies, 1), ("--records", records, 10)):
        if value < low:
            problems.append(Problem(message=f"{name} must be at least {low}", value=str(value),
                                    rule="simulate parameters"))
    needed = math.ceil(studies * (1.25 if outcomes > 1 else 1.0) * (1 + SECONDARY_REPORT)) + 2
    if not problems and records < 3 * needed:
        problems.append(Problem(message=f"{records} records are too few for {studies} studies per outcome",
                                value=str(records), rule="simulate parameters",
                                hint=f"use --records {3 * needed} or more (included reports are a minority "
                                     "of the records, as in real reviews)"))
    if problems:
        raise InputError(problems)


# ---------------------------------------------------------------- records

def simulate_works(rng, n_records: int, abstract_words: int = 120):
    """Works and their copies until the exports hold exactly n_records records."""
    n_journals = max(20, min(640, n_records // 40))
    catalogue = rec.Catalogue(journals=rec.make_journals(rng, n_journals), congresses=rec.make_congresses())
    works, total = [], 0
    articles: list[rec.Work] = []
    while total < n_records:
        roll = rng.random()
        if roll < 0.01 and articles:
            work = rec.erratum_of(rng, catalogue, articles[int(rng.integers(len(articles)))])
        else:
            work = rec.new_work(rng, catalogue, "conference" if roll < 0.06 else "article", abstract_words)
        work.copies = rec.plan_copies(rng, work)
        if total + len(work.copies) > n_records:
            work.copies = work.copies[: n_records - total]
        total += len(work.copies)
        works.append(work)
        if work.kind == "article":
            articles.append(work)
    return works


# ---------------------------------------------------------------- studies and screening

def make_studies(rng, works: list[rec.Work], n_studies: int) -> tuple[list[Study], dict[str, str]]:
    """Choose the included reports among the articles; returns studies and {wid: study_id}."""
    articles = [w for w in works if w.kind == "article" and w.authors]
    order = rng.permutation(len(articles))
    chosen, report_of = iter(articles[i] for i in order), {}
    studies: list[Study] = []
    labels: dict[str, int] = {}  # label -> how many studies have it
    for j in range(n_studies):
        primary = next(chosen)
        reports = [primary]
        if rng.random() < SECONDARY_REPORT:
            reports.append(next(chosen))
        sid = f"S{j + 1:03d}"
        surname = primary.authors[0][0]
        label = f"{surname} {primary.year}"
        labels[label] = labels.get(label, 0) + 1
        n_total = int(np.exp(rng.uniform(np.log(40), np.log(400))))
        share = rng.uniform(0.4, 0.6)
        n1 = max(10, int(round(n_total * share)))
        n2 = max(10, n_total - n1)
        rob = {d: str(rng.choice(["low", "some concerns", "high"], p=[0.6, 0.3, 0.1]))
               for d in ("rob_randomisation", "rob_deviations", "rob_missing", "rob_measurement", "rob_reporting")}
        rob["rob_overall"] = "high" if "high" in rob.values() else "some concerns" \
            if "some concerns" in rob.values() else "low"
        studies.append(Study(study_id=sid, label=label, first_author=surname, year=primary.year,
                             n_group1=n1, n_group2=n2, followup_years=float(np.round(rng.uniform(0.25, 3), 2)),
                             record_id=primary.copies[0].record_id, report_wids=[w.wid for w in reports],
                             country=vocab.COUNTRIES[int(rng.integers(len(vocab.COUNTRIES)))],
                             design=primary.design, rob=rob))
        for w in reports:
            report_of[w.wid] = sid
    # Two studies by the same first author in the same year get 2019a / 2019b, as figures need.
    seen: dict[str, int] = {}
    for study in studies:
        if labels[study.label] > 1:
            seen[study.label] = seen.get(study.label, 0) + 1
            study.label = f"{study.label}{'abcdefghijklmnopqrstuvwxyz'[seen[study.label] - 1]}"
    return studies, report_of


def screen(rng, works: list[rec.Work], report_of: dict[str, str]) -> dict[str, dict]:
    """The true fate of every work: {wid: {stage decisions, reasons, study_id, status}}."""
    fate = {}
    for work in works:
        if work.wid in report_of:
            fate[work.wid] = {"status": "included", "ta": "include", "ta_reason": "", "ft": "include",
                              "ft_reason": "", "study_id": report_of[work.wid]}
        elif work.kind == "conference":
            fate[work.wid] = {"status": "excluded_title_abstract", "ta": "exclude",
                              "ta_reason": "conference abstract"}
        elif work.kind == "erratum":
            fate[work.wid] = {"status": "excluded_title_abstract", "ta": "exclude", "ta_reason": "erratum"}
        elif rng.random() >= PASS_TITLE_ABSTRACT:
            reason = TA_REASONS[int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15]))]
            fate[work.wid] = {"status": "excluded_title_abstract", "ta": "exclude", "ta_reason": reason}
        elif rng.random() < NOT_RETRIEVED:
            fate[work.wid] = {"status": "not_retrieved", "ta": "include", "ta_reason": "", "ft": "not_retrieved",
                              "ft_reason": "synthetic: full text not available"}
        else:
            reason = FT_REASONS[int(rng.integers(len(FT_REASONS)))]
            fate[work.wid] = {"status": "excluded_full_text", "ta": "include", "ta_reason": "", "ft": "exclude",
                              "ft_reason": reason}
    return fate


def decision_key(work: rec.Work) -> dict:
    """How a reviewer's spreadsheet names the work: DOI, PMID, title and year (from the anchor)."""
    anchor = work.copies[0]
    pmid = work.pmid if anchor.source == "pubmed" or any(c.source == "pubmed" for c in work.copies) else ""
    return {"doi": work.doi, "pmid": pmid, "title": work.title, "year": str(work.year)}


def decision_rows(rng, works: list[rec.Work], fate: dict[str, dict], seed: int) -> tuple[list[dict], list[dict]]:
    order = rng.permutation(len(works))
    ta_rows, ft_rows = [], []
    note = f"synthetic (metasr simulate, seed {seed})"
    for i in order:
        work = works[int(i)]
        f = fate[work.wid]
        key = decision_key(work)
        r1 = r2 = f["ta"]
        if rng.random() < REVIEWER_DISAGREEMENT:
            other = "exclude" if f["ta"] == "include" else "include"
            r1, r2 = (other, f["ta"]) if rng.random() < 0.5 else (f["ta"], other)
        ta_rows.append({**key, "decision": f["ta"], "reason": f["ta_reason"], "reviewer1": r1, "reviewer2": r2,
                        "notes": note})
        if f["ta"] == "include":
            ft_rows.append({**key, "decision": f["ft"], "reason": f["ft_reason"], "study_id": f.get("study_id", ""),
                            "notes": note})
    return ta_rows, ft_rows


# ---------------------------------------------------------------- truth: PRISMA counts

def prisma_truth(works: list[rec.Work], fate: dict[str, dict], sources: list[str]) -> dict:
    """The PRISMA 2020 counts the pipeline must report, computed from the simulation's own books."""
    columns = {}
    for column in ("databases", "other"):
        members = [w for w in works if w.column == column]
        identified_by_source = {s: sum(1 for w in works for c in w.copies if c.source == s)
                                for s in sources if (rec.SOURCE_METHOD[s] == "other") == (column == "other")}
        if column == "other" and not identified_by_source:
            continue
        statuses = [fate[w.wid]["status"] for w in members]
        identified = sum(identified_by_source.values())
        screened = len(members)
        excluded = statuses.count("excluded_title_abstract")
        not_retrieved = statuses.count("not_retrieved")
        columns[column] = {
            "identified": identified, "identified_by_source": identified_by_source,
            "duplicates": identified - screened, "screened": screened, "excluded": excluded,
            "excluded_reasons": reason_counts([fate[w.wid]["ta_reason"] for w in members
                                               if fate[w.wid]["status"] == "excluded_title_abstract"]),
            "sought": screened - excluded, "not_retrieved": not_retrieved,
            "assessed": screened - excluded - not_retrieved,
            "reports_excluded": statuses.count("excluded_full_text"),
            "reports_excluded_reasons": reason_counts([fate[w.wid]["ft_reason"] for w in members
                                                       if fate[w.wid]["status"] == "excluded_full_text"]),
            "reports_included": statuses.count("included"),
            "studies_included": len({fate[w.wid]["study_id"] for w in members if fate[w.wid]["status"] == "included"}),
        }
    included = [fate[w.wid] for w in works if fate[w.wid]["status"] == "included"]
    n_records = sum(len(w.copies) for w in works)
    return {"records": {"identified": n_records, "unique": len(works), "duplicates": n_records - len(works)},
            "columns": columns,
            "included": {"studies": len({f["study_id"] for f in included}), "reports": len(included),
                         "report_study_links": len(included), "reports_with_several_studies": 0}}


def reason_counts(reasons: list[str]) -> dict[str, int]:
    return {r: reasons.count(r) for r in EXCLUSION_REASONS if reasons.count(r)}


# ---------------------------------------------------------------- files

def studies_rows(studies: list[Study], outcomes: list[Outcome], seed: int) -> list[dict]:
    used = {t["study_id"] for o in outcomes for t in o.truth}
    rows = []
    for s in studies:
        rows.append({
            "study_id": s.study_id, "record_id": s.record_id, "label": s.label, "first_author": s.first_author,
            "year": str(s.year), "design": s.design.removeprefix("a ").removeprefix("an "), "country": s.country,
            "population": "synthetic participants", "n_total": str(s.n_group1 + s.n_group2),
            "n_group1": str(s.n_group1), "n_group2": str(s.n_group2), "followup_years": f"{s.followup_years:g}",
            "no_data_reason": "" if s.study_id in used else "synthetic: reported none of the simulated outcomes",
            "notes": f"SYNTHETIC study (metasr simulate, seed {seed}); reports: {', '.join(s.report_wids)}",
            "rob_tool": "RoB2", **s.rob,
        })
    return rows


def config_text(args: dict, sources: list[str], outcomes: list[Outcome]) -> str:
    import yaml

    seed = args["seed"]
    config = {
        "review": {
            "id": f"synthetic-seed{seed}",
            "title": f"SYNTHETIC review (metasr simulate, seed {seed}): intervention vs control, "
                     f"{len(outcomes)} outcome{'s' if len(outcomes) > 1 else ''}",
            "question": "synthetic: true. Generated by `metasr simulate` from known true effects (truth.json) to "
                        "test the pipeline at scale; no real study, record or participant is described.",
            "reference": f"metasr simulate --outcomes {args['outcomes']} --studies {args['studies']} "
                         f"--records {args['records']} --seed {seed}",
            "groups": {"experimental": "Intervention", "control": "Control"},
        },
        "search": {
            "sources": {name: {"file": path, "database": database, "method": method}
                        for name, path, database, method, _ in rec.SOURCES if name in sources},
            "dedup": {"overrides": "data/search/dedup_overrides.csv"},
        },
        "screening": {"title_abstract": "data/screening/title_abstract.csv",
                      "full_text": "data/screening/full_text.csv",
                      "allow_unresolved_conflicts": False, "exclusion_reasons": EXCLUSION_REASONS},
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": "data/extraction/narrative.csv", "median_conversion": "luo_shi",
                       "p_value_bounds": "exclude"},
        "defaults": {"method": "REML", "test": "knha"},
        "outcomes": {o.oid: {"label": o.label, "measure": o.measure, "unit": o.unit, "higher_is": o.higher_is,
                             "description": "synthetic outcome; its true effect is in truth.json"}
                     for o in outcomes},
    }
    head = (f"# SYNTHETIC review written by `metasr simulate` (seed {seed}); every record, study and number in\n"
            "# data/ is simulated from the true effects in truth.json. Not a real review.\n")
    return head + yaml.safe_dump(config, sort_keys=False, width=110, allow_unicode=True)


README = """# SYNTHETIC review (metasr simulate)

Everything in this folder is **synthetic**: generated by `metasr simulate` from known true effects,
to test the metasr pipeline for correctness and at scale. No record, study, author, journal or
participant is real: journals and titles are made up, DOIs use the 10.5555 test prefix, PMIDs are
nine-digit numbers above any real PubMed id.

Command: `{command}`

- `config/config.yaml`: the review (the title says SYNTHETIC).
- `data/search/`: search exports ({formats}) with duplicates across and within files.
- `data/screening/`: title/abstract (dual reviewers, consensus decision) and full-text decisions.
- `data/extraction/`: studies sheet and one sheet per outcome, in mixed reported forms.
- `truth.json`: what the files were generated from, and what the pipeline must find: PRISMA
  counts, which records are one work, each outcome's true effect (`theta`, on its
  measure's analysis scale: metasr.measures) and heterogeneity (`tau`), each study's true effect.

Run it: `metasr run <this folder>` runs the whole review into `results/`.
"""


def truth_scale(o: Outcome) -> str:
    """The scale of an outcome's true effects: the measure's analysis scale (raw ones in its unit)."""
    record = measures.get(o.measure)
    if record.standardised or record.transform != "identity":
        return record.analysis_scale
    return f"{record.analysis_scale} ({o.unit})"


def outcome_truth(o: Outcome) -> dict:
    usable = [t for t in o.truth if t["usable"]]
    return {"label": o.label, "measure": o.measure,
            "scale": truth_scale(o),
            "theta": o.theta, "tau": o.tau,
            "sigma": o.sigma if measures.get(o.measure).family == "two-group means" else None,
            "baseline": o.baseline, "k": len(o.truth), "k_usable": len(usable),
            "studies": o.truth}


def simulate_review(out_dir: str | Path, outcomes: int = 3, studies: int = 6, records: int = 200, seed: int = 1,
                    abstract_words: int = 120) -> dict:
    """Write a complete synthetic review into out_dir; return its truth (also in truth.json)."""
    check_parameters(outcomes, studies, records)
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    args = {"outcomes": outcomes, "studies": studies, "records": records, "seed": seed}

    works = simulate_works(rng, records, abstract_words)
    by_source = rec.assign_positions(rng, works)
    sources = [name for name, *_ in rec.SOURCES if by_source[name]]

    pool = studies if outcomes == 1 else math.ceil(studies * 1.25)
    articles = sum(1 for w in works if w.kind == "article" and w.authors)
    if articles < pool * (1 + SECONDARY_REPORT) + 4:
        raise InputError(Problem(message=f"only {articles} articles among {records} records for {pool} studies",
                                 value=str(records), rule="simulate parameters", hint="use more --records"))
    study_list, report_of = make_studies(rng, works, pool)
    fate = screen(rng, works, report_of)
    ta_rows, ft_rows = decision_rows(rng, works, fate, seed)

    outcome_list = []
    for i in range(outcomes):
        outcome = make_outcome(rng, i)
        members = sorted(rng.choice(pool, size=studies, replace=False)) if pool > studies else range(pool)
        simulate_outcome_rows(rng, outcome, [study_list[int(j)] for j in members], seed)
        outcome_list.append(outcome)

    files: dict[str, bytes] = rec.render_exports(by_source)
    files["data/search/dedup_overrides.csv"] = b"record_a,record_b,decision,note\n"
    files["data/screening/title_abstract.csv"] = csv_text(TA_COLUMNS, ta_rows).encode()
    files["data/screening/full_text.csv"] = csv_text(FT_COLUMNS, ft_rows).encode()
    from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_COLUMNS, STUDY_COLUMNS
    study_rows = studies_rows(study_list, outcome_list, seed)
    files["data/extraction/studies.csv"] = csv_text(STUDY_COLUMNS, study_rows).encode()
    files["data/extraction/narrative.csv"] = csv_text(NARRATIVE_COLUMNS, []).encode()
    for o in outcome_list:
        files[f"data/extraction/outcomes/{o.oid}.csv"] = csv_text(OUTCOME_COLUMNS, o.rows).encode()
    files["config/config.yaml"] = config_text(args, sources, outcome_list).encode()
    command = (f"metasr simulate --outcomes {outcomes} --studies {studies} --records {records} --seed {seed}")
    formats = ", ".join(f"{name} ({fmt})" for name, _, _, _, fmt in rec.SOURCES if name in sources)
    files["README.md"] = README.format(command=command, formats=formats).encode()

    truth = {
        "synthetic": True,
        "generator": "metasr simulate",
        "parameters": args,
        "note": "SYNTHETIC data: every file in this folder was simulated from the values below.",
        "sources": {name: len(by_source[name]) for name in sources},
        "prisma": prisma_truth(works, fate, sources),
        "studies": [{"study_id": s.study_id, "label": s.label, "reports": s.report_wids, "record_id": s.record_id,
                     "n_group1": s.n_group1, "n_group2": s.n_group2} for s in study_list],
        "outcomes": {o.oid: outcome_truth(o) for o in outcome_list},
        "works": [{"wid": w.wid, "kind": w.kind, "column": w.column, "status": fate[w.wid]["status"],
                   "study_id": fate[w.wid].get("study_id", ""),
                   "record_ids": [c.record_id for c in w.copies]} for w in works],
    }
    files["truth.json"] = (json.dumps(truth, indent=1) + "\n").encode()

    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return truth
