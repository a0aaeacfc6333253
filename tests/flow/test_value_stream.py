"""Value stream arithmetic (carevalue.flow.value_stream) on logs worked by hand.

The two-case log below is the worked example of docs/flow.md: each expected number is the
sum a lean practitioner would do on paper from the event times.
"""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest

from carevalue.flow import (
    bottlenecks,
    case_times,
    directly_follows,
    first_pass_yield,
    interval_summary,
    interval_times,
    rework_cases,
    value_stream,
)

MINUTE = 60.0


def at(clock: str | None) -> pd.Timestamp:
    return pd.Timestamp(f"2024-03-01 {clock}") if clock else pd.NaT


# case, activity, start, end, stage
WORKED = pd.DataFrame(
    [
        ("c1", "Arrive", at("08:00"), None, "front"),
        ("c1", "Scan", at("08:30"), at("08:50"), "front"),
        ("c1", "Ward", at("09:00"), at("12:00"), "ward"),
        ("c1", "Treat", at("09:30"), at("10:00"), "ward"),
        ("c1", "Treat", at("09:45"), at("10:30"), "ward"),  # overlaps the first: counted once
        ("c2", "Arrive", at("08:00"), None, "front"),
        ("c2", "Treat", at("10:00"), at("10:10"), "ward"),
    ],
    columns=["case", "activity", "start", "end", "stage"],
)
ARGS = {"end": "end", "value_adding": ("Scan", "Treat"), "stays": ("Ward",)}


def test_case_times_add_up_by_hand():
    times = case_times(WORKED, **ARGS).set_index("case")
    # c1: 08:00 to 12:00 (the ward stay's end) is 240 minutes; processing is the scan
    # (20) and the two overlapping treatments 09:30-10:30 (60), not the ward stay.
    assert times.loc["c1", "lead_time_s"] == 240 * MINUTE
    assert times.loc["c1", "processing_s"] == 80 * MINUTE
    assert times.loc["c1", "waiting_s"] == 160 * MINUTE
    assert times.loc["c1", "value_added_s"] == 80 * MINUTE
    assert times.loc["c1", "events"] == 5
    # c2: arrival (a point event) to the end of a 10-minute treatment.
    assert times.loc["c2", "lead_time_s"] == 130 * MINUTE
    assert times.loc["c2", "processing_s"] == 10 * MINUTE
    assert times.loc["c2", "waiting_s"] == 120 * MINUTE


def test_a_stay_counts_as_processing_unless_the_pack_says_it_is_a_stay():
    times = case_times(WORKED, end="end").set_index("case")
    # The ward stay 09:00-12:00 now covers the treatments: 20 + 180 minutes.
    assert times.loc["c1", "processing_s"] == 200 * MINUTE
    assert times.loc["c1", "value_added_s"] == 0.0


def test_value_stream_per_stage_in_pack_order_and_pce_as_a_ratio_of_totals():
    stream = value_stream(WORKED, stage="stage", stages=["front", "ward"], **ARGS)
    assert list(stream["stage"]) == ["front", "ward", "all"]
    front, ward, whole = (stream.iloc[i] for i in range(3))
    # front: c1 08:00-08:50 (50 min), c2 a single point event (0 min).
    assert front["cases"] == 2
    assert front["total_lead_time_s"] == 50 * MINUTE
    assert front["median_lead_time_s"] == 25 * MINUTE
    assert front["pce"] == pytest.approx(20 / 50)
    # ward: c1 09:00-12:00 (180 min, 60 of treatment), c2 10 min of treatment.
    assert ward["total_lead_time_s"] == 190 * MINUTE
    assert ward["total_processing_s"] == 70 * MINUTE
    assert ward["pce"] == pytest.approx(70 / 190)
    # The whole pathway: (80 + 10) value-added minutes over (240 + 130) minutes.
    assert whole["cases"] == 2
    assert whole["pce"] == pytest.approx(90 / 370)
    assert whole["total_waiting_s"] == (160 + 120) * MINUTE


