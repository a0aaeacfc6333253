"""Input checks every score shares (pure): a missing, wrong-kind or out-of-range input
raises ``ValueError`` naming the input and the allowed values, before any arithmetic; and
OPTN's rounding, half up.

The plausibility limits of the laboratory values are here too, because several families
read the same values (creatinine in mg/dL: EuroSCORE II's Cockcroft-Gault and MELD).
"""

from __future__ import annotations

import math
import numbers
from decimal import ROUND_HALF_UP, Decimal

# Plausibility limits: wide enough for any real patient, narrow enough to catch most unit
# slips (a sodium of 1.4 or an INR of 120 is a data error, not a patient).
SODIUM = {"lo": 80.0, "hi": 200.0, "unit": "mmol/L"}
INR = {"lo": 0.0, "hi": 30.0, "lo_open": True}
BILIRUBIN_MG_DL = {"lo": 0.0, "hi": 100.0, "lo_open": True, "unit": "mg/dL"}
CREATININE_MG_DL = {"lo": 0.0, "hi": 30.0, "lo_open": True, "unit": "mg/dL"}
BILIRUBIN_UMOL_L = {"lo": 0.0, "hi": 1700.0, "lo_open": True, "unit": "umol/L"}
CREATININE_UMOL_L = {"lo": 0.0, "hi": 2700.0, "lo_open": True, "unit": "umol/L"}


def is_missing(value: object) -> bool:
    """None, a float NaN (NumPy's too), or pandas' NA/NaT, recognised without importing pandas."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and math.isnan(value)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool, unit: str) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    text = " and ".join(parts) if parts else "a finite number"
    return f"{text} {unit}".rstrip()


def number(
    name: str,
    value: object,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    unit: str = "",
) -> float:
    """``value`` as a finite float within the range, or a ValueError naming ``name``."""
    allowed = _range_text(lo, hi, lo_open, hi_open, unit)
    if is_missing(value):
        raise ValueError(f"{name} is missing ({value!r}); it must be {allowed}")
    # bool is an int subclass; True as a creatinine is a caller's bug, not 1.0 mg/dL.
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        raise ValueError(f"{name} must be a number ({allowed}); got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} is missing (NaN); it must be {allowed}")
    if not math.isfinite(number):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    too_low = lo is not None and (number <= lo if lo_open else number < lo)
    too_high = hi is not None and (number >= hi if hi_open else number > hi)
    if too_low or too_high:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return number


def integer(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` as an int in lo..hi; a float such as 3.0 (pandas) is accepted, 2.5 is not."""
    allowed = f"an integer from {lo} to {hi}"
    if is_missing(value) or isinstance(value, bool):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():  # NaN and inf fail
        number = int(float(value))
    else:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return number


def flag(name: str, value: object) -> bool:
    """A yes/no input: a bool (Python or NumPy) or the integers 0 and 1."""
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(int(value))
    raise ValueError(f"{name} must be True or False; got {value!r}")


def choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of the ``allowed`` labels, compared case-insensitively after trimming spaces."""
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def round_half_up(value: float | Decimal) -> int:
    """Round to the nearest integer, halves away from zero (all values here are positive).

    OPTN specifies rounding half up for MELD and MELD-Na. Python's ``round`` rounds half to
    even (``round(14.5) == 14``), and so does R's base ``round`` (IEC 60559), so neither may
    be used to reproduce OPTN scores. Floats go through their shortest decimal form (``repr``)
    so that a value printed as 14.5 is treated as 14.5.
    """
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
