"""An event log in one shape: the columns every flow function reads.

Whatever the log came from (a pandas frame, an Ibis table over the warehouse, a CSV or
XES file), the flow functions work on an Ibis table with

    case      text       the case (an episode, or the log's case id)
    activity  text       the activity label
    start     timestamp  when the event happened (its start, where it has one)
    end       timestamp  when it ended; null for a point event (a completion time only)
    seq       int64      the event's place in the source, so that events with equal
                         timestamps in a case keep their source order

Events without a timestamp or an activity cannot be placed on a map. They are left out
and counted (``Events.left_out``), never dropped silently: ``left_out_events`` lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import ibis
import pandas as pd

from carevalue.errors import UserError

CASE, ACTIVITY, START, END, SEQ = "case", "activity", "start", "end", "seq"
EVENT_COLUMNS = (CASE, ACTIVITY, START, END, SEQ)


@dataclass(frozen=True)
class Events:
    """A log in the flow shape. ``table`` holds only placeable events; ``everything``
    also holds the ones left out (no timestamp or no activity)."""

    everything: ibis.Table

    @cached_property
    def table(self) -> ibis.Table:
        t = self.everything
        return t.filter(t[START].notnull() & t[ACTIVITY].notnull())

    @cached_property
    def left_out(self) -> int:
        t = self.everything
        return int(t.filter(t[START].isnull() | t[ACTIVITY].isnull()).count().execute())

    def left_out_events(self) -> pd.DataFrame:
        """One row per case with events left out: ``case``, ``events`` (how many)."""
        t = self.everything
        gone = t.filter(t[START].isnull() | t[ACTIVITY].isnull())
        out = gone.group_by(CASE).aggregate(events=gone.count()).order_by(CASE).execute()
        return out.reset_index(drop=True)


def event_table(
    events: pd.DataFrame | ibis.Table | Events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
    keep: Sequence[str] = (),
) -> Events:
    """The log in the flow shape.

    ``order`` names a column giving the source order; without it a pandas frame's row
    order is the source order, and an Ibis table (which has no row order) breaks ties by
    activity name. ``keep`` carries further columns through (a stage, a value-adding flag).
    """
    if isinstance(events, Events):
        return events
    names = {case: CASE, activity: ACTIVITY, timestamp: START}
    if end:
        names[end] = END
    missing = [c for c in [*names, *([order] if order else []), *keep] if c not in events.columns]
    if missing:
        raise UserError(
            f"The event log has no column {', '.join(repr(m) for m in missing)}; its columns "
            f"are {', '.join(map(str, events.columns))}. Name the case, activity and "
            "timestamp columns as they are written in the log."
        )
    if isinstance(events, pd.DataFrame):
        table = ibis.memtable(_pandas_events(events, names, order, keep))
    else:
        table = _ibis_events(events, names, order, keep)
    return Events(table)


def _pandas_events(
    frame: pd.DataFrame, names: dict[str, str], order: str | None, keep: Sequence[str]
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            CASE: frame[_key(names, CASE)].astype("string"),
            ACTIVITY: frame[_key(names, ACTIVITY)].astype("string"),
            START: _timestamps(frame[_key(names, START)], _key(names, START)),
            END: (
                _timestamps(frame[_key(names, END)], _key(names, END))
                if END in names.values()
                else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
            ),
            SEQ: frame[order].astype("int64") if order else range(len(frame)),
        }
    )
    for column in keep:
        out[column] = frame[column].to_numpy()
    return out.reset_index(drop=True)


def _key(names: dict[str, str], role: str) -> str:
    return next(source for source, target in names.items() if target == role)


def _timestamps(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values
    else:
        try:
            stamps = pd.to_datetime(values, format="mixed")
        except (ValueError, TypeError) as error:
            raise UserError(
                f"Column {column!r} of the event log holds a value that is not a date and "
                f"time ({error}); write timestamps as 2024-03-01 14:05:00."
            ) from None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[us]")


def _ibis_events(
    table: ibis.Table, names: dict[str, str], order: str | None, keep: Sequence[str]
) -> ibis.Table:
    columns = {
        CASE: table[_key(names, CASE)].cast("string"),
        ACTIVITY: table[_key(names, ACTIVITY)].cast("string"),
        START: table[_key(names, START)].cast("timestamp"),
        END: (
            table[_key(names, END)].cast("timestamp")
            if END in names.values()
            else ibis.null("timestamp")
        ),
    }
    if order:
        columns[SEQ] = table[order].cast("int64")
    else:
        # No row order in a table: ties in a case fall back to activity name order.
        window = ibis.window(
            group_by=table[_key(names, CASE)],
            order_by=[table[_key(names, START)], table[_key(names, ACTIVITY)]],
        )
        columns[SEQ] = ibis.row_number().over(window).cast("int64")
    return table.select(**columns, **{c: table[c] for c in keep})
