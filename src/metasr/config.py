"""Load and validate a review's configuration (`config/config.yaml`).

The JSON schema (`schemas/config.schema.yaml`) says what is allowed; this module turns every schema
violation into a `Problem` that names the key, the value and what is allowed, fills the schema's
defaults, merges `defaults:` into each outcome, and checks what a schema cannot (files exist,
methods fit measures).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from metasr.errors import InputError, Problem

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = PROJECT_ROOT / "schemas"
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"

OUTCOME_DEFAULTS = {"method": "REML", "test": "z", "order_by": "year"}
RATIO_MEASURES = {"RR", "OR", "IRR"}
# Methods that only make sense for some measures (metafor's rma.mh / rma.peto).
METHOD_MEASURES = {"MH": {"RR", "OR", "RD", "IRR"}, "PETO": {"OR"}}


def load_schema(path: Path = CONFIG_SCHEMA) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise InputError(f"config file not found: {path}", hint="pass --config or create config/config.yaml")
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise InputError(Problem(message=f"not valid YAML: {getattr(err, 'problem', err)}", file=str(path),
                                 row=line, rule="yaml", hint="check indentation and quoting at that line"))


def load_config(path: str | Path, root: str | Path | None = None, check_files: bool = True) -> dict:
    """Read, validate and complete a config file; raise InputError listing every problem."""
    path = Path(path)
    config = read_yaml(path)
    return prepare_config(config, str(path), root=Path(root) if root else path.resolve().parent.parent,
                          check_files=check_files)


def prepare_config(config: Any, source: str, root: Path, check_files: bool = True) -> dict:
    """Validate an already-parsed config dict, fill defaults, merge outcome defaults."""
    schema = load_schema()
    problems = schema_problems(config, schema, source)
    if problems:
        raise InputError(problems)
    config = fill_defaults(copy.deepcopy(config), schema, schema)
    config["outcomes"] = {oid: complete_outcome(o, config.get("defaults") or {})
                          for oid, o in config["outcomes"].items()}
    problems = semantic_problems(config, source)
    if check_files:
        problems += missing_file_problems(config, source, root)
    if problems:
        raise InputError(problems)
    return config


def complete_outcome(outcome: dict, defaults: dict) -> dict:
    merged = {**OUTCOME_DEFAULTS, **defaults, **outcome}
    if merged["measure"] in RATIO_MEASURES:
        merged.setdefault("scale", "log")
    return merged


def schema_problems(config: Any, schema: dict, source: str) -> list[Problem]:
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return [schema_error_to_problem(e, source) for e in errors]


def schema_error_to_problem(error, source: str) -> Problem:
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    value = error.instance if not isinstance(error.instance, (dict, list)) else None
    message, hint = error.message, None
    if error.validator == "enum":
        message = f"'{key}' is {error.instance!r}; allowed: {', '.join(map(str, error.validator_value))}"
    elif error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = sorted(set(error.instance) - set(allowed))
        message = f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} under '{key}'"
        hint = f"allowed keys: {', '.join(allowed)}" if allowed else None
    elif error.validator == "required":
        message = f"'{key}' is missing a required key: {error.message.split(' is a required')[0]}"
    elif error.validator == "pattern":
        message = f"'{key}': {error.instance!r} does not match the pattern {error.validator_value}"
        hint = "ids are lower case letters, digits and underscores, starting with a letter"
    elif error.validator == "type":
        message = f"'{key}' should be of type {error.validator_value}, not {type(error.instance).__name__}"
    return Problem(message=message, file=source, key=key, value=None if value is None else str(value),
                   rule=f"schema:{error.validator}", hint=hint)


def fill_defaults(instance: Any, schema: dict, root_schema: dict) -> Any:
    """Fill `default` values from the schema into missing keys (jsonschema does not do this)."""
    if "$ref" in schema:
        schema = resolve_ref(schema["$ref"], root_schema)
    if not isinstance(instance, dict):
        return instance
    for key, sub in (schema.get("properties") or {}).items():
        sub_resolved = resolve_ref(sub["$ref"], root_schema) if "$ref" in sub else sub
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            instance[key] = fill_defaults(instance[key], sub_resolved, root_schema)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key in instance:
            if key not in (schema.get("properties") or {}):
                instance[key] = fill_defaults(instance[key], extra, root_schema)
    return instance


def resolve_ref(ref: str, root_schema: dict) -> dict:
    node = root_schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def semantic_problems(config: dict, source: str) -> list[Problem]:
    problems = []
    for oid, outcome in config["outcomes"].items():
        allowed = METHOD_MEASURES.get(outcome["method"])
        if allowed and outcome["measure"] not in allowed:
            problems.append(Problem(
                message=f"method {outcome['method']} cannot pool measure {outcome['measure']}",
                file=source, key=f"outcomes.{oid}.method", value=outcome["method"], rule="method-measure",
                hint=f"{outcome['method']} pools {', '.join(sorted(allowed))}; use REML or FE instead"))
        published = outcome.get("published")
        if published and not published["ci_lb"] <= published["estimate"] <= published["ci_ub"]:
            problems.append(Problem(
                message="published estimate lies outside its confidence interval", file=source,
                key=f"outcomes.{oid}.published", rule="published-ci",
                value=f"{published['estimate']} ({published['ci_lb']} to {published['ci_ub']})",
                hint="give estimate, ci_lb and ci_ub on the natural scale (ratios as ratios)"))
    rob = config.get("risk_of_bias") or {}
    if rob.get("summary") == "weighted" and rob.get("weight_outcome") not in config["outcomes"]:
        problems.append(Problem(
            message="a weighted risk-of-bias summary needs the outcome whose analysis weights it",
            file=source, key="risk_of_bias.weight_outcome", value=rob.get("weight_outcome"),
            rule="rob-weight-outcome", hint="set weight_outcome to one of: " + ", ".join(config["outcomes"])))
    return problems


def input_paths(config: dict) -> dict[str, str]:
    """Config key -> path, for every input file the config names."""
    paths = {f"search.sources.{sid}.file": s["file"] for sid, s in config["search"]["sources"].items()}
    paths["screening.title_abstract"] = config["screening"]["title_abstract"]
    paths["screening.full_text"] = config["screening"]["full_text"]
    paths["extraction.studies"] = config["extraction"]["studies"]
    for key in ("narrative",):
        if config["extraction"].get(key):
            paths[f"extraction.{key}"] = config["extraction"][key]
    if config["search"].get("dedup", {}).get("overrides"):
        paths["search.dedup.overrides"] = config["search"]["dedup"]["overrides"]
    return paths


def missing_file_problems(config: dict, source: str, root: Path) -> list[Problem]:
    problems = []
    for key, rel in input_paths(config).items():
        if not (root / rel).is_file():
            problems.append(Problem(message=f"file not found: {rel}", file=source, key=key, value=rel,
                                    rule="file-exists", hint="fix the path (relative to the project root)"))
    outcomes_dir = root / config["extraction"]["outcomes_dir"]
    if not outcomes_dir.is_dir():
        problems.append(Problem(message=f"folder not found: {config['extraction']['outcomes_dir']}",
                                file=source, key="extraction.outcomes_dir", rule="file-exists"))
    return problems


def outcome_sheet(config: dict, outcome_id: str) -> str:
    """Path (relative to the project root) of an outcome's extraction sheet."""
    return f"{config['extraction']['outcomes_dir']}/{outcome_id}.csv"
