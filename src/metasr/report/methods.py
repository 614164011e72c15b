"""The auto-written methods paragraph: what was done, in the words a methods section uses.

Every sentence is read off what the run did, never off what it could have done:
- the sources searched, de-duplication and screening (PRISMA 2020 items 6-8) from prisma.json's
  counts and agreement, when metasr counted the flow (not for counts declared in the config);
- outcomes and measures from the config; models, tau² estimators and tests from the pooled
  results, per outcome ("REML with z tests for EDSS and MSSS; DL with Knapp-Hartung for ...");
- conversions from the `conversion` cells of the effect inputs actually pooled, in the words
  of metasr.extraction.conversion_kinds (a median conversion is named only when a row used one,
  with the formulas that row used);
- continuity corrections from the pooled studies that escalc's add/to changed, and studies that
  drop00 left out from the pooled results' reasons;
- subgroup analyses, meta-regressions, small-study tests, sensitivity analyses and cumulative
  meta-analysis only for the outcomes that had them; single-study outcomes and narrative
  synthesis only when there were any;
- GRADE's rules as metasr.report.grade applies them, for pooled outcomes only.
"""

from __future__ import annotations

import re
from collections import Counter

from metasr import dependence, measures, rob
from metasr.analysis_settings import SMALL_STUDY_DEFAULTS
from metasr.display import finite
from metasr.extraction import conversion_kinds
from metasr.extraction.discrepancies import agreement_percent
from metasr.figures.shown import common_effect, funnel_contours
from metasr.report.dependent import is_multilevel
from metasr.report.grade import (
    MIN_JUDGED_WEIGHT,
    UPGRADE_NAMES,
    UPGRADES,
    imprecision_rule,
    publication_bias_exception,
)
from metasr.stats.tables import DROP00_REASON

TAU2_NAMES = {
    "REML": "restricted maximum likelihood", "ML": "maximum likelihood",
    "DL": "the DerSimonian-Laird estimator", "PM": "the Paule-Mandel estimator",
    "HE": "the Hedges estimator", "SJ": "the Sidik-Jonkman estimator",
    "HS": "the Hunter-Schmidt estimator", "EB": "the empirical Bayes estimator",
    "PMM": "the median-unbiased Paule-Mandel estimator", "GENQ": "the generalised Q-statistic estimator",
    "HSk": "the Hunter-Schmidt estimator with small-sample correction",
}
COMMON_METHODS = {"FE": "a common-effect (inverse-variance) model", "EE": "a common-effect (inverse-variance) model",
                  "CE": "a common-effect (inverse-variance) model",
                  "MH": "a common-effect Mantel-Haenszel model", "PETO": "Peto's common-effect method"}
# The methods that pool 2x2 tables' raw counts (measures.table_methods): their name and metafor's function.
TABLE_METHODS = {"MH": ("the Mantel-Haenszel method", "rma.mh"), "PETO": ("Peto's method", "rma.peto")}
TEST_NAMES = {"z": "Wald-type tests and confidence intervals (normal distribution)",
              "t": "tests and confidence intervals from the t distribution",
              "knha": "the Knapp-Hartung adjustment",
              "adhoc": "the Knapp-Hartung adjustment truncated at 1 (ad hoc)"}


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def scale_clause(used: list[str], outcomes: dict) -> str:
    """'; ratio measures were analysed on the log scale', and the other transforms used."""
    displays = [measures.display_for(o["measure"], o.get("scale")) for o in outcomes.values()
                if measures.known(o.get("measure"))]
    parts = ["ratio measures were analysed on the log scale"] if any(d.ratio for d in displays) else []
    for m in used:
        record = measures.get(m) if measures.known(m) else None
        if record and record.display != "ratio" and record.transform != "identity":
            parts.append(f"{_measured(m, used, outcomes)} were analysed on the {record.analysis_scale} scale "
                         f"and back-transformed for display ({measures.TRANSFORMS[record.transform].metafor})")
    return "".join(f"; {p}" for p in parts)


def _plain(measure: str) -> str:
    """What a measure's values are, without its transform ("means" for MN and MNLN alike)."""
    return measures.get(measure).plural.split(" (")[0]


def _measured(measure: str, used: list[str], outcomes: dict) -> str:
    """'means', or 'the means of Length of stay' when another measure used also gives means (MN
    beside MNLN: only the outcomes of this one were analysed on its scale)."""
    plain = _plain(measure)
    if not any(m != measure and measures.known(m) and _plain(m) == plain for m in used):
        return plain
    labels = [str(o.get("label") or oid) for oid, o in outcomes.items() if o.get("measure") == measure]
    return f"the {plain} of {_join(labels)}"


def _labels(pooled: list[dict]) -> str:
    return _join([str(p.get("label") or p.get("outcome")) for p in pooled])


# ---------------------------------------------------------------------------------------------
# Sentences

STAGE_NAMES = {"title_abstract": "Titles and abstracts", "full_text": "Full texts"}


