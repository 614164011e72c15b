"""Risk-of-bias tools: their domains, the judgements each allows, and each tool's overall rule.

One registry for the studies sheet (`rob_tool` and the `rob_*` columns), its validation, the
risk-of-bias figures and GRADE. Light on purpose (no numpy): validation imports it at parse time.

The tools and where their rules come from:
- RoB 2 (Sterne et al., BMJ 2019;366:l4898; RoB 2 guidance, Table "Approach to the overall
  judgement"): low if every domain is low; high if any domain is high; otherwise some concerns.
  Reviewers may raise some concerns to high when several domains have some concerns "in a way
  that substantially lowers confidence in the result" (allowed here from two such domains).
- ROBINS-I version 2 (Sterne, Higgins et al., ROBINS-I V2, 2025, riskofbias.info; V1: BMJ
  2016;355:i4919): the overall judgement is the most severe domain judgement
  (low < low except for concerns about uncontrolled confounding < moderate < serious < critical).
  Its seven domains in V2's order; V1 assessments use the same columns (same domains).
- ROBINS-E (Higgins et al., Environ Int 2024;186:108602): the most severe domain judgement
  (low < low except confounding < some concerns < high < very high); high in several domains
  may be raised to very high (allowed here from two such domains).
- QUADAS-2 (Whiting et al., Ann Intern Med 2011;155:529-536): low when every risk-of-bias
  domain is low; "at risk of bias" when any is high or unclear: here high when any is high,
  unclear otherwise. Applicability concerns (three domains) are judged the same way, separately.
- Newcastle-Ottawa Scale (Wells et al., ohri.ca): stars per domain (selection up to 4, or 5 in
  the cross-sectional adaptation; comparability up to 2; outcome or exposure up to 3). The
  overall rule is AHRQ's conversion (as used by many reviews): good = 3+ selection, 1+
  comparability and 2+ outcome stars; fair = 2 selection, 1+ comparability, 2+ outcome; poor
  otherwise. Good, fair and poor are written low, some concerns and high (the words are accepted).
  Domain cells may also hold a judgement word instead of stars (then the worst domain rules).

"No information" is a judgement of ROBINS-I only (V1, Sterne et al. 2016; Cochrane Handbook ch. 25):
when a domain has no information and none is serious or critical, the overall is "no information".
The other tools have no such judgement: in RoB 2 and ROBINS-E "no information" answers a signalling
question, and the tool's algorithm turns it into low, some concerns or high (Cochrane Handbook ch. 8);
QUADAS-2 writes missing information as "unclear"; NOS counts stars. Each tool's words live in its
Tool record (levels, domain levels, no_information), read by validation, figures and GRADE alike.
An overall judgement given in the sheet must agree with the tool's rule (or be an allowed raise);
with domains left blank it must be at least as severe as the worst domain filled in, and when the
filled domains already fix it (a domain at the tool's most severe level) an empty overall is derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NO_INFORMATION = "no information"
# Every judgement word: (colour, symbol, concern) with robvis's colours. Concern is what GRADE
# reads: 0 no concern, 1 some, 2 serious, 3 very serious (ROBINS critical / very high).
JUDGEMENTS = {
    "low": ("#02C100", "+", 0),
    "low except confounding": ("#8ED16C", "+", 0),
    "some concerns": ("#E2DF07", "−", 1),
    "moderate": ("#E2DF07", "−", 1),
    "unclear": ("#E2DF07", "?", 1),
    "high": ("#BF0000", "×", 2),
    "serious": ("#BF0000", "×", 2),
    "very high": ("#820000", "!", 3),
    "critical": ("#820000", "!", 3),
    NO_INFORMATION: ("#4EA1F7", "?", None),
    "": ("#DDDDDD", "", None),  # not assessed
}
ALIASES = {"good": "low", "fair": "some concerns", "poor": "high", "ni": NO_INFORMATION,
           "low (except for concerns about uncontrolled confounding)": "low except confounding"}
# The judgements a tool writes in words of its own (the NOS's AHRQ grades), for figure keys.
OWN_WORDS = {"NOS": {ALIASES[word]: word for word in ("good", "fair", "poor")}}


def said(tool_id: str, word: str) -> str:
    """A judgement in the tool's own words (the NOS's 'good' for 'low'), else as it is."""
    return OWN_WORDS.get(tool_id, {}).get(word, word)


def own_words(word: str, tool_ids) -> list[str]:
    """What the given tools that have words of their own call a judgement, for a key: ['NOS: good']."""
    return [f"{tool}: {OWN_WORDS[tool][word]}" for tool in sorted(tool_ids) if word in OWN_WORDS.get(tool, {})]


@dataclass(frozen=True)
class Domain:
    column: str
    name: str
    kind: str = "bias"  # "bias" or "applicability" (QUADAS-2)
    max_stars: int | None = None  # NOS: the domain's most stars
    levels: tuple[str, ...] | None = None  # when the domain allows fewer words than the tool


@dataclass(frozen=True)
class Tool:
    id: str  # as written in rob_tool
    name: str
    design: str  # the designs it assesses: randomised | non-randomised | diagnostic
    levels: tuple[str, ...]  # judgements from least to most severe
    domains: tuple[Domain, ...]
    source: str
    raise_from: dict = field(default_factory=dict)  # derived -> (allowed raise, domains needed)
    no_information: bool = False  # "no information" is one of the tool's judgements (ROBINS-I)
    hint: str = ""  # what to write instead of a word the tool does not allow

    def words(self, domain: Domain | None = None) -> tuple[str, ...]:
        """The judgements allowed for a domain (None: the overall), least severe first."""
        levels = (domain.levels if domain is not None and domain.levels else self.levels)
        return levels + ((NO_INFORMATION,) if self.no_information else ())

    @property
    def bias_domains(self) -> tuple[Domain, ...]:
        return tuple(d for d in self.domains if d.kind == "bias")

    def short(self, domain: Domain) -> str:
        same = [d for d in self.domains if d.kind == domain.kind]
        return ("A" if domain.kind == "applicability" else "D") + str(same.index(domain) + 1)


# Judgement levels of the non-randomised tools' domains (the first domain, confounding, has its own).
ROBINS_I_LEVELS = ("low", "moderate", "serious", "critical")
ROBINS_E_LEVELS = ("low", "some concerns", "high", "very high")
ROBINS_D1 = ("low", "low except confounding", "moderate", "serious", "critical")
TOOLS: dict[str, Tool] = {t.id: t for t in (
    Tool("RoB2", "RoB 2", "randomised", ("low", "some concerns", "high"), (
        Domain("rob_randomisation", "Randomisation process"),
        Domain("rob_deviations", "Deviations from intended interventions"),
        Domain("rob_missing", "Missing outcome data"),
        Domain("rob_measurement", "Measurement of the outcome"),
        Domain("rob_reporting", "Selection of the reported result"),
    ), "Sterne et al. BMJ 2019;366:l4898", {"some concerns": ("high", 2)},
         hint="'no information' answers a signalling question, not a domain: RoB 2's algorithm turns the "
              "answers into low, some concerns or high (Cochrane Handbook ch. 8)"),
    Tool("ROBINS-I", "ROBINS-I V2", "non-randomised", ROBINS_D1, (
        Domain("rob_confounding", "Confounding"),
        Domain("rob_classification", "Classification of interventions",
               levels=ROBINS_I_LEVELS),
        Domain("rob_selection", "Selection of participants into the study (or analysis)",
               levels=ROBINS_I_LEVELS),
        Domain("rob_deviations", "Deviations from intended interventions",
               levels=ROBINS_I_LEVELS),
        Domain("rob_missing", "Missing data", levels=ROBINS_I_LEVELS),
        Domain("rob_measurement", "Measurement of the outcome",
               levels=ROBINS_I_LEVELS),
        Domain("rob_reporting", "Selection of the reported result",
               levels=ROBINS_I_LEVELS),
    ), "Sterne, Higgins et al. 2025, riskofbias.info; version 1: Sterne et al. BMJ 2016;355:i4919",
        no_information=True),
    Tool("ROBINS-E", "ROBINS-E", "non-randomised",
         ("low", "low except confounding", "some concerns", "high", "very high"), (
        Domain("rob_confounding", "Confounding"),
        Domain("rob_exposure_measurement", "Measurement of the exposure",
               levels=ROBINS_E_LEVELS),
        Domain("rob_selection", "Selection of participants into the study (or analysis)",
               levels=ROBINS_E_LEVELS),
        Domain("rob_post_exposure", "Post-exposure interventions",
               levels=ROBINS_E_LEVELS),
        Domain("rob_missing", "Missing data", levels=ROBINS_E_LEVELS),
        Domain("rob_measurement", "Measurement of the outcome",
               levels=ROBINS_E_LEVELS),
        Domain("rob_reporting", "Selection of the reported result",
               levels=ROBINS_E_LEVELS),
    ), "Higgins et al. Environ Int 2024;186:108602", {"high": ("very high", 2)},
         hint="'no information' answers a signalling question, not a domain: ROBINS-E's algorithm turns the "
              "answers into a judgement"),
    Tool("QUADAS-2", "QUADAS-2", "diagnostic", ("low", "unclear", "high"), (
        Domain("rob_patient_selection", "Patient selection"),
        Domain("rob_index_test", "Index test(s)"),
        Domain("rob_reference_standard", "Reference standard"),
        Domain("rob_flow_timing", "Flow and timing"),
        Domain("rob_applicability_patient_selection", "Patient selection (applicability)",
               kind="applicability"),
        Domain("rob_applicability_index_test", "Index test (applicability)", kind="applicability"),
        Domain("rob_applicability_reference_standard", "Reference standard (applicability)",
               kind="applicability"),
    ), "Whiting et al. Ann Intern Med 2011;155:529-536",
         hint="QUADAS-2 judges a domain without enough information 'unclear'"),
    Tool("NOS", "Newcastle–Ottawa Scale", "non-randomised", ("low", "some concerns", "high"), (
        Domain("rob_selection", "Selection", max_stars=5),
        Domain("rob_comparability", "Comparability", max_stars=2),
        Domain("rob_outcome", "Outcome / exposure", max_stars=3),
    ), "Wells et al., ohri.ca; AHRQ good/fair/poor thresholds",
         hint="the Newcastle–Ottawa Scale awards no star for an item the study does not report"),
)}
OVERALL = "rob_overall"
# NOS stars at or above which a domain is of no concern (AHRQ), and the selection stars of "fair"
NOS_GOOD = {"rob_selection": 3, "rob_comparability": 1, "rob_outcome": 2}
NOS_FAIR_SELECTION = 2
DOMAIN_COLUMNS = tuple(dict.fromkeys(d.column for t in TOOLS.values() for d in t.domains))
ALL_COLUMNS = DOMAIN_COLUMNS + (OVERALL,)


def tool_for(text) -> Tool | None:
    """The tool a `rob_tool` cell names ('RoB 2', 'robins-i v2', 'QUADAS2' ...); None if empty
    or unknown."""
    key = "".join(ch for ch in str(text or "").upper() if ch.isalnum())
    if key.endswith("V2") and key.startswith("ROBINSI"):
        key = key[:-2]
    for tool in TOOLS.values():
        if "".join(ch for ch in tool.id.upper() if ch.isalnum()) == key:
            return tool
    return None


def word(value) -> str:
    """A judgement cell as its canonical word (lower case, single spaces, aliases resolved)."""
    text = " ".join(str(value if value is not None else "").strip().lower().split())
    return ALIASES.get(text, text)


def is_stars(value) -> bool:
    """A whole number, signed or not (a negative count is a star count to refuse, not a word),
    also as a spreadsheet writes it (3.0)."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool) or \
        (isinstance(value, str) and value.strip().removeprefix("-").isdigit())


