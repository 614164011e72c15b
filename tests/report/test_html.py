"""HTML report: sections, escaping, links, checksums, embedded figures, atomic deterministic write."""

import copy
import hashlib
import json
import math
import re
from pathlib import Path

import pytest

from metasr.outputs import FigureContext
from metasr.report import html
from metasr.workflow.outcomes import draw_outcome_figure

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pooled"
REPO = Path(__file__).resolve().parents[2]


def write_csv(path, header, rows):
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_report(tmp_path, review_config, pooled_paths, extraction=(), figures=None, **kw):
    out = tmp_path / "report.html"
    html.write_report(review_config, pooled_paths, list(extraction), kw.get("prisma_json"),
                      kw.get("prisma_svg"), figures or {}, kw.get("studies_csv"),
                      kw.get("narrative_csv"), kw.get("inputs", []), out)
    return out.read_text()


def test_sections_figures_and_numbers(tmp_path, review_config):
    forest = tmp_path / "bcg_forest.svg"
    draw_outcome_figure("forest", FIXTURES / "bcg_rr.json", FigureContext(review=review_config["review"]), forest,
                        tmp_path / "bcg_forest.png")
    text = make_report(tmp_path, review_config,
                       [FIXTURES / "bcg_rr.json", FIXTURES / "normand_smd.json"],
                       figures={"bcg_tb_forest": forest, "los_forest": None})
    assert 'id="outcome-bcg_tb"' in text and 'id="outcome-los"' in text
    figure = text.split('<figure data-figure="bcg_tb_forest">')[1].split("</figure>")[0]
    assert figure.startswith('<svg ') and 'aria-labelledby="fig-bcg_tb_forest-title"' in figure
    assert "<text" in figure and 'id="fig-bcg_tb_forest-' in figure  # searchable text, own ids
    assert "<title id=\"fig-bcg_tb_forest-title\">Forest plot: Tuberculosis" in figure
    # described by its caption, which gives the numbers it shows
    assert 'aria-describedby="fig-bcg_tb_forest-caption"' in figure.split(">")[0]
    assert '<figcaption id="fig-bcg_tb_forest-caption">' in figure
    assert "13 studies; pooled RR 0.49 [0.34, 0.70]" in text  # the numbers beside the figure
    assert "0.49 [0.34, 0.70]" in text  # pooled RR, back-transformed from metafor's log RR
    assert "Q = 152.23, df = 12" in text
    # k = 13 >= 10: small-study tests are reported, one Egger result (regtest, model rma: P = 0.422,
    # not the classic lm form's 0.189); k = 9: said why not.
    small = text.split('data-table="bcg_tb_small_study"')[1].split("</table>")[0]
    assert "rma model, predictor sei: z = \u22120.80, P = 0.422" in small and "0.189" not in small
    assert "Small-study methods were not run: k = 9 &lt; 10" in text
    assert "http://" not in text.split("<body>")[0]
    # one inline script and the results files' rows as JSON; nothing loaded from elsewhere
    scripts = re.findall(r"<script([^>]*)>", text)
    assert scripts.count("") == 1 and all(s in ("", ' type="application/json" id="data-los-studies"')
                                          for s in scripts)
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=\"https?:", text)


def test_data_text_is_escaped_and_only_http_links_kept(tmp_path, review_config):
    pooled = json.loads((FIXTURES / "normand_smd.json").read_text())
    pooled["label"] = "<script>alert('x')</script> & more"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(pooled))
    extraction = write_csv(tmp_path / "los.csv",
                           ["study_id", "label", "year", "usable", "not_usable_reason", "yi", "vi",
                            "source_url", "reported_form"],
                           [["S1", "<b>bold</b>", "2001", "True", "", "0.1", "0.04",
                             "javascript:alert(1) ; https://example.org/a?x=1&y=2", "mean_sd"],
                            ["S2", "Two", "2002", "False", "p only as a bound", "", "",
                             "https://example.org/b", "p_value"]])
    text = make_report(tmp_path, review_config, [path], [extraction])
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert 'href="javascript' not in text
    assert 'href="https://example.org/a?x=1&amp;y=2"' in text
    # the not-usable row reaches the narrative synthesis table
    narrative = text.split('id="narrative"')[1]
    assert "p only as a bound" in narrative


def test_checksums_software_and_narrative(tmp_path, review_config):
    inputs = [REPO / "config" / "config.yaml", FIXTURES / "bcg_rr.json"]
    narrative = write_csv(tmp_path / "narrative.csv",
                          ["study_id", "outcome", "comparison", "n1", "n2", "finding", "direction",
                           "p_value", "source_url"],
                          [["Synth2020", "nfl", ">=1 vs 0", "10", "12", "SYNTHETIC higher NfL",
                            "higher", "0.03", "https://example.org/n"]])
    text = make_report(tmp_path, review_config, [FIXTURES / "bcg_rr.json"],
                       inputs=inputs, narrative_csv=narrative)
    for path in inputs:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in text
    assert "SYNTHETIC higher NfL" in text
    assert re.search(r'<th scope="row">numpy</th><td>\d', text) and "Analyses were run with" in text


def test_grade_and_published_comparison(tmp_path, review_config):
    pooled = json.loads((FIXTURES / "normand_smd.json").read_text())
    pooled["outcome"] = "edss"
    path = tmp_path / "edss.json"
    path.write_text(json.dumps(pooled))
    config = json.loads(json.dumps(review_config))
    config["outcomes"]["edss"]["grade"] = {"indirectness": -1, "reason": "SYNTHETIC: mixed thresholds"}
    text = make_report(tmp_path, config, [path])
    assert "0.77 [0.34, 1.21]" in text  # the published estimate from config
    assert "outside the published CI" in text  # -0.54 is not in [0.34, 1.21]
    assert "SYNTHETIC: mixed thresholds" in text and "-1*" in text


def test_no_data_outcome_is_listed_not_dropped(tmp_path, review_config):
    path = tmp_path / "relapse_rate.json"
    path.write_text(json.dumps({"outcome": "relapse_rate", "label": "Relapse rate",
                                "measure": "IRR", "status": "no_data",
                                "status_message": "no study-level data yet", "k": 0,
                                "studies": [], "model": None, "small_study": {"skipped": "k = 0"},
                                "sensitivity": None, "published": None}))
    text = make_report(tmp_path, review_config, [path])
    section = text.split('id="outcome-relapse_rate"')[1].split("</section>")[0]
    assert "no study-level data yet" in section
    assert "1.10 [0.73, 1.65]" in text  # published IRR still compared


