"""Disclosure control: the one place that decides what a small cell may show.

A cell (a team, a site, a period, a population group, a stage or resource of a condition)
resting on fewer episodes than the pack's ``reporting.min_cell`` (default 10) is never
shown as a bare rate, mean, total, share or ratio: its figures are blanked, ``suppressed``
is true and ``note`` says "too few to report". Every aggregate table, report, chart and
download reads its cells through :func:`suppress` (or :func:`reportable`, for a ranking
that leaves small cells out), so there is one rule to review:

- each figure names the count(s) of episodes it was computed from; it is blanked where
  any of them is below ``min_cell`` (a missing count counts as too few);
- counts themselves stay: knowing that a team had fewer than ten patients is not
  disclosive, and hiding it would make the counts fail to add up.

:func:`suppress` is primary suppression: where the other cells of a table and their total
are shown, a reader could still work a blanked figure out by subtraction.
:func:`suppress_complementary` adds secondary suppression for the outputs that need it
(every commissioner-facing page and download of the web app): within each group of rows
that add up to a shown total, a lone blanked cell takes the next smallest cell with it.

``min_cell`` is one number, or one per condition (the packs' ``reporting.min_cell``, which
each run publishes as the ``disclosure_rules`` table so that reports read later use the
same rule). Pure, but for :func:`run_min_cells`: data frames in, data frames out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

DEFAULT_MIN_CELL = 10
TOO_FEW = "too few to report"
# The run's table of each condition's min_cell, read back by reports over that run.
RULES_TABLE = "disclosure_rules"
RULES_COLUMNS = ["condition", "min_cell"]

MinCell = int | Mapping[str, int]


def too_few_note(min_cell: int) -> str:
    return f"{TOO_FEW} (fewer than {min_cell} episodes)"


def too_small(counts: pd.Series, min_cell: int | pd.Series) -> pd.Series:
    """True where a count of episodes is below ``min_cell`` or unknown."""
    return ~(pd.to_numeric(counts, errors="coerce") >= min_cell).fillna(False).astype(bool)


def reportable(counts: pd.Series, min_cell: int | pd.Series) -> pd.Series:
    """True where a cell has enough episodes to be reported (or ranked)."""
    return ~too_small(counts, min_cell)


def row_min_cell(frame: pd.DataFrame, min_cell: MinCell, *, by: str = "condition") -> pd.Series:
    """Each row's min_cell: ``min_cell`` itself, or looked up by the row's ``by`` column
    (DEFAULT_MIN_CELL for a condition the mapping does not name)."""
    if isinstance(min_cell, Mapping):
        values = frame[by].map(dict(min_cell)).astype("float64").fillna(DEFAULT_MIN_CELL)
    else:
        values = pd.Series(min_cell, index=frame.index, dtype="float64")
    if (values < 1).any():
        raise ValueError(f"min_cell must be at least 1, not {int(values[values < 1].iloc[0])}")
    return values.astype("int64")


def suppress(
    frame: pd.DataFrame,
    min_cell: MinCell,
    rules: Mapping[str, Sequence[str]],
    *,
    by: str = "condition",
) -> pd.DataFrame:
    """``frame`` with every figure blanked where a count it rests on is too small.

    ``rules`` maps each count column to the figure columns computed from the episodes it
    counts (a figure may rest on several counts). ``suppressed`` (kept true where it was
    already) says a count of the row is too small; ``note`` says so, naming the blanked
    figures when others in the row are still shown."""
    threshold = row_min_cell(frame, min_cell, by=by)
    frame = frame.copy()
    present = list(
        dict.fromkeys(c for figures in rules.values() for c in figures if c in frame.columns)
    )
    blanked = pd.DataFrame(False, index=frame.index, columns=present)
    hit = pd.Series(False, index=frame.index)
    for count, figures in rules.items():
        small = too_small(frame[count], threshold)
        hit |= small
        for column in figures:
            if column in present:
                blanked[column] |= small
    for column in present:
        frame[column] = _blank(frame[column], blanked[column])
    before = (
        frame["suppressed"]
        if "suppressed" in frame.columns
        else pd.Series(False, index=frame.index)
    )
    frame["suppressed"] = (before.eq(True) | hit).to_numpy()
    note = (
        frame["note"]
        if "note" in frame.columns
        else pd.Series(None, index=frame.index, dtype="object")
    )
    frame["note"] = np.where(hit, _notes(hit, blanked, threshold), note.astype("object"))
    return frame


def suppress_complementary(
    frame: pd.DataFrame,
    *,
    count: str,
    figures: Sequence[str],
    within: Sequence[str] = (),
) -> pd.DataFrame:
    """Secondary suppression: in each group of rows (``within``; the whole frame when
    empty) where exactly one row is suppressed, the unsuppressed row with the fewest
    episodes is blanked too, so no hidden figure can be recovered from a total and the
    others. Rows already suppressed keep their note; the added ones say why."""
    if frame.empty or "suppressed" not in frame.columns:
        return frame
    frame = frame.copy()
    present = [c for c in figures if c in frame.columns]
    groups = (
        frame.groupby(list(within), sort=False, dropna=False).indices.values()
        if within
        else [np.arange(len(frame))]
    )
    extra: list[int] = []
    for positions in groups:
        hidden = frame["suppressed"].iloc[positions].eq(True).to_numpy()
        if hidden.sum() != 1 or hidden.all():
            continue
        shown = positions[~hidden]
        counts = pd.to_numeric(frame[count].iloc[shown], errors="coerce").fillna(np.inf)
        extra.append(int(shown[int(np.argmin(counts.to_numpy()))]))
    if not extra:
        return frame
    where = np.zeros(len(frame), dtype=bool)
    where[extra] = True
    mask = pd.Series(where, index=frame.index)
    for column in present:
        frame[column] = _blank(frame[column], mask)
    frame["suppressed"] = frame["suppressed"].eq(True).to_numpy() | where
    note = frame["note"] if "note" in frame.columns else pd.Series(None, index=frame.index)
    frame["note"] = np.where(
        where,
        f"{TOO_FEW}: hidden with a smaller cell so that cell cannot be worked out",
        note.astype("object"),
    )
    return frame


def suppress_small_cells(
    frame: pd.DataFrame, min_cell: MinCell, *, count: str = "n", figures: tuple[str, ...] = ()
) -> pd.DataFrame:
    """:func:`suppress` for a frame whose figures all rest on one count."""
    return suppress(frame, min_cell, {count: figures})


def rules_frame(min_cells: Mapping[str, int]) -> pd.DataFrame:
    """The ``disclosure_rules`` table of a run: one row per condition and its min_cell."""
    return pd.DataFrame(list(min_cells.items()), columns=RULES_COLUMNS).astype(
        {"min_cell": "int64"}
    )


def min_cells(rules: pd.DataFrame | None) -> dict[str, int]:
    """Each condition's min_cell from a ``disclosure_rules`` table (none: the default)."""
    if rules is None:
        return {}
    return {str(c): int(m) for c, m in zip(rules["condition"], rules["min_cell"], strict=True)}


