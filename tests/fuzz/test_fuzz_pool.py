"""`metasr pool` on hostile tables: a corrupted cell of a real data set (the metafor reference
inputs), and tables of any numbers at all, with every estimator and option."""

from __future__ import annotations

import csv
import io
import warnings

import pytest
from hypothesis import given, strategies as st

from metasr.cli import main
from metasr.errors import InputError

from fuzzing import DEPTHS, REPO, fuzz_settings, hostile_text, tally

INPUTS = REPO / "tests" / "fixtures" / "metafor" / "inputs"
# data set -> the measures metafor's reference cases pool it with (tests/fixtures/metafor/expected.json)
DATA_SETS = {"bcg.csv": ("RR", "OR", "RD"), "egger2001.csv": ("OR", "RR"), "hackshaw1998.csv": ("GEN",),
             "hart1999.csv": ("IRR",), "normand1999.csv": ("SMD", "MD")}
METHODS = ("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "MH", "PETO")


@pytest.mark.parametrize("examples", DEPTHS)
def test_a_hostile_cell_in_a_pooling_table(examples, tmp_path_factory, capsys):
    @fuzz_settings(examples)
    @given(st.data())
    def trial(data):
        name = data.draw(st.sampled_from(sorted(DATA_SETS)), label="data set")
        measure = data.draw(st.sampled_from(DATA_SETS[name]), label="measure")
        method = data.draw(st.sampled_from(METHODS), label="method")
        test = data.draw(st.sampled_from(("z", "knha")), label="test")
        table = list(csv.reader(io.StringIO((INPUTS / name).read_text(encoding="utf-8"))))
        r = data.draw(st.integers(0, len(table) - 1), label="row index")
        c = data.draw(st.integers(0, len(table[r]) - 1), label="column index")
        table[r][c] = data.draw(hostile_text(), label="value")
        path = tmp_path_factory.mktemp("pool") / name
        with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(table)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            code = main(["pool", str(path), "--measure", measure, "--method", method, "--test", test])
        out, err = capsys.readouterr()
        assert code in (0, 2) and "Traceback" not in err
        if code == 2:
            assert str(path) in err and out == ""
            tally("metasr pool: a corrupted data set", "refused")
        else:
            tally("metasr pool: a corrupted data set", "pooled")

    trial()


ANY = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-40, 40).map(lambda e: 10.0 ** e),
                st.floats(-40, 40).map(lambda e: -(10.0 ** e)),
                st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 1e-300, 1e300]))
# Numbers inside the engine's range (metasr.stats.checks), usual and extreme; then, in half the
# trials, one yi or vi replaced by any number at all.
YI = st.one_of(st.floats(-3, 3), st.floats(-15, 15).map(lambda e: 10.0 ** e),
               st.floats(-15, 15).map(lambda e: -(10.0 ** e)))
VI = st.one_of(st.floats(-2, 1).map(lambda e: 10.0 ** e), st.floats(-20, 20).map(lambda e: 10.0 ** e))


@pytest.mark.parametrize("examples", DEPTHS)
def test_any_numbers_as_yi_and_vi(examples):
    """Any yi and vi, any estimator and analysis: a fit or problems with row and column."""
    import pandas as pd

    from metasr.stats.analysis import analyse

    @fuzz_settings(examples)
    @given(st.lists(st.tuples(YI, VI, st.sampled_from("ab"), st.floats(-5, 5)), min_size=1, max_size=9),
           st.sampled_from(METHODS[:9]), st.sampled_from(("z", "knha")),
           st.sampled_from(("overall", "mods", "subgroup", "order")),
           st.one_of(st.none(), st.tuples(st.integers(0, 8), st.sampled_from((0, 1)), ANY)))
    def trial(rows, method, test, analysis, hostile):
        if hostile is not None:
            i, j, value = hostile
            row = list(rows[i % len(rows)])
            row[j] = value
            rows = [*rows[: i % len(rows)], tuple(row), *rows[i % len(rows) + 1:]]
        table = pd.DataFrame({"study_id": [f"S{i}" for i in range(len(rows))],
                              "yi": [repr(y) for y, *_ in rows], "vi": [repr(v) for _, v, *_ in rows],
                              "g": [g for *_, g, _ in rows], "x": [repr(x) for *_, x in rows],
                              "year": [str(2000 + i) for i in range(len(rows))]})
        options = {"mods": ["x"]} if analysis == "mods" else {"subgroup": "g"} if analysis == "subgroup" else \
            {"order": "year"} if analysis == "order" else {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                analyse(table, "GEN", method, test, file="t.csv", **options)
        except InputError as err:
            assert all(p.file == "t.csv" and p.message for p in err.problems)
            tally("metasr pool: any yi and vi", f"refused ({analysis})")
            return
        tally("metasr pool: any yi and vi", f"pooled ({analysis})")

    trial()
