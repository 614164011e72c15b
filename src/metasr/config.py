"""Load and validate a review's configuration (`config.yaml` of a review folder).

The JSON schema (`schemas/config.schema.yaml`) says what is allowed; this module turns every schema
violation into a `Problem` that names the key, the value and what is allowed, fills the schema's
defaults, merges `defaults:` into each outcome, and checks what a schema cannot (files exist,
methods fit measures).
"""

from __future__ import annotations

import copy
import math
import os
import re
from collections import deque
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from metasr import dependence, measures
from metasr.analysis_settings import merged as merge_sections, settings_problems
from metasr.errors import InputError, Problem, raise_if_errors
from metasr.folder import (
    BadLink,
    allowed_roots,
    bad_link,
    bad_link_problem,
    external_data_problems,
    generated_part,
    inside,
    outside_problem,
)
from metasr.resources import schema_path

CONFIG_SCHEMA = schema_path("config")

OUTCOME_DEFAULTS = {"method": "REML", "test": "z", "order_by": "year"}
# Methods that only make sense for some measures (metafor's rma.mh / rma.peto).
METHOD_MEASURES = {method: set(ids) for method, ids in measures.table_methods().items()}


def load_schema(path: Path = CONFIG_SCHEMA) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a config may not use (a duplicate key, an alias, a tag), with how to fix it:
    the parser's own errors get the hint about indentation and quoting, these do not."""

    def __init__(self, problem: str, problem_mark, hint: str):
        super().__init__(problem=problem, problem_mark=problem_mark)
        self.hint = hint


class _NoDuplicateKeys:
    """A constructor that refuses a key written twice in a mapping (the second would replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            if key in seen:
                raise _Refused(f"the key {key!r} appears twice (first at line {seen[key]}); the second would "
                               "silently replace the first", key_node.start_mark,
                               "keep one of the two (merge their settings into it)")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _StrictLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """YAML as data only: no tags beyond YAML's own, no anchors or aliases, no duplicate keys.

    Snakemake's own config loader runs YAML templates (`__use_yte__`), which evaluate Python; a
    review's config is data that may come from anyone, so metasr reads it with this loader alone.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused("anchors and aliases (&name, *name) are not supported", event.start_mark,
                           "write the values out where the alias stands (settings every outcome shares go "
                           "under `defaults:`)")
        return super().compose_node(parent, index)


# The same loader with libyaml's parser and composer (C), for a text without "*", which every alias
# needs (the C composer cannot refuse aliases itself). A config of 2,000 outcomes took about a
# second to compose in Python at every Snakemake invocation; in C a few milliseconds.
_FastStrictLoader = type("_FastStrictLoader", (_NoDuplicateKeys, yaml.CSafeLoader), {}) \
    if getattr(yaml, "__with_libyaml__", False) else None


# The tags plain YAML resolves by itself; any other tag was written in the file (`!!python/...`,
# `!!binary`, `!custom`) and asks for more than data.
PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp",
                                                          "seq", "map")}


