"""Render the default review's search exports from the real record metadata.

The IRL review's 87 records (`../shared/irl-review/records.csv`) were collected from public web pages,
not exported from databases. This script writes them as the exports a reviewer would have brought home:
PubMed (MEDLINE), Scopus (RIS) and Web of Science (tagged), plus a CSV of records found by other methods
(websites, news, preprint servers, conference sites). It only re-formats metadata that exists; it never
adds identifiers, abstracts or fields the source does not have.

Which database returns which record (rules, deterministic):
- PubMed: records with a PMID (PubMed indexes nothing else).
- Scopus and Web of Science: journal content (articles, reviews, letters, errata, journal-supplement
  abstracts) with a known journal or a DOI. Each misses a share of them, chosen deterministically from
  a hash of the record id, so that the three exports overlap only in part, as real ones do
  (Scopus ~85% coverage, Web of Science ~70%).
- Other methods (`other_sources.csv`): news items, preprints, conference sites and reports, and any
  record that no database above returned (e.g. records known only by a title).

Formatting differs per database as it does in real exports: PubMed gives `FAU`/`AU` name forms and the
NLM journal abbreviation; Scopus gives "Family, G." authors and the full journal title; Web of Science
gives "Family, GI" authors, the journal title in capitals, an upper-case DOI and CRLF line endings.

Run from the repository root: `python data/build/render_search_exports.py [../shared/irl-review]`.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "search"

# NLM abbreviation -> full journal title, for the journals of this review (public journal facts).
FULL_JOURNAL = {
    "Mult Scler": "Multiple Sclerosis Journal",
    "Neurology": "Neurology",
    "Neuroradiology": "Neuroradiology",
    "JAMA Neurol": "JAMA Neurology",
    "Brain Commun": "Brain Communications",
    "Front Neurol": "Frontiers in Neurology",
    "Diagnostics (Basel)": "Diagnostics",
    "J Neurol Neurosurg Psychiatry": "Journal of Neurology, Neurosurgery and Psychiatry",
    "Ann Neurol": "Annals of Neurology",
    "AJNR Am J Neuroradiol": "American Journal of Neuroradiology",
    "Mult Scler Relat Disord": "Multiple Sclerosis and Related Disorders",
    "Mult Scler J Exp Transl Clin": "Multiple Sclerosis Journal - Experimental, Translational and Clinical",
    "Sci Rep": "Scientific Reports",
    "J Neuroimaging": "Journal of Neuroimaging",
    "Eur Radiol": "European Radiology",
    "Neuroimage Clin": "NeuroImage: Clinical",
    "Acta Neuropathol": "Acta Neuropathologica",
    "J Magn Reson Imaging": "Journal of Magnetic Resonance Imaging",
    "J Clin Neurol": "Journal of Clinical Neurology",
    "Korean J Radiol": "Korean Journal of Radiology",
    "PLoS One": "PLoS ONE",
    "Neurol Neuroimmunol Neuroinflamm": "Neurology: Neuroimmunology & Neuroinflammation",
    "AJR Am J Roentgenol": "American Journal of Roentgenology",
    "J Clin Neurosci": "Journal of Clinical Neuroscience",
    "Egypt J Hosp Med": "Egyptian Journal of Hospital Medicine",
}
JOURNAL_TYPES = {"journal article", "journal article (methods)", "systematic review/meta-analysis",
                 "systematic review", "review (systematic mapping)", "review/consensus", "letter",
                 "erratum", "conference abstract"}
OTHER_METHOD_TYPES = {"news item", "preprint", "preprint (methods)", "conference report"}
COVERAGE = {"scopus": 0.85, "wos": 0.70}


def clean(value: str | None) -> str:
    return (value or "").strip()


def journal_abbrev(record: dict) -> str:
    """The NLM abbreviation, without the extractor's bracketed annotations."""
    return re.sub(r"\s*\[.*?\]\s*", "", clean(record["journal"])).strip()


def covered(record_id: str, database: str) -> bool:
    digest = hashlib.sha1(f"{database}:{record_id}".encode()).digest()
    return digest[0] / 256 < COVERAGE[database]


