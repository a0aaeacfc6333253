"""The caller's arrays as clean, typed arrays for the SPC charts (pure).

``xmr`` (``carevalue.stats.spc``) and ``control_chart`` (``carevalue.stats.control_charts``)
take plain Python: lists, numpy arrays, pandas objects, with None or NaN for a gap. This
module turns them into what the rules compute on (float arrays, sort keys, facet codes,
subgroup labels) and refuses, in one sentence, what cannot be read. The charts' rules live
in their own modules and never see raw input.

Dates given as text must be ISO 8601 (``2015-01-31``, ``2015-01``, ``2015-01-31T08:00``).
They are read as dates, because a chart in time read as categories is silently wrong: its
runs analysis is switched off and a Laney chart's spread comes from the standard deviation
of z instead of its moving range. Other text (``01/02/2015``) is never guessed at.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

# ISO 8601 calendar dates and date-times: 2015-01-31, 2015-01 (a month), 2015-01-31T08:00,
# 2015-01-31 08:00:00.5, with an optional Z or UTC offset.
ISO_DATE = re.compile(
    r"\d{4}-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)?"
)
# Dates written day/month/year or month/day/year (01/05/2016, 1.5.16): which is the day
# cannot be told, so such labels are refused, never read as categories or guessed.
OTHER_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")
PASS_DATES = (
    "pass dates (datetime.date, numpy datetime64 or pandas Timestamps) or ISO text such as "
    "'2015-01-31'"
)
_DATE_OBJECTS = (_dt.date, np.datetime64)  # datetime.datetime and pd.Timestamp are dates too


# --- dates as text -------------------------------------------------------------------------


def _all_text(values: pd.Index | pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype) or not len(values):
        return False
    if not (
        pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)
    ):
        return False
    return all(isinstance(value, str) for value in values)


def _iso_matches(values) -> np.ndarray:
    return np.array([ISO_DATE.fullmatch(value.strip()) is not None for value in values])


def _iso_dates(values, what: str) -> pd.Series:
    """ISO text as datetimes (microseconds, as every date here); anything else is refused."""
    texts = pd.Series(list(values), dtype=object).str.strip()
    matches = _iso_matches(texts)
    if not matches.all():
        bad = texts[~matches].iloc[0]
        raise ValueError(
            f"{what} must be dates, datetimes or numbers, and {bad!r} is not an ISO date; "
            f"{PASS_DATES}."
        )
    try:
        return pd.to_datetime(texts, format="ISO8601").dt.as_unit("us")
    except (ValueError, OverflowError):
        pass
    # Say which value is wrong: a date that does not exist, or time zones that differ.
    parsed = [pd.to_datetime(text, format="ISO8601", errors="coerce") for text in texts]
    impossible = [text for text, stamp in zip(texts, parsed, strict=True) if pd.isna(stamp)]
    if impossible:
        raise ValueError(
            f"{what} has {impossible[0]!r}, which is written as an ISO date but is not a date "
            f"in the calendar; {PASS_DATES}."
        )
    raise ValueError(
        f"{what} mixes ISO dates with different time zones (e.g. {texts.iloc[0]!r}); give "
        f"them all in one time zone, or {PASS_DATES}."
    )


# --- xmr: values, dates, facets, rebase dates and targets ----------------------------------


def as_values(y) -> np.ndarray:
    if y is None or isinstance(y, (str, bytes)) or np.ndim(y) != 1:
        raise ValueError("y must be a one-dimensional sequence of numbers.")
    try:
        if isinstance(y, np.ndarray) and y.dtype.kind in "fiu":
            values = y.astype(float)  # the common case, without a trip through pandas
        else:
            # pd.array copes with None, pd.NA and nullable dtypes; every missing value -> NaN.
            values = pd.array(y, dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError("y must contain only numbers or missing values (None/NaN).") from None
    if np.isinf(values).any():
        raise ValueError("y must not contain infinite values.")
    return values


def as_dates(dates, n: int):
    """Output values, sort/match keys, kind ("number" or "datetime") and time zone."""
    if dates is None:
        positions = np.arange(1, n + 1, dtype=np.int64)
        return positions, positions.astype(float), "number", None
    if isinstance(dates, (str, bytes)) or np.ndim(dates) != 1:
        raise ValueError("dates must be a one-dimensional sequence, one date per value.")
    index = pd.Index(dates)
    if len(index) != n:
        raise ValueError(f"dates has {len(index)} values but y has {n}; give one date per value.")
    if index.hasnans:
        raise ValueError("dates has missing values; every point needs a date.")
    if pd.api.types.is_bool_dtype(index.dtype):
        raise ValueError("dates must be dates, datetimes or numbers, not booleans.")
    if pd.api.types.is_numeric_dtype(index.dtype):
        return index.to_numpy(), index.to_numpy(dtype=float), "number", None
    stamps = to_datetimes(index, "dates")
    return stamps, datetime_keys(stamps), "datetime", stamps.tz


def to_datetimes(values, what: str) -> pd.DatetimeIndex:
    """Dates as a DatetimeIndex; text must be ISO 8601 dates, so 01/02/2020 is never guessed."""
    index = pd.Index(values)
    if _all_text(index):
        return pd.DatetimeIndex(_iso_dates(index, what))
    try:
        with warnings.catch_warnings():
            # Unparseable values become our ValueError below, not pandas' format advice.
            warnings.filterwarnings(
                "ignore", message="Could not infer format", category=UserWarning
            )
            return pd.DatetimeIndex(pd.to_datetime(index))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be dates, datetimes or numbers.") from None


def datetime_keys(stamps: pd.DatetimeIndex) -> np.ndarray:
    # One resolution for data and rebase dates alike, so equal dates get equal keys.
    return stamps.as_unit("us").asi8


def as_facets(facets, n: int):
    """Output values, integer codes (order of first appearance) and the distinct labels."""
    if facets is None:
        return np.full(n, None, dtype=object), np.zeros(n, dtype=np.int64), None
    if isinstance(facets, (str, bytes)) or np.ndim(facets) != 1:
        raise ValueError("facets must be a one-dimensional sequence, one label per value.")
    index = pd.Index(facets)
    if len(index) != n:
        raise ValueError(
            f"facets has {len(index)} values but y has {n}; give one facet label per value."
        )
    codes, labels = pd.factorize(index)
    if (codes < 0).any():
        raise ValueError("facets has missing values; every point needs a facet label.")
    return index.to_numpy(), codes.astype(np.int64), labels


def facet_codes_for(keys, facet_labels, what: str) -> np.ndarray:
    if facet_labels is None:
        raise ValueError(f"{what} is a dict of facets, but no facets were given.")
    codes = facet_labels.get_indexer(list(keys))
    if (codes < 0).any():
        unknown = list(keys)[int(np.flatnonzero(codes < 0)[0])]
        raise ValueError(f"{what} names facet {unknown!r}, which is not among the facets.")
    return codes.astype(np.int64)


def _as_date_list(values):
    if isinstance(values, (str, bytes, numbers.Number, _dt.date, np.datetime64)):
        return [values]
    return list(values)


def _rebase_keys(values, date_kind: tuple) -> np.ndarray:
    kind, tz = date_kind
    values = _as_date_list(values)
    if not values:
        return np.array([], dtype=float if kind == "number" else np.int64)
    if kind == "number":
        try:
            keys = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("rebase dates must be numbers like the dates they mark.") from None
        return keys
    stamps = to_datetimes(pd.Index(values), "rebase dates")
    # A plain "2018-04-01" means that day in the data's own time zone.
    if tz is not None and stamps.tz is None:
        stamps = stamps.tz_localize(tz)
    elif tz is None and stamps.tz is not None:
        stamps = stamps.tz_localize(None)
    return datetime_keys(stamps)


def rebase_marks(rebase, date_kind, date_keys, facet_codes, facet_labels) -> np.ndarray:
    """True where a row's date starts a new rebase group (ptd: rebase = 1)."""
    n = len(date_keys)
    if rebase is None or (isinstance(rebase, Mapping) and not rebase):
        return np.zeros(n, dtype=bool)
    if isinstance(rebase, Mapping):
        codes = facet_codes_for(rebase.keys(), facet_labels, "rebase")
        pair_codes, pair_keys = [], []
        for code, dates in zip(codes, rebase.values(), strict=True):
            keys = _rebase_keys(dates, date_kind)
            pair_codes.append(np.full(len(keys), code, dtype=np.int64))
            pair_keys.append(keys)
        wanted = pd.MultiIndex.from_arrays([np.concatenate(pair_codes), np.concatenate(pair_keys)])
        present = pd.MultiIndex.from_arrays([facet_codes, date_keys])
        missing = ~wanted.isin(present)
        if missing.any():
            code, _key = wanted[int(np.flatnonzero(missing)[0])]
            raise ValueError(
                f"a rebase date for facet {facet_labels[code]!r} is not one of that facet's dates."
            )
        return present.isin(wanted)
    keys = _rebase_keys(rebase, date_kind)
    missing = ~np.isin(keys, date_keys)
    if missing.any():
        raise ValueError(
            "a rebase date is not one of the dates given; rebase at a date that has a point."
        )
    return np.isin(date_keys, keys)


