"""Ingest end to end on a tiny extract: reconciliation, idempotence, updates, quarantine,
pseudonymisation and every file-level mistake with its exact message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import NHS_NUMBERS, TEST_KEY, TINY, write_extract, write_feed
from rich.console import Console

from carevalue.errors import UserError
from carevalue.sources.feeds import FEED_ORDER
from carevalue.sources.ingest import ingest_extract
from carevalue.warehouse import connect

# An excerpt of the Sepsis Cases event log kept in tests/data (README there cites it).
SEPSIS_LOG = Path(__file__).parent / "data" / "sepsis_cases_eventlog_first12.csv"
LINEAGE = ["_load_id", "_source_file"]


def load(folder: Path, con=None, **options):
    con = con or connect("duckdb://:memory:")
    report = ingest_extract(folder, con, key=TEST_KEY, console=Console(quiet=True), **options)
    return con, report


def table(con, name: str) -> pd.DataFrame:
    frame = con.table(name).execute()
    frame = frame.drop(columns=[c for c in LINEAGE if c in frame])
    order = ["_key"] if "_key" in frame else ["feed", "row", "reason"]
    return frame.sort_values(order).reset_index(drop=True)


def test_clean_extract_loads_every_row(tiny_extract):
    con, report = load(tiny_extract)
    counts = {f.feed: (f.rows_read, f.rows_loaded, f.rows_quarantined) for f in report.feeds}
    assert counts == {feed: (len(TINY[feed]), len(TINY[feed]), 0) for feed in FEED_ORDER}
    assert report.reconciles
    assert set(FEED_ORDER) | {"quarantine", "dq_results", "load_log"} <= set(con.list_tables())


def test_loading_the_same_extract_twice_leaves_the_same_data(tiny_extract):
    con, _ = load(tiny_extract)
    before = {name: table(con, name) for name in FEED_ORDER + ("quarantine",)}
    _, second = load(tiny_extract, con)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(table(con, name), frame)
    assert [f.rows_updated for f in second.feeds] == [len(TINY[f]) for f in FEED_ORDER]
    assert all(f.rows_new == 0 for f in second.feeds)
    assert con.table("load_log").count().execute() == 2 * len(FEED_ORDER)


def test_a_later_extract_updates_by_key_and_adds_new_keys(tmp_path, tiny_extract):
    con, _ = load(tiny_extract)
    later = tmp_path / "later"
    died = {**TINY["patients"][0], "death_date": "2022-06-30"}
    new = {**TINY["patients"][2], "patient_id": "P4", "nhs_number": ""}
    write_feed(later, "patients", [died, new])
    _, report = load(later, con, only=["patients"])
    assert (report.feeds[0].rows_new, report.feeds[0].rows_updated) == (1, 1)
    patients = table(con, "patients").set_index("patient_id")
    assert list(patients.index) == ["P1", "P2", "P3", "P4"]
    assert str(patients.loc["P1", "death_date"].date()) == "2022-06-30"
    assert pd.isna(patients.loc["P2", "death_date"]) is False  # untouched


def test_bad_rows_are_quarantined_with_file_row_column_value_and_reason(tmp_path):
    rows = [dict(r) for r in TINY["activities"]]
    rows[1]["start_at"] = "2019-13-01"
    rows.append(dict(rows[0]))  # a duplicate of the first row's key
    folder = write_extract(tmp_path / "x", {"activities": rows})
    con, report = load(folder)
    activities = next(f for f in report.feeds if f.feed == "activities")
    assert (activities.rows_read, activities.rows_loaded, activities.rows_quarantined) == (4, 2, 2)
    assert report.reconciles
    quarantine = (
        con.table("quarantine").filter(lambda t: t.feed == "activities").order_by("row").execute()
    )
    assert list(quarantine["reason"]) == [
        (
            "activities.csv row 3: start_at '2019-13-01' is not a date-time "
            "(expected YYYY-MM-DDTHH:MM:SS, local time)"
        ),
        (
            "activities.csv row 5: activity_id 'A1' repeats row 2 "
            "(duplicate key; the first row was loaded)"
        ),
    ]
    assert list(quarantine["column"]) == ["start_at", "activity_id"]
    assert list(quarantine["value"]) == ["2019-13-01", "A1"]
    assert '"activity_id": "A2"' in quarantine["raw_row"][0]  # nothing is lost


def test_a_row_with_the_wrong_number_of_values_is_quarantined_not_fatal(tmp_path):
    folder = write_extract(tmp_path / "x")
    path = folder / "observations.csv"
    lines = path.read_text().splitlines()
    lines.insert(2, "P1,E1,2020-01-02T10:00:00,NIHSS,5")  # five values, header has seven
    path.write_text("\n".join(lines) + "\n")
    con, report = load(folder)
    obs = next(f for f in report.feeds if f.feed == "observations")
    assert (obs.rows_read, obs.rows_loaded, obs.rows_quarantined) == (3, 2, 1)
    reasons = con.table("quarantine").filter(lambda t: t.feed == "observations").execute()["reason"]
    assert list(reasons) == ["observations.csv row 3: has 5 values where the header has 7"]
    rows = con.table("observations").order_by("_row").execute()["_row"]
    assert list(rows) == [2, 4]


def test_orphans_are_reported_as_findings_and_kept(tmp_path):
    rows = [dict(r) for r in TINY["activities"]]
    rows[2]["encounter_id"] = "E404"
    folder = write_extract(tmp_path / "x", {"activities": rows})
    con, report = load(folder)
    findings = {f["check_id"]: f for f in report.findings}
    assert findings["activity_without_encounter"]["rows"] == 1
    assert findings["activity_without_encounter"]["examples"] == "A3"
    assert findings["inpatient_without_discharge"]["rows"] == 1
    assert findings["encounter_without_patient"]["rows"] == 0
    assert con.table("activities").count().execute() == 3
    stored = con.table("dq_results").execute().set_index("check_id")
    assert stored.loc["activity_without_encounter", "rows"] == 1


def test_no_nhs_number_is_stored_anywhere_in_the_warehouse_file(tmp_path):
    patients = [dict(r) for r in TINY["patients"]]
    patients[2]["sex"] = "Q"  # quarantined: its raw row must not hold the number either
    patients.append(
        {**patients[0], "patient_id": "P9", "nhs_number": "943 476 5920"}
    )  # bad check digit
    folder = write_extract(tmp_path / "x", {"patients": patients})
    path = folder / "patients.csv"
    path.write_text(path.read_text() + "P10,9990000034,1950-01-01\n")  # malformed: 3 values
    warehouse = tmp_path / "w.duckdb"
    con = connect(str(warehouse))
    _, report = load(folder, con)
    assert report.reconciles
    con.disconnect()
    blob = warehouse.read_bytes()
    for number in NHS_NUMBERS + ["9434765920", "9990000034"]:
        assert number.encode() not in blob
        assert number.encode("utf-16-le") not in blob
    con = connect(str(warehouse))
    patients = con.table("patients").execute().set_index("patient_id")
    assert patients.loc["P1", "nhs_number_hash"] != patients.loc["P2", "nhs_number_hash"]
    assert len(patients.loc["P1", "nhs_number_hash"]) == 64
    assert "nhs_number" not in patients.columns
    assert not patients.loc["P9", "nhs_number_valid"]
    findings = con.table("dq_results").execute().set_index("check_id")
    assert findings.loc["nhs_number_check_digit_fails", "rows"] == 1


def test_any_column_order_and_extra_columns_are_kept(tmp_path):
    rows = [{"ward_code": "W1", **{k: r[k] for k in reversed(list(r))}} for r in TINY["activities"]]
    folder = write_extract(tmp_path / "x", {"activities": rows})
    con, _ = load(folder)
    loaded = con.table("activities").execute()
    assert list(loaded["ward_code"]) == ["W1"] * 3
    assert sorted(loaded["activity_id"]) == ["A1", "A2", "A3"]


def test_parquet_feeds_load_like_csv(tmp_path, tiny_extract):
    folder = tmp_path / "pq"
    shutil.copytree(tiny_extract, folder)
    for feed in ("activities", "patients"):
        csv_path = folder / f"{feed}.csv"
        pq.write_table(
            pacsv.read_csv(
                csv_path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
            ),
            folder / f"{feed}.parquet",
        )
        csv_path.unlink()
    con_pq, report = load(folder)
    con_csv, _ = load(tiny_extract)
    assert report.reconciles
    for feed in ("activities", "patients"):
        pd.testing.assert_frame_equal(
            table(con_pq, feed).drop(columns="_row"),
            table(con_csv, feed).drop(columns="_row"),
            check_dtype=False,
        )


# --- file-level mistakes: one sentence, naming the file and the fix ----------------------


def error_of(folder: Path, **options) -> str:
    with pytest.raises(UserError) as caught:
        load(folder, **options)
    return str(caught.value)


def test_missing_file(tiny_extract):
    (tiny_extract / "ledger.csv").unlink()
    assert error_of(tiny_extract) == (
        f"No ledger feed in {tiny_extract}: expected ledger.csv or ledger.parquet "
        "(use --only to load fewer feeds)."
    )


def test_missing_required_column(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "start_at"} for r in TINY["encounters"]]
    folder = write_extract(tmp_path / "x", {"encounters": rows})
    assert error_of(folder) == (
        f"{folder / 'encounters.csv'}: required column 'start_at' missing; "
        "the header has encounter_id, patient_id, setting, admission_method, end_at, site, "
        "specialty, discharge_destination. Add or rename the column and load again."
    )


def test_empty_file(tiny_extract):
    (tiny_extract / "diagnoses.csv").write_bytes(b"")
    assert error_of(tiny_extract) == (
        f"{tiny_extract / 'diagnoses.csv'} is empty; "
        "export the diagnoses feed again with its header row."
    )


def test_wrong_delimiter(tmp_path):
    folder = write_extract(tmp_path / "x")
    write_feed(folder, "patients", TINY["patients"], delimiter=";")
    assert error_of(folder) == (
        f"{folder / 'patients.csv'} is separated by semicolons, not commas; "
        "save it as comma-separated or pass --delimiter ';'."
    )


def test_the_delimiter_option_reads_a_semicolon_file(tmp_path):
    folder = tmp_path / "x"
    write_feed(folder, "patients", TINY["patients"], delimiter=";")
    _, report = load(folder, only=["patients"], delimiter=";")
    assert report.feeds[0].rows_loaded == 3


def test_unreadable_encoding_names_the_first_bad_byte(tmp_path):
    folder = write_extract(tmp_path / "x")
    rows = [dict(r) for r in TINY["encounters"]]
    rows[0]["site"] = "Hôpital Nord"
    path = write_feed(folder, "encounters", rows, encoding="latin-1")
    offset = path.read_bytes().index(b"\xf4")
    assert error_of(folder) == (
        f"{path} is not valid UTF-8 text (first bad byte at offset {offset}); "
        "save it as UTF-8 or pass --encoding with the file's encoding, e.g. --encoding cp1252."
    )
    con, _report = load(folder, only=["encounters"], encoding="latin-1")
    assert "Hôpital Nord" in set(con.table("encounters").execute()["site"])


def test_a_real_semicolon_separated_hospital_event_log_is_refused_plainly(tmp_path):
    # The Sepsis Cases event log (Mannhardt 2016, 4TU.ResearchData) is semicolon separated.
    folder = tmp_path / "sepsis"
    folder.mkdir()
    shutil.copy(SEPSIS_LOG, folder / "activities.csv")
    message = error_of(folder, only=["activities"])
    assert message == (
        f"{folder / 'activities.csv'} is separated by semicolons, not commas; "
        "save it as comma-separated or pass --delimiter ';'."
    )
    # Read with the right delimiter it is still not an activities feed, and says so.
    assert "required columns 'activity_id', 'patient_id'" in error_of(
        folder, only=["activities"], delimiter=";"
    )


def test_a_failed_load_leaves_the_warehouse_as_it_was(tmp_path, tiny_extract):
    con, _ = load(tiny_extract)
    before = table(con, "patients")
    broken = write_extract(
        tmp_path / "broken", {"patients": [{**TINY["patients"][0], "sex": "male"}]}
    )
    (broken / "ledger.csv").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(UserError):
        load(broken, con)
    pd.testing.assert_frame_equal(table(con, "patients"), before)


def test_header_only_file_loads_nothing_and_is_not_an_error(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "prom_responses.csv").write_text(
        "response_id,patient_id,instrument,collected_at,items,mode\n"
    )
    con, report = load(folder, only=["prom_responses"])
    assert (report.feeds[0].rows_read, report.feeds[0].rows_loaded) == (0, 0)
    assert con.table("prom_responses").count().execute() == 0
