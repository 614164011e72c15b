"""Identifier normalisation and key resolution (records are SYNTHETIC)."""

from __future__ import annotations

from metasr.screening.keys import (
    KeyIndex,
    normalise_doi,
    normalise_pmid,
    normalise_title,
    normalise_year,
    resolve,
)


def test_normalisation():
    assert normalise_doi(" https://doi.org/10.1001/JAMA.2019.1 ") == "10.1001/jama.2019.1"
    assert normalise_doi("doi: 10.1/X") == "10.1/x"
    assert normalise_pmid("31403674.0") == "31403674"
    assert normalise_pmid("PMID: 123") == "123"
    assert normalise_title("  Iron-rim  lesions: a Révïew! ") == "iron rim lesions a review"
    assert normalise_year("2019 Feb") == "2019" and normalise_year("n.d.") == ""
    for link in ("https://www.doi.org/10.1/X", "doi.org/10.1/x", "https://doi.org/10.1%2Fx", "http://dx.doi.org/10.1/x"):
        assert normalise_doi(link) == "10.1/x", link
    assert normalise_title("Brain &amp; cord: QSM&#8211;FLAIR") == normalise_title("Brain & cord: QSM-FLAIR")


def test_a_record_id_row_with_entities_or_a_doi_link_still_describes_its_record():
    # screening tools and spreadsheets write titles with HTML entities and DOIs as links
    row = {"record_id": "scopus:0", "title": "&#65;lpha&#8211;", "doi": "https://www.doi.org/10.1%2FA"}
    assert resolve(row, INDEX).cluster_id == "c1"


RECORDS = [  # synthetic
    {"record_id": "pubmed:0", "doi": "10.1/a", "pmid": "1", "title": "Alpha", "year": "2020", "cluster_id": "c1"},
    {"record_id": "scopus:0", "doi": "10.1/a", "pmid": "", "title": "Alpha.", "year": "2020", "cluster_id": "c1"},
    {"record_id": "pubmed:1", "doi": "10.1/b", "pmid": "2", "title": "Shared title", "year": "2021",
     "cluster_id": "c2"},
    {"record_id": "web:0", "doi": "", "pmid": "", "title": "Shared title", "year": "2021", "cluster_id": "c3"},
]
INDEX = KeyIndex.from_records(RECORDS)


def test_resolves_by_any_member_and_in_order():
    assert resolve({"doi": "10.1/A"}, INDEX).cluster_id == "c1"
    assert resolve({"pmid": "1"}, INDEX).cluster_id == "c1"
    assert resolve({"title": "ALPHA", "year": "2020"}, INDEX).cluster_id == "c1"
    assert resolve({"record_id": "scopus:0"}, INDEX).cluster_id == "c1"
    # an unknown DOI falls back to the next identifier
    assert resolve({"doi": "10.9/zzz", "pmid": "2"}, INDEX).cluster_id == "c2"
    # a DOI decides even when the title alone would be ambiguous
    assert resolve({"doi": "10.1/b", "title": "Shared title", "year": "2021"}, INDEX).cluster_id == "c2"


def test_errors():
    assert resolve({"title": "Shared title", "year": "2021"}, INDEX).error == "ambiguous"
    assert resolve({"title": "Alpha", "year": "1999"}, INDEX).error == "unknown"
    assert resolve({"notes": "x"}, INDEX).error == "no_key"
    assert resolve({"doi": "10.1/a", "pmid": "2"}, INDEX).error == "inconsistent"


def test_a_record_id_row_must_describe_the_record_at_that_id():
    """record_ids are positions in an export: re-exported in another order, 'web:0' names another
    paper. A row that also gives the title (or DOI, PMID, year) of its paper is refused then,
    rather than its decision silently moved onto the other paper."""
    moved = resolve({"record_id": "web:0", "title": "Alpha", "decision": "exclude"}, INDEX)
    assert (moved.error, moved.cluster_id, moved.column, moved.value) == ("moved", None, "title", "Alpha")
    assert "record_id 'web:0' now names 'Shared title' (cluster c3)" in moved.detail
    assert "title 'Alpha' where the record has 'Shared title'" in moved.detail
    assert resolve({"record_id": "pubmed:1", "doi": "10.1/zzz"}, INDEX).column == "doi"
    assert resolve({"record_id": "pubmed:1", "pmid": "PMID: 1"}, INDEX).column == "pmid"
    assert resolve({"record_id": "pubmed:0", "title": "Alpha", "year": "2019"}, INDEX).column == "year"


def test_a_record_id_row_may_describe_any_version_of_its_record():
    # the title as de-duplication compares it (case, punctuation, a MEDLINE annotation), of any
    # record of the cluster; a value the cluster's records do not give cannot differ
    assert resolve({"record_id": "scopus:0", "title": "ALPHA [Erratum in: J X. 2021]", "doi": "doi:10.1/A",
                    "pmid": "1", "year": "2020"}, INDEX).cluster_id == "c1"
    assert resolve({"record_id": "web:0", "title": "Shared title", "doi": "10.9/not-in-the-export"},
                   INDEX).cluster_id == "c3"
