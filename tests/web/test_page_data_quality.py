"""The data-quality page: who may open it, that its quarantine counts are the snapshot's,
and that it shows nothing patient-level."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from carevalue.snapshots import current_snapshot

pytestmark = pytest.mark.django_db

URL = "/c/stroke/data-quality/"


def _snapshot(root):
    return current_snapshot(root)


@pytest.mark.parametrize("role", ["clinician", "finance", "administrator", "service_manager"])
def test_roles_with_view_data_quality_open_it(results, client_as, role):
    response = client_as(role).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Rows quarantined at ingest" in html
    assert "How complete this condition" in html


def test_commissioners_may_not_open_it_nor_download_from_it(results, client_as):
    client = client_as("commissioner")
    assert client.get(URL).status_code == 403
    assert client.get(URL + "quarantine.csv").status_code == 403


def test_quarantine_counts_are_the_snapshots(results, client_as):
    summary = _snapshot(results).table("quarantine_summary")
    response = client_as("clinician").get(URL)
    panel = response.context["page"].panel("quarantine")
    assert int(panel.table["rows"].sum()) == int(summary["rows"].sum()) > 0
    by_feed = panel.table.groupby("feed")["rows"].sum().to_dict()
    assert by_feed == summary.groupby("feed")["rows"].sum().to_dict()
    html = response.content.decode()
    assert f"({int(summary['rows'].sum()):,} in all)" in html
    # the shown rows read are the load log's, per load and feed
    log = _snapshot(results).table("load_log").set_index(["load_id", "feed"])["rows_read"]
    for record in panel.table.to_dict("records"):
        assert record["rows_read"] == log[(record["load_id"], record["feed"])]


def test_quarantine_download_carries_the_same_counts(results, client_as):
    summary = _snapshot(results).table("quarantine_summary")
    response = client_as("finance").get(URL + "quarantine.csv")
    assert response.status_code == 200
    text = response.content.decode()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    frame = pd.read_csv(io.StringIO("\n".join(lines)))
    assert int(frame["Rows quarantined"].sum()) == int(summary["rows"].sum())


def test_load_trend_reconciles_and_is_charted_per_feed(results, client_as):
    log = _snapshot(results).table("load_log")
    page = client_as("administrator").get(URL).context["page"]
    loads = page.panel("loads")
    assert len(loads.table) == len(log)
    assert (
        loads.table["rows_read"] == loads.table["rows_loaded"] + loads.table["rows_quarantined"]
    ).all()
    assert {trace["name"] for trace in loads.figure["data"]} == set(log["feed"])
    assert "not per condition" in loads.sentence and "not patient-level" in loads.sentence
    assert "not per condition" in page.panel("quarantine").sentence
    assert "not per condition" in page.panel("findings").sentence


def test_findings_carry_severity_and_no_examples(results, client_as):
    findings = _snapshot(results).table("dq_results")
    response = client_as("clinician").get(URL)
    panel = response.context["page"].panel("findings")
    assert set(panel.table["check_id"]) == set(findings["check_id"])
    assert panel.table["severity"].tolist()[0] == "error"
    html = response.content.decode()
    # example record ids (some checks' examples are patient ids) are never shown
    for examples in findings["examples"].dropna():
        for example in filter(None, (e.strip() for e in str(examples).split(","))):
            assert example not in html, example


def test_outcome_completeness_is_for_the_filtered_episodes(results, client_as):
    snapshot = _snapshot(results)
    episodes = snapshot.table("episode_value")
    stroke = episodes[episodes["condition"] == "stroke"]
    site = min(stroke["site"].dropna().unique())
    chosen = stroke[stroke["site"] == site]
    page = client_as("clinician").get(URL, {"site": site}).context["page"]
    table = page.panel("outcome-completeness").table.set_index("outcome_id")
    for outcome_id, row in table.iterrows():
        status = chosen[f"status__{outcome_id}"]
        assert row["measured"] == (status == "measured").sum()
        assert row["missing"] == (status == "missing").sum()
        assert row["not_due"] == (status == "not_due").sum()
        assert row["measured"] + row["missing"] + row["not_due"] + row["not_applicable"] + row[
            "no_status"
        ] == len(chosen)


def test_nothing_patient_level_is_shown(results, client_as):
    snapshot = _snapshot(results)
    response = client_as("clinician").get(URL)
    assert not any(panel.patients for panel in response.context["page"].panels)
    html = response.content.decode()
    patients = snapshot.table("episode_value")["patient_id"].astype(str)
    assert not any(p in html for p in patients.head(200))
