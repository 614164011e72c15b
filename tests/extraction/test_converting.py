"""Converting validated sheet rows into effect rows (subgroups combined, shared groups split)."""

from metasr.extraction.converting import convert_rows
from metasr.extraction.effects import ConversionSettings


def test_single_group_subgroups_are_summed():
    rows = [{"study_id": "S1", "comparison": "all", "subgroup": s, "reported_form": "events_total", "events": e,
             "n": n} for s, e, n in (("men", 4, 10), ("women", 6, 15))]  # SYNTHETIC counts
    [(row, result)] = convert_rows(rows, ConversionSettings("PR"))
    assert result.usable and result.values == {"xi": 10, "ni": 25} and "sums" in result.conversion
