"""Fuzzing the inputs: hostile cells in every sheet kind, hostile fields and bytes in every export
format, hostile tables for `metasr pool`.

Every trial asserts the promise of the project: the input is accepted, or it is refused with
InputError problems that name the file (and the row and column where that means something); no
other exception, and nothing partial written. Each trial's outcome is tallied per category and
printed at the end of the run ("fuzzing: trials per category").

The default run is lean (FAST examples per test). The deeper run is marked slow and runs only when
asked: `METASR_FUZZ_DEEP=500 .venv/bin/pytest -m slow tests/fuzz` (500 examples per test).

The base review is SYNTHETIC (`metasr simulate`, plus a hand-made outcome sheet of the forms the
simulation does not write); the other export formats come from tests/fixtures/exports.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import EXTRA_OUTCOMES, TALLY, extra_sheets, read_table, write_table  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if not TALLY:
        return
    terminalreporter.section("fuzzing: trials per category")
    categories = sorted({c for c, _ in TALLY})
    for category in categories:
        outcomes = {o: n for (c, o), n in TALLY.items() if c == category}
        total = sum(outcomes.values())
        detail = ", ".join(f"{o} {n}" for o, n in sorted(outcomes.items()))
        terminalreporter.write_line(f"{category}: {total} trials ({detail})")
    terminalreporter.write_line(f"all: {sum(TALLY.values())} trials")



@pytest.fixture(scope="session")
def base_review(tmp_path_factory) -> Path:
    """A SYNTHETIC review folder: `metasr simulate` (4 sources, 3 outcomes) plus three outcome
    sheets of the remaining reported forms. Copied by `review_copy` before a trial corrupts it."""
    from metasr.extraction.sheets import NARRATIVE_COLUMNS, OUTCOME_COLUMNS
    from metasr.simulate.review import simulate_review

    root = tmp_path_factory.mktemp("fuzz_base") / "review"
    simulate_review(root, outcomes=3, studies=8, records=60, seed=16)
    config_path = root / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    studies = read_table(root / config["extraction"]["studies"])
    included = [row[0] for row in studies[1:]]
    for outcome, rows in extra_sheets(included).items():
        table = [OUTCOME_COLUMNS] + [[r.get(c, "") for c in OUTCOME_COLUMNS] for r in rows]
        write_table(root / config["extraction"]["outcomes_dir"] / f"{outcome}.csv", table)
    config["outcomes"].update(EXTRA_OUTCOMES)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    narrative = [NARRATIVE_COLUMNS] + [[row.get(c, "") for c in NARRATIVE_COLUMNS] for row in (
        {"study_id": included[0], "outcome": "fatigue", "comparison": "x vs y", "n1": "12", "n2": "11",
         "finding": "less fatigue (SYNTHETIC)", "direction": "group1_lower", "p_value": "0.03",
         "record_id": "R-SYN", "source_location": "abstract"},
        {"study_id": included[1], "outcome": "sleep", "finding": "no difference (SYNTHETIC)",
         "direction": "no_difference", "record_id": "R-SYN", "source_location": "Table 3"})]
    write_table(root / config["extraction"]["narrative"], narrative)
    _records_stage(root, config)
    return root


def _records_stage(root: Path, config: dict) -> None:
    """Parsed exports and de-duplicated records of the base review (results/records/), as the
    workflow's records steps write them: the input of screening."""
    from metasr.records.pipeline import DedupFiles, dedup_records, ingest_records

    parsed = []
    for source, settings in sorted(config["search"]["sources"].items()):
        out = root / "results" / "records" / "parsed" / f"{source}.csv"
        ingest_records(root / settings["file"], out, source, settings["database"])
        parsed.append(out)
    overrides = root / config["search"]["dedup"]["overrides"]
    dedup_records(parsed, DedupFiles.in_folder(root / "results" / "records"), overrides)


@pytest.fixture
def review_copy(base_review, tmp_path_factory):
    """A function giving a fresh copy of the base review (one per trial) and its config."""
    def copy() -> tuple[Path, dict]:
        root = tmp_path_factory.mktemp("trial") / "review"
        shutil.copytree(base_review, root)
        return root, yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))

    return copy
