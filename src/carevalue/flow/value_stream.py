"""Value stream metrics: where a pathway's time goes, and how much of it adds value.

Definitions (docs/flow.md states them for users):

- lead time: from the first event's start to the last event's end (or its start, for a
  point event), per case, and per stage over that stage's events only;
- processing time: the time covered by at least one activity that has both a start and an
  end, overlaps counted once, leaving out the pack's ``stays`` (a ward stay is where the
  patient waits between the things done for them, not work);
- waiting time: lead time minus processing time;
- value-added time: the time covered by the pack's value-adding activities;
- process cycle efficiency (PCE): value-added time over lead time, summed over cases
  (a ratio of totals, so long pathways weigh more than short ones, as in lean practice);
- first-pass yield: the share of cases with no rework (an activity repeated in the case
  that the pack does not call routine) and not in ``failed_cases`` (readmitted, say).

All per-case work is Ibis (windows for the overlap-merging), so it runs where the events are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from carevalue.flow.event_table import ACTIVITY, CASE, END, START, event_table

ALL_STAGES = "all"


def _events(events, case, activity, timestamp, end, order, keep=()) -> ibis.Table:
    return event_table(
        events,
        case=case,
        activity=activity,
        timestamp=timestamp,
        end=end,
        order=order,
        keep=keep,
    ).table


def _seconds(later, earlier):
    return later.epoch_seconds().cast("float64") - earlier.epoch_seconds().cast("float64")


def _covered_seconds(t: ibis.Table, keys: Sequence[str], name: str) -> ibis.Table:
    """Per ``keys``, the seconds covered by the union of the rows' [start, end] intervals."""
    t = t.filter(t[END].notnull() & (t[END] > t[START]))
    before = ibis.window(group_by=list(keys), order_by=[t[START], t[END]], rows=(None, -1))
    upto = ibis.window(group_by=list(keys), order_by=[t[START], t[END]], rows=(None, 0))
    t = t.mutate(reach=t[END].max().over(before))
    t = t.mutate(opens=(t.reach.isnull() | (t[START] > t.reach)).cast("int64"))
    t = t.mutate(island=t.opens.sum().over(upto))
    islands = t.group_by([*keys, "island"]).aggregate(span=_seconds(t[END].max(), t[START].min()))
    return islands.group_by(list(keys)).aggregate(**{name: islands.span.sum()})


