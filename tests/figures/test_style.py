"""Text fitting and number formats shared by the figures."""

import math
import re

import numpy as np
import pytest

from metasr import measures
from metasr.figures import style


def test_truncate_and_wrap_fit_the_width():
    text = "A deliberately long study label that cannot fit in one inch"
    cut = style.truncate_to_width(text, 1.0)
    assert cut.endswith("…") and style.text_width_in(cut) <= 1.0
    lines = style.wrap_to_width(text, 1.2, max_lines=2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(style.text_width_in(line) <= 1.2 for line in lines)
    assert style.truncate_to_width("short", 1.0) == "short"


def test_text_width_is_the_advance_sum_close_to_matplotlibs_own_measure():
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    dpi = 720  # fine enough that hinting (each glyph on whole pixels) moves the ink box little
    renderer = RendererAgg(100, 100, dpi)
    for weight in ("normal", "bold"):
        props = FontProperties(family="DejaVu Sans", size=8, weight=weight)
        for text in ("0.52 [0.12, 0.93]", "Study 12 (2015)", "−0.50 [−0.82, −0.19]", "Wolinsky et al. 2019",
                     "Estimate [95% CI]", "Weight (%)", "W"):
            ink, _, _ = renderer.get_text_width_height_descent(text, props, ismath=False)
            # matplotlib measures the ink box: the advances less the side bearings of the end glyphs
            assert math.isclose(style.text_width_in(text, 8, weight) * dpi, ink, abs_tol=0.5 * dpi / 72), (text, weight)
    assert style.text_width_in("Study", weight="bold") > style.text_width_in("Study")
    assert math.isclose(style.text_width_in("Study", 16), 2 * style.text_width_in("Study", 8))
    assert style.text_width_in("") == 0.0


def test_text_width_kerns_pairs_and_measures_missing_glyphs():
    advances = style._advances("normal")
    kerned = advances.width_em("AV")
    assert kerned < advances.width_em("A") + advances.width_em("V")  # DejaVu Sans kerns A-V
    missing = style.text_width_in("漢字")  # not in DejaVu Sans: two .notdef boxes, not zero
    assert missing > 0 and math.isclose(missing, 2 * style.text_width_in("漢"))


def test_nice_limits():
    assert style.nice_limit(1.05) == 1.5 and style.nice_limit(0.3) == 0.3


def test_display_from_the_pooled_transform_or_the_measure():
    from metasr.display import shown

    assert style.display({"measure": "RR"}).ratio and not style.display({"measure": "SMD"}).ratio
    assert style.display({"measure": "GEN"}, {"scale": "log"}).ratio
    pft = style.display({"measure": "PFT", "transform": {"name": "ipft_hm", "args": {"ni": 12.0}}})
    assert pft.percent and math.isclose(shown(pft.forward(0.25), pft), 25.0)


def test_effect_ticks_are_round_shown_values_at_their_analysis_positions():
    zcor = style.display({"measure": "ZCOR"})
    ticks, labels = style.effect_ticks(-0.6, 0.6, zcor)
    labels = [lab.replace("−", "-") for lab in labels]  # true minus signs on the axis
    assert labels and all(math.isclose(math.tanh(t), float(lab)) for t, lab in zip(ticks, labels, strict=True))
    plo = style.display({"measure": "PLO"})
    ticks, labels = style.effect_ticks(-2.0, 1.0, plo)
    assert all(math.isclose(100 / (1 + math.exp(-t)), float(lab)) for t, lab in zip(ticks, labels, strict=True))
    ratio_ticks, ratio_labels = style.effect_ticks(-math.log(2), math.log(2), style.display({"measure": "OR"}))
    assert "1" in ratio_labels and math.isclose(ratio_ticks[ratio_labels.index("2")], math.log(2))


def _svg(fast: bool, fmt: str = "svg") -> tuple[bytes, list[str]]:
    """One figure of assorted texts and a line written to SVG (or `fmt`), with the strings the SVG
    renderer measured."""
    import io
    from unittest import mock

    from matplotlib.backends.backend_svg import RendererSVG
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    measured = []
    original = RendererSVG.get_text_width_height_descent

    def spy(self, s, prop, ismath):
        measured.append(s)
        return original(self, s, prop, ismath)

    fig = style.new_figure(4, 3)
    texts = [((0.1, 0.9, "Study or subgroup"), {"weight": "bold"}),
             ((0.5, 0.8, "1.02 [0.74, 1.41]"), {"ha": "right", "color": "#333333", "fontsize": 7}),
             ((0.5, 0.7, "Risk ratio"), {"ha": "center", "weight": "bold"}),
             ((0.3, 0.6, "Tau² = 0.00; Chi² = 21.48 † …"), {"fontsize": 7.5}),
             ((0.3, 0.5, "two\nlines"), {}), ((0.3, 0.4, "top"), {"va": "top"}),
             ((0.3, 0.3, "$x^2$"), {}), ((0.9, 0.2, "<b>&amp; 'x' \"y\"</b>"), {"ha": "center", "fontsize": 9.5}),
             ((0.2, 0.1, "grey bold"), {"color": "#777777", "weight": "bold", "va": "baseline"}),
             ((0.2, 0.05, "rotated"), {"rotation": 90}), ((0.6, 0.05, ""), {}), ((0.7, 0.05, None), {}),
             ((0.8, 0.05, 12.5), {"ha": "right"})]
    fig.add_artist(Line2D([0.0, 1.0], [0.85, 0.85], transform=fig.transFigure))  # drawn below the texts
    for args, kwargs in texts:
        if fast:
            style.add_text(fig, *args, **kwargs)
        else:
            fig.add_artist(Text(*args, parse_math=False, **kwargs))  # figure text is never mathtext
    buf = io.BytesIO()
    with mock.patch.object(RendererSVG, "get_text_width_height_descent", spy), style.style():
        fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    return buf.getvalue(), measured


def test_svg_text_writes_what_text_writes_without_measuring_plain_lines():
    plain, plain_measured = _svg(fast=False)
    fast, fast_measured = _svg(fast=True)
    assert fast == plain
    assert "Risk ratio" in plain_measured
    # Only what needs a layout is measured: several lines, top alignment, math.
    assert set(fast_measured) <= {"two", "lines", "top", "lp", "rotated"}
    assert _svg(fast=True, fmt="png")[0] == _svg(fast=False, fmt="png")[0]  # a raster draws `Text`s


def test_percent_ticks_spread_round_values_over_a_transformed_proportion_axis():
    """dat.pritz1997's logit axis (12 to 99.87 %) had only 20, 50, 90 and 99: nothing between 50
    and 90, where most of its studies are."""
    plo = style.display({"measure": "PLO"})
    lo, hi = plo.from_shown(12.0), plo.from_shown(99.87)
    ticks, labels = style.effect_ticks(lo, hi, plo)
    assert labels == ["25", "50", "75", "90", "99"]
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert min(gaps) >= (hi - lo) / 10 - 1e-9  # no two ticks crowd each other near 100 %
    ticks, labels = style.effect_ticks(lo, hi, plo, width_in=1.0)  # a short axis: labels still clear
    extents = label_extents(ticks, labels, lo, hi, 1.0)
    assert all(a[1] + style.TICK_GAP_IN <= b[0] + 1e-9 for a, b in zip(extents, extents[1:], strict=False))


@pytest.mark.parametrize(("ratio", "width_in", "expected"), [
    (1000, 2.6, ["0.001", "0.01", "0.1", "1", "10", "100", "1000"]),  # dat.nielweise2007's cumulative plot
    (100, 2.5, ["0.01", "0.1", "0.5", "1", "2", "10", "100"]),
    (100, 1.2, ["0.01", "0.1", "1", "10", "100"]),
    (2, 2.5, ["0.5", "0.7", "1", "1.5", "2"]),
])
def test_ratio_ticks_never_print_into_each_other(ratio, width_in, expected):
    """An OR axis from 0.001 to 1000 had 0.1, 0.2, 0.5 and 1 printed into each other ('0.10.20.5 1'),
    one from 0.01 to 100 had 0.1 and 0.2 touching: powers of ten first, then 2 and 0.5 ... in pairs
    while their labels clear each other."""
    lo, hi = -math.log(ratio), math.log(ratio)
    ticks, labels = style.effect_ticks(lo, hi, style.display({"measure": "OR"}), width_in=width_in)
    assert labels == expected
    extents = label_extents(ticks, labels, lo, hi, width_in)
    assert all(a[1] + style.TICK_GAP_IN <= b[0] + 1e-9 for a, b in zip(extents, extents[1:], strict=False))


def label_extents(ticks, labels, lo, hi, width_in):
    """(left, right) of each tick label along an axis `width_in` long, in inches."""
    return [((t - lo) / (hi - lo) * width_in - w / 2, (t - lo) / (hi - lo) * width_in + w / 2)
            for t, w in zip(ticks, (style.text_width_in(lab, style.TICK_FONT_SIZE) for lab in labels), strict=True)]


def test_fisher_z_ticks_reach_toward_r_of_1_without_overlapping():
    """An axis of Fisher's z to ±5 (a study at r = 0.999) had ticks only at r = −0.5, 0 and 0.5,
    printed over each other in its middle."""
    zcor = style.display({"measure": "ZCOR"})
    ticks, labels = style.effect_ticks(-5.0, 5.0, zcor, width_in=2.5)
    assert labels == ["−0.999", "−0.9", "0", "0.9", "0.999"]
    assert all(math.isclose(math.tanh(t), float(lab.replace("−", "-"))) for t, lab in zip(ticks, labels, strict=True))
    extents = label_extents(ticks, labels, -5.0, 5.0, 2.5)
    assert all(a[1] + style.TICK_GAP_IN <= b[0] + 1e-9 for a, b in zip(extents, extents[1:], strict=False))
    # an ordinary axis keeps its round ticks
    assert style.effect_ticks(-1.0, 1.0, zcor, width_in=2.5)[1] == ["−0.5", "0", "0.5"]
    assert style.effect_ticks(-2.0, 2.0, zcor, width_in=2.5)[1] == ["−0.9", "−0.5", "0", "0.5", "0.9"]


def test_a_log_mean_axis_is_labelled_at_1_2_5_values_or_round_values_when_narrow():
    disp = measures.display_for("MNLN")
    ticks, labels = style.effect_ticks(math.log(9), math.log(130), disp)  # dat.normand1999's length of stay
    assert labels == ["10", "20", "50", "100"] and np.allclose(np.exp(ticks), [10, 20, 50, 100])
    ticks, labels = style.effect_ticks(math.log(6.5), math.log(8.5), disp)  # dat.senn2013's HbA1c (%)
    assert len(labels) >= 3 and np.allclose(np.exp(ticks), [float(x) for x in labels])


def test_a_log_rate_axis_spanning_decades_is_labelled_at_1_2_5_values():
    """IRLN from 0.01 to 0.5 events per person-time had ticks 0.1 ... 0.5 crowded at its upper end
    and none over the lower half of the (log) axis."""
    ticks, labels = style.effect_ticks(math.log(0.01), math.log(0.5), measures.display_for("IRLN"), width_in=2.5)
    assert labels == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5"]
    assert np.allclose(np.exp(ticks), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5])


