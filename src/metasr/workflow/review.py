"""Everything the Snakefile needs to know before it builds the DAG, read once at parse time.

Snakemake has no early cutoff: a job that reruns reruns everything downstream. So the per-outcome
jobs must not depend on review-wide files. This module reads those files at parse time instead and
hands each outcome job only what concerns it (its sheet as a file input, its config and its studies'
rows as params), so that a change to one outcome or one study reruns only the jobs it affects.
It also validates the config and every sheet here, so a bad input stops the run before any job
starts: all problems at once, nothing partial.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from metasr.config import has_search, outcome_sheet, prepare_config, read_config
from metasr.errors import InputError, Problem, raise_if_errors
from metasr.folder import ReviewFolder, find_review, review_of_config
from metasr.io import file_sha256


@dataclass
class Review:
    config: dict
    root: Path
    studies_by_outcome: dict[str, list[dict]] = field(default_factory=dict)
    usable_by_outcome: dict[str, int] = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    # SHA-256 of the files the check read (absolute path -> hex), kept with a cached check
    # (workflow.review_cache) so that `content` need not read them again.
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def outcomes(self) -> list[str]:
        return sorted(self.config["outcomes"])

    @property
    def sources(self) -> list[str]:
        return sorted(self.config["search"]["sources"]) if self.has_search else []

    @property
    def has_search(self) -> bool:
        """Whether the review runs its own search and screening stages."""
        return has_search(self.config)

    @property
    def has_prisma(self) -> bool:
        """Whether the review has PRISMA flow counts (counted from its search, or declared)."""
        return self.has_search or bool(self.config.get("prisma"))

    @property
    def outcomes_with_data(self) -> list[str]:
        return [o for o in self.outcomes if self.usable_by_outcome.get(o, 0) > 0]

    def sheet(self, outcome_id: str) -> str:
        return outcome_sheet(self.config, outcome_id)

    def content(self, paths: Iterable[str]) -> str:
        """A short checksum of the contents of input files (paths relative to the folder), for a
        rule's params. Snakemake reruns a job when an input is newer than its outputs, and skips
        the rerun when the newer file's checksum is the same; an input whose content changed but
        whose modification time is older (a colleague's file unpacked with its time, `cp -p`,
        `rsync -t`) it misses. A changed param reruns the job whatever the times say."""
        digest = hashlib.sha256()
        for path in sorted(set(map(str, paths))):
            full = os.path.abspath(self.root / path)
            try:
                known = self.digests.get(full) or file_sha256(full)
            except OSError:
                known = "unreadable"  # Snakemake itself reports a missing input
            digest.update(f"{path}\0{known}\n".encode())
        return digest.hexdigest()[:16]


def snakemake_review(configfiles: list, config: dict, is_module: bool, workdir_given: bool,
                     cwd: Path | None = None) -> tuple[ReviewFolder, dict]:
    """Which review a Snakemake invocation runs, and its config as the reviewer wrote it.

    - `--configfile FOLDER/config.yaml`: that file's review (its folder; the folder above `config/`).
    - the workflow used as a module (`module ...: config: ...`): the config handed over, with
      paths relative to the host workflow's working directory.
    - otherwise the review in the working directory (`--directory FOLDER`, or the repository root
      for the default review): its `config.yaml` or `config/config.yaml`.
    The file is read again by metasr's own loader (plain data only), so Snakemake's parsed dict is
    only compared with it: `--config` overrides would be applied by Snakemake but not validated.
    """
    cwd = Path(cwd or Path.cwd()).absolute()
    if is_module and not configfiles:
        return ReviewFolder(root=cwd, config_file=cwd / "config.yaml"), dict(config)
    if len(configfiles) > 1:
        raise InputError(Problem(message="more than one --configfile given", rule="one-review",
                                 value=", ".join(map(str, configfiles)),
                                 hint="a run takes one review: give its config.yaml (or run `metasr run FOLDER`)"))
    folder = review_of_config(configfiles[0]) if configfiles else find_review(cwd)
    raw = read_config(folder.config_file, shown=folder.shown_config)
    if configfiles and workdir_given and folder.root != cwd:
        raise InputError(Problem(message=f"--directory {cwd} is not the folder of the review {folder.config_file}",
                                 rule="one-review", hint="give either --directory FOLDER or --configfile "
                                                         "FOLDER/config.yaml (or run `metasr run FOLDER`)"))
    if config and dict(config) != raw:
        raise InputError(Problem(message="--config values are not supported", file=folder.shown_config,
                                 rule="one-review", hint="write the setting into the review's config.yaml "
                                                         "(a run always reflects its config file)"))
    return folder, raw


def review_input_problems(config: dict, root: Path, converted: dict | None = None,
                          search_problems: bool = True) -> list[Problem]:
    """The extraction sheets' problems (metasr.extraction.validate), with their record ids checked
    against the search's records, and (`search_problems`) the exports' and decision files' own
    (metasr.workflow.precheck): checked together, a decision for an unknown record explains a
    sheet's error. Without `search_problems`, record ids are checked only where the search reads."""
    from metasr.extraction.validate import record_id_problems, validate_review

    record_ids: list = []
    problems = validate_review(config, root, converted, record_ids)
    if has_search(config):
        from metasr.workflow.precheck import check_search_inputs

        record_counts: dict[str, int] = {}
        search = check_search_inputs(config, root, record_counts)
        if search_problems:
            problems += search
        if search_problems or not any(p.severity == "error" for p in search):
            problems += record_id_problems(record_ids, config["search"]["sources"], record_counts)
    return problems


