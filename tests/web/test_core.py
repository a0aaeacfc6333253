"""The web app's frame: logins, roles checked one way, the audit log, downloads, security
settings, and the board pack."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
import pytest
from django.contrib.auth import get_user_model

from carevalue.web.models import AuditEvent
from carevalue.web.permissions import (
    PERMISSIONS,
    ROLES,
    VIEW_PATIENTS,
    has_permission,
)

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_every_page_needs_a_login(results, client):
    for path in ("/", "/c/stroke/overview/", "/c/stroke/overview/headlines.csv", "/c/stroke/pack/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_roles_are_lists_of_known_permissions_checked_per_condition(make_user):
    assert all(set(perms) <= set(PERMISSIONS) for perms in ROLES.values())
    stroke_clinician = make_user("clinician", "stroke")
    assert has_permission(stroke_clinician, VIEW_PATIENTS, condition="stroke")
    assert not has_permission(stroke_clinician, VIEW_PATIENTS, condition="infective_endocarditis")
    commissioner = make_user("commissioner")
    assert not has_permission(commissioner, VIEW_PATIENTS, condition="stroke")
    with pytest.raises(ValueError):
        has_permission(commissioner, "view_everything")


def test_home_lists_only_the_conditions_a_role_may_see(results, client_as):
    client = client_as("clinician", "stroke")
    page = client.get("/").content.decode()
    assert "/c/stroke/overview/" in page
    assert "/c/infective_endocarditis/overview/" not in page
    response = client.get("/c/infective_endocarditis/overview/")
    assert response.status_code == 403
    assert "Your role does not include" in response.content.decode()


def test_passwords_are_hashed_with_argon2(make_user):
    user = make_user("finance")
    assert get_user_model().objects.get(pk=user.pk).password.startswith("argon2$")


def test_five_wrong_passwords_lock_the_account(results, client, make_user):
    make_user("finance", username="locked-user")
    for _ in range(5):
        client.post("/login/", {"username": "locked-user", "password": "wrong-password-123"})
    response = client.post("/login/", {"username": "locked-user", "password": PASSWORD})
    assert response.status_code in (403, 429)
    assert "locked" in response.content.decode()
    assert client.get("/").status_code == 302


def test_pages_carry_a_content_security_policy_with_no_inline_script(results, client_as):
    response = client_as("service_manager").get("/c/stroke/overview/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    # every script is a file from this server or inert JSON data
    for tag in html.split("<script")[1:]:
        head = tag.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head, head


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {
        **os.environ,
        "CAREVALUE_PRODUCTION": "1",
        "CAREVALUE_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
        "CAREVALUE_WEB_DB": str(tmp_path / "web.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "carevalue.web.settings",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_is_one_sentence(tmp_path):
    env = {
        **os.environ,
        "CAREVALUE_PRODUCTION": "1",
        "CAREVALUE_SECRET_KEY": "",
        "DJANGO_SETTINGS_MODULE": "carevalue.web.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "CAREVALUE_SECRET_KEY is not" in result.stderr


def test_a_download_is_the_panel_with_its_metadata_and_is_audited(results, client_as):
    client = client_as("finance")
    response = client.get("/c/stroke/overview/all-metrics.csv?site=North")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "# Run: " in text and "# Filters: site North" in text
    assert "# Small-number suppression: figures resting on fewer than" in text
    body = pd.read_csv(io.StringIO(text), comment="#")
    assert list(body.columns)[:2] == ["Measure", "Value"]
    assert len(body) > 5
    excel = client.get("/c/stroke/overview/all-metrics.xlsx?site=North")
    assert excel.status_code == 200
    sheet = pd.read_excel(io.BytesIO(excel.content), sheet_name="data")
    assert sheet["Measure"].tolist() == body["Measure"].tolist()
    events = AuditEvent.objects.filter(action="download").order_by("id")
    assert [e.detail["what"] for e in events] == [
        "overview/all-metrics.csv",
        "overview/all-metrics.xlsx",
    ]
    assert all(e.condition == "stroke" and e.run_id and e.username == "finance-all" for e in events)


def test_an_unknown_page_panel_or_format_is_not_found(results, client_as):
    client = client_as("administrator")
    assert client.get("/c/stroke/nonsense/").status_code == 404
    assert client.get("/c/stroke/overview/nonsense.csv").status_code == 404
    assert client.get("/c/stroke/overview/headlines.pdf").status_code == 404
    assert client.get("/c/no_such_condition/overview/").status_code in (403, 404)


def test_no_results_yet_is_a_page_that_says_what_to_do(settings, tmp_path, client_as):
    settings.CAREVALUE_SNAPSHOT_ROOT = str(tmp_path / "nothing")
    response = client_as("administrator").get("/c/stroke/overview/")
    assert response.status_code == 200
    assert "carevalue run" in response.content.decode()


def test_healthz_names_the_run_being_served(results, client):
    from carevalue.snapshots import current_snapshot

    assert client.get("/healthz").json()["run_id"] == current_snapshot(results).run_id


@pytest.mark.slow
def test_the_board_pack_prints_as_html_and_pdf(results, client_as):
    client = client_as("service_manager")
    html = client.get("/c/stroke/pack/").content.decode()
    assert "board and MDT pack" in html
    for title in ("Overview", "SPC charts", "Cost along the pathway", "Outcomes", "Data quality"):
        assert f"<h2>{title}</h2>" in html
    pdf = client.get("/c/stroke/pack.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(pdf.content) > 10_000
    assert AuditEvent.objects.filter(action="download", detail__what="board pack PDF").exists()
