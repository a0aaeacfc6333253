"""Making Data Count XmR charts (``carevalue.stats.spc.xmr``) against NHSRplotthedots 0.2.2.

There is no R here, so the reference is reproduced three ways:

1. hand-worked cases, one per rule and policy, with the arithmetic written out in the test
   (the means, moving ranges and limits come from the numbers in the comments);
2. an independent, deliberately plain implementation of spc_methods.md §1 (``reference``
   below: Python loops, one window at a time, written from the spec's wording) that
   Hypothesis compares against ``xmr`` on random series with gaps, facets and rebases;
3. the real NHS England A&E series in tests/data (trusts RRK and RF4), where the limits
   are recomputed with plain numpy and the flags with ``reference``.

Means and limits must match to 1e-9, flags and point types exactly.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from carevalue.stats import spc
from carevalue.stats.warnings import ShortSeriesWarning

DATA = Path(__file__).parent / "data"
NAN = float("nan")
short_ok = pytest.mark.filterwarnings("ignore::carevalue.stats.warnings.ShortSeriesWarning")


def flagged(df: pd.DataFrame) -> dict[int, str]:
    """Row number -> NHSRplotthedots label, for the flagged rows only."""
    return {i: label for i, label in enumerate(df["special_cause_type"]) if label != "Common Cause"}


def limits(df: pd.DataFrame, row: int = 0) -> tuple[float, float, float]:
    return df["lpl"].iloc[row], df["mean"].iloc[row], df["upl"].iloc[row]


# ======================================================================================
# The independent reference: spc_methods.md §1 as plain loops
# ======================================================================================

LIMIT, NEAR, SCREEN = 2.66, 2 * 2.66 / 3, 3.267


class TooFewPoints(Exception):
    """The reference's way of saying xmr must raise ValueError."""


def reference_group(y, fix=None, screen=True, two_in_three="ptd"):
    """One facet x rebase group, in date order: limits and per-point (label, score)."""
    y = [float(v) for v in y]
    n = len(y)
    base = [y[i] if fix is None or i < fix else NAN for i in range(n)]
    total, count = 0.0, 0
    for value in base:
        if not math.isnan(value):
            total += value
            count += 1
    if count < 2:
        raise TooFewPoints
    mean = total / count
    ranges = [
        abs(base[i] - base[i - 1])
        for i in range(1, n)
        if not (math.isnan(base[i]) or math.isnan(base[i - 1]))
    ]
    if not ranges:
        raise TooFewPoints
    amr = sum(ranges) / len(ranges)
    if screen and amr > 0:
        kept = [r for r in ranges if r < SCREEN * amr]
        amr = sum(kept) / len(kept)
    upl, lpl = mean + LIMIT * amr, mean - LIMIT * amr
    nupl, nlpl = mean + NEAR * amr, mean - NEAR * amr

    observed = [not math.isnan(v) for v in y]
    outside = [observed[i] and (y[i] > upl or y[i] < lpl) for i in range(n)]
    side = [0 if not observed[i] else (y[i] > mean) - (y[i] < mean) for i in range(n)]
    beyond_2sigma = [observed[i] and (y[i] > nupl or y[i] < nlpl) for i in range(n)]
    close = [beyond_2sigma[i] and (two_in_three == "mdc2023" or not outside[i]) for i in range(n)]

    trend = [0] * n  # direction of the latest-starting 7-point window holding the point
    for start in range(n - 6):
        window = y[start : start + 7]
        if any(math.isnan(v) for v in window):
            continue
        steps = [window[k + 1] - window[k] for k in range(6)]
        direction = 1 if all(s > 0 for s in steps) else -1 if all(s < 0 for s in steps) else 0
        if direction:
            for k in range(start, start + 7):
                trend[k] = direction
    shift = [False] * n
    for start in range(n - 6):
        if side[start] != 0 and all(side[k] == side[start] for k in range(start, start + 7)):
            for k in range(start, start + 7):
                shift[k] = True
    two_of_three = [False] * n
    for start in range(n - 2):
        window = range(start, start + 3)
        if sum(close[k] for k in window) >= 2 and abs(sum(side[k] for k in window)) == 3:
            for k in window:
                two_of_three[k] = two_of_three[k] or close[k]

    points = []
    for i in range(n):
        high = side[i] > 0
        if outside[i]:
            points.append(("Above UCL" if high else "Below LCL", side[i]))
        elif trend[i]:
            points.append(
                (f"7 Point Trend ({'Increasing' if trend[i] > 0 else 'Decreasing'})", trend[i])
            )
        elif two_of_three[i]:
            points.append((f"2 in 3 {'Above' if high else 'Below'} CL", side[i]))
        elif shift[i]:
            points.append((f"7 Points {'Above' if high else 'Below'} CL", side[i]))
        else:
            points.append(("Common Cause", 0))
    return (lpl, mean, upl), points


def reference_point_type(score, improvement):
    if score == 0:
        return "common_cause"
    if improvement == "neutral":
        return "special_cause_neutral_high" if score > 0 else "special_cause_neutral_low"
    oriented = score * (1 if improvement == "increase" else -1)
    return "special_cause_improvement" if oriented > 0 else "special_cause_concern"


def reference(y, dates, facets, rebase=None, improvement="increase", **options):
    """The whole chart in input order: a list of (lpl, mean, upl, label, point_type)."""
    rebase = rebase or {}
    out = [None] * len(y)
    for facet in dict.fromkeys(facets):
        rows = sorted((i for i in range(len(y)) if facets[i] == facet), key=lambda i: dates[i])
        groups, current = [], []
        for i in rows:
            if dates[i] in rebase.get(facet, ()) and current:
                groups.append(current)
                current = []
            current.append(i)
        groups.append(current)
        for group in groups:
            lines, points = reference_group([y[i] for i in group], **options)
            for i, (label, score) in zip(group, points):
                out[i] = (*lines, label, reference_point_type(score, improvement))
    return out


def assert_matches_reference(df, expected):
    got_lines = df[["lpl", "mean", "upl"]].to_numpy()
    want_lines = np.array([e[:3] for e in expected])
    np.testing.assert_allclose(got_lines, want_lines, rtol=1e-12, atol=1e-12)
    assert list(df["special_cause_type"]) == [e[3] for e in expected]
    assert list(df["point_type"]) == [e[4] for e in expected]
    assert list(df["special_cause_flag"]) == [e[3] != "Common Cause" for e in expected]


