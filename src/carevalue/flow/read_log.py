"""Read an event log from a file: CSV (any common delimiter) or XES (``.xes``, ``.xes.gz``).

The result is a pandas frame in the log's own order, one row per event, every column text
but the timestamps, ready for the maps (``event_table`` takes it as it is). Only an empty
field is missing: a case called "NA" (the sepsis log has one) is a case like any other.

XES is read as a stream (``iterparse``), so a large log never sits in memory as a tree.
Each event's attributes become columns named by their keys, and its trace's attributes
columns named ``case:<key>``; so the case is ``case:concept:name``, the activity
``concept:name`` and the timestamp ``time:timestamp``, the names used when no others are
given. Nested attributes (lists, containers) are skipped. Where ``defusedxml`` is installed
it parses; otherwise the standard library's expat does, which never fetches external
entities and refuses runaway entity expansion (expat 2.4.1 and later).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from carevalue.errors import UserError

try:  # the hardened parser, where the environment has it
    from defusedxml.ElementTree import ParseError, iterparse
except ImportError:
    from xml.etree.ElementTree import ParseError, iterparse

XES_CASE, XES_ACTIVITY, XES_TIMESTAMP = "case:concept:name", "concept:name", "time:timestamp"
XES_LIFECYCLE = "lifecycle:transition"
_XES_VALUES = {"string", "date", "int", "float", "boolean", "id"}
_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024


def read_event_log(
    path: str | Path,
    *,
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    end: str | None = None,
    sep: str | None = None,
) -> pd.DataFrame:
    """The event log at ``path`` with its ``timestamp`` (and ``end``) column parsed.

    ``case``, ``activity`` and ``timestamp`` name columns of the log; a CSV needs all
    three, an XES file defaults to its standard keys. ``sep`` is a CSV's delimiter,
    sniffed from the file's start when not given.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is not a file; give the path of the event log (CSV or XES).")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty; give an event log with a header row and events.")
    xes = is_xes(path)
    case, activity, timestamp = log_columns(path, case=case, activity=activity, timestamp=timestamp)
    if xes:
        frame = _read_xes(path)
    else:
        unnamed = [f"--{role}" for role, c in _roles(case, activity, timestamp) if not c]
        if unnamed:
            raise UserError(
                f"{path} is a CSV file: name its {', '.join(unnamed)} column"
                f"{'s' if len(unnamed) > 1 else ''} (an XES log has standard names)."
            )
        frame = _read_csv(path, sep)
    named = [c for c in (case, activity, timestamp, end) if c]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path} has no column {', '.join(repr(m) for m in missing)}; its columns are "
            f"{', '.join(map(str, frame.columns))}."
            + (" Is the delimiter right? Give it with sep (--sep)." if frame.shape[1] == 1 else "")
        )
    for column in (timestamp, end):
        if column:
            frame[column] = _timestamps(frame[column], path, column, xes=xes)
    return frame


def is_xes(path: str | Path) -> bool:
    return Path(path).name.lower().endswith((".xes", ".xes.gz"))


def log_columns(
    path: str | Path, *, case: str | None, activity: str | None, timestamp: str | None
) -> tuple[str | None, str | None, str | None]:
    """The case, activity and timestamp columns of the log at ``path``: those named, and
    for XES the standard keys where none is named."""
    if is_xes(path):
        return case or XES_CASE, activity or XES_ACTIVITY, timestamp or XES_TIMESTAMP
    return case, activity, timestamp


def _roles(case, activity, timestamp):
    return [("case", case), ("activity", activity), ("timestamp", timestamp)]


# --- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path, sep: str | None) -> pd.DataFrame:
    try:
        delimiter = sep or _sniff(path)
        frame = pd.read_csv(
            path,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,  # "NA", "null", "None" are values, not gaps
            na_values=[],
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save the event log as UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise UserError(
            f"{path} is empty; give an event log with a header row and events."
        ) from None
    except pd.errors.ParserError as error:
        raise UserError(f"{path} cannot be read as CSV ({error}).") from None
    if frame.empty:
        raise UserError(f"{path} has a header but no events.")
    return frame.replace("", None).astype("str")


def _sniff(path: Path) -> str:
    """The delimiter of the CSV at ``path``, guessed from its first lines (a comma when
    nothing else is consistent)."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(_SNIFF_BYTES)
    if len(sample) == _SNIFF_BYTES:  # whole lines only: a cut line misleads the sniffer
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


# --- XES -------------------------------------------------------------------------------


def _read_xes(path: Path) -> pd.DataFrame:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            rows = list(_xes_events(handle))
    except ParseError as error:
        line, column = error.position
        reason = str(error).split(": line ")[0]  # expat's text ends with the place again
        raise UserError(
            f"{path} cannot be read as XES: {reason} at line {line}, column {column}."
        ) from None
    except (OSError, EOFError) as error:  # a truncated or mislabelled .gz
        raise UserError(f"{path} cannot be read as XES ({error}).") from None
    if not rows:
        raise UserError(f"{path} holds no events (no <event> inside a <trace>).")
    return pd.DataFrame(rows).astype("str")


def _xes_events(handle: IO[bytes]) -> Iterator[dict[str, str]]:
    """Each event of the stream as {key: text value}, with its trace's attributes as
    ``case:<key>``, in file order. A trace's events are held until the trace closes,
    because its attributes may follow them."""
    path: list[str] = []  # the open elements' local names, outermost first
    trace: dict[str, str] = {}
    events: list[dict[str, str]] = []
    event: dict[str, str] | None = None
    for kind, element in iterparse(handle, events=("start", "end")):
        tag = element.tag.rpartition("}")[2]
        if kind == "start":
            path.append(tag)
            if tag == "event" and path[-2:-1] == ["trace"]:
                event = {}
            continue
        path.pop()
        parent = path[-1] if path else ""
        if tag in _XES_VALUES and "key" in element.attrib:
            key, value = element.attrib["key"], element.attrib.get("value")
            if parent == "event" and event is not None:
                event[key] = value
            elif parent == "trace":
                trace[f"case:{key}"] = value
        elif tag == "event" and parent == "trace":
            events.append(event or {})
            event = None
        elif tag == "trace":
            for row in events:
                yield {**trace, **row}
            trace, events = {}, []
        if tag in ("event", "trace"):
            element.clear()  # stream: nothing read stays in the tree


# --- timestamps ------------------------------------------------------------------------


def _timestamps(values: pd.Series, path: Path, column: str, *, xes: bool) -> pd.Series:
    """``values`` as timestamps, each in whatever common layout it is written (a column
    that mixes UTC offsets is read as UTC). The first value that is no timestamp is named
    by its place: a CSV's row (the header is row 1), an XES file's event (from 1)."""
    utc = False
    try:
        return pd.to_datetime(values, format="mixed")
    except ValueError as error:
        utc = "timezone" in str(error).lower()
    except (TypeError, OverflowError):
        pass
    if utc:
        try:
            return pd.to_datetime(values, format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError):
            pass
    parsed = pd.to_datetime(values, format="mixed", errors="coerce", utc=True)
    bad = (parsed.isna() & values.notna()).to_numpy().nonzero()[0]
    position = int(bad[0]) if len(bad) else 0
    place = f"event {position + 1}, attribute" if xes else f"row {position + 2}, column"
    raise UserError(
        f"{path} {place} {column!r}: {values.iloc[position]!r} is not a date and time; "
        "write it as 2024-03-01 14:05:00."
    )
