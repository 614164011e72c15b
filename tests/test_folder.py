"""A review is a folder: finding its config, what its paths are relative to, what it may read."""

from __future__ import annotations

from pathlib import Path

import pytest

from metasr.errors import InputError
from metasr.folder import (
    allowed_roots,
    external_data_problems,
    find_review,
    inside,
    review_from_options,
    review_of_config,
)


def make_review(folder: Path, layout: str = "config.yaml") -> Path:
    path = folder / layout
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("review: {id: x, title: x}\n")
    return path


def test_a_folder_holds_config_yaml_or_config_config_yaml(tmp_path):
    flat = make_review(tmp_path / "flat")
    assert find_review(tmp_path / "flat").config_file == flat
    nested = make_review(tmp_path / "nested", "config/config.yaml")
    found = find_review(tmp_path / "nested")
    assert found.config_file == nested and found.root == (tmp_path / "nested").absolute()
    assert found.shown_config == "config/config.yaml"


def test_a_config_file_belongs_to_its_folder_or_the_one_above_config(tmp_path):
    assert review_of_config(make_review(tmp_path / "a")).root == (tmp_path / "a").absolute()
    assert review_of_config(make_review(tmp_path / "b", "config/config.yaml")).root == (tmp_path / "b").absolute()
    assert review_of_config(make_review(tmp_path / "c", "my.yaml")).root == (tmp_path / "c").absolute()


@pytest.mark.parametrize("what", ["missing", "empty"])
def test_no_review_is_a_clear_error(tmp_path, what):
    folder = tmp_path / "nothing"
    if what == "empty":
        folder.mkdir()
    with pytest.raises(InputError) as info:
        find_review(folder)
    problem = info.value.problems[0]
    assert problem.rule == "review-folder" and "metasr init" in problem.hint


def test_review_from_options_prefers_the_config_file(tmp_path):
    config = make_review(tmp_path / "r", "other.yaml")
    assert review_from_options("elsewhere", str(config)).config_file == config.absolute()
    make_review(tmp_path / "s")
    assert review_from_options(str(tmp_path / "s")).root == (tmp_path / "s").absolute()


def test_inside_is_lexical_and_honours_external_roots(tmp_path):
    root = tmp_path / "review"
    roots = allowed_roots(root, ["../shared", "/opt/data"])
    assert inside(root / "data/x.csv", roots)
    assert not inside(root / "../x.csv", roots)
    assert not inside(root / "data/../../x.csv", roots)
    assert inside(root / "../shared/x.csv", roots) and inside(Path("/opt/data/y"), roots)
    assert not inside(Path("/etc/passwd"), roots)


def test_a_folder_given_with_dotdot_is_the_folder_it_names(tmp_path, monkeypatch):
    # `metasr run ..` from the review's data folder: every input was "outside the review folder"
    (tmp_path / "review" / "data").mkdir(parents=True)
    (tmp_path / "review" / "config.yaml").write_text("review: {}\n")
    monkeypatch.chdir(tmp_path / "review" / "data")
    for given in (find_review(".."), review_of_config("../config.yaml"), find_review("../../review")):
        assert given.root == tmp_path / "review" and ".." not in given.root.parts
        assert inside(given.root / "data" / "x.csv", allowed_roots(given.root, None))
    assert inside(tmp_path / "review" / "data" / "x.csv", allowed_roots(tmp_path / "review" / "data" / "..", None))


@pytest.mark.parametrize(("external", "expected"), [
    ("/tmp", "must be a list of folders, not a single value"),  # iterated letter by letter: '/' walked
    ([5], "5 is not a folder name"),  # a TypeError traceback
    (["/"], "the file system's root"),  # walked at every Snakemake invocation
    (["missing"], "folder not found"),  # accepted silently
    ([".."], "holds the review folder itself"),
    (["results"], "results/ is written by the workflow"),
])
def test_external_data_is_checked_before_anything_walks_it(tmp_path, external, expected):
    root = tmp_path / "review"
    root.mkdir()
    problems = external_data_problems(root, external, "config.yaml")
    assert len(problems) == 1 and expected in problems[0].message and problems[0].key.startswith("external_data")
    (tmp_path / "shared").mkdir()
    assert external_data_problems(root, ["../shared", str(tmp_path / "shared"), "data/.."], "config.yaml") == []
