"""PROM and clinician-reported scores matched to episodes and timepoints, then scored.

Matching is Ibis (the responses feed can be large): for each episode, the response to the
outcome's instrument collected inside its window, the one nearest the timepoint when there
are several. Scoring is the pure ``carevalue.outcomes.scores`` library applied to the
matched rows (a few per episode), with a status for every episode:

- a scorable response: ``measured``;
- a response that cannot be scored (an item missing or out of range): ``missing``, with the
  reason kept in ``note``;
- no response, and the patient died before the window closed: mRS-based scorings score
  death (mRS 6, not a good outcome, utility 0) as ``measured``; others ``not_applicable``;
- no response and the window still open at the cut-off: ``not_due``; otherwise ``missing``.
"""

from __future__ import annotations

import json
from datetime import date

import ibis
import numpy as np
import pandas as pd
from ibis import _

from carevalue.foundation.days import day_number
from carevalue.outcomes import scores
from carevalue.outcomes.derived_outcomes import MEASURED, MISSING, NOT_APPLICABLE, NOT_DUE
from carevalue.packs.measures import PromScore

EQ5D_DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")
DEATH_SCORES = {"mrs": 6.0, "mrs_good_outcome": 0.0, "utility_weighted_mrs": 0.0}


def timepoint_day(outcome: PromScore) -> int:
    """Day (from the window's anchor) the measure aims at: 'Nd' means day N; anything else
    the middle of the window."""
    if outcome.timepoint.endswith("d") and outcome.window.relative_to == "index_event":
        return int(outcome.timepoint[:-1])
    return (outcome.window.from_day + outcome.window.to_day) // 2


def matched_responses(
    t: dict[str, ibis.Table], facts: ibis.Table, outcome: PromScore
) -> ibis.Table:
    """episode_id, response_id, collected_at, items: the response nearest the timepoint."""
    window = outcome.window
    anchor = (
        facts.index_date if window.relative_to == "index_event" else facts.cycle_end_event_at.date()
    )
    episodes = facts.select("episode_id", "patient_id", anchor=anchor).filter(_.anchor.notnull())
    responses = (
        t["prom_responses"]
        .filter(_.instrument == outcome.instrument)
        .select("patient_id", "response_id", "collected_at", items=_.items.cast("string"))
    )
    rows = episodes.join(responses, "patient_id")
    day = day_number(rows.collected_at, rows.anchor)
    rows = rows.filter(day.between(window.from_day, window.to_day))
    rows = rows.mutate(_distance=(day - timepoint_day(outcome)).abs())
    # Nearest first; ties go to the earlier response, then the lower id, on every engine.
    ranked = rows.mutate(
        _rank=ibis.row_number().over(
            group_by="episode_id", order_by=[rows._distance, rows.collected_at, rows.response_id]
        )
    )
    return ranked.filter(ranked._rank == 0).select(
        "episode_id", "response_id", "collected_at", "items"
    )


def score_prom_outcome(
    outcome: PromScore, episodes: pd.DataFrame, matched: pd.DataFrame, cutoff: date
) -> pd.DataFrame:
    """One row per episode: episode_id, value, status, event_at, note.

    ``episodes`` has episode_id, index_date, cycle_end_event_at, cycle_complete, death_date,
    age and sex; ``matched`` is ``matched_responses`` executed."""
    frame = episodes.merge(matched, on="episode_id", how="left")
    values, statuses, notes, window_ends = [], [], [], []
    window = outcome.window
    for row in frame.itertuples(index=False):
        anchor = _anchor_date(row, window.relative_to)
        window_ends.append(
            None if anchor is None else (anchor + pd.Timedelta(days=window.to_day)).date()
        )
        if isinstance(row.items, str):
            try:
                values.append(float(_score(outcome, json.loads(row.items), row.age, row.sex)))
                statuses.append(MEASURED)
                notes.append(None)
            except (ValueError, TypeError, KeyError) as problem:
                values.append(np.nan)
                statuses.append(MISSING)
                notes.append(f"response {row.response_id} could not be scored: {problem}")
            continue
        if anchor is None:
            status = NOT_DUE if not row.cycle_complete else NOT_APPLICABLE
            values.append(np.nan)
            statuses.append(status)
            notes.append(None)
            continue
        window_end = anchor + pd.Timedelta(days=window.to_day)
        death = _as_date(row.death_date)
        if death is not None and death <= window_end.date():
            score = DEATH_SCORES.get(outcome.scoring)
            values.append(np.nan if score is None else score)
            statuses.append(NOT_APPLICABLE if score is None else MEASURED)
            notes.append("died before the measure was collected")
        elif window_end.date() > cutoff:
            values.append(np.nan)
            statuses.append(NOT_DUE)
            notes.append(None)
        else:
            values.append(np.nan)
            statuses.append(MISSING)
            notes.append("no response in the window")
    return pd.DataFrame(
        {
            "episode_id": frame["episode_id"],
            "value": pd.array(values, dtype="float64"),
            "status": statuses,
            "event_at": pd.to_datetime(frame["collected_at"]),
            "window_end": window_ends,
            "note": notes,
        }
    )


def _anchor_date(row, relative_to: str):
    value = row.index_date if relative_to == "index_event" else row.cycle_end_event_at
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).normalize()


def _as_date(value) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _score(outcome: PromScore, items: dict, age, sex) -> float:
    scoring = outcome.scoring
    if scoring == "item":
        if outcome.item not in items:
            raise KeyError(f"item '{outcome.item}' is not in the response")
        return float(items[outcome.item])
    if scoring == "eq5d_vas":
        return float(items["VAS"])
    if scoring in ("eq5d5l_to_3l_dsu", "eq5d5l_index_devlin2018"):
        state = "".join(str(int(items[d])) for d in EQ5D_DIMENSIONS)
        if scoring == "eq5d5l_index_devlin2018":
            return scores.eq5d5l_index(state)
        if sex in ("male", "female"):
            return scores.eq5d5l_to_3l(state, int(age), sex)
        # The DSU mapping is published for males and females only; for another or an
        # unrecorded sex take the mean of the two rather than guess one.
        return (
            scores.eq5d5l_to_3l(state, int(age), "male")
            + scores.eq5d5l_to_3l(state, int(age), "female")
        ) / 2
    mrs = int(items["mrs"])
    if scoring == "mrs":
        if not 0 <= mrs <= 6:
            raise ValueError(f"mRS {mrs} is outside 0-6")
        return float(mrs)
    if scoring == "mrs_good_outcome":
        if not 0 <= mrs <= 6:
            raise ValueError(f"mRS {mrs} is outside 0-6")
        return 1.0 if mrs <= 2 else 0.0
    return scores.uw_mrs(mrs)