def case_times(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
    stage: str | None = None,
    value_adding: Iterable[str] = (),
    stays: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per case (per case and stage when ``stage`` names a column): ``case``,
    [``stage``], ``events``, ``lead_time_s``, ``processing_s``, ``waiting_s``,
    ``value_added_s``."""
    t = _events(events, case, activity, timestamp, end, order, keep=(stage,) if stage else ())
    keys = [CASE, stage] if stage else [CASE]
    finish = t[END].fill_null(t[START])
    base = t.group_by(keys).aggregate(
        events=t.count(), lead_time_s=_seconds(finish.max(), t[START].min())
    )
    stays, value_adding = list(stays), list(value_adding)
    work = t.filter(~t[ACTIVITY].isin(stays)) if stays else t
    processing = _covered_seconds(work, keys, "processing_s")
    valued = _covered_seconds(
        t.filter(t[ACTIVITY].isin(value_adding or [""])), keys, "value_added_s"
    )
    out = base.left_join(processing, keys).drop(*[f"{k}_right" for k in keys])
    out = out.left_join(valued, keys).drop(*[f"{k}_right" for k in keys])
    frame = out.execute()
    for column in ("processing_s", "value_added_s"):
        frame[column] = frame[column].fillna(0.0).astype(float)
    frame["lead_time_s"] = frame["lead_time_s"].astype(float)
    frame["waiting_s"] = (frame["lead_time_s"] - frame["processing_s"]).clip(lower=0.0)
    columns = [*keys, "events", "lead_time_s", "processing_s", "waiting_s", "value_added_s"]
    return frame[columns].sort_values(keys).reset_index(drop=True)


def value_stream(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
    stage: str | None = None,
    value_adding: Iterable[str] = (),
    stays: Iterable[str] = (),
    stages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per stage (in ``stages`` order where given) and a last ``all`` row for the
    whole case: ``stage``, ``cases``, ``median_lead_time_s``, ``p90_lead_time_s``,
    ``median_processing_s``, ``median_waiting_s``, ``total_lead_time_s``,
    ``total_processing_s``, ``total_waiting_s``, ``total_value_added_s``, ``pce``."""
    common = {
        "case": case,
        "activity": activity,
        "timestamp": timestamp,
        "end": end,
        "order": order,
        "value_adding": tuple(value_adding),
        "stays": tuple(stays),
    }
    rows = []
    if stage:
        per_stage = case_times(events, stage=stage, **common)
        found = list(dict.fromkeys(per_stage[stage]))
        ordered = [s for s in (stages or ()) if s in found] + [
            s for s in found if s not in (stages or ())
        ]
        for name in ordered:
            rows.append(_summary(name, per_stage[per_stage[stage] == name]))
    rows.append(_summary(ALL_STAGES, case_times(events, **common)))
    return pd.DataFrame(rows)


def _summary(stage: str, times: pd.DataFrame) -> dict:
    lead = times["lead_time_s"]
    total_lead = float(lead.sum())
    return {
        "stage": stage,
        "cases": len(times),
        "median_lead_time_s": float(lead.median()) if len(times) else math.nan,
        "p90_lead_time_s": float(lead.quantile(0.9)) if len(times) else math.nan,
        "median_processing_s": float(times["processing_s"].median()) if len(times) else math.nan,
        "median_waiting_s": float(times["waiting_s"].median()) if len(times) else math.nan,
        "total_lead_time_s": total_lead,
        "total_processing_s": float(times["processing_s"].sum()),
        "total_waiting_s": float(times["waiting_s"].sum()),
        "total_value_added_s": float(times["value_added_s"].sum()),
        "pce": float(times["value_added_s"].sum()) / total_lead if total_lead > 0 else math.nan,
    }


def interval_times(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
    from_activity: str,
    to_activity: str,
) -> pd.DataFrame:
    """Per case with both: ``case``, ``seconds`` from its first ``from_activity`` to the
    first ``to_activity`` starting at or after it. Cases without a ``to_activity`` after
    the clock started are counted in ``attrs["not_reached"]``."""
    t = _events(events, case, activity, timestamp, end, order)
    starts = t.filter(t[ACTIVITY] == from_activity).group_by(CASE).aggregate(clock=t[START].min())
    stops = t.filter(t[ACTIVITY] == to_activity).select(CASE, stop=t[START])
    joined = starts.join(stops, CASE)
    reached = (
        joined.filter(joined.stop >= joined.clock)
        .group_by(CASE)
        .aggregate(seconds=_seconds(joined.stop.min(), joined.clock.min()))
    )
    frame = reached.order_by(CASE).execute()
    frame["seconds"] = frame["seconds"].astype(float)
    started = int(starts.count().execute())
    frame.attrs["not_reached"] = started - len(frame)
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class IntervalSummary:
    """How long a key interval took across cases; ``within_target`` is a share, or None
    when no target is set."""

    cases: int
    not_reached: int
    median_s: float
    p90_s: float
    within_target: float | None


def interval_summary(times: pd.DataFrame, target_minutes: float | None = None) -> IntervalSummary:
    seconds = times["seconds"]
    empty = seconds.empty
    return IntervalSummary(
        cases=len(seconds),
        not_reached=int(times.attrs.get("not_reached", 0)),
        median_s=math.nan if empty else float(seconds.median()),
        p90_s=math.nan if empty else float(seconds.quantile(0.9)),
        within_target=(
            None
            if target_minutes is None or empty
            else float((seconds <= target_minutes * 60).mean())
        ),
    )


@dataclass(frozen=True)
class FirstPassYield:
    """``share`` = ``first_pass`` / ``cases``; a case fails on rework, on being in the
    failed cases given, or both (so the two counts may overlap)."""

    cases: int
    first_pass: int
    with_rework: int
    failed: int

    @property
    def share(self) -> float:
        return self.first_pass / self.cases if self.cases else math.nan


def rework_cases(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
    routine: Iterable[str] = (),
) -> set[str]:
    """Cases in which some activity not called routine happens more than once."""
    t = _events(events, case, activity, timestamp, end, order)
    routine = list(routine)
    if routine:
        t = t.filter(~t[ACTIVITY].isin(routine))
    repeats = t.group_by([CASE, ACTIVITY]).aggregate(n=t.count())
    repeated = repeats.filter(repeats.n > 1).select(CASE).distinct()
    return set(repeated.execute()[CASE].astype(str))


def first_pass_yield(
    events,
    *,
    case: str = CASE,
    activity: str = ACTIVITY,
    timestamp: str = START,
    end: str | None = None,
    order: str | None = None,
    routine: Iterable[str] = (),
    failed_cases: Iterable[str] = (),
) -> FirstPassYield:
    t = _events(events, case, activity, timestamp, end, order)
    everyone = set(t.select(CASE).distinct().execute()[CASE].astype(str))
    rework = rework_cases(
        t, case=CASE, activity=ACTIVITY, timestamp=START, end=END, order="seq", routine=routine
    )
    failed = everyone & {str(c) for c in failed_cases}
    return FirstPassYield(
        cases=len(everyone),
        first_pass=len(everyone - rework - failed),
        with_rework=len(rework),
        failed=len(failed),
    )


def bottlenecks(edges: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` transitions of a directly-follows table with the most total waiting
    time: where the pathway's waiting accumulates, however common or rare each wait is."""
    ranked = edges.sort_values(["total_wait_s", "count"], ascending=[False, False])
    return ranked.head(n).reset_index(drop=True)
