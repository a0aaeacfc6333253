"""``episodes`` and ``episode_activities`` for one condition pack, as Ibis expressions.

episodes: one row per patient care cycle, with its index event, cycle bounds, flags
(lookback_incomplete: the data do not reach a full look-back before the index event;
cycle_complete: the cycle ended on or before the data cut-off), segment fields and raw
case-mix fields. episode_id is a hash of condition, patient and index encounter: the same
data always give the same ids, on every engine.

episode_activities: every activity of the patient dated inside the cycle, with its day
(from the index event), its stage and its label on the patient flow maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import ibis
from ibis import _

from carevalue.foundation.code_matching import normalised_code
from carevalue.foundation.days import day_number, plus_days
from carevalue.foundation.run_context import RunContext
from carevalue.foundation.tables import left_join
from carevalue.packs.model import ConditionPack
from carevalue.pathways import segments
from carevalue.pathways.activity_labels import activity_label
from carevalue.pathways.assign_stages import stage_of
from carevalue.pathways.care_cycles import build_cycles
from carevalue.pathways.case_mix import case_mix_columns
from carevalue.pathways.lazy_tables import Later, LazyTables
from carevalue.pathways.qualifying_events import (
    ENCOUNTER_COLUMNS,
    PATIENT_COLUMNS,
    qualifying_events,
)

Tables = Mapping[str, ibis.Table]
FEEDS_NEEDED = ("patients", "encounters", "diagnoses", "activities", "observations")
EPISODE_CORE_COLUMNS = (
    "episode_id",
    "condition",
    "pack_version",
    "patient_id",
    "cycle_number",
    "index_encounter_id",
    "index_at",
    "index_date",
    "cycle_start",
    "cycle_end",
    "cycle_end_event_at",
    "cycle_complete",
    "lookback_incomplete",
    "age",
    *ENCOUNTER_COLUMNS,
    *PATIENT_COLUMNS,
    "age_band",
    "ethnic_group",
    "admission_month",
    "admission_quarter",
    "financial_year",
)


@dataclass(frozen=True)
class DataSpan:
    """The first and last dates the loaded data cover (from encounter starts)."""

    first: date
    last: date


def data_span(t: Tables) -> DataSpan:
    # One row, read through Arrow: no pandas frame to build and convert for two dates.
    span = t["encounters"].aggregate(first=_.start_at.min().date(), last=_.start_at.max().date())
    row = span.to_pyarrow().to_pylist()[0]
    return DataSpan(first=_as_date(row["first"]), last=_as_date(row["last"]))


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") else value


def prepare_tables(ctx: RunContext, t: Tables) -> LazyTables:
    """The feeds as the episode builder reads them, named once per run: codes normalised
    (``code_norm``), and each activity with its encounter's setting and specialty. Every
    pack's expressions then refer to these views instead of repeating the work. Each view
    is made when an expression first asks for it (``LazyTables``), so a run whose packs
    never read activities makes no activities view."""

    def diagnoses() -> ibis.Table:
        prepared = t["diagnoses"].mutate(code_norm=normalised_code(_.code_system, _.code))
        return ctx.scratch_view("prepared_diagnoses", prepared)

    def activities() -> ibis.Table:
        settings = t["encounters"].select("encounter_id", "setting", "specialty")
        joined = left_join(t["activities"], settings, "encounter_id")
        prepared = joined.mutate(code_norm=normalised_code(_.code_system, _.code))
        return ctx.scratch_view("prepared_activities", prepared)

    plain = {
        name: Later(lambda name=name: t[name])
        for name in ("patients", "encounters", "observations")
    }
    return LazyTables({**plain, "diagnoses": Later(diagnoses), "activities": Later(activities)})


def episode_id(condition: str, patient_id, encounter_id):
    digest = (ibis.literal(condition + "|") + patient_id + "|" + encounter_id).hexdigest("sha256")
    return ibis.literal(condition + "-") + digest.substr(0, 16)


def build_episodes(
    ctx: RunContext, t: Tables, pack: ConditionPack, span: DataSpan
) -> tuple[ibis.Table, ibis.Table]:
    """Episodes and their activities for one pack; ``t`` comes from ``prepare_tables``."""
    episodes = case_mix_columns(t, pack, episode_core(ctx, t, pack, span))
    episodes = ctx.scratch_table(f"{pack.id}_episodes_with_case_mix", episodes)
    return episodes, episode_activities(t, pack, episodes)


def episode_core(ctx: RunContext, t: Tables, pack: ConditionPack, span: DataSpan) -> ibis.Table:
    """Episodes with their index event, cycle, flags and segments (no case mix yet).

    The index encounter's and the patient's columns come with the qualifying events, so
    this step reads no feed table again. The result is an expression over the
    materialised qualifying events (and any materialised rounds of cycles), not a table:
    ``build_episodes`` writes the episodes once, with their case mix, instead of writing
    these columns and then copying them."""
    cycles = build_cycles(ctx, t, pack, qualifying_events(t, pack))
    episodes = cycles.select(
        "patient_id",
        "cycle_number",
        "age",
        "cycle_start",
        "cycle_end",
        "cycle_end_event_at",
        *ENCOUNTER_COLUMNS,
        *PATIENT_COLUMNS,
        index_encounter_id=_.encounter_id,
        index_at=_.event_at,
        index_date=_.event_date,
    )
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
    return episodes.select(*EPISODE_CORE_COLUMNS)


def episode_activities(t: Tables, pack: ConditionPack, episodes: ibis.Table) -> ibis.Table:
    activities = t["activities"]
    cycles = episodes.select(
        "episode_id", "condition", "patient_id", "index_date", "cycle_start", "cycle_end"
    )
    rows = cycles.join(activities, "patient_id")
    rows = rows.filter(rows.start_at.date().between(rows.cycle_start, rows.cycle_end))
    rows = rows.mutate(day=day_number(rows.start_at, rows.index_date))
    rows = rows.mutate(stage=stage_of(rows, pack))
    return rows.select(
        "episode_id",
        "condition",
        "patient_id",
        "activity_id",
        "encounter_id",
        "activity_type",
        "code_system",
        "code",
        "department",
        "cost_centre",
        "setting",
        "specialty",
        "start_at",
        "end_at",
        "minutes",
        "quantity",
        "day",
        "stage",
        activity_label=activity_label(rows, pack, rows.stage),
    )
