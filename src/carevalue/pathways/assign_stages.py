"""The stage of every activity in a care cycle, from the pack's stage rules.

Validation guarantees no two stages can match one activity, so the first match is the
only match; an activity matching none is in ``other``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from carevalue.foundation.code_matching import in_codelist
from carevalue.packs.model import OTHER_STAGE, ConditionPack, StageRule
from carevalue.pathways.qualifying_events import lowered_isin


def rule_matches(rows: ibis.Table, pack: ConditionPack, rule: StageRule) -> ir.BooleanValue:
    """``rows`` needs activity_type, department, code_system, code, setting, specialty, day."""
    holds = ibis.literal(True)
    if rule.activity_types:
        holds &= rows.activity_type.isin(list(rule.activity_types)).fill_null(False)
    if rule.departments:
        holds &= lowered_isin(rows.department, rule.departments)
    if rule.specialties:
        holds &= lowered_isin(rows.specialty, rule.specialties)
    if rule.settings:
        holds &= rows.setting.isin(list(rule.settings)).fill_null(False)
    if rule.codelist:
        holds &= in_codelist(rows.code_system, rows.code_norm, pack.codelist(rule.codelist))
    if rule.from_day is not None:
        holds &= rows.day >= rule.from_day
    if rule.to_day is not None:
        holds &= rows.day <= rule.to_day
    return holds


def stage_of(rows: ibis.Table, pack: ConditionPack) -> ir.StringValue:
    branches = [
        (ibis.or_(*[rule_matches(rows, pack, rule) for rule in stage.match]), stage.id)
        for stage in pack.stages
    ]
    return ibis.cases(*branches, else_=OTHER_STAGE)
