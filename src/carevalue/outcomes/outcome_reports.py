"""The outcome reports of the current run, as data frames for a person to read or download.

Every report is aggregate and has been through small-number suppression
(``carevalue.disclosure``) in the run: nothing here is patient-level, so nothing here needs
a patient-level audit.
"""

from __future__ import annotations

import pandas as pd
from ibis.backends import BaseBackend

from carevalue.errors import UserError
from carevalue.warehouse import table_or_none


def _read(con: BaseBackend, name: str) -> pd.DataFrame:
    table = table_or_none(con, name)
    if table is None:
        raise UserError(
            f"This warehouse has no {name} yet: run 'carevalue run' (or 'carevalue demo') to compute outcomes."
        )
    return table.to_pandas()


def headline(con: BaseBackend) -> pd.DataFrame:
    """Every metric for all of each condition's episodes, with its interval."""
    series = _read(con, "metric_series")
    overall = series[(series["period_type"] == "all") & (series["segment_type"] == "all")]
    return overall[["condition", "label", "value", "lower", "upper", "n_used", "note"]].reset_index(drop=True)


def risk_models(con: BaseBackend) -> pd.DataFrame:
    frame = _read(con, "risk_models")
    return frame[["condition", "outcome_id", "family", "fitted", "reason", "n", "events", "c_statistic", "fit_on"]]


def prom_response(con: BaseBackend) -> pd.DataFrame:
    """Per PROM timepoint: due, returned, response rate, crude and weighted means."""
    frame = _read(con, "prom_response")
    columns = ["condition", "outcome_id", "timepoint", "due", "returned", "response_rate", "crude_mean", "weighted_mean"]
    return frame[columns].drop_duplicates().reset_index(drop=True)


def value_sensitivity(con: BaseBackend) -> pd.DataFrame:
    frame = _read(con, "value_sensitivity")
    return frame[["condition", "equation", "weight_set", "compared", "cells", "same_order", "kendall_tau"]]


def spc_icons(con: BaseBackend) -> pd.DataFrame:
    """The variation icon of every charted monthly series for all patients of a condition."""
    frame = _read(con, "metric_spc_icons")
    frame = frame[(frame["segment_type"] == "all") & frame["charted"]]
    return frame[["condition", "metric", "observed", "rebase_groups", "mean", "lpl", "upl", "variation"]]


REPORTS = {
    "outcomes_headline": headline,
    "risk_models": risk_models,
    "prom_response": prom_response,
    "value_sensitivity": value_sensitivity,
    "spc_icons": spc_icons,
}
# Written with --csv beside the printed reports: the whole suppressed metric series.
DOWNLOADS = {"metric_series": lambda con: _read(con, "metric_series")}