# ======================================================================================
# Limits
# ======================================================================================

VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_vignette_example_screened_and_unscreened():
    # spc_methods.md §1.2 / NHSRplotthedots vignettes/deviations.Rmd.
    # Sum = 1+2+1+2+10 + 7 ones + 6 twos = 35 over 18 points: mean = 35/18 = 1.9444.
    # Moving ranges: 1,1,1, 8 (2->10), 9 (10->1), then twelve 1s: total 32 over 17.
    # Screening: 3.267 x 32/17 = 6.149, so 8 and 9 go; AMR = 15/15 = 1.
    screened = spc.xmr(VIGNETTE)
    excel = spc.xmr(VIGNETTE, screen_outliers=False)
    assert [round(v, 2) for v in limits(screened)] == [-0.72, 1.94, 4.60]
    assert [round(v, 2) for v in limits(excel)] == [-3.06, 1.94, 6.95]

    mean = 35 / 18
    assert limits(screened) == pytest.approx((mean - 2.66 * 1, mean, mean + 2.66 * 1), abs=1e-9)
    assert limits(excel) == pytest.approx(
        (mean - 2.66 * 32 / 17, mean, mean + 2.66 * 32 / 17), abs=1e-9
    )
    assert list(np.flatnonzero(screened["mr_screened_out"])) == [4, 5]
    assert not excel["mr_screened_out"].any()
    # The mean is never screened, and the 10 is beyond both sets of limits.
    assert flagged(screened) == flagged(excel) == {4: "Above UCL"}


def test_the_near_lines_are_two_of_the_three_sigmas():
    df = spc.xmr(VIGNETTE)
    mean = 35 / 18
    assert df["nupl"].iloc[0] == pytest.approx(mean + 2 * 2.66 / 3, abs=1e-12)
    assert df["nlpl"].iloc[0] == pytest.approx(mean - 1.7733333333333334, abs=1e-12)


def test_all_points_on_the_centre_line_give_zero_width_limits_and_no_flags():
    # Every moving range is 0. ptd would screen them all out (0 < 0 is false) and leave
    # NaN limits; CareValue keeps the zero AMR, so the limits collapse onto the mean.
    df = spc.xmr([5.0] * 12)
    assert limits(df) == (5.0, 5.0, 5.0)
    assert not df["special_cause_flag"].any()
    assert set(df["point_type"]) == {"common_cause"}
    assert limits(spc.xmr([5.0] * 12, screen_outliers=False)) == (5.0, 5.0, 5.0)


# ======================================================================================
# The rules, one at a time
# ======================================================================================

# Alternating 10, 12 and one low point. Sum = 8 tens + 6 twelves + 2 = 154 over 15.
# Moving ranges: twelve 2s and two 8s (10->2->10): 40 over 14 = 2.857; the screen cut is
# 3.267 x 2.857 = 9.33, so none go. LPL = 154/15 - 2.66 x 40/14 = 10.267 - 7.6 = 2.667 > 2.
ASTRONOMICAL = [10, 12, 10, 12, 10, 12, 10, 2, 10, 12, 10, 12, 10, 12, 10]


def test_astronomical_point():
    df = spc.xmr(ASTRONOMICAL)
    mean, amr = 154 / 15, 40 / 14
    assert limits(df) == pytest.approx((mean - 2.66 * amr, mean, mean + 2.66 * amr), abs=1e-9)
    assert flagged(df) == {7: "Below LCL"}
    assert df["point_type"].iloc[7] == "special_cause_concern"
    assert df["rule"].iloc[7] == "astronomical"
    assert df["rule"].drop(index=7).isna().all()


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        ("increase", "special_cause_concern"),
        ("decrease", "special_cause_improvement"),
        ("neutral", "special_cause_neutral_low"),
    ],
)
def test_improvement_direction_decides_what_a_low_point_means(improvement, expected):
    df = spc.xmr(ASTRONOMICAL, improvement=improvement)
    assert df["point_type"].iloc[7] == expected
    assert (df["point_type"].drop(index=7) == "common_cause").all()


# Six points alternating about the mean, then seven above it, then six alternating.
# Sum = 3x(10+4) + (4x8 + 3x9) + 3x(4+10) = 42 + 59 + 42 = 143 over 19: mean 7.526.
# 8 and 9 are above 7.526; the 4s are below and the 10s above, so the runs are 1 long.
SHIFT = [10, 4] * 3 + [8, 9, 8, 9, 8, 9, 8] + [4, 10] * 3


def test_shift_of_seven_points_on_one_side():
    df = spc.xmr(SHIFT)
    assert df["mean"].iloc[0] == pytest.approx(143 / 19, abs=1e-12)
    # Moving ranges: five 6s, 4->8 = 4, six 1s (8<->9), 8->4 = 4, five 6s: 74/18 = 4.111;
    # cut 13.4, nothing screened. The run sits well inside the 2-sigma lines.
    assert df["amr"].iloc[0] == pytest.approx(74 / 18, abs=1e-12)
    assert flagged(df) == dict.fromkeys(range(6, 13), "7 Points Above CL")
    assert set(df["point_type"].iloc[6:13]) == {"special_cause_improvement"}


def test_six_points_on_one_side_are_not_a_shift():
    assert flagged(spc.xmr([10, 4] * 3 + [8, 9, 8, 9, 8, 9] + [4, 10] * 3)) == {}


def test_a_point_on_the_mean_breaks_a_shift():
    # Sum = 3x(12+4) + (9+10+9+8+10+9+10) + 3 + 4 = 48 + 65 + 7 = 120 over 15: mean 8,
    # exactly the 4th point of the run, which is therefore on neither side: 3 + 3 above.
    y = [12, 4, 12, 4, 12, 4, 9, 10, 9, 8, 10, 9, 10, 3, 4]
    df = spc.xmr(y)
    assert df["mean"].iloc[0] == 8
    assert flagged(df) == {}
    # With a 9 there instead (mean 121/15 = 8.07) the 7 points are all above: a shift.
    y[9] = 9
    assert flagged(spc.xmr(y)) == dict.fromkeys(range(6, 13), "7 Points Above CL")


