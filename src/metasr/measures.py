"""The measure registry: every effect measure metasr pools, one record each, and their transforms.

Everything that depends on which measure an outcome uses reads this module: the schemas' enums,
the CLI's choices, escalc's input columns, extraction's sheet forms, the pooled results'
`transform`, figures, report, history and GRADE. It is pure Python (no numpy, no pandas), so parse
time and the CLI can import it. `tests/test_measures.py` fails when another module lists measure
ids itself.

A record says, in metafor's words:
- `id` (escalc's `measure`), `label`, `family` (which data a study gives: FAMILIES);
- `inputs`: escalc's column names, one tuple per accepted layout (the first is the one extraction
  writes);
- `transform`: the back-transformation from the analysis scale to the display scale, by name
  (TRANSFORMS, each with metafor's `transf` function, its inverse and its `targs`);
- `null`: the "no effect" value on the analysis scale (None where a measure has none, e.g. a
  prevalence); `grade`: limits of an appreciable effect on the display scale (None where they
  depend on the outcome: metasr.report.grade derives a risk difference's from the control risk and
  a mean difference's from the SD; a generic effect's scale is the studies');
- `table_methods`: the methods besides inverse variance (rma.mh, rma.peto) that pool it;
- `add`, `zero_rule`: escalc's default `add` and whether `add`/`to` (and `drop00` for two groups)
  apply; `vtypes`: the sampling-variance types escalc allows (the first is the default);
- `reported`: effects a paper reports that the measure takes directly (extraction's
  `effect_measure`); `from_test`: a t statistic or p-value gives the measure (SMD);
  `standardised`: free of the outcome's unit like every ratio, proportion, rate and correlation;
  `raw_score`: a paired mean change standardised by `sd1i`, one occasion's raw-score SD, not the
  SD of the change scores;
- `absolute`: how the summary of findings turns a pooled effect into an absolute one
  (metasr.report.sof: ABSOLUTE_KINDS), None when it gives a relative effect only;
- `simulated`: share of outcomes using it in synthetic reviews (`metasr simulate`).

Adding a measure: one record here, its escalc formula in `metasr.stats.effects`, the schema enums
(`python tools/write_measure_enums.py`), and its parity fixtures and tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeGuard

# ---------------------------------------------------------------- transforms (metafor's transf)


def _ilogit(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def _logit(p: float) -> float | None:
    return math.log(p / (1 - p)) if 0 < p < 1 else None


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(v: float) -> float | None:
    return math.log(v) if v > 0 else None


def _atanh(r: float) -> float | None:
    return math.atanh(r) if -1 < r < 1 else None


def _iarcsin(x: float) -> float:
    """metafor's transf.iarcsin: sin(x)^2, 0 below 0 and 1 above pi/2."""
    if x < 0:
        return 0.0
    if x > math.asin(1):
        return 1.0
    return math.sin(x) ** 2


def _arcsin(p: float) -> float | None:
    return math.asin(math.sqrt(p)) if 0 <= p <= 1 else None


def _isqrt(x: float) -> float:
    return 0.0 if x < 0 else x * x


def _sqrt(v: float) -> float | None:
    return math.sqrt(v) if v >= 0 else None


def pft(p: float, ni: float) -> float:
    """Freeman-Tukey double arcsine of a proportion p at sample size ni (metafor's transf.pft)."""
    xi = p * ni
    return 0.5 * (math.asin(math.sqrt(xi / (ni + 1))) + math.asin(math.sqrt((xi + 1) / (ni + 1))))


def ipft(x: float, ni: float) -> float:
    """Inverse of the Freeman-Tukey double arcsine at sample size ni (Miller 1978; metafor's
    transf.ipft), 0 and 1 beyond the transforms of 0 and 1."""
    if x > pft(1.0, ni):
        return 1.0
    if x < pft(0.0, ni):
        return 0.0
    s = math.sin(2 * x)
    inner = 1 - (s + (s - 1 / s) / ni) ** 2
    if inner < 0:
        return math.nan
    return 0.5 * (1 - math.copysign(1.0, math.cos(2 * x)) * math.sqrt(inner))


def irft(ir: float, ti: float) -> float:
    """Freeman-Tukey transform of an incidence rate at person-time ti (metafor's transf.irft)."""
    return 0.5 * (math.sqrt(ir) + math.sqrt(ir + 1 / ti))


def iirft(x: float, ti: float) -> float:
    """Inverse of the Freeman-Tukey rate transform at person-time ti (metafor's transf.iirft)."""
    if x < irft(0.0, ti):
        return 0.0
    z = (1 / ti - 8 * x**2 + 16 * ti * x**4) / (16 * x**2 * ti)
    return 0.0 if z <= 2.220446049250313e-16 else z


