"""Web tests share one published run of a small synthetic trust, built once per session
(and across xdist workers) like the trusts in tests/conftest.py. Its stroke pack reports
cells from 5 episodes so that monthly SPC charts are drawn at this size; the other packs
keep the shipped 10, so suppression is exercised too."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

PATIENTS = 6000
SEED = 11
STROKE_MIN_CELL = 5


def _build_published(folder: Path) -> Path:
    from rich.console import Console

    from carevalue.conditions import shipped_conditions
    from carevalue.costing.plics_rules import load_costing_rules
    from carevalue.costing.shipped_rules import costing_rules_file
    from carevalue.packs import load_packs
    from carevalue.runs import record_service_changes, run_pipeline
    from carevalue.snapshots import publish_snapshot
    from carevalue.sources.ingest import ingest_extract
    from carevalue.synthetic.generate_trust import generate_trust
    from carevalue.synthetic.service_change import demo_service_changes
    from carevalue.warehouse import connect

    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "built.json"
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            conditions = folder / "conditions"
            shutil.copytree(shipped_conditions(), conditions, dirs_exist_ok=True)
            stroke = conditions / "stroke" / "pack.yaml"
            stroke.write_text(
                stroke.read_text().replace(
                    "reporting:\n  min_cell: 10", f"reporting:\n  min_cell: {STROKE_MIN_CELL}"
                )
            )
            generate_trust(folder / "extract", PATIENTS, seed=SEED)
            con = connect(str(folder / "warehouse.duckdb"))
            from conftest import TEST_KEY

            ingest_extract(folder / "extract", con, key=TEST_KEY, console=Console(quiet=True))
            record_service_changes(con, demo_service_changes(folder / "extract"))
            report = run_pipeline(
                con,
                load_packs(conditions),
                load_costing_rules(costing_rules_file("synthetic")),
                conditions_folder=conditions,
            )
            publish_snapshot(con, report.run_id, folder / "snapshots", packs_folder=conditions)
            con.disconnect()
            done.write_text(json.dumps({"run_id": report.run_id}))
    return folder / "snapshots"


@pytest.fixture(scope="session")
def published_root(tmp_path_factory) -> Path:
    """The snapshots folder of the shared published run. CAREVALUE_TEST_PUBLISHED names an
    already built one (a developer's shortcut while iterating on pages; CI builds it)."""
    prebuilt = os.environ.get("CAREVALUE_TEST_PUBLISHED")
    if prebuilt:
        return Path(prebuilt)
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "web-published"
    return _build_published(shared / f"{PATIENTS}-{SEED}")


@pytest.fixture
def results(settings, published_root):
    """The web app pointed at the shared published run."""
    from carevalue.web import page_cache

    settings.CAREVALUE_SNAPSHOT_ROOT = str(published_root)
    page_cache.clear()
    yield published_root
    page_cache.clear()


ROLES = ("clinician", "team_lead", "service_manager", "finance", "commissioner", "administrator")
PASSWORD = "a-long-test-password-for-carevalue"


@pytest.fixture
def make_user(db):
    from carevalue.web import actions

    def make(role: str, condition: str = "", username: str | None = None):
        return actions.create_user(
            username=username or f"{role}-{condition or 'all'}",
            password=PASSWORD,
            roles=[(role, condition)],
        )

    return make


@pytest.fixture
def client_as(client, make_user):
    """A test client logged in with one role (for every condition unless given)."""

    def login(role: str, condition: str = ""):
        user = make_user(role, condition)
        client.force_login(user)
        return client

    return login
