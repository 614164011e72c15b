"""Config loading: defaults, outcome merging, and problems that name key, value and what is allowed."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest
import yaml

from metasr.config import (
    has_search,
    input_paths,
    load_config,
    prepare_config,
    read_config,
    read_yaml,
    second_extractor_files,
)
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


@pytest.mark.parametrize("oid", ["summary", "outcome_001__inputs"])
def test_outcome_ids_the_workflow_uses_are_reserved(oid):
    """SYNTHETIC: `summary` and `outcome_001__inputs` were Snakemake exceptions (metasr.workflow.outcomes)."""
    raw = copy.deepcopy(RAW)
    raw["outcomes"][oid] = next(iter(raw["outcomes"].values()))
    [problem] = problems_of(raw)
    assert (problem.key, problem.rule) == (f"outcomes.{oid}", "reserved-id") and "reserved" in problem.message


def test_method_must_fit_measure():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"]["method"] = "PETO"
    problem = problems_of(raw)[0]
    assert problem.rule == "method-measure" and problem.key == "outcomes.edss.method"


@pytest.mark.parametrize("method", ["MH", "PETO"])
def test_a_table_method_with_another_test_than_z_is_caught_before_the_run(method):
    raw = copy.deepcopy(RAW)
    raw["defaults"]["test"] = "knha"
    raw["outcomes"]["dmt_response"]["measure"] = "OR"
    raw["outcomes"]["dmt_response"]["method"] = method
    (problem,) = problems_of(raw)
    assert (problem.rule, problem.key, problem.value) == ("method-test", "outcomes.dmt_response.test", "knha")
    assert problem.message == f"method {method} has no knha test (from defaults:, which every outcome inherits): " \
                              "Mantel-Haenszel and Peto pool with z tests"
    raw["outcomes"]["dmt_response"]["test"] = "z"
    assert prepared(raw)["outcomes"]["dmt_response"]["test"] == "z"


def test_published_estimate_must_lie_in_its_interval():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"]["published"] = {"estimate": 2.0, "ci_lb": 0.34, "ci_ub": 1.21}
    assert problems_of(raw)[0].rule == "published-ci"


def test_missing_input_file_is_named(tmp_path):
    raw = copy.deepcopy(RAW)
    raw["search"]["sources"]["pubmed"]["file"] = "data/search/nope.nbib"
    problems = problems_of(raw, check_files=True)
    assert any(p.key == "search.sources.pubmed.file" and p.rule == "file-exists" for p in problems)


@pytest.mark.parametrize("make, kind", [(lambda p: p.mkdir(), "a folder"),
                                        (lambda p: os.mkfifo(p), "a named pipe (FIFO)")])
def test_an_input_that_is_no_file_says_what_it_is(tmp_path, make, kind):
    for part in ("config", "data"):
        shutil.copytree(REPO / part, tmp_path / part)
    raw = copy.deepcopy(RAW)
    raw["search"]["sources"]["pubmed"]["file"] = "data/search/odd.nbib"
    make(tmp_path / "data/search/odd.nbib")
    with pytest.raises(InputError) as info:
        prepare_config(raw, "config.yaml", tmp_path)
    (problem,) = [p for p in info.value.problems if p.key == "search.sources.pubmed.file"]
    assert problem.message == f"data/search/odd.nbib is {kind}, not a file" and problem.rule == "file-exists"


def test_broken_yaml_names_the_line(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("review:\n  id: x\n  title: [unclosed\n")
    with pytest.raises(InputError) as info:
        load_config(bad)
    assert info.value.problems[0].line is not None and ", line " in info.value.problems[0].format()


def test_a_config_not_in_utf8_names_the_line_of_its_first_bad_byte(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_bytes("review:\n  id: x\n  title: M\u00fcller review\n".encode("latin-1"))  # SYNTHETIC
    with pytest.raises(InputError) as info:
        read_yaml(bad)
    problem = info.value.problems[0]
    assert (problem.line, problem.rule) == (3, "encoding")
    assert "0xfc" in problem.message and "line 3" in problem.message and "save the config as UTF-8" in problem.hint


# ---- the review's config is plain data, read by metasr's own loader ---------------------------

def load_problem(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_yaml(path)
    return info.value.problems[0]


def test_yaml_templating_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    problem = load_problem(tmp_path, f'__use_yte__: true\nreview:\n  id: ?__import__("os").system("touch {marker}") '
                                     'or "x"\n')
    assert problem.rule == "yaml" and "templating" in problem.message and not marker.exists()


@pytest.mark.parametrize("text, line", [
    ("review: !!python/object/apply:os.system ['true']\n", 1),
    ("outcomes:\n  edss: !custom {label: x}\n", 2),
    ("review: !!binary aGVsbG8=\n", 1),
])
def test_tags_are_refused_with_their_line(tmp_path, text, line):
    problem = load_problem(tmp_path, text)
    assert problem.rule == "yaml" and "tag" in problem.message and problem.line == line
    assert "indentation" not in problem.hint


def test_duplicate_keys_are_errors_naming_both_lines(tmp_path):
    problem = load_problem(tmp_path, "outcomes:\n  edss: {label: a, measure: SMD}\n  edss: {label: b, measure: MD}\n")
    assert problem.line == 3 and "'edss' appears twice (first at line 2)" in problem.message
    assert "indentation" not in problem.hint


def test_anchors_and_aliases_are_refused(tmp_path):
    problem = load_problem(tmp_path, "a: &x [1, 2]\nb: *x\n")
    assert problem.line == 2 and "aliases" in problem.message and "defaults" in problem.hint


def test_plain_yaml_types_still_read(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\nb: 2.5\nc: true\nd: null\ne: [x, 'y']\nf: {g: 2020-01-01}\n")
    data = read_yaml(path)
    assert data["a"] == 1 and data["c"] is True and data["d"] is None and data["e"] == ["x", "y"]


def test_a_folder_given_as_config_is_named(tmp_path):
    problem = load_problem_path(tmp_path)
    assert problem.rule == "file-exists" and "folder" in problem.message


def load_problem_path(path):
    with pytest.raises(InputError) as info:
        read_yaml(path)
    return info.value.problems[0]


@pytest.mark.parametrize("text, what", [
    ("", "empty"), ("# nothing but a comment\n", "empty"), ("---\n", "empty"),
    ("- a\n- b\n", "not a list"), ("hello\n", "not a single value"), ("42\n", "not a single value"),
])
def test_a_config_that_is_not_a_mapping_is_named_with_a_hint(tmp_path, text, what):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    for load in (lambda: read_config(path, shown="config.yaml"), lambda: load_config(path, root=tmp_path)):
        with pytest.raises(InputError) as info:
            load()
        [problem] = info.value.problems
        assert what in problem.message and problem.rule == "config-mapping"
        assert problem.file.endswith("config.yaml") and "key: value" in problem.hint


# ---- paths stay inside the review folder --------------------------------------------------------

def test_inputs_outside_the_review_are_refused_without_reading_them(tmp_path):
    raw = copy.deepcopy(RAW)
    raw["search"]["sources"]["pubmed"]["file"] = "../../../../../../etc/passwd"
    raw["extraction"]["narrative"] = "/etc/hostname"
    problems = problems_of(raw, check_files=True)
    outside = {p.key: p for p in problems if p.rule == "inside-review"}
    assert set(outside) == {"search.sources.pubmed.file", "extraction.narrative"}
    text = " ".join(p.format() for p in problems)
    assert "root:" not in text  # nothing of /etc/passwd is echoed


def test_external_data_allows_a_named_folder(tmp_path):
    review, shared = tmp_path / "review", tmp_path / "shared"
    for part in ("config", "data"):
        import shutil
        shutil.copytree(REPO / part, review / part)
    shared.mkdir()
    (shared / "pubmed.nbib").write_bytes((REPO / "data/search/pubmed.nbib").read_bytes())
    raw = copy.deepcopy(RAW)
    raw["search"]["sources"]["pubmed"]["file"] = "../shared/pubmed.nbib"
    with pytest.raises(InputError) as info:
        prepare_config(raw, "config.yaml", review, check_files=True)
    assert [p.rule for p in info.value.problems] == ["inside-review"]
    raw["external_data"] = ["../shared"]
    assert prepare_config(raw, "config.yaml", review, check_files=True)["external_data"] == ["../shared"]


def test_inputs_in_the_folders_the_workflow_writes_are_refused(tmp_path):
    """SYNTHETIC: a studies sheet moved to results/studies.csv was used, then deleted by the run's
    clean-up ("removed results/studies.csv: no step of the review writes it")."""
    import shutil

    review = tmp_path / "review"
    for part in ("config", "data"):
        shutil.copytree(REPO / part, review / part)
    (review / "results").mkdir()
    shutil.copy(review / "data/extraction/studies.csv", review / "results/studies.csv")
    raw = copy.deepcopy(RAW)
    raw["extraction"]["studies"] = "results/studies.csv"
    raw["extraction"]["outcomes_dir"] = "./logs/../.snakemake/sheets"
    with pytest.raises(InputError) as info:
        prepare_config(raw, "config.yaml", review, check_files=True)
    assert [(p.key, p.rule) for p in info.value.problems] == [("extraction.studies", "input-in-generated"),
                                                              ("extraction.outcomes_dir", "input-in-generated")]
    assert "data/" in info.value.problems[0].hint


# ---- stages: search and screening are optional, together ------------------------------------------

def without_search(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    del raw["search"], raw["screening"]
    return raw


def test_a_review_may_start_from_its_included_studies():
    config = prepared(without_search(RAW))
    assert not has_search(config) and "search.sources.pubmed.file" not in input_paths(config)


def test_search_without_screening_is_refused():
    raw = copy.deepcopy(RAW)
    del raw["screening"]
    assert [p.key for p in problems_of(raw)] == ["screening"]


DECLARED = {"source": "Figure 1 of the published review",
            "databases": {"identified": 139, "duplicates": 52, "screened": 87, "excluded": 44, "sought": 43,
                          "not_retrieved": 0, "assessed": 43, "reports_excluded": {"review": 20, "other": 1}},
            "studies_included": 13, "reports_included": 22}


def test_declared_prisma_counts_must_add_up():
    raw = without_search(RAW)
    raw["prisma"] = copy.deepcopy(DECLARED)
    assert prepared(raw)["prisma"]["studies_included"] == 13
    raw["prisma"]["databases"]["screened"] = 88
    problems = problems_of(raw)
    assert {p.rule for p in problems} == {"prisma-counts-add-up"}
    assert any("identified 139 is not duplicates 52" in p.message for p in problems)


def test_declared_prisma_with_a_search_stage_is_refused():
    raw = copy.deepcopy(RAW)
    raw["prisma"] = copy.deepcopy(DECLARED)
    assert any(p.key == "prisma" and p.rule == "stages" for p in problems_of(raw))


def test_every_registry_measure_and_escalc_options_are_accepted_and_checked():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"].update(measure="PLO", escalc={"add": 0.25, "to": "all", "vtype": "AV"})
    raw["outcomes"]["brain_volume"].update(measure="ZCOR")
    config = prepared(raw)
    assert config["outcomes"]["edss"]["escalc"]["to"] == "all" and "scale" not in config["outcomes"]["brain_volume"]
    raw["outcomes"]["brain_volume"]["escalc"] = {"vtype": "AV", "drop00": True}  # ZCOR takes neither
    assert {p.key for p in problems_of(raw)} == {"outcomes.brain_volume.escalc.vtype",
                                                 "outcomes.brain_volume.escalc.drop00"}
    raw["outcomes"]["edss"]["escalc"]["to"] = "sometimes"  # not escalc's: the schema says so first
    assert "outcomes.edss.escalc.to" in {p.key for p in problems_of(raw)}


def test_drop00_with_a_mantel_haenszel_difference_is_taken_as_rma_mh_takes_it():
    """rma.mh keeps a double-zero table in the MH RD whatever drop00 says; drop00 leaves out its own effect."""
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"].update(measure="RD", method="MH", escalc={"drop00": True})
    assert prepared(raw)["outcomes"]["edss"]["escalc"]["drop00"] is True


def test_risk_of_bias_summary_weighting():
    assert prepared(copy.deepcopy(RAW))["risk_of_bias"] == {"summary": "unweighted", "weight_outcome": None,
                                                            "forest": False, "reviewers": None}
    raw = copy.deepcopy(RAW)
    raw["risk_of_bias"] = {"summary": "weighted"}
    (problem,) = problems_of(raw)
    assert problem.key == "risk_of_bias.weight_outcome" and "edss" in problem.hint
    raw["risk_of_bias"]["weight_outcome"] = "edss"
    assert prepared(raw)["risk_of_bias"]["weight_outcome"] == "edss"


@pytest.mark.parametrize("text", [
    None,  # the default review's config
    "a: 1\nb: [x, {c: 2020-01-01}]\nd: 'it''s'\n",
    "outcomes:\n  edss: {label: a}\n  edss: {label: b}\n",
    "review: !!python/object/apply:os.system ['true']\n",
    "a: [1, 2\n",
])
def test_the_c_and_python_loaders_read_the_same_data_and_refuse_the_same_way(tmp_path, text):
    from metasr import config

    if config._FastStrictLoader is None:
        pytest.skip("PyYAML without libyaml")
    text = (REPO / "config" / "config.yaml").read_text() if text is None else text
    assert "*" not in text

    def read(loader):
        path = tmp_path / "config.yaml"
        path.write_text(text)
        original = config._FastStrictLoader
        config._FastStrictLoader = loader
        try:
            return config.read_yaml(path)
        except InputError as err:
            return [(p.line, p.rule, p.message.split(":")[0]) for p in err.problems]
        finally:
            config._FastStrictLoader = original

    fast, slow = read(config._FastStrictLoader), read(None)
    assert fast == slow
    assert issubclass(config._FastStrictLoader, yaml.CSafeLoader)


def test_numeric_ids_are_refused_as_ids_even_when_all_are_numbers(tmp_path):
    """SYNTHETIC: with `1:` and `2:` only, the message said the sheet for outcome '1' was not declared."""
    config = {"review": {"id": "x", "title": "x"}, "extraction": {"studies": "s.csv", "outcomes_dir": "o"},
              "outcomes": {1: {"measure": "RR"}, 2: {"measure": "RR"}}}
    with pytest.raises(InputError) as info:
        prepare_config(config, "config.yaml", tmp_path, check_files=False)
    assert [(p.key, p.value) for p in info.value.problems] == [("outcomes", "1"), ("outcomes", "2")]


def test_inputs_that_link_out_of_the_review_are_refused_without_reading_them(tmp_path):
    """SYNTHETIC: data/search/other_sources.csv -> /etc/passwd was read, and its first line echoed in
    'unknown export format (value: 'root:x:0:0:...')'."""
    import shutil

    review, shared = tmp_path / "review", tmp_path / "shared"
    for part in ("config", "data"):
        shutil.copytree(REPO / part, review / part)
    shared.mkdir()
    (shared / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (shared / "sheet.csv").write_text("study_id\n")
    pubmed = review / "data/search/pubmed.nbib"
    pubmed.unlink()
    pubmed.symlink_to(shared / "secret.txt")
    edss = review / "data/extraction/outcomes/edss.csv"
    edss.unlink()
    edss.symlink_to(shared / "sheet.csv")
    (review / "data/extraction/inside.csv").symlink_to(review / "data/extraction/studies.csv")  # stays inside
    raw = copy.deepcopy(RAW)
    raw["extraction"]["narrative"] = "data/extraction/inside.csv"
    with pytest.raises(InputError) as info:
        prepare_config(raw, "config.yaml", review, check_files=True)
    problems = info.value.problems
    assert [(p.key, p.value) for p in problems] == [
        ("search.sources.pubmed.file", "data/search/pubmed.nbib"),
        ("extraction.outcomes_dir", "data/extraction/outcomes/edss.csv")]
    assert str(shared / "secret.txt") in problems[0].message and "external_data" in problems[0].hint
    assert "root:" not in " ".join(p.format() for p in problems)
    raw["external_data"] = [str(shared)]
    prepare_config(raw, "config.yaml", review, check_files=True)


def _review_copy(tmp_path):
    import shutil

    review = tmp_path / "review"
    for part in ("config", "data"):
        shutil.copytree(REPO / part, review / part)
    return review


def _relink(path, target):
    path.unlink()
    path.symlink_to(target)


def test_an_input_linked_into_results_is_refused(tmp_path):
    """SYNTHETIC: data/extraction/narrative.csv -> ../../results/narrative.csv passed (the path as
    written is in data/), was used, then deleted by the run's clean-up."""
    review = _review_copy(tmp_path)
    (review / "results").mkdir()
    (review / "results/narrative.csv").write_bytes((review / "data/extraction/narrative.csv").read_bytes())
    _relink(review / "data/extraction/narrative.csv", "../../results/narrative.csv")
    with pytest.raises(InputError) as info:
        prepare_config(copy.deepcopy(RAW), "config.yaml", review, check_files=True)
    [problem] = info.value.problems
    assert (problem.key, problem.rule) == ("extraction.narrative", "input-in-generated")
    assert "results/" in problem.message and "data/" in problem.hint


