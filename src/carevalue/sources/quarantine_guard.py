"""Stop a load whose feed would be mostly quarantined, before anything changes.

When a large share of one feed's rows breaks the contract, the cause is nearly always one
systematic difference (sex coded F/M, dates written day first, a semicolon file), not
bad data: loading would fill the quarantine and orphan every child row. The guard counts
the problems while rows are checked and, above the limit, names the field and value that
caused most of them and how to map it. Pure: counting and wording only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from carevalue.errors import UserError
from carevalue.sources.feeds import Feed
from carevalue.sources.validate_rows import Problem

DEFAULT_MAX_QUARANTINED = 0.20  # share of a feed's rows
# Below this many quarantined rows the guard stays quiet whatever the share: a handful of
# bad rows is data to read in the quarantine, not a systematic difference to map.
MIN_ROWS_TO_STOP = 10
_MAX_DISTINCT_VALUES = 10_000  # per field: keeps memory flat on a feed of free text


@dataclass
class ProblemTally:
    """How many problems each (column, kind) had, and its most frequent values."""

    by_cause: Counter = field(default_factory=Counter)
    values: dict[tuple[str | None, str], Counter] = field(default_factory=dict)
    example: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def add(self, problems: list[Problem]) -> None:
        for p in problems:
            self.count(p.column, p.kind, p.value, p.reason)

    def count(self, column: str | None, kind: str, value: str | None, reason: str) -> None:
        cause = (column, kind)
        self.by_cause[cause] += 1
        self.example.setdefault(cause, reason)
        values = self.values.setdefault(cause, Counter())
        if value in values or len(values) < _MAX_DISTINCT_VALUES:
            values[value] += 1

    def top(self) -> tuple[str | None, str, str | None, int, str] | None:
        """(column, kind, commonest value, problems of that cause, an example reason)."""
        if not self.by_cause:
            return None
        (column, kind), count = self.by_cause.most_common(1)[0]
        value = self.values[(column, kind)].most_common(1)[0][0]
        return column, kind, value, count, self.example[(column, kind)]


def check_share(
    feed: Feed, file: str, rows_read: int, rows_bad: int, tally: ProblemTally, limit: float
) -> None:
    """Raise ``UserError`` when more than ``limit`` of the feed's rows would be quarantined."""
    if rows_bad < MIN_ROWS_TO_STOP or rows_bad / rows_read <= limit:
        return
    share = rows_bad / rows_read
    top = tally.top()
    cause = "" if top is None else ", " + _cause(feed, top)
    raise UserError(
        f"{file}: {rows_bad:,} of {rows_read:,} rows ({share:.0%}) would be quarantined, more "
        f"than the {limit:.0%} allowed{cause}; nothing was loaded "
        f"(to load anyway, pass --max-quarantined {_percent_above(share)})."
    )


def _cause(feed: Feed, top) -> str:
    column, kind, value, count, reason = top
    rows = f"{count:,} row{'s' if count != 1 else ''}"
    if kind == "malformed":
        return (
            f"most ({rows}) because a line has the wrong number of values ({reason}): check the "
            "delimiter and the quoting of the export"
        )
    shown = "a blank" if value is None else f"'{value}'"
    if kind == "not_allowed":
        allowed = feed.column(column).allowed or ("?",)
        return (
            f"most for {column} {shown} ({rows}), which is not one of {', '.join(allowed)}: map it "
            f"in the extract's mapping.yaml, e.g. '{feed.name}: {{values: {{{column}: "
            f"{{{value}: {allowed[0]}}}}}}}', or run 'carevalue profile' on the extract to draft "
            "the mapping"
        )
    if (
        kind == "type"
        and feed.column(column).type in ("date", "timestamp")
        and value
        and "/" in value
    ):
        return (
            f"most for {column} {shown} ({rows}), written day or month first: add "
            f"'date_format: DD/MM/YYYY' (or MM/DD/YYYY) under {feed.name}: in the extract's "
            "mapping.yaml"
        )
    if kind == "blank":
        return (
            f"most because {column} is blank ({rows}): check the export fills {column}, or that "
            f"the mapping's columns: renames the file's own name for it to {column}"
        )
    return f"most for {column} {shown} ({rows}: {reason}): correct the export or map the value"


def _percent_above(share: float) -> int:
    return min(100, int(share * 100) + 1)
