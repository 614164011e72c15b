# Reference results of metafor 3.8-1 for metasr's modelling methods (issues 13 and 20):
# tau2 estimators PMM, GENQ, HSk; tests t and adhoc; regtest (all predictors, rma and lm);
# PET-PEESE's two regressions; trimfill (L0, R0, Q0, sides); fsn; tes; hc; selmodel (stepfun,
# beta); meta-regression with interactions and categorical moderators, anova (Wald and LRT),
# fit statistics, permutest (exact), profile-likelihood and generalised-Q CIs for tau2; baujat.
#
# Usage: Rscript tools/reference/modelling.R OUTDIR [SECTION ...]   (default tests/fixtures/modelling, all)
# Writes OUTDIR/inputs/<dataset>.csv and one OUTDIR/<section>.json per section. Sections:
# tau2_tests regtest trimfill fsn tes hc selmodel metareg btt_grep anova_lrt permutest genq_ci factor_levels baujat
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(TRUE)
out <- if (length(args)) args[1] else "tests/fixtures/modelling"
only <- if (length(args) > 1) args[-1] else NULL
wanted <- function(section) is.null(only) || section %in% only
dir.create(file.path(out, "inputs"), recursive = TRUE, showWarnings = FALSE)
stopifnot(packageVersion("metafor") == "3.8.1")
CTRL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
pdf(NULL)  # baujat() draws

# ------------------------------------------------------------------ published data sets
datasets <- list()
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets$bcg <- data.frame(study = d$trial, yi = c(d$yi), vi = c(d$vi), ni = with(d, tpos + tneg + cpos + cneg),
                           ablat = d$ablat, year = d$year, alloc = d$alloc)
d <- dat.hackshaw1998
datasets$hackshaw1998 <- data.frame(study = d$study, yi = d$yi, vi = d$vi, ni = NA_real_, year = d$year,
                                    country = d$country, design = d$design)
d <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
datasets$normand1999 <- data.frame(study = d$study, yi = c(d$yi), vi = c(d$vi), ni = d$n1i + d$n2i, source = d$source)
d <- dat.bangertdrowns2004
datasets$bangertdrowns2004 <- data.frame(study = d$id, yi = d$yi, vi = d$vi, ni = d$ni, grade = d$grade,
                                         length = d$length, wic = d$wic, feedback = d$feedback, info = d$info,
                                         pers = d$pers, imag = d$imag, meta = d$meta, subject = d$subject)
d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
datasets$molloy2014 <- data.frame(study = seq_len(nrow(d)), yi = c(d$yi), vi = c(d$vi), ni = d$ni,
                                  controls = d$controls, design = d$design, a_measure = d$a_measure,
                                  meanage = d$meanage, quality = d$quality)
d <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
datasets$egger2001 <- data.frame(study = d$id, yi = c(d$yi), vi = c(d$vi), ni = d$n1i + d$n2i, year = d$year)
d <- dat.raudenbush1985
datasets$raudenbush1985 <- data.frame(study = d$study, yi = d$yi, vi = d$vi, ni = d$n1i + d$n2i, weeks = d$weeks,
                                      setting = d$setting, tester = d$tester)
d <- dat.lehmann2018
datasets$lehmann2018 <- data.frame(study = seq_len(nrow(d)), yi = d$yi, vi = d$vi, ni = d$Total.SampleSize,
                                   Preregistered = d$Preregistered, Gender = d$Gender, Design = d$Design)
for (name in names(datasets)) {
  datasets[[name]] <- datasets[[name]][!is.na(datasets[[name]]$yi) & !is.na(datasets[[name]]$vi), ]
  write.csv(datasets[[name]], file.path(out, "inputs", paste0(name, ".csv")), row.names = FALSE, na = "")
}
ds <- function(name) datasets[[name]]
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
save <- function(section, cases) {
  writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")), cases = cases),
                    digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE),
             file.path(out, paste0(section, ".json")))
}
rmafit <- function(res) {
  o <- list(coef_names = rownames(res$beta), beta = num(res$beta), se = num(res$se), zval = num(res$zval),
            pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), vb = unname(res$vb),
            tau2 = res$tau2, se_tau2 = if (is.null(res$se.tau2)) NA else res$se.tau2,
            QE = res$QE, QEp = res$QEp, I2 = res$I2, H2 = res$H2, QM = res$QM, QMdf = num(res$QMdf),
            QMp = res$QMp, ddf = num(res$ddf), k = res$k, p = res$p,
            fit_stats = list(ML = num(res$fit.stats$ML), REML = num(res$fit.stats$REML)))
  if (res$int.only) {
    pr <- predict(res)
    o$pi_lb <- pr$pi.lb; o$pi_ub <- pr$pi.ub
  }
  o
}

