"""Converting a validated outcome sheet's rows into effect rows, and what computing their effects
meets: the part of the outcome job (metasr.extraction.pipeline) that validation runs too
(metasr.extraction.validate), so that a row the job would refuse is refused before anything runs.

Rows of one study/comparison/timepoint/es_id with subgroup labels are combined first; a group that
several comparisons share is then split between them or kept whole (the outcome's multi_arm); the
effects are computed as the pooling step computes them (metasr.stats.effects.escalc) and checked
against the engine's range (metasr.stats.checks).
"""

from __future__ import annotations

from pathlib import Path

from metasr import dependence, measures
from metasr.errors import InputError, Problem
from metasr.extraction import conversion_kinds as kinds, conversions as conv
from metasr.extraction.effects import (
    SHEET_ROW,
    SPREAD_FIELDS,
    ConversionSettings,
    EffectRow,
    can_split,
    derived_sd,
    effect_row,
    group_mean_sd,
    group_name,
    split_group,
)
from metasr.extraction.forms import (
    ASSUMABLE_CELLS,
    EFFECT_FORMS,
    MEAN_FORMS,
    NO_DATA_FORMS,
    SINGLE_MEAN_FORMS,
    cell,
    group_form,
    measure_cells,
)
from metasr.extraction.settings import extraction_settings

# Forms whose subgroup rows combine by summing these cells (counts, sizes and person-time).
SUMMED_CELLS = {"events_n": ("events1", "n1", "events2", "n2"),
                "events_persontime": ("events1", "time1", "events2", "time2"),
                "events_total": ("events", "n"), "events_time": ("events", "time")}


def outcome_effect_problems(typed_rows: list[tuple[int, dict]], settings: ConversionSettings, outcome_cfg: dict,
                            sheet_path: str) -> tuple[list[Problem], list[tuple[dict, EffectRow]]]:
    """The problems that computing the effects of a validated sheet's rows meets (effect_range_problems,
    with the variance-ratio limit when the outcome pools dependent effect sizes), and the converted rows.

    `typed_rows` are (sheet row number, typed row) as check_outcome_rows returns them. Validation
    calls this too, so that a row the outcome job would refuse is refused before anything runs.
    """
    converted = convert_rows([{**typed, SHEET_ROW: n} for n, typed in typed_rows], settings)
    ratio_limit = dependence.pooled_as_dependent(dependence.settings(outcome_cfg))
    problems = assumed_cell_problems(typed_rows, settings, sheet_path)
    problems += measure_cell_problems(typed_rows, settings.measure, sheet_path)
    problems += derived_sd_problems(converted, dict(typed_rows), sheet_path)
    # a row with an SD of 0 is named for it, not for what escalc then makes of it
    zero_sd = {id(result) for _, result in converted if any(d.sd <= 0 for d in result.derived_sds)}
    problems += effect_range_problems([(row, result) for row, result in converted if id(result) not in zero_sd],
                                      settings.measure, sheet_path, ratio_limit, outcome_cfg)
    problems += generic_scale_problems(converted, settings, sheet_path)
    problems += not_pooled_warnings(converted, sheet_path, settings.measure)
    return problems, converted


def assumed_cell_problems(typed_rows: list[tuple[int, dict]], settings: ConversionSettings,
                          sheet_path: str) -> list[Problem]:
    """A cell the row's form needs that the outcome could assume (forms.ASSUMABLE_CELLS: a paired
    sample's r) but does not: blank without the outcome's assumed_correlation."""
    problems = []
    for rownum, row in typed_rows:
        form = row.get("reported_form")
        for column in ASSUMABLE_CELLS.get(form, ()):
            if row.get(column) is None and settings.assumed_correlation is None and not row.get("exclude_reason"):
                problems.append(Problem(
                    message=f"reported form '{form}' needs '{column}'", file=sheet_path, row=rownum, column=column,
                    rule="form-cells",
                    hint=f"fill '{column}' with the correlation between the two measurements the study reports (or "
                         "derives from the SD of the change), or set the outcome's assumed_correlation (Cochrane "
                         "Handbook 6.5.2.8) and analyse its sensitivity"))
    return problems


