"""End to end: small-study effects and meta-regression configured per outcome, from the extraction
sheet through the pooled JSON, the funnel and bubble plots to the report.

The data are the BCG vaccine trials (Colditz et al. 1994) as metafor's dat.bcg holds them
(tests/fixtures/metafor/inputs/bcg.csv: 2x2 tables, absolute latitude `ablat`, allocation), in a
review folder without a search stage (metadat has no bibliographic records). Outcome `tb` has all
13 trials: every small-study method runs and the meta-regression on latitude is drawn; `tb_early`
has the 8 earliest (a SUBSET of the real data, to see what is said when k is too small). The
pooled numbers are compared with `metasr pool` on the same table, whose methods are checked
against metafor in tests/stats and tests/commands.
"""

from __future__ import annotations

import copy
import csv
import json
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from harness import finished_review, read_pooled, write_config, write_rows

pytestmark = pytest.mark.slow

BCG = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv"
METASR = str(Path(sys.executable).with_name("metasr"))
SHEET_COLUMNS = ["study_id", "comparison", "reported_form", "events1", "n1", "events2", "n2", "record_id",
                 "source_location"]
SMALL_STUDY = {"selmodel": {"alternative": "less"}}  # protective effects: selection favours ratios below 1
META_REGRESSION = {"moderators": ["ablat"], "permutations": 1000}



def bcg_review(root: Path) -> Path:
    with open(BCG, newline="", encoding="utf-8") as fh:
        trials = list(csv.DictReader(fh))
    studies, sheet = [], []
    for i, t in enumerate(trials, start=1):
        sid = f"bcg{i:02d}"
        studies.append({"study_id": sid, "record_id": "metadat::dat.bcg", "label": t["study"], "year": t["year"],
                        "ablat": t["ablat"], "design": f"{t['alloc']} allocation"})
        sheet.append({"study_id": sid, "comparison": "BCG vaccine vs none", "reported_form": "events_n",
                      "events1": t["ai"], "n1": int(t["ai"]) + int(t["bi"]), "events2": t["ci"],
                      "n2": int(t["ci"]) + int(t["di"]), "record_id": "metadat::dat.bcg",
                      "source_location": f"metadat::dat.bcg, row {i}"})
    data = root / "data" / "extraction"
    write_rows(data / "studies.csv", ["study_id", "record_id", "label", "year", "ablat", "design"], studies)
    write_rows(data / "outcomes" / "tb.csv", SHEET_COLUMNS, sheet)
    write_rows(data / "outcomes" / "tb_early.csv", SHEET_COLUMNS,
               sorted(sheet, key=lambda r: studies[int(r["study_id"][3:]) - 1]["year"])[:8])
    settings = {"measure": "RR", "small_study": SMALL_STUDY, "meta_regression": META_REGRESSION}
    config = {
        "review": {"id": "bcg", "title": "BCG vaccine against tuberculosis (metadat dat.bcg)",
                   "reference": "Colditz et al. 1994, as metafor's dat.bcg"},
        "extraction": {"studies": "data/extraction/studies.csv", "outcomes_dir": "data/extraction/outcomes",
                       "narrative": None},
        "defaults": {"method": "REML"},
        "outcomes": {"tb": {"label": "Tuberculosis", **copy.deepcopy(settings)},
                     "tb_early": {"label": "Tuberculosis, 8 earliest trials", **copy.deepcopy(settings)}},
    }
    return write_config(root, config)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return finished_review(bcg_review(tmp_path_factory.mktemp("smallstudy") / "review"))


