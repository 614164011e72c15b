"""Summary forest: every configured outcome listed (never dropped), published estimates beside ours."""

import json

from metasr.figures import summary
from metasr.figures.style import save_figure


def test_all_outcomes_listed_with_status(bcg_pooled, normand_pooled, review_config, tmp_path):
    normand_pooled["outcome"] = "edss"
    bcg_pooled["outcome"] = "dmt_response"
    single = {"outcome": "brain_volume", "status": "single_study", "k": 1, "measure": "SMD",
              "status_message": "k = 1: not pooled"}
    rows = summary.summary_rows([normand_pooled, bcg_pooled, single], review_config)
    assert [r["id"] for r in rows][: len(review_config["outcomes"])] == list(review_config["outcomes"])
    by_id = {r["id"]: r for r in rows}
    assert "est" in by_id["edss"] and by_id["brain_volume"]["message"] == "k = 1: not pooled"
    assert by_id["relapse_rate"]["message"] == "no study-level data yet"
    assert by_id["relapse_rate"]["ratio"]  # IRR from config even without a result

    paths = []
    for i, result in enumerate([normand_pooled, bcg_pooled, single]):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(result))
    summary.plot_summary_file(paths, review_config, tmp_path / "s.svg", tmp_path / "s.png")
    text = (tmp_path / "s.svg").read_text()
    assert "0.49 [0.34, 0.70]" in text  # our RR (back-transformed)
    assert "0.97 [0.89, 1.06]" in text  # published RR for dmt_response, from config
    assert "0.77 [0.34, 1.21]" in text and "no study-level data yet" in text
    assert "Ratio measures (IRL-positive / IRL-negative)" in text
    assert text.count("k = 1: not pooled") == 1


def test_no_results_at_all_still_lists_outcomes(review_config, tmp_path):
    save_figure(summary.plot_summary([], review_config), tmp_path / "s.svg")
    text = (tmp_path / "s.svg").read_text()
    assert text.count("no study-level data yet") == len(review_config["outcomes"])


def test_single_group_outcomes_get_their_panels(review_config, tmp_path):
    """A proportion (PR), a log incidence rate (IRLN), a mean (MN) and a correlation (ZCOR), each
    drawn in its own panel in shown units: their axes (ShownAxis) have no transform of their own."""
    import numpy as np
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    data = {"PR": {"xi": [0, 20, 5, 7], "ni": [20, 20, 20, 30]},
            "IRLN": {"xi": [3, 12, 40, 2], "ti": [300.0, 150.0, 90.0, 400.0]},
            "MN": {"mi": [12.0, 15.5, 9.8, 11.1], "sdi": [3.0, 4.1, 2.2, 3.5], "ni": [30, 25, 40, 22]},
            "ZCOR": {"ri": [0.2, 0.35, 0.1, 0.5], "ni": [50, 80, 35, 60]}}  # SYNTHETIC
    config = {**review_config, "outcomes": {}}
    paths = []
    for measure, columns in data.items():
        table = pd.DataFrame({**columns, "study_id": [f"S{i}" for i in range(4)]})
        outcome = f"o_{measure.lower()}"
        config["outcomes"][outcome] = {"label": measure, "measure": measure}
        paths.append(tmp_path / f"{outcome}.json")
        paths[-1].write_text(json.dumps(pool_outcome(table, measure, "REML", outcome=outcome, label=measure)))
    summary.plot_summary_file(paths, config, tmp_path / "s.svg", tmp_path / "s.png")
    assert np.all([measure in (tmp_path / "s.svg").read_text() for measure in data])


def test_the_key_names_published_estimates_only_when_one_is_drawn(bcg_pooled, review_config, tmp_path):
    config = {**review_config, "outcomes": {"dmt_response": {**review_config["outcomes"]["dmt_response"]}}}
    config["outcomes"]["dmt_response"].pop("published", None)
    bcg_pooled["outcome"] = "dmt_response"
    save_figure(summary.plot_summary([{**bcg_pooled, "published": None}], config), tmp_path / "s.svg")
    assert "Published estimate" not in (tmp_path / "s.svg").read_text()
    save_figure(summary.plot_summary([bcg_pooled], review_config), tmp_path / "p.svg")
    assert "Published estimate" in (tmp_path / "p.svg").read_text()


