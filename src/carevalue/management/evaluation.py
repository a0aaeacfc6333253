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
]

IMPROVEMENT = "associated with improvement"
DETERIORATION = "associated with deterioration"
NO_CHANGE = "no detectable change"
ITS_MIN_POINTS = 8  # per side, for a slope and a level on each
SPC_BASELINE_POINTS = spc.SHORT_SERIES_POINTS  # 12: MDC's shortest useful baseline
SHORT_FOLLOW_UP_POINTS = 12
SMALL_DENOMINATOR = 30  # episodes per side below which a proportion is fragile
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
        return (
            f"The change is {self.verdict}: {self.before:.3g} before and {self.after:.3g} "
            f"after, a difference of {self.difference:+.3g} (95% interval {self.lower:+.3g} "
            f"to {self.upper:+.3g}); {self.spc_evidence}."
        )


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
    if improvement not in _DIRECTIONS:
        raise ValueError(
            f"improvement must be one of {', '.join(_DIRECTIONS)}, not {improvement!r}: "
            "a verdict needs to know which way is better."
        )
    sign = _DIRECTIONS[improvement]
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
    after = frame["date"] >= pd.Timestamp(change_date)
    n_before, n_after = int((~after).sum()), int(after.sum())
    if n_before < 2 or n_after < 2:
        raise ValueError(
            f"an evaluation needs at least 2 points on each side of the change, but there are "
            f"{n_before} before and {n_after} after."
        )

    if proportions:
        before_parts, after_parts = frame[~after], frame[after]
        count_b, nobs_b = before_parts["num"].sum(), before_parts["den"].sum()
        count_a, nobs_a = after_parts["num"].sum(), after_parts["den"].sum()
        low, high = confint_proportions_2indep(
            count_a, nobs_a, count_b, nobs_b, method="newcomb", compare="diff", alpha=1 - LEVEL
        )
        before, after_value = count_b / nobs_b, count_a / nobs_a
        method = "difference of proportions"
    else:
        compare = CompareMeans(
            DescrStatsW(frame.loc[after, "y"]), DescrStatsW(frame.loc[~after, "y"])
        )
        low, high = compare.tconfint_diff(alpha=1 - LEVEL, usevar="unequal")
        before, after_value = frame.loc[~after, "y"].mean(), frame.loc[after, "y"].mean()
        method = "difference of means"
    difference = float(after_value - before)
    better_low, better_high = sign * low, sign * high  # > 0 is better on this scale
    if min(better_low, better_high) > 0:
        verdict = IMPROVEMENT
    elif max(better_low, better_high) < 0:
        verdict = DETERIORATION
    else:
        verdict = NO_CHANGE

    improved, concerned = _spc_evidence(frame, after.to_numpy(), improvement)
    its = _interrupted_time_series(frame["y"].to_numpy(), after.to_numpy())
    caveats = _caveats(
        frame, after, n_before, n_after, proportions, verdict, sign, its, improved, concerned
    )
    return Evaluation(
        improvement=improvement,
        method=method,
        n_before=n_before,
        n_after=n_after,
        before=float(before),
        after=float(after_value),
        difference=difference,
        lower=float(low),
        upper=float(high),
        spc_improvement_points=improved,
        spc_concern_points=concerned,
        its=its,
        verdict=verdict,
        caveats=tuple(caveats),
    )


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


def _interrupted_time_series(y: np.ndarray, after: np.ndarray) -> InterruptedTimeSeries | None:
    n_before, n_after = int((~after).sum()), int(after.sum())
    if n_before < ITS_MIN_POINTS or n_after < ITS_MIN_POINTS:
        return None
    t = np.arange(len(y), dtype=float)
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


def _caveats(frame, after, n_before, n_after, proportions, verdict, sign, its, improved, concerned):
    caveats = []
    if n_after < SHORT_FOLLOW_UP_POINTS:
        caveats.append(
            f"Short follow-up: {n_after} points after the change (fewer than "
            f"{SHORT_FOLLOW_UP_POINTS}); the estimate may move as more arrive."
        )
    if n_before < SPC_BASELINE_POINTS:
        caveats.append(
            f"Short baseline: {n_before} points before the change (fewer than "
            f"{SPC_BASELINE_POINTS}), so the SPC limits come from the whole series."
        )
    if proportions:
        smallest = min(frame.loc[~after, "den"].sum(), frame.loc[after, "den"].sum())
        if smallest < SMALL_DENOMINATOR:
            caveats.append(
                f"Small numbers: {smallest:.0f} episodes on one side (fewer than "
                f"{SMALL_DENOMINATOR}); the interval is wide."
            )
    if its is None:
        caveats.append(
            f"No interrupted time-series estimate: it needs {ITS_MIN_POINTS} points on each side."
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
