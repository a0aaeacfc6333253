"""The costing stage of a run: whole-pathway costs of the run's episodes.

Costs come from one source: the ledger allocated to activities (PLICS, with costing
rules), or the trust's own per-activity costs (``carevalue costing import``). Stages with
a TDABC process map also get method 'tdabc' rows beside them. Nothing is published here:
the run writes the tables returned, so a costing that does not reconcile stops the run
before anything changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd

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
from carevalue.foundation.run_context import RunContext
from carevalue.foundation.tables import align_columns
from carevalue.packs.model import ConditionPack

COSTING_TABLES = ("activity_costs", "episode_costs", "cost_quantum", "cost_reconciliation")
SOURCE_PLICS = "plics"
SOURCE_IMPORTED = "imported"


@dataclass(frozen=True)
class ConditionCost:
    episodes: int
    mean_cost: float


@dataclass(frozen=True)
class CostingSummary:
    """What the run records of its costing (``runs.costing``) and the command line prints.
    ``rules_version``, ``cost_quantum`` and ``allocated_to_activities`` are for PLICS;
    ``imported_total`` for imported costs."""

    source: str
    in_episodes: float
    by_condition: dict[str, ConditionCost]
    rules_version: str | None = None
    cost_quantum: float | None = None
    allocated_to_activities: float | None = None
    imported_total: float | None = None

    def as_json(self) -> dict[str, object]:
        """The shape ``runs.costing`` has always had (key order too)."""
        by_condition = {
            c: {"episodes": f.episodes, "mean_cost": f.mean_cost}
            for c, f in self.by_condition.items()
        }
        if self.source == SOURCE_PLICS:
            head = {
                "source": self.source,
                "rules_version": self.rules_version,
                "cost_quantum": self.cost_quantum,
                "allocated_to_activities": self.allocated_to_activities,
            }
        else:
            head = {"source": self.source, "imported_total": self.imported_total}
        return {**head, "in_episodes": self.in_episodes, "by_condition": by_condition}


@dataclass(frozen=True)
class CostingResult:
    """The stage's result: the run's costing tables by name (none when not costed), what
    it records, and its time (PLICS only)."""

    tables: dict[str, ibis.Table] = field(default_factory=dict)
    summary: CostingSummary | None = None
    seconds: float | None = None

    def stage_costs(self) -> pd.DataFrame | None:
        """episode_id, stage, amount of the top-down (or imported) method; None when the
        run is not costed. One method per report, not the TDABC rows beside it."""
        if "episode_costs" not in self.tables:
            return None
        costs = self.tables["episode_costs"]
        costs = costs.filter(costs.method != METHOD_TDABC)
        return (
            costs.group_by(["episode_id", "stage"]).aggregate(amount=costs.amount.sum()).execute()
        )


def check_cost_source(rules: CostingRules | None, imported: bool) -> None:
    if rules is not None and imported:
        raise UserError(
            "Choose one source of costs: --costing-rules (allocate the ledger) or --imported-costs."
        )


def run_costing_stage(
    ctx: RunContext,
    episode_activities: ibis.Table,
    packs: list[ConditionPack],
    rules: CostingRules | None = None,
    *,
    imported: bool = False,
    conditions_folder: Path | None = None,
) -> CostingResult:
    """Cost the run's episodes from ``rules`` (PLICS) or the imported costs; neither: an
    empty result."""
    check_cost_source(rules, imported)
    if conditions_folder is None:
        from carevalue.conditions import shipped_conditions

        conditions_folder = shipped_conditions()
    if rules is not None:
        result = _cost(ctx, episode_activities, rules)
    elif imported:
        result = _cost_from_imported(ctx, episode_activities)
    else:
        return CostingResult()
    tables = dict(result.tables)
    tables["episode_costs"] = _with_tdabc_rows(
        ctx, tables["episode_costs"], episode_activities, packs, conditions_folder
    )
    return CostingResult(tables, result.summary, result.seconds)


def _cost(ctx: RunContext, episode_activities: ibis.Table, rules: CostingRules) -> CostingResult:
    """Allocate the ledger (PLICS), refuse to publish if it does not reconcile, and split
    activity costs over episodes."""
    clock = time.perf_counter()
    con = ctx.con
    result = allocate_ledger_to_activities(con.table("ledger"), con.table("activities"), rules)
    activity_costs = ctx.scratch_table("activity_costs", result.activity_costs)
    quantum = ctx.scratch_table("cost_quantum", result.quantum)
    reconciliation = ctx.scratch_table("cost_reconciliation", result.reconciliation)
    problems = reconcile(AllocationResult(quantum, activity_costs, reconciliation))
    if problems:
        more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise UserError(
            f"Costing did not reconcile, so the run was not published: {problems[0]}{more}"
        )
    costs = ctx.scratch_table("episode_costs", episode_costs(episode_activities, activity_costs))
    totals = quantum.aggregate(quantum=quantum.amount.sum(where=quantum.in_quantum)).execute()
    allocated = activity_costs.amount.sum().execute()
    summary = CostingSummary(
        source=SOURCE_PLICS,
        rules_version=rules.rules_version,
        cost_quantum=float(totals["quantum"][0]),
        allocated_to_activities=float(allocated),
        in_episodes=float(costs.amount.sum().execute()),
        by_condition=_by_condition(costs),
    )
    tables = {
        "activity_costs": activity_costs,
        "episode_costs": costs,
        "cost_quantum": quantum,
        "cost_reconciliation": reconciliation,
    }
    return CostingResult(tables, summary, round(time.perf_counter() - clock, 2))


def _cost_from_imported(ctx: RunContext, episode_activities: ibis.Table) -> CostingResult:
    if IMPORTED_TABLE not in ctx.con.list_tables():
        raise UserError(
            "There are no imported activity costs in this warehouse; load them with "
            "'carevalue costing import FOLDER' first."
        )
    activity_costs = imported_activity_costs(ctx.con.table(IMPORTED_TABLE))
    costs = ctx.scratch_table(
        "episode_costs", episode_costs(episode_activities, activity_costs, METHOD_IMPORTED)
    )
    summary = CostingSummary(
        source=SOURCE_IMPORTED,
        imported_total=float(activity_costs.amount.sum().execute()),
        in_episodes=float(costs.amount.sum().execute()),
        by_condition=_by_condition(costs),
    )
    return CostingResult({"episode_costs": costs}, summary)


def _with_tdabc_rows(
    ctx: RunContext,
    costs: ibis.Table,
    episode_activities: ibis.Table,
    packs: list[ConditionPack],
    folder: Path,
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
            activities = episode_activities
            in_stage = (activities.condition == pack.id) & (activities.stage == stage.id)
            reached = (
                activities.filter(in_stage).select("episode_id", "condition", "stage").distinct()
            )
            rows = reached.cross_join(ibis.memtable(steps))
            parts.append(
                rows.select(
                    "episode_id",
                    "condition",
                    "stage",
                    "resource",
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
    return ctx.scratch_table("episode_costs_all_methods", combined)


def _by_condition(costs: ibis.Table) -> dict[str, ConditionCost]:
    per_episode = costs.group_by(["condition", "episode_id"]).aggregate(cost=costs.amount.sum())
    means = per_episode.group_by("condition").aggregate(
        episodes=per_episode.count(), mean_cost=per_episode.cost.mean()
    )
    return {
        row.condition: ConditionCost(episodes=int(row.episodes), mean_cost=float(row.mean_cost))
        for row in means.execute().itertuples()
    }
