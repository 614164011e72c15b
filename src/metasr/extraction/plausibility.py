"""Plausibility rules for one typed outcome-sheet row (after the schema check).

Each rule returns Problems naming the column, the value and the rule. Warnings (severity
"warning") do not stop a run: they flag numbers that are valid but doubtful, such as a median
far from the middle of its quartiles or range (a normal-theory conversion is then questionable).
"""

from __future__ import annotations

import math

from metasr import measures
from metasr.errors import Problem
from metasr.extraction.conversions import median_asymmetry
from metasr.extraction.forms import (
    MEAN_FORMS,
    MEDIAN_FORMS,
    SINGLE_FORMS,
    SINGLE_MEAN_FORMS,
    cell,
    group_form,
    group_forms,
    required_cells,
)
from metasr.extraction.pvalues import parse_p

# |asymmetry| above this triggers a skewness warning: the median sits more than twice as far from
# one end of its quartiles/range as from the other. A project heuristic, not a formal test.
SKEW_WARNING = 1.0 / 3.0
# A reported CI is (close to) symmetric around its estimate on the analysis scale (the log scale for
# ratios); one half more than twice the other, beyond what rounding makes, suggests a mistyped limit
# or a CI of another kind, and the effect's SE is read from the CI's width.
CI_ASYMMETRY_WARNING = 2.0
# Numbers a sheet may hold: 0 or a magnitude in this range. Conversions square numbers and
# multiply them by group sizes (sums of squares when subgroups are combined); inside the range
# every such result stays a finite, non-zero double. No measurement in any unit comes near it.
MAGNITUDE = (1e-100, 1e100)


class RowChecker:
    """Collects the problems of one row; `number` gives a numeric cell."""

    def __init__(self, row: dict, file: str, rownum: int):
        self.row, self.file, self.rownum = row, file, rownum
        self.problems: list[Problem] = []
        # The rules ask for a row's numbers over a hundred times: its numeric cells, sorted out once.
        self._numbers = {column: value for column, value in row.items()
                         if isinstance(value, (int, float)) and not isinstance(value, bool)}

    def number(self, column: str) -> float | None:
        """The typed cell when it is a number (not a bool); None when it is empty or text."""
        return self._numbers.get(column)

    def add(self, column: str | None, message: str, rule: str, hint: str, severity: str = "error", value=None):
        shown = value if value is not None else self.row.get(column) if column else None
        self.problems.append(Problem(message=message, file=self.file, row=self.rownum, column=column,
                                     value=None if shown is None else str(shown), rule=rule, hint=hint,
                                     severity=severity))


def row_problems(row: dict, file: str, rownum: int) -> list[Problem]:
    check = RowChecker(row, file, rownum)
    _magnitudes(check)
    _form_cells(check)
    for g in (1, 2):
        _group_rules(check, g)
    _single_group_rules(check)
    _effect_rules(check)
    _p_and_t_rules(check)
    _skew_warnings(check)
    return check.problems


def _magnitudes(check: RowChecker) -> None:
    low, high = MAGNITUDE
    for column, value in check.row.items():
        value = check.number(column)
        if value is None or value == 0 or low <= abs(value) <= high:
            continue
        what = "infinite" if math.isinf(value) else "too large" if abs(value) > high else "too close to 0"
        check.add(column, f"number {what} to compute with (allowed: 0 or a size from {low:g} to {high:g})",
                  "number-range", "check the cell: a typo, an exponent, or a unit that needs rescaling")


def _form_cells(check: RowChecker) -> None:
    form = check.row.get("reported_form")
    for column in required_cells(check.row):
        if check.row.get(column) is None:
            check.add(column, f"reported form '{form}' needs '{column}'", "form-cells",
                      f"fill '{column}' or choose the reported_form that matches what the paper gives")


# How far a group's SE may stray from SD / sqrt(n) before the two are said to disagree: rounding of
# published figures stays well within it (an SE of 0.35 for 0.354 is 1 %), a mix-up does not.
SD_SE_TOLERANCE = 0.1


def _sd_se_agreement(check: RowChecker, g: int, sd: float, se: float, n: float) -> None:
    """A group's SD and SE both given must describe the same data (SE = SD / sqrt(n)); whichever the
    reported form uses, the other one being off says one of them (or n) is mistyped or is another
    statistic (an SE of the difference, a CI's half-width)."""
    expected, uses_se = sd / math.sqrt(n), _mean_form(check, g) == "mean_se"
    if abs(se - expected) > SD_SE_TOLERANCE * expected:
        check.add(cell("se", g), f"SE {se:g} disagrees with SD {sd:g} and n {n:g} (SD / sqrt(n) = {expected:.3g})",
                  "sd-se-agree", f"check {cell('sd', g)}, {cell('se', g)} and {cell('n', g)} against the paper; the "
                                 f"row's reported form uses {'the SE' if uses_se else 'the SD'}",
                  severity="warning")


