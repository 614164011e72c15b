"""The conversions extraction records in an effect row's `conversion` cell, one registry for the
writers and the readers.

Each kind says how extraction writes its text (`Kind.text`, from the kind's templates), how a
text is recognised (`kind_of`, the only parser: full matches of the same templates, so that a
text written through a kind is always read back as that kind), the sentence a methods section
says it with (metasr.report.methods) and what the † beside a forest row then stands for (its
`Mark`, metasr.figures.forest_rows). A `conversion` cell holds the parts of one row joined by
"; " ("Luo 2018 (S1) mean; Wan 2014 (S1) SD; flipped"), or "none" (taken as reported), or ""
(a reported effect with its SE, or a row that cannot be pooled). A part no kind recognises (a
text written by hand, or by an older version) is never dropped: the readers name it as written
and mark it as derived.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import cached_property

# How the parts of one row's conversion are joined, and the parts that mean "taken as reported":
# blank, pandas' NaN, "none", or "none (...)" with a note (as a table given to `metasr pool` may say).
SEPARATOR = "; "
NOTHING = {"", "nan"}
AS_REPORTED = "none"


@dataclass(frozen=True)
class Mark:
    """What the † beside a forest row stands for; several kinds share one."""

    id: str
    footnote: str  # the forest's footnote wording (the marks used are joined with "; or ")


DERIVED = Mark("derived", "effect or its standard error derived from the reported form (e.g. median and range, CI, "
                          "t statistic or P value)")
FLIPPED_MARK = Mark("flipped", "reversed in direction (the outcome's flip)")
ASSUMED_R_MARK = Mark("assumed r", "computed with the outcome's assumed correlation between the two measurements")
SPLIT_MARK = Mark("split", "with a shared group's participants split between its comparisons (Handbook 23.3.4)")
# In the order a footnote names them.
MARKS = (DERIVED, FLIPPED_MARK, ASSUMED_R_MARK, SPLIT_MARK)


# eq=False: a kind is one object, compared and hashed by identity.
@dataclass(frozen=True, eq=False)
class Kind:
    """One conversion: its texts (str.format templates by name; a template may hold several parts,
    as a median's formula for the mean and one for the SD), the pattern of each template field,
    its methods sentence and its forest mark."""

    id: str
    texts: dict[str, str]
    sentence: str
    mark: Mark = DERIVED
    fields: dict[str, str] = field(default_factory=dict)  # template field -> the regular expression of its values
    from_p: bool = False  # derived from an exact two-sided p (a p bound used as if exact is counted apart)
    quoted: bool = False  # the methods sentence names the texts the rows used (the median formulas)

    def text(self, name: str | None = None, **values: object) -> str:
        """The text extraction writes: the template `name` (the kind's only one when None) filled
        with `values`, each checked against its field's pattern (a writer cannot write a text its
        readers would not recognise)."""
        template = self.texts[name] if name is not None else _only(self.texts)
        written = template.format(**values)
        if not all(self.recognises(part) for part in parts(written)):
            raise ValueError(f"conversion {self.id!r}: {written!r} does not match its own template {template!r}")
        return written

    def recognises(self, part: str) -> bool:
        """Whether one part of a `conversion` cell is this kind's."""
        return any(p.fullmatch(part) for p in self._patterns)

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_pattern(part, self.fields) for template in self.texts.values()
                     for part in template.split(SEPARATOR))


def _only(texts: dict[str, str]) -> str:
    if len(texts) != 1:
        raise ValueError(f"name one of the templates {sorted(texts)}")
    return next(iter(texts.values()))


def _pattern(template: str, fields: dict[str, str]) -> re.Pattern[str]:
    """A template's text as a regular expression: its words literal, each field its own pattern."""
    regex = ""
    for literal, name, _, _ in string.Formatter().parse(template):
        regex += re.escape(literal)
        if name is not None:
            regex += f"(?:{fields[name]})"
    return re.compile(regex)


