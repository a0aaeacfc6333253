"""Check one batch of raw text rows against its feed's declaration.

Input: a batch whose every column is text (as read from CSV, or Parquet cast to text)
and the row number of each row in its file. Output: the typed rows that passed every
rule, and one ``Problem`` per broken rule for the rows that did not. Vectorised with
pyarrow.compute so a 30-million-row feed checks at file-reading speed; pure, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from carevalue.sources.feeds import Column, Feed

KEY_SEPARATOR = "\x1f"
MAX_VALUE_CHARS = 200

_INTEGER = r"^[+-]?\d+(\.0*)?$"
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$"

_TYPE_WORDS = {
    "integer": "is not a whole number",
    "number": "is not a number",
    "date": "is not a date (expected YYYY-MM-DD)",
    "timestamp": "is not a date-time (expected YYYY-MM-DDTHH:MM:SS, local time)",
    "json": "is not a JSON object",
}

ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "json": pa.string(),
}


@dataclass(frozen=True)
class Problem:
    row: int
    column: str | None
    value: str | None
    reason: str  # without the file and row, e.g. "start_at '2019-13-01' is not a date"
    # What broke: type, blank, not_allowed, pattern, below, above or order (a row rule).
    kind: str = ""


@dataclass(frozen=True)
class CheckedBatch:
    good: pa.Table  # declared columns typed, extras as text, plus _row and _key
    problems: list[Problem]
    bad_rows: pa.Table  # the raw text of every row with a problem, plus _row


def check_batch(
    feed: Feed, raw: pa.Table, rows: np.ndarray, *, written: pa.Table | None = None
) -> CheckedBatch:
    """Type and check ``raw`` (all-text columns); ``rows`` numbers each row in its file.

    ``written`` is the same rows as the file wrote them, before any code was translated:
    reasons and quarantined rows show those values, so the trust recognises its own."""
    n = raw.num_rows
    raw = _blank_to_null(raw)
    shown = raw if written is None else _blank_to_null(written)
    bad = np.zeros(n, dtype=bool)
    problems: list[Problem] = []
    typed: dict[str, pa.Array] = {}

    def report(mask: np.ndarray, column: str, describe, kind: str) -> None:
        nonlocal bad
        if not mask.any():
            return
        bad |= mask
        values = shown.column(column)
        for i in np.flatnonzero(mask):
            value = values[int(i)].as_py()
            problems.append(
                Problem(int(rows[i]), column, _clip(value), describe(value, int(i)), kind)
            )

    for column in feed.columns:
        if column.name not in raw.column_names:
            typed[column.name] = pa.nulls(n, ARROW_TYPES[column.type])
            continue
        text = _as_array(raw.column(column.name))
        parsed, invalid = _parse(column, text)
        present = _mask(pc.is_valid(text))
        report(
            invalid,
            column.name,
            lambda v, i, c=column: f"{c.name} '{v}' {_TYPE_WORDS[c.type]}",
            "type",
        )
        if not column.nullable:
            report(~present, column.name, lambda v, i, c=column: f"{c.name} is blank", "blank")
        if column.allowed is not None:
            parsed, not_allowed = _canonical_choice(parsed, column.allowed)
            report(
                not_allowed,
                column.name,
                lambda v, i, c=column: f"{c.name} '{v}' is not one of {', '.join(c.allowed)}",
                "not_allowed",
            )
        if column.pattern is not None:
            mismatch = present & ~_mask(pc.match_substring_regex(text, f"^(?:{column.pattern})$"))
            report(
                mismatch,
                column.name,
                lambda v, i, c=column: f"{c.name} '{v}' is not {c.pattern_hint}",
                "pattern",
            )
        if column.minimum is not None:
            low = _mask(pc.less(parsed, column.minimum))
            report(
                low,
                column.name,
                lambda v, i, c=column: f"{c.name} '{v}' is below {c.minimum:g}",
                "below",
            )
        if column.maximum is not None:
            high = _mask(pc.greater(parsed, column.maximum))
            report(
                high,
                column.name,
                lambda v, i, c=column: f"{c.name} '{v}' is above {c.maximum:g}",
                "above",
            )
        typed[column.name] = parsed

    for rule in feed.row_rules:
        earlier, later = typed[rule.earlier], typed[rule.later]
        wrong = _mask(pc.less(later, earlier))
        earlier_text = shown.column(rule.earlier) if rule.earlier in shown.column_names else None
        report(
            wrong,
            rule.later,
            lambda v, i, r=rule, e=earlier_text: (
                f"{r.later} '{v}' is before {r.earlier} '{e[i].as_py()}'"
            ),
            "order",
        )

    good_mask = pa.array(~bad)
    extras = [c for c in raw.column_names if c not in feed.column_names and not c.startswith("_")]
    columns = {name: pc.filter(array, good_mask) for name, array in typed.items()}
    for name in extras:
        columns[name] = pc.filter(_as_array(raw.column(name)), good_mask)
    columns["_row"] = pa.array(rows[~bad], type=pa.int64())
    good = pa.table(columns)
    good = good.append_column("_key", key_of(good, feed.key))
    bad_rows = shown.filter(pa.array(bad))
    bad_rows = bad_rows.append_column("_row", pa.array(rows[bad], type=pa.int64()))
    problems.sort(key=lambda p: p.row)
    return CheckedBatch(good=good, problems=problems, bad_rows=bad_rows)


def key_of(table: pa.Table, key: tuple[str, ...]) -> pa.Array:
    """One text value per row standing for its key; blank parts count as equal."""
    parts = [pc.fill_null(pc.cast(table.column(k), pa.string()), "") for k in key]
    if len(parts) == 1:
        return _as_array(parts[0])
    return _as_array(pc.binary_join_element_wise(*parts, KEY_SEPARATOR))


def _parse(column: Column, text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Typed values (null where blank or invalid) and the mask of invalid values."""
    present = _mask(pc.is_valid(text))
    kind = column.type
    if kind == "text":
        return text, np.zeros(len(text), dtype=bool)
    if kind == "json":
        invalid = np.zeros(len(text), dtype=bool)
        for i, value in enumerate(text.to_pylist()):
            if value is not None and not _is_json_object(value):
                invalid[i] = True
        return _null_where(text, invalid), invalid
    if kind in ("integer", "number"):
        pattern = _INTEGER if kind == "integer" else _NUMBER
        shaped = _mask(pc.match_substring_regex(text, pattern))
        numbers = pc.cast(_null_where(text, ~shaped), pa.float64())
        # '1e400' is shaped like a number but is infinite; a whole number beyond 2^53 is
        # no longer exact as a float (and beyond 2^63 would not fit the column at all).
        limit = 2.0**53 if kind == "integer" else float("inf")
        shaped &= _mask(pc.less(pc.abs(pc.fill_null(numbers, 0.0)), limit))
        numbers = _null_where(numbers, ~shaped)
        invalid = present & ~shaped
        if kind == "integer":
            numbers = pc.cast(numbers, pa.int64())
        return numbers, invalid
    if kind == "date":
        shaped = _mask(pc.match_substring_regex(text, _DATE))
        parsed = _real_dates_only(
            pc.strptime(
                _null_where(text, ~shaped), format="%Y-%m-%d", unit="s", error_is_null=True
            ),
            text,
        )
        invalid = present & ~_mask(pc.is_valid(parsed))
        return pc.cast(parsed, pa.date32()), invalid
    if kind == "timestamp":
        # Accept 'T' or a space between date and time, seconds optional, a trailing Z,
        # and fractions of a second (dropped: no hospital feed means them).
        normal = pc.replace_substring(text, " ", "T", max_replacements=1)
        shaped = _mask(pc.match_substring_regex(normal, _TIMESTAMP))
        normal = pc.replace_substring_regex(normal, r"(\.\d+)?Z?$", "")
        normal = pc.if_else(
            pc.equal(pc.utf8_length(normal), 10),
            pc.binary_join_element_wise(normal, "T00:00:00", ""),
            normal,
        )
        normal = pc.if_else(
            pc.equal(pc.utf8_length(normal), 16),
            pc.binary_join_element_wise(normal, ":00", ""),
            normal,
        )
        parsed = _real_dates_only(
            pc.strptime(
                _null_where(normal, ~shaped),
                format="%Y-%m-%dT%H:%M:%S",
                unit="us",
                error_is_null=True,
            ),
            normal,
        )
        invalid = present & ~_mask(pc.is_valid(parsed))
        return parsed, invalid
    raise ValueError(f"unknown column type {kind!r}")