def search_sentences(prisma: dict | None) -> list[str]:
    """Where the records came from, what de-duplication removed, who screened them and how far
    they agreed, and what was included: the flow metasr counted (none for declared counts)."""
    if not prisma or prisma.get("origin") == "declared":
        return []
    columns, records = prisma.get("columns") or {}, prisma.get("records") or {}
    sources = []
    for key, how in (("databases", "from"), ("other", "by other methods:")):
        column = columns.get(key) or {}
        names = [str(s.get("database")) for s in column.get("identified_by_database") or []]
        if names:
            sources.append(f"{how} {_join(names)} ({_count(column.get('identified') or 0, 'record', 'records')})")
    out = [f"Records were identified {_join(sources)}." if sources else ""]
    if records.get("unique") is not None:
        duplicates = _count(records.get("duplicates") or 0, "duplicate record", "duplicate records")
        out.append(f"De-duplication removed {duplicates} (each kept in an audit trail), leaving "
                   f"{_count(records['unique'], 'unique record', 'unique records')}.")
    for stage, name in STAGE_NAMES.items():
        agreement = (prisma.get("agreement") or {}).get(stage)
        if agreement:
            missing = agreement.get("not_retrieved") or 0  # screened by no one: not among the records screened
            out.append(f"{name} were screened {_screened_by(agreement)}"
                       + (f"; {_count(missing, 'report')} could not be retrieved." if missing else "."))
    included = prisma.get("included") or {}
    if included.get("studies") is not None:
        reports = included.get("reports")
        out.append(f"In all, {included['studies']} stud{'y' if included['studies'] == 1 else 'ies'} "
                   f"({reports} report{'' if reports == 1 else 's'}) "
                   f"{'was' if included['studies'] == 1 else 'were'} included.")
    return [s for s in out if s]


def _screened_by(agreement: dict) -> str:
    if not agreement.get("dual"):
        return "by one reviewer"
    kappa = agreement.get("kappa")
    records = _count(agreement.get("n") or 0, "record", "records")
    agreed = f"Cohen's κ = {kappa:.2f} on {records}" if isinstance(kappa, int | float) else records
    conflicts, unresolved = agreement.get("conflicts") or 0, agreement.get("unresolved") or 0
    resolved = "resolved" if conflicts == 1 else "each resolved"
    settled = ("" if not conflicts else
               f"; {conflicts} disagreement{'s' if conflicts != 1 else ''}"
               + (f", {unresolved} left unresolved" if unresolved else f", {resolved}"))
    screened, n = agreement.get("screened"), agreement.get("n")
    if isinstance(screened, int) and isinstance(n, int) and n < screened:  # partly dual screening
        return (f"independently by two reviewers for {n} of {screened} records, by one for the others "
                f"({agreed}{settled})")
    return f"independently by two reviewers ({agreed}{settled})"


def double_extraction_sentences(report: dict | None, second_dir: str = "") -> list[str]:
    """Who extracted the data and how far the two extractions agreed (PRISMA 2020 item 9), from the
    comparison metasr.extraction.discrepancies made of the sheets; none without a second extraction."""
    if not report:
        return []
    overall = report["overall"]
    sheets = sum("status" not in s for s in report["sheets"])
    cells = (f"{overall['cells_agreeing']} of {overall['cells_compared']} cells agreed "
             f"({agreement_percent(overall['cells_agreeing'], overall['cells_compared'])})")
    out = [f"Data were extracted independently by two reviewers, whose {_count(sheets, 'sheet')} were compared "
           f"cell by cell: {cells}."]
    found = report["discrepancies"]
    if found:
        out.append(_discrepancies_settled(found, f"{second_dir.rstrip('/')}/resolutions.csv"))
    return out


def _discrepancies_settled(found: list[dict], resolutions: str) -> str:
    kinds = Counter("sheet" if d["column"] == "(sheet)" else "row" if d["column"] == "(row)" else "cell"
                    for d in found)
    parts = [_count(kinds["cell"], "cell")] if kinds["cell"] else []
    parts += [f"{_count(kinds[k], k)} extracted by one reviewer only" for k in ("row", "sheet") if kinds[k]]
    what = f"{_count(len(found), 'discrepancy', 'discrepancies')} ({'; '.join(parts)})"
    unresolved = sum(not d["resolved"] for d in found)
    if not unresolved:
        if len(found) == 1:
            return f"The one discrepancy ({'; '.join(parts)}) was resolved, the decision recorded in {resolutions}."
        return f"The {what} were each resolved, the decision recorded in {resolutions}."
    return (f"Of the {what}, {len(found) - unresolved} {'was' if len(found) - unresolved == 1 else 'were'} resolved "
            f"(decisions recorded in {resolutions}) and {unresolved} left unresolved; the first reviewer's "
            "values were analysed.")


def outcomes_sentence(config: dict) -> str:
    groups = (config.get("review") or {}).get("groups") or {}
    outcomes = config.get("outcomes") or {}
    used = sorted({o.get("measure") or "" for o in outcomes.values()} - {""})
    single = [o for o in outcomes.values() if measures.single_group(o.get("measure"))]
    pooled_single = f"pooled {_count(len(single), 'single-group outcome')}"
    if len(single) == len(outcomes):
        start = f"We {pooled_single}, "
    else:  # the comparison is of the two-group outcomes only
        start = (f"We compared {groups.get('experimental', 'the experimental group')} with "
                 f"{groups.get('control', 'the control group')} on "
                 f"{_count(len(outcomes) - len(single), 'outcome')}{' and ' + pooled_single if single else ''}, ")
    return (start + f"expressed as {_join([measures.get(m).plural if measures.known(m) else m for m in used])}"
            + scale_clause(used, outcomes) + ".")


