"""Meta-analysis statistics with metafor's definitions.

effects (escalc) -> tau2 (estimators) -> models (fit_rma, fit_mh, fit_peto) -> inference (tests,
intervals, Q-profile); metareg and subgroup build on fit_rma; analysis turns a table into the JSON
that `metasr pool` prints and the pipeline stores. bias, sensitivity and batch live alongside.
"""
