"""``carevalue run``: build every stage that exists into a new, immutable run.

A run writes its tables under its own names (``episodes__<run_id>``…), records itself in
``runs`` and only then points the plain names (``episodes``…) at them, all in one
transaction where the engine has them. A failed or killed run therefore leaves the
previous run serving. The last ``KEEP_RUNS`` runs are kept; older ones are dropped.

One run at a time builds on a warehouse (``foundation.run_lock``): a second stops with a
plain sentence. A run's scratch tables and views carry its own prefix (``RunContext``)
and are dropped when it ends, failed or not; ones a killed run left are dropped by the
next run.

Once the views are switched, and still under the lock, the caller's ``publish`` (the command
line's snapshot publisher, ``carevalue.snapshots``, which sits after this module) writes the
run out for the web app, so two runs never publish at once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from carevalue.conditions import shipped_conditions
from carevalue.costing import (
    COSTING_TABLES,
    CostingRules,
    CostingSummary,
    check_cost_source,
    run_costing_stage,
)
from carevalue.errors import UserError
from carevalue.flow import FLOW_TABLES, run_flow_stage
from carevalue.foundation.run_context import RunContext, drop_stale_scratch
from carevalue.foundation.run_lock import run_lock
from carevalue.foundation.tables import align_columns, stack, union_schema
from carevalue.outcomes import OUTCOME_TABLES, run_outcomes_stage
from carevalue.packs.model import ConditionPack
from carevalue.pathways import FEEDS_NEEDED, build_episodes, data_span, feed_tables, prepare_tables
from carevalue.value import CHART_TABLES, VALUE_TABLES, OutcomeSummary, run_value_stage, summarise
from carevalue.warehouse import (
    atomic,
    publish_views,
    replace_table,
    table_or_none,
    warehouse_table,
)

RUNS_TABLE = "runs"
RESULT_TABLES = ("episodes", "episode_activities")
# Every table a run writes as <name>__<run id>, its plain name a view of the current run's.
RUN_TABLES = (
    RESULT_TABLES + COSTING_TABLES + OUTCOME_TABLES + VALUE_TABLES + CHART_TABLES + FLOW_TABLES
)
KEEP_RUNS = 3
SERVICE_CHANGES_TABLE = "service_changes"


@dataclass(frozen=True)
class PackEpisodes:
    """One pack's episodes in the run, and its activities by stage (the pack's stages in
    order, then ``other``)."""

    condition: str
    episodes: int
    activities_by_stage: dict[str, int]


@dataclass
class RunReport:
    """What ``carevalue run`` built: its episodes per pack, the costing and outcome
    summaries (None when the run had none), and seconds per stage (pack ids, ``costing``,
    ``outcomes``, ``charts``)."""

    run_id: str
    packs: dict[str, PackEpisodes] = field(default_factory=dict)
    costing: CostingSummary | None = None
    outcomes: OutcomeSummary | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def episodes(self) -> dict[str, int]:
        return {condition: p.episodes for condition, p in self.packs.items()}

    @property
    def stages(self) -> dict[str, dict[str, int]]:
        return {condition: p.activities_by_stage for condition, p in self.packs.items()}


def run_pipeline(
    con: BaseBackend,
    packs: list[ConditionPack],
    costing_rules: CostingRules | None = None,
    *,
    imported_costs: bool = False,
    conditions_folder: Path = shipped_conditions(),
    publish: Callable[[BaseBackend, str], object] | None = None,
) -> RunReport:
    """Build every stage into a new run. Costs come from ``costing_rules`` (PLICS
    allocation of the ledger) or, with ``imported_costs``, from the trust's own per-activity
    costs loaded by ``carevalue costing import``; never both. ``publish(con, run_id)`` is
    called once the run is complete and serving, still under the run lock."""
    check_cost_source(costing_rules, imported_costs)
    missing = [name for name in FEEDS_NEEDED if name not in con.list_tables()]
    if missing:
        raise UserError(
            f"The warehouse has no {missing[0]} table yet; load an extract first with "
            "'carevalue ingest FOLDER' (or run 'carevalue demo')."
        )
    if not packs:
        raise UserError(
            "No condition packs to run; check the conditions folder with 'carevalue validate'."
        )
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ_") + uuid.uuid4().hex[:6]
    with run_lock(con) as lock:
        ctx = RunContext(con, run_id)
        if lock is not None:
            drop_stale_scratch(con)
        try:
            report = _build_and_publish(
                ctx, packs, costing_rules, imported_costs, conditions_folder
            )
        finally:
            ctx.drop_scratch()
        _drop_old_runs(con)
        if publish is not None:
            publish(con, run_id)
    return report


def _build_and_publish(
    ctx: RunContext,
    packs: list[ConditionPack],
    costing_rules: CostingRules | None,
    imported_costs: bool,
    conditions_folder: Path,
) -> RunReport:
    """Every stage in order into the run's own tables, then the run recorded and the views
    switched, together."""
    con, run_id = ctx.con, ctx.run_id
    report = RunReport(run_id=run_id)
    tables = feed_tables(con, FEEDS_NEEDED)
    span = data_span(tables)
    tables = prepare_tables(ctx, tables)
    started = datetime.now(UTC).replace(tzinfo=None)

    built: dict[str, list[ibis.Table]] = {name: [] for name in RESULT_TABLES}
    for pack in packs:
        clock = time.perf_counter()
        episodes, activities = build_episodes(ctx, tables, pack, span)  # episodes come materialised
        activities = ctx.scratch_table(f"{pack.id}_activities", activities)
        built["episodes"].append(episodes)
        built["episode_activities"].append(activities)
        counts = activities.group_by("stage").aggregate(n=activities.count()).execute()
        order = [s.id for s in pack.stages] + ["other"]
        found = dict(zip(counts["stage"], counts["n"], strict=True))
        report.packs[pack.id] = PackEpisodes(
            condition=pack.id,
            episodes=int(episodes.count().execute()),
            activities_by_stage={stage: int(found.get(stage, 0)) for stage in order},
        )
        report.seconds[pack.id] = round(time.perf_counter() - clock, 2)

    costing = run_costing_stage(
        ctx,
        stack(built["episode_activities"]),
        packs,
        costing_rules,
        imported=imported_costs,
        conditions_folder=conditions_folder,
    )
    report.costing = costing.summary
    if costing.seconds is not None:
        report.seconds["costing"] = costing.seconds
    outcome_tables = _outcomes_and_value(
        ctx, tables, packs, built, costing.stage_costs(), span, report
    )
    by_pack = dict(zip([p.id for p in packs], built["episode_activities"], strict=True))
    flow = run_flow_stage(ctx, by_pack, packs)
    report.seconds["flow"] = flow.seconds
    names = RESULT_TABLES + tuple(costing.tables) + tuple(outcome_tables) + tuple(flow.tables)
    with atomic(con):
        for name, parts in built.items():
            con.create_table(f"{name}__{run_id}", stack(parts), overwrite=True)
        for name, expr in costing.tables.items():
            con.create_table(f"{name}__{run_id}", expr, overwrite=True)
        for name, frame in outcome_tables.items():
            con.create_table(f"{name}__{run_id}", warehouse_table(frame), overwrite=True)
        for name, part in flow.tables.items():
            made = part if isinstance(part, ibis.Table) else warehouse_table(part)
            con.create_table(f"{name}__{run_id}", made, overwrite=True)
        _record_run(con, run_id, started, packs, span, report)
        publish_views(con, {name: f"{name}__{run_id}" for name in names})
    return report


def _outcomes_and_value(
    ctx, tables, packs, built, stage_costs, span, report: RunReport
) -> dict[str, pd.DataFrame]:
    """Outcomes, risk models, value per episode, the metric series and their charts."""
    clock = time.perf_counter()
    if "prom_responses" in ctx.con.list_tables():
        tables = {**tables, "prom_responses": ctx.con.table("prom_responses")}
    episodes = dict(zip([p.id for p in packs], built["episodes"], strict=True))
    outcomes = run_outcomes_stage(ctx, tables, packs, episodes, span.last)
    value = run_value_stage(packs, outcomes, stage_costs, _service_changes(ctx.con))
    report.outcomes = summarise(outcomes, value)
    report.seconds["outcomes"] = round(time.perf_counter() - clock - value.seconds["charts"], 2)
    report.seconds["charts"] = value.seconds["charts"]
    return {**outcomes.tables, **value.tables}


def record_service_changes(con: BaseBackend, changes: pd.DataFrame) -> None:
    """Replace the recorded service changes (condition, change_date, description, optional
    segment); the next run's SPC charts start a new baseline at each."""
    replace_table(con, SERVICE_CHANGES_TABLE, ibis.memtable(changes))


