"""How numbers read, in figures and in the report alike: one set of rules, written once.

- Numbers have fixed decimals, a true minus sign (U+2212) and never read "−0.00".
- Decimals of estimates are chosen once per column or sentence (`decimals_for`): two, or more
  when the largest magnitude shown is below 0.1, so that it keeps two significant digits.
- P values: "P < 0.0001" below 0.0001, four decimals below 0.001, else three ("P = 0.032");
  `p_value` is the only way to write one in text, so "P = < 0.0001" cannot happen.
- Confidence intervals: "0.49 [0.34, 0.70]" in figures and tables (RevMan's form, `ci`);
  "0.49 (0.34 to 0.70)" in summary-of-findings text (GRADE's form, `ci(..., style="to")`). A bound
  never rounds onto the null or across it: it gets more decimals ("0.19 [−0.003, 0.38]", not
  "0.19 [0.00, 0.38]"; `null_side_decimals`), so the text reads as the interval is.
- Arm data (means, SDs, counts): counts are integers; means and SDs share their decimals within
  a table (`data_decimals`) or a study (`arm_text`), so "5" never sits beside "5.00".
- Percentages: one decimal ("38.1%"); I² likewise (`i2`), tau² with three decimals (`tau2`).

What a number means (its back-transformation: ratios, proportions in %, r) belongs to the measure
registry (`metasr.measures.Display`); this module only asks it (`shown`). No numpy or
matplotlib: the report, the figures and parse-time code all import it.
"""

from __future__ import annotations

import math

from metasr import measures

MINUS = "\u2212"
MISSING = "–"
P_FLOOR = 0.0001


# ---------------------------------------------------------------------------------------------
# Numbers


def finite(x) -> float | None:
    """x as a finite float, or None (missing, text, NaN or infinite)."""
    if type(x) is float:  # most calls: numbers read from JSON (millions in a big report)
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, bool):  # None: a value not reported (no exception from float())
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def is_number(x) -> bool:
    return finite(x) is not None


def signed(text: str) -> str:
    """A formatted number with a true minus sign (hyphens elsewhere are left alone)."""
    return MINUS + text[1:] if text.startswith("-") else text


# From this magnitude on a number is written with an exponent ("1.68e+23"): in fixed decimals
# it would run to dozens of digits (the CI of a ratio's intercept far from the data).
EXPONENT_FROM = 1e6


def number(x, decimals: int = 2, missing: str = "") -> str:
    """Fixed decimals with a true minus (three significant digits and an exponent from
    EXPONENT_FROM on); `missing` for a missing value; never "−0.00"."""
    x = finite(x)
    if x is None:
        return missing
    if abs(x) >= EXPONENT_FROM:
        return signed(f"{x:.3g}")
    text = f"{x:.{decimals}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return signed(text)


def integer(x, missing: str = "") -> str:
    """A count, thousands not separated (as tables show counts): whole numbers as they are, and
    the part of a shared group split between comparisons (Handbook 23.3.4: 41 in two is 20.5) with
    one decimal, as the analysis used it, never rounded to a count it did not use."""
    x = finite(x)
    if x is None:
        return missing
    return signed(str(int(x)) if x.is_integer() else f"{x:.1f}")


def degrees_of_freedom(df, missing: str = "–") -> str:
    """A test's degrees of freedom: whole as an integer, a Satterthwaite or HTZ df with one decimal."""
    value = finite(df)
    if value is None:
        return missing
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def f_statistic(df) -> str:
    """The name of an F test with its numerator and denominator df: "F(1, 6.8)"."""
    return f"F({degrees_of_freedom(df[0])}, {degrees_of_freedom(df[1])})"


def decimals_for(values, significant: int = 2, lowest: int = 2, highest: int = 4,
                 basis: str = "largest") -> int:
    """Decimals that show the largest (or, basis "smallest", the smallest non-zero) magnitude
    among `values` with `significant` digits, between `lowest` and `highest` (estimates: 2 to 4
    by the largest; summary-of-findings differences in units: 0 to 3 by the smallest)."""
    magnitudes = [abs(v) for v in (finite(x) for x in values) if v]
    if not magnitudes:
        return lowest
    chosen = max(magnitudes) if basis == "largest" else min(magnitudes)
    wanted = significant - 1 - math.floor(math.log10(chosen))
    return max(lowest, min(highest, wanted))


