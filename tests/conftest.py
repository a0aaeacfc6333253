"""Shared fixtures: a tiny hand-written extract, and the engine-parity harness.

The ``engine`` fixture runs a test once on DuckDB and once on a local PySpark session.
Where Java 17 or PySpark is missing the Spark run is skipped with a reason that says
so (``pytest -ra`` prints it); CI installs Java so both always run there.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from carevalue.warehouse import java_major_version

TEST_KEY = b"test-key-for-pseudonymisation-0123456789"

# A valid NHS number (Modulus 11), the NHS's own published example, and two from the
# 999 range reserved for testing.
NHS_NUMBERS = ["9434765919", "9990000018", "9990000026"]

TINY = {
    "patients": [
        {
            "patient_id": "P1",
            "nhs_number": NHS_NUMBERS[0],
            "birth_date": "1950-03-01",
            "sex": "female",
            "ethnicity": "A",
            "imd_decile": "3",
            "death_date": "",
        },
        {
            "patient_id": "P2",
            "nhs_number": NHS_NUMBERS[1],
            "birth_date": "1962-11-20",
            "sex": "male",
            "ethnicity": "J",
            "imd_decile": "7",
            "death_date": "2021-05-02",
        },
        {
            "patient_id": "P3",
            "nhs_number": NHS_NUMBERS[2],
            "birth_date": "1980-07-15",
            "sex": "female",
            "ethnicity": "Z",
            "imd_decile": "",
            "death_date": "",
        },
    ],
    "encounters": [
        {
            "encounter_id": "E1",
            "patient_id": "P1",
            "setting": "inpatient",
            "admission_method": "emergency",
            "start_at": "2020-01-01T10:00:00",
            "end_at": "2020-01-09T12:00:00",
            "site": "North",
            "specialty": "stroke medicine",
            "discharge_destination": "home",
        },
        {
            "encounter_id": "E2",
            "patient_id": "P2",
            "setting": "inpatient",
            "admission_method": "transfer",
            "start_at": "2020-02-01T08:00:00",
            "end_at": "",
            "site": "South",
            "specialty": "cardiology",
            "discharge_destination": "",
        },
        {
            "encounter_id": "E3",
            "patient_id": "P3",
            "setting": "outpatient",
            "admission_method": "",
            "start_at": "2020-03-01T09:00:00",
            "end_at": "2020-03-01T09:30:00",
            "site": "North",
            "specialty": "hepatology",
            "discharge_destination": "",
        },
    ],
    "diagnoses": [
        {
            "encounter_id": "E1",
            "patient_id": "P1",
            "code_system": "ICD10",
            "code": "I63.9",
            "position": "1",
            "recorded_at": "2020-01-01T12:00:00",
        },
        {
            "encounter_id": "E2",
            "patient_id": "P2",
            "code_system": "ICD10",
            "code": "I330",
            "position": "1",
            "recorded_at": "",
        },
        {
            "encounter_id": "E3",
            "patient_id": "P3",
            "code_system": "ICD10",
            "code": "B18.2",
            "position": "1",
            "recorded_at": "",
        },
    ],
    "activities": [
        {
            "activity_id": "A1",
            "patient_id": "P1",
            "encounter_id": "E1",
            "activity_type": "imaging",
            "code_system": "NICIP",
            "code": "CHEAD",
            "start_at": "2020-01-01T10:20:00",
            "end_at": "",
            "minutes": "15",
            "quantity": "1",
            "department": "Radiology",
            "cost_centre": "CC2001",
            "resource_group": "imaging",
        },
        {
            "activity_id": "A2",
            "patient_id": "P1",
            "encounter_id": "E1",
            "activity_type": "ward_stay",
            "code_system": "",
            "code": "",
            "start_at": "2020-01-01T12:00:00",
            "end_at": "2020-01-09T12:00:00",
            "minutes": "",
            "quantity": "8",
            "department": "Stroke Unit",
            "cost_centre": "CC1001",
            "resource_group": "bed",
        },
        {
            "activity_id": "A3",
            "patient_id": "P2",
            "encounter_id": "E2",
            "activity_type": "pharmacy",
            "code_system": "LOCAL",
            "code": "FLUCLOXACILLIN",
            "start_at": "2020-02-01T11:00:00",
            "end_at": "",
            "minutes": "",
            "quantity": "4",
            "department": "Pharmacy",
            "cost_centre": "CC3001",
            "resource_group": "drugs",
        },
    ],
    "observations": [
        {
            "patient_id": "P1",
            "encounter_id": "E1",
            "observed_at": "2020-01-01T10:30:00",
            "code": "NIHSS",
            "value_num": "7",
            "value_text": "",
            "unit": "score",
        },
        {
            "patient_id": "P3",
            "encounter_id": "",
            "observed_at": "2020-03-01T09:10:00",
            "code": "AST",
            "value_num": "54",
            "value_text": "",
            "unit": "U/L",
        },
    ],
    "prom_responses": [
        {
            "response_id": "R1",
            "patient_id": "P1",
            "instrument": "EQ-5D-5L",
            "collected_at": "2020-04-01T10:00:00",
            "items": '{"MO": 2, "SC": 1, "UA": 2, "PD": 2, "AD": 1, "VAS": 70}',
            "mode": "online",
        },
    ],
    "ledger": [
        {
            "period": "2020-01",
            "cost_centre": "CC1001",
            "expense_code": "PAY-NURSE",
            "expense_type": "pay",
            "amount": "125000.50",
        },
        {
            "period": "2020-01",
            "cost_centre": "CC9001",
            "expense_code": "EDU",
            "expense_type": "excluded",
            "amount": "4000",
        },
    ],
}


def write_feed(
    folder: Path, feed: str, rows: list[dict], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{feed}.csv"
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_extract(folder: Path, changes: dict[str, list[dict]] | None = None) -> Path:
    feeds = {**TINY, **(changes or {})}
    for feed, rows in feeds.items():
        write_feed(folder, feed, rows)
    return folder


@pytest.fixture
def tiny_extract(tmp_path: Path) -> Path:
    return write_extract(tmp_path / "extract")


def _spark_skip_reason() -> str | None:
    if os.environ.get("CAREVALUE_SKIP_SPARK"):
        return "CAREVALUE_SKIP_SPARK is set"
    major = java_major_version()
    if major is None or major < 17:
        return (
            "Spark parity not run: Java 17 is missing on this machine "
            f"({'no java on PATH' if major is None else f'found Java {major}'}); "
            "install openjdk-17-jre-headless to run it (CI does)."
        )
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "Spark parity not run: pyspark is not installed (pip install -e '.[spark]')."
    return None


@pytest.fixture(scope="session")
def spark_backend(tmp_path_factory):
    reason = _spark_skip_reason()
    if reason and os.environ.get("CAREVALUE_REQUIRE_SPARK"):
        pytest.fail(f"CAREVALUE_REQUIRE_SPARK is set but {reason}")
    if reason:
        pytest.skip(reason)
    import ibis

    from carevalue.warehouse import local_spark_session

    session = local_spark_session("local[1]", str(tmp_path_factory.mktemp("spark-warehouse")))
    session.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(session)
    session.stop()


@pytest.fixture(
    params=["duckdb", pytest.param("pyspark", marks=[pytest.mark.spark, pytest.mark.slow])]
)
def engine(request):
    """An empty Ibis backend: in-memory DuckDB, or the shared local Spark session."""
    if request.param == "duckdb":
        from carevalue.warehouse import connect

        yield connect("duckdb://:memory:")
        return
    backend = request.getfixturevalue("spark_backend")
    yield backend
    for name in backend.list_tables():
        backend.drop_table(name, force=True)


# --- synthetic trusts, built once per test session ------------------------------------
#
# Generating and loading a synthetic trust is the most expensive thing the suite does, and
# several modules want the same one. Each (patients, seed) trust is generated and loaded
# once per session into a folder every pytest-xdist worker can see (the parent of the
# workers' own temporary folders), under a file lock so two workers never build the same
# one twice. A test gets its own copy of the loaded warehouse file, so runs written by one
# test are never seen by another.


@dataclass(frozen=True)
class SyntheticTrust:
    extract: Path
    manifest: dict
    pristine_warehouse: Path

    def warehouse_copy(self, folder: Path) -> Path:
        """A private copy of the loaded warehouse (DuckDB file) in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "warehouse.duckdb"
        shutil.copyfile(self.pristine_warehouse, target)
        return target