def _service_changes(con) -> pd.DataFrame | None:
    """Service changes teams have recorded (condition, change_date, description, optional
    segment): the SPC charts start a new baseline at each."""
    table = table_or_none(con, SERVICE_CHANGES_TABLE)
    return None if table is None else table.to_pandas()


def _record_run(con, run_id, started, packs, span, report: RunReport) -> None:
    row = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "started_at": started,
                "finished_at": datetime.now(UTC).replace(tzinfo=None),
                "packs": json.dumps({p.id: p.governance.version for p in packs}),
                "data_first_date": str(span.first),
                "data_last_date": str(span.last),
                "episodes": json.dumps(report.episodes),
                "seconds": json.dumps(report.seconds),
                "costing": json.dumps({} if report.costing is None else report.costing.as_json()),
                "outcomes": json.dumps(
                    {} if report.outcomes is None else report.outcomes.as_json()
                ),
            }
        ]
    )
    new = ibis.memtable(row)
    existing = table_or_none(con, RUNS_TABLE)
    if existing is not None:
        schema = union_schema(existing.schema(), new.schema())
        new = align_columns(existing, schema).union(align_columns(new, schema))
    replace_table(con, RUNS_TABLE, new)


def current_run_id(con: BaseBackend) -> str | None:
    runs = table_or_none(con, RUNS_TABLE)
    if runs is None:
        return None
    latest = runs.order_by(ibis.desc("finished_at")).limit(1).execute()
    return None if latest.empty else str(latest["run_id"][0])


def _drop_old_runs(con: BaseBackend) -> None:
    runs = con.table(RUNS_TABLE).order_by(ibis.desc("finished_at")).execute()["run_id"].tolist()
    for old in runs[KEEP_RUNS:]:
        for name in RUN_TABLES:
            # force, not a look-up: Spark lists table names in lower case
            con.drop_table(f"{name}__{old}", force=True)
