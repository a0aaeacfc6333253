"""The maps of a real hospital log equal pm4py's: the Sepsis Cases event log (1,050 cases,
15,214 events), read with ``read_event_log`` and mapped by ``carevalue.flow``, against
pm4py's directly-follows graph, median waits, start and end activities and variants of the
same frame.

pm4py is AGPL-licensed: a test dependency only (the ``test`` extra), never imported by
CareValue. The log: Mannhardt F. Sepsis Cases – Event Log. 4TU.ResearchData 2016,
doi:10.4121/uuid:915d2bfb-7e84-49ad-a286-dc35f063a460 (tests/data/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pm4py
import pytest

from carevalue.flow import (
    directly_follows,
    end_activities,
    event_table,
    process_map,
    start_activities,
    variants,
)
from carevalue.flow.read_log import read_event_log

LOG = Path(__file__).resolve().parents[1] / "data" / "sepsis_cases_eventlog.csv"
CASE, ACTIVITY, TIMESTAMP = "Case ID", "Activity", "Complete Timestamp"
COLUMNS = {"case": CASE, "activity": ACTIVITY, "timestamp": TIMESTAMP}


@pytest.fixture(scope="module")
def frame():
    return read_event_log(LOG, **COLUMNS)


@pytest.fixture(scope="module")
def events(frame):
    return event_table(frame, **COLUMNS)


@pytest.fixture(scope="module")
def pm4py_log(frame):
    return pm4py.format_dataframe(
        frame.copy(), case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIMESTAMP
    )


def test_the_log_is_the_whole_sepsis_log(frame, events):
    assert len(frame) == 15_214
    assert frame[CASE].nunique() == 1_050
    assert (frame[CASE] == "NA").sum() == 24  # a case named "NA" is a case, not a gap
    assert events.left_out == 0


def test_directly_follows_counts_and_median_waits_equal_pm4py(events, pm4py_log):
    edges = directly_follows(events)
    counts, _, _ = pm4py.discover_dfg(pm4py_log)
    medians, _, _ = pm4py.discover_performance_dfg(pm4py_log, perf_aggregation_key="median")
    assert len(edges) == len(counts) == 115
    assert edges["count"].sum() == 15_214 - 1_050
    assert {(e.source, e.target): e.count for e in edges.itertuples()} == dict(counts)
    ours = {(e.source, e.target): e.median_wait_s for e in edges.itertuples()}
    assert ours.keys() == medians.keys()
    for edge, seconds in medians.items():
        assert ours[edge] == pytest.approx(seconds, abs=1e-6), edge


def test_start_and_end_activities_equal_pm4py(events, pm4py_log):
    starts, ends = start_activities(events), end_activities(events)
    assert dict(zip(starts.activity, starts["count"])) == pm4py.get_start_activities(pm4py_log)
    assert dict(zip(ends.activity, ends["count"])) == pm4py.get_end_activities(pm4py_log)
    assert starts["count"].sum() == ends["count"].sum() == 1_050


def test_variants_equal_pm4py(events, pm4py_log):
    found = variants(events)
    theirs = pm4py.get_variants(pm4py_log)
    assert len(found) == len(theirs) == 846
    assert dict(zip(found.activities, found["count"])) == {
        tuple(v): int(n) for v, n in theirs.items()
    }
    assert found["count"].sum() == 1_050


def test_process_map_is_the_four_maps_at_once(events):
    found = process_map(events)
    pd.testing.assert_frame_equal(found.edges, directly_follows(events))
    pd.testing.assert_frame_equal(found.variants, variants(events))
    pd.testing.assert_frame_equal(found.start_activities, start_activities(events))
    pd.testing.assert_frame_equal(found.end_activities, end_activities(events))
    assert found.left_out == 0