def run_min_cells(con) -> dict[str, int]:
    """Each condition's min_cell as the warehouse's current run published it (none: the
    default for every condition). The one read from a warehouse here, for reports."""
    from carevalue.warehouse import table_or_none

    rules = table_or_none(con, RULES_TABLE)
    return min_cells(None if rules is None else rules.to_pandas())


def _blank(column: pd.Series, where: pd.Series) -> pd.Series:
    # Number figures always become float64, so a table's column types do not depend on
    # whether this run happened to blank anything.
    if column.dtype.kind in "iuf":
        return column.astype("float64").mask(where.to_numpy())
    return column.mask(where.to_numpy(), None) if where.any() else column


def _notes(hit: pd.Series, blanked: pd.DataFrame, threshold: pd.Series) -> pd.Series:
    """The note of every row with a count too small (None elsewhere)."""
    notes = pd.Series(None, index=hit.index, dtype="object")
    for limit in threshold[hit].unique():
        notes[hit & (threshold == limit)] = too_few_note(int(limit))
    hidden = blanked.sum(axis=1)
    partial = hit & (hidden > 0) & (hidden < blanked.shape[1])
    for position in np.flatnonzero(partial.to_numpy()):
        row = blanked.iloc[position]
        notes.iloc[position] += ": " + ", ".join(row.index[row.to_numpy()])
    return notes