# ------------------------------------------------------------------ tau2 estimators and tests
if (wanted("tau2_tests")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "bangertdrowns2004", "molloy2014", "egger2001",
               "raudenbush1985", "lehmann2018")) {
  d <- ds(name)
  mods_opts <- list(none = NULL)
  if (name == "bcg") mods_opts$ablat <- "ablat"
  if (name == "raudenbush1985") mods_opts$weeks <- "weeks"
  for (mname in names(mods_opts)) {
    mods <- if (is.null(mods_opts[[mname]])) NULL else as.matrix(d[, mods_opts[[mname]], drop = FALSE])
    for (method in c("PMM", "HSk", "GENQ", "DL", "REML")) {
      for (test in c("z", "t", "adhoc", "knha")) {
        if (method %in% c("DL", "REML") && test == "z") next
        for (weights in if (method == "GENQ") c("inverse_vi", "ni") else "none") {
          if (weights == "ni" && all(is.na(d$ni))) next
          w <- switch(weights, none = NULL, inverse_vi = 1 / d$vi, ni = d$ni)
          # PMM as rma() reports it by default (uniroot at its default tol); tau2_exact at tol 1e-12
          ctrl <- if (method == "PMM") list(threshold = 1e-12) else CTRL
          res <- try(do.call(rma, c(list(yi = d$yi, vi = d$vi, method = method, test = test, control = ctrl),
                                    if (!is.null(mods)) list(mods = mods), if (!is.null(w)) list(weights = w))),
                     silent = TRUE)
          if (inherits(res, "try-error")) { message(name, method, test, ": ", res); next }
          e <- rmafit(res)
          if (method == "PMM") e$tau2_exact <- do.call(rma, c(list(yi = d$yi, vi = d$vi, method = method,
                                                                  control = CTRL), if (!is.null(mods)) list(mods = mods)))$tau2
          cases[[length(cases) + 1]] <- list(id = paste(name, mname, method, test, weights, sep = "-"),
            input = paste0("inputs/", name, ".csv"), mods = mods_opts[[mname]], method = method, test = test,
            weights = weights, expected = e)
        }
      }
    }
  }
}
save("tau2_tests", cases)
}

# ------------------------------------------------------------------ regtest and PET-PEESE
if (wanted("regtest")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "bangertdrowns2004", "molloy2014", "egger2001",
               "raudenbush1985", "lehmann2018")) {
  d <- ds(name)
  for (method in c("REML", "FE", "DL")) {
    res <- do.call(rma, c(list(yi = d$yi, vi = d$vi, method = method, control = CTRL),
                          if (!all(is.na(d$ni))) list(ni = d$ni)))
    for (model in c("rma", "lm")) {
      for (predictor in c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")) {
        if (predictor %in% c("ni", "ninv", "sqrtni", "sqrtninv") && all(is.na(d$ni))) next
        if (model == "lm" && method != "REML") next
        rt <- regtest(res, model = model, predictor = predictor, control = CTRL)
        e <- list(zval = rt$zval, pval = rt$pval, dfs = if (is.na(rt$dfs)) NULL else rt$dfs,
                  est = rt$est, ci_lb = rt$ci.lb, ci_ub = rt$ci.ub)
        if (model == "lm") {
          co <- coef(summary(rt$fit))
          e$fit <- list(beta = num(co[, 1]), se = num(co[, 2]), tval = num(co[, 3]), pval = num(co[, 4]))
        } else {
          e$fit <- list(beta = num(rt$fit$beta), se = num(rt$fit$se), pval = num(rt$fit$pval), tau2 = rt$fit$tau2)
        }
        cases[[length(cases) + 1]] <- list(id = paste(name, method, model, predictor, sep = "-"),
          input = paste0("inputs/", name, ".csv"), method = method, test = "z", model = model,
          predictor = predictor, expected = e)
      }
    }
  }
  # knha fits pass their test on to regtest
  res <- rma(d$yi, d$vi, method = "REML", test = "knha", control = CTRL)
  rt <- regtest(res, control = CTRL)
  cases[[length(cases) + 1]] <- list(id = paste(name, "REML-knha-rma-sei", sep = "-"),
    input = paste0("inputs/", name, ".csv"), method = "REML", test = "knha", model = "rma", predictor = "sei",
    expected = list(zval = rt$zval, pval = rt$pval, dfs = rt$dfs, est = rt$est, ci_lb = rt$ci.lb, ci_ub = rt$ci.ub))
}
# a meta-regression model: the predictor is added to its moderators
d <- ds("bcg")
res <- rma(yi, vi, mods = ~ ablat, data = d, method = "REML", control = CTRL)
rt <- regtest(res, control = CTRL)
cases[[length(cases) + 1]] <- list(id = "bcg-REML-rma-sei-mods-ablat", input = "inputs/bcg.csv", method = "REML",
  test = "z", model = "rma", predictor = "sei", mods = "ablat",
  expected = list(zval = rt$zval, pval = rt$pval, dfs = NULL, est = NULL, ci_lb = NULL, ci_ub = NULL))
