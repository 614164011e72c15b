"""Change log between runs: snapshots, numbering, and the differences a reader is shown."""

from __future__ import annotations

import math

from metasr.history import diff_snapshots, file_checksums, latest_snapshot, list_snapshots, make_snapshot, save_snapshot


def pooled(outcome="edss", studies=("A", "B"), estimate=0.5, ci=(0.1, 0.9), pval=0.01, status="pooled"):
    """A synthetic pooled-results object (shape of results/pooled/{outcome}.json)."""
    return {"outcome": outcome, "label": outcome.upper(), "status": status, "k": len(studies), "measure": "SMD",
            "studies": [{"study_id": s} for s in studies],
            "model": {"estimate": estimate, "ci_lb": ci[0], "ci_ub": ci[1], "pval": pval}}


def test_first_run_has_no_previous_snapshot():
    after = make_snapshot([pooled()], {})
    assert diff_snapshots(None, after)["first_run"] is True


def test_added_study_and_flipped_significance_are_reported():
    before = make_snapshot([pooled(pval=0.2, ci=(-0.1, 0.9))], {"data/x.csv": "aa"})
    after = make_snapshot([pooled(studies=("A", "B", "C"), estimate=0.6, ci=(0.2, 1.0), pval=0.003)],
                          {"data/x.csv": "bb"})
    diff = diff_snapshots(before, after)
    (change,) = diff["outcomes"]
    assert change["studies_added"] == ["C"] and change["studies_removed"] == []
    assert change["flipped"] == ["significance"]
    assert (change["before"]["estimate"], change["after"]["estimate"]) == (0.5, 0.6)
    assert diff["inputs_changed"] == ["data/x.csv"]


def test_direction_flip_and_unchanged_outcomes():
    before = make_snapshot([pooled(), pooled("sdmt", estimate=0.2)], {})
    after = make_snapshot([pooled(), pooled("sdmt", estimate=-0.1)], {})
    diff = diff_snapshots(before, after)
    assert [c["outcome"] for c in diff["outcomes"]] == ["sdmt"]
    assert diff["outcomes"][0]["flipped"] == ["direction"]


def test_new_outcome_is_listed():
    diff = diff_snapshots(make_snapshot([pooled()], {}), make_snapshot([pooled(), pooled("nfl")], {}))
    assert diff["outcomes"][0]["change"] == "outcome added"


def test_snapshots_are_numbered_and_identical_results_add_no_file(tmp_path):
    first = save_snapshot(make_snapshot([pooled()], {}), tmp_path)
    again = save_snapshot(make_snapshot([pooled()], {}), tmp_path)
    assert first == again and len(list_snapshots(tmp_path)) == 1
    second = save_snapshot(make_snapshot([pooled(estimate=0.7)], {}), tmp_path)
    assert [p.name[:4] for p in list_snapshots(tmp_path)] == ["0001", "0002"]
    assert second.name.startswith("0002")
    assert latest_snapshot(tmp_path)["outcomes"]["edss"]["estimate"] == 0.7


