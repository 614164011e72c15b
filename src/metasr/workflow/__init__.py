"""Glue between Snakemake and the library: parse-time review loading and the step runner."""
