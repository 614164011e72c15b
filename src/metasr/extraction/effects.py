"""One reported row -> metafor-style effect inputs for an outcome's measure, with its conversion.

The result says what was used (`conversion`, short method names) and how (`conversion_detail`,
inputs and results), or why the row cannot be pooled (`reason`). Rows are never dropped: a row that
cannot be used keeps `usable = False` and its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from metasr import measures
from metasr.extraction import conversion_kinds as kinds, conversions as conv
from metasr.extraction.forms import (
    ASSUMABLE_CELLS,
    EFFECT_FORMS,
    GROUP_FORM_FIELDS,
    MEAN_FORMS,
    SINGLE_FORMS,
    SINGLE_MEAN_FORMS,
    TEST_FORMS,
    cell,
    group_form,
    measure_cells,
)
from metasr.extraction.pvalues import parse_p
from metasr.extraction.units import unit_factor

# The effect-input columns of each measure (metafor's names), from the registry.
MEASURE_COLUMNS = {m: measures.extraction_columns(m) for m in measures.ids()}
# Reported raw differences: with both group sizes their CI and p come from t(n1 + n2 - 2), and an
# outcome pooled as a standardised difference takes them as a t statistic (difference / SE).
RAW_DIFFERENCES = measures.get("MD").reported
# The cells each median form contributes (display name, column stem).
MEDIAN_CELLS = {
    "median_range": (("median", "median"), ("min", "min"), ("max", "max")),
    "median_iqr": (("median", "median"), ("q1", "q1_"), ("q3", "q3_")),
    "median_iqr_range": (("median", "median"), ("q1", "q1_"), ("q3", "q3_"), ("min", "min"), ("max", "max")),
}
SCALED_FIELDS = ("mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1_", "q3_", "min", "max")
# The cells (column stems) each derived form estimates a group's SD from.
SPREAD_FIELDS = {"mean_se": ("se",), "mean_ci": ("ci_lb", "ci_ub"), "median_iqr": ("q1_", "q3_"),
                 "median_range": ("min", "max"), "median_iqr_range": ("q1_", "q3_", "min", "max")}
# Where a row keeps the sheet row it came from (problems name the sheet, not the output).
SHEET_ROW = "__row__"


class DerivedSD(NamedTuple):
    """A group's SD estimated from other numbers of a sheet row, and the cells it came from."""

    sheet_row: int | None
    group: int  # 1 or 2; 0 for a single group
    form: str
    sd: float
    cells: tuple[str, ...]


def form_used(form: str, median_method: str) -> str:
    """The form whose cells a group's conversion uses: Hozo has no formula for quartiles with a
    range, so under it a five-number summary is converted from its median and range only."""
    return "median_range" if form == "median_iqr_range" and median_method == "hozo" else form


def median_cells(form: str, median_method: str) -> tuple[tuple[str, str], ...]:
    """The cells (display name, column stem) a median form's conversion uses."""
    return MEDIAN_CELLS[form_used(form, median_method)]


def spread_cells(form: str, g: int, median_method: str) -> tuple[str, ...]:
    """The sheet cells of group g (0: a single group) that a derived form's SD comes from."""
    return tuple(cell(stem, g) for stem in SPREAD_FIELDS[form_used(form, median_method)])


def group_name(g: int) -> str:
    """How details and messages name group g: 'group 1', or 'the sample' for a single group (0)."""
    return f"group {g}" if g else "the sample"


@dataclass
class EffectRow:
    values: dict = field(default_factory=dict)
    usable: bool = False
    reason: str = ""
    conversion: str = ""
    detail: list[str] = field(default_factory=list)
    # group sizes and SDs behind a generic effect computed from group means (to split a shared group)
    arms: dict = field(default_factory=dict)
    shared_split: int | None = None  # the shared group was divided between this many comparisons
    derived_sds: list[DerivedSD] = field(default_factory=list)  # SDs estimated from SEs, CIs, quartiles, ranges
    column: str | None = None  # the sheet cell at fault when the row cannot be used

    def fail(self, reason: str, column: str | None = None) -> EffectRow:
        self.values, self.usable, self.reason, self.column = {}, False, reason, column
        return self


