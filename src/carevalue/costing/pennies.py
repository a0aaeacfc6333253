"""Rounding exact amounts for reports: half away from zero (the accountant's convention),
and apportioning pennies so that rounded parts add up to their rounded total.

Costs are computed exactly (``Fraction``: a capacity cost rate such as 1,000,000 / 82,800
has no finite decimal form) and rounded only here, when they are shown. Rounding each part
on its own can make a column miss its total by a penny or more; ``apportion_pennies``
rounds the parts so they add up exactly, and ``rounding_residue`` says by how much
rounding each part on its own would have missed, so the adjustment is reported, not hidden.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def round_half_up(value: Fraction | Decimal | int, places: int) -> Decimal:
    """``value`` to ``places`` decimal places, halves rounded away from zero."""
    scaled = abs(Fraction(value)) * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    return (Decimal(-whole if value < 0 else whole).scaleb(-places)).quantize(
        Decimal(1).scaleb(-places)
    )


def to_pennies(value: Fraction | Decimal | int) -> Decimal:
    return round_half_up(value, 2)


def apportion_pennies(parts: Sequence[Fraction], total: Decimal) -> list[Decimal]:
    """Round each part to the penny so that the rounded parts add up to ``total``.

    Largest-remainder method: every part is first rounded down, then the pennies still
    missing go one each to the parts with the largest fractions of a penny left (ties to
    the earlier part). So every rounded part is its exact value rounded down or up, and
    the sum is exact. ``total`` must be within the reach of such rounding: the exact sum
    of the parts rounded to the penny, or, when the parts add up to a penny amount
    exactly, that amount.
    """
    in_pennies = [Fraction(part) * 100 for part in parts]
    floors = [math.floor(p) for p in in_pennies]
    missing = int(total * 100) - sum(floors)
    if not 0 <= missing <= len(parts) or (missing and not parts):
        raise ValueError(f"cannot apportion {total} over parts adding up to {sum(parts)}")
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(in_pennies[i] - floors[i]), i))
    for index in by_remainder[:missing]:
        floors[index] += 1
    return [Decimal(pennies).scaleb(-2) for pennies in floors]


def rounding_residue(parts: Sequence[Fraction], total: Decimal) -> Decimal:
    """``total`` minus the sum of the parts each rounded on its own: the pennies that
    ``apportion_pennies`` moved so the column adds up (0.00 when none were needed)."""
    return total - sum((to_pennies(part) for part in parts), Decimal("0.00"))
