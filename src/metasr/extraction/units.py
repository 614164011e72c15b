"""Unit harmonisation: the factor that turns a row's unit into the outcome's declared unit.

Only units whose conversion is a pure scale factor are known (volumes, lengths, times, mass
concentrations). A unit that is not known and not spelled like the outcome's unit gives no
factor; the caller decides whether that matters (it does not for an SMD).
"""

from __future__ import annotations

# Each unit: (dimension, size in a base unit of that dimension).
_UNITS = {
    "ul": ("volume", 1e-9), "mm3": ("volume", 1e-9), "ml": ("volume", 1e-6), "cm3": ("volume", 1e-6),
    "cc": ("volume", 1e-6), "dl": ("volume", 1e-4), "l": ("volume", 1e-3), "m3": ("volume", 1.0),
    "um": ("length", 1e-6), "mm": ("length", 1e-3), "cm": ("length", 1e-2), "m": ("length", 1.0),
    "ms": ("time", 1e-3), "s": ("time", 1.0), "sec": ("time", 1.0), "seconds": ("time", 1.0),
    "min": ("time", 60.0), "minutes": ("time", 60.0), "h": ("time", 3600.0), "hours": ("time", 3600.0),
    "pg/ml": ("mass_conc", 1e-9), "ng/l": ("mass_conc", 1e-9), "ng/ml": ("mass_conc", 1e-6),
    "ug/l": ("mass_conc", 1e-6), "ug/ml": ("mass_conc", 1e-3), "mg/l": ("mass_conc", 1e-3),
    "mg/dl": ("mass_conc", 1e-2), "g/l": ("mass_conc", 1.0),
}


def normalise_unit(unit: str | None) -> str:
    if not unit:
        return ""
    text = str(unit).strip().lower()
    for old, new in (("µ", "u"), ("μ", "u"), ("³", "3"), ("^3", "3"), (" ", "")):
        text = text.replace(old, new)
    return text


def unit_factor(row_unit: str | None, outcome_unit: str | None) -> float | None:
    """Multiply a value in row_unit by this to get outcome_unit; 1.0 when either is empty or they
    are spelled the same; None when they differ and no scale factor is known."""
    a, b = normalise_unit(row_unit), normalise_unit(outcome_unit)
    if not a or not b or a == b:
        return 1.0
    if a in _UNITS and b in _UNITS and _UNITS[a][0] == _UNITS[b][0]:
        return _UNITS[a][1] / _UNITS[b][1]
    return None
