# Reference results for the leave-one-out and cumulative analyses of Mantel-Haenszel and Peto fits
# (metasr.stats.sensitivity.table_leave_one_out / table_cumulative): metafor's leave1out() and
# cumul() on rma.mh and rma.peto fits (their defaults), on published data sets (metadat) and one
# SYNTHETIC set with a double-zero and a single-zero table.
# Usage: Rscript tools/reference/table_sensitivity.R OUTFILE   (writes the JSON the tests read)
# Needs R with metafor, metadat and jsonlite (Debian: r-cran-metafor, r-cran-metadat, r-cran-jsonlite).
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outfile <- commandArgs(trailingOnly = TRUE)[1]

columns <- function(x) list(estimate = x$estimate, se = x$se, pval = x$pval, ci_lb = x$ci.lb, ci_ub = x$ci.ub,
                            Q = x$Q, I2 = x$I2)
# cumul() also gives zval, Qp and H2 (metasr: stat, Q_pval, H2)
cumul_columns <- function(x) c(columns(x), list(stat = x$zval, Q_pval = x$Qp, H2 = x$H2))

# `options`: rma.mh's add/to (the correction of the effects Q is computed on); `order`: cumul()'s.
sensitivity <- function(fit, order) {
  list(leave1out = columns(suppressWarnings(leave1out(fit))),
       cumulative = c(list(order = order), cumul_columns(suppressWarnings(cumul(fit, order = order)))))
}

two_by_two <- function(id, source, method, measure, ai, n1i, ci, n2i, order, options = list()) {
  args <- c(list(ai = ai, n1i = n1i, ci = ci, n2i = n2i), options)
  fit <- suppressWarnings(if (method == "MH") do.call(rma.mh, c(list(measure = measure), args))
                          else do.call(rma.peto, args))
  c(list(id = id, source = source, method = method, measure = measure, options = options,
         ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci, estimate = fit$beta[[1]]), sensitivity(fit, order))
}

rates <- function(id, source, x1i, t1i, x2i, t2i, order) {
  fit <- suppressWarnings(rma.mh(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i))
  c(list(id = id, source = source, method = "MH", measure = "IRR", options = list(), x1i = x1i, t1i = t1i,
         x2i = x2i, t2i = t2i, estimate = fit$beta[[1]]), sensitivity(fit, order))
}

bcg <- function(method, measure, options = list())
  with(dat.bcg, two_by_two(paste0("bcg_", tolower(method), "_", tolower(measure),
                                  if (length(options)) "_to_all" else ""),
                           "metadat dat.bcg", method, measure, tpos, tpos + tneg, cpos, cpos + cneg, year, options))

cases <- list(
  bcg("MH", "OR"), bcg("MH", "RR"), bcg("MH", "RD"), bcg("PETO", "OR"), bcg("MH", "OR", list(to = "all")),
  with(dat.nielweise2007, two_by_two("nielweise2007_mh_or", "metadat dat.nielweise2007 (a double-zero study)",
                                     "MH", "OR", ai, n1i, ci, n2i, year)),
  with(dat.nielweise2007, two_by_two("nielweise2007_peto_or", "metadat dat.nielweise2007 (a double-zero study)",
                                     "PETO", "OR", ai, n1i, ci, n2i, year)),
  with(dat.nielweise2007, two_by_two("nielweise2007_mh_rr", "metadat dat.nielweise2007 (a double-zero study)",
                                     "MH", "RR", ai, n1i, ci, n2i, year)),
  with(dat.li2007, two_by_two("li2007_mh_or", "metadat dat.li2007", "MH", "OR", ai, n1i, ci, n2i, seq_along(ai))),
  two_by_two("synthetic_zeros_mh_or", "SYNTHETIC: a double-zero table first, a single-zero table", "MH", "OR",
             c(0, 3, 0, 5, 10), c(10, 20, 15, 25, 30), c(0, 1, 4, 6, 12), c(12, 25, 15, 24, 28), 1:5),
  two_by_two("synthetic_if0all_mh_or", paste("SYNTHETIC: one table with a zero cell and to = 'if0all':",
                                             "the refits without it correct no table"), "MH", "OR",
             c(2, 0, 5, 10), c(20, 15, 25, 30), c(1, 3, 6, 12), c(20, 15, 24, 28), c(3, 1, 4, 2),
             list(to = "if0all")),
  two_by_two("synthetic_undefined_mh_or", paste("SYNTHETIC: a double-zero table, and one whose partner leaves the",
                                                "MH odds ratio undefined (no estimate; Q 0 on one effect)"), "MH", "OR",
             c(0, 2, 3), c(10, 20, 30), c(0, 5, 0), c(10, 20, 30), 1:3),
  two_by_two("synthetic_undefined_peto_or", "SYNTHETIC: as synthetic_undefined_mh_or, pooled by Peto", "PETO", "OR",
             c(0, 2, 3), c(10, 20, 30), c(0, 5, 0), c(10, 20, 30), 1:3),
  with(dat.hart1999, rates("hart1999_mh_irr", "metadat dat.hart1999", x1i, t1i, x2i, t2i, seq_along(x1i))),
  with(dat.nielweise2008, rates("nielweise2008_mh_irr", "metadat dat.nielweise2008", x1i, t1i, x2i, t2i, year)))

meta <- list(generator = "tools/reference/table_sensitivity.R", metafor_version = as.character(packageVersion("metafor")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             conventions = paste("leave1out() and cumul() of rma.mh / rma.peto at their defaults (drop00 = TRUE for MH,",
                                 "add = 1/2 to zero cells for the effects Q uses); cumul() in `order` (ties by input",
                                 "order); NA (null) where a refit is undefined"))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = TRUE), outfile)