# ---------------------------------------------------------------- author names
def split_authors(record: dict) -> list[tuple[str, str]]:
    """(family, given) pairs. The source mixes "Given Family", "Family Given", "Family, Given" and
    "Family GI" forms; the first author's family name (`first_author`) tells which order a list uses."""
    entries = [a.strip() for a in clean(record["authors"]).replace(" et al.", "").split(";") if a.strip()]
    hint = clean(record["first_author"]).split(" ")
    first_family = " ".join(hint[:-1]) if len(hint) > 1 else (hint[0] if hint else "")
    family_first = bool(entries) and bool(first_family) and entries[0].startswith(first_family)
    return [split_name(e, family_first, first_family) for e in entries]


def split_name(entry: str, family_first: bool, first_family: str) -> tuple[str, str]:
    if "," in entry:
        family, given = entry.split(",", 1)
        return family.strip(), given.strip()
    tokens = entry.split()
    if len(tokens) == 1 or entry.lower().endswith("consortium"):
        return entry, ""
    if first_family and (entry.startswith(first_family + " ") or entry.endswith(" " + first_family)):
        given = entry.replace(first_family, "", 1).strip()
        return first_family, given
    if family_first:
        return tokens[0], " ".join(tokens[1:])
    if re.fullmatch(r"(?:[A-Z]\.)+", tokens[0]):  # "D.M. Harrison"
        return " ".join(tokens[1:]), tokens[0]
    return tokens[-1], " ".join(tokens[:-1])


def initials(given: str) -> str:
    if re.fullmatch(r"[A-Z]{1,3}", given):  # already initials ("MA")
        return given
    parts = re.split(r"[\s.\-]+", given)
    return "".join(p[0].upper() for p in parts if p and p[0].isalpha())


# ---------------------------------------------------------------- writers
def medline_record(r: dict) -> list[str]:
    lines = [f"PMID- {r['pmid']}", "OWN - NLM", "STAT- MEDLINE"]
    if clean(r["volume"]):
        lines.append(f"VI  - {r['volume']}")
    if clean(r["issue"]):
        lines.append(f"IP  - {r['issue']}")
    if clean(r["year"]):
        lines.append(f"DP  - {r['year']}")
    lines.append(f"TI  - {r['title']}")
    if clean(r["pages"]):
        lines.append(f"PG  - {r['pages']}")
    if clean(r["doi"]):
        lines.append(f"LID - {r['doi']} [doi]")
    for family, given in split_authors(r):
        if given:
            lines += [f"FAU - {family}, {given}", f"AU  - {family} {initials(given)}"]
        else:
            lines += [f"FAU - {family}", f"AU  - {family}"]
    lines.append("LA  - eng")
    lines.append(f"PT  - {medline_publication_type(r['publication_type'])}")
    if journal_abbrev(r):
        lines.append(f"TA  - {journal_abbrev(r)}")
        lines.append(f"JT  - {FULL_JOURNAL.get(journal_abbrev(r), journal_abbrev(r))}")
    if clean(r["doi"]):
        lines.append(f"AID - {r['doi']} [doi]")
    lines.append(f"SO  - {medline_source(r)}")
    return lines


def medline_publication_type(kind: str) -> str:
    if "review" in kind:
        return "Review"
    return {"letter": "Letter", "erratum": "Published Erratum"}.get(kind, "Journal Article")


def medline_source(r: dict) -> str:
    text = journal_abbrev(r) or "Unknown journal"
    if clean(r["year"]):
        text += f". {r['year']}"
    if clean(r["volume"]):
        text += f";{r['volume']}"
        if clean(r["issue"]):
            text += f"({r['issue']})"
    if clean(r["pages"]):
        text += f":{r['pages']}"
    if clean(r["doi"]):
        text += f". doi: {r['doi']}"
    return text + "."


def ris_record(r: dict) -> list[str]:
    kind = "CONF" if r["publication_type"] == "conference abstract" else "JOUR"
    lines = [f"TY  - {kind}"]
    for family, given in split_authors(r):
        lines.append(f"AU  - {family}, {'. '.join(initials(given))}." if given else f"AU  - {family}")
    lines.append(f"TI  - {r['title']}")
    abbrev = journal_abbrev(r)
    if abbrev:
        lines.append(f"T2  - {FULL_JOURNAL.get(abbrev, abbrev)}")
    if clean(r["year"]):
        lines.append(f"PY  - {r['year']}")
    if clean(r["volume"]):
        lines.append(f"VL  - {r['volume']}")
    if clean(r["issue"]):
        lines.append(f"IS  - {r['issue']}")
    start, _, end = clean(r["pages"]).partition("-")
    if start:
        lines.append(f"SP  - {start}")
    if end:
        lines.append(f"EP  - {end}")
    if clean(r["doi"]):
        lines.append(f"DO  - {r['doi']}")
    if clean(r["pmid"]):
        lines.append(f"C2  - {r['pmid']}")  # Scopus puts the PubMed ID in C2 ("PubMed ID: ...")
    lines += ["DB  - Scopus", "ER  - "]
    return lines


