"""Text fitting and number formats shared by the figures."""

import pytest

from metasr.figures import style as st


def test_truncate_and_wrap_fit_the_width():
    text = "A deliberately long study label that cannot fit in one inch"
    cut = st.truncate_to_width(text, 1.0)
    assert cut.endswith("…") and st.text_width_in(cut) <= 1.0
    lines = st.wrap_to_width(text, 1.2, max_lines=2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(st.text_width_in(line) <= 1.2 for line in lines)
    assert st.truncate_to_width("short", 1.0) == "short"


@pytest.mark.parametrize("p, text", [(0.2, "P = 0.20"), (0.0432, "P = 0.04"), (0.004, "P = 0.004"),
                                     (7.05e-05, "P = 0.00007"), (1e-9, "P < 0.00001")])
def test_revman_p_values(p, text):
    assert st.fmt_p(p) == text


def test_numbers():
    assert st.fmt(-0.001) == "0.00" and st.fmt(None) == ""
    assert st.fmt_data(13.0) == "13" and st.fmt_data(1.815605) == "1.82"
    assert st.fmt_data(0.01234) == "0.0123"
    assert st.nice_limit(1.05) == 1.5 and st.nice_limit(0.3) == 0.3


def test_ratio_scale():
    assert st.ratio_scale({"measure": "RR"}) and not st.ratio_scale({"measure": "SMD"})
    assert st.ratio_scale({"measure": "GEN"}, {"scale": "log"})


def _svg(fast: bool) -> tuple[bytes, list[str]]:
    """One figure of assorted texts written to SVG, with the strings the SVG renderer measured."""
    import io
    from unittest import mock

    from matplotlib.backends.backend_svg import RendererSVG
    from matplotlib.text import Text

    measured = []
    original = RendererSVG.get_text_width_height_descent

    def spy(self, s, prop, ismath):
        measured.append(s)
        return original(self, s, prop, ismath)

    fig = st.new_figure(4, 3)
    texts = [((0.1, 0.9, "Study or subgroup"), {"weight": "bold"}),
             ((0.5, 0.8, "1.02 [0.74, 1.41]"), {"ha": "right", "color": "#333333", "fontsize": 7}),
             ((0.5, 0.7, "Risk ratio"), {"ha": "center", "weight": "bold"}),
             ((0.3, 0.6, "Tau² = 0.00; Chi² = 21.48 † …"), {"fontsize": 7.5}),
             ((0.3, 0.5, "two\nlines"), {}), ((0.3, 0.4, "top"), {"va": "top"}),
             ((0.3, 0.3, "$x^2$"), {})]
    for args, kwargs in texts:
        if fast:
            st.add_text(fig, *args, **kwargs)
        else:
            fig.add_artist(Text(*args, **kwargs))
    buf = io.BytesIO()
    with mock.patch.object(RendererSVG, "get_text_width_height_descent", spy), st.style():
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue(), measured


def test_svg_text_writes_what_text_writes_without_measuring_plain_lines():
    plain, plain_measured = _svg(fast=False)
    fast, fast_measured = _svg(fast=True)
    assert fast == plain
    assert "Risk ratio" in plain_measured
    # Only what needs a layout is measured: several lines, top alignment, math.
    assert set(fast_measured) <= {"two", "lines", "top", "$x^2$", "lp"}
