"""Charts of the metric series: a Making Data Count XmR chart for every monthly series and
a funnel plot across sites and teams for every year. Pure: data frames in, data frames out.

``spc_charts`` charts every condition x metric x segment_type x segment series of
``metric_series`` by admission month with :func:`carevalue.stats.spc.xmr`. All the series of
one condition x metric go through one ``xmr`` call as facets, because they share the
improvement direction and a per-series call would cost thousands of calls per run.
Each series is laid on the condition's full calendar of months, so a month that is
suppressed, has no value, or has no episodes at all stays a row with a missing ``y``:
points never close up over a gap, and runs and moving ranges never bridge one.
Recorded service changes rebase the charts they concern.

``spc_icons`` reads those rows back as one row per series (variation and assurance icons,
current limits, why a series was not charted). ``funnel_charts`` draws, per condition x
metric x year x segment type, a funnel across the segments with
:func:`carevalue.stats.funnel.funnel`. ``charts_for_run`` makes all three tables for a run;
``metric_directions`` reads each metric's improvement direction from the packs.

What the charts show and why is in docs/reading-an-spc-chart.md ("Charts CareValue draws
from the metric series") and docs/funnel-plots.md.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from carevalue.stats import spc
from carevalue.stats.funnel import LIMIT_COLUMNS, OD_COLUMNS, funnel
from carevalue.stats.warnings import ShortSeriesWarning
from carevalue.value.episode_value import SEGMENT_COLUMNS

# The run's tables, in the order charts_for_run returns them.
CHART_TABLES = ("metric_spc", "metric_spc_icons", "metric_funnel")
MONTHLY = "admission_month"
DEFAULT_DIRECTION = "neutral"
# Segment types in the order metric_series builds them, so charts list "all" first.
SEGMENT_ORDER = ("all", *SEGMENT_COLUMNS)
# Why a month has no point. Kept apart so a reader can tell "too few to show" (disclosure)
# from "nobody was admitted that month" from "admitted, but nothing measurable yet".
GAP_SUPPRESSED = "suppressed"
GAP_NO_EPISODES = "no_episodes"
GAP_NO_VALUE = "no_value"
# A funnel of one or two units has nothing to compare against and no spread to estimate.
MIN_FUNNEL_GROUPS = 3
OE_SUFFIX = "__oe"

SPC_COLUMNS = [
    "condition",
    "metric",
    "segment_type",
    "segment",
    "date",
    "n",
    "gap",
    "y",
    "mean",
    "lpl",
    "upl",
    "nlpl",
    "nupl",
    "point_type",
    "special_cause_flag",
    "rule",
    "rebase_group",
    "improvement",
    "target",
    "variation",
    "short_series",
    "note",
]
ICON_COLUMNS = [
    "condition",
    "metric",
    "segment_type",
    "segment",
    "improvement",
    "charted",
    "months",
    "observed",
    "first_observed",
    "last_observed",
    "latest_y",
    "rebase_groups",
    "mean",
    "lpl",
    "upl",
    "target",
    "variation",
    "assurance",
    "short_series",
    "note",
]
# Column types, so that an empty table still has them (the warehouse needs a type per column).
_TEXT = object
SPC_TYPES = {
    "date": "datetime64[ns]",
    "n": "int64",
    "y": float,
    "mean": float,
    "lpl": float,
    "upl": float,
    "nlpl": float,
    "nupl": float,
    "special_cause_flag": bool,
    "rebase_group": "int64",
    "target": float,
    "short_series": bool,
}
ICON_TYPES = {
    "charted": bool,
    "months": "int64",
    "observed": "int64",
    "first_observed": "datetime64[ns]",
    "last_observed": "datetime64[ns]",
    "latest_y": float,
    "rebase_groups": "int64",
    "mean": float,
    "lpl": float,
    "upl": float,
    "target": float,
    "short_series": bool,
}
FUNNEL_TYPES = {
    "n": "int64",
    "numerator": float,
    "denominator": float,
    "rr": float,
    **dict.fromkeys(LIMIT_COLUMNS + OD_COLUMNS, float),
    "outlier": bool,
    "outlier_high": bool,
    "outlier_low": bool,
    "z": float,
    "trimmed": bool,
    "n_groups": "int64",
    "phi": float,
    "tau2": float,
    "target": float,
    "adjusted": bool,
}
FUNNEL_COLUMNS = [
    "condition",
    "metric",
    "metric_kind",
    "period_type",
    "period",
    "segment_type",
    "segment",
    "n",
    "data_type",
    "sr_method",
    "numerator",
    "denominator",
    "rr",
    *LIMIT_COLUMNS,
    *OD_COLUMNS,
    "outlier",
    "outlier_high",
    "outlier_low",
    "z",
    "trimmed",
    "n_groups",
    "phi",
    "tau2",
    "target",
    "adjusted",
    "note",
]


# --------------------------------------------------------------------------------------
# The run's three tables
# --------------------------------------------------------------------------------------


def charts_for_run(
    metric_series: pd.DataFrame,
    service_changes: pd.DataFrame | None = None,
    directions: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The run's chart tables: ``metric_spc`` (one row per series x month),
    ``metric_spc_icons`` (one row per series) and ``metric_funnel`` (one row per unit of
    each funnel)."""
    charts = spc_charts(metric_series, service_changes, directions=directions)
    tables = (charts, spc_icons(charts), funnel_charts(metric_series))
    return dict(zip(CHART_TABLES, tables, strict=True))


