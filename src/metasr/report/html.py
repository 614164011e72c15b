"""The self-contained HTML report (`results/report.html`): one file that opens anywhere.

SVG figures are inlined (their text can be searched, selected and zoomed; each figure's ids are
prefixed so that figures cannot clash), PNG figures are embedded as data URIs. One inline script
and style sheet (templates/report.js, report.css) make every data table sortable, filterable and
downloadable as CSV (a table that shows a results file downloads that file's columns and cells)
and open figures full size; without JavaScript the page is the same tables and figures, plain.
Nothing is loaded from the network, and every piece of text that comes from data goes through
jinja2's autoescaping. Links to sources are kept only for http(s) URLs.

A review too large to embed every figure (hundreds of outcomes) embeds them up to EMBED_BUDGET, most
important first (`plan_figures`), and links the rest by a relative path (`figures/<name>.svg`); the
report then says so at the top.
"""

from __future__ import annotations

import base64
import json
import math
import os
import platform
import re
import urllib.parse
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from metasr import dependence, display as dp, measures, outputs as registry, rob
from metasr.analysis_settings import HANDBOOK_SMALL_STUDY, SMALL_STUDY_MIN_K
from metasr.display import finite
from metasr.extraction.discrepancies import discrepancy_report
from metasr.figures.shown import (
    COMMON_EFFECT_METHODS,
    common_effect,
    configured_sort,
    forest_caption,
    forest_draws_prediction,
    funnel_caption,
    funnel_egger,
    funnel_trimfill,
    study_order,
    tests_null,
)
from metasr.io import atomic_path, file_sha256, read_csv as read_csv_table
from metasr.level import Z
from metasr.report import dependent as dependent_report
from metasr.report.grade import DOMAIN_NAMES, DOMAINS, UPGRADE_NAMES, UPGRADES, grade_outcome
from metasr.report.methods import methods_paragraph, tau2_outside_ci
from metasr.report.scale_notes import scale_notes
from metasr.report.sof import number_footnotes, sof_row
from metasr.screening.prisma import meta_analysis_counts
from metasr.versions import installed

URL = re.compile(r"https?://[^\s;,<>\"']+")
SOFTWARE = ("metasr", "numpy", "scipy", "pandas", "matplotlib", "jinja2", "snakemake", "pyyaml")
# Base64 characters of figures the report embeds at most: a budget for the page, not a quality cut.
# Every figure is embedded up to it, so a review of ordinary size stays one self-contained file (the
# default review: 0.18 MB of figures). Embedding everything grows with the outcomes (forest, funnel and
# three sensitivity SVGs of 40-95 KB each): at 500 outcomes x 30 studies the report was 186 MB and
# took headless Chromium 147 s to load; with 20 MB of figures embedded (the rest linked) 31 MB and
# 17 s, of which 9 s are the 11 MB of tables that any report of that review has.
# Figures past the budget are linked (`figures/<name>.svg`, next to the report) in priority order.
EMBED_BUDGET = 20_000_000
LINKED_NOTE = "linked: the review is too large to embed every figure"
MIME = {".svg": "image/svg+xml", ".png": "image/png"}
FigurePath = str | os.PathLike[str] | None  # a figure file the report may show (None: not drawn)


# ---------------------------------------------------------------------------------------------
# Small readers and formatters


def read_json(path) -> dict | None:
    if not path or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_csv(path) -> list[dict]:
    if not path or not Path(path).is_file():
        return []
    return read_csv_table(path)[1]


def number(x, decimals: int = 2) -> str:
    """A number in a report table: metasr.display's rule, "–" when missing."""
    return dp.number(x, decimals, dp.MISSING)


def estimate_text(est, lb, ub, display: measures.Display) -> str:
    """An estimate and CI on the analysis scale, as shown: "0.49 [0.34, 0.70]", "–" if missing."""
    return dp.estimate(est, lb, ub, display, missing=dp.MISSING)


def links(text) -> list[str]:
    """The http(s) URLs in a provenance field ("[1] https://a ; [2] https://b")."""
    return URL.findall(str(text or ""))


def data_uri(path) -> str | None:
    path = Path(path) if path else None
    if not path or not path.is_file():
        return None
    mime = MIME.get(path.suffix.lower())
    if not mime:
        return None
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def data_uri_length(path) -> int | None:
    """len(data_uri(path)) from the file's size, without reading it; None when it is not a figure."""
    path = Path(path) if path else None
    if not path or path.suffix.lower() not in MIME or not path.is_file():
        return None
    return len(f"data:{MIME[path.suffix.lower()]};base64,") + 4 * math.ceil(path.stat().st_size / 3)


def embed_length(path) -> int | None:
    """Characters a figure adds to the report when embedded: an SVG inline, a PNG as data URI."""
    path = Path(path) if path else None
    if path and path.suffix.lower() == ".svg" and path.is_file():
        return path.stat().st_size
    return data_uri_length(path)


