"""Exact values (60 significant digits, Python's decimal) of the normal tails and the chi-square upper
tail at the points of R's reference (tools/reference/distributions.R), for
tests/stats/test_distributions.py.

Why a second reference: R's pchisq is itself off by up to 4e-13 (relative) in the far upper tails of
large df (1e-100 and below, df >= 1e4), and R's pnorm returns 0 from |x| = 37.52 on, where the tails are
still subnormal doubles; there the tests compare metasr with these values instead.

How: Q(a, x) = Gamma(a, x) / Gamma(a) by the textbook series of P (x < a + 1) and the Legendre
continued fraction (Lentz), each to 1e-45, times x^a e^-x / Gamma(a) from 60-digit logarithms, with
log Gamma by Stirling's series after shifting the argument past 60; the normal tail is
Q(1/2, x^2 / 2) / 2. Every input double is taken exactly (Decimal(float)). Standard library only.

Usage: .venv/bin/python tools/reference/distributions_decimal.py [R_FIXTURE [OUTFILE]]
  (defaults tests/fixtures/distributions/r_reference.json and .../decimal_reference.json)
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, getcontext
from fractions import Fraction
from pathlib import Path

getcontext().prec = 60
PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
STOP = Decimal("1e-45")
FIXTURES = Path("tests/fixtures/distributions")


def bernoulli(n: int) -> list[Fraction]:
    """B_0 ... B_n (Akiyama-Tanigawa)."""
    a, out = [Fraction(0)] * (n + 1), []
    for m in range(n + 1):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        out.append(a[0])
    return out


B = bernoulli(50)


def log_gamma(z: Decimal) -> Decimal:
    """log Gamma(z), z > 0: Stirling's series at z + n >= 60 (its 24 terms leave < 1e-60), less
    log(z (z + 1) ... (z + n - 1))."""
    shift = Decimal(0)
    while z < 60:
        shift += z.ln()
        z += 1
    s = (z - Decimal("0.5")) * z.ln() - z + (2 * PI).ln() / 2
    for k in range(1, 25):
        s += Decimal(B[2 * k].numerator) / Decimal(B[2 * k].denominator) / (2 * k * (2 * k - 1) * z ** (2 * k - 1))
    return s - shift


def upper_gamma(a: Decimal, x: Decimal) -> Decimal:
    """Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x > 0."""
    density = (a * x.ln() - x - log_gamma(a)).exp()  # x^a e^-x / Gamma(a)
    if x < a + 1:
        term = total = Decimal(1)
        n = 0
        while term > total * STOP:
            n += 1
            term *= x / (a + n)
            total += term
        return 1 - density / a * total
    tiny = Decimal("1e-400")
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    f, i = d, 0
    while True:
        i += 1
        an = -i * (i - a)
        b += 2
        d = an * d + b or tiny
        c = b + an / c or tiny
        d = 1 / d
        f *= d * c
        if abs(d * c - 1) < STOP:
            return density * f


def chi2_sf(x: float, df: float) -> float:
    return float(upper_gamma(Decimal(df) / 2, Decimal(x) / 2))


def norm_sf(x: float) -> float:
    if x == 0:
        return 0.5
    tail = upper_gamma(Decimal("0.5"), Decimal(x) ** 2 / 2) / 2
    return float(tail if x > 0 else 1 - tail)


def main(r_fixture: Path, out: Path) -> None:
    ref = json.loads(r_fixture.read_text())
    x = ref["normal"]["x"]
    result = {
        "source": "tools/reference/distributions_decimal.py (60-digit decimal) at the points of " + r_fixture.name,
        "normal": {"x": x, "sf": [norm_sf(v) for v in x], "cdf": [norm_sf(-v) for v in x]},
        "chisq": [{"df": c["df"], "x": c["x"], "sf": [chi2_sf(v, c["df"]) for v in c["x"]]} for c in ref["chisq"]],
    }
    out.write_text(json.dumps(result) + "\n")  # repr of a float reads back exactly


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    main(args[0] if args else FIXTURES / "r_reference.json",
         args[1] if len(args) > 1 else FIXTURES / "decimal_reference.json")
