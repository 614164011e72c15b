"""Decision files read against the records: the problems a row can have (records and decisions
are SYNTHETIC, tests/screening/conftest.py)."""

from __future__ import annotations

import pytest

from metasr.errors import InputError


def test_a_search_exported_again_in_another_order_is_caught_by_the_title(workspace):
    """The website's two records were decided by record_id, with their titles; exported again in
    the other order, web:0 is the other paper. Refused, rather than each paper taking the
    other's decision."""
    workspace.ta_columns = ("record_id", *workspace.ta_columns)
    workspace.title_abstract[3] = {"record_id": "web:0", "title": "Synthetic news item", "year": "2022",
                                   "decision": "exclude", "reason": "other"}
    workspace.run()  # decided and run once
    web = [r for r in workspace.records if r["source"] == "web"]
    web[0]["record_id"], web[1]["record_id"] = "web:1", "web:0"
    with pytest.raises(InputError) as err:
        workspace.run()
    [moved] = [p for p in err.value.errors if p.rule == "record_id names the record described"]
    assert (moved.file.rsplit("/", 1)[-1], moved.row, moved.column, moved.value) == (
        "ta.csv", 5, "title", "Synthetic news item")
    assert "record_id 'web:0' now names 'Synthetic cohort five' (cluster c5)" in moved.message
    assert moved.hint.startswith("the export changed order: key the decision by DOI/PMID (or title and year) or fix")
