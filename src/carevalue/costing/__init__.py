"""Costing: whole-pathway cost per patient, top-down (PLICS, ``plics``) and bottom-up
(TDABC, ``tdabc``).

The stage's face for the run: ``run_costing_stage(ctx, episode_activities, packs, rules,
imported=…) -> CostingResult`` (tables, a typed ``CostingSummary``), ``check_cost_source``
and ``COSTING_TABLES``. For readers of a run's results (the web app): ``METHOD_TDABC``
(the method of TDABC rows beside PLICS ones), ``load_tdabc_model`` and ``cost_model``.
"""

from carevalue.costing.costing_stage import (
    COSTING_TABLES,
    ConditionCost,
    CostingResult,
    CostingSummary,
    check_cost_source,
    run_costing_stage,
)
from carevalue.costing.episode_costs import METHOD_TDABC
from carevalue.costing.plics_rules import CostingRules, load_costing_rules
from carevalue.costing.tdabc import cost_model, load_tdabc_model

__all__ = [
    "COSTING_TABLES",
    "METHOD_TDABC",
    "ConditionCost",
    "CostingResult",
    "CostingRules",
    "CostingSummary",
    "check_cost_source",
    "cost_model",
    "load_costing_rules",
    "load_tdabc_model",
    "run_costing_stage",
]
