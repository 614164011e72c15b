"""Methods are listed where they are needed without importing the engine (config schema, CLI);
these lists must equal the engine's (metasr.stats). Measures have one list: tests/test_measures.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from metasr import config, measures
from metasr.commands import pool as pool_cli
from metasr.stats import effects, tables

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml").read_text())


def test_measures_everywhere_are_the_registrys():
    assert effects.MEASURES == measures.ids()
    assert tuple(SCHEMA["$defs"]["outcome"]["properties"]["measure"]["enum"]) == measures.ids()
    assert set(effects.FORMULAS) == set(measures.ids()) - set(measures.in_family("generic"))


def test_methods_everywhere_equal_the_engines():
    assert pool_cli.METHODS == tables.METHODS
    assert tuple(SCHEMA["$defs"]["method"]["enum"]) == tables.METHODS


def test_config_allows_the_measures_each_table_method_pools():
    assert config.METHOD_MEASURES == {m: set(ms) for m, ms in tables.TABLE_METHODS.items()}


def test_tests_everywhere_equal_the_engines():
    from metasr.stats import inference

    assert pool_cli.TESTS == inference.TESTS
    enums = [node["properties"]["test"]["enum"] for node in SCHEMA["$defs"].values()
             if isinstance(node, dict) and "test" in node.get("properties", {})]
    assert enums and all(tuple(e) == inference.TESTS for e in enums)


def test_pool_output_choices_equal_the_grouped_modules():
    from metasr.stats import grouped

    assert pool_cli.WHAT == grouped.WHAT and pool_cli.FORMATS == grouped.FORMATS