def _tagged_node(node: yaml.Node) -> yaml.Node | None:
    """The first node carrying a tag outside PLAIN_TAGS, if any."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.tag not in PLAIN_TAGS:
            return current
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(n for pair in current.value for n in pair)
    return None


def read_yaml(path: Path, shown: str | None = None) -> Any:
    """Parse a YAML file as plain data; every mistake is an InputError naming the file and line."""
    shown = shown or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = "give the path of the review's config.yaml (`metasr init FOLDER` starts one)"
        raise InputError(Problem(message="config file not found", file=shown, rule="file-exists", hint=hint)) from None
    except IsADirectoryError:
        raise InputError(Problem(message="is a folder, not a config file", file=shown, rule="file-exists",
                                 hint="give the config.yaml inside it")) from None
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        byte = err.object[err.start: err.start + 1].hex()
        raise InputError(Problem(message=f"not UTF-8 text: byte 0x{byte} on line {line} cannot be read",
                                 file=shown, line=line, rule="encoding",
                                 hint="save the config as UTF-8 (the editor's 'Save as' or 'Encoding' menu)")) from None
    loader = _FastStrictLoader(text) if _FastStrictLoader is not None and "*" not in text else _StrictLoader(text)
    try:
        node = loader.get_single_node()
        tagged = _tagged_node(node) if node is not None else None
        if tagged is not None:
            raise _Refused(f"the tag {tagged.tag!r} is not supported (a config is plain data)", tagged.start_mark,
                           "remove the tag (the word starting with !) and write the value as plain text, "
                           "numbers or lists")
        data = loader.construct_document(node) if node is not None else None
        keys = _written_key_problems(node, shown) if node is not None else []
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(Problem(message=f"not valid YAML: {getattr(err, 'problem', None) or err}", file=shown,
                                 line=mark.line + 1 if mark else None, rule="yaml",
                                 hint=getattr(err, "hint", "check indentation and quoting at that line"))) from None
    finally:
        loader.dispose()
    if isinstance(data, dict) and "__use_yte__" in data:
        raise InputError(Problem(message="YAML templating (__use_yte__) is not supported", file=shown,
                                 key="__use_yte__", rule="yaml",
                                 hint="a config is plain data: remove __use_yte__ and write the values out"))
    raise_if_errors(keys)
    return data


def read_config(path: Path, shown: str | None = None) -> dict:
    """A review's config file as parsed data, refused unless it is a mapping of settings.

    Every entry point that loads a config reads it here, so nothing (the review cache's key, the
    schema, a command) ever sees an empty file, a list or a bare value in place of the settings."""
    shown = shown or str(path)
    data = read_yaml(path, shown=shown)
    problem = not_a_mapping_problem(data, shown)
    if problem is not None:
        raise InputError(problem)
    return data


def not_a_mapping_problem(data: Any, shown: str) -> Problem | None:
    """Why `data` cannot be a config (empty, a list, a bare value), or None for a mapping."""
    if isinstance(data, dict):
        return None
    hint = ("a config is a mapping of settings, one `key: value` per line (title:, outcomes:, extraction:, ...); "
            "`metasr init FOLDER` writes a starting one")
    if data is None:
        return Problem(message="the config is empty (no settings)", file=shown, rule="config-mapping", hint=hint)
    kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
    return Problem(message=f"the config must be a mapping of settings, not {kind}", file=shown,
                   rule="config-mapping", hint=hint)


def _entries(data: Any):
    """(path, key, value, in_mapping) of every entry of a parsed config, breadth first (in the
    order of the file)."""
    stack: deque[tuple[tuple, Any]] = deque([((), data)])
    while stack:
        path, node = stack.popleft()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            yield path, key, value, isinstance(node, dict)
            stack.append(((*path, key), value))


def key_problems(data: Any, source: str) -> list[Problem]:
    """Mapping keys that are not text, anywhere in the config. YAML reads `2:` as a number, `null:`
    or `~:` as nothing and `no:`, `on:` as a truth value; the schema's id rule applies to text only,
    and a config mixing them breaks everything that sorts or names the keys. (read_config names
    them first, as written and with their line: `_written_key_problems`.)"""
    return [_key_problem(_shown_key(key), _read_as(key), ".".join(map(str, path)) or "(top level)", source)
            for path, key, _, in_mapping in _entries(data) if in_mapping and not isinstance(key, str)]


def _shown_key(key: Any) -> str:
    if isinstance(key, bool):
        return f"{str(key).lower()} (written no, off or false; yes, on or true)"
    return "null" if key is None else str(key)


def _read_as(key: Any) -> str:
    if isinstance(key, bool):
        return "true or false"
    if key is None:
        return "nothing (null)"
    return "a number" if isinstance(key, (int, float)) else f"a {type(key).__name__}"


# What YAML's resolver makes of a plain key, in words (tag -> reading).
_TAG_READINGS = {"bool": "true or false", "null": "nothing (null)", "int": "a number", "float": "a number",
                 "timestamp": "a date"}


def _written_key_problems(node: yaml.Node, source: str) -> list[Problem]:
    """Keys of the parsed YAML `node` that YAML does not read as text, as the user wrote them, with
    their line."""
    problems: list[Problem] = []
    stack: list[tuple[tuple[str, ...], yaml.Node]] = [((), node)]
    while stack:
        path, current = stack.pop(0)
        if isinstance(current, yaml.SequenceNode):
            stack.extend(((*path, str(i)), item) for i, item in enumerate(current.value))
        if not isinstance(current, yaml.MappingNode):
            continue
        for key_node, value_node in current.value:
            reading = _TAG_READINGS.get(str(key_node.tag).rsplit(":", 1)[-1])
            if isinstance(key_node, yaml.ScalarNode) and reading:
                problems.append(_key_problem(key_node.value or "(empty)", reading, ".".join(path) or "(top level)",
                                             source, line=key_node.start_mark.line + 1))
            stack.append(((*path, str(key_node.value)), value_node))
    return problems


def _id_maps(schema: dict, path: tuple = ()) -> set[str]:
    """Keys of the config whose own keys are ids (the schema gives them a propertyNames rule)."""
    found = {".".join(path)} if "propertyNames" in schema else set()
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            found |= _id_maps(sub, (*path, name))
    return found


def _key_problem(shown: str, read_as: str, where: str, source: str, line: int | None = None) -> Problem:
    """A key YAML does not read as text: quoting it keeps it as written. Under outcomes or
    search.sources it is an id, which must also follow the id rule; elsewhere (a scenario's label)
    quoting is all it takes."""
    written = shown.split(" (")[0]
    hint = f'put it in quotes ("{written}":) so that YAML reads it as text'
    if where in _id_maps(load_schema()):
        hint += ("; an id is lower case letters, digits and underscores, starting with a letter "
                 "(e.g. outcome_2)")
    return Problem(message=f"the key {shown} is not text: YAML reads it as {read_as}", file=source,
                   key=where, value=written, line=line, rule="config-key", hint=hint)


# Unicode's bidirectional embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI,
# FSI, PDI): invisible, they reorder the text after them in the report and figures ("RTL" shows as
# "LTR"). Text in right-to-left scripts needs none of them.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def bidi_problems(data: Any, source: str) -> list[Problem]:
    """Text of the config holding a bidirectional control character."""
    out = []
    for path, key, value, _ in _entries(data):
        if isinstance(value, str) and (found := BIDI_CONTROLS.search(value)):
            out.append(Problem(message=f"the text holds an invisible bidirectional control character "
                                       f"(U+{ord(found.group()):04X}) that reorders how the text after it is shown",
                               file=source, key=".".join(map(str, (*path, key))), rule="bidi-control",
                               hint="delete the character (retype the text); right-to-left scripts need no controls"))
    return out


def non_finite_problems(data: Any, source: str) -> list[Problem]:
    """Numbers of the config that are not finite (YAML's .nan, .inf): they pass every bound of the
    schema (a comparison with NaN is false) and no setting means them."""
    return [Problem(message="not a finite number", file=source, key=".".join(map(str, (*path, key))),
                    value=str(value), rule="finite number", hint="write the number itself (YAML's .nan and .inf are "
                                                                  "not numbers a setting takes)")
            for path, key, value, _ in _entries(data) if isinstance(value, float) and not math.isfinite(value)]


def raw_config_problems(config: Any, source: str, root: Path) -> list[Problem]:
    """What must hold before anything uses a parsed config, even to compute the review cache's key
    (metasr.workflow.review_cache): a mapping, whose keys are text, whose text holds no
    bidirectional controls and whose numbers are finite, whose `external_data` names folders that
    may be walked."""
    problem = not_a_mapping_problem(config, source)
    if problem is not None:
        return [problem]
    return (key_problems(config, source) + bidi_problems(config, source) + non_finite_problems(config, source)) or \
        external_data_problems(root, config.get("external_data"), source)


def load_config(path: str | Path, root: str | Path | None = None, check_files: bool = True) -> dict:
    """Read, validate and complete a config file; raise InputError listing every problem.

    Paths in the config are relative to `root`, by default the review folder the file belongs to
    (metasr.folder.review_of_config)."""
    from metasr.folder import review_of_config

    path = Path(path)
    config = read_config(path)
    root = Path(root) if root else review_of_config(path).root
    return prepare_config(config, str(path), root=root, check_files=check_files)


def prepare_config(config: Any, source: str, root: Path, check_files: bool = True) -> dict:
    """Validate an already-parsed config dict, fill defaults, merge outcome defaults.

    Where the inputs lie is always checked (location_problems: every command that reads them
    loads its config here); `check_files=False` only leaves out that they exist."""
    raise_if_errors(raw_config_problems(config, source, root))
    schema = load_schema()
    problems = schema_problems(config, schema, source)
    if problems:
        raise InputError(problems)
    config = fill_defaults(copy.deepcopy(config), schema, schema)
    config["outcomes"] = {oid: complete_outcome(o, config.get("defaults") or {})
                          for oid, o in config["outcomes"].items()}
    problems = semantic_problems(config, source)
    located = location_problems(config, source, root)
    problems += located
    if check_files:
        problems += missing_file_problems(config, source, root, skip={p.key for p in located if p.key})
    if problems:
        raise InputError(problems)
    return config


def complete_outcome(outcome: dict, defaults: dict) -> dict:
    """The outcome's settings over `defaults:` over OUTCOME_DEFAULTS; sections such as
    `small_study` merge key by key, so an outcome may change one setting of `defaults:`."""
    merged = merge_sections({**OUTCOME_DEFAULTS, **defaults}, outcome)
    if measures.known(merged["measure"]) and measures.log_scale(merged["measure"]):
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
    from metasr.outputs import outcome_id_clash

    problems = stage_problems(config, source)
    for oid, outcome in config["outcomes"].items():
        clash = outcome_id_clash(oid)
        if clash:
            problems.append(Problem(message=f"the outcome id '{oid}' is reserved: {clash}", file=source,
                                    key=f"outcomes.{oid}", value=oid, rule="reserved-id",
                                    hint=f"choose another id (e.g. {oid}_outcome) and rename its sheet to match"))
        allowed = METHOD_MEASURES.get(outcome["method"])
        if allowed and outcome["measure"] not in allowed:
            problems.append(Problem(
                message=f"method {outcome['method']} cannot pool measure {outcome['measure']}",
                file=source, key=f"outcomes.{oid}.method", value=outcome["method"], rule="method-measure",
                hint=f"{outcome['method']} pools {', '.join(sorted(allowed))}; use REML or FE instead"))
        problems += dependence.config_problems(oid, outcome, source, METHOD_MEASURES)
        problems += method_test_problems(oid, outcome, config.get("defaults") or {}, source)
        escalc = outcome.get("escalc") or {}
        problems += measures.option_problems(outcome["measure"], escalc.get("add"), escalc.get("to", "only0"),
                                             escalc.get("drop00", False), escalc.get("vtype"), file=source,
                                             key=f"outcomes.{oid}.escalc.")
        problems += settings_problems(outcome, source, f"outcomes.{oid}")
        if "assumed_correlation" in outcome and measures.known(outcome["measure"]) \
                and not measures.takes_assumed_correlation(outcome["measure"]):
            problems.append(Problem(
                message=f"assumed_correlation is for paired measures, not {outcome['measure']}", file=source,
                key=f"outcomes.{oid}.assumed_correlation", value=str(outcome["assumed_correlation"]),
                rule="assumed-correlation",
                hint="remove it: only a sample measured twice (" + ", ".join(
                    m for m in measures.ids() if measures.takes_assumed_correlation(m)) + ") has a correlation "
                     "between its measurements to assume"))
        published = outcome.get("published")
        if published and not published["ci_lb"] <= published["estimate"] <= published["ci_ub"]:
            problems.append(Problem(
                message="published estimate lies outside its confidence interval", file=source,
                key=f"outcomes.{oid}.published", rule="published-ci",
                value=f"{published['estimate']} ({published['ci_lb']} to {published['ci_ub']})",
                hint="give estimate, ci_lb and ci_ub on the display scale (ratios as ratios, proportions "
                     "as proportions, correlations as r)"))
    rob = config.get("risk_of_bias") or {}
    if rob.get("summary") == "weighted" and rob.get("weight_outcome") not in config["outcomes"]:
        problems.append(Problem(
            message="a weighted risk-of-bias summary needs the outcome whose analysis weights it",
            file=source, key="risk_of_bias.weight_outcome", value=rob.get("weight_outcome"),
            rule="rob-weight-outcome", hint="set weight_outcome to one of: " + ", ".join(config["outcomes"])))
    return problems


def method_test_problems(outcome_id: str, outcome: dict, defaults: dict, source: str) -> list[Problem]:
    """Mantel-Haenszel and Peto test with z only (metafor's rma.mh and rma.peto; pooling refuses
    another test: metasr.stats.tables.check_method): caught here, before any outcome runs, with the
    same key as the three-level model's test conflict (dependence.config_problems)."""
    method, test = outcome.get("method"), outcome.get("test")
    if method not in METHOD_MEASURES or test in (None, "z"):
        return []
    inherited = " (from defaults:, which every outcome inherits)" if test == defaults.get("test") else ""
    return [Problem(message=f"method {method} has no {test} test{inherited}: Mantel-Haenszel and Peto pool "
                            "with z tests", file=source, key=f"outcomes.{outcome_id}.test", value=test,
                    rule="method-test",
                    hint=f"set test: z under outcomes.{outcome_id}, or use an inverse-variance method (REML, FE, ...)")]


def stage_problems(config: dict, source: str) -> list[Problem]:
    """The search and screening stages come together; declared PRISMA counts replace them."""
    from metasr.screening.declared import declared_problems

    problems = []
    for present, missing in (("search", "screening"), ("screening", "search")):
        if config.get(present) and not config.get(missing):
            problems.append(Problem(
                message=f"'{present}' is given without '{missing}'", file=source, key=missing, rule="stages",
                hint="the search stage needs both its exports (search) and its decision files (screening); "
                     "a review that starts from its included studies leaves out both"))
    if config.get("prisma"):
        if has_search(config):
            problems.append(Problem(
                message="PRISMA counts are declared although the review has its own search stage",
                file=source, key="prisma", rule="stages",
                hint="remove `prisma:` (metasr counts the flow from the search and screening files)"))
        else:
            problems += declared_problems(config["prisma"], source)
    return problems


def has_search(config: dict) -> bool:
    """Whether the review runs its own search stage (exports, de-duplication, screening)."""
    return bool(config.get("search"))


def input_paths(config: dict) -> dict[str, str]:
    """Config key -> path, for every input file the config names (relative to the review folder)."""
    paths = {}
    if has_search(config):
        paths.update({f"search.sources.{sid}.file": s["file"] for sid, s in config["search"]["sources"].items()})
        if config["search"].get("dedup", {}).get("overrides"):
            paths["search.dedup.overrides"] = config["search"]["dedup"]["overrides"]
        screening = config.get("screening") or {}  # its absence is a stage problem of its own
        paths.update({f"screening.{part}": screening[part] for part in ("title_abstract", "full_text")
                      if part in screening})
    paths["extraction.studies"] = config["extraction"]["studies"]
    if config["extraction"].get("narrative"):
        paths["extraction.narrative"] = config["extraction"]["narrative"]
    return paths


def input_dirs(config: dict) -> dict[str, str]:
    """Config key -> folder, for every input folder the config names."""
    dirs = {"extraction.outcomes_dir": config["extraction"]["outcomes_dir"]}
    if config["extraction"].get("second_extractor_dir"):
        dirs["extraction.second_extractor_dir"] = config["extraction"]["second_extractor_dir"]
    return dirs


def folder_inputs(config: dict) -> dict[str, list[str]]:
    """Config key of an input folder -> the files read in it (relative to the folder): the declared
    outcomes' sheets (metasr.config.outcome_sheet), and the second extractor's copies of the sheets
    (second_extractor_sheets, and the resolutions). Nothing else in them is read."""
    out = {"extraction.outcomes_dir": [f"{oid}.csv" for oid in config.get("outcomes") or {}]}
    if config["extraction"].get("second_extractor_dir"):
        out["extraction.second_extractor_dir"] = [name for _, name in second_extractor_sheets(config)] + \
            [SECOND_EXTRACTOR_RESOLUTIONS]
    return out


SECOND_EXTRACTOR_RESOLUTIONS = "resolutions.csv"  # in the second extractor's folder: discrepancies resolved


def second_extractor_sheets(config: dict) -> list[tuple[str, str]]:
    """(the first extractor's sheet as the config names it, its copy's name in the second
    extractor's folder) of every sheet the two extractions compare (metasr.extraction.discrepancies)."""
    ext = config.get("extraction") or {}
    out = [(ext["studies"], "studies.csv")]
    out += [(f"{ext['outcomes_dir']}/{oid}.csv", f"outcomes/{oid}.csv") for oid in config.get("outcomes") or {}]
    if ext.get("narrative"):
        out.append((ext["narrative"], "narrative.csv"))
    return out


def second_extractor_files(config: dict, root: Path) -> list[str]:
    """The second extractor's files that exist, relative to the review folder: its copies of the
    sheets and its resolutions (a sheet only one extractor has is a discrepancy, not a missing input)."""
    folder = (config.get("extraction") or {}).get("second_extractor_dir")
    if not folder:
        return []
    names = folder_inputs(config)["extraction.second_extractor_dir"]
    return [f"{folder.rstrip('/')}/{name}" for name in names if (Path(root) / folder / name).is_file()]


def location_problems(config: dict, source: str, root: Path) -> list[Problem]:
    """Inputs that lie outside the review folder (by their path, or through a link on the way to
    them), in a folder the workflow writes (folder.GENERATED: the run's clean-up deletes what no
    step writes; a link into one counts), or behind a link to nothing. Checked before anything
    reads them, whether or not every input must exist yet."""
    root = Path(root).absolute()
    roots = allowed_roots(root, config.get("external_data"))
    problems: list[Problem] = []
    links: dict[BadLink, list[tuple[str, str]]] = {}
    declared = list(input_paths(config).items()) + list(input_dirs(config).items())
    for key, rel in declared:
        path = Path(os.path.normpath(root / rel))
        if not inside(path, roots):
            problems.append(outside_problem(rel, key, source, roots))
        elif generated_part(root, path):
            problems.append(Problem(
                message=f"{rel} lies in {generated_part(root, path)}/, which the workflow writes "
                        "(and clears of files no step writes)", file=source, key=key, value=rel,
                rule="input-in-generated", hint="keep inputs in data/ (move the file there and change the path)"))
        else:
            read = [rel, *(f"{rel.rstrip('/')}/{name}" for name in folder_inputs(config).get(key, []))]
            for shown in read:
                found = bad_link(root / shown, root, roots)
                if found:
                    links.setdefault(found, []).append((key, shown))
    return problems + [bad_link_problem(found, uses, root, source) for found, uses in links.items()]


def missing_file_problems(config: dict, source: str, root: Path, skip: Collection[str] = ()) -> list[Problem]:
    """Input files and folders that do not exist (or are something else), except those of the keys
    in `skip` and those behind a bad link (already refused for where they lie)."""
    problems = []
    roots = allowed_roots(Path(root).absolute(), config.get("external_data"))
    for key, rel in list(input_paths(config).items()) + list(input_dirs(config).items()):
        path = Path(root) / rel
        is_dir = key in input_dirs(config)
        if key in skip or (path.is_dir() if is_dir else path.is_file()) or bad_link(path.absolute(), root, roots):
            continue
        what = "folder" if is_dir else "file"
        kind = path_kind(path)
        message = f"{what} not found: {rel}" if kind is None else f"{rel} is {kind}, not a {what}"
        problems.append(Problem(message=message, file=source, key=key, value=rel, rule="file-exists",
                                hint=f"fix the path (relative to the review folder {Path(root).absolute()})"
                                     + ("" if kind is None else f" to name the {what} itself")))
    return problems


def path_kind(path: Path) -> str | None:
    """What is at `path`, in words ("a folder", "a named pipe (FIFO)", ...); None when nothing is."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:  # nothing there, or a link to nothing
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a file"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    return next((words for test, words in kinds if test(mode)), "not a regular file")


def outcome_sheet(config: dict, outcome_id: str) -> str:
    """Path (relative to the review folder) of an outcome's extraction sheet."""
    return f"{config['extraction']['outcomes_dir']}/{outcome_id}.csv"
