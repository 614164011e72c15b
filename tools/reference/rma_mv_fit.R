# The rma.mv fitting rule shared by the reference scripts of the three-level model
# (tools/reference/multilevel.R, tools/reference/multilevel_subgroups.R): sourced, not run alone.

# rma.mv optimises log(sigma2) with nlminb; tight settings often end in "did not achieve
# convergence", and a component whose optimum is 0 is only approached (exp(-large)). Every case is
# fitted with each optimiser below, and, when a component comes out below 1e-6 * mean(vi), again
# with that component fixed at 0 (the boundary fit). The reference is the fit with the highest
# (restricted) log-likelihood; fits within 1e-12 of it count as ties, broken by the order of
# `attempts` (boundary fit first). Every attempt is recorded with its log-likelihood.
OPTIMISERS <- list(
  nlminb_tight = list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000),
  nlminb_default = list(),
  bfgs = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000),
  nelder_mead = list(optimizer = "optim", optmethod = "Nelder-Mead", reltol = 1e-15, maxit = 100000))

attempt <- function(args, ctrl, sigma2 = NULL) {
  if (!is.null(sigma2)) args$sigma2 <- sigma2
  try(do.call(rma.mv, c(args, list(control = ctrl))), silent = TRUE)
}

describe <- function(name, f) {
  if (inherits(f, "try-error")) list(optimizer = name, error = trimws(as.character(f)))
  else list(optimizer = name, loglik = num(logLik(f)), sigma2 = num(f$sigma2))
}

fit_all <- function(args, vi) {
  fits <- lapply(OPTIMISERS, function(ctrl) attempt(args, ctrl))
  ok <- !vapply(fits, inherits, logical(1), "try-error")
  if (any(ok)) {
    lls <- vapply(fits[ok], function(f) as.numeric(logLik(f)), 0)
    best <- fits[ok][[which.max(lls)]]
    tiny <- best$sigma2 < 1e-6 * mean(vi)
    if (any(tiny)) {
      fixed <- ifelse(tiny, 0, NA)
      fits <- c(list(boundary = attempt(args, list(), sigma2 = fixed)), fits)
    }
  }
  ok <- !vapply(fits, inherits, logical(1), "try-error")
  lls <- vapply(fits, function(f) if (inherits(f, "try-error")) NA_real_ else as.numeric(logLik(f)), 0)
  best <- if (any(ok)) names(fits)[ok & lls >= max(lls[ok]) - 1e-12][1] else NULL
  list(res = if (is.null(best)) NULL else fits[[best]], best = best,
       attempts = unname(Map(describe, names(fits), fits)))
}
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
