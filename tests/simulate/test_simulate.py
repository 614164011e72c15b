"""The simulator's outputs, checked with the project's own parsers, validators and statistics
(no snakemake): exports parse to the records it wrote, de-duplication finds exactly its works,
screening counts equal its truth, sheets validate, and pooling recovers the true effects at the
rate a 95% CI promises."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy import stats

from metasr.cli import main as cli_main
from metasr.config import load_config
from metasr.extraction.pipeline import prepare_outcome
from metasr.extraction.sheets import load_studies
from metasr.extraction.validate import validate_review
from metasr.io import write_csv
from metasr.records.pipeline import RECORD_COLUMNS, UNIQUE_COLUMNS, dedup_rows, parse_file
from metasr.screening.pipeline import ScreeningFiles, screen_records
from metasr.simulate import simulate_review
from metasr.stats import effects as escalc_module
from metasr.stats.analysis import split_usable
from metasr.stats.models import fit_rma

PRISMA_KEYS = ("identified", "duplicates", "screened", "excluded", "sought", "not_retrieved", "assessed",
               "reports_excluded", "reports_included", "studies_included")


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def records_review(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim") / "records"
    truth = simulate_review(out, outcomes=2, studies=8, records=2500, seed=11)
    return out, truth


def test_same_seed_gives_byte_identical_files(tmp_path: Path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate_review(a, outcomes=2, studies=5, records=150, seed=7)
    simulate_review(b, outcomes=2, studies=5, records=150, seed=7)
    simulate_review(c, outcomes=2, studies=5, records=150, seed=8)
    assert files_of(a) == files_of(b)
    assert files_of(a).keys() == files_of(c).keys()
    assert files_of(a)["data/search/scopus.ris"] != files_of(c)["data/search/scopus.ris"]


def test_every_file_says_it_is_synthetic(records_review):
    out, truth = records_review
    assert truth["synthetic"] is True
    assert "SYNTHETIC" in (out / "README.md").read_text()
    config = yaml.safe_load((out / "config" / "config.yaml").read_text())
    assert config["review"]["title"].startswith("SYNTHETIC") and "synthetic: true" in config["review"]["question"]
    assert (out / "config" / "config.yaml").read_text().startswith("# SYNTHETIC")
    medline = (out / "data/search/pubmed.nbib").read_text()
    assert medline.count("PMID- ") == medline.count("GN  - SYNTHETIC")
    ris = (out / "data/search/scopus.ris").read_text(encoding="utf-8-sig")
    assert ris.count("TY  - ") == ris.count("N1  - SYNTHETIC")
    assert (out / "data/search/wos.txt").read_text().startswith("FN metasr simulate: SYNTHETIC")
    other = pd.read_csv(out / "data/search/other_sources.csv", dtype=str)
    assert other["note"].str.startswith("SYNTHETIC").all()
    for sheet in ["data/extraction/studies.csv", "data/screening/title_abstract.csv",
                  "data/screening/full_text.csv", *sorted(str(p.relative_to(out)) for p in
                                                          (out / "data/extraction/outcomes").glob("*.csv"))]:
        table = pd.read_csv(out / sheet, dtype=str)
        assert table["notes"].str.contains("(?i)synthetic").all(), sheet


def test_exports_parse_deduplicate_and_screen_to_the_truth(records_review, tmp_path: Path):
    out, truth = records_review
    config = load_config(out / "config" / "config.yaml", root=out)
    rows = []
    formats = set()
    for source, settings in config["search"]["sources"].items():
        parsed = parse_file(out / settings["file"], source=source, database=settings["database"])
        assert len(parsed) == truth["sources"][source], source
        formats.update(r["format"] for r in parsed)
        rows += parsed
    assert formats == {"medline", "ris", "wos", "csv"}
    assert len(rows) == 2500

    records, unique, audit = dedup_rows(rows, out / "data/search/dedup_overrides.csv")
    found: dict[str, set] = {}
    for r in records:
        found.setdefault(r["cluster_id"], set()).add(r["record_id"])
    expected = {frozenset(w["record_ids"]) for w in truth["works"]}
    assert {frozenset(v) for v in found.values()} == expected
    # The duplicates are the realistic kind: across and within files, by every linking rule.
    assert any(len({rid.split(":")[0] for rid in w["record_ids"]}) < len(w["record_ids"]) for w in truth["works"])
    assert {"doi", "pmid", "title"} <= {a["rule"] for a in audit}

    write_csv(tmp_path / "records.csv", RECORD_COLUMNS, records)
    write_csv(tmp_path / "unique.csv", UNIQUE_COLUMNS, unique)
    prisma = screen_records(tmp_path / "records.csv", tmp_path / "unique.csv",
                            out / config["screening"]["title_abstract"], out / config["screening"]["full_text"],
                            config["screening"], config["search"]["sources"], ScreeningFiles.in_folder(tmp_path))
    assert prisma["warnings"] == []
    assert prisma["records"] == truth["prisma"]["records"]
    assert {k: prisma["included"][k] for k in truth["prisma"]["included"]} == truth["prisma"]["included"]
    mapping = prisma["included"]["study_reports"]  # which included reports are whose
    assert (len(mapping), sum(map(len, mapping.values()))) == (truth["prisma"]["included"]["studies"],
                                                               truth["prisma"]["included"]["reports"])
    assert set(prisma["columns"]) == set(truth["prisma"]["columns"])
    for column, counts in prisma["columns"].items():
        want = truth["prisma"]["columns"][column]
        assert {k: counts[k] for k in PRISMA_KEYS} == {k: want[k] for k in PRISMA_KEYS}, column
        assert {r["reason"]: r["n"] for r in counts["excluded_reasons"]} == want["excluded_reasons"]
        assert {r["reason"]: r["n"] for r in counts["reports_excluded_reasons"]} == want["reports_excluded_reasons"]
    agreement = prisma["agreement"]["title_abstract"]
    assert agreement and 0 < agreement.get("kappa", 0) < 1


def test_sheets_validate_without_errors(records_review):
    out, _ = records_review
    config = load_config(out / "config" / "config.yaml", root=out)
    problems = validate_review(config, out)
    assert [p.format() for p in problems if p.severity == "error"] == []
    # Small normal samples are sometimes asymmetric in their quartiles or range; the validator
    # says so (a warning) and that is the only thing it may say.
    assert {p.rule for p in problems} <= {"skewness"}


def test_every_reported_form_occurs():
    # Forms are drawn per row; over enough rows every one the simulator knows appears.
    import numpy as np

    from metasr.simulate import effects as simulated_effects

    rng = np.random.default_rng(3)
    study = simulated_effects.Study("S1", "A 2020", "A", 2020, 60, 60, 1.0, "pubmed:0", ["W1"], "Spain", "a trial")
    seen = set()
    for i in range(60):
        outcome = simulated_effects.make_outcome(rng, i)
        simulated_effects.simulate_outcome_rows(rng, outcome, [study] * 20, seed=3)
        seen |= {(outcome.measure, t["form"]) for t in outcome.truth}
    forms = {f for _, f in seen}
    assert set(simulated_effects.CONTINUOUS_FORMS) - {"p_value"} <= forms | {"p_value"}
    assert {"events_n", "events_persontime", "effect_ci", "direction_only", "p_value", "t_stat"} <= forms


def pooled_model(sheet: Path, studies: list[dict], oid: str, outcome: dict, extraction: dict, tmp: Path):
    table_csv = tmp / f"{oid}.csv"
    prepare_outcome(sheet, studies, oid, outcome, extraction, table_csv)
    table, _ = split_usable(pd.read_csv(table_csv, dtype={"study_id": str, "label": str, "record_id": str}))
    table = escalc_module.escalc(table, outcome["measure"])
    fit = fit_rma(table["yi"].to_numpy(float), table["vi"].to_numpy(float), method=outcome["method"],
                  test=outcome["test"], measure=outcome["measure"])
    return len(table), fit.to_dict()


def test_pooled_estimates_recover_true_effects_at_the_nominal_rate(tmp_path: Path):
    """200 outcomes: the 95% CI must cover the true effect about 95% of the time. The bounds are
    the binomial(200, 0.95) 0.1% and 99.9% quantiles: a conversion bias or a wrong variance would
    push the count out of them."""
    out = tmp_path / "many"
    truth = simulate_review(out, outcomes=200, studies=8, records=200, seed=2024)
    config = load_config(out / "config" / "config.yaml", root=out)
    studies = load_studies(out / "data/extraction/studies.csv").to_dict(orient="records")
    studies = [{k: ("" if v is None else str(v)) for k, v in s.items()} for s in studies]
    covered, z_sum, n = 0, 0.0, 0
    measures = set()
    for oid, true in truth["outcomes"].items():
        k, model = pooled_model(out / f"data/extraction/outcomes/{oid}.csv", studies, oid,
                                config["outcomes"][oid], config["extraction"], tmp_path)
        assert k == true["k_usable"], oid
        covered += model["ci_lb"] <= true["theta"] <= model["ci_ub"]
        z_sum += (model["estimate"] - true["theta"]) / model["se"]
        n += 1
        measures.add(true["measure"])
    assert measures == {"SMD", "MD", "RR", "OR", "IRR"}
    low, high = stats.binom.ppf([0.001, 0.999], n, 0.95)
    assert low <= covered <= high, f"{covered}/{n} CIs cover the true effect"
    # No systematic bias: the mean standardised error is within 3.5 SE of zero (the z's are
    # over-dispersed a little by tau, so this is loose but still catches a sign or scale error).
    assert abs(z_sum / math.sqrt(n)) < 3.5 * 1.3


def test_cli_writes_a_review_and_refuses_to_overwrite(tmp_path: Path, capsys):
    out = tmp_path / "cli"
    args = ["simulate", "--outcomes", "1", "--studies", "4", "--records", "80", "--seed", "3", "--out", str(out)]
    assert cli_main(args) == 0
    assert "SYNTHETIC review written" in capsys.readouterr().out
    truth = json.loads((out / "truth.json").read_text())
    assert truth["parameters"] == {"outcomes": 1, "studies": 4, "records": 80, "seed": 3}
    assert "metasr simulate --outcomes 1 --studies 4 --records 80 --seed 3" in (out / "README.md").read_text()
    assert cli_main(args) == 2
    assert "already holds a review" in capsys.readouterr().err
    assert cli_main(["simulate", "--studies", "30", "--records", "20", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "too few" in err and "Traceback" not in err
