"""The published formulas that turn reported statistics into what a meta-analysis needs.

Every function is pure and returns numbers; the caller records which formula was used
(`metasr.extraction.effects` writes method, inputs and result on each row).

References
- Luo D, Wan X, Liu J, Tong T (2018). Optimally estimating the sample mean from the sample size,
  median, mid-range, and/or mid-quartile range. Stat Methods Med Res 27(6):1785-1805.
  Scenario S1 (min, median, max): w = 4 / (4 + n^0.75), mean = w (a + b)/2 + (1 - w) m.
  S2 (q1, median, q3): mean = (0.7 + 0.39/n)(q1 + q3)/2 + (0.3 - 0.39/n) m.
  S3 (all five): w1 = 2.2 / (2.2 + n^0.75), w2 = 0.7 - 0.72 / n^0.55,
  mean = w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m.
- Wan X, Wang W, Liu J, Tong T (2014). Estimating the sample mean and standard deviation from the
  sample size, median, range and/or interquartile range. BMC Med Res Methodol 14:135.
  S1: SD = (b - a) / xi(n), xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25));
  S2: SD = (q3 - q1) / eta(n), eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25)).
- Shi J, Luo D, Weng H, et al. (2020). Optimally estimating the sample standard deviation from the
  five-number summary. Res Synth Methods 11(5):641-654.
  S3: SD = w (b - a)/xi(n) + (1 - w)(q3 - q1)/eta(n), w = 1 / (1 + 0.07 n^0.6).
- Hozo SP, Djulbegovic B, Hozo I (2005). Estimating the mean and variance from the median, range,
  and the size of a sample. BMC Med Res Methodol 5:13.
  mean = (a + 2m + b)/4 for n <= 25, the median itself for larger n;
  SD = sqrt(((a - 2m + b)^2 / 4 + (b - a)^2) / 12) for n <= 15, range/4 for 15 < n <= 70,
  range/6 for n > 70.
- Higgins JPT et al. (eds). Cochrane Handbook for Systematic Reviews of Interventions v6.4,
  section 6.5.2.2 (SD from SE and from a CI of a group mean; t quantile for groups < 60),
  6.5.2.3 (t from a p value, SE of a difference), Table 6.5.a (combining two groups); 6.3.1 and 6.3.2
  (SE of an effect from its CI or p: differences, ratios on the log scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from metasr.extraction.conversion_kinds import MEDIAN
from metasr.stats.distributions import norm_isf, norm_ppf, t_isf, t_ppf

# Groups smaller than this are assumed to have a CI computed with a t quantile (Handbook 6.5.2.2).
SMALL_GROUP = 60


@dataclass(frozen=True)
class MeanSD:
    mean: float
    sd: float
    method: str  # the formulas, as conversion_kinds.MEDIAN writes them: "Luo 2018 (S1) mean; Wan 2014 (S1) SD"


# ---- median, quartiles, range -> mean and SD --------------------------------------------------

def luo_mean_range(a: float, m: float, b: float, n: int) -> float:
    """Luo et al. 2018, scenario S1 (minimum a, median m, maximum b)."""
    w = 4.0 / (4.0 + n ** 0.75)
    return w * (a + b) / 2.0 + (1.0 - w) * m


def luo_mean_iqr(q1: float, m: float, q3: float, n: int) -> float:
    """Luo et al. 2018, scenario S2 (quartiles q1, q3 and median m)."""
    return (0.7 + 0.39 / n) * (q1 + q3) / 2.0 + (0.3 - 0.39 / n) * m


def luo_mean_iqr_range(a: float, q1: float, m: float, q3: float, b: float, n: int) -> float:
    """Luo et al. 2018, scenario S3 (five-number summary)."""
    w1 = 2.2 / (2.2 + n ** 0.75)
    w2 = 0.7 - 0.72 / n ** 0.55
    return w1 * (a + b) / 2.0 + w2 * (q1 + q3) / 2.0 + (1.0 - w1 - w2) * m


def wan_xi(n: int) -> float:
    """Approximate expected range of n standard normal values (Wan et al. 2014)."""
    return float(2.0 * norm_ppf((n - 0.375) / (n + 0.25)))


def wan_eta(n: int) -> float:
    """Approximate expected interquartile range of n standard normal values (Wan et al. 2014)."""
    return float(2.0 * norm_ppf((0.75 * n - 0.125) / (n + 0.25)))


def wan_sd_range(a: float, b: float, n: int) -> float:
    """Wan et al. 2014, scenario S1."""
    return (b - a) / wan_xi(n)


def wan_sd_iqr(q1: float, q3: float, n: int) -> float:
    """Wan et al. 2014, scenario S2."""
    return (q3 - q1) / wan_eta(n)


def shi_sd_iqr_range(a: float, q1: float, q3: float, b: float, n: int) -> float:
    """Shi et al. 2020, scenario S3 (smoothly weighted range and IQR)."""
    w = 1.0 / (1.0 + 0.07 * n ** 0.6)
    return w * (b - a) / wan_xi(n) + (1.0 - w) * (q3 - q1) / wan_eta(n)


def hozo_mean(a: float, m: float, b: float, n: int) -> float:
    """Hozo et al. 2005: the range-based formula for small samples, the median itself above 25."""
    return (a + 2.0 * m + b) / 4.0 if n <= 25 else m


def hozo_sd(a: float, m: float, b: float, n: int) -> float:
    """Hozo et al. 2005: the small-sample formula up to 15, then range/4 up to 70, then range/6."""
    if n <= 15:
        return math.sqrt(((a - 2.0 * m + b) ** 2 / 4.0 + (b - a) ** 2) / 12.0)
    return (b - a) / 4.0 if n <= 70 else (b - a) / 6.0


def median_to_mean_sd(n: int, median: float, q1: float | None = None, q3: float | None = None,
                      minimum: float | None = None, maximum: float | None = None,
                      method: str = "luo_shi") -> MeanSD:
    """Estimate a group's mean and SD from its median with quartiles and/or range.

    method "luo_shi": Luo 2018 means; Wan 2014 SDs (range or IQR), Shi 2020 SD (both).
    method "hozo": Hozo 2005 for median and range. Hozo gives no IQR formula, so with quartiles only
    the Handbook's approximation (mean = median, SD = IQR / 1.35) is used, and with all five
    numbers the range-based Hozo estimates (the quartiles are then not used).
    """
    quartiles = (q1, q3) if q1 is not None and q3 is not None else None
    span = (minimum, maximum) if minimum is not None and maximum is not None else None
    if quartiles is None and span is None:
        raise ValueError("median needs quartiles or a range")
    if method not in ("hozo", "luo_shi"):
        raise ValueError(f"unknown median conversion {method!r}")
    if span is not None:
        low, high = span
        if method == "hozo":
            return MeanSD(hozo_mean(low, median, high, n), hozo_sd(low, median, high, n),
                          MEDIAN.text("hozo_range"))
        if quartiles is not None:
            lower, upper = quartiles
            return MeanSD(luo_mean_iqr_range(low, lower, median, upper, high, n),
                          shi_sd_iqr_range(low, lower, upper, high, n),
                          MEDIAN.text("luo_shi_both"))
        return MeanSD(luo_mean_range(low, median, high, n), wan_sd_range(low, high, n),
                      MEDIAN.text("luo_wan_range"))
    assert quartiles is not None  # no range: the quartiles were checked above
    lower, upper = quartiles
    if method == "hozo":
        return MeanSD(median, (upper - lower) / 1.35, MEDIAN.text("handbook_iqr"))
    return MeanSD(luo_mean_iqr(lower, median, upper, n), wan_sd_iqr(lower, upper, n),
                  MEDIAN.text("luo_wan_iqr"))


def median_asymmetry(median: float, low: float, high: float) -> float:
    """(low + high - 2 median) / (high - low): 0 for a symmetric summary, +-1 at the extremes.

    The quantity behind the skewness tests of Shi et al. (2023, Stat Methods Med Res 32:1338) for
    quartiles or range; we use it only to warn that a normal-theory conversion is doubtful.
    """
    return (low + high - 2.0 * median) / (high - low) if high > low else 0.0


# ---- SE and CI of a group mean -> SD ----------------------------------------------------------

def sd_from_se(se: float, n: int) -> float:
    """SD = SE * sqrt(n) (Handbook 6.5.2.2)."""
    return se * math.sqrt(n)


def ci_divisor(n: int, level: float = 0.95) -> float:
    """Width of a CI of a mean in SE units: 2 t(n-1) for groups under 60, else 2 z (3.92 at 95%)."""
    q = 1.0 - (1.0 - level) / 2.0
    if n < SMALL_GROUP:
        return float(2.0 * t_ppf(q, n - 1))
    return float(2.0 * norm_ppf(q))


def sd_from_ci(lower: float, upper: float, n: int, level: float = 0.95) -> float:
    """SD = sqrt(n) (upper - lower) / divisor (Handbook 6.5.2.2)."""
    return math.sqrt(n) * (upper - lower) / ci_divisor(n, level)


# ---- combining two subgroups into one group ----------------------------------------------------

def combine_groups(n1: int, m1: float, sd1: float, n2: int, m2: float, sd2: float) -> tuple[int, float, float]:
    """Sample size, mean and SD of the union of two groups (Handbook Table 6.5.a)."""
    n = n1 + n2
    mean = (n1 * m1 + n2 * m2) / n
    var = ((n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2 + n1 * n2 / n * (m1 ** 2 + m2 ** 2 - 2 * m1 * m2)) / (n - 1)
    return n, mean, math.sqrt(var)


# ---- test statistics ---------------------------------------------------------------------------

def t_from_p(p: float, n1: int, n2: int) -> float:
    """|t| of a two-sided two-sample t test with n1 + n2 - 2 df giving p (Handbook 6.5.2.3)."""
    return float(t_isf(p / 2.0, n1 + n2 - 2))


def z_from_p(p: float) -> float:
    """|z| giving a two-sided p."""
    return float(norm_isf(p / 2.0))


def effect_quantile(level: float = 0.95, df: int | None = None) -> float:
    """The two-sided `level` quantile of an effect's CI: t with `df` degrees of freedom, z without."""
    q = 1.0 - (1.0 - level) / 2.0
    return float(t_ppf(q, df) if df is not None else norm_ppf(q))


def se_from_effect_ci(effect_lb: float, effect_ub: float, ratio: bool, level: float = 0.95,
                      df: int | None = None) -> float:
    """SE of an effect (on the log scale for ratios) from its CI: width / (2 quantile), the
    quantile z (Handbook 6.3.1, 6.3.2), or t(df) for a difference in means (6.5.2.3: df = n1 + n2 - 2)."""
    width = math.log(effect_ub) - math.log(effect_lb) if ratio else effect_ub - effect_lb
    return width / (2.0 * effect_quantile(level, df))


def statistic_from_p(p: float, df: int | None = None) -> float:
    """|z| giving a two-sided p, or |t| with `df` degrees of freedom."""
    return float(t_isf(p / 2.0, df)) if df is not None else z_from_p(p)


def se_from_effect_p(effect: float, p: float, ratio: bool, df: int | None = None) -> float:
    """SE of an effect from its exact two-sided p: |estimate| / z (Handbook 6.3.1 for differences,
    6.3.2 for ratios, on the log scale), or |estimate| / t(df) for a difference in means (6.5.2.3)."""
    estimate = math.log(effect) if ratio else effect
    return abs(estimate) / statistic_from_p(p, df)