def test_dollar_signs_in_labels_are_drawn_as_written_not_as_mathtext():
    """Labels come from the sheets: "$...$" is text (SYNTHETIC labels), in add_text's fast path, in a
    `Text` made while drawing in style(), and in a raster (PNG) too."""
    import io

    labels = ["Smith $\\alpha$ 2019", "Jones $1 & $ 2023"]
    with style.style():
        fig = style.new_figure(4, 2)
        style.add_text(fig, 0.1, 0.8, labels[0])
        fig.text(0.1, 0.5, labels[1])
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.2))
        ax.set_xlabel(labels[0])
    svg = io.StringIO()
    with style.style():
        fig.savefig(svg, format="svg")
    for label in labels:  # as <text> (mathtext would draw glyph paths, the label only in a comment)
        assert ">" + label.replace("&", "&amp;") + "</text>" in svg.getvalue()
    fig.savefig(io.BytesIO(), format="png")  # no mathtext parse error ("$1 & $")


def test_a_wide_raw_axis_gets_at_least_three_round_ticks():
    """A single-group mean's axis from -5 to 90: steps of 50 gave only 0 and 50; steps of 25 do not crowd."""
    assert style.effect_ticks(-5.0, 90.0, style.display({"measure": "MN"}))[1] == ["0", "25", "50", "75"]
    assert style.effect_ticks(-1.3, 1.3, style.display({"measure": "MD"}))[1] == ["−1", "0", "1"]  # as before


