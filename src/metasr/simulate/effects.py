"""Synthetic outcome data: true effects, simulated participants, rows in mixed reported forms.

For each outcome the simulator draws a true mean effect `theta` and a between-study SD `tau` on
the analysis scale (SMD; MD in the outcome's unit; log RR, log OR, log IRR), then for each study a
true effect `theta_i ~ N(theta, tau^2)` and the study's data: individual participants' values
(normal, SD `sigma`) for continuous outcomes, binomial events for RR/OR, Poisson events over
person-time for IRR. A row reports what a paper would print about that sample, in one of the
forms the extraction sheets take (mean/SD, mean/SE, mean/CI, median/IQR, median/range, all five
numbers, a p-value with group sizes and direction, a t statistic, an effect with its CI or SE,
events/n, events/person-time, two subgroups, direction only), rounded as papers round. The
truth of every row (theta_i, whether the row can be pooled and why not) goes to truth.json.

Which form a row takes is drawn independently of its data (except that a p-value below 0.001,
which papers print as "<0.001" and which the default `p_value_bounds: exclude` would drop, is
reported as the t statistic instead), so no form selects on the result and the pooled estimates
are unbiased for `theta` up to the documented approximations of the conversions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metasr import measures
from metasr.simulate import vocab

# Share of synthetic outcomes per measure: the registry's `simulated` (measures the generator makes).
MEASURE_WEIGHTS = {m.id: m.simulated for m in measures.MEASURES.values() if m.simulated}
CONTINUOUS_FORMS = {  # form: weight (SMD outcomes; MD outcomes skip the test-statistic forms)
    "mean_sd": 0.33, "mean_se": 0.12, "mean_ci": 0.10, "median_iqr": 0.12, "median_range": 0.06,
    "median_iqr_range": 0.04, "p_value": 0.07, "t_stat": 0.03, "effect_ci": 0.04, "effect_se": 0.02,
    "mixed": 0.02, "subgroups": 0.03, "direction_only": 0.02,
}
BINARY_FORMS = {"events_n": 0.8, "effect_ci": 0.16, "direction_only": 0.04}
RATE_FORMS = {"events_persontime": 0.84, "effect_ci": 0.12, "direction_only": 0.04}
# (outcome unit, another unit some papers use, factor: value in the other unit = value x factor)
UNITS = [("points", None, 1.0), ("points", None, 1.0), ("mm", "cm", 0.1), ("s", "min", 1 / 60),
         ("ml", "l", 1e-3), ("mg/dl", "g/l", 1e-2)]
NOT_USABLE = {"direction_only": "direction only: no numbers to pool"}


@dataclass
class Study:
    study_id: str
    label: str
    first_author: str
    year: int
    n_group1: int
    n_group2: int
    followup_years: float
    record_id: str
    report_wids: list[str]
    country: str
    design: str
    rob: dict = field(default_factory=dict)


@dataclass
class Outcome:
    oid: str
    label: str
    measure: str
    theta: float
    tau: float
    unit: str
    alt_unit: str | None
    alt_factor: float
    sigma: float = 1.0  # participant-level SD (continuous outcomes), in `unit`
    baseline: float = 0.0  # control mean / risk / rate
    higher_is: str = "worse"
    rows: list[dict] = field(default_factory=list)  # sheet rows
    truth: list[dict] = field(default_factory=list)  # one per sheet row group (study)


def pick(rng, weights: dict) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def make_outcome(rng, index: int) -> Outcome:
    measure = pick(rng, MEASURE_WEIGHTS)
    word = vocab.OUTCOME_WORDS[index % len(vocab.OUTCOME_WORDS)]
    heterogeneous = rng.random() < 0.7
    family = measures.get(measure).family
    if family == "two-group means":
        unit, alt, factor = UNITS[int(rng.integers(len(UNITS)))] if measure == "MD" else ("points", None, 1.0)
        sigma = float(np.round(rng.uniform(2, 25), 1))
        smd = float(rng.uniform(-0.8, 0.8))
        tau_smd = float(rng.uniform(0.05, 0.3)) if heterogeneous else 0.0
        theta, tau = (smd, tau_smd) if measure == "SMD" else (smd * sigma, tau_smd * sigma)
        baseline = float(np.round(rng.uniform(20, 80), 1))
    else:
        unit, alt, factor, sigma = ("participants with event" if family != "two-group rates"
                                    else "events per person-year", None, 1.0, 1.0)
        theta = float(rng.uniform(-0.5, 0.4)) if measure == "RR" else float(rng.uniform(-0.7, 0.7)) \
            if measure == "OR" else float(rng.uniform(-0.5, 0.5))
        tau = float(rng.uniform(0.05, 0.2)) if heterogeneous else 0.0
        baseline = float(rng.uniform(0.1, 0.3)) if family == "two-group tables" else float(rng.uniform(0.2, 1.0))
    return Outcome(oid=f"outcome_{index + 1:03d}", label=f"{word.capitalize()} (synthetic outcome {index + 1})",
                   measure=measure, theta=theta, tau=tau, unit=unit, alt_unit=alt, alt_factor=factor,
                   sigma=sigma, baseline=baseline, higher_is="worse" if rng.random() < 0.5 else "better")


# ---------------------------------------------------------------- rounding and formatting

def decimals_for(scale: float) -> int:
    return max(0, 2 - int(math.floor(math.log10(abs(scale))))) if scale else 2


def fmt(value: float, decimals: int) -> str:
    text = f"{float(value):.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


def fmt_p(p: float) -> str:
    return f"{p:.3g}" if p < 1 else "1"


def student_t(x1: np.ndarray, x2: np.ndarray) -> tuple[float, float, float]:
    """(t, two-sided p, SE of the difference) of Student's two-sample t test (pooled variance)."""
    from scipy import stats

    n1, n2 = len(x1), len(x2)
    sp2 = ((n1 - 1) * x1.var(ddof=1) + (n2 - 1) * x2.var(ddof=1)) / (n1 + n2 - 2)
    se = math.sqrt(sp2 * (1 / n1 + 1 / n2))
    t = (x1.mean() - x2.mean()) / se
    return float(t), float(2 * stats.t.sf(abs(t), n1 + n2 - 2)), se


