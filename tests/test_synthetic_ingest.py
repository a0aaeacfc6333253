"""The synthetic trust through ingest: the generator knows every fault it injected, so
the load must quarantine, load and flag exactly those rows."""

from __future__ import annotations

import csv

import pytest
from conftest import TEST_KEY
from rich.console import Console

from carevalue.sources.ingest import ingest_extract
from carevalue.synthetic.generate_trust import generate_trust
from carevalue.warehouse import connect


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust")
    manifest = generate_trust(folder, 6_000, seed=11)
    con = connect(str(folder / "warehouse.duckdb"))
    report = ingest_extract(folder, con, key=TEST_KEY, console=Console(quiet=True))
    return manifest, report, con, folder


def test_rows_read_loaded_and_quarantined_match_the_generator_exactly(loaded):
    manifest, report, *_ = loaded
    assert report.reconciles
    for feed in report.feeds:
        assert feed.rows_read == manifest["rows"][feed.feed], feed.feed
        assert feed.rows_quarantined == manifest["quarantine_expected"][feed.feed], feed.feed
        assert feed.rows_loaded == manifest["loaded_expected"][feed.feed], feed.feed


def test_every_injected_invalid_row_has_a_reason_naming_its_column(loaded):
    manifest, _, con, _ = loaded
    quarantine = con.table("quarantine").execute()
    for feed, faults in manifest["faults"].items():
        for name, fault in faults.items():
            if fault["handling"] != "quarantine":
                continue
            column = fault["column"]
            hits = quarantine[
                (quarantine.feed == feed) & (quarantine.column.str.contains(column, regex=False))
            ]
            assert len(hits) >= fault["rows"], f"{feed}.{name}"
            assert hits.reason.str.startswith(f"{feed}.csv row ").all()


def test_findings_count_the_flagged_faults_and_the_orphans_quarantine_leaves(loaded):
    manifest, report, *_ = loaded
    found = {f["check_id"]: f["rows"] for f in report.findings}
    children = manifest["children_of_quarantined_rows"]
    orphans = manifest["faults"]["activities"]["orphan_encounter"]["rows"]
    assert (
        found["activity_without_encounter"]
        == orphans + children["encounters.end_before_start"]["activities"]
    )
    assert found["activity_without_patient"] == children["patients.invalid"]["activities"]
    assert found["encounter_without_patient"] == children["patients.invalid"]["encounters"]
    assert found["observation_without_patient"] == children["patients.invalid"]["observations"]
    assert (
        found["diagnosis_without_encounter"] == children["encounters.end_before_start"]["diagnoses"]
    )
    assert found["diagnosis_code_with_dot"] > 0
    missing = manifest["faults"]["encounters"]["missing_discharge"]["rows"]
    assert (
        missing
        <= found["inpatient_without_discharge"]
        <= missing + manifest["open_at_cutoff"]["encounters"]
    )


def test_no_nhs_number_from_the_synthetic_trust_reaches_the_warehouse(loaded):
    _, _, con, folder = loaded
    with (folder / "patients.csv").open() as handle:
        numbers = [row["nhs_number"] for row in csv.DictReader(handle) if row["nhs_number"]]
    assert len(numbers) > 5_000
    con.disconnect()
    blob = (folder / "warehouse.duckdb").read_bytes()
    assert not [n for n in numbers[:2_000] if n.encode() in blob]