def test_checksums_the_caller_has_are_not_computed_again(review_config, monkeypatch):
    inputs = [REPO / "config" / "config.yaml", FIXTURES / "bcg_rr.json"]
    args = (review_config, html.read_pooled([FIXTURES / "bcg_rr.json"]), [], None, None, {}, None, None, inputs)
    computed = html.report_context(*args)["checksums"]
    known = {row["path"]: row["sha256"] for row in computed}
    monkeypatch.setattr(html, "file_sha256", lambda path: pytest.fail(f"{path} read again"))
    assert html.report_context(*args, checksums=known)["checksums"] == computed
    assert [row["sha256"] for row in computed] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(
        inputs, key=str)]


def test_the_report_leaves_the_pooled_results_as_read(review_config):
    # the change log summarises the same results after the report: it must see them as read
    pooled = html.read_pooled([FIXTURES / "bcg_rr.json", FIXTURES / "normand_smd.json"])
    as_read = copy.deepcopy(pooled)
    config = {**review_config, "outcomes": {**(review_config.get("outcomes") or {}), "bcg_tb": {"scale": "log"}}}
    context = html.report_context(config, pooled, [], None, None, {}, None, None, [])
    html.render_report(context)
    assert pooled == as_read
    on_scale = html._on_configured_scale(pooled[0], config["outcomes"])
    assert on_scale["scale"] == "log" and "scale" not in pooled[0]


def test_rerun_is_byte_identical(tmp_path, review_config):
    a = make_report(tmp_path, review_config, [FIXTURES / "bcg_rr.json"])
    b = make_report(tmp_path, review_config, [FIXTURES / "bcg_rr.json"])
    assert a == b


def test_changes_section_when_given(review_config):
    context = html.report_context(review_config, html.read_pooled([FIXTURES / "bcg_rr.json"]), [], None, None,
                                  {}, None, None, [])
    assert 'id="changes"' not in html.render_report(context)
    context["changes"] = {"first_run": False, "any_change": True, "inputs_changed": ["a.csv"],
                          "outcomes": [{"outcome": "bcg_tb", "label": "TB", "change": "results changed",
                                        "before": {"estimate": 0.5, "ci_lb": 0.3, "ci_ub": 0.8, "k": 12},
                                        "after": {"estimate": 0.49, "ci_lb": 0.34, "ci_ub": 0.7, "k": 13},
                                        "studies_added": ["<new>"], "studies_removed": [],
                                        "flipped": []}]}
    text = html.render_report(context)
    assert 'id="changes"' in text and "0.50 [0.30, 0.80] (k = 12)" in text
    assert "&lt;new&gt;" in text and "Inputs changed: a.csv" in text


def test_studies_table_shows_effects_and_group_data_as_analysed():
    extraction = [{"study_id": "A", "usable": "false", "not_usable_reason": "direction only"},
                  {"study_id": "A", "usable": "true", "conversion": "Luo 2018 mean"},
                  {"study_id": "B", "usable": "true"}]
    pooled = [{"study_id": "A", "yi": 0.19, "ci_lb": -0.42, "ci_ub": 0.80, "m1i": 1.8156,
               "sd1i": 0.8966, "n1i": 13, "m2i": 1.6269, "sd2i": 0.9931, "n2i": 53},  # SYNTHETIC
              {"study_id": "B", "yi": -0.5, "ci_lb": -0.9, "ci_ub": -0.1, "n1i": 10, "n2i": 12}]
    rows = html.studies_table(extraction, "SMD", pooled)
    assert [r["effect"] for r in rows] == ["", "0.19 [−0.42, 0.80]", "−0.50 [−0.90, −0.10]"]
    assert rows[1]["arms"] == "1.82 (0.90), n = 13 vs 1.63 (0.99), n = 53"
    assert rows[2]["arms"] == "n = 10 vs n = 12"
    ratio = html.studies_table([{"study_id": "C", "usable": "true"}], "RR",
                               [{"study_id": "C", "yi": 0.0, "ci_lb": -0.1, "ci_ub": 0.1,
                                 "ai": 4, "n1i": 123, "ci": 11, "n2i": 139}])
    assert ratio[0]["effect"] == "1.00 [0.90, 1.11]" and ratio[0]["arms"] == "4/123 vs 11/139"


def test_studies_table_gives_each_used_row_its_weight_as_the_forest_does(tmp_path, review_config):
    """The forest plot's per-study weights appeared nowhere in the report's text."""
    rows = html.studies_table([{"study_id": "A", "usable": "false"}, {"study_id": "A", "usable": "true"}],
                              "SMD", [{"study_id": "A", "yi": 0.2, "ci_lb": 0.0, "ci_ub": 0.4, "weight": 12.345}])
    assert [(r["weight"], r["weight_text"]) for r in rows] == [(None, ""), (12.345, "12.3%")]
    pooled = json.loads((FIXTURES / "bcg_rr.json").read_text())
    extraction = tmp_path / "bcg_tb.csv"
    write_csv(extraction, ["study_id", "label", "usable"],
              [[s["study_id"], s["label"], "true"] for s in pooled["studies"]])
    text = make_report(tmp_path, review_config, [FIXTURES / "bcg_rr.json"], extraction=[extraction])
    table = text.split('data-table="bcg_tb_studies"')[1].split("</table>")[0]
    assert '<th scope="col">Weight</th>' in table
    first = pooled["studies"][0]
    assert f'data-sort="{first["weight"]:.12g}">{first["weight"]:.1f}%</td>' in table


def test_subgroups_reported(tmp_path, review_config):
    text = make_report(tmp_path, review_config, [FIXTURES / "bcg_rr.json"])
    assert "Subgroups by alloc" in text
    assert "Test for subgroup differences: Q = 1.86, df = 2, P = 0.394" in text
    assert "0.38 [0.22, 0.65]" in text  # exp(-0.971) random-allocation subgroup, from metafor


def bcg_pooled(small_study=None, meta_regression=None, k: int | None = None) -> dict:
    """The BCG trials (metafor's dat.bcg; the first k of them) pooled by metasr with the given
    analysis settings."""
    import pandas as pd

    from metasr.analysis_settings import meta_regression_settings, small_study_settings
    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(FIXTURES.parent / "metafor" / "inputs" / "bcg.csv").head(k)
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"],
                          "year": bcg["year"], "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"],
                          "ablat": bcg["ablat"].astype(str), "alloc": bcg["alloc"]})
    return pool_outcome(table, "RR", "REML", "z", outcome="bcg", label="BCG",
                        small_study=small_study_settings({"small_study": small_study or {}}),
                        meta_regression=meta_regression_settings({"meta_regression": meta_regression}))


