"""The Baujat plot's numbers (Baujat et al. 2002): each study's contribution to heterogeneity and
its influence on the pooled result, and which studies the plot names, decided once for the
drawing (metasr.figures.sensitivity) and for its text in the report (metasr.report.html).

No matplotlib (the report imports this module without drawing anything).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metasr import measures
from metasr.display import finite, is_number

# Mantel-Haenszel and Peto fits have no inverse-variance refits: their Baujat plot uses the
# common-effect model, as the pooled file's bias and sensitivity sections do.
IV_METHOD = {"MH": "FE", "PETO": "FE"}
BAUJAT_NAMED = 8  # studies named on a Baujat plot: the most outlying (baujat_outlying)


@dataclass
class BaujatPoints:
    studies: list[dict]
    x: np.ndarray        # squared Pearson residual (a common-effect model's contribution to Q)
    y: np.ndarray        # influence on the pooled result
    method: str          # the model's method ("FE" for Mantel-Haenszel and Peto fits)
    table_fit: bool      # the Mantel-Haenszel or Peto fit itself (table_baujat_coordinates)


def baujat_coordinates(yi, vi, method: str = "FE", test: str = "z") -> tuple[np.ndarray, np.ndarray]:
    """metafor's baujat() on the model fitted with `method` and `test`: squared Pearson residual and
    influence on the fitted value, per study (metasr.stats.sensitivity.baujat)."""
    from metasr.stats.models import fit_rma
    from metasr.stats.sensitivity import baujat

    method = IV_METHOD.get(method, method)
    res = baujat(fit_rma(np.asarray(yi, float), np.asarray(vi, float), method=method,
                         test=test if method != "FE" else "z"))
    return np.array(res["x"], float), np.array([np.nan if v is None else v for v in res["y"]], float)


def table_baujat_coordinates(pooled: dict) -> tuple[list[dict], np.ndarray, np.ndarray] | None:
    """metafor's baujat() of a Mantel-Haenszel or Peto fit, from the pooled result: per study with
    an effect (double-zero tables have none, as rma.mh's drop00), x = (yi - estimate)^2 / vi and
    y = (estimate without the study - estimate)^2 / its variance (the leave-one-out refits of the
    fit's own method, `sensitivity.leave1out`). None without those refits."""
    from metasr.stats.models import double_zero

    studies = pooled.get("studies") or []
    l1o = (pooled.get("sensitivity") or {}).get("leave1out") or {}
    estimate = finite((pooled.get("model") or {}).get("estimate"))
    if not (isinstance(l1o.get("estimate"), list) and len(l1o["estimate"]) == len(studies)) \
            or estimate is None:
        return None
    measure = pooled.get("measure") or ""
    # a table's cells: the rates' (x1i, t1i, x2i, t2i) or the 2x2 table's (ai, bi, ci, di)
    cells = measures.RATES[0] if measures.get(measure).family == "two-group rates" else measures.TABLES[0]
    keep = [i for i, s in enumerate(studies)
            if is_number(s.get("yi")) and is_number(s.get("vi"))
            and is_number(l1o["estimate"][i]) and is_number((l1o.get("se") or [None] * len(studies))[i])
            and not (all(is_number(s.get(c)) for c in cells)
                     and double_zero(measure, [[s[c]] for c in cells])[0])]
    kept = [studies[i] for i in keep]
    return kept, *_leave1out_coordinates(kept, estimate, 0.0, [l1o["estimate"][i] for i in keep],
                                         [l1o["se"][i] for i in keep])


def baujat_points(pooled: dict) -> BaujatPoints | str:
    """The Baujat plot's studies and coordinates, or why it is not drawn."""
    aggregated = (pooled.get("model") or {}).get("model_type") == "aggregated"
    # an aggregated outcome's pooled units are its studies' combined effects
    studies = [s for s in (pooled.get("by_study") if aggregated else pooled.get("studies")) or []
               if is_number(s.get("yi")) and is_number(s.get("vi"))]
    table_fit = table_baujat_coordinates(pooled) if pooled.get("method") in IV_METHOD else None
    if table_fit:
        studies = table_fit[0]
    if (pooled.get("model") or {}).get("model_type") == "three-level":
        return ("its common-effect model assumes independent effect sizes, and this outcome's studies "
                "contribute several")
    if len(studies) < 3:
        return f"it needs at least 3 pooled studies (k = {len(studies)})"
    method = IV_METHOD.get(pooled.get("method") or "FE", pooled.get("method") or "FE")
    if table_fit:  # the Mantel-Haenszel or Peto fit itself, as metafor's baujat() takes it
        _, x, y = table_fit
    else:
        x, y = stored_baujat_coordinates(pooled, studies) or baujat_coordinates(
            [s["yi"] for s in studies], [s["vi"] for s in studies], method, pooled.get("test") or "z")
    return BaujatPoints(studies, x, y, method, bool(table_fit))


def stored_baujat_coordinates(pooled: dict, studies: list[dict]) -> tuple[np.ndarray, np.ndarray] | None:
    """baujat_coordinates of the pooled model without fitting anything again: x from its estimate
    and tau2, y from its leave-one-out refits (`sensitivity.leave1out`: the same method, test and
    studies, in their order). None when the pooled file does not hold them for these studies (a
    Mantel-Haenszel or Peto fit, an aggregated or three-level model, no leave-one-out analysis).
    The outcome job draws the plot and the report describes it from these; refitting every
    leave-one-out model again for both took a fifth of the report's time at 2,000 outcomes."""
    model = pooled.get("model") or {}
    l1o = (pooled.get("sensitivity") or {}).get("leave1out") or {}
    estimate, se_del, estimate_del = finite(model.get("estimate")), l1o.get("se"), l1o.get("estimate")
    tau2 = 0.0 if pooled.get("method") == "FE" else finite(model.get("tau2"))
    k = len(studies)
    if (pooled.get("method") in IV_METHOD or model.get("model_type") in ("aggregated", "three-level")
            or model.get("k") != k or estimate is None or tau2 is None
            or not (isinstance(estimate_del, list) and isinstance(se_del, list)
                    and len(estimate_del) == len(se_del) == k)):
        return None
    return _leave1out_coordinates(studies, estimate, tau2, estimate_del, se_del)


def _leave1out_coordinates(studies: list[dict], estimate: float, tau2: float, estimate_del: list,
                           se_del: list) -> tuple[np.ndarray, np.ndarray]:
    """Baujat's x = (yi - estimate)^2 / (vi + tau2) and y = (estimate without the study -
    estimate)^2 / its variance per study, from a pooled model and its leave-one-out refits (y NaN
    where a study has no refit)."""
    yi = np.array([s["yi"] for s in studies], float)
    vi = np.array([s["vi"] for s in studies], float)
    x = (yi - estimate) ** 2 / (tau2 + vi)
    y = np.array([(b - estimate) ** 2 / se ** 2 if is_number(b) and is_number(se) and se > 0 else np.nan
                  for b, se in zip(estimate_del, se_del, strict=True)])
    return x, y


def baujat_outlying(x, y, n: int = BAUJAT_NAMED) -> list[int]:
    """The `n` studies farthest from the origin of a Baujat plot, each axis scaled to its largest
    value (a study far out on either axis, or on both, is outlying), farthest first."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    distance = np.nan_to_num(np.hypot(x / (np.nanmax(x) or 1), y / (np.nanmax(y) or 1)), nan=-1.0)
    return [int(i) for i in np.argsort(-distance, kind="stable")[:n] if distance[i] >= 0]
