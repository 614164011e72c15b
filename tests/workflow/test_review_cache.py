"""load_review_cached: a checked review is given back while no input changed, and checked again
(problems reported) as soon as one did."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
import yaml

from metasr import versions
from metasr.errors import InputError
from metasr.simulate import simulate_review
from metasr.workflow import review_cache
from metasr.workflow.review import load_review
from metasr.workflow.review_cache import CACHE, load_review_cached


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sim") / "review"
    simulate_review(root, outcomes=3, studies=6, records=40, seed=5)  # SYNTHETIC review
    return root


@pytest.fixture
def review(simulated, tmp_path) -> Path:
    root = tmp_path / "review"
    shutil.copytree(simulated, root)
    return root


def raw(root: Path) -> dict:
    return yaml.safe_load((root / "config/config.yaml").read_text())


def checks(monkeypatch) -> list[Path]:
    """Count the real checks load_review_cached runs."""
    calls: list[Path] = []
    real = review_cache.load_review
    monkeypatch.setattr(review_cache, "load_review", lambda config, root, source: calls.append(root)
                        or real(config, root, source))
    return calls


def a_sheet(root: Path) -> Path:
    return sorted((root / "data/extraction/outcomes").glob("*.csv"))[0]


def rewrite(path: Path, change) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    change(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_the_remembered_review_is_the_checked_one(review, monkeypatch):
    calls = checks(monkeypatch)
    first = load_review_cached(raw(review), review)
    again = load_review_cached(raw(review), review)
    assert len(calls) == 1 and (review / CACHE).is_file()
    fresh = load_review(raw(review), review)
    for loaded in (first, again):
        assert loaded.config == fresh.config
        assert loaded.studies_by_outcome == fresh.studies_by_outcome
        assert loaded.usable_by_outcome == fresh.usable_by_outcome
        assert loaded.warnings == fresh.warnings


def test_a_changed_sheet_is_checked_again_and_its_problem_reported(review, monkeypatch):
    calls = checks(monkeypatch)
    load_review_cached(raw(review), review)
    sheet = a_sheet(review)
    header = next(csv.reader(open(sheet, encoding="utf-8")))
    column = next(c for c in ("n1", "n1i", "mean1") if c in header)

    def spoil(rows):
        rows[1][header.index(column)] = "twelve"

    rewrite(sheet, spoil)
    with pytest.raises(InputError) as err:
        load_review_cached(raw(review), review)
    assert sheet.name in err.value.format() and "twelve" in err.value.format()
    with pytest.raises(InputError):  # a review with problems is not remembered: checked every time
        load_review_cached(raw(review), review)
    assert len(calls) == 3


def test_what_is_seen_and_what_is_not(review, monkeypatch):
    calls = checks(monkeypatch)
    load_review_cached(raw(review), review)
    for generated in ("results/pooled/x.json", "logs/x.log", ".snakemake/metadata/x", ".git/HEAD"):
        (review / generated).parent.mkdir(parents=True, exist_ok=True)
        (review / generated).write_text("written by the workflow")
    load_review_cached(raw(review), review)
    assert len(calls) == 1
    (review / "data" / "notes.txt").write_text("a new file in the review")
    load_review_cached(raw(review), review)
    assert len(calls) == 2
    sheet = a_sheet(review)
    sheet.write_bytes(sheet.read_bytes() + b"\n")  # a blank line more: other bytes
    load_review_cached(raw(review), review)
    assert len(calls) == 3
    config = raw(review)
    config["outcomes"][next(iter(config["outcomes"]))]["label"] = "another label"
    load_review_cached(config, review)
    assert len(calls) == 4


def test_files_touched_or_written_again_with_the_same_bytes_are_the_same_review(review, monkeypatch):
    """New times, a new inode (git checkout, an editor's save): the check saw these bytes already."""
    calls = checks(monkeypatch)
    first = load_review_cached(raw(review), review)
    key = review_cache._read(review / CACHE)["key"]
    sheet, studies = a_sheet(review), review / raw(review)["extraction"]["studies"]
    os.utime(sheet, ns=(sheet.stat().st_atime_ns, sheet.stat().st_mtime_ns + 10**9))
    text = studies.read_bytes()
    studies.unlink()
    studies.write_bytes(text)
    again = load_review_cached(raw(review), review)
    assert len(calls) == 1 and again.studies_by_outcome == first.studies_by_outcome
    assert again.digests == first.digests and again.warnings == first.warnings
    record = review_cache._read(review / CACHE)
    assert record["key"] != key  # written again under the new stat lines: the next start reads no file
    hashed = []
    monkeypatch.setattr(review_cache, "file_sha256", lambda path: hashed.append(path) or "")
    load_review_cached(raw(review), review)
    assert len(calls) == 1 and hashed == []


def test_a_touched_file_the_check_did_not_open_means_checking_again(review, monkeypatch):
    """Its bytes were never hashed (a review folder may hold large full texts): only its stat line is known."""
    notes = review / "data" / "notes.txt"
    notes.write_text("the reviewers' notes")
    calls = checks(monkeypatch)
    load_review_cached(raw(review), review)
    os.utime(notes, ns=(notes.stat().st_atime_ns, notes.stat().st_mtime_ns + 10**9))
    load_review_cached(raw(review), review)
    assert len(calls) == 2 and str(notes) not in review_cache._read(review / CACHE)["opened"]


def test_a_file_changed_while_the_check_reads_it_is_checked_again(review, monkeypatch):
    """The record keeps the bytes as they were before the check read them."""
    sheet = a_sheet(review)
    header = next(csv.reader(open(sheet, encoding="utf-8")))
    column = next(c for c in ("n1", "n1i", "mean1") if c in header)
    real = review_cache.load_review

    def check_then_spoil(config, root, source):
        checked = real(config, root, source)
        rewrite(sheet, lambda rows: rows[1].__setitem__(header.index(column), "twelve"))
        return checked

    monkeypatch.setattr(review_cache, "load_review", check_then_spoil)
    load_review_cached(raw(review), review)
    monkeypatch.setattr(review_cache, "load_review", real)
    with pytest.raises(InputError) as err:
        load_review_cached(raw(review), review)
    assert "twelve" in err.value.format()


def test_a_file_in_a_hidden_folder_that_the_check_opens_is_watched(review, monkeypatch):
    calls = checks(monkeypatch)
    config = raw(review)
    hidden = review / ".private" / "studies.csv"
    hidden.parent.mkdir()
    shutil.copy(review / config["extraction"]["studies"], hidden)
    config["extraction"]["studies"] = ".private/studies.csv"
    load_review_cached(config, review)
    load_review_cached(config, review)
    assert len(calls) == 1
    rewrite(hidden, lambda rows: rows.append(["" for _ in rows[0]]))  # a blank row, same meaning
    load_review_cached(config, review)
    assert len(calls) == 2


@pytest.mark.parametrize("content", ["not json {", '{"format": 1, "key": "x"}', '[1, 2]', '{"format": 1, "key": 3}',
                                     '{"format": 1, "key": "x", "opened": 7}',
                                     '{"format": 1, "key": null, "opened": "/etc/passwd"}'])
def test_a_damaged_cache_means_checking_again(review, monkeypatch, content):
    calls = checks(monkeypatch)
    (review / CACHE).parent.mkdir(parents=True, exist_ok=True)
    (review / CACHE).write_text(content)
    loaded = load_review_cached(raw(review), review)
    assert len(calls) == 1 and loaded.outcomes == load_review(raw(review), review).outcomes


def test_a_folder_that_cannot_be_written_is_checked_every_time(review, monkeypatch):
    calls = checks(monkeypatch)
    monkeypatch.setattr(review_cache, "CACHE", Path("no-such-dir-file") / "x" / "review.json")
    (review / "no-such-dir-file").write_text("a file where the cache folder would be")
    load_review_cached(raw(review), review)
    load_review_cached(raw(review), review)
    assert len(calls) == 2


def test_a_record_with_the_right_key_but_wrong_content_means_checking_again(review, monkeypatch):
    import json

    calls = checks(monkeypatch)
    load_review_cached(raw(review), review)
    record = json.loads((review / CACHE).read_text())
    record["study_ids"] = {"outcome": ["no such study"]}
    (review / CACHE).write_text(json.dumps(record))
    load_review_cached(raw(review), review)
    assert len(calls) == 2


def test_another_version_of_a_library_that_reads_the_files_means_checking_again(review, monkeypatch):
    calls = checks(monkeypatch)
    load_review_cached(raw(review), review)
    real = versions.metadata.version
    monkeypatch.setattr(versions.metadata, "version", lambda name: "0.0" if name == "pyyaml" else real(name))
    load_review_cached(raw(review), review)
    assert len(calls) == 2


@pytest.mark.parametrize("external", ["/tmp", [5], ["/"], ["nowhere"]])
def test_external_data_is_refused_before_the_cache_key_walks_it(review, monkeypatch, external):
    """SYNTHETIC: `external_data: /tmp` was walked letter by letter, from '/'."""
    monkeypatch.setattr(review_cache, "_folder_files", lambda folder: pytest.fail(f"walked {folder}"))
    with pytest.raises(InputError) as info:
        load_review_cached({**raw(review), "external_data": external}, review)
    assert info.value.problems[0].rule == "external-data"


@pytest.mark.parametrize("key", [2, None, True])
def test_keys_that_are_not_text_are_refused_before_the_cache_key_sorts_them(review, key):
    """SYNTHETIC: `2:` beside string ids was a TypeError in json.dumps(sort_keys=True)."""
    config = raw(review)
    config["outcomes"][key] = next(iter(config["outcomes"].values()))
    with pytest.raises(InputError) as info:
        load_review_cached(config, review)
    [problem] = info.value.problems
    assert (problem.key, problem.rule) == ("outcomes", "config-key") and "is not text" in problem.message
