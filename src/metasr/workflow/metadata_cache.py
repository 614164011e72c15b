"""Room in Snakemake's cache of metadata records for every output of the review.

Snakemake keeps one metadata record per output file and, to decide what to rerun, reads each
several times (mtime, params, input, code and software checks). Its file backend caches the
records it has read with `functools.lru_cache()`, whose default size is 128: with more outputs
than that, the cache keeps nothing long enough, and every check reads the file again. At 2,000
outcomes (14,000 outputs) a run with nothing to do read 84,000 records for 14,000 files, about
half of its time (bench/RESULTS.md, "Issue 17", second pass); with room for every record it
reads each once, for about 3 KB of memory per record.

Snakemake clears the cache itself before every change of state (a job started or finished, a
record deleted), so a larger cache changes what is read again, not what is decided. This module
gives the pinned Snakemake's cache that room at parse time; it does nothing if Snakemake's
internals differ (tests/workflow/test_metadata_cache.py then fails, so that whoever upgrades
Snakemake looks again). Standard library only: every Snakemake invocation imports it.
"""

from __future__ import annotations

import functools

# Outputs of the review-wide rules (records, screening, PRISMA, figures, report), with room to spare.
REVIEW_WIDE_OUTPUTS = 200


def record_count(outcome_jobs: dict[str, dict], jobs: int) -> int:
    """The metadata records a review's outputs take: every outcome's files, two per outcome job
    (its inputs file and done file) and the review-wide ones."""
    return sum(len(job["outputs"]) for job in outcome_jobs.values()) + 2 * jobs + REVIEW_WIDE_OUTPUTS


def widen_record_cache(records: int) -> bool:
    """Give Snakemake's record cache room for `records` records (never less than it has).
    Returns whether the cache is as asked."""
    try:
        from snakemake.persistence.file import FilePersistence
    except ImportError:
        return False
    cached = FilePersistence.__dict__.get("_read_record_cached")
    read = getattr(cached, "__wrapped__", None)
    info = getattr(cached, "cache_info", None)
    if read is None or info is None:
        return False
    size = info().maxsize
    if size is None or size >= records:
        return True
    FilePersistence._read_record_cached = functools.lru_cache(maxsize=records)(read)  # type: ignore[method-assign]
    return True
