"""What the patient-flow pages share: the filtered episodes' events and what carevalue.flow
computes from them, cached per (run, condition, filters), and how waits read.

The run publishes ``flow_events`` (one row per activity on a condition's pathway, labelled
by its pack); a page keeps the rows of the episodes its filters keep and hands them to
carevalue.flow (a pandas frame becomes an Ibis memtable run by DuckDB). The process map,
the variants and the value stream of the same filters share one ``Flow``, so changing the
map's frequency filter or opening an edge never recomputes the map; the page cache keeps
each built page as it keeps the others.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from functools import cached_property

import numpy as np
import pandas as pd

from carevalue import flow
from carevalue.reports import display
from carevalue.web.pages import PageContext

EVENTS = "flow_events"
SECTION = "Patient flow"
CASE, ACTIVITY, START, END, ORDER = (
    flow.EVENT_COLUMNS[k] for k in ("case", "activity", "timestamp", "end", "order")
)
STAGE = "stage"

# Readable bands for a distribution of waits, from minutes to months: [lower, upper).
HOUR, DAY = 3600.0, 86400.0
WAIT_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "under 15 min"),
    (15 * 60.0, "15 to 30 min"),
    (30 * 60.0, "30 min to 1 hour"),
    (HOUR, "1 to 2 hours"),
    (2 * HOUR, "2 to 4 hours"),
    (4 * HOUR, "4 to 8 hours"),
    (8 * HOUR, "8 to 24 hours"),
    (DAY, "1 to 2 days"),
    (2 * DAY, "2 to 4 days"),
    (4 * DAY, "4 to 7 days"),
    (7 * DAY, "1 to 2 weeks"),
    (14 * DAY, "2 weeks to 30 days"),
    (30 * DAY, "30 to 90 days"),
    (90 * DAY, "90 days or more"),
)

# The colour of an edge on the map by its median wait: viridis from its dark end to where
# it still has 3:1 contrast on white (WCAG 1.4.11), so every class is visible, ordered by
# lightness and safe for the common colour-vision deficiencies. Each edge's label carries
# its median wait as text too, so no reading rests on colour alone.
WAIT_CLASSES: tuple[tuple[float, str, str], ...] = (
    (0.0, "under 1 hour", "#1f9e89"),
    (HOUR, "1 to 4 hours", "#26828e"),
    (4 * HOUR, "4 to 24 hours", "#31688e"),
    (DAY, "1 to 7 days", "#3e4989"),
    (7 * DAY, "7 days or more", "#440154"),
)
SUPPRESSED_COLOUR = "#768692"  # NHS mid grey, drawn dashed: too few to report

# One engine connection serves every thread of a worker (Ibis' default DuckDB backend), and
# a DuckDB connection is not for concurrent use: flow computations take turns. Each runs
# once per run, condition and filters (cached), so the queue is short.
_ENGINE = threading.Lock()
_CACHE: OrderedDict[Hashable, Flow] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 32


def duration(seconds) -> str:
    """A time in the unit a person would use: minutes under 90 minutes, hours under two
    days, days beyond; blank when missing (disclosure then says why)."""
    if display.missing(seconds):
        return ""
    seconds = float(seconds)
    if seconds <= 0:
        return "0 min"
    if seconds < 60:
        return "under 1 min"
    if seconds < 90 * 60:
        return f"{round(seconds / 60):,} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:,.1f} hours"
    return f"{seconds / DAY:,.1f} days"


def wait_band(seconds: float) -> int:
    """The position in WAIT_BANDS of a wait in seconds."""
    lowers = [lower for lower, _ in WAIT_BANDS]
    return max(0, int(np.searchsorted(lowers, float(seconds), side="right")) - 1)


def wait_class(seconds) -> int | None:
    if display.missing(seconds):
        return None
    lowers = [lower for lower, _, _ in WAIT_CLASSES]
    return max(0, int(np.searchsorted(lowers, float(seconds), side="right")) - 1)


def band_counts(waits: pd.Series) -> list[int]:
    """How many of ``waits`` (seconds) fall in each band of WAIT_BANDS."""
    lowers = np.array([lower for lower, _ in WAIT_BANDS])
    places = np.searchsorted(lowers, waits.to_numpy(dtype="float64"), side="right") - 1
    return np.bincount(np.clip(places, 0, len(lowers) - 1), minlength=len(lowers)).tolist()


def share_option(ctx: PageContext, name: str, default: int, allowed: tuple[int, ...]) -> int:
    """A percentage option of the page's address, one of ``allowed`` (else ``default``)."""
    try:
        value = int(ctx.options.get(name, default))
    except ValueError:
        return default
    return value if value in allowed else default


