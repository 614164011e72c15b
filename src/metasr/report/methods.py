"""The auto-written methods paragraph: what was done, in the words a methods section uses."""

from __future__ import annotations

from metasr import dependence, measures

TAU2_NAMES = {
    "REML": "restricted maximum likelihood", "ML": "maximum likelihood",
    "DL": "the DerSimonian-Laird estimator", "PM": "the Paule-Mandel estimator",
    "HE": "the Hedges estimator", "SJ": "the Sidik-Jonkman estimator",
    "HS": "the Hunter-Schmidt estimator", "EB": "the empirical Bayes estimator",
}
MEDIAN_METHODS = {
    "luo_shi": "Luo et al. (2018) for means and Shi et al. (2020) / Wan et al. (2014) for SDs",
    "hozo": "Hozo et al. (2005)",
}


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def scale_clause(used: list[str], outcomes: dict) -> str:
    """'; ratio measures were analysed on the log scale', and the other transforms used."""
    displays = [measures.display_for(o["measure"], o.get("scale")) for o in outcomes.values()
                if measures.known(o.get("measure"))]
    parts = ["ratio measures were analysed on the log scale"] if any(d.ratio for d in displays) else []
    for m in used:
        record = measures.get(m) if measures.known(m) else None
        if record and record.display != "ratio" and record.transform != "identity":
            parts.append(f"{record.plural.split(' (')[0]} were analysed on the {record.analysis_scale} scale "
                         f"and back-transformed for display ({measures.TRANSFORMS[record.transform].metafor})")
    return "".join(f"; {p}" for p in parts)


def methods_paragraph(config: dict, pooled_results: list[dict], software: dict) -> str:
    review = config.get("review") or {}
    groups = review.get("groups") or {}
    outcomes = config.get("outcomes") or {}
    used = sorted({o.get("measure") or "" for o in outcomes.values()} - {""})
    methods = sorted({(p.get("method") or "").upper() for p in pooled_results} - {""})
    tests = {(p.get("test") or "z").lower() for p in pooled_results}
    extraction = config.get("extraction") or {}
    sentences = [
        (f"We compared {groups.get('experimental', 'the experimental group')} with "
         f"{groups.get('control', 'the control group')} on {len(outcomes)} outcomes, "
         if any(not measures.known(m) or measures.get(m).groups != 1 for m in used)
         else f"We pooled {len(outcomes)} single-group outcomes, ")
        + f"expressed as {_join([measures.get(m).plural if measures.known(m) else m for m in used])}"
        + scale_clause(used, outcomes) + ".",
    ]
    random = [m for m in methods if m in TAU2_NAMES]
    if random:
        sentences.append(
            "Studies were pooled with random-effects models (inverse-variance weights), the "
            f"between-study variance estimated by {_join([TAU2_NAMES[m] for m in random])}.")
    if {"FE", "EE", "CE"} & set(methods):
        sentences.append("Some outcomes were pooled with a common-effect (inverse-variance) model.")
    if "knha" in tests:
        sentences.append("Confidence intervals used the Knapp-Hartung adjustment where stated.")
    else:
        sentences.append("Confidence intervals and tests used the normal distribution (Wald-type).")
    sentences.append(
        "Heterogeneity is reported as tau², I² (with confidence intervals from the Q-profile "
        "method), H² and Cochran's Q; 95% prediction intervals show the range of effects "
        "expected in a new study.")
    sentences += dependence_sentences(outcomes, pooled_results)
    median = extraction.get("median_conversion")
    if median:
        sentences.append(
            "Medians with interquartile ranges or ranges were converted to means and SDs with "
            f"{MEDIAN_METHODS.get(median, median)}; effects reported only as a t statistic or an "
            "exact two-sided P value with group sizes were converted to standardised mean "
            "differences; P values reported only as a bound were "
            + ("excluded." if extraction.get("p_value_bounds", "exclude") == "exclude"
               else "used as if exact (conservative)."))
    sentences.append(
        "Small-study effects (funnel plot, Egger's regression test, rank correlation and "
        "trim-and-fill) were examined only for outcomes with at least 10 studies; sensitivity "
        "analyses were leave-one-out, influence diagnostics and cumulative meta-analysis by "
        "year. Outcomes with a single study are reported without pooling; findings that could "
        "not be pooled are summarised in a narrative synthesis.")
    sentences.append(
        "Certainty of evidence was rated with GRADE-style domains (risk of bias, "
        "inconsistency, indirectness, imprecision, publication bias), suggested by explicit "
        "rules and reviewed by the authors.")
    versions = _join([f"{name} {version}" for name, version in software.items()
                      if name in {"metasr", "Python", "numpy", "scipy", "snakemake"}])
    sentences.append(f"Analyses were run with a Snakemake pipeline ({versions}).")
    return " ".join(sentences)


def _labels(ids: list[str], outcomes: dict) -> str:
    return _join([str((outcomes.get(i) or {}).get("label") or i) for i in ids])


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
    for (method, rho, rhos), ids in by_method.items():
        names = _labels(ids, outcomes)
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
                     "Cheung 2014 on the metafor website). Leave-one-out and cumulative analyses left out or added "
                     "whole studies; small-study effects were tested, with at least 10 studies, by Egger's regression "
                     "in the three-level model with CR2 inference (Rodgers & Pustejovsky 2021); Begg's test and "
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
        if choice == "split_shared":
            out.append(f"In multi-arm trials ({_labels(ids, outcomes)}), a group shared by several comparisons was "
                       "split evenly between them (Cochrane Handbook 23.3.4: means and SDs kept, sample sizes and "
                       "events divided), so that no participant is counted twice.")
        else:
            out.append(f"In multi-arm trials ({_labels(ids, outcomes)}), a group shared by several comparisons was "
                       "kept whole; the correlation it causes between the comparisons is carried by ρ.")
    return out
