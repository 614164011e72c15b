"""Settings of the optional analyses (metasr.analysis_settings): defaults, merging with `defaults:`,
the parse-time bubble rule, what the config check refuses, and that the schema's vocabularies are
the engine's."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metasr import analysis_settings as settings
from metasr.config import prepare_config
from metasr.errors import InputError
from metasr.stats import bias, models, selection

REPO = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())["$defs"]


def prepared(raw: dict) -> dict:
    return prepare_config(raw, "config.yaml", REPO, check_files=False)


def test_defaults_follow_metafor_and_the_handbook():
    small = settings.small_study_settings({})
    assert small["min_k"] == 10 and small["methods"] == list(settings.SMALL_STUDY_METHODS)
    assert small["selmodel"] == {"type": "stepfun", "steps": list(selection.DEFAULT_STEPS), "alternative": "greater",
                                 "min_per_interval": 4}
    assert small["trimfill"] == {"estimator": "L0", "side": None}
    assert settings.meta_regression_settings({}) is None
    regression = settings.meta_regression_settings({"meta_regression": {"moderators": ["year"]}})
    assert regression["studies_per_coefficient"] == 10


def test_an_outcome_changes_one_key_of_defaults_and_keeps_the_others():
    raw = copy.deepcopy(RAW)
    raw["defaults"] = {"small_study": {"min_k": 5, "selmodel": {"alternative": "less", "steps": [0.025, 0.5]}},
                       "meta_regression": {"moderators": ["year"], "permutations": 100}}
    raw["outcomes"]["edss"]["small_study"] = {"selmodel": {"alternative": "two.sided"}}
    raw["outcomes"]["edss"]["meta_regression"] = {"seed": 7}
    outcomes = prepared(raw)["outcomes"]
    edss = settings.small_study_settings(outcomes["edss"])
    assert edss["min_k"] == 5 and edss["selmodel"]["steps"] == [0.025, 0.5]
    assert edss["selmodel"]["alternative"] == "two.sided"
    assert settings.small_study_settings(outcomes["sdmt"])["selmodel"]["alternative"] == "less"
    regression = settings.meta_regression_settings(outcomes["edss"])
    assert (regression["moderators"], regression["permutations"], regression["seed"]) == (["year"], 100, 7)


@pytest.mark.parametrize("given, key, rule", [
    ({"meta_regression": {"moderators": ["year +* dose"]}}, "outcomes.edss.meta_regression.moderators",
     "moderator formula"),
    ({"meta_regression": {"permutations": 100}}, "outcomes.edss.meta_regression", "moderators"),
    ({"meta_regression": {"moderators": ["year", "yi"]}}, "outcomes.edss.meta_regression.moderators",
     "moderator formula"),
    ({"small_study": {"selmodel": {"steps": [0.025, 0.025]}}}, "outcomes.edss.small_study.selmodel.steps",
     "distinct steps"),
    ({"small_study": {"methods": ["egger", "funnel"]}}, "outcomes.edss.small_study.methods.1", "schema:enum"),
    ({"small_study": {"min_k": 2}}, "outcomes.edss.small_study.min_k", "schema:minimum"),
    ({"meta_regression": {"moderators": ["year"], "method": "MH"}}, "outcomes.edss.meta_regression.method",
     "schema:enum"),
])
def test_bad_settings_are_named(given, key, rule):
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"].update(given)
    with pytest.raises(InputError) as info:
        prepared(raw)
    assert (key, rule) in {(p.key, p.rule) for p in info.value.problems}


def test_moderator_variables_are_the_formulas_columns():
    assert settings.moderator_variables(["ablat*year", "factor(grade)", "dose:year"]) == ["ablat", "year", "grade",
                                                                                          "dose"]
    assert settings.formula_text(["ablat", "factor(alloc)"]) == "ablat + factor(alloc)"


def test_a_bubble_plot_is_planned_with_a_meta_regression_and_enough_studies():
    cfg = {"meta_regression": {"moderators": ["year"]}}
    assert settings.bubble_planned(cfg, 10) and not settings.bubble_planned(cfg, 9)
    assert not settings.bubble_planned({}, 100)
    assert settings.bubble_planned({"meta_regression": {"moderators": ["year"], "studies_per_coefficient": 1}}, 3)
    assert not settings.bubble_planned({"meta_regression": {"moderators": ["year"], "studies_per_coefficient": 1}}, 2)


def test_the_settings_module_imports_no_numpy():
    """The Snakefile asks it at parse time: no heavy imports."""
    code = ("import sys, metasr.analysis_settings as s; s.moderator_variables(['a*b']); "
            "print(any(m in sys.modules for m in ('numpy', 'pandas', 'scipy')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"


def test_the_schemas_vocabularies_are_the_engines():
    small = SCHEMA["small_study"]["properties"]
    assert tuple(small["methods"]["items"]["enum"]) == settings.SMALL_STUDY_METHODS
    assert tuple(small["trimfill"]["properties"]["estimator"]["enum"]) == bias.TRIMFILL_ESTIMATORS
    assert tuple(small["trimfill"]["properties"]["side"]["enum"]) == bias.TRIMFILL_SIDES + (None,)
    assert tuple(small["pet_peese"]["properties"]["model"]["enum"]) == bias.REGTEST_MODELS[::-1]
    assert tuple(small["selmodel"]["properties"]["type"]["enum"]) == selection.TYPES
    assert tuple(small["selmodel"]["properties"]["alternative"]["enum"]) == selection.ALTERNATIVES
    assert tuple(SCHEMA["rma_method"]["enum"]) == models.METHODS_RMA
    assert set(settings.SMALL_STUDY_DEFAULTS) == set(small) and \
        set(settings.META_REGRESSION_DEFAULTS) == set(SCHEMA["meta_regression"]["properties"])


def test_every_default_is_stated_in_the_schema():
    """The schema's descriptions (docs/formats.md) say each default the code applies."""
    small, regression = SCHEMA["small_study"]["properties"], SCHEMA["meta_regression"]["properties"]
    assert "default 10" in small["min_k"]["description"] and "default all" in small["methods"]["description"]
    assert small["min_k"]["minimum"] == settings.SMALL_STUDY_LOWEST_MIN_K
    assert "default L0" in small["trimfill"]["properties"]["estimator"]["description"]
    assert "(default" in small["pet_peese"]["properties"]["model"]["description"].split(";")[0].split("lm:")[1]
    selmodel = small["selmodel"]["properties"]
    assert "default [0.025]" in selmodel["steps"]["description"] and "default greater" in \
        selmodel["alternative"]["description"] and "default 4" in selmodel["min_per_interval"]["description"]
    assert "default 10" in regression["studies_per_coefficient"]["description"]
    assert "default 1)" in regression["seed"]["description"] and "default null" in \
        regression["permutations"]["description"]
    from metasr.config import OUTCOME_DEFAULTS

    for where in (SCHEMA["analysis"]["properties"], SCHEMA["outcome"]["properties"]):
        for key in ("method", "test", "order_by"):
            assert f"(default {OUTCOME_DEFAULTS[key]})" in where[key]["description"], key


def test_the_analysis_without_high_risk_of_bias_is_on_unless_turned_off():
    import yaml

    from metasr.analysis_settings import risk_of_bias_sensitivity
    from metasr.config import prepare_config

    repo = Path(__file__).resolve().parents[1]
    raw = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    first = next(iter(raw["outcomes"]))
    config = prepare_config(copy.deepcopy(raw), "config.yaml", repo, check_files=False)
    assert all(risk_of_bias_sensitivity(o) for o in config["outcomes"].values())
    raw["defaults"] = {**(raw.get("defaults") or {}), "risk_of_bias_sensitivity": False}
    raw["outcomes"][first]["risk_of_bias_sensitivity"] = True  # an outcome's own setting wins
    config = prepare_config(raw, "config.yaml", repo, check_files=False)
    assert [risk_of_bias_sensitivity(o) for o in config["outcomes"].values()] == \
        [True] + [False] * (len(config["outcomes"]) - 1)