# A rising run of exactly 7 (6 strictly increasing steps) after alternating points.
# Sum = 2x(3+5) + 28 + (3+5) = 52 over 13: mean 4. Moving ranges: 2,2,2,4 (5->1), six 1s,
# 4 (7->3), 2: 22/12 = 1.833; nothing screened (cut 5.99). UPL 8.88, 2-sigma line 7.25.
TREND = [3, 5, 3, 5, 1, 2, 3, 4, 5, 6, 7, 3, 5]


def test_trend_of_seven_points():
    df = spc.xmr(TREND)
    assert limits(df) == pytest.approx((4 - 2.66 * 22 / 12, 4, 4 + 2.66 * 22 / 12), abs=1e-9)
    assert flagged(df) == dict.fromkeys(range(4, 11), "7 Point Trend (Increasing)")
    # The score comes from the trend's direction, so even the points below the mean
    # (1, 2, 3) are improvement when higher is better.
    assert set(df["point_type"].iloc[4:11]) == {"special_cause_improvement"}
    falling = spc.xmr([-v for v in TREND])
    assert flagged(falling) == dict.fromkeys(range(4, 11), "7 Point Trend (Decreasing)")
    assert set(falling["point_type"].iloc[4:11]) == {"special_cause_concern"}


def test_a_tie_breaks_a_trend():
    # 1, 2, 3, 3, 4, 5, 6, 7: eight points rising overall, but the tie (3 -> 3) splits
    # them into runs of 2 and 4 strict steps.
    assert flagged(spc.xmr([3, 5, 3, 5, 1, 2, 3, 3, 4, 5, 6, 7, 3, 5])) == {}
    # Six points (5 steps) are not a trend either.
    assert flagged(spc.xmr([3, 5, 3, 5, 1, 2, 3, 4, 5, 6, 3, 5])) == {}


def test_two_in_three_beyond_two_sigma():
    # Twelve alternating 9, 11, then 16, 11, 16, then 9, 11, 9.
    # Sum = 6x20 + 43 + 29 = 192 over 18: mean 32/3 = 10.667.
    # Moving ranges: eleven 2s, 5, 5, 5, 7 (16->9), 2, 2: 48/17 = 2.824 (cut 9.2: none go).
    # 2-sigma line: 10.667 + 1.7733 x 2.824 = 15.674 < 16 < UPL 18.18; 11 is above the mean.
    y = [9, 11] * 6 + [16, 11, 16] + [9, 11, 9]
    df = spc.xmr(y)
    mean, amr = 32 / 3, 48 / 17
    assert df["nupl"].iloc[0] == pytest.approx(mean + 2 * 2.66 / 3 * amr, abs=1e-12)
    # Only the two close points are flagged, not the third point of the window.
    assert flagged(df) == {12: "2 in 3 Above CL", 14: "2 in 3 Above CL"}
    assert flagged(spc.xmr(y, two_in_three="mdc2023")) == flagged(df)


def test_two_in_three_with_a_point_beyond_the_limits_ptd_and_mdc2023():
    # Twelve alternating 9, 11, then 20, 16, 11, then 9, 11, 9.
    # Sum = 120 + 47 + 29 = 196 over 18: mean 10.889.
    # Moving ranges: eleven 2s, 9 (11->20), 4, 5, 2, 2, 2: 46/17 = 2.706; cut 3.267 x 2.706
    # = 8.84, so the 9 goes; AMR = 37/16 = 2.3125.
    # UPL = 10.889 + 6.151 = 17.04 < 20; 2-sigma line = 10.889 + 4.101 = 14.99 < 16.
    y = [9, 11] * 6 + [20, 16, 11] + [9, 11, 9]
    ptd = spc.xmr(y)
    mean, amr = 196 / 18, 37 / 16
    assert limits(ptd) == pytest.approx((mean - 2.66 * amr, mean, mean + 2.66 * amr), abs=1e-9)
    # ptd 0.2.2: 20 is beyond the limit, so it is not "close"; the window has one close point.
    assert flagged(ptd) == {12: "Above UCL"}
    # MDC 2023: every point beyond 2 sigma counts, so 16 is flagged too.
    mdc = spc.xmr(y, two_in_three="mdc2023")
    assert flagged(mdc) == {12: "Above UCL", 13: "2 in 3 Above CL"}
    assert limits(mdc) == limits(ptd)


def test_two_in_three_needs_all_three_on_one_side():
    # 16, 9, 16: the middle point is below the mean, so the window does not count.
    assert flagged(spc.xmr([9, 11] * 6 + [16, 9, 16] + [9, 11, 9])) == {}


# ======================================================================================
# Precedence: outside limits > trend > 2-in-3 > shift
# ======================================================================================


def test_outside_limits_beats_trend():
    # 8, 9, 10, 11, 12, 13, 20 rises 7 points; 20 is also beyond the UPL (16.08).
    # Sum = 120 + 83 + 20 = 223 over 21. Moving ranges: eleven 2s, 3 (11->8), five 1s, 7,
    # 11 (20->9), 2: 50/20 = 2.5, cut 8.17 so the 11 goes: AMR = 39/19 = 2.053.
    df = spc.xmr([9, 11] * 6 + [8, 9, 10, 11, 12, 13, 20] + [9, 11])
    assert df["upl"].iloc[0] == pytest.approx(223 / 21 + 2.66 * 39 / 19, abs=1e-9)
    assert flagged(df) == {
        **dict.fromkeys(range(12, 18), "7 Point Trend (Increasing)"),
        18: "Above UCL",
    }


def test_trend_beats_shift_so_a_falling_trend_above_the_mean_is_concern():
    # 14, 13.5, ..., 11 falls and, with the 9 after it, makes an 8-point trend. The points
    # 11 (row 11) and 14..11 are also 8 points above the mean (227.5/21 = 10.833).
    df = spc.xmr([9, 11] * 6 + [14, 13.5, 13, 12.5, 12, 11.5, 11] + [9, 11])
    assert df["mean"].iloc[0] == pytest.approx(227.5 / 21, abs=1e-12)
    assert flagged(df) == {
        11: "7 Points Above CL",
        **dict.fromkeys(range(12, 20), "7 Point Trend (Decreasing)"),
    }
    assert df["point_type"].iloc[11] == "special_cause_improvement"
    # Above the mean, yet concern: higher is better and the trend is falling (§1.3).
    assert set(df["point_type"].iloc[12:20]) == {"special_cause_concern"}


