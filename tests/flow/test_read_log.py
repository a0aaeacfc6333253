"""Reading an event log (carevalue.flow.read_log): CSV with its delimiter sniffed, XES
streamed (plain and gzipped), and a user's mistake answered in one sentence."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from carevalue.errors import UserError
from carevalue.flow.read_log import read_event_log

DATA = Path(__file__).resolve().parents[1] / "data"
COLUMNS = {"case": "case", "activity": "activity", "timestamp": "at"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_a_csv_delimiter_is_sniffed(tmp_path, delimiter):
    rows = [["case", "activity", "at", "note"], ["c1", "triage", "2024-03-01 08:00", "a, b"]]
    rows.append(["c1", "scan", "2024-03-01 08:30", ""])
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    if delimiter == ",":
        text = text.replace("a, b", '"a, b"')
    frame = read_event_log(write(tmp_path / "log.csv", text), **COLUMNS)
    assert list(frame.columns) == ["case", "activity", "at", "note"]
    assert frame["at"].tolist() == [
        pd.Timestamp("2024-03-01 08:00"),
        pd.Timestamp("2024-03-01 08:30"),
    ]
    assert frame["note"].tolist()[0] == "a, b"
    assert pd.isna(frame["note"].tolist()[1])


def test_only_empty_fields_are_missing_and_na_is_a_value(tmp_path):
    text = "case;activity;at\nNA;triage;2024-03-01 08:00\nnull;None;2024-03-01 09:00\nc3;;\n"
    frame = read_event_log(write(tmp_path / "log.csv", text), **COLUMNS, sep=";")
    assert frame["case"].tolist() == ["NA", "null", "c3"]
    assert frame["activity"].tolist()[:2] == ["triage", "None"]
    assert pd.isna(frame["activity"].iloc[2])
    assert pd.isna(frame["at"].iloc[2])


def test_the_sepsis_log_is_read_as_published():
    frame = read_event_log(
        DATA / "sepsis_cases_eventlog_first12.csv",
        case="Case ID",
        activity="Activity",
        timestamp="Complete Timestamp",
    )
    assert len(frame) == 157
    assert frame["Complete Timestamp"].iloc[0] == pd.Timestamp("2014-10-22 11:15:41")
    assert frame["Case ID"].iloc[0] == "A"


def test_timestamps_in_mixed_layouts_and_an_end_column(tmp_path):
    text = (
        "case,activity,at,until\n"
        "c1,theatre,2024-03-01T08:00:00,01/03/2024 09:30\n"
        "c1,recovery,2024/03/01 10:00:00.000,\n"
    )
    frame = read_event_log(write(tmp_path / "log.csv", text), **COLUMNS, end="until")
    assert frame["at"].tolist() == [
        pd.Timestamp("2024-03-01 08:00"),
        pd.Timestamp("2024-03-01 10:00"),
    ]
    assert frame["until"].iloc[0] == pd.Timestamp(
        "2024-01-03 09:30"
    )  # month first, as pandas reads it
    assert pd.isna(frame["until"].iloc[1])


def test_a_bad_timestamp_names_the_file_row_and_column(tmp_path):
    text = "case,activity,at\nc1,triage,2024-03-01 08:00\nc1,scan,yesterday\n"
    path = write(tmp_path / "log.csv", text)
    with pytest.raises(UserError) as caught:
        read_event_log(path, **COLUMNS)
    assert str(caught.value) == (
        f"{path} row 3, column 'at': 'yesterday' is not a date and time; "
        "write it as 2024-03-01 14:05:00."
    )


def test_offsets_mixed_across_rows_are_read_as_utc(tmp_path):
    text = "case,activity,at\nc1,a,2024-03-01T08:00:00+01:00\nc1,b,2024-03-01T08:00:00+00:00\n"
    frame = read_event_log(write(tmp_path / "log.csv", text), **COLUMNS)
    assert frame["at"].tolist() == [
        pd.Timestamp("2024-03-01 07:00", tz="UTC"),
        pd.Timestamp("2024-03-01 08:00", tz="UTC"),
    ]


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>
  <trace>
    <string key="concept:name" value="NA"/>
    <event>
      <string key="concept:name" value="ER Registration"/>
      <date key="time:timestamp" value="2014-10-22T11:15:41.000+02:00"/>
      <string key="lifecycle:transition" value="complete"/>
      <int key="Age" value="85"/>
      <list key="notes"><string key="n" value="nested, skipped"/></list>
    </event>
    <event>
      <string key="concept:name" value="ER Triage"/>
      <date key="time:timestamp" value="2014-10-22T11:27:00.000+02:00"/>
      <string key="lifecycle:transition" value="complete"/>
    </event>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="CRP"/>
      <date key="time:timestamp" value="2014-10-22T11:27:00.000+02:00"/>
    </event>
    <string key="concept:name" value="B"/>
  </trace>
</log>
"""


