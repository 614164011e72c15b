"""PRISMA counts declared by a review without a search stage: checked, written, drawn as declared."""

from __future__ import annotations

import copy
import json

import pytest

from metasr.errors import InputError
from metasr.figures.prisma import build_figure, footnotes
from metasr.screening.declared import declared_prisma, declared_problems, write_declared_prisma

DECLARED = {"source": "Figure 1 of the published review",
            "databases": {"identified": 1200, "duplicates": 300, "removed_automation": 50, "screened": 850,
                          "excluded": 790, "sought": 60, "not_retrieved": 2, "assessed": 58,
                          "reports_excluded": {"wrong comparison": 40, "no outcome data": 5}},
            "other": {"identified": 4, "sought": 4, "not_retrieved": 0, "assessed": 4,
                      "reports_excluded": {"wrong comparison": 2}},
            "studies_included": 13, "reports_included": 15}


def test_declared_counts_obey_the_laws_of_counted_ones():
    assert declared_problems(DECLARED, "config.yaml") == []
    prisma = declared_prisma(DECLARED)
    assert prisma["origin"] == "declared" and prisma["source"] == DECLARED["source"]
    assert prisma["included"] == {"studies": 13, "reports": 15}
    assert prisma["columns"]["other"]["screened"] == 4  # no screening layer: nothing removed
    # The per-column laws hold; removals other than duplicates are kept apart.
    db = prisma["columns"]["databases"]
    assert db["identified"] == db["duplicates"] + db["removed_automation"] + db["screened"]
    assert db["reports_included"] == 13


@pytest.mark.parametrize("key, value", [("screened", 851), ("sought", 61), ("assessed", 57)])
def test_a_box_that_does_not_add_up_is_named(key, value):
    bad = copy.deepcopy(DECLARED)
    bad["databases"][key] = value
    problems = declared_problems(bad, "config.yaml")
    assert problems and all(p.key.startswith("prisma") and p.file == "config.yaml" for p in problems)


def test_reports_included_must_equal_assessed_minus_excluded():
    bad = copy.deepcopy(DECLARED)
    bad["reports_included"] = 16
    [problem] = declared_problems(bad, "config.yaml")
    assert problem.key == "prisma.reports_included" and "(15)" in problem.message


def test_written_json_draws_with_its_source(tmp_path):
    out = tmp_path / "prisma.json"
    write_declared_prisma(DECLARED, out)
    prisma = json.loads(out.read_text())
    fig, parts = build_figure(prisma)
    assert "declared" in " ".join(footnotes(prisma)) and DECLARED["source"] in " ".join(footnotes(prisma))
    assert set(parts["layout"]["columns"]) == {"databases", "other"}


def test_writing_bad_counts_writes_nothing(tmp_path):
    bad = copy.deepcopy(DECLARED)
    bad["studies_included"] = 0  # 15 reports of no study
    with pytest.raises(InputError):
        write_declared_prisma(bad, tmp_path / "prisma.json")
    assert not (tmp_path / "prisma.json").exists()


def test_a_report_may_hold_several_studies(tmp_path):
    many = {**copy.deepcopy(DECLARED), "studies_included": 20}  # 20 experiments in 15 reports
    assert write_declared_prisma(many, tmp_path / "prisma.json")["included"]["studies"] == 20