def test_two_in_three_beats_shift():
    # Sum = 6x20 + (12+13+12+16+12+16+12) + 29 = 120 + 93 + 29 = 242 over 22: mean 11, so
    # every 11 sits on the mean and the 9s below it. Moving ranges: eleven 2s, 1, 1, 1, 4,
    # 4, 4, 4, 3, 2, 2: 48/21 = 2.286. 2-sigma line = 11 + 1.7733 x 2.286 = 15.05 < 16.
    df = spc.xmr([9, 11] * 6 + [12, 13, 12, 16, 12, 16, 12] + [9, 11, 9])
    assert limits(df) == pytest.approx((11 - 2.66 * 48 / 21, 11, 11 + 2.66 * 48 / 21), abs=1e-9)
    shift = dict.fromkeys(range(12, 19), "7 Points Above CL")
    assert flagged(df) == {**shift, 15: "2 in 3 Above CL", 17: "2 in 3 Above CL"}
    assert list(df["rule"].iloc[12:19]) == [
        "shift",
        "shift",
        "shift",
        "two_in_three",
        "shift",
        "two_in_three",
        "shift",
    ]


def test_a_point_shared_by_a_rising_and_a_falling_trend_takes_the_later_one():
    # 1..7 rises, 7..1 falls; the 7 belongs to both and is labelled by the falling trend
    # (ptd's #171 fix: the next difference when the next point is in the trend).
    y = [1, 7] * 3 + [1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1] + [7, 1] * 3
    df = spc.xmr(y, screen_outliers=False)
    labels = flagged(df)
    assert [labels[i] for i in range(6, 12)] == ["7 Point Trend (Increasing)"] * 6
    assert [labels[i] for i in range(12, 19)] == ["7 Point Trend (Decreasing)"] * 7


def test_a_trend_ending_in_a_tie_keeps_its_own_direction():
    # 1..7 rises, the 7 repeats, then 7..1 falls. The first 7 is only in the rising trend.
    # (ptd 0.2.2's code reads the step to the next point, a tie, and says "Decreasing";
    # CareValue labels a point by the trend it belongs to: see the docs.)
    y = [1, 7] * 3 + [1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1] + [7, 1] * 3
    df = spc.xmr(y, screen_outliers=False)
    labels = flagged(df)
    assert labels[12] == "7 Point Trend (Increasing)"
    assert labels[13] == "7 Point Trend (Decreasing)"


# ======================================================================================
# Rebase, fixed baselines, facets and targets
# ======================================================================================

# 5, 6, 7, 8, 9, 10, 11 rises across rows 12..18.
REBASE_SERIES = [9, 11] * 6 + [5, 6, 7] + [8, 9, 10, 11] + [9, 11] * 4 + [9]


def test_runs_do_not_cross_a_rebase_boundary():
    assert flagged(spc.xmr(REBASE_SERIES)) == dict.fromkeys(
        range(12, 19), "7 Point Trend (Increasing)"
    )
    # Rebase at position 16 (row 15, the 8): the trend is split 3 + 4 and flags nothing.
    df = spc.xmr(REBASE_SERIES, rebase=[16])
    assert flagged(df) == {}
    assert list(df["rebase_group"]) == [0] * 15 + [1] * 13
    # Group 0: sum 120 + 18 = 138 over 15; moving ranges eleven 2s, 6 (11->5), 1, 1 = 30/14.
    # Group 1: sum 38 + 80 + 9 = 127 over 13; ranges 1, 1, 1, 2 (11->9), eight 2s = 21/12
    # (the range 7 -> 8 across the boundary belongs to neither group).
    assert limits(df, 0) == pytest.approx(
        (138 / 15 - 2.66 * 30 / 14, 138 / 15, 138 / 15 + 2.66 * 30 / 14)
    )
    assert limits(df, 15) == pytest.approx(
        (127 / 13 - 2.66 * 21 / 12, 127 / 13, 127 / 13 + 2.66 * 21 / 12)
    )
    assert np.isnan(df["moving_range"].iloc[15])


def test_rebase_groups_match_separate_charts():
    df = spc.xmr(VIGNETTE + SHIFT, rebase=[len(VIGNETTE) + 1])
    first, second = spc.xmr(VIGNETTE), spc.xmr(SHIFT)
    pd.testing.assert_frame_equal(
        df.iloc[len(VIGNETTE) :][["mean", "lpl", "upl", "point_type"]].reset_index(drop=True),
        second[["mean", "lpl", "upl", "point_type"]],
    )
    assert list(df["point_type"].iloc[: len(VIGNETTE)]) == list(first["point_type"])


def test_fix_after_n_points_extends_the_baseline_limits():
    # The first 12 points (alternating 9, 11) set mean 10 and AMR 2; the 6 later points
    # (all 20) neither move the limits nor count as a baseline.
    y = [9, 11] * 6 + [20] * 6
    df = spc.xmr(y, fix_after_n_points=12)
    assert limits(df, 17) == pytest.approx((10 - 5.32, 10, 10 + 5.32), abs=1e-12)
    assert set(df["mean"]) == {10}
    # The last baseline point (11) is above the mean and so are the six 20s: a shift.
    assert flagged(df) == {11: "7 Points Above CL", **dict.fromkeys(range(12, 18), "Above UCL")}
    # Unfixed, the 20s are part of the chart's own mean: (120 + 120) / 18 = 13.33.
    assert spc.xmr(y)["mean"].iloc[0] == pytest.approx(240 / 18)


def test_fix_applies_within_each_rebase_group():
    y = [9, 11] * 6 + [20, 30] + [1, 3] * 6 + [50]
    df = spc.xmr(y, fix_after_n_points=12, rebase=[15])
    assert df["mean"].iloc[0] == 10 and df["mean"].iloc[13] == 10  # rows 12, 13 outside the fix
    assert df["mean"].iloc[14] == 2 and df["mean"].iloc[-1] == 2  # row 26 is the 13th of group 1


@pytest.mark.parametrize("bad", [11, 0, -3, 12.5, "12", True])
def test_fix_after_n_points_below_12_or_not_whole_is_refused(bad):
    with pytest.raises(ValueError, match="fix_after_n_points"):
        spc.xmr(VIGNETTE, fix_after_n_points=bad)