def targets(target, facet_codes, facet_labels, n: int) -> np.ndarray:
    if target is None:
        return np.full(n, np.nan)
    if isinstance(target, Mapping):
        codes = facet_codes_for(target.keys(), facet_labels, "target")
        by_code = np.full(len(facet_labels), np.nan)
        by_code[codes] = [_target_number(value) for value in target.values()]
        return by_code[facet_codes]
    return np.full(n, _target_number(target))


def _target_number(value) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(
            f"target must be a finite number (or a dict facet -> number), not {value!r}."
        )
    return float(value)


# --- control_chart: observations, denominators and subgroups -------------------------------


def as_numbers(values, name: str) -> np.ndarray:
    if values is None:
        raise ValueError(f"{name} must hold numbers (missing values allowed).")
    try:
        if np.ndim(values) == 0:  # one number, e.g. a common denominator n = 50
            return np.asarray(values, dtype="float64")
        return pd.Series(values, dtype="float64").to_numpy()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers (missing values allowed).") from None


def observations(y) -> np.ndarray:
    """The observations (or counts) y as floats, NaN for a missing one."""
    values = np.atleast_1d(as_numbers(y, "y"))
    if np.isinf(values).any():
        raise ValueError("y has infinite values; use NaN for a missing value.")
    return values


