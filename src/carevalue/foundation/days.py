"""Day arithmetic shared by the pathway expressions.

Day N of a window is the calendar-date difference from the anchor's date (DESIGN: day 0
is the date of the index event, whatever the time of day).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def day_number(
    when: ir.TimestampValue | ir.DateValue, anchor_date: ir.DateValue
) -> ir.IntegerValue:
    """Calendar days from ``anchor_date`` to the date of ``when`` (negative before)."""
    on = when if isinstance(when, ir.DateValue) else when.date()
    return on.delta(anchor_date, unit="day")


def plus_days(date: ir.DateValue, days: int) -> ir.DateValue:
    return date + ibis.interval(days=days)


def age_in_years(birth: ir.DateValue, on: ir.DateValue) -> ir.IntegerValue:
    """Whole years of age on a date (birthday not yet reached that year counts one less)."""
    before_birthday = (on.month() < birth.month()) | (
        (on.month() == birth.month()) & (on.day() < birth.day())
    )
    return on.year() - birth.year() - before_birthday.ifelse(1, 0)


def in_window(
    when: ir.TimestampValue | ir.DateValue, anchor_date: ir.DateValue, window
) -> ir.BooleanValue:
    """Whether ``when`` falls on a day of ``window`` (``from_day`` to ``to_day`` inclusive,
    counted from ``anchor_date``)."""
    return day_number(when, anchor_date).between(window.from_day, window.to_day)
