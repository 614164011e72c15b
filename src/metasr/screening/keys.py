"""How a decision-file row finds its record: identifier normalisation and the key index.

A decision names a record by `record_id`, else `doi`, else `pmid`, else normalised `title` +
`year`. Keys are matched against every member of a de-duplication cluster, so a reviewer may use
the DOI of any version of a record. A key shared by two clusters cannot say which record it means
and is reported as ambiguous rather than guessed.

A `record_id` is a position in an export (`{source}:{index}`): exported again in another order,
the search gives the id to another record. So a row that names its record by `record_id` and
also gives its title, DOI, PMID or year must agree with the record now at that id (any record
of its cluster); when it does not, the row is refused ("moved") rather than its decision moved
onto another paper. Titles are compared as de-duplication compares them
(`metasr.records.normalise.title_key`).

Why not `metasr.records.table.clean_doi`/`clean_pmid`: those drop a value that is not a DOI or
PMID (right for parsing exports), which here would make a mistyped identifier in a decision file
silently stop being a key; these normalisers keep it, so it is reported as matching no record.
"""

from __future__ import annotations

import html
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from metasr.records.normalise import title_key

_DOI_PREFIX = re.compile(r"^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_YEAR = re.compile(r"(1[89]\d\d|2\d\d\d)")


def normalise_doi(value: str | None) -> str:
    """A DOI as written anywhere: bare, doi:, or a doi.org link (http(s), dx. or www., or none),
    percent-encoded as a link may be (10.1002%2Fana.1)."""
    text = urllib.parse.unquote((value or "").strip())
    return _DOI_PREFIX.sub("", text).strip().lower()


def normalise_pmid(value: str | None) -> str:
    text = (value or "").strip()
    # Spreadsheets turn 31403674 into 31403674.0; "PMID: 31403674" is also common.
    text = re.sub(r"\.0+$", "", text)
    return re.sub(r"^pmid:?\s*", "", text, flags=re.IGNORECASE).strip()


def normalise_title(value: str | None) -> str:
    """Case, accents, punctuation, whitespace and HTML entities (&amp;, &#8211;, which screening
    tools write) do not distinguish titles."""
    text = unicodedata.normalize("NFKD", html.unescape(value or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return _NON_ALNUM.sub(" ", text).strip()


def normalise_year(value: str | None) -> str:
    found = _YEAR.search((value or "").strip())
    return found.group(1) if found else ""


@dataclass(frozen=True)
class RecordKey:
    """The identifier a decision row uses, in order of preference."""

    kind: str  # "record_id" | "doi" | "pmid" | "title_year"
    value: str

    def describe(self) -> str:
        if self.kind == "title_year":
            title, _, year = self.value.partition("\x1f")
            return f"title '{title}' + year '{year or '(none)'}'"
        return f"{self.kind} '{self.value}'"


def keys_of(row: dict) -> list[RecordKey]:
    """All identifiers a row (decision or record) carries, strongest first."""
    keys = []
    record_id = (row.get("record_id") or "").strip()
    if record_id:
        keys.append(RecordKey("record_id", record_id))
    doi = normalise_doi(row.get("doi"))
    if doi:
        keys.append(RecordKey("doi", doi))
    pmid = normalise_pmid(row.get("pmid"))
    if pmid:
        keys.append(RecordKey("pmid", pmid))
    title = normalise_title(row.get("title"))
    if title:
        keys.append(RecordKey("title_year", f"{title}\x1f{normalise_year(row.get('year'))}"))
    return keys


# What a row may say about its record besides naming it, each compared in its normal form.
DESCRIBING: dict[str, Callable[[str | None], str]] = {
    "title": lambda text: title_key(html.unescape(text or "")),  # screening tools write &amp; and &#8211;
    "doi": normalise_doi, "pmid": normalise_pmid, "year": normalise_year}


@dataclass
class KeyIndex:
    """Maps every key of every parsed record to the clusters that carry it."""

    clusters_by_key: dict[RecordKey, set[str]] = field(default_factory=dict)
    years_by_title: dict[str, set[str]] = field(default_factory=dict)  # only to explain misses
    # cluster -> column -> the normal forms its records give (to check a row named by record_id)
    described: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    by_record_id: dict[str, dict] = field(default_factory=dict)  # to say which record an id names now

    @classmethod
    def from_records(cls, records: list[dict]) -> KeyIndex:
        index = cls()
        for record in records:
            for key in keys_of(record):
                index.clusters_by_key.setdefault(key, set()).add(record["cluster_id"])
            title = normalise_title(record.get("title"))
            if title:
                index.years_by_title.setdefault(title, set()).add(normalise_year(record.get("year")))
            described = index.described.setdefault(record["cluster_id"], {})
            for column, normal in DESCRIBING.items():
                value = normal(record.get(column) or "")
                if value:
                    described.setdefault(column, set()).add(value)
            index.by_record_id[record.get("record_id") or ""] = record
        return index

    def lookup(self, key: RecordKey) -> set[str]:
        return self.clusters_by_key.get(key, set())


@dataclass(frozen=True)
class Resolution:
    """Which cluster a decision row points to, or why it points to none."""

    cluster_id: str | None
    key: RecordKey | None
    error: str | None = None  # "no_key" | "unknown" | "ambiguous" | "inconsistent" | "moved"
    detail: str = ""
    unmatched: tuple[RecordKey, ...] = ()  # stronger identifiers of the row that matched nothing
    column: str = ""  # the row's cell at fault, when it is not the key's ("moved": what differs)
    value: str = ""


def _differences(row: dict, cluster: str, index: KeyIndex) -> list[str]:
    """The columns where a row says something about its record that no record of `cluster`
    says (a column the cluster's records leave empty cannot differ)."""
    described = index.described.get(cluster, {})
    return [column for column, normal in DESCRIBING.items()
            if normal(row.get(column) or "") and column in described
            and normal(row.get(column) or "") not in described[column]]


def _moved(row: dict, key: RecordKey, cluster: str, index: KeyIndex) -> Resolution | None:
    """A row named by record_id whose title, DOI, PMID or year belongs to no record of the
    cluster that id names now: the export was probably re-exported in another order."""
    differ = _differences(row, cluster, index)
    if not differ:
        return None
    record = index.by_record_id.get(key.value, {})
    described = index.described[cluster]
    said = "; ".join(f"{c} {row.get(c, '').strip()!r} where the record has "
                     f"{record.get(c) or ' / '.join(sorted(described[c]))!r}" for c in differ)
    title = record.get("title", "")
    return Resolution(None, key, "moved",
                      f"{key.describe()} now names {title[:90]!r} (cluster {cluster}), which is not the record "
                      f"this row describes: {said}",
                      column=differ[0], value=row.get(differ[0], "").strip())


def resolve(row: dict, index: KeyIndex) -> Resolution:
    """Resolve a decision row to one cluster.

    The first identifier that matches decides. Strong identifiers (record_id, doi, pmid) that
    match a different cluster than the deciding one are contradictory and reported; a title
    shared with another cluster is not, because conference abstracts and articles may share one.
    """
    keys = keys_of(row)
    if not keys:
        return Resolution(None, None, "no_key", "the row has no record_id, doi, pmid or title")
    for position, key in enumerate(keys):
        clusters = index.lookup(key)
        if not clusters:
            continue
        if len(clusters) > 1:
            listed = ", ".join(sorted(clusters))
            return Resolution(None, key, "ambiguous", f"{key.describe()} matches clusters {listed}")
        (cluster,) = clusters
        moved = _moved(row, key, cluster, index) if key.kind == "record_id" else None
        if moved is not None:
            return moved
        for later in keys[position + 1 :]:
            if later.kind == "title_year":
                continue
            others = index.lookup(later) - {cluster}
            if others:
                listed = ", ".join(sorted(others))
                return Resolution(
                    None,
                    key,
                    "inconsistent",
                    f"{key.describe()} matches cluster {cluster} but {later.describe()} "
                    f"matches {listed}",
                )
        return Resolution(cluster, key, unmatched=tuple(keys[:position]))
    tried = "; ".join(k.describe() for k in keys)
    detail = f"no record has {tried}"
    title, _, year = keys[-1].value.partition("\x1f") if keys[-1].kind == "title_year" else ("", "", "")
    other_years = sorted(index.years_by_title.get(title, set()) - {year})
    if other_years:
        detail += f" (a record has this title with year {', '.join(y or '(none)' for y in other_years)})"
    return Resolution(None, keys[0], "unknown", detail)
