"""Reported p-values: exact ("0.017") or bounds ("<0.001", "<=0.05", "> 0.05")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_P = re.compile(r"^\s*(?:p\s*)?(<=|>=|=<|=>|≤|≥|<|>|=)?\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$", re.I)
_CANONICAL = {"=<": "<=", "≤": "<=", "=>": ">=", "≥": ">=", None: "="}


@dataclass(frozen=True)
class PValue:
    value: float
    relation: str  # "=", "<", "<=", ">", ">="

    @property
    def exact(self) -> bool:
        return self.relation == "="

    @property
    def upper_bound(self) -> bool:
        return self.relation in ("<", "<=")

    def __str__(self) -> str:
        return f"{'' if self.exact else self.relation}{self.value:g}"


def parse_p(text) -> PValue | None:
    """Parse a p-value cell; None when it is not a p-value (the caller reports the problem)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return PValue(float(text), "=")
    match = _P.match(str(text))
    if not match:
        return None
    relation = _CANONICAL.get(match.group(1), match.group(1))
    return PValue(float(match.group(2)), relation)
