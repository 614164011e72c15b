"""Config loading: defaults, outcome merging, and problems that name key, value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from metasr.config import load_config, prepare_config
from metasr.errors import InputError

REPO = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def prepared(raw: dict, check_files: bool = False) -> dict:
    return prepare_config(raw, "config.yaml", REPO, check_files=check_files)


def problems_of(raw: dict, check_files: bool = False) -> list:
    with pytest.raises(InputError) as info:
        prepared(raw, check_files)
    return info.value.problems


def test_default_config_loads_with_defaults_filled():
    config = load_config(REPO / "config" / "config.yaml")
    edss = config["outcomes"]["edss"]
    assert (edss["method"], edss["test"], edss["order_by"]) == ("REML", "z", "year")
    assert config["outcomes"]["relapse_rate"]["scale"] == "log"
    assert config["screening"]["allow_unresolved_conflicts"] is False
    assert config["search"]["sources"]["pubmed"]["format"] == "auto"


def test_outcome_overrides_defaults():
    raw = copy.deepcopy(RAW)
    raw["defaults"] = {"method": "DL"}
    raw["outcomes"]["edss"]["method"] = "PM"
    config = prepared(raw)
    assert config["outcomes"]["edss"]["method"] == "PM"
    assert config["outcomes"]["brain_volume"]["method"] == "DL"


def test_every_problem_is_reported_at_once_with_key_value_and_allowed():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"]["measure"] = "SMDD"
    raw["outcomes"]["edss"]["methd"] = "REML"
    raw["screening"]["allow_unresolved_conflicts"] = "yes"
    problems = problems_of(raw)
    keys = {p.key for p in problems}
    assert {"outcomes.edss.measure", "outcomes.edss", "screening.allow_unresolved_conflicts"} <= keys
    enum = next(p for p in problems if p.key == "outcomes.edss.measure")
    assert enum.value == "SMDD" and "allowed: SMD, MD" in enum.message
    typo = next(p for p in problems if p.key == "outcomes.edss")
    assert "'methd'" in typo.message and "method" in typo.hint


def test_outcome_ids_must_be_identifiers():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["Bad-Id"] = {"label": "x", "measure": "SMD"}
    assert any(p.rule == "schema:pattern" for p in problems_of(raw))


def test_method_must_fit_measure():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"]["method"] = "PETO"
    problem = problems_of(raw)[0]
    assert problem.rule == "method-measure" and problem.key == "outcomes.edss.method"


def test_published_estimate_must_lie_in_its_interval():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"]["published"] = {"estimate": 2.0, "ci_lb": 0.34, "ci_ub": 1.21}
    assert problems_of(raw)[0].rule == "published-ci"


def test_missing_input_file_is_named(tmp_path):
    raw = copy.deepcopy(RAW)
    raw["search"]["sources"]["pubmed"]["file"] = "data/search/nope.nbib"
    problems = problems_of(raw, check_files=True)
    assert any(p.key == "search.sources.pubmed.file" and p.rule == "file-exists" for p in problems)


def test_broken_yaml_names_the_line(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("review:\n  id: x\n  title: [unclosed\n")
    with pytest.raises(InputError) as info:
        load_config(bad)
    assert info.value.problems[0].row is not None


def test_risk_of_bias_summary_weighting():
    assert prepared(copy.deepcopy(RAW))["risk_of_bias"] == {"summary": "unweighted", "weight_outcome": None}
    raw = copy.deepcopy(RAW)
    raw["risk_of_bias"] = {"summary": "weighted"}
    (problem,) = problems_of(raw)
    assert problem.key == "risk_of_bias.weight_outcome" and "edss" in problem.hint
    raw["risk_of_bias"]["weight_outcome"] = "edss"
    assert prepared(raw)["risk_of_bias"]["weight_outcome"] == "edss"