def test_checksums_change_with_content(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x\n")
    one = file_checksums([f])
    f.write_text("y\n")
    assert file_checksums([f]) != one and len(one[str(f)]) == 64


def test_single_study_outcome_compares_its_own_estimate():
    single = {"outcome": "sdmt", "label": "SDMT", "status": "single_study", "k": 1, "measure": "RR",
              "studies": [{"study_id": "A", "yi": 0.0, "ci_lb": -0.5, "ci_ub": 0.5}], "model": None}
    summary = make_snapshot([single], {})["outcomes"]["sdmt"]
    assert summary["estimate"] == 1.0 and round(summary["ci_ub"], 6) == round(2.718281828 ** 0.5, 6)


def test_single_group_outcomes_are_compared_as_the_report_shows_them():
    from metasr import history

    # dat.pritz1997 pooled with PFT (REML; metafor): no null, so no direction or significance
    prevalence = {"outcome": "p", "measure": "PFT", "status": "pooled", "k": 14, "studies": [],
                  "transform": {"name": "ipft_hm", "args": {"ni": 12.587542713472631}},
                  "model": {"estimate": 1.0846791843165953, "ci_lb": 0.9894, "ci_ub": 1.1991, "pval": 1e-20}}
    summary = history.outcome_summary(prevalence)
    assert abs(summary["estimate"] - 0.8028998887863125) < 1e-9
    assert summary["direction"] is None and summary["significant"] is None
    correlation = {"outcome": "r", "measure": "ZCOR", "status": "pooled", "k": 16, "studies": [],
                   "model": {"estimate": 0.15, "ci_lb": 0.09, "ci_ub": 0.21, "pval": 1e-6}}
    summary = history.outcome_summary(correlation)
    assert summary["direction"] == "positive" and abs(summary["estimate"] - math.tanh(0.15)) < 1e-12


def test_generic_log_outcomes_are_compared_as_ratios():
    from metasr import history

    gen = {"outcome": "g", "measure": "GEN", "status": "pooled", "k": 3, "studies": [], "scale": "log",
           "model": {"estimate": -0.7, "ci_lb": -1.0, "ci_ub": -0.4, "pval": 0.001}}
    summary = history.outcome_summary(gen)
    assert abs(summary["estimate"] - math.exp(-0.7)) < 1e-12


def config(method="DL", **outcome) -> dict:
    """Settings in effect (defaults merged), as the report step has them."""
    return {"review": {"id": "r"}, "extraction": {"median_conversion": "luo_shi", "study_columns": ["ablat"]},
            "defaults": {"method": "REML"}, "execution": {"outcome_jobs": 25},
            "outcomes": {"edss": {"measure": "SMD", "method": method, "meta_regression": {"moderators": ["x"]},
                                  **outcome}}}


def test_a_changed_setting_is_named_with_its_values():
    before = make_snapshot([pooled()], {}, config=config("DL"))
    after = make_snapshot([pooled(estimate=0.55)], {}, config=config("PM", subgroup="alloc"))
    (change,) = diff_snapshots(before, after)["outcomes"]
    assert change["change"] == "results changed"
    assert change["settings_changed"] == [{"setting": "method", "before": "DL", "after": "PM"},
                                          {"setting": "subgroup", "before": "not set", "after": "alloc"}]


def test_a_changed_setting_is_shown_when_the_results_stay_the_same():
    moderators = {"meta_regression": {"moderators": ["x", "y"]}}
    diff = diff_snapshots(make_snapshot([pooled()], {}, config=config()),
                          make_snapshot([pooled()], {}, config=config(**moderators)))
    (change,) = diff["outcomes"]
    assert change["change"] == "settings changed, results the same" and diff["any_change"]
    assert change["settings_changed"] == [{"setting": "meta_regression.moderators", "before": "[x]",
                                           "after": "[x, y]"}]


def test_review_wide_settings_are_compared_but_not_how_the_workflow_runs():
    changed = config()
    changed["extraction"]["median_conversion"] = "hozo"
    changed["execution"]["outcome_jobs"] = 4
    changed["defaults"]["method"] = "PM"  # in effect only through the outcomes' own settings
    diff = diff_snapshots(make_snapshot([pooled()], {}, config=config()), make_snapshot([pooled()], {}, config=changed))
    assert diff["settings_changed"] == [{"setting": "extraction.median_conversion", "before": "luo_shi",
                                         "after": "hozo"}]
    assert diff["outcomes"] == []


def test_a_snapshot_from_before_settings_were_kept_names_no_setting():
    old = make_snapshot([pooled()], {})
    diff = diff_snapshots(old, make_snapshot([pooled()], {}, config=config()))
    assert diff["outcomes"] == [] and diff["settings_changed"] == [] and not diff["any_change"]
