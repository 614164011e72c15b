# Reference results for the tests a Mantel-Haenszel analysis reports (metasr.stats.mh_tests): the
# Cochran-Mantel-Haenszel test and Tarone's test for odds ratios, the Mantel-Haenszel test for
# incidence rate ratios, from R metafor's rma.mh (its defaults: correct = TRUE) on published data
# sets (metadat) and on SYNTHETIC tables with zero cells, double-zero and all-event tables.
# Usage: Rscript tools/reference/mantel_haenszel.R OUTFILE   (writes the JSON the tests read)
# Needs R with metafor, metadat and jsonlite (Debian: r-cran-metafor, r-cran-metadat, r-cran-jsonlite).
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
outfile <- commandArgs(trailingOnly = TRUE)[1]

# Q on escalc's effects of the tables: with the default correction (1/2 to zero cells), 1/2 to every
# cell (to = "all") and 1 to every cell (add = 1, to = "all").
q_of <- function(fit) list(default = fit(list())$QE, to_all = fit(list(to = "all"))$QE,
                           add1_all = fit(list(add = 1, to = "all"))$QE)

or_case <- function(id, source, ai, n1i, ci, n2i) {
  fit <- function(extra) suppressWarnings(do.call(rma.mh, c(list(measure = "OR", ai = ai, n1i = n1i, ci = ci,
                                                                 n2i = n2i), extra)))
  r <- fit(list())
  list(id = id, source = source, measure = "OR", ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci,
       expected = list(estimate = r$beta[[1]], CMH = r$MH, CMH_pval = r$MHp, tarone = r$TA,
                       tarone_pval = r$TAp, tables = r$k.pos, Q = q_of(fit)))
}

irr_case <- function(id, source, x1i, t1i, x2i, t2i) {
  fit <- function(extra) suppressWarnings(do.call(rma.mh, c(list(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i,
                                                                 t2i = t2i), extra)))
  r <- fit(list())
  list(id = id, source = source, measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i,
       expected = list(estimate = r$beta[[1]], CMH = r$MH, CMH_pval = r$MHp, Q = q_of(fit)))
}

# The Mantel-Haenszel rate difference (no MH test): its estimate, SE and Q.
ird_case <- function(id, source, x1i, t1i, x2i, t2i) {
  r <- suppressWarnings(rma.mh(measure = "IRD", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i))
  list(id = id, source = source, measure = "IRD", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i,
       expected = list(estimate = r$beta[[1]], se = r$se, Q = list(default = r$QE), Q_df = r$k.yi - 1))
}

cases <- list(
  with(dat.bcg, or_case("bcg", "metadat dat.bcg", tpos, tpos + tneg, cpos, cpos + cneg)),
  with(dat.egger2001, or_case("egger2001", "metadat dat.egger2001", ai, n1i, ci, n2i)),
  with(dat.nielweise2007, or_case("nielweise2007", "metadat dat.nielweise2007 (a double-zero study)",
                                  ai, n1i, ci, n2i)),
  with(dat.li2007, or_case("li2007", "metadat dat.li2007", ai, n1i, ci, n2i)),
  with(dat.lee2004, or_case("lee2004", "metadat dat.lee2004", ai, n1i, ci, n2i)),
  with(subset(dat.yusuf1985, table == "6" & !is.na(ai)),
       or_case("yusuf1985_6", "metadat dat.yusuf1985, table 6 (its trials with counts)", ai, n1i, ci, n2i)),
  or_case("synthetic_zeros", "SYNTHETIC: a double-zero, a single-zero, an all-event and a 1 vs 1 table",
          c(0, 3, 0, 5, 10, 1), c(10, 20, 15, 5, 30, 1), c(0, 1, 4, 5, 12, 0), c(12, 25, 15, 5, 28, 1)),
  or_case("synthetic_single", "SYNTHETIC: one table (a common-effect MH fit pools even one)",
          c(3), c(20), c(8), c(22)),
  or_case("synthetic_one_informative", "SYNTHETIC: one informative table beside two all-event tables",
          c(5, 4, 3), c(5, 4, 20), c(5, 4, 8), c(5, 4, 22)),
  or_case("synthetic_no_effect", "SYNTHETIC: an odds ratio near 1 (the continuity correction clips CMH at 0)",
          c(5, 6, 7), c(50, 60, 70), c(5, 6, 7), c(50, 61, 70)),
  with(dat.nielweise2008, irr_case("nielweise2008", "metadat dat.nielweise2008", x1i, t1i, x2i, t2i)),
  with(dat.hart1999, irr_case("hart1999", "metadat dat.hart1999", x1i, t1i, x2i, t2i)),
  with(dat.nielweise2008, ird_case("nielweise2008_ird", "metadat dat.nielweise2008", x1i, t1i, x2i, t2i)),
  with(dat.hart1999, ird_case("hart1999_ird", "metadat dat.hart1999", x1i, t1i, x2i, t2i)),
  ird_case("synthetic_ird_zeros", "SYNTHETIC: a study without events in either group, one with events in one",
           c(0, 3, 5, 0), c(100, 120, 90, 80), c(0, 1, 2, 4), c(110, 115, 95, 85)))

meta <- list(generator = "tools/reference/mantel_haenszel.R", metafor_version = as.character(packageVersion("metafor")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             conventions = paste("rma.mh defaults (correct = TRUE); MH/MHp are CMH/CMH_pval, TA/TAp tarone/tarone_pval;",
                                 "tables = k.pos; IRD cases: estimate, se, QE and k.yi - 1 (no MH test)"))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = TRUE), outfile)
