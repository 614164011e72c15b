# Reference results for the three-level model (metasr.stats.multilevel) and CR2 cluster-robust
# inference (metasr.stats.robust), from R metafor 3.8-1 (rma.mv, vcalc) and clubSandwich 0.5.8
# (coef_test, conf_int, Wald_test with CR2 and Satterthwaite / HTZ) on published data sets with
# dependent effect sizes (metadat 1.2-0).
# Usage: Rscript tools/reference/multilevel.R OUTDIR   (writes OUTDIR/expected.json, OUTDIR/inputs/*.csv)
# Needs R with metafor, metadat, clubSandwich and jsonlite (Debian: r-cran-metafor, r-cran-metadat,
# r-cran-clubsandwich, r-cran-jsonlite).
suppressMessages({library(metafor); library(metadat); library(clubSandwich); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
outdir <- args[1]
dir.create(file.path(outdir, "inputs"), recursive = TRUE, showWarnings = FALSE)

# How each reference fit is found (several optimisers, a boundary fit, the best log-likelihood):
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "rma_mv_fit.R"))

RHOS <- c(0, 0.5)

# I2 per level: the metafor website's "I^2 for multilevel and multivariate models"
# (typical sampling variance (k - p) / tr(P) with W = V^-1).
i2_levels <- function(res, V) {
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  s2 <- (res$k - res$p) / sum(diag(P))
  list(I2 = 100 * sum(res$sigma2) / (sum(res$sigma2) + s2),
       I2_levels = num(100 * res$sigma2 / (sum(res$sigma2) + s2)))
}

robust_summary <- function(res, cluster, with_mods) {
  ct <- coef_test(res, vcov = "CR2", cluster = cluster, test = "Satterthwaite")
  ci <- conf_int(res, vcov = "CR2", cluster = cluster, test = "Satterthwaite")
  out <- list(estimate = num(ct$beta), se = num(ct$SE), stat = num(ct$tstat), df = num(ct$df_Satt),
              pval = num(ct$p_Satt), ci_lb = num(ci$CI_L), ci_ub = num(ci$CI_U))
  if (with_mods) {
    wt <- Wald_test(res, constraints = constrain_zero(2:res$p), vcov = "CR2", cluster = cluster,
                    test = "HTZ")
    out$QM <- num(wt$Fstat); out$QM_df <- num(c(wt$df_num, wt$df_denom)); out$QM_pval <- num(wt$p_val)
  }
  if (!with_mods) out <- lapply(out, function(x) x[1])
  out
}

mv_summary <- function(res, V, cluster, with_mods) {
  out <- list(k = res$k, n_clusters = length(unique(cluster)))
  if (with_mods) {
    out <- c(out, list(coef_names = rownames(res$b), coef = num(res$b), se = num(res$se),
                       stat = num(res$zval), pval = num(res$pval), ci_lb = num(res$ci.lb),
                       ci_ub = num(res$ci.ub), QM = num(res$QM), QM_df = num(res$QMdf),
                       QM_pval = num(res$QMp)))
  } else {
    pr <- predict(res)
    out <- c(out, list(estimate = num(res$b), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
                       ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), pi_lb = num(pr$pi.lb),
                       pi_ub = num(pr$pi.ub)))
  }
  if (res$test == "t") out$df <- num(res$ddf[1])
  out <- c(out, list(sigma2 = num(res$sigma2)), i2_levels(res, V),
           list(Q = num(res$QE), Q_df = res$k - res$p, Q_pval = num(res$QEp), loglik = num(logLik(res))))
  out$robust <- robust_summary(res, cluster, with_mods)
  out
}

datasets <- list()
cases <- list()
add_dataset <- function(name, dat, measure, esc_args, cluster, mods, rhos = RHOS) {
  file <- paste0(name, ".csv")
  write.csv(dat, file.path(outdir, "inputs", file), row.names = FALSE)
  es <- if (is.null(esc_args)) dat else do.call(escalc, c(list(measure = measure, data = dat), esc_args))
  es$es_id <- seq_len(nrow(es))
  es$cl <- es[[cluster]]
  datasets[[name]] <<- list(input = file.path("inputs", file), measure = measure, cluster = cluster,
                            yi = num(es$yi), vi = num(es$vi))
  mods_formula <- if (is.null(mods)) NULL else as.formula(paste("~", paste(mods, collapse = " + ")))
  for (rho in rhos) {
    V <- if (rho == 0) diag(es$vi) else vcalc(vi, cl, obs = es_id, rho = rho, data = es)
    Vfit <- if (rho == 0) es$vi else V
    for (with_mods in c(FALSE, TRUE)) {
      for (method in c("REML", "ML")) {
        for (test in c("z", "t")) {
          args <- list(yi = es$yi, V = Vfit, random = ~ 1 | cl / es_id, data = es, method = method,
                       test = test, sparse = TRUE)
          if (with_mods) args$mods <- mods_formula
          id <- paste(name, if (with_mods) "mods" else "int", method, test, paste0("rho", rho), sep = "_")
          fit <- fit_all(args, es$vi)
          cat(id, ": reference from", fit$best, "\n")
          cases[[length(cases) + 1]] <<- list(
            id = id, dataset = name, method = method, test = test, rho = rho,
            mods = if (with_mods) paste(mods, collapse = ",") else NULL,
            metafor = list(reference = fit$best, attempts = fit$attempts),
            expected = if (is.null(fit$res)) NULL else mv_summary(fit$res, V, es$cl, with_mods))
        }
      }
    }
  }
  invisible(es)
}