def test_small_study_rows_give_each_method_its_result_or_why_not():
    section = html.small_study_section(bcg_pooled({"methods": ["egger", "trimfill", "selmodel"]}))
    rows = {r["method"]: r for r in section["rows"]}
    assert list(rows) == ["Egger's regression test", "Begg's rank correlation", "Trim and fill", "PET-PEESE",
                          "Selection model"]
    assert rows["Begg's rank correlation"]["test"] == "not run: not requested (small_study.methods)"
    assert rows["Selection model"]["test"].startswith("not run: too few studies per interval")  # all p > 0.025
    assert rows["Egger's regression test"]["estimate"] == "limit estimate 0.60 [0.33, 1.10]"  # exp(-0.5104)
    assert rows["Trim and fill"]["estimate"] == "filled 0.52 [0.37, 0.74]"  # exp(-0.6571), metafor trimfill
    assert all(r["caveat"] for r in section["rows"]) and section["model"] == "REML, z test"


def test_egger_low_power_caveat_follows_k_and_the_configured_minimum():
    def egger_caveat(pooled):
        return next(r["caveat"] for r in html.small_study_section(pooled)["rows"] if r["method"].startswith("Egger"))

    assert "low power" not in egger_caveat(bcg_pooled())  # k = 13 reaches the Handbook's 10
    assert egger_caveat(bcg_pooled()).startswith("asymmetry has causes other than publication bias")
    few = egger_caveat(bcg_pooled({"min_k": 6}, k=7))
    assert few.startswith("low power: k = 7, fewer than the 10 studies of Cochrane Handbook 13.3.5.4 "
                          "(small_study.min_k = 6); asymmetry has causes")
    rows = {r["method"]: r["caveat"] for r in html.small_study_section(bcg_pooled({"min_k": 6}, k=7))["rows"]}
    assert rows["Begg's rank correlation"].startswith("low power: k = 7") and "low power" not in rows["Trim and fill"]


def test_meta_regression_section_shows_coefficients_or_the_reason():
    section = html.meta_regression_section(bcg_pooled(meta_regression={"moderators": ["ablat"]}))
    assert section["run"] and [r["name"] for r in section["rows"]] == ["intrcpt", "ablat"]
    assert section["rows"][1]["estimate"] == "\u22120.0291" and section["rows"][1]["ratio"] == "0.97 [0.96, 0.99]"
    assert ("Test of moderators", "QM = 16.36, df = 1, P < 0.0001") in section["summary"]
    assert ("R² (heterogeneity accounted for)", "75.6%") in section["summary"]
    common = bcg_pooled(meta_regression={"moderators": ["ablat"]})
    common["meta_regression"].update(method="FE", R2=77.04971)
    assert ("R² (adjusted, of the weighted least-squares regression)", "77.0%") in \
        html.meta_regression_section(common)["summary"]
    # a common-effect model has no tau² (metafor's rma(..., method = "FE") prints none): not "0.000"
    assert ("Residual tau²", "none (a common-effect model)") in html.meta_regression_section(common)["summary"]
    assert not any(name.startswith("Residual tau² [") for name, _ in html.meta_regression_section(common)["summary"])
    assert any(name == "Residual tau² [95% CI]" for name, _ in section["summary"])
    skipped = html.meta_regression_section(bcg_pooled(meta_regression={"moderators": ["ablat", "alloc"]}))
    assert not skipped["run"] and "needs at least 30" in skipped["message"]
    assert html.meta_regression_section(bcg_pooled()) is None


def test_a_left_out_effect_size_is_named_under_its_study():
    pooled = bcg_pooled(meta_regression={"moderators": ["ablat"]})
    pooled["meta_regression"]["omitted"] = [
        {"study_id": "S1", "effect_size": "self-report, es2", "reason": "no value of ablat"},
        {"study_id": "S2", "reason": "no value of ablat"}]
    assert html.meta_regression_section(pooled)["omitted"] == [
        "S1, self-report, es2 (no value of ablat)", "S2 (no value of ablat)"]


def test_templates_read_dicts_as_jinja_does():
    import jinja2

    plain = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
    ours = html.environment()
    context = {"row": {"label": "<b>A</b>", "items": "an items key", "get": 1, "n": 0, "nested": {"x": [1, 2]}},
               "rows": [{"a": 1}, {"a": None}]}
    for template in ("{{ row.label }}", "{{ row['label'] }}", "{{ row.items() | list | length }}",
                     "{{ row.get('n') }}", "{{ row.nested.x[1] }}", "{% for r in rows %}{{ r.a }};{% endfor %}",
                     "{{ row.missing is defined }}", "{{ row.keys() | list | length }}"):
        assert ours.from_string(template).render(context) == plain.from_string(template).render(context), template
    with pytest.raises(jinja2.UndefinedError):
        ours.from_string("{{ row.missing }}").render(context)


def test_a_subgroup_analysis_that_did_not_run_says_why():
    pooled = bcg_pooled()
    assert html.subgroup_section(pooled) is None  # the outcome asked for none
    pooled["subgroups"] = {"variable": "alloc", "skipped": "every pooled study has the same 'alloc' (random): "
                                                          "no subgroups to compare"}
    assert html.subgroup_section(pooled) == {
        "variable": "alloc", "run": False,
        "message": "Subgroup analysis not run: every pooled study has the same 'alloc' (random): no subgroups "
                   "to compare."}


def test_the_cumulative_caption_gives_its_order_or_why_it_did_not_run():
    from metasr import outputs

    cumulative = outputs.OUTCOME_FIGURE["cumulative"]
    pooled = bcg_pooled()
    assert html.figure_caption(cumulative, pooled) == "Pooled estimate as studies accrue by year."
    reason = "'year' is missing for 13 of 13 studies (S00, S01, S02, S03, S04 and 8 more)"
    pooled["sensitivity"]["cumulative"] = {"order_by": "year", "skipped": reason}
    assert html.figure_caption(cumulative, pooled) == f"Cumulative meta-analysis not run: {reason}."
    # the forest's caption is the outcome's own (metasr.figures.shown), the bubble plot's the registry's
    assert html.figure_caption(outputs.OUTCOME_FIGURE["forest"], pooled) == \
        "Studies, weights, pooled estimate (diamond) and 95% prediction interval."
    assert html.figure_caption(outputs.OUTCOME_FIGURE["bubble"], pooled) == outputs.OUTCOME_FIGURE["bubble"].caption


def correlation_pooled() -> dict:
    """SYNTHETIC: an outcome of correlations pooled as Fisher's z, with its cumulative analysis."""
    z = [0.25, 0.20, 0.30]
    return {"outcome": "adherence", "label": "Adherence", "measure": "ZCOR", "status": "pooled", "k": 3,
            "method": "REML", "model": {"estimate": 0.24, "ci_lb": 0.20, "ci_ub": 0.27, "I2": 10.0},
            "studies": [{"study_id": f"S{i}", "label": f"S{i}", "yi": yi, "vi": 0.01, "ri": math.tanh(yi),
                         "ni": 100} for i, yi in enumerate(z)],
            "sensitivity": {"cumulative": {"estimate": [0.25, 0.22, 0.24], "ci_lb": [0.1, 0.1, 0.2],
                                           "ci_ub": [0.4, 0.3, 0.27], "study_index": [0, 1, 2]}}}


