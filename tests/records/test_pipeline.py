import csv
import filecmp
from pathlib import Path

import pytest

from metasr.errors import InputError
from metasr.records.pipeline import DedupFiles, dedup_records, ingest_records
from metasr.records.table import COLUMNS

REPO = Path(__file__).resolve().parents[2]


def read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_ingest_writes_the_contract_columns(fixtures, tmp_path):
    out = tmp_path / "parsed" / "pubmed.csv"
    assert ingest_records(fixtures / "pubmed_medline_10.nbib", out, "pubmed", "PubMed") == 10
    rows = read(out)
    assert list(rows[0]) == COLUMNS
    assert rows[3]["record_id"] == "pubmed:3" and rows[3]["source_index"] == "3"
    assert {r["database"] for r in rows} == {"PubMed"} and rows[0]["format"] == "medline"
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_ingest_of_a_malformed_file_writes_nothing(fixtures, tmp_path):
    bad = tmp_path / "cut.ris"
    text = (fixtures / "scopus_9.ris").read_text(encoding="utf-8-sig")
    bad.write_text(text[: text.rindex("ER  -")], encoding="utf-8")
    out = tmp_path / "parsed" / "scopus.csv"
    with pytest.raises(InputError):
        ingest_records(bad, out, "scopus", "Scopus")
    assert not out.exists()


def _parsed(fixtures, tmp_path):
    sources = {"wos": "wos_25.ris", "zotero": "zotero_20.bib", "endnote": "zotero_endnote_15.xml",
               "csv": "zotero_20.csv"}
    paths = []
    for source, name in sources.items():
        path = tmp_path / "parsed" / f"{source}.csv"
        ingest_records(fixtures / name, path, source, "")
        paths.append(path)
    return paths


