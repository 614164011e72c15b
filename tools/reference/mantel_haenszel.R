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

# drop00 = TRUE (rma.mh's and rma.peto's default, given explicitly as `metasr pool --drop00` asks):
# every table stays in the estimate (k), only the tables' own effects of double-zero tables are NA
# (k.yi, the effects Q uses); the leave-one-out refits drop each table in turn, all k of them.
drop00_case <- function(id, source, measure, method, cells) {
  args <- c(cells, list(drop00 = TRUE))
  r <- suppressWarnings(if (method == "PETO") do.call(rma.peto, args) else do.call(rma.mh, c(list(measure = measure), args)))
  l1o <- suppressWarnings(leave1out(r))
  c(list(id = id, source = source, measure = measure, method = method), cells,
    list(expected = list(k = r$k, k_yi = r$k.yi, estimate = r$beta[[1]], se = r$se, Q = r$QE, Q_df = r$k.yi - 1,
                         yi = as.numeric(r$yi.f), leave1out_estimate = as.numeric(l1o$estimate),
                         leave1out_Q = as.numeric(l1o$Q))))
}
ax <- subset(dat.axfors2021, !is.na(hcq_arm_event) & !is.na(control_arm_event))
ax_cells <- with(ax, list(ai = hcq_arm_event, bi = hcq_arm_total - hcq_arm_event, ci = control_arm_event,
                          di = control_arm_total - control_arm_event))
ax_source <- "metadat dat.axfors2021 (its trials with counts; 15 without deaths in either group)"
small_cells <- list(ai = c(6, 0, 17, 1), bi = c(91, 15, 44, 58), ci = c(5, 0, 22, 2), di = c(92, 15, 59, 59))
small_source <- "SYNTHETIC: one double-zero table among four"
rate_cells <- list(x1i = c(0, 3, 5, 0, 2), t1i = c(100, 120, 90, 80, 60), x2i = c(0, 1, 2, 4, 3),
                   t2i = c(110, 115, 95, 85, 70))
rate_source <- "SYNTHETIC: a study without events in either group"
drop00_cases <- c(
  lapply(c("OR", "RR", "RD"), function(m) drop00_case(paste0("axfors2021_", m), ax_source, m, "MH", ax_cells)),
  list(drop00_case("axfors2021_PETO", ax_source, "OR", "PETO", ax_cells)),
  lapply(c("OR", "RD"), function(m) drop00_case(paste0("synthetic_", m), small_source, m, "MH", small_cells)),
  lapply(c("IRR", "IRD"), function(m) drop00_case(paste0("synthetic_rates_", m), rate_source, m, "MH", rate_cells)))

meta <- list(generator = "tools/reference/mantel_haenszel.R", metafor_version = as.character(packageVersion("metafor")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             conventions = paste("rma.mh defaults (correct = TRUE); MH/MHp are CMH/CMH_pval, TA/TAp tarone/tarone_pval;",
                                 "tables = k.pos; IRD cases: estimate, se, QE and k.yi - 1 (no MH test);",
                                 "drop00_cases: rma.mh / rma.peto with drop00 = TRUE: k, k.yi, estimate, se, QE,",
                                 "k.yi - 1, the tables' yi.f (NA: null) and leave1out()'s estimate and Q"))
writeLines(toJSON(list(meta = meta, cases = cases, drop00_cases = drop00_cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
                  pretty = TRUE), outfile)
