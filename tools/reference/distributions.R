# Reference values for metasr.stats.distributions' own normal and chi-square functions: R's pnorm,
# qnorm and pchisq (lower.tail = FALSE for the upper tails), which are accurate to a few units in the
# last place, over the whole range the engine can meet: normal tails down to underflow (|x| up to
# 38.5), quantiles for p from 1e-300 to 1 - 2^-53, and chi-square upper tails for df from 0.5 to 1e6
# at x from 1e-300 through the mode to where the tail is 1e-305.
#
# Usage: Rscript tools/reference/distributions.R OUTFILE   (default tests/fixtures/distributions/r_reference.json)
# Base R and jsonlite only. Numbers are written with 17 significant digits (sprintf), so every double
# reads back exactly (jsonlite's own writer keeps at most 15 and writes subnormals as 0).
suppressMessages(library(jsonlite))
args <- commandArgs(TRUE)
out <- if (length(args)) args[1] else "tests/fixtures/distributions/r_reference.json"
dir.create(dirname(out), recursive = TRUE, showWarnings = FALSE)
num <- function(v) {
  stopifnot(all(is.finite(v)))
  structure(paste0("[", paste(sprintf("%.17g", v), collapse = ","), "]"), class = "json")
}

# Normal: a regular grid, an irregular one (no round numbers) and the points where algorithms switch
# (Cody's 0.674 and sqrt(32) in R; the far tails, where pnorm goes subnormal, then 0, near 37.5 and 38.5)
x <- sort(unique(c(seq(-38.5, 38.5, by = 0.25), seq(-38.46, 38.46, by = 0.37), 0, 1e-300, -1e-300,
                   c(-1, 1) * rep(c(1e-10, 1e-5, 0.6744897501960817, 0.67448975, 1.959963984540054,
                                    sqrt(32), 8.2924, 26.5, 37.2, 37.9), each = 2))))
normal <- list(x = num(x), cdf = num(pnorm(x)), sf = num(pnorm(x, lower.tail = FALSE)))

# Quantiles: tails by decades and half-decades to 1e-300, a grid across (0, 1), and p near 1
p <- sort(unique(c(10^-seq(1, 300, by = 0.5), 2^-(1:60), seq(0.001, 0.999, by = 0.001), 0.025, 0.975,
                   0.5 + c(-1, 1) * 1e-10, 1 - 10^-(1:15), 1 - 2^-53)))
quantile <- list(p = num(p), ppf = num(qnorm(p)), isf = num(qnorm(p, lower.tail = FALSE)))

# Chi-square: per df, x at fractions of df, around the mode in steps of a quarter standard
# deviation (sqrt(2 df)) out to 8, at the series/fraction switch (x = df + 2), tiny x, and in the far
# upper tail where the tail probability is 1e-5 ... 1e-305 (x rounded to 8 digits)
dfs <- c(0.5, 1, 1.5, 2, 3, 7, 19, 20, 99, 1000, 1e4, 1e5, 1e6)
chisq <- lapply(dfs, function(df) {
  tail_x <- signif(qchisq(10^-c(5, 10, 20, 50, 100, 150, 200, 250, 300, 305), df, lower.tail = FALSE), 8)
  x <- c(1e-300, 1e-100, 1e-10, 1e-3, df * c(1e-6, 1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.5, 2, 3, 5, 10, 30),
         df + seq(-8, 8, by = 0.25) * sqrt(2 * df), df + 2 + c(-1e-9, 0, 1e-9), tail_x)
  x <- sort(unique(x[x > 0]))
  list(df = df, x = num(x), sf = num(pchisq(x, df, lower.tail = FALSE)))
})

writeLines(toJSON(list(R = R.version.string, normal = normal, quantile = quantile, chisq = chisq),
                  auto_unbox = TRUE, json_verbatim = TRUE, pretty = FALSE), out)
