"""MEDLINE, RIS, WoS and Ovid parsers (the line-tagged family)."""

import pytest

from metasr.errors import InputError
from metasr.records.detect import parse_export


def test_medline_fields(fixtures):
    _, records = parse_export(fixtures / "pubmed_medline_10.nbib")
    first = records[0]
    assert first["pmid"] == "29952495"
    assert first["authors"] == "Wörmann, Bernhard"  # FAU preferred over AU
    assert first["title"].startswith("Breast cancer: basics, screening")
    assert first["pages"] == "55-64" and first["volume"] == "40" and first["issue"] == "2"
    assert "Stage at diagnosis" in first["abstract"]  # continuation lines joined
    assert any(r["doi"] for r in records)


def test_ris_fields_and_pmid_dialects(fixtures):
    _, scopus = parse_export(fixtures / "scopus_9.ris")
    assert scopus[0]["doi"] == "10.3390/ani15010003" and scopus[0]["database"] == "Scopus"
    assert scopus[-1]["pmid"] == "39243807"  # Scopus puts the PubMed ID in C2
    _, wos = parse_export(fixtures / "wos_25.ris")
    assert wos[0]["pages"] == "134-137" and wos[0]["accession"].startswith("WOS:")
    _, endnote = parse_export(fixtures / "endnote_ris_20.txt")
    assert not any(r["pmid"].startswith("PMC") for r in endnote)


def test_ris_pmcid_in_c2_is_not_a_pmid(tmp_path):
    export = tmp_path / "endnote.ris"  # SYNTHETIC records: EndNote's C2 holds a PMCID
    export.write_text("TY  - JOUR\nTI  - A synthetic title\nC2  - PMC1234567\nDP  - NLM\nER  - \n\n"
                      "TY  - JOUR\nTI  - Another synthetic title\nC2  - PMC7654321\nAN  - 12345678\nDP  - NLM\n"
                      "ER  - \n", encoding="utf-8")
    _, (first, second) = parse_export(export)
    assert first["pmid"] == "" and second["pmid"] == "12345678"


def _ris(fields: str) -> str:
    return f"TY  - JOUR\nTI  - A SYNTHETIC record\n{fields}ER  - \n"


@pytest.mark.parametrize("fields, pmid", [
    ("DB  - Embase\nDP  - Ovid Technologies\nAN  - 625123456\n", ""),  # Ovid Embase's own number
    ("DB  - Embase\nAN  - 2001234567\n", ""),
    ("DB  - Embase\nC2  - 625123456\n", ""),
    ("DB  - CINAHL Complete\nDP  - EBSCOhost\nAN  - 109876543\n", ""),
    ("DB  - APA PsycInfo\nAN  - 201912345\n", ""),
    ("DB  - Ovid MEDLINE(R) ALL\nDP  - Ovid Technologies\nAN  - 30412345\n", "30412345"),
    ("DB  - MEDLINE\nDP  - EBSCOhost\nAN  - 30412345\n", "30412345"),
    ("DP  - NLM\nAN  - 30412345\n", "30412345"),  # EndNote, from PubMed
    ("DP  - National Library of Medicine\nAN  - 30412345\n", "30412345"),
    ("DP  - NCBI\nAN  - 30412345\n", "30412345"),
    ("DB  - cmedm\nDP  - EBSCOhost\nAN  - 30412345\n", "30412345"),  # EBSCO's MEDLINE Complete code
    ("DB  - Scopus\nC2  - 30412345\n", "30412345"),  # Scopus's PubMed ID field
    ("DB  - Scopus\nAN  - 30412345\n", ""),
    ("AN  - 30412345\n", ""),  # no database named: not trusted (a warning says so)
])
def test_ris_an_is_a_pmid_only_in_a_pubmed_record(tmp_path, fields, pmid):
    """Embase's, CINAHL's and PsycINFO's accession numbers are digits too: read as PMIDs, they
    kept an Embase record apart from its PubMed duplicate (identifier_conflict)."""
    export = tmp_path / "export.ris"  # SYNTHETIC record
    export.write_text(_ris(fields), encoding="utf-8")
    _, [record] = parse_export(export)
    assert record["pmid"] == pmid


