"""The report's parts for outcomes with several effect sizes per study (metasr.stats.dependent): the
model (sigma2 and I2 per level, robust and model-based intervals), the rho sensitivity table, and the
studies behind study-level sensitivity analyses."""

from __future__ import annotations

from metasr import dependence, display as dp, measures


def _fixed(x, digits=2) -> str:
    try:
        return f"{float(x):.{digits}f}"
    except (TypeError, ValueError):
        return "–"


def _estimate(display, est, lb, ub) -> str:
    if est is None:
        return "–"
    return f"{_fixed(display.shown(est))} [{_fixed(display.shown(lb))}, {_fixed(display.shown(ub))}]"


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
    rows = [("Pooled estimate [95% CI]" + (" (CR2 cluster-robust)" if robust else ""),
             _estimate(display, m.get("estimate"), m.get("ci_lb"), m.get("ci_ub")))]
    if robust:
        rows.append(("Robust test", f"t = {_fixed(m.get('stat'))}, df = {_fixed(m.get('df'), 1)} (Satterthwaite), "
                                    f"{dp.p_value(m.get('pval'))}"))
        mb = m.get("model_based") or {}
        rows.append(("Model-based 95% CI (z)", _estimate(display, m.get("estimate"), mb.get("ci_lb"), mb.get("ci_ub"))))
    else:
        rows.append(("Test for overall effect", f"z = {_fixed(m.get('stat'))}, {dp.p_value(m.get('pval'))}"))
    pi_lb, pi_ub = (_fixed(display.shown(m.get(bound))) for bound in ("pi_lb", "pi_ub"))
    rows += [("95% prediction interval", f"[{pi_lb}, {pi_ub}]"),
             ("σ² between studies", _fixed(sigma2[0], 4)), ("σ² within studies", _fixed(sigma2[1], 4)),
             ("I² total / between / within",
              f"{_fixed(m.get('I2'), 1)}% / {_fixed(levels[0], 1)}% / {_fixed(levels[1], 1)}%"),
             ("Cochran's Q", f"Q = {_fixed(m.get('Q'))}, df = {m.get('Q_df', '–')}, {dp.p_value(m.get('Q_pval'))}"),
             ("Studies (effect sizes)", f"{m.get('n_clusters', '–')} ({m.get('k', '–')})")]
    return rows


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
    if model.get("model_note"):
        text += f" {model['model_note']}."
    rows = []
    multilevel = any(r.get("sigma2") for r in pooled.get("rho_sensitivity") or [])
    for r in pooled.get("rho_sensitivity") or []:
        variance = (f"{_fixed(r['sigma2'][0], 4)} / {_fixed(r['sigma2'][1], 4)}" if r.get("sigma2")
                    else _fixed(r.get("tau2"), 4))
        rows.append({"rho": f"{r['rho']:g}", "estimate": _estimate(display, r.get("estimate"), r.get("ci_lb"),
                                                                      r.get("ci_ub")), "variance": variance})
    return {"text": text, "rho_rows": rows,
            "variance_header": "σ² between / within" if multilevel else "τ² (between studies)"}


def units(pooled: dict, block: dict) -> list[dict] | None:
    """The studies a study-level sensitivity block is about (metasr.figures.forest_groups)."""
    from metasr.figures.forest_groups import sensitivity_units

    return sensitivity_units(pooled, block)