def test_a_paired_outcome_s_panel_compares_its_occasions_not_the_groups():
    from metasr.figures.summary import heading_lines

    groups = {"experimental": "Exercise", "control": "Usual care"}
    assert heading_lines("difference", groups, 9, [{"measure": "SMD"}]) == \
        ["Difference measures (Exercise minus Usual care)"]
    assert heading_lines("difference", groups, 9, [{"measure": "SMCC"}]) == \
        ["Difference measures (occasion 1 minus occasion 2)"]
    assert heading_lines("ratio", groups, 20, [{"measure": "ROMC"}, {"measure": "RR"}]) == \
        ["Ratio measures (Exercise / Usual care; paired outcomes: occasion 1 / occasion 2)"]


def test_a_correlations_panel_names_the_coefficients_that_are_no_r():
    from metasr.figures.summary import heading_lines

    assert heading_lines("correlation", {}, 9, [{"measure": "ZCOR"}, {"measure": "COR"}]) == ["Correlations (r)"]
    assert heading_lines("correlation", {}, 12, [{"measure": "ZCOR"}, {"measure": "PHI"}, {"measure": "YUQ"},
                                                 {"measure": "PCOR"}]) == \
        ["Correlations and associations (r, phi coefficient, Yule's Q, partial correlation)"]


def test_a_bound_keeps_its_side_of_the_null_beside_larger_numbers(bcg_pooled, normand_pooled, review_config,
                                                                  tmp_path):
    # metafor 3.8-1: rma(measure = "RD", ..., data = dat.bcg, method = "DL"): -0.0071 [-0.0101, -0.0040],
    # in the differences panel beside normand's MD (two decimals): not "−0.01 [−0.01, 0.00]"
    rd = {**bcg_pooled, "outcome": "dmt_response", "measure": "RD", "transformed": None,
          "model": {**bcg_pooled["model"], "estimate": -0.0070552635660954465, "ci_lb": -0.010119452065969503,
                    "ci_ub": -0.00399107506622139}}
    normand_pooled["outcome"] = "edss"
    config = {**review_config, "outcomes": {o: {**review_config["outcomes"][o], "measure": m}
                                            for o, m in (("edss", "MD"), ("dmt_response", "RD"))}}
    config["outcomes"]["dmt_response"].pop("published", None)
    paths = []
    for i, result in enumerate([normand_pooled, rd]):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(result))
    summary.plot_summary_file(paths, config, tmp_path / "s.svg", tmp_path / "s.png")
    text = (tmp_path / "s.svg").read_text()
    assert "−0.007 [−0.010, −0.004]" in text and "0.00]" not in text


def test_outcomes_in_different_units_never_share_an_axis(review_config, tmp_path):
    outcomes = {"edss": ("SMD", "EDSS points"), "sdmt": ("SMD", "SDMT points"), "rate": ("GEN", "EDSS points per year"),
                "rd": ("RD", None), "peg": ("MD", "s"), "walk": ("MD", "s"), "score": ("MD", "points"),
                "tb": ("RR", None)}
    config = {**review_config, "outcomes": {oid: {"label": oid, "measure": m, **({"unit": u} if u else {})}
                                            for oid, (m, u) in outcomes.items()}}
    panels = [(kind, name, [r["id"] for r in rows])
              for kind, name, rows in summary.summary_panels(summary.summary_rows([], config))]
    assert panels == [("difference", "standardised", ["edss", "sdmt"]),
                      ("difference", "effect in EDSS points per year", ["rate"]),
                      ("difference", "risk difference", ["rd"]),
                      ("difference", "mean difference in s", ["peg", "walk"]),
                      ("difference", "mean difference in points", ["score"]), ("ratio", None, ["tb"])]
    save_figure(summary.plot_summary([], config), tmp_path / "s.svg")
    text = (tmp_path / "s.svg").read_text()
    assert "Difference measures, effect in EDSS points per year (IRL-positive minus IRL-negative)" in text


def test_one_panel_of_a_kind_keeps_its_plain_heading(review_config):
    rows = summary.summary_rows([], {**review_config, "outcomes": {"a": {"measure": "SMD", "unit": "points"}}})
    assert [(kind, name) for kind, name, _ in summary.summary_panels(rows)] == [("difference", None)]
