"""Comparable keys from raw bibliographic fields.

Databases format the same record differently: case, punctuation, accents, HTML markup, MEDLINE
annotations ("[Erratum appears in …]", translated titles in brackets), author formats ("Wörmann,
Bernhard" / "Wormann B" / "B. Wörmann"), abbreviated journals, page ranges ("221-8" /
"221-228"), article numbers ("e0006219"). Every function here maps such variants to one key;
`RecordKeys` bundles the keys de-duplication compares, computed once per record.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.distance import OSA

_ANNOTATION = re.compile(r"\[(?:erratum|comment|see|retract|update|corrected|published|reprint|"
                         r"summary for patients|republished|expression of concern|article in|"
                         r"this article|originally)[^\]]*\]", re.IGNORECASE)
# Embase appends the language of a non-English article: "… atherosclerosis. [Japanese]".
_LANGUAGE_TAG = re.compile(r"\[(?:in )?(?:japanese|german|french|chinese|spanish|russian|italian|"
                           r"portuguese|polish|czech|hungarian|dutch|danish|swedish|norwegian|"
                           r"finnish|turkish|korean|hebrew|greek|persian|croatian|serbian|"
                           r"slovak|slovenian|romanian|bulgarian|ukrainian|lithuanian|arabic)"
                           r"(?:\s*,\s*\w+)*\]", re.IGNORECASE)
_HTML = re.compile(r"</?[a-zA-Z][^>]{0,40}>")
_NON_WORD = re.compile(r"[\W_]+")  # after ascii_fold: Latin is ASCII, other scripts stay
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "μ": "mu",
          "ω": "omega", "τ": "tau", "ε": "epsilon", "λ": "lambda", "σ": "sigma", "θ": "theta"}
_LIGATURES = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ı": "i"}
# A notice's title, read on the folded title with its punctuation: 'Correction: <title>' and
# 'Correction to <title>' are notices, 'Correction of hyponatraemia …' is an article, and so
# are 'Retraction of the upper eyelid …' and 'Response to rituximab …' ('Response to: …',
# 'Response to "…"' and 'Response to the letter …' are replies).
_NOTICE = re.compile(r"""^\W*(?:
    (?:erratum|errata|corrigendum|corrigenda|addendum|expression\s+of\s+concern|
       notice\s+of\s+retraction|reply|in\s+reply|comment\s+on|commentary\s+on)\b
  | (?:author\s+|publisher\s+)?corrections?\b(?=\s*(?:$|[:.(\[–—-]|to\b|notice\b))
  | retraction\b(?=\s*(?:$|[:.(\[–—-]|notice\b|to\b|statement\b|of\s*[:"“‘']))
  | response\b(?=\s*(?:$|[:.–—-]|from\b|to\s*[:"“‘'«]|to\s+(?:the\s+|a\s+)?(?:letters?|comments?|
       commentary|correspondence|editor|editorial|reviewers?|critiques?|criticism|dr\b|authors?)\b)))
""", re.VERBOSE)
# 'RETRACTED: <title>' (Elsevier, WoS), 'RETRACTED ARTICLE: <title>' (Springer), 'WITHDRAWN:
# <title>' name the article itself, marked; but Hindawi titles its retraction notices
# 'Retracted: <title>' too. Such a title is read as a notice unless a record of the same DOI or
# PMID carries the plain title (`dedup.retracted_articles`). WoS marks the article with a note
# after the title instead: '<title> (Retracted article. See vol. 45, 2022)'.
_RETRACTED_LABEL = re.compile(r"^\W*(?:retracted|withdrawn)(?:\s+article)?\s*:\s*", re.IGNORECASE)
_RETRACTED_NOTE = re.compile(r"\(\s*(?:retracted|withdrawn)\s+(?:article|publication)\b[^)]*\)"
                             r"\W*$", re.IGNORECASE)
_CONFERENCE_TYPE = re.compile(r"conference|congress|meeting|abstract|proceeding|poster|symposium",
                              re.IGNORECASE)
# Embase names a meeting's abstracts "Circulation. Conference: American Heart Association…".
_MEETING_JOURNAL = re.compile(r"[.:]\s*conference\s*:", re.IGNORECASE)
_REGISTRY = re.compile(r"clinicaltrials\.gov|trial regist|isrctn|ictrp|anzctr|chictr|"
                       r"eudract|drks|ctri|trial registry record|registry", re.IGNORECASE)
_STOP_JOURNAL = {"the", "of", "and", "for", "in", "on", "de", "la", "le", "der", "und", "y", "a",
                 "an"}


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SPECIAL = re.compile("[" + "".join(_GREEK) + "".join(_LIGATURES) + "]")
_SPECIAL_MAP = {**_GREEK, **_LIGATURES}


def ascii_fold(text: str) -> str:
    """Lower case, accents dropped, Greek letters spelled, ligatures expanded. Other scripts
    (CJK, Cyrillic) are kept as they are."""
    text = text.lower()
    if text.isascii():
        return text
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()
    return _SPECIAL.sub(lambda m: _SPECIAL_MAP[m.group(0)], text)


@lru_cache(maxsize=131072)
def title_key(title: str) -> str:
    """'[Breast Cancer: basics].' / 'Breast cancer - Basics [Erratum appears in X]' → 'breast
    cancer basics'. A title wholly in brackets is MEDLINE's translated-title convention: keep
    the words, drop the brackets."""
    text = _HTML.sub(" ", title or "")
    text = _RETRACTED_NOTE.sub(" ", _RETRACTED_LABEL.sub(" ", text))  # the article's own title
    text = _LANGUAGE_TAG.sub(" ", _ANNOTATION.sub(" ", text))
    text = ascii_fold(text.replace("&", " and "))
    return _NON_WORD.sub(" ", text).strip()


def is_notice(title: str) -> bool:
    """Errata, corrections, retractions, replies: separate records that share the title of the
    article they are about. Read from the title as written: its punctuation tells
    'Correction: …' from 'Correction of …'. A title marked 'RETRACTED:' counts as one too (see
    `_RETRACTED_LABEL`)."""
    text = ascii_fold(_HTML.sub(" ", title or ""))
    return bool(_NOTICE.match(text) or _RETRACTED_LABEL.match(text))


def retracted_label(title: str) -> bool:
    """The title starts 'RETRACTED:' or 'WITHDRAWN:' (`_RETRACTED_LABEL`)."""
    return bool(_RETRACTED_LABEL.match(_HTML.sub(" ", title or "")))


_NUMBER_TOKEN = re.compile(r"\b(?:\d+|i{1,3}|iv|vi{0,3}|ix|x)\b")


def title_numbers(title_key_: str) -> tuple[str, ...]:
    """Numbers and roman numerals in a title key: 'part ii', '12 months', 'phase 3' name
    different works even when the rest of the title is the same."""
    return tuple(_NUMBER_TOKEN.findall(title_key_))


# Words whose presence or absence leaves a title's meaning: articles, prepositions, copulas.
# ('with', 'without', 'not', 'or' are not among them: they change what a study is about.)
_TITLE_STOP_WORDS = frozenset("a an the of in on at to for and by from as its their is are was "
                              "were be".split())
# Prefixes that invert or change a word while sharing most of its letters ('hypertension' /
# 'hypotension', 'microvascular' / 'macrovascular'): never a spelling variant.
# (Pairs that differ in the first letter, 'in' / 'ex', need no entry: see `word_variants`.)
_CONTRASTING_PREFIXES = (("hyper", "hypo"), ("inter", "intra"), ("micro", "macro"),
                         ("endo", "exo"), ("pre", "post"), ("sub", "supra"), ("sub", "super"),
                         ("homo", "hetero"), ("ante", "anti"), ("ab", "ad"))
# British and American spelling, Latin ligatures and INN spellings, applied to a word before
# comparing it with another: 'haemorrhage', 'oesophageal', 'tumour', 'randomised', 'centre',
# 'sulphate', 'alfa'.
_SPELLING = ((re.compile(r"ae|oe"), "e"), (re.compile(r"ph"), "f"), (re.compile(r"our"), "or"),
             (re.compile(r"([iy])s(e|ed|es|ing|ation|ations|er|ers)$"), r"\1z\2"),
             (re.compile(r"tre(s?)$"), r"ter\1"), (re.compile(r"mme$"), "m"))


def _spelling_key(word: str) -> str:
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    return word


def _contrasting(x: str, y: str) -> bool:
    return any((x.startswith(p) and y.startswith(q)) or (x.startswith(q) and y.startswith(p))
               for p, q in _CONTRASTING_PREFIXES)


def word_variants(x: str, y: str) -> bool:
    """Two spellings of one word: British / American or ligature variants ('haemorrhage' /
    'hemorrhage', 'centre' / 'center'), or a typo or plural (one letter, or two swapped, in a
    word of five letters or more, two in one of nine or more) that keeps the first letter. Numbers and
    contrasting prefixes ('hyper' / 'hypo', 'micro' / 'macro') are never variants, nor are
    whole-word swaps ('men' / 'women', 'increases' / 'decreases', 'beta' / 'gamma')."""
    if x == y:
        return True
    if any(c.isdigit() for c in x + y) or _contrasting(x, y):
        return False
    cx, cy = _spelling_key(x), _spelling_key(y)
    if cx == cy:
        return True
    if cx[:1] != cy[:1] or min(len(cx), len(cy)) < 5:
        return False
    allowed = 2 if min(len(cx), len(cy)) >= 9 else 1
    return OSA.distance(cx, cy, score_cutoff=allowed) <= allowed


def title_words_agree(a: str, b: str) -> bool:
    """Two title keys that differ only in form: spelling variants of the same words
    (`word_variants`), words written joined or apart ('meta analysis' / 'metaanalysis'), word
    order, and stop words. A content word swapped, added or dropped ('with' / 'without', 'in
    men' / 'in women', 'protocol for a …') makes them different titles, however alike the
    strings are."""
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    only_a, only_b = Counter(a.split()), Counter(b.split())
    only_a, only_b = only_a - only_b, only_b - only_a
    left = [w for w in only_a.elements() if w not in _TITLE_STOP_WORDS]
    right = [w for w in only_b.elements() if w not in _TITLE_STOP_WORDS]
    for word in list(left):
        match = next((other for other in right if word_variants(word, other)), None)
        if match is not None:
            left.remove(word)
            right.remove(match)
    for side, other in ((left, right), (right, left)):
        for word in list(side):
            # 'followup' / 'follow up' (the spaceless comparison above misses it when another
            # word differs too)
            pair = next(((x, y) for n, x in enumerate(other) for m, y in enumerate(other)
                         if n != m and word_variants(word, x + y)), None)
            if pair is not None:
                side.remove(word)
                other.remove(pair[0])
                other.remove(pair[1])
    return not left and not right


def _initials(token: str) -> bool:
    return len(token) <= 2 or (len(token) <= 3 and token.isupper())


@lru_cache(maxsize=131072)
def surname(name: str) -> str:
    """Best guess at a person's surname key from any export's author format: 'Wörmann,
    Bernhard', 'Wormann B', 'Lucas J.S.', 'J. S. Lucas', 'Martina Absinta'."""
    name = name.strip()
    if not name:
        return ""
    if "," in name:
        return _NON_WORD.sub("", ascii_fold(name.split(",", 1)[0]))
    tokens = [t for t in re.split(r"[\s.]+", name) if t]
    if len(tokens) > 1 and _initials(tokens[-1]):
        while len(tokens) > 1 and _initials(tokens[-1]):
            tokens.pop()
        return _NON_WORD.sub("", ascii_fold(" ".join(tokens)))
    return _NON_WORD.sub("", ascii_fold(tokens[-1]))


def _first_names(authors: str, limit: int) -> list[str]:
    # Split only as far as needed: consortium papers list hundreds of authors.
    names = (authors or "").split(";", limit)[:limit]
    if len(names) == 1 and " and " in names[0]:
        names = names[0].split(" and ", limit)[:limit]
    return [n for n in names if n.strip()]


def author_surnames(authors: str, limit: int = 5) -> list[str]:
    return [s for s in (surname(a) for a in _first_names(authors, limit)) if s]


def name_tokens(authors: str, limit: int = 5) -> frozenset[str]:
    """All word tokens of the first authors: a surname guessed wrongly is still among them."""
    words = _NON_WORD.split(ascii_fold(" ".join(_first_names(authors, limit))))
    return frozenset(w for w in words if len(w) >= 3)


@lru_cache(maxsize=65536)
def journal_key(journal: str) -> str:
    """'PLoS ONE [Electronic Resource]' → 'plos one'. Parallel titles ('Ai zheng = Aizheng =
    Chinese journal of cancer', as MEDLINE gives some journals) stay as alternatives joined by
    ' = ', each of which `journals_compatible` tries."""
    journal = _MEETING_JOURNAL.split(journal or "", 1)[0]  # the journal, not the meeting
    alternatives = (_journal_words(part) for part in journal.split("="))
    return PARALLEL.join(dict.fromkeys(a for a in alternatives if a))


PARALLEL = " = "


def _journal_words(journal: str) -> str:
    # "Pneumologie (Stuttgart, Germany)": catalogue notes in brackets are not the title.
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", journal)
    text = re.sub(r"['’]", "", text.replace("&", " and "))
    return " ".join(t for t in _NON_WORD.split(ascii_fold(text)) if t)


def journal_initial(key: str) -> str:
    """First letter of the first significant word ('the lancet' and 'lancet' → 'l'): blocks
    by journal must not split a journal whose name sometimes starts with 'The'."""
    tokens = journal_tokens(key.split(PARALLEL, 1)[0])
    return tokens[0][:1] if tokens else ""


def journal_tokens(key: str) -> list[str]:
    return [t for t in key.split() if t not in _STOP_JOURNAL]


@lru_cache(maxsize=262144)
def journals_compatible(a: str, b: str) -> bool:
    """Same journal under any of their parallel titles (see `journal_key`)."""
    if a == b:
        return True
    if PARALLEL in a or PARALLEL in b:
        return any(_journal_names_compatible(x, y) for x in a.split(PARALLEL)
                   for y in b.split(PARALLEL))
    return _journal_names_compatible(a, b)


def _journal_names_compatible(a: str, b: str) -> bool:
    """Same journal, one possibly abbreviated ('J Parenter Enteral Nutr' / 'Journal of
    parenteral and enteral nutrition'): every token of the shorter form is a prefix of a token
    of the longer form, in order. A leading acronym ('JPEN J Parenter…') may be unmatched."""
    if a == b:
        return True
    ta, tb = journal_tokens(a), journal_tokens(b)
    if not ta or not tb:
        return a.replace(" ", "") == b.replace(" ", "")
    if "".join(ta) == "".join(tb):
        return True
    short, long_ = (ta, tb) if len("".join(ta)) <= len("".join(tb)) else (tb, ta)
    # The first word may be skipped only when it is an acronym of the title ('JPEN' for Journal of
    # Parenteral and Enteral Nutrition), never a real word: 'Current Sleep Medicine' is not
    # 'Sleep Medicine Reports'.
    skip_first = len(short) >= 3 and _is_acronym_of(short[0], short[1:], long_)
    for tokens in (short, short[1:] if skip_first else []):
        # 'J Neurol' is not 'J Neurol Neurosurg Psychiatry': a short form may leave out at most
        # one word of the long one, unless it has three words or more (subtitles).
        if _prefix_subsequence(tokens, long_) and (len(long_) - len(tokens) <= 1
                                                   or len(tokens) >= 3):
            return True
    return False


def _is_acronym_of(token: str, *names: list[str]) -> bool:
    """True if `token` is the initials of one of `names` (whole name or its first words), allowing
    one extra letter from inside a compound word ('AJNR': American Journal of NeuroRadiology)."""
    if len(token) < 2 or not token.isalpha():
        return False
    for name in names:
        initials = "".join(word[0] for word in name if word)
        if len(initials) >= 2 and (initials.startswith(token) or
                                   (token.startswith(initials) and len(token) - len(initials) <= 1)):
            return True
    return False


def _abbreviates(token: str, word: str) -> bool:
    """'wochenschr' abbreviates 'wochenschrift' (a prefix); 'dtsch' abbreviates 'deutsche' and
    'natl' 'national' (ISO 4 contractions: the first letter, then letters in order)."""
    if word.startswith(token):
        return True
    if len(token) < 3 or token[0] != word[0] or len(token) >= len(word):
        return False
    rest = iter(word[1:])
    return all(letter in rest for letter in token[1:])


def _prefix_subsequence(short: list[str], long_: list[str]) -> bool:
    if not short:
        return False
    position = 0
    for token in short:
        while position < len(long_) and not _abbreviates(token, long_[position]):
            position += 1
        if position == len(long_):
            return False
        position += 1
    return True


_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
# A page: digits with a short letter prefix ('e0006219', 'S12', 'ii34' in Oxford supplements,
# 'CD006828') or a letter suffix ('12a'), or a roman numeral alone (front matter: 'xii').
_PAGE = r"(?:[a-z]{0,4}\d+[a-z]?|[ivxlc]+)"
_RANGE = re.compile(rf"\b({_PAGE})\b(?:\s*[-‐‑–—]\s*({_PAGE})\b)?")
_PAGE_COUNT = re.compile(r"^\s*\d+\s*(?:pp?|pages?)\b\.?\s*$", re.IGNORECASE)  # '12 pp.'
_ROMAN = re.compile(r"^(?=[ivxlc])(c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_VALUE = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


class PageRange(NamedTuple):
    """One page range: `start`, `end` (None for a single page or an article number) and
    whether the numbers are roman (front matter, never the same page as an arabic one)."""

    start: int
    end: int | None
    roman: bool = False

    @property
    def span(self) -> int:
        return 1 if self.end is None else self.end - self.start + 1

    def key(self) -> str:
        return f"r{self.start}" if self.roman else str(self.start)


def _roman(token: str) -> int | None:
    if not _ROMAN.match(token):
        return None
    values = [_ROMAN_VALUE[c] for c in token]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v
               for i, v in enumerate(values))


def _page_number(token: str) -> tuple[int, bool, str] | None:
    """(number, roman, digits as written) of one page token."""
    digits = re.search(r"\d+", token)
    if digits:
        # A page number has a few digits; thousands of them (a damaged export) are no page, and
        # Python refuses to read more than 4300 as an int.
        return (int(digits.group(0)), False, digits.group(0)) if len(digits.group(0)) <= 18 else None
    value = _roman(token)
    return (value, True, token) if value else None


def _range_of(start_token: str, end_token: str | None) -> PageRange | None:
    first = _page_number(start_token)
    if first is None:
        return None
    start, roman, _ = first
    last = _page_number(end_token) if end_token else None
    if last is None or last[1] != roman:
        return PageRange(start, None, roman)
    end, _, written = last
    if not roman and end < start and len(written) < len(str(start)):
        # Abbreviated end page, as MEDLINE writes it: '1324-7' → 1324-1327, '199-01' → 199-201.
        head = str(start)[: len(str(start)) - len(written)]
        end = int(head + written)
        if end < start:
            end += 10 ** len(written)
    if end <= start:
        return PageRange(start, None, roman)
    return PageRange(start, end, roman)


@lru_cache(maxsize=65536)
def page_ranges(pages: str) -> tuple[PageRange, ...]:
    """Every page range in a pages field, normalised as bibliographic tools read them:
    leading zeros dropped ('083-087'), abbreviated end pages expanded ('83-7' → 83-87),
    letter prefixes of article numbers and supplements dropped ('e0006219' → 6219,
    'S12-S15' → 12-15, Oxford's 'ii34-ii40' → 34-40), roman numerals read ('xii-xv').
    '233-8, 230-5' gives two ranges. Spreadsheet-mangled ranges ('13-May', '01-Sep') say
    nothing."""
    if not pages or _MONTH.search(pages) or _PAGE_COUNT.match(pages):
        return ()
    text = re.sub(r"\b(?:pp?|pages?)\b\.?", " ", pages.lower())
    ranges = []
    for part in re.split(r"[,;+&]|\band\b", text):
        # 'Suppl 2:S45', '28(3):83-87': the pages follow the last colon.
        match = _RANGE.search(part.rsplit(":", 1)[-1])
        found = _range_of(match.group(1), match.group(2)) if match else None
        if found is not None and found not in ranges:
            ranges.append(found)
    return tuple(ranges)


@lru_cache(maxsize=65536)
def start_pages(pages: str) -> frozenset[str]:
    """Start page of every range ('221-8' → {'221'}; '233-8, 230-5' → {'233', '230'};
    roman pages as 'r12')."""
    return frozenset(r.key() for r in page_ranges(pages))


def first_page(pages: str) -> str:
    starts = start_pages(pages)
    return min(starts, key=lambda p: (len(p), p)) if starts else ""


def ranges_overlap(a: PageRange, b: PageRange) -> bool:
    """Same start page, or two full ranges sharing at least half of the shorter one (two pages
    or more: consecutive articles may share their boundary page). Databases disagree by a
    page or two on where an article starts ('678-684' / '676-682')."""
    if a.roman != b.roman:
        return False
    if a.start == b.start:
        return True
    if a.end is None or b.end is None:
        return False
    shared = min(a.end, b.end) - max(a.start, b.start) + 1
    return shared >= max(2, (min(a.span, b.span) + 1) // 2)


def pages_compatible(a: tuple[PageRange, ...], b: tuple[PageRange, ...]) -> bool:
    return any(ranges_overlap(x, y) for x in a for y in b)


def same_range(a: tuple[PageRange, ...], b: tuple[PageRange, ...]) -> bool:
    """Both give one and the same full range (start and end page)."""
    return any(x == y and x.end is not None for x in a for y in b)


def number_key(value: str) -> str:
    """Volume '12', 'Vol. 12', '12 Suppl 3' → '12'. A fragment such as '1)' (the tail of
    '50 (Suppl. 1)' cut off by an export) is not a volume: ''."""
    if (value or "").count(")") > (value or "").count("("):
        return ""
    match = re.search(r"\d+", value or "")
    return match.group(0).lstrip("0") or "0" if match else ""


_NOTICE_TYPE = re.compile(r"erratum|corrigendum|correction|retraction of publication|"
                          r"retraction notice|expression of concern", re.IGNORECASE)


@lru_cache(maxsize=65536)
def _kind_from_metadata(publication_type: str, journal: str, database: str) -> str:
    if _NOTICE_TYPE.search(publication_type):
        return "notice"
    if _REGISTRY.search(publication_type) or _REGISTRY.search(journal) or \
            _REGISTRY.search(database):
        return "registration"
    # Only the publication type and Embase's "<journal>. Conference: <meeting>" say
    # "conference": journal names are no guide ("Proceedings of the National Academy of
    # Sciences" is a journal, "Proc Am Soc Clin Oncol" hides its "Proceedings").
    if _CONFERENCE_TYPE.search(publication_type) or _MEETING_JOURNAL.search(journal):
        return "conference"
    return ""


def record_kind(title: str, publication_type: str, journal: str, database: str) -> str:
    """'notice', 'registration', 'conference' or '' (article or unknown). ('Retracted
    Publication' is the article itself, not a notice.)"""
    if is_notice(title):
        return "notice"
    return metadata_kind(publication_type, journal, database)


def metadata_kind(publication_type: str, journal: str, database: str) -> str:
    """The kind of record by its publication type, journal and database alone."""
    return _kind_from_metadata(publication_type or "", journal or "", database or "")


# 'Suppl. 1', 'Supplement', 'Meeting Abstracts' (and Embase's 'Meeting Astracts'), 'S1'.
_SUPPLEMENT = re.compile(r"suppl|\bsup\b|meeting|abstr|astract|^\s*s\d+\s*$", re.IGNORECASE)


_MEETING_TITLE = re.compile(r"\b(?:abstracts|proceedings|meeting|congress)\b", re.IGNORECASE)


def supplement_number(row: dict) -> str:
    """'Suppl. 1' / 'SUPPL. 3' / 'S3' in the issue → '1' / '3'. Embase exports sometimes cut
    '61 (10 SUPPL. 1)' so that only the '1' reaches the volume field."""
    found = re.search(r"(?:suppl\w*\.?|^s)\s*(\d+)", row.get("issue", "") or "", re.IGNORECASE)
    return found.group(1).lstrip("0") if found else ""


def is_supplement(row: dict) -> bool:
    """Volume or issue names a supplement (or meeting abstracts), the pages are supplement
    pages ('S45'), or the title announces abstracts or proceedings: where journals print
    meeting abstracts."""
    return bool(_SUPPLEMENT.search(row.get("issue", "") or "") or
                _MEETING_TITLE.search(row.get("title", "") or "") or
                _SUPPLEMENT.search(row.get("volume", "") or "") or
                re.match(r"^\s*s\d", row.get("pages", "") or "", re.IGNORECASE))


@dataclass(frozen=True)
class RecordKeys:
    index: int
    title: str
    first_author: str
    surnames: tuple[str, ...]  # the first five authors' surnames, in order
    authors: frozenset[str]
    year: int | None
    journal: str
    volume: str
    supplement_number: str  # 'Suppl. 1' in the issue → '1'
    page: str  # the lowest start page, for blocking
    pages: frozenset[str]  # every start page
    ranges: tuple[PageRange, ...]  # every page range, for comparing
    paged: bool  # the pages field says something, even if not a range ('01-Sep', 'In press')
    doi: str
    pmid: str
    kind: str
    notice_title: bool
    supplement: bool
    retracted_label: bool = False  # 'RETRACTED: <title>': see `_RETRACTED_LABEL`


def keys_for_rows(rows: list[dict], start: int = 0) -> list[RecordKeys]:
    return [record_keys(start + i, row) for i, row in enumerate(rows)]


def record_keys(index: int, row: dict) -> RecordKeys:
    title = title_key(row.get("title", ""))
    surnames = author_surnames(row.get("authors", ""))
    year = row.get("year", "")
    pages = row.get("pages", "")
    return RecordKeys(
        index=index,
        title=title,
        first_author=surnames[0] if surnames else "",
        surnames=tuple(surnames),
        authors=name_tokens(row.get("authors", "")) | frozenset(surnames),
        year=int(year) if re.fullmatch(r"[0-9]{1,4}", str(year)) else None,
        journal=journal_key(row.get("journal", "")),
        volume=number_key(row.get("volume", "")),
        supplement_number=supplement_number(row),
        page=first_page(pages),
        pages=start_pages(pages),
        ranges=page_ranges(pages),
        paged=bool(pages.strip()),
        doi=row.get("doi", "") or "",
        pmid=row.get("pmid", "") or "",
        notice_title=is_notice(row.get("title", "")),
        kind=record_kind(row.get("title", ""), row.get("publication_type", ""),
                         row.get("journal", ""), row.get("database", "")),
        supplement=is_supplement(row),
        retracted_label=retracted_label(row.get("title", "")),
    )


def volumes_compatible(a: RecordKeys, b: RecordKeys) -> bool:
    """Same volume, or one record's volume is only the other's supplement number (a cut
    '61 (10 SUPPL. 1)')."""
    return (a.volume == b.volume or (a.volume and a.volume == b.supplement_number) or
            bool(b.volume and b.volume == a.supplement_number))