def tick(x) -> str:
    """An axis tick label: the shortest form of a round value ("0.5", "10", "−1")."""
    x = finite(x)
    return "" if x is None else signed(f"{x:g}")


def percent(x, decimals: int = 1, missing: str = "") -> str:
    x = finite(x)
    return missing if x is None else number(x, decimals) + "%"


TAU2_MAX_DECIMALS = 6  # a smaller tau² is written with an exponent


def tau2_decimals(x) -> int:
    """tau²'s decimals: three, or as many as keep two significant digits of a smaller non-zero
    tau² (at most TAU2_MAX_DECIMALS); its confidence bounds take the same (one format)."""
    x = finite(x)
    if x is None or x == 0 or abs(x) >= 0.001:
        return 3
    return decimals_for([x], lowest=3, highest=TAU2_MAX_DECIMALS)


def tau2(x, missing: str = "") -> str:
    """tau² with `tau2_decimals` ("0.313", "0.00012", "0.000019"; "3.2e−08" below a millionth),
    the forest plot's heterogeneity line and the report's tables alike."""
    x = finite(x)
    if x is None:
        return missing
    if 0 < abs(x) < 10 ** -TAU2_MAX_DECIMALS:
        return signed(f"{x:.2g}".replace("e-", "e" + MINUS))
    return number(x, tau2_decimals(x))


def i2(x, missing: str = "") -> str:
    """I² as a percentage with one decimal (figures and report alike)."""
    return percent(x, 1, missing)


# ---------------------------------------------------------------------------------------------
# P values


def p_number(p, missing: str = MISSING) -> str:
    """A P value on its own, under a column headed "P": "0.032", "0.0003" or "< 0.0001".
    In text use `p_value`, which writes the "P =" or "P <" itself."""
    p = finite(p)
    if p is None:
        return missing
    if p < P_FLOOR:
        return f"< {P_FLOOR:g}"
    return f"{p:.4f}" if p < 0.001 else f"{p:.3f}"


def p_value(p, missing: str = "P not available") -> str:
    """A P value in text: "P < 0.0001", "P = 0.0003", "P = 0.032"."""
    p = finite(p)
    if p is None:
        return missing
    text = p_number(p)
    return f"P {text}" if text.startswith("<") else f"P = {text}"


# ---------------------------------------------------------------------------------------------
# Estimates and intervals


# A bound that would round onto the null, or across it ("0.19 [0.00, 0.38]" for a lower bound of
# -0.0026), misstates whether the interval excludes the null: it gets more decimals, up to these.
NULL_SIDE_MAX = 6


def shown_null(disp) -> float | None:
    """The measure's no-effect value as shown (1 for a ratio, 0 for a difference or r); None when
    the measure has none (a proportion, a mean) or no measure is given."""
    return None if disp is None or disp.null is None else disp.shown(disp.null)


def keeps_side(x, null: float | None, decimals: int) -> bool:
    """Whether `x` written with `decimals` stays on its side of `null` (the null itself, a missing
    value or no null: True)."""
    x = finite(x)
    if x is None or null is None or x == null or abs(x) >= EXPONENT_FROM:
        return True
    return (float(f"{x:.{decimals}f}") - null) * (x - null) > 0


def null_side_decimals(decimals: int, bounds, null: float | None) -> int:
    """`decimals`, or more (up to NULL_SIDE_MAX) until every bound keeps its side of the null."""
    while decimals < NULL_SIDE_MAX and not all(keeps_side(b, null, decimals) for b in bounds):
        decimals += 1
    return decimals


def ci(est, lb, ub, decimals: int | None = None, style: str = "brackets", missing: str = "",
       null: float | None = None) -> str:
    """An estimate with its interval: "0.49 [0.34, 0.70]" (brackets) or "0.49 (0.34 to 0.70)"
    (to). Without `decimals`, they follow the three numbers (`decimals_for`); with the shown
    `null`, more when a bound would round onto or across it (`null_side_decimals`)."""
    if finite(est) is None:
        return missing
    d = null_side_decimals(decimals_for((est, lb, ub)) if decimals is None else decimals, (lb, ub), null)
    if style == "to":
        return f"{number(est, d)} ({number(lb, d, MISSING)} to {number(ub, d, MISSING)})"
    return f"{number(est, d)} {interval(lb, ub, d)}"


