"""CSV and Excel downloads of exactly what a panel shows, with their metadata: the run,
the filters, the definition's version, and whether small numbers were suppressed."""

from __future__ import annotations

import io

import pandas as pd

from carevalue.csv_export import csv_text, neutralise_formulae
from carevalue.web.panels import Panel


def metadata(
    panel: Panel,
    *,
    condition: str,
    pack_version: str,
    run_id: str,
    data_last_date: str,
    filters: str,
    suppression: str,
) -> list[tuple[str, str]]:
    return [
        ("Table", panel.title),
        ("What it shows", panel.sentence),
        ("Condition", condition),
        ("Condition pack version", pack_version),
        ("Run", run_id),
        ("Data up to", data_last_date),
        ("Filters", filters),
        ("Small-number suppression", suppression),
    ]


def as_csv(panel: Panel, meta: list[tuple[str, str]]) -> str:
    """The panel's table as CSV, each metadata line a leading '# name: value' row, through
    the one CSV writer that neutralises spreadsheet formulae."""
    # Comment lines a reader (or pandas' comment="#") skips; a line beginning "#" is never
    # a formula, and line breaks are flattened so each stays one line.
    lines = "".join(f"# {name}: {' '.join(str(value).split())}\n" for name, value in meta)
    return lines + csv_text(panel.download_frame())


def as_excel(panel: Panel, meta: list[tuple[str, str]]) -> bytes:
    """A workbook with the table on its first sheet and the metadata on a second."""
    buffer = io.BytesIO()
    # xlsxwriter would write text beginning '=' as a formula: every string stays text.
    options = {"options": {"strings_to_formulas": False, "strings_to_urls": False}}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs=options) as writer:
        neutralise_formulae(panel.download_frame()).to_excel(writer, sheet_name="data", index=False)
        pd.DataFrame(meta, columns=["about", "value"]).to_excel(
            writer, sheet_name="about", index=False
        )
    return buffer.getvalue()
