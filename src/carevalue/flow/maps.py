"""Activity maps of an event log: what follows what, how often, and how long between.

Every map is one Ibis expression run on the engine that holds the log (DuckDB for a pandas
frame, Spark for a Spark table), then read back as a small pandas frame. Order within a
case is (start, seq): events with equal timestamps keep their source order, so the same
log in another row order can give another map. Events with no timestamp or activity are
not on any map; each result says how many there were in ``attrs["left_out"]``.

Times are seconds (float). A wait is the next event's start less this event's end (its
start where it has no end), floored at 0 where the two overlap.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from carevalue.errors import UserError
from carevalue.flow.event_table import ACTIVITY, CASE, END, SEQ, START, Events, event_table

# Microseconds: the finest unit both DuckDB and Spark count between two timestamps.
_MICROSECONDS = 1_000_000


def directly_follows(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> pd.DataFrame:
    """One row per transition a -> b seen in some case: ``source``, ``target``, ``count``
    (transitions), ``cases`` (cases with it at least once), and the mean, median, 90th
    centile and total of the waits between them (``*_wait_s``). Sorted by count
    (largest first), then source and target."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    steps = _steps(log.table)
    wait = steps.wait_s
    edges = steps.group_by(["source", "target"]).aggregate(
        count=steps.count(),
        cases=steps[CASE].nunique(),
        mean_wait_s=wait.mean(),
        median_wait_s=wait.median(),
        p90_wait_s=wait.quantile(0.9),
        total_wait_s=wait.sum(),
    )
    frame = _sorted(edges.execute(), ["count", "source", "target"])
    return _with_left_out(_typed(frame, counts=("count", "cases")), log)