def denominators(n, length: int) -> np.ndarray:
    """The denominators n as floats, one per observation (one number serves them all)."""
    values = as_numbers(n, "n")
    if values.ndim == 0:  # one size for every subgroup, e.g. samples of 50
        values = np.full(length, float(values))
    if len(values) != length:
        raise ValueError(f"y and n must be the same length ({length} and {len(values)}).")
    if np.isinf(values).any() or (values < 0).any():
        raise ValueError("n must be zero or positive numbers.")
    return values


def subgroups(x, length: int) -> pd.Series:
    """The subgroup of each observation: 1..length without x; dates as datetimes.

    Dates given as ``datetime.date`` objects or as ISO text become datetimes, so that the
    chart reads them as time (ordered: runs analysis on, Laney's moving range) and not as
    labels; text that is partly ISO dates and partly not is refused rather than guessed.
    """
    if x is None:
        return pd.Series(np.arange(1, length + 1))
    groups = pd.Series(x) if not isinstance(x, pd.Series) else x.reset_index(drop=True)
    if len(groups) != length:
        raise ValueError(f"y and x must be the same length ({length} and {len(groups)}).")
    # qic drops rows whose x is missing; an observation silently lost is worse than a
    # clear error, so we refuse them instead.
    if groups.isna().any():
        raise ValueError("x has missing values; every observation needs its subgroup.")
    return _dates_as_datetimes(groups)


def _dates_as_datetimes(groups: pd.Series) -> pd.Series:
    if not pd.api.types.is_object_dtype(groups.dtype) and not _all_text(groups):
        return groups  # numbers, datetimes, categories: already typed
    if all(isinstance(value, _DATE_OBJECTS) for value in groups):
        try:
            return pd.Series(pd.to_datetime(groups)).dt.as_unit("us")
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"x holds dates that cannot be read as one kind of date; {PASS_DATES}, all "
                "in one time zone."
            ) from None
    if not _all_text(groups):
        return groups
    matches = _iso_matches(groups)
    if matches.all():
        return _iso_dates(groups, "x")
    other = [value for value in groups if OTHER_DATE.fullmatch(value.strip())]
    if other:
        raise ValueError(
            f"x has {other[0]!r}, which looks like a date but not an ISO one, so its day and "
            f"month cannot be told apart; {PASS_DATES}."
        )
    if matches.any():
        date, label = groups[matches].iloc[0], groups[~matches].iloc[0]
        raise ValueError(
            f"x mixes ISO dates ({date!r}) with other labels ({label!r}); for a chart in time "
            f"{PASS_DATES}, or give labels alone for a comparison of units."
        )
    return groups  # labels: categories, with no order in time


def is_ordered(groups: pd.Series) -> bool:
    """Numbers and dates are a sequence in time; labels are categories (qic's dots.only)."""
    dtype = groups.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    return bool(
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )
