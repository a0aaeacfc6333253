"""The outcome reports of the current run, as data frames for a person to read or download.

Every report is aggregate and read from tables that went through small-number suppression
(``carevalue.disclosure``) in the run, with each pack's ``reporting.min_cell``: the metric
series, PROM response and risk models blank their small cells and say so in ``note``; the
value rankings leave small cells out; the SPC icons are drawn from the suppressed metric
series. Nothing here is patient-level, so nothing here needs a patient-level audit.
"""

from __future__ import annotations

import pandas as pd
from ibis.backends import BaseBackend

from carevalue.disclosure import run_min_cells, suppress
from carevalue.errors import UserError
from carevalue.warehouse import table_or_none


def _read(con: BaseBackend, name: str) -> pd.DataFrame:
    table = table_or_none(con, name)
    if table is None:
        raise UserError(
            f"This warehouse has no {name} yet: run 'carevalue run' (or 'carevalue demo') "
            "to compute outcomes."
        )
    return table.to_pandas()


def headline(con: BaseBackend) -> pd.DataFrame:
    """Every metric for all of each condition's episodes, with its interval."""
    series = _read(con, "metric_series")
    overall = series[(series["period_type"] == "all") & (series["segment_type"] == "all")]
    return overall[["condition", "label", "value", "lower", "upper", "n_used", "note"]].reset_index(
        drop=True
    )


def risk_models(con: BaseBackend) -> pd.DataFrame:
    frame = _read(con, "risk_models")
    columns = [
        "condition",
        "outcome_id",
        "family",
        "fitted",
        "reason",
        "n",
        "events",
        "c_statistic",
        "fit_on",
    ]
    return frame[columns + [c for c in ("note",) if c in frame.columns]]


# The figures of the PROM response report and the counts of episodes they rest on.
PROM_FIGURES = {"due": ("response_rate",), "returned": ("crude_mean", "weighted_mean")}


def prom_response(con: BaseBackend) -> pd.DataFrame:
    """Per PROM timepoint: due, returned, response rate, crude and weighted means."""
    frame = _read(con, "prom_response")
    columns = [
        "condition",
        "outcome_id",
        "timepoint",
        "due",
        "returned",
        "response_rate",
        "crude_mean",
        "weighted_mean",
    ]
    frame = frame[columns].drop_duplicates().reset_index(drop=True)
    # Blank already; suppressed again so that the note names only the figures shown here.
    return suppress(frame, run_min_cells(con), PROM_FIGURES)


def value_sensitivity(con: BaseBackend) -> pd.DataFrame:
    frame = _read(con, "value_sensitivity")
    return frame[
        ["condition", "equation", "weight_set", "compared", "cells", "same_order", "kendall_tau"]
    ]


def spc_icons(con: BaseBackend) -> pd.DataFrame:
    """The variation icon of every charted monthly series for all patients of a condition."""
    frame = _read(con, "metric_spc_icons")
    frame = frame[(frame["segment_type"] == "all") & frame["charted"]]
    return frame[
        ["condition", "metric", "observed", "rebase_groups", "mean", "lpl", "upl", "variation"]
    ]


REPORTS = {
    "outcomes_headline": headline,
    "risk_models": risk_models,
    "prom_response": prom_response,
    "value_sensitivity": value_sensitivity,
    "spc_icons": spc_icons,
}
# Written with --csv beside the printed reports: the whole suppressed metric series.
DOWNLOADS = {"metric_series": lambda con: _read(con, "metric_series")}