def test_ris_numbers_without_a_known_database_are_a_warning_unless_the_config_names_pubmed(tmp_path, caplog):
    from metasr.records.pipeline import parse_file

    export = tmp_path / "export.ris"  # SYNTHETIC records
    export.write_text(_ris("DB  - Embase\nAN  - 625123456\n") + "\n" + _ris("AN  - 625123457\n") + "\n"
                      + _ris("DB  - Some library catalogue\nAN  - 625123458\n"), encoding="utf-8")
    with caplog.at_level("WARNING"):
        rows = parse_file(export, source="mendeley", database="Mendeley library")
    [warning] = [r.getMessage() for r in caplog.records]
    assert "2 record(s)" in warning and "row 7" in warning and "database: PubMed" in warning
    assert [r["pmid"] for r in rows] == ["", "", ""]
    caplog.clear()
    with caplog.at_level("WARNING"):  # the reviewer says the file is PubMed's: its numbers are PMIDs
        rows = parse_file(export, source="mendeley", database="PubMed")
    assert not caplog.records and [r["pmid"] for r in rows] == ["", "625123457", "625123458"]


def test_an_embase_record_merges_with_its_pubmed_duplicate(tmp_path):
    """The reproduction: an Embase AN of 9 digits was read as a PMID that differed from the
    PubMed record's, and the two records of one article stayed apart."""
    from metasr.records.pipeline import DedupFiles, dedup_records

    embase = tmp_path / "embase.ris"  # SYNTHETIC records
    embase.write_text("TY  - JOUR\nDB  - Embase\nAN  - 625999999\nT1  - Aerobic exercise for depression in "
                      "older adults: A randomized controlled trial\nA1  - Smith J.\nY1  - 2018//\n"
                      "JF  - Journal of Affective Disorders\nDO  - https://dx.doi.org/10.1016/j.jad.2018.10.123\n"
                      "ER  - \n", encoding="utf-8")
    pubmed = tmp_path / "pubmed.nbib"
    pubmed.write_text("PMID- 30412345\nDP  - 2019 Feb 15\nTI  - Aerobic exercise for depression in older "
                      "adults: a randomized controlled\n      trial.\nLID - 10.1016/j.jad.2018.10.123 [doi]\n"
                      "FAU - Smith, John\nJT  - Journal of Affective Disorders\nSO  - J Affect Disord. 2019.\n",
                      encoding="utf-8")
    counts = dedup_records([embase, pubmed], DedupFiles.in_folder(tmp_path / "records"))
    assert counts["duplicates"] == 1


def test_ris_doi_in_m3_is_the_doi_and_not_the_type(tmp_path):
    export = tmp_path / "endnote.ris"  # SYNTHETIC record: EndNote puts the DOI in M3
    export.write_text("TY  - JOUR\nTI  - A synthetic title\nPY  - 2002\nM3  - 10.1000/Synth.1\nER  - \n\n"
                      "TY  - JOUR\nTI  - Another synthetic title\nPY  - 2003\nM3  - Journal Article\n"
                      "UR  - https://doi.org/10.1000/related\nER  - \n", encoding="utf-8")
    _, (first, second) = parse_export(export)
    assert first["doi"] == "10.1000/Synth.1" and first["publication_type"] == "JOUR"
    assert second["doi"] == "" and second["publication_type"] == "Journal Article"


def test_wos_authors_one_per_line(fixtures):
    _, records = parse_export(fixtures / "wos_tagged_12.txt")
    assert records[0]["authors"].split("; ")[:2] == ["Asampong, Emmanuel",
                                                     "Gyeke, Mavis Dako Plusminus"]
    assert records[0]["pmid"] == "29377890" and records[0]["pages"] == "e0006219"
    assert records[0]["title"].endswith("affected by leprosy in Ghana")


def test_ovid_source_field(fixtures):
    _, records = parse_export(fixtures / "embase_ovid_endnote_2.cgi")
    first = records[0]
    assert first["journal"] == "BMC Proceedings" and first["volume"] == "12"
    assert first["publication_type"] == "Conference Abstract"
    assert first["year"] == "2018" and first["database"] == "Embase"
    assert "Conclusion(s)" in first["abstract"]  # bare continuation lines


