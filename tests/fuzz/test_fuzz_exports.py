"""Hostile fields, lines and bytes in every export format go through the records steps: parsing
into the normalised table (`ingest_records`), then de-duplication, which reads that table back."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from metasr.errors import InputError

from fuzzing import DEPTHS, EXPORT_FIXTURES, assert_clear, fuzz_settings, hostile_text, nothing_written, tally

# format -> (file of the base review, or of tests/fixtures/exports)
EXPORTS = {
    "MEDLINE": "review:data/search/pubmed.nbib",
    "RIS": "review:data/search/scopus.ris",
    "WoS tagged": "review:data/search/wos.txt",
    "CSV": "review:data/search/other_sources.csv",
    "BibTeX": "fixture:zotero_20.bib",
    "EndNote XML": "fixture:zotero_endnote_15.xml",
    "Ovid": "fixture:embase_ovid_citavi_2.ovd",
}
FORMAT_NAME = {"MEDLINE": "medline", "RIS": "ris", "WoS tagged": "wos", "CSV": "csv", "BibTeX": "bibtex",
               "EndNote XML": "endnote_xml", "Ovid": "ovid"}


def export_bytes(base_review: Path, where: str) -> tuple[str, bytes]:
    kind, name = where.split(":", 1)
    path = base_review / name if kind == "review" else EXPORT_FIXTURES / name
    return path.name, path.read_bytes()


@st.composite
def mutation(draw, data: bytes):
    """One hostile change: a field's value (or any part of a line) replaced, a line deleted,
    doubled or moved, the file cut, bytes inserted, another encoding."""
    lines = data.split(b"\n")
    kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "double", "move", "cut", "bytes",
                                 "encoding"]), label="mutation")
    i = draw(st.integers(0, len(lines) - 1), label="line index")
    if kind == "replace":
        line = lines[i]
        start = draw(st.integers(0, len(line)), label="from")
        end = draw(st.integers(start, len(line)), label="to")
        text = draw(hostile_text(), label="value")
        lines[i] = line[:start] + text.encode("utf-8", errors="surrogatepass") + line[end:]
    elif kind == "delete":
        del lines[i]
    elif kind == "double":
        lines.insert(i, lines[i])
    elif kind == "move":
        lines.insert(draw(st.integers(0, len(lines) - 1), label="to line"), lines.pop(i))
    elif kind == "cut":
        return kind, data[: draw(st.integers(0, len(data)), label="cut at")]
    elif kind == "bytes":
        at = draw(st.integers(0, len(data)), label="at")
        return kind, data[:at] + draw(st.binary(min_size=1, max_size=16), label="bytes") + data[at:]
    else:
        codec = draw(st.sampled_from(["utf-16", "utf-32", "cp1252", "latin-1"]), label="codec")
        text = data.decode("utf-8-sig")
        return kind, text.encode(codec, errors="replace")
    return kind, b"\n".join(lines)


def test_every_base_export_parses(base_review, tmp_path):
    from metasr.records.pipeline import ingest_records

    for fmt, where in EXPORTS.items():
        name, data = export_bytes(base_review, where)
        (tmp_path / name).write_bytes(data)
        assert ingest_records(tmp_path / name, tmp_path / f"{fmt}.csv", "fuzz", "") > 0, fmt


@pytest.mark.parametrize("examples", DEPTHS)
@pytest.mark.parametrize("fmt", sorted(EXPORTS))
def test_a_hostile_export(examples, fmt, base_review, tmp_path_factory):
    from metasr.io import read_csv
    from metasr.records.pipeline import DedupFiles, dedup_records, ingest_records, parse_file

    name, original = export_bytes(base_review, EXPORTS[fmt])

    @fuzz_settings(examples)
    @given(mutation(original))
    def trial(change):
        kind, data = change
        folder = tmp_path_factory.mktemp("export")
        export = folder / name
        export.write_bytes(data)
        parsed = folder / "results" / "parsed" / "fuzz.csv"
        try:
            n = ingest_records(export, parsed, "fuzz", "Fuzz DB")
        except InputError as err:
            assert_clear(err, {name})
            assert nothing_written(folder / "results")
            tally(f"export: {fmt}", f"refused ({kind})")
            return
        # What was parsed is what the table holds, cell for cell, once read back.
        rows = parse_file(export, source="fuzz", database="Fuzz DB")
        header, table = read_csv(parsed)
        assert len(table) == n == len(rows)
        assert all(str(row[c]) == back[c] for row, back in zip(rows, table, strict=True) for c in header)
        summary = dedup_records([parsed], DedupFiles.in_folder(folder / "results" / "records"))
        assert summary["records"] == n == summary["unique"] + summary["duplicates"]
        same_format = {r["format"] for r in rows} == {FORMAT_NAME[fmt]}
        tally(f"export: {fmt}", f"accepted ({kind})" if same_format else f"accepted as another format ({kind})")

    trial()