save("regtest", cases)
}

# ------------------------------------------------------------------ trim and fill
if (wanted("trimfill")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "bangertdrowns2004", "molloy2014", "egger2001",
               "raudenbush1985", "lehmann2018")) {
  d <- ds(name)
  for (method in c("FE", "REML", "DL", "PMM", "HSk", "GENQ")) {
    # trimfill() refits without the control list; GENQ's weights 1/vi are carried along
    res <- if (method == "GENQ") rma(d$yi, d$vi, method = method, weights = 1 / d$vi, control = CTRL) else
      rma(d$yi, d$vi, method = method, control = if (method == "PMM") list(threshold = 1e-12) else CTRL)
    for (estimator in c("L0", "R0", "Q0")) {
      for (side in c("auto", "left", "right")) {
        tf <- try(if (side == "auto") trimfill(res, estimator = estimator) else
                    trimfill(res, estimator = estimator, side = side), silent = TRUE)
        if (inherits(tf, "try-error")) { message(name, method, estimator, side, ": ", tf); next }
        cases[[length(cases) + 1]] <- list(id = paste(name, method, estimator, side, sep = "-"),
          input = paste0("inputs/", name, ".csv"), method = method, estimator = estimator, side = side,
          expected = list(side = tf$side, k0 = tf$k0, se_k0 = tf$se.k0, p_k0 = tf$p.k0,
                          beta = c(tf$beta), se = tf$se, zval = tf$zval, pval = tf$pval,
                          ci_lb = tf$ci.lb, ci_ub = tf$ci.ub, tau2 = tf$tau2,
                          yi_fill = if (tf$k0 > 0) c(tf$yi[tf$fill]) else numeric(0),
                          vi_fill = if (tf$k0 > 0) c(tf$vi[tf$fill]) else numeric(0)))
      }
    }
  }
}
save("trimfill", cases)
}

# ------------------------------------------------------------------ fail-safe N
if (wanted("fsn")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "bangertdrowns2004", "molloy2014", "egger2001",
               "raudenbush1985", "lehmann2018")) {
  d <- ds(name)
  for (spec in list(list(type = "Rosenthal"), list(type = "Rosenthal", alpha = 0.01),
                    list(type = "Orwin"), list(type = "Orwin", weighted = TRUE), list(type = "Orwin", target = 0.05),
                    list(type = "Rosenberg"), list(type = "Rosenberg", alpha = 0.1))) {
    f <- do.call(fsn, c(list(yi = d$yi, vi = d$vi), spec))
    cases[[length(cases) + 1]] <- list(id = paste(c(name, unlist(lapply(names(spec), function(n) paste0(n, "=", spec[[n]])))), collapse = "-"),
      input = paste0("inputs/", name, ".csv"), type = spec$type,
      alpha = if (is.null(spec$alpha)) 0.05 else spec$alpha, weighted = isTRUE(spec$weighted),
      target = spec$target,
      expected = list(fsnum = f$fsnum, alpha = f$alpha, pval = f$pval, meanes = f$meanes, target = f$target))
  }
}
save("fsn", cases)
}

