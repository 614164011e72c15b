"""Figure captions for `snakemake --report` (report/*.rst): Jinja2 + reStructuredText, clean."""

from pathlib import Path
from types import SimpleNamespace

import docutils.core
import docutils.utils
import jinja2
import pytest

REPORT = Path(__file__).resolve().parents[2] / "report"
CAPTIONS = ["forest", "funnel", "leave1out", "cumulative", "baujat", "bubble", "rob",
            "rob_summary", "summary", "report_html"]


@pytest.mark.parametrize("name", CAPTIONS)
def test_caption_renders_without_warnings(name):
    source = (REPORT / f"{name}.rst").read_text()
    snakemake = SimpleNamespace(wildcards=SimpleNamespace(outcome="edss"), config={}, params={})
    text = jinja2.Template(source, undefined=jinja2.StrictUndefined).render(snakemake=snakemake)
    html = docutils.core.publish_parts(
        text, writer="html",
        settings_overrides={"report_level": docutils.utils.Reporter.WARNING_LEVEL,
                            "halt_level": docutils.utils.Reporter.WARNING_LEVEL})["body"]
    assert len(html) > 100
    if "wildcards" in source:
        assert "edss" in html