def domain_value(tool: Tool, domain: Domain, raw):
    """(normalised value, problem text or None): stars as int (NOS), words as canonical words."""
    if domain.max_stars is not None and is_stars(raw):
        stars = int(raw) if isinstance(raw, float) else int(str(raw).strip())
        if stars < 0:
            return None, f"{domain.name} has 0 to {domain.max_stars} stars, not a negative number"
        if stars > domain.max_stars:
            return None, f"{domain.name} has at most {domain.max_stars} stars"
        return stars, None
    value = word(raw)
    allowed = tool.words(domain) + ("",)
    if value not in allowed:
        star_range = f"0 to {domain.max_stars} stars or " if domain.max_stars is not None else ""
        return None, f"{tool.name} judges {domain.name.lower()} as {star_range}" + \
            ", ".join(v for v in allowed if v) + " (or empty: not assessed)" + _hint(tool, value)
    return value, None


def _hint(tool: Tool, value: str) -> str:
    """The tool's advice for "no information", which only ROBINS-I allows as a judgement."""
    return f"; {tool.hint}" if value == NO_INFORMATION and tool.hint else ""


def domain_judgement(domain: Domain, value) -> str:
    """The judgement word a domain value stands for (NOS stars by AHRQ's domain thresholds)."""
    if not isinstance(value, int):
        return value or ""
    if value >= NOS_GOOD[domain.column]:
        return "low"
    if domain.column == "rob_selection" and value == NOS_FAIR_SELECTION:
        return "some concerns"
    return "high"


