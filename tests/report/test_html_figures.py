"""HTML report figures: embedded (SVG inline, ids prefixed per figure) while they fit in the
budget, most important first; past it, linked relative to the report (figures/<name>.svg), with a
note at the top saying how many."""

import re
from html.parser import HTMLParser
from pathlib import Path

from metasr.report import html

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pooled"
OUTCOMES = (("bcg_rr", "bcg_tb"), ("normand_smd", "los"))
KINDS = ("forest", "funnel", "leave1out", "cumulative", "baujat")
NOTE = "linked: the review is too large to embed every figure"


def svg(path: Path, padding: int = 0) -> Path:
    """A small valid SVG; padding (a comment) sets its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120">'
                    f'<!--{"x" * padding}--><rect width="300" height="100" fill="#1f4e79"/></svg>')
    return path


def review_files(tmp_path: Path, sizes: dict | None = None) -> tuple[Path, dict, Path]:
    """The layout of results/: figures/ beside report.html, the PRISMA diagram in screening/."""
    results = tmp_path / "results"
    sizes = sizes or {}
    figures = {key: svg(results / "figures" / f"{key}.svg", sizes.get(key, 0))
               for key in ("summary_forest", "rob_traffic", "rob_summary")}
    for _, outcome in OUTCOMES:
        for kind in KINDS:
            key = f"{outcome}_{kind}"
            figures[key] = svg(results / "figures" / f"{key}.svg", sizes.get(key, 0))
    prisma = svg(results / "screening" / "prisma.svg", sizes.get("prisma", 0))
    return results, figures, prisma


def write(results: Path, review_config, figures: dict, prisma: Path) -> str:
    out = results / "report.html"
    html.write_report(review_config, [FIXTURES / f"{name}.json" for name, _ in OUTCOMES], [], None,
                      prisma, figures, None, None, [], out)
    return out.read_text()


def embedded(text: str) -> list[str]:
    return re.findall(r'<figure data-figure="([^"]+)"><svg ', text)


def linked(text: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure-link="([^"]+)">[^<]*<a href="([^"]+)">', text))


class Structure(HTMLParser):
    """Tags opened and closed in order (void elements aside): the page is well nested."""
    VOID = {"meta", "img", "br", "link", "input", "hr"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.ids = [], [], []

    def handle_starttag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def check_structure(text: str) -> None:
    """The checks every report passes: well nested, every section and outcome, unique ids
    (inlined figures' ids too), only inline scripts."""
    parser = Structure()
    parser.feed(text)
    assert parser.errors == [] and parser.stack == []
    for section in ("summary", "prisma", "sof", "published", "summary-forest", "outcome-bcg_tb",
                    "outcome-los", "rob", "narrative", "methods", "provenance"):
        assert section in parser.ids
    assert len(parser.ids) == len(set(parser.ids))
    assert not re.search(r"<script[^>]*\ssrc=", text)


def test_small_review_embeds_every_figure(tmp_path, review_config):
    results, figures, prisma = review_files(tmp_path)
    text = write(results, review_config, figures, prisma)
    check_structure(text)
    assert len(embedded(text)) == 4 + 2 * len(KINDS) and set(embedded(text)) >= set(figures)
    assert linked(text) == {} and NOTE not in text and 'id="linked-figures"' not in text
    assert 'href="figures/' not in text


def test_budget_embeds_most_important_first_and_links_the_rest(tmp_path, review_config,
                                                                monkeypatch):
    # los_funnel is large; los_leave1out is tiny and would still fit, but comes later: linked too
    results, figures, prisma = review_files(tmp_path, {"los_funnel": 20_000})
    first = ["prisma", "summary_forest", "rob_traffic", "rob_summary", "bcg_tb_forest", "los_forest",
             "bcg_tb_funnel"]
    paths = {"prisma": prisma, **figures}
    budget = sum(html.embed_length(paths[key]) for key in first)
    monkeypatch.setattr(html, "EMBED_BUDGET", budget + html.embed_length(figures["los_leave1out"]))
    text = write(results, review_config, figures, prisma)

    check_structure(text)
    assert sorted(embedded(text)) == sorted(first)
    rest = ["los_funnel"] + [f"{o}_{kind}" for kind in KINDS[2:] for _, o in OUTCOMES]
    assert linked(text) == {key: f"figures/{key}.svg" for key in rest}
    for href in linked(text).values():  # relative to the report, and there
        assert (results / href).is_file()
    # shown where the figure would be, in its outcome's section, and named as linked
    los = text.split('id="outcome-los"')[1].split("</section>")[0]
    assert ('Funnel plot: <a href="figures/los_funnel.svg">figures/los_funnel.svg</a> '
            f"({NOTE})") in los
    assert 'data-figure="los_forest"' in los
    # the note near the top: the counts, and that the report must stay beside figures/
    top = text.split('<section id="summary">')[0]
    assert f"Figures: {len(first)} embedded, {len(rest)} linked." in top
    assert "Keep this report next to its figures/ folder" in top
    # byte-identical rerun
    assert write(results, review_config, figures, prisma) == text


def test_nothing_fits_review_figures_are_linked_too(tmp_path, review_config, monkeypatch):
    results, figures, prisma = review_files(tmp_path)
    monkeypatch.setattr(html, "EMBED_BUDGET", 10)
    text = write(results, review_config, figures, prisma)
    check_structure(text)
    assert embedded(text) == []
    links = linked(text)
    assert links["prisma"] == "screening/prisma.svg"
    assert links["summary_forest"] == "figures/summary_forest.svg"
    assert {"rob_traffic", "rob_summary", "bcg_tb_baujat"} <= set(links)
    assert "Figures: 0 embedded, 14 linked." in text
    assert "Keep this report next to its figures/ and screening/ folders" in text


def test_priority_order_of_candidates(tmp_path):
    pooled = [{"outcome": "a"}, {"outcome": "b"}]
    figures = {f"{o}_{k}": f"{o}_{k}.svg" for o in "ab" for k in KINDS}
    figures.update(summary_forest="s.svg", rob_traffic="t.svg", rob_summary="r.svg")
    keys = [key for key, _ in html.figure_candidates(pooled, figures, None)]
    assert keys == ["prisma", "summary_forest", "rob_traffic", "rob_summary",
                    "a_forest", "b_forest", "a_funnel", "b_funnel", "a_leave1out", "b_leave1out",
                    "a_cumulative", "b_cumulative", "a_baujat", "b_baujat", "a_bubble", "b_bubble"]


def test_plan_reads_only_embedded_figures_and_skips_missing(tmp_path):
    a = svg(tmp_path / "a.svg")
    b = svg(tmp_path / "sub" / "b.svg", 3000)
    plan = html.plan_figures([("missing", tmp_path / "none.svg"), ("a", a), ("b", b),
                              ("text", tmp_path / "a.txt")], report_dir=tmp_path,
                             budget=html.embed_length(a))
    assert set(plan) == {"a", "b"}
    assert plan["a"]["svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 120" '
                                       'width="320" height="120" class="figure" role="img"')
    assert plan["a"]["uri"] is None and html.embed_length(a) == a.stat().st_size
    assert plan["b"] == {"svg": None, "uri": None, "href": "sub/b.svg", "path": "sub/b.svg"}


def test_inline_svg_prefixes_ids_and_refuses_scripts(tmp_path):
    path = tmp_path / "f.svg"
    path.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="72pt" '
                    'height="36pt" viewBox="0 0 72 36"><defs><clipPath id="p1"><rect width="9" '
                    'height="9"/></clipPath></defs><g clip-path="url(#p1)"><use href="#p1"/>'
                    '<text>SYNTHETIC &lt;x&gt;</text></g></svg>')
    svg = html.inline_svg(path, "a b", "Title <&>")
    assert 'id="fig-a_b-p1"' in svg and 'url(#fig-a_b-p1)' in svg and 'href="#fig-a_b-p1"' in svg
    assert 'width="96" height="48"' in svg and 'viewBox="0 0 72 36"' in svg  # points -> pixels
    assert '<title id="fig-a_b-title">Title &lt;&amp;&gt;</title>' in svg and "<?xml" not in svg
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect onload="x()"/></svg>')
    assert html.inline_svg(path, "a", "t") is None
    plan = html.plan_figures([("a", path)])
    assert plan["a"]["svg"] is None and plan["a"]["uri"].startswith("data:image/svg+xml;base64,")