def test_a_link_to_nothing_says_so(tmp_path):
    review = _review_copy(tmp_path)
    _relink(review / "data/extraction/narrative.csv", tmp_path / "gone.csv")
    with pytest.raises(InputError) as info:
        prepare_config(copy.deepcopy(RAW), "config.yaml", review, check_files=True)
    [problem] = info.value.problems
    assert problem.key == "extraction.narrative"
    assert f"is a link to {tmp_path / 'gone.csv'}, which does not exist" in problem.message


def test_links_in_the_outcomes_folder_that_are_never_read_are_not_refused(tmp_path):
    """SYNTHETIC: a codebook.pdf and an archive/ folder linked from a share were refused, though
    only the declared outcomes' sheets are read."""
    review, shared = _review_copy(tmp_path), tmp_path / "shared"
    (shared / "archive").mkdir(parents=True)
    (shared / "codebook.pdf").write_bytes(b"%PDF")
    outcomes = review / "data/extraction/outcomes"
    (outcomes / "codebook.pdf").symlink_to(shared / "codebook.pdf")
    (outcomes / "archive").symlink_to(shared / "archive")
    (outcomes / "undeclared.csv").symlink_to("/etc/passwd")
    prepare_config(copy.deepcopy(RAW), "config.yaml", review, check_files=True)


