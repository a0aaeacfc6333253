"""Control charts as qicharts2 0.8.1's qic() computes them (docs/reference/spc_methods.md §2).

Three kinds of test: published examples (Montgomery, Introduction to Statistical Quality
Control; Anhøj 2015's runs-analysis thresholds), every chart against its formula worked
out with plain numpy inside the test, and Hypothesis properties (limits scale with the
data; run-chart signals do not care about monotone transforms).
"""

from __future__ import annotations

import datetime
import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import special

from carevalue.stats.control_charts import (
    CHARTS,
    average_moving_range,
    c4,
    control_chart,
    longest_run_max,
    n_crossings_min,
    runs_analysis,
)
from carevalue.stats.warnings import ShortSeriesWarning

CONTRACT_COLUMNS = [
    "x",
    "y",
    "cl",
    "lcl",
    "ucl",
    "sigma_signal",
    "runs_signal",
    "longest_run",
    "longest_run_max",
    "n_crossings",
    "n_crossings_min",
]

# Montgomery, Example 7.1: orange-juice cans, 30 samples of 50, number nonconforming.
ORANGE_JUICE = [
    12,
    15,
    8,
    10,
    4,
    7,
    16,
    9,
    14,
    10,
    5,
    6,
    17,
    12,
    22,
    8,
    10,
    5,
    13,
    11,
    20,
    18,
    24,
    15,
    9,
    12,
    7,
    13,
    9,
    6,
]
# Montgomery, Example 7.3: nonconformities on 26 samples of 100 printed circuit boards.
CIRCUIT_BOARDS = [
    21,
    24,
    16,
    12,
    15,
    5,
    28,
    20,
    31,
    25,
    20,
    24,
    16,
    19,
    10,
    17,
    13,
    22,
    18,
    39,
    30,
    24,
    16,
    19,
    17,
    15,
]

# Twenty-four values, no pattern to speak of, reused where a chart just needs data.
SERIES = np.array(
    [
        5.1,
        4.8,
        5.6,
        4.9,
        5.3,
        6.0,
        4.7,
        5.2,
        5.5,
        4.6,
        5.0,
        5.4,
        5.8,
        4.9,
        5.1,
        5.7,
        4.5,
        5.2,
        5.3,
        4.8,
        5.9,
        5.0,
        5.2,
        4.9,
    ]
)


