"""Per-episode facts that several outcomes read: the inpatient spell that began with the
index event, the emergency arrival before it, and the dates that bound each window.

An inpatient spell is the index admission plus every inpatient admission with admission
method 'transfer' that starts within 24 hours of the previous one ending (an acute stroke
unit stay, then the rehabilitation unit). Links are followed ``MAX_LINKS`` times, which
covers every pathway the shipped packs describe; a longer chain ends the spell early and
the docs say so.
"""

from __future__ import annotations

import ibis
from ibis import _

from carevalue.foundation.run_context import RunContext
from carevalue.foundation.tables import left_join

Tables = dict[str, ibis.Table]
MAX_LINKS = 3
LINK_HOURS = 24


def episode_facts(ctx: RunContext, t: Tables, episodes: ibis.Table, name: str) -> ibis.Table:
    """One row per episode: the episode columns outcomes need, plus ``index_spell`` facts
    (``index_is_inpatient``, ``index_destination``, ``spell_end_at``, ``spell_destination``,
    ``spell_open``) and ``arrival_at`` (the emergency arrival, or the index event)."""
    encounters = t["encounters"]
    base = episodes.select(
        "episode_id",
        "condition",
        "patient_id",
        "index_encounter_id",
        "index_at",
        "index_date",
        "index_end_at",
        "index_setting",
        "cycle_start",
        "cycle_end",
        "cycle_end_event_at",
        "cycle_complete",
        "death_date",
    )
    index_destination = encounters.select(
        index_encounter_id=_.encounter_id, index_destination=_.discharge_destination
    )
    facts = left_join(base, index_destination, "index_encounter_id")
    facts = facts.mutate(
        index_is_inpatient=facts.index_setting == "inpatient",
        death_date=facts.death_date.cast("date"),
    )
    facts = ctx.scratch_table(f"{name}_facts_base", facts)
    facts = _follow_transfers(ctx, encounters, facts, name)
    return _with_arrival(ctx, encounters, facts, name)


def _follow_transfers(
    ctx: RunContext, encounters: ibis.Table, facts: ibis.Table, name: str
) -> ibis.Table:
    """Extend each inpatient index stay by the transfers that continue it."""
    transfers = encounters.filter(
        (encounters.setting == "inpatient") & (encounters.admission_method == "transfer")
    ).select(
        "patient_id",
        next_id=_.encounter_id,
        next_start=_.start_at,
        next_end=_.end_at,
        next_destination=_.discharge_destination,
    )
    spell = facts.mutate(
        spell_last_id=facts.index_encounter_id,
        spell_end_at=facts.index_end_at,
        spell_destination=facts.index_destination,
    )
    for link in range(MAX_LINKS):
        ends = spell.filter(spell.index_is_inpatient & spell.spell_end_at.notnull()).select(
            "episode_id", "patient_id", "spell_last_id", "spell_end_at"
        )
        pairs = ends.join(transfers, "patient_id")
        gap_seconds = pairs.next_start.epoch_seconds() - pairs.spell_end_at.epoch_seconds()
        pairs = pairs.filter(
            (pairs.next_id != pairs.spell_last_id)
            & (gap_seconds >= 0)
            & (gap_seconds <= LINK_HOURS * 3600)
        )
        # The earliest transfer continues the spell.
        first = pairs.group_by("episode_id").aggregate(
            _next_id=pairs.next_id.argmin(pairs.next_start)
        )
        chosen = first.join(transfers, first._next_id == transfers.next_id).select(
            "episode_id", "next_id", "next_end", "next_destination"
        )
        joined = left_join(spell, chosen, "episode_id")
        linked = joined.next_id.notnull()
        spell = joined.mutate(
            spell_last_id=linked.ifelse(joined.next_id, joined.spell_last_id),
            spell_end_at=linked.ifelse(joined.next_end, joined.spell_end_at),
            spell_destination=linked.ifelse(joined.next_destination, joined.spell_destination),
        ).drop("next_id", "next_end", "next_destination")
        spell = ctx.scratch_table(f"{name}_spell_{link}", spell)
    return spell.mutate(spell_open=spell.index_is_inpatient & spell.spell_end_at.isnull())


def _with_arrival(
    ctx: RunContext, encounters: ibis.Table, facts: ibis.Table, name: str
) -> ibis.Table:
    """``arrival_at``: start of the emergency attendance that ended within 24 hours before
    the index event began (the 'door'), else the index event itself."""
    attendances = encounters.filter(encounters.setting == "emergency").select(
        "patient_id", ae_start=_.start_at, ae_end=_.end_at
    )
    pairs = facts.select("episode_id", "patient_id", "index_at").join(attendances, "patient_id")
    gap = pairs.index_at.epoch_seconds() - pairs.ae_end.epoch_seconds()
    pairs = pairs.filter((gap >= 0) & (gap <= LINK_HOURS * 3600))
    latest = pairs.group_by("episode_id").aggregate(arrival=pairs.ae_start.max())
    joined = left_join(facts, latest, "episode_id")
    joined = joined.mutate(arrival_at=joined.arrival.fill_null(joined.index_at)).drop("arrival")
    return ctx.scratch_table(f"{name}_facts", joined)
