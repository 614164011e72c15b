"""The report in a real browser: headless Chromium loads it with no console errors, every outcome
section and figure is there and decoded, and a full-page screenshot is saved (pytest tmp dir)."""

from pathlib import Path

import pytest

from metasr.figures.forest import plot_forest_file
from metasr.report import html
from metasr.report.browser import find_chromium, inspect_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pooled"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if not path:
        pytest.skip("headless Chromium not installed (Debian package `chromium`; "
                    "`make system-deps` installs it)")
    pytest.importorskip("websocket", reason="websocket-client is needed to drive Chromium")
    return path


def test_report_renders_without_errors(chromium, tmp_path, review_config):
    figures = {}
    for name, outcome in (("bcg_rr", "bcg_tb"), ("normand_smd", "los")):
        svg, png = tmp_path / f"{outcome}_forest.svg", tmp_path / f"{outcome}_forest.png"
        plot_forest_file(FIXTURES / f"{name}.json", {}, review_config["review"], svg, png)
        figures[f"{outcome}_forest"] = svg if outcome == "bcg_tb" else png
    out = tmp_path / "report.html"
    html.write_report(review_config, [FIXTURES / "bcg_rr.json", FIXTURES / "normand_smd.json"],
                      [], None, None, figures, None, None, [FIXTURES / "bcg_rr.json"], out)

    report = inspect_page(out, tmp_path / "report.png", chromium=chromium)

    assert report.errors == []
    assert report.facts["outcomes"] == ["bcg_tb", "los"]
    for section in ("summary", "prisma", "sof", "published", "rob", "narrative", "methods",
                    "provenance"):
        assert section in report.facts["sections"]
    loaded = {f["key"]: f for f in report.facts["figures"]}
    assert set(loaded) == {"bcg_tb_forest", "los_forest"}
    assert all(f["complete"] and f["width"] > 100 for f in loaded.values())
    assert report.screenshot.stat().st_size > 10_000


def test_browser_check_catches_errors(chromium, tmp_path):
    """The check can fail: a page with a script error and a missing image is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('boom'); nope();</script>"
                    "<img src='missing.png'></body></html>")
    errors = inspect_page(page, chromium=chromium).errors
    assert any("boom" in e for e in errors)
    assert any("nope" in e for e in errors)
    assert any("ERR_FILE_NOT_FOUND" in e for e in errors)


def test_report_with_linked_figures_renders_without_errors(chromium, tmp_path, review_config,
                                                           monkeypatch):
    """Past the embedding budget: the embedded figures decode, the linked ones are plain links
    (nothing to load, no error) to files that are there, relative to the report."""
    results = tmp_path / "results"
    figures = {}
    for name, outcome in (("bcg_rr", "bcg_tb"), ("normand_smd", "los")):
        svg = results / "figures" / f"{outcome}_forest.svg"
        svg.parent.mkdir(parents=True, exist_ok=True)
        plot_forest_file(FIXTURES / f"{name}.json", {}, review_config["review"], svg,
                         svg.with_suffix(".png"))
        figures[f"{outcome}_forest"] = svg
    monkeypatch.setattr(html, "EMBED_BUDGET", html.data_uri_length(figures["bcg_tb_forest"]))
    out = results / "report.html"
    html.write_report(review_config, [FIXTURES / "bcg_rr.json", FIXTURES / "normand_smd.json"],
                      [], None, None, figures, None, None, [], out)

    report = inspect_page(out, chromium=chromium)

    assert report.errors == []
    assert report.facts["outcomes"] == ["bcg_tb", "los"]
    loaded = {f["key"]: f for f in report.facts["figures"]}
    assert set(loaded) == {"bcg_tb_forest"} and loaded["bcg_tb_forest"]["complete"]
    text = out.read_text()
    assert '<a href="figures/los_forest.svg">' in text and (results / "figures/los_forest.svg").is_file()
    assert "Figures: 1 embedded, 1 linked." in text