def quiet(*args, **kwargs) -> pd.DataFrame:
    """control_chart with the short-series warning silenced, for the small worked examples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortSeriesWarning)
        return control_chart(*args, **kwargs)


def numpy_amr(values, screen=True):
    mr = np.abs(np.diff(values))
    amr = mr.mean()
    return mr[mr < 3.267 * amr].mean() if screen else amr


# --- the contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_returns_the_contract_columns_first(chart):
    y = np.arange(1, 25, dtype=float) % 7 + 1
    kwargs = {"n": np.full(24, 10.0)} if chart in ("p", "pp", "u", "up") else {}
    x = np.repeat(np.arange(1, 9), 3) if chart in ("xbar", "s") else None
    result = quiet(y, x=x, chart=chart, **kwargs)
    assert list(result.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert {"part", "baseline", "include", "n", "lcl_95", "ucl_95"} <= set(result.columns)
    assert len(result) == (8 if chart in ("xbar", "s") else 24)
    assert result["sigma_signal"].dtype == bool and result["runs_signal"].dtype == bool


# --- published examples -----------------------------------------------------------------------


def test_montgomery_orange_juice_p_chart():
    assert sum(ORANGE_JUICE) == 347  # the book's total, so the data is the book's
    chart = control_chart(ORANGE_JUICE, n=50, chart="p")
    assert chart["cl"].iloc[0] == pytest.approx(0.2313, abs=5e-5)
    assert chart["ucl"].iloc[0] == pytest.approx(0.4102, abs=5e-5)
    assert chart["lcl"].iloc[0] == pytest.approx(0.0524, abs=5e-5)
    # The book: samples 15 and 23 plot above the upper limit, and nothing below.
    assert list(chart.loc[chart["sigma_signal"], "x"]) == [15, 23]


def test_montgomery_circuit_board_c_chart():
    assert sum(CIRCUIT_BOARDS) == 516
    chart = control_chart(CIRCUIT_BOARDS, chart="c")
    assert chart["cl"].iloc[0] == pytest.approx(19.85, abs=0.005)
    # The book rounds c-bar to 19.85 before taking the square root: 33.22 and 6.48.
    assert 19.85 + 3 * math.sqrt(19.85) == pytest.approx(33.22, abs=0.005)
    assert 19.85 - 3 * math.sqrt(19.85) == pytest.approx(6.48, abs=0.005)
    assert chart["ucl"].iloc[0] == pytest.approx(33.22, abs=0.01)
    assert chart["lcl"].iloc[0] == pytest.approx(6.48, abs=0.01)
    assert list(chart.loc[chart["sigma_signal"], "x"]) == [6, 20]


def test_montgomery_piston_rings_xbar_and_s_limits_from_the_published_summary():
    # Example 6.3/6.4: 25 samples of n = 5, grand mean 74.001, s-bar 0.0094.
    grand_mean, s_bar, size = 74.001, 0.0094, 5
    a3 = 3 / (c4(size) * math.sqrt(size))
    c5 = math.sqrt(1 - c4(size) ** 2)
    assert float(c4(size)) == pytest.approx(0.9400, abs=5e-5)
    assert a3 == pytest.approx(1.427, abs=5e-4)
    assert grand_mean + a3 * s_bar == pytest.approx(74.014, abs=5e-4)
    assert grand_mean - a3 * s_bar == pytest.approx(73.988, abs=5e-4)
    assert (1 + 3 * c5 / c4(size)) * s_bar == pytest.approx(0.0196, abs=5e-5)
    assert max(0.0, 1 - 3 * c5 / c4(size)) == 0.0


@pytest.mark.parametrize(
    "size, c4_table, a3_table, b3_table, b4_table",
    [  # Montgomery, Appendix VI
        (2, 0.7979, 2.659, 0.000, 3.267),
        (5, 0.9400, 1.427, 0.000, 2.089),
        (6, 0.9515, 1.287, 0.030, 1.970),
        (10, 0.9727, 0.975, 0.284, 1.716),
        (25, 0.9896, 0.606, 0.565, 1.435),
    ],
)
def test_exact_c4_reproduces_the_published_constants(size, c4_table, a3_table, b3_table, b4_table):
    exact = float(c4(size))
    c5 = math.sqrt(1 - exact**2)
    assert exact == pytest.approx(c4_table, abs=5e-5)
    assert 3 / (exact * math.sqrt(size)) == pytest.approx(a3_table, abs=5e-4)
    assert max(0, 1 - 3 * c5 / exact) == pytest.approx(b3_table, abs=5e-4)
    assert 1 + 3 * c5 / exact == pytest.approx(b4_table, abs=5e-4)


def test_c4_is_exact_for_large_subgroups_and_undefined_for_one():
    # Γ overflows long before n = 1000; the log-gamma form does not.
    assert float(c4(1000)) == pytest.approx(1 - 1 / (4 * 1000), abs=1e-6)
    assert float(c4(3)) == pytest.approx(math.sqrt(math.pi) / 2)  # √(2/2)·Γ(1.5)/Γ(1)
    assert np.isnan(c4(1)) and np.isnan(c4(0))


# --- Anhøj runs analysis ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_useful, longest, crossings",
    # Anhøj 2015 (PLoS One 10:e0121349), table of critical values.
    [
        (10, 6, 2),
        (11, 6, 2),
        (12, 7, 3),
        (14, 7, 4),
        (17, 7, 5),
        (19, 7, 6),
        (20, 7, 6),
        (22, 7, 7),
        (23, 8, 7),
        (24, 8, 8),
        (25, 8, 8),
    ],
)
def test_anhoej_thresholds_match_the_published_table(n_useful, longest, crossings):
    assert longest_run_max(n_useful) == longest
    assert n_crossings_min(n_useful) == crossings


def test_anhoej_thresholds_worked_by_hand():
    # n = 10: log2 10 = 3.32 → 3 + 3 = 6; P(X ≤ 1 | 9 trials) = 10/512 < 0.05 ≤ 46/512 = P(X ≤ 2).
    assert (10 / 512 < 0.05 <= 46 / 512) and longest_run_max(10) == 6 and n_crossings_min(10) == 2
    # n = 24: log2 24 = 4.58 → 5 + 3 = 8; P(X ≤ 7 | 23) = 390656/2^23 = 0.047 < 0.05 ≤ P(X ≤ 8).
    assert 390656 / 2**23 < 0.05 <= 880970 / 2**23
    assert longest_run_max(24) == 8 and n_crossings_min(24) == 8
    assert longest_run_max(1) == 3 and n_crossings_min(1) == 0  # qbinom(0.05, 0, 0.5) = 0


def test_crossings_minimum_is_the_exact_binomial_quantile():
    # qbinom's definition: the smallest k with P(X ≤ k) ≥ 0.05, done in exact fractions.
    for n_useful in range(2, 301):
        trials, total, k = n_useful - 1, 0, 0
        while True:
            total += math.comb(trials, k)
            if Fraction(total, 2**trials) >= Fraction(1, 20):
                break
            k += 1
        assert n_crossings_min(n_useful) == k, n_useful


def test_longest_run_maximum_never_meets_a_rounding_tie():
    # round(log2 n) would depend on the tie rule only if log2 n were k + 0.5, i.e.
    # n² = 2^(2k+1); no whole number is that, and in floating point log2 never lands on
    # a half for n up to 2^20 either, so R's round() and ours agree everywhere.
    n = np.arange(1, 2**20 + 1)
    logs = np.log2(n)
    assert not np.any(logs - np.floor(logs) == 0.5)
    exact = np.array([longest_run_max(int(v)) for v in n[::997]])
    assert np.array_equal(exact, np.round(logs[::997]).astype(int) + 3)
    assert all(longest_run_max(int(v)) == round(math.log2(v)) + 3 for v in range(1, 5000))


def test_runs_signal_from_a_long_run_alone():
    y = [1.0] * 8 + [-1.0, 1.0] * 6  # 20 useful points, a run of 8, 12 crossings
    runs = runs_analysis(y, 0.0)
    assert (runs["n_useful"], runs["longest_run"], runs["n_crossings"]) == (20, 8, 12)
    assert (runs["longest_run_max"], runs["n_crossings_min"]) == (7, 6)
    assert runs["runs_signal"]


def test_runs_signal_from_too_few_crossings_alone():
    y = [1] * 4 + [-1] * 4 + [1] * 3 + [-1] * 3 + [1] * 3 + [-1] * 3  # runs ≤ 4, 5 crossings
    runs = runs_analysis(y, 0.0)
    assert (runs["longest_run"], runs["n_crossings"]) == (4, 5)
    assert runs["runs_signal"]  # 5 < 6 for 20 points
    fewer = runs_analysis(y[:-1] + [1], 0.0)  # one more crossing: 6, no longer too few
    assert (fewer["longest_run"], fewer["n_crossings"], fewer["runs_signal"]) == (4, 6, False)


def test_run_chart_drops_points_on_the_median():
    chart = quiet([1, 2, 3, 3, 3, 4, 5], chart="run")
    assert chart["cl"].iloc[0] == 3
    row = chart.iloc[0]
    assert (row["n_useful"], row["longest_run"], row["n_crossings"]) == (4, 2, 1)
    assert row["longest_run_max"] == round(math.log2(4)) + 3


def test_runs_signal_through_an_i_chart_with_a_long_run():
    y = [2.0] * 8 + [-1.0, 1.0] * 6  # mean 0.8: the eight 2s are one run above it
    chart = quiet(y, chart="i")
    assert chart["cl"].iloc[0] == pytest.approx(0.8)
    assert chart["longest_run"].iloc[0] == 8 and chart["runs_signal"].all()


def test_runs_analysis_without_useful_points_has_no_signal():
    runs = runs_analysis([1.0, 1.0, np.nan], 1.0)
    assert runs["n_useful"] == 0 and runs["runs_signal"] is False
    assert runs["longest_run"] is pd.NA


# --- parity with qicharts2's own calculation --------------------------------------------------
# Numbers printed by qicharts2's calculation functions (R/helper.functions.R of
# anhoej/qicharts2, the version with the qic.screenedmr option) run in R 4.2.2 with
# options(qic.screenedmr = TRUE), i.e. as `library(qicharts2); qic(...)` computes them.

LANEY_Y = [30, 42, 25, 38, 33, 90, 35, 28, 41, 36, 31, 39, 27, 44]
LANEY_N = [300, 350, 280, 320, 310, 330, 305, 290, 340, 315, 300, 325, 285, 345]


def test_qic_parity_i_chart_with_freeze_and_exclude():
    chart = quiet(SERIES, chart="i", freeze=12, exclude=[5])
    row = chart.iloc[0]
    assert (row["cl"], row["lcl"], row["ucl"]) == pytest.approx(
        (5.16363636363636, 3.38172147001934, 6.94555125725338), rel=1e-13
    )
    assert (
        row["longest_run"],
        row["longest_run_max"],
        row["n_crossings"],
        row["n_crossings_min"],
        row["runs_signal"],
    ) == (2, 8, 16, 7, False)


def test_qic_parity_laney_p_prime():
    chart = control_chart(LANEY_Y, n=LANEY_N, chart="pp")
    assert chart["cl"].iloc[0] == pytest.approx(0.1226393629124, rel=1e-12)
    assert (chart["lcl"].iloc[0], chart["ucl"].iloc[0]) == pytest.approx(
        (0.0690740553036812, 0.176204670521120), rel=1e-13
    )
    assert (chart["lcl"].iloc[5], chart["ucl"].iloc[5]) == pytest.approx(
        (0.0715668460260544, 0.173711879798747), rel=1e-13
    )
    assert list(chart["sigma_signal"]) == [i == 5 for i in range(14)]


def test_qic_parity_laney_u_prime_in_two_parts():
    chart = quiet(LANEY_Y, n=LANEY_N, chart="up", part=[7])
    assert (chart["cl"].iloc[0], chart["lcl"].iloc[0], chart["ucl"].iloc[0]) == pytest.approx(
        (0.133485193621868, 0.0, 0.321979233706898), rel=1e-13
    )
    assert (chart["cl"].iloc[7], chart["lcl"].iloc[7], chart["ucl"].iloc[7]) == pytest.approx(
        (0.111818181818182, 0.0586922527066425, 0.164944110929721), rel=1e-13
    )


def test_qic_parity_t_and_g_charts():
    t = control_chart([12.0, 30, 7, 45, 22, 3, 18, 60, 9, 25, 14, 40, 5, 33], chart="t")
    assert (t["cl"].iloc[0], t["lcl"].iloc[0], t["ucl"].iloc[0]) == pytest.approx(
        (18.7169255745621, 0.0, 230.686468865922), rel=1e-13
    )
    assert (t["longest_run"].iloc[0], t["n_crossings"].iloc[0]) == (2, 11)
    g = control_chart([10, 2, 30, 5, 8, 41, 0, 17, 3, 22, 9, 14], chart="g")
    assert (g["cl"].iloc[0], g["lcl"].iloc[0], g["ucl"].iloc[0]) == pytest.approx(
        (9.5, 0.0, 55.1397118575441), rel=1e-13
    )
    assert g["n_useful"].iloc[0] == 12


def test_centre_line_is_the_correctly_rounded_mean_as_in_r():
    # R's mean() of these doubles is -2.218277644905342e-17, not 0.0, so the 0.0 is a
    # useful point above the line in qic; a plain float sum would put it on the line.
    chart = quiet([0.6, -0.4, 0.0, 0.9, -1.1], chart="i")
    assert chart["cl"].iloc[0] < 0 and chart["n_useful"].iloc[0] == 5
    if np.finfo(np.longdouble).nmant == 63:  # x86-64's 80-bit long double, as R uses there
        assert chart["cl"].iloc[0] == -2.218277644905342e-17


# --- each chart against its formula -----------------------------------------------------------


def test_run_chart_centre_is_the_median_with_no_limits():
    chart = control_chart(SERIES, chart="run")
    assert (chart["cl"] == np.median(SERIES)).all()
    assert chart[["lcl", "ucl", "lcl_95", "ucl_95"]].isna().all().all()
    assert not chart["sigma_signal"].any()


def test_i_chart_worked_by_hand():
    # mean 3; moving ranges 2, 1, 4, 3 → 2.5 (none ≥ 3.267 × 2.5); sigma 2.5/1.128.
    chart = quiet([1, 3, 2, 6, 3], chart="i")
    sigma = 2.5 / 1.128
    assert chart["cl"].iloc[0] == 3
    assert chart["ucl"].iloc[0] == pytest.approx(3 + 3 * sigma)  # 9.649
    assert chart["lcl"].iloc[0] == pytest.approx(3 - 3 * sigma)  # -3.649: y_neg=True keeps it
    assert chart["ucl_95"].iloc[0] == pytest.approx(3 + 2 * sigma)


def test_i_chart_uses_three_over_1_128_not_2_66():
    chart = control_chart(SERIES, chart="i")
    amr = numpy_amr(SERIES)
    assert chart["ucl"].iloc[0] == pytest.approx(SERIES.mean() + 3 * amr / 1.128)
    assert chart["ucl"].iloc[0] != pytest.approx(SERIES.mean() + 2.66 * amr, rel=1e-6)


def test_i_chart_moving_range_screening_on_and_off():
    # spc_methods.md §1.2's example: two moving ranges (8 and 9) are ≥ 3.267 × 1.88.
    y = np.array([1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1], dtype=float)
    screened = control_chart(y, chart="i")
    unscreened = control_chart(y, chart="i", screen_mr=False)
    assert numpy_amr(y) == pytest.approx(1.0)
    assert numpy_amr(y, screen=False) == pytest.approx(32 / 17)
    assert screened["ucl"].iloc[0] == pytest.approx(y.mean() + 3 * 1.0 / 1.128)  # 4.60
    assert unscreened["ucl"].iloc[0] == pytest.approx(y.mean() + 3 * (32 / 17) / 1.128)  # 6.95
    assert screened["cl"].iloc[0] == unscreened["cl"].iloc[0]  # screening never moves the mean


def test_i_chart_of_a_ratio_when_n_is_given():
    y = np.array([3, 5, 4, 6, 2, 5, 4, 3, 6, 5, 4, 5], dtype=float)
    n = np.array([10, 20, 10, 20, 10, 20, 10, 20, 10, 20, 10, 20], dtype=float)
    chart = control_chart(y, n=n, chart="i")
    ratio = y / n
    assert np.allclose(chart["y"], ratio)
    assert chart["ucl"].iloc[0] == pytest.approx(ratio.mean() + 3 * numpy_amr(ratio) / 1.128)


def test_i_and_run_charts_average_observations_within_a_subgroup():
    x = np.repeat(np.arange(1, 13), 2)
    y = np.arange(24, dtype=float)
    chart = control_chart(y, x=x, chart="i")
    assert np.allclose(chart["y"], y.reshape(12, 2).mean(axis=1))
    assert (chart["n"] == 2).all()


def test_constant_series_has_limits_on_the_centre_line():
    chart = control_chart([4.0] * 12, chart="i")
    assert (chart["ucl"] == 4).all() and (chart["lcl"] == 4).all()
    assert not chart["sigma_signal"].any()
    assert average_moving_range([4.0] * 5) == 0.0


def test_mr_chart_worked_by_hand():
    chart = quiet([1, 3, 2, 6, 3], chart="mr")
    assert np.isnan(chart["y"].iloc[0]) and list(chart["y"].iloc[1:]) == [2, 1, 4, 3]
    assert chart["cl"].iloc[0] == 2.5
    assert chart["ucl"].iloc[0] == pytest.approx(3.267 * 2.5)
    assert chart["ucl_95"].iloc[0] == pytest.approx(2 * 3.267 / 3 * 2.5)
    assert (chart["lcl"] == 0).all()


def test_mr_chart_never_gives_a_runs_signal():
    chart = control_chart([1.0] * 10 + [9.0, 1.0] * 6, chart="mr")
    assert chart["longest_run"].iloc[0] > chart["longest_run_max"].iloc[0]
    assert not chart["runs_signal"].any()


def test_xbar_and_s_charts_worked_by_hand():
    # Subgroups (1,2,3), (2,4,6), (3,3,3): means 2, 4, 3; sds 1, 2, 0 → s-bar 1, x-double-bar 3.
    x = np.repeat([1, 2, 3], 3)
    y = [1, 2, 3, 2, 4, 6, 3, 3, 3]
    xbar = quiet(y, x=x, chart="xbar")
    a3 = 3 / (c4(3) * math.sqrt(3))  # 1.954
    assert list(xbar["y"]) == [2, 4, 3] and xbar["cl"].iloc[0] == 3
    assert xbar["ucl"].iloc[0] == pytest.approx(3 + a3 * 1)
    assert xbar["lcl"].iloc[0] == pytest.approx(3 - a3 * 1)
    s = quiet(y, x=x, chart="s")
    assert list(s["y"]) == pytest.approx([1, 2, 0]) and s["cl"].iloc[0] == pytest.approx(1)
    assert s["ucl"].iloc[0] == pytest.approx(2.568, abs=5e-4)  # B4(3)
    assert (s["lcl"] == 0).all()  # B3(3) = 0


def test_xbar_and_s_with_unequal_subgroups_use_the_pooled_sd():
    rng = np.random.default_rng(7)
    sizes = np.array([3, 5, 4, 6, 5, 3, 4, 5, 6, 4, 5, 3])
    groups = [rng.normal(10, 2, size) for size in sizes]
    x = np.repeat(np.arange(1, 13), sizes)
    y = np.concatenate(groups)
    means = np.array([g.mean() for g in groups])
    sds = np.array([g.std(ddof=1) for g in groups])
    centre = np.sum(sizes * means) / sizes.sum()
    pooled = math.sqrt(np.sum((sizes - 1) * sds**2) / np.sum(sizes - 1))
    log_ratio = special.gammaln(sizes / 2) - special.gammaln((sizes - 1) / 2)
    c4s = np.sqrt(2 / (sizes - 1)) * np.exp(log_ratio)

    xbar = control_chart(y, x=x, chart="xbar")
    assert xbar["cl"].iloc[0] == pytest.approx(centre)
    assert np.allclose(xbar["ucl"], centre + 3 / (c4s * np.sqrt(sizes)) * pooled)
    assert np.allclose(xbar["lcl"], centre - 3 / (c4s * np.sqrt(sizes)) * pooled)

    s = control_chart(y, x=x, chart="s")
    c5s = np.sqrt(1 - c4s**2)
    assert np.allclose(s["y"], sds) and s["cl"].iloc[0] == pytest.approx(pooled)
    assert np.allclose(s["ucl"], (1 + 3 * c5s / c4s) * pooled)
    assert np.allclose(s["lcl"], np.maximum(0, 1 - 3 * c5s / c4s) * pooled)
    assert np.allclose(s["n"], sizes)


def test_xbar_with_equal_subgroups_averages_the_sds():
    rng = np.random.default_rng(3)
    y = rng.normal(50, 5, 60)
    x = np.repeat(np.arange(1, 13), 5)
    chart = control_chart(y, x=x, chart="xbar")
    s_bar = y.reshape(12, 5).std(axis=1, ddof=1).mean()
    a3 = 3 / (c4(5) * math.sqrt(5))
    assert chart["ucl"].iloc[0] == pytest.approx(y.mean() + a3 * s_bar)


def test_p_chart_with_unequal_denominators():
    y = np.array([4, 6, 3, 8, 5, 7, 2, 6, 5, 4, 9, 5], dtype=float)
    n = np.array([40, 60, 35, 70, 50, 55, 30, 65, 45, 40, 75, 50], dtype=float)
    chart = control_chart(y, n=n, chart="p")
    centre = y.sum() / n.sum()
    sigma = np.sqrt(centre * (1 - centre) / n)
    assert np.allclose(chart["y"], y / n)
    assert np.allclose(chart["ucl"], centre + 3 * sigma)
    assert np.allclose(chart["lcl"], np.maximum(0, centre - 3 * sigma))
    assert np.allclose(chart["ucl_95"], centre + 2 * sigma)


def test_p_chart_limits_are_clipped_to_zero_and_one():
    low = quiet([1, 0, 2, 1, 9, 1], n=[10] * 6, chart="p")
    centre = 14 / 60
    assert centre - 3 * math.sqrt(centre * (1 - centre) / 10) < 0 and low["lcl"].iloc[0] == 0
    high = quiet([8, 9, 7, 9, 8, 9], n=[10] * 6, chart="p")
    centre = 50 / 60
    assert centre + 3 * math.sqrt(centre * (1 - centre) / 10) > 1 and high["ucl"].iloc[0] == 1


def test_u_chart_worked_by_hand():
    y = np.array([2, 3, 5, 4], dtype=float)
    n = np.array([10, 20, 25, 20], dtype=float)
    chart = quiet(y, n=n, chart="u")
    centre = 14 / 75
    assert chart["cl"].iloc[0] == pytest.approx(centre)
    assert np.allclose(chart["ucl"], centre + 3 * np.sqrt(centre / n))
    assert (chart["lcl"] == 0).all()  # 0.187 - 3·√(0.187/10) < 0, and so for every n here


def test_c_chart_sums_the_counts_of_a_subgroup():
    x = np.repeat(np.arange(1, 13), 2)
    y = np.tile([3.0, 4.0], 12)
    chart = control_chart(y, x=x, chart="c")
    assert (chart["y"] == 7).all() and chart["cl"].iloc[0] == 7
    assert chart["ucl"].iloc[0] == pytest.approx(7 + 3 * math.sqrt(7))
    assert chart["lcl"].iloc[0] == 0  # 7 - 3·√7 = -0.94, floored


def laney_reference(y, n, sigma_of, screen=True):
    """Laney's p′/u′ limits computed straight from the formulas."""
    centre = y.sum() / n.sum()
    sigma = sigma_of(centre, n)
    z = (y / n - centre) / sigma
    sigma_z = numpy_amr(z, screen) / 1.128
    return centre, centre + 3 * sigma * sigma_z, centre - 3 * sigma * sigma_z


