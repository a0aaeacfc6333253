"""Opportunities found on constructed tables: what is planted is found, and noise is not."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from carevalue.management import OPPORTUNITY_COLUMNS, THRESHOLD_SCORE, find_opportunities
from carevalue.stats import spc
from carevalue.stats.warnings import ShortSeriesWarning
from carevalue.value import funnel_charts

MONTHS = pd.date_range("2021-04-01", periods=36, freq="MS")


def spc_table(series: dict[tuple[str, str], np.ndarray], improvement: str) -> pd.DataFrame:
    """A ``metric_spc``-shaped table: one chart per (segment_type, segment) series."""
    keys = list(series)
    values = np.concatenate([series[k] for k in keys])
    dates = np.tile(MONTHS[: len(series[keys[0]])], len(keys))
    facets = np.repeat([f"{t}|{s}" for t, s in keys], len(series[keys[0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortSeriesWarning)
        chart = spc.xmr(values, dates, improvement=improvement, facets=facets)
    parts = chart["facet"].str.split("|", expand=True)
    return chart.assign(
        condition="stroke",
        metric="door_to_needle",
        segment_type=parts[0],
        segment=parts[1],
        point_type=chart["point_type"].astype(str),
        rule=chart["rule"].astype(str),
        improvement=improvement,
    )


def noise_series(seed: int, segments=("all|all", "site|North", "site|South", "team|Stroke")):
    rng = np.random.default_rng(seed)
    return {tuple(s.split("|")): rng.normal(60, 6, 36) for s in segments}


def test_a_planted_special_cause_is_found_with_its_direction_and_link():
    series = noise_series(7)
    series[("site", "North")] = np.append(series[("site", "North")][:-1], 120.0)  # 10 sigma
    found = find_opportunities(
        metric_spc=spc_table(series, "decrease"),
        labels={("stroke", "door_to_needle"): "Door-to-needle time (minutes)"},
    )
    assert list(found.columns) == OPPORTUNITY_COLUMNS
    signals = found[found["kind"] == "spc_signal"]
    assert len(signals) == 1
    row = signals.iloc[0]
    assert (row["segment_type"], row["segment"], row["direction"]) == ("site", "North", "concern")
    assert row["score"] > 8
    assert row["page"] == "spc" and row["query"] == "metric=door_to_needle&site=North"
    assert row["key"] == "spc_signal:stroke:door_to_needle:::site:North"
    assert "Door-to-needle time (minutes), site North" in row["reason"]
    assert row["title"] == "Door-to-needle time (minutes): special cause of concern (site North)"
    assert "special cause of concern" in row["reason"] and "Mar 2024" in row["reason"]


def test_a_planted_improvement_is_an_improvement_opportunity():
    series = noise_series(7)
    series[("all", "all")] = np.append(series[("all", "all")][:-1], 10.0)
    signals = find_opportunities(metric_spc=spc_table(series, "decrease"))
    assert signals["direction"].tolist() == ["improvement"]


def test_pure_noise_yields_no_spc_opportunity():
    for seed in range(3):
        found = find_opportunities(metric_spc=spc_table(noise_series(seed), "decrease"))
        assert found.empty, found["reason"].tolist()


def test_the_spc_threshold_is_the_making_data_count_false_alarm_rate():
    """On 400 stable series the latest point is a special cause about 1 time in 40."""
    segments = [f"team|T{i}" for i in range(400)]
    found = find_opportunities(
        metric_spc=spc_table(noise_series(11, segments), "increase"), segment_types=("team",)
    )
    assert len(found) / len(segments) < 0.05


def metric_series_for_funnel(rates: dict[str, float], seed: int, n: int = 400) -> pd.DataFrame:
    """A ``metric_series`` of a rate by team for one financial year."""
    rng = np.random.default_rng(seed)
    events = {team: rng.binomial(n, p) for team, p in rates.items()}
    return pd.DataFrame(
        {
            "condition": "stroke",
            "metric": "readmission_30d",
            "metric_kind": "rate",
            "period_type": "financial_year",
            "period": "2023/24",
            "segment_type": "team",
            "segment": list(events),
            "n": n,
            "numerator": [float(e) for e in events.values()],
            "denominator": float(n),
            "expected": np.nan,
            "suppressed": False,
        }
    )


def test_a_planted_outlier_team_in_a_funnel_is_found():
    rates = {f"Team {c}": 0.10 for c in "ABCDEFGH"} | {"Team Z": 0.25}
    funnels = funnel_charts(metric_series_for_funnel(rates, seed=3))
    found = find_opportunities(
        metric_funnel=funnels, directions={("stroke", "readmission_30d"): "decrease"}
    )
    outliers = found[found["kind"] == "funnel_outlier"]
    assert outliers["segment"].tolist() == ["Team Z"]
    row = outliers.iloc[0]
    assert row["direction"] == "concern" and row["score"] > THRESHOLD_SCORE
    assert row["page"] == "outcomes" and "period=2023%2F24" in row["query"]
    assert "above the 99.8% funnel limit" in row["reason"]


def test_a_funnel_of_noise_has_no_outlier():
    rates = {f"Team {c}": 0.10 for c in "ABCDEFGHI"}
    for seed in range(3):
        funnels = funnel_charts(metric_series_for_funnel(rates, seed=seed))
        assert find_opportunities(metric_funnel=funnels).empty


def oe_series(observed, expected) -> pd.DataFrame:
    """Observed/expected deaths by site (with the base rate metric the funnel reads)."""
    sites = [f"Site {i}" for i in range(len(observed))]
    base = {"condition": "stroke", "period_type": "financial_year", "period": "2023/24"}
    rate = pd.DataFrame(
        base
        | {"metric": "death_90d", "metric_kind": "rate", "segment_type": "all", "segment": "all"},
        index=[0],
    ).assign(n=1000, numerator=100.0, denominator=1000.0, expected=np.nan, suppressed=False)
    oe = pd.DataFrame(
        base
        | {
            "metric": "death_90d__oe",
            "metric_kind": "observed_expected",
            "segment_type": "site",
            "segment": sites,
            "n": 200,
            "numerator": np.asarray(observed, dtype=float),
            "denominator": 200.0,
            "expected": np.asarray(expected, dtype=float),
            "suppressed": False,
        }
    )
    return pd.concat([rate, oe], ignore_index=True)


def test_case_mix_adjusted_variation_between_sites_is_found():
    expected = np.full(10, 40.0)
    observed = expected * np.array([0.4, 0.5, 0.6, 0.8, 1.0, 1.0, 1.2, 1.5, 1.7, 1.9])
    found = find_opportunities(metric_funnel=funnel_charts(oe_series(observed, expected)))
    variation = found[found["kind"] == "unwarranted_variation"]
    assert variation["metric"].tolist() == ["death_90d__oe"]
    assert "after case-mix adjustment" in variation.iloc[0]["reason"]


def test_observed_deaths_by_chance_show_no_case_mix_variation():
    rng = np.random.default_rng(5)
    expected = rng.uniform(20, 60, 10)
    found = find_opportunities(
        metric_funnel=funnel_charts(oe_series(rng.poisson(expected), expected))
    )
    assert found[found["kind"] == "unwarranted_variation"].empty


def episode_costs(stage_means: dict[str, float], seed: int, spread: dict[str, float] | None = None):
    """``episode_costs`` rows: 60 episodes, each with one row per stage."""
    rng = np.random.default_rng(seed)
    spread = spread or {}
    rows = []
    for i in range(60):
        for stage, mean in stage_means.items():
            sigma = spread.get(stage, 0.25)
            amount = mean * rng.lognormal(-(sigma**2) / 2, sigma)
            rows.append((f"e{i:02d}", "stroke", stage, "staff", round(amount, 2)))
    return pd.DataFrame(rows, columns=["episode_id", "condition", "stage", "resource", "amount"])


STAGES = {"hyperacute": 1000.0, "acute": 1000.0, "rehabilitation": 1000.0, "community": 1000.0}


def test_a_planted_cost_driver_stage_is_found():
    costs = episode_costs(STAGES | {"acute": 6000.0}, seed=2)
    found = find_opportunities(episode_costs=costs)
    drivers = found[found["kind"] == "cost_driver"]
    assert drivers["stage"].tolist() == ["acute"]
    row = drivers.iloc[0]
    assert row["title"] == "Cost driver: the acute stage"
    assert row["page"] == "cost" and row["query"] == "stage=acute"
    assert "67% of the" in row["reason"]  # 6000 / 9000
    assert found[found["kind"] == "cost_variation"].empty


def test_a_planted_variable_stage_is_found():
    costs = episode_costs(STAGES, seed=4, spread={"rehabilitation": 1.4})
    found = find_opportunities(episode_costs=costs)
    assert found["kind"].tolist() == ["cost_variation"]
    assert found["stage"].tolist() == ["rehabilitation"]


def test_even_noisy_costs_yield_no_opportunity():
    for seed in range(3):
        assert find_opportunities(episode_costs=episode_costs(STAGES, seed=seed)).empty


def test_too_few_episodes_are_not_judged():
    costs = episode_costs(STAGES | {"acute": 6000.0}, seed=2)
    few = costs[costs["episode_id"] < "e09"]
    assert find_opportunities(episode_costs=few).empty


def test_no_tables_no_opportunities():
    found = find_opportunities()
    assert found.empty and list(found.columns) == OPPORTUNITY_COLUMNS


@pytest.mark.parametrize("improvement", ["increase", "decrease"])
def test_opportunities_are_ranked_by_score(improvement):
    series = noise_series(7)
    series[("all", "all")] = np.append(series[("all", "all")][:-1], 100.0)
    series[("team", "Stroke")] = np.append(series[("team", "Stroke")][:-1], 140.0)
    costs = episode_costs(STAGES | {"acute": 6000.0}, seed=2)
    found = find_opportunities(metric_spc=spc_table(series, improvement), episode_costs=costs)
    assert found["score"].is_monotonic_decreasing
    assert (found["score"] >= THRESHOLD_SCORE).all()
    assert set(found["kind"]) == {"spc_signal", "cost_driver"}


def test_a_signal_in_a_series_that_stopped_long_ago_is_not_current():
    series = noise_series(7)
    table = spc_table(series, "decrease")
    # Team Stroke's last 12 months are missing, and its last observed month is a signal.
    stroke = table["segment"] == "Stroke"
    last_kept = table[stroke]["date"].sort_values().iloc[-13]
    table.loc[stroke & (table["date"] > last_kept), "y"] = np.nan
    at_end = stroke & (table["date"] == last_kept)
    table.loc[at_end, ["special_cause_flag", "point_type", "rule"]] = [
        True,
        "special_cause_concern",
        "astronomical",
    ]
    assert find_opportunities(metric_spc=table).empty
