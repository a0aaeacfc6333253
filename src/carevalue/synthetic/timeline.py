"""The synthetic trust's calendar: the period it covers, its data cut-off, and time arithmetic.

Internally every instant is an integer number of seconds since 1970-01-01 in naive local time
(what a hospital system records); numpy's NaT sentinel (the smallest int64) means "no value".
Strings are made only when a chunk is written.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
YEAR = 365.25 * DAY

PERIOD_START_DATE = date(2019, 4, 1)
DATA_CUTOFF_DATE = date(2024, 3, 31)

NAT = np.iinfo(np.int64).min  # numpy's NaT as an int64: "no value"


def to_seconds(day: date | datetime) -> int:
    """Seconds since the epoch of a naive date or datetime."""
    if not isinstance(day, datetime):
        day = datetime(day.year, day.month, day.day)
    return int((day - datetime(1970, 1, 1)).total_seconds())


PERIOD_START = to_seconds(PERIOD_START_DATE)
# Events at or after this instant are after the data cut-off and are not in the extract.
CUTOFF = to_seconds(DATA_CUTOFF_DATE) + DAY
N_MONTHS = 60  # April 2019 to March 2024: the ledger's periods


def month_index(seconds: np.ndarray) -> np.ndarray:
    """Ledger month (0 = 2019-04) of each instant."""
    months = seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months - (2019 - 1970) * 12 - 3


def period_labels() -> list[str]:
    """The ledger periods, 'YYYY-MM', in order."""
    first = np.datetime64("2019-04", "M")
    return [str(first + i) for i in range(N_MONTHS)]


def format_timestamps(seconds: np.ndarray) -> pa.Array:
    """ISO 8601 'YYYY-MM-DDTHH:MM:SS' strings; NaT becomes null."""
    arr = pa.array(seconds.astype("datetime64[s]"), mask=seconds == NAT)
    return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S")


def format_dates(seconds: np.ndarray) -> pa.Array:
    """ISO 8601 'YYYY-MM-DD' strings; NaT becomes null."""
    arr = pa.array(seconds.astype("datetime64[s]"), mask=seconds == NAT)
    return pc.strftime(arr, format="%Y-%m-%d")


def floor_to_day(seconds: np.ndarray) -> np.ndarray:
    out = seconds - np.mod(seconds, DAY)
    return np.where(seconds == NAT, NAT, out)


def covid_volume_factor(seconds: np.ndarray, kind: str) -> np.ndarray:
    """Share of usual activity that took place, by month, in the 2020-21 pandemic waves.

    Elective and outpatient care paused in the first wave and recovered slowly; emergency
    attendances fell less. Acute stroke admissions fell by about a fifth in spring 2020.
    """
    m = month_index(seconds)
    first_wave = (m >= 12) & (m <= 14)  # 2020-04 .. 2020-06
    recovery = (m >= 15) & (m <= 23)  # 2020-07 .. 2021-03
    low, mid = {
        "elective": (0.35, 0.8),
        "outpatient": (0.5, 0.85),
        "emergency": (0.65, 0.92),
        "stroke": (0.8, 1.0),
        "hepatitis_c": (0.45, 0.8),
        "endocarditis": (0.9, 1.0),
    }[kind]
    return np.where(first_wave, low, np.where(recovery, mid, 1.0))
