"""Run one library call from a Snakemake `script:` with the project's error handling.

A rule's script is one line: `run_step(snakemake, some_library_function, arg=..., ...)`. The runner
sends log output to the rule's log file and turns a user mistake (`InputError`), and what the system
refuses that the user can fix (a missing or unreadable file, a full disk, a read-only folder), into a
readable list of problems on stderr and in the log, with a non-zero exit and no traceback. Any other
exception is a bug: its traceback goes to the log too, so the log is never empty. Snakemake then
removes the job's outputs, so nothing partial is left behind.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from metasr.errors import InputError
from metasr.io import SYSTEM_RULES, translate_os_error


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
        logging.error("stopped: %s\n%s", _what_stopped(err), err.format())
        sys.exit(1)
    except OSError as err:
        clear = translate_os_error(err)
        if clear is None:
            logging.exception("stopped by an unexpected error (a bug: please report it with this log)")
            raise
        logging.error("stopped: %s\n%s", _what_stopped(clear), clear.format())
        sys.exit(1)
    except Exception:
        logging.exception("stopped by an unexpected error (a bug: please report it with this log)")
        raise
    logging.info("done")
    return result


def _what_stopped(err: InputError) -> str:
    if err.problems and all(p.rule in SYSTEM_RULES for p in err.problems):
        return "the system refused a file operation"
    return "the input has problems"