def metric_directions(packs: Iterable) -> dict[tuple[str, str], str]:
    """(condition, metric) -> "increase" / "decrease" for every metric metric_series makes.

    An outcome's rate or mean and its observed/expected ratio follow the outcome's
    direction (a high O/E of a lower-is-better outcome is bad); costs should fall; good
    outcomes per £100k should rise and £ per good outcome should fall.
    """
    directions = {}
    for pack in packs:
        for outcome in pack.outcomes:
            way = "increase" if outcome.direction == "higher_is_better" else "decrease"
            directions[(pack.id, outcome.id)] = way
            directions[(pack.id, f"{outcome.id}{OE_SUFFIX}")] = way
        directions[(pack.id, "cost_mean")] = "decrease"
        directions[(pack.id, "cost_median")] = "decrease"
        for equation in pack.value_equations:
            directions[(pack.id, f"{equation.id}__per_100k")] = "increase"
            directions[(pack.id, f"{equation.id}__cost_per_good")] = "decrease"
    return directions


# --------------------------------------------------------------------------------------
# XmR charts of the monthly series
# --------------------------------------------------------------------------------------


def spc_charts(
    metric_series: pd.DataFrame,
    service_changes: pd.DataFrame | None = None,
    *,
    directions: Mapping[tuple[str, str], str] | None = None,
    targets: Mapping[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """One row per series x month (columns ``SPC_COLUMNS``) for every monthly series.

    ``directions``: (condition, metric) -> "increase" / "decrease" / "neutral" (default
    neutral). ``service_changes``: condition, change_date and optionally segment_type and
    segment (missing = every series of the condition, or of that segment type); each
    rebases the series it concerns at the first month starting on or after its date.
    ``targets``: (condition, metric) -> number, for the assurance icon (none yet).

    A series with fewer than 2 observed months, or no two consecutive ones, keeps its rows
    with no limits, no point type and a ``note`` saying why. ``variation`` (the series'
    icon) and ``short_series`` (some period set its limits from fewer than 12 points) are
    repeated on every row of the series.
    """
    directions = _checked_directions(directions)
    monthly = _monthly_rows(metric_series)
    if monthly.empty:
        return _empty(SPC_COLUMNS, SPC_TYPES)
    changes = _change_months(service_changes)
    blocks = []
    for rows in _blocks(monthly):
        condition, metric = rows.condition, rows.metric
        grid = _Grid(rows)
        improvement = directions.get((condition, metric), DEFAULT_DIRECTION)
        target = None if targets is None else targets.get((condition, metric))
        blocks.append(
            _chart_block(
                condition,
                metric,
                grid,
                changes[changes["condition"] == condition],
                improvement,
                target,
            )
        )
    columns = {name: np.concatenate([block[name] for block in blocks]) for name in SPC_COLUMNS}
    return pd.DataFrame(columns)


def spc_icons(charts: pd.DataFrame) -> pd.DataFrame:
    """One row per series of ``spc_charts`` output (columns ``ICON_COLUMNS``).

    ``mean``, ``lpl`` and ``upl`` are the current limits (the latest rebase period);
    ``latest_y`` and ``last_observed`` the latest month with a value, which the variation
    icon describes; ``assurance`` compares the target with the current limits (None
    without a target, as now, or for a neutral metric).
    """
    if charts.empty:
        return _empty(ICON_COLUMNS, ICON_TYPES)
    keys = ["condition", "metric", "segment_type", "segment"]
    # Series in the order the charts list them ("all" before sites), months in date order.
    frame = charts.assign(_series=charts.groupby(keys, sort=False).ngroup().to_numpy())
    frame = frame.sort_values(["_series", "date"], kind="stable").reset_index(drop=True)
    observed = frame[frame["y"].notna()]
    series = frame.groupby("_series", sort=True)
    icons = series.agg(
        condition=("condition", "first"),
        metric=("metric", "first"),
        segment_type=("segment_type", "first"),
        segment=("segment", "first"),
        improvement=("improvement", "first"),
        charted=("point_type", "count"),
        months=("date", "size"),
        rebase_groups=("rebase_group", "max"),
        # The last row holds the current period's limits, gap or not.
        mean=("mean", "last"),
        lpl=("lpl", "last"),
        upl=("upl", "last"),
        target=("target", "last"),
        variation=("variation", "first"),
        short_series=("short_series", "first"),
        note=("note", "first"),
    )
    seen = observed.groupby("_series", sort=True).agg(
        observed=("y", "size"),
        first_observed=("date", "first"),
        last_observed=("date", "last"),
        latest_y=("y", "last"),
    )
    icons = icons.join(seen)
    icons["observed"] = icons["observed"].fillna(0).astype("int64")
    icons["charted"] = icons["charted"] > 0
    icons["rebase_groups"] = icons["rebase_groups"].astype("int64") + 1
    icons["assurance"] = _assurance_icons(frame[frame["mean"].notna()], icons.index)
    return icons.reset_index(drop=True)[ICON_COLUMNS]


def _assurance_icons(charted: pd.DataFrame, series_ids: pd.Index) -> list:
    """spc.assurance for every charted series; None for the rest."""
    icons = dict.fromkeys(series_ids)
    if not charted.empty:
        icons.update(spc.assurance(charted.rename(columns={"_series": "facet"})))
    return [icons[i] for i in series_ids]


def _checked_directions(directions) -> dict:
    directions = dict(directions or {})
    for key, value in directions.items():
        if value not in spc.IMPROVEMENT_DIRECTIONS:
            raise ValueError(
                f"directions[{key!r}] must be 'increase', 'decrease' or 'neutral', not {value!r}."
            )
    return directions


def _monthly_rows(metric_series: pd.DataFrame) -> pd.DataFrame:
    """The admission-month rows with ``_month`` (months since 1970-01, numpy's datetime64[M]).

    A period that is not a YYYY-MM month (an unknown admission month) has no place on a
    time axis and is left out of the charts; metric_series still holds it.
    """
    rows = metric_series[metric_series["period_type"] == MONTHLY]
    periods = pd.Index(rows["period"].astype("string").unique())
    parsed = pd.to_datetime(periods, format="%Y-%m", errors="coerce")
    month_of = pd.Series((parsed.year - 1970) * 12 + parsed.month - 1, index=periods)
    months = rows["period"].astype("string").map(month_of)
    rows = rows.loc[
        months.notna(),
        ["condition", "metric", "segment_type", "segment", "n", "suppressed", "value"],
    ]
    return rows.assign(_month=months[months.notna()].astype("int64"))


def _change_months(service_changes: pd.DataFrame | None) -> pd.DataFrame:
    """condition, segment_type, segment (None = any) and the month each change rebases at:
    the first month starting on or after the change date, so a change in mid-March
    rebases at April (March mixes the old process and the new)."""
    columns = ["condition", "segment_type", "segment", "month"]
    if service_changes is None or service_changes.empty:
        return pd.DataFrame(columns=columns)
    changes = service_changes.copy()
    for column in ("segment_type", "segment"):
        if column not in changes.columns:
            changes[column] = None
    # A change without a date cannot be placed on the chart.
    changes = changes[changes["change_date"].notna()]
    day = pd.to_datetime(changes["change_date"]).dt.tz_localize(None).dt.normalize()
    starts_month = day.dt.day == 1
    changes["month"] = (day.dt.year - 1970) * 12 + day.dt.month - 1 + (~starts_month).astype(int)
    changes = changes.astype({"segment_type": object, "segment": object})
    changes[["segment_type", "segment"]] = changes[["segment_type", "segment"]].where(
        changes[["segment_type", "segment"]].notna(), None
    )
    return changes[columns].reset_index(drop=True)


class _Block:
    """The monthly rows of one condition x metric as numpy arrays, sorted by series, then
    month, with the condition's calendar (first month and number of months)."""

    def __init__(self, condition, metric, arrays: dict, first_month: int, n_months: int):
        self.condition, self.metric = condition, metric
        self.arrays = arrays
        self.first_month, self.n_months = first_month, n_months


def _blocks(monthly: pd.DataFrame):
    """One _Block per condition x metric. Sorting and converting the columns once for all
    blocks keeps the cost per block to array slicing, which matters with thousands of
    series."""
    type_rank = (
        monthly["segment_type"]
        .map({t: i for i, t in enumerate(SEGMENT_ORDER)})
        .fillna(len(SEGMENT_ORDER))
    )
    keys = ["condition", "metric", "_type_rank", "segment_type", "segment", "_month"]
    rows = monthly.assign(_type_rank=type_rank).sort_values(keys, kind="stable")
    series = rows.groupby(keys[:-1], sort=False, dropna=False).ngroup().to_numpy()
    block = rows.groupby(["condition", "metric"], sort=False).ngroup().to_numpy()
    calendars = rows.groupby("condition")["_month"].agg(["min", "max"])
    arrays = {
        "condition": rows["condition"].to_numpy(dtype=object),
        "metric": rows["metric"].to_numpy(dtype=object),
        "segment_type": rows["segment_type"].to_numpy(dtype=object),
        "segment": rows["segment"].to_numpy(dtype=object),
        "series": series,
        "month": rows["_month"].to_numpy(dtype=np.int64),
        "n": rows["n"].fillna(0).to_numpy(dtype=np.int64),
        "suppressed": rows["suppressed"].fillna(False).to_numpy(dtype=bool),
        "value": rows["value"].to_numpy(dtype=float),
    }
    bounds = np.append(np.flatnonzero(np.r_[True, block[1:] != block[:-1]]), len(block))
    for start, stop in itertools.pairwise(bounds):
        part = {name: values[start:stop] for name, values in arrays.items()}
        condition = part["condition"][0]
        first, last = (int(m) for m in calendars.loc[condition])
        yield _Block(condition, part["metric"][0], part, first, last - first + 1)


class _Grid:
    """One condition x metric as arrays of series x months, on the condition's calendar.

    ``y`` is NaN wherever there is no point to plot; ``gap`` says why.
    """

    def __init__(self, block: _Block):
        rows = block.arrays
        series = rows["series"] - rows["series"][0]
        heads = np.r_[True, series[1:] != series[:-1]]
        self.segment_type = rows["segment_type"][heads]
        self.segment = rows["segment"][heads]
        self.first_month, self.n_months = block.first_month, block.n_months
        cell = series * self.n_months + rows["month"] - self.first_month
        if (np.diff(cell) == 0).any():  # sorted by series and month, so repeats are adjacent
            raise ValueError(
                f"metric_series has two rows for one month of a series of {block.condition!r} "
                f"{block.metric!r}; each series needs one row per month."
            )
        suppressed, value = rows["suppressed"], rows["value"]
        shape = (int(heads.sum()), self.n_months)
        self.y = np.full(shape, np.nan)
        self.y.flat[cell] = np.where(suppressed, np.nan, value)
        self.n = np.zeros(shape, dtype=np.int64)
        self.n.flat[cell] = rows["n"]
        self.gap = np.full(shape, GAP_NO_EPISODES, dtype=object)
        self.gap.flat[cell] = np.where(
            suppressed, GAP_SUPPRESSED, np.where(np.isnan(value), GAP_NO_VALUE, None)
        )

    @property
    def shape(self) -> tuple[int, int]:
        return self.y.shape

    def months(self) -> np.ndarray:
        return self.first_month + np.arange(self.n_months)


class _Periods:
    """Counts of observed months and of consecutive observed pairs, for any span of months.

    A span can have limits when it holds at least 2 observed months and at least one
    moving range (two consecutive observed months): xmr refuses anything less.
    """

    def __init__(self, y: np.ndarray):
        observed = ~np.isnan(y)
        pairs = np.zeros_like(observed)
        pairs[:, 1:] = observed[:, 1:] & observed[:, :-1]
        zero = np.zeros((len(y), 1), dtype=np.int64)
        self.observed = np.hstack([zero, np.cumsum(observed, axis=1)])
        self.pairs = np.hstack([zero, np.cumsum(pairs, axis=1)])
        self.rows = np.arange(len(y))

    def chartable(self, start, stop) -> np.ndarray:
        """Per series: can months [start, stop) have limits? (start < stop)"""
        n_observed = self.observed[self.rows, stop] - self.observed[self.rows, start]
        # A pair ending at the span's first month reaches back out of the span.
        n_pairs = self.pairs[self.rows, stop] - self.pairs[self.rows, np.asarray(start) + 1]
        return (n_observed >= 2) & (n_pairs >= 1)


def _rebase_marks(grid: _Grid, changes: pd.DataFrame, chartable: np.ndarray):
    """Months that start a new period, per series, and the changes that could not be applied.

    Changes are taken in date order; one is applied to a series only if the periods on
    both sides of it can have limits. Otherwise the change is noted and the series keeps
    one period across it: the months after a recent change are too few to judge yet.
    """
    n_series, n_months = grid.shape
    wanted = np.zeros(grid.shape, dtype=bool)
    for change in changes.itertuples():
        month = int(change.month) - grid.first_month
        # A change before the calendar splits nothing; one after it has no months yet.
        if not 0 < month < n_months:
            continue
        concerned = np.ones(n_series, dtype=bool)
        if change.segment_type is not None:
            concerned &= grid.segment_type == change.segment_type
        if change.segment is not None:
            concerned &= grid.segment == change.segment
        wanted[concerned, month] = True
    periods = _Periods(grid.y)
    marks = np.zeros(grid.shape, dtype=bool)
    refused = np.zeros(grid.shape, dtype=bool)
    start = np.zeros(n_series, dtype=np.int64)
    for month in np.flatnonzero(wanted.any(axis=0)):
        asked = wanted[:, month] & chartable
        fits = periods.chartable(start, month) & periods.chartable(month, n_months)
        marks[asked & fits, month] = True
        refused[asked & ~fits, month] = True
        start = np.where(asked & fits, month, start)
    return marks, refused


def _chart_block(
    condition, metric, grid: _Grid, changes, improvement: str, target
) -> dict[str, np.ndarray]:
    """Every series of one condition x metric, charted in one xmr call."""
    n_series, n_months = grid.shape
    size = n_series * n_months
    periods = _Periods(grid.y)
    chartable = periods.chartable(np.zeros(n_series, dtype=np.int64), n_months)
    marks, refused = _rebase_marks(grid, changes, chartable)
    group = np.cumsum(marks, axis=1)

    out = {
        "mean": np.full(size, np.nan),
        "lpl": np.full(size, np.nan),
        "upl": np.full(size, np.nan),
        "nlpl": np.full(size, np.nan),
        "nupl": np.full(size, np.nan),
        "point_type": np.full(size, None, dtype=object),
        "special_cause_flag": np.zeros(size, dtype=bool),
        "rule": np.full(size, None, dtype=object),
    }
    variation = np.full(n_series, None, dtype=object)
    charted = np.flatnonzero(chartable)
    if len(charted):
        chart = _xmr(grid, charted, marks, improvement, target)
        # Rows come back in the order given: the charted series' months, series by series.
        positions = (charted[:, None] * n_months + np.arange(n_months)).ravel()
        for column in ("mean", "lpl", "upl", "nlpl", "nupl", "special_cause_flag"):
            out[column][positions] = chart[column].to_numpy()
        # xmr calls a gap "common_cause"; here a month without a value has no point type,
        # so nobody reads a suppressed month as ordinary variation.
        out["point_type"][positions] = np.where(
            chart["y"].isna(), None, _labels(chart["point_type"])
        )
        out["rule"][positions] = _labels(chart["rule"])
        for facet, icon in spc.variation(chart).items():
            variation[facet] = icon

    short = _short_series(grid.y, group)
    notes = _notes(chartable, periods, refused, grid)
    dates = grid.months().astype("datetime64[M]").astype("datetime64[ns]")
    return {
        "condition": np.full(size, condition, dtype=object),
        "metric": np.full(size, metric, dtype=object),
        "segment_type": np.repeat(grid.segment_type, n_months),
        "segment": np.repeat(grid.segment, n_months),
        "date": np.tile(dates, n_series),
        "n": grid.n.ravel(),
        "gap": grid.gap.ravel(),
        "y": grid.y.ravel(),
        **out,
        "rebase_group": group.ravel().astype(np.int64),
        "improvement": np.full(size, improvement, dtype=object),
        "target": np.full(size, np.nan if target is None else float(target)),
        "variation": np.repeat(variation, n_months),
        "short_series": np.repeat(short & chartable, n_months),
        "note": np.repeat(notes, n_months),
    }


def _xmr(
    grid: _Grid, charted: np.ndarray, marks: np.ndarray, improvement: str, target
) -> pd.DataFrame:
    """spc.xmr over the charted series, facet = the series' row in the grid.

    Dates are month numbers rather than timestamps: xmr matches rebase dates per facet,
    and numbers make that a plain array comparison.
    """
    n_months = grid.n_months
    months = grid.months().astype(float)
    rebase = {int(f): months[marks[f]] for f in charted if marks[f].any()}
    with warnings.catch_warnings():
        # One warning per call would say little; short_series says it per series instead.
        warnings.simplefilter("ignore", ShortSeriesWarning)
        return spc.xmr(
            grid.y[charted].ravel(),
            np.tile(months, len(charted)),
            improvement=improvement,
            target=target,
            rebase=rebase or None,
            facets=np.repeat(charted, n_months),
        )


def _labels(categorical: pd.Series) -> np.ndarray:
    """Categorical labels as plain text, missing as None (every engine stores those)."""
    values = np.array(categorical.astype(object).to_numpy(), dtype=object)
    values[pd.isna(values)] = None
    return values


def _short_series(y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per series: does any period set its limits from fewer than 12 observed points?"""
    n_series, n_months = y.shape
    observed = ~np.isnan(y)
    n_groups = n_months + 1
    key = (np.arange(n_series)[:, None] * n_groups + group).ravel()
    counts = np.bincount(key[observed.ravel()], minlength=n_series * n_groups).reshape(
        n_series, n_groups
    )
    exists = np.zeros((n_series, n_groups), dtype=bool)
    exists[np.arange(n_series)[:, None], group] = True
    return ((counts < spc.SHORT_SERIES_POINTS) & exists).any(axis=1)


def _notes(
    chartable: np.ndarray, periods: _Periods, refused: np.ndarray, grid: _Grid
) -> np.ndarray:
    notes = np.full(len(chartable), None, dtype=object)
    n_observed = periods.observed[:, -1]
    notes[~chartable] = np.where(
        n_observed[~chartable] < 2,
        "not charted: fewer than 2 months with a value",
        "not charted: no two consecutive months with a value",
    )
    for series, month in zip(*np.nonzero(refused), strict=True):
        label = str(np.datetime64(grid.first_month + int(month), "M"))
        text = f"not rebased at {label} (service change): too few months with a value on one side"
        notes[series] = text if notes[series] is None else f"{notes[series]}; {text}"
    return notes


def _empty(columns: list[str], types: dict) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=types.get(column, _TEXT)) for column in columns})


# --------------------------------------------------------------------------------------
# Funnel plots across segments
# --------------------------------------------------------------------------------------


def funnel_charts(
    metric_series: pd.DataFrame,
    *,
    period_type: str = "financial_year",
    segment_types: tuple[str, ...] = ("site", "team"),
    sr_method: str = "SHMI",
    limit: int = 99,
) -> pd.DataFrame:
    """One row per segment of every funnel (columns ``FUNNEL_COLUMNS``).

    A funnel per condition x metric x period x segment type compares the segments:
    observed/expected ratios of 0/1 outcomes as "SR" (observed events over expected
    events), rates as "PR" (events over the episodes measured). Suppressed cells and cells
    with nothing to divide by are left out; a funnel with fewer than 3 segments left is
    not drawn. The O/E of a number (minutes, days) is not a count of events, so it has no
    Poisson funnel.
    """
    cells = _funnel_cells(metric_series, period_type, segment_types)
    keys = ["condition", "metric", "period", "segment_type"]
    funnels = [
        _one_funnel(cell, sr_method, limit)
        for _, cell in cells.groupby(keys, sort=True)
        if len(cell) >= MIN_FUNNEL_GROUPS
    ]
    if not funnels:
        return _empty(FUNNEL_COLUMNS, FUNNEL_TYPES)
    return pd.concat(funnels, ignore_index=True)[FUNNEL_COLUMNS]


def _funnel_cells(metric_series: pd.DataFrame, period_type: str, segment_types) -> pd.DataFrame:
    """The rows that can enter a funnel, with ``data_type`` and the funnel's
    ``_numerator`` and ``_denominator``."""
    rows = metric_series[
        (metric_series["period_type"] == period_type)
        & metric_series["segment_type"].isin(segment_types)
    ]
    kinds = metric_series.drop_duplicates(["condition", "metric"]).set_index(
        ["condition", "metric"]
    )["metric_kind"]
    base = rows["metric"].str.removesuffix(OE_SUFFIX)
    base_kind = pd.Series(
        kinds.reindex(pd.MultiIndex.from_arrays([rows["condition"], base])).to_numpy(),
        index=rows.index,
    )
    is_rate = rows["metric_kind"] == "rate"
    is_event_ratio = (rows["metric_kind"] == "observed_expected") & (base_kind == "rate")
    rows = rows[is_rate | is_event_ratio].assign(
        data_type=np.where(is_rate[is_rate | is_event_ratio], "PR", "SR"),
    )
    rows["_numerator"] = rows["numerator"].astype(float)
    rows["_denominator"] = np.where(
        rows["data_type"] == "SR", rows["expected"], rows["denominator"]
    ).astype(float)
    usable = (
        ~rows["suppressed"].fillna(False).astype(bool)
        & np.isfinite(rows["_numerator"])
        & np.isfinite(rows["_denominator"])
        & (rows["_denominator"] > 0)
    )
    return rows[usable].sort_values(["condition", "metric", "period", "segment_type", "segment"])


def _one_funnel(cell: pd.DataFrame, sr_method: str, limit: int) -> pd.DataFrame:
    data_type = cell["data_type"].iloc[0]
    numerator, denominator = cell["_numerator"].to_numpy(), cell["_denominator"].to_numpy()
    labels = cell["segment"].to_numpy(dtype=object)
    note = None
    try:
        result = funnel(
            numerator, denominator, labels, data_type=data_type, sr_method=sr_method, limit=limit
        )
    except ValueError:
        # On the SHMI log scale a segment with no events sits at minus infinity, and with
        # few segments nothing trims it away, so overdispersion cannot be estimated. Judge
        # against the unadjusted limits rather than drop the funnel.
        if not (data_type == "SR" and sr_method == "SHMI" and (numerator == 0).any()):
            raise
        result = funnel(
            numerator,
            denominator,
            labels,
            data_type=data_type,
            sr_method=sr_method,
            limit=limit,
            draw_adjusted=False,
        )
        note = "overdispersion not estimated: a segment has no observed events (SHMI log scale)"
    attrs = result.attrs
    first = cell.iloc[0]
    return result.rename(columns={"group": "segment"}).assign(
        condition=first["condition"],
        metric=first["metric"],
        metric_kind=first["metric_kind"],
        period_type=first["period_type"],
        period=first["period"],
        segment_type=first["segment_type"],
        n=cell["n"].to_numpy(),
        data_type=data_type,
        sr_method=sr_method if data_type == "SR" else None,
        n_groups=len(result),
        phi=attrs["phi"],
        tau2=attrs["tau2"],
        target=attrs["target"],
        adjusted=attrs["adjusted"],
        note=note,
    )
