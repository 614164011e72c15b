# Reference results for outcomes with several effect sizes per study, as the pipeline pools them
# (metasr.stats.dependent), from R metafor 3.8-1 and clubSandwich 0.5.8 on two published data sets
# (metadat 1.2-0):
# - attractiveness: dat.lehmann2018 (Lehmann, Elliot & Calin-Jageman 2018, the red-attractiveness
#   effect), the between-subjects experiments of six reports that each hold several experiments
#   (Elliot & Niesta 2008, Elliot et al. 2010, Lehmann & Calin-Jageman 2017 with its 2015 class
#   experiment, Kirsch 2015, O'Mara et al. 2016, Sullivan et al. 2016); one study per experiment,
#   one effect size per comparison (female and male raters, or stimulus): SMD from the group means;
#   three-level model (REML), V = vcalc(vi, study, rho = 0.5), CR2 inference (dependence robust);
# - cessation: dat.hasselblad1998 (smoking cessation), the trials with a no-contact arm and
#   individual or group counselling: Cottraux et al. 1983 has two counselling arms sharing its
#   no-contact arm, split in two (Cochrane Handbook 23.3.4: events and n halved); OR; aggregated
#   within trials (aggregate(), rho = 0), then REML (dependence aggregate).
# Usage: Rscript tools/reference/dependent.R OUTDIR   (writes OUTDIR/expected.json, OUTDIR/inputs/*.csv)
# Needs R with metafor, metadat, clubSandwich and jsonlite.
suppressMessages({library(metafor); library(metadat); library(clubSandwich); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
outdir <- args[1]
dir.create(file.path(outdir, "inputs"), recursive = TRUE, showWarnings = FALSE)
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
RHOS <- c(0, 0.2, 0.4, 0.6, 0.8)

# ------------------------------------------------------------------ attractiveness (dat.lehmann2018)
REPORTS <- c("Elliot & Niesta, 2008" = "ElliotNiesta2008", "Elliot et al., 2010" = "Elliot2010",
             "Lehmann & Calin-Jageman, 2015" = "LehmannCalinJageman2017",
             "Lehmann & Calin-Jageman, 2017" = "LehmannCalinJageman2017", "Kirsch, 2015" = "Kirsch2015",
             "O'Mara et al., 2016" = "OMara2016", "Sullivan et al., 2016" = "Sullivan2016")
d <- dat.lehmann2018
parts <- strsplit(d$Short_Title, " - ", fixed = TRUE)
d$paper <- vapply(parts, `[`, "", 1)
d$experiment <- vapply(parts, `[`, "", 2)
d$condition <- vapply(parts, function(p) if (length(p) > 2) p[3] else "", "")
d <- d[d$paper %in% names(REPORTS) & d$Design == "Between Subjects", ]
d$report <- unname(REPORTS[d$paper])
exp_id <- tolower(gsub("Exp ", "e", gsub("Class Exp", "class", d$experiment)))
d$study_id <- paste0(d$report, "_", exp_id)
d$label <- paste0(sub(",", "", d$paper), " ", d$experiment)
raters <- ifelse(d$Gender == "Females", "female raters", "male raters")
d$comparison <- ifelse(d$condition == "" | d$condition == "Heterosexual", paste0("red vs control, ", raters),
                       paste0("red vs control, ", tolower(d$condition)))
att <- data.frame(report = d$report, study_id = d$study_id, label = d$label, year = floor(d$Year),
                  comparison = d$comparison, n1 = d$Red_N, mean1 = d$Red_M, sd1 = d$Red_SD, n2 = d$Control_N,
                  mean2 = d$Control_M, sd2 = d$Control_SD, citation = d$Full_Citation, stringsAsFactors = FALSE)
att <- att[order(att$study_id, att$comparison, method = "radix"), ]
write.csv(att, file.path(outdir, "inputs", "attractiveness.csv"), row.names = FALSE)
es_att <- escalc("SMD", m1i = mean1, sd1i = sd1, n1i = n1, m2i = mean2, sd2i = sd2, n2i = n2, data = att)
es_att$es <- seq_len(nrow(es_att))

# ------------------------------------------------------------------ cessation (dat.hasselblad1998)
h <- dat.hasselblad1998
TRIALS <- c(1, 2, 3, 4, 5, 7, 17, 18, 19)
h <- h[h$study %in% TRIALS, ]
rows <- list()
for (s in TRIALS) {
  arms <- h[h$study == s, ]
  control <- arms[arms$trt == "no_contact", ]
  active <- arms[arms$trt %in% c("ind_counseling", "grp_counseling"), ]
  for (i in seq_len(nrow(active))) {
    a <- active[i, ]
    rows[[length(rows) + 1]] <- data.frame(
      study_id = paste0(gsub("[^A-Za-z]", "", sub(" et al.*| and .*", "", a$authors)), a$year), label = sub(" [0-9]+$", "", a$authors),
      year = a$year, comparison = paste0(sub("_counseling", "", a$trt), "ividual counselling vs no contact"),
      events1 = a$xi, n1 = a$ni, events2 = control$xi, n2 = control$ni,
      shared_group = if (nrow(active) > 1) 2 else NA, authors = a$authors, stringsAsFactors = FALSE)
  }
}
ces <- do.call(rbind, rows)
ces$comparison <- sub("grpividual", "group", ces$comparison)
ces <- ces[order(ces$study_id, ces$comparison, method = "radix"), ]
write.csv(ces, file.path(outdir, "inputs", "cessation.csv"), row.names = FALSE, na = "")
shared <- !is.na(ces$shared_group)
parts_n <- ave(rep(1, nrow(ces)), ces$study_id, FUN = length)
split_events <- ifelse(shared, ces$events2 / parts_n, ces$events2)
split_n <- ifelse(shared, ces$n2 / parts_n, ces$n2)
es_ces <- escalc("OR", ai = events1, n1i = n1, ci = split_events, n2i = split_n, data = ces)

# ------------------------------------------------------------------ three-level fits
OPTIMISERS <- list(
  nlminb_tight = list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000),
  bfgs = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000),
  nelder_mead = list(optimizer = "optim", optmethod = "Nelder-Mead", reltol = 1e-15, maxit = 100000))

