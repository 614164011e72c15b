"""Installed versions of Python packages, as the report lists them and the review cache keys on them."""

from __future__ import annotations

from importlib import metadata


def installed(names) -> dict[str, str | None]:
    """{distribution name: its installed version, or None when it is not installed}."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
