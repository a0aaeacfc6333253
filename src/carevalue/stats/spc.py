"""Making Data Count XmR charts ("plot the dots"), as NHSRplotthedots 0.2.2 computes them.

``xmr()`` takes a series (or many, as facets) and returns one row per input point, in the
order given, with its process limits and the special-cause rule, if any, that it meets.
``variation()``, ``assurance()`` and ``summary()`` read that frame and give the icons and
the table a board report shows. The statistics follow ``spc_methods.md`` §1 (what
NHSRplotthedots 0.2.2 computes); the user-facing account, with every policy choice, is
``docs/reading-an-spc-chart.md``. The caller's arrays (values, dates, facets, rebase dates,
targets) are read into typed arrays by ``carevalue.stats.spc_inputs``; this module holds the
rules.

All facets are computed together: the points are sorted once by facet and date, every
facet x rebase group becomes a contiguous block, and the sums, moving ranges and runs
are numpy operations over the whole array with the block boundaries as breaks. That keeps
the cost per series to a few array elements, so 10,000 series cost about what one long
series does.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from carevalue.stats import spc_inputs as inputs
from carevalue.stats.warnings import ShortSeriesWarning

__all__ = [
    "LIMIT_MULTIPLIER",
    "SCREEN_MULTIPLIER",
    "SHORT_SERIES_POINTS",
    "ShortSeriesWarning",
    "assurance",
    "control_chart",
    "summary",
    "variation",
    "xmr",
]

# MDC and NHSRplotthedots use 2.66 exactly, not 3/1.128 = 2.6596 (qicharts2's i chart).
LIMIT_MULTIPLIER = 2.66
# The "near" lines sit at two of the three sigmas: 2 x 2.66 / 3 = 1.77333 x AMR.
NEAR_MULTIPLIER = 2 * LIMIT_MULTIPLIER / 3
# A moving range this many times the average is an outlier, dropped before the limits.
SCREEN_MULTIPLIER = 3.267
# MDC's baseline guidance is 12 to 20 points; fewer gives limits that move a lot.
SHORT_SERIES_POINTS = 12
# ptd_spc_options refuses a fixed baseline shorter than 12 points.
MIN_FIXED_BASELINE = 12
RUN_POINTS = 7  # both the shift (7 on one side) and the trend (7 rising or falling)

IMPROVEMENT_DIRECTIONS = {"increase": 1, "decrease": -1, "neutral": 0}
TWO_IN_THREE_VARIANTS = ("ptd", "mdc2023")

POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)

# Rule codes in precedence order: a point meeting several rules is labelled by the first.
_NO_RULE, _ASTRONOMICAL, _TREND, _TWO_IN_THREE, _SHIFT = range(5)
RULES = (None, "astronomical", "trend", "two_in_three", "shift")
# NHSRplotthedots' own wording: "Common Cause", then per rule the high and the low label,
# so a flagged point's label is number 2 x rule - 1 (+ 1 when it scores low).
SPECIAL_CAUSE_TYPES = (
    "Common Cause",
    "Above UCL",
    "Below LCL",
    "7 Point Trend (Increasing)",
    "7 Point Trend (Decreasing)",
    "2 in 3 Above CL",
    "2 in 3 Below CL",
    "7 Points Above CL",
    "7 Points Below CL",
)

VARIATION_ICONS = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neutral_high",
    "neutral_low",
)
# (point_type, direction) -> icon, spc_methods.md §1.4. Concern on a higher-is-better
# measure is a low point, so the icon's side is the data's side, not the judgement's.
_VARIATION = {
    ("common_cause", 1): "common_cause",
    ("common_cause", -1): "common_cause",
    ("common_cause", 0): "common_cause",
    ("special_cause_improvement", 1): "improvement_high",
    ("special_cause_improvement", -1): "improvement_low",
    ("special_cause_concern", 1): "concern_low",
    ("special_cause_concern", -1): "concern_high",
    ("special_cause_neutral_high", 0): "neutral_high",
    ("special_cause_neutral_low", 0): "neutral_low",
}
ASSURANCE_ICONS = ("consistent_pass", "consistent_fail", "inconsistent")

_SUMMARY_COUNT_NAMES = {
    "common_cause": "common_cause",
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neutral_high": "neutral_high",
    "special_cause_neutral_low": "neutral_low",
}
SUMMARY_COLUMNS = (
    "facet",
    "rebase_group",
    "start",
    "end",
    "n",
    "mean",
    "lpl",
    "upl",
    *_SUMMARY_COUNT_NAMES.values(),
    "variation",
    "assurance",
)

COLUMNS = (
    "date",
    "facet",
    "y",
    "rebase_group",
    "mean",
    "lpl",
    "upl",
    "special_cause_flag",
    "point_type",
    "nlpl",
    "nupl",
    "amr",
    "moving_range",
    "mr_screened_out",
    "target",
    "rule",
    "special_cause_type",
    "improvement",
)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def xmr(
    y,
    dates=None,
    *,
    improvement: str = "increase",
    target=None,
    rebase=None,
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
    facets=None,
    two_in_three: str = "ptd",
) -> pd.DataFrame:
    """Make a "plot the dots" XmR chart: one row per input point, in input order.

    ``y``: the values (None/NaN are kept as gaps). ``dates``: dates (or ISO 8601 text) or
    numbers, one per value, unique within a facet (None numbers the points 1..n). ``improvement``:
    "increase", "decrease" or "neutral". ``target``: a number, or a dict facet -> number.
    ``rebase``: dates at which a new group (new mean and limits) starts, or with facets a
    dict facet -> dates. ``fix_after_n_points`` (>= 12): mean and limits from the first n
    points of each group, extended over the rest. ``screen_outliers``: drop moving ranges
    >= 3.267 x their mean once before setting the limits (Excel does not). ``facets``: a
    label per value; each facet is its own chart. ``two_in_three``: "ptd" (points beyond
    the limits are not "close", NHSRplotthedots 0.2.2) or "mdc2023" (they are, as MDC's
    2023 revision says).

    Columns: date, facet, y, rebase_group, mean, lpl, upl, special_cause_flag, point_type,
    then nlpl, nupl (the 2-sigma lines), amr, moving_range, mr_screened_out, target, rule
    (which rule labelled the point), special_cause_type (NHSRplotthedots' label) and
    improvement.
    """
    direction = _improvement_direction(improvement)
    _check_options(fix_after_n_points, screen_outliers, two_in_three)
    values = inputs.as_values(y)
    n = len(values)
    if n < 2:
        raise ValueError(f"a chart needs at least 2 observed points, but y has {n}.")
    date_values, date_keys, date_kind, date_tz = inputs.as_dates(dates, n)
    facet_values, facet_codes, facet_labels = inputs.as_facets(facets, n)
    rebase_marks = inputs.rebase_marks(
        rebase, (date_kind, date_tz), date_keys, facet_codes, facet_labels
    )
    targets = inputs.targets(target, facet_codes, facet_labels, n)

    # ptd sorts by facet then date; the facets' own order does not change any result, so
    # their order of first appearance (the factorize codes) serves as the facet key.
    order = np.lexsort((date_keys, facet_codes))
    layout = _GroupLayout(facet_codes[order], date_keys[order], rebase_marks[order])
    layout.refuse_duplicate_dates(facet_labels)

    chart = _chart(
        values[order], layout, fix_after_n_points, screen_outliers, two_in_three, facet_labels
    )
    point_type = _point_type_codes(chart["rule"], chart["score"], direction)

    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.arange(n)

    def back(sorted_values: np.ndarray) -> np.ndarray:  # sorted order -> input order
        return sorted_values[inverse]

    rule = back(chart["rule"])
    low = back(chart["score"]) < 0
    return pd.DataFrame(
        {
            "date": date_values,
            "facet": facet_values,
            "y": values,
            "rebase_group": back(layout.rebase_group),
            "mean": back(chart["mean"]),
            "lpl": back(chart["lpl"]),
            "upl": back(chart["upl"]),
            "special_cause_flag": rule != _NO_RULE,
            "point_type": pd.Categorical.from_codes(back(point_type), categories=POINT_TYPES),
            "nlpl": back(chart["nlpl"]),
            "nupl": back(chart["nupl"]),
            "amr": back(chart["amr"]),
            "moving_range": back(chart["moving_range"]),
            "mr_screened_out": back(chart["mr_screened_out"]),
            "target": targets,
            "rule": pd.Categorical.from_codes(rule - 1, categories=RULES[1:]),  # no rule -> NaN
            "special_cause_type": pd.Categorical.from_codes(
                np.where(rule == _NO_RULE, 0, 2 * rule - 1 + low), categories=SPECIAL_CAUSE_TYPES
            ),
            "improvement": pd.Categorical.from_codes(
                np.zeros(n, dtype=np.int8), categories=[improvement]
            ),
        }
    )


def variation(df: pd.DataFrame) -> dict:
    """Variation icon per facet: the point_type of its latest observed point, as an icon.

    Icons: common_cause, improvement_high, improvement_low, concern_high, concern_low,
    neutral_high, neutral_low. A trailing gap is skipped: the icon describes the latest
    data there is. Without facets the key is None.
    """
    _require_columns(df, ("date", "facet", "y", "point_type", "improvement"))
    latest = _latest_rows(df[df["y"].notna()])
    directions = [_improvement_direction(value) for value in latest["improvement"]]
    return {
        _facet_key(facet): _VARIATION[(point_type, direction)]
        for facet, point_type, direction in zip(
            latest["facet"], latest["point_type"], directions, strict=True
        )
    }


def assurance(df: pd.DataFrame, target=None) -> dict:
    """Assurance icon per facet: where the target sits against the latest group's limits.

    ``target``: a number, a dict facet -> number, or None to use the frame's ``target``
    column. consistent_pass / consistent_fail when the target lies beyond a limit (so the
    process will reliably meet / miss it), inconsistent when it lies between or exactly
    on a limit (NHSRplotthedots' strict comparisons), None with no target or a neutral
    measure. Uses the facet's last row (latest date), whose group holds the current limits.
    """
    _require_columns(df, ("date", "facet", "lpl", "upl", "improvement"))
    latest = _latest_rows(df)
    facets = [_facet_key(facet) for facet in latest["facet"]]
    goals = _goals(target, facets, latest)
    directions = [_improvement_direction(value) for value in latest["improvement"]]
    return {
        facet: _assurance_icon(goal, lpl, upl, direction)
        for facet, goal, lpl, upl, direction in zip(
            facets, goals, latest["lpl"], latest["upl"], directions, strict=True
        )
    }


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per facet x rebase group: its limits, point counts and icons.

    Columns: facet, rebase_group, start, end (dates), n (observed points), mean, lpl, upl
    (the group's limits), one count per point_type (common_cause, improvement, concern,
    neutral_high, neutral_low), variation (the icon for the group's latest observed
    point) and assurance (only for each facet's latest group, None for earlier ones, as
    an old group's limits say nothing about meeting a target now).
    """
    _require_columns(df, COLUMNS[:9] + ("target", "improvement"))
    frame = df.reset_index(drop=True)
    # Facets in order of first appearance, groups in order, rows in date order within them.
    facet_order, _ = pd.factorize(frame["facet"], use_na_sentinel=False)
    frame = frame.assign(_facet_order=facet_order, _observed=frame["y"].notna())
    frame = frame.sort_values(["_facet_order", "rebase_group", "date"], kind="stable")
    keys = ["_facet_order", "rebase_group"]
    groups = frame.groupby(keys, sort=False)
    table = groups.agg(
        facet=("facet", "first"),
        start=("date", "first"),
        end=("date", "last"),
        n=("_observed", "sum"),
        mean=("mean", "last"),
        lpl=("lpl", "last"),
        upl=("upl", "last"),
        improvement_direction=("improvement", "last"),
    )
    observed = frame[frame["_observed"]]
    counts = (
        observed.groupby(keys, sort=False)["point_type"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=list(POINT_TYPES), fill_value=0)
        .rename(columns=_SUMMARY_COUNT_NAMES)
    )
    table = table.join(counts).fillna(dict.fromkeys(_SUMMARY_COUNT_NAMES.values(), 0))
    last_type = observed.groupby(keys, sort=False)["point_type"].last()
    table["variation"] = [
        _VARIATION[(point_type, _improvement_direction(improvement))]
        for point_type, improvement in zip(
            last_type.reindex(table.index), table["improvement_direction"], strict=True
        )
    ]
    # Assurance speaks about the current limits only: each facet's latest group.
    icons = assurance(frame)
    facet_order = table.index.get_level_values("_facet_order")
    latest_group = frame.groupby("_facet_order")["rebase_group"].max()
    latest = (
        table.index.get_level_values("rebase_group") == latest_group.loc[facet_order].to_numpy()
    )
    table["assurance"] = [
        icons[_facet_key(facet)] if is_latest else None
        for facet, is_latest in zip(table["facet"], latest, strict=True)
    ]
    table["facet"] = [_facet_key(facet) for facet in table["facet"]]
    table = table.reset_index(level="rebase_group").reset_index(drop=True)
    counts_columns = list(_SUMMARY_COUNT_NAMES.values())
    table[counts_columns] = table[counts_columns].astype(int)
    return table[list(SUMMARY_COLUMNS)]


# --------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------


def _improvement_direction(improvement) -> int:
    if not isinstance(improvement, str) or improvement not in IMPROVEMENT_DIRECTIONS:
        raise ValueError(
            f"improvement must be 'increase', 'decrease' or 'neutral', not {improvement!r}."
        )
    return IMPROVEMENT_DIRECTIONS[improvement]


def _check_options(fix_after_n_points, screen_outliers, two_in_three) -> None:
    if two_in_three not in TWO_IN_THREE_VARIANTS:
        raise ValueError(f"two_in_three must be 'ptd' or 'mdc2023', not {two_in_three!r}.")
    if not isinstance(screen_outliers, (bool, np.bool_)):
        raise ValueError(f"screen_outliers must be True or False, not {screen_outliers!r}.")
    if fix_after_n_points is None:
        return
    try:
        if isinstance(fix_after_n_points, bool):
            raise TypeError
        fixed = operator.index(fix_after_n_points)
    except TypeError:
        raise ValueError(
            f"fix_after_n_points must be a whole number, not {fix_after_n_points!r}."
        ) from None
    if fixed < MIN_FIXED_BASELINE:
        raise ValueError(
            f"fix_after_n_points must be at least {MIN_FIXED_BASELINE} "
            f"(a baseline of 12 to 20 points), not {fixed}."
        )


# --------------------------------------------------------------------------------------
# Calculation, over all facets at once (sorted by facet, then date)
# --------------------------------------------------------------------------------------


class _GroupLayout:
    """Where each facet x rebase group starts in the sorted arrays, and who belongs where."""

    def __init__(self, facet_codes: np.ndarray, date_keys: np.ndarray, rebase_marks: np.ndarray):
        n = len(facet_codes)
        self.facet_codes = facet_codes
        self.date_keys = date_keys
        self.facet_start = np.ones(n, dtype=bool)
        self.facet_start[1:] = facet_codes[1:] != facet_codes[:-1]
        self.group_start = self.facet_start | rebase_marks
        self.group = np.cumsum(self.group_start) - 1
        self.starts = np.flatnonzero(self.group_start)
        self.position = np.arange(n) - self.starts[self.group]
        # ptd numbers groups cumsum(rebase) within a facet: 0 first, unless the first date
        # is itself a rebase date.
        marks_before = np.cumsum(rebase_marks)
        facet_index = np.cumsum(self.facet_start) - 1
        first_of_facet = (marks_before - rebase_marks)[self.facet_start]
        self.rebase_group = marks_before - first_of_facet[facet_index]
        self.rebased = bool(rebase_marks.any())

    @property
    def n_groups(self) -> int:
        return len(self.starts)

    def same_group_ahead(self, k: int) -> np.ndarray:
        """True at i when row i + k exists and is in row i's group."""
        same = np.zeros(len(self.group), dtype=bool)
        if k < len(self.group):
            same[:-k] = self.group[k:] == self.group[:-k]
        return same

    def refuse_duplicate_dates(self, facet_labels) -> None:
        repeated = ~self.facet_start[1:] & (self.date_keys[1:] == self.date_keys[:-1])
        if repeated.any():
            where = self.describe(self.group[1:][repeated][0], facet_labels, with_group=False)
            raise ValueError(f"two points share a date{where}; give each point its own date.")

    def describe(self, group: int, facet_labels, with_group: bool = True) -> str:
        first = self.starts[group]
        parts = []
        if facet_labels is not None:
            parts.append(f"facet {facet_labels[self.facet_codes[first]]!r}")
        if with_group and self.rebased:
            parts.append(f"rebase group {self.rebase_group[first]}")
        return f" in {', '.join(parts)}" if parts else ""


def _group_mean(values: np.ndarray, group: np.ndarray, n_groups: int):
    """Mean of the non-missing values in each group (NaN for none), and their count."""
    observed = ~np.isnan(values)
    totals = np.bincount(group[observed], weights=values[observed], minlength=n_groups)
    counts = np.bincount(group[observed], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return totals / counts, counts


def _moving_ranges(values: np.ndarray, layout: _GroupLayout) -> np.ndarray:
    # A moving range never spans two groups, nor a gap: |x - NaN| is NaN, as in R.
    ranges = np.full(len(values), np.nan)
    ranges[1:] = np.abs(np.diff(values))
    ranges[layout.group_start] = np.nan
    return ranges


def _run_lengths(values: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Length of the run of equal values each element belongs to; runs also end at breaks."""
    starts = breaks.copy()
    starts[0] = True
    starts[1:] |= values[1:] != values[:-1]
    run = np.cumsum(starts) - 1
    return np.bincount(run)[run]


def _chart(
    y, layout: _GroupLayout, fix_after_n_points, screen_outliers, two_in_three, facet_labels
) -> dict:
    limits = _limits(y, layout, fix_after_n_points, screen_outliers, facet_labels)
    rule, score = _special_causes(y, layout, limits, two_in_three)
    limits.update(rule=rule, score=score, moving_range=_moving_ranges(y, layout))
    return limits


def _limits(y, layout: _GroupLayout, fix_after_n_points, screen_outliers, facet_labels) -> dict:
    """Mean, average moving range and process limits per row (spc_methods.md §1.2)."""
    baseline = (
        y
        if fix_after_n_points is None
        else np.where(layout.position < fix_after_n_points, y, np.nan)
    )
    mean, n_points = _group_mean(baseline, layout.group, layout.n_groups)
    ranges = _moving_ranges(baseline, layout)
    amr, n_ranges = _group_mean(ranges, layout.group, layout.n_groups)
    _check_group_sizes(n_points, n_ranges, layout, facet_labels)
    screened_out = np.zeros(len(y), dtype=bool)
    if screen_outliers:
        # Screen once against the unscreened AMR (strictly less is kept). When every
        # moving range is 0 nothing is unusual; screening would drop them all (0 < 0 is
        # false) and leave ptd with NaN limits, so such a group keeps its zero AMR.
        cut = SCREEN_MULTIPLIER * amr[layout.group]
        screened_out = ~np.isnan(ranges) & ~(ranges < cut) & (amr[layout.group] > 0)
        amr, _ = _group_mean(np.where(screened_out, np.nan, ranges), layout.group, layout.n_groups)

    row_mean, row_amr = mean[layout.group], amr[layout.group]
    return {
        "mean": row_mean,
        "amr": row_amr,
        "lpl": row_mean - LIMIT_MULTIPLIER * row_amr,
        "upl": row_mean + LIMIT_MULTIPLIER * row_amr,
        "nlpl": row_mean - NEAR_MULTIPLIER * row_amr,
        "nupl": row_mean + NEAR_MULTIPLIER * row_amr,
        "mr_screened_out": screened_out,
    }


def _check_group_sizes(
    n_points: np.ndarray, n_ranges: np.ndarray, layout: _GroupLayout, facet_labels
) -> None:
    """Refuse groups that cannot have limits; warn once about groups whose limits are weak."""
    too_few = np.flatnonzero(n_points < 2)
    if len(too_few):
        where = layout.describe(int(too_few[0]), facet_labels)
        raise ValueError(
            "a chart needs at least 2 observed points per group, "
            f"but there are {n_points[too_few[0]]}{where}."
        )
    no_range = np.flatnonzero(n_ranges == 0)
    if len(no_range):
        where = layout.describe(int(no_range[0]), facet_labels)
        raise ValueError(
            f"no two consecutive points are observed{where}, "
            "so there is no moving range to set limits from."
        )
    short = np.flatnonzero(n_points < SHORT_SERIES_POINTS)
    if len(short):
        where = layout.describe(int(short[0]), facet_labels)
        warnings.warn(
            f"{len(short)} chart group(s) set their limits from fewer than "
            f"{SHORT_SERIES_POINTS} points (e.g. {n_points[short[0]]} points{where}); "
            "such limits are unreliable and will move as data arrives.",
            ShortSeriesWarning,
            stacklevel=5,  # _check_group_sizes < _limits < _chart < xmr < the caller
        )


def _special_causes(y, layout: _GroupLayout, limits: dict, two_in_three: str):
    """Rule code (in precedence order) and direction score (+1 high, -1 low) per row."""
    observed = ~np.isnan(y)
    with np.errstate(invalid="ignore"):
        # NaN compares False, so a gap is never outside, never close and on no side.
        outside = (y > limits["upl"]) | (y < limits["lpl"])
        beyond_near = (y > limits["nupl"]) | (y < limits["nlpl"])
        side = np.where(observed, np.sign(y - limits["mean"]), 0).astype(np.int8)
    # ptd 0.2.2: a point beyond the limits is not "close";
    # MDC 2023: every point beyond 2 sigma counts.
    close = beyond_near & ~outside if two_in_three == "ptd" else beyond_near

    in_trend, trend_direction = _trends(y, layout)
    two_of_three = _two_in_three(close, side, layout)
    shift = (side != 0) & (_run_lengths(side, layout.group_start) >= RUN_POINTS)

    rule = np.select(
        [outside, in_trend, two_of_three, shift],
        [_ASTRONOMICAL, _TREND, _TWO_IN_THREE, _SHIFT],
        default=_NO_RULE,
    ).astype(np.int8)
    score = np.where(rule == _TREND, trend_direction, side)
    score[rule == _NO_RULE] = 0
    return rule, score.astype(np.int8)


def _trends(y, layout: _GroupLayout):
    """Which points are in a run of 7 (6 strictly rising or falling steps), and its direction."""
    # A tie (step 0) or a gap (NaN step, read as 0) breaks a trend.
    with np.errstate(invalid="ignore"):
        step = np.zeros(len(y), dtype=np.int8)
        step[1:] = np.nan_to_num(np.sign(np.diff(y)))
    step[layout.group_start] = 0
    in_trend_step = (step != 0) & (_run_lengths(step, layout.group_start) >= RUN_POINTS - 1)
    next_in_trend_step = np.zeros(len(y), dtype=bool)
    next_in_trend_step[:-1] = in_trend_step[1:]
    next_step = np.zeros(len(y), dtype=np.int8)
    next_step[:-1] = step[1:]
    # A point shared by a rising and a falling trend takes the later trend's direction
    # (ptd's #171 fix). Otherwise it takes the direction of the trend it belongs to;
    # ptd's code reads the step to the next point whenever that point is in any trend,
    # which mislabels the end of a trend followed by a tie or a single reversed step.
    direction = np.where(next_in_trend_step, next_step, step)
    return in_trend_step | next_in_trend_step, direction


def _two_in_three(close, side, layout: _GroupLayout) -> np.ndarray:
    """Close points in any window of 3 (within a group) with >= 2 close, all 3 on one side."""
    n = len(close)
    window = np.zeros(n, dtype=bool)  # window[i]: the window starting at row i qualifies
    if n >= 3:
        n_close = close[:-2].astype(np.int8) + close[1:-1] + close[2:]
        sides = side[:-2].astype(np.int16) + side[1:-1] + side[2:]
        window[:-2] = layout.same_group_ahead(2)[:-2] & (n_close >= 2) & (np.abs(sides) == 3)
    covered = window.copy()
    covered[1:] |= window[:-1]
    covered[2:] |= window[:-2]
    return covered & close


def _point_type_codes(rule, score, direction: int) -> np.ndarray:
    """Index into POINT_TYPES: high/low scores become improvement/concern by direction."""
    if direction == 0:
        return np.select([score > 0, score < 0], [3, 4], default=0)
    oriented = score.astype(np.int16) * direction
    return np.select([oriented > 0, oriented < 0], [1, 2], default=0)


# --------------------------------------------------------------------------------------
# Icons
# --------------------------------------------------------------------------------------


def _require_columns(df: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"the frame lacks column(s) {', '.join(missing)}; pass the frame xmr() returned."
        )


def _facet_key(facet):
    # groupby(dropna=False) turns the no-facet label None into NaN; give it back as None.
    return None if facet is None or (isinstance(facet, float) and np.isnan(facet)) else facet


def _latest_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each facet's row with the latest date (one row per facet)."""
    frame = df.reset_index(drop=True)
    latest = frame.groupby("facet", dropna=False, sort=False)["date"].idxmax()
    return frame.loc[latest.to_numpy()]


def _goals(target, facets: list, latest: pd.DataFrame) -> list:
    """The target per facet: the argument if given, else the frame's target column."""
    if target is None:
        values = latest["target"] if "target" in latest.columns else [np.nan] * len(facets)
    elif isinstance(target, Mapping):
        values = [target.get(facet, np.nan) for facet in facets]
    else:
        values = [target] * len(facets)
    return [np.nan if value is None else float(value) for value in values]


def _assurance_icon(goal: float, lpl: float, upl: float, direction: int):
    if direction == 0 or np.isnan(goal):
        return None
    if goal > upl:
        return "consistent_fail" if direction == 1 else "consistent_pass"
    if goal < lpl:
        return "consistent_pass" if direction == 1 else "consistent_fail"
    return "inconsistent"  # between the limits, or exactly on one (ptd compares strictly)


# The qicharts2 family lives in its own module; spc re-exports it.
from carevalue.stats.control_charts import control_chart  # noqa: E402
