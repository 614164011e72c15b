"""The three-level model against metafor's rma.mv (fixtures from tools/reference/multilevel.R on
published data sets), its likelihood algebra against dense matrices, and its optimiser where
metafor's stops short (boundaries, flat likelihoods)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasr.errors import InputError
from metasr.stats import multilevel as ml
from metasr.stats.blocks import Clusters, vcalc
from metasr.stats.metareg import design_matrix

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "multilevel"
REFERENCE = json.loads((FIXTURES / "expected.json").read_text())
CASES = {c["id"]: c for c in REFERENCE["cases"]}
DATASETS = REFERENCE["datasets"]
EXACT = ("k", "n_clusters", "Q", "Q_df", "Q_pval", "df", "QM_df")  # not touched by the variance components
RTOL_ITERATIVE = 1e-5


def case_inputs(case):
    ds = DATASETS[case["dataset"]]
    table = pd.read_csv(FIXTURES / ds["input"])
    mods = case["mods"].split(",") if case.get("mods") else []
    X, names = design_matrix(table, mods)
    return np.array(ds["yi"]), np.array(ds["vi"]), table[ds["cluster"]].astype(str).to_numpy(), X, names


def fit_case(case):
    yi, vi, cluster, X, names = case_inputs(case)
    return ml.fit_multilevel(yi, vi, cluster, X, case["method"], case["test"], case["rho"], names)


def as_array(value):
    return np.array([np.nan if v is None else v for v in np.atleast_1d(value)], dtype=float)


def same(key, a, e, scale) -> bool:
    """1e-6 relative for exact quantities, 1e-5 for iterative ones; variance components (and I2
    shares) also within an absolute 1e-7 of the typical variance (metafor's log-scale optimiser
    reports ~1e-12 for a component whose optimum is 0). A p-value below 1e-10 is compared on the
    log scale: its relative error is the statistic's times stat^2 (p = 1e-26 at z = 10.6), and
    metafor's optimiser leaves ~1e-7 in the statistic."""
    if a.shape != e.shape:
        return False
    rtol = 1e-6 if key in EXACT else RTOL_ITERATIVE
    atol = {"sigma2": 1e-7 * scale, "I2_levels": 1e-5, "I2": 1e-5}.get(key, 0.0)
    ok = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if key.endswith("pval"):
        tiny = (e < 1e-10) & (a > 0)
        ok |= tiny & np.isclose(np.log(np.where(tiny, a, 1)), np.log(np.where(tiny, e, 1)), rtol=1e-6)
    return bool(ok.all())


def mismatches(ours: dict, expected: dict, scale: float) -> list:
    """The keys of `expected` that `ours` does not reproduce (see `same`)."""
    bad = []
    for key, value in expected.items():
        if key in ("robust", "coef_names"):
            continue
        a, e = as_array(ours[key]), as_array(value)
        if not same(key, a, e, scale):
            bad.append((key, a.tolist(), e.tolist()))
    return bad


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_matches_metafor_rma_mv(case_id):
    case = CASES[case_id]
    fit = fit_case(case)
    out = fit.to_dict()
    assert mismatches(out, case["expected"], float(np.mean(DATASETS[case["dataset"]]["vi"]))) == []
    assert out.get("coef_names", ["intrcpt"]) == case["expected"].get("coef_names", ["intrcpt"])


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_likelihood_is_at_least_every_metafor_optimisers(case_id):
    case = CASES[case_id]
    fit = fit_case(case)
    reached = [a["loglik"] for a in case["metafor"]["attempts"] if "loglik" in a]
    assert fit.loglik >= max(reached) - 1e-9
    assert ml.kkt(fit.model, fit.sigma2)


def test_the_fixtures_hold_cases_where_metafor_fails_or_stops_at_a_boundary():
    failed = [c for c in CASES.values() if any("error" in a for a in c["metafor"]["attempts"])]
    boundary = [c for c in CASES.values() if c["metafor"]["reference"] == "boundary"]
    assert len(failed) >= 20 and len(boundary) >= 10
    assert len({c["dataset"] for c in CASES.values()}) >= 5


