"""Return on investment of a service change, discounted the Green Book way (pure).

``return_on_investment`` takes the investment (one-off and recurring, in pounds), the cost
effect per episode from an evaluation (after - before, so a saving is negative, with its
95 % interval), the episodes a year, a horizon in years and a discount rate, and returns
the present values, net saving and ROI with their intervals.

The arithmetic, with years numbered 0 to H - 1 and year 0 undiscounted (HM Treasury, *The
Green Book*, 2022, annex A6: discount factor 1 / (1 + r)^t, r = 3.5 % a year, the social
time preference rate, for the first 30 years):

    D       = sum over t = 0 .. H-1 of 1 / (1 + r)^t
    savings = -effect x episodes a year x D
    costs   = one-off + recurring a year x D
    net     = savings - costs
    ROI     = net / costs

The one-off investment falls in year 0. Savings are linear in the cost effect and the
costs do not depend on it, so the effect's interval carries straight through to the net
saving's and the ROI's. See docs/management.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GREEN_BOOK_RATE", "ReturnOnInvestment", "return_on_investment"]

GREEN_BOOK_RATE = 0.035


@dataclass(frozen=True)
class ReturnOnInvestment:
    """Present values in pounds over ``horizon_years``; each interval is (lower, upper) of
    the 95 % interval carried from the cost effect's."""

    horizon_years: int
    discount_rate: float
    discount_factor_sum: float
    investment: float  # present value of the one-off and recurring investment
    saving: float  # present value of the cost saving (negative if costs rose)
    saving_interval: tuple[float, float]
    net_saving: float
    net_saving_interval: tuple[float, float]
    roi: float
    roi_interval: tuple[float, float]
    years: pd.DataFrame  # year, discount_factor, investment, saving, net (discounted)

    def sentence(self) -> str:
        """The result in one sentence, with the net saving's interval."""
        low, high = self.net_saving_interval
        effect = (
            f"saves {_pounds(self.saving)}"
            if self.saving >= 0
            else f"adds {_pounds(-self.saving)} in costs"
        )
        net = (
            f"a net saving of {_pounds(self.net_saving)}"
            if self.net_saving >= 0
            else f"a net cost of {_pounds(-self.net_saving)}"
        )
        return (
            f"Over {self.horizon_years} years, discounted at {self.discount_rate:.1%} a year, "
            f"the change {effect} for an investment of {_pounds(self.investment)}: {net} "
            f"(95% interval of the net saving {_pounds(low)} to {_pounds(high)}) and a return "
            f"of {self.roi:.2f} per pound invested ({self.roi_interval[0]:.2f} to "
            f"{self.roi_interval[1]:.2f})."
        )


def _pounds(value: float) -> str:
    return f"-£{-value:,.0f}" if value < 0 else f"£{value:,.0f}"


def return_on_investment(
    *,
    cost_effect: tuple[float, float, float],
    episodes_per_year: float,
    one_off: float = 0.0,
    recurring_per_year: float = 0.0,
    horizon_years: int = 5,
    discount_rate: float = GREEN_BOOK_RATE,
) -> ReturnOnInvestment:
    """Net saving and ROI of a change over ``horizon_years``.

    ``cost_effect``: (estimate, lower, upper) of the change in cost per episode, after -
    before, in pounds (``Evaluation.effect`` of a cost metric); negative is a saving.
    """
    effect, low, high = (float(x) for x in cost_effect)
    if not low <= effect <= high:
        raise ValueError(
            f"the cost effect's interval ({low:g} to {high:g}) must contain its estimate "
            f"({effect:g})."
        )
    if int(horizon_years) != horizon_years or horizon_years < 1:
        raise ValueError(
            f"the horizon must be a whole number of years, at least 1, not {horizon_years!r}."
        )
    if not 0 <= discount_rate < 1:
        raise ValueError(f"the discount rate is a fraction a year (0.035), not {discount_rate!r}.")
    if episodes_per_year < 0 or one_off < 0 or recurring_per_year < 0:
        raise ValueError("episodes a year and the investment cannot be negative.")
    t = np.arange(int(horizon_years))
    factors = 1.0 / (1.0 + discount_rate) ** t
    d = float(factors.sum())
    investment = float(one_off + recurring_per_year * d)

    def saving_of(x: float) -> float:
        return -x * episodes_per_year * d

    saving = saving_of(effect)
    saving_bounds = sorted((saving_of(low), saving_of(high)))
    net_bounds = [s - investment for s in saving_bounds]

    def ratio(net: float) -> float:
        return net / investment if investment > 0 else float("nan")

    years = pd.DataFrame(
        {
            "year": t,
            "discount_factor": factors,
            "investment": recurring_per_year * factors + np.where(t == 0, one_off, 0.0),
            "saving": -effect * episodes_per_year * factors,
        }
    )
    years["net"] = years["saving"] - years["investment"]
    return ReturnOnInvestment(
        horizon_years=int(horizon_years),
        discount_rate=float(discount_rate),
        discount_factor_sum=d,
        investment=investment,
        saving=saving,
        saving_interval=(saving_bounds[0], saving_bounds[1]),
        net_saving=saving - investment,
        net_saving_interval=(net_bounds[0], net_bounds[1]),
        roi=ratio(saving - investment),
        roi_interval=(ratio(net_bounds[0]), ratio(net_bounds[1])),
        years=years,
    )
