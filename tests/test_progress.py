"""Progress: bars only on an interactive terminal; a few log lines otherwise; never in the way."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from metasr import progress as prog

EXPORT = Path(__file__).resolve().parent / "fixtures" / "exports" / "scopus_9.ris"


def test_bars_follow_the_terminal_and_the_environment(monkeypatch):
    monkeypatch.delenv("METASR_PROGRESS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(prog.sys, "stderr", io.StringIO())
    assert not prog.bars_wanted()  # a pipe or a log file
    tty = io.StringIO()
    tty.isatty = lambda: True
    monkeypatch.setattr(prog.sys, "stderr", tty)
    assert prog.bars_wanted()
    monkeypatch.setenv("CI", "true")
    assert not prog.bars_wanted()
    monkeypatch.setenv("METASR_PROGRESS", "1")
    assert prog.bars_wanted()
    monkeypatch.setenv("METASR_PROGRESS", "0")
    monkeypatch.delenv("CI")
    assert not prog.bars_wanted()


def test_without_bars_a_step_logs_at_most_a_dozen_lines(caplog):
    caplog.set_level(logging.INFO, logger="metasr.progress")
    progress = prog.Progress("de-duplicating", bars=False)
    for done in range(0, 40001, 50):
        progress("title", done, 40000)
    lines = [r.getMessage() for r in caplog.records]
    assert 2 <= len(lines) <= prog.LOG_STEPS + 1 and lines[-1] == "de-duplicating: title 40000/40000"


def test_a_bar_is_drawn_on_a_terminal(monkeypatch):
    out = io.StringIO()
    out.isatty = lambda: True
    monkeypatch.setattr(prog.sys, "stderr", out)
    monkeypatch.setenv("METASR_PROGRESS", "1")
    assert list(prog.track(range(5), "pooling", "groups")) == [0, 1, 2, 3, 4]
    assert "pooling: groups" in out.getvalue()


def test_dedup_reports_its_steps(monkeypatch):
    from metasr.records import pipeline

    seen = []

    class Recorder(prog.Progress):
        def __call__(self, step, done, total):
            seen.append((step, done, total))

    monkeypatch.setattr(prog, "Progress", Recorder)
    rows = pipeline.parse_file(EXPORT, source="ris")
    records, unique, _ = pipeline.dedup_rows(rows)
    assert len(records) == len(rows) and unique
    assert seen[0] == ("keys", len(rows), len(rows)) and all(done <= total for _, done, total in seen)