def _filled(tool: Tool, values: dict, kind: str) -> tuple[list[Domain], list[Domain]]:
    """(the tool's domains of this kind, those filled in)."""
    domains = [d for d in tool.domains if d.kind == kind]
    return domains, [d for d in domains if values.get(d.column) not in (None, "")]


def worst_filled(tool: Tool, values: dict, kind: str = "bias") -> str | None:
    """The most severe judgement among the domains filled in ("no information" aside); None when
    none is. Every tool's overall is at least this severe (RoB 2, QUADAS-2: any high is high;
    ROBINS: the most severe domain; NOS: AHRQ's poor when any domain falls short, see _nos_overall)."""
    _, filled = _filled(tool, values, kind)
    known = [w for w in (domain_judgement(d, values[d.column]) for d in filled) if w != NO_INFORMATION]
    return max(known, key=tool.levels.index) if known else None


def derive_overall(tool: Tool, values: dict, kind: str = "bias") -> str | None:
    """The tool's overall judgement from its domains' values; None when the domains filled in do
    not determine it. With domains left blank the overall is known only when a filled one is at the
    tool's most severe level (RoB 2: any high domain makes the result high)."""
    domains, filled = _filled(tool, values, kind)
    if not filled:
        return None
    if len(filled) < len(domains):
        worst = worst_filled(tool, values, kind)
        return worst if worst == tool.levels[-1] else None
    if tool.id == "NOS" and all(isinstance(values[d.column], int) for d in domains):
        return _nos_overall(values)
    words = [domain_judgement(d, values[d.column]) for d in domains]
    levels = tool.levels
    known = [w for w in words if w != NO_INFORMATION]
    worst = max(known, key=levels.index) if known else NO_INFORMATION
    concern = JUDGEMENTS[worst][2]  # None only for "no information", when nothing is known
    if NO_INFORMATION in words and (concern is None or concern < 2):
        return NO_INFORMATION
    return worst


