"""End to end on real-shaped results: metasr.stats.analysis.pool_outcome on the metafor reference
data sets (tests/fixtures/metafor) -> every figure -> the report, numbers checked against metafor."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from metasr.figures.summary import plot_summary_file
from metasr.outputs import FigureContext
from metasr.report import html
from metasr.stats import analysis
from metasr.workflow.outcomes import draw_outcome_figure

METAFOR = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = {"bcg": ("RR", "bcg_RR_REML_z"), "hart1999": ("IRR", "hart1999_IRR_REML_z"),
         "normand1999": ("SMD", "normand1999_SMD_REML_z")}


def pooled_file(tmp_path, dataset):
    measure, _ = CASES[dataset]
    table = pd.read_csv(METAFOR / "inputs" / f"{dataset}.csv")
    table["label"] = table["study"].astype(str)
    table["study_id"] = table["label"]
    table["usable"] = True
    if "year" not in table:
        table["year"] = 2000
    result = analysis.pool_outcome(table, measure, "REML", "z", order_by="year", outcome=dataset,
                                   label=f"{dataset} ({measure})")
    path = tmp_path / f"{dataset}.json"
    path.write_text(json.dumps(result))
    return path, result


@pytest.fixture(scope="module")
def expected():
    cases = json.loads((METAFOR / "expected.json").read_text())["cases"]
    return {c["id"]: c["expected"] for c in cases}


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_figures_and_report_from_pool_outcome(tmp_path, dataset, expected, review_config):
    path, result = pooled_file(tmp_path, dataset)
    measure, case = CASES[dataset]
    want = expected[case]
    ratio = measure in {"RR", "IRR"}
    back = math.exp if ratio else (lambda x: x)
    pooled_text = (f"{back(want['estimate']):.2f} [{back(want['ci_lb']):.2f}, "
                   f"{back(want['ci_ub']):.2f}]").replace("-", "−")  # true minus signs

    figures = {}
    for kind in ("forest", "funnel", "leave1out", "cumulative", "baujat"):
        figures[f"{dataset}_{kind}"] = tmp_path / f"{dataset}_{kind}.svg"
    context = FigureContext(figure={"higher_is": "worse"}, review=review_config["review"])
    draw_outcome_figure("forest", path, context, figures[f"{dataset}_forest"], tmp_path / "forest.png")
    draw_outcome_figure("funnel", path, context, figures[f"{dataset}_funnel"], tmp_path / "funnel.png")
    for kind in ("leave1out", "cumulative", "baujat"):
        draw_outcome_figure(kind, path, context, figures[f"{dataset}_{kind}"])
    plot_summary_file([path], review_config, tmp_path / "summary.svg", tmp_path / "summary.png")

    forest = figures[f"{dataset}_forest"].read_text()
    assert pooled_text in forest
    # heterogeneity reads the same in the forest plot and the report's table (metasr.display)
    assert f"I² = {want['I2']:.1f}%" in forest and f"Tau² = {want['tau2']:.3f}" in forest
    if measure == "IRR":
        assert "Person-time" in forest
    cumulative = figures[f"{dataset}_cumulative"].read_text()
    assert pooled_text in cumulative  # the last cumulative step is the full analysis
    assert pooled_text in (tmp_path / "summary.svg").read_text()

    out = tmp_path / "report.html"
    html.write_report(review_config, [path], [], None, None, figures, None, None, [path], out)
    text = out.read_text()
    assert pooled_text in text
    assert "<th scope=\"row\">I²" in text and f">{want['I2']:.1f}%" in text and f"{want['tau2']:.3f}" in text
    assert all(f'data-figure="{key}"' in text for key in figures)
    if result["k"] >= 10:
        assert "Egger" in text and "Trim and fill" in text and "PET-PEESE" in text
