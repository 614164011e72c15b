"""`metasr pool`'s modelling flags: each prints its section with metafor's quantities under
metafor's names (checked against the fixtures of tests/fixtures/modelling, made by metafor 3.8-1),
--help documents them, and misuse is a clear problem (exit 2), not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metasr.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "modelling"
INPUTS = FIXTURES / "inputs"


def cases(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())["cases"]


def pool(capsys, *argv):
    code = main(["pool", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def close(a, e, rtol=1e-6):
    e = np.array([np.nan if v is None else v for v in np.atleast_1d(e)], dtype=float)
    a = np.array([np.nan if v is None else v for v in np.atleast_1d(a)], dtype=float)
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=1e-10, equal_nan=True))


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit):
        main(["pool", "--help"])
    text = capsys.readouterr().out
    for flag in ("--selmodel", "--steps", "--regtest-predictor", "--regtest-model", "--trimfill-estimator",
                 "--trimfill-side", "--pet-peese", "--fsn", "--tes", "--hc", "--btt", "--anova", "--fit-stats",
                 "--permutations", "--tau2-ci", "--baujat", "--weights", "a*b", "PMM", "adhoc"):
        assert flag in text, flag


def test_new_methods_and_tests(capsys):
    case = next(c for c in cases("tau2_tests") if c["id"] == "bcg-none-HSk-adhoc-none")
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "HSk", "--test", "adhoc")
    assert code == 0, err
    assert close(out["estimate"], case["expected"]["beta"]) and close(out["tau2"], case["expected"]["tau2"])
    assert close(out["ci_lb"], case["expected"]["ci_lb"]) and out["df"] == 12


def test_genq_with_a_weights_column(capsys):
    case = next(c for c in cases("tau2_tests") if c["id"] == "bcg-none-GENQ-z-ni")
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "GENQ", "--weights", "ni")
    assert code == 0, err
    assert close(out["tau2"], case["expected"]["tau2"]) and close(out["se"], case["expected"]["se"])


def test_regtest_and_pet_peese(capsys):
    case = next(c for c in cases("regtest") if c["id"] == "bcg-REML-lm-ninv")
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "REML",
                          "--regtest-model", "lm", "--regtest-predictor", "ninv", "--pet-peese")
    assert code == 0, err
    for key in ("zval", "pval", "dfs", "est", "ci_lb", "ci_ub"):
        assert close(out["regtest"][key], case["expected"][key]), key
    assert out["pet_peese"]["chosen"] in ("PET", "PEESE") and "rule" in out["pet_peese"]


def test_trimfill_options(capsys):
    case = next(c for c in cases("trimfill") if c["id"] == "hackshaw1998-FE-R0-left")
    code, out, err = pool(capsys, INPUTS / "hackshaw1998.csv", "--measure", "GEN", "--method", "FE",
                          "--trimfill-estimator", "R0", "--trimfill-side", "left")
    assert code == 0, err
    tf, e = out["trimfill"], case["expected"]
    assert (tf["side"], tf["k0"]) == (e["side"], e["k0"])
    assert close(tf["estimate"], e["beta"]) and close(tf["p_k0"], e["p_k0"])


def test_fsn_tes_hc(capsys):
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "DL", "--fsn", "Rosenthal",
                          "--fsn", "Orwin", "--tes", "--hc")
    assert code == 0, err
    fsn = {c["type"]: c for c in cases("fsn") if c["id"] in ("bcg-type=Rosenthal", "bcg-type=Orwin")}
    assert out["fsn"]["Rosenthal"]["fsnum"] == fsn["Rosenthal"]["expected"]["fsnum"]
    assert out["fsn"]["Orwin"]["fsnum"] == fsn["Orwin"]["expected"]["fsnum"]
    hc = next(c for c in cases("hc") if c["id"] == "bcg")["expected"]
    assert close(out["hc"]["ci_lb"], hc["ci_lb"]) and close(out["hc"]["ci_ub"], hc["ci_ub"])
    assert {"O", "E", "OEratio", "pval", "theta_lim"} <= set(out["tes"])


def test_selmodel(capsys):
    case = next(c for c in cases("selmodel") if c["id"] == "hackshaw1998-ML-stepfun-0.025-0.5")
    code, out, err = pool(capsys, FIXTURES / case["input"], "--measure", "GEN", "--method", "ML",
                          "--selmodel", "stepfun", "--steps", "0.025,0.5")
    assert code == 0, err
    sel, e = out["selmodel"], case["expected"]
    for key in ("ll", "LRT", "LRTp"):
        assert close(sel[key], e[key], 1e-7), key
    for key in ("beta", "tau2", "delta"):
        assert close(sel[key], e[key], 1e-4), key


def test_interactions_wald_anova_fit_stats_tau2_ci(capsys):
    case = next(c for c in cases("metareg") if c["id"] == "bcg ~ ablat * year REML z")
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "REML", "--mods", "ablat*year",
                          "--btt", "3,4", "--anova", "ablat + year", "--fit-stats", "--tau2-ci", "PL")
    assert code == 0, err
    e = case["expected"]
    assert out["coef_names"] == e["coef_names"] and close(out["coef"], e["beta"], 1e-5)
    wald = next(w for w in e["wald"] if list(np.atleast_1d(w["btt"])) == [3, 4])
    assert close(out["wald"]["QM"], wald["QM"], 1e-5) and out["wald"]["btt"] == [3, 4]
    assert close(out["confint"]["tau2_ci"], e["tau2_ci_pl"], 1e-5)
    assert close(out["fit_stats"]["REML"]["AIC"], e["fit_stats"]["REML"][2], 1e-5)
    lrt = next(c for c in cases("anova_lrt") if c["id"] == "bcg ~ ablat * year vs ~ ablat + year REML")
    assert close(out["anova"]["LRT"], lrt["expected"]["LRT"], 1e-5)


def test_categorical_reference_level_is_rs(capsys):
    case = next(c for c in cases("metareg") if c["id"] == "hackshaw1998 ~ country DL z")
    code, out, err = pool(capsys, INPUTS / "hackshaw1998.csv", "--measure", "GEN", "--method", "DL",
                          "--mods", "country")
    assert code == 0, err
    assert out["coef_names"] == case["expected"]["coef_names"] and close(out["coef"], case["expected"]["beta"])


def test_exact_permutations(capsys, tmp_path):
    case = next(c for c in cases("permutest") if c["id"] == "normand1999 9 ~ 1 DL z")
    code, out, err = pool(capsys, INPUTS / "normand1999.csv", "--measure", "GEN", "--method", "DL",
                          "--permutations", "1000")
    assert code == 0, err
    assert out["permutest"]["exact"] and out["permutest"]["permutations"] == 512
    assert close(out["permutest"]["pval"], case["expected"]["pval"], 0)


def test_baujat_on_the_fitted_model(capsys):
    case = next(c for c in cases("baujat") if c["id"] == "bcg REML z ~ 1")
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "REML", "--baujat")
    assert code == 0, err
    assert close(out["baujat"]["x"], case["expected"]["x"], 1e-5)
    assert close(out["baujat"]["y"], case["expected"]["y"], 1e-5)


def test_without_modelling_flags_the_output_keys_are_unchanged(capsys):
    code, out, err = pool(capsys, INPUTS / "bcg.csv", "--measure", "GEN", "--method", "REML")
    assert code == 0, err
    for key in ("regtest", "pet_peese", "selmodel", "fsn", "tes", "hc", "wald", "anova", "permutest", "baujat"):
        assert key not in out


@pytest.mark.parametrize("argv, message", [
    (["--method", "REML", "--mods", "ablat", "--pet-peese"], "without moderators"),
    (["--method", "REML", "--subgroup", "alloc", "--tes"], "subgroup"),
    (["--method", "REML", "--selmodel", "stepfun", "--steps", "x"], "--steps"),
    (["--method", "REML", "--regtest-predictor", "ni", "--ni", "absent"], "column 'absent'"),
    (["--method", "REML", "--mods", "ablat", "--btt", "9"], "outside"),
    (["--method", "DL", "--tau2-ci", "PL"], "ML or REML"),
    (["--method", "REML", "--mods", "log(ablat)"], "moderator term"),
])
def test_misuse_is_a_clear_problem(capsys, argv, message):
    if "--measure" not in argv:
        argv = ["--measure", "GEN", *argv]
    code, out, err = pool(capsys, INPUTS / "bcg.csv", *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_regtest_on_ni_takes_the_table_total_as_metafor_does(capsys):
    # metafor 3.8-1: regtest(rma(yi, vi, data = escalc("RR", ..., dat.bcg), control = list(threshold = 1e-12)),
    # predictor = "ni"): zval 2.04875455599, pval 0.0404861215166 (ni: the 2x2 table's total, escalc's attribute)
    bcg = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "inputs" / "bcg.csv"
    code, out, err = pool(capsys, bcg, "--measure", "RR", "--method", "REML", "--regtest-predictor", "ni")
    assert code == 0, err
    regtest = out["regtest"]
    assert regtest["zval"] == pytest.approx(2.04875455599, rel=1e-9)
    assert regtest["pval"] == pytest.approx(0.0404861215166, rel=1e-9)


def test_btt_with_a_factor_s_name_tests_its_levels_as_metafor(capsys):
    """dat.anand1999: --btt intensity is metafor's anova(fit, btt = "intensity") (btt_grep.json)."""
    [case] = [c for c in cases("btt_grep") if c["id"] == "anand1999 ~ year + intensity intensity z"]
    code, out, err = pool(capsys, INPUTS / "anand1999.csv", "--measure", "GEN", "--method", "REML",
                          "--mods", "year + intensity", "--btt", "intensity")
    assert code == 0, err
    wald, want = out["wald"], case["expected"]
    assert wald["btt"] == want["btt"] and wald["btt_matched"] == {"intensity": ["intensitylow", "intensitymoderate"]}
    assert close(wald["QM"], want["QM"]) and close(wald["QMp"], want["QMp"])