def status_sentence(config: dict, pooled: list[dict]) -> str:
    """How many outcomes could be pooled, and why the others were not."""
    n = len(config.get("outcomes") or {})
    counts = {status: sum(p.get("status") == status for p in pooled)
              for status in ("pooled", "single_study", "no_data")}
    parts = [f"{counts['pooled']} had at least two studies and {'was' if counts['pooled'] == 1 else 'were'} pooled"]
    if counts["single_study"]:
        parts.append(f"{counts['single_study']} had one study")
    if counts["no_data"]:
        parts.append(f"{counts['no_data']} had no usable study-level data")
    return f"Of the {_count(n, 'outcome')}, {_join(parts)}."


def _tau2_name(method: str) -> str:
    return next((v for k, v in TAU2_NAMES.items() if k.upper() == method), method)


def _model_text(method: str, test: str, three_level: bool, robust: bool) -> str:
    """'<model> with <tests>' for one group of outcomes that share them."""
    tests = ("CR2 cluster-robust tests and confidence intervals (Satterthwaite degrees of freedom)" if robust
             else TEST_NAMES.get(test, f"{test} tests"))
    if three_level:
        return f"a three-level model (variance components by {_tau2_name(method)}; described below) with {tests}"
    if method in COMMON_METHODS:
        model = COMMON_METHODS[method]
    else:
        model = f"a random-effects model (inverse-variance weights; between-study variance by {_tau2_name(method)})"
    return f"{model} with {tests}"


def model_sentences(pooled: list[dict]) -> list[str]:
    """The model, estimator and test of every pooled outcome, grouped by what they share, and the
    heterogeneity each kind of model reports: tau² only where there is a between-study variance (a
    common-effect, Mantel-Haenszel or Peto fit has none: metafor's rma.mh and rma.peto print I², H² and
    Q), the two σ² of a three-level model."""
    done = [p for p in pooled if p.get("status") == "pooled"]
    if not done:
        return ["No outcome had two or more studies with usable data, so no meta-analysis was run."]
    by_model: dict[tuple[bool, bool, str, str], list[dict]] = {}
    for p in done:
        three_level = is_multilevel(p)
        robust = (p.get("model") or {}).get("robust") is not None  # univariate too: a robust outcome of single rows
        key = (three_level, robust, (p.get("method") or "").upper(), (p.get("test") or "z").lower())
        by_model.setdefault(key, []).append(p)
    parts = [f"{_model_text(method, test, three_level, robust)} for {_labels(group)}"
             for (three_level, robust, method, test), group in sorted(by_model.items())]
    sentences = [f"Outcomes with at least two studies were pooled: {'; '.join(parts)}."]
    sentences.append(heterogeneity_sentence(done))
    odds_ratios = [p for p in done if "tarone" in (p.get("model") or {})]
    rates = [p for p in done if "CMH" in (p.get("model") or {}) and p not in odds_ratios]
    if odds_ratios:
        sentences.append(f"For {_labels(odds_ratios)}, the Cochran-Mantel-Haenszel test (with continuity "
                         "correction) and Tarone's test for heterogeneity of odds ratios are also reported.")
    if rates:
        sentences.append(f"For {_labels(rates)}, the Mantel-Haenszel test of the rate ratio (with continuity "
                         "correction) is also reported.")
    return sentences


def tau2_outside_ci(model: dict) -> bool:
    """Whether tau² lies outside its (Q-profile) CI: a moment estimate (DL, HE, SJ) can, since
    the interval is not built around it (metafor's confint() gives the same)."""
    pair, est = model.get("tau2_ci"), finite(model.get("tau2"))
    if est is None or not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return False
    lb, ub = finite(pair[0]), finite(pair[1])
    return lb is not None and ub is not None and not lb <= est <= ub


def heterogeneity_sentence(done: list[dict]) -> str:
    """What heterogeneity is reported as, per kind of model (outcomes named when the kinds differ)."""
    three_level = [p for p in done if is_multilevel(p)]
    common = [p for p in done if common_effect(p) and p not in three_level]
    random = [p for p in done if p not in three_level and p not in common]
    kinds = []
    if random:
        with_ci = any((p.get("model") or {}).get("tau2_ci") for p in random)
        kinds.append(("tau², I²" + (" (with confidence intervals from the Q-profile method)" if with_ci else "")
                      + ", H² and Cochran's Q", random))
    if common:
        kinds.append(("I², H² and Cochran's Q (a common-effect model has no between-study variance)", common))
    if three_level:
        kinds.append(("the variance components σ² between studies and within studies, I² per level and "
                      "Cochran's Q", three_level))
    text = "; ".join(f"{what} for {_labels(group)}" if len(kinds) > 1 else what for what, group in kinds)
    with_pi = any((p.get("model") or {}).get("pi_lb") is not None for p in random + three_level)
    outside = [p for p in random if tau2_outside_ci(p.get("model") or {})]
    return (f"Heterogeneity is reported as {text}"
            + ("; 95% prediction intervals show the range of effects expected in a new study." if with_pi else ".")
            + (f" For {_labels(outside)} the estimate of tau² lies outside its Q-profile interval, which inverts the "
               "generalised Q statistic and is not built around a moment estimate; both are reported as computed."
               if outside else ""))