@dataclass(frozen=True)
class ConversionSettings:
    """How an outcome's sheet rows become effect inputs: its measure and unit, and its choices of
    conversion (converting.conversion_settings reads them from the config)."""

    measure: str
    unit: str | None = None
    flip: bool = False
    median_conversion: str = "luo_shi"
    p_value_bounds: str = "exclude"
    multi_arm: str | None = None  # dependence.multi_arm: split_shared | correlated (None: no dependence setting)
    scale: str | None = None  # the outcome's `scale` (generic effects: identity or log); None: the measure's own
    assumed_correlation: float | None = None  # paired samples: r where a study gives none (Handbook 6.5.2.8)

    @property
    def pooled_scale(self) -> str:
        """The scale the outcome's effects are pooled on: 'log' (ratios) or 'identity'."""
        if self.scale:
            return self.scale
        return "log" if measures.log_scale(self.measure) else "identity"


def effect_row(row: dict, settings: ConversionSettings) -> EffectRow:
    """Convert one typed, validated row."""
    out = EffectRow()
    if row.get("exclude_reason"):
        return out.fail(str(row["exclude_reason"]), "exclude_reason")
    form = row.get("reported_form")
    if form == "direction_only":
        return out.fail("direction only: no numbers to pool", "reported_form")
    if form == "other":
        return out.fail("reported in a form that cannot be pooled", "reported_form")
    measure = settings.measure
    if form in EFFECT_FORMS and not _effect_fits(row, measure):
        return out.fail(f"a reported {row.get('effect_measure')} cannot be used for an outcome pooled as {measure}",
                        "effect_measure")
    harmonised = _harmonise_units(row, settings, out)
    if harmonised is None:
        return out
    if form in GROUP_FORM_FIELDS:
        _from_groups(harmonised, settings, out)
    elif form in SINGLE_FORMS:
        _from_single(harmonised, settings, out)
    elif form in EFFECT_FORMS:
        _from_effect(harmonised, settings, out)
    elif form in TEST_FORMS:
        _from_test(harmonised, settings, out)
    else:
        out.fail(f"unknown reported form {form!r}", "reported_form")
    if out.usable and settings.flip:
        _flip(out, measure)
    return out


def _effect_fits(row: dict, measure: str) -> bool:
    reported = row.get("effect_measure")
    if measures.accepts_reported(measure, reported):
        return True
    return _difference_as_t(row, measure)


def _difference_as_t(row: dict, measure: str) -> bool:
    """A reported raw difference with both group sizes gives an SMD through its t statistic."""
    return measures.get(measure).from_test and row.get("effect_measure") in RAW_DIFFERENCES \
        and bool(row.get("n1")) and bool(row.get("n2"))


def _log_effect(row: dict) -> bool:
    """Whether the row's reported effect is a ratio (pooled as its logarithm)."""
    reported = row.get("effect_measure")
    return reported is not None and measures.reported_scale(reported) == "log"


# ---- units ------------------------------------------------------------------------------------

def _harmonise_units(row: dict, settings: ConversionSettings, out: EffectRow) -> dict | None:
    factor = unit_factor(row.get("unit"), settings.unit)
    if factor is None:
        reported = row.get("effect_measure")
        if measures.get(settings.measure).unit_free or row.get("reported_form") in TEST_FORMS or \
                _log_effect(row) or (measures.known(reported) and measures.get(reported).unit_free):
            out.detail.append(f"unit '{row.get('unit')}' differs from '{settings.unit}' (no effect on a "
                              "standardised or ratio measure)")
            return row
        out.fail(f"unit '{row.get('unit')}' cannot be converted to the outcome's unit '{settings.unit}'", "unit")
        return None
    if factor == 1.0:
        return row
    scaled = dict(row)
    for g in (0, 1, 2):
        for column in (cell(f, g) for f in SCALED_FIELDS):
            if isinstance(row.get(column), (int, float)):
                scaled[column] = row[column] * factor
    if row.get("effect_measure") in RAW_DIFFERENCES:
        for column in ("effect", "effect_ci_lb", "effect_ci_ub", "effect_se"):
            if isinstance(row.get(column), (int, float)):
                scaled[column] = row[column] * factor
    out.detail.append(f"unit {row.get('unit')} -> {settings.unit} (x {factor:g})")
    return scaled


# ---- per-group forms --------------------------------------------------------------------------