def test_facets_with_per_facet_rebase_and_target():
    dates = pd.date_range("2020-01-01", periods=len(REBASE_SERIES), freq="MS")
    a, b = VIGNETTE + [2, 1] * 5, REBASE_SERIES
    frame = pd.DataFrame(
        {
            "y": a + b,
            "date": list(dates[: len(a)]) + list(dates),
            "facet": ["A"] * len(a) + ["B"] * len(b),
        }
    ).sample(frac=1, random_state=7)  # interleave the facets in the input
    df = spc.xmr(
        frame["y"],
        frame["date"],
        facets=frame["facet"],
        rebase={"B": [dates[15]]},
        target={"A": 3.0, "B": 20.0},
    )
    assert list(df["y"]) == list(frame["y"])  # input order kept
    in_a, in_b = (
        df[df["facet"] == "A"].sort_values("date"),
        df[df["facet"] == "B"].sort_values("date"),
    )
    alone_a = spc.xmr(a, dates[: len(a)])
    alone_b = spc.xmr(b, dates, rebase=[dates[15]])
    for together, alone in ((in_a, alone_a), (in_b, alone_b)):
        cols = [
            "date",
            "y",
            "rebase_group",
            "mean",
            "lpl",
            "upl",
            "special_cause_flag",
            "point_type",
        ]
        pd.testing.assert_frame_equal(together[cols].reset_index(drop=True), alone[cols])
    assert set(in_a["rebase_group"]) == {0} and set(in_b["rebase_group"]) == {0, 1}
    assert set(in_a["target"]) == {3.0} and set(in_b["target"]) == {20.0}
    assert spc.assurance(df) == {"A": "inconsistent", "B": "consistent_fail"}


def test_a_single_target_applies_to_every_facet_and_a_missing_one_is_none():
    df = spc.xmr(
        VIGNETTE * 2, list(range(18)) * 2, facets=["x"] * 18 + ["y"] * 18, target={"x": 100}
    )
    assert spc.assurance(df) == {"x": "consistent_fail", "y": None}
    assert spc.assurance(df, 100) == {"x": "consistent_fail", "y": "consistent_fail"}


def test_same_date_in_two_facets_is_fine_but_not_twice_in_one():
    spc.xmr(VIGNETTE * 2, list(range(18)) * 2, facets=["x"] * 18 + ["y"] * 18)
    with pytest.raises(ValueError, match="share a date in facet 'y'"):
        spc.xmr(
            VIGNETTE * 2, list(range(18)) + list(range(17)) + [3], facets=["x"] * 18 + ["y"] * 18
        )


# ======================================================================================
# Icons
# ======================================================================================


# Alternating 10, 12 then a 2: mean 156/15 = 10.4; the 10 -> 2 range (8) is screened out
# (cut 3.267 x 34/14 = 7.93), AMR 2, LPL 5.08.
LOW_LAST = [10, 12] * 7 + [2]


@pytest.mark.parametrize(
    ("y", "improvement", "icon"),
    [
        (VIGNETTE, "increase", "common_cause"),
        (VIGNETTE, "neutral", "common_cause"),
        (VIGNETTE[:-1] + [9], "increase", "improvement_high"),
        (VIGNETTE[:-1] + [9], "decrease", "concern_high"),
        (VIGNETTE[:-1] + [9], "neutral", "neutral_high"),
        (LOW_LAST, "increase", "concern_low"),
        (LOW_LAST, "decrease", "improvement_low"),
        (LOW_LAST, "neutral", "neutral_low"),
    ],
)
def test_variation_icon_is_the_last_points_type(y, improvement, icon):
    df = spc.xmr(y, improvement=improvement)
    assert df["special_cause_flag"].iloc[-1] == (icon != "common_cause")
    assert spc.variation(df) == {None: icon}


def test_variation_skips_a_trailing_gap():
    df = spc.xmr(LOW_LAST + [None])
    assert spc.variation(df) == {None: "concern_low"}


def test_variation_follows_the_latest_date_not_the_last_row():
    y = LOW_LAST
    dates = list(range(1, len(y) + 1))
    df = spc.xmr(y[::-1], dates[::-1])
    assert spc.variation(df) == {None: "concern_low"}


@pytest.mark.parametrize(
    ("where", "improvement", "icon"),
    [
        ("above", "increase", "consistent_fail"),
        ("below", "increase", "consistent_pass"),
        ("between", "increase", "inconsistent"),
        ("on_upl", "increase", "inconsistent"),
        ("on_lpl", "increase", "inconsistent"),
        ("above", "decrease", "consistent_pass"),
        ("below", "decrease", "consistent_fail"),
        ("between", "decrease", "inconsistent"),
        ("on_upl", "decrease", "inconsistent"),
        ("above", "neutral", None),
        ("below", "neutral", None),
    ],
)
def test_assurance_icon_for_every_branch_including_ties(where, improvement, icon):
    df = spc.xmr(VIGNETTE, improvement=improvement)
    lpl, mean, upl = limits(df)
    target = {
        "above": upl + 0.01,
        "below": lpl - 0.01,
        "between": mean,
        "on_upl": upl,
        "on_lpl": lpl,
    }[where]
    assert spc.assurance(df, target) == {None: icon}
    assert spc.assurance(spc.xmr(VIGNETTE, improvement=improvement, target=target)) == {None: icon}


def test_assurance_without_a_target_is_none():
    assert spc.assurance(spc.xmr(VIGNETTE)) == {None: None}


def test_assurance_uses_the_latest_rebase_groups_limits():
    # Group 0 (the vignette) has UPL 4.60; group 1 (SHIFT) has UPL 18.46 and LPL -3.41.
    df = spc.xmr(VIGNETTE + SHIFT, rebase=[19], target=10)
    assert spc.assurance(df) == {None: "inconsistent"}
    assert spc.assurance(spc.xmr(VIGNETTE, target=10)) == {None: "consistent_fail"}


