"""EQ-5D index values: the EQ-5D-5L England value set, the EQ-5D-3L UK value set and the
NICE DSU mapping of 5L states to 3L UK utilities (pure; the value sets are the package's
reference tables)."""

from __future__ import annotations

import numbers
import re
from decimal import Decimal
from functools import cache
from typing import Literal

from carevalue.outcomes.scores.checks import choice, is_missing, number
from carevalue.outcomes.scores.reference_tables import read_reference


@cache
def _decrements(name: str) -> dict[str, Decimal]:
    # Decimal keeps the published three-decimal coefficients exact, so 55555 is -0.285 and
    # not -0.28500000000000003.
    return {row["term"]: Decimal(row["decrement"]) for row in read_reference(name)}


@cache
def _eq5d_mapping() -> dict[tuple[str, str, str], float]:
    return {
        (row["state_5l"], row["age_group"], row["sex"]): float(row["eq5d3l_uk_mapped"])
        for row in read_reference("eq5d5l_to_3l_uk_dsu.csv")
    }


_DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")


def _eq5d_state(state: object, top_level: int) -> str:
    """A health state as its five-digit string, each digit 1..top_level."""
    allowed = f"five digits, one per dimension (MO SC UA PD AD), each 1-{top_level}"
    if is_missing(state):
        raise ValueError(f"state is missing ({state!r}); it must be {allowed}")
    if isinstance(state, numbers.Integral) and not isinstance(state, bool):
        text = str(int(state))
    elif isinstance(state, float) and state.is_integer():
        text = str(int(state))  # a pandas integer column with a gap is stored as float
    elif isinstance(state, str):
        text = state.strip()
    else:
        raise ValueError(f"state must be {allowed}; got {state!r}")
    if not re.fullmatch(f"[1-{top_level}]{{5}}", text):
        raise ValueError(f"state must be {allowed}; got {state!r}")
    return text


def eq5d5l_index(state: str | int, value_set: Literal["england"] = "england") -> float:
    """EQ-5D-5L index value of a health state, e.g. ``"12345"`` or ``12345``.

    England value set: 1 minus the decrement of each dimension's level (level 1 costs 0);
    11111 scores 1.0 and 55555 scores -0.285. Devlin NJ, Shah KK, Feng Y, Mulhern B,
    van Hout B. Valuing health-related quality of life: an EQ-5D-5L value set for England.
    Health Econ 2018;27:7-22.
    """
    choice("value_set", value_set, ("england",))
    levels = _eq5d_state(state, 5)
    table = _decrements("eq5d5l_england_devlin2018.csv")
    index = table["StartValue"] + sum(
        table[f"{dimension}{level}"] for dimension, level in zip(_DIMENSIONS, levels)
    )
    return float(index)


def eq5d3l_index(state: str | int, value_set: Literal["uk"] = "uk") -> float:
    """EQ-5D-3L index value of a health state, e.g. ``"11223"``.

    UK time trade-off value set: 1.0 plus each dimension's decrement, plus a constant when any
    dimension is above level 1 and an "N3" term when any dimension is at level 3; 11111 is
    1.0 and 33333 is -0.594. Dolan P. Modeling valuations for EuroQol health states.
    Med Care 1997;35:1095-1108.
    """
    choice("value_set", value_set, ("uk",))
    levels = _eq5d_state(state, 3)
    table = _decrements("eq5d3l_uk_dolan1997.csv")
    index = table["FullHealth"]
    for dimension, level in zip(_DIMENSIONS, levels):
        if level != "1":
            index += table[f"{dimension}{level}"]
    if any(level != "1" for level in levels):
        index += table["AtLeastOne2Or3"]
    if "3" in levels:
        index += table["AtLeastOne3"]
    return float(index)


_MAPPING_AGE_GROUPS = ((18, "18-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+"))


def _mapping_age_group(age: float) -> str:
    # Age in years, possibly fractional: 34.9 has not yet turned 35, so it is in 18-34.
    group = _MAPPING_AGE_GROUPS[0][1]
    for lower, label in _MAPPING_AGE_GROUPS:
        if age >= lower:
            group = label
    return group


def eq5d5l_to_3l(state: str | int, age: float, sex: str) -> float:
    """EQ-5D-3L UK utility for an EQ-5D-5L state, by the NICE DSU mapping.

    Looks the state up by age group (18-34, 35-44, 45-54, 55-64, 65+; age in years, 18 to
    120) and sex ("male" or "female"); the mapping was estimated on adults, so age under 18
    is refused. This is the method NICE's 2022 manual recommends for 5L data.
    Hernandez Alava M, Pudney S, Wailoo A. Estimating the relationship between EQ-5D-5L and
    EQ-5D-3L: results from a UK population study. PharmacoEconomics 2023;41:199-207.
    """
    levels = _eq5d_state(state, 5)
    years = number("age", age, lo=18, hi=120, unit="years")
    sex_label = choice("sex", sex, ("male", "female"))
    return _eq5d_mapping()[(levels, _mapping_age_group(years), sex_label)]
