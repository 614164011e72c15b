"""Risk-of-bias tools: each tool's domains, words and overall rule, as its guidance states it.
Judgements below are SYNTHETIC assessments written to exercise the rules."""

import pytest

from metasr import rob

ROB2 = ["rob_randomisation", "rob_deviations", "rob_missing", "rob_measurement", "rob_reporting"]
ROBINS_I = ["rob_confounding", "rob_classification", "rob_selection", "rob_deviations", "rob_missing",
            "rob_measurement", "rob_reporting"]


def row(tool, values, overall=""):
    return {"study_id": "S", "label": "S 2020", "rob_tool": tool, **values, "rob_overall": overall}


def derived(tool, columns, words):
    study = rob.assess(row(tool, dict(zip(columns, words, strict=True))))
    assert study.problems == [] and study.derived
    return study.overall


def test_registry_names_tools_and_domains_in_order():
    assert list(rob.TOOLS) == ["RoB2", "ROBINS-I", "ROBINS-E", "QUADAS-2", "NOS"]
    assert [d.column for d in rob.TOOLS["RoB2"].domains] == ROB2
    assert [d.column for d in rob.TOOLS["ROBINS-I"].domains] == ROBINS_I
    assert rob.TOOLS["ROBINS-E"].domains[1].name == "Measurement of the exposure"
    quadas = rob.TOOLS["QUADAS-2"]
    assert [quadas.short(d) for d in quadas.domains] == ["D1", "D2", "D3", "D4", "A1", "A2", "A3"]
    for text in ("RoB 2", "rob2", "ROBINS-I V2", "robins i", "QUADAS 2", "nos"):
        assert rob.tool_for(text) is not None
    assert rob.tool_for("ROBIS") is None and rob.tool_for("") is None


def test_rob2_overall_rule():
    assert derived("RoB2", ROB2, ["low"] * 5) == "low"
    assert derived("RoB2", ROB2, ["low", "some concerns", "low", "low", "low"]) == "some concerns"
    assert derived("RoB2", ROB2, ["low", "some concerns", "high", "low", "low"]) == "high"
    # several domains with some concerns may be raised to high by the reviewers, one may not
    two = dict(zip(ROB2, ["some concerns", "some concerns", "low", "low", "low"], strict=True))
    assert rob.assess(row("RoB2", two, "high")).problems == []
    one = dict(zip(ROB2, ["some concerns", "low", "low", "low", "low"], strict=True))
    assert rob.assess(row("RoB2", one, "high")).problems[0][0] == "rob_overall"
    # an overall less severe than the worst domain contradicts the tool
    high = dict(zip(ROB2, ["high", "low", "low", "low", "low"], strict=True))
    (column, value, message), = rob.assess(row("RoB2", high, "Low")).problems
    assert column == "rob_overall" and "gives 'high'" in message


def test_partly_judged_domains_bound_and_may_fix_the_overall():
    # SYNTHETIC: RoB 2 with two domains blank; a high domain fixes the overall high
    partial = {"rob_randomisation": "high", "rob_deviations": "low", "rob_missing": "low"}
    (column, value, message), = rob.assess(row("RoB2", partial, "low")).problems
    assert column == "rob_overall" and message == "RoB 2's rule gives 'high' for these domains"
    study = rob.assess(row("RoB2", partial))
    assert study.problems == [] and (study.overall, study.derived) == ("high", True)
    # some concerns bounds it from below but does not fix it
    concerns = {"rob_randomisation": "some concerns", "rob_missing": "low"}
    assert rob.assess(row("RoB2", concerns, "low")).problems[0][2].endswith(
        "('some concerns'): write some concerns or high")
    assert rob.assess(row("RoB2", concerns, "high")).problems == []
    assert rob.assess(row("RoB2", concerns)).overall == ""
    # the same worst-domain rule for ROBINS-I (critical), QUADAS-2 (high) and NOS stars (poor)
    assert rob.assess(row("ROBINS-I", {"rob_missing": "critical"})).overall == "critical"
    assert rob.assess(row("ROBINS-I", {"rob_missing": "serious"}, "moderate")).problems
    assert rob.assess(row("ROBINS-I", {"rob_missing": "moderate"}, "no information")).problems == []
    assert rob.assess(row("QUADAS-2", {"rob_index_test": "high"})).overall == "high"
    assert rob.assess(row("NOS", {"rob_comparability": 0})).overall == "high"
    assert rob.assess(row("NOS", {"rob_selection": 4, "rob_comparability": 2}, "low")).problems == []