def test_summary_per_facet_and_rebase_group():
    df = spc.xmr(VIGNETTE + SHIFT, rebase=[19], target=10)
    table = spc.summary(df)
    assert list(table["rebase_group"]) == [0, 1]
    assert list(table["n"]) == [18, 19]
    assert list(table["improvement"]) == [1, 7]
    assert list(table["common_cause"]) == [17, 12]
    assert list(table["concern"]) == [0, 0]
    assert list(table["variation"]) == ["common_cause", "common_cause"]
    assert table["assurance"].isna().tolist() == [True, False]  # only the latest group
    assert table["assurance"].iloc[1] == "inconsistent"
    assert table["mean"].tolist() == pytest.approx([35 / 18, 143 / 19])


# ======================================================================================
# Short series, gaps and bad arguments
# ======================================================================================


def test_fewer_than_12_points_warns_but_still_charts():
    with pytest.warns(ShortSeriesWarning, match="fewer than 12 points"):
        df = spc.xmr(VIGNETTE[:11])
    assert len(df) == 11 and df["upl"].notna().all()
    assert issubclass(spc.ShortSeriesWarning, UserWarning)


def test_twelve_points_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShortSeriesWarning)
        spc.xmr(VIGNETTE[:12])


def test_a_short_rebase_group_warns_once_for_all_groups():
    with pytest.warns(ShortSeriesWarning) as record:
        spc.xmr(VIGNETTE * 2, rebase=[6, 25, 30])
    assert len([w for w in record if w.category is ShortSeriesWarning]) == 1
    assert "3 chart group(s)" in str(record[0].message)


@pytest.mark.parametrize("y", [[], [4.0], [4.0, None], [None, None, None], [1.0, None, 2.0]])
def test_fewer_than_two_usable_points_is_an_error(y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShortSeriesWarning)  # the error comes first, alone
        with pytest.raises(
            ValueError, match=r"at least 2 observed points|no two consecutive points"
        ):
            spc.xmr(y)


def test_a_rebase_leaving_one_point_is_an_error():
    with pytest.raises(ValueError, match="rebase group 1"):
        spc.xmr(VIGNETTE, rebase=[18])


def test_gaps_stay_in_their_rows_and_break_runs():
    # SHIFT with a gap inside the run of 7: 3 above, a gap, 4 above.
    y = SHIFT[:9] + [None] + SHIFT[9:]
    df = spc.xmr(y)
    assert len(df) == len(y) and np.isnan(df["y"].iloc[9])
    assert not df["special_cause_flag"].iloc[9] and df["point_type"].iloc[9] == "common_cause"
    # The mean ignores the gap (still 143/19); the moving ranges on either side of it
    # (8 -> gap, gap -> 9) are undefined: the 8 -> 9 range of 1 is lost, 74/18 -> 73/17.
    assert df["mean"].iloc[0] == pytest.approx(143 / 19, abs=1e-12)
    assert df["amr"].iloc[0] == pytest.approx(73 / 17, abs=1e-12)
    assert np.isnan(df["moving_range"].iloc[9]) and np.isnan(df["moving_range"].iloc[10])
    assert flagged(df) == {}


def test_a_gap_breaks_a_trend():
    assert flagged(spc.xmr([3, 5, 3, 5, 1, 2, 3, NAN, 4, 5, 6, 7, 3, 5])) == {}


@pytest.mark.parametrize(
    "values",
    [
        VIGNETTE[:9] + [None] + VIGNETTE[10:],
        VIGNETTE[:9] + [np.nan] + VIGNETTE[10:],
        pd.array(VIGNETTE[:9] + [pd.NA] + VIGNETTE[10:], dtype="Float64"),
        pd.Series(VIGNETTE[:9] + [None] + VIGNETTE[10:], index=range(100, 118)),
    ],
)
def test_missing_values_in_many_spellings_are_gaps(values):
    df = spc.xmr(values)
    assert len(df) == 18 and np.isnan(df["y"].iloc[9])
    assert df["y"].drop(index=9).tolist() == [float(v) for v in VIGNETTE[:9] + VIGNETTE[10:]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"improvement": "up"}, "improvement must be"),
        ({"improvement": None}, "improvement must be"),
        ({"two_in_three": "2023"}, "two_in_three must be"),
        ({"screen_outliers": "yes"}, "screen_outliers must be"),
        ({"dates": list(range(17))}, "dates has 17 values but y has 18"),
        ({"facets": ["a"] * 17}, "facets has 17 values but y has 18"),
        ({"dates": [1] * 18}, "two points share a date"),
        ({"dates": [None] + list(range(17))}, "dates has missing values"),
        ({"dates": ["not a date"] * 18}, "dates must be dates"),
        # Only ISO text is read as dates: 01/02/2020 could be either day first or month first.
        ({"dates": [f"{d:02d}/02/2020" for d in range(1, 19)]}, "'01/02/2020' is not an ISO date"),
        ({"dates": [f"2020-02-{d:02d}" for d in range(14, 32)]}, "'2020-02-30', which is written"),
        ({"rebase": [99]}, "rebase date is not one of the dates"),
        ({"rebase": {"a": [3]}}, "no facets were given"),
        ({"target": {"a": 3}}, "no facets were given"),
        ({"target": "high"}, "target must be a finite number"),
        ({"facets": ["a"] * 9 + [None] * 9}, "facets has missing values"),
        ({"facets": ["a"] * 18, "rebase": {"b": [3]}}, "rebase names facet 'b'"),
        ({"facets": ["a"] * 18, "rebase": {"a": [99]}}, "rebase date for facet 'a'"),
        ({"facets": ["a"] * 18, "target": {"b": 3}}, "target names facet 'b'"),
    ],
)
def test_bad_arguments_are_one_plain_sentence(kwargs, message):
    with pytest.raises(ValueError, match=message) as caught:
        spc.xmr(VIGNETTE, **kwargs)
    text = str(caught.value)
    assert text.endswith(".") and "\n" not in text


@pytest.mark.parametrize(
    "y", [["a", "b"], [1.0, float("inf"), 2.0], [[1, 2], [3, 4]], "12345", None]
)
def test_bad_values_are_refused(y):
    with pytest.raises(ValueError, match="y must"):
        spc.xmr(y)


def test_icons_need_the_frame_xmr_made():
    with pytest.raises(ValueError, match="lacks column"):
        spc.variation(pd.DataFrame({"y": [1.0]}))


# ======================================================================================
# Output shape
# ======================================================================================