def test_a_linked_folder_is_named_once_with_its_target_as_the_folder_to_allow(tmp_path):
    """SYNTHETIC: `data` -> a project share gave one error per file read through it ('data/search/
    pubmed.nbib is a link to ...', which is not a link) with three different external_data hints."""
    import shutil

    review, share = _review_copy(tmp_path), tmp_path / "share/projdata"
    share.parent.mkdir()
    shutil.move(review / "data", share)
    (review / "data").symlink_to(share)
    with pytest.raises(InputError) as info:
        prepare_config(copy.deepcopy(RAW), "config.yaml", review, check_files=True)
    [problem] = info.value.problems
    assert problem.message.startswith(f"'data' is a link to {share}, outside the review folder")
    assert f"`external_data: [{share}]`" in problem.hint
    raw = copy.deepcopy(RAW)
    raw["external_data"] = [str(share)]
    prepare_config(raw, "config.yaml", review, check_files=True)


def test_a_link_to_a_file_beside_the_review_suggests_no_folder_external_data_refuses(tmp_path):
    """SYNTHETIC: the hint suggested the target's folder, which held the review (refused there)."""
    review = _review_copy(tmp_path)
    (tmp_path / "narrative.csv").write_bytes((review / "data/extraction/narrative.csv").read_bytes())
    _relink(review / "data/extraction/narrative.csv", tmp_path / "narrative.csv")
    with pytest.raises(InputError) as info:
        prepare_config(copy.deepcopy(RAW), "config.yaml", review, check_files=True)
    [problem] = info.value.problems
    assert "`external_data:" not in problem.hint and "copy" in problem.hint
    assert f"{tmp_path} cannot be an external_data folder" in problem.hint


