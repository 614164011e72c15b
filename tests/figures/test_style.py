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
