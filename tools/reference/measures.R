# Reference results for metasr's measures (escalc and rma with predict(transf = ...)), from metafor.
# Usage: Rscript tools/reference/measures.R OUTDIR   (the tests read tests/fixtures/measures)
# Needs R with metafor 3.8-1, metadat, jsonlite and gsl (UCOR):
#   apt-get install r-cran-metafor r-cran-metadat r-cran-jsonlite r-cran-gsl
# Data: published data sets from metadat, written to OUTDIR/inputs with metafor's column names;
# one small table is SYNTHETIC (zero counts with person-time, which no metadat data set has) and
# says so in its file name and in the output's `datasets`.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript tools/reference/measures.R OUTDIR")
outdir <- args[1]
dir.create(file.path(outdir, "inputs"), recursive = TRUE, showWarnings = FALSE)

ctrl <- list(threshold = 1e-12, maxiter = 10000)
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

# ---------------------------------------------------------------- data sets (metafor's names)
datasets <- list()
add_dataset <- function(name, data, source) {
  write.csv(data, file.path(outdir, "inputs", paste0(name, ".csv")), row.names = FALSE, na = "")
  datasets[[name]] <<- list(input = paste0("inputs/", name, ".csv"), source = source)
  data
}

d <- dat.normand1999
normand <- add_dataset("normand1999", data.frame(study = d$source, m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i,
  m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i), "metadat::dat.normand1999 (Normand 1999, stroke care, length of stay)")
d <- dat.curtis1998
curtis <- add_dataset("curtis1998", data.frame(study = d$id, m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i,
  m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i), "metadat::dat.curtis1998 (Curtis & Wang 1998, elevated CO2 and plant mass)")
d <- dat.bcg
bcg <- add_dataset("bcg", data.frame(study = d$author, year = d$year, ai = d$tpos, bi = d$tneg, ci = d$cpos,
  di = d$cneg), "metadat::dat.bcg (Colditz et al. 1994, BCG vaccine trials)")
d <- dat.nielweise2007
niel07 <- add_dataset("nielweise2007", data.frame(study = d$author, year = d$year, ai = d$ai, n1i = d$n1i,
  ci = d$ci, n2i = d$n2i), "metadat::dat.nielweise2007 (Niel-Weise et al. 2007, anti-infective catheters; zero cells, one double zero)")
d <- dat.hart1999
hart <- add_dataset("hart1999", data.frame(study = d$study, year = d$year, x1i = d$x1i, t1i = d$t1i, x2i = d$x2i,
  t2i = d$t2i, xi = d$x1i, ti = d$t1i), "metadat::dat.hart1999 (Hart et al. 1999, warfarin in atrial fibrillation; xi, ti: the warfarin arm)")
d <- dat.nielweise2008
niel08 <- add_dataset("nielweise2008", data.frame(study = d$authors, year = d$year, x1i = d$x1i, t1i = d$t1i,
  x2i = d$x2i, t2i = d$t2i, xi = d$x2i, ti = d$t2i), "metadat::dat.nielweise2008 (Niel-Weise et al. 2008, catheter infections per catheter-days; xi, ti: the control arm)")
d <- dat.pritz1997
pritz <- add_dataset("pritz1997", data.frame(study = d$authors, xi = d$xi, ni = d$ni),
  "metadat::dat.pritz1997 (Pritz 1997, outcome after intracerebral aneurysm surgery; two studies with xi = ni)")
d <- dat.debruin2009
debruin <- add_dataset("debruin2009", data.frame(study = d$author, year = d$year, xi = d$xi, mi = d$mi),
  "metadat::dat.debruin2009 (de Bruin et al. 2009, adherence to HAART; given as xi and mi)")
d <- dat.hasselblad1998
hassel <- add_dataset("hasselblad1998", data.frame(study = paste(d$authors, d$trt), year = d$year, xi = d$xi,
  ni = d$ni), "metadat::dat.hasselblad1998 (Hasselblad 1998, smoking cessation arms; zero counts)")
