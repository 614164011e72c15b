"""BibTeX, CSV and EndNote XML parsers."""

import pytest

from metasr.errors import InputError
from metasr.records.detect import parse_export
from metasr.records.formats.bibtex import decode_latex


def test_bibtex_fields(fixtures):
    _, records = parse_export(fixtures / "zotero_20.bib")
    first = records[0]
    assert first["title"] == ("Microangiography of the humeral condyle in Cocker Spaniel and "
                              "non-Cocker Spaniel dogs")
    assert first["authors"] == "Larsen, LJ; Roush, JK; McLaughlin, RM; Cash, WC"
    assert first["line"] == 2 and first["year"] == "1999"


@pytest.mark.parametrize("latex, text", [
    ('M{\\"u}ller', "Müller"), ("Fran{\\c c}ois", "François"), ("A \\& B", "A & B"),
    ("{\\textgreater}5", ">5"), ("{IgG}", "IgG"), ("Ã{\\'e}", "Ãé"),
    # formatting commands keep their text; math its symbols (normalise folds α to 'alpha')
    ("\\textit{In vivo} lesions", "In vivo lesions"), ("in {\\emph{vivo}}", "in vivo"),
    ("\\textbf{Rims} and \\textsc{iron}", "Rims and iron"), ("{\\it in vitro}", "in vitro"),
    ("$\\alpha$-synuclein", "α-synuclein"), ("${\\beta}$-amyloid", "β-amyloid"),
    ("TNF-$\\alpha$ \\& IL-1$\\beta$ at 50\\%", "TNF-α & IL-1β at 50%"),
    ("costs \\$5 or \\$6", "costs $5 or $6"),
])
def test_latex_decoding(latex, text):
    assert decode_latex(latex) == text


def test_bibtex_broken_entry(tmp_path):
    path = tmp_path / "broken.bib"
    path.write_text("@article{a,\n  title = {One},\n  author = {X\n}\n\n"
                    "@article{b,\n  title = {Two}\n}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    assert err.value.problems[0].row == 1 and err.value.problems[0].file == str(path)


def test_zotero_csv_fields(fixtures):
    _, records = parse_export(fixtures / "zotero_20.csv")
    first = records[0]
    assert first["doi"] == "10.1111/jvim.16404" and first["pmid"] == "35319117"  # from Extra
    assert first["journal"] == "Journal of veterinary internal medicine"


def test_latin1_csv_with_na_cells(fixtures):
    _, records = parse_export(fixtures / "diabetes_latin1_30.csv")
    assert records[4]["doi"] == ""  # "NA" is empty
    assert records[0]["issue"] == "3" and records[0]["pages"] == "221-8"


def test_csv_mapping_and_errors(tmp_path):
    path = tmp_path / "generic.csv"  # synthetic
    path.write_text("Name,Heading,When\nA,First paper,2020\nB,Second paper,2021\n")
    with pytest.raises(InputError, match="unknown export format"):
        parse_export(path)
    path.write_text("ref,title,yr\nA,First paper,2020\nB,Second paper,2021\n")
    _, records = parse_export(path, mapping={"year": "yr", "accession": "ref"})
    assert [r["year"] for r in records] == ["2020", "2021"] and records[1]["accession"] == "B"
    with pytest.raises(InputError, match="not in the file"):
        parse_export(path, mapping={"year": "missing"})
    path.write_text("title,year\n\"Fine\",2020\n\"Broken, \"quoted\",x,y,z\n")
    with pytest.raises(InputError) as err:
        parse_export(path)
    assert err.value.problems[0].row == 3


def test_csv_record_lines_count_multiline_fields(tmp_path):
    path = tmp_path / "multi.csv"  # synthetic
    path.write_text('title,abstract\n"One","line 1\nline 2"\n"Two",""\n')
    _, records = parse_export(path)
    assert [r["line"] for r in records] == [2, 4]


def test_endnote_xml_fields(fixtures):
    _, records = parse_export(fixtures / "zotero_endnote_15.xml")
    assert records[0]["title"] == "Myoclonus in older Cavalier King Charles Spaniels."
    assert records[0]["authors"].startswith("Rotter, C")
    assert records[0]["doi"] == "10.1111/jvim.16404"


def test_endnote_xml_truncated(fixtures, tmp_path):
    text = (fixtures / "zotero_endnote_15.xml").read_text(encoding="utf-8")
    path = tmp_path / "cut.xml"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path)
    assert err.value.problems[0].file == str(path) and err.value.problems[0].row >= 1


