"""The outcomes stage of a run, for every pack: outcomes per episode, case-mix scores and
risk models (expected values beside the observed).

Reads the run's episodes (Ibis tables); writes nothing itself: ``runs.run_pipeline``
publishes the frames returned here as the run's tables, and the value stage
(``carevalue.value``) reads them.
Every aggregate among them has been through ``carevalue.disclosure`` with its pack's
``reporting.min_cell``, which the run publishes as ``disclosure_rules`` for later reports.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date

import ibis
import numpy as np
import pandas as pd

from carevalue import disclosure
from carevalue.foundation.run_context import RunContext
from carevalue.outcomes.case_mix_scores import score_case_mix
from carevalue.outcomes.derived_outcomes import MEASURED
from carevalue.outcomes.episode_outcomes import build_episode_outcomes
from carevalue.outcomes.risk_models import expected_values
from carevalue.packs.model import ConditionPack

OUTCOME_TABLES = ("episode_outcomes", "risk_models", disclosure.RULES_TABLE)
MODEL_COLUMNS = [
    "condition",
    "outcome_id",
    "family",
    "fitted",
    "reason",
    "n",
    "events",
    "c_statistic",
    "coefficients",
    "calibration",
    "fit_on",
]


@dataclass
class OutcomesResult:
    """``tables``: the stage's tables by name; ``episodes`` and ``outcomes``: per pack, the
    episode frame with its case-mix scores and the outcomes with expected values, which
    the value stage reads; ``models``: one report per risk model, fitted or not."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    models: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    blank_scores: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # pack -> score -> episodes
    episodes: dict[str, pd.DataFrame] = field(default_factory=dict)
    outcomes: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_outcomes_stage(
    ctx: RunContext,
    t: dict[str, ibis.Table],
    packs: list[ConditionPack],
    episodes_by_pack: dict[str, ibis.Table],
    cutoff: date,
) -> OutcomesResult:
    """Every pack's outcomes, case-mix scores and risk models for its episodes."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in OUTCOME_TABLES}
    result = OutcomesResult()
    for pack in packs:
        clock = time.perf_counter()
        episodes = episodes_by_pack[pack.id]
        frame, scored = score_case_mix(t, pack, episodes, episodes.execute())
        result.blank_scores[pack.id] = scored.blank
        outcomes = build_episode_outcomes(ctx, t, pack, episodes, cutoff)
        outcomes, models = add_expected(pack, frame, outcomes)
        result.episodes[pack.id] = frame
        result.outcomes[pack.id] = outcomes
        parts["episode_outcomes"].append(outcomes)
        parts["risk_models"].append(
            disclosure.suppress_small_cells(
                pd.DataFrame.from_records(models, columns=MODEL_COLUMNS),
                pack.reporting.min_cell,
                figures=("c_statistic", "coefficients", "calibration"),
            )
        )
        rules = disclosure.rules_frame({pack.id: pack.reporting.min_cell})
        parts[disclosure.RULES_TABLE].append(rules)
        result.models += models
        result.seconds[pack.id] = round(time.perf_counter() - clock, 2)
    result.tables = concatenated(parts)
    return result


def concatenated(parts: dict[str, list[pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """One frame per table from the per-pack frames (empty ones left out unless all are)."""
    tables = {}
    for name, frames in parts.items():
        frames = [f for f in frames if not f.empty] or frames[:1]
        tables[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return tables


def add_expected(
    pack: ConditionPack, frame: pd.DataFrame, outcomes: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict]]:
    """``outcomes`` with ``expected`` filled for outcomes that have a risk model, and one
    report per model (fitted or not, and why)."""
    outcomes = outcomes.copy()
    outcomes["expected"] = np.nan
    reports = []
    for outcome in pack.outcomes:
        model = outcome.risk_model
        if model is None:
            continue
        mine = outcomes[outcomes["outcome_id"] == outcome.id][["episode_id", "value", "status"]]
        rows = frame.merge(mine, on="episode_id", how="left").set_index("episode_id")
        fit_mask = rows["status"] == MEASURED
        if model.fit_on is not None:
            index_dates = pd.to_datetime(rows["index_date"]).dt.date
            fit_mask &= (index_dates >= model.fit_on.from_date) & (
                index_dates <= model.fit_on.to_date
            )
        expected, fitted = expected_values(outcome.id, model, rows, fit_mask)
        where = outcomes["outcome_id"] == outcome.id
        outcomes.loc[where, "expected"] = outcomes.loc[where, "episode_id"].map(expected).to_numpy()
        reports.append(
            {
                "condition": pack.id,
                "outcome_id": outcome.id,
                "family": fitted.family,
                "fitted": fitted.fitted,
                "reason": fitted.reason,
                "n": fitted.n,
                "events": fitted.events,
                "c_statistic": fitted.c_statistic,
                "coefficients": json.dumps(fitted.coefficients),
                "calibration": calibration_json(fitted.calibration, pack.reporting.min_cell),
                "fit_on": None
                if model.fit_on is None
                else f"{model.fit_on.from_date} to {model.fit_on.to_date}",
            }
        )
    return outcomes, reports


def calibration_json(calibration: pd.DataFrame | None, min_cell: int) -> str | None:
    """A model's calibration by decile as JSON records, a decile of fewer than ``min_cell``
    episodes without its expected and observed figures."""
    if calibration is None:
        return None
    shown = disclosure.suppress_small_cells(calibration, min_cell, figures=("expected", "observed"))
    return shown.to_json(orient="records")
