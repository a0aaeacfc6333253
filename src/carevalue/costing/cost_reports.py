"""Costing reports over the current run: what finance and clinical teams ask first.

Each report is a small Ibis expression over the run's ``episode_costs``,
``cost_reconciliation`` and ``cost_quantum`` views, executed to a data frame; the CLI
prints them and writes them as CSV. Figures are aggregates: no patient-level values.

Small numbers (``carevalue.disclosure``): each cell of a condition says how many episodes
it rests on, and its money figures are blanked where that is below the condition's
``reporting.min_cell`` (as the run published it in ``disclosure_rules``; the default where
a run did not). The reconciliation is exempt: its lines are the trust's ledger, not cells
of anyone's episodes.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from carevalue.disclosure import MinCell, run_min_cells, suppress
from carevalue.errors import UserError

TOP_DRIVERS = 10


def _require(con: BaseBackend) -> None:
    if "episode_costs" not in con.list_tables():
        raise UserError(
            "This warehouse has no costed run yet; run 'carevalue run --costing-rules FILE' "
            "(or 'carevalue demo') first."
        )


def _whole_pathway_costs(con: BaseBackend) -> ibis.Table:
    """The run's top-down costs (PLICS or imported): the bottom-up TDABC rows for mapped
    stages sit beside them for comparison and are left out so no stage is counted twice."""
    _require(con)
    costs = con.table("episode_costs")
    return costs.filter(costs.method != "tdabc")


def _min_cell(con: BaseBackend, min_cell: MinCell | None) -> MinCell:
    """``min_cell`` as given, or each condition's as the current run published it."""
    return run_min_cells(con) if min_cell is None else min_cell


def cost_per_episode_by_condition(
    con: BaseBackend, min_cell: MinCell | None = None
) -> pd.DataFrame:
    """Distribution of whole-pathway cost per episode, per condition."""
    costs = _whole_pathway_costs(con)
    per_episode = costs.group_by(["condition", "episode_id"]).aggregate(
        cost=costs.amount.sum().cast("float64")
    )
    summary = per_episode.group_by("condition").aggregate(
        episodes=per_episode.count(),
        mean=per_episode.cost.mean(),
        p10=per_episode.cost.quantile(0.1),
        median=per_episode.cost.quantile(0.5),
        p90=per_episode.cost.quantile(0.9),
        total=per_episode.cost.sum(),
    )
    frame = summary.order_by("condition").execute().round(2)
    figures = ("mean", "p10", "median", "p90", "total")
    return suppress(frame, _min_cell(con, min_cell), {"episodes": figures})


def cost_by_stage(con: BaseBackend, min_cell: MinCell | None = None) -> pd.DataFrame:
    """Mean cost per episode of each stage, and its share of the condition's cost; a
    stage's figures rest on the episodes that reached it (``episodes_in_stage``)."""
    costs = _whole_pathway_costs(con)
    episodes = costs.group_by("condition").aggregate(episodes=costs.episode_id.nunique())
    stages = costs.group_by(["condition", "stage"]).aggregate(
        total=costs.amount.sum().cast("float64"), episodes_in_stage=costs.episode_id.nunique()
    )
    stages = stages.join(episodes, "condition")
    condition_totals = stages.total.sum().over(group_by=stages.condition)
    result = stages.mutate(
        mean_per_episode=stages.total / stages.episodes, share=stages.total / condition_totals
    )
    frame = result.order_by(["condition", ibis.desc("total")]).execute().round(4)
    figures = ("total", "mean_per_episode", "share")
    return suppress(frame, _min_cell(con, min_cell), {"episodes_in_stage": figures})


def cost_by_resource(con: BaseBackend, min_cell: MinCell | None = None) -> pd.DataFrame:
    costs = _whole_pathway_costs(con)
    grouped = costs.group_by(["condition", "resource"]).aggregate(
        total=costs.amount.sum().cast("float64"), episodes=costs.episode_id.nunique()
    )
    share = grouped.total / grouped.total.sum().over(group_by=grouped.condition)
    ordered = grouped.mutate(share=share).order_by(["condition", ibis.desc("total")])
    frame = ordered.execute().round(4)
    return suppress(frame, _min_cell(con, min_cell), {"episodes": ("total", "share")})


def top_cost_drivers(
    con: BaseBackend, top: int = TOP_DRIVERS, min_cell: MinCell | None = None
) -> pd.DataFrame:
    """The largest stage × resource × department cells per condition. A small cell keeps
    its rank (the order discloses no one's cost) and loses its total."""
    costs = _whole_pathway_costs(con)
    cells = costs.group_by(["condition", "stage", "resource", "department"]).aggregate(
        total=costs.amount.sum().cast("float64"),
        activities=costs.activities.sum(),
        episodes=costs.episode_id.nunique(),
    )
    ranked = cells.mutate(
        rank=ibis.row_number().over(group_by=cells.condition, order_by=ibis.desc(cells.total)) + 1
    )
    frame = ranked.filter(ranked["rank"] <= top).order_by(["condition", "rank"]).execute().round(2)
    return suppress(frame, _min_cell(con, min_cell), {"episodes": ("total",)})


def reconciliation_summary(con: BaseBackend) -> pd.DataFrame:
    """Quantum, allocated and unallocated (by reason): the finance manager's check."""
    _require(con)
    quantum = con.table("cost_quantum")
    rec = con.table("cost_reconciliation")
    rows = [
        ("cost quantum (ledger less exclusions)", quantum.amount.sum(where=quantum.in_quantum)),
        (
            "left out of the quantum (excluded and income lines)",
            quantum.amount.sum(where=~quantum.in_quantum),
        ),
        ("allocated to activities", rec.allocated.sum()),
        ("unallocated (reported, not loaded onto patients)", rec.unallocated.sum()),
        ("difference (must be 0.00)", rec["difference"].sum()),
    ]
    figures = [(label, float(expr.execute() or 0)) for label, expr in rows]
    by_reason = rec.filter(rec.unallocated_reason.notnull())
    reasons = (
        by_reason.group_by("unallocated_reason")
        .aggregate(amount=by_reason.unallocated.sum())
        .execute()
    )
    figures += [
        (f"  unallocated: {r.unallocated_reason}", float(r.amount)) for r in reasons.itertuples()
    ]
    return pd.DataFrame(figures, columns=["line", "amount"]).round(2)


REPORTS = {
    "cost_per_episode": cost_per_episode_by_condition,
    "cost_by_stage": cost_by_stage,
    "cost_by_resource": cost_by_resource,
    "top_cost_drivers": top_cost_drivers,
    "reconciliation": reconciliation_summary,
}
