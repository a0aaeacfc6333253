"""``metric_series``: condition x metric x period x segment, with intervals, ready for SPC
charts and funnel plots. Pure: ``episode_value`` in, a long data frame out.

Metrics, per cell:

- ``<outcome>``: rate of a 0/1 outcome (Wilson interval) or mean of a number (t interval),
  among episodes where it was measured and its window has closed (an early death is
  measured at once, but a rate that counted it before the survivors were due would be
  inflated); ``n_due`` counts measured + missing, so
  completeness is visible beside the figure;
- ``<outcome>__oe``: observed / expected for outcomes with a risk model (exact Poisson
  limits for 0/1 outcomes, ratio-estimator interval for numbers);
- ``cost_mean`` (t interval) and ``cost_median`` (order-statistic interval) of the
  whole-cycle cost;
- ``<equation>__per_100k``: good outcomes per £100,000 (the equation's numerator summed over
  its complete cases, divided by their cost), and ``<equation>__cost_per_good``: £ per
  good outcome.

``n`` counts the cell's episodes; ``n_used`` the episodes behind the figure (measured with
the window closed, or complete cases of a value equation). A figure resting on fewer than
the pack's ``reporting.min_cell`` episodes is suppressed by :mod:`carevalue.disclosure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carevalue.disclosure import suppress_small_cells
from carevalue.outcomes import MEASURED, MISSING
from carevalue.packs.model import ConditionPack
from carevalue.value import intervals
from carevalue.value.episode_value import (
    PERIOD_COLUMNS,
    SEGMENT_COLUMNS,
    complete_values,
    is_binary,
)

ALL = "all"
UNITS = {"length_of_stay": "days", "days_at_home": "days", "qaly": "QALYs"}
FIGURES = ("value", "lower", "upper", "numerator", "denominator", "expected")
COLUMNS = [
    "condition",
    "metric",
    "label",
    "metric_kind",
    "period_type",
    "period",
    "segment_type",
    "segment",
    "n",
    "n_due",
    "n_used",
    "numerator",
    "denominator",
    "expected",
    "value",
    "lower",
    "upper",
    "suppressed",
    "note",
]


def cells(frame: pd.DataFrame):
    """(period_type, period, segment_type, segment, row positions) for every combination of
    one period grouping (or all periods) with one segment grouping (or everyone)."""
    everyone = np.arange(len(frame))
    for period_type in (ALL, *PERIOD_COLUMNS):
        for segment_type in (ALL, *SEGMENT_COLUMNS):
            keys = [c for c in (period_type, segment_type) if c != ALL]
            if not keys:
                yield ALL, ALL, ALL, ALL, everyone
                continue
            labels = frame[keys].astype("string").fillna("unknown")
            for key, positions in labels.groupby(keys, sort=True).indices.items():
                key = key if isinstance(key, tuple) else (key,)
                values = dict(zip(keys, key, strict=True))
                yield (
                    period_type,
                    values.get(period_type, ALL),
                    segment_type,
                    values.get(segment_type, ALL),
                    positions,
                )


def metric_series(pack: ConditionPack, frame: pd.DataFrame) -> pd.DataFrame:
    columns = _Columns(pack, frame.reset_index(drop=True))
    records = []
    for period_type, period, segment_type, segment, positions in cells(
        frame.reset_index(drop=True)
    ):
        where = {
            "condition": pack.id,
            "period_type": period_type,
            "period": period,
            "segment_type": segment_type,
            "segment": segment,
            "n": len(positions),
        }
        for record in cell_metrics(pack, columns, positions):
            records.append({**where, **record})
    series = pd.DataFrame.from_records(records)
    for column in COLUMNS:
        if column not in series.columns:
            series[column] = np.nan
    series["label"] = series["metric"].map(metric_labels(pack))
    series["n_used"] = series["n_used"].astype("int64")
    series = suppress_small_cells(
        series[COLUMNS], pack.reporting.min_cell, count="n_used", figures=FIGURES
    )
    empty = series["n_used"] == 0
    series.loc[empty, "note"] = np.where(
        series.loc[empty, "metric_kind"] == "observed_expected",
        "no expected values: the risk model was not fitted (see risk_models)",
        "nothing to report yet: no episode has this measure with its window closed",
    )
    return series[COLUMNS]


def group_metrics(
    pack: ConditionPack, frame: pd.DataFrame, by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Every metric of ``frame``'s episodes per group of ``by`` (everyone when empty), with
    the definitions, intervals and small-number suppression of :func:`metric_series`: the
    web app's filtered figures come from here, so every audience sees the same numbers."""
    frame = frame.reset_index(drop=True)
    keys = list(by)
    if frame.empty:
        return pd.DataFrame(
            columns=["condition", *keys, "metric", "label", "metric_kind", *COLUMNS[8:]]
        )
    columns = _Columns(pack, frame)
    if keys:
        labels = pd.DataFrame({key: _labels(frame[key]) for key in keys})
        groups = labels.groupby(keys, sort=True).indices.items()
    else:
        groups = [((), np.arange(len(frame)))]
    records = []
    for key, positions in groups:
        key = key if isinstance(key, tuple) else (key,)
        where = {"condition": pack.id, **dict(zip(keys, key, strict=True)), "n": len(positions)}
        records.extend({**where, **record} for record in cell_metrics(pack, columns, positions))
    out = pd.DataFrame.from_records(records)
    wanted = ["condition", *keys, "metric", "label", "metric_kind", *COLUMNS[8:]]
    for column in wanted:
        if column not in out.columns:
            out[column] = np.nan
    out["label"] = out["metric"].map(metric_labels(pack))
    out["n_used"] = out["n_used"].astype("int64")
    return suppress_small_cells(
        out[wanted], pack.reporting.min_cell, count="n_used", figures=FIGURES
    )


