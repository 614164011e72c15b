"""Records out: RIS round trip, formula-safe CSV, the cluster table fed back as overrides.
The records are SYNTHETIC, modelled on real exports."""

import csv

from metasr.io import csv_safe_cell, read_csv
from metasr.records.export import ExportFiles, export_records
from metasr.records.pipeline import DedupFiles, dedup_records, parse_file

RIS = """TY  - JOUR
AU  - Absinta, Martina
AU  - Sati, Pascal
TI  - Association of chronic active multiple sclerosis lesions with disability in vivo
T2  - JAMA Neurology
PY  - 2019
VL  - 76
IS  - 12
SP  - 1474
EP  - 1483
DO  - 10.1001/jamaneurol.2019.2399
AB  - =HYPERLINK("http://example.org") SYNTHETIC abstract
ER  - 

TY  - JOUR
AU  - Absinta M
AU  - Sati P
TI  - ASSOCIATION OF CHRONIC ACTIVE MULTIPLE SCLEROSIS LESIONS WITH DISABILITY IN VIVO.
T2  - JAMA Neurol
PY  - 2019
VL  - 76
SP  - 1474
EP  - 83
ER  - 

TY  - CONF
AU  - Reich, Daniel
TI  - -Rim lesions at 7 T: a SYNTHETIC meeting abstract
T2  - Multiple Sclerosis Journal
PY  - 2018
M3  - Conference Abstract
ER  - 
"""  # noqa: W291 (RIS closes a record with "ER  - ", its trailing space included, as exports write it)


def _dedup(tmp_path):
    export = tmp_path / "search.ris"
    export.write_text(RIS, encoding="utf-8")
    dedup_records([export], DedupFiles.in_folder(tmp_path / "records"))
    return tmp_path / "records"


def _screening(tmp_path, records_dir):
    with open(records_dir / "unique.csv", encoding="utf-8") as handle:
        unique = list(csv.DictReader(handle))
    path = tmp_path / "screening.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cluster_id", "status", "title_abstract_decision", "title_abstract_reason"])
        writer.writerow([unique[0]["cluster_id"], "excluded_title_abstract", "exclude",
                         "conference abstract"])
    return path


def test_ris_round_trip_keeps_every_field(tmp_path):
    records_dir = _dedup(tmp_path)
    export_records(DedupFiles.in_folder(records_dir), ExportFiles.in_folder(tmp_path / "out"),
                   _screening(tmp_path, records_dir))
    unique = read_csv(records_dir / "unique.csv")[1]
    back = parse_file(tmp_path / "out" / "records.ris", source="back")
    assert len(back) == len(unique) == 2
    for row, again in zip(unique, back, strict=True):
        for field in ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi",
                      "abstract", "publication_type"):
            assert again[field] == row[field], field
    text = (tmp_path / "out" / "records.ris").read_text(encoding="utf-8")
    assert "N1  - title_abstract_reason: conference abstract" in text
    assert text.count("TY  - ") == 2 and text.count("ER  - ") == 2


def test_ris_round_trip_keeps_the_pmid_of_a_record_from_another_database(tmp_path):
    """The PMID goes out in AN; another database's AN is its own accession number, so the export
    names metasr as its provider for the AN to be read back as the PMID."""
    export = tmp_path / "scopus.ris"  # SYNTHETIC record, as Scopus lists PubMed ids (C2)
    export.write_text("TY  - JOUR\nTI  - A SYNTHETIC record\nPY  - 2019\nC2  - 30412345\nDB  - Scopus\n"
                      "ER  - \n", encoding="utf-8")
    dedup_records([export], DedupFiles.in_folder(tmp_path / "records"))
    export_records(DedupFiles.in_folder(tmp_path / "records"), ExportFiles.in_folder(tmp_path / "out"))
    [again] = parse_file(tmp_path / "out" / "records.ris", source="back")
    assert again["pmid"] == "30412345" and again["database"] == "Scopus"


def test_csv_cells_cannot_run_as_formulas(tmp_path):
    records_dir = _dedup(tmp_path)
    export_records(DedupFiles.in_folder(records_dir), ExportFiles.in_folder(tmp_path / "out"))
    with open(tmp_path / "out" / "records.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    abstracts = [r["abstract"] for r in rows if r["abstract"]]
    assert abstracts == ["'=HYPERLINK(\"http://example.org\") SYNTHETIC abstract"]
    assert any(r["title"].startswith("'-Rim") for r in rows)
    assert {r["year"] for r in rows} == {"2019", "2018"}
    assert rows[0]["n_records"] in ("1", "2")


def test_csv_safe_cell():
    assert csv_safe_cell("=1+1") == "'=1+1"
    assert csv_safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_safe_cell("\tx") == "'\tx" and csv_safe_cell("\rx") == "'\rx"
    assert csv_safe_cell("+49 30 1234") == "'+49 30 1234"
    assert csv_safe_cell("-0.25") == "-0.25" and csv_safe_cell(-3) == -3 and csv_safe_cell(1.5) == 1.5
    assert csv_safe_cell("plain") == "plain" and csv_safe_cell("") == ""


def test_cluster_table_fed_back_as_overrides_splits_a_cluster(tmp_path):
    records_dir = _dedup(tmp_path)
    export_records(DedupFiles.in_folder(records_dir), ExportFiles.in_folder(tmp_path / "out"))
    table = tmp_path / "out" / "clusters.csv"
    with open(table, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["rule"] == "title" and rows[0]["decision"] == ""
    # Unchanged, the table is a valid overrides file that changes nothing.
    dedup_records([tmp_path / "search.ris"], DedupFiles.in_folder(tmp_path / "again"), overrides_csv=table)
    assert (tmp_path / "again" / "records.csv").read_text() == (records_dir / "records.csv").read_text()
    rows[0]["decision"] = "distinct"
    with open(table, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = dedup_records([tmp_path / "search.ris"], DedupFiles.in_folder(tmp_path / "split"), overrides_csv=table)
    assert summary["unique"] == 3
    with open(tmp_path / "split" / "audit.csv", encoding="utf-8") as handle:
        assert {r["override"] for r in csv.DictReader(handle)} == {"distinct"}
