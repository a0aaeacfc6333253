"""Quality-adjusted life years over a window, from a utility outcome and survival.

QALYs = utility x days alive in the window / 365.25. One utility measurement (EQ-5D at 90
days, say) stands for the whole window: the area under a flat utility curve, the usual
approximation when a pathway collects one PROM. A patient who dies before the utility is
collected contributes their days alive at utility 0 (death's utility; the days before an
early death are few, so this understates QALYs slightly rather than dropping the sickest
patients). Pure: data frames in, a data frame out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carevalue.outcomes.derived_outcomes import MEASURED, MISSING, NOT_APPLICABLE, NOT_DUE
from carevalue.packs.measures import QalyWithin

DAYS_PER_YEAR = 365.25


def qaly_outcome(
    outcome: QalyWithin, people: pd.DataFrame, utility: pd.DataFrame, cutoff
) -> pd.DataFrame:
    """``people``: episode_id, index_date, death_date; ``utility``: the utility outcome's
    episode_id, value, status. One row per episode: episode_id, value, status, event_at,
    window_end, note."""
    frame = people.merge(utility[["episode_id", "value", "status"]], on="episode_id", how="left")
    index = pd.to_datetime(frame["index_date"])
    start = index + pd.to_timedelta(outcome.window.from_day, unit="D")
    end = index + pd.to_timedelta(outcome.window.to_day, unit="D")
    death = pd.to_datetime(frame["death_date"])
    died = death.notna() & (death <= end)
    length = outcome.window.to_day - outcome.window.from_day + 1
    alive = np.where(died, ((death - start).dt.days).clip(lower=0), length).astype(float)
    measured_utility = frame["status"] == MEASURED
    closed = end <= pd.Timestamp(cutoff)
    value = np.where(measured_utility, frame["value"] * alive / DAYS_PER_YEAR, np.nan)
    value = np.where(~measured_utility & died, 0.0 * alive, value)  # see the module docstring
    status = np.select(
        [~closed & ~died, measured_utility | died, frame["status"] == NOT_APPLICABLE],
        [NOT_DUE, MEASURED, NOT_APPLICABLE],
        default=MISSING,
    )
    value = np.where(status == MEASURED, value, np.nan)
    return pd.DataFrame(
        {
            "episode_id": frame["episode_id"],
            "value": value.astype("float64"),
            "status": status,
            "event_at": pd.NaT,
            "window_end": end.dt.date,
            "note": np.where(
                died & ~measured_utility & (status == MEASURED),
                "died before the utility was collected: days alive count at utility 0",
                None,
            ),
        }
    )
