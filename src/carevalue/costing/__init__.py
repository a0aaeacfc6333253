"""Costing: whole-pathway cost per patient, top-down (PLICS, ``plics``) and bottom-up
(TDABC, ``tdabc``).

The stage's face for the run: ``run_costing_stage(ctx, episode_activities, packs, rules,
imported=…) -> CostingResult`` (tables, a typed ``CostingSummary``), ``check_cost_source``
and ``COSTING_TABLES``.
"""

from carevalue.costing.costing_stage import (
    COSTING_TABLES,
    ConditionCost,
    CostingResult,
    CostingSummary,
    check_cost_source,
    run_costing_stage,
)
from carevalue.costing.plics_rules import CostingRules, load_costing_rules

__all__ = [
    "COSTING_TABLES",
    "ConditionCost",
    "CostingResult",
    "CostingRules",
    "CostingSummary",
    "check_cost_source",
    "load_costing_rules",
    "run_costing_stage",
]
