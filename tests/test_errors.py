"""Problems as text for a terminal: the user's text is shown, never acted on."""

from __future__ import annotations

import pytest

from metasr.errors import InputError, Problem, printable

HOSTILE = "30\x1b]0;PWNED\x07\x1b[2J"  # sets the terminal's title, then clears the screen


@pytest.mark.parametrize("text, shown", [
    (HOSTILE, "30\\x1b]0;PWNED\\x07\\x1b[2J"),
    ("a\rforged line", "a\\x0dforged line"),
    ("one\nerror: forged", "one\\x0aerror: forged"),
    ("\u202eevil", "\\u202eevil"),
    ("C1 \x9b2J", "C1 \\x9b2J"),
    ("Müller\tµ 😀", "Müller\tµ 😀"),
])
def test_printable_escapes_what_a_terminal_acts_on_and_keeps_the_rest(text, shown):
    assert printable(text) == shown


def test_every_part_of_a_formatted_problem_is_printable():
    problem = Problem(message=f"expected integer, found '{HOSTILE}'", file=f"sheet{HOSTILE}.csv", row=2,
                      column=f"n{HOSTILE}", key=HOSTILE, value=HOSTILE, rule=HOSTILE, hint=f"fix {HOSTILE}")
    for text, lines in ((problem.format(), 2), (InputError([problem, problem]).format(), 5)):
        assert not any(ch in text for ch in "\x1b\x07\r") and len(text.split("\n")) == lines
        assert "found '30\\x1b]0;PWNED\\x07\\x1b[2J'" in text