def _mean_form(check: RowChecker, g: int) -> str | None:
    """The (group) form group g's cells are in; g 0: the group form of a single group's mean form."""
    if g:
        return group_forms(check.row)[g - 1]
    form = check.row.get("reported_form")
    return group_form(form) if form in SINGLE_MEAN_FORMS else None


def _mean_rules(check: RowChecker, g: int) -> None:
    """A group's (g 0: a single group's) size, SD, SE, quartiles, range and CI of its mean."""
    n, sd, se = (check.number(cell(stem, g)) for stem in ("n", "sd", "se"))
    form, kind = _mean_form(check, g), "group" if g else "sample"
    if n is not None and n < 1:
        check.add(cell("n", g), f"{kind} size must be at least 1", "n>=1", "use the number of participants analysed")
    elif n is not None and n < 2 and form in MEAN_FORMS:
        check.add(cell("n", g), f"a {kind} reported as {form if g else check.row.get('reported_form')} needs at "
                  "least 2 participants", "n>=2",
                  f"a {kind}'s SD (given, or estimated from its SE, CI, quartiles or range) needs two or "
                  f"more participants; check the {kind} size")
    if sd is not None and sd <= 0:
        check.add(cell("sd", g), "SD must be positive", "sd>0", "an SD of 0 or less is impossible; check the table")
    if se is not None and se <= 0:
        check.add(cell("se", g), "SE must be positive", "se>0", "check the table")
    if sd is not None and se is not None and n is not None and sd > 0 and se > 0 and n >= 1:
        _sd_se_agreement(check, g, sd, se, n)
    _order(check, g, [("min", "q1_"), ("q1_", "median"), ("median", "q3_"), ("q3_", "max"),
                      ("min", "median"), ("median", "max")])
    lb, ub, mean = (check.number(cell(stem, g)) for stem in ("ci_lb", "ci_ub", "mean"))
    if lb is not None and ub is not None:
        if lb >= ub:
            check.add(cell("ci_lb", g), f"CI lower limit {lb} is not below upper limit {ub}", "ci-order",
                      "swap the limits or check the table")
        elif mean is not None and not lb <= mean <= ub:
            check.add(cell("mean", g), f"mean {mean} lies outside its CI [{lb}, {ub}]", "ci-contains-estimate",
                      "check the mean and the CI")


def _group_rules(check: RowChecker, g: int) -> None:
    _mean_rules(check, g)
    n = check.number(f"n{g}")
    events, time = check.number(f"events{g}"), check.number(f"time{g}")
    if events is not None and events < 0:
        check.add(f"events{g}", "event count is negative", "events>=0", "check the count")
    if events is not None and n is not None and events > n and check.row.get("reported_form") == "events_n":
        check.add(f"events{g}", f"{events} events in a group of {n}", "events<=n",
                  "events are participants with the event; for repeated events use events_persontime")
    if time is not None and time <= 0:
        check.add(f"time{g}", "person-time must be positive", "time>0", "check the person-time")


def _single_group_rules(check: RowChecker) -> None:
    """A single-group study's events, sample size, person-time and correlation."""
    events, n, time, r = (check.number(c) for c in ("events", "n", "time", "r"))
    _mean_rules(check, 0)  # the sample's size, and its mean's spread
    if events is not None and events < 0:
        check.add("events", "event count is negative", "events>=0", "check the count")
    if events is not None and n is not None and events > n and check.row.get("reported_form") == "events_total":
        check.add("events", f"{events} events in a sample of {n}", "events<=n",
                  "events are participants with the event; for repeated events use events_time")
    if time is not None and time <= 0:
        check.add("time", "person-time must be positive", "time>0", "check the person-time")
    if r is not None and not -1 <= r <= 1:
        check.add("r", f"a correlation of {r} is impossible", "-1<=r<=1", "a correlation lies between -1 and 1")
    _regression_rules(check)


