"""Risk-of-bias figures: judgements drawn as given, 'not assessed' never invented, bad values caught."""

import csv

import pytest

from metasr.errors import InputError
from metasr.figures import rob

HEADER = ["study_id", "label", "rob_tool", "rob_selection", "rob_comparability", "rob_outcome",
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
         "rob_overall": "no information"},
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