def test_laney_p_prime_with_screened_moving_ranges():
    y = np.array([30, 42, 25, 38, 33, 90, 35, 28, 41, 36, 31, 39, 27, 44], dtype=float)
    n = np.array(
        [300, 350, 280, 320, 310, 330, 305, 290, 340, 315, 300, 325, 285, 345], dtype=float
    )

    def binomial(c, m):
        return np.sqrt(c * (1 - c) / m)

    centre, ucl, lcl = laney_reference(y, n, binomial)
    chart = control_chart(y, n=n, chart="pp")
    assert chart["cl"].iloc[0] == pytest.approx(centre)
    assert np.allclose(chart["ucl"], ucl) and np.allclose(chart["lcl"], np.maximum(lcl, 0))
    # The wild subgroup (90 of 330) makes two big moving ranges of z that screening drops.
    z = (y / n - centre) / binomial(centre, n)
    assert numpy_amr(z) < numpy_amr(z, screen=False)
    _, wide_ucl, _ = laney_reference(y, n, binomial, screen=False)
    unscreened = control_chart(y, n=n, chart="pp", screen_mr=False)
    assert np.allclose(unscreened["ucl"], np.minimum(wide_ucl, 1))
    assert (unscreened["ucl"] > chart["ucl"]).all()
    assert chart["sigma_signal"].iloc[5]


