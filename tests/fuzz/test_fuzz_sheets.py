"""A hostile cell anywhere in the extraction sheets (studies, outcome sheets, narrative; header
included) goes through what the workflow does with them: validation and conversion at parse time,
then each outcome's extraction step and its pooling step."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from metasr.errors import InputError

from fuzzing import (
    DEPTHS,
    NAMED,
    assert_clear,
    fuzz_settings,
    hostile_text,
    read_table,
    tally,
    where_named,
    write_table,
)


def sheet_files(root: Path, config: dict) -> list[str]:
    ext = config["extraction"]
    outcomes = sorted(str(Path(ext["outcomes_dir"]) / f"{o}.csv") for o in config["outcomes"])
    return [ext["studies"], ext["narrative"], *outcomes]


def parse_time(root: Path, config: dict) -> list:
    """What the Snakefile does before any job: validate every sheet (which converts every outcome's
    rows), and read which studies have usable rows from the converted rows."""
    from metasr.extraction.converting import usable_sheet_rows
    from metasr.extraction.validate import validate_review

    converted: dict = {}
    problems = validate_review(config, root, converted)
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        for rows in converted.values():
            usable_sheet_rows(rows)
    return errors


def outcome_jobs(root: Path, config: dict) -> list[InputError]:
    """Each outcome's extraction and pooling step, as the outcome job runs them."""
    from metasr.extraction.pipeline import prepare_outcome
    from metasr.extraction.sheets import load_studies, studies_in_outcome
    from metasr.workflow.pooling import pool_outcome_file

    refused = []
    studies = load_studies(root / config["extraction"]["studies"]).to_dict("records")
    for outcome, settings in sorted(config["outcomes"].items()):
        sheet = root / config["extraction"]["outcomes_dir"] / f"{outcome}.csv"
        ids = set(studies_in_outcome(sheet))
        out = root / "results" / "extraction" / f"{outcome}.csv"
        try:
            prepare_outcome(sheet, [s for s in studies if s["study_id"] in ids], outcome, settings,
                            config["extraction"], out)
        except InputError as err:
            assert not out.exists() and not list(out.parent.glob(f".{out.name}*")), "a partial output"
            refused.append(err)
            continue
        analysis = {"measure": settings["measure"], "method": settings.get("method", "REML"),
                    "test": settings.get("test", "z")}
        # Extraction accepted the sheet: pooling must not refuse its output (a problem would name
        # results/extraction/..., a generated file, instead of the sheet).
        pool_outcome_file(out, outcome, analysis, root / "results" / "pooled" / f"{outcome}.json")
    return refused


def test_the_base_review_is_valid_and_every_outcome_pools(review_copy):
    root, config = review_copy()
    assert parse_time(root, config) == []
    assert outcome_jobs(root, config) == []
    assert len(list((root / "results" / "pooled").glob("*.json"))) == len(config["outcomes"]) == 6


@pytest.mark.parametrize("examples", DEPTHS)
def test_a_hostile_cell_in_any_sheet(examples, review_copy):
    root0, config0 = review_copy()
    files = sheet_files(root0, config0)
    shapes = {f: [len(r) for r in read_table(root0 / f)] for f in files}

    @fuzz_settings(examples)
    @given(st.data())
    def trial(data):
        root, config = review_copy()
        name = data.draw(st.sampled_from(files), label="sheet")
        table = read_table(root / name)
        r = data.draw(st.integers(0, len(shapes[name]) - 1), label="row index")
        c = data.draw(st.integers(0, shapes[name][r] - 1), label="column index")
        value = data.draw(hostile_text(), label="value")
        column = table[0][c].strip() if r > 0 else None
        table[r][c] = value
        write_table(root / name, table)
        category = "sheet: " + ("outcome sheet" if "/outcomes/" in f"/{name}" else Path(name).stem)
        errors = parse_time(root, config)
        if errors:
            err = InputError(errors)
            assert_clear(err)
            tally(category, "refused before any job, " + where_named(err, Path(name).name, r + 1, column))
            return
        refused = outcome_jobs(root, config)
        for err in refused:
            assert_clear(err)
        if refused:
            named = min((where_named(e, Path(name).name, r + 1, column) for e in refused), key=NAMED.index)
            tally(category, "refused by an outcome job, " + named)
        else:
            tally(category, "accepted")

    trial()