@pytest.mark.parametrize("declaration", ['<!ENTITY a "aaaaaaaaaa">\n <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">',
                                         '<!ENTITY xxe SYSTEM "file:///etc/hostname">'])
def test_endnote_xml_entity_declarations_are_refused(tmp_path, declaration):
    path = tmp_path / "entities.xml"  # SYNTHETIC export
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE xml [\n {declaration}\n]>\n<xml><records><record>'
                    "<titles><title>&b;</title></titles></record></records></xml>\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_export(path, fmt="endnote_xml")
    (problem,) = err.value.problems
    assert "entities" in problem.message and "not allowed" in problem.message and problem.row == 3
    assert "cut off" not in problem.hint


def test_endnote_numbers_that_never_repeat_are_record_ids(tmp_path):
    path = tmp_path / "ids.xml"  # synthetic: 30 records numbered like a database's record ids
    body = "".join(f"<record><titles><title>T{i}</title></titles><number>{100 + i}</number>"
                   "</record>" for i in range(30))
    path.write_text(f"<xml><records>{body}</records></xml>", encoding="utf-8")
    _, records = parse_export(path)
    assert {r["issue"] for r in records} == {""}
    path.write_text("<xml><records>" + "".join(
        f"<record><titles><title>T{i}</title></titles><number>{i % 4 + 1}</number></record>"
        for i in range(30)) + "</records></xml>", encoding="utf-8")
    _, records = parse_export(path)
    assert {r["issue"] for r in records} == {"1", "2", "3", "4"}


def test_endnote_number_that_is_a_record_id_is_not_an_issue(tmp_path):
    path = tmp_path / "numbers.xml"  # synthetic
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><xml><records>'
                    "<record><titles><title>A</title></titles><number>1113</number></record>"
                    "<record><titles><title>B</title></titles><number>4</number></record>"
                    "</records></xml>", encoding="utf-8")
    _, records = parse_export(path)
    assert [r["issue"] for r in records] == ["", "4"]


@pytest.mark.parametrize("provider, pmid", [
    ("<remote-database-provider>NLM</remote-database-provider>", "30412345"),
    ("<remote-database-name>Ovid MEDLINE(R)</remote-database-name>", "30412345"),
    ("<remote-database-name>Embase</remote-database-name>"
     "<remote-database-provider>Ovid Technologies</remote-database-provider>", ""),
    ("", ""),  # no database named: the number may be any database's accession number
])
def test_endnote_xml_accession_is_a_pmid_only_from_pubmed(tmp_path, provider, pmid):
    path = tmp_path / "library.xml"  # SYNTHETIC record
    path.write_text("<xml><records><record><titles><title>A SYNTHETIC record</title></titles>"
                    f"<accession-num>30412345</accession-num>{provider}</record></records></xml>",
                    encoding="utf-8")
    _, [record] = parse_export(path)
    assert record["pmid"] == pmid and record["accession"] == "30412345"


def test_scopus_csv_columns(tmp_path):
    path = tmp_path / "scopus.csv"  # synthetic rows in Scopus's CSV layout
    path.write_text(
        '\ufeff"Authors","Author(s) ID","Title","Year","Source title","Volume","Issue",'
        '"Art. No.","Page start","Page end","DOI","Link","Abstract","PubMed ID",'
        '"Document Type","Source","EID"\n'
        '"Furlanello T.; Masti R.","1;2","Taurine in dogs","2025","Animals","15","1","3","","",'
        '"10.3390/ani15010003","https://x","Abstract.","","Article","Scopus","2-s2.0-1"\n'
        '"Absinta M.","3","Rim lesions","2019","JAMA Neurology","76","12","","1474","1483",'
        '"","","","31403674","Article","Scopus","2-s2.0-2"\n', encoding="utf-8")
    _, records = parse_export(path)
    assert [r["pages"] for r in records] == ["3", "1474-1483"]
    assert records[1]["pmid"] == "31403674" and records[0]["journal"] == "Animals"
    assert records[0]["authors"] == "Furlanello T.; Masti R." and records[1]["accession"] == "2-s2.0-2"