def test_robins_i_overall_is_the_most_severe_domain():
    assert derived("ROBINS-I", ROBINS_I, ["low"] * 7) == "low"
    assert derived("ROBINS-I", ROBINS_I, ["low except confounding"] + ["low"] * 6) == \
        "low except confounding"
    assert derived("ROBINS-I", ROBINS_I, ["moderate", "low", "moderate"] + ["low"] * 4) == "moderate"
    assert derived("ROBINS-I", ROBINS_I, ["serious", "moderate"] + ["low"] * 5) == "serious"
    assert derived("ROBINS-I", ROBINS_I, ["serious", "critical"] + ["low"] * 5) == "critical"
    # no information: overall no information unless a domain is serious or critical
    assert derived("ROBINS-I", ROBINS_I, ["no information", "moderate"] + ["low"] * 5) == \
        "no information"
    assert derived("ROBINS-I", ROBINS_I, ["no information", "serious"] + ["low"] * 5) == "serious"
    # "low except confounding" belongs to the confounding domain only; RoB 2 words are not ROBINS'
    bad = rob.assess(row("ROBINS-I", {"rob_classification": "low except confounding",
                                      "rob_missing": "some concerns"}))
    assert {c for c, _, _ in bad.problems} == {"rob_classification", "rob_missing"}


def test_robins_e_words_and_raise():
    columns = [d.column for d in rob.TOOLS["ROBINS-E"].domains]
    assert derived("ROBINS-E", columns, ["some concerns"] + ["low"] * 6) == "some concerns"
    assert derived("ROBINS-E", columns, ["high", "very high"] + ["low"] * 5) == "very high"
    two_high = dict(zip(columns, ["high", "high"] + ["low"] * 5, strict=True))
    assert rob.assess(row("ROBINS-E", two_high, "very high")).problems == []


def test_quadas2_bias_and_applicability():
    tool = rob.TOOLS["QUADAS-2"]
    bias = [d.column for d in tool.bias_domains]
    assert derived("QUADAS-2", bias, ["low"] * 4) == "low"
    assert derived("QUADAS-2", bias, ["low", "unclear", "low", "low"]) == "unclear"
    assert derived("QUADAS-2", bias, ["high", "unclear", "low", "low"]) == "high"
    values = dict(zip(bias, ["low"] * 4, strict=True))
    values.update(rob_applicability_patient_selection="high", rob_applicability_index_test="low",
                  rob_applicability_reference_standard="low")
    study = rob.assess(row("QUADAS-2", values))
    assert study.overall == "low" and study.applicability() == "high"


def test_nos_stars_by_ahrq_thresholds():
    columns = ["rob_selection", "rob_comparability", "rob_outcome"]
    assert derived("NOS", columns, [4, 2, 3]) == "low"        # good
    assert derived("NOS", columns, ["3", "1", "2"]) == "low"  # good, stars as text
    assert derived("NOS", columns, [2, 1, 3]) == "some concerns"  # fair
    assert derived("NOS", columns, [4, 0, 3]) == "high"       # poor: no comparability star
    assert derived("NOS", columns, [1, 2, 3]) == "high"       # poor: one selection star
    assert derived("NOS", columns, [4, 2, 1]) == "high"       # poor: one outcome star
    study = rob.assess(row("NOS", dict(zip(columns, [4, 2, 3], strict=True)), "good"))
    assert study.problems == [] and study.overall == "low"
    assert rob.assess(row("NOS", {"rob_comparability": 3})).problems[0][2] == \
        "Comparability has at most 2 stars"
    for negative in (-1, "-1", " -2 "):  # a negative count is refused, not read as poor
        study = rob.assess(row("NOS", dict(zip(columns, [negative, 2, 3], strict=True))))
        assert study.problems == [("rob_selection", negative, "Selection has 0 to 5 stars, not a negative number")]
        assert study.overall == ""
    # words still work (the worst domain rules) and a partly filled sheet derives nothing
    words = rob.assess(row("NOS", {"rob_selection": "Low", "rob_outcome": "some  concerns"}, "high"))
    assert words.problems == [] and words.overall == "high" and not words.derived


