"""What the database an export record names (RIS `DB`/`DP`, Ovid `DB`, EndNote XML's
remote-database fields) says about its accession number.

Only a MEDLINE/PubMed record's accession number is a PubMed id: PubMed's own (EndNote marks
records it fetched from PubMed `DP - NLM`), Ovid MEDLINE's `UI`/`AN`, EBSCO's MEDLINE `AN`.
Embase's accession number (Ovid `AN`, 9 or 10 digits), CINAHL's (9 digits) and the others are
numbers of their own that look like PMIDs. Read as one, such a number keeps true duplicates
apart (two PMIDs that differ are an identifier conflict) and lets a decision keyed by PMID land
on the wrong record.
"""

from __future__ import annotations

import re

# PubMed and MEDLINE by name, by their provider (NLM, NCBI), and EBSCO's MEDLINE database codes
# (cmedm, mdc, mnh), which EBSCO's RIS writes in DB.
_PUBMED = re.compile(r"\b(?:pubmed|medline|nlm|national library of medicine|ncbi|cmedm|mdc|mnh)\b", re.IGNORECASE)
# A database line that also names one of these is that database's record, with its own AN.
_OTHERS = re.compile(r"scopus|embase|cinahl|psyc|web of science|cochrane", re.IGNORECASE)


def names_pubmed(names: list[str]) -> bool:
    """Whether a record's database names (and providers) say it is a MEDLINE/PubMed record."""
    text = " ".join(names)
    return bool(_PUBMED.search(text)) and not _OTHERS.search(text)


def names_other(names: list[str]) -> bool:
    """Whether they name a database whose accession numbers are its own (Embase, CINAHL, ...)."""
    return bool(_OTHERS.search(" ".join(names)))