def test_a_single_group_review_is_not_framed_as_a_comparison(review_config):
    config = {**review_config, "outcomes": {"adherence": {"measure": "ZCOR"}}}
    text = html.render_report(html.report_context(config, [correlation_pooled()], [], None, None, {},
                                                  None, None, []))
    for framing in ("Comparison:", "compared with", "Risk with", "group 1", "Anticipated absolute effects"):
        assert framing not in text, framing
    sof = text.split('data-table="summary_of_findings"')[1].split("</table>")[0]
    assert "Pooled estimate (95% CI)" in sof and "Correlation 0.24 (0.20 to 0.26)" in sof
    # a two-group outcome beside it brings the comparison back
    two = html.render_report(html.report_context(review_config, [correlation_pooled(), *html.read_pooled(
        [FIXTURES / "bcg_rr.json"])], [], None, None, {}, None, None, []))
    assert "Comparison:" in two and "Risk with" in two
    # ... for the two-group outcome; the single-group one has a table of its own, not under the comparison
    compared = two.split('data-table="summary_of_findings"')[1].split("</table>")[0]
    single = two.split('data-table="summary_of_findings_single_group"')[1].split("</table>")[0]
    assert "Correlation 0.24" not in compared and "RR " in compared
    assert "Single-group outcomes: pooled estimates" in single and "Correlation 0.24 (0.20 to 0.26)" in single


def test_published_comparison_names_the_value_shown_not_the_analysis_scale(review_config):
    pooled = {**correlation_pooled(), "published": {"estimate": 0.25, "ci_lb": 0.2, "ci_ub": 0.3}}
    row = html.published_comparison([pooled], {"adherence": {"measure": "ZCOR"}})[0]
    assert row["measure"] == "correlation" and row["ours"] == "0.24 [0.20, 0.26]"  # r, not Fisher's z
    prevalence = {"outcome": "prev", "measure": "PLO", "status": "pooled", "k": 2,
                  "model": {"estimate": 1.0, "ci_lb": 0.5, "ci_ub": 1.5}}
    assert html.published_comparison([prevalence], {})[0]["measure"] == "proportion (%)"
    rr = html.published_comparison(html.read_pooled([FIXTURES / "bcg_rr.json"]), review_config["outcomes"])[0]
    assert rr["measure"] == "RR"  # a ratio is named by its measure, shown as a ratio


def test_figure_numbers_name_the_shown_value_and_count_studies():
    pooled = correlation_pooled()
    assert html.describe_outcome_figure("cumulative", pooled) == \
        "The cumulative correlation moves from 0.24 (first study) to 0.24 (all 3 studies)."
    # a multilevel model has no estimate for one study: the first is after two
    pooled["sensitivity"]["cumulative"]["estimate"][0] = None
    assert html.describe_outcome_figure("cumulative", pooled) == \
        "The cumulative correlation moves from 0.22 (first 2 studies) to 0.24 (all 3 studies)."


def test_studies_without_extraction_rows_or_reason_are_named_where_counted(tmp_path):
    # SYNTHETIC sheets: S3 has no rows and no reason, S4 says why it has none, S2 is in the narrative
    config = {"outcomes": {"score": {"measure": "SMD"}}}
    studies = write_csv(tmp_path / "studies.csv", ["study_id", "label", "no_data_reason"],
                        [["S1", "A", ""], ["S2", "B", ""], ["S3", "C", ""], ["S4", "D", "not reported"]])
    score = write_csv(tmp_path / "score.csv", ["study_id", "usable"], [["S1", "true"]])
    narrative = write_csv(tmp_path / "narrative.csv", ["study_id", "outcome", "finding"], [["S2", "age", "older"]])
    summary = dict(html.report_context(config, [], [score], None, None, {}, studies, narrative, [])["summary"])
    assert summary["Studies in the extraction sheet"] == "4 (1 with no extraction rows and no no_data_reason: S3)"
    # an outcome's table missing: which studies have rows cannot be told, so none is named
    summary = dict(html.report_context(config, [], [], None, None, {}, studies, narrative, [])["summary"])
    assert summary["Studies in the extraction sheet"] == "4"


def test_the_meta_analysis_count_names_what_it_counts():
    # without a search stage there is no count of reports: the label must not promise one
    with_search = dict(html.review_summary({}, None, [], [], {"studies": 9, "reports": 11, "effect_sizes": 18,
                                                              "outcomes": ["a"]}))
    assert with_search["Studies included in meta-analysis (reports)"] == "9 (11)"
    assert with_search["Effect sizes pooled"] == "18"
    without = dict(html.review_summary({}, None, [], [], {"studies": 9, "reports": None, "effect_sizes": 18}))
    assert without["Studies included in meta-analysis"] == "9" and without["Effect sizes pooled"] == "18"


def test_effect_sizes_summed_over_outcomes_are_not_read_as_one_studys_several(bcg_pooled):
    """dat.bcg pooled twice (all 13 trials; the 7 randomly allocated): 13 studies, and 20 effect
    sizes because each outcome counts its own, which the label says."""
    from metasr.screening.prisma import meta_analysis_counts

    random = {**bcg_pooled, "outcome": "tb_random", "k": 7, "studies": bcg_pooled["studies"][:7]}
    meta = meta_analysis_counts({}, [bcg_pooled, random])
    rows = dict(html.review_summary({}, None, [], [], meta))
    assert rows["Studies included in meta-analysis"] == "13"
    assert rows["Effect sizes pooled (summed over the 2 pooled outcomes)"] == "20"
    assert not any("(effect sizes)" in name for name in rows)


def test_heterogeneity_rows_promise_a_ci_only_when_they_have_one():
    pooled = html.read_pooled([FIXTURES / "bcg_rr.json"])[0]
    rows = dict(html.model_table(pooled))
    assert rows["tau² [95% CI]"].endswith("]") and "I² [95% CI]" in rows and "H² [95% CI]" in rows
    for key in ("tau2_ci", "I2_ci", "H2_ci"):  # as a Mantel-Haenszel or Peto fit reports them
        pooled["model"][key] = None
    rows = dict(html.model_table(pooled))
    assert {"tau²", "I²", "H²"} <= set(rows) and not any("[95% CI]" in q for q in rows if q[0] in "tIH")
    assert not rows["tau²"].endswith(" ")



