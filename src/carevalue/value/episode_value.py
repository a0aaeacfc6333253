"""``episode_value``: one row per episode with its whole-pathway cost, the cost each value
equation counts, its outcome vector and expected values, and each equation's numerator.

Pure: data frames in, a data frame out.

Numerators put every outcome on a 0-1 scale where 1 is best: a 0/1 outcome as it is, or
reversed when lower is better (death within 90 days becomes survival); a number is scaled
by the smallest and largest measured values of the condition (reversed when lower is
better). A composite numerator is the weighted sum, and is blank for an episode missing
any of its outcomes (the equation's complete cases), so a missing PROM never counts as a
bad or a good result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carevalue.outcomes import MEASURED
from carevalue.packs.measures import BINARY_KINDS, BINARY_SCORINGS, WeightedOutcome
from carevalue.packs.model import ConditionPack

SEGMENT_COLUMNS = ("site", "team", "age_band", "sex", "imd_quintile", "ethnic_group")
PERIOD_COLUMNS = ("admission_month", "admission_quarter", "financial_year")


def is_binary(outcome) -> bool:
    return outcome.kind in BINARY_KINDS or getattr(outcome, "scoring", None) in BINARY_SCORINGS


def episode_value(
    pack: ConditionPack, episodes: pd.DataFrame, outcomes: pd.DataFrame, stage_costs: pd.DataFrame
) -> pd.DataFrame:
    """``episodes``: the pack's episodes (segments, periods, ``cm_`` columns);
    ``outcomes``: its ``episode_outcomes`` rows (with ``expected``); ``stage_costs``:
    episode_id, stage, amount (one costing method)."""
    frame = episodes[
        [
            "episode_id",
            "condition",
            "patient_id",
            "index_date",
            "cycle_complete",
            *[c for c in SEGMENT_COLUMNS if c != "imd_quintile"],
            "imd_decile",
            *PERIOD_COLUMNS,
            *[c for c in episodes.columns if c.startswith("cm_") and "__" not in c],
        ]
    ].copy()
    frame["imd_quintile"] = ((frame["imd_decile"] + 1) // 2).astype("Int64")
    costs = stage_costs.groupby(["episode_id", "stage"], as_index=False)["amount"].sum()
    costs["amount"] = costs["amount"].astype("float64")
    whole = costs.groupby("episode_id")["amount"].sum()
    frame["cost_whole_cycle"] = frame["episode_id"].map(whole).fillna(0.0)
    for equation in pack.value_equations:
        if equation.cost.scope == "whole_cycle":
            frame[f"cost__{equation.id}"] = frame["cost_whole_cycle"]
        else:
            scoped = (
                costs[costs["stage"].isin(equation.cost.stages)]
                .groupby("episode_id")["amount"]
                .sum()
            )
            frame[f"cost__{equation.id}"] = frame["episode_id"].map(scoped).fillna(0.0)

    measured = outcomes[outcomes["status"] == MEASURED]
    for outcome in pack.outcomes:
        mine = measured[measured["outcome_id"] == outcome.id].set_index("episode_id")
        frame[f"out__{outcome.id}"] = frame["episode_id"].map(mine["value"]).astype("float64")
        every = outcomes[outcomes["outcome_id"] == outcome.id].set_index("episode_id")
        frame[f"status__{outcome.id}"] = frame["episode_id"].map(every["status"])
        frame[f"complete__{outcome.id}"] = (
            frame["episode_id"].map(every["follow_up_complete"]).fillna(False).astype(bool)
        )
        if outcome.risk_model is not None:
            frame[f"exp__{outcome.id}"] = (
                frame["episode_id"].map(every["expected"]).astype("float64")
            )
    scales = outcome_scales(pack, frame)
    for equation in pack.value_equations:
        frame[f"num__{equation.id}"] = numerator(frame, equation.numerator, scales)
    return frame


def numerator(frame: pd.DataFrame, weights: tuple[WeightedOutcome, ...], scales: dict) -> pd.Series:
    """Weighted sum of 0-1 scaled outcomes; blank where any is blank."""
    total = pd.Series(0.0, index=frame.index)
    for term in weights:
        total = total + term.weight * scales[term.outcome]
    return total


def _scale(outcome, values: pd.Series) -> pd.Series:
    better_high = outcome.direction == "higher_is_better"
    if is_binary(outcome):
        return values if better_high else 1.0 - values
    low, high = values.min(), values.max()
    if not np.isfinite(low) or high == low:
        return pd.Series(np.where(values.notna(), 1.0, np.nan), index=values.index)
    scaled = (values - low) / (high - low)
    return scaled if better_high else 1.0 - scaled


def complete_values(frame: pd.DataFrame, outcome_id: str) -> pd.Series:
    """The outcome where it was measured with its window closed (blank elsewhere): what
    cohort figures count."""
    return frame[f"out__{outcome_id}"].where(frame[f"complete__{outcome_id}"])


def outcome_scales(pack: ConditionPack, frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {o.id: _scale(o, complete_values(frame, o.id)) for o in pack.outcomes}