def conversion_counts(extraction: dict[str, list[dict]]) -> dict[str, dict]:
    """{sentence: {"rows": n, "outcomes": [ids], "methods": [exact method texts]}} over the usable
    rows of the effect inputs; unknown conversions are keyed by their own text. A p reported as a
    bound and used as if exact is not counted among exact p-values (conversion_sentence counts it)."""
    found: dict[str, dict] = {}
    for outcome, rows in sorted(extraction.items()):
        for row in rows:
            if str(row.get("usable", "")).strip().lower() not in {"true", "1", "yes"}:
                continue
            bound = conversion_kinds.used_p_bound(row.get("conversion_detail"))
            in_row: set[str] = set()
            for part in conversion_kinds.parts(row.get("conversion")):
                kind = conversion_kinds.kind_of(part)
                if bound and kind is not None and kind.from_p:
                    continue
                # a text no kind writes is named as written (never dropped)
                sentence = kind.sentence if kind is not None else f"other conversion: {part}"
                entry = found.setdefault(sentence, {"rows": 0, "outcomes": [], "methods": []})
                if sentence not in in_row:
                    entry["rows"] += 1
                    in_row.add(sentence)
                if outcome not in entry["outcomes"]:
                    entry["outcomes"].append(outcome)
                if kind is not None and kind.quoted and part not in entry["methods"]:
                    entry["methods"].append(part)
    return found


def conversion_sentence(extraction: dict[str, list[dict]]) -> str:
    """The conversions the pooled rows used, with how many rows; nothing when none was needed."""
    found = conversion_counts(extraction)
    bounds = sum(conversion_kinds.used_p_bound(r.get("conversion_detail")) for rows in extraction.values()
                 for r in rows if str(r.get("usable", "")).strip().lower() in {"true", "1", "yes"})
    if not found and not bounds:
        return ""
    parts = []
    for sentence, entry in found.items():
        how = f" ({'; '.join(sorted(entry['methods']))})" if entry["methods"] else ""
        parts.append(f"{sentence}{how} in {_count(entry['rows'], 'row')}")
    if bounds:
        parts.append(f"P values reported only as a bound were used as if exact (conservative) in "
                     f"{_count(bounds, 'row')}")
    return "Where studies did not report the effect's inputs directly, " + "; ".join(parts) + "."


def correction_sentences(pooled: list[dict]) -> list[str]:
    """Continuity corrections escalc applied, and studies drop00 left out, per outcome. A Mantel-Haenszel
    or Peto estimate pools the raw counts (metafor's rma.mh and rma.peto): for those outcomes the
    correction is said to touch only what it did, the per-study effects shown and the inverse-variance
    small-study tests (where they ran)."""
    out = []
    corrected: dict[str, list[str]] = {}
    raw_counts: dict[str, list[dict]] = {}
    for p in pooled:
        by_table = p.get("method") in measures.table_methods()
        for s in p.get("studies") or []:
            text = (s.get("continuity") or {}).get("text")
            if text and by_table:
                raw_counts.setdefault(text, []).append(p)
            elif text:
                corrected.setdefault(text, []).append(str(p.get("label") or p.get("outcome")))
    for text, labels in sorted(corrected.items()):
        counts = {label: labels.count(label) for label in labels}
        where = _join([f"{label} ({_count(n, 'study', 'studies')})" for label, n in counts.items()])
        out.append(f"A continuity correction was applied: {text}, in {where}.")
    for text, outcomes in sorted(raw_counts.items()):
        out.append(_raw_count_correction(text, outcomes))
    dropped = {str(p.get("label") or p.get("outcome")): sum(n.get("reason") == DROP00_REASON
                                                             for n in p.get("not_usable") or [])
               for p in pooled}
    dropped = {k: v for k, v in dropped.items() if v}
    if dropped:
        out.append("Studies with no events (or only events) in both groups were left out (escalc's drop00): "
                   + _join([f"{_count(n, 'study', 'studies')} in {label}" for label, n in dropped.items()]) + ".")
    without_effect = {_labels([p]): (p["model"]["k"], p["model"]["k_yi"]) for p in pooled
                      if isinstance(p.get("model"), dict) and p["model"].get("k_yi") is not None}
    if without_effect:  # rma.mh / rma.peto keep such tables in the estimate, not in yi, vi and Q
        out.append("Tables without an effect of their own (no events, or only events, in both groups) stayed in the "
                   "Mantel-Haenszel or Peto estimate but not in the heterogeneity statistics, as in metafor's "
                   "rma.mh and rma.peto: " + _join([f"{k - k_yi} of {k} studies in {label}"
                                                    for label, (k, k_yi) in without_effect.items()]) + ".")
    return out


def _raw_count_correction(text: str, outcomes: list[dict]) -> str:
    """What a continuity correction changed for outcomes pooled by Mantel-Haenszel or Peto
    (`outcomes`: one entry per corrected study)."""
    unique = list({id(p): p for p in outcomes}.values())
    where = _join([f"{_labels([p])} ({_count(sum(q is p for q in outcomes), 'study', 'studies')})" for p in unique])
    tested = [p for p in unique if _small_study_ran(p)]
    touched = "the per-study effects shown (studies table, forest plot)"
    if tested:
        touched += (" and the inverse-variance small-study tests" if len(tested) == len(unique)
                    else f" and, for {_labels(tested)}, the inverse-variance small-study tests")
    used = sorted({str(p.get("method")) for p in unique})
    methods = " or ".join(TABLE_METHODS[m][0] for m in used)
    functions = _join([TABLE_METHODS[m][1] for m in used])
    return (f"A continuity correction was applied in {where}: {text}; "
            f"{'this outcome was' if len(unique) == 1 else 'these outcomes were'} pooled by {methods} from the raw "
            f"counts (as metafor's {functions}), so the correction changed only {touched}, not the pooled "
            f"estimate{'' if len(unique) == 1 else 's'}.")


