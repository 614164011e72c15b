"""File-level report step: the report, with what changed since the previous run.

The change log (metasr.history) compares this run's results with the latest snapshot in
`results/history/`, gives the report its "what changed" section, and then stores this run's snapshot.
The history folder is a side output on purpose: declared outputs are deleted before a job runs,
and the history must outlive every run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from metasr import history
from metasr.io import atomic_write_text
from metasr.outputs import REPORT_INPUT as FIGURE
from metasr.report.html import read_pooled, render_report, report_context
from metasr.report.methods import not_run_sentences

log = logging.getLogger(__name__)


def write_review_report(inputs: dict, config: dict, out_html: str | Path) -> dict:
    """inputs: the rule's named inputs and params (pooled, extraction, prisma_json, prisma_svg, studies,
    data, and one entry per figure, `figure__<key>` with the report's key: `{outcome}_forest`,
    `summary_forest`, ...: metasr.outputs).
    Figures the report links rather than embeds (a large review) are linked relative to out_html's folder."""
    figures = {name[len(FIGURE):]: path for name, path in inputs.items() if name.startswith(FIGURE)}
    data_files = list(inputs["data"])
    config_file = [str(inputs["config_file"])] if inputs.get("config_file") else []
    checksums = history.file_checksums(data_files + config_file)  # the report lists them
    pooled = read_pooled(inputs["pooled"])  # read once: the report and the change log summarise them
    context = report_context(config, pooled, list(inputs["extraction"]), inputs.get("prisma_json"),
                             inputs.get("prisma_svg"), figures, inputs["studies"],
                             config["extraction"].get("narrative"), data_files + config_file,
                             report_dir=Path(out_html).parent, checksums=checksums)
    certainty = {s["id"]: s["grade"].get("certainty") for s in context["sections"]}
    # The change log compares the data files, and the config by its settings in effect (a changed
    # comment or layout is no change): history.SETTINGS_INPUT, and each outcome's settings.
    compared = {path: digest for path, digest in checksums.items() if path not in config_file}
    snapshot = history.make_snapshot(pooled, {**compared, history.SETTINGS_INPUT: history.settings_checksum(config)},
                                     certainty, config)
    history_dir = Path(out_html).parent / "history"
    changes = history.diff_snapshots(history.latest_snapshot(history_dir), snapshot)
    context["changes"] = changes
    atomic_write_text(out_html, render_report(context))
    history.save_snapshot(snapshot, history_dir)
    warn_planned_not_run(pooled)
    return changes


def warn_planned_not_run(pooled: list[dict]) -> None:
    """A warning on the console for each configured analysis that did not run (the report and its
    methods paragraph say the same), so that a reviewer who only reads the console learns of it."""
    for sentence in not_run_sentences([p for p in pooled if p.get("status") == "pooled"]):
        log.warning(sentence)