def test_text_with_a_bidirectional_override_is_refused_naming_its_key(tmp_path):
    """U+202E (right-to-left override) in a group name drew the text after it reversed in the
    report and the forest plot; Arabic or Hebrew text itself needs no such control."""
    from metasr.config import raw_config_problems

    config = {"review": {"id": "r", "title": "Review", "groups": {"experimental": "A\u202eRTL", "control": "عربي"}}}
    [problem] = raw_config_problems(config, "config.yaml", tmp_path)
    assert (problem.key, problem.rule) == ("review.groups.experimental", "bidi-control")
    assert "U+202E" in problem.message and problem.hint


@pytest.mark.parametrize("text, key, value, reading, id_rule", [
    ("sof:\n  scenarios:\n    2020: 0.1\n", "sof.scenarios", "2020", "a number", False),
    ("outcomes:\n  no:\n    measure: RR\n", "outcomes", "no", "true or false", True),
    ("outcomes:\n  Off:\n    measure: RR\n", "outcomes", "Off", "true or false", True),
])
def test_a_key_yaml_does_not_read_as_text_is_shown_as_written_with_its_line(tmp_path, text, key, value,
                                                                             reading, id_rule):
    """SYNTHETIC: a scenario label 2020 was told 'not a valid id ... ids are lower case letters',
    and an outcome `no:` was shown as 'false'; quoting the key is the fix in both."""
    path = tmp_path / "config.yaml"
    path.write_text("review: {id: r, title: R}\n" + text)
    with pytest.raises(InputError) as info:
        read_config(path, shown="config.yaml")
    [problem] = info.value.problems
    assert (problem.key, problem.value, problem.rule) == (key, value, "config-key")
    assert problem.line == text.count("\n", 0, text.index(value)) + 2
    assert f"the key {value} is not text: YAML reads it as {reading}" == problem.message
    assert f'("{value}":)' in problem.hint and ("id is lower case" in problem.hint) == id_rule


