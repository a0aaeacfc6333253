"""The patients page: clinical roles of the condition only, every view and download audited
with exactly the patients shown, and the filters narrowing the list."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from carevalue.snapshots import current_snapshot
from carevalue.web.models import AuditEvent
from carevalue.web.pages import patients as patients_page

pytestmark = pytest.mark.django_db

URL = "/c/stroke/patients/"


def _stroke(root, **filters) -> pd.DataFrame:
    episodes = current_snapshot(root).table("episode_value")
    chosen = episodes[episodes["condition"] == "stroke"]
    for column, value in filters.items():
        chosen = chosen[chosen[column].astype("string") == value]
    return chosen.sort_values(["index_date", "episode_id"], ascending=[False, True])


def _shown_ids(root, **filters) -> set[str]:
    return set(_stroke(root, **filters)["patient_id"].astype(str).head(patients_page.MAX_ROWS))


def test_a_clinician_of_stroke_sees_the_episode_list_and_case_reviews(results, client_as):
    response = client_as("clinician", "stroke").get(URL)
    assert response.status_code == 200
    page = response.context["page"]
    listing = page.panel("episodes")
    expected = _stroke(results)
    assert (
        listing.table["episode_id"].tolist()
        == expected["episode_id"].head(patients_page.MAX_ROWS).tolist()
    )
    assert len(listing.table) <= patients_page.MAX_ROWS
    case_ids = [p.id for p in page.panels if p.id.startswith("case-")]
    assert len(case_ids) == 3 * min(patients_page.CASES, len(expected))
    timeline = page.panel("case-1-timeline")
    assert timeline.figure is not None and timeline.figure["layout"]["xaxis"]["type"] == "date"
    first = expected.iloc[0]
    assert timeline.patients == [str(first["patient_id"])]
    costs = page.panel("case-1-costs").table
    whole = costs[costs["stage"] == "whole_cycle"]["cost"].iloc[0]
    assert whole == pytest.approx(float(first["cost_whole_cycle"]), abs=0.01)
    html = response.content.decode()
    assert str(first["patient_id"]) in html and "Case review 1: pathway timeline" in html


@pytest.mark.parametrize("role", ["commissioner", "finance", "service_manager", "administrator"])
def test_roles_without_view_patients_are_refused(results, client_as, role):
    client = client_as(role)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "episodes.csv").status_code == 403
    assert not AuditEvent.objects.filter(action__in=("view_patients", "download")).exists()


def test_a_clinician_of_another_condition_is_refused(results, client_as):
    conditions = set(current_snapshot(results).table("episode_value")["condition"])
    other = min(conditions - {"stroke"})
    client = client_as("clinician", other)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "episodes.csv").status_code == 403
    assert client.get(f"/c/{other}/patients/").status_code == 200


def test_each_view_writes_one_audit_event_with_exactly_the_patients_shown(results, client_as):
    client = client_as("clinician", "stroke")
    response = client.get(URL)
    events = AuditEvent.objects.filter(action="view_patients")
    assert events.count() == 1
    event = events.get()
    expected = _shown_ids(results)
    assert set(event.patients) == expected
    assert event.condition == "stroke" and event.detail == {"what": "patients"}
    html = response.content.decode()
    assert all(p in html for p in expected)
    client.get(URL)
    assert AuditEvent.objects.filter(action="view_patients").count() == 2


def test_the_csv_download_is_audited_with_its_patients(results, client_as):
    client = client_as("clinician", "stroke")
    response = client.get(URL + "episodes.csv")
    assert response.status_code == 200
    lines = [line for line in response.content.decode().splitlines() if not line.startswith("#")]
    frame = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str)
    event = AuditEvent.objects.get(action="download")
    assert set(event.patients) == set(frame["Patient"]) == _shown_ids(results)
    assert event.detail == {"what": "patients/episodes.csv"}
    assert not AuditEvent.objects.filter(action="view_patients").exists()
    # a case review's table is audited with its one patient
    client.get(URL + "case-1-outcomes.csv")
    first = str(_stroke(results).iloc[0]["patient_id"])
    assert AuditEvent.objects.filter(action="download").latest("id").patients == [first]


def test_a_site_filter_restricts_the_list(results, client_as):
    stroke = _stroke(results)
    site = min(stroke["site"].dropna().unique())
    client = client_as("clinician", "stroke")
    page = client.get(URL, {"site": site}).context["page"]
    listing = page.panel("episodes")
    assert set(listing.table["site"]) == {site}
    assert len(listing.table) == min(len(_stroke(results, site=site)), patients_page.MAX_ROWS)
    assert len(listing.table) < len(stroke)
    event = AuditEvent.objects.get(action="view_patients")
    assert set(event.patients) == _shown_ids(results, site=site)
    assert f"site={site}" in event.path


def test_no_matching_episodes_lists_no_patients_and_says_so(results, client_as):
    response = client_as("clinician", "stroke").get(URL, {"site": "no-such-site"})
    assert response.status_code == 200
    assert (
        "No episodes match these filters, so no patients are listed." in response.content.decode()
    )
    assert AuditEvent.objects.get(action="view_patients").patients == []


def test_at_most_500_rows_with_a_message_saying_how_many_more(results, client_as, monkeypatch):
    total = len(_stroke(results))
    monkeypatch.setattr(patients_page, "MAX_ROWS", 50)
    response = client_as("clinician", "stroke").get(URL)
    page = response.context["page"]
    assert len(page.panel("episodes").table) == 50
    assert any(f"{total - 50:,} more match these filters" in m for m in page.messages)
    event = AuditEvent.objects.get(action="view_patients")
    assert set(event.patients) == set(_stroke(results)["patient_id"].astype(str).head(50))


def test_no_nhs_number_or_its_hash_is_shown(results, client_as):
    snapshot = current_snapshot(results)
    html = client_as("clinician", "stroke").get(URL).content.decode()
    assert "nhs_number" not in html
    if snapshot.has("patients"):
        hashes = snapshot.table("patients")["nhs_number_hash"].dropna().astype(str)
        assert not any(h in html for h in hashes)
