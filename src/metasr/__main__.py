"""`python -m metasr`: the same command line as `metasr`."""

import sys

from metasr.cli import main

sys.exit(main())
