"""The report's parts for outcomes with several effect sizes per study (metasr.stats.dependent): the
model (sigma2 and I2 per level, robust and model-based intervals), the rho sensitivity table, and the
studies behind study-level sensitivity analyses."""

from __future__ import annotations

from metasr import dependence, display as dp, measures


def _estimate(display, est, lb, ub, decimals: int | None = None) -> str:
    """An estimate and CI as shown (metasr.display: true minus, decimals by magnitude), "–" if missing."""
    return dp.estimate(est, lb, ub, display, decimals, missing=dp.MISSING)


def _variance(x) -> str:
    return dp.tau2(x, dp.MISSING)  # a variance component: as tau² is written


def is_multilevel(pooled: dict) -> bool:
    return (pooled.get("model") or {}).get("model_type") == "three-level"


def model_rows(pooled: dict) -> list[tuple[str, str]]:
    """Pooled result of a three-level model: estimate, interval (CR2 when robust), sigma2 and I2 per
    level (the metafor website's I2 for multilevel models), Q."""
    m = pooled.get("model") or {}
    display = measures.display_of(pooled)
    robust = m.get("robust") is not None
    sigma2 = m.get("sigma2") or [None, None]
    levels = m.get("I2_levels") or [None, None]
    mb = m.get("model_based") or {}
    est, pi = m.get("estimate"), (m.get("pi_lb"), m.get("pi_ub"))
    decimals = dp.estimate_decimals([(est, m.get("ci_lb"), m.get("ci_ub")), (est, mb.get("ci_lb"), mb.get("ci_ub")),
                                     pi], display)  # the model's intervals share their decimals
    rows = [("Pooled estimate [95% CI]" + (" (CR2 cluster-robust)" if robust else ""),
             _estimate(display, est, m.get("ci_lb"), m.get("ci_ub"), decimals))]
    rows.append(("Robust test" if robust else "Test for overall effect", overall_test_text(pooled)))
    rows += model_based_rows(pooled, decimals)
    rows += [("95% prediction interval", dp.interval(dp.shown(pi[0], display), dp.shown(pi[1], display), decimals,
                                                     dp.MISSING, dp.shown_null(display))),
             ("σ² between studies", _variance(sigma2[0])), ("σ² within studies", _variance(sigma2[1])),
             ("I² total / between / within", " / ".join(dp.percent(x, 1, dp.MISSING) for x in
                                                        (m.get("I2"), levels[0], levels[1]))),
             ("Cochran's Q", f"Q = {dp.number(m.get('Q'), 2, dp.MISSING)}, df = {m.get('Q_df', '–')}, "
                             f"{dp.p_value(m.get('Q_pval'))}"),
             ("Studies (effect sizes)", f"{m.get('n_clusters', '–')} ({m.get('k', '–')})")]
    return rows


def model_based_rows(pooled: dict, decimals: int | None = None) -> list[tuple[str, str]]:
    """Beside a CR2 cluster-robust interval, the model-based one (the fit's own test), or nothing."""
    m = pooled.get("model") or {}
    mb = m.get("model_based")
    if m.get("robust") is None or not mb:
        return []
    interval = _estimate(measures.display_of(pooled), m.get("estimate"), mb.get("ci_lb"), mb.get("ci_ub"), decimals)
    return [(f"Model-based 95% CI ({mb.get('test') or 'z'})", interval)]


def overall_test_text(pooled: dict) -> str:
    """The pooled estimate's test (metasr.figures.shown.overall_test) for the report's table:
    "z = 2.20, P = 0.030", "t = 2.18, df = 55, P = 0.033" or, CR2 cluster-robust,
    "t = 2.20, df = 9.5 (Satterthwaite), P = 0.0004"; none for a measure without a null."""
    from metasr.figures.shown import NO_NULL, overall_test, tests_null

    if not tests_null(pooled):
        return NO_NULL
    test = overall_test(pooled)
    if test is None:
        return dp.MISSING
    text = f"{test['name']} = {dp.number(test['stat'], 2, dp.MISSING)}, "
    if test["name"] == "t":
        text += f"df = {dp.degrees_of_freedom(test['df'])}{' (Satterthwaite)' if test['robust'] else ''}, "
    return text + dp.p_value(test["pval"])


def section(pooled: dict) -> dict | None:
    """What the report says about an outcome's dependence handling; None for other outcomes."""
    dep = pooled.get("dependence")
    if not dep:
        return None
    display = measures.display_of(pooled)
    model = pooled.get("model") or {}
    text = f"Method: {dep['method']} ({dep.get('description', '')}); {dependence.counts_text(pooled)}."
    if dep.get("rho") is not None:
        text += f" Assumed correlation of sampling errors within a study: rho = {dep['rho']:g}."
    multi_arm = dep.get("multi_arm")
    text += f" Shared groups of multi-arm trials: {multi_arm} ({dependence.MULTI_ARM.get(multi_arm, '')})."
    note = model.get("model_note")
    if note:  # a sentence of its own
        text += f" {note[:1].upper()}{note[1:]}."
    rows = []
    sensitivity = pooled.get("rho_sensitivity") or []
    multilevel = any(r.get("sigma2") for r in sensitivity)
    decimals = dp.estimate_decimals([(r.get("estimate"), r.get("ci_lb"), r.get("ci_ub")) for r in sensitivity],
                                    display)  # one column, one number of decimals
    for r in sensitivity:
        variance = (f"{_variance(r['sigma2'][0])} / {_variance(r['sigma2'][1])}" if r.get("sigma2")
                    else _variance(r.get("tau2")))
        rows.append({"rho": f"{r['rho']:g}", "estimate": _estimate(display, r.get("estimate"), r.get("ci_lb"),
                                                                      r.get("ci_ub"), decimals), "variance": variance})
    return {"text": text, "rho_rows": rows,
            "variance_header": "σ² between / within" if multilevel else "τ² (between studies)"}


def units(pooled: dict, block: dict) -> list[dict] | None:
    """The studies a study-level sensitivity block is about (metasr.figures.forest_groups)."""
    from metasr.figures.forest_groups import sensitivity_units

    return sensitivity_units(pooled, block)
