"""`metasr pool`: the CLI contract (metafor keys as JSON; --by; problems without tracebacks)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metasr.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
CASES = json.loads((FIXTURES / "expected.json").read_text())["cases"]


def run(capsys, *argv):
    code = main(["pool", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def close(actual, expected):
    if isinstance(expected, dict):
        return all(k in actual and close(actual[k], v) for k, v in expected.items())
    if isinstance(expected, str) or (isinstance(expected, list) and expected and isinstance(expected[0], str)):
        return actual == expected
    e = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float).reshape(np.shape(expected))
    a = np.array([np.nan if v is None else v for v in np.atleast_1d(actual)], dtype=float).reshape(np.shape(actual))
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=1e-6, atol=1e-9, equal_nan=True))


METAFOR_SMALL_STUDY_MIN_K = 3  # the references ran regtest, ranktest and trimfill at every k


def argv_for(case):
    argv = [FIXTURES / case["input"], "--measure", case["measure"], "--method", case["method"], "--test", case["test"],
            "--small-study-min-k", str(METAFOR_SMALL_STUDY_MIN_K)]
    if case.get("moderators"):
        argv += ["--mods", case["moderators"]]
    if case.get("subgroup"):
        argv += ["--subgroup", case["subgroup"]]
    if "cumulative" in case["expected"]:
        argv += ["--order", "year"]
    return argv


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_cli_prints_metafor_keys(case, capsys):
    code, out, err = run(capsys, *argv_for(case))
    assert code == 0, err
    result = json.loads(out)
    bad = [key for key, value in case["expected"].items() if not close(result.get(key), value)]
    assert bad == []


def test_by_pools_each_group(capsys):
    code, out, _ = run(capsys, FIXTURES / "inputs/bcg.csv", "--measure", "RR", "--method", "REML", "--by", "alloc")
    assert code == 0
    result = json.loads(out)
    sub = next(c for c in CASES if c["id"] == "bcg_RR_subgroup_alloc")["expected"]
    assert list(result) == sub["levels"]
    for i, level in enumerate(sub["levels"]):
        assert close(result[level]["estimate"], sub["estimate"][i])
        assert result[level]["k"] == sub["k"][i]


def write(tmp_path, text, name="in.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,measure,row,column", [
    ("m1i,sd1i,n1i,m2i,sd2i,n2i\n1,1,10,0,1,10\n1,1,1,0,1,10\n", "SMD", 3, "n1i"),
    ("m1i,sd1i,n1i,m2i,sd2i,n2i\n1,1,10,0,1,10\n1,abc,10,0,1,10\n", "MD", 3, "sd1i"),
    ("yi,vi\n0.1,0.1\n0.2,-0.3\n", "GEN", 3, "vi"),
    ("ai,n1i,ci,n2i\n3,10,2,10\n12,10,2,10\n", "RR", 3, "ai"),
    ("x1i,t1i,x2i,t2i\n3,100,2,-5\n4,100,2,90\n", "IRR", 2, "t2i"),
    ("m1i,m2i,sd1i,sd2i,ni,ri\n3.66,3.45,0.6,0.61,15,0.66\n4.5,4.26,1.23,1.18,30,1.2\n", "SMCC", 3, "ri"),
    ("ti,ni,mi\n4.61,218,4\n6.19,232,231\n", "PCOR", 3, "mi"),
    ("ti,ni,mi,r2i\n4.61,218,4,0.24\n6.19,232,7,45.5\n", "SPCOR", 3, "r2i"),
    ("m1i,n1i,m2i,sd2i,n2i\n55,155,75,64,156\n68,31,88,0,32\n", "SMD1", 3, "sd2i"),
])
def test_bad_input_names_row_and_column_without_traceback(tmp_path, capsys, text, measure, row, column):
    # synthetic tables with one mistake each
    code, out, err = run(capsys, write(tmp_path, text), "--measure", measure, "--method", "REML")
    assert code == 2 and out == ""
    assert f"row {row}" in err and f"column '{column}'" in err and "Traceback" not in err


def test_missing_column_and_too_few_studies(tmp_path, capsys):
    code, _, err = run(capsys, write(tmp_path, "m1i,sd1i,n1i\n1,1,10\n"), "--measure", "SMD", "--method", "FE")
    assert code == 2 and "column 'm2i'" in err
    code, _, err = run(capsys, write(tmp_path, "yi,vi\n0.1,0.1\n"), "--measure", "GEN", "--method", "REML")
    assert code == 2 and "needs at least 2" in err
    code, out, _ = run(capsys, write(tmp_path, "yi,vi\n0.1,0.1\n"), "--measure", "GEN", "--method", "FE")
    assert code == 0 and json.loads(out)["k"] == 1
    code, _, err = run(capsys, tmp_path / "nope.csv", "--measure", "GEN", "--method", "FE")
    assert code == 2 and "not found" in err


def test_method_measure_mismatch_is_an_input_error(tmp_path, capsys):
    code, _, err = run(capsys, FIXTURES / "inputs/normand1999.csv", "--measure", "SMD", "--method", "MH")
    assert code == 2 and "MH pools" in err


def test_rows_marked_not_usable_are_listed_not_pooled(tmp_path, capsys):
    # synthetic extraction-style table
    text = ("study_id,usable,not_usable_reason,yi,vi\n"
            "a,true,,0.2,0.04\nb,false,only a p-value bound,,\nc,true,,0.5,0.09\n")
    code, out, _ = run(capsys, write(tmp_path, text), "--measure", "GEN", "--method", "FE")
    result = json.loads(out)
    assert code == 0 and result["k"] == 2
    assert result["not_usable"] == [{"study_id": "b", "row": 3, "reason": "only a p-value bound"}]


def test_by_a_group_that_cannot_be_pooled_is_a_row_saying_why(tmp_path, capsys):
    text = "g,yi,vi\na,0.1,0.1\na,0.3,0.2\nb,0.2,0.1\n"  # synthetic: group b has one study
    code, out, err = run(capsys, write(tmp_path, text), "--measure", "GEN", "--method", "REML", "--by", "g")
    assert code == 1 and "g = b:" in err and "g = a" not in err and "1 of 2 groups" in err
    result = json.loads(out)
    assert result["a"]["k"] == 2 and result["b"]["status"] == "failed" and "needs at least 2" in result["b"]["message"]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_by_formats_and_what(tmp_path, capsys, fmt):
    text = "g,yi,vi\nb,0.2,0.1\nb,0.5,0.05\nb,0.1,0.2\na,0.1,0.1\na,0.3,0.2\n"  # synthetic
    path = write(tmp_path, text)
    code, full, _ = run(capsys, path, "--measure", "GEN", "--method", "DL", "--by", "g")
    assert code == 0
    full = json.loads(full)
    code, out, _ = run(capsys, path, "--measure", "GEN", "--method", "DL", "--by", "g", "--what", "fit",
                       "--format", fmt)
    assert code == 0
    if fmt == "json":
        fit = json.loads(out)
    elif fmt == "jsonl":
        fit = {line["g"]: line for line in map(json.loads, out.splitlines())}
    else:
        from metasr.io import parse_csv_text

        header, *rows = parse_csv_text(out, "out.csv")
        fit = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert list(fit) == ["a", "b"]
    for key in ("a", "b"):
        assert "leave1out" not in fit[key] and "weights" not in fit[key]
        assert float(fit[key]["estimate"]) == full[key]["estimate"] and float(fit[key]["tau2"]) == full[key]["tau2"]


def test_a_fit_by_group_imports_no_scipy(tmp_path):
    """`pool --by --what fit` (issue #17's benchmark) imports no scipy module, whose import costs about
    a fifth of the run: its distributions are metasr's own (metasr.stats.distributions). A fresh
    process, as the command runs."""
    text = "g,yi,vi\nb,0.2,0.1\nb,0.5,0.05\nb,0.1,0.2\na,0.1,0.1\na,0.3,0.2\na,-0.4,0.3\n"  # synthetic
    path = write(tmp_path, text)
    driver = ("import sys; from metasr.cli import main; code = main(sys.argv[1:]); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'), file=sys.stderr); sys.exit(code)")
    argv = ["pool", str(path), "--measure", "GEN", "--method", "REML", "--by", "g", "--what", "fit", "--format", "csv"]
    done = subprocess.run([sys.executable, "-c", driver, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("g,status,") and len(done.stdout.splitlines()) == 3
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_utf8_bom_header_is_read(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffyi,vi\n0.1,0.1\n0.3,0.2\n".encode("utf-8"))  # synthetic, as Excel saves CSV
    code, out, _ = run(capsys, path, "--measure", "GEN", "--method", "FE")
    assert code == 0 and json.loads(out)["k"] == 2


def test_excels_separator_line_is_skipped_and_rows_numbered_as_excel_shows_them(tmp_path, capsys):
    """SYNTHETIC tables saved for Excel: `sep=,` first (Excel hides it), empty columns on the right."""
    plain = "study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.015\n"
    code, expected, _ = run(capsys, write(tmp_path, plain, "plain.csv"), "--measure", "GEN", "--method", "REML")
    assert code == 0
    excel = "sep=,\r\n" + "".join(f"{line},,\r\n" for line in plain.splitlines())
    code, out, err = run(capsys, write(tmp_path, excel, "excel.csv"), "--measure", "GEN", "--method", "REML")
    assert (code, err) == (0, "") and json.loads(out) == json.loads(expected)
    code, out, err = run(capsys, write(tmp_path, "sep=,\n" + plain.replace("0.02", "-0.02"), "bad.csv"),
                         "--measure", "GEN", "--method", "REML")
    assert code == 2 and out == "" and "row 3" in err and "column 'vi'" in err  # B: row 3 of Excel's sheet
    code, out, err = run(capsys, write(tmp_path, "sep=;\nstudy;yi;vi\nA;0,1;0,01\n", "semi.csv"),
                         "--measure", "GEN", "--method", "REML")
    assert code == 2 and out == "" and "separated by semicolons, not by commas" in err and "Traceback" not in err
    # pool --by (stats.grouped's chunked reader) skips it too
    for what in ("fit", "full"):
        by = [tmp_path / f"{name}.csv" for name in ("plain", "excel")]
        code, out, err = run(capsys, by[1], "--measure", "GEN", "--method", "FE", "--by", "study", "--what", what)
        assert (code, err) == (0, "")
        assert out == run(capsys, by[0], "--measure", "GEN", "--method", "FE", "--by", "study", "--what", what)[1]
    code, out, err = run(capsys, tmp_path / "bad.csv", "--measure", "GEN", "--method", "FE", "--by", "study")
    assert code == 1 and "row 3" in err and "'vi'" in err  # B's group fails, named at Excel's row


def test_conflicting_analyses_are_refused(capsys):
    code, _, err = run(capsys, FIXTURES / "inputs/bcg.csv", "--measure", "RR", "--method", "REML",
                       "--mods", "ablat", "--subgroup", "alloc")
    assert code == 2 and "choose one of" in err



def test_a_subgroup_analysis_names_its_test_and_shows_levels_and_all_studies_on_the_display_scale(capsys):
    args = (FIXTURES / "inputs/bcg.csv", "--measure", "RR", "--method", "REML")
    _, out, _ = run(capsys, *args, "--subgroup", "alloc")
    result = json.loads(out)
    assert result["Q_between_test"].startswith("Wald-type test") and "separate fits" in result["Q_between_test"]
    for level, fit in result["fits"].items():
        assert fit["transformed"]["estimate"] == pytest.approx(math.exp(fit["estimate"]), rel=1e-12), level
    _, out, _ = run(capsys, *args)
    alone = json.loads(out)
    assert result["overall"]["estimate"] == alone["estimate"] and result["overall"]["tau2_ci"] == alone["tau2_ci"]
    assert result["overall"]["transformed"] == alone["transformed"]

MEASURE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measures"
POOLED = json.loads((MEASURE_FIXTURES / "measures.json").read_text())["pooled"]


def measure_argv(case):
    argv = [MEASURE_FIXTURES / case["input"], "--measure", case["measure"], "--method", case["method"],
            "--test", case["test"]]
    for key, value in (case["options"] or {}).items():
        argv += ["--drop00"] if key == "drop00" else [f"--{key}", value]
    return argv


@pytest.mark.parametrize("case", POOLED, ids=lambda c: c["id"])
def test_cli_pools_every_measure_with_escalc_options(case, capsys):
    code, out, err = run(capsys, *measure_argv(case))
    assert code == 0, err
    result = json.loads(out)
    expected = {k: v for k, v in case["expected"].items()}
    assert [k for k, v in expected.items() if not close(result.get(k), v)] == []
    assert close(result["transformed"], case["transformed"]) and result["transform"]["name"] == case["transform"]


def test_cli_refuses_an_option_the_measure_does_not_take(capsys):
    code, out, err = run(capsys, MEASURE_FIXTURES / "inputs/molloy2014.csv", "--measure", "ZCOR", "--method", "REML",
                         "--vtype", "AV")
    assert code != 0 and "vtype" in err and "Traceback" not in err


# ---------------------------------------------------------------- hostile input (issue 16, items 9-11)

@pytest.mark.parametrize("rows, column, rule", [
    (["a,0.1,1e300", "b,0.2,0.1", "c,0.3,0.2"], "vi", "variance in range"),  # ZeroDivisionError in tau2
    (["a,1e308,0.1", "b,0.2,0.1", "c,-1e308,0.2"], "yi", "effect in range"),  # LinAlgError
    (["a,0.1,1e-300", "b,0.2,0.1", "c,0.3,0.2"], "vi", "variance in range"),
    (["a,0.1,inf", "b,0.2,0.1", "c,0.3,0.2"], "vi", "numeric"),
])
def test_numbers_the_engine_cannot_take_are_named_before_it_sees_them(tmp_path, capsys, rows, column, rule):
    path = tmp_path / "effects.csv"
    path.write_text("study_id,yi,vi\n" + "\n".join(rows) + "\n")
    for method in ("REML", "DL", "FE"):
        code, out, err = run(capsys, path, "--measure", "GEN", "--method", method)
        assert code == 2 and out == "" and "Traceback" not in err
        assert f"{path}, row 2, column '{column}'" in err and f"[rule: {rule}]" in err


def test_a_folder_as_input_is_a_problem(tmp_path, capsys):
    code, out, err = run(capsys, tmp_path, "--measure", "SMD", "--method", "REML")
    assert code == 2 and "it is a folder" in err and str(tmp_path) in err and "Traceback" not in err


def test_an_unreadable_input_is_a_problem(tmp_path, capsys, monkeypatch):
    import errno

    import pandas as pd

    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    (tmp_path / "locked.csv").write_text("study,yi,vi\nA,0.1,0.01\n")  # SYNTHETIC; its header is read first
    monkeypatch.setattr(pd, "read_csv", denied)
    code, out, err = run(capsys, tmp_path / "locked.csv", "--measure", "SMD", "--method", "REML")
    assert code == 2 and "permission denied" in err and "locked.csv" in err and "Traceback" not in err


def test_a_study_pooled_twice_is_refused_with_a_hint(tmp_path, capsys):
    path = tmp_path / "effects.csv"
    path.write_text("study_id,yi,vi\nS1,0.1,0.1\nS2,0.2,0.1\nS1,0.3,0.2\nS3,0.1,0.1\n")
    code, out, err = run(capsys, path, "--measure", "GEN", "--method", "REML")
    assert code == 2 and f"{path}, row 4, column 'study_id'" in err and "pooled twice" in err
    assert "--cluster" in err and "distinct study ids" in err
    # a row marked not usable is not pooled, so it is no duplicate
    path.write_text("study_id,yi,vi,usable\nS1,0.1,0.1,true\nS2,0.2,0.1,true\nS1,0.3,0.2,false\n")
    code, out, _ = run(capsys, path, "--measure", "GEN", "--method", "FE")
    assert code == 0 and json.loads(out)["k"] == 2


def test_identical_effects_with_knapp_hartung_print_no_warnings(tmp_path, capsys):
    """All yi equal: metafor reports se = 0 and NaN influence measures; so do we, without numpy's
    RuntimeWarnings on the console."""
    import warnings

    path = tmp_path / "same.csv"
    path.write_text("study_id,yi,vi\na,0.5,0.1\nb,0.5,0.2\nc,0.5,0.3\nd,0.5,0.15\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run(capsys, path, "--measure", "GEN", "--method", "REML", "--test", "knha")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["estimate"] == pytest.approx(0.5) and result["se"] == pytest.approx(0.0)


def test_a_full_disk_or_read_only_folder_on_output_is_a_problem(tmp_path, capsys, monkeypatch):
    """`metasr records parse --out` on a full disk: the CLI names the file, exits 2, no traceback."""
    import errno
    import os

    from metasr.cli import main as cli

    export = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "scopus_9.ris"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    code = cli(["records", "parse", str(export), "--out", str(tmp_path / "parsed.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "disk is full" in err and "parsed.csv" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_by_the_failed_groups_summary_shows_a_key_with_control_characters_escaped(tmp_path, capsys):
    text = "g,yi,vi\na,0.1,0.1\na,0.3,0.2\nb\x1b]0;PWN\x07,0.2,0.1\n"  # synthetic: a hostile key with one study
    code, out, err = run(capsys, write(tmp_path, text), "--measure", "GEN", "--method", "REML", "--by", "g")
    assert code == 1 and "g = b\\x1b]0;PWN\\x07: 1 usable study" in err and "\x1b" not in err


def test_mantel_haenszel_and_peto_get_leave_one_out_and_cumulative_refits_of_their_own_method(capsys, tmp_path):
    cases = json.loads((FIXTURES.parent / "table_sensitivity" / "expected.json").read_text())["cases"]
    for case in (c for c in cases if c["id"] in ("nielweise2007_mh_or", "bcg_peto_or")):
        path = tmp_path / f"{case['id']}.csv"
        rows = zip(case["ai"], case["bi"], case["ci"], case["di"], case["cumulative"]["order"], strict=True)
        path.write_text("ai,bi,ci,di,year\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
        code, out, _ = run(capsys, path, "--measure", "OR", "--method", case["method"], "--order", "year")
        result = json.loads(out)
        assert code == 0 and "influence" not in result and "egger" not in result
        for analysis in ("leave1out", "cumulative"):
            got, want = result[analysis]["estimate"], case[analysis]["estimate"]
            assert [g is None for g in got] == [w is None for w in want]
            assert np.allclose([g for g in got if g is not None], [w for w in want if w is not None], rtol=1e-9)


def test_what_fit_is_refused_with_the_analyses_whose_numbers_it_would_drop(capsys, tmp_path):
    path = tmp_path / "t.csv"  # SYNTHETIC
    path.write_text("g,x,s,yi,vi\na,1,p,0.1,0.01\na,2,q,0.3,0.02\na,3,p,0.2,0.015\nb,1,p,0.5,0.03\nb,2,q,0.4,0.02\n"
                    "b,3,q,0.6,0.02\n")
    for extra in (["--mods", "x"], ["--subgroup", "s"], ["--mods", "x", "--by", "g", "--format", "csv"],
                  ["--order", "x"], ["--tau2-ci", "PL"], ["--pet-peese"], ["--fit-stats"], ["--baujat"]):
        code, out, err = run(capsys, path, "--measure", "GEN", "--method", "REML", "--what", "fit", *extra)
        assert code == 2 and out == "" and "[rule: --what]" in err and "leave out --what fit" in err, extra
    code, out, _ = run(capsys, path, "--measure", "GEN", "--method", "REML", "--what", "fit", "--weights", "x")
    assert code == 0 and "estimate" in json.loads(out)  # user weights change the fit itself


def test_a_pipe_as_input_is_refused_as_not_a_file(capsys, tmp_path):
    import os

    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)  # read once, it would read as empty
    code, out, err = run(capsys, fifo, "--measure", "GEN", "--method", "REML")
    assert code == 2 and out == "" and "the input is not a file but a pipe or a device" in err


def test_drop00_with_a_mantel_haenszel_difference_keeps_the_double_zero_table_in_the_estimate(capsys, tmp_path):
    """SYNTHETIC: a double-zero table carries MH weight for RD (n1 n2 / n); rma.mh(drop00 = TRUE)
    keeps it in the estimate (k = 5) and leaves only its own effect out (k.yi = 4, Q's)."""
    path = tmp_path / "t.csv"
    path.write_text("ai,n1i,ci,n2i\n0,10,0,10\n2,20,1,20\n1,15,3,15\n0,12,1,12\n3,30,2,30\n")
    code, out, _ = run(capsys, path, "--measure", "RD", "--method", "MH", "--drop00")
    result = json.loads(out)
    assert code == 0 and (result["k"], result["k_yi"], result["Q_df"]) == (5, 4, 3)
    # metafor 3.8-1: rma.mh(measure = "RD", ..., drop00 = TRUE): beta, se, QE
    for key, want in (("estimate", -0.011494252873563218), ("se", 0.039798185806517401), ("Q", 2.348320856638040)):
        assert math.isclose(result[key], want, rel_tol=1e-12), key
    code, out, _ = run(capsys, path, "--measure", "OR", "--method", "MH", "--drop00")
    assert code == 0 and math.isclose(json.loads(out)["estimate"], -0.16705408466316607, rel_tol=1e-12)  # rma.mh


@pytest.mark.parametrize("blank, args", [
    ("ri", ()),  # an effect's input
    ("visits", ("--mods", "visits")),  # a moderator
])
def test_a_missing_value_stops_pool_with_a_hint_how_to_leave_the_row_out(capsys, tmp_path, blank, args):
    """SYNTHETIC: metafor drops the row with a warning; metasr names it and says how to leave it out
    on purpose (usable = false), after which the row is listed as not usable and the rest pooled."""
    rows = [("a", "0.3", "50", "2"), ("b", "0.1", "40", "3"), ("c", "0.2", "60", "4"), ("d", "0.5", "30", "5"),
            ("e", "0.4", "45", "6")]
    cells = [dict(zip(("study_id", "ri", "ni", "visits"), row, strict=True)) for row in rows]
    cells[2][blank] = ""
    path = tmp_path / "t.csv"
    path.write_text("study_id,ri,ni,visits\n" + "".join(",".join(c.values()) + "\n" for c in cells))
    code, out, err = run(capsys, path, "--measure", "ZCOR", "--method", "FE", *args)
    assert code == 2 and out == "" and "row 4" in err and "'usable' column with false in this row" in err
    usable = ["true", "true", "false", "true", "true"]
    path.write_text("study_id,ri,ni,visits,usable,not_usable_reason\n"
                    + "".join(",".join(c.values()) + f",{flag},not reported\n"
                              for c, flag in zip(cells, usable, strict=True)))
    code, out, _ = run(capsys, path, "--measure", "ZCOR", "--method", "FE", *args)
    result = json.loads(out)
    assert code == 0 and result["k"] == 4 and [n["study_id"] for n in result["not_usable"]] == ["c"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
@pytest.mark.parametrize("what, extra", [("fit", []), ("full", []), ("full", ["--cluster", "study"])])
def test_by_worker_processes_print_what_one_process_prints(tmp_path, capsys, monkeypatch, fmt, what, extra):
    """--jobs: the table cut into parts pooled by worker processes (chunks of 12 rows here, so a
    small table has several) prints the same output, messages and exit status as --jobs 1."""
    from metasr.stats import grouped
    from metasr.stats.table_parts import parts

    rng = np.random.default_rng(8)  # SYNTHETIC groups of 1 to 6 studies, one with a bad row
    lines = ["group,yi,vi,study"] + [f"g{g:02d},{rng.normal():.6f},{rng.uniform(0.01, 0.2):.6f},s{i // 2}"
                                     for g in range(20) for i in range(int(rng.integers(1, 7)))]
    cells = lines[5].split(",")
    lines[5] = ",".join([*cells[:2], "0", *cells[3:]])  # vi = 0
    path = write(tmp_path, "\n".join(lines) + "\n")
    monkeypatch.setattr(grouped, "CHUNK_ROWS", 12)
    assert len(parts(path, "group", 12)) > 3
    argv = [path, "--measure", "GEN", "--method", "REML", "--by", "group", "--what", what, "--format", fmt, *extra]
    one = run(capsys, *argv, "--jobs", "1")
    assert one[0] == 1 and "could not be pooled" in one[2]
    assert run(capsys, *argv, "--jobs", "3") == one
    with pytest.raises(SystemExit):
        run(capsys, *argv, "--jobs", "0")
    assert "at least 1" in capsys.readouterr().err


def test_a_lost_worker_is_a_message_and_exit_1_not_a_traceback(tmp_path, capsys, monkeypatch):
    import os
    import signal

    from metasr import forked
    from metasr.stats import grouped

    lines = ["group,yi,vi"] + [f"g{g},{0.1 * i:.1f},0.0{i + 1}" for g in range(4) for i in range(3)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    monkeypatch.setattr(grouped, "CHUNK_ROWS", 3)

    def dies(part):  # a worker the system kills (out of memory)
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(grouped, "ordered_map", lambda func, items, jobs: forked.ordered_map(dies, items, jobs))
    code, _, err = run(capsys, path, "--measure", "GEN", "--method", "REML", "--by", "group", "--what", "fit",
                       "--format", "csv", "--jobs", "2")
    assert code == 1
    assert "killed by signal 9 (SIGKILL" in err and "--jobs 1" in err and "Traceback" not in err
