# Reference results of metafor 3.8-1 for the bubble plot's regression line (metasr.stats.metareg
# marginal predictions): regplot()'s line, i.e. predict(res, newmods = Xnew) where Xnew holds every
# model-matrix column at its mean (colMeans(X)) except the plotted moderator's, over the
# moderator's range widened by 4% on each side, 100 points; for a factor, one prediction per
# level (its indicator columns set, the other columns at their means).
#
# Usage: Rscript tools/reference/bubble.R OUTDIR   (default tests/fixtures/bubble)
# Reads the published data sets as tools/reference/modelling.R wrote them
# (tests/fixtures/modelling/inputs/<dataset>.csv: dat.bcg, dat.molloy2014, dat.bangertdrowns2004).
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(TRUE)
out <- if (length(args)) args[1] else "tests/fixtures/bubble"
inputs <- "tests/fixtures/modelling/inputs"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
stopifnot(packageVersion("metafor") == "3.8.1")
CTRL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
num <- function(x) unname(as.numeric(x))

specs <- list(
  list(data = "bcg", mods = "ablat", method = "REML", test = "z", plot = "ablat"),
  list(data = "bcg", mods = "ablat", method = "REML", test = "knha", plot = "ablat"),
  list(data = "bcg", mods = "year", method = "DL", test = "z", plot = "year"),
  list(data = "bcg", mods = "ablat + year", method = "REML", test = "z", plot = "ablat"),
  list(data = "bcg", mods = "ablat + year", method = "REML", test = "z", plot = "year"),
  list(data = "bcg", mods = "ablat + alloc", method = "ML", test = "z", plot = "ablat"),
  list(data = "bcg", mods = "ablat + alloc", method = "ML", test = "z", plot = "alloc"),
  list(data = "bcg", mods = "ablat", method = "FE", test = "z", plot = "ablat"),
  list(data = "molloy2014", mods = "meanage", method = "REML", test = "t", plot = "meanage"),
  list(data = "bangertdrowns2004", mods = "length + factor(grade)", method = "REML", test = "z", plot = "length"),
  list(data = "bangertdrowns2004", mods = "length + factor(grade)", method = "REML", test = "z", plot = "grade"))

cases <- list()
for (spec in specs) {
  d <- read.csv(file.path(inputs, paste0(spec$data, ".csv")))
  f <- as.formula(paste("~", spec$mods))
  d <- d[complete.cases(d[, all.vars(f), drop = FALSE]), ]
  res <- rma(yi, vi, mods = f, data = d, method = spec$method, test = spec$test, control = CTRL)
  X <- res$X
  means <- colMeans(X)
  factor_cols <- grep(paste0("^(factor\\()?", spec$plot, "\\)?."), colnames(X))
  if (spec$plot %in% colnames(X)) {  # numeric moderator: regplot's line, 100 points
    xi <- d[[spec$plot]]
    r <- max(xi) - min(xi)
    xs <- seq(min(xi) - 0.04 * r, max(xi) + 0.04 * r, length = 100)
    Xnew <- rbind(means)[rep(1, length(xs)), , drop = FALSE]
    Xnew[, spec$plot] <- xs
    at <- list(x = xs)
  } else {  # factor: one row per level, its indicator columns set
    levels <- levels(factor(d[[spec$plot]]))
    Xnew <- rbind(means)[rep(1, length(levels)), , drop = FALSE]
    Xnew[, factor_cols] <- 0
    for (i in seq_along(levels)) {
      col <- which(colnames(X) %in% c(paste0(spec$plot, levels[i]), paste0("factor(", spec$plot, ")", levels[i])))
      if (length(col)) Xnew[i, col] <- 1
    }
    at <- list(levels = levels)
  }
  p <- predict(res, newmods = Xnew[, -1, drop = FALSE])
  cases[[length(cases) + 1]] <- c(list(id = paste(spec$data, spec$mods, spec$method, spec$test, spec$plot, sep = "|"),
    data = spec$data, mods = spec$mods, method = spec$method, test = spec$test, plot = spec$plot,
    coef_names = rownames(res$beta), beta = num(res$beta), weights = num(weights(res)),
    pred = num(p$pred), se = num(p$se), ci_lb = num(p$ci.lb), ci_ub = num(p$ci.ub)), at)
}
writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")), cases = cases),
                  digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE),
           file.path(out, "predict.json"))