def _small_study_ran(pooled: dict) -> bool:
    small = pooled.get("small_study") or {}
    return bool(small) and "skipped" not in small


# What each small-study method is called in the Methods (the pooled result's `small_study` keys).
SMALL_STUDY_NAMES = {"egger": "Egger's regression test (the outcome's model with the standard error as predictor)",
                     "egger_robust": "Egger's test in the three-level model with CR2 inference",
                     "begg": "Begg's rank correlation", "trimfill": "trim-and-fill", "pet_peese": "PET-PEESE",
                     "selmodel": "a selection model"}  # named by the model that ran: selmodel_text


def selmodel_text(result: dict) -> str:
    """The selection model that ran, as metafor's selmodel() was called: its type, its cut points
    (step function) and the P values it selects on."""
    alternative = result.get("alternative")
    sided = ("two-sided P values" if alternative == "two.sided" else
             f"one-sided P values, alternative '{alternative}'" if alternative else "P values")
    if result.get("type") == "stepfun":
        cuts = [f"{s:g}" for s in result.get("steps") or [] if isinstance(s, int | float) and s < 1]
        return f"a step-function selection model (cut point{'' if len(cuts) == 1 else 's'} {_join(cuts)}; {sided})"
    return f"a {result.get('type')} selection model ({sided})"


def _ran(small: dict, key: str) -> bool:
    return isinstance(small.get(key), dict) and "skipped" not in small[key]


def small_study_methods(tested: list[dict]) -> list[str]:
    """The small-study methods that ran for any of `tested`, in SMALL_STUDY_NAMES' order, each
    with the outcomes it ran for when not all of them; the selection model named as it ran (per
    outcome when they differ)."""
    ran = []
    for key, name in SMALL_STUDY_NAMES.items():
        with_it = [p for p in tested if _ran(p["small_study"], key)]
        if not with_it:
            continue
        models: dict[str, list[dict]] = {name: with_it}
        if key == "selmodel":
            models = {}
            for p in with_it:
                models.setdefault(selmodel_text(p["small_study"][key]), []).append(p)
        ran.append(next(iter(models)) if len(models) == 1 and len(with_it) == len(tested) else
                   _join([_for_outcomes(text, group) for text, group in models.items()]))
    return ran


def _for_outcomes(text: str, group: list[dict]) -> str:
    """"trim-and-fill (for A and B)"; inside a name's own parentheses when it ends with them."""
    return f"{text[:-1]}; for {_labels(group)})" if text.endswith(")") else f"{text} (for {_labels(group)})"


def small_study_not_run(tested: list[dict]) -> list[str]:
    """A sentence per small-study method that did not run for some of `tested`, with why (the
    result's `skipped`), outcomes with the same reason together."""
    out = []
    for key, name in SMALL_STUDY_NAMES.items():
        reasons: dict[str, list[dict]] = {}
        for p in tested:
            entry = p["small_study"].get(key)
            if isinstance(entry, dict) and entry.get("skipped"):
                reasons.setdefault(str(entry["skipped"]), []).append(p)
        what = "The selection model" if key == "selmodel" else name[:1].upper() + name[1:]
        out += [f"{what} was not run for {_labels(group)}: {reason}." for reason, group in reasons.items()]
    return out


def funnel_plot_text(tested: list[dict]) -> str:
    """The funnel plot the outcomes got (figures.shown.funnel_contours): contour-enhanced where the
    measure has a null, else around the pooled estimate without significance contours."""
    plain = [p for p in tested if not funnel_contours(p)]
    if not plain:
        return "contour-enhanced funnel plot"
    if len(plain) == len(tested):
        return ("funnel plot around the pooled estimate (without significance contours: the measure has no null to "
                "test against)")
    return (f"contour-enhanced funnel plot (for {_labels(plain)}, whose measure has no null to test against, a "
            "funnel plot around the pooled estimate without significance contours)")


def _min_k(pooled: list[dict]) -> str:
    """The fewest studies the small-study tests need, as "10 studies", or per outcome when the
    outcomes differ ("3 studies for K3 and 10 for K10")."""
    def min_k(p: dict) -> int:
        return (p.get("small_study") or {}).get("settings", {}).get("min_k", SMALL_STUDY_DEFAULTS["min_k"])

    values = sorted({min_k(p) for p in pooled})
    if len(values) <= 1:
        return f"{values[0] if values else SMALL_STUDY_DEFAULTS['min_k']} studies"
    parts = [f"{v}{' studies' if i == 0 else ''} for {_labels([p for p in pooled if min_k(p) == v])}"
             for i, v in enumerate(values)]
    return _join(parts)


