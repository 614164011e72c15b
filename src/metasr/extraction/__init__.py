"""Extraction: the sheets reviewers fill in, their validation, and the conversions that turn what a
paper reported into metafor-style effect inputs, with provenance on every row.

Modules: `sheets` (reading and writing the CSV sheets), `schema` (JSON-schema checks of one row),
`conversions` (the published formulas), `conversion_kinds` (the registry of the `conversion` texts
rows record, read by the forest and the methods paragraph), `units` (unit harmonisation),
`plausibility` (row rules), `effects` (one row -> effect inputs for an outcome's measure),
`crosscheck` (rules across sheets),
`validate` (everything for a review), `discrepancies` (double extraction), `pipeline` (the
workflow step `prepare_outcome`).
"""