def test_dedup_outputs_conserve_records_and_are_deterministic(fixtures, tmp_path):
    paths = _parsed(fixtures, tmp_path)
    summary = dedup_records(paths, DedupFiles.in_folder(tmp_path / "a"))
    dedup_records(paths[::-1], DedupFiles.in_folder(tmp_path / "b"), overrides_csv=tmp_path / "missing.csv")
    for name in ("records.csv", "unique.csv", "audit.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False)
    records, unique = read(tmp_path / "a" / "records.csv"), read(tmp_path / "a" / "unique.csv")
    assert len(records) == 25 + 20 + 15 + 20 == summary["records"]
    duplicates = sum(r["is_primary"] == "False" for r in records)
    assert len(records) == len(unique) + duplicates
    assert len(read(tmp_path / "a" / "audit.csv")) == duplicates  # one link per removed record
    # The Zotero CSV and EndNote XML fixtures hold the same library's first 20 / 15 items.
    by_cluster = {}
    for r in records:
        by_cluster.setdefault(r["cluster_id"], set()).add(r["source"])
    assert sum(1 for s in by_cluster.values() if {"csv", "endnote"} <= s) == 15


def test_header_only_overrides_change_nothing(fixtures, tmp_path):
    paths = _parsed(fixtures, tmp_path)
    empty = tmp_path / "overrides.csv"
    empty.write_text("record_a,record_b,decision\n")
    dedup_records(paths, DedupFiles.in_folder(tmp_path / "a"))
    dedup_records(paths, DedupFiles.in_folder(tmp_path / "b"), overrides_csv=empty)
    assert filecmp.cmp(tmp_path / "a" / "records.csv", tmp_path / "b" / "records.csv", False)


def test_override_distinct_splits_a_cluster(fixtures, tmp_path):
    paths = _parsed(fixtures, tmp_path)
    dedup_records(paths, DedupFiles.in_folder(tmp_path / "a"))
    audit = read(tmp_path / "a" / "audit.csv")
    link = audit[0]
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(f"record_a,record_b,decision\n{link['record_id']},{link['linked_to']},"
                         "distinct\n")
    dedup_records(paths, DedupFiles.in_folder(tmp_path / "b"), overrides_csv=overrides)
    clusters = {r["record_id"]: r["cluster_id"] for r in read(tmp_path / "b" / "records.csv")}
    assert clusters[link["record_id"]] != clusters[link["linked_to"]]
    assert any(r["override"] == "distinct" for r in read(tmp_path / "b" / "audit.csv"))


def test_overrides_contradicting_through_other_records_name_the_file(tmp_path):
    from metasr.records.pipeline import dedup_rows

    base = {"authors": "", "year": "", "journal": "", "volume": "", "issue": "", "pages": "",
            "doi": "", "pmid": "", "abstract": "", "publication_type": "", "database": ""}
    rows = [{**base, "record_id": f"s:{i}", "title": title} for i, title in
            enumerate(["First distinct work about rims", "Second one, other", "Third paper"])]
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,decision\ns:0,s:1,same\ns:1,s:2,same\ns:0,s:2,distinct\n")
    with pytest.raises(InputError) as err:
        dedup_rows(rows, path)
    [problem] = err.value.problems
    assert problem.file == str(path) and "'distinct' overrides" in problem.message


def test_duplicate_source_names_are_refused(fixtures, tmp_path):
    path = tmp_path / "wos.csv"
    ingest_records(fixtures / "wos_25.ris", path, "wos", "")
    copy = tmp_path / "wos_copy.csv"  # another file naming the same source
    copy.write_bytes(path.read_bytes())
    with pytest.raises(InputError, match="appears in two inputs|record_id appears twice"):
        dedup_records([path, copy], DedupFiles.in_folder(tmp_path / "out"))


def test_review_exports_parse_and_deduplicate(tmp_path):
    search = REPO / "data" / "search"
    exports = [search / n for n in ("pubmed.nbib", "scopus.ris", "wos.txt", "other_sources.csv")]
    if not all(p.exists() for p in exports):
        pytest.skip("the review's exports are not in data/search yet")
    overrides = search / "dedup_overrides.csv"
    summary = dedup_records(exports, DedupFiles.in_folder(tmp_path), overrides if overrides.exists() else None)
    assert summary["records"] == summary["unique"] + summary["duplicates"]
    assert summary["unique"] < summary["records"]


def test_one_export_declared_as_two_sources_is_refused(fixtures, tmp_path):
    """Two config entries naming one file give two parsed tables under two source names: its
    records would be counted twice in PRISMA's 'identified' (182 instead of 139 in the report)."""
    first, second = tmp_path / "parsed" / "scopus.csv", tmp_path / "parsed" / "scopus_again.csv"
    ingest_records(fixtures / "scopus_9.ris", first, "scopus", "Scopus")
    ingest_records(fixtures / "scopus_9.ris", second, "scopus_again", "Scopus")
    out = tmp_path / "records"
    with pytest.raises(InputError) as err:
        dedup_records([first, second], DedupFiles.in_folder(out))
    [problem] = err.value.problems
    assert "'scopus' and 'scopus_again' are the same export" in problem.message
    assert problem.file == "scopus_9.ris" and "search.sources.scopus_again" in problem.hint
    assert not out.exists()


def test_a_copy_of_an_export_under_another_name_is_refused(fixtures, tmp_path):
    copy = tmp_path / "pubmed_again.nbib"
    copy.write_bytes((fixtures / "pubmed_medline_10.nbib").read_bytes())
    with pytest.raises(InputError, match="same export"):
        dedup_records([fixtures / "pubmed_medline_10.nbib", copy], DedupFiles.in_folder(tmp_path / "out"))


def test_a_140_kb_abstract_goes_through_parsing_and_dedup(fixtures, tmp_path):
    """Python's csv module stops at 128 kB a field; the parsed table must still be read back."""
    text = (fixtures / "scopus_9.ris").read_text(encoding="utf-8-sig")
    abstract = " ".join(["iron rim lesions"] * 9000)
    assert len(abstract) > 140_000
    at = text.index("AB  - ")
    text = text[:at] + f"AB  - {abstract}" + text[text.index("\n", at):]
    (tmp_path / "long.ris").write_text(text, encoding="utf-8")
    parsed = tmp_path / "parsed" / "long.csv"
    ingest_records(tmp_path / "long.ris", parsed, "long", "Scopus")
    summary = dedup_records([parsed], DedupFiles.in_folder(tmp_path / "records"))
    assert summary["records"] == 10  # the fixture holds 10 records (tests/fixtures/exports/README.md)
    from metasr.io import read_csv

    assert abstract in {r["abstract"] for r in read_csv(tmp_path / "records" / "unique.csv")[1]}


def test_text_cells_of_record_tables_cannot_run_as_formulas(fixtures, tmp_path):
    text = (fixtures / "scopus_9.ris").read_text(encoding="utf-8-sig")
    at = text.index("AU  - ")
    text = text[:at] + "AU  - +SUM(1;2)\n" + text[at:]
    at = text.index("TI  - ")
    text = text[:at] + '''TI  - =HYPERLINK("http://evil.example","click")''' + text[text.index("\n", at):]
    (tmp_path / "evil.ris").write_text(text, encoding="utf-8")
    parsed = tmp_path / "parsed" / "evil.csv"
    ingest_records(tmp_path / "evil.ris", parsed, "evil", "Scopus")
    dedup_records([parsed], DedupFiles.in_folder(tmp_path / "records"))
    for path in (parsed, tmp_path / "records" / "records.csv", tmp_path / "records" / "unique.csv"):
        raw = read(path)  # as a spreadsheet sees it
        assert all(not cell.startswith(("=", "+", "@")) for row in raw for cell in row.values()), path
        assert raw[0]["authors"].startswith("'+SUM(1;2)") and raw[0]["title"].startswith("'=HYPERLINK")
    from metasr.io import read_csv

    back = read_csv(tmp_path / "records" / "unique.csv")[1][0]  # as metasr reads it
    assert back["title"] == '=HYPERLINK("http://evil.example","click")' and back["authors"].startswith("+SUM(1;2); ")


def test_a_search_that_found_nothing_is_an_empty_file_declared_empty(tmp_path):
    """A register searched without hits is listed in PRISMA with n = 0: its source says
    `empty: true` and its file is empty; an empty file is otherwise a failed export, and a
    declared-empty source whose file holds records is a contradiction."""
    empty = tmp_path / "ctgov.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")  # a BOM and a line end: nothing
    out = tmp_path / "ctgov_parsed.csv"
    assert ingest_records(empty, out, "ctgov", "ClinicalTrials.gov", empty=True) == 0
    assert out.read_text(encoding="utf-8-sig").splitlines()[0].split(",") == COLUMNS
    with pytest.raises(InputError, match="export file is empty"):
        ingest_records(empty, tmp_path / "x.csv", "ctgov", "ClinicalTrials.gov")
    full = tmp_path / "full.ris"
    full.write_text("TY  - JOUR\nTI  - A trial\nER  - \n")
    with pytest.raises(InputError) as info:
        ingest_records(full, tmp_path / "y.csv", "ctgov", "ClinicalTrials.gov", empty=True)
    assert info.value.problems[0].rule == "empty search" and not (tmp_path / "y.csv").exists()
