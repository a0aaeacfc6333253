"""Costs a trust's own costing system has already worked out per activity (when the trust
already has PLICS), loaded instead of allocating the ledger.

The file is ``imported_activity_costs.csv`` (or ``.parquet``) in a folder, checked and quarantined
like any feed; ``carevalue run --imported-costs`` then builds ``episode_costs`` from it
with method ``imported``.
"""

from __future__ import annotations

import ibis
from ibis import _

from carevalue.sources.feeds import Column, Feed

IMPORTED_TABLE = "imported_activity_costs"
METHOD_IMPORTED = "imported"

IMPORTED_ACTIVITY_COSTS = Feed(
    name=IMPORTED_TABLE,
    description="Cost per activity from the trust's own costing system.",
    key=("activity_id", "resource", "cost_centre", "expense_code"),
    columns=(
        Column(
            "activity_id",
            "text",
            "The activity costed (as in the activities feed).",
            nullable=False,
        ),
        Column("amount", "number", "Cost in pounds.", nullable=False, minimum=0),
        Column(
            "resource", "text", "Resource or cost pool in the costing system, e.g. 'ward nursing'."
        ),
        Column("department", "text", "Department the cost belongs to."),
        Column(
            "cost_centre",
            "text",
            "Ledger cost centre the cost came from, if known.",
            required=False,
        ),
        Column(
            "expense_code",
            "text",
            "Ledger expense code the cost came from, if known.",
            required=False,
        ),
    ),
)


def imported_activity_costs(table: ibis.Table) -> ibis.Table:
    """The loaded table in the shape ``episode_costs`` expects, provenance filled in."""
    return table.select(
        "activity_id",
        pool=ibis.literal(METHOD_IMPORTED),
        department=_.department.fill_null(""),
        resource=_.resource.fill_null("unspecified"),
        cost_centre=_.cost_centre.fill_null(""),
        expense_code=_.expense_code.fill_null(""),
        amount=_.amount.cast("decimal(18, 2)"),
    )
