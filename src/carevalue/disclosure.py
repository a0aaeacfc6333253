"""Disclosure control: the one place that decides what a small cell may show.

A cell (a team, a site, a period, a population group) with fewer episodes than the pack's
``reporting.min_cell`` (default 10) is never shown as a bare rate, mean or ratio: its
figures are blanked and it says "too few to report". Every report, table, chart and
download reads cells through :func:`suppress_small_cells`, so there is one rule to review.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_MIN_CELL = 10
TOO_FEW = "too few to report"


def too_few_note(min_cell: int) -> str:
    return f"{TOO_FEW} (fewer than {min_cell} episodes)"


def suppress_small_cells(
    frame: pd.DataFrame, min_cell: int, *, count: str = "n", figures: tuple[str, ...] = ()
) -> pd.DataFrame:
    """``frame`` with ``suppressed`` set and ``figures`` blanked where ``count`` < min_cell.

    The count itself stays: knowing that a team had fewer than ten patients is not
    disclosive, and hiding it would make totals fail to add up."""
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell}")
    frame = frame.copy()
    small = frame[count] < min_cell
    frame["suppressed"] = small.to_numpy()
    for column in figures:
        if column in frame.columns:
            frame[column] = frame[column].astype("float64")
            frame.loc[small, column] = np.nan
    note = frame["note"] if "note" in frame.columns else pd.Series(None, index=frame.index, dtype="object")
    frame["note"] = np.where(small, too_few_note(min_cell), note)
    return frame