d <- dat.molloy2014
molloy <- add_dataset("molloy2014", data.frame(study = d$authors, year = d$year, ri = d$ri, ni = d$ni),
  "metadat::dat.molloy2014 (Molloy et al. 2014, conscientiousness and medication adherence)")
d <- dat.mcdaniel1994
mcdaniel <- add_dataset("mcdaniel1994", data.frame(study = d$study, ri = d$ri, ni = d$ni),
  "metadat::dat.mcdaniel1994 (McDaniel et al. 1994, employment interview validity)")
d <- dat.senn2013
senn_change <- add_dataset("senn2013_placebo", with(d[d$treatment == "placebo" & d$comment == "change", ],
  data.frame(study = study, mi = mi, sdi = sdi, ni = ni)),
  "metadat::dat.senn2013 (Senn et al. 2013, glucose-lowering agents; the placebo arms' mean change in HbA1c, negative and positive)")
senn_raw <- add_dataset("senn2013_raw", with(d[d$comment == "raw", ],
  data.frame(study = paste(study, treatment), mi = mi, sdi = sdi, ni = ni)),
  "metadat::dat.senn2013 (Senn et al. 2013, glucose-lowering agents; the arms reporting HbA1c at follow-up)")
d <- dat.normand1999
normand_arm <- add_dataset("normand1999_specialist", data.frame(study = d$source, mi = d$m1i, sdi = d$sd1i,
  ni = d$n1i), "metadat::dat.normand1999 (Normand 1999, stroke care; length of stay in the specialist-care arms)")
d <- dat.curtis1998
curtis_arm <- add_dataset("curtis1998_elevated", data.frame(study = d$id, mi = d$m1i, sdi = d$sd1i, ni = d$n1i),
  "metadat::dat.curtis1998 (Curtis & Wang 1998, plant mass; the elevated-CO2 arms)")
d <- dat.lehmann2018[dat.lehmann2018$Design == "Within Subjects", ]
lehmann_within <- add_dataset("lehmann2018_within", data.frame(study = paste0(d$Short_Title, " (", d$Gender, ")"),
  m1i = d$Red_M, m2i = d$Control_M, sd1i = d$Red_SD, sd2i = d$Control_SD, ni = d$Red_N, ri = d$RM_r),
  "metadat::dat.lehmann2018 (Lehmann et al. 2018, red and perceived attractiveness; the 12 within-subjects studies: occasion 1 red, occasion 2 control, ri their correlation)")
d <- d[!is.na(d$SD_diff), ]
lehmann_change <- add_dataset("lehmann2018_sd_change", data.frame(study = paste0(d$Short_Title, " (", d$Gender, ")"),
  m1i = d$Red_M, m2i = d$Control_M, sd1i = d$SD_diff, sd2i = 0, ni = d$Red_N, ri = 0),
  "metadat::dat.lehmann2018 (the 5 within-subjects studies with the SD of the differences: given as sd1i with sd2i = 0 and ri = 0, as ?escalc describes)")
d <- dat.bourassa1996[dat.bourassa1996$sex == "combined", ]
bourassa <- add_dataset("bourassa1996", data.frame(study = paste0(d$author, " ", d$year, " (sample ", d$sample, ")"),
  year = d$year, ai = d$lh.le, bi = d$lh.re, ci = d$rh.le, di = d$rh.re),
  "metadat::dat.bourassa1996 (Bourassa et al. 1996, handedness and eye dominance; the 54 samples of both sexes combined: ai left-handed left-eyed, bi left-handed right-eyed, ci right-handed left-eyed, di right-handed right-eyed; one zero cell)")
d <- dat.aloe2013
aloe <- add_dataset("aloe2013", data.frame(study = d$study, ti = d$tval, ni = d$n, mi = d$preds, r2i = d$R2),
  "metadat::dat.aloe2013 (Aloe & Thompson 2013, supervision and job outcomes; ti: the t statistic of the coefficient of interest, mi: the model's predictors, r2i: its R^2)")
