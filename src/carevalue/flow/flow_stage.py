"""The flow stage of a run: each pack's episode activities as an event log, and the maps
over all of a condition's episodes.

``flow_events`` is what the web app's flow pages filter and map on request (one row per
activity on the pathway, labelled by the pack); ``flow_edges`` and ``flow_variants`` are
the whole-condition directly-follows graph and variants, kept with the run so a run's maps
can be compared with a later one's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import ibis
import pandas as pd

from carevalue.flow.event_table import event_table
from carevalue.flow.maps import directly_follows, variants
from carevalue.foundation.run_context import RunContext
from carevalue.foundation.tables import stack
from carevalue.packs.model import OTHER_STAGE, ConditionPack

FLOW_TABLES = ("flow_events", "flow_edges", "flow_variants")
# How the run's event log names its columns, for every flow function reading it.
EVENT_COLUMNS = {
    "case": "episode_id",
    "activity": "activity",
    "timestamp": "start_at",
    "end": "end_at",
    "order": "seq",
}
VARIANT_SEPARATOR = " → "


@dataclass(frozen=True)
class FlowResult:
    """``tables``: flow_events (an Ibis table), flow_edges and flow_variants (frames)."""

    tables: dict[str, ibis.Table | pd.DataFrame]
    seconds: float


def pathway_events(episode_activities: ibis.Table, pack: ConditionPack) -> ibis.Table:
    """One pack's episode activities as its event log. ``seq`` orders events that start at
    the same moment by activity id, the same on every engine."""
    a = episode_activities.filter(episode_activities.condition == pack.id)
    if not pack.flow.include_other_stage:
        a = a.filter(a.stage != OTHER_STAGE)
    order = ibis.window(group_by=a.episode_id, order_by=[a.start_at, a.activity_id])
    return a.select(
        "condition",
        "episode_id",
        activity=a.activity_label,
        stage=a.stage,
        start_at=a.start_at,
        end_at=a.end_at,
        seq=ibis.row_number().over(order).cast("int64"),
    )


def run_flow_stage(
    ctx: RunContext, episode_activities: dict[str, ibis.Table], packs: list[ConditionPack]
) -> FlowResult:
    """``episode_activities`` by pack id; the flow tables of the run."""
    clock = time.perf_counter()
    logs = [pathway_events(episode_activities[pack.id], pack) for pack in packs]
    events = ctx.scratch_table("flow_events", stack(logs))
    edges, paths = [], []
    for pack in packs:
        # One event table per pack, so both maps share its count of left-out events (on
        # Spark every query is a job).
        log = event_table(events.filter(events.condition == pack.id), **EVENT_COLUMNS)
        edges.append(directly_follows(log).assign(condition=pack.id))
        found = variants(log).assign(condition=pack.id)
        found["activities"] = [VARIANT_SEPARATOR.join(v) for v in found["activities"]]
        paths.append(found)
    return FlowResult(
        tables={
            "flow_events": events,
            "flow_edges": _first(pd.concat(edges, ignore_index=True), "condition"),
            "flow_variants": _first(pd.concat(paths, ignore_index=True), "condition"),
        },
        seconds=round(time.perf_counter() - clock, 2),
    )


def _first(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame[[column, *[c for c in frame.columns if c != column]]]