def measure_cell_problems(typed_rows: list[tuple[int, dict]], measure: str, sheet_path: str) -> list[Problem]:
    """A cell the outcome's measure needs beyond what the row's form needs (forms.measure_cells: a
    semi-partial correlation's R²) left blank."""
    return [Problem(message=f"{measure} needs '{column}' beside the reported form '{row.get('reported_form')}'",
                    file=sheet_path, row=rownum, column=column, rule="form-cells",
                    hint=f"fill '{column}' as the study reports it, or pool the outcome as a measure that does "
                         f"without it ({_without(measure, row.get('reported_form'), column)})")
            for rownum, row in typed_rows if not row.get("exclude_reason")
            for column in measure_cells(measure, row.get("reported_form")) if row.get(column) is None]


def _without(measure: str, form, column: str) -> str:
    """The measures of `measure`'s family that take `form` without its cell `column`."""
    return ", ".join(m for m in measures.in_family(measures.get(measure).family)
                     if column not in measure_cells(m, form))


def not_pooled_warnings(converted: list[tuple[dict, EffectRow]], sheet_path: str, measure: str | None = None
                        ) -> list[Problem]:
    """A warning for each converted row that will not be pooled, with its reason and the cell at
    fault, but for deliberate exclusions (an exclude_reason, a direction_only or other row) and
    cells the row's form or the outcome's `measure` needs (their blanks are errors already)."""
    def reported(row: dict, result: EffectRow) -> bool:
        form = row.get("reported_form")
        return result.column in ASSUMABLE_CELLS.get(form, ()) + measure_cells(measure, form)

    return [Problem(message=f"this row will not be pooled: {result.reason}", file=sheet_path, row=row.get(SHEET_ROW),
                    column=result.column, value=_cell_text(row, result.column),
                    rule="row-not-pooled", severity="warning",
                    hint="correct the row if this is a mistake; if it is not to be pooled, say why in its "
                         "exclude_reason")
            for row, result in converted if not result.usable and not _deliberately_excluded(row, result)
            and not reported(row, result)]


def _cell_text(row: dict, column: str | None) -> str | None:
    value = row.get(column) if column else None
    return None if value is None else str(value)


def _deliberately_excluded(row: dict, result: EffectRow) -> bool:
    return bool(row.get("exclude_reason")) or row.get("reported_form") in NO_DATA_FORMS \
        or result.column == "exclude_reason"


# What each spread is called, by the column stem of its first cell.
SPREAD_NAMES = {"q1_": "an IQR", "min": "a range", "se": "an SE", "ci_lb": "a CI"}


def derived_sd_problems(converted: list[tuple[dict, EffectRow]], sheet_rows: dict[int | None, dict],
                        sheet_path: str) -> list[Problem]:
    """An SD of 0 (or less) estimated from a usable row's SE, CI, quartiles or range is an error
    naming the cells it came from, as a reported SD of 0 is (plausibility: sd>0)."""
    problems = []
    for _, result in converted:
        if not result.usable:
            continue
        for derived in result.derived_sds:
            if derived.sd > 0:
                continue
            cells = sheet_rows.get(derived.sheet_row, {})
            shown = ", ".join(f"{c} = {cells.get(c)}" for c in derived.cells)
            spread = " and ".join(name for stem, name in SPREAD_NAMES.items()
                                  if cell(stem, derived.group) in derived.cells)
            problems.append(Problem(
                message=f"{group_name(derived.group)}'s SD, derived from {shown} ({derived.form}), is {derived.sd:g}: "
                        f"{'the group' if derived.group else 'the study'} would be pooled as if every participant "
                        "had the same value",
                file=sheet_path, row=derived.sheet_row, column=derived.cells[0],
                value=str(cells.get(derived.cells[0])), rule="derived-sd>0",
                hint=f"{spread} of 0 gives no SD: give another measure of the group's spread (its SD, or the SE "
                     "or CI of its mean), or set exclude_reason"))
    return problems


