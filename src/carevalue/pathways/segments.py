"""Segment fields of an episode: the groupings value is reported by (site, team, period,
age band, sex, deprivation, ethnic group). Pure expressions over the episode row."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

AGE_BANDS = (
    (0, 17, "0-17"),
    (18, 44, "18-44"),
    (45, 64, "45-64"),
    (65, 74, "65-74"),
    (75, 84, "75-84"),
)
OLDEST_BAND = "85+"

# NHS Data Dictionary ethnic category codes grouped as the ONS five groups.
ETHNIC_GROUPS = {
    "White": ("A", "B", "C"),
    "Mixed": ("D", "E", "F", "G"),
    "Asian or Asian British": ("H", "J", "K", "L"),
    "Black or Black British": ("M", "N", "P"),
    "Other ethnic group": ("R", "S"),
    "Not stated": ("Z", "99"),
}


def age_band(age: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(
        *[(age.between(low, high), label) for low, high, label in AGE_BANDS], else_=OLDEST_BAND
    )


def ethnic_group(code: ir.StringValue) -> ir.StringValue:
    return ibis.cases(
        *[(code.isin(list(codes)), group) for group, codes in ETHNIC_GROUPS.items()],
        else_="Not known",
    )


def financial_year(date: ir.DateValue) -> ir.StringValue:
    """NHS financial year starting 1 April, written '2021/22'."""
    start = ibis.cases((date.month() >= 4, date.year()), else_=date.year() - 1)
    return start.cast("string") + "/" + ((start + 1) % 100).cast("string").lpad(2, "0")


def month(date: ir.DateValue) -> ir.StringValue:
    return date.year().cast("string") + "-" + date.month().cast("string").lpad(2, "0")


def quarter(date: ir.DateValue) -> ir.StringValue:
    return date.year().cast("string") + "-Q" + date.quarter().cast("string")