# ------------------------------------------------------------------ test of excess significance
if (wanted("tes")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "bangertdrowns2004", "molloy2014", "egger2001",
               "raudenbush1985", "lehmann2018")) {
  d <- ds(name)
  for (method in c("FE", "REML")) {
    res <- rma(d$yi, d$vi, method = method, control = CTRL)
    specs <- list(list(), list(test = "binom"), list(test = "chi2"), list(tes.alternative = "two.sided"),
                  list(alternative = "greater"))
    if (nrow(d) <= 16) specs <- c(specs, list(list(test = "exact")))
    for (spec in specs) {
      # rel.tol: integrate()'s tolerance for the power under tau2 > 0 (default eps^0.25)
      tt <- do.call(tes, c(list(x = res, progbar = FALSE, rel.tol = 1e-12), spec))
      cases[[length(cases) + 1]] <- list(id = paste(c(name, method, unlist(lapply(names(spec), function(n) paste0(n, "=", spec[[n]])))), collapse = "-"),
        input = paste0("inputs/", name, ".csv"), method = method, options = spec,
        expected = list(k = tt$k, O = tt$O, E = tt$E, OEratio = tt$OEratio, test = tt$test, stat = tt$X2,
                        pval = tt$pval, power = num(tt$power), sig = as.logical(tt$sig), theta = tt$theta,
                        theta_lim = if (is.null(tt$theta.lim)) NULL else num(tt$theta.lim)))
    }
  }
}
save("tes", cases)
}

# ------------------------------------------------------------------ Henmi-Copas
if (wanted("hc")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "bangertdrowns2004", "molloy2014", "egger2001",
               "raudenbush1985", "lehmann2018")) {
  d <- ds(name)
  res <- rma(d$yi, d$vi, method = "DL")
  h <- try(hc(res, control = list(tol = 1e-12)), silent = TRUE)
  if (inherits(h, "try-error")) { message(name, " hc: ", h); next }
  cases[[length(cases) + 1]] <- list(id = name, input = paste0("inputs/", name, ".csv"),
    expected = list(beta = h$beta, se = h$se, ci_lb = h$ci.lb, ci_ub = h$ci.ub, tau2 = h$tau2,
                    beta_rma = h$beta.rma, se_rma = h$se.rma, ci_lb_rma = h$ci.lb.rma, ci_ub_rma = h$ci.ub.rma))
}
save("hc", cases)
}

# ------------------------------------------------------------------ selection models
if (wanted("selmodel")) {
# optim's BFGS at a tight reltol, integrate() at a tight rel.tol (beta model), numDeriv Hessian.
SELCTRL <- list(reltol = 1e-15, maxit = 10000, intCtrl = list(rel.tol = 1e-12, subdivisions = 1000L))
cases <- list()
selspecs <- list(list(type = "stepfun", steps = 0.025), list(type = "stepfun", steps = c(0.025, 0.5)),
                 list(type = "stepfun", steps = c(0.05, 0.10, 0.5)), list(type = "beta"),
                 list(type = "stepfun", steps = 0.05, alternative = "two.sided"),
                 list(type = "stepfun", steps = 0.025, alternative = "less"))
for (name in c("bcg", "hackshaw1998", "bangertdrowns2004", "molloy2014", "egger2001", "lehmann2018",
               "raudenbush1985")) {
  d <- ds(name)
  for (method in c("ML", "FE", "REML")) {
    res <- rma(d$yi, d$vi, method = method, control = CTRL)
    for (spec in selspecs) {
      if (spec$type == "beta" && (nrow(d) > 40 || method == "REML")) next  # slow in R at rel.tol 1e-12
      sel <- try(do.call(selmodel, c(list(x = res, control = SELCTRL), spec)), silent = TRUE)
      if (inherits(sel, "try-error")) { message(name, method, spec$type, ": ", sel); next }
      cases[[length(cases) + 1]] <- list(
        id = paste(c(name, method, spec$type, spec$steps, spec$alternative), collapse = "-"),
        input = paste0("inputs/", name, ".csv"), method = method, type = spec$type,
        steps = if (is.null(spec$steps)) NULL else I(spec$steps),
        alternative = if (is.null(spec$alternative)) "greater" else spec$alternative,
        expected = list(beta = num(sel$beta), se = num(sel$se), zval = num(sel$zval), pval = num(sel$pval),
                        ci_lb = num(sel$ci.lb), ci_ub = num(sel$ci.ub), tau2 = sel$tau2, se_tau2 = sel$se.tau2,
                        ci_lb_tau2 = sel$ci.lb.tau2, ci_ub_tau2 = sel$ci.ub.tau2,
                        delta = I(num(sel$delta)), se_delta = I(num(sel$se.delta)),
                        zval_delta = I(num(sel$zval.delta)), pval_delta = I(num(sel$pval.delta)),
                        ci_lb_delta = I(num(sel$ci.lb.delta)), ci_ub_delta = I(num(sel$ci.ub.delta)),
                        ll = sel$ll, ll0 = sel$ll0, LRT = sel$LRT, LRTdf = sel$LRTdf, LRTp = sel$LRTp,
                        LRT_tau2 = sel$LRT.tau2, LRTp_tau2 = sel$LRTp.tau2,
                        k_per_interval = if (is.data.frame(sel$ptable)) I(sel$ptable$k) else NULL,
                        fit_stats = num(sel$fit.stats$ML)))
    }
  }
}
save("selmodel", cases)
}