SCALE_WORDS = {"log": "a ratio, pooled as its logarithm", "identity": "pooled as it is"}


def generic_kind(row: dict) -> tuple[str, str]:
    """(kind, sheet column naming it) of the effect a row gives a generic outcome: its
    effect_measure, or MD for group means (the only other forms a generic outcome takes)."""
    if row.get("reported_form") in EFFECT_FORMS:
        return str(row.get("effect_measure")), "effect_measure"
    return "MD", "reported_form"


def generic_scale_problems(converted: list[tuple[dict, EffectRow]], settings: ConversionSettings,
                           sheet_path: str) -> list[Problem]:
    """A generic outcome pools one scale: a usable row whose effect is on another scale than the
    outcome's (`scale`, identity when unset) is an error; different kinds of effect on one scale
    (an HR with an OR, an MD with an SMD; group means give an MD) are a warning naming them."""
    if measures.get(settings.measure).family != "generic":
        return []
    outcome, scale = Path(sheet_path).stem, settings.pooled_scale
    problems: list[Problem] = []
    kinds: dict[str, dict[str, list[tuple[int | None, str]]]] = {}  # scale -> {kind: [(sheet row, column)]}
    for row, result in converted:
        if not result.usable:
            continue
        kind, column = generic_kind(row)
        kind_scale = measures.reported_scale(kind)
        kinds.setdefault(kind_scale, {}).setdefault(kind, []).append((row.get(SHEET_ROW), column))
        if kind_scale != scale:
            what = "this row's group means give an MD" if column == "reported_form" else f"this row reports a {kind}"
            default = "" if settings.scale else ", the default"
            problems.append(Problem(
                message=f"{what}, on the {kind_scale} scale ({SCALE_WORDS[kind_scale]}); this generic outcome pools "
                        f"its effects on the {scale} scale (outcomes.{outcome}.scale: {scale}{default}), and effects "
                        "on two scales pooled together mean nothing",
                file=sheet_path, row=row.get(SHEET_ROW), column=column, value=str(row.get(column)),
                rule="generic-scale",
                hint=f"if every effect of the outcome is on the {kind_scale} scale, set outcomes.{outcome}.scale: "
                     f"{kind_scale}; otherwise move the row to an outcome of its own"))
    for kind_scale, found in kinds.items():
        if len(found) > 1:
            listed = "; ".join(f"{kind} ({_rows_text([n for n, _ in where])})" for kind, where in found.items())
            second_row, second_column = next(iter(list(found.values())[1]))
            problems.append(Problem(
                message=f"this generic outcome pools different kinds of effect on the {kind_scale} scale: {listed}",
                file=sheet_path, row=second_row, column=second_column, value=list(found)[1], rule="generic-kinds",
                severity="warning",
                hint="pool one kind of effect per outcome (move the others to an outcome of their own), unless "
                     "they estimate the same quantity"))
    return problems


def _rows_text(rows: list) -> str:
    return ("row " if len(rows) == 1 else "rows ") + ", ".join(str(n) for n in rows)


def conversion_settings(outcome_id: str, outcome_cfg: dict, extraction_cfg: dict) -> ConversionSettings:
    """How an outcome's rows are converted; InputError if extraction cannot prepare its measure."""
    extraction_cfg = extraction_settings({"extraction": extraction_cfg or {}})
    measure = outcome_cfg["measure"]
    if not measures.known(measure):
        raise InputError(Problem(message=f"outcome '{outcome_id}' has measure {measure!r}, which extraction "
                                         "cannot prepare", rule="measure",
                                 hint=f"use one of {', '.join(measures.ids())}"))
    dep = dependence.settings(outcome_cfg)
    return ConversionSettings(measure=measure, unit=outcome_cfg.get("unit"), flip=bool(outcome_cfg.get("flip")),
                    median_conversion=extraction_cfg["median_conversion"],
                    p_value_bounds=extraction_cfg["p_value_bounds"], multi_arm=dep["multi_arm"] if dep else None,
                    scale=outcome_cfg.get("scale"), assumed_correlation=outcome_cfg.get("assumed_correlation"))