def _one(kind_id: str, text: str, sentence: str, **options) -> Kind:
    return Kind(kind_id, {"": text}, sentence, **options)


# ---- the kinds --------------------------------------------------------------------------------

# metasr.extraction.conversions.median_to_mean_sd: the published formulas, by the texts rows name them with.
MEDIAN = Kind("median", {
    "luo_wan_range": "Luo 2018 (S1) mean; Wan 2014 (S1) SD",
    "luo_wan_iqr": "Luo 2018 (S2) mean; Wan 2014 (S2) SD",
    "luo_shi_both": "Luo 2018 (S3) mean; Shi 2020 (S3) SD",
    "hozo_range": "Hozo 2005 mean and SD (median, range)",
    "handbook_iqr": "Cochrane Handbook 6.5.2.5: mean = median, SD = IQR/1.35",
}, "medians with interquartile ranges or ranges were converted to means and SDs", quoted=True)
SD_FROM_SE = _one("sd_from_se", "SD from SE (Handbook 6.5.2.2)",
                  "SDs were derived from standard errors (Cochrane Handbook 6.5.2.2)")
SD_FROM_CI = Kind("sd_from_ci", {"": "SD from 95% CI using {quantile} (Handbook 6.5.2.2)"},
                  "SDs were derived from 95% confidence intervals of group means (Cochrane Handbook 6.5.2.2)",
                  fields={"quantile": "t|z"})
MD_FROM_MEANS = _one("md_from_means", "MD from group means", "mean differences were computed from group means and SDs")
SE_FROM_CI_LOG = _one("se_from_ci_log", "SE from 95% CI on the log scale via z (Handbook 6.3.2)",
                      "standard errors of reported ratios were derived from their 95% confidence intervals on the "
                      "log scale (Cochrane Handbook 6.3.2)")
SE_FROM_CI_T = _one("se_from_ci_t", "SE from 95% CI via t (Handbook 6.5.2.3)",
                    "standard errors of reported mean differences were derived from their 95% confidence intervals "
                    "with the t distribution on n1 + n2 - 2 degrees of freedom (Cochrane Handbook 6.5.2.3)")
SE_FROM_CI_Z = _one("se_from_ci_z", "SE from 95% CI via z (Handbook 6.3.1)",
                    "standard errors of reported effects were derived from their 95% confidence intervals "
                    "(Cochrane Handbook 6.3.1)")
SE_FROM_P_T = _one("se_from_p_t", "SE from two-sided p via t (Handbook 6.5.2.3)",
                   "standard errors of reported mean differences were derived from exact two-sided P values via the "
                   "t distribution on n1 + n2 - 2 degrees of freedom (Cochrane Handbook 6.5.2.3)", from_p=True)
SE_FROM_P_LOG = _one("se_from_p_log", "SE from two-sided p via z (Handbook 6.3.2)",
                     "standard errors of reported ratios were derived from exact two-sided P values via z on the log "
                     "scale (Cochrane Handbook 6.3.2)", from_p=True)
SE_FROM_P_Z = _one("se_from_p_z", "SE from two-sided p via z (Handbook 6.3.1)",
                   "standard errors of reported effects were derived from exact two-sided P values via z (Cochrane "
                   "Handbook 6.3.1)", from_p=True)
T_REPORTED = _one("t_reported", "t statistic as reported",
                  "standardised mean differences were computed from reported t statistics and group sizes")
T_FROM_P = _one("t_from_p", "t from two-sided p (Handbook 6.5.2.3)",
                "standardised mean differences were computed from exact two-sided P values through the t statistic "
                "with group sizes (Cochrane Handbook 6.5.2.3)", from_p=True)
T_FROM_DIFFERENCE = _one("t_from_difference", "t = difference / SE",
                         "reported mean differences with their standard errors were converted to t statistics, then "
                         "to standardised mean differences")
COMBINED_SUBGROUPS = Kind("combined_subgroups", {"means": "combined subgroups (Handbook Table 6.5.a)",
                                                 "sums": "combined subgroups (sums)"},
                          "subgroups reported separately were combined into one group (Cochrane Handbook Table 6.5.a)")
