"""The label every activity in a care cycle carries on the patient flow maps.

A pack's ``flow.activities`` are tried in order and the first whose rules and codes hold
gives the label. An activity none of them names is labelled with its stage's name and its
activity type ("Acute stroke unit care: pathology"), so an undeclared activity still shows
on a map, in the right part of the pathway, rather than vanishing.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from carevalue.packs.model import OTHER_STAGE, ConditionPack, FlowActivity
from carevalue.pathways.assign_stages import rule_matches

OTHER_STAGE_NAME = "Outside the pathway"


def activity_label(rows: ibis.Table, pack: ConditionPack, stage: ir.StringValue) -> ir.StringValue:
    """``rows`` as for ``rule_matches``; ``stage`` is each row's stage id."""
    branches = [(_holds(rows, pack, item), item.label) for item in pack.flow.activities]
    fallback = _stage_name(stage, pack) + ": " + rows.activity_type.replace("_", " ")
    return ibis.cases(*branches, else_=fallback) if branches else fallback


def _holds(rows: ibis.Table, pack: ConditionPack, item: FlowActivity) -> ir.BooleanValue:
    holds = ibis.literal(True)
    if item.match:
        holds &= ibis.or_(*[rule_matches(rows, pack, rule) for rule in item.match])
    if item.codes:
        holds &= rows.code.isin(list(item.codes)).fill_null(False)
    return holds


def _stage_name(stage: ir.StringValue, pack: ConditionPack) -> ir.StringValue:
    names = [(stage == s.id, s.name) for s in pack.stages]
    return ibis.cases(*names, (stage == OTHER_STAGE, OTHER_STAGE_NAME), else_=stage)
