"""Did a service change move a metric? Before/after, SPC and interrupted time series (pure).

``evaluate_change(values, dates, change_date, improvement=...)`` reads one metric's series
(one value per period, usually per month, as ``metric_series`` holds it) and returns an
``Evaluation``:

- **before/after**: the difference after - before with its 95 % interval: of proportions
  (Newcombe's hybrid score interval, statsmodels ``confint_proportions_2indep``) when
  numerators and denominators are given, otherwise of means (Welch's interval, statsmodels
  ``CompareMeans.tconfint_diff``);
- **SPC evidence**: the series charted with ``carevalue.stats.spc.xmr``, the limits fixed on
  the points before the change (when there are at least 12, MDC's baseline guidance; all
  points otherwise), and the special causes after the change counted by side;
- **interrupted time series**: segmented regression (statsmodels OLS) of value on time, a
  step at the change and a slope change after it, with 95 % intervals, when there are at
  least 8 points on each side;
- **verdict**: "associated with improvement" when the before/after interval lies wholly
  on the better side of no difference, "associated with deterioration" when wholly on the
  worse side, "no detectable change" otherwise; with caveats in words.

The account a clinical director reads is docs/management.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from carevalue.stats import spc
from carevalue.stats.warnings import ShortSeriesWarning

__all__ = [
    "DETERIORATION",
    "IMPROVEMENT",
    "ITS_MIN_POINTS",
    "NO_CHANGE",
    "Evaluation",
    "InterruptedTimeSeries",
    "evaluate_change",
    "evaluate_episodes",
    "evaluate_series",
]

IMPROVEMENT = "associated with improvement"
DETERIORATION = "associated with deterioration"
NO_CHANGE = "no detectable change"
ITS_MIN_POINTS = 8  # per side, for a slope and a level on each
SPC_BASELINE_POINTS = spc.SHORT_SERIES_POINTS  # 12: MDC's shortest useful baseline
SHORT_FOLLOW_UP_POINTS = 12
SMALL_NUMBERS = 30  # episodes (or observations) a side below which an estimate is fragile
LEVEL = 0.95

_DIRECTIONS = {
    "increase": 1,
    "higher_is_better": 1,
    "decrease": -1,
    "lower_is_better": -1,
}


@dataclass(frozen=True)
class InterruptedTimeSeries:
    """Segmented regression: value = b0 + b1 t + level_change x after + slope_change x
    (t - t0) x after, t counting periods from the first point, t0 the first after it."""

    level_change: float
    level_lower: float
    level_upper: float
    slope_change: float
    slope_lower: float
    slope_upper: float
    slope_before: float
    slope_before_lower: float
    slope_before_upper: float
    durbin_watson: float


@dataclass(frozen=True)
class Evaluation:
    """What a change did to one metric. ``difference`` is after - before (in the metric's
    own units; a proportion for rates), with its 95 % interval ``lower``-``upper``."""

    improvement: str
    method: str  # "difference of proportions" or "difference of means"
    n_before: int
    n_after: int
    before: float
    after: float
    difference: float
    lower: float
    upper: float
    spc_improvement_points: int
    spc_concern_points: int
    its: InterruptedTimeSeries | None
    verdict: str
    caveats: tuple[str, ...] = field(default_factory=tuple)
    episodes_before: int | None = None  # episodes the comparison used (None: a series)
    episodes_after: int | None = None

    @property
    def effect(self) -> tuple[float, float, float]:
        """(difference, lower, upper): what ``return_on_investment`` takes as a cost effect."""
        return (self.difference, self.lower, self.upper)

    @property
    def spc_evidence(self) -> str:
        """The SPC finding in words."""
        if self.spc_improvement_points and not self.spc_concern_points:
            points = self.spc_improvement_points
            return f"special cause of improvement after the change ({points} points)"
        if self.spc_concern_points and not self.spc_improvement_points:
            return f"special cause of concern after the change ({self.spc_concern_points} points)"
        if self.spc_improvement_points and self.spc_concern_points:
            return "special causes on both sides after the change"
        return "no special cause after the change"

    def sentence(self) -> str:
        """The verdict with its numbers, in one sentence."""
        lead = (
            "No detectable change" if self.verdict == NO_CHANGE else f"The change is {self.verdict}"
        )
        return (
            f"{lead}: {_figure(self.before)} before and {_figure(self.after)} after, a "
            f"difference of {_figure(self.difference, sign=True)} (95% interval "
            f"{_figure(self.lower, sign=True)} to {_figure(self.upper, sign=True)}); "
            f"{self.spc_evidence}."
        )


def _figure(value: float, *, sign: bool = False) -> str:
    """3 significant figures, or whole numbers with thousands separators from 1,000 up."""
    plus = "+" if sign else ""
    if abs(value) >= 1000:
        return f"{value:{plus},.0f}"
    return f"{value:{plus}.3g}"


def evaluate_change(
    values,
    dates,
    change_date,
    *,
    improvement: str,
    numerators=None,
    denominators=None,
) -> Evaluation:
    """Evaluate a service change on one metric's series.

    ``values``: one value per period (a mean, or a proportion when ``numerators`` and
    ``denominators`` are given, which the before/after comparison then pools).
    ``dates``: one date per value, in any order. ``change_date``: the first date of the
    new process (points on or after it are "after"). ``improvement``: "increase" or
    "decrease" (or "higher_is_better" / "lower_is_better"), which side is better.
    """
    _check_improvement(improvement)
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Series(dates)).to_numpy(),
            "y": pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float),
        }
    )
    proportions = numerators is not None and denominators is not None
    if proportions:
        frame["num"] = np.asarray(numerators, dtype=float)
        frame["den"] = np.asarray(denominators, dtype=float)
    frame = frame[frame["y"].notna()].sort_values("date", kind="stable").reset_index(drop=True)
    after = (frame["date"] >= pd.Timestamp(change_date)).to_numpy()
    _check_sides(int((~after).sum()), int(after.sum()), "points")
    if proportions:
        comparison = _proportions(
            frame.loc[~after, "num"].sum(),
            frame.loc[~after, "den"].sum(),
            frame.loc[after, "num"].sum(),
            frame.loc[after, "den"].sum(),
        )
    else:
        comparison = _means(frame.loc[~after, "y"], frame.loc[after, "y"], episodes=False)
    return _judge(frame, after, comparison, improvement, unit="points")


def evaluate_episodes(
    episodes: pd.DataFrame,
    outcome: str,
    change_date,
    *,
    improvement: str,
    date_column: str = "index_date",
) -> Evaluation:
    """Evaluate a service change on one outcome of a run's episodes (``episode_value`` rows).

    ``outcome``: a column of ``episodes``, or an outcome id read from ``out__<id>`` (then
    only episodes whose follow-up is complete, ``complete__<id>``, are used) or a cost
    column (``cost_whole_cycle``). The before/after comparison is of the episodes
    themselves: a difference of proportions for a 0/1 outcome, of means otherwise. SPC and
    the interrupted time series read the monthly means (or proportions) by ``date_column``;
    the month in which the change happened counts as after.
    """
    _check_improvement(improvement)
    column = outcome if outcome in episodes.columns else f"out__{outcome}"
    if column not in episodes.columns:
        raise ValueError(f"the episodes have no column {outcome!r} or {column!r}.")
    rows = episodes
    complete = f"complete__{outcome}"
    if column != outcome and complete in episodes.columns:
        rows = rows[rows[complete].fillna(False).astype(bool)]
    values = pd.to_numeric(rows[column], errors="coerce").astype(float)
    dates = pd.to_datetime(rows[date_column])
    keep = values.notna() & dates.notna()
    values, dates = values[keep], dates[keep]
    change = pd.Timestamp(change_date)
    after_episode = (dates >= change).to_numpy()
    _check_sides(int((~after_episode).sum()), int(after_episode.sum()), "episodes")
    binary = bool(values.isin([0.0, 1.0]).all())
    if binary:
        comparison = _proportions(
            values[~after_episode].sum(),
            (~after_episode).sum(),
            values[after_episode].sum(),
            after_episode.sum(),
        )
    else:
        comparison = _means(values[~after_episode], values[after_episode])
    months = dates.dt.to_period("M").dt.to_timestamp()
    monthly = values.groupby(months.to_numpy()).agg(["mean", "sum", "count"])
    frame = pd.DataFrame(
        {
            "date": monthly.index,
            "y": monthly["mean"].to_numpy(),
            "num": monthly["sum"].to_numpy(),
            "den": monthly["count"].to_numpy(dtype=float),
        }
    )
    after = (frame["date"] >= change.to_period("M").to_timestamp()).to_numpy()
    _check_sides(int((~after).sum()), int(after.sum()), "months")
    return _judge(frame, after, comparison, improvement, unit="months")


def evaluate_series(
    metric_series: pd.DataFrame,
    *,
    condition: str,
    metric: str,
    change_date,
    improvement: str,
    segment_type: str = "all",
    segment: str = "all",
    period_type: str = "admission_month",
) -> Evaluation:
    """Evaluate a change on one series of a run's ``metric_series`` (monthly by default, or
    "admission_quarter"). A rate is compared as pooled proportions (its numerators and
    denominators); any other metric as a difference of means of its points. Suppressed
    points have no value and are left out."""
    rows = metric_series[
        (metric_series["condition"] == condition)
        & (metric_series["metric"] == metric)
        & (metric_series["period_type"] == period_type)
        & (metric_series["segment_type"] == segment_type)
        & (metric_series["segment"] == segment)
    ]
    if rows.empty:
        raise ValueError(
            f"the metric series has no {period_type} rows of {condition} {metric} for "
            f"{segment_type} {segment}."
        )
    frequency = {"admission_month": "M", "admission_quarter": "Q"}.get(period_type)
    if frequency is None:
        raise ValueError(f"a change is evaluated on months or quarters, not {period_type!r}.")
    dates = pd.PeriodIndex(rows["period"].astype(str), freq=frequency).to_timestamp()
    rate = rows["metric_kind"].iloc[0] == "rate"
    return evaluate_change(
        rows["value"].to_numpy(dtype=float),
        dates,
        change_date,
        improvement=improvement,
        numerators=rows["numerator"].to_numpy(dtype=float) if rate else None,
        denominators=rows["denominator"].to_numpy(dtype=float) if rate else None,
    )


@dataclass(frozen=True)
class _Comparison:
    method: str
    before: float
    after: float
    lower: float
    upper: float
    n_before: int  # episodes (or periods, for a series of means) on each side
    n_after: int
    episodes: bool = True  # whether n_before and n_after count episodes


def _check_improvement(improvement: str) -> None:
    if improvement not in _DIRECTIONS:
        raise ValueError(
            f"improvement must be one of {', '.join(_DIRECTIONS)}, not {improvement!r}: "
            "a verdict needs to know which way is better."
        )


def _check_sides(n_before: int, n_after: int, what: str) -> None:
    if n_before < 2 or n_after < 2:
        raise ValueError(
            f"an evaluation needs at least 2 {what} on each side of the change, but there "
            f"are {n_before} before and {n_after} after."
        )


def _proportions(count_b, nobs_b, count_a, nobs_a) -> _Comparison:
    low, high = confint_proportions_2indep(
        count_a, nobs_a, count_b, nobs_b, method="newcomb", compare="diff", alpha=1 - LEVEL
    )
    return _Comparison(
        "difference of proportions",
        float(count_b / nobs_b),
        float(count_a / nobs_a),
        float(low),
        float(high),
        round(float(nobs_b)),
        round(float(nobs_a)),
    )


def _means(before: pd.Series, after: pd.Series, *, episodes: bool = True) -> _Comparison:
    compare = CompareMeans(DescrStatsW(after.to_numpy()), DescrStatsW(before.to_numpy()))
    low, high = compare.tconfint_diff(alpha=1 - LEVEL, usevar="unequal")
    return _Comparison(
        "difference of means",
        float(before.mean()),
        float(after.mean()),
        float(low),
        float(high),
        len(before),
        len(after),
        episodes,
    )


def _judge(
    frame: pd.DataFrame, after: np.ndarray, comparison: _Comparison, improvement: str, unit: str
):
    sign = _DIRECTIONS[improvement]
    better_low, better_high = sign * comparison.lower, sign * comparison.upper  # > 0: better
    if min(better_low, better_high) > 0:
        verdict = IMPROVEMENT
    elif max(better_low, better_high) < 0:
        verdict = DETERIORATION
    else:
        verdict = NO_CHANGE
    improved, concerned = _spc_evidence(frame, after, improvement)
    its = _interrupted_time_series(frame["y"].to_numpy(), _months(frame["date"]), after)
    n_before, n_after = int((~after).sum()), int(after.sum())
    caveats = _caveats(comparison, n_before, n_after, verdict, sign, its, improved, concerned, unit)
    return Evaluation(
        improvement=improvement,
        method=comparison.method,
        n_before=n_before,
        n_after=n_after,
        before=comparison.before,
        after=comparison.after,
        difference=comparison.after - comparison.before,
        lower=comparison.lower,
        upper=comparison.upper,
        spc_improvement_points=improved,
        spc_concern_points=concerned,
        its=its,
        verdict=verdict,
        caveats=tuple(caveats),
        episodes_before=comparison.n_before if comparison.episodes else None,
        episodes_after=comparison.n_after if comparison.episodes else None,
    )


def _months(dates: pd.Series) -> np.ndarray:
    """Time in months from the first date (a monthly series counts 0, 1, 2 ...)."""
    stamps = pd.DatetimeIndex(dates)
    whole = (stamps.year - stamps.year[0]) * 12 + (stamps.month - stamps.month[0])
    fraction = (stamps.day - 1) / stamps.days_in_month
    return np.asarray(whole + fraction, dtype=float) - float(fraction[0])


def _spc_evidence(frame: pd.DataFrame, after: np.ndarray, improvement: str) -> tuple[int, int]:
    """Special-cause points after the change, on limits fixed before it (MDC: keep the old
    limits and see whether the new process breaks them)."""
    n_before = int((~after).sum())
    fix = n_before if n_before >= SPC_BASELINE_POINTS else None
    direction = "increase" if _DIRECTIONS[improvement] > 0 else "decrease"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortSeriesWarning)
        chart = spc.xmr(
            frame["y"].to_numpy(),
            np.arange(len(frame)),
            improvement=direction,
            fix_after_n_points=fix,
        )
    kinds = chart["point_type"].astype(str).to_numpy()[after]
    return int((kinds == "special_cause_improvement").sum()), int(
        (kinds == "special_cause_concern").sum()
    )


def _interrupted_time_series(
    y: np.ndarray, t: np.ndarray, after: np.ndarray
) -> InterruptedTimeSeries | None:
    n_before, n_after = int((~after).sum()), int(after.sum())
    if n_before < ITS_MIN_POINTS or n_after < ITS_MIN_POINTS:
        return None
    step = after.astype(float)
    since = np.where(after, t - t[after][0], 0.0)
    design = sm.add_constant(np.column_stack([t, step, since]))
    fit = sm.OLS(y, design).fit()
    ci = fit.conf_int(alpha=1 - LEVEL)
    return InterruptedTimeSeries(
        level_change=float(fit.params[2]),
        level_lower=float(ci[2, 0]),
        level_upper=float(ci[2, 1]),
        slope_change=float(fit.params[3]),
        slope_lower=float(ci[3, 0]),
        slope_upper=float(ci[3, 1]),
        slope_before=float(fit.params[1]),
        slope_before_lower=float(ci[1, 0]),
        slope_before_upper=float(ci[1, 1]),
        durbin_watson=float(sm.stats.durbin_watson(fit.resid)),
    )


def _caveats(comparison, n_before, n_after, verdict, sign, its, improved, concerned, unit):
    caveats = []
    if n_after < SHORT_FOLLOW_UP_POINTS:
        caveats.append(
            f"Short follow-up: {n_after} {unit} after the change (fewer than "
            f"{SHORT_FOLLOW_UP_POINTS}); the estimate may move as more arrive."
        )
    if n_before < SPC_BASELINE_POINTS:
        caveats.append(
            f"Short baseline: {n_before} {unit} before the change (fewer than "
            f"{SPC_BASELINE_POINTS}), so the SPC limits come from the whole series."
        )
    smallest = min(comparison.n_before, comparison.n_after)
    if comparison.episodes and smallest < SMALL_NUMBERS:
        caveats.append(
            f"Small numbers: {smallest} episodes on one side (fewer than {SMALL_NUMBERS}); "
            "the interval is wide."
        )
    if its is None:
        caveats.append(
            f"No interrupted time-series estimate: it needs {ITS_MIN_POINTS} {unit} on each side."
        )
    else:
        if sign * its.slope_before_lower > 0 or sign * its.slope_before_upper < 0:
            better = sign * its.slope_before > 0
            caveats.append(
                f"The metric was already {'improving' if better else 'worsening'} before the "
                "change; the before/after difference includes that trend, so read the "
                "interrupted time-series level and slope changes."
            )
        if its.durbin_watson < 1.5:
            caveats.append(
                f"Neighbouring points are correlated (Durbin-Watson {its.durbin_watson:.2f}), "
                "so the time-series intervals are too narrow."
            )
    if verdict == IMPROVEMENT and concerned and not improved:
        caveats.append("The SPC chart shows special causes of concern after the change.")
    if verdict == DETERIORATION and improved and not concerned:
        caveats.append("The SPC chart shows special causes of improvement after the change.")
    if verdict == NO_CHANGE and (improved or concerned):
        caveats.append(
            "The SPC chart shows a special cause after the change that the before/after "
            "comparison cannot yet confirm."
        )
    return caveats
