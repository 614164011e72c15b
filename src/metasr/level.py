"""The confidence level of every interval metasr reports, and the normal quantile that goes with it.

Standard library only: the starter (`metasr init`), the screening step and the report read the
quantile without importing scipy. `stats.inference.z_critical(level)` computes it for any level;
tests/test_level.py checks that it gives this value at LEVEL.
"""

LEVEL = 0.95
# qnorm(0.975), R's value (AS241, as metasr.stats.distributions.norm_ppf): the half-width of a 95%
# interval in standard errors. scipy's ndtri gives the next double up, 1.959963984540054.
Z = 1.9599639845400536
