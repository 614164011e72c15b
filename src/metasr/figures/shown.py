"""What an outcome's funnel and forest plots show besides its studies, decided once for the drawing
(metasr.figures.funnel, metasr.figures.forest) and for its caption in the report
(metasr.report.html, .methods): significance contours only for a measure with a null, Egger's
regression line only when an Egger test ran for the outcome, trim-and-fill's studies only when
trim and fill ran and the pooling result gives their positions; a prediction interval only for a
pooled random-effects model; the order the forest plot lists the studies in (the report's studies
table lists them the same way).

No matplotlib (the report imports this module without drawing anything).
"""

from __future__ import annotations

import math

from metasr import display, measures


def _ran(result) -> bool:
    return isinstance(result, dict) and "skipped" not in result and not result.get("message")


def funnel_egger(small: dict) -> tuple[dict, str] | None:
    """(result, legend label) of the Egger test whose regression line the funnel draws: the
    reported one (metasr.stats.bias.reported_egger: metafor's regtest(fit)) when it ran, else the
    three-level model's CR2 test of dependent effect sizes; None when no Egger test ran."""
    from metasr.stats.bias import reported_egger

    egger = reported_egger(small)
    if isinstance(egger, dict) and _ran(egger):
        return egger, "Egger's regression line"
    robust = small.get("egger_robust")
    if isinstance(robust, dict) and _ran(robust):
        return robust, "Egger's regression line (three-level model, CR2)"
    return None


def funnel_trimfill(small: dict) -> dict | None:
    """The trim-and-fill result when trim and fill ran for the outcome, else None."""
    trimfill = small.get("trimfill")
    return trimfill if _ran(trimfill) else None


def filled_studies(trimfill: dict, small: dict | None = None) -> list[tuple[float, float]]:
    """(yi, sei) of imputed studies, in any shape the pooling result may carry them:
    `trimfill.filled` as [{yi, vi}] or as metasr.stats.bias.filled_studies' {yi: [], vi: []},
    `trimfill.yi_fill` / `vi_fill`, or `small_study.filled`."""
    filled = trimfill.get("filled")
    if filled is None and small:
        filled = small.get("filled")
    if isinstance(filled, dict):
        filled = [{"yi": y, "vi": v} for y, v in zip(filled.get("yi") or [], filled.get("vi") or [], strict=True)]
    if isinstance(filled, list):
        return [(float(f["yi"]), math.sqrt(float(f["vi"]))) for f in filled
                if display.is_number(f.get("yi")) and display.is_number(f.get("vi"))]
    if isinstance(trimfill.get("yi_fill"), list):
        return [(float(y), math.sqrt(float(v)))
                for y, v in zip(trimfill["yi_fill"], trimfill.get("vi_fill") or [], strict=True)]
    return []


def funnel_filled(small: dict) -> list[tuple[float, float]]:
    """The filled studies the funnel draws: none unless trim and fill ran."""
    trimfill = funnel_trimfill(small)
    return filled_studies(trimfill, small) if trimfill is not None else []


def not_run_reason(small: dict) -> str:
    """Why no Egger test ran: the small-study section's reason, or the test's own."""
    if "skipped" in small:
        return str(small["skipped"])
    from metasr.stats.bias import reported_egger

    egger = reported_egger(small)
    return str((egger or {}).get("skipped") or (egger or {}).get("message") or "no result")


# What a report shows for a P value or test of a measure without a null
NO_NULL = "– (the measure has no null)"


def tests_null(pooled: dict) -> bool:
    """Whether the outcome's estimates get a test (a P value): tests are against the measure's null,
    and a test of a measure without one (a single-group mean, proportion or rate, whose analysis
    scale's 0 is no effect of anything) says nothing."""
    return measures.display_of(pooled).null is not None


def funnel_contours(pooled: dict) -> bool:
    """Whether the outcome's funnel plot is contour-enhanced: significance contours test against
    the measure's null, so a measure without one (a single-group proportion or rate) gets the
    funnel around the pooled estimate and no contours."""
    return tests_null(pooled)


def funnel_caption(pooled: dict) -> str:
    """The funnel plot's caption for this outcome: what it draws, and what it does not and why."""
    small = pooled.get("small_study") or {}
    contours = funnel_contours(pooled)
    text = ("Contour-enhanced funnel plot (shaded where a study would be significant at P < 0.10, 0.05 and 0.01)"
            if contours else "Funnel plot around the pooled estimate (the measure has no null: no significance "
                             "contours)")
    shown = []
    egger = funnel_egger(small)
    if egger is not None:
        shown.append(egger[1])
    trimfill = funnel_trimfill(small)
    if trimfill is not None:
        k0 = display.finite(trimfill.get("k0"))
        filled = funnel_filled(small)
        if filled:
            shown.append(f"the {len(filled)} stud{'y' if len(filled) == 1 else 'ies'} trim and fill imputed "
                         "(open circles)")
        elif k0:
            shown.append(f"no filled studies drawn (trim and fill imputed {k0:.0f}; their positions are not in the "
                         "results)")
        else:
            shown.append("no filled studies (trim and fill imputed none)")
    if shown:
        return f"{text}, with {_and(shown)}."
    return f"{text}; small-study tests not run for this outcome, so no regression line or filled studies: " \
           f"{not_run_reason(small).rstrip('.')}."


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# Common-effect fits (and Mantel-Haenszel and Peto, common-effect by construction) have no
# between-study variance: no prediction interval beyond their CI.
COMMON_EFFECT_METHODS = frozenset({"FE", "EE", "CE"})