fit_mv <- function(dat, rho, mods = NULL) {
  dat$es <- seq_len(nrow(dat))
  V <- if (rho == 0) dat$vi else vcalc(vi, study_id, obs = es, rho = rho, data = dat)
  args <- list(yi = dat$yi, V = V, random = ~ 1 | study_id / es, data = dat, method = "REML", sparse = TRUE)
  if (!is.null(mods)) args$mods <- mods
  fits <- lapply(OPTIMISERS, function(ctrl) try(do.call(rma.mv, c(args, list(control = ctrl))), silent = TRUE))
  fits <- fits[!vapply(fits, inherits, logical(1), "try-error")]
  best <- fits[[which.max(vapply(fits, function(f) as.numeric(logLik(f)), 0))]]
  tiny <- best$sigma2 < 1e-6 * mean(dat$vi)
  if (any(tiny)) {  # the boundary optimum: refit with that component fixed at 0
    b <- try(do.call(rma.mv, c(args, list(sigma2 = ifelse(tiny, 0, NA)))), silent = TRUE)
    if (!inherits(b, "try-error") && as.numeric(logLik(b)) >= as.numeric(logLik(best)) - 1e-12) best <- b
  }
  best
}

i2_levels <- function(res, V) {
  W <- solve(V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  s2 <- (res$k - res$p) / sum(diag(P))
  list(I2 = 100 * sum(res$sigma2) / (sum(res$sigma2) + s2), I2_levels = num(100 * res$sigma2 / (sum(res$sigma2) + s2)))
}

# The model as metasr.stats.dependent reports it: three-level, or univariate when every study holds
# one effect size; robust = metafor's robust(fit, cluster, clubSandwich = TRUE) and predict() of it.
dependent_fit <- function(dat, rho, robust = TRUE) {
  if (all(table(dat$study_id) == 1)) {
    res <- rma(yi, vi, data = dat, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
    out <- list(model_type = "univariate", k = res$k, estimate = num(res$b), tau2 = num(res$tau2), I2 = num(res$I2))
  } else {
    res <- fit_mv(dat, rho)
    dat$es <- seq_len(nrow(dat))
    V <- if (rho == 0) diag(dat$vi) else as.matrix(vcalc(vi, study_id, obs = es, rho = rho, data = dat))
    out <- c(list(model_type = "three-level", k = res$k, estimate = num(res$b), sigma2 = num(res$sigma2),
                  loglik = num(logLik(res)), Q = num(res$QE), Q_pval = num(res$QEp)), i2_levels(res, V))
  }
  pr <- predict(res)
  out$model_based <- list(se = num(res$se), pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
                          pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub))
  if (robust) {
    rob <- robust(res, cluster = dat$study_id, clubSandwich = TRUE)
    prr <- predict(rob)
    out <- c(out, list(se = num(rob$se), stat = num(rob$zval), df = num(rob$ddf), pval = num(rob$pval),
                       ci_lb = num(rob$ci.lb), ci_ub = num(rob$ci.ub), pi_lb = num(prr$pi.lb), pi_ub = num(prr$pi.ub)))
  }
  list(res = res, out = out)
}

main <- dependent_fit(es_att, 0.5)
weights_rowsum <- num(weights(main$res, type = "rowsum"))
rho_rows <- lapply(RHOS, function(r) c(list(rho = r), dependent_fit(es_att, r)$out))
studies <- sort(unique(es_att$study_id), method = "radix")
leave1out <- lapply(studies, function(s) dependent_fit(es_att[es_att$study_id != s, ], 0.5)$out)
first_year <- vapply(studies, function(s) es_att$year[es_att$study_id == s][1], 0)
cum_order <- studies[order(first_year, method = "radix")]
cumulative <- lapply(seq_along(cum_order)[-1], function(j)
  dependent_fit(es_att[es_att$study_id %in% cum_order[seq_len(j)], ], 0.5)$out)
egger <- fit_mv(es_att, 0.5, mods = ~ sqrt(vi))
egger_ct <- coef_test(egger, vcov = "CR2", cluster = es_att$study_id, test = "Satterthwaite")
participants_att <- sum(att$n1 + att$n2)

attractiveness <- list(
  input = "inputs/attractiveness.csv", measure = "SMD", method = "REML", dependence = "robust", rho = 0.5,
  reports = length(unique(att$report)), studies = length(studies), effect_sizes = nrow(att),
  participants = participants_att, yi = num(es_att$yi), vi = num(es_att$vi), study_id = es_att$study_id,
  model = main$out, weights = weights_rowsum,
  study_weights = num(tapply(weights_rowsum, es_att$study_id, sum)[studies]),
  rho_sensitivity = rho_rows,
  leave1out = list(study_id = studies, fits = leave1out),
  cumulative = list(study_id = cum_order, fits = cumulative),
  egger_robust = list(stat = num(egger_ct$tstat[2]), df = num(egger_ct$df_Satt[2]), pval = num(egger_ct$p_Satt[2]),
                      slope = num(egger_ct$beta[2]), limit_estimate = num(egger_ct$beta[1])))

# ------------------------------------------------------------------ cessation: aggregate, then REML
agg_fit <- function(rho) {
  agg <- aggregate(es_ces, cluster = study_id, rho = rho)
  agg <- agg[order(agg$study_id, method = "radix"), ]
  res <- rma(yi, vi, data = agg, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
  list(agg = agg, res = res)
}
a <- agg_fit(0)
fe <- rma(yi, vi, data = a$agg, method = "FE")
ces_rho <- lapply(RHOS, function(r) {
  f <- agg_fit(r)$res
  list(rho = r, estimate = num(f$b), se = num(f$se), ci_lb = num(f$ci.lb), ci_ub = num(f$ci.ub), tau2 = num(f$tau2))
})
arms <- h[h$study %in% TRIALS & h$trt %in% c("no_contact", "ind_counseling", "grp_counseling"), ]
cessation <- list(
  input = "inputs/cessation.csv", measure = "OR", method = "REML", dependence = "aggregate", rho = 0,
  multi_arm = "split_shared", studies = nrow(a$agg), effect_sizes = nrow(ces), participants = sum(arms$ni),
  yi = num(es_ces$yi), vi = num(es_ces$vi), study_id = ces$study_id,
  aggregated = list(study_id = a$agg$study_id, yi = num(a$agg$yi), vi = num(a$agg$vi)),
  model = list(estimate = num(a$res$b), se = num(a$res$se), pval = num(a$res$pval), ci_lb = num(a$res$ci.lb),
               ci_ub = num(a$res$ci.ub), tau2 = num(a$res$tau2), I2 = num(a$res$I2), Q = num(a$res$QE)),
  weights = num(weights(a$res)),
  common_effect = list(estimate = num(fe$b), se = num(fe$se)),
  rho_sensitivity = ces_rho)

meta <- list(generator = "tools/reference/dependent.R", metafor_version = as.character(packageVersion("metafor")),
             clubSandwich_version = as.character(packageVersion("clubSandwich")),
             metadat_version = as.character(packageVersion("metadat")), R_version = R.version.string,
             conventions = list(
               model = "rma.mv(yi, V, random = ~ 1 | study_id/es, method = 'REML', sparse = TRUE), V = vcalc(vi, study_id, obs = es, rho); best log-likelihood of nlminb (rel.tol 1e-12), BFGS and Nelder-Mead (reltol 1e-15), a component below 1e-6 mean(vi) refitted at 0; univariate rma(REML, threshold 1e-12) when every study holds one effect size",
               robust = "robust(fit, cluster = study_id, clubSandwich = TRUE) and predict() of it",
               weights = "weights(fit, type = 'rowsum')",
               cumulative = "studies ordered by year (ties: study id), fits from the second study on",
               aggregate = "aggregate(escalc, cluster = study_id, rho) then rma(REML)"))
writeLines(toJSON(list(meta = meta, attractiveness = attractiveness, cessation = cessation), auto_unbox = TRUE,
                  digits = NA, null = "null", na = "null", pretty = FALSE), file.path(outdir, "expected.json"))
cat("attractiveness:", attractiveness$studies, "studies,", attractiveness$effect_sizes, "effect sizes;",
    "cessation:", cessation$studies, "trials,", cessation$effect_sizes, "comparisons\n")
