"""The outcome half of a pack's test patients: ``expect.outcomes`` in a test file.

    expect:
      outcomes:
        O1:                       # patient_id (their first episode)
          death_90d: {value: 0, status: measured}
          door_to_needle: {value: 50}
          mrs_90d: {status: not_due}

Each expected outcome gives a ``status``, a ``value`` (compared to 1e-6) or both.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from carevalue.foundation.run_context import RunContext
from carevalue.outcomes import build_episode_outcomes
from carevalue.packs.model import ConditionPack

TOLERANCE = 1e-6


def check_outcomes(
    ctx: RunContext,
    tables: dict[str, ibis.Table],
    pack: ConditionPack,
    episodes: ibis.Table,
    expected: dict,
    cutoff: date,
) -> list[str]:
    """Failures, one sentence each, comparing the pack's outcomes with ``expected``."""
    if not expected:
        return []
    unknown = sorted(
        {o for outcomes in expected.values() for o in outcomes} - {o.id for o in pack.outcomes}
    )
    if unknown:
        return [f"the test expects outcome '{unknown[0]}', which the pack does not declare"]
    got = build_episode_outcomes(ctx, tables, pack, episodes, cutoff)
    first = episodes.select("episode_id", "patient_id", "cycle_number").execute()
    first = first[
        first["cycle_number"] == first.groupby("patient_id")["cycle_number"].transform("min")
    ]
    episode_of = dict(zip(first["patient_id"], first["episode_id"], strict=True))
    failures = []
    for patient, outcomes in expected.items():
        episode = episode_of.get(str(patient))
        if episode is None:
            failures.append(f"patient {patient}: no episode was built, so no outcomes to check")
            continue
        rows = got[got["episode_id"] == episode].set_index("outcome_id")
        for outcome_id, want in outcomes.items():
            row = rows.loc[outcome_id]
            if "status" in want and row["status"] != want["status"]:
                failures.append(
                    f"patient {patient}, {outcome_id}: expected status {want['status']}, "
                    f"got {row['status']}"
                )
            if "value" in want and not _same(row["value"], want["value"]):
                failures.append(
                    f"patient {patient}, {outcome_id}: expected value {want['value']}, "
                    f"got {row['value']}"
                )
    return failures


def _same(got, want) -> bool:
    if want is None:
        return pd.isna(got)
    return not pd.isna(got) and abs(float(got) - float(want)) <= TOLERANCE