# ------------------------------------------------------------------ meta-regression models
if (wanted("metareg")) {
mrspecs <- list(
  list(data = "bcg", mods = "~ ablat + alloc"), list(data = "bcg", mods = "~ ablat * year"),
  list(data = "bcg", mods = "~ alloc * ablat"), list(data = "bcg", mods = "~ ablat:year"),
  list(data = "bcg", mods = "~ alloc"),
  list(data = "molloy2014", mods = "~ controls + design"), list(data = "molloy2014", mods = "~ meanage * design"),
  list(data = "raudenbush1985", mods = "~ weeks * tester"), list(data = "raudenbush1985", mods = "~ setting + tester"),
  list(data = "lehmann2018", mods = "~ Preregistered + Gender"),
  list(data = "hackshaw1998", mods = "~ country"), list(data = "hackshaw1998", mods = "~ design + year"),
  list(data = "bangertdrowns2004", mods = "~ factor(grade) + length"),
  list(data = "bangertdrowns2004", mods = "~ factor(grade) * length"))
cases <- list()
for (spec in mrspecs) {
  d <- ds(spec$data)
  f <- as.formula(spec$mods)
  d <- d[complete.cases(d[, all.vars(f), drop = FALSE]), ]
  for (method in c("REML", "ML", "DL")) {
    for (test in c("z", "knha")) {
      res <- rma(yi, vi, mods = f, data = d, method = method, test = test, control = CTRL)
      e <- rmafit(res)
      e$R2 <- if (is.null(res$R2)) NULL else res$R2
      p <- res$p
      # Wald test of every coefficient but the intercept, then of the last one and of the last two
      btts <- list(2:p, p)
      if (p >= 3) btts[[3]] <- (p - 1):p
      e$wald <- lapply(btts, function(b) {
        a <- anova(res, btt = b)
        list(btt = I(b), QM = a$QM, QMdf = num(a$QMdf), QMp = a$QMp)
      })
      if (method %in% c("REML", "ML")) {
        ci <- confint(res, type = "PL", control = list(tol = 1e-12))
        e$tau2_ci_pl <- num(ci$random[1, 2:3])
      }
      ci <- confint(res, control = list(tol = 1e-12))
      e$tau2_ci_qp <- num(ci$random[1, 2:3])
      cases[[length(cases) + 1]] <- list(id = paste(spec$data, spec$mods, method, test), input = paste0("inputs/", spec$data, ".csv"),
                                         formula = spec$mods, method = method, test = test, expected = e)
    }
  }
}
save("metareg", cases)
}

# ------------------------------------------------------------------ Wald tests of coefficients named by a pattern
# anova(fit, btt = "name"): metafor's grep of the name in the coefficients' names (a factor's levels,
# its interactions); an exact name also greps. dat.anand1999 (OR, REML): ~ year + intensity and
# ~ year * intensity (btt "intensity" takes the levels and the interactions).
if (wanted("btt_grep")) {
d <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = metadat::dat.anand1999)
anand <- data.frame(study = d$study, yi = c(d$yi), vi = c(d$vi), year = d$year, intensity = d$intensity)
write.csv(anand, file.path(out, "inputs", "anand1999.csv"), row.names = FALSE, na = "")
specs <- list(list(data = "anand1999", mods = "~ year + intensity", btt = "intensity"),
              list(data = "anand1999", mods = "~ year * intensity", btt = "intensity"),
              list(data = "anand1999", mods = "~ year * intensity", btt = "year:"),
              list(data = "bcg", mods = "~ ablat + alloc", btt = "alloc"),
              list(data = "raudenbush1985", mods = "~ weeks * tester", btt = "tester"),
              list(data = "bangertdrowns2004", mods = "~ factor(grade) + length", btt = "grade"))
