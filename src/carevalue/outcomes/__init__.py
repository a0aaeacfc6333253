"""Outcomes that matter to patients: derived from the feeds, scored from PROMs, or
clinician-reported; case-mix scores and risk adjustment.

The stage's face (later stages import from here):

- ``run_outcomes_stage(ctx, tables, packs, episodes_by_pack, cutoff) -> OutcomesResult``
  and ``OUTCOME_TABLES``, the tables it returns;
- the outcome statuses ``MEASURED``, ``MISSING``, ``NOT_DUE``, ``NOT_APPLICABLE``;
- ``build_episode_outcomes(ctx, tables, pack, episodes, cutoff)``: one pack's outcomes
  per episode (``carevalue assure`` checks them against a pack's test patients).
"""

from carevalue.outcomes.derived_outcomes import MEASURED, MISSING, NOT_APPLICABLE, NOT_DUE, STATUSES
from carevalue.outcomes.episode_outcomes import build_episode_outcomes
from carevalue.outcomes.outcomes_stage import OUTCOME_TABLES, OutcomesResult, run_outcomes_stage

__all__ = [
    "MEASURED",
    "MISSING",
    "NOT_APPLICABLE",
    "NOT_DUE",
    "OUTCOME_TABLES",
    "STATUSES",
    "OutcomesResult",
    "build_episode_outcomes",
    "run_outcomes_stage",
]