def test_a_robust_outcome_whose_studies_hold_one_effect_size_each_shows_its_cr2_t_test(konstantopoulos_table):
    """The univariate model with CR2 inference (t with Satterthwaite df): it was shown as a z test."""
    from metasr import dependence
    from metasr.stats.analysis import pool_outcome

    dep = dependence.settings({"dependence": {"method": "robust", "rho": 0}})
    pooled = pool_outcome(konstantopoulos_table(first_school=True), "GEN", "REML", "z", dependence=dep)
    rows = dict(html.model_table(pooled))
    assert rows["Robust test"] == "t = 1.00, df = 9.4 (Satterthwaite), P = 0.342"  # clubSandwich: df 9.41
    assert rows["Pooled estimate [95% CI] (CR2 cluster-robust)"] == "0.09 [−0.11, 0.30]"
    assert rows["Model-based 95% CI (z)"] == "0.09 [−0.09, 0.27]" and "Test for overall effect" not in rows


def test_tau2_ci_bounds_carry_metafors_signs():
    pooled = html.read_pooled([FIXTURES / "bcg_rr.json"])[0]
    pooled["model"].update(tau2_ci=[0.0, 0.0], I2_ci=[0.0, 0.0], H2_ci=[1.0, 1.0], tau2_ci_lb_sign="<",
                           tau2_ci_ub_sign="<")  # the null set: both bounds below 0
    rows = dict(html.model_table(pooled))
    assert rows["tau² [95% CI]"].endswith("[<0.000, <0.000]") and rows["I² [95% CI]"].endswith("[<0.0%, <0.0%]")
    pooled["model"].update(tau2_ci=[0.5, 100.0], tau2_ci_ub_sign=">")
    del pooled["model"]["tau2_ci_lb_sign"]
    assert dict(html.model_table(pooled))["tau² [95% CI]"].endswith("[0.500, >100.000]")

def bcg_table():
    import pandas as pd

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    return pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "ai": bcg["ai"], "bi": bcg["bi"],
                         "ci": bcg["ci"], "di": bcg["di"]})


def test_a_dl_tau2_outside_its_q_profile_ci_reads_in_one_format_with_a_note():
    from metasr.stats.analysis import pool_outcome

    # metafor 3.8-1: rma(measure = "RD", ..., data = dat.bcg, method = "DL"): tau² = 1.873e-05;
    # confint(): tau² [0.000685, 0.004375], I² [99.88%, 99.98%], H² [806.53, 5147.77]
    pooled = pool_outcome(bcg_table(), "RD", "DL", "z")
    m = pooled["model"]
    assert m["tau2"] == pytest.approx(1.8734749933119863e-05, rel=1e-9)
    assert m["tau2_ci"] == pytest.approx([0.0006847469562879619, 0.0043750355244957856], rel=1e-8)
    rows = dict(html.model_table(pooled))
    assert rows["tau² [95% CI]"] == "0.000019 [0.000685, 0.004375]"  # not "1.9e-05 [0.001, 0.004]"
    assert rows["Note on the CIs"] == (
        "The DerSimonian-Laird estimate of tau² lies outside its Q-profile 95% CI, and I² and H² outside theirs: it "
        "inverts the generalised Q statistic and is not built around a moment estimate (metafor's confint() gives "
        "the same interval); the analysis uses the estimate.")
    assert "Note on the CIs" not in dict(html.model_table(pool_outcome(bcg_table(), "RD", "REML", "z")))
    from metasr.report.methods import heterogeneity_sentence

    assert heterogeneity_sentence([{**pooled, "label": "TB (RD)"}]).endswith(
        "For TB (RD) the estimate of tau² lies outside its Q-profile interval, which inverts the generalised Q "
        "statistic and is not built around a moment estimate; both are reported as computed.")