def test_laney_u_prime():
    y = np.array([12, 18, 9, 25, 14, 20, 11, 16, 22, 13, 17, 19], dtype=float)
    n = np.array([100, 120, 90, 150, 110, 130, 95, 115, 140, 105, 125, 135], dtype=float)
    _, ucl, lcl = laney_reference(y, n, lambda c, m: np.sqrt(c / m))
    chart = control_chart(y, n=n, chart="up")
    assert np.allclose(chart["ucl"], ucl) and np.allclose(chart["lcl"], np.maximum(lcl, 0))


def test_laney_with_categorical_x_uses_the_sd_of_z_and_no_runs_signal():
    y = np.array([30, 42, 25, 38, 33, 45, 35, 28, 41, 36, 31, 39], dtype=float)
    n = np.array([300, 350, 280, 320, 310, 330, 305, 290, 340, 315, 300, 325], dtype=float)
    units = [f"unit {chr(65 + i)}" for i in range(12)]
    chart = control_chart(y, n=n, x=units, chart="pp")
    centre = y.sum() / n.sum()
    sigma = np.sqrt(centre * (1 - centre) / n)
    sigma_z = np.std((y / n - centre) / sigma, ddof=1)
    assert np.allclose(chart["ucl"], centre + 3 * sigma * sigma_z)
    assert list(chart["x"]) == units
    assert not chart["runs_signal"].any()


