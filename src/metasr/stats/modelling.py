"""Optional analyses of a fitted model, as `metasr pool`'s modelling flags ask for them.

`ModellingOptions` gathers the requests; `modelling_dict(fit, table, options)` runs them on an
inverse-variance fit and returns one JSON-ready section per request, each under metafor's name
(`regtest`, `pet_peese`, `trimfill`, `fsn`, `tes`, `hc`, `selmodel`, `wald`, `anova`,
`fit_stats`, `permutest`, `confint` (the CI of tau2 asked for), `baujat`). Nothing here runs
unless asked, so `analyse()` without these options prints what it always printed.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

import numpy as np
import pandas as pd

from metasr.errors import InputError, Problem
from metasr.stats.models import MetaFit

TAU2_CI_TYPES = ("QP", "PL", "GENQ")


@dataclass
class ModellingOptions:
    weights: str | None = None               # column of user weights (GENQ's a_i; weighted fit)
    regtest_model: str | None = None         # rma | lm
    regtest_predictor: str | None = None     # sei, vi, ni, ninv, sqrtni, sqrtninv
    ni: str = "ni"                           # column of sample sizes for the ni predictors
    pet_peese: bool = False
    trimfill_estimator: str | None = None    # L0 | R0 | Q0
    trimfill_side: str | None = None         # left | right
    fsn: list = field(default_factory=list)  # Rosenthal, Orwin, Rosenberg
    fsn_target: float | None = None
    tes: bool = False
    hc: bool = False
    selmodel: str | None = None              # stepfun | beta
    steps: list | None = None
    selmodel_alternative: str = "greater"
    btt: list | None = None                  # coefficient names or 0-based indices
    anova_reduced: str | None = None         # moderator formula of the reduced model
    fit_stats: bool = False
    permutations: int | None = None
    exact_permutations: bool = False
    permutation_seed: int | None = None
    tau2_ci: str | None = None               # QP | PL | GENQ
    baujat: bool = False

    def any(self) -> bool:
        """Whether a section is asked for (settings like --ni alone ask for none)."""
        settings = {"ni", "selmodel_alternative", "fsn_target", "steps", "permutation_seed"}
        return any(getattr(self, f.name) != (f.default_factory() if f.default_factory is not MISSING else f.default)
                   for f in fields(self) if f.name not in settings)

    def needs_intercept_only(self) -> list[str]:
        flags = {"--pet-peese": self.pet_peese, "--trimfill-estimator/--trimfill-side":
                 self.trimfill_estimator or self.trimfill_side, "--fsn": self.fsn, "--hc": self.hc}
        return [flag for flag, given in flags.items() if given]


def column_values(table: pd.DataFrame, column: str, file, what: str, rows=None) -> np.ndarray:
    """A numeric column, every value present and positive, or an InputError naming the rows."""
    if column not in table.columns:
        raise InputError(Problem(message=f"{what} column '{column}' is missing", file=file, column=column,
                                 rule="required column", hint="name a column of the input table"))
    values = pd.to_numeric(table[column], errors="coerce")
    rows = list(rows) if rows is not None else [i + 2 for i in range(len(table))]
    bad = [(row, raw) for row, raw, v in zip(rows, table[column], values, strict=True)
           if not (np.isfinite(v) and v > 0)]
    if bad:
        raise InputError([Problem(message=f"{what} must be a positive number", file=file, row=int(row),
                                  column=column, value=str(raw), rule="positive number",
                                  hint=f"give every study its {what}") for row, raw in bad])
    return values.to_numpy(float)


def modelling_dict(fit: MetaFit, table: pd.DataFrame, options: ModellingOptions, file=None, rows=None,
                   design=None) -> dict:
    """The requested sections for `fit` (`design(formula)` builds a reduced model's X and names)."""
    from metasr.stats import bias, model_comparison as mc, sensitivity

    if not fit.is_intercept_only and options.needs_intercept_only():
        raise InputError(Problem(message=f"{', '.join(options.needs_intercept_only())} need a model without "
                                         "moderators", file=file, rule="intercept-only model",
                                 hint="drop --mods for these analyses"))
    out: dict = {}
    if options.regtest_model or options.regtest_predictor:
        ni = _ni(table, options, file, rows) if (options.regtest_predictor or "sei") not in ("sei", "vi") else None
        out["regtest"] = bias.regtest(fit, model=options.regtest_model or "rma",
                                      predictor=options.regtest_predictor or "sei", ni=ni)
    if options.pet_peese:
        out["pet_peese"] = bias.pet_peese(fit, model=options.regtest_model or "lm")
    if options.trimfill_estimator or options.trimfill_side:
        out["trimfill"] = bias.trimfill(fit, estimator=options.trimfill_estimator or "L0",
                                        side=options.trimfill_side)
    if options.fsn:
        from metasr.stats.fsn import fsn

        out["fsn"] = {t: fsn(fit.yi, fit.vi, type=t, target=options.fsn_target) for t in options.fsn}
    if options.tes:
        from metasr.stats.tes import tes_fit

        out["tes"] = tes_fit(fit)
    if options.hc:
        from metasr.stats.henmi_copas import hc_fit

        out["hc"] = hc_fit(fit)
    if options.selmodel:
        from metasr.stats.selection import selmodel

        out["selmodel"] = selmodel(fit, type=options.selmodel, steps=options.steps,
                                   alternative=options.selmodel_alternative)
    if options.btt:
        out["wald"] = mc.wald_test(fit, [mc.index_or_name(b) for b in options.btt])
    if options.anova_reduced is not None:
        X, names = design(options.anova_reduced)
        from metasr.stats.models import fit_rma

        reduced = fit_rma(fit.yi, fit.vi, method=fit.method, test=fit.test, X=X, coef_names=names, weights=fit.a)
        out["anova"] = mc.lrt(fit, reduced)
        out["anova"]["reduced"] = options.anova_reduced
    if options.fit_stats:
        out["fit_stats"] = mc.fit_stats(fit)
    if options.permutations is not None or options.exact_permutations:
        from metasr.stats.permutation import ITER, permutest

        out["permutest"] = permutest(fit, exact=options.exact_permutations, iter=options.permutations or ITER,
                                     seed=options.permutation_seed)
    if options.tau2_ci:
        out["confint"] = _tau2_ci(fit, options.tau2_ci)  # not "tau2_ci": the model's Q-profile CI is there
    if options.baujat:
        out["baujat"] = sensitivity.baujat(fit)
    return out


# Without an ni column, the total sample size as escalc's ni attribute has it (metafor's regtest
# reads that): the two groups' sizes, or a 2x2 table's four cells.
NI_PARTS = (("n1i", "n2i"), ("ai", "bi", "ci", "di"))


def _ni(table, options, file, rows):
    if options.ni == "ni" and "ni" not in table.columns:
        for parts in NI_PARTS:
            if all(c in table.columns for c in parts):
                total = sum(pd.to_numeric(table[c], errors="coerce").to_numpy(float) for c in parts)
                if np.all(np.isfinite(total) & (total > 0)):
                    return total
    return column_values(table, options.ni, file, "sample size (ni)", rows)


def _tau2_ci(fit: MetaFit, kind: str) -> dict:
    from metasr.stats import inference, model_comparison as mc

    if fit.method == "FE":
        raise InputError("a CI for tau2 needs a random-effects model", hint="use a tau2 estimator, not FE")
    if kind == "PL":
        return mc.profile_ci_tau2(fit)
    if kind == "GENQ":
        return mc.genq_ci_tau2(fit)
    lb, ub, signs = inference.q_profile_tau2(fit.yi, fit.vi, fit.X, fit.tau2)
    out: dict = {"tau2_ci": [lb, ub], "type": "QP"}
    for side, sign in zip(("lb", "ub"), signs, strict=True):  # as profile_ci_tau2's
        if sign:
            out[f"{side}_sign"] = sign
    return out
