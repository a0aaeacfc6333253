"""Qualifying events: encounters that pass a pack's index-event filters and carry one of
its inclusion codes, with what decides whether each may start a care cycle (age at the
event, exclusion codes, and whether another qualifying event came in the look-back)."""

from __future__ import annotations

import ibis
from ibis import _
from ibis.backends import BaseBackend

from carevalue.packs.model import ConditionPack, IndexEvent, QualifyingCode
from carevalue.pathways.code_matching import in_codelist
from carevalue.pathways.days import age_in_years, day_number
from carevalue.warehouse import scratch_table

Tables = dict[str, ibis.Table]

POSITIONS = {"primary": lambda p: p == 1, "secondary": lambda p: p >= 2, "any": lambda p: p >= 1}


def lowered_isin(column, values) -> ibis.expr.types.BooleanValue:
    return column.lower().isin([v.lower() for v in values]).fill_null(False)


def encounters_passing(encounters: ibis.Table, index_event: IndexEvent) -> ibis.Table:
    keep = ibis.literal(True)
    if index_event.settings:
        keep &= encounters.setting.isin(list(index_event.settings)).fill_null(False)
    if index_event.admission_methods:
        keep &= encounters.admission_method.isin(list(index_event.admission_methods)).fill_null(False)
    if index_event.specialties:
        keep &= lowered_isin(encounters.specialty, index_event.specialties)
    return encounters.filter(keep)


def coded_rows(
    t: Tables, pack: ConditionPack, codelist_id: str, source: str, position: str | None = None
) -> ibis.Table:
    """Where a code from the list is recorded: patient_id, encounter_id and ``when`` (the
    activity's start, or for a diagnosis its encounter's start)."""
    codelist = pack.codelist(codelist_id)
    if source == "diagnoses":
        d = t["diagnoses"]
        hit = in_codelist(d.code_system, d.code_norm, codelist) & POSITIONS[position or "any"](d.position)
        starts = t["encounters"].select("encounter_id", when=_.start_at)
        return d.filter(hit).select("patient_id", "encounter_id").join(starts, "encounter_id")
    a = t["activities"]
    return a.filter(in_codelist(a.code_system, a.code_norm, codelist)).select("patient_id", "encounter_id", when=_.start_at)


def encounters_with_code(t: Tables, pack: ConditionPack, rule: QualifyingCode) -> ibis.Table:
    """Encounter ids (patient_id, encounter_id) on which the rule's code is recorded."""
    rows = coded_rows(t, pack, rule.codelist, rule.source, rule.position)
    return rows.filter(rows.encounter_id.notnull()).select("patient_id", "encounter_id")


def qualifying_events(con: BaseBackend, t: Tables, pack: ConditionPack) -> ibis.Table:
    """One row per qualifying encounter: patient_id, encounter_id, event_at, event_date,
    age, eligible (may start a cycle), incident (no qualifying event in the look-back)."""
    cohort = pack.cohort
    coded = ibis.union(*[encounters_with_code(t, pack, rule) for rule in cohort.inclusion], distinct=True)
    encounters = encounters_passing(t["encounters"], cohort.index_event)
    events = encounters.semi_join(coded, ["encounter_id"]).select(
        "patient_id", "encounter_id", event_at=_.start_at, event_date=_.start_at.date()
    )
    patients = t["patients"].select("patient_id", "birth_date")
    events = events.join(patients, "patient_id").mutate(age=age_in_years(_.birth_date.cast("date"), _.event_date))
    events = events.drop("birth_date")

    eligible = ibis.literal(True)
    if cohort.age.min_years is not None:
        eligible &= events.age >= cohort.age.min_years
    if cohort.age.max_years is not None:
        eligible &= events.age <= cohort.age.max_years
    # Materialised: the exclusion and look-back checks each read the events again.
    events = scratch_table(con, f"_carevalue_{pack.id}_qualifying", events.mutate(eligible=eligible.fill_null(False)))
    events = _mark_excluded(t, pack, events)
    return _mark_incident(events, cohort.lookback_days)


def flag_by_key(table: ibis.Table, keys: ibis.Table, key: str, flag: str) -> ibis.Table:
    """``table`` plus a boolean ``flag``: whether its ``key`` is among ``keys[key]``."""
    marks = keys.select(key).distinct().mutate(**{flag: ibis.literal(True)})
    joined = table.left_join(marks, key)
    joined = joined.drop(f"{key}_right") if f"{key}_right" in joined.columns else joined
    return joined.mutate(**{flag: joined[flag].fill_null(False)})


def _mark_excluded(t: Tables, pack: ConditionPack, events: ibis.Table) -> ibis.Table:
    for number, exclusion in enumerate(pack.cohort.exclusions):
        found = coded_rows(t, pack, exclusion.codelist, exclusion.source, exclusion.position)
        pairs = events.select("patient_id", "encounter_id", "event_date").join(
            found.select("patient_id", "when"), "patient_id"
        )
        day = day_number(pairs.when, pairs.event_date)
        excluded = pairs.filter(day.between(exclusion.window.from_day, exclusion.window.to_day))
        flag = f"_excluded_{number}"
        events = flag_by_key(events, excluded, "encounter_id", flag)
        events = events.mutate(eligible=events.eligible & ~events[flag]).drop(flag)
    return events


def _mark_incident(events: ibis.Table, lookback_days: int) -> ibis.Table:
    """incident: no other qualifying event (eligible or not) in the look-back days before."""
    earlier = events.select("patient_id", earlier_id=_.encounter_id, earlier_at=_.event_at, earlier_date=_.event_date)
    pairs = events.select("patient_id", "encounter_id", "event_at", "event_date").join(earlier, "patient_id")
    gap = day_number(pairs.earlier_date, pairs.event_date)  # negative: days before
    before = (pairs.earlier_at < pairs.event_at) | (
        (pairs.earlier_at == pairs.event_at) & (pairs.earlier_id < pairs.encounter_id)
    )
    prevalent = pairs.filter(before & (gap >= -lookback_days))
    events = flag_by_key(events, prevalent, "encounter_id", "_prevalent")
    return events.mutate(incident=~events._prevalent).drop("_prevalent")
