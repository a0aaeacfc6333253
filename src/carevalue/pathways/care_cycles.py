"""Care cycles from qualifying events, following the pack's cohort rules.

A patient's first cycle starts at the earliest qualifying event that may start one
(eligible: age limits, no exclusion) and is incident (no qualifying event in the
look-back). Each later cycle starts at the first eligible event more than
``new_episode_after_days`` after the previous cycle's last day. Because where a cycle
ends decides where the next may start, cycles are found in rounds, one cycle per patient
per round; a round that another follows is materialised, so the expressions stay small
on every engine.
"""

from __future__ import annotations

import ibis
from ibis import _

from carevalue.foundation.code_matching import in_codelist
from carevalue.foundation.days import day_number, plus_days
from carevalue.foundation.run_context import RunContext
from carevalue.foundation.tables import left_join
from carevalue.packs.model import ConditionPack, EventEnd, FixedEnd

Tables = dict[str, ibis.Table]
MAX_ROUNDS = 100  # more cycles than any patient can have in a few years of data


def first_per_patient(events: ibis.Table) -> ibis.Table:
    ranked = events.mutate(
        _rank=ibis.row_number().over(group_by=_.patient_id, order_by=[_.event_at, _.encounter_id])
    )
    return ranked.filter(_._rank == 0).drop("_rank")


def cycle_bounds(t: Tables, pack: ConditionPack, starts: ibis.Table) -> ibis.Table:
    """Add cycle_start, cycle_end (dates, inclusive) and cycle_end_event_at to index events."""
    cycle = pack.care_cycle
    starts = starts.mutate(cycle_start=plus_days(_.event_date, cycle.start.offset_days))
    if isinstance(cycle.end, FixedEnd):
        return starts.mutate(
            cycle_end=plus_days(_.event_date, cycle.end.offset_days),
            cycle_end_event_at=ibis.null().cast("timestamp"),
        )
    return _ends_on_event(t, pack, starts, cycle.end)


def _ends_on_event(t: Tables, pack: ConditionPack, starts: ibis.Table, end: EventEnd) -> ibis.Table:
    a = t["activities"]
    event = end.event
    candidates = a.filter(
        in_codelist(a.code_system, a.code_norm, pack.codelist(event.codelist))
    ).select("patient_id", end_at_candidate=_.start_at)
    pairs = starts.select("patient_id", "event_at", "event_date").join(candidates, "patient_id")
    pairs = pairs.filter(
        (pairs.end_at_candidate > pairs.event_at)
        & (day_number(pairs.end_at_candidate, pairs.event_date) <= end.max_days)
    )
    if event.after_most_recent is not None:
        before = a.filter(
            in_codelist(a.code_system, a.code_norm, pack.codelist(event.after_most_recent))
        ).select("patient_id", previous_at=_.start_at)
        triples = pairs.join(before, "patient_id").filter(
            lambda r: (r.previous_at < r.end_at_candidate) & (r.previous_at >= r.event_at)
        )
        latest = triples.group_by(["patient_id", "end_at_candidate"]).aggregate(
            previous_at=_.previous_at.max(), event_date=_.event_date.max()
        )
        pairs = latest.filter(
            day_number(latest.end_at_candidate, latest.previous_at.date()) >= event.days_after
        )
    found = pairs.group_by("patient_id").aggregate(cycle_end_event_at=_.end_at_candidate.min())
    with_event = left_join(starts, found, "patient_id")
    cap = plus_days(with_event.event_date, end.max_days)
    after_event = plus_days(with_event.cycle_end_event_at.date(), end.plus_days)
    return with_event.mutate(
        cycle_end=ibis.cases(
            (with_event.cycle_end_event_at.isnull(), cap),
            (after_event <= cap, after_event),
            else_=cap,
        )
    )


INDEX_EVENT = ("patient_id", "encounter_id", "event_at", "event_date")


def later_starts(events: ibis.Table, cycles: ibis.Table, gap: int) -> ibis.Table:
    """The eligible events that may start a patient's next cycle: more than ``gap`` days
    after the last day of the patient's cycle in ``cycles``."""
    last = cycles.select("patient_id", previous_end=_.cycle_end)
    later = events.join(last, "patient_id")
    later = later.filter(later.eligible & (later.event_date > plus_days(later.previous_end, gap)))
    return later.select(*INDEX_EVENT)


def build_cycles(ctx: RunContext, t: Tables, pack: ConditionPack, events: ibis.Table) -> ibis.Table:
    """One row per care cycle: the index event's columns plus cycle_number and bounds.

    Before a round is kept, one query asks whether any patient has an event that could
    start a cycle after it. Where none does (for most patients and most packs, after the
    first round) the round stays an expression, computed with the episodes, so a pack
    without recurrences costs one query here and writes no table of cycles. Where some
    do, the round is written (narrow: the index event's key, dates and bounds) and the
    next round reads it. A round whose bounds read the activities (a cycle that ends on
    an event) is written first, so the activities are read once."""
    name = f"{pack.id}_events"
    events = ctx.scratch_table(name, events)
    gap = pack.cohort.new_episode_after_days
    ends_on_event = not isinstance(pack.care_cycle.end, FixedEnd)
    rounds: list[ibis.Table] = []
    starts = first_per_patient(events.filter(_.eligible & _.incident).select(*INDEX_EVENT))
    for number in range(1, MAX_ROUNDS + 1):
        cycles = cycle_bounds(t, pack, starts).mutate(cycle_number=ibis.literal(number))
        written = f"{pack.id}_cycles_{number}"
        if ends_on_event:
            cycles = ctx.scratch_table(written, cycles)
        if not has_rows(later_starts(events, cycles, gap)):
            rounds.append(cycles)
            break
        if not ends_on_event:
            cycles = ctx.scratch_table(written, cycles)
        rounds.append(cycles)
        starts = first_per_patient(later_starts(events, cycles, gap))
    # Written rounds read back with the engine's own types (DuckDB's timestamp(6)); the
    # last, unwritten round takes the same, so the rounds stack.
    schema = rounds[0].schema()
    found = ibis.union(*[r.cast(schema) for r in rounds]) if len(rounds) > 1 else rounds[0]
    details = events.drop(*[c for c in INDEX_EVENT if c != "encounter_id"])
    return found.join(details, "encounter_id")


def has_rows(table: ibis.Table) -> bool:
    return bool(table.limit(1).count().to_pyarrow().as_py())