def _regression_rules(check: RowChecker) -> None:
    """A regression model's R² and number of predictors (regression_t)."""
    r2, predictors = check.number("r2"), check.number("predictors")
    if r2 is not None and not 0 <= r2 <= 1:
        check.add("r2", f"an R² of {r2} is impossible", "0<=r2<=1",
                  "R² is a proportion from 0 to 1 (0.24, not 24 %)")
    if predictors is not None and predictors < 1:
        check.add("predictors", "a regression coefficient's model has at least 1 predictor", "predictors>=1",
                  "count the model's predictors (not the intercept), the one whose t is given among them")


def _order(check: RowChecker, g: int, pairs) -> None:
    names = {"q1_": "q1", "q3_": "q3"}
    for low, high in pairs:
        a, b = check.number(cell(low, g)), check.number(cell(high, g))
        if a is not None and b is not None and a > b:
            check.add(cell(low, g), f"{names.get(low, low)} ({a}) is above {names.get(high, high)} ({b})",
                      f"{names.get(low, low)}<={names.get(high, high)}",
                      "quartiles and range must be ordered min <= q1 <= median <= q3 <= max")


def _effect_rules(check: RowChecker) -> None:
    effect, lb, ub = check.number("effect"), check.number("effect_ci_lb"), check.number("effect_ci_ub")
    se, measure = check.number("effect_se"), check.row.get("effect_measure")
    if lb is not None and ub is not None:
        if lb >= ub:
            check.add("effect_ci_lb", f"CI lower limit {lb} is not below upper limit {ub}", "ci-order",
                      "swap the limits or check the source")
        elif effect is not None and not lb <= effect <= ub:
            check.add("effect", f"effect {effect} lies outside its CI [{lb}, {ub}]", "ci-contains-estimate",
                      "check the estimate and the CI")
        elif effect is not None and lb < effect < ub:
            _ci_symmetry(check, effect, lb, ub, measure)
    if se is not None and se <= 0:
        check.add("effect_se", "SE must be positive", "se>0", "check the source")
    if measure is not None and measures.reported_scale(measure) == "log":
        for column in ("effect", "effect_ci_lb", "effect_ci_ub"):
            value = check.number(column)
            if value is not None and value <= 0:
                check.add(column, f"a {measure} must be positive", "ratio>0",
                          "write the ratio itself, not its logarithm")


def _ci_symmetry(check: RowChecker, effect: float, lb: float, ub: float, measure) -> None:
    log = measure is not None and measures.reported_scale(measure) == "log"
    if log and min(effect, lb, ub) <= 0:
        return  # ratio>0 reports it
    at = math.log if log else float
    below, above = at(effect) - at(lb), at(ub) - at(effect)
    if max(below, above) > CI_ASYMMETRY_WARNING * min(below, above):
        scale = " on the log scale" if log else ""
        check.add("effect_ci_lb" if below < above else "effect_ci_ub",
                  f"the CI [{lb:g}, {ub:g}] is far from symmetric around {effect:g}{scale} ({below:.3g} below, "
                  f"{above:.3g} above)", "ci-symmetry",
                  "check the limits against the source (a mistyped digit?); the SE is taken from the CI's width",
                  severity="warning")


def _p_and_t_rules(check: RowChecker) -> None:
    text = check.row.get("p_value")
    if text is not None:
        p = parse_p(text)
        if p is None:
            check.add("p_value", "not a p-value", "p-format",
                      "write a number (0.017) or a bound (<0.001, <=0.05); put any other text in notes")
        elif not 0 < p.value <= 1:
            check.add("p_value", f"p must be in (0, 1], found {p.value:g}", "0<p<=1", _p_range_hint(text, p.value))
        elif check.row.get("reported_form") == "effect_p":
            _effect_p_rules(check, p.value)
    t, direction = check.number("t_stat"), check.row.get("direction")
    if t is not None and direction in ("group1_higher", "group1_lower") and t != 0:
        if (t > 0) != (direction == "group1_higher"):
            check.add("direction", f"t = {t} contradicts direction '{direction}'", "direction-consistent",
                      "t is group 1 minus group 2: positive when group 1 is higher")


def _p_range_hint(text, value: float) -> str:
    """A p of 0 is one rounded to the decimals shown ("0.000"): it is below one unit of the last
    decimal, a bound; a p above 1 is likely a percentage."""
    if value == 0:
        decimals = text.rpartition(".")[2] if isinstance(text, str) else ""
        bound = f"<0.{'0' * (len(decimals) - 1)}1" if decimals.isdigit() else "<0.001"
        return f"a p shown as 0 was rounded: write it as the bound it is, e.g. {bound}"
    return "a p-value is a probability; percentages are not allowed"


