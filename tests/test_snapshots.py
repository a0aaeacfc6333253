"""Each completed run is published as an immutable snapshot of Parquet files, switched
atomically, which the web app reads instead of the warehouse (docs/snapshots.md).

The publishing mechanics (what is written, what is left out, the switch, failures, retention,
readers) run on a small hand-made warehouse in memory; a real run of the shared synthetic
trust checks that the published tables are the run's, and two ``carevalue`` processes check
that a reader of the snapshot never blocks the next run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest

from carevalue import snapshots
from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError
from carevalue.packs import load_packs
from carevalue.snapshots import (
    SNAPSHOTS_ENV,
    Snapshot,
    current_snapshot,
    publish_current_run,
    publish_snapshot,
    snapshot_root,
)
from carevalue.warehouse import connect

PACKS = load_packs(shipped_conditions())
VERSIONS = {p.id: p.governance.version for p in PACKS}
NHS_NUMBER = "9434765919"

# --- a small hand-made warehouse: the tables a run and a load leave, a few rows each -----


def _fake_run(con, run_id: str, *, episodes: int = 3, versions: dict | None = None) -> None:
    """Tables as a run leaves them (``<name>__<run id>``, a ``runs`` row) and as loads leave
    them (``load_log``, ``dq_results``, ``quarantine`` with raw rows)."""
    frames = {
        "episodes": pd.DataFrame(
            {
                "episode_id": [f"{run_id}-e{i}" for i in range(episodes)],
                "condition": "stroke",
                "patient_id": [f"hash{i}" for i in range(episodes)],
                "index_at": pd.to_datetime(["2021-01-01 10:00"] * episodes),
            }
        ),
        "episode_costs": pd.DataFrame({"episode_id": [f"{run_id}-e0"], "amount": [12.5]}),
        "activity_costs": pd.DataFrame({"activity_id": ["A1"], "amount": [12.5]}),
        "metric_series": pd.DataFrame({"condition": ["stroke"], "value": [0.5]}),
    }
    for name, frame in frames.items():
        con.create_table(f"{name}__{run_id}", ibis.memtable(frame), overwrite=True)
    row = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "started_at": pd.Timestamp("2024-01-01 09:00"),
                "finished_at": pd.Timestamp.now(),
                "packs": json.dumps(versions or VERSIONS),
                "data_first_date": "2019-04-01",
                "data_last_date": "2024-03-29",
                "episodes": json.dumps({"stroke": episodes}),
                "seconds": json.dumps({"stroke": 0.1}),
            }
        ]
    )
    known = con.table("runs").execute() if "runs" in con.list_tables() else None
    runs = row if known is None else pd.concat([known, row], ignore_index=True)
    con.create_table("runs", ibis.memtable(runs), overwrite=True)
    if "quarantine" in con.list_tables():
        return
    con.create_table(
        "load_log",
        ibis.memtable(
            pd.DataFrame(
                {
                    "load_id": ["L1"],
                    "loaded_at": [pd.Timestamp("2024-01-01 08:00")],
                    "feed": ["patients"],
                    "rows_read": [10],
                    "key_fingerprint": ["0123456789abcdef"],
                }
            )
        ),
    )
    con.create_table(
        "dq_results",
        ibis.memtable(
            pd.DataFrame(
                {
                    "load_id": ["L1"],
                    "check_id": ["orphans"],
                    "rows": [2],
                }
            )
        ),
    )
    con.create_table("quarantine", ibis.memtable(_quarantine()))


def _quarantine() -> pd.DataFrame:
    """Quarantine rows as ingest writes them, with values a summary must never show."""
    rows = [
        ("patients", "nhs_number", f"nhs_number '{NHS_NUMBER}' is not a valid NHS number"),
        ("patients", "nhs_number", "nhs_number '9990000018' is not a valid NHS number"),
        ("patients", "sex", "sex 'O'Brien' is not one of female, male, other, unknown"),
        ("patients", "death_date", "death_date '1919-08-06' is before birth_date '1928-12-11'"),
        ("patients", "birth_date", "birth_date is blank"),
        ("encounters", "end_at", "end_at 'x' is before start_at 'it's 9'"),
        ("activities", "start_at", "start_at 'Mr Secret\nSmith' is not a date"),
        (
            "activities",
            "activity_id",
            "activity_id 'A9' repeats row 3 (duplicate key; the first row was loaded)",
        ),
        ("activities", None, "has 3 values where the header has 14"),
    ]
    return pd.DataFrame(
        [
            {
                "load_id": "L1",
                "feed": feed,
                "file": f"{feed}.csv",
                "file_sha256": "abc",
                "row": i + 2,
                "column": column,
                "value": "v",
                "reason": f"{feed}.csv row {i + 2}: {reason}",
                "raw_row": f"{NHS_NUMBER},Mr Secret Smith",
            }
            for i, (feed, column, reason) in enumerate(rows)
        ]
    )


@pytest.fixture
def con():
    return connect("duckdb://:memory:")


def _publish(con, run_id: str, root: Path, **kwargs) -> Path:
    _fake_run(con, run_id, **kwargs)
    return publish_snapshot(con, run_id, root, packs=PACKS)


def _folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


# --- where snapshots live ---------------------------------------------------------------


def test_snapshot_root_sits_beside_the_warehouse_or_where_the_setting_says(monkeypatch, tmp_path):
    monkeypatch.delenv(SNAPSHOTS_ENV, raising=False)
    assert snapshot_root("var/warehouse.duckdb") == Path("var/warehouse.snapshots")
    assert snapshot_root("duckdb:///srv/cv/w.duckdb") == Path("/srv/cv/w.snapshots")
    spark = snapshot_root(f"pyspark://local[2]?warehouse={tmp_path / 'spark'}")
    assert spark == tmp_path / "spark" / "snapshots"
    with pytest.raises(UserError, match=SNAPSHOTS_ENV):
        snapshot_root("duckdb://:memory:")
    monkeypatch.setenv(SNAPSHOTS_ENV, str(tmp_path / "elsewhere"))
    assert snapshot_root("var/warehouse.duckdb") == tmp_path / "elsewhere"
    assert snapshot_root("duckdb://:memory:") == tmp_path / "elsewhere"


# --- what a snapshot holds --------------------------------------------------------------


def test_a_snapshot_holds_the_run_its_manifest_and_its_packs_but_no_raw_rows(con, tmp_path):
    root = tmp_path / "snapshots"
    assert current_snapshot(root) is None  # nothing published yet
    folder = _publish(con, "20240101T000000Z_aaaaaa", root)
    assert folder == root / "20240101T000000Z_aaaaaa"
    assert (root / "CURRENT").read_text().strip() == "20240101T000000Z_aaaaaa"
    snap = current_snapshot(root)
    assert snap.run_id == "20240101T000000Z_aaaaaa" and snap.path == folder

    manifest = snap.manifest
    assert manifest["run"]["packs"] == VERSIONS
    assert manifest["run"]["data_last_date"] == "2024-03-29"
    assert manifest["run"]["episodes"] == {"stroke": 3}
    assert manifest["carevalue_version"] and manifest["published_at"]
    assert set(manifest["tables"]) == {
        "episodes",
        "episode_costs",
        "metric_series",
        "runs",
        "load_log",
        "dq_results",
        "quarantine_summary",
    }
    assert manifest["tables"]["episodes"]["rows"] == 3
    assert "activity_costs" in manifest["not_published"]
    assert not snap.has("activity_costs") and not (folder / "activity_costs.parquet").exists()
    with pytest.raises(KeyError, match="activity_costs"):
        snap.table("activity_costs")

    episodes = snap.table("episodes")
    pd.testing.assert_frame_equal(
        episodes, con.table("episodes__20240101T000000Z_aaaaaa").execute(), check_dtype=False
    )
    assert pq.read_schema(snap.parquet_path("episodes")).field("index_at").type.unit == "us"
    assert str(episodes["index_at"].dtype).startswith("datetime64")  # timestamps stay timestamps
    assert snap.table("episodes") is episodes  # read once per process
    assert "key_fingerprint" not in snap.table("load_log").columns

    assert sorted(p.name for p in snap.pack_files().iterdir()) == sorted(VERSIONS)
    assert {p.id: p.governance.version for p in load_packs(snap.pack_files())} == VERSIONS


def test_the_quarantine_summary_counts_problems_and_shows_no_patient_value(con, tmp_path):
    snap = current_snapshot(_publish(con, "20240101T000000Z_aaaaaa", tmp_path).parent)
    summary = snap.table("quarantine_summary")
    assert list(summary.columns) == ["load_id", "feed", "file", "column", "problem", "rows"]
    assert summary["rows"].sum() == len(_quarantine())
    problems = dict(zip(summary["column"].fillna("-"), summary["problem"], strict=False))
    assert problems["birth_date"] == "is blank"
    assert problems["death_date"] == "is before birth_date"
    assert problems["activity_id"] == "duplicate key"
    assert problems["-"] == "malformed line"
    assert problems["end_at"] == "is before an earlier date of the row"  # a quote in a value
    nhs = summary[summary["column"] == "nhs_number"]
    assert nhs[["problem", "rows"]].values.tolist() == [["is not a valid NHS number", 2]]
    text = summary.to_csv()
    for secret in (NHS_NUMBER, "9990000018", "Secret", "Brien", "1919", "1928", "it's", "A9"):
        assert secret not in text


# --- switching, failing, retention, readers ---------------------------------------------


def test_a_failed_publish_leaves_the_previous_snapshot_current_and_readable(
    con, tmp_path, monkeypatch
):
    root = tmp_path / "snapshots"
    _publish(con, "20240101T000000Z_aaaaaa", root)
    _fake_run(con, "20240102T000000Z_bbbbbb")
    write = snapshots._write_parquet
    calls = []

    def full_disk(expr, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return write(expr, target)

    monkeypatch.setattr(snapshots, "_write_parquet", full_disk)
    with pytest.raises(UserError) as failed:
        publish_snapshot(con, "20240102T000000Z_bbbbbb", root, packs=PACKS)
    assert str(failed.value) == (
        f"Publishing run 20240102T000000Z_bbbbbb as a snapshot in {root} failed (No space left "
        "on device); the web app still shows snapshot 20240101T000000Z_aaaaaa. Fix the cause "
        "and run 'carevalue publish'."
    )
    assert _folders(root) == ["20240101T000000Z_aaaaaa", "CURRENT"]  # nothing half-written
    snap = current_snapshot(root)
    assert snap.run_id == "20240101T000000Z_aaaaaa"
    assert len(snap.table("metric_series")) == 1


def test_a_killed_publish_is_never_current_and_the_next_sweeps_it_up(con, tmp_path, monkeypatch):
    root = tmp_path / "snapshots"
    _publish(con, "20240101T000000Z_aaaaaa", root)
    _fake_run(con, "20240102T000000Z_bbbbbb")
    write = snapshots._write_parquet

    def killed(expr, target):
        if target.name == "runs.parquet":
            raise KeyboardInterrupt  # as good as kill -9 here: nothing tidies up
        return write(expr, target)

    monkeypatch.setattr(snapshots, "_write_parquet", killed)
    with pytest.raises(KeyboardInterrupt):
        publish_snapshot(con, "20240102T000000Z_bbbbbb", root, packs=PACKS)
    partial = root / ".20240102T000000Z_bbbbbb.partial"
    assert (partial / "episodes.parquet").exists()  # the dead publish's half-written folder
    assert current_snapshot(root).run_id == "20240101T000000Z_aaaaaa"

    monkeypatch.setattr(snapshots, "_write_parquet", write)
    publish_snapshot(con, "20240102T000000Z_bbbbbb", root, packs=PACKS)
    assert current_snapshot(root).run_id == "20240102T000000Z_bbbbbb"
    assert _folders(root) == ["20240101T000000Z_aaaaaa", "20240102T000000Z_bbbbbb", "CURRENT"]


def test_a_failure_switching_current_removes_the_new_folder(con, tmp_path, monkeypatch):
    root = tmp_path / "snapshots"
    _publish(con, "20240101T000000Z_aaaaaa", root)
    _fake_run(con, "20240102T000000Z_bbbbbb")

    def refused(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(snapshots.os, "replace", refused)
    with pytest.raises(UserError, match="Permission denied"):
        publish_snapshot(con, "20240102T000000Z_bbbbbb", root, packs=PACKS)
    assert _folders(root) == ["20240101T000000Z_aaaaaa", "CURRENT"]
    assert current_snapshot(root).run_id == "20240101T000000Z_aaaaaa"


def test_the_newest_three_are_kept_and_a_reader_keeps_the_one_it_holds(con, tmp_path):
    root = tmp_path / "snapshots"
    _publish(con, "20240101T000000Z_aaaaaa", root)
    held = current_snapshot(root)
    frame = held.table("episodes")
    ids = ["20240102T000000Z_bbbbbb", "20240103T000000Z_cccccc", "20240104T000000Z_dddddd"]
    _publish(con, ids[0], root, episodes=5)
    # The reader still reads its own run, newer ones published meanwhile.
    assert current_snapshot(root).run_id == ids[0]
    assert held.table("episodes") is frame
    assert len(held.table("metric_series")) == 1  # a table it had not read yet
    assert len(current_snapshot(root).table("episodes")) == 5
    for run_id in ids[1:]:
        _publish(con, run_id, root)
    assert _folders(root) == [*ids, "CURRENT"]
    assert current_snapshot(root).run_id == ids[-1]


def test_publishing_a_run_again_makes_a_new_folder_and_never_changes_one(con, tmp_path):
    root = tmp_path / "snapshots"
    first = _publish(con, "20240101T000000Z_aaaaaa", root)
    held = current_snapshot(root)
    again = publish_current_run(con, root)  # the packs the run recorded, from the shipped ones
    assert again == root / "20240101T000000Z_aaaaaa.2"
    snap = current_snapshot(root)
    assert (snap.run_id, snap.path) == ("20240101T000000Z_aaaaaa", again)
    assert held.path == first and (first / "manifest.json").exists()
    assert snap != held


def test_a_run_whose_packs_are_not_in_the_folder_is_refused(con, tmp_path):
    _fake_run(con, "20240101T000000Z_aaaaaa", versions={**VERSIONS, "stroke": "0.0.1"})
    with pytest.raises(UserError, match=r"used stroke version 0.0.1, but .* holds version"):
        publish_snapshot(con, "20240101T000000Z_aaaaaa", tmp_path / "s")
    with pytest.raises(UserError, match="no run 20990101"):
        publish_snapshot(con, "20990101T000000Z_zzzzzz", tmp_path / "s")
    assert current_snapshot(tmp_path / "s") is None


def test_publish_with_no_run_yet_is_one_sentence(con, tmp_path):
    with pytest.raises(UserError, match="no run to publish yet"):
        publish_current_run(con, tmp_path / "s")


def test_carevalue_run_prints_the_run_then_says_plainly_why_it_was_not_published(
    tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from carevalue import runs
    from carevalue.cli import app

    def run_pipeline(con, packs, rules, *, publish, **kwargs):  # the run itself, in brief
        _fake_run(con, "20240101T000000Z_aaaaaa")
        publish(con, "20240101T000000Z_aaaaaa")
        return runs.RunReport(run_id="20240101T000000Z_aaaaaa")

    monkeypatch.setattr(runs, "run_pipeline", run_pipeline)
    (tmp_path / "not-a-folder").write_text("")
    result = CliRunner().invoke(
        app,
        ["run", "--warehouse", str(tmp_path / "w.duckdb")],
        env={SNAPSHOTS_ENV: str(tmp_path / "not-a-folder"), "COLUMNS": "200"},
    )
    assert "Run 20240101T000000Z_aaaaaa" in result.output  # the run's figures first
    assert isinstance(result.exception, UserError)
    assert str(result.exception) == (
        "Publishing run 20240101T000000Z_aaaaaa as a snapshot in "
        f"{tmp_path / 'not-a-folder'} failed (File exists); nothing has been published there "
        "yet. Fix the cause and run 'carevalue publish'."
    )


# --- a real run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trust(synthetic_trust):
    return synthetic_trust(600, 11)


@pytest.mark.slow
def test_a_run_publishes_its_tables_as_they_are_in_the_warehouse(trust, tmp_path):
    from carevalue.costing import load_costing_rules
    from carevalue.runs import record_service_changes, run_pipeline
    from carevalue.synthetic.service_change import demo_service_changes

    con = connect(str(trust.warehouse_copy(tmp_path)))
    record_service_changes(con, demo_service_changes(trust.extract))
    root = tmp_path / "snapshots"
    report = run_pipeline(
        con,
        PACKS,
        load_costing_rules("synthetic"),
        publish=lambda con, run_id: publish_snapshot(con, run_id, root, packs=PACKS),
    )
    snap = current_snapshot(root)
    assert snap.run_id == report.run_id
    published = snap.manifest["tables"]
    assert not snap.has("activity_costs") and "activity_costs" in con.list_tables()
    run_tables = [n for n in con.list_tables() if n.endswith(f"__{report.run_id}")]
    expected = {n.removesuffix(f"__{report.run_id}") for n in run_tables} - {"activity_costs"}
    expected |= {"runs", "load_log", "dq_results", "service_changes", "quarantine_summary"}
    assert set(published) == expected
    for name in expected - {"quarantine_summary"}:
        rows = con.table(name).count().execute()
        assert published[name]["rows"] == rows == len(snap.table(name)), name
    quarantined = con.table("quarantine").count().execute()
    assert quarantined > 0 and snap.table("quarantine_summary")["rows"].sum() == quarantined
    assert {"raw_row", "value", "row", "patient_id"}.isdisjoint(snap.table("quarantine_summary"))

    # A sample of values, row for row: episodes and their costs by stage.
    for name, key in (("episodes", ["episode_id"]), ("episode_costs", None)):
        mine = _comparable(con.table(name).execute())
        key = key or list(mine.columns)
        theirs = _comparable(snap.table(name))
        pd.testing.assert_frame_equal(
            theirs.sort_values(key).head(50).reset_index(drop=True),
            mine.sort_values(key).head(50).reset_index(drop=True),
            check_dtype=False,
            check_exact=False,
        )
    assert snap.manifest["run"]["episodes"] == report.episodes
    assert snap.manifest["packs"] == VERSIONS


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates in one unit (Ibis gives dates in seconds, Arrow in milliseconds)."""
    dates = [c for c in frame.columns if str(frame[c].dtype).startswith("datetime64")]
    return frame.astype(dict.fromkeys(dates, "datetime64[us]"))