def test_link_is_url_quoted_and_text_escaped(tmp_path, review_config, monkeypatch):
    results = tmp_path / "results"
    odd = svg(results / "figures" / "bcg tb & <x>_forest.svg")
    monkeypatch.setattr(html, "EMBED_BUDGET", 0)
    text = write(results, review_config, {"bcg_tb_forest": odd}, results / "none.svg")
    assert 'href="figures/bcg%20tb%20%26%20%3Cx%3E_forest.svg"' in text
    assert ">figures/bcg tb &amp; &lt;x&gt;_forest.svg</a>" in text
    check_structure(text)


def test_risk_of_bias_captions_name_the_tools_used_and_what_each_figure_covers(tmp_path, review_config):
    """Only RoB 2 assessed (SYNTHETIC judgements): the caption names RoB 2 alone; the weighted summary
    covers the weight outcome's analysis, the counts every study of the sheet."""
    import copy

    results, figures, prisma = review_files(tmp_path)
    studies = tmp_path / "studies.csv"
    studies.write_text("study_id,label,rob_tool,rob_overall\nA,Alpha 2020,RoB2,low\nB,Beta 2021,RoB2,high\n"
                       "C,Gamma 2022,,\n")
    config = copy.deepcopy(review_config)
    config["risk_of_bias"] = {"summary": "weighted", "weight_outcome": "bcg_tb"}
    label = (config.get("outcomes") or {}).get("bcg_tb", {}).get("label") or "bcg_tb"
    out = results / "report.html"
    html.write_report(config, [FIXTURES / f"{name}.json" for name, _ in OUTCOMES], [], None, prisma, figures,
                      studies, None, [], out)
    from html import unescape

    text = unescape(re.sub(r"\s+", " ", out.read_text()))
    assert "(each study's tool: RoB 2; an overall marked * is derived by the tool's rule)." in text
    assert "ROBINS-E" not in text.split('id="rob"')[1].split("</section>")[0]
    assert f"The bars are shares of the weight in the analysis of {label}, so they cover that analysis' studies " \
           "only" in text
    assert "Traffic-light plot (each study's tool: RoB 2; an overall marked * is derived by the tool's rule). It " \
           "covers every study of the studies sheet, in year order (then by label), the forest plots' default " \
           "order." in text
    assert "Overall judgements of all 3 studies of the studies sheet: RoB 2 high: 1; RoB 2 low: 1; not assessed: 1." \
        in text