def test_columns_and_types():
    df = spc.xmr(VIGNETTE, pd.date_range("2020-01-01", periods=18, freq="MS"))
    assert list(df.columns[:9]) == [
        "date",
        "facet",
        "y",
        "rebase_group",
        "mean",
        "lpl",
        "upl",
        "special_cause_flag",
        "point_type",
    ]
    assert df["special_cause_flag"].dtype == bool
    assert set(df["point_type"]) <= set(spc.POINT_TYPES)
    assert df["facet"].isna().all()
    assert pd.api.types.is_datetime64_any_dtype(df["date"])
    assert list(spc.xmr(VIGNETTE)["date"]) == list(range(1, 19))  # no dates: positions 1..n


@short_ok
def test_date_strings_and_rebase_strings_match():
    dates = [f"2020-{m:02d}-01" for m in range(1, 13)] + [f"2021-{m:02d}-01" for m in range(1, 7)]
    df = spc.xmr(VIGNETTE, dates, rebase=["2020-07-01"])
    assert list(df["rebase_group"]) == [0] * 6 + [1] * 12
    # One date on its own is fine too, and a plain date means that day in the data's zone.
    london = pd.date_range("2020-01-01", periods=18, freq="MS", tz="Europe/London")
    df = spc.xmr(VIGNETTE, london, rebase="2020-07-01")
    assert list(df["rebase_group"]) == [0] * 6 + [1] * 12


def test_rows_come_back_in_input_order_when_dates_are_shuffled():
    order = np.random.default_rng(3).permutation(18)
    df = spc.xmr(np.array(VIGNETTE, dtype=float)[order], order + 1)
    assert list(df["date"]) == list(order + 1)
    assert df.set_index("date").loc[5, "special_cause_type"] == "Above UCL"


# ======================================================================================
# Properties (Hypothesis)
# ======================================================================================

series = st.lists(st.integers(min_value=-20, max_value=20), min_size=12, max_size=40)
property_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def quiet_xmr(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortSeriesWarning)
        return spc.xmr(*args, **kwargs)


def clear_of_knife_edges(y, df, screen=True) -> bool:
    """No value within 1e-9 of the mean, a limit or a 2-sigma line, nor a moving range of
    the screen cut.

    Where a value sits exactly on a line in exact arithmetic, rounding decides its side;
    a transformed series may round the other way, in any implementation.
    """
    values = np.asarray(y, dtype=float)
    lines = df[["mean", "lpl", "upl", "nlpl", "nupl"]].to_numpy()
    if np.any(np.abs(values[:, None] - lines) < 1e-9):
        return False
    ranges = np.abs(np.diff(values))
    return not (screen and np.any(np.abs(ranges - SCREEN * ranges.mean()) < 1e-9))


@property_settings
@given(
    series,
    st.integers(min_value=-6, max_value=6),
    st.sampled_from(["increase", "decrease", "neutral"]),
)
def test_scaling_by_a_power_of_two_scales_the_limits_and_keeps_the_flags(y, k, improvement):
    # A power of two scales every float exactly, so the flags must be identical; for
    # other factors see the next test.
    before = quiet_xmr(y, improvement=improvement)
    after = quiet_xmr([v * 2.0**k for v in y], improvement=improvement)
    for column in ("mean", "lpl", "upl"):
        np.testing.assert_allclose(after[column], before[column] * 2.0**k, rtol=1e-12, atol=1e-12)
    assert list(after["point_type"]) == list(before["point_type"])
    assert list(after["special_cause_type"]) == list(before["special_cause_type"])


@property_settings
@given(series, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_by_any_positive_constant(y, c):
    before = quiet_xmr(y)
    assume(clear_of_knife_edges(y, before))
    after = quiet_xmr([v * c for v in y])
    for column in ("mean", "lpl", "upl"):
        np.testing.assert_allclose(after[column], before[column] * c, rtol=1e-9, atol=1e-9 * c)
    assert list(after["point_type"]) == list(before["point_type"])


@property_settings
@given(series, st.integers(min_value=-1000, max_value=1000))
def test_adding_a_constant_shifts_the_lines_and_keeps_the_flags(y, k):
    before = quiet_xmr(y)
    assume(clear_of_knife_edges(y, before))
    after = quiet_xmr([v + k for v in y])
    for column in ("mean", "lpl", "upl"):
        np.testing.assert_allclose(after[column], before[column] + k, rtol=0, atol=1e-9)
    assert list(after["point_type"]) == list(before["point_type"])


@property_settings
@given(series, st.sampled_from(["ptd", "mdc2023"]))
def test_reversing_the_improvement_direction_swaps_improvement_and_concern(y, variant):
    up = quiet_xmr(y, improvement="increase", two_in_three=variant)
    down = quiet_xmr(y, improvement="decrease", two_in_three=variant)
    swap = {
        "special_cause_improvement": "special_cause_concern",
        "special_cause_concern": "special_cause_improvement",
        "common_cause": "common_cause",
    }
    assert [swap[t] for t in up["point_type"]] == list(down["point_type"])
    assert list(up["special_cause_flag"]) == list(down["special_cause_flag"])


@st.composite
def one_series(draw, n):
    """Small-integer noise, with a step, a ramp or a spike laid on it, and a few gaps."""
    values = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    pattern = draw(st.sampled_from(["none", "step", "ramp", "spike"]))
    at = draw(st.integers(0, n - 1))
    if pattern == "step":
        values = [v + (5 if i >= at else 0) for i, v in enumerate(values)]
    elif pattern == "ramp":  # a slope of 7 beats the noise (0..6), so it is a real trend
        slope = draw(st.sampled_from([-7, 7]))
        values = [v + (slope * (i - at) if at <= i < at + 8 else 0) for i, v in enumerate(values)]
    elif pattern == "spike":
        values[at] += draw(st.sampled_from([-20, 20]))
    gaps = draw(st.lists(st.integers(0, n - 1), max_size=2))
    return [NAN if i in gaps else float(v) for i, v in enumerate(values)]


@st.composite
def faceted_charts(draw):
    """Up to 3 facets of 2..36 points with gaps and rebases, in a shuffled input order."""
    y, dates, facets, rebase = [], [], [], {}
    for facet in draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True)):
        n = draw(st.integers(min_value=2, max_value=36))
        y += draw(one_series(n))
        dates += list(range(1, n + 1))
        facets += [facet] * n
        cuts = draw(st.lists(st.integers(min_value=2, max_value=n), max_size=2, unique=True))
        if cuts:
            rebase[facet] = cuts
    order = draw(st.permutations(range(len(y))))
    return [y[i] for i in order], [dates[i] for i in order], [facets[i] for i in order], rebase


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    faceted_charts(),
    st.sampled_from(["increase", "decrease", "neutral"]),
    st.booleans(),
    st.sampled_from(["ptd", "mdc2023"]),
    st.sampled_from([None, 12, 15]),
)
def test_xmr_matches_the_plain_reference(chart, improvement, screen, variant, fix):
    y, dates, facets, rebase = chart
    options = {"screen": screen, "two_in_three": variant, "fix": fix}
    try:
        expected = reference(y, dates, facets, rebase, improvement, **options)
    except TooFewPoints:
        event("a group has too few points: xmr must refuse")
        with pytest.raises(ValueError):
            quiet_xmr(
                y,
                dates,
                facets=facets,
                rebase=rebase,
                improvement=improvement,
                screen_outliers=screen,
                two_in_three=variant,
                fix_after_n_points=fix,
            )
        return
    df = quiet_xmr(
        y,
        dates,
        facets=facets,
        rebase=rebase,
        improvement=improvement,
        screen_outliers=screen,
        two_in_three=variant,
        fix_after_n_points=fix,
    )
    for rule in {e[3].split(" (")[0].replace("Above", "").replace("Below", "") for e in expected}:
        event(f"rule seen: {rule.strip()}")
    assert_matches_reference(df, expected)


