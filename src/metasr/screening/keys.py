"""How a decision-file row finds its record: identifier normalisation and the key index.

A decision names a record by `record_id`, else `doi`, else `pmid`, else normalised `title` +
`year`. Keys are matched against every member of a de-duplication cluster, so a reviewer may use
the DOI of any version of a record. A key shared by two clusters cannot say which record it means
and is reported as ambiguous rather than guessed.

Why not `metasr.records.table.clean_doi`/`clean_pmid`: those drop a value that is not a DOI or
PMID (right for parsing exports), which here would make a mistyped identifier in a decision file
silently stop being a key; these normalisers keep it, so it is reported as matching no record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_YEAR = re.compile(r"(1[89]\d\d|2\d\d\d)")


def normalise_doi(value: str | None) -> str:
    text = (value or "").strip()
    return _DOI_PREFIX.sub("", text).strip().lower()


def normalise_pmid(value: str | None) -> str:
    text = (value or "").strip()
    # Spreadsheets turn 31403674 into 31403674.0; "PMID: 31403674" is also common.
    text = re.sub(r"\.0+$", "", text)
    return re.sub(r"^pmid:?\s*", "", text, flags=re.IGNORECASE).strip()


def normalise_title(value: str | None) -> str:
    """Case, accents, punctuation and whitespace do not distinguish titles."""
    text = unicodedata.normalize("NFKD", value or "")
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


@dataclass
class KeyIndex:
    """Maps every key of every parsed record to the clusters that carry it."""

    clusters_by_key: dict[RecordKey, set[str]] = field(default_factory=dict)
    years_by_title: dict[str, set[str]] = field(default_factory=dict)  # only to explain misses

    @classmethod
    def from_records(cls, records: list[dict]) -> KeyIndex:
        index = cls()
        for record in records:
            for key in keys_of(record):
                index.clusters_by_key.setdefault(key, set()).add(record["cluster_id"])
            title = normalise_title(record.get("title"))
            if title:
                index.years_by_title.setdefault(title, set()).add(normalise_year(record.get("year")))
        return index

    def lookup(self, key: RecordKey) -> set[str]:
        return self.clusters_by_key.get(key, set())


@dataclass(frozen=True)
class Resolution:
    """Which cluster a decision row points to, or why it points to none."""

    cluster_id: str | None
    key: RecordKey | None
    error: str | None = None  # "no_key" | "unknown" | "ambiguous" | "inconsistent"
    detail: str = ""
    unmatched: tuple[RecordKey, ...] = ()  # stronger identifiers of the row that matched nothing


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