FLIPPED = _one("flipped", "flipped", "effects were reversed in direction where the outcome asks for it (flip)",
               mark=FLIPPED_MARK)
ASSUMED_R = _one("assumed_r", "assumed correlation between the measurements (Handbook 6.5.2.8)",
                 "the correlation between a paired study's two measurements was the outcome's assumed correlation "
                 "(assumed_correlation; Cochrane Handbook 6.5.2.8; each such row names the value)", mark=ASSUMED_R_MARK)
SHARED_SPLIT = Kind("shared_split", {"": "shared group {group} split between {parts} comparisons (Handbook 23.3.4)"},
                    "the participants of a group shared by several comparisons were split evenly between them "
                    "(Cochrane Handbook 23.3.4)", mark=SPLIT_MARK, fields={"group": "[12]", "parts": "[1-9][0-9]*"})

KINDS = (MEDIAN, SD_FROM_SE, SD_FROM_CI, MD_FROM_MEANS, SE_FROM_CI_LOG, SE_FROM_CI_T, SE_FROM_CI_Z, SE_FROM_P_T,
         SE_FROM_P_LOG, SE_FROM_P_Z, T_REPORTED, T_FROM_P, T_FROM_DIFFERENCE, COMBINED_SUBGROUPS, FLIPPED, ASSUMED_R,
         SHARED_SPLIT)


# ---- writing ----------------------------------------------------------------------------------

def se_from_ci(ratio: bool, t: bool) -> str:
    """An effect's SE from its 95% CI: a ratio's on the log scale (z), a difference in means with
    both group sizes through t(n1 + n2 - 2), any other effect through z."""
    return (SE_FROM_CI_LOG if ratio else SE_FROM_CI_T if t else SE_FROM_CI_Z).text()


def se_from_p(ratio: bool, t: bool) -> str:
    """An effect's SE from its exact two-sided p, by the same rule as se_from_ci."""
    return (SE_FROM_P_LOG if ratio else SE_FROM_P_T if t else SE_FROM_P_Z).text()


def added(conversion: str, text: str) -> str:
    """A row's conversion with one more part (a row taken as reported, "none", has none before)."""
    return f"{conversion}{SEPARATOR}{text}" if parts(conversion) else text


# A p reported only as a bound (p < 0.001) and used as if exact, as `conversion_detail` says it
# (the methods paragraph counts these rows apart from exact p-values, by these words).
P_BOUND_WORDS = "used as if exact"
P_BOUND_DETAIL = "p bound {p} " + P_BOUND_WORDS + " (conservative; extraction.p_value_bounds = as_exact)"


def p_bound_detail(p: object) -> str:
    return P_BOUND_DETAIL.format(p=p)


# ---- reading ----------------------------------------------------------------------------------

def parts(conversion: object) -> list[str]:
    """The conversions of a `conversion` cell, one per part (a part taken as reported is none)."""
    return [p.strip() for p in str(conversion or "").split(";") if not _as_reported(p.strip().lower())]


def _as_reported(part: str) -> bool:
    # any part that starts with "none", as the forest's † has always taken it
    return part in NOTHING or part.startswith(AS_REPORTED)


def kind_of(part: str) -> Kind | None:
    """The kind whose text one part is; None for a text no kind writes."""
    return next((kind for kind in KINDS if kind.recognises(part)), None)


def mark_of(part: str) -> Mark:
    """What the † for this part stands for: its kind's, or 'derived' for a text no kind writes."""
    kind = kind_of(part)
    return kind.mark if kind is not None else DERIVED


def has(conversion: object, kind: Kind) -> bool:
    """Whether a row's conversion holds a part of this kind."""
    return any(kind.recognises(part) for part in parts(conversion))


def used_p_bound(detail: object) -> bool:
    """Whether a row's `conversion_detail` says a p bound was used as if exact."""
    return P_BOUND_WORDS in str(detail or "")