def usable_rows_by_study(rows: list[dict], sheet_rows: list[int]) -> dict[str, list[int]]:
    """{study_id: sheet rows of its usable converted rows} (rows as prepare_outcome writes them)."""
    out: dict[str, list[int]] = {}
    for row, n in zip(rows, sheet_rows, strict=True):
        if row["usable"]:
            out.setdefault(row["study_id"], []).append(n)
    return out


def usable_sheet_rows(converted: list[tuple[dict, EffectRow]]) -> dict[str, list[int]]:
    """{study_id: sheet rows of its usable rows} of converted rows (each with its sheet row under
    SHEET_ROW)."""
    out: dict[str, list[int]] = {}
    for row, result in converted:
        if result.usable:
            out.setdefault(row["study_id"], []).append(row[SHEET_ROW])
    return out


def convert_rows(rows: list[dict], settings: ConversionSettings) -> list[tuple[dict, EffectRow]]:
    """Convert rows; rows of one study/comparison/timepoint/es_id with subgroup labels are combined
    first; a group shared by several comparisons is then split or kept (settings.multi_arm)."""
    out: list[tuple[dict, EffectRow]] = []
    groups: dict[tuple, list[dict]] = {}  # (study, comparison, timepoint, es_id): its subgroup rows
    for row in rows:
        if row.get("subgroup") is not None:
            key = (row["study_id"], row.get("comparison"), row.get("timepoint"), row.get("es_id"))
            groups.setdefault(key, []).append(row)
        else:
            out.append((row, effect_row(row, settings)))
    for parts in groups.values():
        out.append(combine_subgroups(parts, settings))
    share_groups(out, settings.multi_arm)
    return out


def share_groups(converted: list[tuple[dict, EffectRow]], multi_arm: str | None) -> None:
    """Split each group shared by several usable comparisons of a study (same timepoint and es_id)
    evenly between them (multi_arm split_shared, also the choice when the outcome names none: the
    shared participants are then never counted twice); `correlated` keeps the group whole."""
    if multi_arm == "correlated":
        return
    sets: dict[tuple, list[tuple[dict, EffectRow]]] = {}
    for row, result in converted:
        if row.get("shared_group") in (1, 2) and result.usable:
            key = (row["study_id"], row.get("timepoint"), row.get("es_id"), row["shared_group"])
            sets.setdefault(key, []).append((row, result))
    for (_, _, _, group), members in sets.items():
        for _, result in members:
            if not can_split(result):
                result.fail(f"group {group} is shared with other comparisons, but the row gives a reported effect "
                            "or test statistic, which cannot be split: give the group data, or set the outcome's "
                            "dependence.multi_arm to correlated", "shared_group")
        members = [(row, result) for row, result in members if result.usable]
        if len(members) < 2:
            continue
        for _, result in members:
            split_group(result, group, len(members))
            result.shared_split = len(members)