class Flow:
    """One filtered event log and the maps of it, each computed once when first read."""

    def __init__(self, events: pd.DataFrame, pack, failed: frozenset[str] = frozenset()) -> None:
        self.frame = events
        self.pack = pack
        self.failed = failed  # episodes readmitted or re-operated: not a first pass
        self._intervals: dict[tuple[str, str], pd.DataFrame] = {}

    @property
    def empty(self) -> bool:
        return self.frame.empty

    @cached_property
    def events(self) -> flow.Events:
        with _ENGINE:
            log = flow.event_table(
                self.frame[[CASE, ACTIVITY, START, END, ORDER, STAGE]],
                case=CASE,
                activity=ACTIVITY,
                timestamp=START,
                end=END,
                order=ORDER,
                keep=(STAGE,),
            )
            log.left_out  # noqa: B018 - counted now, under the lock
            return log

    def _run(self, function, **arguments):
        log = self.events
        with _ENGINE:
            return function(log, **arguments)

    @cached_property
    def _map(self) -> flow.ProcessMap:
        return self._run(flow.process_map)

    @cached_property
    def edges(self) -> pd.DataFrame:
        return self._map.edges

    @cached_property
    def activities(self) -> pd.DataFrame:
        return self._run(flow.activity_stats)

    @cached_property
    def starts(self) -> pd.DataFrame:
        return self._map.start_activities

    @cached_property
    def ends(self) -> pd.DataFrame:
        return self._map.end_activities

    @cached_property
    def variants(self) -> pd.DataFrame:
        return self._map.variants

    @cached_property
    def cases(self) -> int:
        """Episodes with at least one event on the map."""
        placed = self.frame[self.frame[START].notna() & self.frame[ACTIVITY].notna()]
        return int(placed[CASE].nunique())

    @cached_property
    def transitions(self) -> pd.DataFrame:
        """Every step from one event to the next in its episode: ``episode_id``, ``source``,
        ``target``, ``wait_s`` — the rows behind each edge of ``edges`` (same order within
        an episode, (start, seq), and the same wait, floored at 0 where events overlap)."""
        log = self.frame[self.frame[START].notna() & self.frame[ACTIVITY].notna()]
        log = log.sort_values([CASE, START, ORDER], kind="stable")
        following = log.groupby(CASE, sort=False)[[ACTIVITY, START]].shift(-1)
        left = log[END].where(log[END].notna(), log[START])
        wait = (following[START] - left).dt.total_seconds().clip(lower=0.0)
        steps = pd.DataFrame(
            {
                CASE: log[CASE].astype(str),
                "source": log[ACTIVITY].astype(str),
                "target": following[ACTIVITY],
                "wait_s": wait.astype("float64"),
                "at": following[START],
            }
        )
        return steps[steps["target"].notna()].reset_index(drop=True)

    @cached_property
    def value_stream(self) -> pd.DataFrame:
        stages = [stage.id for stage in self.pack.stages]
        return self._run(
            flow.value_stream,
            stage=STAGE,
            stages=stages,
            value_adding=self.pack.flow.value_adding,
            stays=self.pack.flow.stays,
        )

    def interval_times(self, from_activity: str, to_activity: str) -> pd.DataFrame:
        key = (from_activity, to_activity)
        found = self._intervals.get(key)
        if found is None:
            found = self._run(
                flow.interval_times, from_activity=from_activity, to_activity=to_activity
            )
            self._intervals[key] = found
        return found

    @cached_property
    def first_pass_yield(self) -> flow.FirstPassYield:
        return self._run(
            flow.first_pass_yield, routine=self.pack.flow.routine, failed_cases=self.failed
        )


# Outcome kinds that mean the pathway did not work first time: the patient came back.
FAILURE_KINDS = ("readmission_within", "reoperation_within")


def failure_outcomes(pack) -> list:
    """The pack's outcomes whose measured 1 means the episode was not a first pass."""
    return [o for o in pack.outcomes if o.kind in FAILURE_KINDS]


def failed_episodes(ctx: PageContext) -> frozenset[str]:
    """Episodes with a measured readmission or re-operation outcome of 1."""
    ids = [o.id for o in failure_outcomes(ctx.pack)]
    if not ids or not ctx.snapshot.has("episode_outcomes"):
        return frozenset()
    outcomes = ctx.table("episode_outcomes")
    hit = outcomes[
        outcomes["outcome_id"].isin(ids)
        & (outcomes["status"] == "measured")
        & (outcomes["value"] >= 1)
    ]
    return frozenset(hit["episode_id"].astype(str))


def routine_shown(ctx: PageContext, default: str) -> bool:
    """Whether the page shows the pack's routine activities (its ``routine`` option, "show"
    or "hide"); always when the pack calls none routine."""
    if not ctx.pack.flow.routine:
        return True
    choice = ctx.options.get("routine", default)
    return (choice if choice in ("show", "hide") else default) == "show"


def flow_for(ctx: PageContext, *, routine: bool = True) -> Flow | None:
    """The flow of the episodes ctx's filters keep, without the pack's routine activities
    unless ``routine``; None when the run has no flow events (a run made before the flow
    stage)."""
    if not ctx.snapshot.has(EVENTS):
        return None
    key = (ctx.run_id, ctx.condition, ctx.filters, routine)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    events = ctx.table(EVENTS)
    if not events.empty and ctx.filters.active():
        events = events[events[CASE].isin(ctx.episodes["episode_id"])]
    elif events.empty:
        events = pd.DataFrame(columns=[CASE, ACTIVITY, START, END, ORDER, STAGE])
    if not routine and ctx.pack.flow.routine:
        # repeated by design (therapy sessions, bloods): left out, every episode would be a
        # path of its own and the map a thicket; the waits then run to the next other one
        events = events[~events[ACTIVITY].isin(ctx.pack.flow.routine)]
    made = Flow(events.reset_index(drop=True), ctx.pack, failed_episodes(ctx))
    with _CACHE_LOCK:
        _CACHE[key] = made
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return made


def clear() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def no_flow_message(ctx: PageContext, found: Flow | None) -> str | None:
    """Why there is nothing to draw, in one sentence, or None when there is."""
    if found is None:
        return (
            f"Run {ctx.run_id} has no patient flow events (it was made before CareValue "
            "drew process maps): the next `carevalue run` adds them."
        )
    if ctx.episodes.empty:
        return "No episodes match these filters, so there is no patient flow to show."
    if found.empty:
        return (
            "None of the episodes these filters keep has an activity on the pathway, so "
            "there is no patient flow to show."
        )
    return None
