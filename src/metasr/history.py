"""The review's change log: a snapshot of the pooled results per run, and what changed since the last.

A living review is re-run whenever new studies appear; readers want to know what the update changed.
Each report run saves a snapshot (per outcome: the studies pooled, the estimate and its CI, the
conclusion it supports, plus checksums of every input) under `results/history/`, numbered in run
order. The report compares the new snapshot with the previous one: studies added or removed,
estimates before and after, and conclusions that flipped (significance, direction, certainty).
A run whose results equal the latest snapshot adds no new file, so reruns do not clutter the history.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

from metasr import dependence, measures
from metasr.io import atomic_write_text, file_sha256

SNAPSHOT_NAME = re.compile(r"^(\d{4})-([0-9a-f]{12})\.json$")
ALPHA = 0.05


def file_checksums(paths: Iterable[str | Path]) -> dict[str, str]:
    return {str(p): file_sha256(p) for p in sorted(map(str, paths))}


def outcome_summary(pooled: dict, certainty: str | None = None, settings: dict | None = None) -> dict:
    """The part of one outcome's results that a reader compares across updates, on the scale the
    report shows (the measure's back-transformation: ratios as ratios, proportions, r), and the
    outcome's settings in effect (its config, defaults merged), flattened, when given.

    A single-study outcome is not pooled, but its one estimate is still what a reader sees, so it is
    compared like a pooled one."""
    display = measures.display_of(pooled)
    model = pooled.get("model") or {}
    if not model and pooled.get("status") == "single_study" and pooled.get("studies"):
        model = single_study_estimate(pooled)
        display = display.for_study(pooled["studies"][0])
    transformed = {key: display.back(model.get(key)) for key in ("estimate", "ci_lb", "ci_ub")}
    summary = {
        "label": pooled.get("label", pooled.get("outcome")),
        "status": pooled.get("status"),
        "k": pooled.get("k", 0),
        "k_studies": dependence.study_count(pooled),
        # a study with several effect sizes is one study: added or removed once
        "studies": sorted({s["study_id"] for s in pooled.get("studies", [])}),
        "measure": pooled.get("measure"),
        "estimate": transformed["estimate"],
        "ci_lb": transformed["ci_lb"],
        "ci_ub": transformed["ci_ub"],
        "pval": model.get("pval"),
        "significant": significant(model.get("pval")) if display.null is not None else None,
        "direction": direction(model.get("estimate"), display.null, single_group=display.record.groups == 1),
        "certainty": certainty,
    }
    if settings is not None:
        summary["settings"] = flat_settings(settings)
    return summary


def flat_settings(settings: dict, prefix: str = "") -> dict:
    """Settings as {dotted key: value} (`meta_regression.moderators`), values as plain JSON data, so
    that two runs' settings compare key by key."""
    out: dict = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            out.update(flat_settings(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = json.loads(json.dumps(value, default=str))
    return out


# Parts of the config a run's results do not depend on through these keys: the outcomes' own settings
# (compared per outcome, with the defaults merged in) and how the workflow runs.
NOT_REVIEW_SETTINGS = ("outcomes", "defaults", "execution")


def review_settings(config: dict) -> dict:
    """The review-wide settings in effect (search, screening, extraction, risk of bias...), flattened."""
    return flat_settings({key: value for key, value in config.items() if key not in NOT_REVIEW_SETTINGS})


def settings_changed(before: dict | None, after: dict | None) -> list[dict]:
    """{setting, before, after} of every flattened setting that differs, values as text; none when
    one side has no settings (a snapshot from before they were stored)."""
    if before is None or after is None:
        return []
    return [{"setting": key, "before": setting_text(before.get(key)), "after": setting_text(after.get(key))}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def setting_text(value) -> str:
    """A setting's value as the config's YAML writes it: lists joined, true/false, 'not set'."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(setting_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def single_study_estimate(pooled: dict) -> dict:
    """The one study's estimate and CI, on the analysis scale."""
    study = pooled["studies"][0]
    return {"estimate": study.get("yi"), "ci_lb": study.get("ci_lb"), "ci_ub": study.get("ci_ub")}


def significant(pval: float | None) -> bool | None:
    return None if pval is None or (isinstance(pval, float) and math.isnan(pval)) else bool(pval < ALPHA)


def direction(estimate_on_analysis_scale: float | None, null: float | None = 0.0,
              single_group: bool = False) -> str | None:
    """Direction on the analysis scale (log scale for ratios) against the measure's null; None
    for a measure without one (a prevalence has no direction). A single-group measure with a
    null (a correlation) is positive or negative."""
    if estimate_on_analysis_scale is None or null is None:
        return None
    words = ("positive", "negative", "none") if single_group else \
        ("higher in group 1", "lower in group 1", "no difference")
    if estimate_on_analysis_scale > null:
        return words[0]
    return words[1] if estimate_on_analysis_scale < null else words[2]


# The name under which a snapshot's inputs hold the review's settings (the config in effect, defaults
# merged): a changed setting (a method, an estimator) is then named among the inputs that changed.
SETTINGS_INPUT = "config.yaml (settings in effect)"


def settings_checksum(config: dict) -> str:
    """SHA-256 of the review's settings as plain data (keys sorted), whatever their layout in the file."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def make_snapshot(pooled: Iterable[dict], inputs: dict[str, str],
                  certainty: dict[str, str] | None = None, config: dict | None = None) -> dict:
    """config: the settings in effect, whose outcomes' and review-wide settings the snapshot keeps
    (the report then names a changed setting: `method: DL → PM`)."""
    certainty = certainty or {}
    outcomes_cfg = (config or {}).get("outcomes") or {}
    outcomes = {p["outcome"]: outcome_summary(p, certainty.get(p["outcome"]),
                                              outcomes_cfg.get(p["outcome"]) if config else None)
                for p in pooled}
    snapshot = {"outcomes": dict(sorted(outcomes.items())), "inputs": dict(sorted(inputs.items()))}
    if config is not None:
        snapshot["settings"] = review_settings(config)
    return snapshot


def snapshot_hash(snapshot: dict) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest()[:12]


def list_snapshots(history_dir: str | Path) -> list[Path]:
    history_dir = Path(history_dir)
    if not history_dir.is_dir():
        return []
    return sorted(p for p in history_dir.iterdir() if SNAPSHOT_NAME.match(p.name))


def latest_snapshot(history_dir: str | Path) -> dict | None:
    snapshots = list_snapshots(history_dir)
    return json.loads(snapshots[-1].read_text()) if snapshots else None


def save_snapshot(snapshot: dict, history_dir: str | Path) -> Path:
    """Store a snapshot as the next numbered file, unless it equals the latest one."""
    snapshots = list_snapshots(history_dir)
    digest = snapshot_hash(snapshot)
    latest = SNAPSHOT_NAME.match(snapshots[-1].name) if snapshots else None  # list_snapshots: names that match
    if latest and latest.group(2) == digest:
        return snapshots[-1]
    number = int(latest.group(1)) + 1 if latest else 1
    path = Path(history_dir) / f"{number:04d}-{digest}.json"
    atomic_write_text(path, json.dumps(snapshot, indent=2, sort_keys=True) + "\n")
    return path


def diff_snapshots(before: dict | None, after: dict) -> dict:
    """What changed between two runs: per outcome, and which inputs changed."""
    if before is None:
        return {"first_run": True, "outcomes": [], "inputs_changed": [], "any_change": False}
    outcomes = []
    for oid in sorted(set(before["outcomes"]) | set(after["outcomes"])):
        change = outcome_change(oid, before["outcomes"].get(oid), after["outcomes"].get(oid))
        if change:
            outcomes.append(change)
    inputs_changed = sorted(p for p in set(before["inputs"]) | set(after["inputs"])
                            if before["inputs"].get(p) != after["inputs"].get(p))
    review_changed = settings_changed(before.get("settings"), after.get("settings"))
    return {"first_run": False, "outcomes": outcomes, "inputs_changed": inputs_changed,
            "settings_changed": review_changed, "any_change": bool(outcomes or inputs_changed or review_changed)}


COMPARED = ("status", "k", "k_studies", "estimate", "ci_lb", "ci_ub", "significant", "direction", "certainty")


def outcome_change(oid: str, old: dict | None, new: dict | None) -> dict | None:
    if old == new:
        return None
    if old is None or new is None:
        present = new if new is not None else old
        assert present is not None  # old != new: one of them is there
        return {"outcome": oid, "label": present["label"],
                "change": "outcome added" if old is None else "outcome removed", "before": old, "after": new,
                "studies_added": [], "studies_removed": [], "flipped": [], "settings_changed": []}
    settings = settings_changed(old.get("settings"), new.get("settings"))
    same_results = all(_same(old.get(k), new.get(k)) for k in COMPARED) and old["studies"] == new["studies"]
    if same_results and not settings:
        return None
    flipped = [name for name in ("significance", "direction", "certainty")
               if _flip(old, new, {"significance": "significant"}.get(name, name))]
    return {
        "outcome": oid, "label": new["label"], "change": "settings changed, results the same" if same_results
        else "results changed",
        "studies_added": sorted(set(new["studies"]) - set(old["studies"])),
        "studies_removed": sorted(set(old["studies"]) - set(new["studies"])),
        "before": old, "after": new, "flipped": flipped, "settings_changed": settings,
    }


def _flip(old: dict, new: dict, key: str) -> bool:
    return old.get(key) is not None and new.get(key) is not None and old[key] != new[key]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return a == b