def harmonic_mean(values) -> float:
    """1 / mean(1 / v), as metafor's transf.ipft.hm takes the sample sizes."""
    values = [float(v) for v in values]
    return len(values) / sum(1 / v for v in values)


@dataclass(frozen=True)
class Transform:
    """A back-transformation (analysis scale -> display scale) and its inverse.

    `args` names the `targs` it needs (e.g. the harmonic mean of `ni`), `metafor` the transf
    function that predict(fit, transf = ...) uses for it."""

    name: str
    metafor: str
    back: Callable[..., float]
    forward: Callable[..., float | None]
    args: tuple[str, ...] = ()


TRANSFORMS = {t.name: t for t in (
    Transform("identity", "none", lambda x: x, lambda v: v),
    Transform("exp", "exp", _exp, _log),
    Transform("tanh", "transf.ztor", math.tanh, _atanh),
    Transform("ilogit", "transf.ilogit", _ilogit, _logit),
    Transform("iarcsin", "transf.iarcsin", _iarcsin, _arcsin),
    Transform("isqrt", "transf.isqrt", _isqrt, _sqrt),
    Transform("ipft_hm", "transf.ipft.hm", lambda x, ni: ipft(x, ni), lambda v, ni: pft(v, ni) if 0 <= v <= 1 else None,
              ("ni",)),
    Transform("irft_hm", "transf.iirft", lambda x, ti: iirft(x, ti), lambda v, ti: irft(v, ti) if v >= 0 else None,
              ("ti",)),
)}

# ---------------------------------------------------------------- families

MEAN_INPUTS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


@dataclass(frozen=True)
class Family:
    """What one study gives for a kind of measure: its groups and the extraction sheet's forms.

    `sheet_columns` maps escalc's columns to the outcome sheet's columns for forms copied as they
    are (mean forms are converted first: metasr.extraction.effects)."""

    id: str
    groups: int
    sheet_forms: tuple[str, ...]
    sheet_columns: dict = field(default_factory=dict)
    drop00: bool = False  # escalc's drop00 applies (two-group counts)
    # The correlation between a sample's two measurements may be an outcome's assumption where a
    # study does not report it (`assumed_correlation`; Cochrane Handbook 6.5.2.8).
    assumed_correlation: bool = False
    # Columns of `sheet_columns` that only some of the family's measures read (SPCOR's r2i, which
    # PCOR does without): the sheet form leaves their cells optional, a measure whose inputs name
    # them needs them filled (metasr.extraction.forms.measure_cells).
    optional: tuple[str, ...] = ()


MEAN_FORMS = ("mean_sd", "mean_se", "mean_ci", "median_iqr", "median_range", "median_iqr_range")
# One group's mean: the same forms, of the study's one sample (mean, sd, n; converted like a group's).
SINGLE_MEAN_FORMS = tuple(f"single_{form}" for form in MEAN_FORMS)

FAMILIES = {f.id: f for f in (
    Family("two-group means", 2, MEAN_FORMS),
    Family("variability", 2, MEAN_FORMS),
    Family("two-group tables", 2, ("events_n",),
           {"ai": "events1", "n1i": "n1", "ci": "events2", "n2i": "n2"}, drop00=True),
    Family("two-group rates", 2, ("events_persontime",),
           {"x1i": "events1", "t1i": "time1", "x2i": "events2", "t2i": "time2"}, drop00=True),
    Family("single-group proportions", 1, ("events_total",), {"xi": "events", "ni": "n"}),
    Family("single-group rates", 1, ("events_time",), {"xi": "events", "ti": "time"}),
    Family("single-group means", 1, SINGLE_MEAN_FORMS, {"mi": "mean", "sdi": "sd", "ni": "n"}),
    # One group measured twice (pre and post) or matched pairs: the two occasions' means and SDs,
    # the number of pairs and the correlation between the two measurements (escalc's m1i, m2i,
    # sd1i, sd2i, ni, ri); one sample, compared with itself.
    Family("paired means", 1, ("paired_mean_sd",),
           {"m1i": "mean1", "m2i": "mean2", "sd1i": "sd1", "sd2i": "sd2", "ni": "n", "ri": "r"},
           assumed_correlation=True),
    Family("correlations", 1, ("correlation",), {"ri": "r", "ni": "n"}),
    # A regression model's coefficient of interest: its t statistic, the sample size, the number of
    # predictors and the model's R^2 (escalc's ti, ni, mi, r2i); one sample.
    Family("partial correlations", 1, ("regression_t",), {"ti": "t_stat", "ni": "n", "mi": "predictors", "r2i": "r2"},
           optional=("r2i",)),
    Family("generic", 0, ()),
)}

