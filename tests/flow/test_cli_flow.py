"""``carevalue flow``: an event log's maps as tables or JSON, and a mistake as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from carevalue import cli
from carevalue.cli import app

EXCERPT = Path(__file__).resolve().parents[1] / "data" / "sepsis_cases_eventlog_first12.csv"
SEPSIS = ["--case", "Case ID", "--activity", "Activity", "--timestamp", "Complete Timestamp"]
WIDE = {"COLUMNS": "200"}


def said(result) -> str:
    """The output with its line breaks undone (sentences wrap at the console's width)."""
    return " ".join(result.output.split())


def invoke(*args: str):
    # The command line's console takes its width from the terminal when it is imported
    # (80 columns under make); table cells would wrap in it, so the test widens it.
    width = cli.out.width
    cli.out.width = 200
    try:
        return CliRunner().invoke(app, ["flow", *args], env=WIDE)
    finally:
        cli.out.width = width


def test_the_maps_print_as_tables():
    result = invoke(str(EXCERPT), *SEPSIS, "--top", "2")
    assert result.exit_code == 0, result.output
    for title in ("Directly follows", "Start activities", "End activities", "Variants"):
        assert title in said(result)
    assert "ER Registration → ER Triage" in said(result)
    assert "No event was left out: every event has a timestamp and an activity." in said(result)


def test_json_is_one_object_with_the_maps(tmp_path):
    result = invoke(str(EXCERPT), *SEPSIS, "--json", "--top", "3", "--sep", ";")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert list(answer) == [
        "directly_follows",
        "start_activities",
        "end_activities",
        "variants",
        "left_out",
    ]
    assert sum(e["count"] for e in answer["directly_follows"]) == 157 - 12
    assert sum(a["count"] for a in answer["start_activities"]) == 12
    assert len(answer["variants"]) == 3
    assert answer["variants"][0]["activities"][0] == "ER Registration"
    assert answer["left_out"] == {"events": 0, "cases": 0}


def test_events_without_a_timestamp_are_reported(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "episode,step,at\n"
        "e1,triage,2024-03-01 08:00\n"
        "e1,scan,\n"
        "e1,ward,2024-03-01 09:00\n"
        "e2,triage,\n"
        "e3,triage,2024-03-01 08:10\n"
    )
    columns = ["--case", "episode", "--activity", "step", "--timestamp", "at"]
    result = invoke(str(log), *columns)
    assert result.exit_code == 0, result.output
    assert (
        "2 events in 2 cases were left out of the maps: they have no timestamp or no activity."
    ) in said(result)
    answer = json.loads(invoke(str(log), *columns, "--json").output)
    assert answer["left_out"] == {"events": 2, "cases": 2}
    assert answer["directly_follows"][0]["source"] == "triage"
    assert answer["directly_follows"][0]["median_wait_s"] == 3600.0


def test_an_xes_log_needs_no_column_names(tmp_path):
    log = tmp_path / "log.xes"
    log.write_text(
        '<log xmlns="http://www.xes-standard.org/"><trace>'
        '<string key="concept:name" value="c1"/>'
        '<event><string key="concept:name" value="a"/>'
        '<date key="time:timestamp" value="2024-03-01T08:00:00"/></event>'
        '<event><string key="concept:name" value="b"/>'
        '<date key="time:timestamp" value="2024-03-01T08:05:00"/></event>'
        "</trace></log>"
    )
    answer = json.loads(invoke(str(log), "--json").output)
    assert answer["directly_follows"][0]["source"] == "a"
    assert answer["variants"][0]["activities"] == ["a", "b"]


def test_a_missing_column_is_one_plain_line(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAREVALUE_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "carevalue",
            "flow",
            str(EXCERPT),
            *SEPSIS[:4],
            "--timestamp",
            "When",
        ],
        capture_output=True,
        text=True,
        env=environment | WIDE,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {EXCERPT} has no column 'When'; its columns are Case ID, ")


def test_every_option_is_described():
    result = CliRunner().invoke(app, ["flow", "--help"], env=WIDE)
    assert result.exit_code == 0
    for option in ("--case", "--activity", "--timestamp", "--end", "--sep", "--json", "--top"):
        assert option in said(result)
    assert "Column holding when the event ended" in said(result)
