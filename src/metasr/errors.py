"""User-facing problems as values.

Validation code collects every `Problem` it finds instead of stopping at the first one; the layer
that talks to the user (the CLI, a Snakemake script) decides how to print them and which exit
code to use. `InputError` carries one or more problems across layers when work must stop.

Row numbers follow what a person sees in a spreadsheet: the header is row 1, the first data row
is row 2. Line numbers in text exports are 1-based.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

# What a terminal acts on instead of showing: C0 controls but tab (ESC starts colour, title and
# screen-clearing sequences; CR and LF start forged lines), DEL, C1 controls, and the bidirectional
# overrides and isolates that reorder what is shown.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every character a terminal would act on written as its escape (\\x1b, \\u202e),
    so that text from the user's files is shown as text, whatever it holds."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input, with enough context to fix it."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    key: str | None = None  # a dotted config key ("outcomes.edss.method"), for YAML inputs
    line: int | None = None  # a line of a text file (a YAML config), where `row` would be a sheet's
    value: str | None = None
    rule: str | None = None
    hint: str | None = None
    severity: str = "error"  # "error" stops the run; "warning" is reported and the run goes on

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.key:
            parts.append(f"key '{self.key}'")
        return ", ".join(parts)

    def format(self) -> str:
        """The problem as lines for a terminal; every part that may quote the user's text is printable()."""
        where = printable(self.location())
        text = f"{self.severity}: {where + ': ' if where else ''}{printable(self.message)}"
        if self.value not in (None, ""):
            text += f" (value: {printable(repr(self.value))})"
        if self.rule:
            text += f" [rule: {printable(self.rule)}]"
        if self.hint:
            text += f"\n    hint: {printable(self.hint)}"
        return text

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


class InputError(Exception):
    """A mistake in the user's input. Printed without a traceback; the process exits non-zero."""

    def __init__(self, problems: Problem | str | Iterable[Problem], **context):
        if isinstance(problems, str):
            problems = [Problem(message=problems, **context)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.format())

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def format(self) -> str:
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} found:" if n > 1 else ""
        body = "\n".join(p.format() for p in self.problems)
        return f"{head}\n{body}" if head else body

    def to_json(self) -> str:
        return json.dumps([p.to_dict() for p in self.problems], indent=2)


def raise_if_errors(problems: Iterable[Problem]) -> list[Problem]:
    """Raise InputError if any problem is an error; otherwise return the warnings."""
    problems = list(problems)
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return problems