def test_g_chart_centre_is_the_median_and_limits_come_from_the_mean():
    chart = quiet([10, 2, 30, 5, 8], chart="g")
    mean = 11  # (10 + 2 + 30 + 5 + 8) / 5
    assert chart["cl"].iloc[0] == 8  # the median, plotted
    assert chart["ucl"].iloc[0] == pytest.approx(mean + 3 * math.sqrt(mean * (mean + 1)))  # 45.47
    assert chart["lcl"].iloc[0] == 0  # 11 - 34.5 < 0
    # The runs analysis is around the plotted median: 10 and 30 above, 2 and 5 below.
    assert chart["n_useful"].iloc[0] == 4


def test_t_chart_is_an_i_chart_on_the_transformed_scale_back_transformed():
    y = np.array([12.0, 30, 7, 45, 22, 3, 18, 60, 9, 25, 14, 40, 5, 33])
    chart = control_chart(y, chart="t")
    t = y ** (1 / 3.6)
    centre = t.mean()
    sigma = numpy_amr(t) / 1.128
    assert np.allclose(chart["y"], y)
    assert chart["cl"].iloc[0] == pytest.approx(centre**3.6)
    assert chart["ucl"].iloc[0] == pytest.approx((centre + 3 * sigma) ** 3.6)
    lower = centre - 3 * sigma
    assert chart["lcl"].iloc[0] == pytest.approx(lower**3.6 if lower > 0 else 0.0)


