"""Quality on real labelled exports (../shared/benchmarks/dedup) and record counts of every
shared sample export. Skips without ../shared."""

import importlib.util
from collections import defaultdict

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
TARGETS = {"tafenoquine": 0.99, "respiratory": 0.985}


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
    for row, cluster in zip(rows, clustering.cluster_of):
        groups[cluster].append(int(row["source_index"]))
    result = _scorer(shared)(list(groups.values()), pd.read_csv(bench / f"{name}_labels.csv"))
    assert result["false_merges"] == 0, result
    assert result["recall"] >= TARGETS[name], result