def bias_and_sensitivity_sentences(pooled: list[dict]) -> list[str]:
    done = [p for p in pooled if p.get("status") == "pooled"]
    tested = [p for p in done if _small_study_ran(p)]
    out = []
    if tested:
        ran = small_study_methods(tested)
        out.append(f"Small-study effects were examined for {_labels(tested)} (at least {_min_k(tested)}): "
                   f"{funnel_plot_text(tested)}, {_join(ran)}.")
        out += small_study_not_run(tested)
        by_table = [p for p in tested if p.get("method") in measures.table_methods()]
        if by_table:  # their regressions need a model with weights per study: the inverse-variance one
            out.append(f"For {_labels(by_table)}, pooled by Mantel-Haenszel or Peto, these tests used the "
                       "inverse-variance common-effect model of the same effects.")
    elif done:
        out.append(f"Small-study effects were not assessed: no pooled outcome had the "
                   f"{_min_k(done)} they need (Cochrane Handbook 13.3.5.4).")
    leave1out = [p for p in done if (p.get("sensitivity") or {}).get("leave1out")]
    cumulative = [p for p in done if "estimate" in ((p.get("sensitivity") or {}).get("cumulative") or {})]
    with_influence = [p for p in leave1out if p["sensitivity"].get("influence")]
    alone = [p for p in leave1out if not p["sensitivity"].get("influence")]
    if with_influence:
        out.append("Sensitivity analyses (leave-one-out and influence diagnostics) were run for "
                   f"{_labels(with_influence)}; studies were flagged as influential by metafor's criteria "
                   "(DFFITS, Cook's distance, hat values and DFBETAS; Viechtbauer & Cheung 2010).")
    if alone:  # Mantel-Haenszel, Peto and dependent outcomes: refits of their own model
        out.append(f"Leave-one-out analyses were run for {_labels(alone)}, each refitted with the outcome's "
                   "own model.")
    if cumulative:
        orders = sorted({str(p["sensitivity"]["cumulative"].get("order_by") or "year") for p in cumulative})
        out.append(f"Cumulative meta-analyses (by {_join(orders)}) were run for {_labels(cumulative)}.")
    return out + high_risk_sentences(done)


def high_risk_sentences(done: list[dict]) -> list[str]:
    """The sensitivity analysis without the studies at high risk of bias: for which pooled outcomes
    it ran, and for which it was asked for but did not run (the report gives each reason)."""
    sections = {id(p): (p.get("sensitivity") or {}).get("excluding_high_risk") for p in done}
    ran = [p for p in done if "model" in (sections[id(p)] or {})]
    not_run = [p for p in done if (sections[id(p)] or {}).get("skipped")]
    out = []
    if ran:
        out.append(f"For {_labels(ran)}, a sensitivity analysis left out the studies at high risk of bias (the "
                   "overall judgement at its tool's high level or worse) and refitted the outcome's own model on the "
                   "others, whole studies at a time; studies without an overall judgement were kept (Cochrane "
                   "Handbook 7.6.2, 8.8).")
    if not_run:
        reasons: dict[str, list[dict]] = {}
        for p in not_run:
            reasons.setdefault(_short_reason((sections[id(p)] or {})["skipped"]), []).append(p)
        out.append("The analysis without the studies at high risk of bias did not run: "
                   + "; ".join(f"for {_labels(ps)}, {why}" for why, ps in reasons.items()) + ".")
    return out


def _short_reason(skipped: str) -> str:
    """The gist of why the analysis did not run (metasr.stats.rob_sensitivity's reason without its
    counts and explanation: 'no study is at high risk of bias'), the same for outcomes alike; the
    report gives the whole reason."""
    return re.split(r": | \(", skipped, maxsplit=1)[0]


def moderator_sentences(pooled: list[dict]) -> list[str]:
    """The subgroup analyses and meta-regressions that ran, per outcome (the pooled results'
    `subgroups` and `meta_regression`), and those of pooled outcomes that were planned (configured)
    but not run, with the reason (a protocol's analysis is not dropped without a word)."""
    done = [p for p in pooled if p.get("status") == "pooled"]
    out = []
    by_variable: dict[str, list[dict]] = {}
    three_level: dict[str, list[dict]] = {}
    for p in done:
        sub = p.get("subgroups") or {}
        if sub.get("levels") and not sub.get("skipped"):
            kind = three_level if sub.get("model") == "three-level" else by_variable
            kind.setdefault(str(sub.get("variable") or "subgroup"), []).append(p)
    if three_level:
        which = _join([f"{variable} for {_labels(group)}" for variable, group in three_level.items()])
        robust = any("HTZ" in (p["subgroups"].get("Q_between_test") or "") for g in three_level.values()
                     for p in g)
        out.append(f"Subgroups of dependent effect sizes ({which}) were compared in the three-level model with one "
                   "mean per subgroup and variance components shared by the subgroups, with a Wald test of equal "
                   "means" + (" (CR2 cluster-robust HTZ test where the outcome uses robust inference)"
                              if robust else "") + ".")
    if by_variable:
        which = _join([f"{variable} for {_labels(group)}" for variable, group in by_variable.items()])
        out.append(f"Subgroup analyses ({which}) fitted the outcome's model to each subgroup separately (a "
                   "subgroup of one study keeps that study's estimate, with a normal-based CI) and compared the "
                   "subgroup estimates with a Wald-type test of heterogeneity between subgroups (Q between, with "
                   "one degree of freedom fewer than subgroups).")
    for p in done:
        reg = p.get("meta_regression") or {}
        if not reg or reg.get("skipped"):
            continue
        method = str(reg.get("method") or "").upper()
        if reg.get("model") == "three-level":
            model = f"a three-level meta-regression ({'ML' if method == 'ML' else 'REML'}; metafor's rma.mv)"
        elif method in COMMON_METHODS:
            model = "a common-effect meta-regression"
        else:
            model = f"a mixed-effects meta-regression (residual heterogeneity by {_tau2_name(method)})"
        test = ("CR2 cluster-robust tests (Satterthwaite df; HTZ for the moderators together)" if reg.get("robust")
                else TEST_NAMES.get(str(reg.get("test") or "z").lower(), f"{reg.get('test')} tests"))
        text = f"For {_labels([p])}, {model} on {reg.get('formula')} was fitted with {test}"
        perm = reg.get("permutest") or {}
        if perm and "skipped" not in perm:
            text += ("; P values were also obtained by an exact permutation test" if perm.get("exact") else
                     f"; P values were also obtained by a permutation test ({perm.get('permutations')} "
                     "random permutations)")
        out.append(text + ".")
    return out + not_run_sentences(done)