uni_cases <- list()
add_uni <- function(name, es, cluster, mods) {
  mods_formula <- if (is.null(mods)) NULL else as.formula(paste("~", paste(mods, collapse = " + ")))
  for (with_mods in c(FALSE, TRUE)) {
    for (method in c("REML", "DL")) {
      args <- list(yi = es$yi, vi = es$vi, data = es, method = method, control = list(threshold = 1e-12, maxiter = 10000))
      if (with_mods) args$mods <- mods_formula
      res <- do.call(rma, args)
      uni_cases[[length(uni_cases) + 1]] <<- list(
        id = paste(name, "uni", if (with_mods) "mods" else "int", method, sep = "_"), dataset = name,
        method = method, mods = if (with_mods) paste(mods, collapse = ",") else NULL,
        expected = list(coef = num(res$b), tau2 = num(res$tau2),
                        robust = robust_summary(res, es[[cluster]], with_mods)))
    }
  }
}

es <- add_dataset("konstantopoulos2011", dat.konstantopoulos2011, "GEN", NULL, "district", "year",
                  rhos = c(0, 0.5, 0.8))
add_uni("konstantopoulos2011", es, "district", "year")
es <- add_dataset("assink2016", dat.assink2016, "GEN", NULL, "study", c("year", "deltype"))
add_uni("assink2016", es, "study", c("year", "deltype"))
es <- add_dataset("berkey1998", dat.berkey1998[, c("trial", "author", "year", "ni", "outcome", "yi", "vi")], "GEN",
                  NULL, "trial", "outcome")
vcalc_check <- list(dataset = "berkey1998", rho = 0.5,
                    V = unname(as.matrix(vcalc(vi, cl, obs = es_id, rho = 0.5, data = es))))
bornmann <- with(dat.bornmann2007, data.frame(study, obs, doctype, type, year, ai = waward, n1i = wtotal,
                                               ci = maward, n2i = mtotal))
add_dataset("bornmann2007", bornmann, "OR", list(ai = quote(ai), n1i = quote(n1i), ci = quote(ci),
                                                  n2i = quote(n2i)), "study", "type")
crede <- escalc("ZCOR", ri = ri, ni = ni, data = dat.crede2010)
crede <- data.frame(studyid = crede$studyid, sampleid = crede$sampleid, year = crede$year, source = crede$source,
                    criterion = crede$criterion, ni = crede$ni, ri = crede$ri, yi = num(crede$yi), vi = num(crede$vi))
add_dataset("crede2010", crede, "GEN", NULL, "studyid", "criterion")
kalaian <- dat.kalaian1996[, c("id", "study", "year", "n1i", "n2i", "outcome", "yi", "vi")]
add_dataset("kalaian1996", kalaian, "GEN", NULL, "study", "outcome")
es <- add_dataset("tannersmith2016", dat.tannersmith2016[, c("studyid", "yi", "vi", "sexmix")], "GEN", NULL,
                  "studyid", "sexmix")
add_uni("tannersmith2016", es, "studyid", "sexmix")
# knapp2017: the 57 comparisons with a task difficulty (9 have none)
knapp <- dat.knapp2017[!is.na(dat.knapp2017$difficulty), c("study", "authors", "year", "task", "difficulty", "comp",
                                                           "yi", "vi")]
add_dataset("knapp2017", knapp, "GEN", NULL, "study", "difficulty")

meta <- list(generator = "tools/reference/multilevel.R",
             metafor_version = as.character(packageVersion("metafor")),
             clubSandwich_version = as.character(packageVersion("clubSandwich")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             conventions = list(
               model = "rma.mv(yi, V, mods, random = ~ 1 | cluster/es_id, sparse = TRUE), V = vi (rho = 0) or vcalc(vi, cluster, obs = es_id, rho)",
               control = "the fit with the highest log-likelihood (ties within 1e-12 broken by the order of metafor$attempts) of: a boundary fit (components below 1e-6 * mean(vi) fixed at 0), nlminb rel.tol = 1e-12 (iter.max = eval.max = 10000), nlminb defaults, optim BFGS and Nelder-Mead with reltol = 1e-15",
               I2 = "100 sigma2 / (sum(sigma2) + (k - p) / tr(P)), P = W - W X (X'WX)^-1 X'W, W = V^-1",
               robust = "clubSandwich coef_test/conf_int(vcov = 'CR2', cluster, test = 'Satterthwaite'); QM: Wald_test(constrain_zero(2:p), test = 'HTZ')"))
writeLines(toJSON(list(meta = meta, datasets = datasets, vcalc = vcalc_check, cases = cases, uni_cases = uni_cases),
                  auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(outdir, "expected.json"))
cat(length(cases), "cases,", length(uni_cases), "univariate robust cases\n")
