"""Write the schema enums that metasr.measures decides (measure ids, reported effects, escalc's
`to` and `vtype`) into schemas/*.schema.yaml, in place.

    .venv/bin/python tools/write_measure_enums.py          # rewrite the enums
    .venv/bin/python tools/write_measure_enums.py --check  # exit 1 when a schema differs

Each enum is one flow-style line (`name: {enum: [A, B]}`), found by its property name, which must
occur once in its file; tests/test_measures.py checks the files against the registry.
"""

from __future__ import annotations

import re
import sys

from metasr import measures
from metasr.resources import SCHEMAS


def enum_line(indent: str, name: str, values: list, rest: str = "") -> str:
    return f"{indent}{name}: {{enum: [{', '.join('null' if v is None else str(v) for v in values)}]{rest}}}"


def rewrite(text: str, name: str, values: list) -> str:
    """Replace the values of the one `name: {enum: [...], ...}` line; keep its other keys."""
    pattern = re.compile(rf"^(\s*){re.escape(name)}: \{{enum: \[[^\]]*\](.*)\}}$", re.MULTILINE)
    found = pattern.findall(text)
    if len(found) != 1:
        raise SystemExit(f"expected one '{name}: {{enum: [...]}}' line, found {len(found)}")
    return pattern.sub(lambda m: enum_line(m.group(1), name, values, m.group(2)), text)


def main(argv: list[str]) -> int:
    stale = []
    for file, enums in measures.schema_enums().items():
        path = SCHEMAS / file
        text = path.read_text(encoding="utf-8")
        new = text
        for keys, values in enums.items():
            new = rewrite(new, keys[-1], values)
        if new != text:
            stale.append(file)
            if "--check" not in argv:
                path.write_text(new, encoding="utf-8")
    if stale:
        print(("out of date: " if "--check" in argv else "wrote: ") + ", ".join(stale))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
