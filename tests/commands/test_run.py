"""`metasr run`: its command line."""

from __future__ import annotations

import pytest

from metasr.cli import build_parser


def test_only_the_folder_is_required(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run"])
    error = capsys.readouterr().err
    assert "required: FOLDER" in error and "FOLDER, ..." not in error
    args = build_parser().parse_args(["run", "rev", "-n", "--cores", "2"])
    assert args.folder == "rev" and args.snakemake_args == ["-n", "--cores", "2"]
    assert build_parser().parse_args(["run", "rev"]).snakemake_args == []
