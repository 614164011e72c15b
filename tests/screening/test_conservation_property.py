"""Property: for any SYNTHETIC set of clusters, sources and decisions, every record is counted
exactly once and each PRISMA column adds up."""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

# Same values as tests/screening/conftest.py (not importable under pytest's importlib mode).
SOURCE_IDS = ["pubmed", "scopus", "web"]
REASONS = ["review", "conference abstract", "lesion-level analysis only", "other"]
ta_choice = st.sampled_from(["include", "exclude"])
ft_choice = st.sampled_from(["include", "exclude", "not_retrieved"])
cluster = st.tuples(
    st.lists(st.sampled_from(SOURCE_IDS), min_size=1, max_size=4),  # sources of its members
    ta_choice, ft_choice, st.sampled_from(REASONS), st.integers(0, 2),  # decision, reason, study
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clusters=st.lists(cluster, min_size=1, max_size=12))
def test_every_record_counted_once(workspace_class, clusters):
    SOURCES = workspace_class.SOURCES
    assert sorted(SOURCES) == SOURCE_IDS and workspace_class.REASONS == REASONS
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace_class(Path(tmp))
        ws.records, ws.title_abstract, ws.full_text = [], [], []
        index = Counter()
        for c, (sources, ta, ft, reason, study) in enumerate(clusters):
            doi = f"10.9/c{c}"
            for member, source in enumerate(sources):
                ws.records.append({"record_id": f"{source}:{index[source]}", "source": source,
                                   "database": SOURCES[source]["database"], "title": f"Synthetic {c}",
                                   "year": "2020", "doi": doi, "cluster_id": f"c{c:02d}",
                                   "is_primary": "true" if member == 0 else "false"})
                index[source] += 1
            ws.title_abstract.append({"doi": doi, "decision": ta, "reason": reason if ta == "exclude" else ""})
            if ta == "include":
                ws.full_text.append({"doi": doi, "decision": ft, "reason": reason if ft == "exclude" else "",
                                     "study_id": f"S{study}" if ft == "include" else ""})
        prisma = ws.run()

        assert prisma["records"]["identified"] == len(ws.records)
        assert prisma["records"]["unique"] == len(clusters)
        columns = prisma["columns"]
        assert sum(c["screened"] for c in columns.values()) == len(clusters)
        for c in columns.values():
            assert c["identified"] == c["duplicates"] + c["screened"]
            assert c["screened"] == c["excluded"] + c["sought"]
            assert c["sought"] == c["not_retrieved"] + c["reports_excluded"] + c["reports_included"]
        with open(Path(tmp) / "out" / "screening.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(r["cluster_id"] for r in rows) == [f"c{c:02d}" for c in range(len(clusters))]
        expected_included = sum(ta == "include" and ft == "include" for _, ta, ft, _, _ in clusters)
        assert sum(r["status"] == "included" for r in rows) == expected_included
        # a cluster with any database member is counted in the databases column
        in_db = sum(any(SOURCES[s]["method"] == "database" for s in c[0]) for c in clusters)
        assert columns["databases"]["screened"] == in_db