def load_review(raw_config: dict, root: str | Path, source: str = "config/config.yaml") -> Review:
    """Validate config and sheets; collect per-outcome study rows and usable-study counts."""
    from metasr.extraction.converting import usable_sheet_rows
    from metasr.extraction.sheets import is_blank, read_sheet, studies_in_outcome
    root = Path(root)
    config = prepare_config(raw_config, source, root)
    # Validation converts the rows as the outcome jobs will; which studies have usable effect
    # sizes (the forest plots to draw, dependent rows) is read from that, not converted again.
    converted: dict[str, list] = {}
    warnings = raise_if_errors(review_input_problems(config, root, converted))
    # csv rather than pandas here: every snakemake invocation pays for what parse time imports.
    studies = read_sheet(root / config["extraction"]["studies"])
    rows = {str(r["study_id"]): {k: ("" if r.get(k) is None else str(r.get(k))) for k in studies.header}
            for r in studies.rows if not is_blank(r)}
    review = Review(config=config, root=root, warnings=warnings)
    problems = []
    for oid in review.outcomes:
        sheet = root / review.sheet(oid)
        if not sheet.is_file():
            raise InputError(f"outcome '{oid}' is configured but its sheet {review.sheet(oid)} does not exist",
                             file=source, key=f"outcomes.{oid}",
                             hint="create the sheet (a header line is enough) or remove the outcome")
        ids = sorted(set(studies_in_outcome(sheet)))
        review.studies_by_outcome[oid] = [rows[i] for i in ids if i in rows]
        usable = usable_sheet_rows(converted.get(oid, []))
        review.usable_by_outcome[oid] = len(usable)
        problems += dependence_problems(oid, config["outcomes"][oid], review.sheet(oid), usable, source)
    raise_if_errors(problems)
    return review


def dependence_problems(outcome_id: str, outcome_cfg: dict, sheet: str, usable: dict[str, list[int]],
                        source: str) -> list[Problem]:
    """A study with several usable rows in an outcome that does not say how they are handled, or an
    assumed rho too negative for its largest study, stops the run here, before any job starts
    (metasr.dependence)."""
    from metasr import dependence

    if dependence.settings(outcome_cfg) is not None:
        return dependence.rho_problems(outcome_id, outcome_cfg, sheet, usable, source)
    return dependence.undeclared_problems(outcome_id, sheet, usable, source)
