import re

import pytest

from metasr.errors import InputError
from metasr.records.detect import parse_export, read_export

# Counts checked independently: grep -c '^ER' / '^PMID-' / '^@' / '<record>' / csv rows.
FIXTURE_COUNTS = {
    "pubmed_medline_10.nbib": ("medline", 10),
    "wos_tagged_12.txt": ("wos", 12),
    "scopus_9.ris": ("ris", 10),
    "wos_25.ris": ("ris", 25),
    "endnote_ris_20.txt": ("ris", 20),
    "embase_ovid_endnote_2.cgi": ("ovid", 2),
    "embase_ovid_citavi_2.ovd": ("ovid", 2),
    "zotero_20.bib": ("bibtex", 20),
    "zotero_20.csv": ("csv", 20),
    "zotero_endnote_15.xml": ("endnote_xml", 15),
    "diabetes_latin1_30.csv": ("csv", 30),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_COUNTS))
def test_fixture_format_and_count(fixtures, name):
    export, records = parse_export(fixtures / name)
    assert (export.format, len(records)) == FIXTURE_COUNTS[name]
    assert all(r["title"] for r in records)
    lines = [int(r["line"]) for r in records]
    assert lines == sorted(lines) and lines[0] >= 1


def test_format_comes_from_content_not_extension(fixtures, tmp_path):
    renamed = tmp_path / "export.txt"
    renamed.write_bytes((fixtures / "scopus_9.ris").read_bytes())
    assert read_export(renamed).format == "ris"
    renamed.write_bytes((fixtures / "zotero_endnote_15.xml").read_bytes())
    assert read_export(renamed).format == "endnote_xml"


def test_latin1_is_decoded(fixtures):
    export, records = parse_export(fixtures / "diabetes_latin1_30.csv")
    assert export.encoding in ("cp1252", "latin-1")
    assert "\ufffd" not in export.text


def test_bom_and_crlf_are_removed(fixtures):
    export = read_export(fixtures / "endnote_ris_20.txt")
    assert not export.text.startswith("\ufeff") and "\r" not in export.text


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"PK\x03\x04\x00\x00binary", "binary"),
    (b"just some notes\nnothing tagged here\n", "unknown export format"),
])
def test_unusable_files_are_input_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        parse_export(path)
    problem = err.value.problems[0]
    assert message in problem.message and problem.file == str(path) and problem.row == 1


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        parse_export(tmp_path / "nope.ris")