def t_quantile(df: int) -> float:
    from scipy import stats
    return float(stats.t.ppf(0.975, df))


# ---------------------------------------------------------------- rows

def base_row(study: Study, outcome: Outcome, seed: int) -> dict:
    return {"study_id": study.study_id, "comparison": "intervention vs control", "timepoint": "end of treatment",
            "record_id": study.record_id,
            "source_location": f"synthetic (metasr simulate, seed {seed})",
            "derivation": "SYNTHETIC: simulated from known true effects (truth.json)",
            "notes": "synthetic data, not from a real study"}


def group_cells(form: str, g: int, x: np.ndarray, d: int) -> dict:
    """Cells of one group reported in a per-group continuous form."""
    n = len(x)
    cells = {f"n{g}": str(n)}
    mean, sd = x.mean(), x.std(ddof=1)
    if form == "mean_sd":
        cells.update({f"mean{g}": fmt(mean, d), f"sd{g}": fmt(sd, d)})
    elif form == "mean_se":
        cells.update({f"mean{g}": fmt(mean, d), f"se{g}": fmt(sd / math.sqrt(n), d + 1)})
    elif form == "mean_ci":
        half = t_quantile(n - 1) * sd / math.sqrt(n)
        cells.update({f"mean{g}": fmt(mean, d), f"ci_lb{g}": fmt(mean - half, d), f"ci_ub{g}": fmt(mean + half, d)})
    else:
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        cells[f"median{g}"] = fmt(med, d)
        if form in ("median_iqr", "median_iqr_range"):
            cells.update({f"q1_{g}": fmt(q1, d), f"q3_{g}": fmt(q3, d)})
        if form in ("median_range", "median_iqr_range"):
            cells.update({f"min{g}": fmt(x.min(), d), f"max{g}": fmt(x.max(), d)})
    return cells


