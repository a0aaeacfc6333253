"""The flow tables a run writes (flow_events, flow_edges, flow_variants), read from the
shared published run: every pathway activity is on the log exactly once, labelled as its
pack says, and the maps reconcile with the log they came from."""

from __future__ import annotations

import pandas as pd
import pytest

from carevalue.flow import EVENT_COLUMNS, VARIANT_SEPARATOR, directly_follows, interval_times
from carevalue.packs import load_packs
from carevalue.snapshots import current_snapshot


@pytest.fixture(scope="module")
def snap(published_root):
    return current_snapshot(published_root)


@pytest.fixture(scope="module")
def packs(snap):
    return {p.id: p for p in load_packs(snap.pack_files())}


@pytest.fixture(scope="module")
def events(snap) -> pd.DataFrame:
    return snap.table("flow_events")


def test_every_pathway_activity_is_on_the_log_once_and_other_care_is_not(snap, events):
    activities = snap.table("episode_activities")
    on_pathway = activities[activities["stage"] != "other"]
    assert len(events) == len(on_pathway) > 0
    assert set(events["stage"]) <= set(on_pathway["stage"])
    assert "other" not in set(events["stage"])
    per_condition = events.groupby("condition").size()
    assert per_condition.to_dict() == on_pathway.groupby("condition").size().to_dict()
    # seq numbers each episode's events 1..n in time order
    ordered = events.sort_values(["episode_id", "seq"])
    assert (ordered.groupby("episode_id")["seq"].transform("count") >= ordered["seq"]).all()
    assert not ordered.duplicated(["episode_id", "seq"]).any()
    assert (ordered.groupby("episode_id")["start_at"].diff().dropna() >= pd.Timedelta(0)).all()


def test_labels_are_the_packs_and_an_undeclared_activity_names_its_stage(snap, packs, events):
    stroke = events[events["condition"] == "stroke"]
    declared = {a.label for a in packs["stroke"].flow.activities}
    stage_names = {s.name for s in packs["stroke"].stages}
    for label in set(stroke["activity"]) - declared:
        assert label.split(": ")[0] in stage_names, label
    activities = snap.table("episode_activities")
    thrombolysed = activities[
        (activities["condition"] == "stroke") & (activities["code"] == "X83.3")
    ]
    assert len(thrombolysed) > 0
    labelled = stroke.merge(
        thrombolysed[["episode_id", "start_at"]], on=["episode_id", "start_at"], how="inner"
    )
    assert "Thrombolysis" in set(labelled["activity"])


def test_the_runs_maps_reconcile_with_its_log(snap, events):
    edges, variants = snap.table("flow_edges"), snap.table("flow_variants")
    for condition, log in events.groupby("condition"):
        mine = edges[edges["condition"] == condition]
        # every event but each case's last is followed by exactly one event
        assert mine["count"].sum() == len(log) - log["episode_id"].nunique()
        paths = variants[variants["condition"] == condition]
        assert paths["count"].sum() == log["episode_id"].nunique()
        assert paths["share"].sum() == pytest.approx(1.0)
        assert (paths["length"] == paths["activities"].str.count(VARIANT_SEPARATOR) + 1).all()
        again = directly_follows(log, **EVENT_COLUMNS)
        assert again["count"].tolist() == mine["count"].tolist()


def test_door_to_needle_on_the_map_agrees_with_the_outcome(snap, packs, events):
    """The pack's key interval (A&E assessment to thrombolysis) and its door_to_needle
    outcome (A&E arrival to thrombolysis) measure the same minutes for the same episodes."""
    stroke = events[events["condition"] == "stroke"]
    interval = next(k for k in packs["stroke"].flow.key_intervals if k.id == "door_to_needle")
    times = interval_times(
        stroke,
        **EVENT_COLUMNS,
        from_activity=interval.from_activity,
        to_activity=interval.to_activity,
    )
    outcomes = snap.table("episode_outcomes")
    measured = outcomes[
        (outcomes["outcome_id"] == "door_to_needle") & (outcomes["status"] == "measured")
    ]
    both = times.merge(measured, left_on="case", right_on="episode_id")
    assert len(both) >= 5
    assert (both["seconds"] / 60).round(6).tolist() == both["value"].round(6).tolist()
