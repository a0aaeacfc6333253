"""Display rules: one way to show each kind of figure, wherever it is shown (pure).

A rate is a percentage with one decimal (``12.3%``); money carries its currency's symbol
(``£1,234``; a currency without one shows its code, ``1,234 DKK``); other figures show two
decimals with thousands separated; an interval reads "a to b"; a missing value is blank.
"""

from __future__ import annotations

from collections.abc import Callable

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def missing(value) -> bool:
    """None, NaN or pandas' NA/NaT."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and pd.NA are not equal to themselves
    except TypeError:  # pd.NA refuses bool()
        return True


def blank_or(show: Callable[[float], str]) -> Callable[[object], str]:
    """``show``, with a blank for a missing value."""
    return lambda value: "" if missing(value) else show(value)


def rate(value: float) -> str:
    return "" if missing(value) else f"{value:.1%}"


def money(value: float, currency: str = "GBP", places: int = 0) -> str:
    if missing(value):
        return ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    amount = f"{abs(value):,.{places}f}"
    sign = "-" if value < 0 and amount.strip("0.,") else ""  # never "-£0"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def number(value: float, places: int = 2) -> str:
    return "" if missing(value) else f"{value:,.{places}f}"


def interval(lower: float | None, upper: float | None, show: Callable[[float], str]) -> str:
    """ "a to b", or blank when either end is missing."""
    if missing(lower) or missing(upper):
        return ""
    return f"{show(lower)} to {show(upper)}"


def figure_format(kind: str, metric: str, currency: str = "GBP") -> Callable[[float], str]:
    """How a metric's figures show: rates as percentages, costs (and the value ratios, cost
    per good outcome) as money, the rest as numbers."""
    if kind == "rate":
        return rate
    if kind == "cost" or metric.endswith("__cost_per_good"):
        return lambda v: money(v, currency)
    return number


def cell(value) -> str:
    """A report table's cell: blank when missing, a float with two decimals, else text."""
    if missing(value):
        return ""
    return f"{value:,.2f}" if isinstance(value, float) else str(value)
