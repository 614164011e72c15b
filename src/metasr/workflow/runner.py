"""Run one library call from a Snakemake `script:` with the project's error handling.

A rule's script is one line: `run_step(snakemake, some_library_function, arg=..., ...)`. The runner
sends log output to the rule's log file and turns a user mistake (`InputError`) into a readable list
of problems on stderr and in the log, with a non-zero exit and no traceback. Snakemake then removes
the job's outputs, so nothing partial is left behind.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable

from metasr.errors import InputError


def run_step(smk: Any, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    log_path = smk.log[0] if len(smk.log) else None
    # Parallel jobs share the terminal: no progress bars (metasr.progress logs to the job's log).
    os.environ["METASR_PROGRESS"] = "0"
    # Progress goes to the job's log; the console gets warnings and errors only (a batch of
    # outcomes would otherwise print lines per outcome between Snakemake's own messages).
    console = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [console]
    if log_path:
        console.setLevel(logging.WARNING)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format=f"%(asctime)s {smk.rule}: %(message)s")
    try:
        result = func(*args, **kwargs)
    except InputError as err:
        logging.error("stopped: the input has problems\n%s", err.format())
        sys.exit(1)
    logging.info("done")
    return result
