# Reference results for metasr.stats.sensitivity.influence: metafor's influence() of rma.uni fits
# (intercept-only, as the engine's influence diagnostics are), with DFBETAS and the "inf" flags
# (metafor marks a study influential when |DFFITS| > 3 sqrt(p / (k - p)), pchisq(Cook's D, p) > 0.5,
# hat > 3 p / k or any |DFBETAS| > 1; Viechtbauer & Cheung 2010), on published data sets (metadat).
# Usage: Rscript tools/reference/influence.R OUTFILE   (writes the JSON the tests read)
# Needs R with metafor, metadat and jsonlite (Debian: r-cran-metafor, r-cran-metadat, r-cran-jsonlite).
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outfile <- commandArgs(trailingOnly = TRUE)[1]
control <- list(threshold = 1e-12, maxiter = 10000)

# cumul(fit, order = ): every column of metafor's cumulative meta-analysis (zval or tval as stat, Qp as
# Q_pval), the studies added in `order` (a data set's year; its rows' order where it has none).
cumulative <- function(fit, order) {
  x <- cumul(fit, order = order)
  list(order = order, estimate = x$estimate, se = x$se, stat = if (is.null(x$zval)) x$tval else x$zval,
       pval = x$pvals, ci_lb = x$ci.lb, ci_ub = x$ci.ub, Q = x$Q, Q_pval = x$Qp, tau2 = if (is.null(x$tau2)) 0 * x$Q else x$tau2, I2 = x$I2, H2 = x$H2)
}

# leave1out(fit): every column of metafor's leave-one-out analysis (zval or tval as stat, Qp as Q_pval).
leave_one_out <- function(fit) {
  x <- leave1out(fit)
  list(estimate = x$estimate, se = x$se, stat = if (is.null(x$zval)) x$tval else x$zval, pval = x$pval,
       ci_lb = x$ci.lb, ci_ub = x$ci.ub, Q = x$Q, Q_pval = x$Qp, tau2 = if (is.null(x$tau2)) 0 * x$Q else x$tau2,
       I2 = x$I2, H2 = x$H2)
}

case <- function(id, source, es, method, test = "z") {
  fit <- rma(yi, vi, data = es, method = method, test = test, control = control)
  inf <- influence(fit)
  order <- if (is.null(es$year)) seq_len(nrow(es)) else es$year
  list(id = id, source = source, method = method, test = test, yi = as.numeric(es$yi), vi = as.numeric(es$vi),
       cumulative = cumulative(fit, order), leave1out = leave_one_out(fit),
       expected = list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                       cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, QE_del = inf$inf$QE.del,
                       hat = inf$inf$hat, dfbetas = inf$dfbs$intrcpt, inf = inf$is.infl))
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
hackshaw <- dat.hackshaw1998
egger <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)

cases <- list(
  case("bcg_RR_REML_z", "metadat dat.bcg", bcg, "REML"),
  case("bcg_RR_DL_knha", "metadat dat.bcg", bcg, "DL", "knha"),
  case("bcg_RR_FE_z", "metadat dat.bcg", bcg, "FE"),
  case("normand1999_SMD_REML_z", "metadat dat.normand1999", normand, "REML"),
  case("normand1999_SMD_PM_knha", "metadat dat.normand1999", normand, "PM", "knha"),
  case("hackshaw1998_GEN_REML_z", "metadat dat.hackshaw1998", hackshaw, "REML"),
  case("egger2001_OR_REML_z", "metadat dat.egger2001", egger, "REML"),
  case("egger2001_OR_FE_z", "metadat dat.egger2001", egger, "FE"),
  case("molloy2014_ZCOR_DL_z", "metadat dat.molloy2014", molloy, "DL"))

meta <- list(metafor = as.character(packageVersion("metafor")), metadat = as.character(packageVersion("metadat")),
             R = R.version.string, control = control)
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = FALSE), outfile)