def test_t_chart_lower_limit_is_zero_when_negative_on_the_transformed_scale():
    chart = control_chart([1.0, 100, 2, 90, 1, 80, 3, 95, 1, 70, 2, 85], chart="t")
    assert (chart["lcl"] == 0).all() and (chart["lcl_95"] >= 0).all()


# --- freeze, part, exclude --------------------------------------------------------------------


def test_freeze_makes_the_first_subgroups_the_baseline():
    y = np.concatenate([SERIES[:12], SERIES[12:] + 3])
    chart = control_chart(y, chart="i", freeze=12)
    assert chart["cl"].iloc[0] == pytest.approx(y[:12].mean())
    assert chart["ucl"].iloc[-1] == pytest.approx(y[:12].mean() + 3 * numpy_amr(y[:12]) / 1.128)
    assert list(chart["baseline"]) == [True] * 12 + [False] * 12
    # The runs analysis covers all 24 points against the frozen line: the shift shows.
    assert chart["n_useful"].iloc[0] == 24 and chart["runs_signal"].all()
    # Changing the points after the freeze moves no line.
    other = control_chart(np.concatenate([y[:12], y[12:] * 2]), chart="i", freeze=12)
    assert np.allclose(other["ucl"], chart["ucl"]) and np.allclose(other["cl"], chart["cl"])


def test_part_ends_a_phase_at_the_given_subgroup():
    y = np.concatenate([SERIES[:12], SERIES[12:] + 3])
    chart = control_chart(y, chart="i", part=[12])
    assert list(chart["part"]) == [1] * 12 + [2] * 12
    assert chart["cl"].iloc[11] == pytest.approx(y[:12].mean())
    assert chart["cl"].iloc[12] == pytest.approx(y[12:].mean())
    assert chart["ucl"].iloc[12] == pytest.approx(y[12:].mean() + 3 * numpy_amr(y[12:]) / 1.128)
    # Each phase has its own runs analysis, and its moving ranges never cross phases.
    assert chart["n_useful"].iloc[0] == 12 and chart["n_useful"].iloc[-1] == 12
    mr = control_chart(y, chart="mr", part=[12])
    assert np.isnan(mr["y"].iloc[12])


def test_several_parts_and_unsorted_duplicates():
    y = np.tile(SERIES[:12], 3)
    chart = control_chart(y, chart="run", part=[24, 12, 12])
    assert list(chart["part"]) == [1] * 12 + [2] * 12 + [3] * 12


def test_freeze_and_part_together_are_refused():
    with pytest.raises(ValueError, match="freeze and part"):
        control_chart(SERIES, chart="i", freeze=12, part=[12])


def test_exclude_leaves_a_point_out_of_the_calculations_but_plots_it():
    y = SERIES.copy()
    y[5] = 50.0
    chart = control_chart(y, chart="i", exclude=[6])
    kept = np.delete(y, 5)
    assert chart["y"].iloc[5] == 50.0 and not chart["include"].iloc[5]
    assert chart["cl"].iloc[0] == pytest.approx(kept.mean())
    # The moving ranges are taken over the included points, bridging the gap (as qic does).
    assert chart["ucl"].iloc[0] == pytest.approx(kept.mean() + 3 * numpy_amr(kept) / 1.128)
    assert chart["n_useful"].iloc[0] == 23
    assert chart["sigma_signal"].iloc[5]  # still judged against the limits


def test_exclude_in_a_p_chart_removes_the_subgroup_from_the_pooled_rate():
    y = np.array(ORANGE_JUICE, dtype=float)
    chart = control_chart(y, n=50, chart="p", exclude=[15, 23])
    assert chart["cl"].iloc[0] == pytest.approx((347 - 22 - 24) / (28 * 50))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"freeze": 0},
        {"freeze": 25},
        {"freeze": [3, 4]},
        {"freeze": 2.5},
        {"part": [0]},
        {"part": [24]},
        {"exclude": [25]},
        {"exclude": [0]},
        {"exclude": [True]},
    ],
)
def test_positions_outside_the_series_are_refused(kwargs):
    with pytest.raises(ValueError):
        control_chart(SERIES, chart="i", **kwargs)


# --- multiply, zero denominators, y_neg -------------------------------------------------------


def test_multiply_scales_the_plotted_numbers_and_nothing_else():
    y = np.array([3, 5, 2, 8, 4, 6, 3, 9, 5, 4, 7, 15], dtype=float)
    n = np.array([900, 1100, 800, 1200, 1000, 950, 870, 1150, 990, 1020, 1080, 1010.0])
    plain = control_chart(y, n=n, chart="u")
    per_thousand = control_chart(y, n=n, chart="u", multiply=1000)
    for column in ("y", "cl", "lcl", "ucl", "lcl_95", "ucl_95"):
        assert np.allclose(per_thousand[column], plain[column] * 1000)
    for column in ("sigma_signal", "runs_signal", "longest_run", "n_crossings"):
        assert per_thousand[column].equals(plain[column])


def test_multiply_100_gives_a_percent_p_chart_capped_at_100():
    chart = quiet([8, 9, 7, 9, 8, 9], n=[10] * 6, chart="p", multiply=100)
    assert chart["ucl"].iloc[0] == 100 and chart["y"].iloc[0] == 80


@pytest.mark.parametrize("chart", ["p", "pp", "u", "up"])
def test_a_zero_denominator_gives_a_missing_point_not_a_crash(chart):
    y = np.array(ORANGE_JUICE[:14], dtype=float)
    n = np.full(14, 50.0)
    y[4], n[4] = 0, 0
    result = control_chart(y, n=n, chart=chart)
    assert len(result) == 14  # the subgroup is kept
    row = result.iloc[4]
    assert np.isnan(row["y"]) and np.isnan(row["lcl"]) and np.isnan(row["ucl"])
    assert not row["sigma_signal"]
    others = np.delete(np.arange(14), 4)
    assert result["cl"].iloc[0] == pytest.approx(y[others].sum() / n[others].sum())
    assert np.isfinite(result.loc[others, "ucl"]).all()
    assert result["n_useful"].iloc[0] <= 13