def group_mean_sd(row: dict, g: int, form: str, median_method: str) -> tuple[int, float, float, str, str]:
    """(n, mean, SD, method, detail) for one group reported in a mean-type form (g 0: a single
    group's cells, `mean`, `q1`, ..., in the group form its single form is one group of)."""
    n, who = int(row[cell("n", g)]), group_name(g)
    if form in ("mean_sd", "mean_se", "mean_ci"):
        mean: float = row[cell("mean", g)]
    if form == "mean_sd":
        return n, mean, row[cell("sd", g)], "", ""
    if form == "mean_se":
        se = row[cell("se", g)]
        sd = conv.sd_from_se(se, n)
        return n, mean, sd, kinds.SD_FROM_SE.text(), f"{who}: SE {se:g}, n {n} -> SD {sd:.4g}"
    if form == "mean_ci":
        lb, ub = row[cell("ci_lb", g)], row[cell("ci_ub", g)]
        sd = conv.sd_from_ci(lb, ub, n)
        how = f"t({n - 1})" if n < conv.SMALL_GROUP else "z"
        return n, mean, sd, kinds.SD_FROM_CI.text(quantile=how.split('(')[0]), \
            f"{who}: CI [{lb:g}, {ub:g}], n {n}, divisor {conv.ci_divisor(n):.4f} ({how}) -> SD {sd:.4g}"
    used = median_cells(form, median_method)
    cells: dict[str, Any] = {name: row.get(cell(field, g)) for name, field in used}
    est = conv.median_to_mean_sd(n, cells["median"], q1=cells.get("q1"), q3=cells.get("q3"),
                                 minimum=cells.get("min"), maximum=cells.get("max"), method=median_method)
    inputs = ", ".join(f"{name} {cells[name]:g}" for name, _ in used)
    return n, est.mean, est.sd, est.method, \
        f"{who}: {inputs}, n {n} -> mean {est.mean:.4g}, SD {est.sd:.4g} ({est.method})"


def derived_sd(row: dict, g: int, form: str, sd: float, median_method: str) -> DerivedSD:
    return DerivedSD(row.get(SHEET_ROW), g, form, sd, spread_cells(form, g, median_method))


def _from_groups(row: dict, settings: ConversionSettings, out: EffectRow) -> None:
    form1, form2 = row["reported_form"], row.get("reported_form2") or row["reported_form"]
    measure = settings.measure
    family = measures.get(measure).family
    if form1 in MEAN_FORMS and form2 in MEAN_FORMS:
        if family not in ("two-group means", "variability", "generic"):
            out.fail(f"group means cannot give a {measure}", "reported_form")
            return
        groups = [group_mean_sd(row, g, form, settings.median_conversion) for g, form in ((1, form1), (2, form2))]
        out.derived_sds += [derived_sd(row, g, form, sd, settings.median_conversion)
                            for (g, form), (_, _, sd, *_) in zip(((1, form1), (2, form2)), groups, strict=True)
                            if form in SPREAD_FIELDS]
        methods = sorted({g[3] for g in groups if g[3]})
        out.conversion = "; ".join(methods) if methods else "none"
        out.detail += [g[4] for g in groups if g[4]]
        (n1, m1, sd1, *_), (n2, m2, sd2, *_) = groups
        if family == "generic":
            out.values = {"yi": m1 - m2, "vi": sd1 ** 2 / n1 + sd2 ** 2 / n2}
            out.arms = {"n1": n1, "sd1": sd1, "n2": n2, "sd2": sd2}
            out.conversion = "; ".join(methods + [kinds.MD_FROM_MEANS.text()])
        else:
            out.values = {"m1i": m1, "sd1i": sd1, "n1i": n1, "m2i": m2, "sd2i": sd2, "n2i": n2}
        out.usable = True
        return
    if form1 == form2 and form1 in measures.FAMILIES[family].sheet_forms:
        _copy_cells(row, family, out)
        return
    if form1 == form2 == "events_n":
        out.fail(f"events and group sizes cannot give a {measure}", "reported_form")
    elif form1 == form2 == "events_persontime":
        out.fail(f"events and person-time cannot give a {measure}", "reported_form")
    else:
        out.fail(f"group 1 form '{form1}' and group 2 form '{form2}' cannot be combined into a {measure}",
                 "reported_form2")


