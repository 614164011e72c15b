"""metasr.workflow.metadata_cache: Snakemake's metadata record cache gets room for every output."""

from __future__ import annotations

import functools

import pytest
from snakemake.persistence.file import FilePersistence

from metasr.workflow import metadata_cache
from metasr.workflow.metadata_cache import record_count, widen_record_cache


@pytest.fixture
def original_cache(monkeypatch):
    """The pinned Snakemake's cache as it ships (restored after the test)."""
    original = FilePersistence.__dict__["_read_record_cached"]
    monkeypatch.setattr(FilePersistence, "_read_record_cached", original)
    return original


def test_the_pinned_snakemake_cache_is_the_one_this_module_widens(original_cache):
    # If this fails after a Snakemake upgrade, look at persistence/file.py again.
    assert original_cache.cache_info().maxsize == 128 and callable(original_cache.__wrapped__)


def test_the_cache_gets_room_for_every_record_and_never_shrinks(original_cache):
    assert widen_record_cache(5_000)
    widened = FilePersistence.__dict__["_read_record_cached"]
    assert widened.cache_info().maxsize == 5_000 and widened.__wrapped__ is original_cache.__wrapped__
    assert widen_record_cache(300)
    assert FilePersistence.__dict__["_read_record_cached"] is widened


def test_a_snakemake_without_that_cache_is_left_alone(monkeypatch):
    monkeypatch.setattr(FilePersistence, "_read_record_cached", lambda self, key: None)
    assert not widen_record_cache(5_000)


def test_a_widened_cache_reads_a_record_once(original_cache, monkeypatch):
    reads = []
    persistence = object.__new__(FilePersistence)  # only the read path is used
    persistence._metadata_path = "metadata"
    monkeypatch.setattr(FilePersistence, "_io_read", lambda self, path, key: reads.append(key) or {})
    keys = [f"results/{i}.svg" for i in range(300)]
    for _ in range(3):
        for key in keys:
            persistence._read_record(key)
    assert len(reads) == 900  # the shipped cache of 128: every pass reads every record again
    reads.clear()
    monkeypatch.setattr(FilePersistence, "_read_record_cached", functools.lru_cache(maxsize=128)(
        original_cache.__wrapped__))
    widen_record_cache(len(keys))
    for _ in range(3):
        for key in keys:
            persistence._read_record(key)
    assert len(reads) == len(keys)


def test_the_records_counted_are_the_outputs_and_two_per_job():
    jobs = {"a": {"outputs": {"effects": "x", "pooled": "y"}}, "b": {"outputs": {"pooled": "z"}}}
    assert record_count(jobs, 2) == 3 + 4 + metadata_cache.REVIEW_WIDE_OUTPUTS
