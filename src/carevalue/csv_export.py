"""CSV files for people: every CSV CareValue writes as an export goes through here.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and some read one
that begins with a tab or carriage return) as a formula, so a site, team or label taken
from a trust's extract could run a formula on the reader's machine when the export is
opened ("CSV injection", OWASP). :func:`neutralise_formulae` puts a single quote in front
of such a cell when it is text, as OWASP advises, so the spreadsheet shows it as text.

The rule, cell by cell:

- text (a Python ``str``) that begins with one of ``FORMULA_STARTS`` gains a leading ``'``;
  column names are text too;
- numbers (including negative numbers), booleans, dates and blanks are left alone: a
  spreadsheet reads ``-3.5`` written from a number as the number it is;
- text that looks like a number (``"-3.5"`` in a text column) is still text and is
  neutralised: telling a harmless ``-3.5`` from ``-3+cmd|...`` or ``-1E3`` would need a
  second parser whose rules must match every spreadsheet's, and a figure CareValue
  computes is a number, never text, so only values read from text fields are affected.

The synthetic trust's feeds (``carevalue.synthetic.writer``) are input for CareValue's
ingest, not exports, and do not come here (see that module).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise_cell(value: object) -> object:
    """``value`` with a leading single quote if it is text a spreadsheet would read as a
    formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def neutralise_formulae(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name neutralised (pure)."""
    columns = []
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        # Number, boolean, date and duration columns hold no text.
        if column.dtype.kind not in "biufcmM":
            column = column.astype(object).map(neutralise_cell)
        columns.append(column)
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = [neutralise_cell(name) for name in frame.columns]
    out.index = frame.index
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` (without its index) to ``path`` as CSV safe to open in a spreadsheet."""
    neutralise_formulae(frame).to_csv(path, index=False)
    return path


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` (without its index) as CSV text safe to open in a spreadsheet, for a
    download sent straight to a browser."""
    return neutralise_formulae(frame).to_csv(index=False)
