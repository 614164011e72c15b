"""Quality on real labelled exports (../shared/benchmarks/dedup) and record counts of every
shared sample export. Skips without ../shared."""

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

from metasr.records.dedup import cluster_records
from metasr.records.detect import parse_export
from metasr.records.pipeline import parse_file

# Counted independently of the parsers (grep -c '^ER', '^PMID-', '^@', '<record>', csv rows).
# README.md of shared/ lists 9 / 49 / 68 for the three RIS files and 1000 for the Zotero CSV
# and XML; the files hold one record more (the first record sits behind the BOM) and 1233.
SAMPLE_COUNTS = {
    "pubmed_medline_10.nbib": 10, "wos_tagged_12.txt": 12, "wos_tagged_500.txt": 500,
    "scopus_9.ris": 10, "wos_49.ris": 50, "endnote_ris_68.txt": 69, "zotero_1000.bib": 1000,
    "zotero_1000.csv": 1233, "zotero_1000_endnote.xml": 1233, "embase_ovid_endnote_2.cgi": 2,
    "embase_ovid_citavi_2.ovd": 2, "diabetes_latin1_1845.csv": 1845,
}
TARGETS = {"tafenoquine": 0.995, "respiratory": 0.995}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Labelled sets made here (tests/fixtures/dedup/README.md): labels file -> export in shared/.
OWN_SETS = {"endnote_ris_68": "endnote_ris_68.txt", "wos_tagged_500": "wos_tagged_500.txt",
            "zotero_1000_endnote": "zotero_1000_endnote.xml",
            "diabetes_400": "diabetes_latin1_1845.csv"}


@pytest.mark.parametrize("name", sorted(SAMPLE_COUNTS))
def test_every_shared_sample_parses(shared, name):
    _, records = parse_export(shared / "samples" / "exports" / name)
    assert len(records) == SAMPLE_COUNTS[name]


def _scorer(shared):
    spec = importlib.util.spec_from_file_location("dedup_score", shared / "tools" /
                                                  "dedup_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.score


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_dedup_quality_on_labelled_exports(shared, name):
    import pandas as pd

    bench = shared / "benchmarks" / "dedup"
    rows = parse_file(bench / f"{name}.xml", source=name)
    clustering = cluster_records(rows)
    groups = defaultdict(list)
    for row, cluster in zip(rows, clustering.cluster_of, strict=True):
        groups[cluster].append(int(row["source_index"]))
    result = _scorer(shared)(list(groups.values()), pd.read_csv(bench / f"{name}_labels.csv"))
    assert result["false_merges"] == 0, result
    assert result["recall"] >= TARGETS[name], result


def _groups(rows) -> list[list[int]]:
    clustering = cluster_records(rows)
    groups = defaultdict(list)
    for row, cluster in zip(rows, clustering.cluster_of, strict=True):
        groups[cluster].append(int(row["source_index"]))
    return list(groups.values())


def _first_rows(path, n, out):
    """The header and first n records of a Latin-1 CSV export (records may span lines),
    re-quoted by Python's csv module, as the labels were made."""
    import csv
    import io

    raw = path.read_bytes()
    table = list(csv.reader(io.StringIO(raw.decode("latin-1"), newline="")))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n" if b"\r\n" in raw[:5000] else "\n").writerows(
        table[: n + 1])
    out.write_bytes(buffer.getvalue().encode("latin-1"))
    return out


@pytest.mark.parametrize("name", sorted(OWN_SETS))
def test_dedup_quality_on_own_labelled_sets(shared, tmp_path, name):
    import pandas as pd

    export = shared / "samples" / "exports" / OWN_SETS[name]
    if name == "diabetes_400":
        export = _first_rows(export, 400, tmp_path / "diabetes_latin1_400.csv")
    labels = pd.read_csv(FIXTURES / "dedup" / f"{name}_labels.csv", keep_default_na=False)
    rows = parse_file(export, source=name)
    assert len(rows) == len(labels)
    result = _scorer(shared)(_groups(rows), labels)
    assert result["false_merges"] == 0, result
    assert result["removable"] == 0 or result["recall"] >= 0.995, result


def test_committed_labelled_fixture_without_shared():
    """The committed EndNote RIS fixture against its labels, scored as dedup_score does."""
    import csv

    rows = parse_file(FIXTURES / "exports" / "endnote_ris_20.txt", source="e")
    with open(FIXTURES / "dedup" / "endnote_ris_20_labels.csv", encoding="utf-8") as handle:
        ref = {int(r["source_index"]): int(r["ref_group"]) for r in csv.DictReader(handle)}
    cluster_of = {i: k for k, group in enumerate(_groups(rows)) for i in group}
    reference = defaultdict(set)
    for i, group in ref.items():
        reference[group if group >= 0 else ("alone", i)].add(cluster_of[i])
    predicted = defaultdict(set)
    for i, cluster in cluster_of.items():
        predicted[cluster].add(ref[i] if ref[i] >= 0 else ("alone", i))
    assert all(len(works) == 1 for works in predicted.values())  # no false merge
    assert all(len(clusters) == 1 for clusters in reference.values())  # every duplicate found