def combine_subgroups(parts: list[dict], settings: ConversionSettings) -> tuple[dict, EffectRow]:
    """One row from subgroup rows (Handbook Table 6.5.a for means/SDs; sums for counts)."""
    first = dict(parts[0])
    labels = ", ".join(str(p["subgroup"]) for p in parts)
    first["reported_form"] = "+".join(sorted({p["reported_form"] for p in parts}))
    result = EffectRow()
    if len(parts) == 1:
        row, one = parts[0], effect_row(parts[0], settings)
        one.detail.insert(0, f"single subgroup '{labels}' (nothing to combine)")
        return row, one
    if any(p.get("exclude_reason") for p in parts):
        return first, result.fail("a subgroup row is excluded: " + "; ".join(
            str(p["exclude_reason"]) for p in parts if p.get("exclude_reason")), "exclude_reason")
    forms = {p["reported_form"] for p in parts} | {p.get("reported_form2") or p["reported_form"] for p in parts}
    family = measures.get(settings.measure).family
    two_groups = forms <= MEAN_FORMS and family in ("two-group means", "variability", "generic")
    if two_groups or (forms <= SINGLE_MEAN_FORMS and family == "single-group means"):
        combined = {"reported_form": "mean_sd" if two_groups else "single_mean_sd", "study_id": first["study_id"],
                    "unit": first.get("unit")}
        methods = set()
        for g in (1, 2) if two_groups else (0,):
            stats = []
            for p in parts:
                form = p["reported_form"] if g < 2 else (p.get("reported_form2") or p["reported_form"])
                form = group_form(form)
                n, m, sd, method, detail = group_mean_sd(p, g, form, settings.median_conversion)
                stats.append((n, m, sd))
                if form in SPREAD_FIELDS:
                    result.derived_sds.append(derived_sd(p, g, form, sd, settings.median_conversion))
                if method:
                    methods.add(method)
                if detail:
                    result.detail.append(f"subgroup {p['subgroup']}: {detail}")
            n, m, sd = stats[0]
            for n2, m2, sd2 in stats[1:]:
                n, m, sd = conv.combine_groups(n, m, sd, n2, m2, sd2)
            combined.update({cell("n", g): n, cell("mean", g): m, cell("sd", g): sd})
            result.detail.append(f"{group_name(g)}: subgroups {labels} combined -> n {n}, mean {m:.4g}, SD {sd:.4g}")
        inner = effect_row(combined, settings)
        inner.detail = result.detail + inner.detail
        inner.derived_sds = result.derived_sds + inner.derived_sds
        inner.conversion = _combined(inner, sorted(methods) + [kinds.COMBINED_SUBGROUPS.text("means")])
        return first, inner
    if len(forms) == 1 and forms <= set(SUMMED_CELLS) and forms <= set(measures.FAMILIES[family].sheet_forms):
        combined = dict(first)
        for column in SUMMED_CELLS[next(iter(forms))]:
            combined[column] = sum(p[column] for p in parts)
        inner = effect_row(combined, settings)
        inner.conversion = _combined(inner, [kinds.COMBINED_SUBGROUPS.text("sums")])
        inner.detail.insert(0, f"subgroups {labels}: counts summed")
        return first, inner
    return first, result.fail(f"subgroups {labels} cannot be combined (forms: {', '.join(sorted(forms))})",
                              "reported_form")


def _combined(inner: EffectRow, texts: list[str]) -> str:
    """The conversion of a row combined from subgroups: `texts`, and the flip the combined row got
    (kept, so that its forest mark and the methods paragraph say it)."""
    flipped = [kinds.FLIPPED.text()] if kinds.has(inner.conversion, kinds.FLIPPED) else []
    return kinds.SEPARATOR.join(texts + flipped)


def effect_range_problems(converted: list[tuple[dict, EffectRow]], measure: str, sheet_path: str,
                          ratio_limit: bool = True, outcome_cfg: dict | None = None) -> list[Problem]:
    """The problems the pooling engine would meet in the usable rows (effects and variances that
    are not finite or outside its range, group sizes too small for the measure, variances too far
    apart for a model of dependent effect sizes: `ratio_limit`), reported against the sheet's row
    and the cell most likely at fault, before anything is written. The effects are computed as the
    outcome's pooling step computes them: with its `escalc:` options (a continuity correction of
    0 leaves a count of 0 without an effect) and, for Peto's method, as Peto's odds ratios."""
    import numpy as np
    import pandas as pd

    from metasr.stats import checks, effects

    usable = [(row, result) for row, result in converted if result.usable]
    if not usable:
        return []
    outcome_cfg = outcome_cfg or {}
    options = effects.Options.from_config(outcome_cfg.get("escalc"))
    computed = measures.effect_measure(measure, outcome_cfg.get("method"))
    if effects.option_problems(computed, options):
        options = effects.Options()  # the config check reports options the measure cannot take
    table = pd.DataFrame([result.values for _, result in usable])
    sheet_rows = [row.get(SHEET_ROW) for row, _ in usable]
    by_row = {row.get(SHEET_ROW): row for row, _ in usable}
    try:
        with np.errstate(all="ignore"):  # an overflow is what the check below reports
            table = effects.escalc(table, computed, file=sheet_path, rows=sheet_rows, options=options)
        found = checks.table_problems(table, sheet_path, sheet_rows, ratio_limit)
    except InputError as err:
        found = err.problems
    return [_on_sheet(p, by_row.get(p.row, {}), measure) for p in found]


