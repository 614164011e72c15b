# Reference results for subgroup analyses of dependent effect sizes (metasr.stats.dependent): the
# three-level model with the subgroup as a categorical moderator and no intercept, so that each
# coefficient is a subgroup's mean, `rma.mv(yi, V, mods = ~ 0 + factor(subgroup), random = ~ 1 |
# cluster/es_id)`, from R metafor 3.8-1 (rma.mv, vcalc, anova) and clubSandwich 0.5.8 (coef_test,
# conf_int, Wald_test with CR2), on published data sets (metadat 1.2-0). The test for subgroup
# differences is the Wald test that every subgroup mean equals the first (metafor's anova(fit, X)),
# and its cluster-robust form the HTZ test of the same constraints (Wald_test(constrain_equal)).
# Usage: Rscript tools/reference/multilevel_subgroups.R OUTFILE
# Needs R with metafor, metadat, clubSandwich and jsonlite (Debian: r-cran-metafor, r-cran-metadat,
# r-cran-clubsandwich, r-cran-jsonlite).
suppressMessages({library(metafor); library(metadat); library(clubSandwich); library(jsonlite)})
outfile <- commandArgs(trailingOnly = TRUE)[1]
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "rma_mv_fit.R"))

subgroup_case <- function(name, es, cluster, subgroup, rho, method) {
  es$es_id <- seq_len(nrow(es))
  es$cl <- es[[cluster]]
  es$g <- factor(es[[subgroup]])
  L <- nlevels(es$g)
  V <- if (rho == 0) es$vi else vcalc(vi, cl, obs = es_id, rho = rho, data = es)
  fit <- fit_all(list(yi = es$yi, V = V, mods = ~ 0 + g, random = ~ 1 | cl / es_id, data = es, method = method,
                      test = "z", sparse = TRUE), es$vi)
  res <- fit$res
  differences <- anova(res, X = cbind(-1, diag(L - 1)))
  ct <- coef_test(res, vcov = "CR2", cluster = es$cl, test = "Satterthwaite")
  ci <- conf_int(res, vcov = "CR2", cluster = es$cl, test = "Satterthwaite")
  wt <- Wald_test(res, constraints = constrain_equal(1:L), vcov = "CR2", cluster = es$cl, test = "HTZ")
  # test = "t" at the same variance components (they do not depend on the test): t tests with
  # df = k - p, the F form of anova's Wald test, and the meta-regression on the factor (intercept
  # and contrasts with the first level), whose omnibus F test is the same test of equal means.
  res_t <- rma.mv(es$yi, V, mods = ~ 0 + g, random = ~ 1 | cl / es_id, data = es, method = method,
                  sigma2 = res$sigma2, test = "t", sparse = TRUE)
  differences_t <- anova(res_t, X = cbind(-1, diag(L - 1)))
  reg_t <- rma.mv(es$yi, V, mods = ~ g, random = ~ 1 | cl / es_id, data = es, method = method,
                  sigma2 = res$sigma2, test = "t", sparse = TRUE)
  list(id = paste(name, subgroup, method, paste0("rho", rho), sep = "_"), dataset = name, cluster = cluster,
       subgroup = subgroup, rho = rho, method = method, yi = num(es$yi), vi = num(es$vi),
       clusters = as.character(es$cl), groups = as.character(es$g),
       metafor = list(reference = fit$best, attempts = fit$attempts),
       expected = list(
         levels = levels(es$g), k = as.integer(table(es$g)),
         k_studies = as.integer(tapply(es$cl, es$g, function(x) length(unique(x)))),
         estimate = num(res$b), se = num(res$se), pval = num(res$pval), ci_lb = num(res$ci.lb),
         ci_ub = num(res$ci.ub), sigma2 = num(res$sigma2), loglik = num(logLik(res)),
         Q_between = num(differences$QM), Q_between_df = num(differences$QMdf[1]),
         Q_between_pval = num(differences$QMp),
         robust = list(se = num(ct$SE), df = num(ct$df_Satt), pval = num(ct$p_Satt), ci_lb = num(ci$CI_L),
                       ci_ub = num(ci$CI_U), Q_between = num(wt$Fstat),
                       Q_between_df = num(c(wt$df_num, wt$df_denom)), Q_between_pval = num(wt$p_val)),
         t = list(se = num(res_t$se), df = num(res_t$ddf), pval = num(res_t$pval), ci_lb = num(res_t$ci.lb),
                  ci_ub = num(res_t$ci.ub), Q_between = num(differences_t$QM),
                  Q_between_df = num(differences_t$QMdf), Q_between_pval = num(differences_t$QMp),
                  metareg = list(coef = num(reg_t$b), se = num(reg_t$se), pval = num(reg_t$pval),
                                 ci_lb = num(reg_t$ci.lb), ci_ub = num(reg_t$ci.ub), QM = num(reg_t$QM),
                                 QM_df = num(reg_t$QMdf), QM_pval = num(reg_t$QMp)))))
}

bornmann <- escalc("OR", ai = waward, n1i = wtotal, ci = maward, n2i = mtotal, data = dat.bornmann2007)
crede <- escalc("ZCOR", ri = ri, ni = ni, data = dat.crede2010)
data <- list(
  list("assink2016", dat.assink2016, "study", "deltype"),   # deltype varies within some studies
  list("bornmann2007", bornmann, "study", "type"),
  list("crede2010", crede, "studyid", "criterion"),
  list("tannersmith2016", dat.tannersmith2016, "studyid", "sexmix"))
cases <- list()
for (d in data) {
  for (rho in c(0, 0.6)) {
    for (method in c("REML", "ML")) {
      cases[[length(cases) + 1]] <- subgroup_case(d[[1]], as.data.frame(d[[2]]), d[[3]], d[[4]], rho, method)
      cat(cases[[length(cases)]]$id, ": reference from", cases[[length(cases)]]$metafor$reference, "\n")
    }
  }
}
meta <- list(generator = "tools/reference/multilevel_subgroups.R",
             metafor_version = as.character(packageVersion("metafor")),
             clubSandwich_version = as.character(packageVersion("clubSandwich")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             conventions = list(
               model = "rma.mv(yi, V, mods = ~ 0 + factor(subgroup), random = ~ 1 | cluster/es_id, test = 'z', sparse = TRUE), V = vi (rho = 0) or vcalc(vi, cluster, obs = es_id, rho)",
               control = "as tools/reference/rma_mv_fit.R: the best of several optimisers and a boundary fit",
               differences = "anova(fit, X = cbind(-1, diag(L - 1))): QM, QMdf, QMp",
               t = "the same model refitted with test = 't' at the fitted sigma2 (t tests, df = k - p; anova's F), and mods = ~ factor(subgroup) with test = 't' (the meta-regression's t tests and omnibus F)",
               robust = "clubSandwich coef_test/conf_int(vcov = 'CR2', cluster, test = 'Satterthwaite'); Wald_test(constrain_equal(1:L), vcov = 'CR2', test = 'HTZ')"))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = FALSE), outfile)