def test_an_assumed_correlation_is_for_paired_measures_and_a_correlation():
    raw = copy.deepcopy(RAW)
    raw["outcomes"]["edss"].update(measure="SMCC", assumed_correlation=0.5)
    assert prepared(raw)["outcomes"]["edss"]["assumed_correlation"] == 0.5
    raw["outcomes"]["brain_volume"]["assumed_correlation"] = 0.5  # an SMD compares two groups
    [problem] = [p for p in problems_of(raw) if p.rule == "assumed-correlation"]
    assert problem.key == "outcomes.brain_volume.assumed_correlation" and "SMCC" in problem.hint
    raw["outcomes"]["edss"]["assumed_correlation"] = 1.0  # a correlation strictly between -1 and 1
    assert "outcomes.edss.assumed_correlation" in {p.key for p in problems_of(raw)}
    raw["outcomes"]["edss"]["assumed_correlation"] = float("nan")  # YAML's .nan
    assert "outcomes.edss.assumed_correlation" in {p.key for p in problems_of(raw)}


def test_the_second_extractors_files_are_those_it_has(tmp_path):
    config = prepared(copy.deepcopy(RAW))
    config["extraction"]["second_extractor_dir"] = "data/second/"
    (tmp_path / "data/second/outcomes").mkdir(parents=True)
    oid = next(iter(config["outcomes"]))
    for name in ("studies.csv", f"outcomes/{oid}.csv", "resolutions.csv", "notes.txt"):
        (tmp_path / "data/second" / name).write_text("x\n")
    assert second_extractor_files(config, tmp_path) == [
        "data/second/studies.csv", f"data/second/outcomes/{oid}.csv", "data/second/resolutions.csv"]
    del config["extraction"]["second_extractor_dir"]
    assert second_extractor_files(config, tmp_path) == []