# The sheet cell behind each column of the effect-input table (before any conversion).
_SHEET_CELL = {"m1i": "mean1", "sd1i": "sd1", "n1i": "n1", "m2i": "mean2", "sd2i": "sd2", "n2i": "n2",
               "ai": "events1", "ci": "events2", "x1i": "events1", "t1i": "time1", "x2i": "events2",
               "t2i": "time2", "ti": "t_stat", "yi": "effect", "vi": "effect_se"}
# The cell a test form's t, and so its effect, comes from.
_TEST_CELL = {"p_value": "p_value", "t_stat": "t_stat"}


def _on_sheet(problem: Problem, row: dict, measure: str) -> Problem:
    """A problem of the effect-input table, restated for the sheet row it came from."""
    from dataclasses import replace

    from metasr.measures import FAMILIES, get

    sheet_cells = {**_SHEET_CELL, **FAMILIES[get(measure).family].sheet_columns} if measures.known(measure) \
        else _SHEET_CELL
    column = sheet_cells.get(problem.column or "")
    if problem.column in ("yi", "ti") and row.get("reported_form") in _TEST_CELL:
        column = _TEST_CELL[row["reported_form"]]
    if row.get(column) is None:
        column = _most_extreme_cell(row)
    hint = problem.hint
    if problem.rule == "finite effect":
        hint = _undefined_effect_hint(measure)
    elif problem.rule in UNPOOLABLE_RULES:
        hint = f"{hint}; {KEEP_OUT}"
    return replace(problem, column=column, value=None if column is None else str(row.get(column)), hint=hint,
                   message=f"{problem.message}, from the reported {row.get('reported_form')} numbers of study "
                           f"'{row.get('study_id')}'")


# How a row that is reported correctly but cannot be pooled stays in its sheet (docs/formats.md:
# exclude_reason marks a row of any form not usable; the narrative synthesis lists it).
KEEP_OUT = "if the row is not to be pooled, give it an exclude_reason (the row stays in the sheet, marked not usable)"
# The effect computation's rules (metasr.stats.effects) that refuse numbers a paper may well have
# reported (a correlation of 1, a sample of 3): their hint adds KEEP_OUT.
UNPOOLABLE_RULES = ("-1 < ri < 1", "ni >= 4", "ni >= 5")


def _undefined_effect_hint(measure: str) -> str:
    """What to do with a sheet row whose effect the outcome's escalc options leave undefined."""
    from metasr.measures import get

    record = get(measure)
    if "add" in record.options:
        # escalc adds 1/2 by default, but nothing for AS, PHI, IRSD, PAS, PFT, IRS, IRFT (record.add)
        default = "escalc's default" if record.add == 0.5 else f"escalc adds {record.add:g} to {measure} by default"
        return (f"give the outcome a continuity correction in the config (escalc: {{add: 0.5, to: only0}}, {default}); "
                f"or, {KEEP_OUT}")
    return f"check the row's numbers; or, {KEEP_OUT}"


def _most_extreme_cell(row: dict) -> str | None:
    """The number cell farthest from 1 in order of magnitude (an exponent typo, a wrong unit)."""
    import math

    numbers = {c: v for c, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
               and c != SHEET_ROW and v != 0 and math.isfinite(v)}
    return max(numbers, key=lambda c: abs(math.log10(abs(numbers[c]))), default=None)