def not_run_sentences(done: list[dict]) -> list[str]:
    """The configured subgroup analyses and meta-regressions of pooled outcomes that did not run."""
    planned = []
    for p in done:
        sub, reg = p.get("subgroups") or {}, p.get("meta_regression") or {}
        if sub.get("skipped"):
            planned.append(f"the subgroup analysis by {sub.get('variable')} for {_labels([p])} ({sub['skipped']})")
        if reg.get("skipped"):
            planned.append(f"the meta-regression on {reg.get('formula')} for {_labels([p])} ({reg['skipped']})")
    if not planned:
        return []
    return [f"Planned but not run: {'; '.join(planned)}."]


def reporting_sentences(pooled: list[dict], narrative_rows: int) -> list[str]:
    single = [p for p in pooled if p.get("status") == "single_study"]
    out = []
    if single:
        out.append(f"Outcomes with a single study ({_labels(single)}) are reported without pooling.")
    if narrative_rows:
        out.append(f"Findings that could not be pooled ({_count(narrative_rows, 'finding')}) are summarised "
                   "in a narrative synthesis.")
    return out


def rob_sentence(studies: list[dict], settings: dict) -> str:
    """How risk of bias was assessed: the tools used with their sources (metasr.rob.TOOLS), by how
    many reviewers when the config records it (risk_of_bias.reviewers), and how many studies."""
    tools = rob.tools_used(studies)
    if not tools:
        return ""
    assessed = sum(1 for row in studies if rob.assess(row).assessed)
    reviewers = settings.get("reviewers")
    by = f" by {_count(reviewers, 'reviewer')}" if reviewers else ""
    return (f"Risk of bias was assessed{by} with {_join([f'{t.name} ({t.source})' for t in tools])}, for "
            f"{assessed} of {len(studies)} studies; an overall judgement left empty was derived from the domains by "
            "the tool's rule where they determine it.")


def grade_sentence(pooled: list[dict], outcomes_cfg: dict) -> str:
    """GRADE as metasr.report.grade applies it, for the pooled outcomes only."""
    done = [p for p in pooled if p.get("status") == "pooled"]
    if not done:
        return ""
    overridden = [p for p in done if (outcomes_cfg.get(p.get("outcome")) or {}).get("grade")]
    text = ("Certainty of evidence was rated with GRADE for each pooled outcome. Randomised trials (a design "
            "stating random allocation: a controlled trial that does not was not taken as randomised) and "
            "diagnostic accuracy studies assessed with QUADAS-2 started at high certainty, non-randomised "
            "studies at low certainty unless assessed with ROBINS-I or ROBINS-E (then high, rated down through "
            "their risk of bias; GRADE guideline 18); a study without a recorded or recognised design made the body "
            "start low. "
            "Suggested ratings down: risk of bias from the studies' overall judgements weighted by their weight "
            f"in the analysis (none suggested when less than {MIN_JUDGED_WEIGHT:.0%} of that weight was judged); "
            f"inconsistency from I² together with the prediction interval; {imprecision_rule()}; "
            f"publication bias from Egger's test (P < 0.10) with at least {_min_k(done)}"
            f"{publication_bias_exception(done)}. Indirectness was left to the reviewers' judgement. Rating up for a "
            "large effect (ratio above 2 or below 0.5) was considered only for evidence that started low and was not "
            f"rated down; {_join([UPGRADE_NAMES[u].lower() for u in UPGRADES[1:]])} are the reviewers' judgements.")
    if overridden:
        text += (f" The reviewers set their own ratings for {_labels(overridden)}; the summary of findings gives "
                 "the suggested and the final rating with the reason.")
    return text


def _outcome_labels(ids: list[str], outcomes: dict) -> str:
    return _join([str((outcomes.get(i) or {}).get("label") or i) for i in ids])


def _study_level_refits(pooled: list[dict]) -> str:
    """' Leave-one-out and cumulative analyses left out or added whole studies.' for the refits
    that ran for any of `pooled` (a cumulative analysis without an order value for every study did
    not), or ''."""
    ran = [key for key in STUDY_LEVEL_REFITS
           if any("estimate" in (((p.get("sensitivity") or {}).get(key)) or {}) for p in pooled)]
    if not ran:
        return ""
    names = [STUDY_LEVEL_REFITS[key][0] for key in ran]
    names[1:] = [name.lower() for name in names[1:]]
    return f" {' and '.join(names)} analyses {' or '.join(STUDY_LEVEL_REFITS[key][1] for key in ran)} whole studies."


# The sensitivity sections that refit whole studies of a dependent outcome: their name, and what
# each does with a study.
STUDY_LEVEL_REFITS = {"leave1out": ("Leave-one-out", "left out"), "cumulative": ("Cumulative", "added")}


