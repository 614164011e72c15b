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
