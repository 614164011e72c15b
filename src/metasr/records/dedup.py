"""Find records that are the same bibliographic work, with an audit trail and reviewer overrides.

How records are linked
----------------------
1. Candidate pairs come from blocks of records sharing a key: DOI, PMID, the normalised title,
   its first and last 24 characters (truncated or re-prefixed titles), first author + year +
   first page, and volume + first page. A block larger than `MAX_BLOCK` is walked in sorted
   windows of `WINDOW` records, so the comparisons grow near-linearly with the records.
2. A pair with a *hard conflict* is not linked by the ordinary rules: different DOIs or PMIDs;
   one title a notice ('Erratum: …', 'Correction to …', 'Reply'; 'RETRACTED: <title>' is the
   article itself when a record of its DOI or PMID has the plain title) and the other not; different
   kinds of record (erratum, conference abstract, trial registration, article) by publication
   type or Embase's '<journal>. Conference: <meeting>' (a supplement item of unknown kind may
   be the abstract another database labels); and, unless the two share a DOI or PMID, years
   more than one apart, different volumes or page ranges that do not overlap (pages are read
   as ranges: '083-087' = '83-7'; see `normalise.page_ranges`). Only two conflicts can be
   outweighed, and only by evidence stated in the audit (`fields` lists `conflict=…`):
   `identifier_conflict`: DOIs (or PMIDs) differ, yet title (95 % alike, same numbers), the
   authors, year, journal, volume and page range all agree, both records are articles and
   the DOIs are not versions of one another ('….pub2'); `pagination_variant`: disjoint page
   ranges of equal length (three pages or more, no supplement) with the same title of six
   words or more, two or more of the same authors, year, journal and volume;
   `ahead_of_print`: an online-first record (no volume, but a DOI or pages, the year before)
   and its print record, same title of six words or more, two or more of the same authors,
   same journal. A reviewer's `distinct` override always blocks.
3. Otherwise the first rule that holds links the pair (the `rule` column of the audit; the
   `fields` column lists what agreed):
   `doi` / `pmid`: same identifier and titles at least 60 % alike (90 % for conference
   abstracts); `title`: same normalised title of four words or more, a compatible first
   author (diacritics and transliteration tolerated) and journal; `fuzzy_title`: titles at
   least 90 % alike, or one a truncation of the other, with the same numbers in them, a
   compatible first author and journal, and volume or first page agreeing unless the titles
   are 95 % alike and differ only in form (spelling variants, typos, stop words, word order;
   not 'men' / 'women', 'with' / 'without': `normalise.title_words_agree`), and for titles
   under four words the same page or the same volume and year;
   `citation`: same first author, year, journal, volume and first page with titles at least
   60 % alike (translated titles); `citation_range`: same year, journal, volume and full page
   range, no conflicting authors, and the words of the shorter title mostly in the longer
   (75 %: translated or abridged titles). Years one apart need a matching volume or page (or
   the online-first pattern), and a record without authors matches one with authors only on
   volume or page too.
4. Blocks are walked stage by stage, strongest key first (DOI, PMID, exact title, then the
   weaker keys), and a link is applied as soon as it is found; a pair already in one cluster is
   not compared again, which keeps large clusters cheap. Two clusters merge only if no pair
   across them has an identity conflict (DOI, PMID, notice; kinds compared per cluster), and,
   unless they share an identifier, their years, volumes and page ranges each have a
   compatible value where both know the field (a field the link itself accepted to differ
   excepted): a record that lacks a field cannot bridge two works that disagree on it.
   The issue number is never compared: some libraries store record ids in it.

Overrides (reviewer decisions)
------------------------------
A CSV with columns `record_a, record_b, decision` (extra columns such as `note` are ignored,
and so are rows whose decision is blank: `metasr records export` writes its cluster table in this
layout, for a reviewer to fill in and use as the overrides file).
Each of `record_a`/`record_b` names records by DOI (`10.…`, `doi:10.…` or a doi.org URL), PMID
(`pmid:123` or bare digits) or `record_id` (`{source}:{index}` as in records.csv); a DOI or PMID
names every record carrying it. `decision` is `same` (link them, whatever the rules say) or
`distinct` (never put them in one cluster). Overrides are applied before the rules; a
contradiction (the same records declared both) and identifiers that name no record are input
errors. The audit marks each link the reviewer made or blocked in its `override` column.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence, Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path

from rapidfuzz import fuzz

from metasr.errors import InputError, Problem
from metasr.io import read_csv
from metasr.records.normalise import (
    RecordKeys,
    journal_initial,
    journals_compatible,
    keys_for_rows,
    metadata_kind,
    pages_compatible,
    ranges_overlap,
    same_range,
    title_numbers,
    title_words_agree,
    volumes_compatible,
)

MAX_BLOCK = 40
WINDOW = 12
AUDIT_COLUMNS = ["record_id", "linked_to", "rule", "fields", "score", "override"]


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    rule: str
    fields: str
    score: float
    override: str = ""
    # Fields on which the two records disagree and the rule accepted it (`pagination_variant`:
    # pages): the cluster-level check does not ask the two clusters to agree on them either.
    tolerates: frozenset = frozenset()


# ---------------------------------------------------------------- candidate generation

STAGES = ("doi", "pmid", "title", "head", "tail", "author_page", "volume_page")


def blocking_keys(k: RecordKeys) -> list[tuple]:
    """(stage, key...) tuples; records sharing one are compared in that stage."""
    keys: list[tuple] = []
    if k.doi:
        keys.append(("doi", k.doi))
    if k.pmid:
        keys.append(("pmid", k.pmid))
    if len(k.title) >= 12:
        keys.append(("title", k.title))
        keys.append(("head", k.title[:24]))
        keys.append(("tail", k.title[-24:]))
    if k.first_author and k.page:
        keys.append(("author_page", k.first_author[:3], str(k.year), k.page))
    if k.volume and k.page and k.journal:
        keys.append(("volume_page", k.volume, k.page, journal_initial(k.journal)))
    return keys


def blocks_by_stage(keys: list[RecordKeys]) -> dict[str, list[list[int]]]:
    """Blocks of two or more records, per stage, in order of first appearance (deterministic:
    dicts keep insertion order, which follows the input order)."""
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for k in keys:
        for key in blocking_keys(k):
            blocks[key].append(k.index)
    stages: dict[str, list[list[int]]] = {stage: [] for stage in STAGES}
    for key, members in blocks.items():
        if len(members) > 1:
            stages[key[0]].append(members)
    return stages


def block_pairs(members: list[int], keys: list[RecordKeys], stage: str = ""):
    """Pairs to compare inside a block. A block larger than `MAX_BLOCK` (titles ending in 'a
    systematic review and meta-analysis', one author's many papers) is sorted by title (by
    reversed title for the `tail` stage, whose titles differ at the start) and each record is
    compared with its `WINDOW` predecessors only, so the cost stays near-linear."""
    if len(members) > MAX_BLOCK:
        if stage == "tail":
            members = sorted(members, key=lambda i: (keys[i].title[::-1], i))
        else:
            members = sorted(members, key=lambda i: (keys[i].title, i))
        for pos, j in enumerate(members):
            for i in members[max(0, pos - WINDOW): pos]:
                yield (i, j) if i < j else (j, i)
        return
    for pos, j in enumerate(members):
        for i in members[:pos]:
            yield i, j


def candidate_pairs(keys: list[RecordKeys]) -> set[tuple[int, int]]:
    """Every pair some block proposes (used to measure blocking; clustering walks the blocks
    stage by stage instead)."""
    return {pair for stage, blocks in blocks_by_stage(keys).items() for members in blocks
            for pair in block_pairs(members, keys, stage)}


# ---------------------------------------------------------------- pair comparison

def hard_conflicts(a: RecordKeys, b: RecordKeys) -> list[str]:
    """Reasons two records cannot be the same work, unless strong evidence says otherwise
    (`conflict_evidence`). A shared DOI or PMID outweighs volume, page and year disagreements
    (databases differ on print vs online volume and year, article numbers vs page counts), but
    not a different kind of record."""
    found = []
    if a.doi and b.doi and a.doi != b.doi:
        found.append("doi")
    if a.pmid and b.pmid and a.pmid != b.pmid:
        found.append("pmid")
    same_identifier = (a.doi and a.doi == b.doi) or (a.pmid and a.pmid == b.pmid)
    if a.notice_title != b.notice_title:
        found.append("notice")  # "Erratum: <title>" is never the article, whatever its DOI
    if kinds_conflict(a, b, bool(same_identifier)):
        found.append("kind")
    if same_identifier:
        return found
    if a.year is not None and b.year is not None and abs(a.year - b.year) > 1:
        found.append("year")
    if a.volume and b.volume and not volumes_compatible(a, b):
        found.append("volume")
    if a.ranges and b.ranges and not pages_compatible(a.ranges, b.ranges):
        found.append("pages")
    return found


def kinds_conflict(a: RecordKeys, b: RecordKeys, same_identifier: bool) -> bool:
    """Different kinds of record (erratum, meeting abstract, registration, article). One
    database calling an item an erratum and another a journal item is labelling, not two
    works, when they share a DOI or PMID; and a supplement item of unknown kind may be the
    meeting abstract another database labels as one."""
    if a.kind == b.kind:
        return False
    if a.kind and b.kind:
        return True
    unknown = a if not a.kind else b
    known = b if unknown is a else a
    if known.kind == "conference" and unknown.supplement:
        return False
    return not same_identifier


# ---------------------------------------------------------------- evidence against a conflict

def conflict_evidence(a: RecordKeys, b: RecordKeys, conflicts: list[str]) -> Link | None:
    """A link despite a conflict, when everything else agrees so closely that the conflict is
    two ways of writing one work: `identifier_conflict` (different DOIs or PMIDs: a journal
    whose DOI prefix changed, a record indexed twice) and `pagination_variant` (the same article
    under two paginations: print and online, or language editions). Every other conflict
    (kind of record, notice, year, volume) stays decisive."""
    if set(conflicts) <= {"doi", "pmid"}:
        return identifier_conflict(a, b, conflicts)
    if conflicts == ["pages"]:
        return pagination_variant(a, b) or online_first(a, b)
    return None


_DOI_VERSION = re.compile(r"(?:[./_-](?:pub|v|version|r)?\d{1,2}|[./-][a-z])$")


def doi_versions(x: str, y: str) -> bool:
    """Two DOIs of one family, which name different objects: versions ('…CD006828' and
    '…CD006828.pub2', F1000's '….1' and '….2'), parts and supplementary files ('….s001')."""
    if x.startswith(y) or y.startswith(x):
        return True
    return _DOI_VERSION.sub("", x) == _DOI_VERSION.sub("", y)


def author_lists_agree(a: RecordKeys, b: RecordKeys) -> int:
    """How many of the shorter list's first authors (up to five) are in the other list, when
    all of them are and the first authors match; 0 otherwise."""
    if not a.surnames or not b.surnames or not surnames_match(a.first_author, b.first_author):
        return 0
    short, long_ = (a, b) if len(a.surnames) <= len(b.surnames) else (b, a)
    for name in short.surnames:
        if not any(surnames_match(name, other) for other in long_.surnames) and \
                name not in long_.authors:
            return 0
    return len(short.surnames)


def citation_agrees(a: RecordKeys, b: RecordKeys) -> bool:
    """Same year, journal and volume, all given on both sides."""
    return (a.year is not None and a.year == b.year and bool(a.journal and b.journal)
            and journals_compatible(a.journal, b.journal) and bool(a.volume)
            and a.volume == b.volume)


def identifier_conflict(a: RecordKeys, b: RecordKeys, conflicts: list[str]) -> Link | None:
    """Different DOIs (or PMIDs), and yet the same title (four words or more, numbers
    included), the same authors, year, journal, volume and page range, all present on both
    records and of the same kind (never an erratum or abstract against an article). Versions
    and parts of one DOI family stay apart (a Cochrane review and its update)."""
    if "doi" in conflicts and doi_versions(a.doi, b.doi):
        return None
    if a.kind or b.kind or a.notice_title or b.notice_title:
        return None
    similarity, _ = title_similarity(a.title, b.title)
    if similarity < 95 or len(a.title.split()) < 4 or title_numbers(a.title) != title_numbers(
            b.title):
        return None
    if not author_lists_agree(a, b) or not citation_agrees(a, b):
        return None
    if not (a.ranges and b.ranges and _same_pages(a, b)):
        return None
    differs = [f"{name}:{getattr(a, name)}|{getattr(b, name)}" for name in conflicts]
    return Link(a.index, b.index, "identifier_conflict",
                ";".join(["title", "authors", "year", "journal", "volume", "pages",
                          *(f"conflict={d}" for d in differs)]), round(similarity, 1))


def _same_pages(a: RecordKeys, b: RecordKeys) -> bool:
    """Same start page, and the same end page where both give one."""
    return any(x.start == y.start and x.roman == y.roman and
               (x.end is None or y.end is None or x.end == y.end)
               for x in a.ranges for y in b.ranges)


def pagination_variant(a: RecordKeys, b: RecordKeys) -> Link | None:
    """Disjoint page ranges of equal length (three pages or more) in the same journal volume
    and year, with the same title of six words or more and the same two or more authors: one
    article printed under two paginations. Single pages and supplements are excluded, since
    that is how a meeting abstract or an erratum with the article's title looks."""
    if a.kind or b.kind or a.supplement or b.supplement or a.notice_title or b.notice_title:
        return None
    if a.title != b.title or len(a.title.split()) < 6 or author_lists_agree(a, b) < 2:
        return None
    if not citation_agrees(a, b) or len(a.ranges) != 1 or len(b.ranges) != 1:
        return None
    x, y = a.ranges[0], b.ranges[0]
    if x.end is None or y.end is None or x.span != y.span or x.span < 3:
        return None
    return Link(a.index, b.index, "pagination_variant",
                f"title;authors;year;journal;volume;page_count;conflict=pages:"
                f"{x.start}-{x.end}|{y.start}-{y.end}", 100.0, tolerates=frozenset({"pages"}))


def online_first(a: RecordKeys, b: RecordKeys) -> Link | None:
    """An online-first record whose own pagination ('1-10') differs from the print pages."""
    if not ahead_of_print(a, b):
        return None
    return Link(a.index, b.index, "ahead_of_print",
                "title;authors;journal;year+-1;conflict=pages", 100.0,
                tolerates=frozenset({"pages"}))


def ahead_of_print(a: RecordKeys, b: RecordKeys) -> bool:
    """An online-first record (no volume yet, but a DOI or online pagination, dated the year
    before) and its print record: the same title of six words or more, two or more of the
    same authors, the same journal. A meeting abstract the year before its article has
    neither volume nor pages nor DOI, or a supplement volume."""
    if a.year is None or b.year is None or abs(a.year - b.year) != 1:
        return False
    early, late = (a, b) if a.year < b.year else (b, a)
    return (not early.volume and bool(early.doi or early.paged) and bool(late.volume) and
            not early.supplement and not a.kind and not b.kind and
            a.title == b.title and len(a.title.split()) >= 6 and
            author_lists_agree(a, b) >= 2 and bool(a.journal and b.journal) and
            journals_compatible(a.journal, b.journal))


def title_similarity(a: str, b: str) -> tuple[float, str]:
    if not a or not b:
        return 0.0, ""
    if a == b:
        return 100.0, "title"
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 40 and long_.startswith(short):
        # Below the 95 that lets a fuzzy match stand without volume or page agreement: a
        # follow-up study often extends its parent's title ("…: 5-year results").
        return 93.0, "title(truncated)"
    return fuzz.ratio(a, b), "title~"


def surnames_match(x: str, y: str) -> bool:
    """Same surname despite dropped diacritics or transliteration ('cobanoglu' / 'cobanolu',
    'vishnevskii' / 'vishnevski')."""
    if x == y:
        return True
    if min(len(x), len(y)) < 4:
        return False
    return x.startswith(y) or y.startswith(x) or fuzz.ratio(x, y) >= 80


def authors_compatible(a: RecordKeys, b: RecordKeys) -> bool | None:
    """True / False, or None when either record has no authors."""
    if not a.first_author or not b.first_author:
        return None
    return (surnames_match(a.first_author, b.first_author) or a.first_author in b.authors
            or b.first_author in a.authors)


def venue_evidence(a: RecordKeys, b: RecordKeys) -> list[str]:
    fields = []
    if a.journal and b.journal and journals_compatible(a.journal, b.journal):
        fields.append("journal")
    if a.volume and b.volume and volumes_compatible(a, b):
        fields.append("volume")
    if a.ranges and b.ranges and pages_compatible(a.ranges, b.ranges):
        fields.append("pages")
    return fields


def compare(a: RecordKeys, b: RecordKeys) -> Link | None:
    """The first rule linking a and b (see the module docstring), or None."""
    conflicts = hard_conflicts(a, b)
    if conflicts:
        return conflict_evidence(a, b, conflicts)
    similarity, title_field = title_similarity(a.title, b.title)
    loose = fuzz.token_sort_ratio(a.title, b.title) if a.title and b.title else 100.0
    # Conference supplements give every abstract the supplement's DOI: ask for a similar title.
    needed = 90 if "conference" in (a.kind, b.kind) else 60
    if a.doi and a.doi == b.doi and loose >= needed:
        return Link(a.index, b.index, "doi", "doi", loose)
    if a.pmid and a.pmid == b.pmid and loose >= 60:
        return Link(a.index, b.index, "pmid", "pmid", loose)
    authors = authors_compatible(a, b)
    if authors is False:
        return None
    venue = venue_evidence(a, b)
    same_year = a.year is not None and a.year == b.year
    author_field = ["first_author"] if authors else []
    year_field = ["year"] if same_year else []
    journal_known = bool(a.journal and b.journal)
    venue_ok = "journal" in venue or (not journal_known and bool(venue)) or \
        {"volume", "pages"} <= set(venue)
    # Years one apart (online vs print) are common, but so is a meeting abstract the year
    # before its article in the same journal: then ask for a matching volume or page too.
    detail = bool({"volume", "pages"} & set(venue))
    year_ok = same_year or a.year is None or b.year is None or detail or ahead_of_print(a, b)
    # Authors on one side only (errata and notices often have none, their article has them):
    # the venue must agree down to the volume or page.
    one_sided = bool(a.first_author) != bool(b.first_author)
    venue_ok_here = venue_ok and (not one_sided or detail)
    if title_field == "title" and len(a.title.split()) >= 4 and year_ok:
        if venue_ok_here or (same_year and authors and not journal_known):
            return Link(a.index, b.index, "title", ";".join(["title", *author_field, *year_field,
                                                                 *venue]), 100.0)
    # A short title ("Empyema thoracis") may be a heading several items share: it needs the
    # same page, or the same volume and year.
    specific = len(a.title.split()) >= 4 or "pages" in venue or ("volume" in venue and same_year)
    # Without a volume or page to agree on, a near-identical title is all the evidence: it
    # must then differ only in form, not by a word ('in men' / 'in women', 'with' / 'without'),
    # since one team publishes such companion papers in one journal and year.
    located = bool({"volume", "pages"} & set(venue))
    if similarity >= 90 and authors and venue_ok and specific and title_numbers(
            a.title) == title_numbers(b.title) and year_ok and (
            located or (similarity >= 95 and title_words_agree(a.title, b.title))):
        return Link(a.index, b.index, "fuzzy_title", ";".join([title_field, "first_author",
                                                                   *year_field, *venue]),
                    round(similarity, 1))
    citation = {"journal", "volume", "pages"} <= set(venue) and same_year
    if citation and (authors and loose >= 60 or authors is None and loose >= 70):
        # Same citation, titles that differ by translation or wording: the sorted-token ratio
        # keeps unrelated abstracts printed on one supplement page apart.
        return Link(a.index, b.index, "citation",
                    ";".join([*author_field, "year", "journal", "volume", "pages"]),
                    round(loose, 1))
    if citation and same_range(a.ranges, b.ranges) and authors is not False:
        # The same full page range (two pages or more) in the same volume: differently
        # translated or abridged titles of one article, as long as their words mostly agree.
        overlap = fuzz.token_set_ratio(a.title, b.title) if a.title and b.title else 0.0
        if overlap >= 75:
            return Link(a.index, b.index, "citation_range",
                        ";".join([*author_field, "year", "journal", "volume", "page_range"]),
                        round(overlap, 1))
    return None


# ---------------------------------------------------------------- overrides

_DOI = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_PMID = re.compile(r"^(?:pmid:\s*)?(\d{1,9})$", re.IGNORECASE)


def resolve_identifier(value: str, index: dict) -> list[int]:
    value = value.strip()
    if value in index["record_id"]:
        return [index["record_id"][value]]
    doi = _DOI.match(value)
    if doi:
        return index["doi"].get(doi.group(1).lower(), [])
    pmid = _PMID.match(value)
    if pmid:
        return index["pmid"].get(pmid.group(1), [])
    return []


def read_overrides(path, rows: list[dict]) -> tuple[list[Link], set[tuple[int, int]]]:
    """(forced `same` links, `distinct` pairs) from an overrides CSV; a missing file or one with
    only a header means no overrides."""
    if path is None or not Path(path).exists():
        return [], set()
    index: dict[str, dict] = {"record_id": {r["record_id"]: i for i, r in enumerate(rows)},
                         "doi": defaultdict(list), "pmid": defaultdict(list)}
    for i, row in enumerate(rows):
        if row.get("doi"):
            index["doi"][row["doi"]].append(i)
        if row.get("pmid"):
            index["pmid"][row["pmid"]].append(i)
    problems: list[Problem] = []
    same: list[Link] = []
    distinct: set[tuple[int, int]] = set()
    rows_of: dict[tuple[str, tuple[int, int]], int] = {}  # (decision, pair) -> first file row
    header, table = read_csv(path, strip=True)
    missing = {"record_a", "record_b", "decision"} - set(header)
    if header and missing:
        raise InputError(Problem(message=f"overrides file lacks columns {sorted(missing)}",
                                 file=str(path), row=1, rule="overrides columns",
                                 hint="header: record_a,record_b,decision"))
    for line, row in enumerate(table, start=2):
        decision = row.get("decision", "").lower()
        if not decision:
            continue  # a row of the cluster table the reviewer left as it is
        if decision not in ("same", "distinct"):
            problems.append(Problem(message="decision must be 'same' or 'distinct'",
                                    file=str(path), row=line, column="decision",
                                    value=row.get("decision"), rule="override decision"))
            continue
        ends = []
        for column in ("record_a", "record_b"):
            value = row.get(column, "")
            found = resolve_identifier(value, index) if value.strip() else []
            if not found:
                problems.append(Problem(
                    message=f"{column} is empty" if not value.strip() else
                    "identifier matches no record", file=str(path), row=line,
                    column=column, value=value or None, rule="override identifier",
                    hint="use a DOI, a PMID (pmid:123) or a record_id from records.csv"))
            ends.append(found)
        if not all(ends):
            continue
        for i in ends[0]:
            for j in ends[1]:
                if i == j:
                    continue
                pair = (min(i, j), max(i, j))
                rows_of.setdefault((decision, pair), line)
                if decision == "same":
                    same.append(Link(pair[0], pair[1], "override", "reviewer", 100.0,
                                     override="same"))
                else:
                    distinct.add(pair)
    contradictions = {(link.a, link.b) for link in same} & distinct
    for a, b in sorted(contradictions):
        same_row, distinct_row = rows_of[("same", (a, b))], rows_of[("distinct", (a, b))]
        problems.append(Problem(
            message=f"records declared both same and distinct: same on row {same_row}, distinct "
                    f"on row {distinct_row}", file=str(path), row=max(same_row, distinct_row),
            value=f"{rows[a]['record_id']} / {rows[b]['record_id']}",
            rule="override consistency", hint="keep one of the two rows"))
    if problems:
        raise InputError(problems)
    return same, distinct


# ---------------------------------------------------------------- clustering

@dataclass
class Clustering:
    cluster_of: list[int]  # record position → cluster number (0-based, in first-member order)
    links: list[Link]  # links applied (and reviewer blocks), in the order applied


PARALLEL_FROM = 40_000
_FORKED_ROWS: list[dict] = []  # read by forked workers, so the rows are never pickled


def _keys_of_slice(start: int, stop: int) -> list[RecordKeys]:
    return keys_for_rows(_FORKED_ROWS[start:stop], start)


def all_record_keys(rows: list[dict]) -> list[RecordKeys]:
    """Keys for every row (`retracted_articles` applied)."""
    return retracted_articles(_keys_of_rows(rows), rows)


def retracted_articles(keys: list[RecordKeys], rows: list[dict]) -> list[RecordKeys]:
    """A record titled 'RETRACTED: <title>' is the article itself (as Elsevier and WoS title a
    retracted article), not a notice, when another record carries its DOI or PMID and the plain
    title; without such a record it stays a notice, since Hindawi titles its retraction
    notices so."""
    labelled = [k for k in keys if k.retracted_label]
    if not labelled:
        return keys
    plain = {(kind, value, k.title) for k in keys if not k.notice_title
             for kind, value in (("doi", k.doi), ("pmid", k.pmid)) if value}
    for k in labelled:
        if any((kind, value, k.title) in plain
               for kind, value in (("doi", k.doi), ("pmid", k.pmid)) if value):
            row = rows[k.index]
            keys[k.index] = replace(k, notice_title=False, kind=metadata_kind(
                row.get("publication_type", ""), row.get("journal", ""), row.get("database", "")))
    return keys


def _keys_of_rows(rows: list[dict]) -> list[RecordKeys]:
    """Keys for every row; large inputs are split over two forked worker processes
    (normalising is a third of the CPU time and needs no shared state)."""
    import multiprocessing

    if len(rows) < PARALLEL_FROM or (os.cpu_count() or 1) < 2 or \
            "fork" not in multiprocessing.get_all_start_methods():
        return keys_for_rows(rows)
    global _FORKED_ROWS
    _FORKED_ROWS = rows
    try:
        half = len(rows) // 2
        with multiprocessing.get_context("fork").Pool(2) as pool:
            parts = pool.starmap(_keys_of_slice, [(0, half), (half, len(rows))])
    finally:
        _FORKED_ROWS = []
    return parts[0] + parts[1]


def identity_signature(k: RecordKeys) -> tuple:
    """The fields of `identity_conflict`: records with equal signatures conflict alike."""
    return (k.doi, k.pmid, k.notice_title)


SOFT_FIELDS = ("year", "volume", "pages")


def soft_values(k: RecordKeys) -> dict[str, set]:
    volumes = {("volume", k.volume)} if k.volume else set()
    if k.volume and k.supplement_number:
        volumes.add(("supplement", k.supplement_number))
    return {"year": {k.year} if k.year is not None else set(), "volume": volumes,
            "pages": set(k.ranges)}


def _soft_compatible(field: str, x, y) -> bool:
    if field == "year":
        return abs(x - y) <= 1
    if field == "pages":
        return ranges_overlap(x, y)
    # Volumes: equal, or a volume that is only the other side's supplement number.
    return x[1] == y[1] and "volume" in (x[0], y[0])


class Identifiers:
    """DOIs and PMIDs that links declared to name one work (`identifier_conflict` links and
    reviewers' `same` overrides): a union-find over ('doi', value) and ('pmid', value)."""

    def __init__(self) -> None:
        self.parent: dict[tuple, tuple] = {}

    def canonical(self, kind: str, value: str) -> tuple:
        node = (kind, value)
        while self.parent.get(node, node) != node:
            node = self.parent[node]
        return node

    def join(self, a: RecordKeys, b: RecordKeys) -> None:
        for kind in ("doi", "pmid"):
            x, y = getattr(a, kind), getattr(b, kind)
            if x and y and x != y:
                self.parent[self.canonical(kind, y)] = self.canonical(kind, x)


class Clusters:
    """Union-find over records that refuses a merge when the two clusters conflict.

    Identity (DOI, PMID, kind of record, notice) is checked pair by pair across the clusters,
    through one representative per identity signature. Year, volume and pages are checked as
    sets: the two clusters must share a compatible value where both know the field, unless
    they share a DOI or PMID (which outweighs them, as for a pair) or the link itself
    accepted a difference there. A record that lacks a field can so not bridge two works that
    disagree on it, while copies whose DOI already tolerated print/online differences can
    still take in a copy that agrees with one of them."""

    def __init__(self, keys: list[RecordKeys], distinct: AbstractSet[tuple[int, int]]):
        self.keys = keys
        self.parent = list(range(len(keys)))
        self.members = {i: [i] for i in range(len(keys))}
        self.signatures = {i: {identity_signature(k): i} for i, k in enumerate(keys)}
        self.soft = {i: soft_values(k) for i, k in enumerate(keys)}
        # (kinds the members carry, whether every member without one is a supplement item)
        self.kinds = {i: ({k.kind} - {""}, k.supplement or bool(k.kind))
                      for i, k in enumerate(keys)}
        self.identifiers = Identifiers()
        self.pending: dict[str, set] = {}
        self.distinct_of: dict[int, set[int]] = defaultdict(set)
        for i, j in distinct:
            self.distinct_of[i].add(j)
            self.distinct_of[j].add(i)

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _same(self, kind: str, x: str, y: str) -> bool:
        if x == y:
            return True
        cx, cy = self.identifiers.canonical(kind, x), self.identifiers.canonical(kind, y)
        return cx == cy or {cx, cy} == self.pending.get(kind)

    def _pending(self, link: Link) -> dict[str, set]:
        """The identifiers an identifier_conflict link is about to join, as canonical pairs."""
        if link.rule != "identifier_conflict":
            return {}
        a, b = self.keys[link.a], self.keys[link.b]
        return {kind: {self.identifiers.canonical(kind, getattr(a, kind)),
                       self.identifiers.canonical(kind, getattr(b, kind))}
                for kind in ("doi", "pmid") if getattr(a, kind) and getattr(b, kind)}

    def identity_conflict(self, a: RecordKeys, b: RecordKeys) -> bool:
        if a.doi and b.doi and not self._same("doi", a.doi, b.doi):
            return True
        if a.pmid and b.pmid and not self._same("pmid", a.pmid, b.pmid):
            return True
        return a.notice_title != b.notice_title

    def kinds_conflict(self, x: int, y: int, shared: bool) -> bool:
        """Kinds of record of two clusters: a cluster's kinds are those its members carry
        (a member without one joined them through an identifier or as a supplement item);
        a cluster without any is plain articles, or unknown supplement items."""
        (kx, plain_x), (ky, plain_y) = self.kinds[x], self.kinds[y]
        if kx and ky:
            return not kx & ky
        if not kx and not ky:
            return False
        kinds, supplements_only = (kx, plain_y) if kx else (ky, plain_x)
        if shared:
            return False
        return not (kinds == {"conference"} and supplements_only)

    def _share_identifier(self, x: int, y: int) -> bool:
        ids = {(kind, self.identifiers.canonical(kind, value)) for sig in self.signatures[x]
               for kind, value in (("doi", sig[0]), ("pmid", sig[1])) if value}
        return any((kind, self.identifiers.canonical(kind, value)) in ids
                   for sig in self.signatures[y] for kind, value in (("doi", sig[0]),
                                                                     ("pmid", sig[1])) if value)

    def blocked(self, x: int, y: int, link: Link) -> bool:
        if self.distinct_of:
            other = set(self.members[y])
            if any(self.distinct_of.get(i, set()) & other for i in self.members[x]):
                return True
        if link.override == "same":
            return False
        keys = self.keys
        self.pending = self._pending(link)
        try:
            if any(self.identity_conflict(keys[i], keys[j]) for i in self.signatures[x].values()
                   for j in self.signatures[y].values()):
                return True
            shared = self._share_identifier(x, y)
            if self.kinds_conflict(x, y, shared):
                return True
        finally:
            self.pending = {}
        if shared:
            return False
        for field in SOFT_FIELDS:
            if field in link.tolerates:
                continue
            mine, theirs = self.soft[x][field], self.soft[y][field]
            if mine and theirs and not any(_soft_compatible(field, u, v)
                                           for u in mine for v in theirs):
                return True
        return False

    def merge(self, x: int, y: int) -> None:
        if len(self.members[x]) < len(self.members[y]):
            x, y = y, x
        self.parent[y] = x
        self.members[x].extend(self.members.pop(y))
        for signature, i in self.signatures.pop(y).items():
            self.signatures[x].setdefault(signature, i)
        for field, values in self.soft.pop(y).items():
            self.soft[x][field] |= values
        (kx, plain_x), (ky, plain_y) = self.kinds[x], self.kinds.pop(y)
        self.kinds[x] = (kx | ky, plain_x and plain_y)


Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 5000  # blocks between progress calls


def cluster_records(rows: list[dict], same: Sequence[Link] = (),
                    distinct: AbstractSet[tuple[int, int]] = frozenset(),
                    progress: Progress | None = None) -> Clustering:
    """Cluster rows: reviewer `same` links first, then blocking stages from the strongest key
    (DOI) to the weakest; inside a stage each link is applied as soon as it is found, and a
    pair already in one cluster is not compared again (large clusters cost near-linear).

    `progress(step, done, total)`, when given, is called after the keys are computed
    (step 'keys', counting records) and every few thousand blocks of each stage (step = the
    stage name, counting its blocks), last with done == total."""
    keys = all_record_keys(rows)
    if progress:
        progress("keys", len(rows), len(rows))
    clusters = Clusters(keys, distinct)
    find = clusters.find
    applied: list[Link] = []
    blocked: set[tuple[int, int]] = set()  # pairs whose block the audit already shows

    def apply(link: Link) -> None:
        x, y = find(link.a), find(link.b)
        if x == y:
            return
        if clusters.blocked(x, y, link):
            if link.override == "same":
                raise InputError(Problem(
                    message="a 'same' override joins records that 'distinct' overrides keep "
                    "apart (through other records of the cluster)", rule="override consistency",
                    value=f"{rows[link.a]['record_id']} / {rows[link.b]['record_id']}",
                    hint="check the overrides file for a contradiction"))
            # Every stage whose blocks hold the pair proposes it again: one audit row a pair.
            if link.b in clusters.distinct_of.get(link.a, ()) and (link.a, link.b) not in blocked:
                blocked.add((link.a, link.b))
                applied.append(Link(link.a, link.b, link.rule, link.fields, link.score,
                                    override="distinct"))
            return
        if link.rule == "identifier_conflict" or link.override == "same":
            clusters.identifiers.join(keys[link.a], keys[link.b])
        clusters.merge(x, y)
        applied.append(link)

    for link in same:
        apply(link)
    for stage, blocks in blocks_by_stage(keys).items():
        for number, block in enumerate(blocks, start=1):
            if progress and number % PROGRESS_EVERY == 0:
                progress(stage, number, len(blocks))
            if len({find(i) for i in block}) == 1:
                continue  # already one cluster: nothing to compare
            for i, j in block_pairs(block, keys, stage):
                if find(i) != find(j):
                    found = compare(keys[i], keys[j])
                    if found is not None:
                        apply(found)
        if progress:
            progress(stage, len(blocks), len(blocks))
    roots: dict[int, int] = {}
    cluster_of = [roots.setdefault(find(i), len(roots)) for i in range(len(rows))]
    return Clustering(cluster_of=cluster_of, links=applied)
