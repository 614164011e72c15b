"""`snakemake --lint` with one documented exemption; exits non-zero on any other lint.

Exempt: "Specify a conda environment or container for each rule." metasr's rules run the metasr
package in the environment it is installed in (a venv from requirements.lock, `make setup`; on a
cluster, that venv on a shared file system: README "Running on a SLURM cluster"). A conda env
file would have to install metasr itself, which no channel we can reach here carries, so it could
never be tested; an untested deployment path is worse than none. Every other lint fails.

Usage: python tools/lint_workflow.py [REVIEW_FOLDER]   (default: the repository, the default review)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXEMPT = ("Specify a conda environment or container for each rule.",)


def lints(review: Path) -> list[tuple[str, str]]:
    """(rule, lint title) for every lint Snakemake reports on the workflow run in `review`."""
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run([str(snakemake), "--snakefile", str(REPO / "Snakefile"), "--lint"], cwd=review,
                          capture_output=True, text=True)
    found, rule = [], None
    for line in (proc.stdout + proc.stderr).splitlines():
        header = re.match(r"^Lints for (.+?)(?: \(|:$)", line)
        if header:
            rule = header.group(1)
            continue
        item = re.match(r"^\s+\* (.+?):?$", line)
        if item and rule:
            found.append((rule, item.group(1).rstrip(":")))
    if proc.returncode != 0 and not found:
        raise SystemExit(f"snakemake --lint failed:\n{proc.stdout}\n{proc.stderr}")
    return found


def main(argv: list[str]) -> int:
    review = Path(argv[0]) if argv else REPO
    bad = [(rule, title) for rule, title in lints(review) if title not in EXEMPT]
    for rule, title in bad:
        print(f"{rule}: {title}")
    print("lint: clean (one documented exemption: tools/lint_workflow.py)" if not bad else f"lint: {len(bad)} lints")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