def _copy_cells(row: dict, family: str, out: EffectRow) -> None:
    """A form a family takes as reported: the sheet's cells under escalc's names."""
    out.values = {column: row.get(cell) for column, cell in measures.FAMILIES[family].sheet_columns.items()}
    out.conversion, out.usable = "none", True


# ---- single-group forms ------------------------------------------------------------------------

SINGLE_FORM_WORDS = {"events_total": "events of a total", "events_time": "events in person-time",
                     "correlation": "a correlation", "paired_mean_sd": "a paired sample's means",
                     "regression_t": "a regression coefficient's t statistic",
                     **dict.fromkeys(SINGLE_MEAN_FORMS, "a single group's mean")}


def _from_single(row: dict, settings: ConversionSettings, out: EffectRow) -> None:
    form, family = row["reported_form"], measures.get(settings.measure).family
    if form not in measures.FAMILIES[family].sheet_forms:
        out.fail(f"{SINGLE_FORM_WORDS[form]} cannot give a {settings.measure}", "reported_form")
        return
    if form in SINGLE_MEAN_FORMS:
        _from_single_mean(row, settings, out)
        return
    missing = [c for c in measure_cells(settings.measure, form) if row.get(c) is None]
    if missing:  # an error where validation and the outcome job check (converting.measure_cell_problems)
        out.fail(f"{settings.measure} needs '{missing[0]}' beside the reported form '{form}'", missing[0])
        return
    if form in ASSUMABLE_CELLS and row.get("r") is None:
        if settings.assumed_correlation is None:  # an error where validation and the outcome job check
            out.fail(f"reported form '{form}' needs 'r' (or the outcome's assumed_correlation)", "r")
            return
        row = {**row, "r": settings.assumed_correlation}
        _copy_cells(row, family, out)
        out.conversion = ASSUMED_R
        out.detail.append(f"r = {settings.assumed_correlation:g} assumed between the two measurements (the outcome's "
                          "assumed_correlation; the study reports none; Cochrane Handbook 6.5.2.8)")
        return
    _copy_cells(row, family, out)


# The conversion a row with an assumed correlation records (methods text counts and names these rows).
ASSUMED_R = kinds.ASSUMED_R.text()


def _from_single_mean(row: dict, settings: ConversionSettings, out: EffectRow) -> None:
    """A single group's mean and SD (escalc's mi, sdi, ni), its SD from an SE or CI, or both from
    a median, as a group's of a two-group form are."""
    form = group_form(row["reported_form"])
    n, mean, sd, method, detail = group_mean_sd(row, 0, form, settings.median_conversion)
    if form in SPREAD_FIELDS:
        out.derived_sds.append(derived_sd(row, 0, form, sd, settings.median_conversion))
    out.values = {"mi": mean, "sdi": sd, "ni": n}
    out.conversion = method or "none"
    out.detail += [detail] if detail else []
    out.usable = True


# ---- per-study effects ------------------------------------------------------------------------

def _difference_df(row: dict) -> int | None:
    """n1 + n2 - 2 for a reported raw difference with both group sizes, whose CI and p come from a
    t distribution (Handbook 6.5.2.3); None for any other effect (z)."""
    if row.get("effect_measure") in RAW_DIFFERENCES and row.get("n1") and row.get("n2"):
        return int(row["n1"]) + int(row["n2"]) - 2
    return None


def _effect_se(row: dict, settings: ConversionSettings, out: EffectRow, ratio: bool) -> float | None:
    form = row["reported_form"]
    if form == "effect_se":
        se = row["effect_se"]
        if ratio:
            out.fail("an SE of a ratio is ambiguous (ratio or log scale?); give its CI instead", "effect_se")
            return None
        out.detail.append(f"SE {se:g} as reported")
        return se
    df = _difference_df(row)
    if df is not None and df < 1:
        out.fail(f"group sizes {row['n1']} and {row['n2']} leave no degrees of freedom for the t of the difference",
                 "n1")
        return None
    named = f"t({df})" if df is not None else "z"  # the quantile the details name (the Handbook's section: kinds)
    if form == "effect_ci":
        lb, ub = row["effect_ci_lb"], row["effect_ci_ub"]
        se = conv.se_from_effect_ci(lb, ub, ratio, df=df)
        out.conversion = kinds.se_from_ci(ratio, df is not None)
        out.detail.append(f"CI [{lb:g}, {ub:g}], divisor {2 * conv.effect_quantile(df=df):.4f} ({named}) -> SE "
                          f"{se:.4g}" + (" (log scale)" if ratio else ""))
        return se
    p = _usable_p(row, settings, out)
    if p is None:
        return None
    if p >= 1:  # validation refuses it (effect_p: p<1); conversion alone must not divide by z = 0
        out.fail("p = 1 gives no standard error for the effect", "p_value")
        return None
    se = conv.se_from_effect_p(row["effect"], p, ratio, df=df)
    out.conversion = kinds.se_from_p(ratio, df is not None)
    out.detail.append(f"p {row['p_value']} -> {named} {conv.statistic_from_p(p, df):.4f} -> SE {se:.4g}")
    return se


