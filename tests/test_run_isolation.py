"""Runs cannot clobber each other: one run at a time builds on a warehouse (the second
stops with a plain sentence), and a run leaves no scratch table or view behind, whether it
succeeds, fails, or was killed (the next run sweeps up)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import TEST_KEY
from rich.console import Console

import carevalue.runs as runs
from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError
from carevalue.foundation.run_context import RunContext, scratch_prefix
from carevalue.foundation.run_lock import lock_path, run_lock
from carevalue.packs import load_packs
from carevalue.runs import current_run_id, run_pipeline
from carevalue.sources.ingest import ingest_extract
from carevalue.synthetic.generate_trust import generate_trust
from carevalue.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
PACKS = load_packs(shipped_conditions())
BUSY = "Another CareValue run is building on this warehouse"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("isolation")
    generate_trust(folder / "extract", 600, seed=11)
    path = folder / "warehouse.duckdb"
    con = connect(str(path))
    ingest_extract(folder / "extract", con, key=TEST_KEY, console=Console(quiet=True))
    return path


def _scratch(con) -> list[str]:
    return sorted(n for n in con.list_tables() if n.startswith(("_cv_", "_carevalue_")))


def test_a_run_names_its_scratch_objects_from_its_id_and_drops_them(warehouse, monkeypatch):
    con = connect(str(warehouse))
    made = []
    drop = RunContext.drop_scratch

    def recording_drop(ctx):
        made.extend(name for _, name in ctx.made)
        drop(ctx)

    monkeypatch.setattr(RunContext, "drop_scratch", recording_drop)
    report = run_pipeline(con, PACKS)
    prefix = scratch_prefix(report.run_id)
    assert prefix == f"_cv_{report.run_id[-6:].lower()}_"
    assert made and all(name.startswith(prefix) for name in made)
    assert f"{prefix}stroke_episodes_with_case_mix" in made
    assert _scratch(con) == []
    assert current_run_id(con) == report.run_id


def test_a_failed_run_leaves_no_scratch_objects_and_the_last_run_serving(warehouse, monkeypatch):
    con = connect(str(warehouse))
    before = current_run_id(con)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "_record_run", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_pipeline(con, PACKS)
    assert _scratch(con) == []
    assert current_run_id(con) == before


def test_the_next_run_sweeps_up_what_a_killed_run_left(warehouse):
    con = connect(str(warehouse))
    # A killed run's view outlives it in the DuckDB file (its temporary tables do not).
    con.create_view("_cv_dead00_prepared_diagnoses", con.table("diagnoses"), overwrite=True)
    run_pipeline(con, PACKS)
    assert _scratch(con) == []


def test_two_runs_at_once_one_builds_and_the_other_stops_plainly(warehouse, monkeypatch):
    building, release = threading.Event(), threading.Event()
    stage = runs.run_costing_stage

    def slow_costing(*args, **kwargs):  # the first run pauses mid-build, holding the lock
        building.set()
        assert release.wait(120)
        return stage(*args, **kwargs)

    monkeypatch.setattr(runs, "run_costing_stage", slow_costing)
    outcome: dict = {}

    def first_run():
        try:
            outcome["report"] = run_pipeline(connect(str(warehouse)), PACKS)
        except BaseException as error:  # reported by the assertions below
            outcome["error"] = error

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert building.wait(300)
        second = connect(str(warehouse))
        with pytest.raises(UserError, match=BUSY) as refused:
            run_pipeline(second, PACKS)
        assert str(lock_path(second)) in str(refused.value)
    finally:
        release.set()
        thread.join(300)
    assert "error" not in outcome, outcome.get("error")
    con = connect(str(warehouse))
    assert current_run_id(con) == outcome["report"].run_id
    assert _scratch(con) == []
    run_pipeline(con, PACKS)  # the lock is free again


HOLD = """
import sys, time
from carevalue.foundation.run_lock import run_lock
from carevalue.warehouse import connect
con = connect(sys.argv[1])
with run_lock(con):
    con.disconnect()  # the DuckDB file is free for the test; the run lock is still held
    print("locked", flush=True)
    time.sleep(120)
"""


def test_another_process_holding_the_lock_stops_a_run_and_its_death_frees_it(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(str(path)).con.close()  # the file exists, closed again for the other process
    command = [sys.executable, "-c", HOLD, str(path)]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        con = connect(str(path))
        with pytest.raises(UserError, match=BUSY), run_lock(con):
            pass
        holder.kill()  # kill -9: the operating system releases the lock
        holder.wait(30)
        with run_lock(con) as held:
            assert held == lock_path(con)
    finally:
        holder.kill()


def test_an_in_memory_warehouse_needs_no_lock():
    con = connect("duckdb://:memory:")
    assert lock_path(con) is None
    with run_lock(con) as held, run_lock(con) as again:
        assert held is None and again is None
