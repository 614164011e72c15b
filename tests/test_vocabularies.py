"""The effect measures and methods are listed where they are needed without importing the engine
(config schema, CLI, history, config); these lists must equal the engine's (metasr.stats)."""

from __future__ import annotations

from pathlib import Path

import yaml

from metasr import config, history
from metasr.commands import pool as pool_cli
from metasr.stats import analysis, effects

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml").read_text())


def test_measures_everywhere_equal_the_engines():
    assert pool_cli.MEASURES == effects.MEASURES
    assert tuple(SCHEMA["$defs"]["outcome"]["properties"]["measure"]["enum"]) == effects.MEASURES


def test_methods_everywhere_equal_the_engines():
    assert pool_cli.METHODS == analysis.METHODS
    assert tuple(SCHEMA["$defs"]["method"]["enum"]) == analysis.METHODS


def test_ratio_measures_everywhere_equal_the_engines():
    assert set(effects.RATIO_MEASURES) == config.RATIO_MEASURES == history.RATIO_MEASURES


def test_config_allows_the_measures_each_table_method_pools():
    assert config.METHOD_MEASURES == {m: set(ms) for m, ms in analysis.TABLE_METHODS.items()}


def test_tests_everywhere_equal_the_engines():
    from metasr.stats import inference

    assert pool_cli.TESTS == inference.TESTS
    enums = [node["properties"]["test"]["enum"] for node in SCHEMA["$defs"].values()
             if isinstance(node, dict) and "test" in node.get("properties", {})]
    assert enums and all(tuple(e) == inference.TESTS for e in enums)
