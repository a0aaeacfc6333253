"""``episode_outcomes`` for one pack: every declared outcome for every episode, long.

Derived outcomes are Ibis expressions over the feeds (``derived_outcomes``); PROM scores
are matched in Ibis and scored by the pure scores library (``prom_outcomes``). Outcomes that
read another outcome (a cascade step, reinfection after cure) are computed after it,
whatever order the pack lists them in.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from carevalue.foundation.run_context import RunContext
from carevalue.outcomes.derived_outcomes import derived_outcome
from carevalue.outcomes.episode_facts import episode_facts
from carevalue.outcomes.prom_outcomes import matched_responses, score_prom_outcome
from carevalue.outcomes.qaly import qaly_outcome
from carevalue.packs.measures import CascadeStep, PromScore, QalyWithin, ReinfectionAfterCure
from carevalue.packs.model import ConditionPack
from carevalue.warehouse import warehouse_table

COLUMNS = [
    "episode_id",
    "condition",
    "outcome_id",
    "kind",
    "tier",
    "direction",
    "timepoint",
    "source",
    "value",
    "status",
    "event_at",
    "window_end",
    "follow_up_complete",
    "note",
]


def outcome_order(pack: ConditionPack) -> list:
    """The pack's outcomes with every outcome after the ones it reads."""
    pending = list(pack.outcomes)
    done: list = []
    while pending:
        ready = [o for o in pending if all(d in {x.id for x in done} for d in _reads(o))]
        if not ready:  # validation rejects cycles; this guards a pack built in code
            raise ValueError(
                f"pack {pack.id}: outcomes {[o.id for o in pending]} read each other in a cycle"
            )
        done.extend(ready)
        pending = [o for o in pending if o not in ready]
    return done


def _reads(outcome) -> list[str]:
    if isinstance(outcome, CascadeStep):
        return [x for x in (outcome.previous_step, outcome.evidence.outcome) if x]
    if isinstance(outcome, ReinfectionAfterCure):
        return [outcome.cure_outcome]
    if isinstance(outcome, QalyWithin):
        return [outcome.utility_outcome]
    return []


def build_episode_outcomes(
    ctx: RunContext,
    t: dict[str, ibis.Table],
    pack: ConditionPack,
    episodes: ibis.Table,
    cutoff: date,
) -> pd.DataFrame:
    """All of the pack's outcomes for its episodes (``COLUMNS``)."""
    facts = episode_facts(ctx, t, episodes, pack.id)
    computed: dict[str, ibis.Table] = {}
    frames = []
    people = None
    for outcome in outcome_order(pack):
        if isinstance(outcome, PromScore):
            if people is None:
                people = _people(facts, episodes)
            matched = _matched(t, facts, outcome)
            frame = score_prom_outcome(outcome, people, matched, cutoff)
            computed[outcome.id] = ctx.scratch_table(
                f"{pack.id}_outcome_{outcome.id}",
                warehouse_table(frame.drop(columns=["note", "window_end"])),
            )
        elif isinstance(outcome, QalyWithin):
            if people is None:
                people = _people(facts, episodes)
            utility = computed[outcome.utility_outcome].execute()
            frame = qaly_outcome(outcome, people, utility, cutoff)
            computed[outcome.id] = ctx.scratch_table(
                f"{pack.id}_outcome_{outcome.id}",
                warehouse_table(frame.drop(columns=["note", "window_end"])),
            )
        else:
            expr = derived_outcome(t, pack, facts, outcome, cutoff, computed)
            computed[outcome.id] = ctx.scratch_table(f"{pack.id}_outcome_{outcome.id}", expr)
            frame = computed[outcome.id].execute()
            frame["note"] = None
        frames.append(_labelled(frame, pack, outcome, cutoff))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def _people(facts: ibis.Table, episodes: ibis.Table) -> pd.DataFrame:
    ages = episodes.select("episode_id", "age", "sex")
    return (
        facts.select(
            "episode_id", "index_date", "cycle_end_event_at", "cycle_complete", "death_date"
        )
        .join(ages, "episode_id")
        .execute()
    )


def _matched(t, facts, outcome: PromScore) -> pd.DataFrame:
    if "prom_responses" not in t:
        return pd.DataFrame(columns=["episode_id", "response_id", "collected_at", "items"])
    return matched_responses(t, facts, outcome).execute()


def _labelled(frame: pd.DataFrame, pack: ConditionPack, outcome, cutoff: date) -> pd.DataFrame:
    frame = frame.copy()
    frame["condition"] = pack.id
    frame["outcome_id"] = outcome.id
    frame["kind"] = outcome.kind
    frame["tier"] = outcome.tier
    frame["direction"] = outcome.direction
    frame["timepoint"] = outcome.timepoint
    frame["source"] = outcome.source
    frame["value"] = frame["value"].astype("float64")
    frame["event_at"] = pd.to_datetime(frame["event_at"])
    frame["window_end"] = pd.to_datetime(frame["window_end"]).dt.date
    # Cohort rates use only episodes whose window has closed: counting early events while
    # the quiet majority is not yet due would inflate them.
    frame["follow_up_complete"] = frame["window_end"].isna() | (
        pd.to_datetime(frame["window_end"]) <= pd.Timestamp(cutoff)
    )
    return frame