def _real_dates_only(parsed: pa.Array, text: pa.Array) -> pa.Array:
    """Null where strptime rolled an impossible day over (2019-02-30 became 2019-03-02)."""
    # Where parsing succeeded the text has the YYYY-MM-DD shape, so characters 8-9 are digits.
    shaped = pc.if_else(pc.is_valid(parsed), text, "0000-00-00")
    written_day = pc.cast(pc.utf8_slice_codeunits(shaped, 8, 10), pa.int64())
    same_day = pc.equal(pc.day(parsed), written_day)
    return pc.if_else(pc.fill_null(same_day, False), parsed, pa.scalar(None, parsed.type))


def _canonical_choice(values: pa.Array, allowed: tuple[str, ...]) -> tuple[pa.Array, np.ndarray]:
    """Match allowed values ignoring case and return them spelled as declared."""
    lowered = pa.array([a.lower() for a in allowed])
    index = pc.index_in(pc.utf8_lower(values), value_set=lowered)
    invalid = _mask(pc.is_valid(values)) & ~_mask(pc.is_valid(index))
    return pc.take(pa.array(allowed), index), invalid


def _blank_to_null(table: pa.Table) -> pa.Table:
    columns = []
    for name in table.column_names:
        col = pc.utf8_trim_whitespace(_as_array(table.column(name)))
        columns.append(pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col))
    return pa.table(dict(zip(table.column_names, columns, strict=True)))


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _mask(values) -> np.ndarray:
    """A boolean array as numpy, with null counted as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _as_array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _is_json_object(value: str) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False


def _clip(value: str | None) -> str | None:
    if value is None or len(value) <= MAX_VALUE_CHARS:
        return value
    return value[: MAX_VALUE_CHARS - 1] + "…"
