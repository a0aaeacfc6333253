"""Evaluating a service change on constructed series with a known effect (or none)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carevalue.management import (
    DETERIORATION,
    IMPROVEMENT,
    NO_CHANGE,
    evaluate_change,
    evaluate_episodes,
    evaluate_series,
)

MONTHS = pd.date_range("2020-04-01", periods=48, freq="MS")
CHANGE = MONTHS[24]  # 24 months before, 24 after


def test_a_known_fall_in_a_lower_is_better_mean_is_an_improvement():
    rng = np.random.default_rng(1)
    values = np.r_[rng.normal(50, 4, 24), rng.normal(40, 4, 24)]  # effect -10
    result = evaluate_change(values, MONTHS, CHANGE, improvement="decrease")
    assert result.method == "difference of means"
    assert (result.n_before, result.n_after) == (24, 24)
    assert result.lower < -10 < result.upper
    assert result.upper < 0
    assert result.verdict == IMPROVEMENT
    assert result.spc_improvement_points > 0 and result.spc_concern_points == 0
    assert "special cause of improvement" in result.spc_evidence
    assert result.its is not None and result.its.level_lower < -10 < result.its.level_upper
    assert result.sentence().startswith("The change is associated with improvement")


def test_the_same_fall_on_a_higher_is_better_metric_is_a_deterioration():
    rng = np.random.default_rng(1)
    values = np.r_[rng.normal(50, 4, 24), rng.normal(40, 4, 24)]
    result = evaluate_change(values, MONTHS, CHANGE, improvement="higher_is_better")
    assert result.verdict == DETERIORATION
    assert result.spc_concern_points > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_effect_says_no_detectable_change(seed):
    rng = np.random.default_rng(seed)
    result = evaluate_change(rng.normal(50, 4, 48), MONTHS, CHANGE, improvement="decrease")
    assert result.verdict == NO_CHANGE
    assert result.lower < 0 < result.upper
    assert result.sentence().startswith("No detectable change: ")


def test_a_known_rise_in_a_proportion_is_recovered_within_its_interval():
    rng = np.random.default_rng(3)
    denominators = np.full(48, 60)
    numerators = np.r_[rng.binomial(60, 0.6, 24), rng.binomial(60, 0.75, 24)]  # +0.15
    result = evaluate_change(
        numerators / denominators,
        MONTHS,
        CHANGE,
        improvement="increase",
        numerators=numerators,
        denominators=denominators,
    )
    assert result.method == "difference of proportions"
    assert result.lower < 0.15 < result.upper and result.lower > 0
    assert result.verdict == IMPROVEMENT


def test_an_interrupted_time_series_recovers_a_planted_level_change_on_a_trend():
    rng = np.random.default_rng(4)
    t = np.arange(48)
    after = t >= 24
    values = 10 + 0.5 * t + 5 * after + rng.normal(0, 1, 48)  # level change +5, no slope change
    result = evaluate_change(values, MONTHS, CHANGE, improvement="increase")
    its = result.its
    assert its.level_lower < 5 < its.level_upper
    assert its.slope_lower < 0 < its.slope_upper
    assert its.slope_before_lower < 0.5 < its.slope_before_upper
    # The before/after difference mixes the trend in; the caveat says so.
    assert any("already improving" in caveat for caveat in result.caveats)


def test_a_short_follow_up_is_said_and_has_no_time_series_estimate():
    rng = np.random.default_rng(5)
    values = np.r_[rng.normal(50, 4, 14), rng.normal(40, 4, 4)]
    result = evaluate_change(values, MONTHS[:18], MONTHS[14], improvement="decrease")
    assert result.its is None
    assert any(caveat.startswith("Short follow-up: 4 points") for caveat in result.caveats)
    assert any("interrupted time-series" in caveat for caveat in result.caveats)


def test_small_numbers_are_said():
    numerators = np.array([1, 2, 1, 2, 3, 4, 3, 4])
    denominators = np.full(8, 5)
    result = evaluate_change(
        numerators / denominators,
        MONTHS[:8],
        MONTHS[4],
        improvement="increase",
        numerators=numerators,
        denominators=denominators,
    )
    assert any(caveat.startswith("Small numbers") for caveat in result.caveats)
    assert any(caveat.startswith("Short baseline") for caveat in result.caveats)


def test_dates_in_any_order_and_gaps_are_read():
    rng = np.random.default_rng(1)
    values = np.r_[rng.normal(50, 4, 24), rng.normal(40, 4, 24)]
    values[[3, 30]] = np.nan
    order = rng.permutation(48)
    result = evaluate_change(values[order], MONTHS[order], CHANGE, improvement="decrease")
    assert (result.n_before, result.n_after) == (23, 23)
    assert result.verdict == IMPROVEMENT


def test_a_metric_with_no_better_side_cannot_have_a_verdict():
    with pytest.raises(ValueError, match="which way is better"):
        evaluate_change(np.ones(10), MONTHS[:10], MONTHS[5], improvement="neutral")


def test_too_few_points_on_a_side_are_refused():
    with pytest.raises(ValueError, match="1 after"):
        evaluate_change(np.arange(6.0), MONTHS[:6], MONTHS[5], improvement="increase")


def episode_value(seed: int, effect_hours: float, death_before: float, death_after: float):
    """``episode_value`` rows: 480 episodes over four years, the change at the midpoint."""
    rng = np.random.default_rng(seed)
    n = 480
    index_date = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.uniform(0, 1461, n), unit="D")
    after = index_date >= pd.Timestamp("2022-01-01")
    hours = rng.normal(30, 8, n) + np.where(after, effect_hours, 0.0)
    deaths = rng.binomial(1, np.where(after, death_after, death_before)).astype(float)
    complete = np.ones(n, dtype=bool)
    complete[:40] = False  # follow-up not yet complete: left out, whatever their value
    deaths[:40] = 1.0
    return pd.DataFrame(
        {
            "index_date": index_date.floor("D"),
            "out__time_to_antibiotics": hours,
            "complete__time_to_antibiotics": True,
            "out__death_365d": deaths,
            "complete__death_365d": complete,
        }
    )


def test_episodes_recover_a_known_fall_in_time_to_antibiotics():
    episodes = episode_value(seed=8, effect_hours=-12, death_before=0.25, death_after=0.25)
    result = evaluate_episodes(
        episodes, "time_to_antibiotics", "2022-01-01", improvement="lower_is_better"
    )
    assert result.method == "difference of means"
    assert result.episodes_before + result.episodes_after == 480
    assert result.lower < -12 < result.upper
    assert result.verdict == IMPROVEMENT
    assert (result.n_before, result.n_after) == (24, 24)  # months, for SPC and ITS
    assert result.its is not None and result.its.level_lower < -12 < result.its.level_upper
    assert result.spc_improvement_points > 0


def test_episodes_recover_a_known_fall_in_a_proportion_from_complete_follow_up_only():
    episodes = episode_value(seed=9, effect_hours=0, death_before=0.30, death_after=0.15)
    result = evaluate_episodes(episodes, "death_365d", "2022-01-01", improvement="decrease")
    assert result.method == "difference of proportions"
    assert result.episodes_before + result.episodes_after == 440
    assert result.lower < -0.15 < result.upper < 0
    assert result.verdict == IMPROVEMENT
    unchanged = evaluate_episodes(
        episodes, "time_to_antibiotics", "2022-01-01", improvement="decrease"
    )
    assert unchanged.verdict == NO_CHANGE


def test_an_unknown_outcome_is_named():
    with pytest.raises(ValueError, match="no column 'eq5d'"):
        evaluate_episodes(
            episode_value(1, 0, 0.2, 0.2), "eq5d", "2022-01-01", improvement="increase"
        )


def test_a_metric_series_rate_is_read_with_its_counts_and_suppressed_months_left_out():
    rng = np.random.default_rng(6)
    events = np.r_[rng.binomial(50, 0.4, 24), rng.binomial(50, 0.25, 24)]
    series = pd.DataFrame(
        {
            "condition": "stroke",
            "metric": "death_90d",
            "metric_kind": "rate",
            "period_type": "admission_month",
            "period": MONTHS.strftime("%Y-%m"),
            "segment_type": "all",
            "segment": "all",
            "numerator": events.astype(float),
            "denominator": 50.0,
            "value": events / 50,
        }
    )
    series.loc[[0, 47], ["numerator", "denominator", "value"]] = np.nan  # suppressed
    result = evaluate_series(
        series,
        condition="stroke",
        metric="death_90d",
        change_date="2022-04-01",
        improvement="decrease",
    )
    assert result.method == "difference of proportions"
    assert (result.episodes_before, result.episodes_after) == (1150, 1150)
    assert result.lower < -0.15 < result.upper < 0
    assert result.verdict == IMPROVEMENT
    with pytest.raises(ValueError, match="no admission_month rows of stroke mrs_90d"):
        evaluate_series(
            series,
            condition="stroke",
            metric="mrs_90d",
            change_date="2022-04-01",
            improvement="decrease",
        )
