"""Translate one batch of raw text rows from a trust's codes to the contract's, before the
rows are checked: value maps (standard NHS codes and the trust's mapping file), EQ-5D
five-digit profiles to the item object scoring reads, and day-first dates to ISO 8601.

A value no map knows is left exactly as written, so the check that follows quarantines
it with the trust's own spelling in the reason. Pure: pyarrow in, pyarrow out.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from carevalue.sources.extract_mapping import FeedMapping, value_map
from carevalue.sources.feeds import Feed

EQ5D_DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")  # the order of the five-digit profile
# Instruments whose items may come as the profile, with the highest level of each item.
EQ5D_LEVELS = {"EQ-5D-5L": 5, "EQ-5D-3L": 3, "EQ-5D-Y-3L": 3, "EQ-5D-Y-5L": 5}


def recode_batch(feed: Feed, raw: pa.Table, mapping: FeedMapping) -> pa.Table:
    """``raw`` (contract column names, all text) with every known code translated."""
    columns = {name: _array(raw.column(name)) for name in raw.column_names}
    for column in feed.columns:
        if column.name not in columns:
            continue
        codes = value_map(feed.name, column.name, mapping)
        if codes and column.type == "text":
            columns[column.name] = map_values(columns[column.name], codes)
        if column.type in ("date", "timestamp") and mapping.date_format != "YYYY-MM-DD":
            columns[column.name] = iso_dates(columns[column.name], mapping.date_format)
    if "items" in columns and "instrument" in columns:
        columns["items"] = eq5d_profiles(columns["instrument"], columns["items"])
    return pa.table(columns)


def map_values(values: pa.Array, codes: dict[str, str | None]) -> pa.Array:
    """Each value found in ``codes`` (trimmed, ignoring case) replaced by its target."""
    keys = list(codes)
    index = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(values)), value_set=pa.array(keys))
    targets = pc.take(pa.array([codes[k] for k in keys], pa.string()), index)
    return pc.if_else(pc.is_valid(index), targets, values)


def iso_dates(values: pa.Array, date_format: str) -> pa.Array:
    """``31/01/2020`` (DD/MM/YYYY) or ``01/31/2020`` (MM/DD/YYYY), with any time after it,
    rewritten as ``2020-01-31``; other text is left for the check to refuse."""
    text = pc.utf8_trim_whitespace(values)
    pattern = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"
    day, month = (r"\1", r"\2") if date_format == "DD/MM/YYYY" else (r"\2", r"\1")
    # Pad one-digit days and months first, so the rewrite always yields two digits.
    padded = pc.replace_substring_regex(text, r"^(\d)([/.-])", r"0\1\2")
    padded = pc.replace_substring_regex(padded, r"^(\d{2}[/.-])(\d)([/.-])", r"\10\2\3")
    return pc.replace_substring_regex(padded, pattern, rf"\3-{month}-{day}")


def eq5d_profiles(instruments: pa.Array, items: pa.Array) -> pa.Array:
    """An EQ-5D response whose items are its five-digit profile (``52155``: mobility 5,
    self-care 2, usual activities 1, pain 5, anxiety 5) as the JSON object scoring reads."""
    out = items.to_pylist()
    changed = False
    for i, (instrument, value) in enumerate(zip(instruments.to_pylist(), out, strict=True)):
        if value is None or instrument is None:
            continue
        levels = EQ5D_LEVELS.get(instrument.strip().upper())
        profile = value.strip()
        if levels and len(profile) == 5 and all("1" <= d <= str(levels) for d in profile):
            out[i] = json.dumps(dict(zip(EQ5D_DIMENSIONS, map(int, profile), strict=True)))
            changed = True
    return pa.array(out, pa.string()) if changed else items


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
