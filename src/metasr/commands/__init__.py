"""Sub-commands of the `metasr` CLI, one module each.

Every module here defines `register(subparsers)`, which adds its sub-command and sets
`func=handler` on its parser with `set_defaults`. Handlers take the parsed `argparse.Namespace`
and return an exit code. Modules keep heavy imports (numpy, pandas, ...) inside their handlers so
that `metasr --help` stays fast.
"""