LANGER = "Langer & Applebee — writing-to-learn intervention in school classrooms (grade 3) 1987"
LANGER_2 = "Langer & Applebee — writing-to-learn intervention in school classrooms (grade 3) (second report) 1987"


def test_long_labels_are_cut_in_the_middle_keeping_their_end():
    cut = style.cut_middle(LANGER, 2.3)
    assert cut.startswith("Langer & Applebee") and cut.endswith("(grade 3) 1987") and "…" in cut
    assert style.text_width_in(cut) <= 2.3
    assert style.cut_middle("Short 2001", 2.3) == "Short 2001"


def test_different_labels_are_never_shortened_to_the_same_text():
    alike_ends = ["Same start " + "x" * 50 + f" differs {word} " + "y" * 50 + " same end"
                  for word in ("here", "HERE")]
    labels = [LANGER, LANGER_2, LANGER.replace("grade 3", "grade 2"), *alike_ends, "Short 2001"]
    short = style.shorten_labels(labels, 2.3)
    assert len(set(short.values())) == len(labels)
    assert all(style.text_width_in(cut) <= 2.3 for cut in short.values())
    assert short[LANGER_2].endswith("(second report) 1987")


def test_a_shortened_label_carries_the_whole_label_as_its_svg_tooltip(tmp_path):
    fig = style.new_figure(3, 1)
    style.add_text(fig, 0.1, 0.5, style.cut_middle(LANGER, 2.3), title=LANGER)
    style.add_text(fig, 0.1, 0.2, "Short & Co 2001", title="Short & Co 2001")  # not cut: no tooltip
    style.save_figure(fig, tmp_path / "t.svg")
    text = (tmp_path / "t.svg").read_text()
    assert text.count("<title>") == 1 and f"<title>{LANGER.replace('&', '&amp;')}</title>" in text
    import xml.etree.ElementTree as ET

    ET.fromstring(text)  # still well-formed