def test_problems_for_unknown_tool_words_and_foreign_columns():
    assert rob.assess(row("GRADE", {}, "low")).problems[0][0] == "rob_tool"
    assert rob.assess(row("", {"rob_selection": "low"})).problems[0][2].startswith(
        "judgements given without a tool")
    foreign = rob.assess(row("RoB2", {"rob_confounding": "low"}))
    assert foreign.problems[0][0] == "rob_confounding" and "not a domain of RoB 2" in \
        foreign.problems[0][2]
    problems = rob.row_problems(row("RoB2", {"rob_missing": "medium"}), "studies.csv", 4)
    assert [(p.row, p.column, p.value, p.rule) for p in problems] == \
        [(4, "rob_missing", "medium", "risk-of-bias")]
    assert not rob.assess(row("", {})).assessed


def test_no_information_is_a_judgement_of_robins_i_only():
    # RoB 2: a signalling-question answer, refused in a domain and as the overall, with a hint
    study = rob.assess(row("RoB2", {"rob_missing": "No information", "rob_reporting": "NI"}, "no information"))
    assert [c for c, _, _ in study.problems] == ["rob_missing", "rob_reporting", "rob_overall"]
    message = study.problems[0][2]
    assert message.startswith("RoB 2 judges missing outcome data as low, some concerns, high (or empty")
    assert "answers a signalling question" in message and study.overall == ""
    assert "'unclear'" in rob.assess(row("QUADAS-2", {"rob_index_test": "no information"})).problems[0][2]
    for tool in ("ROBINS-E", "NOS"):
        assert rob.assess(row(tool, {"rob_selection": "no information"})).problems
    # ROBINS-I keeps it (V1's judgement; Cochrane Handbook ch. 25); the words live in the tool records
    assert rob.assess(row("ROBINS-I", {"rob_missing": "no information"})).problems == []
    assert [t.id for t in rob.TOOLS.values() if rob.NO_INFORMATION in t.words()] == ["ROBINS-I"]


@pytest.mark.parametrize("judgement, concern", [("low", 0), ("some concerns", 1), ("moderate", 1),
                                                ("high", 2), ("serious", 2), ("critical", 3),
                                                ("no information", None), ("", None)])
def test_concern_for_grade(judgement, concern):
    assert rob.concern(judgement) == concern


def test_the_studies_sheet_takes_the_spellings_rob_reads():
    """'RoB 2', 'ROBINS-I V2', 'Low', 'Some concerns' and a star count written 3.0 were refused by the
    studies schema's lists before metasr.rob, which reads them, saw them."""
    from metasr.extraction.schema import STUDIES_SCHEMA, coerce, row_problems

    rows = [{"study_id": "A", "record_id": "R1", "label": "A", "rob_tool": "RoB 2", "rob_randomisation": "Low",
             "rob_deviations": "Some concerns", "rob_overall": "Some Concerns"},
            {"study_id": "B", "record_id": "R2", "label": "B", "rob_tool": "ROBINS-I V2",
             "rob_confounding": "Low (except for concerns about uncontrolled confounding)", "rob_overall": "Moderate"},
            {"study_id": "C", "record_id": "R3", "label": "C", "rob_tool": "NOS", "rob_selection": "3.0",
             "rob_comparability": "1", "rob_outcome": "2"}]
    for row in rows:
        typed = coerce(row)
        assert row_problems(STUDIES_SCHEMA, typed, "studies.csv", 2) == []
        assert rob.assess(typed).problems == []
    assert rob.assess(coerce(rows[2])).values["rob_selection"] == 3
    assert rob.assess(coerce(rows[0])).overall == "some concerns"


def test_a_tools_source_does_not_repeat_its_name():
    """Methods and captions write 'name (source)': 'ROBINS-I V2 (ROBINS-I V2 (2025), ...)' read twice."""
    for tool in rob.TOOLS.values():
        assert tool.name not in tool.source, tool.id


def test_nos_messages_use_the_scales_own_words():
    columns = ["rob_selection", "rob_comparability", "rob_outcome"]
    fair_for_good = rob.assess(row("NOS", dict(zip(columns, [3, 1, 2], strict=True)), "fair"))
    assert fair_for_good.problems == [("rob_overall", "fair",
                                       "Newcastle–Ottawa Scale's rule gives 'good' for these domains")]
    unknown = rob.assess(row("NOS", dict(zip(columns, [3, 1, 2], strict=True)), "excellent"))
    assert unknown.problems[0][2] == "Newcastle–Ottawa Scale judges the overall risk of bias as good, fair, poor"
    assert rob.said("NOS", "some concerns") == "fair" and rob.said("RoB2", "some concerns") == "some concerns"