def interval(lb, ub, decimals: int | None = None, missing: str = "", null: float | None = None) -> str:
    """"[0.34, 0.70]": an interval without its estimate (a prediction interval); bounds keep their
    side of the shown `null` as in `ci`."""
    if finite(lb) is None and finite(ub) is None:
        return missing
    d = null_side_decimals(decimals_for((lb, ub)) if decimals is None else decimals, (lb, ub), null)
    return f"[{number(lb, d, MISSING)}, {number(ub, d, MISSING)}]"


def shown(x, disp):
    """A number on the analysis scale as it is shown (the measure's back-transformation:
    ratios, proportions in %, r); None when missing."""
    return None if finite(x) is None else disp.shown(float(x))


def estimate(est, lb, ub, disp, decimals: int | None = None, style: str = "brackets",
             missing: str = "") -> str:
    """An estimate and CI on the analysis scale, written as shown (`shown`, then `ci`), the bounds
    on their side of the measure's null."""
    return ci(shown(est, disp), shown(lb, disp), shown(ub, disp), decimals, style, missing, shown_null(disp))


def pooled_estimate(pooled: dict, disp, decimals: int | None = None, missing: str = "") -> str:
    """A pooled estimate and CI (a subgroup's) as shown: from its own back-transformed values
    (`transformed`, e.g. with its own studies' harmonic mean of ni) when it has them, else its
    analysis-scale values back-transformed by the outcome's `disp`."""
    own = pooled.get("transformed")
    if not isinstance(own, dict) or finite(own.get("estimate")) is None:
        return estimate(pooled.get("estimate"), pooled.get("ci_lb"), pooled.get("ci_ub"), disp, decimals,
                        missing=missing)
    est, lb, ub = (disp.shown_back(own.get(key)) for key in ("estimate", "ci_lb", "ci_ub"))
    return ci(est, lb, ub, decimals, missing=missing, null=shown_null(disp))


def estimate_decimals(triples, disp=None, pooled=None) -> int:
    """One number of decimals for a column of (est, lb, ub) triples (shown as `disp` says), with
    the bounds of the `pooled` triples (default: all) on their side of the measure's null: the
    numbers the report repeats read alike; any other row that needs more gets them in its own
    cell (`estimate`), so one such row does not widen the column."""
    def as_shown(triple):
        return [shown(v, disp) if disp is not None else v for v in triple]

    values = [v for triple in triples for v in as_shown(triple)]
    bounds = [v for triple in (triples if pooled is None else pooled) for v in as_shown(triple)[1:]]
    return null_side_decimals(decimals_for(values), bounds, shown_null(disp))


# ---------------------------------------------------------------------------------------------
# Arm data: what each group reported, as analysed


def _number_of(study: dict, key: str) -> float | None:
    return finite(study.get(key))


PAIRED_OCCASIONS = {"mean1": "m1i", "sd1": "sd1i", "mean2": "m2i", "sd2": "sd2i"}
# A regression coefficient's study (PCOR, SPCOR): its t, the model's predictors and R².
REGRESSION_CELLS = {"t": "ti", "predictors": "mi", "r2": "r2i"}


def _regression(study: dict) -> bool:
    """Whether a study gives a regression coefficient's t (ti with mi, the model's predictors): not
    a rate's person-time (ti beside xi) nor a single group's mean (mi beside sdi)."""
    return all(_number_of(study, c) is not None for c in ("ti", "mi")) and \
        _number_of(study, "xi") is None and _number_of(study, "sdi") is None


def arm_value(study: dict, group: int, what: str) -> float | None:
    """One arm's statistic (mean, sd, events, time, total, r) in metafor's columns; None when
    not reported. Group 0 is a single-group study's sample (xi, ni or xi + mi, ti, ri); a paired
    sample's two occasions are its mean1, sd1, mean2 and sd2 (m1i, sd1i, m2i, sd2i), its r the two
    measurements' correlation; a regression coefficient's study its t, predictors and r2 (ti, mi,
    r2i)."""
    if group == 0:
        if what == "total":
            return measures.study_size(study, "ni")
        if _regression(study):
            return _number_of(study, REGRESSION_CELLS.get(what, ""))
        # a single group's mean is escalc's mi (MN, MNLN); a proportion's mi (non-events) is no mean
        mean = {"mean": "mi", "sd": "sdi"} if _number_of(study, "sdi") is not None else {}
        return _number_of(study, {"events": "xi", "time": "ti", "r": "ri", **mean, **PAIRED_OCCASIONS}.get(what, ""))
    if what == "mean":
        return _number_of(study, f"m{group}i")
    if what == "sd":
        return _number_of(study, f"sd{group}i")
    if what == "events":
        for key in (("ai", "x1i") if group == 1 else ("ci", "x2i")):
            if _number_of(study, key) is not None:
                return _number_of(study, key)
        return None
    if what == "time":
        return _number_of(study, f"t{group}i")
    if what == "total":
        n = _number_of(study, f"n{group}i")
        if n is not None:
            return n
        a, b = ("ai", "bi") if group == 1 else ("ci", "di")
        events, non_events = _number_of(study, a), _number_of(study, b)
        if events is not None and non_events is not None:
            return events + non_events
    return None