@pytest.mark.parametrize("database, pmid", [("Ovid MEDLINE(R) ALL", "30412345"), ("Embase", "")])
def test_ovid_unique_identifier_is_a_pmid_in_medline_only(tmp_path, database, pmid):
    export = tmp_path / "ovid.txt"  # SYNTHETIC record in Ovid's tagged layout
    export.write_text(f"<1. >\nVN  - Ovid Technologies\nDB  - {database}\nUI  - 30412345\n"
                      "TI  - A SYNTHETIC record\nSO  - Journal. 12 (3) (pp 55-64), 2018.\n", encoding="utf-8")
    _, [record] = parse_export(export)
    assert record["pmid"] == pmid


def _cut(text: str, marker: str) -> str:
    return text[: text.rindex(marker)]


@pytest.mark.parametrize("name, marker", [
    ("scopus_9.ris", "ER  -"),
    ("wos_tagged_12.txt", "ER"),
])
def test_missing_end_tag_names_file_and_record_line(fixtures, tmp_path, name, marker):
    text = (fixtures / name).read_text(encoding="utf-8-sig")
    path = tmp_path / name
    path.write_text(_cut(text, "\n" + marker) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    problem = err.value.problems[0]
    assert problem.file == str(path) and "end tag" in problem.message
    start_of_last = text.count("\n", 0, text.rindex("\nTY  -" if name.endswith(".ris")
                                                    else "\nPT ")) + 2
    assert problem.row == start_of_last


def test_ris_missing_end_before_next_record(fixtures, tmp_path):
    text = (fixtures / "scopus_9.ris").read_text(encoding="utf-8-sig")
    broken = text.replace("ER  -\n", "", 1)
    path = tmp_path / "broken.ris"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    assert err.value.problems[0].row == 1 and "no end tag" in err.value.problems[0].message
    assert "add its end line ('ER  - ') before line" in err.value.problems[0].hint


def test_broken_wos_field_names_its_line(fixtures, tmp_path):
    lines = (fixtures / "wos_tagged_12.txt").read_text(encoding="utf-8-sig").split("\n")
    lines.insert(10, "this line lost its tag")
    path = tmp_path / "broken.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    assert err.value.problems[0].row == 11


def test_a_medline_file_cut_inside_a_line_is_refused(fixtures, tmp_path):
    """MEDLINE has no end tag: a download cut short still splits into records, but it also cuts
    a line, and PubMed ends its exports with a line break."""
    text = (fixtures / "pubmed_medline_10.nbib").read_text(encoding="utf-8")
    last = text.rindex("PMID-")
    cut = text[: text.index("TI  -", last) + 20]
    path = tmp_path / "cut.nbib"
    path.write_text(cut, encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    [problem] = err.value.problems
    assert problem.row == cut[:last].count("\n") + 1 and "cut off" in problem.message


def test_a_medline_file_cut_at_a_line_end_is_a_warning(fixtures, tmp_path, caplog):
    """Cut at the end of a line, the last record lacks the SO line every PubMed record ends with;
    a record added by hand may lack it too, so this is a warning with the record's line."""
    text = (fixtures / "pubmed_medline_10.nbib").read_text(encoding="utf-8")
    last = text.rindex("PMID-")
    cut = text[: text.index("\n", text.index("TI  -", last)) + 1]
    path = tmp_path / "cut.nbib"
    path.write_text(cut, encoding="utf-8")
    with caplog.at_level("WARNING"):
        _, records = parse_export(path)
    assert len(records) == 10
    [warning] = [r.getMessage() for r in caplog.records]
    assert f"row {cut[:last].count(chr(10)) + 1}" in warning and "no SO (source) line" in warning


def test_an_unreadable_year_is_a_warning_with_its_line(fixtures, tmp_path, caplog):
    from metasr.records.pipeline import parse_file

    text = (fixtures / "scopus_9.ris").read_text(encoding="utf-8-sig")
    first_year = text.index("PY  - ")
    text = text[:first_year] + "PY  - abcd" + text[text.index("\n", first_year):]
    path = tmp_path / "year.ris"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level("WARNING"):
        rows = parse_file(path)
    assert rows[0]["year"] == ""
    [warning] = [r.getMessage() for r in caplog.records if "year" in r.getMessage()]
    assert str(path) in warning and "row 1" in warning and "'abcd'" in warning and "column 'year'" in warning
