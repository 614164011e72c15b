"""Leave-one-out, cumulative and Baujat figures."""

import numpy as np
import pytest

from metasr.figures import sensitivity
from metasr.figures.style import save_figure


def test_files_written_with_metafor_numbers(bcg_pooled, tmp_path):
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "pooled" / "bcg_rr.json"
    paths = [tmp_path / f"{n}.svg" for n in ("l1o", "cum", "baujat")]
    from metasr.outputs import FigureContext
    from metasr.workflow.outcomes import draw_outcome_figure

    for kind, path in zip(("leave1out", "cumulative", "baujat"), paths, strict=True):
        draw_outcome_figure(kind, fixture, FigureContext(), path)
    l1o, cum, baujat = (p.read_text() for p in paths)
    # metafor leave1out: omitting TPT Madras 1980 gives exp(-0.7948) = 0.45 [0.32, 0.64]
    assert "Omitting TPT Madras 1980" in l1o and "0.45 [0.32, 0.64]" in l1o
    # metafor cumul by year: first study alone, then the full estimate last
    assert cum.index("+ Aronson 1948") < cum.index("+ TPT Madras 1980")
    assert "0.49 [0.34, 0.70]" in cum
    assert "TPT Madras 1980" in baujat


def test_baujat_coordinates_sum_to_q_of_common_effect(bcg_pooled):
    yi = np.array([s["yi"] for s in bcg_pooled["studies"]])
    vi = np.array([s["vi"] for s in bcg_pooled["studies"]])
    x, y = sensitivity.baujat_coordinates(yi, vi)
    assert x.sum() == pytest.approx(bcg_pooled["model"]["Q"], rel=1e-9)  # Q does not depend on tau2
    assert (y >= 0).all()


@pytest.mark.parametrize("k", [1, 2])
def test_small_k_says_why(synthetic_pooled, tmp_path, k):
    pooled = synthetic_pooled(k)
    for name, fig in (("l1o", sensitivity.plot_leave1out(pooled)),
                      ("baujat", sensitivity.plot_baujat(pooled))):
        save_figure(fig, tmp_path / f"{name}.svg")
        assert f"(k = {k})" in (tmp_path / f"{name}.svg").read_text()


def test_two_hundred_studies_labels_do_not_collide(synthetic_pooled, tmp_path):
    pooled = synthetic_pooled(200, seed=3)
    save_figure(sensitivity.plot_baujat(pooled), tmp_path / "b.svg")
    save_figure(sensitivity.plot_cumulative(pooled), tmp_path / "c.svg")
    text = (tmp_path / "c.svg").read_text()
    assert text.count("+ Synthetic study") == 200
    named = (tmp_path / "b.svg").read_text().count("Synthetic study")
    assert 1 <= named <= 10


def test_leave1out_reference_without_its_interval(bcg_pooled, tmp_path):
    # The full-data estimate without a CI (null bounds in the JSON) used to stop the figure with a
    # TypeError where the reference band and diamond are cut at the axis limits.
    pooled = {**bcg_pooled, "model": {**bcg_pooled["model"], "ci_lb": None, "ci_ub": None}}
    figure = sensitivity.plot_leave1out(pooled)
    axes = figure.axes[0]
    assert len(axes.patches) == 0  # neither the reference band nor its diamond
    assert len(axes.lines) == 2  # the null line and the full-data estimate's dashed line
    save_figure(figure, tmp_path / "l1o.svg")
    assert "All studies" in (tmp_path / "l1o.svg").read_text()


def test_a_cumulative_analysis_that_did_not_run_gives_its_reason_once(bcg_pooled, tmp_path):
    reason = "'year' is missing for 13 of 13 studies"
    pooled = {**bcg_pooled, "sensitivity": {**bcg_pooled["sensitivity"],
                                            "cumulative": {"order_by": "year", "skipped": reason}}}
    save_figure(sensitivity.plot_cumulative(pooled), tmp_path / "c.svg")
    text = (tmp_path / "c.svg").read_text()
    assert text.count(reason) == 1 and "at least 2 pooled studies" not in text