def _labels(column: pd.Series) -> pd.Series:
    # Whole numbers read back from Parquet as floats (a quintile of 1.0) label as "1".
    if column.dtype.kind == "f" and (column.dropna() % 1 == 0).all():
        column = column.astype("Int64")
    return column.astype("string").fillna("unknown")


def metric_labels(pack: ConditionPack) -> dict[str, str]:
    """What each metric is called on a chart or in a table, in the pack's own words."""
    labels = {
        "cost_mean": "Mean cost of the care cycle",
        "cost_median": "Median cost of the care cycle",
    }
    for outcome in pack.outcomes:
        unit = UNITS.get(outcome.kind) or getattr(outcome, "unit", None)
        labels[outcome.id] = f"{outcome.name} ({unit})" if unit else outcome.name
        labels[f"{outcome.id}__oe"] = f"{outcome.name}: observed / expected"
    for equation in pack.value_equations:
        labels[f"{equation.id}__per_100k"] = f"{equation.name}: good outcomes per £100,000"
        labels[f"{equation.id}__cost_per_good"] = f"{equation.name}: £ per good outcome"
    return labels


class _Columns:
    """The episode_value columns as numpy arrays, read once for every cell."""

    def __init__(self, pack: ConditionPack, frame: pd.DataFrame):
        self.value = {
            o.id: complete_values(frame, o.id).to_numpy(dtype=float) for o in pack.outcomes
        }
        self.due = {
            o.id: frame[f"status__{o.id}"].isin([MEASURED, MISSING]).to_numpy()
            for o in pack.outcomes
        }
        self.expected = {
            o.id: frame[f"exp__{o.id}"].to_numpy(dtype=float)
            for o in pack.outcomes
            if o.risk_model is not None
        }
        self.cost = frame["cost_whole_cycle"].to_numpy(dtype=float)
        self.good = {
            e.id: frame[f"num__{e.id}"].to_numpy(dtype=float) for e in pack.value_equations
        }
        self.spent = {
            e.id: frame[f"cost__{e.id}"].to_numpy(dtype=float) for e in pack.value_equations
        }