def test_interval_from_the_first_start_to_the_first_stop_after_it():
    log = pd.DataFrame(
        [
            ("a", "Treat", at("07:00")),  # before the clock starts: not the stop
            ("a", "Arrive", at("08:00")),
            ("a", "Arrive", at("08:20")),
            ("a", "Treat", at("09:00")),
            ("a", "Treat", at("09:30")),
            ("b", "Arrive", at("08:00")),
            ("b", "Treat", at("08:40")),
            ("c", "Arrive", at("08:00")),  # never treated
            ("d", "Treat", at("08:00")),  # never arrived
        ],
        columns=["case", "activity", "start"],
    )
    times = interval_times(log, from_activity="Arrive", to_activity="Treat")
    assert dict(zip(times["case"], times["seconds"], strict=True)) == {
        "a": 60 * MINUTE,
        "b": 40 * MINUTE,
    }
    assert times.attrs["not_reached"] == 1
    summary = interval_summary(times, target_minutes=45)
    assert (summary.cases, summary.not_reached) == (2, 1)
    assert summary.median_s == 50 * MINUTE
    assert summary.within_target == 0.5
    assert interval_summary(times).within_target is None


def test_interval_summary_of_no_cases_is_blank_not_an_error():
    log = pd.DataFrame({"case": ["a"], "activity": ["Arrive"], "start": [at("08:00")]})
    summary = interval_summary(interval_times(log, from_activity="Arrive", to_activity="Treat"))
    assert summary.cases == 0 and summary.not_reached == 1
    assert math.isnan(summary.median_s)


def test_first_pass_yield_counts_rework_unless_routine_and_failed_cases():
    # c1 repeats Treat; c2 does nothing twice but was readmitted; c3 is clean.
    log = pd.concat(
        [
            WORKED,
            pd.DataFrame([("c3", "Arrive", at("08:00"), None, "front")], columns=WORKED.columns),
        ]
    )
    assert rework_cases(log, end="end") == {"c1"}
    result = first_pass_yield(log, end="end", failed_cases=["c2", "not-in-log"])
    assert (result.cases, result.first_pass, result.with_rework, result.failed) == (3, 1, 1, 1)
    assert result.share == pytest.approx(1 / 3)
    routine = first_pass_yield(log, end="end", routine=["Treat"])
    assert routine.with_rework == 0 and routine.first_pass == 3


def test_bottlenecks_rank_by_total_wait_not_by_frequency():
    log = pd.DataFrame(
        [
            (f"q{i}", step, at(clock))
            for i in range(5)
            for step, clock in (("A", "08:00"), ("B", "08:05"))
        ]
        + [("slow", "A", at("08:00")), ("slow", "C", at("12:00"))],
        columns=["case", "activity", "start"],
    )
    edges = directly_follows(log, case="case", activity="activity", timestamp="start")
    top = bottlenecks(edges, n=1)
    assert (top.loc[0, "source"], top.loc[0, "target"]) == ("A", "C")
    assert top.loc[0, "total_wait_s"] == 240 * MINUTE


@pytest.mark.spark
@pytest.mark.slow
def test_spark_gives_the_same_case_times(spark_backend):
    """The overlap-merging windows (rows frames, running sums) are the same on Spark."""
    frame = WORKED.assign(line=range(len(WORKED)))
    table = spark_backend.create_table(
        "flow_value_stream_events", ibis.memtable(frame), overwrite=True
    )
    try:
        for stage in (None, "stage"):
            on_duckdb = case_times(frame, **ARGS, order="line", stage=stage)
            on_spark = case_times(table, **ARGS, order="line", stage=stage)
            pd.testing.assert_frame_equal(on_duckdb, on_spark, check_dtype=False)
    finally:
        spark_backend.drop_table("flow_value_stream_events", force=True)