def test_characters_no_installed_font_has_are_named_in_metasrs_own_warning(tmp_path, caplog, monkeypatch):
    """Whether or not a CJK font is installed: with none to fall back on, the run says which
    characters of which label in which figure, and how to fix it; matplotlib's warning is not passed on."""
    import logging
    import warnings

    monkeypatch.setattr(style, "_installed_fonts", lambda: ())
    style.fallback_font.cache_clear()
    try:
        fig = style.new_figure(3, 1)
        style.add_text(fig, 0.1, 0.5, "王小明 (Wang) 2001")
        with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
            warnings.simplefilter("always")
            style.save_figure(fig, tmp_path / "f.svg", tmp_path / "f.png")
    finally:
        style.fallback_font.cache_clear()
    assert not [w for w in seen if "missing from font" in str(w.message)]
    assert "f.png: no installed font has the characters 王小明 of '王小明 (Wang) 2001'" in caplog.text
    assert "fonts-noto-cjk" in caplog.text


def test_characters_the_font_lacks_fall_back_on_an_installed_font_that_has_them(tmp_path, caplog, monkeypatch):
    """STIX (shipped with matplotlib, so always there) stands in for an installed font with the glyph."""
    import logging

    from matplotlib import get_data_path

    stix = f"{get_data_path()}/fonts/ttf/STIXGeneral.ttf"
    monkeypatch.setattr(style, "_installed_fonts", lambda: (("STIXGeneral", stix),))
    style.fallback_font.cache_clear()
    try:
        assert style.missing_glyphs("Ōta ℊ 2001") == "ℊ"  # DejaVu Sans has no U+210A
        fig = style.new_figure(3, 1)
        style.add_text(fig, 0.1, 0.5, "Ōta ℊ 2001")
        with caplog.at_level(logging.WARNING):
            style.save_figure(fig, tmp_path / "f.svg", tmp_path / "f.png")
    finally:
        style.fallback_font.cache_clear()
    assert "no installed font" not in caplog.text
    family = re.search(r"font-family: ([^;]*);[^>]*>Ōta", (tmp_path / "f.svg").read_text()).group(1)
    assert family.startswith("'DejaVu Sans'") and "'STIXGeneral'" in family


