"""metasr: systematic reviews and meta-analyses as a Snakemake pipeline.

The library holds all logic; the Snakemake rules and the `metasr` command line are thin layers
over it. See docs/architecture.md for the map of modules and the file contracts between stages.
"""

__version__ = "0.1.0"