@pytest.mark.parametrize("name", ["scopus_9.ris", "zotero_endnote_15.xml", "wos_tagged_12.txt"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_exports_with_a_byte_order_mark_are_read(fixtures, tmp_path, name,
                                                                  encoding):
    # EndNote saves XML as UTF-16 (and says so in its declaration); Notepad's 'Unicode'.
    text = (fixtures / name).read_text(encoding="utf-8-sig")
    if name.endswith(".xml"):
        text = re.sub(r'encoding="[^"]*"', 'encoding="UTF-16"', text, count=1)
    path = tmp_path / name
    bom = "" if encoding == "utf-32" else "\ufeff"  # the utf-32 codec writes its own
    path.write_bytes((bom + text).encode(encoding))
    export, records = parse_export(path)
    _, expected = parse_export(fixtures / name)
    assert export.encoding == encoding[:6] and records == expected


def test_utf16_without_a_byte_order_mark_is_binary(fixtures, tmp_path):
    path = tmp_path / "utf16.ris"
    path.write_bytes((fixtures / "scopus_9.ris").read_text(encoding="utf-8-sig")
                     .encode("utf-16-le"))
    with pytest.raises(InputError, match="binary"):
        parse_export(path)


def test_a_dos_end_of_file_mark_is_ignored(fixtures, tmp_path):
    path = tmp_path / "ctrlz.ris"
    path.write_bytes((fixtures / "scopus_9.ris").read_bytes().replace(b"\n", b"\r\n") + b"\x1a")
    assert len(parse_export(path)[1]) == len(parse_export(fixtures / "scopus_9.ris")[1])


def test_binary_bytes_inside_a_marked_utf8_export_are_reported_at_their_line(fixtures, tmp_path):
    """A Scopus RIS starts with a UTF-8 mark: a bad byte in it is damage (reported where it is),
    not a reason to read the file as Windows-1252 and garble the mark into 'ï»¿' on line 1."""
    data = (fixtures / "scopus_9.ris").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.split(b"\n")
    lines[40] = lines[40] + b"\x89PNG\xff"
    path = tmp_path / "damaged.ris"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError) as err:
        parse_export(path)
    [problem] = err.value.problems
    assert problem.row == 41 and "0x89" in problem.message and "ï»¿" not in (problem.value or "")


def test_control_bytes_in_the_middle_of_an_export_are_binary(fixtures, tmp_path):
    text = (fixtures / "pubmed_medline_10.nbib").read_text(encoding="utf-8")
    lines = text.split("\n")
    lines[200] = "\x01\x02\x03" + lines[200]
    path = tmp_path / "binary.nbib"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    assert err.value.problems[0].row == 201 and "binary" in err.value.problems[0].message


def test_the_configs_format_names_are_the_parsers():
    from metasr.config import load_schema
    from metasr.records.detect import FORMATS
    from metasr.records.pipeline import AUTO

    schema = load_schema()
    source = schema["properties"]["search"]["properties"]["sources"]["additionalProperties"]
    assert set(source["properties"]["format"]["enum"]) == {AUTO, *FORMATS}


def test_a_leading_blank_line_does_not_hide_a_web_of_science_export(fixtures, tmp_path):
    path = tmp_path / "wos.txt"
    path.write_text("\n" + (fixtures / "wos_tagged_12.txt").read_text(encoding="utf-8-sig"), encoding="utf-8")
    assert read_export(path).format == "wos"


@pytest.mark.parametrize("export, line", [
    ("TY  - JOUR\nTI  - A real title\nER  - \n\nTY  - JOUR\nER  - \n", 5),  # SYNTHETIC: an empty RIS record
    ("TY  - JOUR\nER  - \nTY  - JOUR\nTI  - A real title\nER  - \nTY  - BOOK\nER  - \n", 1),  # SYNTHETIC
    ("@article{real2020,\n  title = {A real title},\n  year = {2020}\n}\n\n@article{key2021,\n}\n", 6),  # a key alone
])
def test_an_empty_record_is_refused_at_its_line(tmp_path, export, line):
    path = tmp_path / "export.txt"
    path.write_text(export)
    with pytest.raises(InputError) as info:
        parse_export(path)
    problem = info.value.problems[0]
    assert problem.rule == "empty record" and problem.row == line and problem.file == str(path)
    assert len(info.value.problems) == export.count("TY  - ") + export.count("@") - export.count("TI  - ") \
        - export.count("title =")


def test_a_stray_byte_in_a_utf8_export_is_an_encoding_error_at_its_line(tmp_path):
    path = tmp_path / "mixed.ris"  # SYNTHETIC: UTF-8 names, one Latin-1 byte on line 6
    path.write_bytes("TY  - JOUR\nTI  - Lesions\nAU  - Müller, A.\nER  - \n\nTY  - JOUR\nER  - \n".encode()
                     .replace(b"TY  - JOUR\nER", b"TY  - JOUR\xe9\nER"))
    with pytest.raises(InputError) as info:
        read_export(path)
    [problem] = info.value.problems
    assert problem.rule == "encoding" and problem.row == 6 and "line 6 holds" in problem.message


def test_a_consistent_cp1252_export_is_read_and_the_encoding_said(tmp_path, caplog):
    from metasr.records.pipeline import parse_file

    path = tmp_path / "legacy.ris"  # SYNTHETIC
    path.write_bytes("TY  - JOUR\nTI  - Lésions\nAU  - Müller, A.\nER  - \n".encode("cp1252"))
    [row] = parse_file(path, source="legacy")
    assert row["authors"].startswith("Müller") and "read as cp1252" in caplog.text


@pytest.mark.parametrize("text, advice", [
    ("TY - JOUR\nTI - One space tags\nER - \n", "two spaces before the dash"),
    ('<?xml version="1.0" ?>\n<PubmedArticleSet>\n<PubmedArticle><MedlineCitation>'
     "<PMID>32000001</PMID></MedlineCitation></PubmedArticle>\n</PubmedArticleSet>\n",
     "Citation manager (a .nbib file"),
])
def test_near_miss_formats_say_how_to_export_them(tmp_path, text, advice):
    path = tmp_path / "export.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="unknown export format") as err:
        parse_export(path)
    assert advice in err.value.problems[0].hint
