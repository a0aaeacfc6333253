"""The ingest expressions give the same answers on DuckDB and on Spark.

Every Ibis expression over patient data gets a small spec table here and runs on both
engines (the ``engine`` fixture). Later stages add their own parity tests beside these.
"""

from __future__ import annotations

import ibis
import pandas as pd

from carevalue.sources.data_quality import evaluate_checks
from carevalue.sources.merge_feed import first_row_per_key, repeated_key_quarantine, upsert
from carevalue.warehouse import replace_table


def rows(expr: ibis.Table, order: list[str]) -> list[dict]:
    frame = expr.execute().sort_values(order).reset_index(drop=True)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def put(con, name: str, frame: pd.DataFrame) -> ibis.Table:
    return con.create_table(name, ibis.memtable(frame), overwrite=True)


STAGED = pd.DataFrame(
    {"_key": ["a", "b", "a", "c", "a"], "_row": [2, 3, 4, 5, 6], "v": [1, 2, 3, 4, 5]}
)


def test_first_row_per_key(engine):
    staged = put(engine, "staged", STAGED)
    assert rows(first_row_per_key(staged), ["_key"]) == [
        {"_key": "a", "_row": 2, "v": 1},
        {"_key": "b", "_row": 3, "v": 2},
        {"_key": "c", "_row": 5, "v": 4},
    ]


def test_repeated_keys_become_quarantine_records(engine):
    staged = put(engine, "staged", STAGED)
    records = rows(
        repeated_key_quarantine(
            staged, load_id="L", feed="f", file="f.csv", file_sha256="s", key_label="id"
        ),
        ["row"],
    )
    assert [r["reason"] for r in records] == [
        "f.csv row 4: id 'a' repeats row 2 (duplicate key; the first row was loaded)",
        "f.csv row 6: id 'a' repeats row 2 (duplicate key; the first row was loaded)",
    ]


def test_upsert_replaces_by_key_and_aligns_extra_columns(engine):
    existing = put(
        engine, "existing", pd.DataFrame({"_key": ["a", "b"], "v": [1, 2], "old_extra": ["x", "y"]})
    )
    incoming = put(
        engine,
        "incoming",
        pd.DataFrame({"_key": ["b", "c"], "v": [20, 30], "new_extra": ["p", "q"]}),
    )
    merged = upsert(existing, incoming)
    assert rows(merged, ["_key"]) == [
        {"_key": "a", "v": 1, "old_extra": "x", "new_extra": None},
        {"_key": "b", "v": 20, "old_extra": None, "new_extra": "p"},
        {"_key": "c", "v": 30, "old_extra": None, "new_extra": "q"},
    ]


def test_replacing_a_table_from_an_expression_over_itself(engine):
    put(engine, "t", pd.DataFrame({"_key": ["a"], "v": [1]}))
    incoming = put(engine, "incoming", pd.DataFrame({"_key": ["a", "b"], "v": [5, 6]}))
    replace_table(engine, "t", upsert(engine.table("t"), incoming))
    assert rows(engine.table("t"), ["_key"]) == [{"_key": "a", "v": 5}, {"_key": "b", "v": 6}]


def test_data_quality_checks(engine):
    t = {
        "patients": put(
            engine,
            "patients",
            pd.DataFrame(
                {
                    "patient_id": ["P1", "P2"],
                    "nhs_number_hash": ["h1", None],
                    "nhs_number_valid": [False, None],
                }
            ),
        ),
        "encounters": put(
            engine,
            "encounters",
            pd.DataFrame(
                {
                    "encounter_id": ["E1", "E2", "E3"],
                    "patient_id": ["P1", "P2", "P9"],
                    "setting": ["inpatient", "outpatient", "inpatient"],
                    "end_at": pd.to_datetime(["2020-01-02", None, None]),
                }
            ),
        ),
        "activities": put(
            engine,
            "activities",
            pd.DataFrame(
                {
                    "activity_id": ["A1", "A2", "A3", "A4"],
                    "patient_id": ["P1", "P2", "P1", "P8"],
                    "encounter_id": ["E1", "E1", "E404", None],
                }
            ),
        ),
        "diagnoses": put(
            engine,
            "diagnoses",
            pd.DataFrame(
                {
                    "encounter_id": ["E1", "E2"],
                    "code_system": ["ICD10", "ICD10"],
                    "code": ["I63.9", "I639"],
                }
            ),
        ),
    }
    counts = {f["check_id"]: f["rows"] for f in evaluate_checks(t)}
    assert counts == {
        "encounter_without_patient": 1,
        "activity_without_encounter": 1,
        "activity_without_patient": 1,
        "activity_patient_differs_from_encounter": 1,
        "diagnosis_without_encounter": 0,
        "inpatient_without_discharge": 1,
        "diagnosis_code_with_dot": 1,
        "patient_without_nhs_number": 1,
        "nhs_number_check_digit_fails": 1,
    }


def test_whole_ingest_gives_the_same_tables_on_both_engines(engine, tiny_extract):
    from conftest import TEST_KEY
    from rich.console import Console

    from carevalue.sources.feeds import FEED_ORDER
    from carevalue.sources.ingest import ingest_extract

    report = ingest_extract(tiny_extract, engine, key=TEST_KEY, console=Console(quiet=True))
    report = ingest_extract(
        tiny_extract, engine, key=TEST_KEY, console=Console(quiet=True)
    )  # idempotent
    assert report.reconciles
    assert [f.rows_updated for f in report.feeds] == [f.rows_loaded for f in report.feeds]
    counts = {name: int(engine.table(name).count().execute()) for name in FEED_ORDER}
    assert counts == {
        "patients": 3,
        "encounters": 3,
        "diagnoses": 3,
        "activities": 3,
        "observations": 2,
        "prom_responses": 1,
        "ledger": 2,
    }
    encounters = rows(engine.table("encounters").select("encounter_id", "end_at"), ["encounter_id"])
    assert [str(r["end_at"]) for r in encounters] == [
        "2020-01-09 12:00:00",
        "None",
        "2020-03-01 09:30:00",
    ]
    findings = {f["check_id"]: f["rows"] for f in report.findings}
    assert findings["inpatient_without_discharge"] == 1
