import csv
import filecmp
from pathlib import Path

import pytest

from metasr.errors import InputError
from metasr.records.pipeline import dedup_records, ingest_records
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
    summary = dedup_records(paths, tmp_path / "a")
    dedup_records(paths[::-1], tmp_path / "b", overrides_csv=tmp_path / "missing.csv")
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
    dedup_records(paths, tmp_path / "a")
    dedup_records(paths, tmp_path / "b", overrides_csv=empty)
    assert filecmp.cmp(tmp_path / "a" / "records.csv", tmp_path / "b" / "records.csv", False)


def test_override_distinct_splits_a_cluster(fixtures, tmp_path):
    paths = _parsed(fixtures, tmp_path)
    dedup_records(paths, tmp_path / "a")
    audit = read(tmp_path / "a" / "audit.csv")
    link = audit[0]
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(f"record_a,record_b,decision\n{link['record_id']},{link['linked_to']},"
                         "distinct\n")
    dedup_records(paths, tmp_path / "b", overrides_csv=overrides)
    clusters = {r["record_id"]: r["cluster_id"] for r in read(tmp_path / "b" / "records.csv")}
    assert clusters[link["record_id"]] != clusters[link["linked_to"]]
    assert any(r["override"] == "distinct" for r in read(tmp_path / "b" / "audit.csv"))


def test_duplicate_source_names_are_refused(fixtures, tmp_path):
    path = tmp_path / "wos.csv"
    ingest_records(fixtures / "wos_25.ris", path, "wos", "")
    copy = tmp_path / "wos_copy.csv"  # another file naming the same source
    copy.write_bytes(path.read_bytes())
    with pytest.raises(InputError, match="appears in two inputs|record_id appears twice"):
        dedup_records([path, copy], tmp_path / "out")


def test_review_exports_parse_and_deduplicate(tmp_path):
    search = REPO / "data" / "search"
    exports = [search / n for n in ("pubmed.nbib", "scopus.ris", "wos.txt", "other_sources.csv")]
    if not all(p.exists() for p in exports):
        pytest.skip("the review's exports are not in data/search yet")
    overrides = search / "dedup_overrides.csv"
    summary = dedup_records(exports, tmp_path, overrides if overrides.exists() else None)
    assert summary["records"] == summary["unique"] + summary["duplicates"]
    assert summary["unique"] < summary["records"]
