"""The synthetic trust's one service change, as its endocarditis team would record it:
the demo's SPC charts then start a new baseline there."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def demo_service_changes(extract: Path) -> pd.DataFrame:
    """condition, change_date, description: the endocarditis team's start date, read from
    the extract's manifest."""
    truth = json.loads((extract / "manifest.json").read_text())["truths"]["endocarditis"]
    return pd.DataFrame(
        [
            {
                "condition": "infective_endocarditis",
                "change_date": pd.Timestamp(truth["service_change_date"]),
                "description": truth["service_change"],
            }
        ]
    )