def test_missing_values_are_missing_points():
    y = SERIES.copy()
    y[3] = np.nan
    chart = control_chart(y, chart="i")
    assert np.isnan(chart["y"].iloc[3]) and len(chart) == 24
    assert chart["cl"].iloc[0] == pytest.approx(np.nanmean(y))
    # Moving ranges next to the gap are dropped, not bridged.
    mr = np.abs(np.diff(y))
    mr = mr[~np.isnan(mr)]
    mr = mr[mr < 3.267 * mr.mean()]
    assert chart["ucl"].iloc[0] == pytest.approx(np.nanmean(y) + 3 * mr.mean() / 1.128)


def test_y_neg_false_floors_the_lower_limit_when_no_value_is_negative():
    kept = quiet([1, 3, 2, 6, 3], chart="i")
    floored = quiet([1, 3, 2, 6, 3], chart="i", y_neg=False)
    assert kept["lcl"].iloc[0] < 0
    assert floored["lcl"].iloc[0] == 0 and floored["lcl_95"].iloc[0] == 0
    assert floored["ucl"].equals(kept["ucl"])
    negative = quiet([-1, 3, 2, 6, 3], chart="i", y_neg=False)
    assert negative["lcl"].iloc[0] < 0  # a negative value: the axis may go below zero


# --- x and ordering ---------------------------------------------------------------------------


def test_subgroups_are_sorted_by_x_like_qic():
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    order = [11, 2, 0, 5, 7, 1, 3, 10, 4, 9, 6, 8]
    dates = pd.DatetimeIndex([months[i] for i in order] * 2)
    y = np.arange(24, dtype=float)
    chart = control_chart(y, x=dates, chart="i")
    assert list(chart["x"]) == list(months)
    assert chart["y"].iloc[0] == pytest.approx(np.mean(y[[2, 14]]))  # January: rows 3 and 15


def test_categorical_x_switches_the_runs_signal_off():
    chart = control_chart([1.0] * 12 + [5.0] * 12, x=[f"{i:02d}" for i in range(24)], chart="i")
    assert chart["longest_run"].iloc[0] == 12
    assert not chart["runs_signal"].any()


# Sixteen months of a proportion that rises in its last four: a shift the runs analysis sees.
MONTHS_ISO = [f"2015-{m:02d}-01" for m in range(1, 13)] + [f"2016-{m:02d}-01" for m in range(1, 5)]
RISING_COUNTS = np.array([30, 36, 28, 34, 31, 35, 32, 29, 35, 33, 30, 34, 52, 55, 50, 56], float)
PATIENTS = np.array(
    [300, 350, 280, 320, 310, 330, 305, 290, 340, 315, 300, 325, 320, 330, 310, 300], dtype=float
)


def as_real_dates(kind: str, iso: list[str]):
    if kind == "date":
        return [datetime.date.fromisoformat(text) for text in iso]
    if kind == "timestamp":
        return [pd.Timestamp(text) for text in iso]
    return pd.DatetimeIndex(iso)


@pytest.mark.parametrize("kind", ["date", "timestamp", "datetimeindex"])
def test_iso_date_strings_give_the_laney_chart_of_real_dates(kind):
    with_text = quiet(RISING_COUNTS, n=PATIENTS, x=MONTHS_ISO, chart="pp")
    with_dates = quiet(RISING_COUNTS, n=PATIENTS, x=as_real_dates(kind, MONTHS_ISO), chart="pp")
    pd.testing.assert_frame_equal(with_text, with_dates)
    assert pd.api.types.is_datetime64_any_dtype(with_text["x"])
    # Dates are a series in time: σ_z from the moving range of z, not the sd of z.
    _, ucl, lcl = laney_reference(RISING_COUNTS, PATIENTS, lambda c, m: np.sqrt(c * (1 - c) / m))
    assert np.allclose(with_text["ucl"], ucl) and np.allclose(with_text["lcl"], lcl)
    # 12 points below the centre line then 4 above: 1 crossing where at least 4 are expected.
    assert with_text["n_crossings"].iloc[0] == 1 and with_text["n_crossings_min"].iloc[0] == 4
    assert with_text["runs_signal"].all()


@pytest.mark.parametrize("kind", ["date", "timestamp", "datetimeindex"])
def test_iso_date_strings_give_the_runs_analysis_of_real_dates(kind):
    y = [1.0] * 12 + [5.0] * 12
    iso = [f"{2020 + i // 12}-{i % 12 + 1:02d}-01" for i in range(24)]
    with_text = control_chart(y, x=iso, chart="run")
    pd.testing.assert_frame_equal(with_text, control_chart(y, x=as_real_dates(kind, iso)))
    # The same shift with labels has no runs signal (test above); with dates it has one.
    assert with_text["longest_run"].iloc[0] == 12 and with_text["runs_signal"].all()


def test_iso_months_and_date_times_are_dates_too():
    months = [f"2015-{m:02d}" for m in range(1, 13)]
    chart = control_chart(SERIES[:12], x=months, chart="i")
    assert list(chart["x"]) == list(pd.date_range("2015-01-01", periods=12, freq="MS"))
    times = [f"2015-01-{d:02d}T08:30:00" for d in range(1, 13)]
    chart = control_chart(SERIES[:12], x=times, chart="i")
    assert chart["x"].iloc[0] == pd.Timestamp("2015-01-01 08:30")


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (
            MONTHS_ISO[:-1] + ["baseline"],
            (
                "x mixes ISO dates ('2015-01-01') with other labels "
                "('baseline'); for a chart in time pass dates"
            ),
        ),
        (
            MONTHS_ISO[:-1] + ["2016-02-30"],
            (
                "x has '2016-02-30', which is written as an ISO "
                "date but is not a date in the calendar; pass dates"
            ),
        ),
        (
            [f"{m:02d}/01/2015" for m in range(1, 13)] + [f"{m:02d}/01/2016" for m in range(1, 5)],
            (
                "x has '01/01/2015', which looks like a date but not an ISO one, "
                "so its day and month cannot be told apart; pass dates"
            ),
        ),
    ],
)
def test_text_that_is_not_plainly_dates_or_labels_is_refused(x, message):
    with pytest.raises(ValueError) as caught:
        quiet(RISING_COUNTS, n=PATIENTS, x=x, chart="pp")
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith("."), str(caught.value)