def test_bibtex_fields_joined_with_hash_are_joined_as_bibtex_joins_them(tmp_path):
    """`#` joins braced and quoted text, numbers and @string names (SYNTHETIC entries); a `#` inside
    a braced value is text, and a join naming an undefined @string stays as written."""
    from metasr.records.formats.bibtex import parse

    text = ('@string{jn = "Journal of Tests"}\n'
            '@article{a, title = {Part one} # " and two", journal = jn # " B", year = 2020}\n'
            '@article{b, title = {C# in practice}, journal = nosuch # " B", year = "20" # {21}}\n')
    a, b = parse(text, str(tmp_path / "x.bib"))
    assert (a["title"], a["journal"], a["year"]) == ("Part one and two", "Journal of Tests B", "2020")
    assert (b["title"], b["journal"], b["year"]) == ("C# in practice", 'nosuch # " B"', "2021")


def test_csv_quote_never_closed_is_an_error_naming_its_line(tmp_path):
    # Python's csv reader (not strict) read the rest of the file into the open cell: 3 records.
    path = tmp_path / "unclosed.csv"
    path.write_text('Authors,Title,Year,DOI\nSmith J,"Rims, iron",2020,10.1/abc\n'
                    'Lee M,Rims again,2021\nKim,"unclosed quote,2022,10.1/x\n'
                    'Park,Last,2023,10.1/y\n')
    with pytest.raises(InputError) as err:
        parse_export(path)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (str(path), 4, "Title")
    assert "never closed" in problem.message and '""' in problem.hint
    path.write_text('Authors\tTitle\nKim\t"a ""quoted"" word\nand a line break"\nLee\tPlain\n')
    assert [r["title"] for r in parse_export(path)[1]] == [
        'a "quoted" word\nand a line break', "Plain"]


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_csv_excels_separator_line_names_the_separator_and_is_no_line(tmp_path, separator):
    """SYNTHETIC list saved for Excel: a first line `sep=;` (Excel hides it, so the header is line 1)."""
    path = tmp_path / "list.csv"
    path.write_text(f"sep={separator}\r\n" + "\r\n".join(separator.join(cells) for cells in (
        ("title", "year", "doi"), ('"Rims, iron; tabs"', "2020", "10.1/a"), ("Rims again", "2021", "10.1/b"))) + "\r\n")
    export, records = parse_export(path)
    assert export.format == "csv"
    assert [(r["line"], r["title"], r["year"]) for r in records] == [(2, "Rims, iron; tabs", "2020"),
                                                                     (3, "Rims again", "2021")]


def test_covidence_csv_columns(tmp_path):
    path = tmp_path / "covidence.csv"  # synthetic, with the columns of Covidence's CSV export
    path.write_text(
        '"Title","Authors","Abstract","Published Year","Published Month","Journal","Volume",'
        '"Issue","Pages","Accession Number","DOI","Ref","Covidence #","Study","Notes","Tags"\n'
        '"Iron rim lesions predict disability","Smith, J. A.; Müller, J.","Background: PRL",'
        '"2020","Jul","Neurology","95","3","e123-e134","32000001","10.1212/WNL.012345","","#12",'
        '"Smith 2020","",""\n', encoding="utf-8")
    _, [record] = parse_export(path)
    assert record["year"] == "2020"  # 'Published Year' was not read
    assert (record["title"], record["authors"], record["abstract"], record["journal"]) == (
        "Iron rim lesions predict disability", "Smith, J. A.; Müller, J.", "Background: PRL",
        "Neurology")
    assert (record["volume"], record["issue"], record["pages"], record["doi"]) == (
        "95", "3", "e123-e134", "10.1212/WNL.012345")
    assert record["accession"] == "32000001"


def test_bibtex_title_with_formatting_commands(tmp_path):
    path = tmp_path / "markup.bib"
    path.write_text("@article{k,\n  author = {Garc\\'{\\i}a, Mar\\'ia},\n"
                    "  title = {\\textit{In vivo} imaging of $\\alpha$-synuclein at 7{T}},\n"
                    "  journal = {Radiology}, year = {2021}, pages = {400--409}\n}\n",
                    encoding="utf-8")
    [record] = parse_export(path)[1]
    assert record["title"] == "In vivo imaging of α-synuclein at 7T"
    assert record["authors"] == "García, María" and record["pages"] == "400–409"