def _paired_text(study: dict, r: float, n) -> str:
    """One sample measured twice: "mean (SD) vs mean (SD), r = .., n = .." (SMCR needs no sd2i)."""
    d = data_decimals([arm_value(study, 0, w) for w in PAIRED_OCCASIONS])
    occasions = []
    for k in ("1", "2"):
        mean, sd = arm_value(study, 0, f"mean{k}"), arm_value(study, 0, f"sd{k}")
        occasions.append(number(mean, d) + (f" ({number(sd, d)})" if sd is not None else ""))
    return " vs ".join(occasions) + f", r = {data_value(r)}" + (f", n = {integer(n)}" if n is not None else "")


def _regression_text(study: dict, n) -> str:
    """A regression coefficient's study: "t = 4.61, 4 predictors, R² = 0.24, n = 218"."""
    t, predictors, r2 = (arm_value(study, 0, w) for w in REGRESSION_CELLS)
    parts = [f"t = {data_value(t)}", f"{integer(predictors)} predictor{'' if predictors == 1 else 's'}"]
    parts += [f"R² = {data_value(r2)}"] if r2 is not None else []
    return ", ".join(parts + ([f"n = {integer(n)}"] if n is not None else []))


COUNTS = ("events", "total", "predictors")  # whole numbers by nature, shown without decimals


def data_decimals(values) -> int:
    """The decimals a column of reported numbers gets: none when every value is whole, else two
    (two significant digits for a value below 0.1, up to four decimals), the most any value needs.
    A computed value (a mean from a median) is not shortened because it happens to end in zero."""
    needed = [decimals_for([v]) for v in (finite(x) for x in values) if v is not None and v != int(v)]
    return max(needed, default=0)


def data_column(values, what: str = "") -> list[str]:
    """A column of reported numbers, each with the column's decimals; counts as integers."""
    if what in COUNTS:
        return [integer(v) for v in values]
    d = data_decimals(values)
    return [number(v, d) for v in values]


def data_value(x, what: str = "") -> str:
    """One reported number on its own (a total row): as `data_column` writes a column of one."""
    return data_column([x], what)[0]


def arm_text(study: dict) -> str:
    """Group data as analysed (after any conversion): "mean (SD), n = .." per group, or events/n,
    "events / person-time", "r = .., n = ..", or a regression coefficient's "t = .., 4 predictors,
    R² = .., n = ..". Means and SDs of both groups share decimals."""
    events, n, time, r = (arm_value(study, 0, w) for w in ("events", "total", "time", "r"))
    if _regression(study):
        return _regression_text(study, n)
    if r is not None and arm_value(study, 0, "mean1") is not None:
        return _paired_text(study, r, n)
    if r is not None:
        return f"r = {data_value(r)}" + (f", n = {integer(n)}" if n is not None else "")
    if events is not None and time is not None:
        return f"{integer(events)} events / {data_value(time)} person-time"
    if events is not None and n is not None:
        return f"{integer(events)}/{integer(n)}"
    d = data_decimals([arm_value(study, g, w) for g in (1, 2) for w in ("mean", "sd")])
    groups = []
    for g in (1, 2):
        mean, sd, n = (arm_value(study, g, w) for w in ("mean", "sd", "total"))
        events, time = arm_value(study, g, "events"), arm_value(study, g, "time")
        if mean is not None and sd is not None:
            groups.append(f"{number(mean, d)} ({number(sd, d)})" + (f", n = {integer(n)}" if n else ""))
        elif events is not None and time is not None:
            groups.append(f"{integer(events)} events / {data_value(time)} person-time")
        elif events is not None and n is not None:
            groups.append(f"{integer(events)}/{integer(n)}")
        elif n is not None:
            groups.append(f"n = {integer(n)}")
    return " vs ".join(groups) if len(groups) == 2 else ""
