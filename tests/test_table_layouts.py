"""The columns a study-level table may have: one definition, shown alike by the CLI and README."""

from __future__ import annotations

from pathlib import Path

from metasr.cli import build_parser
from metasr.extraction.sheets import OUTCOME_SHEET_COLUMNS
from metasr.measures import FAMILIES, MEASURES
from metasr.table_layouts import (
    ROW_COLUMNS,
    TABLE_FORMS,
    layouts_text,
    log_scale_measures,
    sheet_row_columns_text,
)

README = Path(__file__).resolve().parents[1] / "README.md"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_family_layout_of_the_registry_is_a_table_layout():
    layouts = {tuple(mapping) for _, mapping, _ in TABLE_FORMS}
    for family in FAMILIES.values():
        if family.sheet_columns:
            assert tuple(family.sheet_columns) in layouts, family.id
    single = {m.inputs[0] for m in MEASURES.values() if m.groups == 1}
    assert single <= layouts  # xi, ni; xi, ti; ri, ni


def test_table_layouts_map_to_outcome_sheet_columns():
    for form, mapping, _ in TABLE_FORMS:
        assert {c for c in mapping.values() if c} <= set(OUTCOME_SHEET_COLUMNS), form
    assert set(ROW_COLUMNS) <= set(OUTCOME_SHEET_COLUMNS)


def test_init_help_and_readme_list_every_layout():
    init = build_parser()._subparsers._group_actions[0].choices["init"]  # type: ignore[union-attr]
    readme = flat(README.read_text(encoding="utf-8"))
    for text in (flat(init.description), readme):
        assert layouts_text() in text
        assert sheet_row_columns_text() in text
        assert ", ".join(log_scale_measures()) in text
    assert "xi, ni (single-group proportions)" in layouts_text() and "ri, ni (correlations)" in layouts_text()
