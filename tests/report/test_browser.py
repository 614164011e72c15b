"""The report in a real browser: headless Chromium loads it with no console errors, every outcome
section and figure is there and decoded, and a full-page screenshot is saved (pytest tmp dir)."""

from pathlib import Path

import pytest

from metasr.outputs import FigureContext
from metasr.report import html
from metasr.report.browser import find_chromium, inspect_page
from metasr.workflow.outcomes import draw_outcome_figure

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
        context = FigureContext(review=review_config["review"])
        draw_outcome_figure("forest", FIXTURES / f"{name}.json", context, svg, png)
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
        draw_outcome_figure("forest", FIXTURES / f"{name}.json", FigureContext(review=review_config["review"]), svg,
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


# ---------------------------------------------------------------------------------------------
# Working in the report: sort, filter, download, open a figure (dat.normand1999 via metafor)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # git-ignored screenshots


def interactive_report(tmp_path, review_config):
    """A report of two outcomes whose length-of-stay table shows a results file
    (results/extraction/los.csv, rows from dat.normand1999), one cell of which looks like a
    formula (SYNTHETIC, to test formula safety)."""
    import csv
    import json

    results = tmp_path / "results"
    (results / "extraction").mkdir(parents=True)
    (results / "figures").mkdir()
    pooled = json.loads((FIXTURES / "normand_smd.json").read_text())
    columns = ["study_id", "label", "year", "usable", "not_usable_reason", "m1i", "sd1i", "n1i",
               "m2i", "sd2i", "n2i", "reported_form", "conversion", "source_location"]
    extraction = results / "extraction" / "los.csv"
    with open(extraction, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for i, s in enumerate(pooled["studies"]):
            writer.writerow([s["study_id"], s["label"], "", "True", "", s["m1i"], s["sd1i"], s["n1i"],
                             s["m2i"], s["sd2i"], s["n2i"], "mean_sd", "none",
                             "=HYPERLINK(\"x\") SYNTHETIC" if i == 0 else f"Table {i}"])
    figures = {}
    for name, outcome in (("bcg_rr", "bcg_tb"), ("normand_smd", "los")):
        svg = results / "figures" / f"{outcome}_forest.svg"
        draw_outcome_figure("forest", FIXTURES / f"{name}.json", FigureContext(review=review_config["review"]), svg)
        figures[f"{outcome}_forest"] = svg
    out = results / "report.html"
    html.write_report(review_config, [FIXTURES / "bcg_rr.json", FIXTURES / "normand_smd.json"],
                      [extraction], None, None, figures, None, None, [], out)
    return out, extraction, pooled


def take_download(folder: Path, timeout: float = 10.0) -> Path:
    """The file the page just downloaded, moved aside (the next one may have the same name)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.csv")]
        if done and not list(folder.glob("*.crdownload")):
            taken = folder / "taken"
            taken.mkdir(exist_ok=True)
            target = taken / f"{len(list(taken.iterdir()))}-{done[0].name}"
            done[0].rename(target)
            return target
        time.sleep(0.1)
    raise AssertionError(f"no download in {folder}: {list(folder.iterdir())}")


def table_labels(page, table: str) -> list[str]:
    return page.evaluate(f"""Array.from(document.querySelectorAll(
        'table[data-table="{table}"] tbody tr')).filter(r => !r.hidden)
        .map(r => r.cells[0].textContent.trim())""")


def test_reader_sorts_filters_downloads_and_opens_a_figure(chromium, tmp_path, review_config):
    import csv

    from metasr.io import csv_safe_cell
    from metasr.report.browser import BrowserPage

    out, extraction, pooled = interactive_report(tmp_path, review_config)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    ARTIFACTS.mkdir(exist_ok=True)
    with BrowserPage(chromium, 1280, 900, downloads=downloads) as page:
        page.open(out)
        # sort the studies by effect (a real click on the column's button), then the other way
        page.click('table[data-table="los_studies"] th:nth-child(7) button.sort')
        by_effect = [s["label"] for s in sorted(pooled["studies"], key=lambda s: s["yi"])]
        assert table_labels(page, "los_studies") == by_effect
        page.click('table[data-table="los_studies"] th:nth-child(7) button.sort')
        assert table_labels(page, "los_studies") == by_effect[::-1]
        assert page.evaluate("""document.querySelector(
            'table[data-table="los_studies"] th:nth-child(7)').getAttribute('aria-sort')""") == "descending"
        page.click('table[data-table="los_studies"] th:nth-child(1) button.sort')
        assert table_labels(page, "los_studies") == sorted(by_effect)
        # download: the results file's columns and cells, formula-safe, as the table is shown
        page.click('button[data-download="los_studies"]')
        first = take_download(downloads)
        with open(extraction, newline="") as handle:
            expected = [[csv_safe_cell(c) for c in row] for row in csv.reader(handle)]
        with open(first, newline="", encoding="utf-8-sig") as handle:
            got = list(csv.reader(handle))
        assert got[0] == expected[0] and sorted(got[1:]) == sorted(expected[1:])
        assert [r[1] for r in got[1:]] == sorted(by_effect)  # the order shown
        assert got[1][-1] == "'=HYPERLINK(\"x\") SYNTHETIC"  # not run as a formula
        # filter by text; the download then holds the rows shown
        page.type('input[data-filter="los_studies"]', "study 3")
        assert table_labels(page, "los_studies") == ["Study 3"]
        assert page.evaluate("""document.querySelector('input[data-filter="los_studies"]')
                                .closest('.table-tools').querySelector('.row-count')
                                .textContent""") == "1 of 9 rows"
        page.click('button[data-download="los_studies"]')
        second = take_download(downloads)
        with open(second, newline="", encoding="utf-8-sig") as handle:
            assert [r[1] for r in list(csv.reader(handle))[1:]] == ["Study 3"]
        # a table without a results file downloads what it shows
        page.click('button[data-download="summary_of_findings"]')
        third = take_download(downloads)
        assert third.name == "2-summary_of_findings.csv"
        with open(third, newline="", encoding="utf-8-sig") as handle:
            sof_rows = list(csv.reader(handle))
        assert sof_rows[0][0] == "Outcome" and sof_rows[1][4] == "RR 0.49 (0.34 to 0.70)"
        # open a figure full size, close it with Escape
        page.click('button[data-open="los_forest"]')
        opened = page.evaluate("""(() => { const d = document.getElementById('figure-dialog');
            const s = d.querySelector('svg'); return {open: d.open, width: s.getBoundingClientRect().width,
            natural: Number(s.getAttribute('width')), text: d.textContent.includes('Study 1')}; })()""")
        assert opened["open"] and opened["text"] and opened["width"] >= opened["natural"] - 1
        page.screenshot(ARTIFACTS / "report-1280-figure-open.png", full_page=False)
        page.key("Escape", "Escape", 27)
        assert page.evaluate("document.getElementById('figure-dialog').open") is False
        page.screenshot(ARTIFACTS / "report-1280.png")
        assert page.errors() == []
        # nothing leaves the file: the report itself, and data: and blob: URLs only
        for url in page.requests():
            assert url == out.resolve().as_uri() or url.startswith(("data:", "blob:")), url


def test_report_reads_at_390_px_and_without_javascript(chromium, tmp_path, review_config):
    from metasr.report.browser import BrowserPage

    out, _, _ = interactive_report(tmp_path, review_config)
    ARTIFACTS.mkdir(exist_ok=True)
    with BrowserPage(chromium, 390, 844, mobile=True) as page:
        page.open(out)
        assert page.errors() == []
        # the page does not scroll sideways: wide tables and figures scroll in their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        size = page.evaluate("""(() => { const r = document.querySelector(
            'figure[data-figure="los_forest"] svg').getBoundingClientRect();
            return [r.width, r.height]; })()""")
        assert size[0] >= 340 and size[1] > 100  # readable, not shrunk to a sliver
        assert page.evaluate("getComputedStyle(document.querySelector('nav ul')).columnCount") == "1"
        page.screenshot(ARTIFACTS / "report-390.png")
    with BrowserPage(chromium, 1280, 900) as page:
        page.tools.call("Emulation.setScriptExecutionDisabled", value=True)
        page.open(out)
        facts = page.evaluate("""({tools: document.querySelectorAll('.table-tools').length,
            rows: document.querySelectorAll('table[data-table="los_studies"] tbody tr').length,
            sorters: document.querySelectorAll('button.sort').length,
            svg: document.querySelectorAll('figure svg text').length})""")
        assert facts == {"tools": 0, "rows": 9, "sorters": 0, "svg": facts["svg"]} and facts["svg"] > 20
        assert page.errors() == []


def test_small_study_and_meta_regression_tables_work_in_the_browser(chromium, tmp_path, review_config):
    """The BCG trials (metafor's dat.bcg) pooled with every small-study method and a meta-regression
    on latitude: both tables sort, filter and download; the funnel and bubble plots load."""
    import csv
    import json

    import pandas as pd

    from metasr.analysis_settings import meta_regression_settings, small_study_settings
    from metasr.report.browser import BrowserPage
    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(FIXTURES.parent / "metafor" / "inputs" / "bcg.csv")
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"],
                          "year": bcg["year"], "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"],
                          "ablat": bcg["ablat"].astype(str)})
    pooled = pool_outcome(table, "RR", "REML", "z", outcome="bcg_tb", label="Tuberculosis",
                          small_study=small_study_settings({"small_study": {"selmodel": {"alternative": "less"}}}),
                          meta_regression=meta_regression_settings({"meta_regression": {"moderators": ["ablat"]}}))
    results = tmp_path / "results"
    (results / "figures").mkdir(parents=True)
    path = results / "bcg_tb.json"
    path.write_text(json.dumps(pooled))
    figures = {"bcg_tb_funnel": results / "figures" / "bcg_tb_funnel.svg",
               "bcg_tb_bubble": results / "figures" / "bcg_tb_bubble.svg"}
    draw_outcome_figure("funnel", path, FigureContext(), figures["bcg_tb_funnel"])
    draw_outcome_figure("bubble", path, FigureContext(), figures["bcg_tb_bubble"])
    out = results / "report.html"
    html.write_report(review_config, [path], [], None, None, figures, None, None, [], out)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with BrowserPage(chromium, 1280, 900, downloads=downloads) as page:
        page.open(out)
        assert page.errors() == []
        loaded = page.evaluate("""Array.from(document.querySelectorAll('figure[data-figure] svg'))
            .map(s => s.closest('figure').getAttribute('data-figure'))""")
        assert set(loaded) == {"bcg_tb_funnel", "bcg_tb_bubble"}
        methods = ["Egger's regression test", "Begg's rank correlation", "Trim and fill", "PET-PEESE",
                   "Selection model"]
        assert table_labels(page, "bcg_tb_small_study") == methods
        page.click('table[data-table="bcg_tb_small_study"] th:nth-child(1) button.sort')
        assert table_labels(page, "bcg_tb_small_study") == sorted(methods, key=str.lower)
        page.type('input[data-filter="bcg_tb_small_study"]', "kendall")
        assert table_labels(page, "bcg_tb_small_study") == ["Begg's rank correlation"]
        page.click('button[data-download="bcg_tb_small_study"]')
        with open(take_download(downloads), newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["Method", "Test", "Estimate [95% CI]", "Caveat"] and rows[1][0] == "Begg's rank correlation"
        page.click('table[data-table="bcg_tb_meta_regression"] th:nth-child(5) button.sort')  # by P
        assert table_labels(page, "bcg_tb_meta_regression") == ["ablat", "intrcpt"]
        page.click('button[data-download="bcg_tb_meta_regression"]')
        with open(take_download(downloads), newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        assert rows[0][:5] == ["Coefficient", "Estimate", "SE", "z", "P"] and rows[1][:2] == ["ablat", "-0.0291"]
        assert page.errors() == []


# ---------------------------------------------------------------------------------------------
# The summary of findings' download, sorting and filter; printing; long names (dat.bcg, dat.normand1999)

LONG_NAME = "SYNTHETIC" + "Verylongstudynamewithoutanyspaces" * 6  # 207 characters, no break


def findings_report(tmp_path, review_config):
    """The BCG trials (risk ratio, with a high-risk scenario whose name holds markup, and one study
    renamed with a long unbroken SYNTHETIC name) beside a SYNTHETIC copy pooled to a small harm (RR
    1.22: fewer "more" per 1,000 than the BCG trials' "fewer") and length of stay (SMD): the summary
    of findings has footnotes, scenarios, and differences both ways."""
    import copy
    import json

    bcg = json.loads((FIXTURES / "bcg_rr.json").read_text())
    bcg["studies"][0]["label"] = LONG_NAME
    harm = copy.deepcopy(bcg)
    harm.update(outcome="bcg_harm", label="SYNTHETIC harm")
    harm["model"].update(estimate=0.2, ci_lb=0.05, ci_ub=0.35)  # SYNTHETIC: RR 1.22, a few more per 1,000
    paths = []
    for pooled in (bcg, harm):
        path = tmp_path / f"{pooled['outcome']}.json"
        path.write_text(json.dumps(pooled))
        paths.append(path)
    config = {**review_config, "outcomes": {
        "bcg_tb": {"measure": "RR", "sof": {"scenarios": {"High-risk <b>patients</b>": 0.4}}},
        "bcg_harm": {"measure": "RR"}, "los": {"measure": "SMD"}}}
    out = tmp_path / "report.html"
    html.write_report(config, [*paths, FIXTURES / "normand_smd.json"], [], None, None, {}, None, None, [], out)
    context = html.report_context(config, html.read_pooled([*paths, FIXTURES / "normand_smd.json"]), [], None,
                                  None, {}, None, None, [])
    return out, context


def test_the_summary_of_findings_downloads_sorts_and_filters_as_read(chromium, tmp_path, review_config):
    """The CSV keeps each scenario apart and its footnote marks apart from the numbers, and ends with
    the footnotes; the Difference column sorts by the signed difference; the filter does not match
    footnote numbers."""
    import csv

    from metasr.report.browser import BrowserPage

    out, context = findings_report(tmp_path, review_config)
    rows = {r["id"]: r for r in context["sof"]["rows"]}
    notes = context["sof"]["footnotes"]
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with BrowserPage(chromium, 1280, 900, downloads=downloads) as page:
        page.open(out)
        page.click('button[data-download="summary_of_findings"]')
        with open(take_download(downloads), newline="", encoding="utf-8-sig") as handle:
            got = list(csv.reader(handle))
        header, body = got[0], got[1:4]
        groups = review_config["review"]["groups"]
        assert header[:4] == ["Outcome", f"Risk with {groups['control']}",
                              f"Risk with {groups['experimental']} (95% CI)", "Difference (95% CI)"]
        tb = rows["bcg_tb"]
        marks = ", ".join(str(n) for n in tb["assumed_marks"])
        word = "notes" if len(tb["assumed_marks"]) > 1 else "note"
        assert body[0][1] == "; ".join(tb["control"]) + f" [{word} {marks}]"
        assert "High-risk <b>patients</b>: 400 per 1,000" in body[0][1]  # markup of a name stays text
        assert body[0][2] == "; ".join(tb["experimental"]) and ";" in body[0][3]
        certainty = next(s for s in context["sections"] if s["id"] == "bcg_tb")["grade"]
        assert body[0][6] == f"{certainty['symbol']} {certainty['certainty']} [notes " \
                             f"{', '.join(str(n) for n in tb['marks'])}]"
        assert got[4] == [] and got[5] == ["Note", "Footnote"]
        assert got[6:] == [[str(i), text] for i, text in enumerate(notes, 1)]
        # the Difference column by the signed difference: fewer (negative) before more, then none
        order = """Array.from(document.querySelectorAll('table[data-table="summary_of_findings"] tbody tr'))
                   .map(r => r.getAttribute('data-outcome'))"""
        page.click('table[data-table="summary_of_findings"] th:nth-child(4) button.sort')
        assert page.evaluate(order) == ["bcg_tb", "bcg_harm", "los"]
        # "N fewer" (bcg_tb) has the larger number: by the text it came last
        fewer, more = (int(rows[k]["difference"][0].split()[0]) for k in ("bcg_tb", "bcg_harm"))
        assert rows["bcg_tb"]["difference"][0].split()[1] == "fewer" and fewer > more
        assert rows["bcg_harm"]["difference"][0].split()[1] == "more"
        page.click('table[data-table="summary_of_findings"] th:nth-child(4) button.sort')
        assert page.evaluate(order)[1:] == ["bcg_harm", "bcg_tb"]  # descending (the empty cell first)
        # "low2" is a certainty glued to its first footnote number: nothing the reader sees
        page.type('input[data-filter="summary_of_findings"]', f"{certainty['certainty']}{tb['marks'][0]}")
        assert page.evaluate("""document.querySelector('input[data-filter="summary_of_findings"]')
            .closest('.table-tools').querySelector('.row-count').textContent""") == "0 of 3 rows"
        assert page.errors() == []


def test_printing_opens_every_collapsed_part_and_restores_it(chromium, tmp_path, review_config):
    """Chromium fires beforeprint and afterprint around Page.printToPDF: the leave-one-out tables
    (closed <details>) print open, the reader's own open/closed state comes back after; sort arrows
    and table tools do not print."""
    from metasr.report.browser import BrowserPage

    out, _ = findings_report(tmp_path, review_config)
    with BrowserPage(chromium, 1280, 900) as page:
        page.open(out)
        count = page.evaluate("document.querySelectorAll('details').length")
        assert count >= 2
        page.evaluate("document.querySelector('details').open = true")  # the reader opened one
        page.evaluate("""window.seenInPrint = null; window.addEventListener('beforeprint', () => {
            window.seenInPrint = Array.from(document.querySelectorAll('details')).map(d => d.open); });""")
        page.tools.call("Page.printToPDF")
        assert page.evaluate("window.seenInPrint") == [True] * count
        assert page.evaluate("Array.from(document.querySelectorAll('details')).map(d => d.open)") == \
            [True] + [False] * (count - 1)
        page.tools.call("Emulation.setEmulatedMedia", media="print")
        assert page.evaluate("""getComputedStyle(document.querySelector('th button.sort'), '::after')
                                .content""") == "none"
        assert page.evaluate("Array.from(document.querySelectorAll('.table-tools, .open-figure'))"
                             ".every(e => !e.checkVisibility())")
        assert page.errors() == []
    with BrowserPage(chromium, 1280, 900) as page:  # without JavaScript, the style sheet opens them
        page.tools.call("Emulation.setScriptExecutionDisabled", value=True)
        page.open(out)
        page.tools.call("Emulation.setEmulatedMedia", media="print")
        assert page.evaluate("Array.from(document.querySelectorAll('details table'))"
                             ".every(t => t.checkVisibility())")


def test_a_long_study_name_does_not_widen_the_page(chromium, tmp_path, review_config):
    from metasr.report.browser import BrowserPage

    out, _ = findings_report(tmp_path, review_config)
    with BrowserPage(chromium, 1400, 900) as page:
        page.open(out)
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert page.evaluate(f"document.body.textContent.includes('{LONG_NAME}')")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400
        assert page.evaluate("""document.querySelector('table[data-table="bcg_tb_leave1out"] tbody')
                                .textContent.includes('SYNTHETICVerylong')""")
        widest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('table'))"
                               ".map(t => t.getBoundingClientRect().right))")
        assert widest <= 1400
        assert page.errors() == []
