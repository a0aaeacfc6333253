"""Case-mix scores built from several recorded values: Charlson from the diagnoses in the
variable's window, FIB-4 and APRI from the readings the episode builder collected.

The Ibis part gathers each episode's ICD-10 codes in the window; the scoring is the pure
scores library. A score whose inputs are missing or out of range is left blank (a
missing case-mix value is ordinary in hospital data) and counted in ``ScoreReport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from carevalue.foundation.days import day_number
from carevalue.outcomes import scores
from carevalue.packs.measures import ApriScore, CharlsonScore, Fib4Score
from carevalue.packs.model import ConditionPack

CHARLSON_WEIGHTS = {"quan2011": "quan2011", "charlson1987": "charlson1987", "shmi_v1_35": "shmi"}


@dataclass
class ScoreReport:
    blank: dict[str, int] = field(default_factory=dict)  # variable id -> episodes left blank


def score_case_mix(
    t: dict[str, ibis.Table], pack: ConditionPack, episodes: ibis.Table, frame: pd.DataFrame
) -> tuple[pd.DataFrame, ScoreReport]:
    """``frame`` (episodes executed, with ``cm_`` inputs) plus one ``cm_<id>`` column per
    score the pack declares."""
    frame = frame.copy()
    report = ScoreReport()
    for variable in pack.case_mix:
        column = f"cm_{variable.id}"
        if isinstance(variable, CharlsonScore):
            codes = _codes_in_window(t, episodes, variable.window)
            weights = CHARLSON_WEIGHTS[variable.variant]
            per_episode = codes.groupby("episode_id")["code"].apply(list)
            values = {episode: _charlson(found, weights) for episode, found in per_episode.items()}
            # No ICD-10 code in the window is a Charlson index of 0, not a missing value.
            frame[column] = frame["episode_id"].map(values).fillna(0).astype("int64")
        elif isinstance(variable, Fib4Score):
            frame[column] = [
                _safe(scores.fib4, age, ast, alt, plt)
                for age, ast, alt, plt in zip(
                    frame["age"],
                    frame[f"{column}__ast"],
                    frame[f"{column}__alt"],
                    frame[f"{column}__platelets"],
                    strict=True,
                )
            ]
        elif isinstance(variable, ApriScore):
            frame[column] = [
                _safe(scores.apri, ast, variable.ast_upper_limit_of_normal, plt)
                for ast, plt in zip(
                    frame[f"{column}__ast"], frame[f"{column}__platelets"], strict=True
                )
            ]
        else:
            continue
        report.blank[variable.id] = int(frame[column].isna().sum())
    return frame, report


def _charlson(codes: list[str], weights: str) -> int:
    """Charlson of the codes that are ICD-10 shaped; a malformed code (already flagged by
    the data-quality checks) scores nothing rather than stopping the run."""
    try:
        return scores.charlson(codes, weights=weights)
    except ValueError:
        usable = []
        for code in codes:
            try:
                scores.charlson_groups([code], weights=weights)
                usable.append(code)
            except ValueError:
                continue
        return scores.charlson(usable, weights=weights)


def _safe(score, *inputs) -> float:
    try:
        return float(score(*inputs))
    except ValueError:
        return np.nan


def _codes_in_window(t, episodes: ibis.Table, window) -> pd.DataFrame:
    d = t["diagnoses"].filter(lambda r: r.code_system == "ICD10")
    starts = t["encounters"].select("encounter_id", when=t["encounters"].start_at)
    d = d.select("patient_id", "encounter_id", code="code_norm").join(starts, "encounter_id")
    rows = episodes.select("episode_id", "patient_id", "index_date").join(d, "patient_id")
    day = day_number(rows.when, rows.index_date)
    rows = rows.filter(day.between(window.from_day, window.to_day))
    return rows.select("episode_id", "code").distinct().execute()
