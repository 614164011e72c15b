"""A hostile cell in a decision file (title/abstract, full text) or in the de-duplication
overrides goes through the step that reads it: screening, or de-duplication."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from metasr.errors import InputError

from fuzzing import (
    DEPTHS,
    assert_clear,
    fuzz_settings,
    hostile_text,
    nothing_written,
    read_table,
    tally,
    where_named,
    write_table,
)


def screen(root: Path, config: dict, out: Path):
    from metasr.screening.pipeline import ScreeningFiles, screen_records

    records = root / "results" / "records"
    return screen_records(records / "records.csv", records / "unique.csv", root / config["screening"]["title_abstract"],
                          root / config["screening"]["full_text"], config["screening"], config["search"]["sources"],
                          ScreeningFiles.in_folder(out))


def dedup(root: Path, config: dict, out: Path):
    from metasr.records.pipeline import DedupFiles, dedup_records

    parsed = sorted((root / "results" / "records" / "parsed").glob("*.csv"))
    return dedup_records(parsed, DedupFiles.in_folder(out), root / config["search"]["dedup"]["overrides"])


def corrupt(data, root: Path, name: str, extra_rows: int = 0) -> tuple[int, str | None]:
    """One hostile cell (header included) in root/name; returns its spreadsheet row and column."""
    table = read_table(root / name)
    for _ in range(extra_rows):  # the base overrides file is a header: give the cell somewhere to be
        table.append(["" for _ in table[0]])
    r = data.draw(st.integers(0, len(table) - 1), label="row index")
    c = data.draw(st.integers(0, len(table[r]) - 1), label="column index")
    column = table[0][c].strip() if r > 0 else None
    table[r][c] = data.draw(hostile_text(), label="value")
    write_table(root / name, table)
    return r + 1, column


LINKS = [["pubmed:0", "scopus:0", "distinct", "SYNTHETIC"], ["pubmed:1", "other:0", "same", ""]]


def test_the_base_decisions_and_overrides_are_valid(review_copy, tmp_path):
    root, config = review_copy()
    assert screen(root, config, tmp_path / "screening")["included"]["studies"] > 0
    assert dedup(root, config, tmp_path / "records")["records"] == 60
    name = config["search"]["dedup"]["overrides"]
    write_table(root / name, read_table(root / name)[:1] + LINKS)
    assert dedup(root, config, tmp_path / "linked")["records"] == 60


@pytest.mark.parametrize("examples", DEPTHS)
@pytest.mark.parametrize("stage", ["title_abstract", "full_text"])
def test_a_hostile_cell_in_a_decision_file(examples, stage, review_copy):
    @fuzz_settings(examples)
    @given(st.data())
    def trial(data):
        root, config = review_copy()
        name = config["screening"][stage]
        row, column = corrupt(data, root, name)
        out = root / "results" / "screening"
        try:
            screen(root, config, out)
        except InputError as err:
            assert_clear(err)
            assert nothing_written(out)
            tally(f"decision file: {stage}", "refused, " + where_named(err, Path(name).name, row, column))
            return
        tally(f"decision file: {stage}", "accepted")

    trial()


@pytest.mark.parametrize("examples", DEPTHS)
def test_a_hostile_cell_in_the_dedup_overrides(examples, review_copy):
    @fuzz_settings(examples)
    @given(st.data())
    def trial(data):
        root, config = review_copy()
        name = config["search"]["dedup"]["overrides"]
        write_table(root / name, read_table(root / name)[:1] + LINKS)
        row, column = corrupt(data, root, name)
        out = root / "results" / "dedup"
        try:
            summary = dedup(root, config, out)
        except InputError as err:
            assert_clear(err)
            assert nothing_written(out)
            tally("dedup overrides", "refused, " + where_named(err, Path(name).name, row, column))
            return
        assert summary["records"] == summary["unique"] + summary["duplicates"]
        tally("dedup overrides", "accepted")

    trial()
