"""metasr.dependence: the registry of choices (the config schema's enums follow it), the config
checks, and the counts of studies, effect sizes and participants (SYNTHETIC rows)."""

from __future__ import annotations

import pytest
import yaml

from metasr import dependence
from metasr.config import prepare_config
from metasr.errors import InputError
from metasr.resources import schema_path


def test_config_schema_enums_are_the_registry():
    for file, enums in dependence.schema_enums().items():
        schema = yaml.safe_load(schema_path(file.split(".")[0]).read_text())
        for path, expected in enums.items():
            node = schema
            for part in path:
                node = node[part]
            assert node["enum"] == expected, path


def test_defaults_and_absence():
    assert dependence.settings({}) is None
    assert dependence.settings({"dependence": {"method": "aggregate"}}) == {
        "method": "aggregate", "rho": 0.5, "rho_sensitivity": [0.0, 0.2, 0.4, 0.6, 0.8], "multi_arm": "split_shared"}


def config(**outcome) -> dict:
    return {"review": {"id": "r", "title": "t"},
            "extraction": {"studies": "s.csv", "outcomes_dir": "o"},
            "outcomes": {"score": {"label": "Score", "measure": "SMD", **outcome}}}


@pytest.mark.parametrize("outcome, key", [
    ({"method": "DL", "dependence": {"method": "multilevel"}}, "outcomes.score.method"),
    ({"test": "knha", "dependence": {"method": "robust"}}, "outcomes.score.test"),
    ({"test": "adhoc", "dependence": {"method": "multilevel"}}, "outcomes.score.test"),
    ({"dependence": {"method": "independent", "multi_arm": "correlated"}}, "outcomes.score.dependence.multi_arm"),
])
def test_settings_that_do_not_fit_are_refused(tmp_path, outcome, key):
    with pytest.raises(InputError) as err:
        prepare_config(config(**outcome), "config.yaml", tmp_path, check_files=False)
    assert [p.key for p in err.value.problems] == [key]


def test_schema_refuses_an_unknown_method_and_a_rho_of_one(tmp_path):
    with pytest.raises(InputError) as err:
        prepare_config(config(dependence={"method": "pooled", "rho": 1}), "config.yaml", tmp_path, check_files=False)
    assert {p.key for p in err.value.problems} == {"outcomes.score.dependence.method", "outcomes.score.dependence.rho"}


def test_defaults_dependence_reaches_every_outcome(tmp_path):
    cfg = {**config(), "defaults": {"dependence": {"method": "robust", "rho": 0.3}}}
    prepared = prepare_config(cfg, "config.yaml", tmp_path, check_files=False)
    assert dependence.settings(prepared["outcomes"]["score"])["rho"] == 0.3


def row(study, n1, n2, **cells):
    return {"study_id": study, "n1i": n1, "n2i": n2, **cells}


def test_participants_count_each_study_and_each_shared_group_once():
    three_arm_split = [row("A", 20, 15, shared_group=2, shared_split=2), row("A", 10, 15, shared_group=2,
                                                                              shared_split=2)]
    three_arm_whole = [row("B", 20, 30, shared_group=2), row("B", 10, 30, shared_group=2)]
    two_samples = [row("C", 10, 12, comparison="women"), row("C", 8, 9, comparison="men")]
    two_times = [row("D", 50, 50, timepoint="6 mo"), row("D", 45, 48, timepoint="12 mo")]
    tables = [{"study_id": "E", "ai": 3, "bi": 7, "ci": 2, "di": 8}]
    studies = three_arm_split + three_arm_whole + two_samples + two_times + tables
    assert dependence.study_participants(three_arm_split) == 60
    assert dependence.study_participants(three_arm_whole) == 60
    assert dependence.study_participants(two_samples) == 39
    assert dependence.study_participants(two_times) == 100
    assert dependence.participants({"studies": studies}) == 60 + 60 + 39 + 100 + 20
    assert dependence.participants({"studies": [{"study_id": "F", "yi": 0.1, "vi": 0.02}]}) is None


def test_counts_and_labels():
    pooled = {"k": 12, "k_studies": 5}
    assert dependence.counts_text(pooled) == "5 studies (12 effect sizes)"
    assert dependence.counts_text(pooled, inner=True) == "5 studies, 12 effect sizes"
    assert dependence.counts_text({"k": 1}) == "1 study"
    assert dependence.es_label({"comparison": "A vs P", "timepoint": "12 wk", "es_id": "BDI"}) == "A vs P, 12 wk, BDI"
    from metasr.screening.prisma import meta_analysis_counts

    counts = meta_analysis_counts({}, [
        {"status": "pooled", "k": 3, "studies": [{"study_id": "a"}, {"study_id": "a"}, {"study_id": "b"}]},
        {"status": "pooled", "k": 2, "studies": [{"study_id": "b"}, {"study_id": "c"}]},
        {"status": "single_study", "k": 1, "studies": [{"study_id": "d"}]}])
    assert (counts["studies"], counts["effect_sizes"]) == (3, 5)


def test_an_aggregated_outcome_is_weighted_by_study():
    aggregated = {"studies": [{"study_id": "a", "weight": None}] * 2, "by_study": [{"study_id": "a", "weight": 100.0}]}
    assert dependence.weighted_studies(aggregated) == [{"study_id": "a", "weight": 100.0}]
    assert dependence.weighted_studies({"studies": [{"study_id": "b"}]}) == [{"study_id": "b"}]


def test_a_rho_too_negative_for_the_largest_study_is_refused_naming_its_key():
    outcome = {"dependence": {"method": "multilevel", "rho": -0.3, "rho_sensitivity": [-0.5, 0, 0.5]}}
    rows = {"D11": [2, 3], "D58": list(range(21, 32))}  # dat.konstantopoulos2011: district 58 has 11 schools
    problems = dependence.rho_problems("achievement", outcome, "achievement.csv", rows, "config.yaml")
    assert [(p.key, p.value) for p in problems] == [("outcomes.achievement.dependence.rho", "-0.3"),
                                                    ("outcomes.achievement.dependence.rho_sensitivity", "-0.5")]
    assert problems[0].message.startswith("rho = -0.3 makes the sampling covariance of study 'D58' (11 effect sizes) "
                                          "not positive definite (rho must exceed -1/(n - 1)")
    assert "rows 21, 22" in problems[0].hint and problems[0].file == "config.yaml"
    # -1/(11 - 1) itself is singular; any rho in (-1, 1) fits studies of two effect sizes
    assert dependence.rho_too_low(-0.1, 11) and not dependence.rho_too_low(-0.09, 11)
    assert not dependence.rho_problems("achievement", outcome, "achievement.csv", {"A": [2, 3], "B": [4, 5]})
    independent = {"dependence": {"method": "independent", "rho": -0.9}}  # rho is not used
    assert not dependence.rho_problems("achievement", independent, "achievement.csv", rows)


def test_effect_sizes_are_labelled_by_what_differs_between_them():
    from metasr.dependence import es_labels

    rows = [{"comparison": "as in the table", "es_id": f"school{j}"} for j in (1, 2)]
    assert es_labels(rows) == ["school1", "school2"]  # a comparison they all share says nothing
    rows = [{"comparison": "A vs B", "timepoint": "6 m"}, {"comparison": "A vs C", "timepoint": "6 m"}]
    assert es_labels(rows) == ["A vs B", "A vs C"]
    assert es_labels([{"comparison": "A vs B", "es_id": "1"}]) == ["A vs B, 1"]  # one alone: all it says
