"""The PRISMA 2020 flow diagram: every count shown, text inside its box, no overlaps,
deterministic SVG. Counts are SYNTHETIC (made up to stress the layout)."""

from __future__ import annotations

import json

import pytest

from metasr.errors import InputError
from metasr.figures.prisma import build_figure, draw_prisma

LONG_REASONS = [
    {"reason": "no comparison group (IRL+ vs IRL-) in any of the reported analyses", "n": 7},
    {"reason": "rims analysed only as a continuous count or volume", "n": 5},
    {"reason": "lesion-level analysis only", "n": 4},
    {"reason": "Supercalifragilisticexpialidociousreasonwithoutanyspacesatallinit", "n": 1},
]


def synthetic_column(identified_by_source, duplicates, excluded_reasons, not_retrieved,
                     reports_excluded_reasons, included, studies):
    identified = sum(s["n"] for s in identified_by_source)
    screened = identified - duplicates
    excluded = sum(r["n"] for r in excluded_reasons)
    reports_excluded = sum(r["n"] for r in reports_excluded_reasons)
    return {
        "identified": identified, "identified_by_source": identified_by_source,
        "identified_by_database": [{k: s[k] for k in ("database", "method", "n")}
                                   for s in identified_by_source],
        "registers": 0,
        "duplicates": duplicates, "screened": screened, "excluded": excluded,
        "excluded_reasons": excluded_reasons, "sought": screened - excluded,
        "not_retrieved": not_retrieved, "assessed": screened - excluded - not_retrieved,
        "reports_excluded": reports_excluded, "reports_excluded_reasons": reports_excluded_reasons,
        "reports_included": included, "studies_included": studies,
    }


@pytest.fixture
def synthetic_prisma():
    return make_synthetic_prisma()


def make_synthetic_prisma():
    db = synthetic_column(
        [{"source": "pubmed", "database": "PubMed", "method": "database", "n": 1234},
         {"source": "embase", "database": "Embase via Ovid (1974 to present, all record types)",
          "method": "database", "n": 2345}],
        1500, [{"reason": "review", "n": 900}, {"reason": "conference abstract", "n": 1100}],
        3, LONG_REASONS, 52, 40)
    other = synthetic_column(
        [{"source": "web", "database": "Websites", "method": "other", "n": 12},
         {"source": "cites", "database": "Citation searching", "method": "other", "n": 8}],
        2, [{"reason": "news item", "n": 6}], 1, LONG_REASONS[:2], 1, 1)
    return {"schema": "metasr.prisma/1",
            "records": {"identified": 3599, "unique": 2097, "duplicates": 1502},
            "columns": {"databases": db, "other": other},
            "included": {"studies": 41, "reports": 53},
            "agreement": {"title_abstract": {"dual": True, "n": 2097, "kappa": 0.8123, "conflicts": 37,
                                             "unresolved": 0},
                          "full_text": {"dual": False}}}


def _extents(fig, drawn):
    renderer = fig.canvas.get_renderer()
    to_in = fig.dpi_scale_trans.inverted()
    height = fig.get_size_inches()[1]
    out = []
    for box, text in drawn["boxes"]:
        bb = text.get_window_extent(renderer).transformed(to_in)
        # figure inches, y up -> layout inches, y down
        out.append((box, (bb.x0, height - bb.y1, bb.x1, height - bb.y0)))
    return out


