"""The auto-written methods paragraph: what was done, in the words a methods section uses."""

from __future__ import annotations

from metasr import measures

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
