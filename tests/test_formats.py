"""docs/formats.md is generated from the schemas, and the schemas say what the code reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_SHEET_COLUMNS, STUDY_COLUMNS
from metasr.extraction.validate import NARRATIVE_REQUIRED
from metasr.formats import SHEETS, formats_markdown, load
from metasr.records.formats.csv import COLUMN_SYNONYMS
from metasr.screening.decisions import IDENTIFIER_COLUMNS

REPO = Path(__file__).resolve().parents[1]


def test_docs_formats_is_up_to_date():
    committed = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    assert committed == formats_markdown(), "docs/formats.md is stale: run `metasr docs formats > docs/formats.md`"


@pytest.mark.parametrize("name, columns", [("studies", STUDY_COLUMNS), ("outcome_sheet", OUTCOME_SHEET_COLUMNS),
                                           ("narrative", NARRATIVE_COLUMNS)])
def test_sheet_schemas_list_the_columns_the_sheets_have(name, columns):
    assert list(load(name)["properties"]) == list(columns)


def test_narrative_schema_requires_what_validation_requires():
    assert set(load("narrative")["required"]) == set(NARRATIVE_REQUIRED)


def test_decision_schema_names_every_column_screening_reads():
    read = set(IDENTIFIER_COLUMNS) | {"year", "decision", "reason", "reviewer1", "reviewer2", "study_id", "notes"}
    assert set(load("decisions")["properties"]) == read


def test_every_documented_column_says_what_it_is():
    for _, name, _, _ in SHEETS:
        schema = load(name)
        undocumented = [c for c, node in schema["properties"].items()
                        if "description" not in node and "$ref" not in node]
        assert not undocumented, f"{name}: {undocumented}"


def test_csv_export_columns_are_documented():
    text = formats_markdown()
    for field, names in COLUMN_SYNONYMS.items():
        assert f"| `{field}` | " in text and all(f"`{n}`" in text for n in names)


def test_every_measure_and_risk_of_bias_domain_is_documented_from_its_registry():
    from metasr.measures import MEASURES
    from metasr.rob import TOOLS

    text = formats_markdown()
    assert all(f"| `{m}` | {MEASURES[m].analysis_scale} |" in text for m in MEASURES)
    for tool in TOOLS.values():
        assert f"(`rob_tool`: `{tool.id}`)" in text
        assert all(f"| `{d.column}` | {d.name} |" in text for d in tool.domains)


def test_the_risk_of_bias_hint_points_to_a_section_that_exists():
    from metasr.rob import row_problems

    [problem] = row_problems({"rob_tool": "RoB2", "rob_randomisation": "serious"}, "studies.csv", 2)
    assert "'Risk-of-bias tools'" in problem.hint and "## Risk-of-bias tools" in formats_markdown()