def _effect_p_rules(check: RowChecker, p: float) -> None:
    """An SE from an effect and its p is |effect| / z(p): p = 1 (z = 0) gives none, a null
    effect (0, or a ratio of 1) gives 0."""
    if p >= 1:
        check.add("p_value", "p = 1 gives no standard error for the effect (z = 0)", "effect_p: p<1",
                  "use the effect's CI or SE (reported_form effect_ci / effect_se), or exclude the row "
                  "with an exclude_reason")
        return
    measure = check.row.get("effect_measure")
    effect, ratio = check.number("effect"), measure is not None and measures.reported_scale(measure) == "log"
    if effect is not None and effect == (1 if ratio else 0):
        check.add("effect", f"a null effect ({effect:g}) with p = {p:g} gives a standard error of 0",
                  "effect_p: effect not null", "use the effect's CI or SE, or check the effect and the p-value")


def _skew_warnings(check: RowChecker) -> None:
    for g in (0, 1, 2):
        if _mean_form(check, g) not in MEDIAN_FORMS:
            continue
        m = check.number(cell("median", g))
        for low, high, what in (("q1_", "q3_", "quartiles"), ("min", "max", "range")):
            a, b = check.number(cell(low, g)), check.number(cell(high, g))
            if m is None or a is None or b is None:
                continue
            asym = median_asymmetry(m, a, b)
            if abs(asym) > SKEW_WARNING:
                who = f"group {g}" if g else "the sample"
                check.add(cell("median", g), f"{who} looks skewed: median {m:g} is off-centre in its {what} "
                          f"[{a:g}, {b:g}] (asymmetry {asym:+.2f}); converting to mean/SD is doubtful",
                          "skewness", "consider a sensitivity analysis without this study", severity="warning")


# ---- rows of one study that share a group (multi-arm trials) ----------------------------------------

ARM_CELLS = ("n", "mean", "sd", "se", "median", "events", "time")


def _arm_cells(row: dict, g: int) -> tuple:
    return tuple(row.get(f"{c}{g}") for c in ARM_CELLS)


def shared_group_problems(typed_rows: list[tuple[int, dict]], file: str) -> list[Problem]:
    """Rules across the rows of a study: a `shared_group` needs at least two rows sharing it (same
    study, timepoint and es_id) and a two-group row; identical group data in two comparisons that do
    not say they share the group are flagged (a shared control arm counted twice?)."""
    problems: list[Problem] = []
    sets: dict[tuple, list[int]] = {}  # (study, timepoint, es_id, shared group): its rows
    arms: dict[tuple, list[tuple[int, bool]]] = {}  # (study, timepoint, es_id, group, cells): (row, marked)
    for rownum, row in typed_rows:
        group = row.get("shared_group")
        where = (row.get("study_id"), row.get("timepoint"), row.get("es_id"))
        if group is not None:
            if row.get("reported_form") in SINGLE_FORMS:
                problems.append(Problem(message="a single-group row has no group to share", file=file, row=rownum,
                                        column="shared_group", value=str(group), rule="shared-group",
                                        hint="clear shared_group (it is for comparisons of a multi-arm trial)"))
            sets.setdefault(where + (group,), []).append(rownum)
        for g in (1, 2):
            cells = _arm_cells(row, g)
            if cells[0] is not None and any(c is not None for c in cells[1:]) and row.get("subgroup") is None:
                arms.setdefault(where + (g, cells), []).append((rownum, group == g))
    for (study, _, _, group), rows in sets.items():
        if len(rows) == 1:
            problems.append(Problem(
                message=f"group {group} is marked shared, but no other row of study '{study}' (same timepoint and "
                        "es_id) shares it", file=file, row=rows[0], column="shared_group", value=str(group),
                rule="shared-group", hint="mark every comparison that uses the shared group, or clear the cell"))
    for (study, _, _, g, _), uses in arms.items():
        if len(uses) > 1 and not all(marked for _, marked in uses):
            shown = ", ".join(str(n) for n, _ in uses)
            problems.append(Problem(
                message=f"rows {shown} of study '{study}' have identical group {g} data: one group shared by "
                        "several comparisons?", file=file, row=uses[0][0], column="shared_group", rule="shared-group",
                severity="warning",
                hint=f"if it is one group (a multi-arm trial's control arm), write {g} in shared_group of each row "
                     "so that its participants are not counted twice"))
    return problems
