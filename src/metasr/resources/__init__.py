"""Files that ship inside the package: the Snakemake workflow, the JSON schemas, report captions.

They are package data so that an installed metasr (`pip install .`, not only an editable checkout)
can validate a review and run the workflow from any directory. The repository's top-level
`Snakefile`, `rules/`, `scripts/`, `report/`, `profiles/` and `schemas/` are links to these files,
so the project keeps the layout Snakemake users expect.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
SCHEMAS = RESOURCES / "schemas"
WORKFLOW = RESOURCES / "workflow"


def schema_path(name: str) -> Path:
    """`schemas/<name>.schema.yaml` (name without the suffix, e.g. "config")."""
    return SCHEMAS / f"{name}.schema.yaml"


def snakefile() -> Path:
    return WORKFLOW / "Snakefile"
