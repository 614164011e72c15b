"""Forest plot rows and footer for outcomes with several effect sizes per study (metasr.dependence).

The effect sizes of a study are grouped under it: the study's label once (with its weight, the sum
of its effect sizes'), then one row per effect size labelled by what tells it apart (comparison,
time point, es_id); an aggregated outcome adds the study's combined effect (a diamond), the unit its
model pools. The footer names the model, its variance components, rho and robust inference.
"""

from __future__ import annotations

from metasr import dependence, display
from metasr.figures import style
from metasr.figures.forest_rows import Formats, Row, study_label, study_marks, study_row
from metasr.figures.shown import overall_test, sort_studies, study_heads, study_members

INDENT = "   "


def is_grouped(pooled: dict) -> bool:
    """Group when the outcome says how its dependent effect sizes are handled and a study has several."""
    if not pooled.get("dependence"):
        return False
    ids = [str(s.get("study_id")) for s in pooled.get("studies") or []]
    return len(ids) > len(set(ids))


def _study_records(pooled: dict) -> dict[str, dict]:
    return {str(s.get("study_id")): s for s in pooled.get("by_study") or []}


def grouped_rows(pooled: dict, columns, disp, sort_by: str = "year", formats: Formats | None = None,
                 indent: str = "") -> list[Row]:
    """The table rows: per study (in `sort_by` order) a title row and its effect sizes, or one row
    for a study with a single effect size; numbers with the table's `formats` (forest_rows.column_formats).
    `indent` goes before every label (under a subgroup's heading: its studies are nested in it)."""
    members = study_members(pooled)
    records = _study_records(pooled)
    rows: list[Row] = []
    for head in sort_studies(study_heads(pooled, members), sort_by):
        sid = str(head.get("study_id"))
        effect_sizes = members[sid]
        if len(effect_sizes) == 1:  # the study's weight is its one effect size's
            row = study_row({**effect_sizes[0], "weight": head.get("weight")}, columns, disp, formats)
            row.label = indent + row.label
            rows.append(row)
            continue
        weight = head.get("weight")
        cells = {"weight": f"{weight:.1f}%" if style.is_number(weight) else ""}
        rows.append(Row("group_title", indent + study_label(head), cells, bold=True))
        for s, label in zip(effect_sizes, dependence.es_labels(effect_sizes), strict=True):
            row = study_row({**s, "weight": s.get("weight")}, columns, disp, formats)
            row.label = indent + INDENT + (label or str(s.get("es_id") or "effect size")) + study_marks(s)
            if not style.is_number(s.get("weight")):
                row.cells["weight"] = ""
            rows.append(row)
        summary = _aggregated_row(records.get(sid), disp, formats.effect if formats else None)
        if summary is not None:
            summary.label = indent + summary.label
            rows.append(summary)
    return rows


def shared_heterogeneity_text(pooled: dict) -> str:
    """A subgroup's heterogeneity line when its subgroups share one three-level model (the subgroup
    a moderator: metasr.stats.multilevel.subgroups_three_level): there is none of its own."""
    sub = pooled.get("subgroups") or {}
    if sub.get("model") != "three-level":
        return ""
    sigma2 = sub.get("sigma2") or [None, None]
    return (f"Heterogeneity: not per subgroup (one three-level model, {sub.get('variable') or 'subgroup'} as "
            f"moderator): σ² between studies = {_num(sigma2[0])}, σ² within studies = {_num(sigma2[1])}")


def part(pooled: dict, studies: list[dict]) -> dict:
    """The pooled result with only `studies` (a subgroup's effect sizes): a study's weight is then
    the sum of its effect sizes in the part, and a study only partly in it has no combined row."""
    ids = {str(s.get("study_id")) for s in studies}
    whole = {sid for sid in ids if sum(str(s.get("study_id")) == sid for s in pooled.get("studies") or [])
             == sum(str(s.get("study_id")) == sid for s in studies)}
    by_study = [r for r in pooled.get("by_study") or [] if str(r.get("study_id")) in whole]
    return {**pooled, "studies": studies, "by_study": by_study}