def continuous_rows(rng, outcome: Outcome, study: Study, n1: int, n2: int, theta_i: float,
                    seed: int) -> tuple[list[dict], str]:
    measure = outcome.measure
    shift = theta_i * outcome.sigma if measure == "SMD" else theta_i
    forms = dict(CONTINUOUS_FORMS)
    if measure == "MD":
        for name in ("p_value", "t_stat"):
            forms.pop(name)
    form = pick(rng, forms)
    x2 = rng.normal(outcome.baseline, outcome.sigma, n2)
    x1 = rng.normal(outcome.baseline + shift, outcome.sigma, n1)
    unit, factor = outcome.unit, 1.0
    if outcome.alt_unit and rng.random() < 0.15 and form not in ("p_value", "t_stat"):
        unit, factor = outcome.alt_unit, outcome.alt_factor
        x1, x2 = x1 * factor, x2 * factor
    d = decimals_for(outcome.sigma * factor)
    row = base_row(study, outcome, seed)
    row["unit"] = unit
    t, p, se_diff = student_t(x1, x2)
    if form == "p_value" and p < 0.001:
        form = "t_stat"  # papers print "<0.001": report the t statistic instead (see module docstring)
    if form in ("mean_sd", "mean_se", "mean_ci", "median_iqr", "median_range", "median_iqr_range"):
        row["reported_form"] = form
        row.update(group_cells(form, 1, x1, d))
        row.update(group_cells(form, 2, x2, d))
    elif form == "mixed":
        row.update(reported_form="mean_sd", reported_form2="median_iqr")
        row.update(group_cells("mean_sd", 1, x1, d))
        row.update(group_cells("median_iqr", 2, x2, d))
    elif form == "subgroups":
        rows = []
        cut1 = min(max(2, n1 // 2 + int(rng.integers(-3, 4))), n1 - 2)
        cut2 = min(max(2, n2 // 2 + int(rng.integers(-3, 4))), n2 - 2)
        for label, s1, s2 in (("women", x1[:cut1], x2[:cut2]), ("men", x1[cut1:], x2[cut2:])):
            sub = dict(row, subgroup=label, reported_form="mean_sd")
            sub.update(group_cells("mean_sd", 1, s1, d + 1))
            sub.update(group_cells("mean_sd", 2, s2, d + 1))
            rows.append(sub)
        return rows, form
    elif form == "p_value":
        row.update(reported_form="p_value", p_value=fmt_p(p), n1=str(n1), n2=str(n2),
                   direction="group1_higher" if t > 0 else "group1_lower")
    elif form == "t_stat":
        row.update(reported_form="t_stat", t_stat=fmt(t, 2), n1=str(n1), n2=str(n2),
                   direction="group1_higher" if t > 0 else "group1_lower")
    elif form in ("effect_ci", "effect_se"):
        diff = x1.mean() - x2.mean()
        row.update(reported_form=form, effect=fmt(diff, d), effect_measure="MD", n1=str(n1), n2=str(n2))
        if form == "effect_ci":
            half = t_quantile(n1 + n2 - 2) * se_diff
            row.update(effect_ci_lb=fmt(diff - half, d), effect_ci_ub=fmt(diff + half, d))
        else:
            row["effect_se"] = fmt(se_diff, d + 1)
    else:
        row.update(reported_form="direction_only", direction="group1_higher" if t > 0 else "group1_lower")
    return [row], form


def binary_rows(rng, outcome: Outcome, study: Study, n1: int, n2: int, theta_i: float, seed: int):
    form = pick(rng, BINARY_FORMS)
    p2 = outcome.baseline
    if outcome.measure == "RR":
        p1 = p2 * math.exp(theta_i)
    else:
        logit = math.log(p2 / (1 - p2)) + theta_i
        p1 = 1 / (1 + math.exp(-logit))
    a, c = int(rng.binomial(n1, p1)), int(rng.binomial(n2, p2))
    row = base_row(study, outcome, seed)
    row["unit"] = outcome.unit
    if form == "effect_ci" and (a in (0, n1) or c in (0, n2)):
        form = "events_n"  # a zero cell has no ratio to print
    if form == "events_n":
        row.update(reported_form="events_n", n1=str(n1), events1=str(a), n2=str(n2), events2=str(c))
    elif form == "effect_ci":
        if outcome.measure == "RR":
            est, se = (a / n1) / (c / n2), math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
        else:
            est, se = (a * (n2 - c)) / (c * (n1 - a)), math.sqrt(1 / a + 1 / (n1 - a) + 1 / c + 1 / (n2 - c))
        row.update(reported_form="effect_ci", effect=fmt(est, 2), effect_measure=outcome.measure,
                   effect_ci_lb=fmt(est * math.exp(-1.959964 * se), 2),
                   effect_ci_ub=fmt(est * math.exp(1.959964 * se), 2), n1=str(n1), n2=str(n2))
    else:
        row.update(reported_form="direction_only", direction="group1_higher" if a / n1 > c / n2 else "group1_lower")
    return [row], form


def rate_rows(rng, outcome: Outcome, study: Study, n1: int, n2: int, theta_i: float, seed: int):
    form = pick(rng, RATE_FORMS)
    t1, t2 = round(n1 * study.followup_years, 1), round(n2 * study.followup_years, 1)
    rate2 = outcome.baseline
    x1, x2 = int(rng.poisson(rate2 * math.exp(theta_i) * t1)), int(rng.poisson(rate2 * t2))
    row = base_row(study, outcome, seed)
    row["unit"] = outcome.unit
    if form == "effect_ci" and (x1 == 0 or x2 == 0):
        form = "events_persontime"
    if form == "events_persontime":
        row.update(reported_form="events_persontime", events1=str(x1), time1=fmt(t1, 1), events2=str(x2),
                   time2=fmt(t2, 1))
    elif form == "effect_ci":
        est, se = (x1 / t1) / (x2 / t2), math.sqrt(1 / x1 + 1 / x2)
        row.update(reported_form="effect_ci", effect=fmt(est, 2), effect_measure="IRR",
                   effect_ci_lb=fmt(est * math.exp(-1.959964 * se), 2),
                   effect_ci_ub=fmt(est * math.exp(1.959964 * se), 2))
    else:
        row.update(reported_form="direction_only", direction="group1_higher" if x1 / t1 > x2 / t2 else "group1_lower")
    return [row], form


def simulate_outcome_rows(rng, outcome: Outcome, studies: list[Study], seed: int) -> None:
    """Fill outcome.rows (sheet rows) and outcome.truth (one entry per study)."""
    for study in studies:
        theta_i = float(outcome.theta + outcome.tau * rng.standard_normal())
        # Participants lost to follow-up for this outcome (0-12 %).
        n1 = max(3, study.n_group1 - int(rng.binomial(study.n_group1, rng.uniform(0, 0.12))))
        n2 = max(3, study.n_group2 - int(rng.binomial(study.n_group2, rng.uniform(0, 0.12))))
        family = measures.get(outcome.measure).family
        if family == "two-group means":
            rows, form = continuous_rows(rng, outcome, study, n1, n2, theta_i, seed)
        elif family == "two-group tables":
            rows, form = binary_rows(rng, outcome, study, n1, n2, theta_i, seed)
        else:
            rows, form = rate_rows(rng, outcome, study, n1, n2, theta_i, seed)
        outcome.rows.extend(rows)
        reason = NOT_USABLE.get(form, "")
        outcome.truth.append({"study_id": study.study_id, "theta_i": theta_i, "n1": n1, "n2": n2,
                              "form": form, "unit": rows[0].get("unit", ""), "usable": not reason,
                              "not_usable_reason": reason})