def wos_record(r: dict) -> list[str]:
    kind = "S" if r["publication_type"] == "conference abstract" else "J"
    lines = [f"PT {kind}"]
    authors = split_authors(r)
    lines += tag_block("AU", [f"{f}, {initials(g)}" if g else f for f, g in authors])
    lines += tag_block("AF", [f"{f}, {g}" if g else f for f, g in authors])
    lines.append(f"TI {r['title']}")
    abbrev = journal_abbrev(r)
    if abbrev:
        lines.append(f"SO {FULL_JOURNAL.get(abbrev, abbrev).upper()}")
        lines.append(f"JI {abbrev}")
    if clean(r["year"]):
        lines.append(f"PY {r['year']}")
    if clean(r["volume"]):
        lines.append(f"VL {r['volume']}")
    if clean(r["issue"]):
        lines.append(f"IS {r['issue']}")
    start, _, end = clean(r["pages"]).partition("-")
    if start and end:
        lines += [f"BP {start}", f"EP {end}"]
    elif start:
        lines.append(f"AR {start}")
    if clean(r["doi"]):
        lines.append(f"DI {r['doi'].upper()}")
    if clean(r["pmid"]):
        lines.append(f"PM {r['pmid']}")
    lines.append("ER")
    return lines


def tag_block(tag: str, values: list[str]) -> list[str]:
    return [f"{tag if i == 0 else '  '} {v}" for i, v in enumerate(values)]


OTHER_COLUMNS = ["id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
                 "url", "publication_type"]


def other_row(r: dict) -> dict:
    authors = "; ".join(f"{f}, {g}" if g else f for f, g in split_authors(r))
    url = clean(r["source_url"]).split(" ; ")[0]
    return {"id": r["record_id"], "title": r["title"], "authors": authors, "year": clean(r["year"]),
            "journal": journal_abbrev(r), "volume": clean(r["volume"]), "issue": clean(r["issue"]),
            "pages": clean(r["pages"]), "doi": clean(r["doi"]), "pmid": clean(r["pmid"]), "url": url,
            "publication_type": r["publication_type"]}


# ---------------------------------------------------------------- assignment
def assign_databases(r: dict) -> list[str]:
    kind = r["publication_type"]
    if kind in OTHER_METHOD_TYPES or kind not in JOURNAL_TYPES:
        return ["other"]
    dbs = []
    if clean(r["pmid"]):
        dbs.append("pubmed")
    indexable = bool(journal_abbrev(r) in FULL_JOURNAL or clean(r["doi"]))
    for db in ("scopus", "wos"):
        if indexable and covered(r["record_id"], db):
            dbs.append(db)
    return dbs or ["other"]


def render(source_dir: Path) -> dict[str, int]:
    with open(source_dir / "records.csv", newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    by_db: dict[str, list[dict]] = {"pubmed": [], "scopus": [], "wos": [], "other": []}
    for r in records:
        for db in assign_databases(r):
            by_db[db].append(r)
    OUT.mkdir(parents=True, exist_ok=True)
    write_text(OUT / "pubmed.nbib", "\n\n".join("\n".join(medline_record(r)) for r in by_db["pubmed"]) + "\n")
    write_text(OUT / "scopus.ris", "\ufeff" + "\n".join("\n".join(ris_record(r)) + "\n" for r in by_db["scopus"]))
    wos = ["FN Clarivate Analytics Web of Science", "VR 1.0"]
    for r in by_db["wos"]:
        wos += wos_record(r) + [""]
    wos.append("EF")
    write_text(OUT / "wos.txt", "\r\n".join(wos) + "\r\n")
    with open(OUT / "other_sources.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=OTHER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(other_row(r) for r in by_db["other"])
    overrides = OUT / "dedup_overrides.csv"
    if not overrides.exists():
        write_text(overrides, "record_a,record_b,decision,reason\n")
    return {db: len(rs) for db, rs in by_db.items()}


def write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "irl-review"
    counts = render(src)
    print(", ".join(f"{db}: {n}" for db, n in counts.items()), f"(total rows {sum(counts.values())})")