def _aggregated_row(record: dict | None, disp, decimals: int | None = None) -> Row | None:
    """The study's combined effect (aggregate outcomes): what the model pools for this study."""
    if not record or not record.get("aggregated") or not style.is_number(record.get("yi")):
        return None
    cells = {"effect": display.estimate(record["yi"], record.get("ci_lb"), record.get("ci_ub"), disp, decimals)}
    return Row("subtotal", INDENT + "Combined within study", cells, record["yi"], record.get("ci_lb"),
               record.get("ci_ub"))


def model_header(pooled: dict) -> str | None:
    """The effect column's model line for a three-level model or CR2 inference (a robust outcome
    whose studies each hold one effect size: the univariate model); None: the usual one."""
    model = pooled.get("model") or {}
    robust = model.get("robust") is not None
    if model.get("model_type") != "three-level" and not robust:
        return None
    method = (pooled.get("method") or "REML").upper()
    kind = "Three-level" if model.get("model_type") == "three-level" else "Random"
    return f"IV, {kind} ({method}), 95% CI" + (" (CR2)" if robust else "")


def footer_lines(pooled: dict) -> list[str] | None:
    """The model lines under a three-level model's plot (in place of tau², Q and the z test), or
    None for other outcomes."""
    model = pooled.get("model") or {}
    dep = pooled.get("dependence") or {}
    if model.get("model_type") != "three-level":
        return None
    sigma2 = model.get("sigma2") or [None, None]
    levels = model.get("I2_levels") or [None, None]
    lines = [f"Three-level model ({pooled.get('method', 'REML')}): σ² between studies = {_num(sigma2[0])}, "
             f"σ² within studies = {_num(sigma2[1])}; I² = {_pct(model.get('I2'))} (between {_pct(levels[0])}, "
             f"within {_pct(levels[1])}); sampling errors within a study correlated with ρ = {dep.get('rho', 0):g}; "
             f"{dependence.counts_text(pooled)}."]
    if style.is_number(model.get("Q")):
        lines.append(f"Heterogeneity: Q = {display.number(model['Q'])}, df = {model.get('Q_df')} "
                     f"({display.p_value(model.get('Q_pval'))})")
    test = overall_test_line(pooled)
    return lines + ([test] if test else [])


def overall_test_line(pooled: dict) -> str:
    """The footer's test of the pooled estimate (metasr.figures.shown.overall_test), RevMan's "Z"
    for a z test; '' without one."""
    test = overall_test(pooled)
    if test is None:
        return ""
    stat, p = f"{abs(test['stat']):.2f}", display.p_value(test["pval"])
    if test["robust"]:
        return (f"Test for overall effect (CR2 cluster-robust, Satterthwaite df = "
                f"{display.degrees_of_freedom(test['df'])}): t = {stat} ({p})")
    if test["name"] == "t":
        return f"Test for overall effect: t = {stat}, df = {display.degrees_of_freedom(test['df'])} ({p})"
    return f"Test for overall effect: Z = {stat} ({p})"


def extra_footnotes(pooled: dict) -> list[str]:
    """What a grouped outcome's footer adds: effect sizes combined within studies first
    (aggregate), or what a negative weight means (three-level model)."""
    dep = pooled.get("dependence") or {}
    if not is_grouped(pooled):
        return []
    if dep.get("method") == "aggregate":
        return [f"Effect sizes combined within each study first (ρ = {dep.get('rho', 0):g}), then pooled: "
                f"{dependence.counts_text(pooled)}; ◆ under a study: its combined effect."]
    if any((display.finite(s.get("weight")) or 0) < 0 for s in pooled.get("studies") or []):
        return ["Weights are each effect size's share of the pooled estimate (metafor's row-sum weights): "
                "within a study whose effect sizes are strongly correlated a share can be negative; "
                "each study's total is positive."]
    return []


def _num(x) -> str:
    return display.tau2(x, "–")  # a variance component, as the report writes it


def _pct(x) -> str:
    return display.i2(x, "–")


def sensitivity_units(pooled: dict, block: dict) -> list[dict] | None:
    """The studies a study-level sensitivity block (leave one study out, cumulative by study) is
    about, in its order; None for a block about the rows of `studies`."""
    if not isinstance(block, dict) or block.get("unit") != "study":
        return None
    by_id = _study_records(pooled)
    for s in pooled.get("studies") or []:
        by_id.setdefault(str(s.get("study_id")), s)
    return [by_id.get(str(sid), {"study_id": sid}) for sid in block.get("study_id") or []]
