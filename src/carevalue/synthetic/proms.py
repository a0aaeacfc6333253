"""Patient-reported outcome responses: EQ-5D-5L, mRS and IE-WORRY items, and who answers.

Item answers follow a latent severity (0 = full health, 1 = worst), so that scores track the
clinical course. Whether a patient answers at all also depends on severity and deprivation:
the worse-off answer less often, so PROM data are missing not at random, as in real services.
"""

from __future__ import annotations

import json
import math

import numpy as np

from carevalue.synthetic.codes import PROM_MODE

EQ5D_DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")
# How strongly each dimension follows severity (mobility and usual activities most).
EQ5D_LOADINGS = (1.0, 0.8, 1.0, 0.7, 0.55)


def clamp01(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else x


def eq5d5l_items(rng: np.random.Generator, severity: float) -> str:
    """EQ-5D-5L levels (1-5) and VAS (0-100) as a JSON object."""
    noise = rng.normal(0.0, 0.6, 6)
    items: dict[str, int] = {}
    for k, (dim, loading) in enumerate(zip(EQ5D_DIMENSIONS, EQ5D_LOADINGS)):
        level = 1 + round(4.0 * loading * severity + noise[k] - 0.15)
        items[dim] = min(5, max(1, level))
    items["VAS"] = int(min(100, max(0, round(90 - 62 * severity + 10 * noise[5]))))
    return json.dumps(items, separators=(",", ":"))


def mrs_items(mrs: int) -> str:
    return json.dumps({"mrs": int(mrs)}, separators=(",", ":"))


def worry_items(rng: np.random.Generator, level: float) -> str:
    """IE-WORRY: worry about endocarditis coming back, 0 (none) to 4 (all the time)."""
    worry = min(4, max(0, round(level + rng.normal(0.0, 0.8))))
    return json.dumps({"worry": int(worry)}, separators=(",", ":"))


def responds(rng: np.random.Generator, base: float, severity: float, imd: int) -> bool:
    """Whether a patient returns a questionnaire: less often when worse off or more deprived."""
    logit = math.log(base / (1 - base)) - 1.6 * severity - 0.06 * (5.5 - imd)
    return rng.random() < 1 / (1 + math.exp(-logit))


def questionnaire_mode(rng: np.random.Generator) -> int:
    u = rng.random()
    name = "paper" if u < 0.5 else "telephone" if u < 0.78 else "online" if u < 0.95 else "app"
    return PROM_MODE[name]


def clinician_mode(rng: np.random.Generator) -> int:
    return PROM_MODE["telephone" if rng.random() < 0.7 else "clinician"]