def test_the_traffic_light_plot_is_also_a_table_of_every_judgement(tmp_path, review_config):
    """The report's text gave only counts of overall judgements: no table gave each study's
    judgement per domain, as the traffic-light plot draws them (SYNTHETIC judgements, sheet order
    not year order)."""
    results, figures, prisma = review_files(tmp_path)
    studies = tmp_path / "studies.csv"
    studies.write_text("study_id,label,year,rob_tool,rob_randomisation,rob_deviations,rob_missing,rob_measurement,"
                       "rob_reporting,rob_overall\n"
                       "B,Beta,2021,RoB2,low,high,low,low,low,\n"
                       "A,Alpha,2020,RoB2,low,low,low,low,some concerns,\n"
                       "C,Gamma,2022,,,,,,,\n")
    out = results / "report.html"
    html.write_report(review_config, [FIXTURES / f"{name}.json" for name, _ in OUTCOMES], [], None, prisma,
                      figures, studies, None, [], out)
    section = out.read_text().split('id="rob"')[1].split("</section>")[0]
    table = section.split('data-table="rob_1"')[1].split("</table>")[0]
    assert "<caption>RoB 2: judgements per study and domain" in table
    assert '<abbr title="Randomisation process">D1</abbr>' in table
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table)
    assert [label for label, _ in rows] == ["Alpha", "Beta"]  # year order, as the plot; Gamma not assessed
    assert re.findall(r"<td>(.*?)</td>", rows[0][1]) == ["Low", "Low", "Low", "Low", "Some concerns", "Some concerns*"]
    assert re.findall(r"<td>(.*?)</td>", rows[1][1])[-1] == "High*"
