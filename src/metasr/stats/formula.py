"""Moderator formulas as R's model.matrix() builds them for metafor's `mods = ~ ...`.

Terms are separated by `+` (a leading `~` is allowed; `1` is the intercept, always included):
`a` (a numeric column enters as it is, a text column as a factor), `factor(a)` (a factor even when
numeric), `a:b` (interaction: the product of the terms' columns), `a*b` (= a + b + a:b; also
a*b*c). Columns come in R's order: main effects, then two-way interactions, and so on, each in
the order the formula names them; an interaction's variables in the order of their first mention
in the formula, the first one's columns varying fastest.

Factors use treatment contrasts against their first level, with levels in R's order: `factor()`
sorts the distinct values (numbers numerically; text with R's locale-aware sort(), here ICU
collation, see `r_sort_key`). A factor in an interaction whose margin (the term without it) is
not in the model is coded with all its levels, as R does.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# ICU root collation of the printable ASCII characters that are not letters or digits (R's sort()
# on this machine: LC_COLLATE=C.UTF-8 with ICU), then digits, then letters case-insensitively.
_PUNCT_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_RANK = {c: i for i, c in enumerate(_PUNCT_ORDER + "0123456789abcdefghijklmnopqrstuvwxyz")}


def r_sort_key(text: str):
    """Sort key of R's sort() of character vectors with ICU collation (the default where R has ICU
    and the locale is not C/POSIX): characters compare first without case and accents (punctuation
    before digits before letters; digits one by one, so "10" < "9"), then by accents, then lower
    case before upper case; other characters come after these, by code point."""
    base = unicodedata.normalize("NFD", text)
    letters = [c for c in base if not unicodedata.combining(c)]
    primary = tuple(_RANK.get(c.lower(), len(_RANK) + ord(c.lower())) for c in letters)
    secondary = tuple(ord(c) for c in base if unicodedata.combining(c))
    tertiary = tuple(1 if c.isupper() else 0 for c in letters)
    return primary, secondary, tertiary, text


def factor_levels(values) -> list[str]:
    """levels(factor(values)) in R: sorted distinct values (numerically when all are numbers)."""
    distinct = sorted({str(v) for v in values})
    try:
        numbers = {v: float(v) for v in distinct}
    except ValueError:
        return sorted(distinct, key=r_sort_key)
    return sorted(distinct, key=lambda v: numbers[v])


# R's ways of removing the intercept: `- 1` at the end of a term, or a `0` term.
_NO_INTERCEPT = re.compile(r"(^|\s)-\s*1\s*$")
_VARIABLE = re.compile(r"^(factor\(\s*(?P<f>[^()]+?)\s*\)|(?P<v>[^()*:+~]+?))$")


def parse(mods) -> list[tuple[tuple[str, bool], ...]]:
    """Terms of a moderator formula given as a string or a list of strings (joined with +): each
    term a tuple of (variable, forced factor), its variables in the order the formula first names
    them, as R's terms(); duplicates (also a:b after b:a) dropped."""
    text = " + ".join(mods) if isinstance(mods, (list, tuple)) else str(mods)
    text = text.strip()
    if text.startswith("~"):
        text = text[1:]
    written: list[tuple] = []
    for chunk in text.split("+"):
        chunk = chunk.strip()
        if not chunk or chunk == "1":
            continue
        if chunk == "0" or _NO_INTERCEPT.search(chunk):
            raise ValueError(f"a model without an intercept ({chunk!r}) is not supported: meta-regressions "
                             "here always include the intercept (write the moderators alone, e.g. "
                             "`factor(g)`; the subgroup analysis gives one mean per level)")
        crossed = [part.strip() for part in chunk.split("*")]
        factors = [[_variable(v) for v in part.split(":")] for part in crossed]
        for r in range(1, len(factors) + 1):
            written += [tuple(v for part in combo for v in part) for combo in itertools.combinations(factors, r)]
    # R's terms(): a term's variables in the order the formula first names them (`b + a:b` has the
    # term b:a), so that coefficient names and positions (btt) are R's.
    first = {v: i for i, v in reversed(list(enumerate(v for term in written for v in term)))}
    terms: list[tuple] = []
    for term in written:
        ordered = tuple(sorted(dict.fromkeys(term), key=first.__getitem__))
        if ordered not in terms:
            terms.append(ordered)
    return sorted(terms, key=len)  # stable: R's order (main effects, then by interaction order)


def _variable(text: str) -> tuple[str, bool]:
    m = _VARIABLE.match(text.strip())
    if not m or not text.strip():
        raise ValueError(f"cannot read the moderator term {text!r}")
    return (m.group("f").strip(), True) if m.group("f") else (m.group("v").strip(), False)


def label(variable: str, forced: bool) -> str:
    return f"factor({variable})" if forced else variable