def test_mantel_haenszel_outcomes_show_their_own_tests_as_metafor_prints_them():
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    table = pd.DataFrame({"study_id": [f"S{i}" for i in range(len(bcg))], "year": bcg["year"],
                          "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]})
    rows = dict(html.model_table(pool_outcome(table, "OR", "MH")))
    assert rows["Cochran-Mantel-Haenszel test"] == "CMH = 135.69, df = 1, P < 0.0001"  # metafor: 135.6889
    assert rows["Tarone's test for heterogeneity"] == "X² = 171.76, df = 12, P < 0.0001"  # metafor: 171.7567
    assert "Common-effect estimate (inverse variance) [95% CI]" in rows  # beside the MH one
    for measure, method in (("RR", "MH"), ("OR", "PETO"), ("OR", "REML")):  # metafor has none for these
        rows = dict(html.model_table(pool_outcome(table, measure, method)))
        assert not {"Cochran-Mantel-Haenszel test", "Tarone's test for heterogeneity"} & set(rows)
        common = "Common-effect estimate (inverse variance) [95% CI]" if method != "REML" else \
            "Common-effect estimate [95% CI]"
        assert common in rows
        # metafor's rma.mh and rma.peto print I², H² and Q but no tau²; an inverse-variance fit has one
        names = {q.split(" [")[0] for q in rows}
        assert ("tau²" in names) == (method == "REML") and {"I²", "H²"} <= names
    peto = pool_outcome(table, "OR", "PETO")
    rows = dict(html.model_table(peto))  # metafor rma.peto(dat.bcg): I² 92.85%, H² 13.98
    assert rows["I²"] == "92.8%" and rows["H²"] == "13.98" and not any(q.startswith("tau²") for q in rows)


def test_a_cluster_robust_test_with_few_degrees_of_freedom_is_flagged():
    """dat.assink2016 by deltype, robust (tests/fixtures/multilevel_subgroups): one study of
    covert delinquency leaves the HTZ test 0.86 denominator df."""
    sub = {"variable": "deltype", "model": "three-level", "sigma2": [0.1, 0.1], "Q_between": 62.8,
           "Q_between_df": [2, 0.8578], "Q_between_pval": 0.117, "Q_between_test": "CR2 HTZ",
           "levels": [{"level": "covert", "k": 9, "k_studies": 1, "estimate": -0.29, "se": 0.1},
                      {"level": "general", "k": 78, "k_studies": 17, "estimate": 0.42, "se": 0.1}]}
    section = html.subgroup_section({"measure": "GEN", "subgroups": sub})
    assert section["test"].startswith("F(2, 0.9) = 62.80 (CR2 HTZ)")
    assert "0.9 denominator degrees of freedom, fewer than 4: its P value is not reliable" in section["note"]
    assert html.few_df_caveat(4.0) == "" and html.few_df_caveat(None) == ""
    assert "fewer than 4" not in html.subgroup_section({"measure": "GEN", "subgroups": {
        **sub, "Q_between_df": [2, 12.5]}})["note"]


def test_an_evidence_profile_without_graded_outcomes_is_a_sentence_not_an_empty_table(review_config):
    config = {**review_config, "outcomes": {"adherence": {"measure": "ZCOR"}}}
    nothing = {"outcome": "adherence", "label": "Adherence", "measure": "ZCOR", "status": "no_data",
               "status_message": "no study-level data yet", "k": 0, "studies": [], "model": None}
    text = html.render_report(html.report_context(config, [nothing], [], None, None, {}, None, None, []))
    assert 'data-table="evidence_profile"' not in text
    assert "No outcome has a GRADE rating: certainty is rated for pooled outcomes only, and no outcome was " \
           "pooled." in text
    graded = html.render_report(html.report_context(config, [correlation_pooled()], [], None, None, {}, None,
                                                    None, []))
    assert 'data-table="evidence_profile"' in graded and "No outcome has a GRADE rating" not in graded


def test_summary_of_findings_cells_carry_signed_sort_keys(review_config, bcg_pooled, normand_pooled):
    """'8 fewer per 1,000' sorts below '3 more': the difference's sign is in data-sort."""
    rows = {r["id"]: r for r in html.report_context(
        {**review_config, "outcomes": {"bcg_tb": {"measure": "RR"}, "los": {"measure": "SMD", "unit": "days"}}},
        [bcg_pooled, normand_pooled], [], None, None, {}, None, None, [])["sof"]["rows"]}
    bcg = rows["bcg_tb"]
    assert bcg["difference"][0].startswith(f"{-int(bcg['sort']['difference'])} fewer per 1,000")
    assert bcg["sort"]["relative"] == pytest.approx(math.exp(bcg_pooled["model"]["estimate"]))
    los = rows["los"]  # an SMD re-expressed in days, and the SMD itself ("lower" when negative)
    assert los["sort"]["relative"] == pytest.approx(normand_pooled["model"]["estimate"])
    assert (los["sort"]["difference"] < 0) == ("lower" in los["difference"][0].split("(")[0])
    # "222,426 (3 studies)" reads as 222 to parseFloat: the participants sort on their count
    page = html.render_report(html.report_context(
        {**review_config, "outcomes": {"bcg_tb": {"measure": "RR"}}}, [bcg_pooled], [], None, None, {}, None, None,
        []))
    n = rows["bcg_tb"]["participants_n"]
    assert n > 1000 and f'data-sort="{n}">{rows["bcg_tb"]["participants"]}' in page


def test_a_pooled_outcome_of_two_studies_says_why_it_has_no_leave_one_out(bcg_pooled):
    two = {**bcg_pooled, "model": {**bcg_pooled["model"], "k": 2}, "sensitivity": {}}
    assert html.sensitivity_section(two)["leave1out_not_run"] == (
        "Leave-one-out and influence diagnostics not run: k = 2; they need at least 3 studies (each refit keeps two).")
    assert html.sensitivity_section(bcg_pooled)["leave1out_not_run"] == ""


def test_influential_studies_are_metafors_flags_with_their_criteria():
    """bcg (RR, FE): metafor's influence() marks studies 4, 6 and 7 (tests/fixtures/influence)."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "influence" / "expected.json"
    case = next(c for c in json.loads(fixture.read_text())["cases"] if c["id"] == "bcg_RR_FE_z")
    studies = [{"study_id": f"S{i + 1}", "label": f"Trial {i + 1} <b>"} for i in range(len(case["yi"]))]
    flagged = html.influential_studies(case["expected"], studies)
    expected = [studies[i]["label"] for i, flag in enumerate(case["expected"]["inf"]) if flag]
    assert [text.split(" (")[0] for text in flagged] == expected and len(expected) == 3
    assert all(re.search(r"\(([^;]* (> |beyond ±)[0-9.]+)(; [^;]* (> |beyond ±)[0-9.]+)*\)$", text) for text in flagged)
    assert html.influential_studies({"hat": [0.5]}, studies) == []  # a result of other studies


def pritz_pft_by_era() -> dict:
    """dat.pritz1997 (metadat) pooled with PFT (REML) by a SYNTHETIC era: studies 1-7, 8-14."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(REPO / "tests" / "fixtures" / "measures" / "inputs" / "pritz1997.csv")
    table = table.assign(study_id=[f"P{i + 1:02d}" for i in range(len(table))],
                         era=["early" if i < 7 else "late" for i in range(len(table))])
    return pool_outcome(table, "PFT", "REML", subgroup="era")


def test_a_freeman_tukey_subgroup_is_shown_with_its_own_harmonic_mean():
    # metafor: predict(rma(yi, vi, subset = era), transf = transf.ipft.hm, targs = list(ni = ni[era]));
    # the harmonic mean of all 14 studies gave 81.74 [66.88, 93.38] and 78.89 [63.34, 91.45]
    section = html.subgroup_section(pritz_pft_by_era())
    rows = section["rows"]
    assert section["note"] == "Each subgroup's estimate is back-transformed with the harmonic mean of its own " \
                              "studies' ni."
    assert [(r["level"], r["estimate"]) for r in rows] == [("early", "81.45 [66.72, 93.02]"),
                                                           ("late", "79.15 [63.47, 91.79]")]


def test_a_raw_proportion_outcome_says_where_its_intervals_leave_0_to_100_percent(tmp_path, review_config):
    """dat.pritz1997 as raw proportions (PR, REML, Knapp-Hartung): metafor's PI [50.40, 108.95] %."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.read_csv(REPO / "tests" / "fixtures" / "measures" / "inputs" / "pritz1997.csv")
    table["study_id"] = [f"P{i + 1:02d}" for i in range(len(table))]
    path = tmp_path / "edss.json"  # an outcome of the config, pooled from other data
    path.write_text(json.dumps(pool_outcome(table, "PR", "REML", "knha", outcome="edss", label="Occlusion")))
    section = make_report(tmp_path, review_config, [path]).split('id="outcome-edss"')[1].split("</section>")[0]
    assert "[50.40, 108.95]" in section  # as computed, not truncated
    assert '<p class="note" data-note="scale">On the raw proportion scale the intervals are symmetric normal ' \
           "approximations, and the 95% prediction interval and the 95% CI of 7 studies" in section


def test_a_subgroup_without_an_mh_estimate_reads_not_estimable():
    sub = {"variable": "alloc", "levels": ["alternate", "random"], "estimate": [None, -0.35], "se": [None, 0.05],
           "k": [2, 7], "Q_between": None, "Q_between_df": None, "Q_between_pval": None,
           "not_estimable": {"alternate": "Mantel-Haenszel OR is undefined: 'ai' is 0 in every study"},
           "Q_between_note": "subgroup 'alternate' not estimable (its MH estimate is undefined) and left out of the "
                             "test for subgroup differences"}
    section = html.subgroup_section({"measure": "OR", "method": "MH", "subgroups": sub})
    assert [row["estimate"] for row in section["rows"]] == ["not estimable", "0.70 [0.64, 0.78]"]
    assert section["note"].startswith("Subgroup 'alternate' not estimable")


def test_the_analysis_without_high_risk_of_bias_sits_beside_the_main_result(review_config):
    """SYNTHETIC judgements of dat.bcg's trials: two at high risk left out, one unjudged kept; the
    report's table gives both models, and a skipped analysis its reason."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    bcg = pd.read_csv(Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv")
    table = pd.DataFrame({"study_id": [f"S{i:02d}" for i in range(len(bcg))], "label": bcg["study"],
                          "year": bcg["year"], "ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]})
    overall = {f"S{i:02d}": "low" for i in range(12)} | {"S01": "high", "S03": "critical"}
    pooled = pool_outcome(table, "RR", "REML", outcome="bcg_tb", label="BCG", risk_of_bias=overall)
    section = html.sensitivity_section(pooled)["high_risk"]
    assert section["left_out"] == ["Ferguson & Simes 1949 (high)", "Hart & Sutherland 1977 (critical)"]
    assert section["kept"] == "1 study without an overall judgement kept: Comstock et al 1976"
    assert [r[0] for r in section["rows"]] == ["Studies", "Pooled estimate [95% CI]", "P", "tau²", "I²"]
    assert section["rows"][0][1:] == ("13", "11")
    page = html.render_report(html.report_context(
        {**review_config, "outcomes": {"bcg_tb": {"measure": "RR"}}}, [pooled], [], None, None, {}, None, None, []))
    assert "<h4>Without the studies at high risk of bias</h4>" in page and 'data-table="bcg_tb_high_risk"' in page
    skipped = pool_outcome(table, "RR", "REML", outcome="bcg_tb", label="BCG", risk_of_bias={"S00": "low"})
    section = html.sensitivity_section(skipped)["high_risk"]
    assert section["rows"] == [] and section["skipped"].startswith("no study is at high risk of bias (1 low; 12 ")
    assert html.sensitivity_section({**pooled, "sensitivity": None})["high_risk"] is None
    # risk-of-bias columns without any judgement: no 'not run' section per outcome (the methods say it)
    unjudged = pool_outcome(table, "RR", "REML", outcome="bcg_tb", label="BCG", risk_of_bias={})
    assert unjudged["sensitivity"]["excluding_high_risk"]["skipped"].startswith("no study has an overall")
    assert html.sensitivity_section(unjudged)["high_risk"] is None


def _pft_high_risk():
    """SYNTHETIC proportions (Freeman-Tukey) with six studies judged at high risk of bias."""
    import pandas as pd

    from metasr.stats.analysis import pool_outcome

    table = pd.DataFrame({"study_id": [f"S{i:03d}" for i in range(1, 15)],
                          "xi": [0, 3, 10, 20, 15, 43, 1, 7, 30, 5, 50, 0, 9, 12],
                          "ni": [12, 40, 25, 20, 60, 58, 1, 90, 33, 70, 120, 8, 9, 15]})
    overall = {s: "high" if s in ("S001", "S004", "S006", "S008", "S010", "S014") else "low"
               for s in table["study_id"]}
    return pool_outcome(table, "PFT", "REML", "knha", outcome="prev", label="Prevalence", risk_of_bias=overall)


def test_the_analysis_without_high_risk_of_bias_back_transforms_with_the_studies_kept():
    """metafor: predict(rma(yi, vi, subset = keep, test = "knha"), transf = transf.ipft.hm,
    targs = list(ni = n[keep])) = 0.4611 [0.0828, 0.8629] (with all 14 studies' ni: 0.4627
    [0.0979, 0.8488]); the main column keeps 0.4452 [0.1673, 0.7399]."""
    rows = dict((r[0], r[1:]) for r in html.high_risk_section(_pft_high_risk())["rows"])
    assert rows["Pooled estimate [95% CI]"] == ("44.52 [16.73, 73.99]", "46.11 [8.28, 86.29]")


def test_a_measure_without_a_null_gets_no_p_in_its_sensitivity_tables(review_config):
    """A single-group proportion has no null: its main table says so instead of testing against 0,
    and the table without the studies at high risk of bias and the leave-one-out table give no P."""
    pooled = _pft_high_risk()
    assert "P" not in [r[0] for r in html.high_risk_section(pooled)["rows"]]
    assert dict(html.model_table(pooled))["Test for overall effect"] == "– (the measure has no null)"
    page = html.render_report(html.report_context(
        {**review_config, "outcomes": {"prev": {"measure": "PFT"}}}, [pooled], [], None, None, {}, None, None, []))
    leave1out = page.split('data-table="prev_leave1out"')[1].split("</table>")[0]
    assert "<th scope=\"col\">Estimate [95% CI]</th><th scope=\"col\">I² (%)</th>" in leave1out
    high_risk = page.split('data-table="prev_high_risk"')[1].split("</table>")[0]
    assert "<td>P</td>" not in high_risk


def test_a_common_effect_outcome_shows_no_prediction_interval(bcg_pooled):
    """metafor's predict() of a common-effect fit gives its CI as the 'PI'; the forest draws none,
    so neither the report's table nor the figure's text alternative gives one."""
    fixed = {**bcg_pooled, "method": "FE", "model": {**bcg_pooled["model"], "method": "FE",
                                                     "pi_lb": bcg_pooled["model"]["ci_lb"],
                                                     "pi_ub": bcg_pooled["model"]["ci_ub"]}}
    assert "prediction interval" not in html.describe_outcome_figure("forest", fixed)
    assert "prediction interval" in html.describe_outcome_figure("forest", bcg_pooled)
    rows = dict(html.model_table(fixed))
    assert rows["95% prediction interval"].endswith("(a common-effect model)")


def test_the_baujat_text_names_the_studies_the_plot_names_with_their_coordinates():
    """The Baujat plot's caption had no numbers and did not name its outlying studies."""
    from metasr.figures.influence import baujat_outlying, baujat_points

    pooled = json.loads((FIXTURES / "bcg_rr.json").read_text())
    text = html.describe_outcome_figure("baujat", pooled)
    points = baujat_points(pooled)
    named = baujat_outlying(points.x, points.y)
    assert text.startswith("Named in the plot, the 8 most outlying of 13 (farthest from the origin")
    assert "(squared Pearson residual, influence on the pooled result)" in text
    first = points.studies[named[0]]
    assert f"{first['label']} ({points.x[named[0]]:.2f}, {points.y[named[0]]:.3f})" in text
    assert text.count(";") == 7
    three = {**pooled, "studies": pooled["studies"][:3]}
    assert "every study" in html.describe_outcome_figure("baujat", three)
    assert html.describe_outcome_figure("baujat", {**pooled, "studies": pooled["studies"][:2]}) == ""


def test_the_prisma_text_gives_every_box_of_the_flow_with_sources_and_exclusion_reasons():
    """The PRISMA caption gave identified, unique and included counts only: not screened,
    excluded, assessed, nor the exclusion reasons the diagram shows (SYNTHETIC counts)."""
    column = {"identified": 104, "identified_by_database": [{"database": "PubMed", "n": 30},
                                                            {"database": "Scopus", "n": 74}],
              "duplicates": 52, "removed_automation": 0, "removed_other": 3, "screened": 49, "excluded": 9,
              "excluded_reasons": [{"reason": "review", "n": 4}, {"reason": "erratum", "n": 5}],
              "sought": 40, "not_retrieved": 0, "assessed": 40, "reports_excluded": 20,
              "reports_excluded_reasons": [{"reason": "no comparison group", "n": 20}],
              "studies_included": 20, "reports_included": 20}
    prisma = {"records": {"identified": 104, "unique": 52}, "included": {"studies": 20, "reports": 20},
              "columns": {"databases": column}}
    text = html.describe_prisma(prisma)
    assert text.startswith("Records identified: 104; unique after de-duplication: 52; studies included: 20")
    assert "Databases and registers: records identified 104 (PubMed 30; Scopus 74), duplicate records removed 52, " \
           "records removed for other reasons 3, records screened 49, records excluded 9 (review 4; erratum 5), " \
           "reports sought for retrieval 40, reports not retrieved 0, reports assessed for eligibility 40, reports " \
           "excluded 20 (no comparison group 20), studies included 20, their reports 20." in text
    assert "automation" not in text and "Other methods" not in text


def test_changed_settings_are_named_in_the_changes_section(review_config):
    context = html.report_context(review_config, html.read_pooled([FIXTURES / "bcg_rr.json"]), [], None, None,
                                  {}, None, None, [])
    same = {"estimate": 0.5, "ci_lb": 0.3, "ci_ub": 0.8, "k": 12}
    context["changes"] = {"first_run": False, "any_change": True, "inputs_changed": [],
                          "settings_changed": [{"setting": "extraction.p_value_bounds", "before": "exclude",
                                                "after": "as_exact"}],
                          "outcomes": [{"outcome": "bcg_tb", "label": "TB", "change": "results changed",
                                        "before": same, "after": same, "studies_added": [], "studies_removed": [],
                                        "flipped": [], "settings_changed": [
                                            {"setting": "method", "before": "DL", "after": "PM"},
                                            {"setting": "test", "before": "z", "after": "knha"}]}]}
    text = html.render_report(context).split('id="changes"')[1].split("</section>")[0]
    assert "<td>method: DL → PM<br>test: z → knha</td>" in text
    assert "Review-wide settings changed: extraction.p_value_bounds: exclude → as_exact" in text


def _district(sid: str, year: int, es_id: str, usable: str = "true", conversion: str = "") -> dict:
    return {"study_id": sid, "label": sid.replace("D", "District "), "year": year, "usable": usable,
            "es_id": es_id, "comparison": "modified vs traditional", "conversion": conversion,
            "conversion_detail": "SE 0.18 as reported"}


def test_a_studys_rows_are_told_apart_and_listed_where_the_forest_has_them(review_config):
    # The results file is sorted by study id as text (D108 before D11); the forest orders by year.
    extraction = [_district("D108", 2000, "school1"), _district("D108", 2000, "school2"),
                  _district("D11", 1976, "school1"), _district("D2", 1990, "school1", usable="false"),
                  _district("D12", 1989, "school1"), _district("D10", 1990, "school1", usable="false")]
    studies = [{"study_id": r["study_id"], "label": r["label"], "year": r["year"], "es_id": r["es_id"],
                "yi": 0.1, "ci_lb": -0.1, "ci_ub": 0.3} for r in extraction if r["usable"] == "true"]
    pooled = {"outcome": "achievement", "label": "Achievement", "measure": "GEN", "status": "no_data",
              "studies": studies, "dependence": {"method": "robust"}}
    section = html.outcome_section(pooled, {}, extraction, {}, {})
    shown = [(r["label"], r["es_id"], r["row"]) for r in section["studies"]]
    assert shown == [("District 11", "school1", 2), ("District 12", "school1", 4), ("District 108", "school1", 0),
                     ("District 108", "school2", 1), ("District 2", "school1", 3), ("District 10", "school1", 5)]
    assert section["es_columns"] == [("comparison", "Comparison"), ("es_id", "Effect size (es_id)")]
    text = html.render_report({**html.report_context(review_config, [], [], None, None, {}, None, None, []),
                               "sections": [section]})
    table = text.split('data-table="achievement_studies"')[1].split("</table>")[0]
    assert '<th scope="col">Effect size (es_id)</th>' in table and "<td>school2</td>" in table
    assert table.index('data-row="2"') < table.index('data-row="0"')  # the file's row, shown in the forest's order
    assert "<td><span class=\"muted\">SE 0.18 as reported</span></td>" in table  # no empty line before it


def test_nos_judgements_are_counted_in_the_scales_own_words():
    studies = [{"study_id": s, "rob_tool": "NOS", "rob_selection": sel, "rob_comparability": "1", "rob_outcome": "2"}
               for s, sel in (("A", "4"), ("B", "2"), ("C", "1"))]
    studies.append({"study_id": "D", "rob_tool": "RoB2", "rob_overall": "some concerns"})
    assert html.describe_rob(studies) == (
        "Overall judgements of all 4 studies of the studies sheet: Newcastle–Ottawa Scale fair: 1; Newcastle–Ottawa "
        "Scale good: 1; Newcastle–Ottawa Scale poor: 1; RoB 2 some concerns: 1; not assessed: 0.")


def test_the_bubble_plots_text_counts_a_three_level_models_effect_sizes_and_studies():
    """dat.konstantopoulos2011's meta-regression read '56 studies' (56 schools in 11 districts)."""
    from metasr.report.html import describe_bubble

    reg = {"k": 56, "k_studies": 11, "coef_names": ["intrcpt", "year"], "coef": [1.0, 0.01],
           "ci_lb": [0.5, -0.01], "ci_ub": [1.5, 0.03], "QM_pval": 0.3}
    assert describe_bubble({"meta_regression": reg}).startswith("56 effect sizes from 11 studies; coefficients year")
    assert describe_bubble({"meta_regression": {**reg, "k_studies": None}}).startswith("56 studies;")
