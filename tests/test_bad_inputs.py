"""The bad-input matrix of docs/loading-an-extract.md, one test per class: each input ends
in one plain sentence naming the file, row or field and what to do, nothing is lost
(rows quarantined with reasons, counts reconcile) and the last good load or run is still
what the warehouse serves."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import TEST_KEY, TINY, write_extract, write_feed
from rich.console import Console

from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError
from carevalue.sources.feeds import FEED_ORDER
from carevalue.sources.ingest import STAGING_PREFIX, ingest_extract
from carevalue.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
KEPT = FEED_ORDER + ("quarantine", "load_log")


def load(folder: Path, con, **options):
    return ingest_extract(folder, con, key=TEST_KEY, console=Console(quiet=True), **options)


def snapshot(con) -> dict[str, pd.DataFrame]:
    """Every kept table, in a fixed row order (engines return rows in any order)."""
    frames = {name: con.table(name).execute() for name in KEPT if name in con.list_tables()}
    return {name: _ordered(frame) for name, frame in frames.items()}


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("_key", "load_id", "feed", "row", "reason") if c in frame]
    return frame.sort_values(keys).reset_index(drop=True)


def assert_unchanged(con, before: dict[str, pd.DataFrame]) -> None:
    after = snapshot(con)
    assert after.keys() == before.keys()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, check_like=True)


@pytest.fixture
def loaded(tmp_path):
    """A warehouse holding one good load of the tiny extract, and its contents."""
    con = connect("duckdb://:memory:")
    load(write_extract(tmp_path / "good"), con)
    return con, snapshot(con)


# --- file-level mistakes: refused before anything changes ----------------------------


def _rows(feed: str, **changes) -> list[dict]:
    return [{**r, **changes} for r in TINY[feed]]


def _lineage_column(folder):
    write_feed(folder, "activities", _rows("activities", _row="1"))
    return (
        f"{folder / 'activities.csv'}: column '_row' starts with '_', which CareValue keeps "
        "for lineage columns; rename it in the export or the mapping."
    )


def _case_only_twin(folder):
    write_feed(folder, "activities", _rows("activities", Department="X"))
    return (
        f"{folder / 'activities.csv'}: columns 'department' and 'Department' differ only in "
        "capitals, which the warehouse cannot keep apart; rename one of them."
    )


def _nameless_column(folder):
    path = folder / "ledger.csv"
    path.write_text(
        "".join(line.rstrip("\n") + ",\n" for line in path.read_text().splitlines(True))
    )
    return f"{path}: the header has a column with no name; name it or delete it."


def _utf16(folder):
    path = folder / "patients.csv"
    path.write_bytes(path.read_text().encode("utf-16"))
    return (
        f"{path} is UTF-16 text (what Excel calls 'Unicode Text'); save it as 'CSV UTF-8' or "
        "pass --encoding utf-16."
    )


def _zero_bytes(folder):
    (folder / "observations.csv").write_bytes(b"")
    return (
        f"{folder / 'observations.csv'} is empty; export the observations feed again with its "
        "header row."
    )


def _tab_separated(folder):
    write_feed(folder, "ledger", TINY["ledger"], delimiter="\t")
    return (
        f"{folder / 'ledger.csv'} is separated by tabs, not commas; save it as comma-separated "
        "or pass --delimiter '\\t'."
    )


def _missing_column(folder):
    write_feed(
        folder, "ledger", [{k: v for k, v in r.items() if k != "amount"} for r in TINY["ledger"]]
    )
    return (
        f"{folder / 'ledger.csv'}: required column 'amount' missing; the header has period, "
        "cost_centre, expense_code, expense_type. Add or rename the column and load again."
    )


def _folder_not_file(folder):
    (folder / "ledger.csv").unlink()
    (folder / "ledger.csv").mkdir()
    return f"{folder / 'ledger.csv'} is a folder, not a file; put the ledger feed's file there."


def _broken_parquet(folder):
    (folder / "ledger.csv").unlink()
    (folder / "ledger.parquet").write_bytes(b"PAR1 not really")
    return (
        f"{folder / 'ledger.parquet'} is not a readable Parquet file (Parquet magic bytes not "
        "found in footer. Either the file is corrupted or this is not a parquet file.); "
        "export it again."
    )


def _latin1(folder):
    path = write_feed(folder, "encounters", _rows("encounters", site="Hôpital"), encoding="latin-1")
    offset = path.read_bytes().index(b"\xf4")
    return (
        f"{path} is not valid UTF-8 text (first bad byte at offset {offset}); save it as UTF-8 "
        "or pass --encoding with the file's encoding, e.g. --encoding cp1252."
    )


@pytest.mark.parametrize(
    "make",
    [
        _lineage_column,
        _case_only_twin,
        _nameless_column,
        _utf16,
        _zero_bytes,
        _tab_separated,
        _missing_column,
        _folder_not_file,
        _broken_parquet,
        _latin1,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_file_level_mistake_is_one_sentence_and_changes_nothing(tmp_path, loaded, make):
    con, before = loaded
    folder = write_extract(tmp_path / "bad")
    expected = make(folder)
    with pytest.raises(UserError) as caught:
        load(folder, con)
    assert str(caught.value) == expected
    assert_unchanged(con, before)


def test_an_unreadable_file_is_one_sentence(tmp_path, loaded, monkeypatch):
    con, before = loaded
    folder = write_extract(tmp_path / "bad")
    locked = folder / "ledger.csv"
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(UserError) as caught:
        load(folder, con)
    assert (
        str(caught.value)
        == f"Cannot open {locked} (Permission denied); give this user read access to it."
    )
    assert_unchanged(con, before)


# --- row-level mistakes: quarantined with the reason, the rest loads ------------------


ROW_CASES = {
    "impossible date": (
        "activities",
        {"start_at": "2019-02-30T10:00:00"},
        (
            "activities.csv row 2: start_at '2019-02-30T10:00:00' is not a date-time "
            "(expected YYYY-MM-DDTHH:MM:SS, local time)"
        ),
    ),
    "day-first date": (
        "patients",
        {"birth_date": "01/03/1950"},
        "patients.csv row 2: birth_date '01/03/1950' is not a date (expected YYYY-MM-DD)",
    ),
    "negative number": (
        "activities",
        {"minutes": "-15"},
        "activities.csv row 2: minutes '-15' is below 0",
    ),
    "non-numeric number": (
        "activities",
        {"quantity": "one"},
        "activities.csv row 2: quantity 'one' is not a number",
    ),
    "infinite number": (
        "ledger",
        {"amount": "1e400"},
        "ledger.csv row 2: amount '1e400' is not a number",
    ),
    "integer too large": (
        "patients",
        {"imd_decile": "99999999999999999999"},
        "patients.csv row 2: imd_decile '99999999999999999999' is not a whole number",
    ),
}


@pytest.mark.parametrize("case", ROW_CASES, ids=list(ROW_CASES))
def test_a_bad_value_is_quarantined_with_its_row_and_the_rest_loads(tmp_path, case):
    feed, change, reason = ROW_CASES[case]
    rows = [dict(r) for r in TINY[feed]]
    rows[0].update(change)
    con = connect("duckdb://:memory:")
    report = load(write_extract(tmp_path / "x", {feed: rows}), con)
    assert report.reconciles
    counts = next(f for f in report.feeds if f.feed == feed)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_quarantined) == (
        len(rows),
        len(rows) - 1,
        1,
    )
    quarantine = con.table("quarantine").execute()
    assert list(quarantine["reason"]) == [reason]
    raw = json.loads(quarantine["raw_row"][0])
    assert all(raw[k] == v for k, v in change.items())  # the row as written, nothing lost


def test_bom_crlf_embedded_newlines_and_blank_lines_load_with_spreadsheet_row_numbers(tmp_path):
    rows = _rows("encounters")
    rows[0]["site"] = "North\nWing"  # a quoted value over two lines
    folder = write_extract(tmp_path / "x", {"encounters": rows})
    for path in folder.glob("*.csv"):
        data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        path.write_bytes(b"\xef\xbb\xbf" + data + b"\r\n   \r\n")  # BOM, CRLF, blank lines
    con = connect("duckdb://:memory:")
    report = load(folder, con)
    assert report.reconciles
    encounters = con.table("encounters").order_by("_row").execute()
    assert list(encounters["_row"]) == [2, 3, 4]  # one row per record, as a spreadsheet shows
    assert encounters["site"][0] == "North\r\nWing"
    assert "patient_id" in con.table("patients").columns  # no BOM stuck to the first name
    # A line of spaces is a row with one value: quarantined, never silently dropped.
    reasons = set(con.table("quarantine").execute()["reason"])
    assert "ledger.csv row 4: has 1 values where the header has 5" in reasons


def test_a_ten_megabyte_field_loads_whole_and_its_quarantine_entry_keeps_the_row(tmp_path):
    big = "x" * 10_000_000
    activities = _rows("activities")
    activities[0]["department"] = big
    activities[1]["code"] = big
    activities[1]["minutes"] = "-1"
    con = connect("duckdb://:memory:")
    report = load(write_extract(tmp_path / "x", {"activities": activities}), con)
    assert report.reconciles
    loaded = con.table("activities").execute().set_index("activity_id")
    assert loaded.loc["A1", "department"] == big
    entry = con.table("quarantine").execute().iloc[0]
    assert entry["reason"] == "activities.csv row 3: minutes '-1' is below 0"
    assert json.loads(entry["raw_row"])["code"] == big


def test_a_nested_parquet_column_is_kept_as_json_text(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    table = pa.table(
        {
            "period": ["2020-01"],
            "cost_centre": ["C"],
            "expense_code": ["E"],
            "expense_type": ["pay"],
            "amount": [10.0],
            "tags": [[1, 2]],
        }
    )
    pq.write_table(table, folder / "ledger.parquet")
    con = connect("duckdb://:memory:")
    load(folder, con, only=["ledger"])
    assert list(con.table("ledger").execute()["tags"]) == ["[1, 2]"]


def test_duplicate_keys_within_a_load_are_quarantined_and_across_loads_update(tmp_path, loaded):
    con, _ = loaded
    rows = _rows("ledger")
    rows.append({**rows[0], "amount": "1"})
    later = tmp_path / "later"
    write_feed(later, "ledger", rows)
    report = load(later, con, only=["ledger"])
    feed = report.feeds[0]
    assert (feed.rows_read, feed.rows_loaded, feed.rows_quarantined, feed.rows_updated) == (
        3,
        2,
        1,
        2,
    )
    assert con.table("ledger").count().execute() == 2
    reasons = con.table("quarantine").filter(lambda t: t.feed == "ledger").execute()["reason"]
    assert list(reasons) == [
        (
            "ledger.csv row 4: period+cost_centre+expense_code '2020-01\x1fCC1001\x1fPAY-NURSE' "
            "repeats "
            "row 2 (duplicate key; the first row was loaded)"
        )
    ]


def test_reingesting_the_same_extract_changes_no_data(tmp_path, loaded):
    con, before = loaded
    load(tmp_path / "good", con)
    after = snapshot(con)
    for name in FEED_ORDER + ("quarantine",):
        pd.testing.assert_frame_equal(
            after[name].drop(columns=["_load_id"], errors="ignore"),
            before[name].drop(columns=["_load_id"], errors="ignore"),
        )
    assert len(after["load_log"]) == 2 * len(before["load_log"])


def test_a_changed_pseudonymisation_key_is_refused_and_the_key_is_never_stored(tmp_path, loaded):
    con, before = loaded
    with pytest.raises(UserError) as caught:
        ingest_extract(tmp_path / "good", con, key=b"another-key-" * 4, console=Console(quiet=True))
    message = str(caught.value)
    assert message.startswith(
        "The pseudonymisation key differs from the one used for this warehouse's earlier loads "
        "(last on "
    )
    assert message.endswith(
        "so NHS-number hashes would no longer join; set CAREVALUE_PSEUDONYMISATION_KEY to the "
        "earlier "
        "key, or load into a new warehouse."
    )
    assert_unchanged(con, before)
    fingerprints = set(before["load_log"]["key_fingerprint"])
    assert len(fingerprints) == 1 and TEST_KEY.decode() not in next(iter(fingerprints))
    # Feeds without pseudonymised columns do not need the key at all.
    write_feed(tmp_path / "ledger", "ledger", TINY["ledger"])
    ingest_extract(tmp_path / "ledger", con, key=b"", only=["ledger"], console=Console(quiet=True))


def test_a_load_log_from_before_the_fingerprint_gains_the_column(tmp_path):
    con = connect("duckdb://:memory:")
    load(write_extract(tmp_path / "x"), con)
    old = con.table("load_log").drop("key_fingerprint")
    con.create_table("load_log", old.execute(), overwrite=True)
    load(tmp_path / "x", con)
    log = con.table("load_log").execute()
    assert log["key_fingerprint"].isna().sum() == len(FEED_ORDER)
    assert log["key_fingerprint"].notna().sum() == len(FEED_ORDER)


# --- a full disk ----------------------------------------------------------------------


FULL_DISK = (
    "The disk filled up while {doing}; free some space (or point TMPDIR at a larger disk) and load "
    "again: the warehouse is unchanged."
)


def test_a_full_disk_while_staging_is_one_sentence_and_changes_nothing(
    tmp_path, loaded, monkeypatch
):
    con, before = loaded

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(UserError) as caught:
        load(tmp_path / "good", con)
    doing = f"writing the staging files in {tempfile.gettempdir()}"
    assert str(caught.value) == FULL_DISK.format(doing=doing)
    monkeypatch.undo()
    assert_unchanged(con, before)


def test_a_full_disk_while_merging_rolls_back_every_feed(tmp_path, loaded, monkeypatch):
    import duckdb

    from carevalue.sources import ingest

    con, before = loaded
    calls = []
    real = ingest.replace_table

    def fill_up(con_, name, expr):
        calls.append(name)
        if len(calls) == 5:  # patients and encounters merged, then the disk fills
            raise duckdb.IOException("IO Error: Could not write file: No space left on device")
        return real(con_, name, expr)

    monkeypatch.setattr(ingest, "replace_table", fill_up)
    with pytest.raises(UserError) as caught:
        load(write_extract(tmp_path / "later", {"ledger": _rows("ledger", amount="7")}), con)
    assert str(caught.value) == FULL_DISK.format(doing="writing to the warehouse")
    assert_unchanged(con, before)


def test_a_full_disk_in_any_command_is_one_plain_line(monkeypatch, capsys):
    from carevalue import cli

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "var/warehouse.duckdb.wal")

    monkeypatch.setattr(cli, "app", full)
    with pytest.raises(SystemExit) as leaving:
        cli.main()
    assert leaving.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: The disk filled up (var/warehouse.duckdb.wal); free some space and run the command "
        "again: a load or run that did not finish changed nothing, and the previous results are "
        "still served."
    )


# --- a condition pack with a Python object tag ----------------------------------------


def test_a_pack_with_a_python_object_tag_is_refused_and_never_run(tmp_path):
    from carevalue.packs import load_packs

    folder = tmp_path / "conditions"
    shutil.copytree(shipped_conditions() / "stroke", folder / "stroke")
    pack = folder / "stroke" / "pack.yaml"
    marker = tmp_path / "ran"
    text = pack.read_text().replace(
        "  id: stroke", f'  id: !!python/object/apply:os.system ["touch {marker}"]', 1
    )
    pack.write_text(text)
    line = text.splitlines().index(f'  id: !!python/object/apply:os.system ["touch {marker}"]') + 1
    with pytest.raises(UserError) as caught:
        load_packs(folder)
    assert (
        f"stroke/pack.yaml:{line}: this is not valid YAML: could not determine a constructor for "
        "the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'" in str(caught.value)
    )
    assert not marker.exists()


# --- kill -9 during ingest and during run ----------------------------------------------


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import ibis.backends.duckdb as duckdb_backend
    from carevalue import cli

    target, when = sys.argv[1], sys.argv[2]
    for method in ("create_table", "create_view"):
        real = getattr(duckdb_backend.Backend, method)

        def patched(self, name, *args, _real=real, _method=method, **kwargs):
            # Die the way kill -9 does, inside the write that makes the work visible.
            if _method == target and name == when:
                os.kill(os.getpid(), signal.SIGKILL)
            return _real(self, name, *args, **kwargs)

        setattr(duckdb_backend.Backend, method, patched)
    sys.argv = ["carevalue", *sys.argv[3:]]
    cli.main()
    """
)