cases <- list()
for (spec in specs) {
  d <- if (spec$data == "anand1999") anand else ds(spec$data)
  f <- as.formula(spec$mods)
  d <- d[complete.cases(d[, all.vars(f), drop = FALSE]), ]
  for (test in c("z", "knha")) {
    res <- rma(yi, vi, mods = f, data = d, method = "REML", test = test, control = CTRL)
    a <- anova(res, btt = spec$btt)
    cases[[length(cases) + 1]] <- list(id = paste(spec$data, spec$mods, spec$btt, test),
                                       input = paste0("inputs/", spec$data, ".csv"), formula = spec$mods,
                                       btt = spec$btt, method = "REML", test = test,
                                       expected = list(coef_names = rownames(res$beta), btt = I(num(a$btt)),
                                                       QM = a$QM, QMdf = num(a$QMdf), QMp = a$QMp))
  }
}
save("btt_grep", cases)
}

# ------------------------------------------------------------------ likelihood-ratio tests between nested models
if (wanted("anova_lrt")) {
lrtspecs <- list(
  list(data = "bcg", full = "~ ablat + alloc", reduced = "~ ablat"),
  list(data = "bcg", full = "~ ablat * year", reduced = "~ ablat + year"),
  list(data = "bcg", full = "~ ablat", reduced = "~ 1"),
  list(data = "molloy2014", full = "~ controls + design", reduced = "~ design"),
  list(data = "raudenbush1985", full = "~ weeks * tester", reduced = "~ weeks"),
  list(data = "bangertdrowns2004", full = "~ factor(grade) + length", reduced = "~ length"))
cases <- list()
for (spec in lrtspecs) {
  d <- ds(spec$data)
  f <- as.formula(spec$full)
  d <- d[complete.cases(d[, all.vars(f), drop = FALSE]), ]
  for (method in c("ML", "REML")) {
    full <- rma(yi, vi, mods = f, data = d, method = method, control = CTRL)
    reduced <- rma(yi, vi, mods = as.formula(spec$reduced), data = d, method = method, control = CTRL)
    # REML fits with different fixed effects are not comparable: metafor warns; refit = TRUE refits by ML
    a <- if (method == "REML") anova(full, reduced, refit = TRUE) else anova(full, reduced)
    cases[[length(cases) + 1]] <- list(id = paste(spec$data, spec$full, "vs", spec$reduced, method),
      input = paste0("inputs/", spec$data, ".csv"), full = spec$full, reduced = spec$reduced, method = method,
      expected = list(LRT = a$LRT, pval = a$pval, parms_full = a$parms.f, parms_reduced = a$parms.r,
                      fit_stats_full = num(a$fit.stats.f), fit_stats_reduced = num(a$fit.stats.r),
                      QE_full = a$QE.f, QE_reduced = a$QE.r, tau2_full = a$tau2.f, tau2_reduced = a$tau2.r,
                      R2 = a$R2))
  }
}
save("anova_lrt", cases)
}

# ------------------------------------------------------------------ exact permutation tests
if (wanted("permutest")) {
cases <- list()
permspecs <- list(
  list(data = "normand1999", rows = 1:9, mods = "~ 1"), list(data = "bcg", rows = 1:10, mods = "~ 1"),
  list(data = "bcg", rows = 1:13, mods = "~ alloc"), list(data = "bcg", rows = 1:7, mods = "~ ablat"),
  list(data = "molloy2014", rows = 1:16, mods = "~ design"),
  list(data = "raudenbush1985", rows = 1:9, mods = "~ tester"))
for (spec in permspecs) {
  d <- ds(spec$data)[spec$rows, ]
  for (method in c("REML", "DL")) {
    for (test in c("z", "knha")) {
      res <- rma(yi, vi, mods = as.formula(spec$mods), data = d, method = method, test = test, control = CTRL)
      pt <- permutest(res, exact = TRUE, progbar = FALSE)
      cases[[length(cases) + 1]] <- list(id = paste(spec$data, length(spec$rows), spec$mods, method, test),
        input = paste0("inputs/", spec$data, ".csv"), rows = I(spec$rows), formula = spec$mods,
        method = method, test = test,
        expected = list(pval = I(num(pt$pval)), QMp = pt$QMp, zval = I(num(res$zval)), QM = res$QM,
                        permutations = length(pt$zval.perm) / length(res$zval)))
    }
  }
}
save("permutest", cases)
}