# --- warnings and errors ----------------------------------------------------------------------


def test_fewer_than_twelve_subgroups_warns():
    with pytest.warns(ShortSeriesWarning, match="12 or more"):
        control_chart(SERIES[:11], chart="i")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        control_chart(SERIES[:12], chart="i")


def test_a_short_baseline_warns_even_in_a_long_series():
    with pytest.warns(ShortSeriesWarning, match="rest on 6 subgroups"):
        control_chart(SERIES, chart="i", freeze=6)
    with pytest.warns(ShortSeriesWarning, match="phase 2"):
        control_chart(SERIES, chart="i", part=[14])


def test_short_series_warning_is_a_user_warning():
    assert issubclass(ShortSeriesWarning, UserWarning)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((SERIES,), {"chart": "np"}, "chart must be one of"),
        ((SERIES,), {"chart": None}, "chart must be one of"),
        ((SERIES, np.ones(23)), {"chart": "p"}, "same length"),
        ((SERIES,), {"x": np.arange(23), "chart": "i"}, "same length"),
        ((SERIES,), {"chart": "p"}, "needs the denominators"),
        ((SERIES, np.ones(24)), {"chart": "c"}, "takes y alone"),
        ((SERIES, np.ones(24)), {"chart": "xbar"}, "takes y alone"),
        ((np.r_[SERIES, 0.0],), {"chart": "t"}, "greater than zero"),
        ((np.r_[SERIES, -2.0],), {"chart": "t"}, "greater than zero"),
        (([3.0],), {"chart": "i"}, "at least 2"),
        (([],), {"chart": "run"}, "at least 2"),
        (([1.0, np.nan, np.nan],), {"chart": "i"}, "at least 2"),
        (([5, 60], [50, 50]), {"chart": "p"}, "cannot exceed"),
        (([5, -1], [50, 50]), {"chart": "u"}, "cannot be negative"),
        (([5, 3], [50, 0]), {"chart": "u"}, "denominator above zero"),
        (([5, 1], [50, -50]), {"chart": "u"}, "zero or positive"),
        ((["a", "b"],), {"chart": "i"}, "numbers"),
        ((None,), {"chart": "i"}, "numbers"),
        ((SERIES,), {"chart": "i", "multiply": 0}, "positive number"),
        ((SERIES,), {"chart": "i", "multiply": -100}, "positive number"),
        ((SERIES,), {"chart": "i", "x": [1.0] * 23 + [np.nan]}, "missing"),
        ((SERIES,), {"chart": "xbar"}, "two or more"),
        (([1.0, np.inf, 2.0],), {"chart": "i"}, "infinite"),
    ],
)
def test_mistakes_raise_one_plain_sentence(args, kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        quiet(*args, **kwargs)
    text = str(error.value)
    assert text.endswith(".") and "\n" not in text


# --- properties -------------------------------------------------------------------------------

INTEGERS = st.lists(st.integers(-1000, 1000), min_size=12, max_size=40)
SCALES = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


def clear_of_the_lines(chart, tolerance=1e-9):
    """No point so close to a line that rounding could move it to the other side."""
    y = chart["y"].to_numpy()
    lines = chart[["cl", "lcl", "ucl"]].to_numpy()
    scale = max(1.0, float(np.nanmax(np.abs(y))))
    return bool(np.all(np.abs(y[:, None] - lines) > tolerance * scale))


def assert_scaled(original, scaled, factor):
    # Sums that cancel to about zero keep a rounding residue, so the tolerance is relative
    # to the size of the data rather than of each number.
    size = float(np.nanmax(np.abs(original[["y", "ucl", "lcl"]].to_numpy()))) * factor
    for column in ("y", "cl", "lcl", "ucl", "lcl_95", "ucl_95"):
        assert np.allclose(scaled[column], original[column] * factor, rtol=1e-9, atol=1e-12 * size)
    for column in ("sigma_signal", "runs_signal", "longest_run", "n_crossings", "n_useful"):
        assert scaled[column].equals(original[column])


@settings(max_examples=60, deadline=None)
@given(values=INTEGERS, factor=SCALES)
def test_i_chart_limits_scale_with_the_data(values, factor):
    y = np.array(values, dtype=float)
    original = control_chart(y, chart="i")
    scaled = control_chart(y * factor, chart="i")
    assume(clear_of_the_lines(original) and clear_of_the_lines(scaled))
    assert_scaled(original, scaled, factor)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(-1000, 1000), min_size=48, max_size=48), factor=SCALES)
def test_xbar_chart_limits_scale_with_the_data(values, factor):
    y = np.array(values, dtype=float)
    x = np.repeat(np.arange(12), 4)
    original = control_chart(y, x=x, chart="xbar")
    scaled = control_chart(y * factor, x=x, chart="xbar")
    assume(clear_of_the_lines(original) and clear_of_the_lines(scaled))
    assert_scaled(original, scaled, factor)


MONOTONE = {
    "affine": lambda v: 2.5 * v + 7,
    "cube": lambda v: v**3,
    "exp": lambda v: np.exp(v / 10),
    "arctan": np.arctan,
}


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-50, 50), min_size=12, max_size=40),
    name=st.sampled_from(sorted(MONOTONE)),
)
def test_run_chart_signals_do_not_change_under_a_monotone_transform(values, name):
    y = np.array(values, dtype=float)
    original = control_chart(y, chart="run")
    transformed = control_chart(MONOTONE[name](y), chart="run")
    for column in (
        "runs_signal",
        "longest_run",
        "longest_run_max",
        "n_crossings",
        "n_crossings_min",
        "n_useful",
    ):
        assert transformed[column].equals(original[column])