@pytest.mark.parametrize("with_other", [True, False])
def test_text_stays_inside_boxes_and_boxes_do_not_overlap(synthetic_prisma, with_other):
    if not with_other:
        del synthetic_prisma["columns"]["other"]
    fig, drawn = build_figure(synthetic_prisma)
    for box, (x0, y0, x1, y1) in _extents(fig, drawn):
        assert box.x <= x0 and x1 <= box.x + box.width, box.lines
        assert box.y <= y0 and y1 <= box.y + box.height, box.lines
    renderer = fig.canvas.get_renderer()
    to_in = fig.dpi_scale_trans.inverted()
    fig_height = fig.get_size_inches()[1]
    for (top, bottom), label in drawn["stages"]:
        bb = label.get_window_extent(renderer).transformed(to_in)
        assert top <= fig_height - bb.y1 and fig_height - bb.y0 <= bottom, label.get_text()
    boxes = [b for b, _ in drawn["boxes"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a.x + a.width <= b.x or b.x + b.width <= a.x
                     or a.y + a.height <= b.y or b.y + b.height <= a.y)
            assert apart, (a.lines, b.lines)


def test_every_count_and_reason_is_shown(synthetic_prisma):
    fig, drawn = build_figure(synthetic_prisma)
    text = " ".join(" ".join(b.lines) for b, _ in drawn["boxes"]).replace("\u00a0", " ")
    text = " ".join(text.split())
    for phrase in ("PubMed (n = 1,234)", "Duplicate records removed (n = 1,500)",
                   "Records screened (n = 2,079)", "Records excluded (n = 2,000)",
                   "Reports not retrieved (n = 3)", "Reports assessed for eligibility (n = 76)",
                   "Reports excluded (n = 17)", "lesion-level analysis only (n = 4)",
                   "Studies included in review (n = 41)", "Reports of included studies (n = 53)",
                   "Citation searching (n = 8)", "via other methods",
                   "Title/abstract screening by two reviewers: Cohen's kappa = 0.81 (n = 2,097); "
                   "37 conflicts, all resolved."):
        assert phrase in text
    # a reason too long for a line wraps rather than running out of the box
    excluded = next(b for b, _ in drawn["boxes"] if b.lines[0].startswith("Reports excluded"))
    assert len(excluded.lines) > 1 + len(LONG_REASONS)
    assert "Full-text screening" not in text


def test_partly_dual_screening_and_one_conflict_are_said_as_they_are():
    from metasr.figures.prisma import footnotes

    prisma = {"agreement": {
        "title_abstract": {"dual": True, "screened": 14, "n": 12, "kappa": 0.667, "conflicts": 1, "unresolved": 0},
        "full_text": {"dual": True, "screened": 6, "n": 6, "kappa": 1.0, "conflicts": 0, "unresolved": 0}}}
    assert footnotes(prisma) == [
        "Title/abstract screening: 12 of 14 records screened by two reviewers; Cohen's kappa = 0.67 "
        "(n\u00a0=\u00a012); 1 conflict, all resolved.",
        "Full-text screening by two reviewers: Cohen's kappa = 1.00 (n\u00a0=\u00a06); no conflicts."]


def test_no_footnote_for_single_reviewer(synthetic_prisma):
    synthetic_prisma["agreement"] = {"title_abstract": {"dual": False}, "full_text": {"dual": False}}
    _, drawn = build_figure(synthetic_prisma)
    assert drawn["layout"]["footnote"] is None


def test_svg_is_deterministic_and_png_written(synthetic_prisma, tmp_path):
    source = tmp_path / "prisma.json"
    source.write_text(json.dumps(synthetic_prisma))
    draw_prisma(source, tmp_path / "a.svg", tmp_path / "a.png")
    draw_prisma(source, tmp_path / "b.svg", tmp_path / "b.png")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Identification" in (tmp_path / "a.svg").read_bytes()


def test_bad_input_is_a_problem_not_a_traceback(tmp_path):
    with pytest.raises(InputError, match="PRISMA counts not found"):
        draw_prisma(tmp_path / "missing.json", tmp_path / "x.svg", tmp_path / "x.png")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        draw_prisma(tmp_path / "bad.json", tmp_path / "x.svg", tmp_path / "x.png")
    for content in ("{}", "null", '{"columns": null, "included": {}}'):
        (tmp_path / "other.json").write_text(content)
        with pytest.raises(InputError, match="not a metasr prisma.json"):
            draw_prisma(tmp_path / "other.json", tmp_path / "x.svg", tmp_path / "x.png")


# ---------------------------------------------------------------------------------------------
# PRISMA 2020's boxes: removals before screening, the meta-analysis, stages a flow did not have


def _text(drawn) -> str:
    return " ".join(" ".join(" ".join(b.lines) for b, _ in drawn["boxes"]).replace("\u00a0", " ").split())


META = {"studies": 30, "reports": 38, "study_ids": [], "outcomes": ["a", "b", "c"]}  # SYNTHETIC


def test_meta_analysis_box_below_the_included_box(synthetic_prisma):
    fig, drawn = build_figure(synthetic_prisma, META)
    text = _text(drawn)
    assert "Studies included in meta-analysis (n = 30)" in text
    assert "Reports of studies included in meta-analysis (n = 38)" in text
    assert "the studies of the 3 outcomes pooled (k ≥ 2)" in text
    plan = drawn["layout"]
    assert plan["meta"].y > plan["included"].bottom and plan["meta"].x == plan["included"].x
    top, bottom = plan["stages"][-1][1:]
    assert top == pytest.approx(plan["included"].y, abs=0.5) and bottom >= plan["meta"].bottom
    assert "meta-analysis" not in _text(build_figure(synthetic_prisma)[1])  # not given: not drawn


def test_removals_before_screening_as_prisma_2020_lists_them(synthetic_prisma):
    text = _text(build_figure(synthetic_prisma)[1])
    assert "Records marked as ineligible by automation tools (n = 0)" in text
    assert "Records removed for other reasons (n = 0)" in text


def test_a_stage_the_flow_did_not_have_has_no_boxes():
    from metasr.screening.declared import declared_prisma, declared_problems

    declared = {"source": "SYNTHETIC flow", "studies_included": 3, "reports_included": 4,
                "databases": {"identified": 100, "duplicates": 10, "removed_automation": 20, "removed_other": 5,
                              "assessed": 65, "reports_excluded": {"wrong design": 61}}}
    assert declared_problems(declared, "config.yaml") == []
    prisma = declared_prisma(declared)
    assert prisma["columns"]["databases"]["omitted"] == ["screening", "retrieval"]
    fig, drawn = build_figure(prisma)
    text = _text(drawn)
    for absent in ("Records screened", "Records excluded", "Reports sought", "Reports not retrieved"):
        assert absent not in text
    assert "Records marked as ineligible by automation tools (n = 20)" in text
    assert "Reports assessed for eligibility (n = 65)" in text
    identified = drawn["layout"]["columns"]["databases"]["identified"]
    assessed = drawn["layout"]["columns"]["databases"]["assessed"]
    assert assessed.y - identified.bottom < 1.0  # no empty rows between them


def test_a_stage_is_declared_whole_and_its_counts_add_up():
    from metasr.screening.declared import declared_problems

    base = {"source": "SYNTHETIC", "studies_included": 3, "reports_included": 4,
            "databases": {"identified": 100, "duplicates": 10, "assessed": 90, "reports_excluded": {"x": 86}}}
    assert declared_problems(base, "c.yaml") == []
    half = {**base, "databases": {**base["databases"], "screened": 90}}  # screened without excluded
    assert any(p.key == "prisma.databases.excluded" for p in declared_problems(half, "c.yaml"))
    lost = {**base, "databases": {**base["databases"], "identified": 120}}  # 20 records vanish
    assert any("identified 120" in p.message for p in declared_problems(lost, "c.yaml"))


def test_meta_analysis_counts_from_pooled_results_and_their_laws():
    from metasr.screening.prisma import meta_analysis_counts, meta_analysis_problems

    prisma = {"included": {"studies": 3, "reports": 4,
                           "study_reports": {"A": ["r1", "r2"], "B": ["r3"], "C": ["r4"]}}}  # SYNTHETIC
    pooled = [{"outcome": "x", "status": "pooled", "studies": [{"study_id": "A"}, {"study_id": "B"}]},
              {"outcome": "y", "status": "pooled", "studies": [{"study_id": "A"}, {"study_id": "B"}]},
              {"outcome": "z", "status": "single_study", "studies": [{"study_id": "C"}]}]
    meta = meta_analysis_counts(prisma, pooled)
    assert (meta["studies"], meta["reports"], meta["outcomes"]) == (2, 3, ["x", "y"])
    assert meta_analysis_problems(prisma, meta) == []
    stray = meta_analysis_counts(prisma, pooled + [{"outcome": "w", "status": "pooled",
                                                      "studies": [{"study_id": "D"}, {"study_id": "A"}]}])
    assert any("not included at full text: D" in p.message for p in meta_analysis_problems(prisma, stray))
    declared = meta_analysis_counts({"included": {"studies": 3, "reports": 4}}, pooled)
    assert declared["reports"] is None  # a declared flow does not say which reports are whose


def test_the_workflow_step_draws_the_meta_analysis_box(synthetic_prisma, tmp_path):
    synthetic_prisma["included"]["study_reports"] = {"S1": ["c1"], "S2": ["c2", "c3"]}
    source = tmp_path / "prisma.json"
    source.write_text(json.dumps(synthetic_prisma))
    pooled = tmp_path / "x.json"
    pooled.write_text(json.dumps({"outcome": "x", "status": "pooled",
                                  "studies": [{"study_id": "S1"}, {"study_id": "S2"}]}))
    draw_prisma(source, tmp_path / "a.svg", tmp_path / "a.png", [pooled])
    svg = (tmp_path / "a.svg").read_text().replace("\u00a0", " ")
    assert "Studies included in meta-analysis" in svg and "(n = 3)" in svg


def test_a_declared_flow_smaller_than_the_analysis_is_noted_not_refused(tmp_path):
    from metasr.screening.declared import declared_prisma

    declared = declared_prisma({"source": "SYNTHETIC published review", "studies_included": 1, "reports_included": 1,
                                "databases": {"identified": 2, "assessed": 2, "reports_excluded": {"x": 1}}})
    source = tmp_path / "prisma.json"
    source.write_text(json.dumps(declared))
    pooled = tmp_path / "x.json"
    pooled.write_text(json.dumps({"outcome": "x", "status": "pooled",
                                  "studies": [{"study_id": "Old"}, {"study_id": "New2026"}]}))
    draw_prisma(source, tmp_path / "a.svg", tmp_path / "a.png", [pooled])
    svg = " ".join((tmp_path / "a.svg").read_text().replace("\u00a0", " ").split())
    assert "2 studies in the meta-analysis but 1 included in the declared flow" in svg


def test_the_databases_box_counts_registers_as_the_template_does(synthetic_prisma):
    text = _text(build_figure(synthetic_prisma)[1])
    assert "PubMed (n = 1,234)" in text and "Registers (n = 0)" in text
    boxes = [b for b, _ in build_figure(synthetic_prisma)[1]["boxes"]]
    identified = [b for b in boxes if b.lines[0].startswith("Records identified")]
    assert [any("Registers" in line for line in b.lines) for b in identified] == [True, False]  # not other methods
    db = synthetic_prisma["columns"]["databases"]
    register = {"database": "ClinicalTrials.gov", "method": "register", "n": 7}
    db["identified_by_database"].append(register)
    db["registers"] = 7
    boxes = [b for b, _ in build_figure(synthetic_prisma)[1]["boxes"]]
    identified = next(b for b in boxes if b.lines[0].startswith("Records identified"))
    lines = [" ".join(line.replace("\u00a0", " ").split()) for line in identified.lines]
    assert lines[-2:] == ["Registers (n = 7):", "ClinicalTrials.gov (n = 7)"]
    assert identified.lines[-1].startswith("    ")  # under the registers line