def _from_effect(row: dict, settings: ConversionSettings, out: EffectRow) -> None:
    measure, reported = settings.measure, row.get("effect_measure")
    ratio = _log_effect(row)
    if not measures.accepts_reported(measure, reported):
        if _difference_as_t(row, measure):
            se = _effect_se(row, settings, out, ratio=False)
            if se is None:
                return
            t = row["effect"] / se
            out.values = {"ti": t, "n1i": row["n1"], "n2i": row["n2"]}
            out.conversion = kinds.added(out.conversion, kinds.T_FROM_DIFFERENCE.text())
            out.detail.append(f"t = {row['effect']:g} / {se:.4g} = {t:.4f}, n1 {row['n1']}, n2 {row['n2']}")
            out.usable = True
            return
        out.fail(f"a reported {reported} cannot be used for an outcome pooled as {measure}", "effect_measure")
        return
    se = _effect_se(row, settings, out, ratio)
    if se is None:
        return
    yi = math.log(row["effect"]) if ratio else row["effect"]
    out.values = {"yi": yi, "vi": se ** 2}
    if ratio:
        out.detail.append(f"yi = log({row['effect']:g}) = {yi:.4f}")
    out.usable = True


# ---- test statistics --------------------------------------------------------------------------

def _usable_p(row: dict, settings: ConversionSettings, out: EffectRow) -> float | None:
    p = parse_p(row.get("p_value"))
    if p is None:
        out.fail(f"p-value '{row.get('p_value')}' cannot be read", "p_value")
        return None
    if p.relation in (">", ">="):
        out.fail(f"p reported only as {p}: no effect size can be derived", "p_value")
        return None
    if p.upper_bound:
        if settings.p_value_bounds != "as_exact":
            out.fail(f"p reported only as a bound ({p}); extraction.p_value_bounds = exclude", "p_value")
            return None
        out.detail.append(kinds.p_bound_detail(p))
    return p.value


def _from_test(row: dict, settings: ConversionSettings, out: EffectRow) -> None:
    if not measures.get(settings.measure).from_test:
        out.fail(f"a p-value or t statistic gives a standardised difference, not a {settings.measure}",
                 "reported_form")
        return
    n1, n2, form = int(row["n1"]), int(row["n2"]), row["reported_form"]
    direction = row.get("direction")
    if form == "t_stat":
        t = float(row["t_stat"])
        if t > 0 or t < 0:
            out.values, out.usable = {"ti": t, "n1i": n1, "n2i": n2}, True
            out.conversion = kinds.T_REPORTED.text()
            out.detail.append(f"t {t:g}, n1 {n1}, n2 {n2}")
            return
        return _signed_t(out, 0.0, direction, n1, n2, kinds.T_REPORTED.text(), f"t 0, n1 {n1}, n2 {n2}")
    p = _usable_p(row, settings, out)
    if p is None:
        return
    t = conv.t_from_p(p, n1, n2)
    detail = f"two-sided p {row['p_value']}, df {n1 + n2 - 2} -> |t| {t:.4f}"
    _signed_t(out, t, direction, n1, n2, kinds.T_FROM_P.text(), detail, f"p = {row['p_value']}")


def _signed_t(out: EffectRow, t: float, direction, n1: int, n2: int, method: str, detail: str,
              source: str = "") -> None:
    if t != 0 and direction not in ("group1_higher", "group1_lower"):
        if direction == "no_difference":
            out.fail(f"'no_difference' gives no sign for the t of {source}: a direction (group1_higher or "
                     "group1_lower) is needed", "direction")
        else:
            out.fail("direction not reported", "direction")
        return
    signed = -t if direction == "group1_lower" else t
    out.values, out.usable, out.conversion = {"ti": signed, "n1i": n1, "n2i": n2}, True, method
    out.detail.append(f"{detail}; sign from direction '{direction}' -> t {signed:.4f}")


