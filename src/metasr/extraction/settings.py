"""The extraction section of a review's config with its defaults filled in (read by validation,
conversion and the outcome job alike)."""

from __future__ import annotations


def extraction_settings(config: dict) -> dict:
    """The extraction section with its defaults filled in."""
    ext = dict(config.get("extraction") or {})
    ext.setdefault("studies", "data/extraction/studies.csv")
    ext.setdefault("outcomes_dir", "data/extraction/outcomes")
    ext.setdefault("narrative", "data/extraction/narrative.csv")
    ext.setdefault("median_conversion", "luo_shi")
    ext.setdefault("p_value_bounds", "exclude")
    ext.setdefault("allow_discrepancies", False)
    ext.setdefault("study_columns", [])
    return ext