def _carevalue(*args: str, kill_at: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVALUE_")}
    command = [sys.executable, "-m", "carevalue", *args]
    if kill_at:
        command = [sys.executable, "-c", KILLER, *kill_at, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.mark.slow
def test_kill_9_during_ingest_leaves_the_previous_load_and_no_staging_files(tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    good = write_extract(tmp_path / "good")
    assert _carevalue("ingest", str(good), "--demo", "--warehouse", warehouse).returncode == 0
    con = connect(warehouse)
    before = snapshot(con)
    con.disconnect()
    later = write_extract(tmp_path / "later", {"ledger": _rows("ledger", amount="7")})
    # Killed inside the merge transaction (writing load_log, its last table)...
    killed = _carevalue(
        "ingest",
        str(later),
        "--demo",
        "--warehouse",
        warehouse,
        kill_at=("create_table", "load_log"),
    )
    assert killed.returncode == -signal.SIGKILL
    # Only dead loads' folders: a test on the other worker may be ingesting right now, and
    # its live folder is rightly kept.
    staging = [
        folder
        for folder in Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*-*")
        if not _alive(int(folder.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]))
    ]
    assert staging  # the dead load's copy of the extract is still there
    # ...the warehouse opens and still serves the previous load,
    con = connect(warehouse)
    assert_unchanged(con, before)
    con.disconnect()
    # ...and the next load clears the dead load's staging folder and loads.
    assert _carevalue("ingest", str(later), "--demo", "--warehouse", warehouse).returncode == 0
    left = set(Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*"))
    assert not left & set(staging)
    con = connect(warehouse)
    assert set(con.table("ledger").execute()["amount"]) == {7.0}


@pytest.mark.slow
def test_kill_9_during_run_leaves_the_previous_run_served(tmp_path):
    from carevalue.synthetic.generate_trust import generate_trust

    warehouse = str(tmp_path / "w.duckdb")
    generate_trust(tmp_path / "extract", 600, seed=5)
    assert (
        _carevalue(
            "ingest", str(tmp_path / "extract"), "--demo", "--warehouse", warehouse
        ).returncode
        == 0
    )
    conditions = ["--conditions", str(shipped_conditions())]
    first = _carevalue("run", "--warehouse", warehouse, *conditions)
    assert first.returncode == 0, first.stderr
    con = connect(warehouse)
    runs_before = con.table("runs").execute()
    episodes_before = con.table("episodes").execute()
    con.disconnect()
    # Killed while switching the views to the new run, inside its transaction.
    killed = _carevalue(
        "run", "--warehouse", warehouse, *conditions, kill_at=("create_view", "episodes")
    )
    assert killed.returncode == -signal.SIGKILL
    con = connect(warehouse)
    pd.testing.assert_frame_equal(con.table("runs").execute(), runs_before)
    pd.testing.assert_frame_equal(con.table("episodes").execute(), episodes_before)
    con.disconnect()
    assert _carevalue("run", "--warehouse", warehouse, *conditions).returncode == 0
