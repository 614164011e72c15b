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
