"""Qualifying events: encounters that pass a pack's index-event filters and carry one of
its inclusion codes, with what decides whether each may start a care cycle (age at the
event, exclusion codes, and whether another qualifying event came in the look-back)."""

from __future__ import annotations

import ibis
from ibis import _

from carevalue.foundation.code_matching import POSITIONS, codelist_rows
from carevalue.foundation.days import age_in_years, day_number
from carevalue.packs.model import ConditionPack, IndexEvent, QualifyingCode

Tables = dict[str, ibis.Table]


def lowered_isin(column, values) -> ibis.expr.types.BooleanValue:
    return column.lower().isin([v.lower() for v in values]).fill_null(False)


def encounters_passing(encounters: ibis.Table, index_event: IndexEvent) -> ibis.Table:
    """The encounters that pass the index-event filters. Each filter is a plain conjunct
    (a null fails a filter as False does), so DuckDB pushes them down to the scan."""
    keep = []
    if index_event.settings:
        keep.append(encounters.setting.isin(list(index_event.settings)))
    if index_event.admission_methods:
        keep.append(encounters.admission_method.isin(list(index_event.admission_methods)))
    if index_event.specialties:
        keep.append(lowered_isin(encounters.specialty, index_event.specialties))
    return encounters.filter(*keep) if keep else encounters


def coded_rows(
    t: Tables, pack: ConditionPack, codelist_id: str, source: str, position: str | None = None
) -> ibis.Table:
    """Where a code from the list is recorded: patient_id, encounter_id and ``when`` (the
    activity's start, or for a diagnosis its encounter's start)."""
    codelist = pack.codelist(codelist_id)
    if source == "diagnoses":
        d = t["diagnoses"]
        found = codelist_rows(d.filter(POSITIONS[position or "any"](d.position)), [codelist])
        starts = t["encounters"].select("encounter_id", when=_.start_at)
        return found.select("patient_id", "encounter_id").join(starts, "encounter_id")
    found = codelist_rows(t["activities"], [codelist])
    return found.select("patient_id", "encounter_id", when=found.start_at)


def encounters_with_code(t: Tables, pack: ConditionPack, rule: QualifyingCode) -> ibis.Table:
    """Encounter ids (patient_id, encounter_id) on which the rule's code is recorded."""
    rows = coded_rows(t, pack, rule.codelist, rule.source, rule.position)
    return rows.filter(rows.encounter_id.notnull()).select("patient_id", "encounter_id")


def qualifying_encounter_ids(
    t: Tables, pack: ConditionPack, rules: list[QualifyingCode]
) -> ibis.Table:
    """The encounter ids (one column, ``encounter_id``, possibly repeated: for a semi-join)
    on which any of ``rules``' codes is recorded. Rules that read the same source in the
    same position are found together (``codelist_rows`` over all their lists)."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for rule in rules:
        position = rule.position or "any" if rule.source == "diagnoses" else None
        groups.setdefault((rule.source, position), []).append(rule.codelist)
    parts = []
    for (source, position), codelists in groups.items():
        rows = t[source]
        if position is not None:
            rows = rows.filter(POSITIONS[position](rows.position))
        found = codelist_rows(rows, [pack.codelist(c) for c in codelists])
        parts.append(found.filter(found.encounter_id.notnull()).select("encounter_id"))
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


# Columns of the index encounter and of the patient that every episode carries; taken
# with the qualifying events so the episode needs no second pass over either table.
ENCOUNTER_COLUMNS = {
    "index_setting": "setting",
    "admission_method": "admission_method",
    "site": "site",
    "team": "specialty",
    "index_end_at": "end_at",
}
PATIENT_COLUMNS = ("sex", "imd_decile", "ethnicity", "death_date")


def qualifying_events(t: Tables, pack: ConditionPack) -> ibis.Table:
    """One row per qualifying encounter: patient_id, encounter_id, event_at, event_date,
    age, eligible (may start a cycle), incident (no qualifying event in the look-back),
    then the encounter's and patient's columns an episode reports (``ENCOUNTER_COLUMNS``,
    ``PATIENT_COLUMNS``).

    One expression, not materialised: the exclusion and look-back checks read the events
    again, which DuckDB computes once (a common table expression read more than once is
    materialised); the caller materialises the result."""
    cohort = pack.cohort
    coded = qualifying_encounter_ids(t, pack, list(cohort.inclusion))
    encounters = encounters_passing(t["encounters"], cohort.index_event)
    events = encounters.semi_join(coded, ["encounter_id"]).select(
        "patient_id",
        "encounter_id",
        event_at=_.start_at,
        event_date=_.start_at.date(),
        **{name: _[column] for name, column in ENCOUNTER_COLUMNS.items()},
    )
    patients = t["patients"].select("patient_id", "birth_date", *PATIENT_COLUMNS)
    events = events.join(patients, "patient_id")
    events = events.select(
        "patient_id",
        "encounter_id",
        "event_at",
        "event_date",
        age=age_in_years(events.birth_date.cast("date"), events.event_date),
        **{name: events[name] for name in (*ENCOUNTER_COLUMNS, *PATIENT_COLUMNS)},
    )
    eligible = ibis.literal(True)
    if cohort.age.min_years is not None:
        eligible &= events.age >= cohort.age.min_years
    if cohort.age.max_years is not None:
        eligible &= events.age <= cohort.age.max_years
    # A projection of the join above, not the join itself: joining it again (exclusions,
    # look-back) then starts new joins instead of extending that join chain, and the
    # engine sees one shared subquery.
    events = events.mutate(eligible=eligible.fill_null(False))
    return _mark_excluded_and_incident(t, pack, events)


def _excluded_ids(t: Tables, pack: ConditionPack, events: ibis.Table) -> ibis.Table | None:
    """Encounter ids of ``events`` with an exclusion code in the exclusion's window."""
    parts = []
    for exclusion in pack.cohort.exclusions:
        found = coded_rows(t, pack, exclusion.codelist, exclusion.source, exclusion.position)
        found = found.select(found_patient_id=found.patient_id, found_when=found.when)
        day = day_number(found.found_when, events.event_date)
        window = day.between(exclusion.window.from_day, exclusion.window.to_day)
        pairs = events.join(found, [events.patient_id == found.found_patient_id, window])
        parts.append(pairs.select("encounter_id"))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


def _incident(events: ibis.Table, lookback_days: int) -> ibis.expr.types.BooleanValue:
    """No other qualifying event (eligible or not) of the patient in the look-back days
    before: the latest earlier event (in order of time, then encounter id) is the one to
    check, since any other earlier event is older still. A window, not a self-join."""
    previous = events.event_date.lag().over(
        group_by=events.patient_id, order_by=[events.event_at, events.encounter_id]
    )
    return previous.isnull() | (day_number(previous, events.event_date) < -lookback_days)


def _mark_excluded_and_incident(t: Tables, pack: ConditionPack, events: ibis.Table) -> ibis.Table:
    """eligible: also no exclusion code in its window; incident: no qualifying event in
    the look-back."""

    def among(ids: ibis.Table) -> ibis.expr.types.BooleanValue:
        return events.encounter_id.isin(ids.encounter_id).fill_null(False)

    eligible = events.eligible
    excluded = _excluded_ids(t, pack, events)
    if excluded is not None:
        eligible &= ~among(excluded)
    return events.mutate(eligible=eligible, incident=_incident(events, pack.cohort.lookback_days))