def _nos_overall(stars: dict) -> str:
    selection, comparability, outcome = (stars[c] for c in NOS_GOOD)
    if comparability < 1 or outcome < 2 or selection < NOS_FAIR_SELECTION:
        return "high"
    return "low" if selection >= NOS_GOOD["rob_selection"] else "some concerns"


def allowed_overall(tool: Tool, values: dict) -> set[str] | None:
    """The overall judgements the tool's rule allows for these domains (None: any, since no domain
    is judged). With domains left blank, any judgement at least as severe as the worst filled in
    (and ROBINS-I's "no information" while none is serious)."""
    derived = derive_overall(tool, values)
    if derived is None:
        floor = worst_filled(tool, values)
        if floor is None:
            return None
        allowed = set(tool.levels[tool.levels.index(floor):])
        concern = JUDGEMENTS[floor][2]
        return allowed | ({NO_INFORMATION} if tool.no_information and (concern or 0) < 2 else set())
    allowed = {derived}
    if derived in tool.raise_from:
        raised, needed = tool.raise_from[derived]
        words = [domain_judgement(d, values.get(d.column)) for d in tool.bias_domains]
        if sum(w == derived for w in words) >= needed:
            allowed.add(raised)
    return allowed


@dataclass
class StudyRob:
    """One study's assessment: values by column (stars as int), the overall judgement in use
    (the sheet's, else the tool's rule), and whether the overall was derived."""
    study_id: str
    label: str
    tool: Tool | None
    values: dict
    overall: str = ""
    derived: bool = False
    problems: list = field(default_factory=list)  # (column, value, message)

    @property
    def assessed(self) -> bool:
        return any(v not in (None, "") for v in self.values.values()) or bool(self.overall)

    def judgement(self, column: str) -> str:
        """The judgement word shown for a column (overall included)."""
        if column == OVERALL:
            return self.overall
        domain = next((d for d in (self.tool.domains if self.tool else ()) if d.column == column),
                      None)
        return domain_judgement(domain, self.values.get(column)) if domain else ""

    def applicability(self) -> str | None:
        return derive_overall(self.tool, self.values, "applicability") if self.tool else None