# How a measure's numbers read on the display scale ("mean": one group's mean, which neither
# compares groups like a difference nor has a null value to compare with).
DISPLAYS = ("difference", "ratio", "proportion", "rate", "mean", "correlation")
SHOWN_BOUNDS = {"proportion": (0.0, 1.0), "correlation": (-1.0, 1.0)}  # before proportions become %
# Measures of a bounded quantity whose back-transformed intervals stay inside SHOWN_BOUNDS (the raw
# scale's normal-approximation intervals, PR's and COR's, can leave them).
BOUNDED_MEASURES = {"proportion": ("PLO", "PFT"), "correlation": ("ZCOR",)}

# ---------------------------------------------------------------- measures


@dataclass(frozen=True)
class Measure:
    id: str
    label: str
    family: str
    inputs: tuple[tuple[str, ...], ...]
    transform: str
    analysis_scale: str
    display: str
    plural: str
    null: float | None = 0.0
    grade: tuple[float, float] | None = None
    table_methods: tuple[str, ...] = ()
    add: float = 0.5
    zero_rule: bool = False
    vtypes: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    from_test: bool = False
    standardised: bool = False
    raw_score: bool = False
    absolute: str | None = None
    simulated: float = 0.0

    @property
    def groups(self) -> int:
        return FAMILIES[self.family].groups

    @property
    def unit_free(self) -> bool:
        """Whether the outcome's unit of measurement leaves the measure unchanged."""
        return self.standardised or self.display in ("ratio", "proportion", "rate", "correlation")

    @property
    def options(self) -> tuple[str, ...]:
        """The escalc options that change this measure's yi and vi."""
        out: tuple[str, ...] = ("add", "to") if self.zero_rule else ()
        if self.zero_rule and FAMILIES[self.family].drop00:
            out += ("drop00",)
        return out + (("vtype",) if self.vtypes else ())


