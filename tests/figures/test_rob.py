"""Risk-of-bias figures: judgements drawn as given, 'not assessed' never invented, bad values caught."""

import csv

import pytest

from metasr.errors import InputError
from metasr.figures import rob, style

HEADER = ["study_id", "label", "year", "rob_tool", "rob_selection", "rob_comparability", "rob_outcome",
          "rob_randomisation", "rob_deviations", "rob_missing", "rob_measurement",
          "rob_reporting", "rob_overall"]


def sheet(tmp_path, rows):
    path = tmp_path / "studies.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in HEADER})
    return path


def draw(tmp_path, path):
    files = [tmp_path / n for n in ("tl.svg", "tl.png", "sum.svg", "sum.png")]
    rob.plot_rob_files(path, *files)
    return files[0].read_text(), files[2].read_text()


def test_no_judgements_says_not_assessed(tmp_path):
    path = sheet(tmp_path, [{"study_id": "A", "label": "SYNTHETIC A"},
                            {"study_id": "B", "label": "SYNTHETIC B"}])
    traffic, summary = draw(tmp_path, path)
    for text in (traffic, summary):
        assert "Not assessed" in text and "2 included studies" in text
        assert "SYNTHETIC A" not in text  # no rows of invented judgements


def test_judgements_are_drawn_per_tool(tmp_path):
    path = sheet(tmp_path, [  # SYNTHETIC judgements
        {"study_id": "A", "label": "Alpha 2020", "rob_tool": "NOS", "rob_selection": "Low",
         "rob_comparability": "some  concerns", "rob_outcome": "high", "rob_overall": "high"},
        {"study_id": "B", "label": "Beta 2021", "rob_tool": "RoB2", "rob_randomisation": "low",
         "rob_overall": "some concerns"},
        {"study_id": "C", "label": "Gamma 2022"},
    ])
    traffic, summary = draw(tmp_path, path)
    assert "Newcastle–Ottawa Scale" in traffic and "RoB 2" in traffic
    assert "Alpha 2020" in traffic and "Beta 2021" in traffic
    assert "Not assessed (1): Gamma 2022" in traffic
    assert "Newcastle–Ottawa Scale (n = 1)" in summary and "D1 Randomisation process" in summary


def test_unknown_values_are_reported_with_location(tmp_path):
    path = sheet(tmp_path, [{"study_id": "A", "rob_tool": "GRADE", "rob_overall": "medium"},
                            {"study_id": "B", "rob_selection": "low"}])
    with pytest.raises(InputError) as error:
        rob.read_judgements(path)
    found = {(p.row, p.column) for p in error.value.problems}
    assert found == {(2, "rob_tool"), (2, "rob_overall"), (3, "rob_tool")}


NEW_TOOLS_HEADER = HEADER + ["rob_confounding", "rob_classification", "rob_patient_selection",
                             "rob_index_test", "rob_reference_standard", "rob_flow_timing"]


def test_every_tool_is_drawn_with_its_domains_and_derived_overall(tmp_path):
    rows = [  # SYNTHETIC judgements
        {"study_id": "A", "label": "Alpha 2020", "rob_tool": "ROBINS-I", "rob_confounding": "serious",
         "rob_classification": "low", "rob_selection": "low", "rob_deviations": "moderate",
         "rob_missing": "low", "rob_measurement": "low", "rob_reporting": "low"},
        {"study_id": "B", "label": "Beta 2021", "rob_tool": "QUADAS-2", "rob_patient_selection": "low",
         "rob_index_test": "unclear", "rob_reference_standard": "low", "rob_flow_timing": "low"},
        {"study_id": "C", "label": "Gamma 2022", "rob_tool": "NOS", "rob_selection": "4",
         "rob_comparability": "2", "rob_outcome": "3"},
    ]
    path = tmp_path / "studies.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=NEW_TOOLS_HEADER)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in NEW_TOOLS_HEADER} for r in rows)
    studies = {s.study_id: s for s in rob.read_judgements(path)}
    assert studies["A"].overall == "serious" and studies["A"].derived
    assert studies["B"].overall == "unclear" and studies["C"].overall == "low"
    traffic, summary = draw(tmp_path, path)
    for name in ("ROBINS-I V2 D1: Confounding", "QUADAS-2 D4: Flow and timing", "4★",
                 "overall judgement derived", "Serious", "Unclear"):
        assert name in traffic
    assert "ROBINS-I V2 (n = 1)" in summary and "Studies (%)" in summary


def test_summary_weighted_by_an_analysis(tmp_path):
    path = sheet(tmp_path, [  # SYNTHETIC judgements
        {"study_id": "A", "label": "A", "rob_tool": "RoB2", "rob_overall": "low"},
        {"study_id": "B", "label": "B", "rob_tool": "RoB2", "rob_overall": "high"},
        {"study_id": "C", "label": "C", "rob_tool": "RoB2", "rob_overall": "high"},
    ])
    studies = rob.read_judgements(path)
    weights = rob.analysis_weights({"studies": [{"study_id": "A", "weight": 75.0},
                                                {"study_id": "B", "weight": 25.0}]})
    fig = rob.plot_rob_summary(studies, weights, "EDSS")
    bars = sorted((round(p.get_x(), 6), round(p.get_width(), 6)) for p in fig.axes[0].patches
                  if p.get_width() > 0 and p.get_y() > 6)  # the overall row (row 7)
    assert bars == [(0.0, 75.0), (75.0, 25.0)]  # C is not in the analysis: left out
    assert "Share of the whole weight in the analysis of EDSS (%)" == fig.axes[0].get_xlabel()
    unweighted = rob.plot_rob_summary(studies)
    bars = sorted(round(p.get_width(), 4) for p in unweighted.axes[0].patches
                  if p.get_width() > 0 and p.get_y() > 6)
    assert bars == [33.3333, 66.6667]


