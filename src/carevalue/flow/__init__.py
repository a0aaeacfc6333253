"""Patient flow: activity and value stream maps drawn from event data.

The face of the flow stage. Every function takes an event log (a pandas frame, an Ibis
table or ``Events``) and names its case, activity and timestamp columns; the work is done
by Ibis window functions, so the same code runs on DuckDB and on Spark.

- maps: ``directly_follows``, ``variants``, ``start_activities``, ``end_activities``,
  ``activity_stats``, ``loops``, ``filter_map``; ``process_map`` the first four at once;
- value streams: ``case_times``, ``value_stream``, ``interval_times``,
  ``interval_summary``, ``rework_cases``, ``first_pass_yield``, ``bottlenecks``;
- the run's flow stage: ``run_flow_stage`` writes ``flow_events``, ``flow_edges`` and
  ``flow_variants`` (``FLOW_TABLES``); ``EVENT_COLUMNS`` names the run's event columns.
"""

from carevalue.flow.event_table import Events, event_table
from carevalue.flow.flow_stage import (
    EVENT_COLUMNS,
    FLOW_TABLES,
    VARIANT_SEPARATOR,
    FlowResult,
    pathway_events,
    run_flow_stage,
)
from carevalue.flow.maps import (
    ProcessMap,
    activity_stats,
    directly_follows,
    end_activities,
    filter_map,
    loops,
    process_map,
    start_activities,
    variants,
)
from carevalue.flow.value_stream import (
    ALL_STAGES,
    FirstPassYield,
    IntervalSummary,
    bottlenecks,
    case_times,
    first_pass_yield,
    interval_summary,
    interval_times,
    rework_cases,
    value_stream,
)

__all__ = [
    "ALL_STAGES",
    "EVENT_COLUMNS",
    "FLOW_TABLES",
    "VARIANT_SEPARATOR",
    "Events",
    "FirstPassYield",
    "FlowResult",
    "IntervalSummary",
    "ProcessMap",
    "activity_stats",
    "bottlenecks",
    "case_times",
    "directly_follows",
    "end_activities",
    "event_table",
    "filter_map",
    "first_pass_yield",
    "interval_summary",
    "interval_times",
    "loops",
    "pathway_events",
    "process_map",
    "rework_cases",
    "run_flow_stage",
    "start_activities",
    "value_stream",
    "variants",
]