def metasr_pool(table: Path, *args: str) -> dict:
    proc = subprocess.run([METASR, "pool", str(table), "--measure", "RR", "--method", "REML", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_small_study_method_equals_metasr_pool(finished):
    small = read_pooled(finished, "tb")["small_study"]
    cli = metasr_pool(finished / "results" / "extraction" / "tb.csv", "--pet-peese", "--selmodel", "stepfun",
                      "--steps", "0.025", "--selmodel-alternative", "less")
    assert small["reported_egger"] == "egger" and small["egger"]["model"] == "rma"
    for key in ("egger", "egger_lm", "begg", "trimfill", "pet_peese"):
        got = {k: v for k, v in small[key].items() if k not in ("slope", "limit_ci_lb", "limit_ci_ub")}
        assert got == cli[key], key
    for key in ("beta", "se", "tau2", "delta", "LRT", "LRTp", "k_per_interval"):
        assert small["selmodel"][key] == pytest.approx(cli["selmodel"][key], rel=1e-9), key


def test_the_meta_regression_equals_metasr_pool(finished, tmp_path):
    regression = read_pooled(finished, "tb")["meta_regression"]
    with open(finished / "results" / "extraction" / "tb.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(finished / "data" / "extraction" / "studies.csv", newline="") as fh:
        ablat = {r["study_id"]: r["ablat"] for r in csv.DictReader(fh)}
    table = tmp_path / "tb_ablat.csv"
    write_rows(table, list(rows[0]) + ["ablat"], [{**r, "ablat": ablat[r["study_id"]]} for r in rows])
    cli = metasr_pool(table, "--mods", "ablat", "--permutations", "1000", "--seed", "1")
    for key in ("coef_names", "coef", "se", "pval", "ci_lb", "ci_ub", "QM", "QM_pval", "tau2", "R2"):
        assert regression[key] == cli[key], key
    assert regression["permutest"] == cli["permutest"]
    assert regression["formula"] == "ablat" and regression["k"] == 13 and regression["omitted"] == []
    line = regression["moderators"][0]["line"]
    assert len(line["x"]) == 100
    assert all(lb < p < ub for lb, p, ub in zip(line["ci_lb"], line["pred"], line["ci_ub"], strict=True))


def test_too_few_studies_skip_with_their_reasons(finished):
    early = read_pooled(finished, "tb_early")
    assert early["k"] == 8
    assert early["small_study"]["skipped"] == "k = 8 < 10: small-study methods not run (Cochrane Handbook 13.3.5.4)"
    assert early["meta_regression"]["skipped"].startswith("k = 8 for 1 moderator coefficient")
    figures = finished / "results" / "figures"
    assert (figures / "tb_bubble.svg").is_file() and not (figures / "tb_early_bubble.svg").exists()


def test_figures_show_the_one_reported_egger_test_and_the_regression(finished):
    egger = read_pooled(finished, "tb")["small_study"]["egger"]
    funnel = (finished / "results" / "figures" / "tb_funnel.svg").read_text()
    assert f"Egger's test P = {egger['pval']:.2f}" in funnel
    bubble = (finished / "results" / "figures" / "tb_bubble.svg").read_text()
    assert "ablat" in bubble and "Risk ratio (log scale)" in bubble and "R² = 75.6%" in bubble


def test_the_report_has_every_section_with_its_caveats_and_reasons(finished):
    html = unescape((finished / "results" / "report.html").read_text())
    tb = html.split('id="outcome-tb"')[1].split("</section>")[0]
    small = tb.split('data-table="tb_small_study"')[1].split("</table>")[0]
    for method in ("Egger's regression test", "Begg's rank correlation", "Trim and fill", "PET-PEESE",
                   "Selection model"):
        assert method in small
    assert "asymmetry has causes other than publication bias" in small and "not a correction" in small
    assert "low power" not in small  # k = 13: as many studies as the Handbook asks for
    assert "not run" not in small
    p = read_pooled(finished, "tb")["small_study"]["egger"]["pval"]
    assert f"P = {p:.3f}" in small
    assert tb.index('data-figure="tb_funnel"') < tb.index('data-table="tb_small_study"')  # funnel first
    regression = tb.split('data-table="tb_meta_regression"')[1].split("</table>")[0]
    assert "ablat" in regression and "Permutation P" in regression
    assert tb.index('data-table="tb_meta_regression"') < tb.index('data-figure="tb_bubble"')
    early = html.split('id="outcome-tb_early"')[1].split("</section>")[0]
    assert "Small-study methods were not run: k = 8 < 10" in early
    assert "Meta-regression not run: k = 8 for 1 moderator coefficient" in early
    assert 'data-figure="tb_early_bubble"' not in early