def test_xes_events_with_their_trace_in_file_order(tmp_path):
    frame = read_event_log(write(tmp_path / "log.xes", XES))
    assert list(frame.columns) == [
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "lifecycle:transition",
        "Age",
    ]
    assert frame["case:concept:name"].tolist() == ["NA", "NA", "B"]
    assert frame["concept:name"].tolist() == ["ER Registration", "ER Triage", "CRP"]
    assert frame["time:timestamp"].iloc[0] == pd.Timestamp("2014-10-22 09:15:41", tz="UTC")
    assert frame["lifecycle:transition"].tolist()[:2] == ["complete", "complete"]
    assert pd.isna(frame["lifecycle:transition"].iloc[2])
    assert frame["Age"].iloc[0] == "85"


def test_gzipped_xes_and_named_columns(tmp_path):
    path = tmp_path / "log.xes.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(XES)
    frame = read_event_log(
        path, case="case:concept:name", activity="lifecycle:transition", timestamp="time:timestamp"
    )
    assert len(frame) == 3


def test_malformed_xes_names_the_line(tmp_path):
    path = write(tmp_path / "log.xes", XES.replace("</trace>\n  <trace>", "</trace>\n  <trace"))
    with pytest.raises(UserError) as caught:
        read_event_log(path)
    assert str(caught.value) == (
        f"{path} cannot be read as XES: not well-formed (invalid token) at line 21, column 4."
    )


def test_xes_with_no_events(tmp_path):
    path = write(tmp_path / "log.xes", '<log xmlns="http://www.xes-standard.org/"></log>')
    with pytest.raises(UserError, match="holds no events"):
        read_event_log(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(UserError) as caught:
        read_event_log(tmp_path / "nowhere.csv", **COLUMNS)
    assert str(caught.value) == (
        f"{tmp_path / 'nowhere.csv'} is not a file; give the path of the event log (CSV or XES)."
    )
    with pytest.raises(UserError, match="is empty; give an event log with a header row"):
        read_event_log(write(tmp_path / "empty.csv", ""), **COLUMNS)
    with pytest.raises(UserError, match="has a header but no events"):
        read_event_log(write(tmp_path / "header.csv", "case,activity,at\n"), **COLUMNS)


def test_a_missing_column_lists_the_columns_there_are(tmp_path):
    path = write(tmp_path / "log.csv", "case,activity,when\nc1,a,2024-03-01\n")
    with pytest.raises(UserError) as caught:
        read_event_log(path, **COLUMNS)
    assert str(caught.value) == f"{path} has no column 'at'; its columns are case, activity, when."


def test_a_wrong_delimiter_is_suggested_when_one_column_is_all_there_is(tmp_path):
    path = write(tmp_path / "log.csv", "case;activity;at\nc1;a;2024-03-01\n")
    with pytest.raises(UserError, match="Is the delimiter right"):
        read_event_log(path, **COLUMNS, sep=",")


def test_a_csv_needs_its_columns_named(tmp_path):
    path = write(tmp_path / "log.csv", "case,activity,at\nc1,a,2024-03-01\n")
    with pytest.raises(UserError, match="name its --case, --timestamp columns"):
        read_event_log(path, activity="activity")


def test_xes_never_reads_an_external_entity(tmp_path):
    secret = write(tmp_path / "secret.txt", "SECRET")
    path = write(
        tmp_path / "log.xes",
        f'<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<log><trace><event><string key="concept:name" value="&x;"/>'
        '<date key="time:timestamp" value="2024-01-01T00:00:00"/></event></trace></log>\n',
    )
    with pytest.raises(UserError, match="reference to external entity") as caught:
        read_event_log(path)
    assert "SECRET" not in str(caught.value)
