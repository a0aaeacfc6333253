"""``episodes`` and ``episode_activities`` for one condition pack, as Ibis expressions.

episodes: one row per patient care cycle, with its index event, cycle bounds, flags
(lookback_incomplete: the data do not reach a full look-back before the index event;
cycle_complete: the cycle ended on or before the data cut-off), segment fields and raw
case-mix fields. episode_id is a hash of condition, patient and index encounter: the same
data always give the same ids, on every engine.

episode_activities: every activity of the patient dated inside the cycle, with its day
(from the index event) and its stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
from ibis import _
from ibis.backends import BaseBackend

from carevalue.packs.model import ConditionPack
from carevalue.pathways import segments
from carevalue.pathways.assign_stages import stage_of
from carevalue.pathways.care_cycles import build_cycles
from carevalue.pathways.case_mix import case_mix_columns
from carevalue.pathways.code_matching import normalised_code
from carevalue.pathways.days import day_number, plus_days
from carevalue.pathways.qualifying_events import qualifying_events
from carevalue.warehouse import scratch_table, scratch_view

Tables = dict[str, ibis.Table]
FEEDS_NEEDED = ("patients", "encounters", "diagnoses", "activities", "observations")


@dataclass(frozen=True)
class DataSpan:
    """The first and last dates the loaded data cover (from encounter starts)."""

    first: date
    last: date


def data_span(t: Tables) -> DataSpan:
    span = t["encounters"].aggregate(first=_.start_at.min().date(), last=_.start_at.max().date()).execute()
    return DataSpan(first=_as_date(span["first"][0]), last=_as_date(span["last"][0]))


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


def prepare_tables(con: BaseBackend, t: Tables) -> Tables:
    """The feeds as the episode builder reads them, named once per run: codes normalised
    (``code_norm``), and each activity with its encounter's setting and specialty. Every
    pack's expressions then refer to these views instead of repeating the work."""
    encounters = t["encounters"]
    settings = encounters.select("encounter_id", "setting", "specialty")
    activities = t["activities"].left_join(settings, "encounter_id").drop("encounter_id_right")
    prepared = {
        "patients": t["patients"],
        "encounters": encounters,
        "observations": t["observations"],
        "diagnoses": t["diagnoses"].mutate(code_norm=normalised_code(_.code_system, _.code)),
        "activities": activities.mutate(code_norm=normalised_code(_.code_system, _.code)),
    }
    for name in ("diagnoses", "activities"):
        prepared[name] = scratch_view(con, f"_carevalue_prepared_{name}", prepared[name])
    return prepared


def episode_id(condition: str, patient_id, encounter_id):
    digest = (ibis.literal(condition + "|") + patient_id + "|" + encounter_id).hexdigest("sha256")
    return ibis.literal(condition + "-") + digest.substr(0, 16)


def build_episodes(con: BaseBackend, t: Tables, pack: ConditionPack, span: DataSpan) -> tuple[ibis.Table, ibis.Table]:
    """Episodes and their activities for one pack; ``t`` comes from ``prepare_tables``."""
    episodes = case_mix_columns(t, pack, episode_core(con, t, pack, span))
    episodes = scratch_table(con, f"_carevalue_{pack.id}_episodes_with_case_mix", episodes)
    return episodes, episode_activities(t, pack, episodes)


def episode_core(con: BaseBackend, t: Tables, pack: ConditionPack, span: DataSpan) -> ibis.Table:
    """Episodes with their index event, cycle, flags and segments (no case mix yet)."""
    cycles = build_cycles(con, t, pack, qualifying_events(con, t, pack))
    episodes = cycles.select(
        "patient_id",
        "cycle_number",
        "age",
        "cycle_start",
        "cycle_end",
        "cycle_end_event_at",
        index_encounter_id=_.encounter_id,
        index_at=_.event_at,
        index_date=_.event_date,
    )
    index_encounters = t["encounters"].select(
        index_encounter_id=_.encounter_id,
        index_setting=_.setting,
        admission_method=_.admission_method,
        site=_.site,
        team=_.specialty,
        index_end_at=_.end_at,
    )
    people = t["patients"].select("patient_id", "sex", "imd_decile", "ethnicity", "death_date")
    episodes = episodes.join(index_encounters, "index_encounter_id").join(people, "patient_id")
    episodes = episodes.mutate(
        episode_id=episode_id(pack.id, episodes.patient_id, episodes.index_encounter_id),
        condition=ibis.literal(pack.id),
        pack_version=ibis.literal(pack.governance.version),
        lookback_incomplete=(episodes.cycle_number == 1)
        & (plus_days(episodes.index_date, -pack.cohort.lookback_days) < ibis.literal(span.first)),
        cycle_complete=episodes.cycle_end <= ibis.literal(span.last),
        age_band=segments.age_band(episodes.age),
        ethnic_group=segments.ethnic_group(episodes.ethnicity),
        admission_month=segments.month(episodes.index_date),
        admission_quarter=segments.quarter(episodes.index_date),
        financial_year=segments.financial_year(episodes.index_date),
    )
    first = ["episode_id", "condition", "pack_version", "patient_id", "cycle_number", "index_encounter_id",
             "index_at", "index_date", "cycle_start", "cycle_end", "cycle_end_event_at", "cycle_complete",
             "lookback_incomplete"]
    episodes = episodes.select(*first, *[c for c in episodes.columns if c not in first])
    return scratch_table(con, f"_carevalue_{pack.id}_episodes_core", episodes)


def episode_activities(t: Tables, pack: ConditionPack, episodes: ibis.Table) -> ibis.Table:
    activities = t["activities"]
    cycles = episodes.select("episode_id", "condition", "patient_id", "index_date", "cycle_start", "cycle_end")
    rows = cycles.join(activities, "patient_id")
    rows = rows.filter(rows.start_at.date().between(rows.cycle_start, rows.cycle_end))
    rows = rows.mutate(day=day_number(rows.start_at, rows.index_date))
    return rows.select(
        "episode_id", "condition", "patient_id", "activity_id", "encounter_id", "activity_type",
        "code_system", "code", "department", "cost_centre", "setting", "specialty", "start_at", "end_at",
        "minutes", "quantity", "day", stage=stage_of(rows, pack),
    )