@pytest.fixture(scope="session")
def synthetic_trust(tmp_path_factory):
    """``synthetic_trust(patients, seed)``: a generated and loaded trust, shared by the
    whole session (and across xdist workers)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "synthetic-trusts"
    shared.mkdir(parents=True, exist_ok=True)
    built: dict[tuple[int, int], SyntheticTrust] = {}

    def get(patients: int, seed: int) -> SyntheticTrust:
        if (patients, seed) not in built:
            built[patients, seed] = _build_trust(shared / f"{patients}-{seed}", patients, seed)
        return built[patients, seed]

    return get


def _build_trust(folder: Path, patients: int, seed: int) -> SyntheticTrust:
    from rich.console import Console

    from carevalue.sources.ingest import ingest_extract
    from carevalue.synthetic.generate_trust import generate_trust
    from carevalue.warehouse import connect

    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "built.json"
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            manifest = generate_trust(folder / "extract", patients, seed=seed)
            con = connect(str(folder / "warehouse.duckdb"))
            ingest_extract(folder / "extract", con, key=TEST_KEY, console=Console(quiet=True))
            con.disconnect()
            done.write_text(json.dumps(manifest))
        manifest = json.loads(done.read_text())
    return SyntheticTrust(folder / "extract", manifest, folder / "warehouse.duckdb")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``pytest -n 2 --dist loadgroup`` (``make test``) every Spark test on the shared
    session goes to one worker, so the suite starts one JVM, not one per worker. A test
    that names its own group keeps it (the across-processes test starts its own JVMs in
    subprocesses, so it runs beside the shared session, not after it)."""
    for item in items:
        if item.get_closest_marker("spark") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("spark"))