def _present(*arrays: np.ndarray) -> list[np.ndarray]:
    keep = np.ones(len(arrays[0]), dtype=bool)
    for array in arrays:
        keep &= ~np.isnan(array)
    return [array[keep] for array in arrays]


def cell_metrics(pack: ConditionPack, columns: _Columns, positions: np.ndarray) -> list[dict]:
    out = []
    for outcome in pack.outcomes:
        (values,) = _present(columns.value[outcome.id][positions])
        n_due = int(columns.due[outcome.id][positions].sum())
        base = {"metric": outcome.id, "n_due": n_due, "n_used": len(values)}
        if is_binary(outcome):
            events = float(values.sum())
            lower, upper = intervals.wilson(events, len(values))
            value = events / len(values) if len(values) else np.nan
            out.append(
                {
                    **base,
                    "metric_kind": "rate",
                    "numerator": events,
                    "denominator": len(values),
                    "value": value,
                    "lower": lower,
                    "upper": upper,
                }
            )
        else:
            mean, lower, upper = intervals.mean_t(values)
            out.append(
                {
                    **base,
                    "metric_kind": "mean",
                    "numerator": float(values.sum()),
                    "denominator": len(values),
                    "value": mean,
                    "lower": lower,
                    "upper": upper,
                }
            )
        if outcome.risk_model is not None:
            observed, expected = _present(
                columns.value[outcome.id][positions], columns.expected[outcome.id][positions]
            )
            if is_binary(outcome):
                ratio, lower, upper = intervals.poisson_ratio(
                    float(observed.sum()), float(expected.sum())
                )
            else:
                ratio, lower, upper = intervals.ratio_of_sums(observed, expected)
            out.append(
                {
                    "metric": f"{outcome.id}__oe",
                    "metric_kind": "observed_expected",
                    "n_due": n_due,
                    "n_used": len(observed),
                    "numerator": float(observed.sum()),
                    "denominator": len(observed),
                    "expected": float(expected.sum()),
                    "value": ratio,
                    "lower": lower,
                    "upper": upper,
                }
            )
    cost = columns.cost[positions]
    mean, lower, upper = intervals.mean_t(cost)
    out.append(
        {
            "metric": "cost_mean",
            "metric_kind": "cost",
            "n_used": len(cost),
            "numerator": float(cost.sum()),
            "denominator": len(cost),
            "value": mean,
            "lower": lower,
            "upper": upper,
        }
    )
    median, lower, upper = intervals.median_order(cost)
    out.append(
        {
            "metric": "cost_median",
            "metric_kind": "cost",
            "n_used": len(cost),
            "denominator": len(cost),
            "value": median,
            "lower": lower,
            "upper": upper,
        }
    )
    for equation in pack.value_equations:
        good, spent = _present(
            columns.good[equation.id][positions], columns.spent[equation.id][positions]
        )
        per_pound, lower, upper = intervals.ratio_of_sums(good, spent)
        out.append(
            {
                "metric": f"{equation.id}__per_100k",
                "metric_kind": "value",
                "n_used": len(good),
                "numerator": float(good.sum()),
                "denominator": float(spent.sum()),
                "value": per_pound * 1e5,
                "lower": lower * 1e5,
                "upper": upper * 1e5,
                "note": None if spent.sum() > 0 else "not costed in this run",
            }
        )
        # A run without costs has no value figures (not "£0 per good outcome").
        cost_per_good, lower, upper = (
            intervals.ratio_of_sums(spent, good) if spent.sum() > 0 else (np.nan, np.nan, np.nan)
        )
        out.append(
            {
                "metric": f"{equation.id}__cost_per_good",
                "metric_kind": "value",
                "n_used": len(good),
                "numerator": float(spent.sum()),
                "denominator": float(good.sum()),
                "value": cost_per_good,
                "lower": lower,
                "upper": upper,
                "note": None if spent.sum() > 0 else "not costed in this run",
            }
        )
    return out