def test_loglik_constants_are_metafors():
    """logLik: ML -k/2 log(2 pi) - log|Sigma|/2 - RSS/2; REML with (k - p) and +1/2 log|X'X|."""
    case = CASES["konstantopoulos2011_mods_REML_z_rho0"]
    yi, vi, cluster, X, _ = case_inputs(case)
    for method in ml.METHODS:
        fit = ml.fit_multilevel(yi, vi, cluster, X, method)
        S = vcalc(vi, Clusters.from_labels(cluster), 0.0).plus_cluster_effects(*fit.sigma2).dense()
        W = np.linalg.inv(S)
        e = yi - X @ fit.beta
        ll = -0.5 * (len(yi) * math.log(2 * math.pi) + np.linalg.slogdet(S)[1] + e @ W @ e)
        if method == "REML":
            ll += 0.5 * (X.shape[1] * math.log(2 * math.pi) + np.linalg.slogdet(X.T @ X)[1]
                         - np.linalg.slogdet(X.T @ W @ X)[1])
        assert fit.loglik == pytest.approx(ll, rel=1e-10)  # the dense log|X'X| loses digits (year ~ 2000)


# ---------------------------------------------------------------- algebra against dense matrices

def synthetic(seed=1, J=25, max_size=6, p=2):
    """SYNTHETIC three-level data: clusters of 1..max_size effect sizes, shuffled rows."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_size + 1, J)
    cluster = np.repeat(np.arange(J), sizes)
    rng.shuffle(cluster)
    k = len(cluster)
    vi = rng.uniform(0.01, 0.2, k)
    X = np.column_stack([np.ones(k)] + [rng.normal(size=k) for _ in range(p - 1)])
    yi = X @ np.linspace(0.3, 0.1, p) + rng.normal(0, 0.3, J)[cluster] + rng.normal(0, 0.2, k) \
        + rng.normal(0, np.sqrt(vi))
    return yi, vi, cluster, X


@pytest.mark.parametrize("rho", [0.0, 0.6])
@pytest.mark.parametrize("method", ml.METHODS)
def test_blockwise_deviance_gradient_and_hessian(rho, method):
    yi, vi, cluster, X = synthetic()
    clusters = Clusters.from_labels(cluster)
    model = ml.ThreeLevelModel(yi, vi, clusters, X, rho, method)
    theta = np.array([0.07, 0.03])
    S = vcalc(vi, clusters, rho).plus_cluster_effects(*theta).dense()
    W = np.linalg.inv(S)
    A = np.linalg.inv(X.T @ W @ X)
    P = W - W @ X @ A @ X.T @ W
    k, p = X.shape
    dev = k * math.log(2 * math.pi) + np.linalg.slogdet(S)[1] + yi @ P @ yi
    if method == "REML":
        dev += np.linalg.slogdet(X.T @ W @ X)[1] - np.linalg.slogdet(X.T @ X)[1] - p * math.log(2 * math.pi)
    Z = [(cluster[:, None] == cluster[None, :]).astype(float), np.eye(k)]
    B = P if method == "REML" else W
    grad = [np.trace(B @ Zm) - yi @ P @ Zm @ P @ yi for Zm in Z]
    hess = [[-np.trace(B @ Zm @ B @ Zn) + 2 * yi @ P @ Zm @ P @ Zn @ P @ yi for Zn in Z] for Zm in Z]
    got = model.derivatives(theta)
    assert got[0] == pytest.approx(dev, rel=1e-12) and model.deviance(theta) == pytest.approx(dev, rel=1e-12)
    assert np.allclose(got[1], grad, rtol=1e-9) and np.allclose(got[2], hess, rtol=1e-9)
    grid = model.deviance_grid([0.0, 0.07, 1.0], [0.0, 0.03])
    assert grid[1, 1] == pytest.approx(dev, rel=1e-12)


def test_q_and_i2_per_level_use_v_alone():
    yi, vi, cluster, X = synthetic(seed=4)
    clusters = Clusters.from_labels(cluster)
    fit = ml.fit_multilevel(yi, vi, clusters, X, rho=0.5)
    V = vcalc(vi, clusters, 0.5).dense()
    W = np.linalg.inv(V)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    s2 = (len(yi) - X.shape[1]) / np.trace(P)
    total = fit.sigma2.sum()
    assert fit.Q == pytest.approx(yi @ P @ yi, rel=1e-10)
    assert fit.I2 == pytest.approx(100 * total / (total + s2), rel=1e-10)
    assert np.allclose(fit.I2_levels, 100 * fit.sigma2 / (total + s2), rtol=1e-10)
    assert sum(fit.I2_levels) == pytest.approx(fit.I2)


def test_vcalc_matches_metafor():
    check = REFERENCE["vcalc"]
    ds = DATASETS[check["dataset"]]
    table = pd.read_csv(FIXTURES / ds["input"])
    V = vcalc(ds["vi"], Clusters.from_labels(table[ds["cluster"]].to_numpy()), check["rho"]).dense()
    assert np.allclose(V, np.array(check["V"]), rtol=1e-12, atol=0)


def test_row_order_does_not_matter():
    yi, vi, cluster, X = synthetic(seed=5)
    perm = np.random.default_rng(0).permutation(len(yi))
    a = ml.fit_multilevel(yi, vi, cluster, X, rho=0.3)
    b = ml.fit_multilevel(yi[perm], vi[perm], cluster[perm], X[perm], rho=0.3)
    assert np.allclose(a.sigma2, b.sigma2, rtol=1e-8) and np.allclose(a.beta, b.beta, rtol=1e-9)


# ---------------------------------------------------------------- the optimum, where metafor struggles

def no_better_point(model, theta, scale, n=81):
    """The deviance on a fine grid (log-spaced from 0 to 100 x scale, and linear around theta) is
    nowhere lower than at theta."""
    best = model.deviance(theta)
    axis = np.concatenate(([0.0], scale * np.logspace(-8, 2, n)))
    grid = model.deviance_grid(axis, axis)
    near = [np.linspace(max(t - 0.05 * scale, 0), t + 0.05 * scale, 41) for t in theta]
    local = model.deviance_grid(near[0], near[1])
    return grid.min() >= best - 1e-9 and local.min() >= best - 1e-9


@pytest.mark.parametrize("case_id", sorted(c["id"] for c in CASES.values()
                                           if any("error" in a for a in c["metafor"]["attempts"])
                                           or c["metafor"]["reference"] == "boundary"))
def test_optimum_where_metafor_fails_or_stops_near_a_boundary(case_id):
    fit = fit_case(CASES[case_id])
    assert ml.kkt(fit.model, fit.sigma2)
    assert no_better_point(fit.model, fit.sigma2, fit.model.scale())


def test_a_component_at_zero_is_zero_with_an_outward_gradient():
    # kalaian1996: both variance components are 0 at the optimum; metafor's nlminb reports 1e-13
    fit = fit_case(CASES["kalaian1996_int_REML_z_rho0"])
    assert list(fit.sigma2) == [0.0, 0.0]
    _, grad, _ = fit.model.derivatives(fit.sigma2)
    assert np.all(grad > 0)


def test_flat_likelihood_with_few_clusters():
    """SYNTHETIC: 3 clusters, heterogeneity only within clusters; the optimum is found from any
    grid scale and is the same for a rescaled problem (sigma2 scales with the data's variance)."""
    rng = np.random.default_rng(11)
    cluster = np.repeat([0, 1, 2], [4, 3, 5])
    vi = rng.uniform(0.02, 0.05, 12)
    yi = 0.4 + rng.normal(0, 0.25, 12) + rng.normal(0, np.sqrt(vi))
    a = ml.fit_multilevel(yi, vi, cluster)
    b = ml.fit_multilevel(10 * yi, 100 * vi, cluster)
    assert ml.kkt(a.model, a.sigma2)
    assert no_better_point(a.model, a.sigma2, a.model.scale())
    assert np.allclose(b.sigma2, 100 * a.sigma2, rtol=1e-7, atol=1e-12)


def test_fixed_sigma2_is_used_as_given():
    yi, vi, cluster, X = synthetic(seed=2)
    fit = ml.fit_multilevel(yi, vi, cluster, X, sigma2=[0.05, 0.01])
    assert list(fit.sigma2) == [0.05, 0.01]


# ---------------------------------------------------------------- tests, intervals, sensitivity to rho

def test_t_test_uses_k_minus_p_without_rescaling():
    case = CASES["assink2016_mods_REML_t_rho0"]
    fit = fit_case(case)
    z = fit_case(CASES["assink2016_mods_REML_z_rho0"])
    assert fit.df == fit.k - fit.p
    assert np.allclose(fit.se, z.se, rtol=1e-12)
    assert fit.QM == pytest.approx(z.QM / (fit.p - 1), rel=1e-10) and fit.QM_df == [fit.p - 1, fit.k - fit.p]


def test_prediction_interval_adds_both_variance_components():
    fit = fit_case(CASES["assink2016_int_REML_z_rho0"])
    half = 1.959963984540054 * math.sqrt(fit.se[0] ** 2 + fit.sigma2.sum())
    assert fit.pi_ub - fit.beta[0] == pytest.approx(half, rel=1e-12)


def test_rho_sensitivity_refits_per_rho():
    yi, vi, cluster, X, names = case_inputs(CASES["konstantopoulos2011_int_REML_z_rho0"])
    rows = ml.rho_sensitivity(yi, vi, cluster, rhos=(0.0, 0.5, 0.8), robust=True)
    assert [r["rho"] for r in rows] == [0.0, 0.5, 0.8]
    for row in rows:
        expected = CASES[f"konstantopoulos2011_int_REML_z_rho{row['rho']:g}"]["expected"]
        assert row["estimate"] == pytest.approx(expected["estimate"], rel=RTOL_ITERATIVE)
        assert row["robust"]["se"] == pytest.approx(expected["robust"]["se"], rel=RTOL_ITERATIVE)


# ---------------------------------------------------------------- tables in, problems out

def table(rows):
    return pd.DataFrame(rows, dtype=str)


def konstantopoulos_table():
    return pd.read_csv(FIXTURES / DATASETS["konstantopoulos2011"]["input"], dtype=str, keep_default_na=False)


def test_analyse_multilevel_prints_metafors_keys():
    case = CASES["konstantopoulos2011_int_REML_t_rho0.5"]
    out = ml.analyse_multilevel(konstantopoulos_table(), "GEN", "REML", "district", test="t", rho=0.5, robust=True)
    assert mismatches(out, case["expected"], 0.05) == []
    assert set(out["robust"]) == {"estimate", "se", "stat", "df", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub",
                                  "transformed"}  # predict(robust(fit)), with transf
    assert out["cluster"] == "district" and out["rho"] == 0.5 and len(out["clusters"]) == out["k"]


def test_analyse_multilevel_escalcs_arm_data():
    case = CASES["bornmann2007_mods_ML_z_rho0"]
    data = pd.read_csv(FIXTURES / DATASETS["bornmann2007"]["input"], dtype=str, keep_default_na=False)
    out = ml.analyse_multilevel(data, "OR", "ML", "study", mods=["type"])
    assert np.allclose(out["yi"], DATASETS["bornmann2007"]["yi"], rtol=1e-12)
    assert mismatches(out, case["expected"], 0.01) == []


@pytest.mark.parametrize("change, options, rule", [
    (lambda t: t.drop(columns="district"), {}, "required column"),
    (lambda t: t.assign(district=[""] + list(t.district[1:])), {}, "cluster value"),
    (lambda t: t.assign(district="1"), {}, "at least two clusters"),
    (lambda t: t.assign(district=[str(i) for i in range(len(t))]), {}, "dependent effect sizes"),
    (lambda t: t.iloc[[0, 4]], {"mods": ["year"]}, "enough effect sizes"),
    (lambda t: t.assign(year="1990"), {"mods": ["year"]}, "full-rank moderators"),
    (lambda t: t, {"rho": 1.0}, "rho"),
    (lambda t: t, {"rho": -0.5}, "rho"),
    (lambda t: t, {"method": "DL"}, "multilevel method"),
    (lambda t: t, {"test": "knha"}, "multilevel test"),
])
def test_bad_input_is_a_problem_with_its_place(change, options, rule):
    args = {"measure": "GEN", "method": "REML", "cluster": "district"} | options
    with pytest.raises(InputError) as err:
        ml.analyse_multilevel(change(konstantopoulos_table()), file="k.csv", **args)
    problems = err.value.problems
    assert any(p.rule == rule for p in problems), [p.rule for p in problems]
    assert all(p.file == "k.csv" for p in problems)
    if rule == "cluster value":
        assert problems[0].row == 2 and problems[0].column == "district"


@pytest.mark.parametrize("marker", ["NA", " na ", "NaN", "<NA>"])
def test_a_missing_value_marker_is_no_cluster_id(marker):
    """R's write.csv writes NA for a missing cluster: refused as a blank is, the cell as written."""
    t = konstantopoulos_table()
    t.loc[3, "district"] = marker
    with pytest.raises(InputError) as err:
        ml.analyse_multilevel(t, "GEN", "REML", "district", file="k.csv")
    assert [(p.row, p.column, p.rule, p.value) for p in err.value.problems] == [
        (5, "district", "cluster value", marker)]


def test_rows_marked_not_usable_are_listed_not_pooled():
    t = konstantopoulos_table()
    t["usable"] = ["false"] + ["true"] * (len(t) - 1)
    t.loc[0, "district"] = ""  # a blank cluster on an unusable row is no problem
    out = ml.analyse_multilevel(t, "GEN", "REML", "district")
    assert out["k"] == len(t) - 1 and out["not_usable"][0]["row"] == 2


# ---------------------------------------------------------------- live metafor on random data

R_LIVE = r"""
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})
sets <- fromJSON(commandArgs(trailingOnly = TRUE)[1], simplifyVector = FALSE)
out <- lapply(sets, function(s) {
  dat <- data.frame(yi = unlist(s$yi), vi = unlist(s$vi), cl = unlist(s$cluster), x = unlist(s$x))
  dat$es <- seq_len(nrow(dat))
  V <- if (s$rho == 0) dat$vi else vcalc(vi, cl, obs = es, rho = s$rho, data = dat)
  mods <- if (s$mods) ~ x else ~ 1
  fits <- lapply(list(list(), list(optimizer = "optim", optmethod = "Nelder-Mead", reltol = 1e-15, maxit = 1e5),
                      list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15)), function(ctrl)
    try(rma.mv(yi, V, mods = mods, random = ~ 1 | cl/es, data = dat, method = s$method, test = s$test,
               control = ctrl), silent = TRUE))
  fits <- fits[!vapply(fits, inherits, TRUE, "try-error")]
  res <- fits[[which.max(vapply(fits, function(f) as.numeric(logLik(f)), 0))]]
  ct <- coef_test(res, vcov = "CR2", cluster = dat$cl, test = "Satterthwaite")
  list(beta = as.numeric(res$b), se = as.numeric(res$se), sigma2 = as.numeric(res$sigma2),
       loglik = as.numeric(logLik(res)), Q = as.numeric(res$QE), robust_se = as.numeric(ct$SE),
       robust_df = as.numeric(ct$df_Satt))
})
cat(toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def live_sets():
    """SYNTHETIC data sets beyond the fixtures: other sizes, rho values, settings."""
    rng = np.random.default_rng(2024)
    sets = []
    for i in range(8):
        J = int(rng.integers(6, 30))
        sizes = rng.integers(1, 7, J)
        cluster = np.repeat(np.arange(J), sizes)
        k = len(cluster)
        vi = rng.uniform(0.005, 0.3, k)
        x = rng.normal(size=k)
        s3, s2 = rng.choice([0.0, 0.02, 0.1]), rng.choice([0.0, 0.01, 0.05])
        yi = 0.2 + 0.1 * x + rng.normal(0, math.sqrt(s3), J)[cluster] + rng.normal(0, math.sqrt(s2), k) \
            + rng.normal(0, np.sqrt(vi))
        sets.append({"yi": yi.tolist(), "vi": vi.tolist(), "cluster": cluster.tolist(), "x": x.tolist(),
                     "rho": [0.0, 0.3, 0.7][i % 3], "mods": bool(i % 2), "method": ml.METHODS[i % 2],
                     "test": ["z", "t", "t", "z"][i % 4]})
    return sets


def test_matches_live_metafor_and_clubsandwich(tmp_path):
    """rma.mv and coef_test run now on random data (skipped without Rscript + metafor + clubSandwich)."""
    from metasr.stats.robust import coef_test, cr2

    rscript = shutil.which("Rscript")
    if rscript is None or subprocess.run([rscript, "-e", "library(metafor); library(clubSandwich); library(jsonlite)"],
                                         capture_output=True).returncode != 0:
        pytest.skip("R with metafor, clubSandwich and jsonlite not available")
    sets = live_sets()
    (tmp_path / "sets.json").write_text(json.dumps(sets))
    (tmp_path / "check.R").write_text(R_LIVE)
    run = subprocess.run([rscript, str(tmp_path / "check.R"), str(tmp_path / "sets.json")],
                         capture_output=True, text=True, check=True)
    bad = []
    for s, ref in zip(sets, json.loads(run.stdout), strict=True):
        yi, vi, x = (np.array(s[key]) for key in ("yi", "vi", "x"))
        X = np.column_stack([np.ones(len(yi)), x]) if s["mods"] else None
        fit = ml.fit_multilevel(yi, vi, np.array(s["cluster"]), X, s["method"], s["test"], s["rho"])
        assert fit.loglik >= ref["loglik"] - 1e-9  # never worse than metafor's best optimiser
        scale = float(np.mean(vi))
        robust = coef_test(fit.beta, cr2(fit.model.X_input, yi - fit.model.X_input @ fit.beta,
                                         ml.marginal_covariance(fit)))
        ours = {"beta": fit.beta, "se": fit.se, "sigma2": fit.sigma2, "Q": [fit.Q], "robust_se": robust["se"],
                "robust_df": robust["df"]}
        for key, value in ours.items():
            atol = 1e-6 * scale if key == "sigma2" else 0.0
            if not np.allclose(value, np.atleast_1d(ref[key]), rtol=1e-5, atol=atol):
                bad.append((key, np.asarray(value).tolist(), ref[key]))
    assert bad == []