def overall_bars(fig):
    """(left, width, colour) of the overall row's bars (the last row of the one RoB 2 block)."""
    return sorted((round(p.get_x(), 6), round(p.get_width(), 6), p.get_facecolor()[:3])
                  for p in fig.axes[0].patches if p.get_width() > 0 and p.get_y() > 6)


def test_weighted_summary_shows_the_unassessed_weight_as_not_assessed(tmp_path):
    """Bars are shares of the whole analysis' weight: a study of the analysis without a judgement is
    the grey share, not re-normalised away (SYNTHETIC judgements and weights)."""
    from matplotlib.colors import to_rgb

    path = sheet(tmp_path, [{"study_id": "A", "label": "A", "rob_tool": "RoB2", "rob_overall": "low"},
                            {"study_id": "B", "label": "B"}, {"study_id": "C", "label": "C"}])
    studies = rob.read_judgements(path)
    weights = {"A": 20.0, "B": 50.0, "C": 30.0}
    fig = rob.plot_rob_summary(studies, weights, "EDSS")
    grey, green = to_rgb(rob.JUDGEMENTS[""][0]), to_rgb(rob.JUDGEMENTS["low"][0])
    assert overall_bars(fig) == [(0.0, 20.0, green), (20.0, 80.0, grey)]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "RoB 2 (n = 1, 20% of the weight)" in texts


def test_summary_weighted_by_an_outcome_that_was_not_pooled_falls_back_with_a_note(tmp_path):
    path = sheet(tmp_path, [{"study_id": "A", "label": "A", "rob_tool": "RoB2", "rob_overall": "low"},
                            {"study_id": "B", "label": "B", "rob_tool": "RoB2", "rob_overall": "high"}])
    single = tmp_path / "single.json"  # SYNTHETIC: k = 1, not pooled
    single.write_text('{"outcome": "edss", "label": "EDSS", "status": "single_study", '
                      '"status_message": "k = 1: not pooled", "studies": [{"study_id": "A", "weight": 100.0}]}')
    files = [tmp_path / n for n in ("tl.svg", "tl.png", "sum.svg", "sum.png")]
    rob.plot_rob_files(path, *files, weights_json=single)
    summary = files[2].read_text()
    assert "Not weighted: EDSS was not pooled (k = 1: not pooled); each study counts once." in summary
    assert "Studies (%)" in summary and "100% of the weight" not in summary


def test_traffic_light_headers_keep_apart_and_the_key_gives_the_nos_words(tmp_path):
    path = sheet(tmp_path, [  # SYNTHETIC judgements
        {"study_id": "A", "label": "Alpha 2020", "rob_tool": "NOS", "rob_selection": "good",
         "rob_comparability": "fair", "rob_outcome": "poor", "rob_overall": "poor"},
        {"study_id": "B", "label": "Beta 2021", "rob_tool": "RoB2", "rob_randomisation": "low",
         "rob_deviations": "low", "rob_missing": "low", "rob_measurement": "low", "rob_reporting": "high",
         "rob_overall": "high"},
    ])
    fig = rob.plot_traffic_light(rob.read_judgements(path))

    def width(text: str) -> float:  # as the figures measure it
        return style.text_width_in(text, rob.HEADER_SIZE, "bold")

    by_panel: dict[float, list] = {}
    for t in fig.texts:
        if t.get_fontsize() == rob.HEADER_SIZE:
            by_panel.setdefault(t.get_position()[1], []).append(t)
    assert sorted(len(texts) for texts in by_panel.values()) == [4, 6]  # NOS D1-D3, RoB 2 D1-D5, Overall
    for texts in by_panel.values():  # within a panel, no header reaches the next one ("D5Overall")
        xs = sorted((t.get_position()[0] * fig.get_figwidth(), t.get_text()) for t in texts)
        for (x1, a), (x2, b) in zip(xs, xs[1:], strict=False):
            half = (width(a) + width(b)) / 2
            assert x2 - x1 >= half + rob.HEADER_GAP_IN - 1e-6, (a, b)
    traffic, summary = draw(tmp_path, path)
    for text in (traffic, summary):
        assert "Low (+; NOS: good)" in text and "High (×; NOS: poor)" in text


def test_traffic_light_lists_studies_in_the_forest_order_by_year(tmp_path):
    """dat.bcg's traffic-light plot listed the studies in the sheet's order beside a forest plot in
    year order (SYNTHETIC sheet order)."""
    path = sheet(tmp_path, [
        {"study_id": "C", "label": "Comstock", "year": "1976", "rob_tool": "RoB2", "rob_overall": "low"},
        {"study_id": "Z", "label": "Zwerling", "year": "1948", "rob_tool": "RoB2", "rob_overall": "high"},
        {"study_id": "A", "label": "Anonymous", "rob_tool": "RoB2", "rob_overall": "high"},
        {"study_id": "B", "label": "Baron", "year": "1976", "rob_tool": "RoB2", "rob_overall": "low"},
    ])
    studies = rob.read_judgements(path)
    assert [s.study_id for s in studies] == ["Z", "B", "C", "A"]  # no year: last, as in the forest
    fig = rob.plot_traffic_light(studies)
    drawn = [a.as_text() if hasattr(a, "as_text") else a for a in fig.texts + fig.artists]  # labels: PlainText
    labels = [t.get_text() for t in drawn if hasattr(t, "get_text")
              and t.get_text() in {"Comstock", "Zwerling", "Anonymous", "Baron"}]
    assert labels == ["Zwerling", "Baron", "Comstock", "Anonymous"]
