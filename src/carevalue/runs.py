"""``carevalue run``: build every stage that exists into a new, immutable run.

A run writes its tables under its own names (``episodes__<run_id>``…), records itself in
``runs`` and only then points the plain names (``episodes``…) at them, all in one
transaction where the engine has them. A failed or killed run therefore leaves the
previous run serving. The last ``KEEP_RUNS`` runs are kept; older ones are dropped.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from carevalue.conditions import shipped_conditions
from carevalue.costing.compare_methods import tdabc_step_costs
from carevalue.costing.episode_costs import METHOD_TDABC, episode_costs
from carevalue.costing.imported_costs import (
    IMPORTED_TABLE,
    METHOD_IMPORTED,
    imported_activity_costs,
)
from carevalue.costing.plics import AllocationResult, allocate_ledger_to_activities, reconcile
from carevalue.costing.plics_rules import CostingRules
from carevalue.errors import UserError
from carevalue.outcomes.metric_charts import CHART_TABLES, charts_for_run, metric_directions
from carevalue.outcomes.outcomes_stage import OUTCOME_TABLES, run_outcomes_stage
from carevalue.packs.model import ConditionPack
from carevalue.pathways.build_episodes import (
    FEEDS_NEEDED,
    build_episodes,
    data_span,
    prepare_tables,
)
from carevalue.pathways.lazy_tables import feed_tables
from carevalue.sources.merge_feed import align_columns, union_schema
from carevalue.warehouse import atomic, replace_table, scratch_table, table_or_none, warehouse_table

RUNS_TABLE = "runs"
RESULT_TABLES = ("episodes", "episode_activities")
COSTING_TABLES = ("activity_costs", "episode_costs", "cost_quantum", "cost_reconciliation")
KEEP_RUNS = 3
SERVICE_CHANGES_TABLE = "service_changes"


@dataclass
class RunReport:
    run_id: str
    episodes: dict[str, int] = field(default_factory=dict)
    stages: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    costing: dict[str, object] = field(default_factory=dict)
    outcomes: dict[str, object] = field(default_factory=dict)


def run_pipeline(
    con: BaseBackend,
    packs: list[ConditionPack],
    costing_rules: CostingRules | None = None,
    *,
    imported_costs: bool = False,
    conditions_folder: Path = shipped_conditions(),
) -> RunReport:
    """Build every stage into a new run. Costs come from ``costing_rules`` (PLICS
    allocation of the ledger) or, with ``imported_costs``, from the trust's own per-activity
    costs loaded by ``carevalue costing import``; never both."""
    if costing_rules is not None and imported_costs:
        raise UserError("Choose one source of costs: --costing-rules (allocate the ledger) or --imported-costs.")
    missing = [name for name in FEEDS_NEEDED if name not in con.list_tables()]
    if missing:
        raise UserError(
            f"The warehouse has no {missing[0]} table yet; load an extract first with "
            "'carevalue ingest FOLDER' (or run 'carevalue demo')."
        )
    if not packs:
        raise UserError("No condition packs to run; check the conditions folder with 'carevalue validate'.")
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ_") + uuid.uuid4().hex[:6]
    report = RunReport(run_id=run_id)
    tables = feed_tables(con, FEEDS_NEEDED)
    span = data_span(tables)
    tables = prepare_tables(con, tables)
    started = datetime.now(UTC).replace(tzinfo=None)

    built: dict[str, list[ibis.Table]] = {name: [] for name in RESULT_TABLES}
    for pack in packs:
        clock = time.perf_counter()
        episodes, activities = build_episodes(con, tables, pack, span)  # episodes come materialised
        activities = scratch_table(con, f"_carevalue_{pack.id}_activities", activities)
        built["episodes"].append(episodes)
        built["episode_activities"].append(activities)
        report.episodes[pack.id] = int(episodes.count().execute())
        counts = activities.group_by("stage").aggregate(n=activities.count()).execute()
        order = [s.id for s in pack.stages] + ["other"]
        found = dict(zip(counts["stage"], counts["n"], strict=True))
        report.stages[pack.id] = {stage: int(found.get(stage, 0)) for stage in order}
        report.seconds[pack.id] = round(time.perf_counter() - clock, 2)

    costed = {}
    all_activities = stack(built["episode_activities"])
    if costing_rules is not None:
        costed = _cost(con, all_activities, costing_rules, report)
    elif imported_costs:
        costed = _cost_from_imported(con, all_activities, report)
    if costed:
        costed["episode_costs"] = _with_tdabc_rows(con, costed["episode_costs"], all_activities, packs, conditions_folder)
    outcome_tables = _outcomes(con, tables, packs, built, costed, span, report)
    names = RESULT_TABLES + tuple(costed) + tuple(outcome_tables)
    with atomic(con):
        for name, parts in built.items():
            con.create_table(f"{name}__{run_id}", stack(parts), overwrite=True)
        for name, expr in costed.items():
            con.create_table(f"{name}__{run_id}", expr, overwrite=True)
        for name, frame in outcome_tables.items():
            con.create_table(f"{name}__{run_id}", warehouse_table(frame), overwrite=True)
        _record_run(con, run_id, started, packs, span, report)
        for name in names:
            con.create_view(name, con.table(f"{name}__{run_id}"), overwrite=True)
    _drop_old_runs(con)
    return report


def _outcomes(con, tables, packs, built, costed, span, report: RunReport) -> dict[str, pd.DataFrame]:
    """Outcomes, risk models, value per episode and the metric series for every pack."""
    clock = time.perf_counter()
    stage_costs = None
    if "episode_costs" in costed:
        costs = costed["episode_costs"]
        # One method per report: the top-down (or imported) rows, not the TDABC ones beside them.
        costs = costs.filter(costs.method != METHOD_TDABC)
        stage_costs = costs.group_by(["episode_id", "stage"]).aggregate(amount=costs.amount.sum()).execute()
    if "prom_responses" in con.list_tables():
        tables = {**tables, "prom_responses": con.table("prom_responses")}
    episodes = dict(zip([p.id for p in packs], built["episodes"], strict=True))
    result = run_outcomes_stage(con, tables, packs, episodes, stage_costs, span.last)
    report.outcomes = {
        "models": [
            {k: m[k] for k in ("condition", "outcome_id", "family", "fitted", "reason", "n", "events", "c_statistic")}
            for m in result.models
        ],
        "scores_left_blank": result.blank_scores,
        "measured": {
            condition: int(((frame["status"] == "measured")).sum())
            for condition, frame in result.tables["episode_outcomes"].groupby("condition")
        },
    }
    series = result.tables["metric_series"]
    overall = series[(series["period_type"] == "all") & (series["segment_type"] == "all")]
    report.outcomes["headline"] = {
        condition: [
            {"metric": r.metric, "label": r.label, "kind": r.metric_kind, "value": None if pd.isna(r.value) else float(r.value),
             "lower": None if pd.isna(r.lower) else float(r.lower), "upper": None if pd.isna(r.upper) else float(r.upper),
             "n_used": int(r.n_used), "note": None if pd.isna(r.note) else str(r.note)}
            for r in rows.itertuples()
        ]
        for condition, rows in overall.groupby("condition")
    }
    report.seconds["outcomes"] = round(time.perf_counter() - clock, 2)
    clock = time.perf_counter()
    charts = charts_for_run(series, _service_changes(con), metric_directions(packs))
    report.seconds["charts"] = round(time.perf_counter() - clock, 2)
    icons = charts["metric_spc_icons"]
    overall = icons[(icons["segment_type"] == "all") & icons["charted"]]
    report.outcomes["spc"] = {
        condition: {str(k): int(v) for k, v in rows["variation"].value_counts().items()}
        for condition, rows in overall.groupby("condition")
    }
    return {**result.tables, **charts}


def _service_changes(con) -> pd.DataFrame | None:
    """Service changes teams have recorded (condition, change_date, description, optional
    segment): the SPC charts start a new baseline at each."""
    table = table_or_none(con, SERVICE_CHANGES_TABLE)
    return None if table is None else table.to_pandas()


def stack(parts: list[ibis.Table]) -> ibis.Table:
    """One table from the per-pack results; columns one pack lacks (its own case-mix
    fields) are null for the others."""
    schema = union_schema(*[p.schema() for p in parts])
    return ibis.union(*[align_columns(p, schema) for p in parts])


def _cost(con, episode_activities: ibis.Table, rules: CostingRules, report: RunReport) -> dict[str, ibis.Table]:
    """Allocate the ledger (PLICS), refuse to publish if it does not reconcile, and split
    activity costs over episodes."""
    clock = time.perf_counter()
    result = allocate_ledger_to_activities(con.table("ledger"), con.table("activities"), rules)
    activity_costs = scratch_table(con, "_carevalue_activity_costs", result.activity_costs)
    quantum = scratch_table(con, "_carevalue_cost_quantum", result.quantum)
    reconciliation = scratch_table(con, "_carevalue_cost_reconciliation", result.reconciliation)
    problems = reconcile(AllocationResult(quantum, activity_costs, reconciliation))
    if problems:
        more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise UserError(f"Costing did not reconcile, so the run was not published: {problems[0]}{more}")
    costs = scratch_table(con, "_carevalue_episode_costs", episode_costs(episode_activities, activity_costs))
    totals = quantum.aggregate(quantum=quantum.amount.sum(where=quantum.in_quantum)).execute()
    allocated = activity_costs.amount.sum().execute()
    report.costing = {
        "source": "plics",
        "rules_version": rules.rules_version,
        "cost_quantum": float(totals["quantum"][0]),
        "allocated_to_activities": float(allocated),
        "in_episodes": float(costs.amount.sum().execute()),
        "by_condition": {
            row.condition: {"episodes": int(row.episodes), "mean_cost": float(row.mean_cost)}
            for row in _mean_cost_per_episode(costs).execute().itertuples()
        },
    }
    report.seconds["costing"] = round(time.perf_counter() - clock, 2)
    return {
        "activity_costs": activity_costs,
        "episode_costs": costs,
        "cost_quantum": quantum,
        "cost_reconciliation": reconciliation,
    }


def _cost_from_imported(con, episode_activities: ibis.Table, report: RunReport) -> dict[str, ibis.Table]:
    if IMPORTED_TABLE not in con.list_tables():
        raise UserError(
            "There are no imported activity costs in this warehouse; load them with "
            "'carevalue costing import FOLDER' first."
        )
    activity_costs = imported_activity_costs(con.table(IMPORTED_TABLE))
    costs = scratch_table(
        con, "_carevalue_episode_costs", episode_costs(episode_activities, activity_costs, METHOD_IMPORTED)
    )
    report.costing = {
        "source": "imported",
        "imported_total": float(activity_costs.amount.sum().execute()),
        "in_episodes": float(costs.amount.sum().execute()),
        "by_condition": {
            row.condition: {"episodes": int(row.episodes), "mean_cost": float(row.mean_cost)}
            for row in _mean_cost_per_episode(costs).execute().itertuples()
        },
    }
    return {"episode_costs": costs}


def _with_tdabc_rows(
    con, costs: ibis.Table, episode_activities: ibis.Table, packs: list[ConditionPack], folder: Path
) -> ibis.Table:
    """Add method 'tdabc' rows for stages with a process map: every episode that reached
    the stage gets the process's steps at their expected unit cost. They sit beside the
    top-down rows (same episode and stage, another method); reports read one method at a
    time, so nothing is counted twice."""
    parts = []
    for pack in packs:
        for stage in pack.stages:
            if not stage.process_map:
                continue
            steps = tdabc_step_costs(folder / pack.id, stage.process_map)
            in_stage = (episode_activities.condition == pack.id) & (episode_activities.stage == stage.id)
            reached = episode_activities.filter(in_stage).select("episode_id", "condition", "stage").distinct()
            rows = reached.cross_join(ibis.memtable(steps))
            parts.append(
                rows.select(
                    "episode_id", "condition", "stage", "resource",
                    department=ibis.literal(""),
                    method=ibis.literal(METHOD_TDABC),
                    provenance=rows.provenance,
                    activities=ibis.literal(0).cast("int64"),
                    amount=rows.amount.cast("decimal(18, 2)"),
                )
            )
    if not parts:
        return costs
    schema = costs.schema()
    combined = ibis.union(costs, *[align_columns(p, schema) for p in parts])
    return scratch_table(con, "_carevalue_episode_costs_all_methods", combined)


def _mean_cost_per_episode(costs: ibis.Table) -> ibis.Table:
    per_episode = costs.group_by(["condition", "episode_id"]).aggregate(cost=costs.amount.sum())
    return per_episode.group_by("condition").aggregate(
        episodes=per_episode.count(), mean_cost=per_episode.cost.mean()
    )


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
                "costing": json.dumps(report.costing),
                "outcomes": json.dumps(report.outcomes),
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
        for name in RESULT_TABLES + COSTING_TABLES + OUTCOME_TABLES + CHART_TABLES:
            if f"{name}__{old}" in con.list_tables():
                con.drop_table(f"{name}__{old}")
