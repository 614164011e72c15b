"""Installed package versions (metasr.versions)."""

from importlib import metadata

from metasr.versions import installed


def test_installed_versions_and_none_for_a_missing_package():
    found = installed(["numpy", "metasr", "no-such-distribution-metasr"])
    assert found == {"numpy": metadata.version("numpy"), "metasr": metadata.version("metasr"),
                     "no-such-distribution-metasr": None}
