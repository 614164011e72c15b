"""Atomic writes leave either the old file or the new one, never half of one, with normal permissions."""

from __future__ import annotations

import json
import math
import os

import pytest

from metasr.errors import InputError
from metasr.io import atomic_path, atomic_write_text, json_safe, write_json


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("step failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644


def test_json_has_no_nan_and_is_sorted(tmp_path):
    write_json(tmp_path / "r.json", {"b": math.nan, "a": [1.5, math.inf]})
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text) == {"a": [1.5, None], "b": None}
    assert text.index('"a"') < text.index('"b"')
    assert json_safe({"x": (1, 2)}) == {"x": [1, 2]}


def test_an_output_on_a_folder_or_under_a_file_is_a_clear_input_error(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("keep")
    with pytest.raises(InputError, match="it is a folder"):
        atomic_write_text(tmp_path / "folder", "x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        atomic_write_text(tmp_path / "file" / "out.csv", "x")
    assert (tmp_path / "file").read_text() == "keep" and not list((tmp_path / "folder").iterdir())