@pytest.mark.parametrize("method, x, y", [
    ("MH", [0.582794058289, 6.58181774627, 1.92572902785, 48.7670885528],
     [0.00349138429806, 0.103158551724, 0.0116431558283, 7.63225855773]),
    ("PETO", [0.526620728052, 7.11623869471, 1.92795201767, 48.5674793693],
     [0.00309616407664, 0.0985242193462, 0.010887685096, 7.03527147509])])
def test_the_baujat_plot_of_a_mantel_haenszel_or_peto_fit_is_metafors(method, x, y, tmp_path):
    """metafor 3.8-1: baujat(rma.mh(measure = "RR", ...)) and baujat(rma.peto(...)) on dat.bcg (first
    four trials); they were drawn from the inverse-variance common-effect model."""
    from pathlib import Path

    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    table = bcg[["ai", "bi", "ci", "di", "year"]].assign(study_id=[f"S{i}" for i in range(len(bcg))])
    pooled = pool_outcome(table, "RR" if method == "MH" else "OR", method)
    studies, got_x, got_y = sensitivity.table_baujat_coordinates(pooled)
    assert len(studies) == 13 and np.allclose(got_x[:4], x, rtol=1e-9) and np.allclose(got_y[:4], y, rtol=1e-9)
    save_figure(sensitivity.plot_baujat(pooled), tmp_path / "baujat.svg")
    assert ("Mantel-Haenszel model" if method == "MH" else "Peto model") in (tmp_path / "baujat.svg").read_text()


def test_cumulative_tau2_column_has_one_format():
    column = sensitivity.tau2_column([0.0, 0.00015, 0.0499, None])
    assert column == ["0.00000", "0.00015", "0.04990", ""]
    assert sensitivity.tau2_column([0.0, 0.05]) == ["0.000", "0.050"]