def test_footnotes_wrap_without_stray_short_lines_or_breaking_at_an_equals_sign():
    note = ("† Effect or its standard error derived from the reported form (e.g. median and range, CI, "
            "t statistic or P value); details in the report.")
    width = style.text_width_in(note) * 0.6
    lines = style.split_clauses(note, width)
    assert len(lines) == 2 and all(style.text_width_in(line) <= width for line in lines)
    assert lines[-1].endswith("value); details in the report.")  # continued, not a line of its own
    assert style.split_clauses("a; b", 5.0) == ["a; b"]
    scale = "Effects shown as proportions (%), ni = 12.59 (harmonic mean) for the pooled results."
    for width in (1.0, 1.5, 2.0, 2.5, 3.0):
        assert not any(line.endswith("=") for line in style.wrap_to_width(scale, width))


def test_a_cut_ends_the_start_at_a_word_and_never_inside_a_number():
    """'Wartenberg et al., 201… Exp 1 - In Group' read as a wrong year (tester's labels, dat.lehmann2018)."""
    for label in ("Wartenberg et al., 2011 - Exp 1 - In Group (Females)",
                  "Dupont-Lefebvre et al. for the Multicentre Investigators of Northern France 2006"):
        for width in (1.6, 2.0, 2.4):
            start = style.cut_middle(label, width).split("…")[0]
            assert label.startswith(start) and (len(start) == len(label) or not label[len(start)].isalnum()
                                                or not label[len(start) - 1].isalnum() or " " not in start[1:])
            assert not (start[-1:].isdigit() and label[len(start)].isdigit())


# Light ticks: matplotlib's look, without a `Tick` per tick.


def _svg_parts(fig, light: bool) -> tuple[list[str], list[str], list[str]]:
    """The SVG's texts, tick marks (<use>, without their generated ids) and marker shapes."""
    import io

    if light:
        with style.style():
            style.light_ticks(fig)
    buffer = io.BytesIO()
    with style.style():
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue().decode()
    return (sorted(re.findall(r"<text [^>]*>[^<]*</text>", svg)),
            sorted(re.sub(r'xlink:href="[^"]*"', "", u) for u in re.findall(r"<use [^>]*>", svg)),
            sorted(set(re.findall(r'<path id="m[^>]*>', svg))))


def _funnel_like(fig):
    ax = fig.add_axes([0.2, 0.2, 0.7, 0.7])
    ax.scatter([0.1, 0.5, 1.3], [0.05, 0.2, 0.26])
    ax.set_ylim(0.3, 0)  # inverted, auto ticks on both axes
    ax.set_xlabel("Log risk ratio")
    ax.set_ylabel("Standard error")


def _forest_like(fig):
    ax = fig.add_axes([0.1, 0.3, 0.8, 0.5])
    ax.set_xlim(-1.2, 3.0)
    ax.set_yticks([])
    # one tick outside the view (not drawn), an empty label, a minus sign and a character DejaVu has
    style.set_ticks(ax.xaxis, [-5.0, -1.0, 0.0, 0.5, 1.0, 2.5], ["−5", "−1.0", "0", "", "Ōta", "12.5"])
    ax.tick_params(axis="x", labelsize=style.TICK_FONT_SIZE, length=3, pad=2)
    ax.set_xlabel("Favours control    Favours treatment", fontsize=7)


def _two_panels(fig):
    for i, top in enumerate((0.55, 0.1)):
        ax = fig.add_axes([0.15, top, 0.8, 0.35])
        ax.plot([0, 10 ** (i + 1)], [-2, 2])
        ax.set_ylabel(f"panel {i}")