TABLES = (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i"))
RATES = (("x1i", "t1i", "x2i", "t2i"),)
PROPORTIONS = (("xi", "ni"), ("xi", "mi"))
SINGLE_MEAN = ("mi", "sdi", "ni")  # escalc's mi is the mean here (a proportion's is its non-events)
# Paired means: occasion 1 (e.g. post) and occasion 2 (e.g. pre); the effect is occasion 1 minus
# (or over) occasion 2. SMCR standardises by sd1i alone (escalc needs no sd2i there: a table
# without sd2i is its second layout), so its sd1i is the SD to standardise by, usually the
# pre-test's (metafor's ?escalc).
PAIRED = ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri")
PAIRED_SMCR = ("m1i", "m2i", "sd1i", "ni", "ri")
# SMD1 standardises by group 2's (the control group's) SD alone: escalc needs no sd1i there.
CONTROL_SD = ("m1i", "n1i", "m2i", "sd2i", "n2i")
# A regression coefficient's t statistic (ti), the sample size (ni), the number of predictors in
# the model (mi, the coefficient's own included) and, for the semi-partial correlation, the
# model's R^2 (r2i): escalc's partial and semi-partial correlations (Aloe & Becker 2012).
REGRESSION = ("ti", "ni", "mi")
REGRESSION_R2 = ("ti", "ni", "mi", "r2i")
RATIO_GRADE = (0.75, 1.25)
SMD_GRADE = (-0.5, 0.5)

MEASURES = {m.id: m for m in (
    Measure("SMD", "Std. mean difference", "two-group means", (MEAN_INPUTS,), "identity",
            "standardised mean difference (Hedges' g)", "difference",
            "standardised mean differences (Hedges' g)", grade=SMD_GRADE, vtypes=("LS", "UB", "LS2", "AV"),
            reported=("SMD",), from_test=True, standardised=True, absolute="standardised mean difference",
            simulated=0.4),
    Measure("MD", "Mean difference", "two-group means", (MEAN_INPUTS,), "identity", "mean difference",
            "difference", "mean differences", vtypes=("LS", "UB", "HO"),
            reported=("MD", "beta"), absolute="mean difference", simulated=0.2),
    Measure("RR", "Risk ratio", "two-group tables", TABLES, "exp", "log risk ratio", "ratio", "risk ratios",
            grade=RATIO_GRADE, table_methods=("MH",), zero_rule=True, reported=("RR",), absolute="risk ratio",
            simulated=0.2),
    Measure("OR", "Odds ratio", "two-group tables", TABLES, "exp", "log odds ratio", "ratio", "odds ratios",
            grade=RATIO_GRADE, table_methods=("MH", "PETO"), zero_rule=True, reported=("OR",), absolute="odds ratio",
            simulated=0.1),
    Measure("RD", "Risk difference", "two-group tables", TABLES, "identity", "risk difference", "difference",
            "risk differences", table_methods=("MH",), zero_rule=True, vtypes=("LS", "UB", "AV"),
            reported=("RD",), absolute="risk difference"),
    Measure("IRR", "Rate ratio", "two-group rates", RATES, "exp", "log incidence rate ratio", "ratio",
            "incidence rate ratios", grade=RATIO_GRADE, table_methods=("MH",), zero_rule=True, reported=("IRR",),
            absolute="rate ratio", simulated=0.1),
    Measure("GEN", "Effect", "generic", (("yi", "vi"), ("yi", "sei"), ("yi", "ci_lb", "ci_ub")), "identity",
            "the scale reported by the studies", "difference",
            "effects on the scale reported by the studies (generic inverse variance)"),
    Measure("SMDH", "Std. mean difference (heteroscedastic)", "two-group means", (MEAN_INPUTS,), "identity",
            "standardised mean difference (heteroscedastic variances)", "difference",
            "standardised mean differences without assuming equal variances", grade=SMD_GRADE,
            vtypes=("LS", "LS2"), standardised=True, absolute="standardised mean difference"),
    Measure("SMD1", "Std. mean difference (control SD)", "two-group means", (CONTROL_SD,), "identity",
            "standardised mean difference (standardised by the control group's SD)", "difference",
            "standardised mean differences (standardised by the control group's SD, with Hedges' correction)",
            grade=SMD_GRADE, vtypes=("LS", "UB", "LS2", "AV"), standardised=True,
            absolute="standardised mean difference"),
    Measure("ROM", "Ratio of means", "two-group means", (MEAN_INPUTS,), "exp", "log ratio of means", "ratio",
            "ratios of means", grade=RATIO_GRADE, vtypes=("LS", "HO", "AV", "AVHO"), reported=("ROM",)),
    Measure("CVR", "CV ratio", "variability", (MEAN_INPUTS,), "exp", "log coefficient of variation ratio",
            "ratio", "ratios of coefficients of variation", grade=RATIO_GRADE),
    Measure("VR", "Variability ratio", "variability", (("sd1i", "n1i", "sd2i", "n2i"),), "exp",
            "log variability ratio", "ratio", "ratios of standard deviations (variability ratios)",
            grade=RATIO_GRADE),
    Measure("PETO", "Peto odds ratio", "two-group tables", TABLES, "exp", "log odds ratio (Peto)", "ratio",
            "Peto odds ratios", grade=RATIO_GRADE, table_methods=("PETO",), zero_rule=True, absolute="odds ratio"),
    Measure("AS", "Arcsine risk difference", "two-group tables", TABLES, "identity",
            "arcsine square root risk difference", "difference", "arcsine risk differences", add=0.0,
            zero_rule=True),
    # Association of two dichotomous variables in a 2x2 table, from -1 to 1 (no group need be the
    # outcome). PHI's sampling variance: LS and CS (cross-sectional sampling, one formula) or ST
    # (stratified: the groups' sizes fixed by the design).
    Measure("PHI", "Phi coefficient", "two-group tables", TABLES, "identity", "phi coefficient", "correlation",
            "phi coefficients", add=0.0, zero_rule=True, vtypes=("LS", "ST", "CS")),
    Measure("YUQ", "Yule's Q", "two-group tables", TABLES, "identity", "Yule's Q", "correlation",
            "Yule's Q coefficients", zero_rule=True),
    Measure("YUY", "Yule's Y", "two-group tables", TABLES, "identity", "Yule's Y", "correlation",
            "Yule's Y coefficients", zero_rule=True),
    Measure("IRD", "Rate difference", "two-group rates", RATES, "identity", "incidence rate difference",
            "difference", "incidence rate differences", table_methods=("MH",), zero_rule=True),
    Measure("IRSD", "Rate difference (square root)", "two-group rates", RATES, "identity",
            "square root transformed incidence rate difference", "difference",
            "square root transformed incidence rate differences", add=0.0, zero_rule=True),
    Measure("PR", "Proportion", "single-group proportions", PROPORTIONS, "identity", "raw proportion",
            "proportion", "proportions", null=None, zero_rule=True, vtypes=("LS", "UB", "AV")),
    Measure("PLN", "Proportion", "single-group proportions", PROPORTIONS, "exp", "log proportion", "proportion",
            "proportions (log transformed)", null=None, zero_rule=True, vtypes=("LS", "AV")),
    Measure("PLO", "Proportion", "single-group proportions", PROPORTIONS, "ilogit", "logit proportion",
            "proportion", "proportions (logit transformed)", null=None, zero_rule=True, vtypes=("LS", "AV")),
    Measure("PAS", "Proportion", "single-group proportions", PROPORTIONS, "iarcsin", "arcsine proportion",
            "proportion", "proportions (arcsine transformed)", null=None, add=0.0, zero_rule=True),
    Measure("PFT", "Proportion", "single-group proportions", PROPORTIONS, "ipft_hm",
            "Freeman-Tukey double arcsine proportion", "proportion",
            "proportions (Freeman-Tukey double arcsine transformed)", null=None, add=0.0, zero_rule=True),
    Measure("IR", "Incidence rate", "single-group rates", (("xi", "ti"),), "identity", "raw incidence rate", "rate",
            "incidence rates", null=None, zero_rule=True),
    Measure("IRLN", "Incidence rate", "single-group rates", (("xi", "ti"),), "exp", "log incidence rate", "rate",
            "incidence rates (log transformed)", null=None, zero_rule=True),
    Measure("IRS", "Incidence rate", "single-group rates", (("xi", "ti"),), "isqrt", "square root incidence rate",
            "rate", "incidence rates (square root transformed)", null=None, add=0.0, zero_rule=True),
    Measure("IRFT", "Incidence rate", "single-group rates", (("xi", "ti"),), "irft_hm",
            "Freeman-Tukey incidence rate", "rate", "incidence rates (Freeman-Tukey transformed)", null=None,
            add=0.0, zero_rule=True),
    Measure("MN", "Mean", "single-group means", (SINGLE_MEAN,), "identity", "raw mean", "mean", "means",
            null=None),
    Measure("MNLN", "Mean", "single-group means", (SINGLE_MEAN,), "exp", "log mean", "mean",
            "means (log transformed)", null=None),
    Measure("MC", "Mean change", "paired means", (PAIRED,), "identity", "raw mean change", "difference",
            "raw mean changes"),
    Measure("SMCC", "Std. mean change (change-score SD)", "paired means", (PAIRED,), "identity",
            "standardised mean change (change-score standardisation)", "difference",
            "standardised mean changes (standardised by the SD of the change scores)", grade=SMD_GRADE,
            vtypes=("LS", "LS2"), standardised=True),
    Measure("SMCR", "Std. mean change (raw-score SD)", "paired means", (PAIRED, PAIRED_SMCR), "identity",
            "standardised mean change (raw-score standardisation)", "difference",
            "standardised mean changes (standardised by the raw-score SD)", grade=SMD_GRADE,
            vtypes=("LS", "LS2"), standardised=True, raw_score=True),
    Measure("SMCRH", "Std. mean change (raw-score SD, heteroscedastic)", "paired means", (PAIRED,), "identity",
            "standardised mean change (raw-score standardisation, heteroscedastic variances)", "difference",
            "standardised mean changes (standardised by the raw-score SD, without assuming equal variances)",
            grade=SMD_GRADE, standardised=True, raw_score=True),
    Measure("ROMC", "Ratio of means (paired)", "paired means", (PAIRED,), "exp", "log ratio of means (paired)",
            "ratio", "ratios of means of paired measurements", grade=RATIO_GRADE),
    Measure("COR", "Correlation", "correlations", (("ri", "ni"),), "identity", "raw correlation", "correlation",
            "correlation coefficients", vtypes=("LS", "AV")),
    Measure("UCOR", "Correlation", "correlations", (("ri", "ni"),), "identity", "bias-corrected correlation",
            "correlation", "bias-corrected correlation coefficients", vtypes=("LS", "UB", "AV")),
    Measure("ZCOR", "Correlation", "correlations", (("ri", "ni"),), "tanh", "Fisher's r-to-z", "correlation",
            "correlation coefficients (Fisher's z transformed)"),
    Measure("PCOR", "Partial correlation", "partial correlations", (REGRESSION,), "identity",
            "partial correlation", "correlation", "partial correlation coefficients", vtypes=("LS", "AV")),
    Measure("SPCOR", "Semi-partial correlation", "partial correlations", (REGRESSION_R2,), "identity",
            "semi-partial correlation", "correlation", "semi-partial correlation coefficients", vtypes=("LS", "AV")),
)}

# Effects a paper may report that are not measures metasr pools, and the scale they are read on
# ("log": a ratio, pooled as its logarithm). Reported measures take their own record's scale.
OTHER_REPORTED = {"HR": "log", "beta": "identity", "ratio": "log", "other": "identity"}


# ---------------------------------------------------------------- questions


def ids() -> tuple[str, ...]:
    """Every measure id, in registry order."""
    return tuple(MEASURES)


def get(measure: str) -> Measure:
    """The record of a measure id; KeyError for an unknown id."""
    return MEASURES[measure]


def known(measure) -> TypeGuard[str]:
    return isinstance(measure, str) and measure in MEASURES


def single_group(measure) -> bool:
    """Whether a measure describes one group (a proportion, a rate, a mean, a correlation), not a comparison
    of two; False for an unknown or generic measure, whose effects may compare groups."""
    return known(measure) and MEASURES[measure].groups == 1


def effect_measure(measure: str, method: str | None) -> str:
    """The measure of the studies' own effects: a Peto fit's are Peto's log odds ratios (rma.peto's
    yi and vi), whatever measure the outcome names."""
    return "PETO" if method == "PETO" else measure


def table_methods() -> dict[str, tuple[str, ...]]:
    """{method: the measures it pools} for methods that work on the tables (MH, PETO)."""
    out: dict[str, tuple[str, ...]] = {}
    for m in MEASURES.values():
        for method in m.table_methods:
            out[method] = out.get(method, ()) + (m.id,)
    return out


def in_family(*families: str) -> tuple[str, ...]:
    """The ids of the measures of the given families."""
    return tuple(m.id for m in MEASURES.values() if m.family in families)


def transform_name(measure: str, scale: str | None = None) -> str:
    """The measure's back-transformation; a generic effect is exponentiated when `scale: log`."""
    record = MEASURES[measure]
    if record.family == "generic" and scale == "log":
        return "exp"
    return record.transform


def is_ratio(measure: str, scale: str | None = None) -> bool:
    """Whether the measure's results are ratios (analysed as logs, shown exponentiated)."""
    return display_for(measure, scale).ratio


def takes_assumed_correlation(measure: str) -> bool:
    """Whether an outcome of `measure` may assume the correlation its studies do not report."""
    return FAMILIES[get(measure).family].assumed_correlation


def log_scale(measure: str, scale: str | None = None) -> bool:
    """Whether the measure's numbers are analysed as logarithms (read its CIs on the log scale)."""
    return transform_name(measure, scale) == "exp"


def reported_effects() -> tuple[str, ...]:
    """Every value of an outcome sheet's `effect_measure`."""
    seen = [e for m in MEASURES.values() for e in m.reported]
    return tuple(dict.fromkeys(seen + list(OTHER_REPORTED)))


def reported_scale(effect: str) -> str:
    """'log' when a reported effect is a ratio (its logarithm is pooled), else 'identity'."""
    if effect in OTHER_REPORTED:
        return OTHER_REPORTED[effect]
    return "log" if effect in MEASURES and MEASURES[effect].transform == "exp" else "identity"


def accepts_reported(measure: str, effect) -> bool:
    """Whether a measure takes a reported effect directly (a generic outcome takes any)."""
    record = MEASURES[measure]
    return record.family == "generic" or effect in record.reported


def layouts_text() -> str:
    """Every measure's escalc columns as help shows them ('m1i,sd1i,n1i,m2i,sd2i,n2i | ai,bi,ci,di or
    ai,n1i,ci,n2i | ...'), each layout once, in registry order."""
    seen = [" or ".join(",".join(layout) for layout in m.inputs) for m in MEASURES.values()]
    return " | ".join(dict.fromkeys(seen))


def sheet_forms() -> tuple[str, ...]:
    """Every reported form that a family's data come in."""
    return tuple(dict.fromkeys(f for fam in FAMILIES.values() for f in fam.sheet_forms))


def extraction_columns(measure: str) -> list[str]:
    """The effect-input columns extraction writes for a measure (metafor's names)."""
    record = MEASURES[measure]
    if record.family == "generic":
        return ["yi", "vi"]
    layout = record.inputs[-1] if record.family == "two-group tables" else record.inputs[0]
    if record.family == "variability":
        layout = MEAN_INPUTS  # the sheet's mean forms give means too; VR ignores them
    if record.family == "paired means":
        layout = PAIRED  # the sheet gives both occasions' SDs; SMCR ignores sd2i
    if record.family == "two-group means":
        layout = MEAN_INPUTS  # the sheet's mean forms give both SDs; SMD1 ignores sd1i
    if record.family == "partial correlations":
        layout = REGRESSION_R2  # the sheet may give R^2; PCOR ignores it
    return list(layout) + (["ti"] if record.from_test else []) + ["yi", "vi"]


# ---------------------------------------------------------------- escalc options

TO_VALUES = ("only0", "all", "if0all", "none")


def option_problems(measure: str, add=None, to: str = "only0", drop00: bool = False, vtype=None,
                    file: str | None = None, key: str = "") -> list:
    """escalc options a measure cannot take, or values escalc does not know, as Problems.

    `key` prefixes each option's name (e.g. `outcomes.x.escalc.`) where the options come from a
    config file."""
    from metasr.errors import Problem

    record = MEASURES[measure]
    problems = []

    def bad(message, name, value, hint):
        problems.append(Problem(message=message, file=file, key=f"{key}{name}", value=str(value),
                                rule=f"escalc {name}", hint=hint))

    if to not in TO_VALUES:
        bad(f"unknown to = {to!r}", "to", to, f"use one of {', '.join(TO_VALUES)}")
    if add is not None and not (_finite(add) and add >= 0):
        bad("add must be a number >= 0", "add", add, "metafor's default is 1/2 (0 for PAS, PFT, IRS, IRFT)")
    if vtype is not None and vtype not in record.vtypes:
        bad(f"measure {measure} has no vtype {vtype!r}", "vtype", vtype,
            f"{measure} takes vtype {', '.join(record.vtypes)}" if record.vtypes
            else f"{measure} has one sampling variance; leave vtype out")
    for name, value, default in (("add", add, None), ("to", to, "only0"), ("drop00", drop00, False)):
        if value != default and name not in record.options:
            bad(f"measure {measure} does not use escalc's {name}", name, value,
                "add, to and drop00 apply to counts (tables, events and rates)")
    return problems


def vtypes() -> tuple[str, ...]:
    """Every sampling-variance type some measure takes."""
    return tuple(dict.fromkeys(v for m in MEASURES.values() for v in m.vtypes))


def schema_enums() -> dict[str, dict[tuple[str, ...], list]]:
    """{schema file: {path to a property: its enum}} for the enums the registry decides
    (`tools/write_measure_enums.py` writes them; tests/test_measures.py checks them)."""
    outcome = ("$defs", "outcome", "properties")
    return {
        "config.schema.yaml": {outcome + ("measure",): list(ids()),
                               outcome + ("escalc", "properties", "to"): list(TO_VALUES),
                               outcome + ("escalc", "properties", "vtype"): list(vtypes())},
        "outcome_sheet.schema.yaml": {("properties", "effect_measure"): list(reported_effects()) + [None]},
    }


# ---------------------------------------------------------------- display


@dataclass(frozen=True)
class Display:
    """How one outcome's numbers are shown: its transform (with targs) and what they mean."""

    measure: str
    transform: str
    args: tuple[tuple[str, float], ...] = ()

    @property
    def record(self) -> Measure:
        return MEASURES[self.measure]

    @property
    def kind(self) -> str:
        """difference, ratio, proportion, rate, mean or correlation."""
        if self.record.family == "generic":
            return "ratio" if self.transform == "exp" else "difference"
        return self.record.display

    @property
    def ratio(self) -> bool:
        return self.kind == "ratio"

    @property
    def null(self) -> float | None:
        """The no-effect value on the analysis scale (None: the measure has none)."""
        return self.record.null

    @property
    def identity(self) -> bool:
        return self.transform == "identity"

    def back(self, x) -> float | None:
        """A number on the analysis scale, back-transformed for display; None for a missing one."""
        if not _finite(x):
            return None
        value = TRANSFORMS[self.transform].back(float(x), *self._targs())
        return value if math.isfinite(value) else None

    def forward(self, v) -> float | None:
        """A number on the display scale (a published estimate), on the analysis scale."""
        if not _finite(v):
            return None
        value = TRANSFORMS[self.transform].forward(float(v), *self._targs())
        return value if value is not None and math.isfinite(value) else None

    @property
    def percent(self) -> bool:
        """Proportions are shown as percentages."""
        return self.kind == "proportion"

    def shown(self, x) -> float | None:
        """A number on the analysis scale as a figure or table shows it (proportions in %)."""
        return self.shown_back(self.back(x))

    def shown_back(self, value) -> float | None:
        """A number already on the display scale (a `transformed` value) as shown (proportions in %)."""
        if not _finite(value):
            return None
        return float(value) * 100 if self.percent else float(value)

    def from_shown(self, v) -> float | None:
        """The inverse of `shown`: a shown number (a % for proportions) on the analysis scale."""
        if not _finite(v):
            return None
        return self.forward(v / 100 if self.percent else v)

    @property
    def shown_bounds(self) -> tuple[float, float] | None:
        """The range a shown number cannot leave (proportions 0 to 100 %, correlations -1 to 1);
        None for an unbounded scale."""
        bounds = SHOWN_BOUNDS.get(self.kind)
        if bounds is None:
            return None
        return (bounds[0] * 100, bounds[1] * 100) if self.percent else bounds

    @property
    def grade(self) -> tuple[float, float] | None:
        """Limits of an appreciable effect on the display scale (generic ratios: as ratios)."""
        if self.record.family == "generic" and self.ratio:
            return RATIO_GRADE
        return self.record.grade

    @property
    def name(self) -> str:
        """The measure's name as a column header or axis label shows it."""
        return self.record.label + (" (%)" if self.percent else "")

    @property
    def value_name(self) -> str:
        """What a number shown is called in a sentence: the measure's id for differences and ratios
        (SMD, RR: the id names the scale they are shown on), else what the number is ("correlation",
        "proportion (%)", "incidence rate", a generic "effect"): an id such as ZCOR or PLO names the
        analysis scale, not the back-transformed number, and GEN names no scale at all."""
        if self.kind in ("difference", "ratio") and self.record.family != "generic":
            return self.measure
        # GEN is no name: its numbers are the studies' own effects ("pooled effect 0.19")
        if self.name.split()[0].endswith("'s"):  # a person's name keeps its capital (Yule's Q)
            return self.name
        return self.name[:1].lower() + self.name[1:]

    def _targs(self) -> list[float]:
        given = dict(self.args)
        return [given[name] for name in TRANSFORMS[self.transform].args]

    def for_study(self, study: dict) -> Display:
        """The display of one study's own numbers: targs from its own ni or ti when it has them."""
        names = TRANSFORMS[self.transform].args
        own = {name: study_size(study, name) for name in names}
        if names and all(_finite(v) and v > 0 for v in own.values()):
            return Display(self.measure, self.transform, tuple(own.items()))
        return self

    @property
    def scale_text(self) -> str:
        """What the numbers shown are, and the scale they were analysed on."""
        record = self.record
        if record.family == "generic" and not self.identity:
            return "ratios (back-transformed from the log scale)"
        shown = {"ratio": "ratios", "proportion": "proportions (%)", "rate": "incidence rates", "mean": "means",
                 "correlation": "correlations (r)"}.get(self.kind, "values")
        if self.kind == "correlation" and record.family != "correlations" and self.identity:
            return record.plural  # phi, Yule's Q, a partial correlation: shown as analysed, not as r
        if self.identity:  # a noun phrase, as the others: "Effects shown as <scale_text>."
            scale = record.analysis_scale
            scale = scale if scale.startswith("the ") else f"the {scale} scale"
            return f"values on {scale}" if self.kind == "difference" else f"{shown}, analysed on {scale}"
        metafor = TRANSFORMS[self.transform].metafor
        return f"{shown}, back-transformed from the {record.analysis_scale} scale ({metafor})"

    def to_json(self) -> dict:
        return {"name": self.transform, "metafor": TRANSFORMS[self.transform].metafor, "args": dict(self.args),
                "analysis_scale": self.record.analysis_scale if not (self.record.family == "generic" and self.ratio)
                else "log of the reported ratio", "display": self.kind}


def study_size(study: dict, name: str):
    """A study's `ni` or `ti` from its escalc columns (ni = xi + mi when only those are given)."""
    value = study.get(name)
    if _finite(value):
        return float(value)
    if name == "ni" and _finite(study.get("xi")) and _finite(study.get("mi")):
        return float(study["xi"]) + float(study["mi"])
    return None


def display_for(measure: str, scale: str | None = None, args: dict | None = None) -> Display:
    name = transform_name(measure, scale)
    wanted = TRANSFORMS[name].args
    return Display(measure, name, tuple((k, float(args[k])) for k in wanted if args and k in args))


def transform_args(measure: str, studies, scale: str | None = None) -> dict:
    """targs of a measure's back-transformation from its studies (e.g. the harmonic mean of ni)."""
    out = {}
    for name in TRANSFORMS[transform_name(measure, scale)].args:
        sizes = [study_size(s, name) for s in studies]
        if sizes and all(_finite(v) and v > 0 for v in sizes):
            out[name] = harmonic_mean(sizes)
    return out


def display_of(pooled: dict, outcome_cfg: dict | None = None) -> Display:
    """An outcome's display from its pooled results (their `transform`), else from its measure and
    scale (results written before the transform was recorded, config-only outcomes)."""
    outcome_cfg = outcome_cfg or {}
    measure = pooled.get("measure") or outcome_cfg.get("measure")
    measure = measure if known(measure) else "GEN"
    given = pooled.get("transform")
    if isinstance(given, dict) and given.get("name") in TRANSFORMS:
        wanted = TRANSFORMS[given["name"]].args
        args = given.get("args") or {}
        return Display(measure, given["name"], tuple((k, float(args[k])) for k in wanted if _finite(args.get(k))))
    scale = outcome_cfg.get("scale") or pooled.get("scale")
    args = transform_args(measure, pooled.get("studies") or [], scale)
    return display_for(measure, scale, args)


def _finite(x) -> TypeGuard[float]:
    """Whether x is a finite int or float (not a bool, a string or None)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