@property_settings
@given(faceted_charts(), st.randoms(use_true_random=False))
def test_row_order_follows_the_input_under_shuffles(chart, rnd):
    y, dates, facets, rebase = chart
    try:
        reference(y, dates, facets, rebase)
    except TooFewPoints:
        assume(False)
    before = quiet_xmr(y, dates, facets=facets, rebase=rebase)
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    after = quiet_xmr(
        [y[i] for i in perm],
        [dates[i] for i in perm],
        facets=[facets[i] for i in perm],
        rebase=rebase,
    )
    pd.testing.assert_frame_equal(after, before.iloc[perm].reset_index(drop=True))


# ======================================================================================
# Real data: NHS England A&E 4-hour performance (tests/data/README.md)
# ======================================================================================


def ae_performance(org: str) -> pd.DataFrame:
    raw = pd.read_csv(DATA / f"ae_attendances_{org}.csv", comment="#", parse_dates=["period"])
    assert len(raw) == 36 and (raw["org_code"] == org).all()
    return raw.assign(performance=1 - raw["breaches"] / raw["attendances"])


@pytest.mark.parametrize("org", ["RRK", "RF4"])
def test_ae_limits_match_plain_numpy(org):
    ae = ae_performance(org)
    df = spc.xmr(ae["performance"], ae["period"], target=0.95)
    y = ae["performance"].to_numpy()
    mean = y.mean()
    ranges = np.abs(np.diff(y))
    kept = ranges[ranges < 3.267 * ranges.mean()]
    amr = kept.mean()
    assert limits(df) == pytest.approx((mean - 2.66 * amr, mean, mean + 2.66 * amr), abs=1e-9)
    assert len(kept) == 34  # one month-on-month jump in 35 is screened out
    expected = reference(list(y), list(ae["period"]), ["-"] * 36)
    assert_matches_reference(df, expected)


def test_ae_rrk_reads_as_a_clinician_would():
    ae = ae_performance("RRK")
    df = spc.xmr(ae["performance"], ae["period"], target=0.95).set_index("date")
    # December 2017 (89.8%) is the best month and the only one above the UPL (87.8%).
    assert df["y"].idxmax() == pd.Timestamp("2017-12-01")
    assert df.loc[df["rule"] == "astronomical", "y"].gt(df["upl"].iloc[0]).sum() == 1
    # From June 2018 performance falls every month to February 2019: a 9-point trend whose
    # last 3 points (and March) are below the LPL (71.9%).
    months = pd.date_range("2018-06-01", "2019-02-01", freq="MS")
    assert df.loc[months, "y"].is_monotonic_decreasing
    assert (
        list(df.loc[pd.date_range("2018-12-01", "2019-03-01", freq="MS"), "special_cause_type"])
        == ["Below LCL"] * 4
    )
    assert set(df.loc[months[:6], "special_cause_type"]) == {"7 Point Trend (Decreasing)"}
    assert spc.variation(df.reset_index()) == {None: "concern_low"}
    # The 95% standard is above the UPL: the process will not meet it without change.
    assert spc.assurance(df.reset_index()) == {None: "consistent_fail"}


def test_ae_two_trusts_as_facets_with_a_rebase_equal_their_own_charts():
    rrk, rf4 = ae_performance("RRK"), ae_performance("RF4")
    both = pd.concat([rrk, rf4]).sample(frac=1, random_state=11)
    change = pd.Timestamp("2018-04-01")
    df = spc.xmr(
        both["performance"],
        both["period"],
        facets=both["org_code"],
        rebase={"RF4": [change]},
        target={"RRK": 0.95, "RF4": 0.95},
    )
    assert list(df["y"]) == list(both["performance"])
    alone_rrk = spc.xmr(rrk["performance"], rrk["period"])
    alone_rf4 = spc.xmr(rf4["performance"], rf4["period"], rebase=[change])
    cols = ["mean", "lpl", "upl", "rebase_group", "point_type", "special_cause_type"]
    for org, alone in (("RRK", alone_rrk), ("RF4", alone_rf4)):
        together = df[df["facet"] == org].sort_values("date").reset_index(drop=True)
        pd.testing.assert_frame_equal(together[cols], alone[cols])
    expected = reference(
        list(both["performance"]), list(both["period"]), list(both["org_code"]), {"RF4": [change]}
    )
    assert_matches_reference(df, expected)
    table = spc.summary(df)
    assert sorted(table[["facet", "rebase_group", "n"]].values.tolist()) == [
        ["RF4", 0, 24],
        ["RF4", 1, 12],
        ["RRK", 0, 36],
    ]
    latest = table.groupby("facet")["rebase_group"].transform("max") == table["rebase_group"]
    assert set(table.loc[latest, "assurance"]) == {"consistent_fail"}
    assert table.loc[~latest, "assurance"].isna().all()
