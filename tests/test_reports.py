"""The display rules every report shows figures with (carevalue.reports), and a run's
report as the command line prints it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from carevalue.costing import ConditionCost, CostingSummary
from carevalue.reports import cell, figure_format, interval, money, number, rate
from carevalue.reports.run_display import costing_lines, headline_rows, outcome_lines
from carevalue.value import HeadlineRow, ModelSummary, OutcomeSummary


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA, pd.NaT])
def test_a_missing_value_shows_blank_in_every_rule(missing):
    assert rate(missing) == money(missing) == number(missing) == cell(missing) == ""
    assert interval(missing, 1.0, number) == interval(1.0, missing, number) == ""


def test_each_kind_of_figure_has_one_way_to_show():
    assert rate(0.1234) == "12.3%"
    assert money(12345.678) == "£12,346"
    assert money(12345.678, places=2) == "£12,345.68"
    assert money(80.5, "EUR") == "€80"
    assert money(1500, "DKK") == "1,500 DKK"  # a currency without a symbol shows its code
    assert number(1234.5) == "1,234.50"
    assert interval(0.1, 0.25, rate) == "10.0% to 25.0%"
    assert cell(2.5) == "2.50" and cell(7) == "7" and cell("North") == "North"


def test_a_metric_shows_by_its_kind():
    assert figure_format("rate", "death_90d")(0.05) == "5.0%"
    assert figure_format("cost", "cost")(1000) == "£1,000"
    assert figure_format("ratio", "good_outcome__cost_per_good")(2500.4) == "£2,500"
    assert figure_format("mean", "length_of_stay")(8.125) == "8.12"


def test_a_run_report_reads_as_the_command_line_prints_it():
    costing = CostingSummary(
        source="plics",
        rules_version="2024.1",
        cost_quantum=1000.0,
        allocated_to_activities=990.0,
        in_episodes=500.0,
        by_condition={"stroke": ConditionCost(episodes=12, mean_cost=41.66)},
    )
    assert costing_lines(costing) == [
        "Costing (rules 2024.1): cost quantum £1,000.00, allocated to activities £990.00 "
        "(reconciled to the penny), of which in care-cycle episodes £500.00.",
        "  stroke                   mean whole-pathway cost per episode £42 (12 episodes)",
    ]
    rows = [
        HeadlineRow("death_90d", "Death within 90 days", "rate", 0.1, 0.05, 0.2, 120, None),
        HeadlineRow("mrs_90d", "mRS at 90 days", "mean", None, None, None, 4, "too few to report"),
    ]
    assert headline_rows(rows) == [
        ("Death within 90 days", "10.0%", "5.0% to 20.0%", "120"),
        ("mRS at 90 days", "too few to report", "", "4"),
    ]
    summary = OutcomeSummary(
        models=[ModelSummary("stroke", "death_90d", "logistic", True, "fitted", 120, 30, 0.8123)],
        scores_left_blank={"stroke": {"charlson": 3, "nihss": 0}},
        measured={"stroke": 100},
        headline={"stroke": rows},
        spc={"stroke": {"common_cause": 5, "special_cause_improving": 1}},
    )
    assert outcome_lines(summary) == [
        "Case-mix scores left blank for want of their inputs, stroke: charlson for 3 episodes.",
        "SPC, stroke: 6 monthly metrics charted for all patients; special cause at the latest "
        "month: 1 special cause improving (metric_spc_icons).",
        "Risk model stroke/death_90d: fitted (30 events), c-statistic 0.81.",
    ]
    assert summary.as_json()["headline"]["stroke"][1]["note"] == "too few to report"


def test_a_negative_amount_reads_minus_then_the_currency_symbol():
    from carevalue.reports.display import money

    assert money(-163301.69, places=2) == "-£163,301.69"
    assert money(-0.001) == "£0"
    assert money(-5, "DKK") == "-5 DKK"