def _label_boxes(fig):
    """Each annotation's text and its box in display units, drawn."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = fig.axes[0].texts
    return {t.get_text(): t.get_window_extent(renderer) for t in texts}


def test_baujat_names_the_most_outlying_studies_moving_labels_that_would_collide():
    """dat.nielweise2007's OR Baujat plot named Marik 1999 near the origin while Raad 1997 and
    Brun-Buisson 2004, further out, went unnamed: their labels would have overlapped those placed
    before them, and were dropped instead of moved."""
    import matplotlib.pyplot as plt

    from metasr.figures import style

    # two outliers next to each other (labels beside them collide), a cluster near the origin
    x = np.array([4.7, 4.1, 1.43, 1.64, 0.24, 0.67, 0.29, 1.68] + [0.05 + 0.01 * i for i in range(10)])
    y = np.array([0.19, 0.25, 0.047, 0.053, 0.079, 0.078, 0.13, 0.27] + [0.001 * i for i in range(10)])
    studies = [{"study_id": f"S{i}", "label": f"Study number {i}"} for i in range(len(x))]
    assert sorted(sensitivity.baujat_outlying(x, y)) == list(range(8))
    with style.style():
        fig = style.new_figure(6.0, 4.8)
        ax = fig.add_axes([0.12, 0.12, 0.82, 0.72])
        ax.set_xlim(0, x.max() * 1.25)
        ax.set_ylim(0, y.max() * 1.2)
        sensitivity._label_outliers(ax, studies, x, y, x.max() * 1.25, y.max() * 1.2, 0.82 * 6.0, 0.72 * 4.8)
        boxes = _label_boxes(fig)
    plt.close(fig)
    assert set(boxes) == {f"Study number {i}" for i in range(8)}
    listed = list(boxes.values())
    assert not any(a.overlaps(b) for i, a in enumerate(listed) for b in listed[i + 1:])


def test_baujat_subtitle_states_which_studies_are_named(synthetic_pooled, tmp_path):
    save_figure(sensitivity.plot_baujat(synthetic_pooled(20, seed=3)), tmp_path / "b.svg")
    text = (tmp_path / "b.svg").read_text()
    assert "the 8 most outlying named" in text and text.count("Synthetic study") == 8
    save_figure(sensitivity.plot_baujat(synthetic_pooled(5, seed=3)), tmp_path / "b5.svg")
    assert "every study named" in (tmp_path / "b5.svg").read_text()


def test_leave1out_rows_follow_the_forest_order_with_their_own_numbers(bcg_pooled, tmp_path):
    """A three-level outcome's leave-one-out block lists studies by id as text ('District 108 2000'
    before 'District 11 1976'); the plot beside the forest now lists them in the forest's order."""
    import html

    from metasr.outputs import FigureContext

    l1o = bcg_pooled["sensitivity"]["leave1out"]
    studies = bcg_pooled["studies"]
    order = sorted(range(len(studies)), key=lambda i: str(studies[i]["study_id"]), reverse=True)
    shuffled = {**bcg_pooled, "studies": [studies[i] for i in order],
                "sensitivity": {**bcg_pooled["sensitivity"],
                                "leave1out": {k: [v[i] for i in order] if isinstance(v, list) else v
                                              for k, v in l1o.items()}}}
    save_figure(sensitivity.leave1out_figure(shuffled, FigureContext()), tmp_path / "l.svg")
    text = (tmp_path / "l.svg").read_text()
    years = sorted(studies, key=lambda s: (s["year"], s["label"]))
    positions = [text.index(html.escape(f"Omitting {s['label']}", quote=False)) for s in years]
    assert positions == sorted(positions) and "Study omitted (by year)" in text
    # each row keeps its own numbers: omitting TPT Madras 1980 gives 0.45 [0.32, 0.64] (metafor)
    row = text[text.index("Omitting TPT Madras 1980"):]
    assert "0.45 [0.32, 0.64]" in row[:min(i for i in (row.find("Omitting", 10), row.find("All studies")) if i > 0)]
    save_figure(sensitivity.leave1out_figure(shuffled, FigureContext(figure={"forest": {"sort_by": "none"}})),
                tmp_path / "n.svg")
    assert "Study omitted</text>" in (tmp_path / "n.svg").read_text()


def test_leave1out_and_cumulative_axes_name_the_measure_and_scale(bcg_pooled, tmp_path):
    """Their effect axes had no title: a reader could not tell an odds ratio's log axis."""
    for name, fig in (("l", sensitivity.plot_leave1out(bcg_pooled)), ("c", sensitivity.plot_cumulative(bcg_pooled))):
        save_figure(fig, tmp_path / f"{name}.svg")
        assert ">Risk ratio (log scale)</text>" in (tmp_path / f"{name}.svg").read_text()


def test_baujat_labels_are_cut_in_the_middle_and_never_alike(tmp_path):
    """Two reports of one trial showed as the same 'Abernathy-Kowalczyk, Smithso…' (tester, 12 SYNTHETIC studies)."""
    long = "Abernathy-Kowalczyk, Smithson-Johnstone and the Collaborative Cardiovascular Trials Group"
    studies = [{"study_id": f"S{i}", "label": f"Study {i}", "year": 2000 + i, "yi": 0.1 * i, "vi": 0.02 + 0.01 * i}
               for i in range(10)]
    studies[0].update(label=long, yi=2.0, year=2001)
    studies[1].update(label=long + " (second report)", yi=-1.5, year=2003)
    pooled = {"outcome": "o", "label": "O", "measure": "GEN", "method": "REML", "test": "z", "studies": studies,
              "model": {"estimate": 0.3}}
    fig = sensitivity.plot_baujat(pooled)
    texts = [t.get_text() for t in fig.axes[0].texts]
    named = [t for t in texts if t.startswith("Abernathy")]
    assert len(named) == 2 and len(set(named)) == 2 and all(t.endswith(("2001", "2003")) for t in named)
    save_figure(fig, tmp_path / "baujat.svg")
    assert f"<title>{long} 2001</title>" in (tmp_path / "baujat.svg").read_text()