READER = """
import sys
from pathlib import Path
import pyarrow.parquet as pq
from carevalue.snapshots import current_snapshot
snap = current_snapshot(Path(sys.argv[1]))
names = sorted(snap.manifest["tables"])
handles = [pq.ParquetFile(snap.parquet_path(n)) for n in names]  # held open throughout
print(snap.run_id, flush=True)
sys.stdin.readline()
rows = sum(len(snap.table(n)) for n in names)
print(rows == sum(snap.manifest["tables"][n]["rows"] for n in names), flush=True)
"""


def _carevalue(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVALUE_")}
    return subprocess.run(
        [sys.executable, "-m", "carevalue", *args],
        cwd=cwd,
        env={**env, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_carevalue_run_publishes_and_a_reader_of_the_snapshot_never_blocks_the_next(
    trust, tmp_path
):
    warehouse = trust.warehouse_copy(tmp_path)
    first = _carevalue("run", "--warehouse", str(warehouse), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    root = tmp_path / "warehouse.snapshots"
    snap = current_snapshot(root)
    assert snap is not None and f"Published the run for the web app: {snap.path}" in first.stdout

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == snap.run_id
        # The warehouse file is free for writers while its snapshot is being read.
        second = _carevalue("run", "--warehouse", str(warehouse), cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        assert current_snapshot(root).run_id != snap.run_id
        republished = _carevalue("publish", "--warehouse", str(warehouse), cwd=tmp_path)
        assert republished.returncode == 0, republished.stderr
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "True"  # its snapshot still whole
    finally:
        reader.kill()
        reader.wait()
    newest = current_snapshot(root)
    assert newest.path.name == f"{newest.run_id}.2"
    assert _folders(root) == sorted([snap.run_id, newest.run_id, newest.path.name, "CURRENT"])


# --- Spark --------------------------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.slow
def test_a_snapshot_of_a_spark_warehouse_is_the_same_parquet(spark_backend, tmp_path):
    con = spark_backend
    try:
        run_id = "20240101T000000Z_SpArK1"  # Spark lists its tables in lower case
        _fake_run(con, run_id)
        snap = current_snapshot(publish_snapshot(con, run_id, tmp_path, packs=PACKS).parent)
        assert set(snap.manifest["tables"]) == {
            "episodes",
            "episode_costs",
            "metric_series",
            "runs",
            "load_log",
            "dq_results",
            "quarantine_summary",
        }
        episodes = snap.table("episodes")
        assert len(episodes) == 3 and str(episodes["index_at"].dtype).startswith("datetime64")
        summary = snap.table("quarantine_summary")
        assert summary["rows"].sum() == len(_quarantine())
        assert NHS_NUMBER not in summary.to_csv()
        problems = dict(zip(summary["column"].fillna("-"), summary["problem"], strict=False))
        assert problems["death_date"] == "is before birth_date"
    finally:
        for name in con.list_tables():
            con.drop_table(name, force=True)


def test_snapshot_is_immutable():
    snap = Snapshot(run_id="r", path=Path("/x/r"), manifest={"tables": {}})
    with pytest.raises(AttributeError):
        snap.run_id = "other"
    assert not snap.has("episodes")
    assert snap.pack_files() == Path("/x/r/packs")