def variants(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> pd.DataFrame:
    """One row per distinct sequence of activities a case went through: ``variant`` (rank,
    1 the commonest), ``activities`` (a tuple), ``length``, ``count`` (cases), ``share``
    (of the cases on the map) and ``median_lead_time_s`` (first start to last end or
    start). Sorted by count (largest first), then the sequence."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    t = log.table
    # Activities travel as small whole numbers (their place in name order) while cases are
    # collected and grouped: grouping arrays of numbers is cheaper than arrays of text.
    names = sorted(t.select(ACTIVITY).distinct().to_pyarrow()[ACTIVITY].to_pylist())
    codes = ibis.memtable(
        {ACTIVITY: names, "code": range(len(names))},
        schema={ACTIVITY: "string", "code": "int64"},  # typed even when the log is empty
    )
    traces = _traces(t.join(codes, ACTIVITY), "code")
    grouped = traces.group_by("trace").aggregate(
        count=traces.count(), median_lead_time_s=traces.lead_time_s.median()
    )
    # Sorted in the engine: arrays order element by element as tuples do, and codes in
    # name order sort as the names do.
    result = grouped.order_by([ibis.desc("count"), "trace"]).to_pyarrow()
    frame = result.drop_columns(["trace"]).to_pandas()
    frame["activities"] = _named(result["trace"], names)
    frame["variant"] = range(1, len(frame) + 1)
    frame["length"] = frame["activities"].map(len)
    cases = frame["count"].sum()
    frame["share"] = frame["count"] / cases if cases else frame["count"]
    frame = frame[["variant", "activities", "length", "count", "share", "median_lead_time_s"]]
    frame = _typed(frame, counts=("variant", "length", "count"))
    return _with_left_out(frame, log)


def start_activities(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> pd.DataFrame:
    """The activities cases begin with: ``activity``, ``count`` (cases), ``share``."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    return _with_left_out(_ends_of_cases(log.table, first=True), log)


def end_activities(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> pd.DataFrame:
    """The activities cases end with: ``activity``, ``count`` (cases), ``share``."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    return _with_left_out(_ends_of_cases(log.table, first=False), log)


@dataclass(frozen=True)
class ProcessMap:
    """The whole frequency and performance map of a log, as the four functions above give
    it: ``edges`` (``directly_follows``), ``variants``, ``start_activities`` and
    ``end_activities``, and ``left_out`` (events without a timestamp or activity)."""

    edges: pd.DataFrame
    variants: pd.DataFrame
    start_activities: pd.DataFrame
    end_activities: pd.DataFrame
    left_out: int


def process_map(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> ProcessMap:
    """Edges, variants, start and end activities in two passes over the log instead of
    four: a case's first and last activities are the first and last of its variant, so
    they are counted from the variants (equal to ``start_activities`` and
    ``end_activities``, which a test checks)."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    found = variants(log)
    return ProcessMap(
        edges=directly_follows(log),
        variants=found,
        start_activities=_with_left_out(_ends_of_variants(found, 0), log),
        end_activities=_with_left_out(_ends_of_variants(found, -1), log),
        left_out=log.left_out,
    )


def _ends_of_variants(found: pd.DataFrame, place: int) -> pd.DataFrame:
    ends = pd.DataFrame(
        {ACTIVITY: [trace[place] for trace in found["activities"]], "count": found["count"]}
    )
    counted = ends.groupby(ACTIVITY, as_index=False, sort=False)["count"].sum()
    frame = _sorted(counted, ["count", ACTIVITY])
    total = frame["count"].sum()
    frame["share"] = (frame["count"] / total if total else frame["count"]).astype("float64")
    return _typed(frame, counts=("count",))


def activity_stats(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> pd.DataFrame:
    """One row per activity: ``count`` (events), ``cases`` (cases with it),
    ``rework_cases`` (cases with it more than once), and the mean and median duration of
    its events (``mean_duration_s``, ``median_duration_s``: null where its events have no
    end time). Sorted by count (largest first), then activity."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    t = log.table
    per_case = ibis.window(group_by=[t[CASE], t[ACTIVITY]])
    timed = t.mutate(
        times_in_case=t.count().over(per_case),
        duration_s=_seconds(t[END], t[START]),
    )
    stats = timed.group_by(ACTIVITY).aggregate(
        count=timed.count(),
        cases=timed[CASE].nunique(),
        rework_cases=timed[CASE].nunique(where=timed.times_in_case > 1),
        mean_duration_s=timed.duration_s.mean(),
        median_duration_s=timed.duration_s.median(),
    )
    frame = _sorted(stats.execute(), ["count", ACTIVITY])
    return _with_left_out(_typed(frame, counts=("count", "cases", "rework_cases")), log)


def loops(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
) -> pd.DataFrame:
    """Repeats straight away (``kind`` "self": a -> a, ``activities`` (a, a)) and after one
    other activity ("two-step": a -> b -> a, ``activities`` (a, b, a)), with ``count``
    (times seen) and ``cases`` (cases with it). Sorted by count (largest first)."""
    log = event_table(
        events, case=case, activity=activity, timestamp=timestamp, end=end, order=order
    )
    t = log.table
    w = _in_case_order(t)
    a, b, c = t[ACTIVITY], t[ACTIVITY].lead(1).over(w), t[ACTIVITY].lead(2).over(w)
    marked = t.mutate(
        kind=ibis.cases((a == b, "self"), ((a == c) & (a != b), "two-step"), else_=None),
        via=ibis.cases(((a == c) & (a != b), b), else_=ibis.null("string")),
    )
    found = marked.filter(marked.kind.notnull())
    counted = found.group_by(["kind", ACTIVITY, "via"]).aggregate(
        count=found.count(), cases=found[CASE].nunique()
    )
    frame = _sorted(counted.execute(), ["count", "kind", ACTIVITY, "via"])
    frame["activities"] = [
        (first, first) if pd.isna(via) else (first, via, first)
        for first, via in zip(frame[ACTIVITY], frame["via"])
    ]
    frame = frame[["kind", "activities", "count", "cases"]]
    return _with_left_out(_typed(frame, counts=("count", "cases")), log)


def filter_map(
    edges: pd.DataFrame,
    activities: pd.DataFrame,
    *,
    activity_share: float = 1.0,
    path_share: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A simpler map: the commonest ``activity_share`` of activities (by ``count``, at
    least one), then among the edges between them the commonest ``path_share`` (at least
    one), plus each kept activity's strongest edge in and out, so no kept activity is left
    unconnected that had an edge to another kept one. ``edges`` is a ``directly_follows``
    frame, ``activities`` one with ``activity`` and ``count`` (``activity_stats``)."""
    for name, share in (("activity_share", activity_share), ("path_share", path_share)):
        if not 0 < share <= 1:
            raise UserError(f"{name} is {share}; give a share above 0 and at most 1 (1 = all).")
    ranked = _sorted(activities, ["count", ACTIVITY])
    kept = ranked.head(math.ceil(activity_share * len(ranked)))
    names = set(kept[ACTIVITY])
    between = _sorted(
        edges[edges["source"].isin(names) & edges["target"].isin(names)],
        ["count", "source", "target"],
    )
    chosen = set(between.index[: math.ceil(path_share * len(between))])
    # The strongest edge out of and into each kept activity: the first of its rows in the
    # sorted frame (largest count, then names).
    chosen |= set(between.drop_duplicates("source").index)
    chosen |= set(between.drop_duplicates("target").index)
    kept_edges = between.loc[between.index.isin(chosen)].reset_index(drop=True)
    kept_edges.attrs = dict(edges.attrs)
    kept_activities = kept.reset_index(drop=True)
    kept_activities.attrs = dict(activities.attrs)
    return kept_edges, kept_activities


# --- the expressions the maps share ---------------------------------------------------


def _in_case_order(t: ibis.Table):
    return ibis.window(group_by=t[CASE], order_by=[t[START], t[SEQ]])


def _seconds(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """Seconds from ``earlier`` to ``later`` (float; null if either is)."""
    return later.delta(earlier, unit="microsecond") / _MICROSECONDS


def _steps(t: ibis.Table) -> ibis.Table:
    """Each event beside the next one in its case: ``case``, ``source``, ``target``,
    ``wait_s``; a case's last event has no next one and is not a step."""
    w = _in_case_order(t)
    paired = t.mutate(target=t[ACTIVITY].lead().over(w), next_start=t[START].lead().over(w))
    steps = paired.filter(paired.target.notnull())
    wait = _seconds(steps.next_start, steps[END].coalesce(steps[START]))
    return steps.select(
        CASE,
        source=steps[ACTIVITY],
        target=steps.target,
        wait_s=ibis.greatest(wait, 0.0),
    )


def _traces(t: ibis.Table, activity: str) -> ibis.Table:
    """One row per case: ``trace`` (its ``activity`` values in order, an array) and
    ``lead_time_s``. Sorting structs of (start, seq, activity) orders by time, then source
    order, without a window; collect() alone has no order on Spark."""
    ordered = ibis.struct({"start": t[START], "seq": t[SEQ], "activity": t[activity]})
    return t.group_by(CASE).aggregate(
        trace=ordered.collect().sort().map(lambda event: event.activity),
        lead_time_s=_seconds(t[END].coalesce(t[START]).max(), t[START].min()),
    )


def _named(traces: pa.ChunkedArray, names: list[str]) -> list[tuple[str, ...]]:
    """Arrays of activity codes as tuples of their names (cheaper here than in the
    engine, which would look each code up in a literal array row by row)."""
    lists = traces.combine_chunks()
    codes = lists.flatten().to_numpy(zero_copy_only=False)
    labels = np.asarray(names, dtype=object)[codes].tolist()
    offsets = lists.offsets.to_numpy().tolist()
    return [tuple(labels[a:b]) for a, b in itertools.pairwise(offsets)]


def _ends_of_cases(t: ibis.Table, *, first: bool) -> pd.DataFrame:
    """How many cases begin (``first``) or end with each activity, and their share."""
    place = ibis.struct({"start": t[START], "seq": t[SEQ]})
    pick = t[ACTIVITY].argmin(place) if first else t[ACTIVITY].argmax(place)
    ends = t.group_by(CASE).aggregate(activity=pick)
    counted = ends.group_by(ACTIVITY).aggregate(count=ends.count())
    frame = _sorted(counted.execute(), ["count", ACTIVITY])
    total = frame["count"].sum()
    frame["share"] = (frame["count"] / total if total else frame["count"]).astype("float64")
    return _typed(frame, counts=("count",))


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``frame`` by its first column largest first, then the others ascending (missing
    last): the same order whichever engine computed it."""
    ascending = [False] + [True] * (len(by) - 1)
    return frame.sort_values(by, ascending=ascending, kind="stable").reset_index(drop=True)


def _typed(frame: pd.DataFrame, *, counts: tuple[str, ...]) -> pd.DataFrame:
    """Counts as int64 and seconds as float64 whatever the engine handed back."""
    types = dict.fromkeys(counts, "int64")
    types |= {c: "float64" for c in frame.columns if c.endswith("_s") or c == "share"}
    return frame.astype(types)


def _with_left_out(frame: pd.DataFrame, log: Events) -> pd.DataFrame:
    frame.attrs["left_out"] = log.left_out
    return frame
