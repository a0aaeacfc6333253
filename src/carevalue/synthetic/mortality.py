"""Background mortality: a Gompertz hazard by age, as in national life tables.

The annual hazard at age a is exp(ALPHA + BETA * a) (about 0.15% a year at 40, 1% at 60, 7% at
80), raised by a third because people known to a hospital are less well than the population.
Conditions multiply it further (see each pathway module).
"""

from __future__ import annotations

import math

import numpy as np

from carevalue.synthetic.timeline import YEAR

ALPHA = -10.8 + math.log(1.33)
BETA = 0.0975


def years_to_death(
    age: np.ndarray, u: np.ndarray, multiplier: np.ndarray | float = 1.0
) -> np.ndarray:
    """Years from ``age`` until death, by inverting the Gompertz survival at uniform ``u``."""
    level = multiplier * np.exp(ALPHA + BETA * age)
    return np.log1p(-BETA * np.log(u) / level) / BETA


def seconds_to_death(age_years: float, u: float, multiplier: float = 1.0) -> float:
    """Scalar :func:`years_to_death`, in seconds, for the pathway loops."""
    level = multiplier * math.exp(ALPHA + BETA * age_years)
    return math.log1p(-BETA * math.log(u) / level) / BETA * YEAR
