"""The command line explains itself and never answers a user's mistake with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_extract
from typer.testing import CliRunner

from carevalue.cli import app
from carevalue.conditions import shipped_conditions

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def run_cli(
    *args: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAREVALUE_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "carevalue", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
    )


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "outcomes that matter" in result.output
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_every_option_is_described(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 5
    click_command = next(
        c for c in app.registered_commands if (c.name or c.callback.__name__) == command
    )
    assert click_command.callback.__doc__, f"{command} has no docstring"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command):
    assert f"carevalue {command}" in (ROOT / "docs" / "cli.md").read_text()


def test_ingest_without_a_key_is_one_plain_line(tmp_path):
    folder = write_extract(tmp_path / "x")
    result = run_cli("ingest", str(folder), "--warehouse", str(tmp_path / "w.duckdb"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: No pseudonymisation key: set CAREVALUE_PSEUDONYMISATION_KEY (or "
        "CAREVALUE_PSEUDONYMISATION_KEY_FILE) to a secret of at least 32 characters, "
        "or pass --demo for synthetic data only."
    ]


def test_ingest_of_a_missing_folder_is_one_plain_line(tmp_path):
    result = run_cli(
        "ingest", str(tmp_path / "nowhere"), "--demo", "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'nowhere'} is not a folder; "
        "give the folder that holds the extract's feed files."
    )


def test_ingest_prints_a_reconciling_summary(tmp_path):
    folder = write_extract(tmp_path / "x")
    result = run_cli(
        "ingest",
        str(folder),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        env={"CAREVALUE_PSEUDONYMISATION_KEY": "k" * 40, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "activities" in result.stdout
    assert "NO" not in result.stdout
    assert "inpatient or critical-care encounters with no end_at" in result.stdout


def test_unknown_feed_in_only(tmp_path):
    folder = write_extract(tmp_path / "x")
    result = run_cli(
        "ingest",
        str(folder),
        "--demo",
        "--only",
        "wards",
        "--warehouse",
        str(tmp_path / "w.duckdb"),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Unknown feed 'wards'; the feeds are patients, encounters, diagnoses, activities, "
        "observations, prom_responses, ledger."
    )


def test_validate_reports_the_shipped_packs_valid_and_a_broken_one_with_file_and_line(tmp_path):
    result = run_cli("validate", str(shipped_conditions()))
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == "3 condition packs valid: hepatitis_c, infective_endocarditis, stroke."
    )
    broken = tmp_path / "conditions" / "stroke"
    import shutil

    shutil.copytree(shipped_conditions() / "stroke", broken)
    text = (broken / "pack.yaml").read_text().replace("  owner_team:", "  owner_teem:", 1)
    (broken / "pack.yaml").write_text(text)
    result = run_cli("validate", str(tmp_path / "conditions"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if "owner_teem" in t)
    assert f"pack.yaml:{line}:" in result.stderr
    assert "owner_teem" in result.stderr


def test_costing_tdabc_prints_a_reconciled_report_and_json():
    model = ROOT / "examples" / "tdabc" / "clinic_visit.yaml"
    result = run_cli("costing", "tdabc", str(model), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "balanced" in result.stdout and "NOT balanced" not in result.stdout
    import json

    report = json.loads(run_cli("costing", "tdabc", str(model), "--json").stdout)
    rec = report["reconciliation"]
    assert (
        round(rec["assigned_to_processes"] + rec["unused_capacity_cost"], 2) == rec["cost_supplied"]
    )
    assert "carevalue costing tdabc" in (ROOT / "docs" / "cli.md").read_text()


def test_costing_tdabc_bad_model_is_one_plain_line(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text("currency: GBP\nperiod: year\nresources: []\nprocesses: []\n")
    result = run_cli("costing", "tdabc", str(model))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
