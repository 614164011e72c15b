"""metasr.level: the reported intervals' level and its normal quantile, without scipy."""

from __future__ import annotations

import subprocess
import sys

from metasr.level import LEVEL, Z
from metasr.stats.inference import z_critical


def test_the_written_quantile_is_the_computed_one_to_the_last_bit():
    assert LEVEL == 0.95 and Z == z_critical(LEVEL)


def test_reading_it_imports_no_numpy_or_scipy():
    code = "import sys, metasr.level; print(any(m in sys.modules for m in ('numpy', 'scipy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
