"""CSV exports are safe to open in a spreadsheet: carevalue.csv_export cell by cell, and the
rule that every CSV CareValue writes as an export goes through it. The end-to-end check (a
hostile site and department name through ingest, a run and both reports' --csv) is in
tests/test_exports.py."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carevalue.csv_export import FORMULA_STARTS, neutralise_cell, neutralise_formulae, write_csv

SRC = Path(__file__).resolve().parents[1] / "src" / "carevalue"


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        (
            '=HYPERLINK("http://example.invalid","click")',
            '\'=HYPERLINK("http://example.invalid","click")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # Text that looks like a negative number is still text (module docstring).
        ("-3.5", "'-3.5"),
        ("=", "'="),
    ],
)
def test_text_a_spreadsheet_would_run_gains_a_leading_quote(text, safe):
    assert neutralise_cell(text) == safe


@pytest.mark.parametrize(
    "text",
    ["North", "", " =1+1", "a=b", "3-2", "'quoted", "E-mail", "stroke (I63.9)", "£1,000", "\n=1"],
)
def test_other_text_is_left_alone(text):
    # Only the first character counts, and only the six of FORMULA_STARTS.
    assert neutralise_cell(text) == text


@pytest.mark.parametrize(
    "value",
    [
        -1,
        -1.5,
        0,
        2.25,
        np.int64(-3),
        np.float64(-0.5),
        Decimal("-12.50"),
        True,
        False,
        None,
        np.nan,
        pd.NA,
        pd.Timestamp("2020-01-01"),
        b"=bytes",
    ],
)
def test_numbers_and_other_values_are_left_alone(value):
    out = neutralise_cell(value)
    assert out is value or (isinstance(value, float) and np.isnan(out))


def test_a_frame_is_neutralised_column_by_column_and_the_input_kept():
    frame = pd.DataFrame(
        {
            "site": ['=HYPERLINK("x")', "North", None, "-5"],
            "value": [-1.5, 2.0, np.nan, -3.0],
            "n": [-3, 4, 5, 6],
            "shown": [True, False, True, False],
            "mixed": [-3, "@me", None, "ok"],
            "group": pd.Categorical(["+a", "b", "b", "c"]),
            "month": pd.to_datetime(["2020-01-01"] * 4),
            "=oops": ["x"] * 4,
        },
        index=[10, 11, 12, 13],
    )
    before = frame.copy()
    out = neutralise_formulae(frame)
    assert out["site"].tolist()[:2] == ['\'=HYPERLINK("x")', "North"] and pd.isna(
        out["site"].iloc[2]
    )
    assert out["site"].iloc[3] == "'-5"
    assert out["mixed"].tolist()[:2] == [-3, "'@me"] and out["mixed"].iloc[3] == "ok"
    assert out["group"].tolist() == ["'+a", "b", "b", "c"]
    assert list(out.columns) == ["site", "value", "n", "shown", "mixed", "group", "month", "'=oops"]
    assert list(out.index) == [10, 11, 12, 13]
    # Numbers, booleans and dates are untouched, with their types.
    for column in ("value", "n", "shown", "month"):
        pd.testing.assert_series_equal(out[column], frame[column])
    pd.testing.assert_frame_equal(frame, before)


def test_write_csv_reads_back_with_no_cell_a_spreadsheet_would_run(tmp_path):
    frame = pd.DataFrame(
        {"site": ["=1+1", "North, upper", "line\nbreak"], "cost": [-10.5, 3.0, np.nan]}
    )
    path = write_csv(frame, tmp_path / "report.csv")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["site", "cost"],
        ["'=1+1", "-10.5"],
        ["North, upper", "3.0"],
        ["line\nbreak", ""],
    ]
    for row in rows:
        assert not any(cell.startswith(FORMULA_STARTS) and not _number(cell) for cell in row)


def test_an_empty_frame_writes_its_header():
    assert list(neutralise_formulae(pd.DataFrame({"a": [], "+b": []})).columns) == ["a", "'+b"]
    assert neutralise_formulae(pd.DataFrame()).shape == (0, 0)


def test_every_csv_export_in_the_package_goes_through_the_one_helper():
    """Only the helper writes CSV itself; exports call it. The one other writer is the
    synthetic trust's feeds, input for ingest rather than an export, whose docstring says
    why it is not neutralised."""
    direct = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|CSVWriter\(")
    sources = {
        path.relative_to(SRC).as_posix(): path.read_text(encoding="utf-8")
        for path in SRC.rglob("*.py")
    }
    assert {name for name, text in sources.items() if direct.search(text)} == {
        "csv_export.py",
        "synthetic/writer.py",
    }
    assert any("write_csv(" in text for name, text in sources.items() if name != "csv_export.py")
    assert "carevalue.csv_export" in sources["synthetic/writer.py"]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
