"""Activity maps (carevalue.flow.maps) on logs small enough to check by hand.

Each log is written out event by event so that the expected map can be read off it: who
follows whom, in which order ties fall, what is left out and why.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from carevalue.errors import UserError
from carevalue.flow import event_table
from carevalue.flow.maps import (
    activity_stats,
    directly_follows,
    end_activities,
    filter_map,
    loops,
    start_activities,
    variants,
)

COLUMNS = {"case": "case_id", "activity": "step", "timestamp": "at"}


def log(*events: tuple, end: bool = False) -> pd.DataFrame:
    """Events as (case, activity, at[, until]); times are minutes after 08:00."""
    rows = []
    for case, activity, at, *until in events:
        row = {"case_id": case, "step": activity, "at": _time(at)}
        if end:
            row["until"] = _time(until[0]) if until else pd.NaT
        rows.append(row)
    return pd.DataFrame(rows)


def _time(minutes: float | None) -> pd.Timestamp:
    if minutes is None:
        return pd.NaT
    return pd.Timestamp("2024-03-01 08:00") + pd.Timedelta(minutes=minutes)


def edge_counts(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(r.source, r.target): r.count for r in frame.itertuples()}


def test_directly_follows_counts_transitions_cases_and_waits():
    frame = directly_follows(
        log(
            ("c1", "triage", 0),
            ("c1", "scan", 10),
            ("c1", "ward", 40),
            ("c2", "triage", 0),
            ("c2", "scan", 30),
            ("c3", "triage", 0),
            ("c3", "scan", 20),
            ("c3", "triage", 25),
            ("c3", "scan", 45),
        ),
        **COLUMNS,
    )
    assert list(frame.columns) == [
        "source",
        "target",
        "count",
        "cases",
        "mean_wait_s",
        "median_wait_s",
        "p90_wait_s",
        "total_wait_s",
    ]
    first = frame.iloc[0]
    assert (first.source, first.target, first["count"], first.cases) == ("triage", "scan", 4, 3)
    # waits 10, 30, 20 and 20 minutes
    assert first.mean_wait_s == 20 * 60
    assert first.median_wait_s == 20 * 60
    assert first.p90_wait_s == pytest.approx((20 + 0.7 * 10) * 60)  # between 20 and 30
    assert first.total_wait_s == 80 * 60
    assert edge_counts(frame) == {("triage", "scan"): 4, ("scan", "ward"): 1, ("scan", "triage"): 1}
    # sorted by count, then source and target
    assert list(zip(frame.source, frame.target)) == [
        ("triage", "scan"),
        ("scan", "triage"),
        ("scan", "ward"),
    ]
    assert frame.attrs["left_out"] == 0


def test_equal_timestamps_keep_source_order_and_a_new_order_changes_the_map():
    rows = [("c1", "triage", 0), ("c1", "bloods", 5), ("c1", "scan", 5), ("c1", "ward", 9)]
    as_written = log(*rows)
    assert edge_counts(directly_follows(as_written, **COLUMNS)) == {
        ("triage", "bloods"): 1,
        ("bloods", "scan"): 1,
        ("scan", "ward"): 1,
    }
    swapped = log(rows[0], rows[2], rows[1], rows[3])
    assert edge_counts(directly_follows(swapped, **COLUMNS)) == {
        ("triage", "scan"): 1,
        ("scan", "bloods"): 1,
        ("bloods", "ward"): 1,
    }
    assert variants(swapped, **COLUMNS).activities[0] == ("triage", "scan", "bloods", "ward")
    # rows out of time order are put in time order; only ties keep the source order
    shuffled = log(rows[3], rows[1], rows[0], rows[2])
    assert variants(shuffled, **COLUMNS).activities[0] == ("triage", "bloods", "scan", "ward")


def test_an_order_column_sets_the_source_order():
    frame = log(("c1", "a", 0), ("c1", "b", 0), ("c1", "c", 0))
    frame["line"] = [3, 1, 2]
    result = variants(frame, **COLUMNS, order="line")
    assert result.activities[0] == ("b", "c", "a")


def test_a_single_event_case_starts_and_ends_the_map_with_no_edge():
    events = log(("c1", "clinic", 0), ("c2", "clinic", 10), ("c3", "clinic", 5), ("c3", "scan", 9))
    assert edge_counts(directly_follows(events, **COLUMNS)) == {("clinic", "scan"): 1}
    starts = start_activities(events, **COLUMNS)
    assert starts.to_dict("list") == {"activity": ["clinic"], "count": [3], "share": [1.0]}
    ends = end_activities(events, **COLUMNS)
    assert ends.to_dict("list") == {
        "activity": ["clinic", "scan"],
        "count": [2, 1],
        "share": [2 / 3, 1 / 3],
    }
    found = variants(events, **COLUMNS)
    assert list(found.columns) == [
        "variant",
        "activities",
        "length",
        "count",
        "share",
        "median_lead_time_s",
    ]
    assert found.to_dict("records") == [
        {
            "variant": 1,
            "activities": ("clinic",),
            "length": 1,
            "count": 2,
            "share": 2 / 3,
            "median_lead_time_s": 0.0,
        },
        {
            "variant": 2,
            "activities": ("clinic", "scan"),
            "length": 2,
            "count": 1,
            "share": 1 / 3,
            "median_lead_time_s": 240.0,
        },
    ]


def test_events_without_a_timestamp_are_left_out_and_counted_not_dropped_silently():
    events = log(
        ("c1", "triage", 0),
        ("c1", "scan", None),
        ("c1", "ward", 30),
        ("c2", "triage", None),
        ("c2", "scan", None),
        ("c3", "triage", 0),
        ("c3", "scan", 20),
    )
    for build in (directly_follows, variants, start_activities, end_activities, activity_stats):
        assert build(events, **COLUMNS).attrs["left_out"] == 3, build.__name__
    # c1's scan is not on the map, so triage is followed straight by ward
    assert edge_counts(directly_follows(events, **COLUMNS)) == {
        ("triage", "ward"): 1,
        ("triage", "scan"): 1,
    }
    # c2 has nothing left to place: it is in no variant
    assert variants(events, **COLUMNS)["count"].sum() == 2
    gone = event_table(events, case="case_id", activity="step", timestamp="at").left_out_events()
    assert gone.to_dict("list") == {"case": ["c1", "c2"], "events": [1, 2]}


def test_waits_run_from_the_end_of_an_event_and_overlaps_count_as_no_wait():
    events = log(
        ("c1", "theatre", 0, 90),
        ("c1", "recovery", 120, 150),  # 30 minutes after theatre ended
        ("c2", "theatre", 0, 90),
        ("c2", "recovery", 80, 100),  # began before theatre ended: no wait
        ("c3", "theatre", 0),  # no end: the wait runs from its start
        ("c3", "recovery", 45),
        end=True,
    )
    frame = directly_follows(events, **COLUMNS, end="until")
    assert frame.to_dict("records") == [
        {
            "source": "theatre",
            "target": "recovery",
            "count": 3,
            "cases": 3,
            "mean_wait_s": 25 * 60,
            "median_wait_s": 30 * 60,
            "p90_wait_s": pytest.approx((30 + 0.8 * 15) * 60),
            "total_wait_s": 75 * 60,
        }
    ]
    stats = activity_stats(events, **COLUMNS, end="until").set_index("activity")
    assert stats.loc["theatre", "mean_duration_s"] == 90 * 60
    assert stats.loc["recovery", "median_duration_s"] == 25 * 60
    # lead time: first start to the latest end or start (150, 100 and 45 minutes)
    assert variants(events, **COLUMNS, end="until").median_lead_time_s.tolist() == [100 * 60]


def test_durations_are_missing_without_end_times():
    stats = activity_stats(log(("c1", "a", 0), ("c1", "b", 5)), **COLUMNS)
    assert stats.mean_duration_s.isna().all()
    assert stats.median_duration_s.isna().all()


def test_loops_and_rework():
    events = log(
        ("c1", "bloods", 0),
        ("c1", "bloods", 5),  # self loop
        ("c1", "scan", 10),
        ("c1", "bloods", 15),  # two-step: bloods -> scan -> bloods
        ("c2", "bloods", 0),
        ("c2", "ward", 5),
        ("c3", "scan", 0),
        ("c3", "ward", 5),
        ("c3", "scan", 10),  # two-step: scan -> ward -> scan
        ("c3", "scan", 15),  # self loop
    )
    found = loops(events, **COLUMNS)
    assert list(found.columns) == ["kind", "activities", "count", "cases"]
    assert sorted(map(tuple, found.to_numpy().tolist())) == [
        ("self", ("bloods", "bloods"), 1, 1),
        ("self", ("scan", "scan"), 1, 1),
        ("two-step", ("bloods", "scan", "bloods"), 1, 1),
        ("two-step", ("scan", "ward", "scan"), 1, 1),
    ]
    stats = activity_stats(events, **COLUMNS)
    assert stats[["activity", "count", "cases", "rework_cases"]].to_dict("records") == [
        {"activity": "bloods", "count": 4, "cases": 2, "rework_cases": 1},  # c1 three times
        {"activity": "scan", "count": 4, "cases": 2, "rework_cases": 1},  # c3 twice, c1 once
        {"activity": "ward", "count": 2, "cases": 2, "rework_cases": 0},
    ]


def test_loops_count_each_repeat_and_the_cases_it_is_in():
    events = log(*[("c1", "obs", m) for m in range(4)], ("c2", "obs", 0), ("c2", "obs", 1))
    found = loops(events, **COLUMNS)
    assert found.to_dict("records") == [
        {"kind": "self", "activities": ("obs", "obs"), "count": 4, "cases": 2}
    ]


EDGES = pd.DataFrame(
    {
        "source": ["a", "b", "a", "c", "d", "c", "e"],
        "target": ["b", "c", "c", "d", "a", "a", "a"],
        "count": [50, 40, 30, 20, 5, 3, 1],
    }
)
ACTIVITIES = pd.DataFrame({"activity": list("abcde"), "count": [100, 90, 80, 20, 2]})


def test_filter_map_keeps_the_commonest_activities_and_paths_and_orphans_none():
    edges, activities = filter_map(EDGES, ACTIVITIES, activity_share=0.8, path_share=0.25)
    assert list(activities.activity) == ["a", "b", "c", "d"]  # ceil(0.8 * 5) = 4
    # 6 edges between kept activities; ceil(0.25 * 6) = 2 are a->b and b->c; c->d is c's
    # strongest way out and d's only way in, d->a d's only way out
    assert list(zip(edges.source, edges.target)) == [
        ("a", "b"),
        ("b", "c"),
        ("c", "d"),
        ("d", "a"),
    ]
    kept = set(activities.activity)
    assert kept == set(edges.source) | set(edges.target)
    assert set(edges.source) >= kept - {"e"} and set(edges.target) >= kept


def test_filter_map_with_everything_is_the_map_and_bad_shares_are_refused():
    edges, activities = filter_map(EDGES, ACTIVITIES)
    assert edges.equals(EDGES)
    assert activities.equals(ACTIVITIES)
    edges, activities = filter_map(EDGES, ACTIVITIES, activity_share=0.01, path_share=0.01)
    assert list(activities.activity) == ["a"]
    assert edges.empty
    with pytest.raises(UserError, match="path_share is 0; give a share above 0"):
        filter_map(EDGES, ACTIVITIES, path_share=0)


def test_an_ibis_table_gives_the_same_maps_as_the_pandas_frame():
    events = log(
        ("c1", "triage", 0),
        ("c1", "scan", 10),
        ("c1", "ward", 40),
        ("c2", "triage", 0),
        ("c2", "ward", 30),
        ("c2", "scan", 35),
        ("c3", "triage", None),
    )
    table = ibis.memtable(events)
    for build in (directly_follows, variants, start_activities, end_activities, loops):
        from_frame, from_table = build(events, **COLUMNS), build(table, **COLUMNS)
        pd.testing.assert_frame_equal(from_frame, from_table, check_dtype=False)
        assert from_table.attrs == {"left_out": 1}


def put(con, name: str, frame: pd.DataFrame) -> ibis.Table:
    return con.create_table(name, ibis.memtable(frame), overwrite=True)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_draws_the_same_map_as_duckdb(spark_backend):
    events = log(
        ("c1", "triage", 0),
        ("c1", "scan", 10),
        ("c1", "scan", 10),
        ("c1", "ward", 40),
        ("c2", "triage", 0),
        ("c2", "ward", 30),
        ("c3", "triage", 0),
        ("c3", "scan", 25),
        ("c3", "ward", 50),
    )
    events["line"] = range(len(events))
    table = put(spark_backend, "flow_maps_events", events)
    on_duckdb = event_table(events, case="case_id", activity="step", timestamp="at", order="line")
    on_spark = event_table(table, case="case_id", activity="step", timestamp="at", order="line")
    for build in (directly_follows, variants, start_activities, end_activities):
        pd.testing.assert_frame_equal(build(on_duckdb), build(on_spark), check_dtype=False)
    spark_backend.drop_table("flow_maps_events", force=True)


def test_a_log_with_nothing_to_place_gives_empty_maps_with_their_columns():
    events = log(("c1", "triage", None), ("c2", "scan", None))
    for build in (directly_follows, variants, start_activities, end_activities, loops):
        frame = build(events, **COLUMNS)
        assert frame.empty and len(frame.columns) > 2, build.__name__
        assert frame.attrs["left_out"] == 2
