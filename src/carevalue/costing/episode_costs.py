"""``episode_costs``: what each care-cycle episode cost, by stage, resource and department,
with the ledger line every pound came from.

An activity inside the cycles of two episodes of the same patient (a stroke patient who
also has hepatitis C) is split equally between them, in whole pennies: each gets the same
share and the pennies left over go one each to the episodes first by episode_id. The
shares of an activity add up to its cost exactly, so a trust total over episode_costs
never counts a pound twice.
"""

from __future__ import annotations

import ibis
from ibis import _

METHOD_PLICS = "plics"
METHOD_TDABC = "tdabc"


def split_shared_activity_costs(
    episode_activities: ibis.Table, activity_costs: ibis.Table
) -> ibis.Table:
    """One row per episode x activity x ledger line, with that episode's share in pennies."""
    claims = episode_activities.select("episode_id", "condition", "activity_id", "stage")
    claimants = claims.group_by("activity_id").aggregate(claimants=_.count())
    costs = activity_costs.select(
        "activity_id",
        "pool",
        "department",
        "resource",
        "cost_centre",
        "expense_code",
        pennies=(activity_costs.amount * 100).round().cast("int64"),
    )
    rows = claims.join(claimants, "activity_id").join(costs, "activity_id")
    rows = rows.mutate(
        _rank=ibis.row_number().over(
            group_by=[rows.activity_id, rows.pool, rows.cost_centre, rows.expense_code],
            order_by=rows.episode_id,
        )
    )
    base = rows.pennies // rows.claimants
    leftover = rows.pennies - base * rows.claimants
    return rows.mutate(share_pennies=base + (rows._rank < leftover).ifelse(1, 0)).drop("_rank")


def episode_costs(
    episode_activities: ibis.Table, activity_costs: ibis.Table, method: str = METHOD_PLICS
) -> ibis.Table:
    """episode x stage x resource x department x method, with a provenance key
    ``pool:cost_centre/expense_code`` back to the ledger line."""
    shares = split_shared_activity_costs(episode_activities, activity_costs)
    shares = shares.mutate(
        method=ibis.literal(method),
        provenance=shares.pool + ":" + shares.cost_centre + "/" + shares.expense_code,
    )
    grouped = shares.group_by(
        ["episode_id", "condition", "stage", "resource", "department", "method", "provenance"]
    ).aggregate(pennies=shares.share_pennies.sum(), activities=shares.activity_id.nunique())
    return grouped.mutate(
        amount=(grouped.pennies.cast("decimal(18, 2)") / 100).cast("decimal(18, 2)")
    ).drop("pennies")