def assess(row: dict) -> StudyRob:
    """A studies-sheet row (text or typed cells) as a StudyRob, with every problem found."""
    label = str(row.get("label") or row.get("study_id") or "")
    raw_tool = row.get("rob_tool")
    tool = tool_for(raw_tool)
    study = StudyRob(str(row.get("study_id") or ""), label, tool, {})
    if tool is None and str(raw_tool or "").strip():
        study.problems.append(("rob_tool", raw_tool, "unknown risk-of-bias tool; use one of "
                                                     + ", ".join(TOOLS)))
    filled = [c for c in DOMAIN_COLUMNS if str(row.get(c) if row.get(c) is not None else "").strip()]
    if tool is None:
        for column in filled + [OVERALL]:
            value = row.get(column)
            if not is_stars(value) and word(value) not in JUDGEMENTS:
                study.problems.append((column, value, "unknown risk-of-bias judgement"))
        if filled or word(row.get(OVERALL)):
            if not str(raw_tool or "").strip():
                study.problems.append(("rob_tool", raw_tool, "judgements given without a tool; "
                                                             "set rob_tool to " + ", ".join(TOOLS)))
        return study
    own = {d.column for d in tool.domains}
    for column in filled:
        if column not in own:
            study.problems.append((column, row.get(column), f"not a domain of {tool.name} "
                                   f"(its columns: {', '.join(d.column for d in tool.domains)})"))
    for domain in tool.domains:
        value, problem = domain_value(tool, domain, row.get(domain.column))
        if problem:
            study.problems.append((domain.column, row.get(domain.column), problem))
        study.values[domain.column] = value if value is not None else ""
    _overall(study, tool, row.get(OVERALL))
    return study


def _overall(study: StudyRob, tool: Tool, raw) -> None:
    given = word(raw)
    if given and given not in tool.words():
        study.problems.append((OVERALL, raw, f"{tool.name} judges the overall risk of bias as "
                                             + ", ".join(said(tool.id, w) for w in tool.words()) + _hint(tool, given)))
        given = ""
    derived = derive_overall(tool, study.values)
    allowed = allowed_overall(tool, study.values)  # None when no domain is judged
    if given and allowed is not None and given not in allowed:
        study.problems.append((OVERALL, raw, _contradiction(tool, study.values, derived, allowed)))
    if given:
        study.overall = given
    elif derived is not None:
        study.overall, study.derived = derived, True


def _contradiction(tool: Tool, values: dict, derived: str | None, allowed: set[str]) -> str:
    """Why an overall given in the sheet contradicts the tool's rule."""
    if derived is None:  # domains left blank: only the worst one filled in bounds the overall
        return f"{tool.name}'s overall is at least as severe as its worst domain " \
               f"('{said(tool.id, worst_filled(tool, values) or '')}'): write " + \
               " or ".join(said(tool.id, w) for w in tool.words() if w in allowed)
    return f"{tool.name}'s rule gives '{' or '.join(sorted(said(tool.id, w) for w in allowed))}' for these domains"


def tools_used(rows: list[dict]) -> list[Tool]:
    """The tools (in TOOLS' order) that assessed at least one of these studies-sheet rows."""
    used = {study.tool.id for study in map(assess, rows) if study.tool and study.assessed}
    return [tool for tool in TOOLS.values() if tool.id in used]


def study_value(row: dict, column: str):
    """A studies-sheet cell as the analyses read it: `rob_overall` is the overall in use (the
    sheet's, else the tool's rule from the domains: `assess`), the one the traffic light, GRADE and
    a subgroup analysis by rob_overall all show; any other column as written."""
    return assess(row).overall if column == OVERALL else row.get(column)


def row_problems(row: dict, file: str, row_number: int) -> list:
    """The risk-of-bias problems of one studies-sheet row, as metasr Problems."""
    from metasr.errors import Problem

    return [Problem(message=message, file=file, row=row_number, column=column,
                    value=None if value is None else str(value), rule="risk-of-bias",
                    hint="each tool's domains and judgements: docs/formats.md, section 'Risk-of-bias tools' "
                         "(`metasr docs formats`)")
            for column, value, message in assess(row).problems]


# The concern level from which a study counts as at high risk of bias (high, serious, critical,
# very high, NOS poor): the studies a sensitivity analysis leaves out (metasr.stats.rob_sensitivity).
HIGH_CONCERN = 2


def concern(judgement: str) -> int | None:
    """GRADE's reading of a judgement: 0 none, 1 some, 2 serious, 3 very serious; None unknown."""
    return JUDGEMENTS.get(word(judgement), (None, None, None))[2]