# ------------------------------------------------------------------ generalised-Q CIs for tau2 (method GENQ)
if (wanted("genq_ci")) {
# metafor's confint(type = "GENQ") needs CompQuadForm, which this machine cannot install. The same
# definition (Jackson 2013: the tau2 where P(Q_a >= q | tau2) is alpha/2 and 1 - alpha/2, Q_a a
# weighted sum of chi-square(1) with weights the eigenvalues of S P S) is computed here with Imhof's
# integral (R's integrate at rel.tol 1e-10) and uniroot at tol 1e-12: a check of the definition.
imhof_sf <- function(q, lambda) {
  q <- q / max(lambda); lambda <- lambda / max(lambda)  # scale-free: P(Q > q) is unchanged
  integrand <- function(u) {
    theta <- 0.5 * colSums(atan(outer(lambda, u))) - 0.5 * q * u
    rho <- exp(colSums(0.25 * log(1 + outer(lambda^2, u^2))))
    sin(theta) / (u * rho)
  }
  0.5 + integrate(integrand, 0, Inf, rel.tol = 1e-10, subdivisions = 10000L, stop.on.error = FALSE)$value / pi
}
genq_ci <- function(yi, vi, X, a, level = 0.05) {
  A <- diag(a); k <- length(yi); p <- ncol(X)
  P <- A - A %*% X %*% solve(t(X) %*% A %*% X) %*% t(X) %*% A
  q <- c(t(yi) %*% P %*% yi)
  sf <- function(t2) {
    S <- diag(sqrt(vi + t2)); lam <- eigen(S %*% P %*% S, symmetric = TRUE)$values[seq_len(k - p)]
    imhof_sf(q, lam)
  }
  tau2 <- max(0, (q - sum(diag(P %*% diag(vi)))) / sum(diag(P)))  # the GENQ estimate
  hi <- max(100, 10 * tau2)  # metafor's search interval [0, max(100, 10 tau2)]
  bound <- function(target) {
    if (sf(0) >= target) return(0)
    if (sf(hi) < target) return(hi)
    uniroot(function(t) sf(t) - target, c(0, hi), tol = 1e-12)$root
  }
  c(bound(level / 2), bound(1 - level / 2))
}
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "molloy2014", "raudenbush1985")) {
  d <- ds(name)
  for (weights in c("inverse_vi", "ni")) {
    if (weights == "ni" && all(is.na(d$ni))) next
    a <- if (weights == "ni") d$ni else 1 / d$vi
    cases[[length(cases) + 1]] <- list(id = paste(name, weights), input = paste0("inputs/", name, ".csv"),
      weights = weights, expected = list(tau2_ci = genq_ci(d$yi, d$vi, cbind(rep(1, nrow(d))), a)))
  }
}
save("genq_ci", cases)
}

# ------------------------------------------------------------------ factor levels and Baujat
if (wanted("factor_levels")) {
cases <- list()
lv <- list(c("rct", "Cohort", "case-control"), c("b", "B", "a", "A", "_x", "1", "a b", "a-b", "a1", "aa", "Ab"),
           c("low", "High", "medium", "10", "9", "2"), as.character(dat.hackshaw1998$country))
for (x in lv) cases[[length(cases) + 1]] <- list(values = I(x), levels = I(levels(factor(x))))
save("factor_levels", cases)
}
if (wanted("baujat")) {
cases <- list()
for (name in c("bcg", "hackshaw1998", "normand1999", "molloy2014", "raudenbush1985")) {
  d <- ds(name)
  for (method in c("FE", "REML", "DL")) {
    for (test in c("z", "knha")) {
      for (mods in c("~ 1", if (name == "bcg") "~ ablat", if (name == "raudenbush1985") "~ weeks")) {
        res <- rma(yi, vi, mods = as.formula(mods), data = d, method = method, test = test, control = CTRL)
        b <- baujat(res)
        cases[[length(cases) + 1]] <- list(id = paste(name, method, test, mods), input = paste0("inputs/", name, ".csv"),
          method = method, test = test, formula = mods, expected = list(x = num(b$x), y = num(b$y)))
      }
    }
  }
}
save("baujat", cases)
}