def common_effect(pooled: dict) -> bool:
    method = (pooled.get("method") or "").upper()
    return method in COMMON_EFFECT_METHODS or method in measures.table_methods()


def forest_draws_prediction(pooled: dict) -> bool:
    """Whether the forest plot draws a prediction interval: a pooled random-effects model that has one."""
    model = pooled.get("model") or {}
    status = pooled.get("status") or ("pooled" if model else "no_data")
    return status == "pooled" and display.is_number(model.get("pi_lb")) and not common_effect(pooled)


def forest_caption(pooled: dict) -> str:
    """The forest plot's caption for this outcome: the prediction interval only where it is drawn."""
    model = pooled.get("model") or {}
    if (pooled.get("status") or ("pooled" if model else "no_data")) != "pooled":
        return "Each study's estimate and CI; the outcome is not pooled."
    interval = " and 95% prediction interval" if forest_draws_prediction(pooled) else \
        (" (a common-effect model: no prediction interval)" if common_effect(pooled) else "")
    return f"Studies, weights, pooled estimate (diamond){interval}."



def overall_test(pooled: dict) -> dict | None:
    """The test of the pooled estimate as the report's table and the forest plot's footer name it:
    {"name": "z" or "t", "stat", "pval", "df" (None for z), "robust" (CR2 with Satterthwaite df)};
    None without a statistic or a null to test against (tests_null). The model's own test wins over
    the outcome's: a robust fit is a t test whatever the outcome's test, and a three-level model with
    test t has rma.mv's k - p df."""
    model = pooled.get("model") or {}
    if not display.is_number(model.get("stat")) or not tests_null(pooled):
        return None
    robust = model.get("robust") is not None
    name = "z" if (model.get("test") or pooled.get("test") or "z").lower() == "z" and not robust else "t"
    return {"name": name, "stat": model["stat"], "pval": model.get("pval"), "robust": robust,
            "df": display.finite(model.get("df")) if name == "t" else None}


def configured_sort(outcome_cfg: dict | None) -> str:
    """The order the outcome's forest plot shows its studies in (`forest.sort_by`, default year)."""
    return ((outcome_cfg or {}).get("forest") or {}).get("sort_by", "year")


def sort_studies(studies: list[dict], sort_by: str = "year") -> list[dict]:
    """Order rows as reviewers expect: by year (then label), by weight (largest first), by effect."""
    def year_key(s):
        year = display.finite(s.get("year"))
        return (0 if year is not None else 1, year if year is not None else 0,
                str(s.get("label") or s.get("study_id")))

    if sort_by == "weight":
        return sorted(studies, key=lambda s: (-(s.get("weight") or 0), year_key(s)))
    if sort_by == "effect":
        return sorted(studies, key=lambda s: (s.get("yi") if display.is_number(s.get("yi")) else 0,
                                              year_key(s)))
    if sort_by in {"none", "input"}:
        return list(studies)
    return sorted(studies, key=year_key)


def study_members(pooled: dict) -> dict[str, list[dict]]:
    """Each study's effect sizes, by study id, in the pooled order."""
    members: dict[str, list[dict]] = {}
    for s in pooled.get("studies") or []:
        members.setdefault(str(s.get("study_id")), []).append(s)
    return members


def study_heads(pooled: dict, members: dict[str, list[dict]]) -> list[dict]:
    """One row per study to order the studies by: its first effect size, with the study's weight
    (its record in `by_study`, else the sum of its effect sizes')."""
    records = {str(s.get("study_id")): s for s in pooled.get("by_study") or []}

    def weight(rows: list[dict]):
        weights = [r.get("weight") for r in rows if display.is_number(r.get("weight"))]
        return sum(weights) if weights else None

    return [{**rows[0], "weight": (records.get(sid) or {}).get("weight", weight(rows))}
            for sid, rows in members.items()]


def study_order(pooled: dict, sort_by: str = "year") -> list[str]:
    """The study ids in the order the forest plot shows the studies (subgroups aside): each once,
    for tables that list a study's rows together where the forest has them."""
    return [str(head.get("study_id")) for head in sort_studies(study_heads(pooled, study_members(pooled)), sort_by)]
