# Reference results for the sensitivity analysis without the studies at high risk of bias
# (metasr.stats.rob_sensitivity, the pooled JSON's sensitivity.excluding_high_risk): the outcome's
# model refitted on the other studies with `subset =`, as metafor fits it: rma (REML with z and
# with Knapp-Hartung, DL), rma.mh and rma.peto, on metadat's dat.bcg with SYNTHETIC overall
# judgements (the tests give each study its judgement; which are high is listed in `high`).
# Usage: Rscript tools/reference/rob_sensitivity.R OUTFILE   (writes the JSON the tests read)
# Needs R with metafor, metadat and jsonlite (Debian: r-cran-metafor, r-cran-metadat, r-cran-jsonlite).
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outfile <- commandArgs(trailingOnly = TRUE)[1]

num <- function(x) as.numeric(x)
model <- function(r) list(k = r$k, estimate = num(r$beta), se = num(r$se), pval = num(r$pval),
                          ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$tau2), I2 = num(r$I2),
                          Q = num(r$QE))

# SYNTHETIC: the judgements of dat.bcg's 13 trials (rows 1-based), three at high risk of bias in
# different tools' words; the rest low or some concerns.
judgement <- c("low", "high", "low", "some concerns", "serious", "low", "low", "some concerns", "critical",
               "low", "low", "some concerns", "low")
high <- which(judgement %in% c("high", "serious", "critical"))
keep <- !seq_len(nrow(dat.bcg)) %in% high

case <- function(id, fit) list(id = id, high = high, expected = model(fit))

es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
cases <- with(dat.bcg, list(
  case("bcg_RR_REML_z", rma(yi, vi, data = es, subset = keep, method = "REML")),
  case("bcg_RR_REML_knha", rma(yi, vi, data = es, subset = keep, method = "REML", test = "knha")),
  case("bcg_RR_DL_z", rma(yi, vi, data = es, subset = keep, method = "DL")),
  case("bcg_RR_MH", rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, measure = "RR", subset = keep)),
  case("bcg_OR_MH", rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, measure = "OR", subset = keep)),
  case("bcg_OR_PETO", rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, subset = keep))))

meta <- list(generator = "tools/reference/rob_sensitivity.R", metafor_version = as.character(packageVersion("metafor")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             judgement = judgement,
             conventions = "the outcome's model on the studies not at high risk of bias (subset =), metafor's defaults")
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = TRUE), outfile)