def dependence_sentences(outcomes: dict, pooled_results: list[dict]) -> list[str]:
    """How outcomes with several effect sizes per study were pooled (metasr.dependence), per method,
    with rho, the handling of shared groups and what the sensitivity analyses were."""
    by_method: dict[tuple, list[str]] = {}
    shared: dict[str, list[str]] = {}
    for oid, cfg in outcomes.items():
        dep = dependence.settings(cfg)
        if dep is None:
            continue
        key = (dep["method"], dep["rho"], tuple(dep["rho_sensitivity"]))
        by_method.setdefault(key, []).append(oid)
        pooled = next((p for p in pooled_results if p.get("outcome") == oid), {})
        if any(s.get("shared_group") for s in pooled.get("studies") or []):
            shared.setdefault(dep["multi_arm"], []).append(oid)
    out = []
    fitted = {p.get("outcome"): p for p in pooled_results}
    for (method, rho, rhos), ids in by_method.items():
        if method in dependence.MULTILEVEL_METHODS:
            # a study with one effect size each leaves nothing for the three-level model: it was not fitted
            single = [o for o in ids if fitted.get(o, {}).get("status") == "pooled" and not is_multilevel(fitted[o])]
            if single:
                out.append(f"For {_outcome_labels(single, outcomes)}, set up for several effect sizes per study, "
                           "every study contributed one, so the outcome's univariate model was fitted.")
            ids = [o for o in ids if o not in single]
            if not ids:
                continue
        names = _outcome_labels(ids, outcomes)
        varied = _join([f"{r:g}" for r in rhos])
        if method in dependence.MULTILEVEL_METHODS:
            text = (f"For {names}, whose studies contribute several effect sizes, effect sizes were pooled with a "
                    "three-level model (random effects for studies and for effect sizes within studies; metafor's "
                    f"rma.mv), the sampling errors of one study's effect sizes correlated with an assumed ρ = {rho:g} "
                    f"(vcalc; sensitivity analysis with ρ = {varied})")
            text += ("; tests and confidence intervals used CR2 cluster-robust standard errors with Satterthwaite "
                     "degrees of freedom (clubSandwich)." if method == "robust" else ".")
            text += (" I² is given per level as 100·σ²_level / (σ²_between + σ²_within + s²), with the typical "
                     "sampling variance s² = (k − p) / tr(P), P = W − WX(X′WX)⁻¹X′W, W = V⁻¹ (the generalisation of "
                     f"Cheung 2014 on the metafor website).{_study_level_refits([fitted.get(o, {}) for o in ids])} "
                     "Small-study effects were tested, with at least 10 studies, by Egger's regression in the "
                     "three-level model with CR2 inference (Rodgers & Pustejovsky 2021); Begg's test and "
                     "trim-and-fill, which assume independent effect sizes, were not run.")
        elif method == "aggregate":
            text = (f"For {names}, the effect sizes of each study were first combined into one (inverse-variance "
                    f"weighted, sampling errors correlated with an assumed ρ = {rho:g}; metafor's aggregate()), "
                    f"then pooled across studies (sensitivity analysis with ρ = {varied}).")
        else:
            text = (f"For {names}, the several rows of a study come from separate samples (the reviewers' "
                    "judgement) and were pooled as independent effect sizes.")
        out.append(text)
    for choice, ids in shared.items():
        shared_text = (f"In multi-arm trials ({_outcome_labels(ids, outcomes)}), a group shared by several "
                       "comparisons was ")
        if choice == "split_shared":
            out.append(shared_text + "split evenly between them (Cochrane Handbook 23.3.4: means and SDs kept, sample "
                       "sizes and events divided), so that no participant is counted twice.")
        else:
            out.append(shared_text + "kept whole; the correlation it causes between the comparisons is carried by ρ.")
    return out


def methods_paragraph(config: dict, pooled_results: list[dict], software: dict,
                      extraction: dict[str, list[dict]] | None = None, narrative_rows: int = 0,
                      prisma: dict | None = None, studies: list[dict] | None = None,
                      double_extraction: dict | None = None) -> str:
    """extraction: the effect inputs by outcome id (results/extraction/{outcome}.csv rows), whose
    `conversion` cells say which conversions were used; narrative_rows: findings in the narrative;
    prisma: the review's prisma.json (metasr.screening.prisma), when it has one; studies: the
    studies sheet's rows (their risk-of-bias tools); double_extraction: the comparison of the two
    extractions (metasr.extraction.discrepancies.discrepancy_report), when there is a second one."""
    sentences = search_sentences(prisma)
    sentences += double_extraction_sentences(double_extraction,
                                             (config.get("extraction") or {}).get("second_extractor_dir") or "")
    sentences += [outcomes_sentence(config), status_sentence(config, pooled_results)]
    sentences += model_sentences(pooled_results)
    sentences += dependence_sentences(config.get("outcomes") or {}, pooled_results)
    sentences.append(conversion_sentence(extraction or {}))
    sentences += correction_sentences(pooled_results)
    sentences += moderator_sentences(pooled_results)
    sentences += bias_and_sensitivity_sentences(pooled_results)
    sentences += reporting_sentences(pooled_results, narrative_rows)
    sentences.append(rob_sentence(studies or [], config.get("risk_of_bias") or {}))
    sentences.append(grade_sentence(pooled_results, config.get("outcomes") or {}))
    versions = _join([f"{name} {version}" for name, version in software.items()
                      if name in {"metasr", "Python", "numpy", "scipy", "snakemake"}])
    sentences.append(f"Analyses were run with a Snakemake pipeline ({versions}).")
    return " ".join(s for s in sentences if s)
