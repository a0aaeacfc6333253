"""Serving never blocks a run, and a run never breaks serving: the app reads published
snapshots only, so `carevalue run` writes the warehouse while pages are requested, and the
app switches to the new run when it is published."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from carevalue.snapshots import current_snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_a_run_completes_while_pages_are_requested_with_no_error_page(
    settings, published_root, tmp_path, client_as
):
    trust = published_root.parent
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(trust / "warehouse.duckdb", warehouse)
    snapshots = tmp_path / "snapshots"
    shutil.copytree(published_root, snapshots)
    settings.CAREVALUE_SNAPSHOT_ROOT = str(snapshots)
    first = current_snapshot(snapshots).run_id
    client = client_as("service_manager")
    assert client.get("/healthz").json()["run_id"] == first

    env = {**os.environ, "CAREVALUE_SNAPSHOTS": str(snapshots)}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "carevalue",
            "run",
            "--warehouse",
            str(warehouse),
            "--conditions",
            str(trust / "conditions"),
            "--costing-rules",
            "synthetic",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    statuses: list[int] = []
    served: list[str] = []
    while run.poll() is None:
        for path in ("/c/stroke/overview/", "/c/stroke/overview/headlines.csv", "/"):
            statuses.append(client.get(path).status_code)
        served.append(client.get("/healthz").json()["run_id"])
    _, stderr = run.communicate()
    assert run.returncode == 0, stderr
    assert len(statuses) >= 3 and set(statuses) == {200}
    assert served[0] == first
    latest = current_snapshot(snapshots).run_id
    assert latest != first
    assert client.get("/healthz").json()["run_id"] == latest
    page = client.get("/c/stroke/overview/")
    assert page.status_code == 200 and latest in page.content.decode()