def _marks_hidden(fig):
    ax = fig.add_axes([0.2, 0.2, 0.7, 0.7])
    ax.plot([0, 3], [1, 2])
    ax.tick_params(axis="x", bottom=False)  # labels without marks
    ax.tick_params(axis="y", labelleft=False)  # marks without labels
    ax.set_xlabel("x")
    ax.set_ylabel("y")


@pytest.mark.parametrize("draw", [_funnel_like, _forest_like, _two_panels, _marks_hidden])
def test_light_ticks_write_the_ticks_and_axis_labels_matplotlib_writes(draw):
    figures = [style.new_figure(4, 3), style.new_figure(4, 3)]
    with style.style():
        for fig in figures:
            draw(fig)
    old, new = _svg_parts(figures[0], light=False), _svg_parts(figures[1], light=True)
    assert new == old
    assert old[0] and old[1]  # there were tick labels and marks to compare
    # no `Tick` was made for the drawing beyond the axis' first, which the others copy
    assert all(len(axis.majorTicks) == 1 for ax in figures[1].axes for axis in (ax.xaxis, ax.yaxis))


def _grid(ax):
    ax.grid(True)


def _rotated(ax):
    ax.tick_params(axis="x", labelrotation=45)


def _top(ax):
    ax.xaxis.tick_top()


def _minor(ax):
    ax.minorticks_on()


def _offset(ax):
    ax.set_xlim(1_000_000, 1_000_001)  # labelled with an offset ("+1e6")


@pytest.mark.parametrize("change", [_grid, _rotated, _top, _minor, _offset])
def test_axes_drawn_otherwise_keep_matplotlibs_ticks(change):
    figures = [style.new_figure(4, 3), style.new_figure(4, 3)]
    with style.style():
        for fig in figures:
            ax = fig.add_axes([0.2, 0.2, 0.7, 0.7])
            ax.plot([0, 1], [0, 1])
            ax.set_xlabel("x")
            change(ax)
    assert _svg_parts(figures[1], light=True)[:2] == _svg_parts(figures[0], light=False)[:2]
    assert not isinstance(figures[1].axes[0].xaxis.get_major_locator(), style.NullLocator)


def test_a_tick_label_the_font_lacks_falls_back_on_an_installed_font(tmp_path, monkeypatch):
    from matplotlib import get_data_path

    stix = f"{get_data_path()}/fonts/ttf/STIXGeneral.ttf"
    monkeypatch.setattr(style, "_installed_fonts", lambda: (("STIXGeneral", stix),))
    style.fallback_font.cache_clear()
    try:
        fig = style.new_figure(3, 2)
        with style.style():
            ax = fig.add_axes([0.2, 0.3, 0.7, 0.6])
            style.set_ticks(ax.xaxis, [0, 1], ["ℊ level", "other"])  # a moderator's levels (bubble plot)
        style.save_figure(fig, tmp_path / "f.svg", tmp_path / "f.png")
    finally:
        style.fallback_font.cache_clear()
    family = re.search(r"font-family: ([^;]*);[^>]*>ℊ level", (tmp_path / "f.svg").read_text()).group(1)
    assert "'STIXGeneral'" in family
    assert (tmp_path / "f.png").stat().st_size > 0


def test_set_ticks_labels_an_axis_as_matplotlibs_set_ticks_does():
    figures = [style.new_figure(4, 3), style.new_figure(4, 3)]
    ticks, labels = [-5.0, 0.0, 1.0, 2.5], ["−5", "0", "", "12.5"]
    with style.style():
        for i, fig in enumerate(figures):
            ax = fig.add_axes([0.2, 0.2, 0.7, 0.7])
            ax.set_xlim(-1, 3)
            if i:
                style.set_ticks(ax.xaxis, ticks, labels)
            else:
                ax.set_xticks(ticks, labels)
    assert figures[1].axes[0].get_xlim() == figures[0].axes[0].get_xlim() == (-5, 3)
    assert _svg_parts(figures[1], light=False) == _svg_parts(figures[0], light=False)
