"""Each schema rule of the feed declarations, one small table at a time."""

import numpy as np
import pyarrow as pa
import pytest

from carevalue.sources.feeds import FEEDS
from carevalue.sources.validate_rows import check_batch


def check(feed: str, **columns):
    raw = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    return check_batch(FEEDS[feed], raw, np.arange(2, 2 + raw.num_rows))


def reasons(result) -> list[str]:
    return [p.reason for p in result.problems]


BASE_PATIENT = {"patient_id": ["P1"], "birth_date": ["1950-01-01"], "sex": ["female"]}


def patient(**changes):
    return check("patients", **{**BASE_PATIENT, **{k: [v] for k, v in changes.items()}})


def test_a_good_row_is_typed_and_keeps_its_row_number():
    result = patient(imd_decile="4", death_date="2020-02-29")
    assert result.problems == []
    row = result.good.to_pylist()[0]
    assert row["imd_decile"] == 4
    assert str(row["death_date"]) == "2020-02-29"
    assert row["_row"] == 2
    assert row["_key"] == "P1"


def test_blank_required_value():
    assert reasons(patient(patient_id="  ")) == ["patient_id is blank"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("birth_date", "1950-13-01", "birth_date '1950-13-01' is not a date (expected YYYY-MM-DD)"),
        ("birth_date", "01/02/1950", "birth_date '01/02/1950' is not a date (expected YYYY-MM-DD)"),
        ("imd_decile", "four", "imd_decile 'four' is not a whole number"),
        ("imd_decile", "11", "imd_decile '11' is above 10"),
        ("imd_decile", "0", "imd_decile '0' is below 1"),
        ("sex", "M", "sex 'M' is not one of female, male, other, unknown"),
        (
            "ethnicity",
            "Q",
            "ethnicity 'Q' is not one of A, B, C, D, E, F, G, H, J, K, L, M, N, P, R, S, Z, 99",
        ),
        ("death_date", "1940-01-01", "death_date '1940-01-01' is before birth_date '1950-01-01'"),
    ],
)
def test_each_rule_names_column_value_and_reason(field, value, reason):
    result = patient(**{field: value})
    assert reasons(result) == [reason]
    assert result.good.num_rows == 0
    assert result.bad_rows.column(field).to_pylist() == [value]


def test_allowed_values_match_ignoring_case_and_are_stored_as_declared():
    result = patient(sex="Female", ethnicity="z")
    assert result.problems == []
    assert result.good.column("sex").to_pylist() == ["female"]
    assert result.good.column("ethnicity").to_pylist() == ["Z"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-01T10:15:00", "2019-03-01 10:15:00"),
        ("2019-03-01 10:15:00", "2019-03-01 10:15:00"),
        ("2019-03-01T10:15", "2019-03-01 10:15:00"),
        ("2019-03-01", "2019-03-01 00:00:00"),
        ("2019-03-01T10:15:00.250Z", "2019-03-01 10:15:00"),
    ],
)
def test_timestamps_accept_iso_8601_variants(text, expected):
    result = check(
        "activities",
        activity_id=["A1"],
        patient_id=["P1"],
        activity_type=["imaging"],
        start_at=[text],
    )
    assert result.problems == []
    assert str(result.good.column("start_at")[0].as_py()) == expected


@pytest.mark.parametrize(
    "text", ["2019-13-01", "2019-02-30T10:00:00", "yesterday", "2019-03-01T25:00:00"]
)
def test_impossible_timestamps_are_problems(text):
    result = check(
        "activities",
        activity_id=["A1"],
        patient_id=["P1"],
        activity_type=["imaging"],
        start_at=[text],
    )
    assert reasons(result) == [
        f"start_at '{text}' is not a date-time (expected YYYY-MM-DDTHH:MM:SS, local time)"
    ]


def test_end_before_start_is_a_problem_on_the_end_column():
    result = check(
        "encounters",
        encounter_id=["E1"],
        patient_id=["P1"],
        setting=["inpatient"],
        start_at=["2020-01-02T10:00:00"],
        end_at=["2020-01-01T10:00:00"],
    )
    assert [(p.column, p.reason) for p in result.problems] == [
        ("end_at", "end_at '2020-01-01T10:00:00' is before start_at '2020-01-02T10:00:00'")
    ]


def test_numbers_and_negative_minimum():
    result = check(
        "activities",
        activity_id=["A1", "A2", "A3"],
        patient_id=["P1"] * 3,
        activity_type=["therapy"] * 3,
        start_at=["2020-01-01"] * 3,
        minutes=["12.5", "-3", "1e2"],
    )
    assert reasons(result) == ["minutes '-3' is below 0"]
    assert result.good.column("minutes").to_pylist() == [12.5, 100.0]


def test_json_items_must_be_an_object():
    result = check(
        "prom_responses",
        response_id=["R1", "R2", "R3"],
        patient_id=["P1"] * 3,
        instrument=["mRS"] * 3,
        collected_at=["2020-01-01"] * 3,
        items=['{"mrs": 2}', "[1, 2]", "{mrs: 2"],
    )
    assert [p.row for p in result.problems] == [3, 4]
    assert result.problems[0].reason == "items '[1, 2]' is not a JSON object"


def test_pattern_rule_for_ledger_period():
    result = check(
        "ledger",
        period=["2020-01", "2020-13", "Jan-20"],
        cost_centre=["C"] * 3,
        expense_code=["E1", "E2", "E3"],
        expense_type=["pay"] * 3,
        amount=["1", "2", "3"],
    )
    assert reasons(result) == [
        "period '2020-13' is not a month written YYYY-MM",
        "period 'Jan-20' is not a month written YYYY-MM",
    ]


def test_several_problems_in_one_row_are_all_reported_and_the_row_counted_once():
    result = patient(sex="X", imd_decile="99", birth_date="nope")
    assert len(result.problems) == 3
    assert result.bad_rows.num_rows == 1
    assert {p.row for p in result.problems} == {2}


def test_extra_columns_are_kept_as_text_and_absent_optional_columns_are_null():
    result = check(
        "activities",
        activity_id=["A1"],
        patient_id=["P1"],
        activity_type=["theatre"],
        start_at=["2020-01-01T08:00"],
        staff_present=["5"],
    )
    assert result.good.column("staff_present").to_pylist() == ["5"]
    assert result.good.column("department").to_pylist() == [None]
    assert result.good.schema.field("minutes").type == pa.float64()


def test_composite_key_treats_blank_parts_as_equal():
    result = check(
        "observations",
        patient_id=["P1", "P1"],
        encounter_id=["", ""],
        observed_at=["2020-01-01T10:00"] * 2,
        code=["AST", "AST"],
        value_num=["1", "2"],
    )
    keys = result.good.column("_key").to_pylist()
    assert keys[0] == keys[1]