zero <- add_dataset("synthetic_zero_counts", data.frame(study = paste("SYNTHETIC", 1:5),
  x1i = c(0, 3, 5, 0, 2), t1i = c(120, 340, 410, 95, 260), x2i = c(2, 0, 6, 0, 4), t2i = c(110, 300, 390, 100, 280),
  xi = c(0, 3, 5, 0, 2), ti = c(120, 340, 410, 95, 260)),
  "SYNTHETIC: made-up counts with zeros and person-time (no metadat data set has zero counts with person-time)")

# ---------------------------------------------------------------- escalc cases
escalc_cases <- list()
data_args <- function(measure, data) {
  cols <- switch(measure,
    SMD = , MD = , SMDH = , ROM = , CVR = c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    SMD1 = c("m1i", "n1i", "m2i", "sd2i", "n2i"),
    VR = c("sd1i", "n1i", "sd2i", "n2i"),
    RR = , OR = , RD = , PETO = , AS = , PHI = , YUQ = , YUY = intersect(c("ai", "bi", "ci", "di", "n1i", "n2i"),
      names(data)),
    IRR = , IRD = , IRSD = c("x1i", "t1i", "x2i", "t2i"),
    PR = , PLN = , PLO = , PAS = , PFT = intersect(c("xi", "ni", "mi"), names(data)),
    IR = , IRLN = , IRS = , IRFT = c("xi", "ti"),
    MN = , MNLN = c("mi", "sdi", "ni"),
    MC = , SMCC = , SMCRH = , ROMC = c("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    SMCR = c("m1i", "m2i", "sd1i", "ni", "ri"),
    COR = , UCOR = , ZCOR = c("ri", "ni"),
    PCOR = c("ti", "ni", "mi"),
    SPCOR = c("ti", "ni", "mi", "r2i"))
  data[cols]
}
run_escalc <- function(dataset, measure, options = list()) {
  data <- get(dataset_var[[dataset]])
  es <- do.call(escalc, c(list(measure = measure), as.list(data_args(measure, data)), options))
  id <- paste(c(dataset, measure, unlist(Map(function(k, v) paste0(k, "=", v), names(options), options))),
              collapse = "_")
  escalc_cases[[length(escalc_cases) + 1]] <<- list(id = id, dataset = dataset,
    input = datasets[[dataset]]$input, measure = measure, options = if (length(options)) options else structure(list(), names = character(0)),
    yi = num(es$yi), vi = num(es$vi))
  es
}
dataset_var <- list(normand1999 = "normand", curtis1998 = "curtis", bcg = "bcg", nielweise2007 = "niel07",
  hart1999 = "hart", nielweise2008 = "niel08", pritz1997 = "pritz", debruin2009 = "debruin",
  hasselblad1998 = "hassel", molloy2014 = "molloy", mcdaniel1994 = "mcdaniel", synthetic_zero_counts = "zero",
  senn2013_placebo = "senn_change", senn2013_raw = "senn_raw", normand1999_specialist = "normand_arm",
  curtis1998_elevated = "curtis_arm", lehmann2018_within = "lehmann_within",
  lehmann2018_sd_change = "lehmann_change", bourassa1996 = "bourassa", aloe2013 = "aloe")

# two-group means and variability, every vtype
for (ds in c("normand1999", "curtis1998")) {
  for (v in c("LS", "UB", "LS2", "AV")) run_escalc(ds, "SMD", list(vtype = v))
  for (v in c("LS", "UB", "HO")) run_escalc(ds, "MD", list(vtype = v))
  for (v in c("LS", "LS2")) run_escalc(ds, "SMDH", list(vtype = v))
  for (v in c("LS", "HO", "AV", "AVHO")) run_escalc(ds, "ROM", list(vtype = v))
  run_escalc(ds, "CVR")
  run_escalc(ds, "VR")
  for (v in c("LS", "UB", "LS2", "AV")) run_escalc(ds, "SMD1", list(vtype = v))
}
# two-group tables: zero cells, add / to / drop00, RD's vtype, PETO as a measure
for (m in c("RR", "OR", "RD", "PETO", "AS")) {
  run_escalc("bcg", m)
  for (to in c("only0", "all", "if0all", "none")) run_escalc("nielweise2007", m, list(to = to))
  run_escalc("nielweise2007", m, list(add = 0.25))
  run_escalc("nielweise2007", m, list(add = 1, to = "all"))
  run_escalc("nielweise2007", m, list(drop00 = TRUE))
  run_escalc("nielweise2007", m, list(drop00 = TRUE, to = "if0all"))
}
for (v in c("UB", "AV")) { run_escalc("bcg", "RD", list(vtype = v)); run_escalc("nielweise2007", "RD", list(vtype = v)) }
# 2x2 tables as associations (phi, Yule's Q and Y): zero cells and add / to / drop00, PHI's vtypes
for (m in c("PHI", "YUQ", "YUY")) {
  for (ds in c("bcg", "bourassa1996")) run_escalc(ds, m)
  for (to in c("only0", "all", "if0all", "none")) run_escalc("nielweise2007", m, list(to = to))
  run_escalc("nielweise2007", m, list(add = 0.25))
  run_escalc("nielweise2007", m, list(add = 1, to = "all"))
  run_escalc("nielweise2007", m, list(drop00 = TRUE))
  run_escalc("nielweise2007", m, list(drop00 = TRUE, to = "if0all"))
}
for (v in c("ST", "CS")) for (ds in c("bcg", "bourassa1996", "nielweise2007")) run_escalc(ds, "PHI", list(vtype = v))
for (to in c("only0", "if0all")) run_escalc("nielweise2007", "PHI", list(to = to, add = 0.5))
run_escalc("nielweise2007", "PHI", list(vtype = "ST", add = 0.5, to = "all"))
# two-group rates
for (m in c("IRR", "IRD")) {
  for (ds in c("hart1999", "nielweise2008")) run_escalc(ds, m)
  run_escalc("hart1999", m, list(add = 1, to = "all"))
  for (to in c("only0", "all", "if0all", "none")) run_escalc("synthetic_zero_counts", m, list(to = to))
  run_escalc("synthetic_zero_counts", m, list(drop00 = TRUE))
  run_escalc("synthetic_zero_counts", m, list(add = 0.1))
}
# the square root rate difference (add = 0 by default)
for (ds in c("hart1999", "nielweise2008", "synthetic_zero_counts")) run_escalc(ds, "IRSD")
run_escalc("hart1999", "IRSD", list(add = 1, to = "all"))
for (to in c("only0", "all", "if0all", "none")) run_escalc("synthetic_zero_counts", "IRSD", list(to = to, add = 0.5))
run_escalc("synthetic_zero_counts", "IRSD", list(drop00 = TRUE))
run_escalc("synthetic_zero_counts", "IRSD", list(add = 0.1))
# single-group proportions
for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
  for (ds in c("pritz1997", "debruin2009", "hasselblad1998")) run_escalc(ds, m)
  for (to in c("all", "if0all", "none")) run_escalc("pritz1997", m, list(to = to))
  run_escalc("pritz1997", m, list(add = 0.25, to = "all"))
}
for (v in c("UB", "AV")) for (ds in c("pritz1997", "hasselblad1998")) run_escalc(ds, "PR", list(vtype = v))
for (m in c("PLN", "PLO")) for (ds in c("pritz1997", "hasselblad1998")) run_escalc(ds, m, list(vtype = "AV"))
# single-group rates
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  for (ds in c("hart1999", "nielweise2008", "synthetic_zero_counts")) run_escalc(ds, m)
  for (to in c("all", "if0all", "none")) run_escalc("synthetic_zero_counts", m, list(to = to))
  run_escalc("hart1999", m, list(add = 0.5, to = "all"))
}
# single-group means
for (ds in c("senn2013_placebo", "senn2013_raw", "normand1999_specialist", "curtis1998_elevated")) run_escalc(ds, "MN")
for (ds in c("senn2013_raw", "normand1999_specialist", "curtis1998_elevated")) run_escalc(ds, "MNLN")
# paired means (pre-post, matched pairs), every vtype
for (v in c("LS", "LS2")) for (m in c("SMCC", "SMCR")) run_escalc("lehmann2018_within", m, list(vtype = v))
for (m in c("MC", "SMCRH", "ROMC")) run_escalc("lehmann2018_within", m)
for (m in c("MC", "SMCC")) run_escalc("lehmann2018_sd_change", m)
# correlations
for (ds in c("molloy2014", "mcdaniel1994")) {
  for (v in c("LS", "AV")) run_escalc(ds, "COR", list(vtype = v))
  for (v in c("LS", "UB", "AV")) run_escalc(ds, "UCOR", list(vtype = v))
  run_escalc(ds, "ZCOR")
}
# partial and semi-partial correlations from a regression coefficient's t statistic
for (m in c("PCOR", "SPCOR")) for (v in c("LS", "AV")) run_escalc("aloe2013", m, list(vtype = v))

