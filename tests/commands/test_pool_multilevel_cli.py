"""`metasr pool --cluster`: the three-level model's CLI contract (metafor's and clubSandwich's keys
as JSON, problems without tracebacks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metasr.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "multilevel"
REFERENCE = json.loads((FIXTURES / "expected.json").read_text())
CASES = {c["id"]: c for c in REFERENCE["cases"]}
KEYS = {"estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "sigma2", "Q", "Q_df", "Q_pval", "k",
        "n_clusters", "loglik"}
METAREG_KEYS = {"coef", "se", "QM", "QM_df", "QM_pval", "sigma2", "Q", "k", "n_clusters", "loglik"}


def run(capsys, *argv):
    code = main(["pool", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def argv_for(case):
    ds = REFERENCE["datasets"][case["dataset"]]
    argv = [FIXTURES / ds["input"], "--measure", ds["measure"], "--method", case["method"], "--test", case["test"],
            "--cluster", ds["cluster"], "--rho", case["rho"], "--robust"]
    if case.get("mods"):
        argv += ["--mods", case["mods"]]
    return argv


def close(actual, expected, rtol=1e-5):
    if isinstance(expected, dict):
        return all(close(actual[k], v, rtol) for k, v in expected.items())
    if isinstance(expected, list) and expected and isinstance(expected[0], str):
        return actual == expected
    a = np.array([np.nan if v is None else v for v in np.atleast_1d(actual)], dtype=float)
    e = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=1e-8, equal_nan=True))


@pytest.mark.parametrize("case_id", ["konstantopoulos2011_int_REML_z_rho0", "konstantopoulos2011_mods_REML_t_rho0.5",
                                     "assink2016_mods_ML_t_rho0", "bornmann2007_mods_REML_z_rho0.5",
                                     "crede2010_int_ML_t_rho0.5", "berkey1998_int_REML_z_rho0"])
def test_cli_prints_metafor_and_clubsandwich_keys(case_id, capsys):
    case = CASES[case_id]
    code, out, err = run(capsys, *argv_for(case))
    assert code == 0, err
    result = json.loads(out)
    assert (METAREG_KEYS if case.get("mods") else KEYS) <= set(result)
    bad = [key for key, value in case["expected"].items() if not close(result.get(key), value)]
    assert bad == []
    assert len(result["sigma2"]) == 2 and result["cluster"] == REFERENCE["datasets"][case["dataset"]]["cluster"]


def test_intercept_only_robust_is_scalars_and_meta_regression_lists(capsys):
    base = [FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "REML", "--cluster", "study",
            "--robust"]
    _, out, _ = run(capsys, *base)
    robust = json.loads(out)["robust"]
    assert all(isinstance(v, float) for key, v in robust.items() if key != "transformed")
    assert robust["transformed"]["pi_lb"] == robust["pi_lb"]  # GEN: the identity
    _, out, _ = run(capsys, *base, "--mods", "year,deltype")
    robust = json.loads(out)["robust"]
    assert all(len(robust[key]) == 4 for key in ("estimate", "se", "stat", "df", "pval", "ci_lb", "ci_ub"))
    assert robust["QM_df"][0] == 3


@pytest.mark.parametrize("extra, message", [
    (["--rho", "0.5"], "--rho and --robust need --cluster"),
    (["--robust"], "--rho and --robust need --cluster"),
    (["--cluster", "study", "--subgroup", "deltype", "--mods", "year"], "choose one of moderators or subgroup"),
    (["--cluster", "study", "--subgroup", "nosuch"], "subgroup column 'nosuch' is missing"),
    (["--cluster", "study", "--order", "year"], "--order is not available with --cluster"),
    (["--cluster", "nosuchcolumn"], "cluster column 'nosuchcolumn' is missing"),
    (["--cluster", "study", "--test", "knha"], "tests with z or t"),
    (["--cluster", "study", "--rho", "1.5"], "strictly between -1 and 1"),
    (["--cluster", "study", "--rho=-0.3"], "rho = -0.3 makes the sampling covariance of cluster '11' (22 effect sizes) "
                                           "not positive definite (rho must exceed -1/(n - 1)"),
])
def test_misuse_is_a_problem_not_a_traceback(extra, message, capsys):
    code, out, err = run(capsys, FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "REML", *extra)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


ASSINK_MODS = [FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "REML", "--cluster", "study",
               "--mods", "deltype,year"]


@pytest.mark.parametrize("extra", [["--weights", "vi"], ["--pet-peese"], ["--fit-stats"], ["--tau2-ci", "PL"],
                                   ["--selmodel", "stepfun"], ["--permutations", "100"], ["--hc"], ["--tes"],
                                   ["--fsn", "Rosenthal"], ["--baujat"], ["--anova", "1"], ["--order", "year"],
                                   ["--small-study-min-k", "5"], ["--seed", "1"], ["--ni", "n"]])
def test_an_option_the_three_level_model_does_not_take_is_refused_by_name(extra, capsys):
    """They were ignored: exit 0, no section, no word."""
    code, out, err = run(capsys, *ASSINK_MODS, *extra)
    assert code == 2 and out == ""
    assert f"{extra[0]} is not available with --cluster" in err and "Traceback" not in err


def test_the_options_with_cluster_are_one_declared_list():
    from metasr.cli import build_parser
    from metasr.commands import pool

    args = vars(build_parser().parse_args(["pool", "x.csv", "--measure", "GEN", "--method", "REML"]))
    dests = set(args) - {"command", "func", "options_outside_cluster"}  # every option of pool, as a dest
    assert pool.CLUSTER_OPTIONS <= dests  # no stale name
    assert {dest for dest, _, _ in args["options_outside_cluster"]} == dests - pool.CLUSTER_OPTIONS


def test_btt_is_rma_mvs_wald_test_of_those_coefficients(capsys):
    """dat.assink2016, mods deltype + year: anova(fit, btt = 2:3) for test z and t, and with --robust
    anova(robust(fit, cluster = study, clubSandwich = TRUE), btt = 2:3) (HTZ), metafor 3.8-1 /
    clubSandwich 0.5.8. The QM printed was the omnibus test of all three slopes."""
    code, out, err = run(capsys, *ASSINK_MODS, "--btt", "2,3", "--robust")
    assert code == 0, err
    wald = json.loads(out)["wald"]
    assert wald["btt"] == [2, 3] and wald["coef_names"] == ["deltypegeneral", "deltypeovert"]
    assert (wald["QM"], wald["QMp"]) == pytest.approx((14.1859959521, 0.000830902601768), rel=1e-6)
    assert wald["QMdf"] == [2, None]
    robust = wald["robust"]
    assert (robust["QM"], robust["QMdf"][1], robust["QMp"]) == pytest.approx((30.5684349235, 0.842233189247,
                                                                               0.163626670658), rel=1e-6)
    _, out, _ = run(capsys, *ASSINK_MODS, "--btt", "year", "--test", "t")
    wald = json.loads(out)["wald"]
    assert wald["btt"] == [4] and wald["QMdf"] == [1, 96]
    assert (wald["QM"], wald["QMp"]) == pytest.approx((4.31519883333, 0.0404435300765), rel=1e-6)


def test_the_fit_alone_keeps_the_variance_components(capsys):
    base = [FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "REML", "--cluster", "study",
            "--what", "fit"]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    fit = json.loads(out)
    assert len(fit["sigma2"]) == 2 and len(fit["I2_levels"]) == 2 and fit["n_clusters"] == 17
    _, out, _ = run(capsys, *base, "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert {"sigma2.1", "sigma2.2", "I2_levels.1", "I2_levels.2"} <= set(header)


def test_robust_prediction_interval_is_predict_of_robust(capsys):
    """dat.assink2016, rho = 0.6: predict(robust(fit, cluster = study, clubSandwich = TRUE)) gives
    -0.689525362 to 1.425035133 (t on the Satterthwaite df 14.53, CR2 se), as the pipeline; the fit's
    own predict() -0.601574795 to 1.337084567 stays at the top level (metafor 3.8-1)."""
    code, out, err = run(capsys, FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "REML",
                         "--cluster", "study", "--rho", "0.6", "--robust")
    assert code == 0, err
    result = json.loads(out)
    assert (result["pi_lb"], result["pi_ub"]) == pytest.approx((-0.601574795, 1.337084567), rel=1e-6)
    robust = result["robust"]
    assert (robust["pi_lb"], robust["pi_ub"]) == pytest.approx((-0.689525362, 1.425035133), rel=1e-6)


def test_method_outside_reml_and_ml_is_refused(capsys):
    code, _, err = run(capsys, FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "DL",
                       "--cluster", "study")
    assert code == 2 and "fitted by REML or ML" in err


SUBGROUP_REFERENCE = {c["id"]: c for c in json.loads(
    (FIXTURES.parent / "multilevel_subgroups" / "expected.json").read_text())["cases"]}


@pytest.mark.parametrize(("case_id", "robust"), [("assink2016_deltype_REML_rho0", False),
                                                 ("tannersmith2016_sexmix_REML_rho0", True)])
def test_a_subgroup_analysis_of_clustered_effect_sizes_is_rma_mv_s_and_clubsandwich_s(case_id, robust, capsys):
    """`--cluster --subgroup` (dat.assink2016's deltype varies within studies): the references of
    tests/fixtures/multilevel_subgroups (rho = 0, REML)."""
    case = SUBGROUP_REFERENCE[case_id]
    reference = case["expected"]
    ds = REFERENCE["datasets"][case["dataset"]]
    code, out, err = run(capsys, FIXTURES / ds["input"], "--measure", "GEN", "--method", "REML", "--cluster",
                         case["cluster"], "--subgroup", case["subgroup"], *(["--robust"] if robust else []))
    assert code == 0, err
    sub = json.loads(out)["subgroups"]
    want = reference["robust"] if robust else reference
    assert sub["variable"] == case["subgroup"] and [lv["level"] for lv in sub["levels"]] == reference["levels"]
    assert close([lv["estimate"] for lv in sub["levels"]], reference["estimate"])
    assert close([lv["se"] for lv in sub["levels"]], want["se"])
    assert close(sub["Q_between"], want["Q_between"]) and close(sub["Q_between_pval"], want["Q_between_pval"])


def test_a_robust_subgroup_resting_on_one_study_is_not_tested(capsys):
    """dat.assink2016: covert delinquency comes from one study; its CR2 variance means nothing."""
    code, out, err = run(capsys, FIXTURES / "inputs/assink2016.csv", "--measure", "GEN", "--method", "REML",
                         "--cluster", "study", "--subgroup", "deltype", "--robust")
    assert code == 0, err
    assert "covert rests on one" in json.loads(out)["subgroups"]["skipped"]


def test_cluster_values_equal_as_numbers_but_written_differently_are_warned_about(tmp_path, capsys):
    """dat.konstantopoulos2011 with district 11 written 11, 11.0 and 011: three clusters (rma.mv's
    factor() compares text too), said on stderr and under `warnings`, no longer silently."""
    lines = (FIXTURES / "inputs/konstantopoulos2011.csv").read_text().splitlines()
    lines[2] = lines[2].replace("11,", "11.0,", 1)
    lines[3] = lines[3].replace("11,", "011,", 1)
    table = tmp_path / "konst.csv"
    table.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, table, "--measure", "GEN", "--method", "REML", "--cluster", "district")
    assert code == 0
    message = ("'district' values '11', '11.0' and '011' are equal as numbers but written differently, so they are 3 "
               "separate clusters (rows 2, 3, 4)")
    assert json.loads(out)["warnings"][0].startswith(message) and f"warning: {message}" in err
    code, out, err = run(capsys, FIXTURES / "inputs/konstantopoulos2011.csv", "--measure", "GEN", "--method", "REML",
                         "--cluster", "district")
    assert "warnings" not in json.loads(out) and err == ""
