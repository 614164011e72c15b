# metafor's side of bench/bench_pool_cli.py: the loop a metafor user writes over many meta-analyses.
#
#   Rscript bench/metafor_loop.R FIT.csv FULL.csv OUTDIR
#
# FIT.csv and FULL.csv hold columns group, yi, vi (SYNTHETIC data written by bench_pool_cli.py),
# sorted by group. Three loops, each timed with proc.time() (elapsed and user + system):
#   fit    rma(yi, vi, method = "REML") per group of FIT.csv, metafor's default control;
#   tight  the same at threshold 1e-12 (not timed against metasr: the agreement check);
#   full   per group of FULL.csv what `metasr pool --what full` reports: rma (REML), predict
#          (prediction interval), confint (Q-profile CIs of tau2, I2, H2), regtest (model "rma",
#          predictor sei), regtest (model "lm"), ranktest, trimfill, leave1out, influence.
# Writes OUTDIR/metafor_fit.csv, metafor_tight.csv, metafor_full.csv (one row per group) and
# prints the timings as one JSON line.
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
fit_groups <- split(read.csv(args[1], colClasses = c("character", "numeric", "numeric")), ~ group)
full_groups <- split(read.csv(args[2], colClasses = c("character", "numeric", "numeric")), ~ group)
outdir <- args[3]

timed <- function(expr) {
  t0 <- proc.time()
  value <- force(expr)
  t <- proc.time() - t0
  list(value = value, elapsed = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]])
}

# The first value of expr, or NA when it fails or is empty (a failed step's result is NULL).
or_na <- function(expr) {
  value <- tryCatch(expr, error = function(e) NULL)
  if (length(value) == 0) NA_real_ else value[[1]]
}

fit_one <- function(d, control = list()) {
  res <- tryCatch(rma(d$yi, d$vi, method = "REML", control = control), error = function(e) NULL)
  if (is.null(res)) return(c(estimate = NA, se = NA, tau2 = NA, tau2_se = NA, Q = NA))
  c(estimate = res$beta[1], se = res$se, tau2 = res$tau2, tau2_se = res$se.tau2, Q = res$QE)
}

full_one <- function(d) {
  res <- tryCatch(rma(d$yi, d$vi, method = "REML"), error = function(e) NULL)
  if (is.null(res)) return(rep(NA_real_, 11))
  pr <- predict(res)
  ci <- tryCatch(confint(res), error = function(e) NULL)
  eg <- tryCatch(regtest(res), error = function(e) NULL)
  eg_lm <- tryCatch(regtest(res, model = "lm"), error = function(e) NULL)
  rk <- tryCatch(ranktest(res), error = function(e) NULL)
  tf <- tryCatch(trimfill(res), error = function(e) NULL)
  l1 <- leave1out(res)
  inf <- influence(res)
  c(estimate = res$beta[1], tau2 = res$tau2, pi_lb = or_na(pr$pi.lb),
    tau2_ci_lb = or_na(ci$random["tau^2", "ci.lb"]), tau2_ci_ub = or_na(ci$random["tau^2", "ci.ub"]),
    egger_pval = or_na(eg$pval), egger_lm_pval = or_na(eg_lm$pval), begg_pval = or_na(rk$pval),
    trimfill_k0 = or_na(tf$k0), trimfill_estimate = or_na(tf$beta[1]), leave1out_estimate_1 = l1$estimate[1])
}

write_rows <- function(rows, groups, file) {
  out <- data.frame(group = names(groups), do.call(rbind, rows), check.names = FALSE)
  write.csv(out, file.path(outdir, file), row.names = FALSE)
}

fit <- timed(lapply(fit_groups, fit_one))
tight <- timed(lapply(fit_groups, fit_one, control = list(threshold = 1e-12, maxiter = 10000)))
full <- timed(lapply(full_groups, full_one))
write_rows(fit$value, fit_groups, "metafor_fit.csv")
write_rows(tight$value, fit_groups, "metafor_tight.csv")
write_rows(full$value, full_groups, "metafor_full.csv")
cat(sprintf(paste0('{"metafor": "%s", "R": "%s", "fit_groups": %d, "fit_s": %.4f, "fit_cpu_s": %.4f, ',
                   '"tight_s": %.4f, "full_groups": %d, "full_s": %.4f, "full_cpu_s": %.4f}\n'),
            as.character(packageVersion("metafor")), getRversion(), length(fit_groups), fit$elapsed, fit$cpu,
            tight$elapsed, length(full_groups), full$elapsed, full$cpu))