# ---------------------------------------------------------------- pooled cases
pooled_cases <- list()
transfs <- list(identity = NULL, exp = exp, ilogit = transf.ilogit, iarcsin = transf.iarcsin, isqrt = transf.isqrt,
  tanh = transf.ztor, ipft_hm = transf.ipft.hm, irft_hm = transf.iirft)
hm <- function(x) 1 / mean(1 / x)
run_pooled <- function(dataset, measure, method, transform, options = list(), test = "z", targs = NULL) {
  es <- run_escalc(dataset, measure, options)
  fit <- rma(yi, vi, data = es, method = method, test = test, control = ctrl)
  f <- transfs[[transform]]
  pr <- if (is.null(f)) predict(fit) else if (is.null(targs)) predict(fit, transf = f) else
    predict(fit, transf = f, targs = targs)
  pr0 <- predict(fit)
  id <- paste(c(dataset, measure, method, test,
                unlist(Map(function(k, v) paste0(k, "=", v), names(options), options))), collapse = "_")
  pooled_cases[[length(pooled_cases) + 1]] <<- list(id = id, dataset = dataset, input = datasets[[dataset]]$input,
    measure = measure, method = method, test = test, options = options, transform = transform,
    targs = if (is.list(targs)) list(ni = hm(targs$ni)) else if (!is.null(targs)) list(ti = targs) else NULL,
    expected = list(k = fit$k, estimate = num(fit$b[1]), se = num(fit$se), stat = num(fit$zval),
      pval = num(fit$pval), ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub), tau2 = num(fit$tau2),
      I2 = num(fit$I2), H2 = num(fit$H2), Q = num(fit$QE), Q_pval = num(fit$QEp),
      pi_lb = num(if (!is.null(pr0$pi.lb)) pr0$pi.lb else pr0$ci.lb),
      pi_ub = num(if (!is.null(pr0$pi.ub)) pr0$pi.ub else pr0$ci.ub)),
    transformed = list(estimate = num(pr$pred), ci_lb = num(pr$ci.lb), ci_ub = num(pr$ci.ub),
      pi_lb = num(if (!is.null(pr$pi.lb)) pr$pi.lb else pr$ci.lb),
      pi_ub = num(if (!is.null(pr$pi.ub)) pr$pi.ub else pr$ci.ub)))
}
for (method in c("REML", "DL")) {
  run_pooled("normand1999", "SMDH", method, "identity")
  run_pooled("curtis1998", "ROM", method, "exp")
  run_pooled("curtis1998", "CVR", method, "exp")
  run_pooled("curtis1998", "VR", method, "exp")
  run_pooled("bcg", "PETO", method, "exp")
  run_pooled("nielweise2007", "AS", method, "identity")
  run_pooled("hart1999", "IRD", method, "identity")
  run_pooled("pritz1997", "PR", method, "identity")
  run_pooled("pritz1997", "PLN", method, "exp")
  run_pooled("pritz1997", "PLO", method, "ilogit")
  run_pooled("pritz1997", "PAS", method, "iarcsin")
  run_pooled("pritz1997", "PFT", method, "ipft_hm", targs = list(ni = pritz$ni))
  run_pooled("debruin2009", "PFT", method, "ipft_hm", targs = list(ni = debruin$xi + debruin$mi))
  run_pooled("hart1999", "IR", method, "identity")
  run_pooled("hart1999", "IRLN", method, "exp")
  run_pooled("hart1999", "IRS", method, "isqrt")
  run_pooled("hart1999", "IRFT", method, "irft_hm", targs = hm(hart$ti))
  run_pooled("molloy2014", "COR", method, "identity")
  run_pooled("molloy2014", "UCOR", method, "identity")
  run_pooled("molloy2014", "ZCOR", method, "tanh")
  run_pooled("mcdaniel1994", "ZCOR", method, "tanh")
  run_pooled("senn2013_placebo", "MN", method, "identity")
  run_pooled("normand1999_specialist", "MN", method, "identity")
  run_pooled("normand1999_specialist", "MNLN", method, "exp")
  run_pooled("curtis1998_elevated", "MNLN", method, "exp")
  run_pooled("senn2013_raw", "MNLN", method, "exp")
  for (m in c("MC", "SMCC", "SMCR", "SMCRH")) run_pooled("lehmann2018_within", m, method, "identity")
  run_pooled("lehmann2018_within", "ROMC", method, "exp")
  run_pooled("lehmann2018_sd_change", "MC", method, "identity")
  run_pooled("normand1999", "SMD1", method, "identity")
  for (m in c("PHI", "YUQ", "YUY")) run_pooled("bourassa1996", m, method, "identity")
  run_pooled("bcg", "PHI", method, "identity", list(vtype = "ST"))
  run_pooled("hart1999", "IRSD", method, "identity")
  for (m in c("PCOR", "SPCOR")) run_pooled("aloe2013", m, method, "identity")
}
# options through the pooled result, and a Knapp-Hartung case
run_pooled("pritz1997", "PLO", "REML", "ilogit", list(to = "all"))
run_pooled("pritz1997", "PR", "REML", "identity", list(vtype = "AV"))
run_pooled("normand1999", "SMD", "REML", "identity", list(vtype = "UB"))
run_pooled("molloy2014", "COR", "REML", "identity", list(vtype = "AV"))
run_pooled("nielweise2007", "RR", "REML", "exp", list(drop00 = TRUE))
run_pooled("nielweise2007", "OR", "DL", "exp", list(add = 1, to = "if0all"))
run_pooled("molloy2014", "ZCOR", "REML", "tanh", test = "knha")
for (method in c("REML", "DL")) {
  run_pooled("senn2013_placebo", "MN", method, "identity", test = "knha")
  run_pooled("normand1999_specialist", "MNLN", method, "exp", test = "knha")
  run_pooled("lehmann2018_within", "SMCC", method, "identity", test = "knha")
  run_pooled("lehmann2018_within", "ROMC", method, "exp", test = "knha")
}
run_pooled("lehmann2018_within", "SMCR", "REML", "identity", list(vtype = "LS2"))
for (method in c("REML", "DL")) {
  run_pooled("aloe2013", "PCOR", method, "identity", test = "knha")
  run_pooled("bourassa1996", "YUQ", method, "identity", test = "knha")
}
run_pooled("aloe2013", "SPCOR", "REML", "identity", list(vtype = "AV"))
run_pooled("nielweise2007", "YUY", "REML", "identity", list(drop00 = TRUE))
run_pooled("normand1999", "SMD1", "REML", "identity", list(vtype = "UB"), test = "knha")

out <- list(meta = list(generator = "tools/reference/measures.R", metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
  conventions = paste("escalc with metafor's defaults unless `options` says otherwise; rma(control = list(threshold = 1e-12,",
    "maxiter = 10000)); transformed = predict(fit, transf = <transform>, targs = <targs>); targs: ni = harmonic mean of",
    "the studies' ni (transf.ipft.hm), ti = harmonic mean of ti (transf.iirft); yi/vi that metafor sets NA are null"),
  datasets = datasets), escalc = escalc_cases, pooled = pooled_cases)
write_json(out, file.path(outdir, "measures.json"), auto_unbox = TRUE, digits = NA, null = "null", na = "null",
           pretty = TRUE)
cat("wrote", length(escalc_cases), "escalc and", length(pooled_cases), "pooled cases to", outdir, "\n")