SVG_ID = re.compile(r'\bid="([^"]+)"')
SVG_REF = re.compile(r'(url\(#|href="#)([^")]+)')
SVG_UNSAFE = re.compile(r"<script|<foreignObject|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
SVG_ROOT = re.compile(r"<svg\b[^>]*>", re.DOTALL)
SVG_LENGTH = re.compile(r"^([0-9.]+)(pt|px)?$")


def _svg_size(root: str) -> tuple[float, float, float, float] | None:
    """(width, height) as written and in CSS pixels (matplotlib writes points)."""
    size = []
    for attr in ("width", "height"):
        m = re.search(rf'\s{attr}="([^"]+)"', root)
        unit = SVG_LENGTH.match(m.group(1)) if m else None
        if not unit:
            return None
        size.append((float(unit.group(1)), float(unit.group(1)) * (4 / 3 if unit.group(2) == "pt" else 1)))
    return size[0][0], size[1][0], size[0][1], size[1][1]


def inline_svg(path, key: str, label: str) -> Markup | None:
    """The SVG file as markup to place in the page: ids prefixed by the figure's key (figures
    cannot clash), a <title> naming it, described by its caption (the figcaption with the id
    caption_id(key), which gives the numbers it shows), sized to its natural width and no wider
    than the page.
    None when the file is not plain drawing (a script or event handler): it is then embedded as
    an isolated image instead."""
    text = Path(path).read_text(encoding="utf-8")
    start = text.find("<svg")
    if start < 0 or SVG_UNSAFE.search(text):
        return None
    text = text[start:]
    prefix = figure_id_prefix(key)
    ids = set(SVG_ID.findall(text))
    text = SVG_REF.sub(lambda m: m.group(1) + (prefix + m.group(2) if m.group(2) in ids
                                                else m.group(2)), text)
    text = SVG_ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
    root_tag = SVG_ROOT.match(text)
    if root_tag is None:  # "<svg" without a well-formed start tag
        return None
    root = root_tag.group(0)
    size = _svg_size(root)
    attrs = re.sub(r'\s(width|height|class|role|aria-labelledby|aria-describedby)="[^"]*"', "", root[4:-1])
    if size:
        if "viewBox" not in attrs:
            attrs += f' viewBox="0 0 {size[0]:g} {size[1]:g}"'
        attrs += f' width="{size[2]:.0f}" height="{size[3]:.0f}"'
    title = f'<title id="{prefix}title">{escape(label)}</title>'
    return Markup(f'<svg{attrs} class="figure" role="img" aria-labelledby="{prefix}title" '
                  f'aria-describedby="{caption_id(key)}">{title}{text[len(root):]}')


def figure_id_prefix(key: str) -> str:
    """What the ids of an inline figure start with (its key, made a valid id)."""
    return "fig-" + re.sub(r"[^A-Za-z0-9_-]", "_", key) + "-"


def caption_id(key: str) -> str:
    """The id of a figure's figcaption, which its inline SVG names as its description."""
    return figure_id_prefix(key) + "caption"


def relative_link(path, report_dir) -> str:
    """The figure's address from the report: relative to the report's folder when it is known."""
    target = Path(path)
    if report_dir is not None:
        target = Path(os.path.relpath(os.path.abspath(target), os.path.abspath(report_dir)))
    return target.as_posix()


def plan_figures(candidates: list[tuple[str, FigurePath]], report_dir=None,
                 budget: int | None = None, labels: dict | None = None) -> dict[str, dict]:
    """Embed or link each figure: {key: {"svg": inline markup or None, "uri": data URI or None,
    "href": link, "path": link text}}.

    candidates: (key, path) in priority order; missing files and non-figures are left out. Figures
    are embedded in that order while they fit in the budget (EMBED_BUDGET characters); from the
    first that does not fit on, every figure is linked, so the embedded ones are always the most
    important. Only embedded files are read. labels: {key: text} for the SVGs' titles.
    """
    budget = EMBED_BUDGET if budget is None else budget
    plan, used, linking = {}, 0, False
    for key, path in candidates:
        length = embed_length(path)
        if length is None or path is None or key in plan:
            continue
        linking = linking or used + length > budget
        if linking:
            link = relative_link(path, report_dir)
            plan[key] = {"svg": None, "uri": None, "href": urllib.parse.quote(link), "path": link}
            continue
        used += length
        svg = inline_svg(path, key, (labels or {}).get(key, key)) \
            if Path(path).suffix.lower() == ".svg" else None
        plan[key] = {"svg": svg, "uri": None if svg else data_uri(path), "href": None,
                     "path": None}
    return plan


def figure_candidates(pooled_results: list[dict], figures: dict, prisma_svg) -> list[tuple[str, FigurePath]]:
    """Every figure of the report, most important first: review-wide figures (PRISMA, summary
    forest, risk of bias), then each outcome's forest plot, funnel plot and sensitivity plots,
    kind by kind in outcome order."""
    prisma = prisma_svg if data_uri_length(prisma_svg) is not None else figures.get("prisma")
    out = [("prisma", prisma)] + [(f.key, figures.get(f.key)) for f in registry.REVIEW_FIGURES]
    for figure in registry.OUTCOME_FIGURES:
        keys = [registry.figure_key(p["outcome"], figure.kind) for p in pooled_results]
        out += [(key, figures.get(key)) for key in keys]
    return out


def linked_summary(plan: dict) -> dict | None:
    """The report's top note: how many figures are embedded and linked, and the folders linked to."""
    linked = [f for f in plan.values() if f["href"] is not None]
    if not linked:
        return None
    # the folders beside the report that it links into (figures/, screening/), if all are beside it
    inside = all("/" in f["path"] and not f["path"].startswith(("../", "/")) for f in linked)
    folders = sorted({f["path"].split("/")[0] + "/" for f in linked}) if inside else []
    return {"embedded": len(plan) - len(linked), "linked": len(linked), "folders": folders,
            "budget_mb": f"{EMBED_BUDGET / 1e6:g}"}


def software_versions() -> dict[str, str]:
    """Python's version and those of the SOFTWARE that is installed."""
    return {"Python": platform.python_version(),
            **{name: version for name, version in installed(SOFTWARE).items() if version is not None}}


# ---------------------------------------------------------------------------------------------
# Sections


def model_table(pooled: dict) -> list[tuple[str, str]]:
    """Pooled results and heterogeneity as (quantity, value) rows."""
    if dependent_report.is_multilevel(pooled):
        return dependent_report.model_rows(pooled)
    m = pooled.get("model") or {}
    display = measures.display_of(pooled)
    robust = m.get("robust") is not None  # a robust outcome whose studies each hold one effect size
    rows = [
        ("Pooled estimate [95% CI]" + (" (CR2 cluster-robust)" if robust else ""),
         estimate_text(m.get("estimate"), m.get("ci_lb"), m.get("ci_ub"), display)),
        ("95% prediction interval", f"{dp.MISSING} (a common-effect model)" if common_effect(pooled) else
         dp.interval(dp.shown(m.get("pi_lb"), display), dp.shown(m.get("pi_ub"), display), missing=dp.MISSING,
                     null=dp.shown_null(display))),
        ("Robust test" if robust else "Test for overall effect", dependent_report.overall_test_text(pooled)),
        *dependent_report.model_based_rows(pooled),
        # a common-effect, Mantel-Haenszel or Peto fit has no tau² (metafor's rma.mh, rma.peto print none)
        *([] if common_effect(pooled) else
          [_with_ci("tau²", dp.tau2(m.get("tau2"), dp.MISSING), _tau2_ci(m))]),
        _with_ci("I²", dp.percent(m.get("I2"), 1, dp.MISSING), _ci(m.get("I2_ci"), 1, "%", _tau2_ci_signs(m))),
        _with_ci("H²", number(m.get("H2")), _ci(m.get("H2_ci"), signs=_tau2_ci_signs(m))),
        *_outside_q_profile(m, pooled.get("method")),
        ("Cochran's Q", f"Q = {number(m.get('Q'))}, df = {m.get('Q_df', '–')}, "
                        f"{dp.p_value(m.get('Q_pval'))}"),
        *mantel_haenszel_rows(m, pooled.get("measure")),
    ]
    ce = pooled.get("common_effect") or {}
    if ce:
        # beside a Mantel-Haenszel or Peto estimate (also common-effect), say which this one is
        kind = " (inverse variance)" if pooled.get("method") in measures.table_methods() else ""
        rows.append((f"Common-effect estimate{kind} [95% CI]",
                     estimate_text(ce.get("estimate"), ce.get("ci_lb"), ce.get("ci_ub"), display)))
    if not display.identity or display.percent:
        harmonic_means = "".join(f"; {k} = {v:.4g} (harmonic mean)" for k, v in display.args)
        rows.append(("Scale", display.scale_text + harmonic_means))
    return rows


def mantel_haenszel_rows(model: dict, measure: str | None) -> list[tuple[str, str]]:
    """The tests a Mantel-Haenszel fit has besides Q (metasr.stats.mh_tests), as metafor prints them."""
    rows = []
    if "CMH" in model:
        name = "Mantel-Haenszel test" if measure == "IRR" else "Cochran-Mantel-Haenszel test"
        rows.append((name, f"{'MH' if measure == 'IRR' else 'CMH'} = {number(model['CMH'])}, df = 1, "
                           f"{dp.p_value(model.get('CMH_pval'))}"))
    if "tarone" in model:
        rows.append(("Tarone's test for heterogeneity", f"X² = {number(model['tarone'])}, "
                                                         f"df = {dp.degrees_of_freedom(model.get('tarone_df'))}, "
                                                         f"{dp.p_value(model.get('tarone_pval'))}"))
    return rows


def _with_ci(quantity: str, value: str, ci: str) -> tuple[str, str]:
    """A (quantity, value) row that promises a CI only when it has one (Mantel-Haenszel and Peto
    fits have no CI for tau², I² or H²)."""
    return (f"{quantity} [95% CI]", f"{value} {ci}") if ci else (quantity, value)


def _ci(pair, digits=2, unit="", signs=("", "")) -> str:
    """[lb, ub]; `signs` (">" for a bound at the end of the search, as metafor prints ">100")."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or finite(pair[0]) is None:
        return ""
    return f"[{signs[0]}{number(pair[0], digits)}{unit}, {signs[1]}{number(pair[1], digits)}{unit}]"


def _tau2_ci_signs(model: dict) -> tuple[str, str]:
    return model.get("tau2_ci_lb_sign", ""), model.get("tau2_ci_ub_sign", "")


def _tau2_ci(model: dict) -> str:
    """tau²'s Q-profile CI in the estimate's format (metasr.display.tau2_decimals)."""
    return _ci(model.get("tau2_ci"), dp.tau2_decimals(model.get("tau2")), signs=_tau2_ci_signs(model))


# Moment estimators of tau²: the Q-profile interval (which inverts the generalised Q statistic with
# inverse-variance weights) need not contain them (metafor's confint() gives the same interval).
MOMENT_ESTIMATORS = {"DL": "DerSimonian-Laird", "HE": "Hedges", "SJ": "Sidik-Jonkman", "HS": "Hunter-Schmidt",
                     "HSk": "Hunter-Schmidt", "GENQ": "generalised Q"}


def _outside_q_profile(model: dict, method: str | None) -> list[tuple[str, str]]:
    """A note row when tau² lies outside its Q-profile CI (with it, I² and H² outside theirs)."""
    if not tau2_outside_ci(model):
        return []
    name = MOMENT_ESTIMATORS.get(method or "")
    estimate = f"The {name or method} estimate of tau²" if name or method else "tau²"
    basis = "it inverts the generalised Q statistic and is not built around a moment estimate" if name else \
        "it is not built around the estimate"
    return [("Note on the CIs", f"{estimate} lies outside its Q-profile 95% CI, and I² and H² outside theirs: {basis} "
                                "(metafor's confint() gives the same interval); the analysis uses the estimate.")]


def subgroup_section(pooled: dict) -> dict | None:
    """Per-level estimates and the test for subgroup differences, when the result has them; why
    not, when the outcome asked for them (`skipped`); None when it did not."""
    from metasr.stats.subgroup import normalise_subgroups

    sub = pooled.get("subgroups") or {}
    if sub.get("skipped"):
        return {"variable": sub.get("variable", ""), "run": False,
                "message": f"Subgroup analysis not run: {sub['skipped']}."}
    levels = normalise_subgroups(sub)
    if not levels:
        return None
    display = measures.display_of(pooled)
    not_estimable = sub.get("not_estimable") or {}  # an MH/Peto subgroup without events: RevMan's wording
    rows = [{"level": lv.get("level"), "k": _subgroup_k(lv),
             "estimate": "not estimable" if lv.get("level") in not_estimable else
             dp.pooled_estimate(lv, display, missing=dp.MISSING),
             "tau2": dp.tau2(lv.get("tau2"), dp.MISSING), "I2": number(lv.get("I2"), 1)} for lv in levels]
    df = sub.get("Q_between_df")
    if sub.get("Q_between") is None:  # one subgroup alone has an estimate: the note says why
        test = "not done"
    elif isinstance(df, list):  # an F test: the cluster-robust HTZ test of dependent effect sizes
        test = (f"{dp.f_statistic(df)} = {number(sub.get('Q_between'))} "
                f"({sub.get('Q_between_test')}), {dp.p_value(sub.get('Q_between_pval'))}")
    else:
        test = f"Q = {number(sub.get('Q_between'))}, df = {df if df is not None else '–'}, " \
               f"{dp.p_value(sub.get('Q_between_pval'))}"
    note = few_df_caveat(df[1]) if isinstance(df, list) else ""
    if sub.get("model") == "three-level":
        sigma2 = sub.get("sigma2") or [None, None]
        note = (f"Three-level model with one mean per subgroup; the subgroups share its variance components "
                f"(σ² between studies {dp.tau2(sigma2[0], dp.MISSING)}, within studies "
                f"{dp.tau2(sigma2[1], dp.MISSING)}), so no "
                "tau² or I² is given per subgroup. k: effect sizes (studies)." + (" " + note if note else ""))
    if sub.get("Q_between_note"):
        note = (note + " " if note else "") + f"{sub['Q_between_note'][0].upper()}{sub['Q_between_note'][1:]}."
    if display.args and any(lv.get("transformed") for lv in levels):
        names = " and ".join(name for name, _ in display.args)
        note = (note + " " if note else "") + (f"Each subgroup's estimate is back-transformed with the harmonic "
                                               f"mean of its own studies' {names}.")
    return {"variable": sub.get("variable", ""), "run": True, "rows": rows, "test": test, "note": note,
            "per_level_heterogeneity": sub.get("model") != "three-level"}


# Below this many denominator degrees of freedom a CR2 test rejects too often (Tipton 2015, for t
# tests; Tipton & Pustejovsky 2015, for the HTZ test).
FEW_ROBUST_DF = 4


def few_df_caveat(df) -> str:
    """What a reader should know of a cluster-robust test with few degrees of freedom, or ""."""
    value = finite(df)
    if value is None or value >= FEW_ROBUST_DF:
        return ""
    return (f"The cluster-robust test has {dp.degrees_of_freedom(value)} denominator degrees of freedom, fewer "
            f"than {FEW_ROBUST_DF}: its P value is not reliable (Tipton & Pustejovsky 2015).")


def _subgroup_k(level: dict):
    """k, or effect sizes (studies) where a subgroup of dependent effect sizes has both."""
    k = level.get("k", "")
    return f"{k} ({level['k_studies']})" if "k_studies" in level else k


# What metasr.stats.bias.REPORTED_EGGER is: metafor's regtest(fit).
EGGER_NAME = "Egger's regression test (the outcome's model with the standard error as predictor)"


SMALL_STUDY_ROWS = (  # method key, name, its caveat in one line
    ("egger", "Egger's regression test",
     "asymmetry has causes other than publication bias (heterogeneity, chance, genuine small-study effects)"),
    ("begg", "Begg's rank correlation",
     "less power than Egger's test; the same causes of asymmetry besides publication bias"),
    ("trimfill", "Trim and fill",
     "assumes the asymmetry is suppression of the most extreme results; unreliable under heterogeneity: "
     "a sensitivity analysis, not a correction"),
    ("pet_peese", "PET-PEESE",
     "biased towards zero under heterogeneity and when studies are few or of similar size"),
    ("selmodel", "Selection model",
     "assumes selection on one-sided p-values in the stated direction; unstable with few studies "
     "per p-value interval"),
)


# The tests of asymmetry whose power the number of studies limits (Cochrane Handbook 13.3.5.4).
LOW_POWER_TESTS = ("egger", "begg")


def low_power_caveat(pooled: dict) -> str:
    """Why the tests may miss asymmetry, when they ran on fewer studies than the Handbook's minimum
    (analysis_settings.SMALL_STUDY_MIN_K) because the outcome's small_study.min_k allows it; ""
    when k reaches that minimum."""
    k = finite(pooled.get("k"))
    if k is None or k >= SMALL_STUDY_MIN_K:
        return ""
    settings = (pooled.get("small_study") or {}).get("settings") or {}
    allowed = f" (small_study.min_k = {settings['min_k']})" if "min_k" in settings else ""
    return f"low power: k = {int(k)}, fewer than the {SMALL_STUDY_MIN_K} studies of {HANDBOOK_SMALL_STUDY}{allowed}"


def small_study_section(pooled: dict) -> dict:
    """The small-study methods side by side: one row per method with its test, its adjusted
    estimate and its caveat, or why it did not run; the whole section's reason when none ran."""
    small = pooled.get("small_study") or {}
    if not small:
        return {"run": False, "message": "Small-study methods were not run: no results."}
    if "skipped" in small:
        return {"run": False, "message": f"Small-study methods were not run: {small['skipped']}."}
    from metasr.stats.bias import reported_egger

    display = measures.display_of(pooled)
    robust = small.get("egger_robust")
    if robust:  # dependent effect sizes: Egger's test in the three-level model with CR2, nothing else
        return {"run": True, "note": small.get("not_run", ""), "model": "three-level model, CR2 (t test)",
                "rows": [{"method": "Egger's test (three-level model, CR2; for dependent effect sizes)",
                          "test": f"t = {number(robust.get('stat'))}, df = {number(robust.get('df'), 1)}, "
                                  f"{dp.p_value(robust.get('pval'))}",
                          "estimate": f"limit estimate {number(dp.shown(robust.get('limit_estimate'), display))}",
                          "caveat": "Rodgers and Pustejovsky 2021; asymmetry has causes other than publication "
                                    "bias", "run": True}]}
    rows = []
    low_power = low_power_caveat(pooled)
    for key, name, caveat in SMALL_STUDY_ROWS:
        caveat = f"{low_power}; {caveat}" if low_power and key in LOW_POWER_TESTS else caveat
        result = reported_egger(small) if key == "egger" else small.get(key)
        if result is None:
            rows.append({"method": name, "test": "not run: not in the pooling result", "estimate": "–",
                         "caveat": caveat, "run": False})
        elif "skipped" in result or result.get("message"):
            rows.append({"method": name, "test": f"not run: {result.get('skipped') or result.get('message')}",
                         "estimate": "–", "caveat": caveat, "run": False})
        else:
            test, estimate = SMALL_STUDY_TEXT[key](result, display, pooled)
            rows.append({"method": name, "test": test, "estimate": estimate, "caveat": caveat, "run": True})
    fit = small.get("fit") or {}
    return {"run": True, "rows": rows, "note": fit.get("note", ""),
            "model": f"{fit['method']}, {fit['test']} test" if fit.get("method") else ""}


def _egger_text(e: dict, display: measures.Display, pooled: dict) -> tuple[str, str]:
    test = ((pooled.get("small_study") or {}).get("fit") or {}).get("test") or pooled.get("test") or "z"
    stat = "z" if test == "z" else "t"
    test = f"{e.get('model', 'rma')} model, predictor {e.get('predictor', 'sei')}: {stat} = {number(e.get('stat'))}, " \
           f"{dp.p_value(e.get('pval'))}"
    estimate = estimate_text(e.get("limit_estimate"), e.get("limit_ci_lb"), e.get("limit_ci_ub"), display) \
        if finite(e.get("limit_ci_lb")) is not None else number(dp.shown(e.get("limit_estimate"), display))
    return test, f"limit estimate {estimate}"


def _begg_text(b: dict, display: measures.Display, pooled: dict) -> tuple[str, str]:
    return f"Kendall's tau = {number(b.get('kendall_tau'), 3)}, {dp.p_value(b.get('pval'))}", "–"


def _trimfill_text(t: dict, display: measures.Display, pooled: dict) -> tuple[str, str]:
    k0 = t.get("k0")
    test = f"{k0} stud{'y' if k0 == 1 else 'ies'} filled on the {t.get('side', '–')} side " \
           f"(estimator {t.get('estimator', 'L0')})"
    return test, "filled " + estimate_text(t.get("estimate"), t.get("ci_lb"), t.get("ci_ub"), display)


def _pet_peese_text(p: dict, display: measures.Display, pooled: dict) -> tuple[str, str]:
    pet = p.get("pet") or {}
    test = f"PET intercept {dp.p_value(pet.get('pval_est'))} ({p.get('model', 'lm')} model): " \
           f"{p.get('chosen')} reported"
    return test, f"{p.get('chosen')} " + estimate_text(p.get("est"), p.get("ci_lb"), p.get("ci_ub"), display)


def _selmodel_text(m: dict, display: measures.Display, pooled: dict) -> tuple[str, str]:
    deltas = ", ".join(number(d) for d in (m.get("delta") or [])[1 if m.get("type") == "stepfun" else 0:])
    if m.get("type") == "stepfun":
        shape = f"step function, steps {', '.join(f'{x:g}' for x in m.get('steps') or [])}, {m.get('alternative')}"
    else:
        shape = f"{m.get('type')}, {m.get('alternative')}"
    test = f"{shape}: LRT for selection χ²({m.get('LRTdf')}) = {number(m.get('LRT'))}, {dp.p_value(m.get('LRTp'))}; " \
           f"delta = {deltas}" + ("; a delta at its bound" if m.get("delta_at_bound") else "")
    beta = (m.get("beta") or [None])[0]
    lb, ub = ((m.get(bound) or [None])[0] for bound in ("ci_lb", "ci_ub"))
    return test, "adjusted " + estimate_text(beta, lb, ub, display)


SMALL_STUDY_TEXT = {"egger": _egger_text, "begg": _begg_text, "trimfill": _trimfill_text,
                    "pet_peese": _pet_peese_text, "selmodel": _selmodel_text}


def _omitted_text(omitted: dict) -> str:
    """A row a meta-regression left out: its study, the effect size when the study has others, why."""
    effect_size = f", {omitted['effect_size']}" if omitted.get("effect_size") else ""
    return f"{omitted.get('study_id')}{effect_size} ({omitted.get('reason')})"


def meta_regression_section(pooled: dict) -> dict | None:
    """The configured meta-regression: coefficients, the omnibus test, R2, the studies left out;
    or why it did not run. None when the outcome asks for none."""
    reg = pooled.get("meta_regression")
    if not reg:
        return None
    k = reg.get("k")
    k_text = (f"{k} effect sizes in {reg['k_studies']} studies (three-level model)" if "k_studies" in reg
              else f"{k} stud{'y' if k == 1 else 'ies'}")
    head = {"formula": reg.get("formula", ""), "method": reg.get("method", ""), "k": k, "k_text": k_text,
            "omitted": [_omitted_text(o) for o in reg.get("omitted") or []],
            "fit_note": reg.get("fit_note", "")}
    if "skipped" in reg:
        return {**head, "run": False, "message": f"Meta-regression not run: {reg['skipped']}."}
    display = measures.display_of(pooled)
    t_test = (reg.get("test") or "z") != "z"
    perm = reg.get("permutest") or {}
    rows = []
    for i, name in enumerate(reg.get("coef_names") or []):
        row = {"name": name, "estimate": number(reg["coef"][i], 4), "se": number(reg["se"][i], 4),
               "stat": number(reg["stat"][i]), "pval": dp.p_number(reg["pval"][i]),
               "ci": f"[{number(reg['ci_lb'][i], 4)}, {number(reg['ci_ub'][i], 4)}]"}
        if display.ratio:
            row["ratio"] = estimate_text(reg["coef"][i], reg["ci_lb"][i], reg["ci_ub"][i], display)
        if perm.get("pval"):
            row["perm"] = dp.p_number(perm["pval"][i])
        rows.append(row)
    df = reg.get("QM_df") or [None, None]
    qm = number(reg.get("QM"))
    omnibus = (f"{dp.f_statistic(df)} = {qm}" if t_test
               else f"QM = {qm}, df = {dp.degrees_of_freedom(df[0])}")
    if reg.get("robust"):
        omnibus += f" (HTZ, {reg['robust']})"
    summary = [("Test of moderators", f"{omnibus}, {dp.p_value(reg.get('QM_pval'))}")]
    if reg.get("robust") and few_df_caveat(df[1]):
        summary.append(("Caution", few_df_caveat(df[1])))
    if perm and "skipped" not in perm:
        kind = ("exact" if perm.get("exact")
                else f"{perm.get('permutations')} random permutations, seed {perm.get('seed')}")
        summary.append(("Permutation test of moderators", f"{dp.p_value(perm.get('QMp'))} ({kind})"))
    elif perm:
        summary.append(("Permutation test of moderators", f"not run: {perm['skipped']}"))
    if reg.get("model") == "three-level":  # metafor gives no R² for rma.mv; two variance components
        sigma2 = reg.get("sigma2") or [None, None]
        summary += [("Residual σ² (between studies, within studies)",
                     f"{dp.tau2(sigma2[0], dp.MISSING)}, {dp.tau2(sigma2[1], dp.MISSING)}")]
    else:
        r2_name = ("R² (adjusted, of the weighted least-squares regression)" if reg.get("method") == "FE"
                   else "R² (heterogeneity accounted for)")  # metafor's two definitions
        summary += [(r2_name, f"{number(reg.get('R2'), 1)}%" if finite(reg.get("R2")) is not None else "–")]
        # a common-effect meta-regression (a FE outcome's, a Mantel-Haenszel or Peto outcome's) has
        # no tau² (metafor prints none)
        summary += [("Residual tau²", "none (a common-effect model)")] if reg.get("method") in COMMON_EFFECT_METHODS \
            else [("Residual tau² [95% CI]", f"{dp.tau2(reg.get('tau2'), dp.MISSING)} {_tau2_ci(reg)}")]
    summary += [("Residual I²", f"{number(reg.get('I2'), 1)}%"),
                ("Residual heterogeneity", f"QE = {number(reg.get('Q'))}, df = {reg.get('Q_df', '–')}, "
                                           f"{dp.p_value(reg.get('Q_pval'))}")]
    return {**head, "run": True, "rows": rows, "summary": summary, "t_test": t_test, "has_ratio": display.ratio,
            "has_perm": bool(perm.get("pval")), "scale": display.record.analysis_scale}


def sensitivity_section(pooled: dict) -> dict:
    sens = pooled.get("sensitivity") or {}
    l1o = sens.get("leave1out") or {}
    # leave-one-out of a dependent outcome leaves out a study with all its effect sizes
    studies = dependent_report.units(pooled, l1o) or pooled.get("studies") or []
    display = measures.display_of(pooled)
    rows = []
    if l1o and l1o.get("estimate") and len(l1o["estimate"]) == len(studies):
        for i, s in enumerate(studies):
            rows.append({
                "omitted": s.get("label") or s.get("study_id"),
                "estimate": estimate_text(l1o["estimate"][i], (l1o.get("ci_lb") or [None] * len(studies))[i],
                                          (l1o.get("ci_ub") or [None] * len(studies))[i], display),
                "pval": dp.p_number((l1o.get("pval") or [None] * len(studies))[i]),
                "I2": number((l1o.get("I2") or [None] * len(studies))[i], 1),
            })
    influence = sens.get("influence") or {}
    flagged = influential_studies(influence, studies)
    cook = influence.get("cook_d") or []
    cumul = sens.get("cumulative") or {}
    cumulative = cumulative_rows(cumul, pooled.get("studies") or [], display, dependent_report.units(pooled, cumul))
    return {"leave1out": rows, "influential": flagged, "has_influence": bool(cook),
            "cumulative": cumulative, "cumulative_by": cumul.get("order_by"),
            "available": bool(rows or cook or cumulative), "leave1out_not_run": _leave1out_not_run(pooled, rows),
            "leave1out_p": tests_null(pooled),  # no P for a measure without a null, as in the main table
            "high_risk": high_risk_section(pooled)}


def high_risk_section(pooled: dict) -> dict | None:
    """The analysis without the studies at high risk of bias beside the main result (rows of
    quantity, all studies, without them), the studies it left out and the unjudged it kept; or why
    it did not run. None when it was not asked for (no risk of bias recorded, or turned off) or
    none of the outcome's studies has a judgement (the methods say so)."""
    section = (pooled.get("sensitivity") or {}).get("excluding_high_risk")
    if not section or _none_judged(section):
        return None
    left_out = [f"{s['label']} ({s['judgement']})" for s in section.get("left_out") or []]
    unjudged = section.get("kept_not_judged") or []
    kept = (f"{_n_studies(len(unjudged))} without an overall judgement kept: "
            + "; ".join(s["label"] for s in unjudged)) if unjudged else ""
    out = {"left_out": left_out, "kept": kept, "skipped": section.get("skipped") or "", "rows": []}
    if "model" not in section:
        return out
    main, sub = pooled.get("model") or {}, section["model"]
    display = measures.display_of(pooled)
    # each back-transformed with its own studies' targs (a Freeman-Tukey harmonic mean of ni)
    shown = ({**main, "transformed": pooled.get("transformed")}, {**sub, "transformed": section.get("transformed")})
    rows = [("Studies", str(dependence.study_count(pooled)), str(section.get("k_studies"))),
            ("Pooled estimate [95% CI]", *(dp.pooled_estimate(m, display, missing=dp.MISSING) for m in shown)),
            *([("P", *(dp.p_number(m.get("pval")) for m in (main, sub)))] if tests_null(pooled) else [])]
    if sub.get("sigma2") is not None:
        rows.append(("σ² (between, within studies)", *(_sigma2_text(m) for m in (main, sub))))
    elif not common_effect(pooled):
        rows.append(("tau²", *(dp.tau2(m.get("tau2"), dp.MISSING) for m in (main, sub))))
    rows.append(("I²", *(dp.percent(m.get("I2"), 1, dp.MISSING) for m in (main, sub))))
    return {**out, "rows": rows}


def _none_judged(section: dict) -> bool:
    """Whether none of the outcome's studies has an overall judgement (risk-of-bias columns left
    empty): the methods say the analysis did not run, a 'not run' section per outcome adds nothing."""
    return not section.get("left_out") and len(section.get("kept_not_judged") or []) == section.get("k_studies_all")


def _sigma2_text(model: dict) -> str:
    values = model.get("sigma2") or []
    return ", ".join(dp.tau2(v, dp.MISSING) for v in values) if isinstance(values, list) else dp.MISSING


def _n_studies(n: int) -> str:
    return f"{n} stud{'y' if n == 1 else 'ies'}"


def influential_studies(influence: dict, studies: list) -> list[str]:
    """The studies metafor's influence() marks influential, each with the criteria it meets
    ("Study (DFFITS 1.32 beyond ±1.06; hat value 0.31 > 0.23)")."""
    from metasr.stats.sensitivity import influence_reasons

    if len(influence.get("hat") or []) != len(studies):
        return []
    out = []
    for i, study in enumerate(studies):
        reasons = influence_reasons(influence, i)
        if reasons:
            met = "; ".join(f"{c.label} {number(value, 2)} {'beyond ±' if c.two_sided else '> '}{number(limit, 2)}"
                            for c, value, limit in reasons)
            out.append(f"{study.get('label') or study.get('study_id')} ({met})")
    return out


def _leave1out_not_run(pooled: dict, rows: list) -> str:
    """Why a pooled outcome has no leave-one-out or influence analysis, when too few studies is why."""
    from metasr.analysis_settings import SENSITIVITY_MIN_K

    k = (pooled.get("model") or {}).get("k")
    if rows or pooled.get("status") != "pooled" or not isinstance(k, int) or k >= SENSITIVITY_MIN_K \
            or dependent_report.is_multilevel(pooled):  # k counts effect sizes there, not studies
        return ""
    return (f"Leave-one-out and influence diagnostics not run: k = {k}; they need at least {SENSITIVITY_MIN_K} "
            "studies (each refit keeps two).")


def cumulative_rows(cumul: dict, studies: list[dict], display: measures.Display,
                    units: list[dict] | None = None) -> list[dict]:
    """One row per step of the cumulative meta-analysis: the study added and the estimate so far
    (`units`: the studies added, in order, when the analysis adds whole studies)."""
    if units is not None:
        return [{"added": s.get("label") or s.get("study_id"), "year": s.get("year") or "", "k": step + 1,
                 "estimate": estimate_text(cumul["estimate"][step], cumul["ci_lb"][step], cumul["ci_ub"][step], display)
                 if cumul["estimate"][step] is not None else "– (one study)",
                 "I2": number((cumul.get("I2") or [None] * len(units))[step], 1)} for step, s in enumerate(units)]
    order = cumul.get("study_index") or []
    if not order or len(order) != len(studies) or not cumul.get("estimate"):
        return []
    rows = []
    for step, i in enumerate(order):
        s = studies[i]
        rows.append({"added": s.get("label") or s.get("study_id"), "year": s.get("year") or "",
                     "k": step + 1,
                     "estimate": estimate_text(cumul["estimate"][step], cumul["ci_lb"][step], cumul["ci_ub"][step],
                                               display),
                     "I2": number((cumul.get("I2") or [None] * len(order))[step], 1)})
    return rows


def studies_table(extraction_rows: list[dict], measure: str | None,
                  pooled_studies: list[dict] | None = None, display: measures.Display | None = None) -> list[dict]:
    """Extraction rows with the effect the pooling step computed for each usable row (matched
    by study id, in order) and its weight in the analysis (percent, as the forest plot gives it),
    so conversions and their results sit side by side; `display` is the outcome's display
    (default: its measure's)."""
    display = measures.display_of({"measure": measure}) if display is None else display
    computed: dict[str, list[dict]] = {}
    for s in pooled_studies or []:
        computed.setdefault(str(s.get("study_id")), []).append(s)
    out = []
    for index, r in enumerate(extraction_rows):
        usable = str(r.get("usable", "")).strip().lower() in {"true", "1", "yes"}
        yi, vi = finite(r.get("yi")), finite(r.get("vi"))
        effect = ""
        match = computed.get(str(r.get("study_id")))
        arms, conversion, weight = "", r.get("conversion", ""), None
        if usable and match:
            s = match.pop(0)
            weight = finite(s.get("weight"))
            effect = estimate_text(s.get("yi"), s.get("ci_lb"), s.get("ci_ub"), display.for_study(s))
            arms = dp.arm_text(s)
            conversion = s.get("conversion", conversion)  # with escalc's continuity correction
        elif yi is not None and vi is not None:
            se = math.sqrt(vi)
            effect = estimate_text(yi, yi - Z * se, yi + Z * se,
                                   display.for_study({k: finite(v) for k, v in r.items()}))
        out.append({
            "row": index,  # the row of the results file (the table's download), whatever order it is shown in
            "study_id": r.get("study_id", ""), "label": r.get("label") or r.get("study_id", ""),
            **{key: _text(r.get(key)) for key in dependence.ES_KEYS},
            "year": r.get("year", ""), "usable": usable,
            "not_usable_reason": r.get("not_usable_reason", ""),
            "reported_form": r.get("reported_form", ""), "conversion": conversion,
            "conversion_detail": r.get("conversion_detail", ""),
            "n": " / ".join(v for v in (r.get("n1i", ""), r.get("n2i", "")) if v) or r.get("ni", ""),
            "effect": effect, "arms": arms, "weight": weight, "weight_text": dp.percent(weight),
            "source_location": r.get("source_location", ""),
            "links": links(r.get("source_url")),
        })
    return out


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()


# The headers of the columns that tell a study's rows apart (dependence.ES_KEYS).
ES_HEADERS = {"comparison": "Comparison", "timepoint": "Time point", "es_id": "Effect size (es_id)"}


def es_columns(rows: list[dict]) -> list[tuple[str, str]]:
    """(key, header) of the effect-size label columns the outcome's rows fill (dependence.ES_KEYS),
    so that several rows of one study can be told apart; none when no row fills one."""
    return [(key, ES_HEADERS[key]) for key in dependence.ES_KEYS if any(r.get(key) for r in rows)]


def in_forest_order(rows: list[dict], pooled: dict, outcome_cfg: dict) -> list[dict]:
    """The studies table's rows with each study where the forest plot has it (its rows together, in
    the results file's order); studies the forest does not show (no usable row) after them, in
    natural order of their label (District 11 before District 108)."""
    order = {sid: i for i, sid in enumerate(study_order(pooled, configured_sort(outcome_cfg)))}
    return sorted(rows, key=lambda r: (order.get(str(r["study_id"]), len(order)), _natural(str(r["label"])),
                                       r["row"]))


def _natural(text: str) -> tuple:
    """A sort key that orders the numbers in a text by value."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
                 for part in re.split(r"(\d+)", text) if part)


def outcome_section(pooled: dict, outcome_cfg: dict, extraction_rows: list[dict],
                    plan: dict, studies_by_id: dict) -> dict:
    """plan: the figures' plan_figures entries by key (a figure that is not in it is not shown)."""
    oid = pooled["outcome"]
    figs = []
    regression = meta_regression_section(pooled)
    for kind in registry.OUTCOME_FIGURES:
        figure = plan.get(registry.figure_key(oid, kind.kind))
        if kind.section == "meta_regression" and not (regression and regression["run"]):
            continue  # the section says why there is no model to plot
        if figure:
            figs.append({"key": registry.figure_key(oid, kind.kind), "kind": kind.kind, "heading": kind.heading,
                         "caption": figure_caption(kind, pooled), "section": kind.section,
                         "numbers": describe_outcome_figure(kind.kind, pooled), **figure})
    return {
        "id": oid, "label": pooled.get("label") or outcome_cfg.get("label") or oid,
        "measure": pooled.get("measure") or outcome_cfg.get("measure", ""),
        "unit": outcome_cfg.get("unit", ""), "higher_is": outcome_cfg.get("higher_is", ""),
        "single_group": measures.single_group(measures.display_of(pooled, outcome_cfg).measure),
        "method": pooled.get("method", ""), "status": pooled.get("status", ""),
        "status_message": pooled.get("status_message", ""), "k": pooled.get("k", 0),
        "counts": dependence.counts_text(pooled), "dependence": dependent_report.section(pooled),
        "k_rows": pooled.get("k_rows", len(extraction_rows)),
        "k_not_usable": pooled.get("k_not_usable", 0),
        "studies": in_forest_order(studies_table(extraction_rows, pooled.get("measure"), pooled.get("studies") or [],
                                                 measures.display_of(pooled)), pooled, outcome_cfg),
        "es_columns": es_columns(extraction_rows),
        "model": model_table(pooled) if pooled.get("status") == "pooled" else [],
        "scale_notes": scale_notes(pooled),
        "subgroups": subgroup_section(pooled),
        "small_study": small_study_section(pooled),
        "meta_regression": regression,
        "sensitivity": sensitivity_section(pooled),
        "figures": [f for f in figs if f["section"] == "figures"],
        "section_figures": {f["kind"]: f for f in figs if f["section"] != "figures"},
        "grade": grade_outcome(pooled, outcome_cfg, studies_by_id),
        "source": table_source(f"results/extraction/{oid}.csv", extraction_rows),
    }


def figure_caption(kind: registry.OutcomeFigure, pooled: dict) -> str:
    """The figure's caption (metasr.outputs); a funnel or forest plot says what it draws for this
    outcome (metasr.figures.shown); a cumulative analysis gives its order, or why it did not run."""
    if kind.kind == "funnel":
        return funnel_caption(pooled)
    if kind.kind == "forest":
        return forest_caption(pooled)
    cumulative = (pooled.get("sensitivity") or {}).get("cumulative") or {}
    if kind.kind != "cumulative" or not cumulative:
        return kind.caption
    if cumulative.get("skipped"):
        return f"Cumulative meta-analysis not run: {cumulative['skipped']}."
    return f"Pooled estimate as studies accrue by {cumulative.get('order_by') or 'order'}."


def table_source(file: str, rows: list[dict]) -> dict | None:
    """A results file's rows for the CSV download of the table that shows them (row i of the
    table is row i of the file): {"file", "columns", "rows"}; None without rows."""
    if not rows:
        return None
    columns = list(rows[0])
    return {"file": file, "columns": columns,
            "rows": [[r.get(c) if r.get(c) is not None else "" for c in columns] for r in rows]}


def json_script(data) -> Markup:
    """JSON to place in a <script type="application/json">: '</' and '<!--' cannot end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("</", "<\\/").replace("<!--", "<\\u0021--"))


def describe_outcome_figure(kind: str, pooled: dict) -> str:
    """The numbers a figure shows, as text (its text alternative beside the caption)."""
    m = pooled.get("model") or {}
    display = measures.display_of(pooled)
    measure = display.value_name  # what the numbers shown are: "ZCOR" pooled, r shown
    if kind == "forest":
        counts = dependence.counts_text(pooled)
        if pooled.get("status") != "pooled":
            return f"{counts}; not pooled."
        text = f"{counts}; pooled {measure} " + estimate_text(m.get("estimate"), m.get("ci_lb"),
                                                                 m.get("ci_ub"), display)
        if forest_draws_prediction(pooled):  # a common-effect model's "PI" is its CI (metafor): none drawn
            text += "; 95% prediction interval " + dp.interval(dp.shown(m.get("pi_lb"), display),
                                                                 dp.shown(m.get("pi_ub"), display),
                                                                 null=dp.shown_null(display))
        return text + (f"; I² = {dp.percent(m.get('I2'), 1)}." if finite(m.get("I2")) is not None else ".")
    small = pooled.get("small_study") or {}
    if kind == "funnel" and small and "skipped" not in small:
        egger = (funnel_egger(small) or ({}, ""))[0]
        parts = [f"Egger's test {dp.p_value(egger.get('pval'))}"] if finite(egger.get("pval")) is not None else []
        k0 = finite((funnel_trimfill(small) or {}).get("k0"))
        if k0 is not None:
            parts.append(f"trim-and-fill filled {k0:.0f} stud{'y' if k0 == 1 else 'ies'}")
        return "; ".join(parts) + "." if parts else ""
    if kind == "bubble":
        return describe_bubble(pooled)
    if kind == "baujat":
        return describe_baujat(pooled)
    sens = pooled.get("sensitivity") or {}
    steps = (sens.get(kind) or {}).get("estimate") or []  # one per study (None: not estimable)
    values = [dp.shown(v, display) for v in steps if finite(v) is not None]
    d = dp.decimals_for(values)
    if kind == "leave1out" and values:
        return f"With one study omitted the pooled {measure} ranges from {number(min(values), d)} to " \
               f"{number(max(values), d)}."
    if kind == "cumulative" and values:
        return f"The cumulative {measure} moves from {number(values[0], d)} ({_first_steps(steps)}) to " \
               f"{number(values[-1], d)} (all {len(steps)} studies)."
    return ""


def describe_baujat(pooled: dict) -> str:
    """The studies the Baujat plot names (metasr.figures.influence: the most outlying), with
    their coordinates."""
    from metasr.figures.forest_rows import study_label  # (imports matplotlib: only for this text)
    from metasr.figures.influence import baujat_outlying, baujat_points

    points = baujat_points(pooled)
    if isinstance(points, str):
        return ""
    named = baujat_outlying(points.x, points.y)
    x_name = "contribution to Q" if points.method == "FE" else "squared Pearson residual"
    which = "every study" if len(named) == len(points.studies) else \
        f"the {len(named)} most outlying of {len(points.studies)} (farthest from the origin, each axis scaled to its " \
        "largest value)"
    return f"Named in the plot, {which}, as ({x_name}, influence on the pooled result): " \
        + "; ".join(f"{study_label(points.studies[i])} ({number(points.x[i])}, {number(points.y[i], 3)})"
                    for i in named) + "."


def _first_steps(steps: list) -> str:
    """The studies behind a cumulative analysis's first estimate: "first study", or "first 2 studies"
    when it starts later (a multilevel model needs two studies)."""
    first = next(i for i, v in enumerate(steps) if finite(v) is not None)
    return "first study" if first == 0 else f"first {first + 1} studies"


def describe_bubble(pooled: dict) -> str:
    """The meta-regression's numbers beside its bubble plot."""
    reg = pooled.get("meta_regression") or {}
    if not reg or "skipped" in reg:
        return ""
    columns = (reg.get(key) or [] for key in ("coef_names", "coef", "ci_lb", "ci_ub"))
    slopes = [f"{name} {number(b, 4)} [{number(lb, 4)}, {number(ub, 4)}]"
              for name, b, lb, ub in zip(*columns, strict=True) if name != "intrcpt"]
    counted = (f"{reg.get('k')} effect sizes from {reg.get('k_studies')} studies" if reg.get("k_studies") is not None
               and reg.get("k_studies") != reg.get("k") else f"{reg.get('k')} studies")  # a three-level model's
    text = (f"{counted}; coefficients {'; '.join(slopes)}; "
            f"test of moderators {dp.p_value(reg.get('QM_pval'))}")
    return text + (f"; R² = {number(reg.get('R2'), 1)}%." if finite(reg.get("R2")) is not None else ".")


def describe_prisma(prisma: dict | None, meta: dict | None = None) -> str:
    if not prisma:
        return ""
    records, included = prisma.get("records") or {}, prisma.get("included") or {}
    text = f"Records identified: {records.get('identified', '–')}; unique after de-duplication: " \
           f"{records.get('unique', '–')}; studies included: {included.get('studies', '–')} " \
           f"(reports: {included.get('reports', '–')})"
    if meta:
        text += f"; studies included in meta-analysis: {meta['studies']}" + (
            f" (reports: {meta['reports']})" if meta.get("reports") is not None else "")
    columns = prisma.get("columns") or {}
    return " ".join([text + "."] + [f"{title}: {describe_prisma_column(columns[name])}."
                                    for name, title in PRISMA_COLUMNS if columns.get(name)])


# The PRISMA 2020 flow's columns and the boxes of each, in the diagram's order (metasr.figures.prisma).
PRISMA_COLUMNS = (("databases", "Databases and registers"), ("other", "Other methods"))
PRISMA_BOXES = (("identified", "records identified", "identified_by_database"),
                ("duplicates", "duplicate records removed", None),
                ("removed_automation", "records marked as ineligible by automation tools", None),
                ("removed_other", "records removed for other reasons", None),
                ("screened", "records screened", None), ("excluded", "records excluded", "excluded_reasons"),
                ("sought", "reports sought for retrieval", None), ("not_retrieved", "reports not retrieved", None),
                ("assessed", "reports assessed for eligibility", None),
                ("reports_excluded", "reports excluded", "reports_excluded_reasons"),
                ("studies_included", "studies included", None), ("reports_included", "their reports", None))


def describe_prisma_column(column: dict) -> str:
    """One column of the PRISMA flow as text: every box the diagram draws, with the sources and
    the exclusion reasons counted (removals the column did not have, at 0, left out)."""
    parts = []
    for key, name, detail in PRISMA_BOXES:
        n = column.get(key)
        if n is None or (key.startswith("removed_") and not n):
            continue
        counted = [f"{d.get('reason') or d.get('database')} {d.get('n')}" for d in column.get(detail) or []] \
            if detail else []
        parts.append(f"{name} {n}" + (f" ({'; '.join(counted)})" if counted else ""))
    return ", ".join(parts)


def describe_rob(studies: list[dict]) -> str:
    """The overall judgements counted over every study of the studies sheet."""
    counts: dict[str, int] = {}
    for row in studies:
        study = rob.assess(row)
        if study.tool and study.assessed:
            key = f"{study.tool.name} {rob.said(study.tool.id, study.overall) or 'overall not given'}"
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return ""
    return f"Overall judgements of all {len(studies)} studies of the studies sheet: " \
        + "; ".join(f"{key}: {n}" for key, n in sorted(counts.items())) \
        + f"; not assessed: {len(studies) - sum(counts.values())}."


def rob_tables(studies: list[dict]) -> list[dict]:
    """The traffic-light plot as tables, one per tool: a row per assessed study in the plot's
    order, a column per domain and the overall judgement, in words."""
    from metasr.figures import rob as rob_figures

    assessed = rob_figures.forest_order([rob.assess(row) for row in studies], studies)
    tables = []
    for tool, rows in rob_figures.assessed_panels(assessed):
        columns = [d.column for d in tool.domains] + [rob.OVERALL]
        tables.append({"tool": tool.name, "columns": [{"short": tool.short(d), "name": d.name} for d in tool.domains],
                       "rows": [{"label": s.label, "cells": [rob_figures.judgement_text(s, c) for c in columns]}
                                for s in rows]})
    return tables


def rob_figure_coverage(key: str, config: dict) -> str:
    """Which studies a risk-of-bias figure covers: the weighted summary plot only the studies of the
    weight outcome's analysis (weighted by their weight in it); the others every study."""
    settings = config.get("risk_of_bias") or {}
    if key == "rob_summary" and settings.get("summary") == "weighted":
        outcome = settings.get("weight_outcome")
        label = ((config.get("outcomes") or {}).get(outcome) or {}).get("label") or outcome
        return f" The bars are shares of the weight in the analysis of {label}, so they cover that analysis' " \
               "studies only (a study not assessed is the grey share)."
    if key == "rob_traffic":
        return f" It covers every study of the studies sheet, {ROB_ORDER}."
    return " It covers every study of the studies sheet."


# The traffic-light plot's order (metasr.figures.rob.read_judgements), as its caption says it.
ROB_ORDER = "in year order (then by label), the forest plots' default order"


def summary_of_findings(sections: list[dict], pooled_results: list[dict],
                        outcomes_cfg: dict) -> dict:
    """The summary-of-findings rows (metasr.report.sof) with footnotes numbered across them."""
    rows = []
    for s, p in zip(sections, pooled_results, strict=True):
        cfg = outcomes_cfg.get(p.get("outcome")) or {}
        rows.append({**sof_row(s, p, cfg), "sort": sof_sort_keys(p, cfg) if s["grade"].get("applicable") else {},
                     "grade": s["grade"], "single_group": s["single_group"]})
    # two-group outcomes first: beside them, single-group ones have a table of their own (no
    # comparison to state), and the footnotes are numbered in the order the tables show them
    rows.sort(key=lambda r: r["single_group"])
    return {"rows": rows, "footnotes": number_footnotes(rows)}


def sof_sort_keys(pooled: dict, outcome_cfg: dict) -> dict[str, float]:
    """Signed values to sort the summary of findings by, where its text reads a size with a word for
    the direction ("29 fewer per 1,000", "SMD 0.18 lower"): `difference`, the first absolute effect's
    difference (per 1,000, or in the outcome's unit), and `relative`, the pooled estimate as shown."""
    from metasr.report import sof

    keys = {}
    estimate = measures.display_of(pooled).shown(finite((pooled.get("model") or {}).get("estimate")))
    if estimate is not None:
        keys["relative"] = estimate
    settings = outcome_cfg.get("sof") or {}
    absolute = sof.absolute_effects(pooled, settings)
    continuous = sof.continuous_effect(pooled, settings, outcome_cfg.get("unit", ""))
    if absolute:
        keys["difference"] = float(absolute[0]["difference"][0])
    elif continuous:
        keys["difference"] = float(continuous["difference"][0])
    return keys


def published_comparison(pooled_results: list[dict], outcomes_cfg: dict) -> list[dict]:
    """Our estimate next to the published one (both on the natural scale), the measure named by
    what the numbers shown are (`Display.value_name`: "correlation" for ZCOR pooled, shown as r)."""
    rows = []
    for pooled in pooled_results:
        cfg = outcomes_cfg.get(pooled.get("outcome")) or {}
        published = pooled.get("published") or cfg.get("published")
        display = measures.display_of({**pooled, "measure": pooled.get("measure") or cfg.get("measure")}, cfg)
        m = pooled.get("model") or {}
        ours = estimate_text(m.get("estimate"), m.get("ci_lb"), m.get("ci_ub"), display) \
            if pooled.get("status") == "pooled" else (pooled.get("status_message") or "–")
        if published:
            theirs = dp.ci(published.get("estimate"), published.get("ci_lb"), published.get("ci_ub"),
                           missing=dp.MISSING, null=dp.shown_null(display))
        else:
            theirs = "–"
        agreement = ""
        est = display.back(m.get("estimate"))  # published estimates are on the display scale, not in %
        lb, ub = (finite((published or {}).get(bound)) for bound in ("ci_lb", "ci_ub"))
        if est is not None and lb is not None and ub is not None:
            inside = lb <= est <= ub
            agreement = "within the published CI" if inside else "outside the published CI"
        rows.append({"id": pooled.get("outcome"), "label": pooled.get("label"),
                     "measure": display.value_name, "k": pooled.get("k"),
                     "ours": ours, "published": theirs,
                     "source": (published or {}).get("source", ""), "agreement": agreement})
    return rows


def narrative_rows(narrative: list[dict], outcome_sections: list[dict]) -> list[dict]:
    rows = []
    for r in narrative:
        rows.append({"study_id": r.get("study_id", ""), "outcome": r.get("outcome", ""),
                     "comparison": r.get("comparison", ""),
                     "n": " / ".join(v for v in (r.get("n1", ""), r.get("n2", "")) if v),
                     "finding": r.get("finding", ""), "direction": r.get("direction", ""),
                     "p_value": r.get("p_value", ""), "why": "not poolable as reported",
                     "links": links(r.get("source_url"))})
    for section in outcome_sections:
        for s in section["studies"]:
            if not s["usable"]:
                rows.append({"study_id": s["study_id"], "outcome": section["id"],
                             "comparison": "", "n": s["n"],
                             "finding": s["reported_form"], "direction": "",
                             "p_value": "", "why": s["not_usable_reason"] or "not usable",
                             "links": s["links"]})
    return rows


def rob_is_assessed(studies: list[dict]) -> bool:
    return any(str(s.get(c) or "").strip() for s in studies for c in rob.ALL_COLUMNS)


def asset(name: str) -> str:
    """A file of templates/ (the report's style sheet and script), to inline."""
    text = (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"{name} would end its own element")
    return text


def flow_origin(prisma: dict | None) -> str:
    """Where the review's PRISMA counts come from, in one sentence."""
    if not prisma:
        return ("none: the review starts from its included studies and declares no PRISMA counts "
                "(config `prisma:`)")
    if prisma.get("origin") == "declared":
        return f"declared in the config, from {prisma.get('source') or 'an unnamed source'} (not counted by metasr)"
    return "counted by metasr from the search exports and screening decisions"


def studies_without_data(config: dict, studies: list[dict], extraction: dict[str, list[dict]],
                         narrative: list[dict]) -> list[str]:
    """The studies of studies.csv with no row in any outcome's extraction table nor the narrative
    sheet, and no no_data_reason (the validation's study-has-data warning); none when the tables of
    some configured outcome are missing, as then it cannot be told."""
    from metasr.extraction.validate import studies_without_data as without_rows

    if not set(config.get("outcomes") or {}) <= set(extraction):
        return []
    extracted = {row.get("study_id") or "" for rows in [*extraction.values(), narrative] for row in rows}
    return without_rows({s.get("study_id", ""): s for s in studies if s.get("study_id")}, extracted)


def review_summary(config, prisma, studies, sections, meta: dict | None = None,
                   without_data: list[str] | None = None) -> list[tuple[str, str]]:
    """The review's counts; `without_data` names the studies of the extraction sheet that have no
    extraction rows and no no_data_reason."""
    by_status: dict[str, list[str]] = {}
    for s in sections:
        by_status.setdefault(s["status"], []).append(s["label"])
    rows = []
    if prisma:
        records = prisma.get("records") or {}
        rows.append(("Records identified", str(records.get("identified", "–"))))
        rows.append(("Unique records after de-duplication", str(records.get("unique", "–"))))
        included = prisma.get("included") or {}
        rows.append(("Studies included (reports)",
                     f"{included.get('studies', '–')} ({included.get('reports', '–')})"))
    if meta is not None:
        if meta.get("reports") is not None:  # without a search stage, reports are not counted
            rows.append(("Studies included in meta-analysis (reports)", f"{meta['studies']} ({meta['reports']})"))
        else:
            rows.append(("Studies included in meta-analysis", str(meta["studies"])))
        # a study pooled for two outcomes gives an effect size to each: the count is per outcome, summed
        outcomes = len(meta.get("outcomes") or [])
        rows.append((f"Effect sizes pooled (summed over the {outcomes} pooled outcomes)" if outcomes > 1
                     else "Effect sizes pooled", str(meta["effect_sizes"])))
    counted = str(len(studies))
    if without_data:
        counted += (f" ({len(without_data)} with no extraction rows and no no_data_reason: "
                    f"{', '.join(without_data)})")
    rows.append(("Studies in the extraction sheet", counted))
    rows.append(("Outcomes planned", str(len(sections))))
    rows.append(("Outcomes pooled", str(len(by_status.get("pooled", [])))))
    rows.append(("Outcomes with one study (not pooled)", str(len(by_status.get("single_study", [])))))
    rows.append(("Outcomes with no study-level data yet", str(len(by_status.get("no_data", [])))))
    return rows


# ---------------------------------------------------------------------------------------------
# Rendering


class _Environment(jinja2.Environment):
    """Jinja's environment, looking `a.b` up in a dict by key first.

    The report's context is dicts: Jinja tries `getattr` first and pays an exception for every key
    it finds (1.8 million at 2,000 outcomes, a tenth of the report's time). A dict's own attributes
    (`.get`, `.items`) are still found as attributes, so templates mean the same.
    """

    def getattr(self, obj, attribute):
        if type(obj) is dict and not hasattr(dict, attribute):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def environment() -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.PackageLoader("metasr.report", "templates"),
        autoescape=True,  # every template, whatever its extension: data text is always escaped
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["number"] = number
    env.filters["ci"] = lambda snapshot: dp.ci(snapshot.get("estimate"), snapshot.get("ci_lb"),
                                               snapshot.get("ci_ub"), missing=dp.MISSING)
    env.filters["json_script"] = json_script
    env.filters["caption_id"] = caption_id
    return env


def read_pooled(pooled_jsons) -> list[dict]:
    """The pooled results in `pooled_jsons` (files that are missing or hold nothing left out)."""
    return [result for result in map(read_json, pooled_jsons) if result]


def report_context(config: dict, pooled: list[dict], extraction_csvs: list, prisma_json,
                   prisma_svg, figures: dict, studies_csv, narrative_csv, inputs: list,
                   report_dir=None, checksums: dict[str, str] | None = None) -> dict:
    """pooled: the outcomes' pooled results (read_pooled), left as they are; report_dir: the
    folder the report is written to, which linked figures are relative to (without it, links are
    the figure paths as given); checksums: the SHA-256 of `inputs` by path, when the caller has
    them already (else they are computed here)."""
    figures = {k: v for k, v in (figures or {}).items() if v}
    outcomes_cfg = config.get("outcomes") or {}
    pooled_results = [_on_configured_scale(p, outcomes_cfg) for p in pooled]
    order = list(outcomes_cfg)
    pooled_results.sort(key=lambda p: (order.index(p["outcome"]) if p.get("outcome") in order
                                       else len(order), str(p.get("outcome"))))
    extraction = {Path(p).stem: read_csv(p) for p in extraction_csvs or []}
    studies = read_csv(studies_csv)
    studies_by_id = {s.get("study_id", ""): s for s in studies}
    labels = {"prisma": "PRISMA 2020 flow diagram",
              **{f.key: f"Risk of bias: {f.heading.lower()}" if f.section == "risk_of_bias" else f.heading
                 for f in registry.REVIEW_FIGURES}}
    for p in pooled_results:
        for figure in registry.OUTCOME_FIGURES:
            labels[registry.figure_key(p["outcome"], figure.kind)] = \
                f"{figure.heading}: {p.get('label') or p.get('outcome')}"
    plan = plan_figures(figure_candidates(pooled_results, figures, prisma_svg), report_dir,
                        labels=labels)
    sections = [outcome_section(p, outcomes_cfg.get(p.get("outcome")) or {},
                                extraction.get(p["outcome"], []), plan, studies_by_id)
                for p in pooled_results]
    prisma = read_json(prisma_json)
    meta = meta_analysis_counts(prisma or {}, pooled_results)
    narrative_sheet = read_csv(narrative_csv)
    narrative = narrative_rows(narrative_sheet, sections)
    rob_numbers = describe_rob(studies)
    software = software_versions()
    review = config.get("review") or {}
    return {
        "review": review,
        "groups": review.get("groups") or {},
        "comparison": not sections or not all(s["single_group"] for s in sections),
        "summary": review_summary(config, prisma, studies, sections, meta,
                                  studies_without_data(config, studies, extraction, narrative_sheet)),
        "linked_figures": linked_summary(plan),
        "linked_note": LINKED_NOTE,
        "prisma": plan.get("prisma"),
        "flow_origin": flow_origin(prisma),
        "prisma_numbers": describe_prisma(prisma, meta),
        "summary_forest": plan.get("summary_forest"),
        "rob_assessed": rob_is_assessed(studies),
        "rob_figures": [{"key": key, "heading": heading, "numbers": rob_numbers,
                         "covers": rob_figure_coverage(key, config), **plan[key]}
                        for key, heading in ((f.key, f.heading) for f in registry.REVIEW_FIGURES
                                             if f.section == "risk_of_bias") if key in plan],
        "rob_tools": [{"name": t.name, "source": t.source} for t in rob.tools_used(studies)],
        "rob_tables": rob_tables(studies),
        "sections": sections,
        "sof": summary_of_findings(sections, pooled_results, outcomes_cfg),
        "domains": [(d, DOMAIN_NAMES[d]) for d in DOMAINS],
        "upgrades": [(u, UPGRADE_NAMES[u]) for u in UPGRADES],
        "assets": {"css": Markup(asset("report.css")), "js": Markup(asset("report.js"))},
        "published": published_comparison(pooled_results, outcomes_cfg),
        "narrative": narrative,
        "methods": methods_paragraph(config, pooled_results, software, extraction, len(narrative), prisma,
                                     studies, double_extraction(config)),
        "software": software,
        "checksums": [{"path": p, "sha256": (checksums or {}).get(p) or file_sha256(p)}
                      for p in sorted(map(str, inputs or []))
                      if Path(p).is_file()],
        "missing_inputs": [str(p) for p in inputs or [] if not Path(p).is_file()],
    }


def double_extraction(config: dict) -> dict | None:
    """The comparison of the two extractions (the review's paths, relative to the folder the report
    is written from), when the review has a second extractor."""
    if not (config.get("extraction") or {}).get("second_extractor_dir"):
        return None
    return discrepancy_report(config, Path("."))


def _on_configured_scale(pooled: dict, outcomes_cfg: dict) -> dict:
    """The results with the scale the outcome's config gives (generic effects on the log scale are
    shown as ratios): a copy where the scale is added, so the caller's results stay as read (the
    change log summarises them as pooled)."""
    scale = (outcomes_cfg.get(pooled.get("outcome")) or {}).get("scale")
    return {**pooled, "scale": scale} if scale and not pooled.get("scale") else pooled


def render_report(context: dict) -> str:
    return environment().get_template("report.html.j2").render(**context)


def write_report(config: dict, pooled_jsons: list, extraction_csvs: list, prisma_json, prisma_svg,
                 figures: dict, studies_csv, narrative_csv, inputs: list, out_html) -> None:
    """Workflow step: write the self-contained report.

    config: the loaded config (defaults merged into outcomes); pooled_jsons: the
    `results/pooled/{outcome}.json` files; extraction_csvs: `results/extraction/{outcome}.csv`
    (matched to outcomes by file stem); prisma_json / prisma_svg: the PRISMA counts and diagram
    (may be None); figures: {key: path} with keys `summary_forest`, `rob_traffic`, `rob_summary`,
    `{outcome}_forest|funnel|leave1out|cumulative|baujat` (SVG or PNG; missing ones are
    skipped; those past EMBED_BUDGET are linked relative to out_html's folder); studies_csv,
    narrative_csv: the extraction sheets; inputs: every input file whose sha256 the report lists;
    out_html: written atomically.
    """
    html = render_report(report_context(config, read_pooled(pooled_jsons), extraction_csvs, prisma_json,
                                        prisma_svg, figures, studies_csv, narrative_csv, inputs,
                                        Path(out_html).parent))
    with atomic_path(out_html) as tmp:
        tmp.write_text(html, encoding="utf-8")
