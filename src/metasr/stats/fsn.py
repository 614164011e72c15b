"""Fail-safe N, as metafor's `fsn()` computes it: how many unpublished null studies would
overturn a result.

- Rosenthal (1979), Stouffer's method: the number of studies with z = 0 that would raise the
  one-sided p of the combined z above `alpha`.
- Orwin (1983): the number of studies with effect 0 (or `target`'s opposite sign turned around)
  that would bring the (unweighted, or with `weighted` inverse-variance weighted) mean effect down
  to `target` (default: half the mean effect).
- Rosenberg (2005): the number of studies with effect 0 and the average weight that would make the
  common-effect model's two-sided z test non-significant at `alpha`.

A non-integral number is rounded up (metafor: unless it is within sqrt(eps) of an integer).
"""

from __future__ import annotations

import math

import numpy as np

from metasr.errors import InputError
from metasr.stats import distributions as dist

FSN_TYPES = ("Rosenthal", "Orwin", "Rosenberg")


def _round_up(fsnum: float) -> float:
    if math.isinf(fsnum):
        return fsnum
    if abs(fsnum - round(fsnum)) >= math.sqrt(np.finfo(float).eps):
        return float(math.ceil(fsnum))
    return float(round(fsnum))


def fsn(yi, vi, type: str = "Rosenthal", alpha: float = 0.05, target: float | None = None,
        weighted: bool = False) -> dict:
    """{type, fsnum, alpha, pval, meanes, target} with metafor's names (None where metafor has NA)."""
    if type not in FSN_TYPES:
        raise InputError(f"unknown fail-safe N type {type!r}", hint=f"use one of {', '.join(FSN_TYPES)}")
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    k = len(yi)
    if k == 0:
        raise InputError("fail-safe N needs at least one study")
    pval = meanes = None
    if type == "Rosenthal":
        z_avg = abs(float(np.sum(yi / np.sqrt(vi))) / math.sqrt(k))
        pval = float(dist.norm_sf(z_avg))
        fsnum = max(0.0, k * (z_avg / float(dist.norm_isf(alpha))) ** 2 - k)
        target = None
    elif type == "Orwin":
        meanes = float(np.sum(yi / vi) / np.sum(1 / vi)) if weighted else float(np.mean(yi))
        if target is None:
            target = meanes / 2
        if target == 0:
            fsnum = math.inf
        else:
            if np.sign(target) != np.sign(meanes):
                target = -target
            fsnum = max(0.0, k * (meanes - target) / target)
    else:
        w = 1 / vi
        meanes = float(np.sum(w * yi) / np.sum(w))
        zval = meanes / math.sqrt(1 / np.sum(w))
        w_p = (float(np.sum(w * yi)) / float(dist.norm_isf(alpha / 2))) ** 2 - float(np.sum(w))
        pval = float(2 * dist.norm_sf(abs(zval)))
        fsnum = max(0.0, k * w_p / float(np.sum(w)))
        target = None
    return {"type": type, "fsnum": _round_up(fsnum), "alpha": alpha, "pval": pval, "meanes": meanes,
            "target": target}