# ---- direction --------------------------------------------------------------------------------

def _flip(out: EffectRow, measure: str) -> None:
    v = out.values
    if "ai" in v:
        v["ai"], v["ci"] = v["n1i"] - v["ai"], v["n2i"] - v["ci"]
        out.detail.append("flipped (flip: true): counts of participants without the event")
    elif "xi" in v and "ni" in v:
        v["xi"] = v["ni"] - v["xi"]
        out.detail.append("flipped (flip: true): participants without the event")
    elif "x1i" in v or "ti" in v and "xi" in v:
        out.fail("flip: true is not defined for events and person-time")
        return
    elif "sdi" in v:
        out.fail("flip: true is not defined for a single group's mean (it compares no groups); remove the "
                 "outcome's flip")
        return
    elif "ri" in v and "m1i" in v:  # a paired sample: the change reads the other way, r stays
        _flip_paired(v, measure)
        out.detail.append("direction of change reversed (flip: true) so that all effects read the same way")
    elif "ri" in v:
        v["ri"] = -v["ri"]
        out.detail.append("sign flipped (flip: true) so that all correlations read the same way")
    elif "m1i" in v and measures.log_scale(measure):
        # negating both means leaves a ratio of means (or of SDs, CVs) as it was
        out.fail(f"flip: true is not defined for {measure}, a ratio of two groups' means or spreads: reversing "
                 "the scale's direction does not invert it; enter the two groups the other way round in the "
                 "sheet (group 1 is the one the outcome compares), or remove the outcome's flip")
        return
    else:
        for key in ("m1i", "m2i", "ti", "yi"):
            if key in v:
                v[key] = -v[key]
        out.detail.append("sign flipped (flip: true) so that all effects read the same way")
    out.conversion = kinds.added(out.conversion, kinds.FLIPPED.text())


def _flip_paired(v: dict, measure: str) -> None:
    """A ratio of paired means is inverted by swapping the occasions; a mean change (raw or
    standardised) is negated by negating both means, which keeps the SD it is standardised by."""
    if measures.log_scale(measure):
        v["m1i"], v["m2i"], v["sd1i"], v["sd2i"] = v["m2i"], v["m1i"], v["sd2i"], v["sd1i"]
    else:
        v["m1i"], v["m2i"] = -v["m1i"], -v["m2i"]


# ---- a group shared by several comparisons ---------------------------------------------------------

# The cells of group g that a split divides (Cochrane Handbook 23.3.4: n for continuous outcomes,
# events and n for events, and person-time with events).
SPLIT_CELLS = {1: ("n1i", "ai", "x1i", "t1i"), 2: ("n2i", "ci", "x2i", "t2i")}


def can_split(result: EffectRow) -> bool:
    """Whether the row's effect inputs keep group data that a split can divide (not a reported
    effect or test statistic, which used the whole group)."""
    values = result.values
    if result.arms:
        return True
    return not ({"yi", "ti"} & set(values)) and any(c in values for cells in SPLIT_CELLS.values() for c in cells)


def split_group(result: EffectRow, group: int, parts: int) -> None:
    """Divide group `group`'s participants (and events, person-time) by `parts`; means and SDs stay."""
    before = []
    if result.arms:
        n = result.arms[f"n{group}"]
        result.arms[f"n{group}"] = n / parts
        a = result.arms
        result.values["vi"] = a["sd1"] ** 2 / a["n1"] + a["sd2"] ** 2 / a["n2"]
        before.append(f"n {n:g} -> {n / parts:.4g}")
    for column in SPLIT_CELLS[group]:
        if column in result.values and result.values[column] is not None:
            old = result.values[column]
            result.values[column] = old / parts
            before.append(f"{column} {old:g} -> {old / parts:.4g}")
    result.conversion = kinds.added(result.conversion, kinds.SHARED_SPLIT.text(group=group, parts=parts))
    result.detail.append(f"group {group} shared by {parts} comparisons: " + ", ".join(before))
