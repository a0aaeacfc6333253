"""TDABC costing: hand-worked examples reproduced to the penny, every loading error with its
exact message and line, and properties that must hold for any valid model.

Worked examples give their arithmetic in comments so a reader can check them with a
calculator. Error tests start from the issue's model (``ISSUE_MODEL``), change one thing,
and assert the exact ``file:line: message``; lines are found by searching the written
file for the changed text, so they do not drift when the model grows.
"""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carevalue.costing.pennies import apportion_pennies, rounding_residue, to_pennies
from carevalue.costing.tdabc import (
    TdabcModel,
    TdabcModelError,
    cost_model,
    costing_report,
    load_tdabc_model,
    tdabc_report,
    unit_cost,
)
from carevalue.costing.tdabc_model import AddedMinutes, Process, Resource, Step, TimeEquation
from carevalue.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

ISSUE_MODEL = """\
currency: GBP
period: year
resources:
  - id: nurse
    cost: 1000000
    practical_capacity_minutes: 82800
  - id: receptionist
    cost: 240000
    practical_capacity_minutes: 200000
processes:
  - id: clinic_visit
    volume: 9800
    conditions: {new_patient: 0.3}
    steps:
      - {id: registration, resource: receptionist, minutes: 18}
      - {id: assessment, resource: nurse, minutes: {base: 20, add: [{when: new_patient, minutes: 4}]}}
"""  # noqa: E501 (YAML fixture: its lines are the test's input, kept as written)


def write(tmp_path: Path, text: str, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def report_of(tmp_path: Path, text: str) -> dict:
    # Through JSON and back, as the CLI's reader would see it; Decimal keeps money exact.
    report = tdabc_report(write(tmp_path, text))
    return json.loads(json.dumps(report), parse_float=Decimal)


def by_id(items: list[dict], item_id: str) -> dict:
    return next(item for item in items if item["id"] == item_id)


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return lines[occurrence - 1]


# -- 1. The issue's example ------------------------------------------------------------


def test_issue_example_rates_used_and_unused_capacity(tmp_path):
    report = report_of(tmp_path, ISSUE_MODEL)
    nurse = by_id(report["resources"], "nurse")
    # £1,000,000 / 82,800 min = £12.077294…/min → 12.0773; × 60 = £724.637681…/h → 724.6377.
    assert nurse["capacity_cost_rate_per_minute"] == Decimal("12.0773")
    assert nurse["capacity_cost_rate_per_hour"] == Decimal("724.6377")
    # Used: 9,800 visits × (20 + 0.3 × 4) = 9,800 × 21.2 = 207,760 min, far beyond the
    # 82,800 supplied: unused is -124,960 min. Costs use the exact rate:
    # 207,760 × 1,000,000 / 82,800 = 2,509,178.7439… → 2,509,178.74 assigned, and
    # 1,000,000 − 2,509,178.74 = −1,509,178.74 unused. Over capacity is a finding, not an error.
    assert nurse["used_minutes"] == 207760
    assert nurse["unused_minutes"] == -124960
    assert nurse["assigned_cost"] == Decimal("2509178.74")
    assert nurse["unused_capacity_cost"] == Decimal("-1509178.74")
    assert nurse["over_capacity"] is True
    assert nurse["utilisation"] == Decimal("2.5092")  # 207,760 / 82,800

    receptionist = by_id(report["resources"], "receptionist")
    # £240,000 / 200,000 min = £1.20/min (£72/h). Used 9,800 × 18 = 176,400 min → £211,680.00;
    # unused 23,600 min × £1.20 = £28,320.00; 211,680 + 28,320 = 240,000.
    assert receptionist["capacity_cost_rate_per_minute"] == Decimal("1.2")
    assert receptionist["capacity_cost_rate_per_hour"] == Decimal(72)
    assert receptionist["used_minutes"] == 176400
    assert receptionist["unused_minutes"] == 23600
    assert receptionist["assigned_cost"] == Decimal(211680)
    assert receptionist["unused_capacity_cost"] == Decimal(28320)
    assert receptionist["over_capacity"] is False

    assert report["findings"] == [
        {
            "kind": "over_capacity",
            "subject": "nurse",
            "message": "resource 'nurse' is over capacity: the processes use 207,760 minutes but "
            "its practical capacity is 82,800 (251% used), so the cost assigned exceeds its "
            "cost of GBP 1,000,000.00 by GBP 1,509,178.74; check the minutes, volumes and "
            "capacity, and if staff really work beyond it, raise the practical capacity.",
        }
    ]


def test_issue_example_per_unit_and_total(tmp_path):
    visit = report_of(tmp_path, ISSUE_MODEL)["processes"][0]
    registration, assessment = visit["steps"]
    # Registration: 18 min × £1.20 = £21.60, whatever the conditions.
    assert registration["per_unit"] == {
        "base_minutes": 18,
        "base_cost": Decimal("21.6"),
        "conditions": [],
        "expected_minutes": 18,
        "expected_cost": Decimal("21.6"),
    }
    # Assessment: base 20 × 12.077294… = 241.5459 → 241.55; a new patient adds
    # 4 × 12.077294… = 48.3092 → 48.31; the average visit is 20 + 0.3 × 4 = 21.2 min,
    # 21.2 × 12.077294… = 256.0386 → 256.04.
    assert assessment["per_unit"] == {
        "base_minutes": 20,
        "base_cost": Decimal("241.55"),
        "conditions": [{"when": "new_patient", "added_minutes": 4, "added_cost": Decimal("48.31")}],
        "expected_minutes": Decimal("21.2"),
        "expected_cost": Decimal("256.04"),
    }
    # The visit: base 38 min, 21.60 + 241.5459 = 263.1459 → 263.15; expected 39.2 min,
    # 21.60 + 256.0386 = 277.6386 → 277.64.
    assert visit["per_unit"] == {
        "base_minutes": 38,
        "base_cost": Decimal("263.15"),
        "conditions": [
            {
                "when": "new_patient",
                "share": Decimal("0.3"),
                "added_minutes": 4,
                "added_cost": Decimal("48.31"),
            }
        ],
        "expected_minutes": Decimal("39.2"),
        "expected_cost": Decimal("277.64"),
    }
    # Totals: 176,400 + 207,760 = 384,160 min; 211,680.00 + 2,509,178.74 = 2,720,858.74.
    assert visit["total"] == {"minutes": 384160, "cost": Decimal("2720858.74")}
    assert registration["total"] == {"minutes": 176400, "cost": Decimal(211680)}
    assert assessment["total"] == {"minutes": 207760, "cost": Decimal("2509178.74")}
    assert visit["process_map"].endswith("model.yaml#clinic_visit")


def test_issue_example_reconciles(tmp_path):
    reconciliation = report_of(tmp_path, ISSUE_MODEL)["reconciliation"]
    # Supplied 1,000,000 + 240,000; assigned 2,509,178.74 + 211,680.00;
    # unused −1,509,178.74 + 28,320.00.
    assert reconciliation == {
        "cost_supplied": Decimal(1240000),
        "assigned_to_processes": Decimal("2720858.74"),
        "unused_capacity_cost": Decimal("-1480858.74"),
        "rounding_residue": 0,
        "balanced": True,
    }


def test_issue_example_within_capacity_at_a_lower_volume(tmp_path):
    text = ISSUE_MODEL.replace("volume: 9800", "volume: 3900")
    nurse = by_id(report_of(tmp_path, text)["resources"], "nurse")
    # 3,900 × 21.2 = 82,680 of 82,800 min; 82,680 × 1,000,000 / 82,800 = 998,550.7246 →
    # 998,550.72; unused 120 min × 12.077294… = 1,449.2754 → 1,449.28; together 1,000,000.00.
    assert nurse["used_minutes"] == 82680
    assert nurse["unused_minutes"] == 120
    assert nurse["assigned_cost"] == Decimal("998550.72")
    assert nurse["unused_capacity_cost"] == Decimal("1449.28")
    assert nurse["over_capacity"] is False


def test_unit_cost_under_given_conditions(tmp_path):
    result = cost_model(load_tdabc_model(write(tmp_path, ISSUE_MODEL)))
    visit = result.process("clinic_visit")
    # A new patient: 18 × 1.20 + 24 × 12.077294… = 21.60 + 289.8551 = 311.4551 → 311.46.
    assert unit_cost(visit, {"new_patient": True}) == Decimal("311.46")
    assert unit_cost(visit, {"new_patient"}) == Decimal("311.46")
    # A returning patient: 21.60 + 241.5459 = 263.1459 → 263.15.
    assert unit_cost(visit, {"new_patient": False}) == Decimal("263.15")
    assert unit_cost(visit) == Decimal("263.15")
    # Exact, for callers that add many units before rounding: 21.6 + 24,000,000/82,800.
    assert visit.cost_for({"new_patient": True}) == Fraction(216, 10) + Fraction(24_000_000, 82_800)
    assert visit.minutes_for({"new_patient": True}) == 42


# -- 2. Capacity from hours, with a time equation and shares -------------------------------

PHYSIO_MODEL = """\
currency: GBP
period: year
resources:
  - id: physiotherapist
    cost: 45360
    hours_per_day: 7.5
    days_per_week: 5
    weeks_per_year: 42
    practical_fraction: 0.8
  - id: support_worker
    cost_components: {pay: 56000, uniforms_and_training: 4480}
    hours_per_day: 7.5
    days_per_week: 5
    weeks_per_year: 42
    practical_fraction: 0.8
    quantity: 2
processes:
  - id: physio_session
    volume: 1000
    conditions: {first_visit: 0.25, needs_hoist: 0.1}
    steps:
      - id: session
        resource: physiotherapist
        minutes: {base: 30, add: [{when: first_visit, minutes: 15}, {when: needs_hoist, minutes: 10}]}
      - id: hoist_assist
        resource: support_worker
        minutes: {base: 0, add: [{when: needs_hoist, minutes: 20}]}
"""  # noqa: E501 (YAML fixture: its lines are the test's input, kept as written)


def test_capacity_from_hours_days_weeks_and_practical_fraction(tmp_path):
    report = report_of(tmp_path, PHYSIO_MODEL)
    physio = by_id(report["resources"], "physiotherapist")
    # 7.5 h × 5 days × 42 weeks × 0.8 × 60 = 75,600 min; £45,360 / 75,600 = £0.60/min (£36/h).
    assert physio["practical_capacity_minutes"] == 75600
    assert physio["practical_capacity_worked_out"] == (
        "hours_per_day 7.5 × days_per_week 5 × weeks_per_year 42 × practical_fraction 0.8 "
        "× 60 minutes"
    )
    assert physio["capacity_cost_rate_per_minute"] == Decimal("0.6")
    assert physio["capacity_cost_rate_per_hour"] == Decimal(36)
    # Used 1,000 × (30 + 0.25 × 15 + 0.1 × 10) = 1,000 × 34.75 = 34,750 min → £20,850.00;
    # unused 75,600 − 34,750 = 40,850 min → £24,510.00; 20,850 + 24,510 = 45,360.
    assert physio["used_minutes"] == 34750
    assert physio["unused_minutes"] == 40850
    assert physio["assigned_cost"] == 20850
    assert physio["unused_capacity_cost"] == 24510

    support = by_id(report["resources"], "support_worker")
    # Components 56,000 + 4,480 = 60,480 for 2 people: 75,600 × 2 = 151,200 min → £0.40/min.
    # Used 1,000 × 0.1 × 20 = 2,000 min → £800.00; unused 149,200 min → £59,680.00.
    assert support["cost_supplied"] == 60480
    assert support["cost_components"] == {"pay": 56000, "uniforms_and_training": 4480}
    assert support["practical_capacity_minutes"] == 151200
    assert support["capacity_cost_rate_per_minute"] == Decimal("0.4")
    assert support["used_minutes"] == 2000
    assert support["assigned_cost"] == 800
    assert support["unused_capacity_cost"] == 59680


def test_time_equation_per_unit_variants_and_totals(tmp_path):
    report = report_of(tmp_path, PHYSIO_MODEL)
    session = report["processes"][0]
    # Base 30 min × 0.60 + 0 × 0.40 = £18.00. A first visit adds 15 × 0.60 = £9.00; a hoist
    # adds 10 × 0.60 + 20 × 0.40 = £6.00 + £8.00 = £14.00. The average session is
    # 30 + 0.25 × 15 + 0.1 × (10 + 20) = 36.75 min, 34.75 × 0.60 + 2 × 0.40 = £21.65.
    assert session["per_unit"] == {
        "base_minutes": 30,
        "base_cost": 18,
        "conditions": [
            {"when": "first_visit", "share": Decimal("0.25"), "added_minutes": 15, "added_cost": 9},
            {"when": "needs_hoist", "share": Decimal("0.1"), "added_minutes": 30, "added_cost": 14},
        ],
        "expected_minutes": Decimal("36.75"),
        "expected_cost": Decimal("21.65"),
    }
    # 1,000 sessions × 36.75 = 36,750 min; 20,850 + 800 = £21,650.00.
    assert session["total"] == {"minutes": 36750, "cost": 21650}
    result = cost_model(load_tdabc_model(tmp_path / "model.yaml"))
    visit = result.process("physio_session")
    # A first visit needing a hoist: 55 min of physio (£33.00) and 20 of support (£8.00).
    assert unit_cost(visit, {"first_visit": True, "needs_hoist": True}) == Decimal("41.00")


def test_a_quarter_gets_a_quarter_of_the_hours_based_capacity(tmp_path):
    text = PHYSIO_MODEL.replace("period: year", "period: quarter").replace(
        "cost: 45360", "cost: 11340"
    )
    physio = by_id(report_of(tmp_path, text)["resources"], "physiotherapist")
    # 75,600 min a year / 4 = 18,900 min; £11,340 / 18,900 = £0.60/min, as for the year.
    assert physio["practical_capacity_minutes"] == 18900
    assert physio["capacity_cost_rate_per_minute"] == Decimal("0.6")
    assert physio["practical_capacity_worked_out"].endswith(
        "× 60 minutes × 1/4 of a year (one quarter)"
    )


# -- 3. A resource whose rate is known ---------------------------------------------------

KNOWN_RATE_MODEL = """\
currency: GBP
period: year
resources:
  - id: consultant
    rate_per_hour: 150
  - id: interpreter
    rate_per_hour: 100
processes:
  - id: review
    volume: 300
    conditions: {needs_interpreter: 0.1}
    steps:
      - {id: consultation, resource: consultant, minutes: {base: 10, add: [{when: needs_interpreter, minutes: 10}]}}
      - {id: interpreting, resource: interpreter, minutes: {base: 0, add: [{when: needs_interpreter, minutes: 7}]}}
"""  # noqa: E501 (YAML fixture: its lines are the test's input, kept as written)


def test_known_rate_costs_used_minutes_and_has_no_capacity(tmp_path):
    report = report_of(tmp_path, KNOWN_RATE_MODEL)
    consultant = by_id(report["resources"], "consultant")
    # £150/h = £2.50/min. Used 300 × (10 + 0.1 × 10) = 3,300 min → £8,250.00.
    assert consultant == {
        "id": "consultant",
        "description": None,
        "costed_by": "known_rate",
        "cost_supplied": 8250,
        "cost_components": None,
        "practical_capacity_minutes": None,
        "practical_capacity_hours": None,
        "practical_capacity_worked_out": None,
        "capacity_cost_rate_per_minute": Decimal("2.5"),
        "capacity_cost_rate_per_hour": 150,
        "used_minutes": 3300,
        "unused_minutes": None,
        "utilisation": None,
        "assigned_cost": 8250,
        "unused_capacity_cost": 0,
        "over_capacity": False,
        "rounding_residue": 0,
        "note": "Costed at a known rate: no capacity is supplied, so its cost is the minutes "
        "used × the rate and it has no unused capacity.",
    }
    interpreter = by_id(report["resources"], "interpreter")
    # £100/h = £1.666…/min → 1.6667. Used 300 × 0.1 × 7 = 210 min → 210 × 100 / 60 = £350.00.
    assert interpreter["capacity_cost_rate_per_minute"] == Decimal("1.6667")
    assert interpreter["assigned_cost"] == 350
    review = report["processes"][0]
    # Interpreting per unit: 0.1 × 7 = 0.7 min × 1.666… = £1.1667 → 1.17; added 7 min → 11.67.
    interpreting = review["steps"][1]["per_unit"]
    assert interpreting["expected_cost"] == Decimal("1.17")
    assert interpreting["conditions"][0]["added_cost"] == Decimal("11.67")
    assert report["reconciliation"]["unused_capacity_cost"] == 0
    assert report["reconciliation"]["cost_supplied"] == 8600  # 8,250 + 350


def test_rate_per_minute_is_the_same_as_sixty_times_less_per_hour(tmp_path):
    per_minute = KNOWN_RATE_MODEL.replace("rate_per_hour: 150", "rate_per_minute: 2.5")
    assert (
        report_of(tmp_path, per_minute)["processes"]
        == report_of(tmp_path, KNOWN_RATE_MODEL)["processes"]
    )


# -- 4. Kaplan & Anderson's customer-service department -------------------------------------

# Kaplan RS, Anderson SR. Time-driven activity-based costing. Harvard Business Review
# 2004;82(11):131-138. A customer-service department costs $560,000 a quarter and supplies
# 700,000 minutes of practical capacity: $0.80 a minute. Processing an order takes 8 minutes
# ($6.40), an inquiry 44 ($35.20), a credit check 50 ($40.00); in the quarter there were
# 49,000 orders, 1,400 inquiries and 2,500 credit checks: 578,600 minutes ($462,880), leaving
# 121,400 minutes ($97,120) of unused capacity.
KAPLAN_ANDERSON_2004 = """\
currency: USD
period: quarter
description: Kaplan & Anderson (HBR 2004) customer-service department.
resources:
  - id: customer_service
    cost: 560000
    practical_capacity_minutes: 700000
processes:
  - {id: process_order, volume: 49000, steps: [{id: handle, resource: customer_service, minutes: 8}]}
  - {id: handle_inquiry, volume: 1400, steps: [{id: handle, resource: customer_service, minutes: 44}]}
  - {id: credit_check, volume: 2500, steps: [{id: check, resource: customer_service, minutes: 50}]}
"""  # noqa: E501 (YAML fixture: its lines are the test's input, kept as written)


def test_kaplan_anderson_customer_service_example(tmp_path):
    report = report_of(tmp_path, KAPLAN_ANDERSON_2004)
    department = report["resources"][0]
    assert department["capacity_cost_rate_per_minute"] == Decimal("0.8")
    assert department["capacity_cost_rate_per_hour"] == 48
    unit_costs = {p["id"]: p["per_unit"]["expected_cost"] for p in report["processes"]}
    assert unit_costs == {
        "process_order": Decimal("6.4"),
        "handle_inquiry": Decimal("35.2"),
        "credit_check": 40,
    }
    totals = {p["id"]: p["total"] for p in report["processes"]}
    assert totals == {
        "process_order": {"minutes": 392000, "cost": 313600},
        "handle_inquiry": {"minutes": 61600, "cost": 49280},
        "credit_check": {"minutes": 125000, "cost": 100000},
    }
    assert department["used_minutes"] == 578600
    assert department["assigned_cost"] == 462880
    assert department["unused_minutes"] == 121400
    assert department["unused_capacity_cost"] == 97120
    assert department["utilisation"] == Decimal("0.8266")  # "only 83% of practical capacity"
    assert report["findings"] == []


# -- 4b. Capacity cost rates alone, before any process map ----------------------------------

RATES_ONLY = """\
currency: DKK
period: quarter
resources:
  - id: nurse
    cost: 650000
    hours_per_day: 7.4
    days_per_week: 5
    weeks_per_year: 42
    practical_fraction: 0.8
    quantity: 4
  - id: surgeon
    rate_per_hour: 1350
"""


@pytest.mark.parametrize("processes", ["", "processes: []\n"])
def test_a_model_of_resources_alone_gives_their_capacity_and_rates(tmp_path, processes):
    # TDABC's first step: 7.4 h × 5 × 42 × 0.8 × 60 × 4 = 298,368 min a year; a quarter is
    # 74,592 min = 1,243.2 h. DKK 650,000 / 74,592 = DKK 8.714071…/min → 8.7141; × 60 =
    # DKK 522.844272…/h → 522.8443. The surgeon's known DKK 1,350/h is DKK 22.50/min.
    report = report_of(tmp_path, RATES_ONLY + processes)
    assert report["currency"] == "DKK" and report["processes"] == []
    nurse = by_id(report["resources"], "nurse")
    assert nurse["practical_capacity_minutes"] == 74592
    assert nurse["practical_capacity_hours"] == Decimal("1243.2")
    assert nurse["capacity_cost_rate_per_minute"] == Decimal("8.7141")
    assert nurse["capacity_cost_rate_per_hour"] == Decimal("522.8443")
    surgeon = by_id(report["resources"], "surgeon")
    assert surgeon["practical_capacity_minutes"] is None
    assert surgeon["practical_capacity_hours"] is None
    assert surgeon["capacity_cost_rate_per_minute"] == Decimal("22.5")
    assert surgeon["capacity_cost_rate_per_hour"] == 1350
    # Nothing is used yet; one finding says why, not one "not used" per resource.
    assert nurse["used_minutes"] == 0 and nurse["unused_capacity_cost"] == 650000
    assert [f["kind"] for f in report["findings"]] == ["no_processes"]
    assert report["reconciliation"]["balanced"] is True
    assert_report_adds_up(report)


def test_a_process_asked_of_a_model_of_resources_alone_is_a_plain_sentence(tmp_path):
    result = cost_model(load_tdabc_model(write(tmp_path, RATES_ONLY)))
    with pytest.raises(UserError) as caught:
        result.process("clinic_visit")
    assert str(caught.value) == (
        "the model has no process 'clinic_visit'; it has no processes yet (a model of "
        "resources alone gives their capacity cost rates only)."
    )


def test_the_shipped_rates_example_is_worked_in_its_comments():
    # examples/tdabc/capacity_rates_dkk.yaml: nurses DKK 2,600,000 / 298,368 min; two
    # rooms DKK 180,000 / 201,600 min = DKK 0.892857…/min → 0.8929, 53.5714/h.
    report = tdabc_report(ROOT / "examples" / "tdabc" / "capacity_rates_dkk.yaml")
    nurse = by_id(report["resources"], "nurse")
    assert nurse["practical_capacity_minutes"] == 298368
    assert nurse["capacity_cost_rate_per_minute"] == 8.7141
    assert nurse["capacity_cost_rate_per_hour"] == 522.8443
    room = by_id(report["resources"], "clinic_room")
    assert room["capacity_cost_rate_per_minute"] == 0.8929
    assert room["capacity_cost_rate_per_hour"] == 53.5714
    assert [f["kind"] for f in report["findings"]] == ["no_processes"]


def cli_output(path: Path) -> str:
    from rich.console import Console
    from typer.testing import CliRunner

    from carevalue import cli

    # The command's console is made when cli is first imported, perhaps by another test
    # at another width: print this one wide enough for every column.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "out", Console(width=200))
        result = CliRunner().invoke(cli.app, ["costing", "tdabc", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_labels_costs_in_the_models_currency(tmp_path):
    rates = cli_output(ROOT / "examples" / "tdabc" / "capacity_rates_dkk.yaml")
    assert "£" not in rates and "GBP" not in rates
    for heading in ("cost DKK", "min/year", "h/year", "DKK/hour", "DKK/minute"):
        assert heading in rates
    # Rates alone: capacity and rates, no used or unused capacity and no process table.
    assert re.search(r"nurse\s.*2,600,000\.00.*298,368\.0.*4,972\.8.*522\.84.*8\.7141", rates)
    assert "unused min" not in rates and "Processes" not in rates
    assert "Reconciliation" not in rates
    assert "no processes yet" in rates
    costed = cli_output(write(tmp_path, ISSUE_MODEL.replace("GBP", "USD")))
    assert "£" not in costed and "GBP" not in costed
    for heading in ("cost USD", "USD/hour", "USD/minute", "unused cost USD", "total cost USD"):
        assert heading in costed
    assert "Reconciliation (USD)" in costed


# -- Rounding: pennies are apportioned, never lost ---------------------------------------------

THIRDS_MODEL = """\
currency: GBP
period: year
resources:
  - id: team
    cost: 100
    practical_capacity_minutes: 3
processes:
  - {id: a, volume: 1, steps: [{id: s, resource: team, minutes: 1}]}
  - {id: b, volume: 1, steps: [{id: s, resource: team, minutes: 1}]}
  - {id: c, volume: 1, steps: [{id: s, resource: team, minutes: 1}]}
"""


def test_rounding_residue_is_apportioned_and_reported(tmp_path):
    report = report_of(tmp_path, THIRDS_MODEL)
    # £100 / 3 min = £33.333…/min. Each process's exact cost is 33.333…, which rounds to
    # 33.33, and three of them make 99.99: a penny short of £100. The penny goes to the
    # first process (ties go to the earlier part) and the residue says so.
    totals = [p["total"]["cost"] for p in report["processes"]]
    assert totals == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    team = report["resources"][0]
    assert team["assigned_cost"] == 100
    assert team["unused_capacity_cost"] == 0
    assert team["rounding_residue"] == Decimal("0.01")
    assert report["reconciliation"]["rounding_residue"] == Decimal("0.01")


def test_apportion_pennies_largest_remainder():
    parts = [Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)]
    assert apportion_pennies(parts, Decimal("1.00")) == [
        Decimal("0.34"),
        Decimal("0.33"),
        Decimal("0.33"),
    ]
    parts = [Fraction(1006, 1000), Fraction(2004, 1000), Fraction(-10, 1000)]  # 1.006, 2.004, −0.01
    assert apportion_pennies(parts, Decimal("3.00")) == [
        Decimal("1.01"),
        Decimal("2.00"),
        Decimal("-0.01"),
    ]
    assert rounding_residue(parts, Decimal("3.00")) == 0
    assert to_pennies(Fraction(-5, 1000)) == Decimal("-0.01")  # halves away from zero
    with pytest.raises(ValueError):
        apportion_pennies([Fraction(1)], Decimal("5.00"))


# -- 5. Every error, with its exact message and line ----------------------------------------

NURSE_BY_HOURS = (
    "    hours_per_day: 7.5\n"
    "    days_per_week: 5\n"
    "    weeks_per_year: 44\n"
    "    practical_fraction: 0.8\n"
)

CHANGES = [
    # (what, old text, new text, the text on the line blamed (and which occurrence), message)
    (
        "unknown resource",
        "resource: nurse, minutes",
        "resource: nurze, minutes",
        "nurze",
        (
            "step 'assessment' uses resource 'nurze', which is not declared; "
            "declared resources are nurse, receptionist."
        ),
    ),
    (
        "negative minutes",
        "minutes: 18}",
        "minutes: -18}",
        "-18",
        "step 'registration' takes -18 minutes; minutes cannot be negative.",
    ),
    (
        "negative added minutes",
        "minutes: 4}",
        "minutes: -4}",
        "-4",
        "step 'assessment' adds -4 minutes when 'new_patient'; minutes cannot be negative.",
    ),
    (
        "capacity 0",
        "practical_capacity_minutes: 82800",
        "practical_capacity_minutes: 0",
        "practical_capacity_minutes: 0",
        (
            "resource 'nurse' has a practical capacity of 0 minutes, so its capacity cost rate "
            "(cost per minute) cannot be worked out; give the time it is available for work in "
            "the period."
        ),
    ),
    (
        "capacity 0 from hours",
        "    practical_capacity_minutes: 82800\n",
        NURSE_BY_HOURS.replace("practical_fraction: 0.8", "practical_fraction: 0"),
        "practical_fraction: 0",
        (
            "resource 'nurse' has a practical capacity of 0 minutes because practical_fraction "
            "is 0, so its capacity cost rate (cost per minute) cannot be worked out; give the "
            "time it is available for work in the period."
        ),
    ),
    (
        "both a rate and a capacity",
        "    cost: 1000000\n    practical_capacity_minutes: 82800\n",
        "    rate_per_hour: 700\n    practical_capacity_minutes: 82800\n",
        "practical_capacity_minutes: 82800",
        (
            "resource 'nurse' gives both a rate (rate_per_hour) and a capacity "
            "(practical_capacity_minutes); give the rate when it is known, or the cost and the "
            "capacity to work the rate out, not both."
        ),
    ),
    (
        "both a rate and a cost",
        "    practical_capacity_minutes: 82800\n",
        "    rate_per_hour: 700\n",
        "cost: 1000000",
        (
            "resource 'nurse' gives both a rate (rate_per_hour) and a cost (cost); a resource with "
            "a known rate is costed by the minutes it is used, so leave its cost out."
        ),
    ),
    (
        "two rates",
        "    cost: 1000000\n    practical_capacity_minutes: 82800\n",
        "    rate_per_hour: 720\n    rate_per_minute: 12\n",
        "rate_per_minute",
        "resource 'nurse' gives both rate_per_hour and rate_per_minute; give one.",
    ),
    (
        "no cost",
        "    cost: 1000000\n",
        "",
        "id: nurse",
        (
            "resource 'nurse' has no cost; give its cost for the period (cost, or cost_components "
            "to add up), or its rate_per_hour or rate_per_minute if the rate is known."
        ),
    ),
    (
        "cost and cost components",
        "    cost: 1000000\n",
        "    cost: 1000000\n    cost_components: {pay: 1000000}\n",
        "cost_components",
        (
            "resource 'nurse' gives both cost and cost_components; give one (the components are "
            "added up to make the cost)."
        ),
    ),
    (
        "money not to the penny",
        "cost: 1000000",
        "cost: 1000000.005",
        "1000000.005",
        (
            "resource 'nurse' has cost 1000000.005, which is not to the penny; give money with at "
            "most 2 decimal places."
        ),
    ),
    (
        "negative cost",
        "cost: 1000000",
        "cost: -1000000",
        "-1000000",
        "resource 'nurse' has cost -1000000; it cannot be negative.",
    ),
    (
        "no capacity",
        "    practical_capacity_minutes: 82800\n",
        "",
        "id: nurse",
        (
            "resource 'nurse' has a cost but no practical capacity; "
            "give practical_capacity_minutes, or hours_per_day, days_per_week, weeks_per_year "
            "and practical_fraction."
        ),
    ),
    (
        "part of an hours-based capacity",
        "    practical_capacity_minutes: 82800\n",
        "    hours_per_day: 7.5\n    days_per_week: 5\n",
        "hours_per_day",
        (
            "resource 'nurse' gives hours_per_day and days_per_week but not weeks_per_year or "
            "practical_fraction; practical capacity is hours_per_day × days_per_week × "
            "weeks_per_year × practical_fraction × 60 minutes, so give all four."
        ),
    ),
    (
        "two ways to the capacity",
        "    practical_capacity_minutes: 82800\n",
        "    practical_capacity_minutes: 82800\n    hours_per_day: 7.5\n",
        "hours_per_day",
        (
            "resource 'nurse' gives both practical_capacity_minutes and an hours-based capacity "
            "(hours_per_day); give one way to work out its capacity."
        ),
    ),
    (
        "quantity with given minutes",
        "    practical_capacity_minutes: 82800\n",
        "    practical_capacity_minutes: 82800\n    quantity: 3\n",
        "quantity",
        (
            "resource 'nurse' gives quantity with practical_capacity_minutes; quantity multiplies "
            "the capacity worked out from hours, so put the minutes of all of them in "
            "practical_capacity_minutes."
        ),
    ),
    (
        "more hours than a day has",
        "    practical_capacity_minutes: 82800\n",
        NURSE_BY_HOURS.replace("hours_per_day: 7.5", "hours_per_day: 25"),
        "hours_per_day",
        "resource 'nurse' has hours_per_day 25, which is too many: a day has 24 hours.",
    ),
    (
        "practical fraction above 1",
        "    practical_capacity_minutes: 82800\n",
        NURSE_BY_HOURS.replace("practical_fraction: 0.8", "practical_fraction: 80"),
        "practical_fraction",
        (
            "resource 'nurse' has practical_fraction 80, which is too many: it is the share of "
            "paid time available for productive work, at most 1 (Kaplan's rule of thumb is 0.80 "
            "to 0.85)."
        ),
    ),
    (
        "duplicate resource",
        "processes:\n",
        "  - id: nurse\n    rate_per_hour: 40\nprocesses:\n",
        ("id: nurse", 2),
        "resource 'nurse' is declared twice (first on line 4); give each resource its own id.",
    ),
    (
        "duplicate step",
        "id: registration,",
        "id: assessment,",
        ("id: assessment", 2),
        (
            "process 'clinic_visit' has two steps with id 'assessment' (first on line 15); give "
            "each step its own id."
        ),
    ),
    (
        "condition added twice in a step",
        "add: [{when: new_patient, minutes: 4}]",
        "add: [{when: new_patient, minutes: 4}, {when: new_patient, minutes: 1}]",
        "minutes: 1}",
        (
            "step 'assessment' adds minutes when 'new_patient' twice (first on line 16); add them "
            "up in one entry."
        ),
    ),
    (
        "condition without a share",
        "    conditions: {new_patient: 0.3}\n",
        "",
        "when: new_patient",
        (
            "step 'assessment' adds minutes when 'new_patient', but process 'clinic_visit' gives "
            "no share for it; add conditions: {new_patient: <share of units, 0 to 1>} to the "
            "process."
        ),
    ),
    (
        "share no step uses",
        "{new_patient: 0.3}",
        "{new_patient: 0.3, new_patent: 0.1}",
        "new_patent",
        (
            "process 'clinic_visit' gives a share for condition 'new_patent', which no step's time "
            "equation uses; the conditions used are new_patient."
        ),
    ),
    (
        "share above 1",
        "{new_patient: 0.3}",
        "{new_patient: 1.3}",
        "1.3",
        (
            "process 'clinic_visit' gives condition 'new_patient' a share of 1.3; a share is the "
            "fraction of units for which the condition holds, from 0 to 1."
        ),
    ),
    (
        "negative volume",
        "volume: 9800",
        "volume: -5",
        "volume",
        (
            "process 'clinic_visit' has a volume of -5; the volume is how many units ran in the "
            "period and cannot be negative."
        ),
    ),
    (
        "volume not whole",
        "volume: 9800",
        "volume: 9800.5",
        "volume",
        "process 'clinic_visit', volume: should be a whole number, not 9800.5.",
    ),
    (
        "cost not a number",
        "cost: 1000000",
        "cost: a million",
        "a million",
        "resource 'nurse', cost: should be a number, not 'a million'.",
    ),
    (
        "minutes not a number",
        "minutes: 18}",
        "minutes: 18 min}",
        "18 min",
        (
            "process 'clinic_visit', step 'registration', minutes: should be a number of minutes, "
            "or a time equation like {base: 20, add: [{when: new_patient, minutes: 4}]}, not "
            "'18 min'."
        ),
    ),
    (
        "misspelt field",
        "practical_capacity_minutes: 82800",
        "practical_capacity_minute: 82800",
        "practical_capacity_minute:",
        (
            "resource 'nurse': unknown field 'practical_capacity_minute' (did you mean "
            "'practical_capacity_minutes'?); the allowed fields are: id, description, cost, "
            "cost_components, practical_capacity_minutes, hours_per_day, days_per_week, "
            "weeks_per_year, practical_fraction, quantity, rate_per_hour, rate_per_minute."
        ),
    ),
    (
        "missing step field",
        "{id: registration, resource: receptionist, minutes: 18}",
        "{id: registration, minutes: 18}",
        "id: registration",
        (
            "process 'clinic_visit', step 'registration': missing required field 'resource' (id of "
            "the declared resource that does the step)."
        ),
    ),
    (
        "missing model field",
        "currency: GBP\n",
        "",
        "period",
        (
            "the model: missing required field 'currency' (ISO 4217 code of the currency all money "
            "is in, like GBP)."
        ),
    ),
    (
        "bad id",
        "id: clinic_visit",
        "id: Clinic Visit",
        "Clinic Visit",
        (
            "process 'Clinic Visit', id: 'Clinic Visit' is not a valid id: use lower-case letters, "
            "digits and underscores, starting with a letter (like 'clinic_visit')."
        ),
    ),
    (
        "bad currency",
        "currency: GBP",
        "currency: pounds",
        "currency",
        (
            "currency: 'pounds' is not a currency code: use the three capital letters of ISO 4217, "
            "like GBP."
        ),
    ),
    (
        "bad period",
        "period: year",
        "period: annual",
        "period",
        "period: 'annual' is not allowed; use one of: 'year', 'quarter' or 'month'.",
    ),
    (
        "no steps",
        (
            "    steps:\n"
            "      - {id: registration, resource: receptionist, minutes: 18}\n"
            "      - {id: assessment, resource: nurse, "
            "minutes: {base: 20, add: [{when: new_patient, minutes: 4}]}}\n"
        ),
        "    steps: []\n",
        "steps",
        "process 'clinic_visit', steps: needs at least one entry.",
    ),
    (
        "key given twice",
        "    cost: 240000\n",
        "    cost: 240000\n    cost: 250000\n",
        "cost: 250000",
        (
            "'cost' is given twice in the same block (first on line 8); YAML would silently keep "
            "only the last."
        ),
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "blamed", "message"),
    [case[1:] for case in CHANGES],
    ids=[case[0] for case in CHANGES],
)
def test_each_mistake_is_named_at_its_line(tmp_path, old, new, blamed, message):
    assert old in ISSUE_MODEL
    text = ISSUE_MODEL.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(path)
    fragment, occurrence = blamed if isinstance(blamed, tuple) else (blamed, 1)
    assert str(caught.value) == f"{path}:{line_of(text, fragment, occurrence)}: {message}"
    assert isinstance(caught.value, UserError)


def test_every_problem_is_reported_at_once(tmp_path):
    text = ISSUE_MODEL.replace("minutes: 18}", "minutes: -18}").replace(
        "cost: 240000", "cost: 240000\n    rate_per_hour: 72"
    )
    path = write(tmp_path, text)
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(path)
    assert str(caught.value) == "\n".join(
        [
            f"3 problems in the TDABC model {path}:",
            (
                f"  {path}:8: resource 'receptionist' gives both a rate (rate_per_hour) and a "
                "cost (cost); a resource with a known rate is costed by the minutes it is used, "
                "so leave its cost out."
            ),
            (
                f"  {path}:10: resource 'receptionist' gives both a rate (rate_per_hour) and a "
                "capacity (practical_capacity_minutes); give the rate when it is known, or the "
                "cost and the capacity to work the rate out, not both."
            ),
            f"  {path}:16: step 'registration' takes -18 minutes; minutes cannot be negative.",
        ]
    )
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "1: the file is empty."),
        (
            "- a\n- b\n",
            (
                "1: the model must be a block of fields: currency, period, description, "
                "resources, processes."
            ),
        ),
        (
            "currency: GBP\nperiod: [year\n",
            (
                "3: this is not valid YAML: expected ',' or ']', but "
                "got '<stream end>' (while parsing a flow sequence); check the indentation, "
                "and put quotes around text that contains ': ' or starts with a special character."
            ),
        ),
    ],
    ids=["empty", "not a block of fields", "YAML syntax"],
)
def test_unreadable_files(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(path)
    assert str(caught.value) == f"{path}:{message}"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(tmp_path / "nowhere.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'nowhere.yaml'}: this file does not exist; give the path of a TDABC model "
        "file (YAML or JSON)."
    )
    with pytest.raises(TdabcModelError, match="this file is a folder"):
        load_tdabc_model(tmp_path)


def test_json_model_files_have_lines_too(tmp_path):
    import yaml

    data = yaml.safe_load(ISSUE_MODEL)
    assert tdabc_report(write(tmp_path, json.dumps(data), "model.json"))["processes"]
    data["processes"][0]["steps"][1]["resource"] = "nurze"
    text = json.dumps(data, indent=2)
    path = write(tmp_path, text, "model.json")
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(path)
    assert str(caught.value).startswith(f"{path}:{line_of(text, 'nurze')}: step 'assessment'")
    # JSON that YAML cannot read (tab indentation) is still read, without lines.
    tabbed = json.dumps(data, indent="\t")
    path = write(tmp_path, tabbed, "tabbed.json")
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(path)
    assert str(caught.value).startswith(f"{path}: step 'assessment' uses resource 'nurze'")
    broken = write(tmp_path, '{\n  "currency": "GBP",\n\t"period": \n', "broken.json")
    with pytest.raises(TdabcModelError) as caught:
        load_tdabc_model(broken)
    assert str(caught.value) == f"{broken}:4: this is not valid JSON: Expecting value."


def test_conditions_and_ids_a_caller_gets_wrong(tmp_path):
    result = cost_model(load_tdabc_model(write(tmp_path, ISSUE_MODEL)))
    with pytest.raises(UserError) as caught:
        unit_cost(result.process("clinic_visit"), {"new_patent": True})
    assert str(caught.value) == (
        "process 'clinic_visit' has no condition 'new_patent'; its conditions are new_patient."
    )
    with pytest.raises(UserError) as caught:
        result.process("clinic")
    assert str(caught.value) == "the model has no process 'clinic'; its processes are clinic_visit."
    with pytest.raises(UserError) as caught:
        result.resource("doctor")
    assert str(caught.value) == (
        "the model has no resource 'doctor'; its resources are nurse, receptionist."
    )


def test_a_model_built_in_python_is_held_to_the_same_rules():
    import yaml

    data = yaml.safe_load(ISSUE_MODEL.replace("resource: nurse,", "resource: nurze,"))
    with pytest.raises(pydantic.ValidationError) as caught:
        TdabcModel.model_validate(data)
    assert "step 'assessment' uses resource 'nurze', which is not declared" in str(caught.value)


def test_findings_for_unused_resources_and_processes_without_volume(tmp_path):
    text = ISSUE_MODEL.replace("    volume: 9800\n", "").replace(
        "processes:\n", "  - id: porter\n    rate_per_hour: 20\nprocesses:\n"
    )
    report = report_of(tmp_path, text)
    assert report["findings"] == [
        {
            "kind": "resource_not_used",
            "subject": "porter",
            "message": "resource 'porter' is not used by any step.",
        },
        {
            "kind": "process_without_volume",
            "subject": "clinic_visit",
            "message": "process 'clinic_visit' has no volume, so it has unit costs but no totals, "
            "and its minutes are not counted in the resources' used capacity.",
        },
    ]
    visit = report["processes"][0]
    assert visit["total"] is None and visit["steps"][0]["total"] is None
    assert visit["per_unit"]["expected_cost"] == Decimal("277.64")
    nurse = by_id(report["resources"], "nurse")
    # Nothing is used, so all the nurses' cost is unused capacity, and none reaches patients.
    assert nurse["used_minutes"] == 0 and nurse["unused_capacity_cost"] == 1000000


# -- The shipped examples ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["clinic_visit.yaml", "stroke_hyperacute.yaml"])
def test_shipped_examples_cost_and_reconcile_without_findings(name):
    path = ROOT / "examples" / "tdabc" / name
    report = json.loads(json.dumps(tdabc_report(path)), parse_float=Decimal)
    assert report["findings"] == []
    assert report["reconciliation"]["balanced"] is True
    assert_report_adds_up(report)


def test_clinic_example_worked_in_the_docs():
    # docs/tdabc.md works through these figures by hand.
    report = tdabc_report(ROOT / "examples" / "tdabc" / "clinic_visit.yaml")
    nurse = by_id(report["resources"], "nurse")
    assert nurse["practical_capacity_minutes"] == 316800
    assert nurse["capacity_cost_rate_per_minute"] == 0.7576
    assert nurse["used_minutes"] == 251700
    assert nurse["assigned_cost"] == 190681.82
    assert nurse["unused_capacity_cost"] == 49318.18
    receptionist = by_id(report["resources"], "receptionist")
    assert receptionist["rounding_residue"] == -0.01
    result = cost_model(load_tdabc_model(ROOT / "examples" / "tdabc" / "clinic_visit.yaml"))
    visit = result.process("clinic_visit")
    assert unit_cost(visit) == Decimal("42.62")
    assert unit_cost(visit, {"new_patient": True}) == Decimal("74.72")
    assert unit_cost(visit, {"new_patient": True, "needs_interpreter": True}) == Decimal("101.19")


def test_every_model_field_and_report_key_is_documented():
    doc = (ROOT / "docs" / "tdabc.md").read_text(encoding="utf-8")
    fields = {
        name
        for model in (TdabcModel, Resource, Process, Step, TimeEquation, AddedMinutes)
        for name in model.model_fields
    }
    report = tdabc_report(ROOT / "examples" / "tdabc" / "clinic_visit.yaml")
    undocumented = sorted(
        name for name in fields | set(keys_of(report)) if not re.search(rf"\b{name}\b", doc)
    )
    assert undocumented == [], f"docs/tdabc.md does not mention: {', '.join(undocumented)}"


def keys_of(node) -> list[str]:
    """Every key in a report, except the names of conditions and cost components."""
    if isinstance(node, list):
        return [key for item in node for key in keys_of(item)]
    if not isinstance(node, dict):
        return []
    keys = []
    for key, value in node.items():
        keys.append(key)
        if key not in ("condition_shares", "cost_components"):
            keys += keys_of(value)
    return keys


# -- 6. Properties of every valid model --------------------------------------------------------


def assert_report_adds_up(report: dict) -> None:
    """Every column of the report adds up exactly, to the penny."""
    for resource in report["resources"]:
        assert (
            resource["assigned_cost"] + resource["unused_capacity_cost"]
            == resource["cost_supplied"]
        )
    reconciliation = report["reconciliation"]
    assert (
        reconciliation["assigned_to_processes"] + reconciliation["unused_capacity_cost"]
        == reconciliation["cost_supplied"]
    )
    assert reconciliation["cost_supplied"] == sum(r["cost_supplied"] for r in report["resources"])
    totals = [p["total"]["cost"] for p in report["processes"] if p["total"] is not None]
    assert sum(totals) == reconciliation["assigned_to_processes"]
    for process in report["processes"]:
        steps = process["steps"]
        if process["total"] is not None:
            assert sum(s["total"]["cost"] for s in steps) == process["total"]["cost"]
        for column in ("base_cost", "expected_cost"):
            assert sum(s["per_unit"][column] for s in steps) == process["per_unit"][column]
        for condition in process["per_unit"]["conditions"]:
            assert condition["added_cost"] == sum(
                c["added_cost"]
                for s in steps
                for c in s["per_unit"]["conditions"]
                if c["when"] == condition["when"]
            )


# Bounded to hospital-sized figures: the JSON report writes money as numbers, which keep
# every penny only below about £90 trillion (2**53 pennies); unbounded draws of a tiny
# capacity against a large cost and volume overflow that and fail on float precision.
money = st.decimals(min_value=0, max_value=10_000_000, places=2)
positive_minutes = st.decimals(min_value=Decimal("100"), max_value=1_000_000, places=2)
step_minutes = st.decimals(min_value=0, max_value=600, places=2)
shares = st.decimals(min_value=0, max_value=1, places=3)


@st.composite
def resources(draw, index: int) -> dict:
    resource: dict = {"id": f"resource_{index}"}
    how = draw(st.sampled_from(["minutes", "hours", "rate_per_hour", "rate_per_minute"]))
    if how.startswith("rate"):
        resource[how] = draw(st.decimals(min_value=0, max_value=1000, places=4))
        return resource
    if draw(st.booleans()):
        resource["cost"] = draw(money)
    else:
        resource["cost_components"] = {
            f"part_{n}": draw(money) for n in range(draw(st.integers(1, 3)))
        }
    if how == "minutes":
        resource["practical_capacity_minutes"] = draw(positive_minutes)
    else:
        resource["hours_per_day"] = draw(st.decimals(min_value="1", max_value=24, places=1))
        resource["days_per_week"] = draw(st.integers(1, 7))
        resource["weeks_per_year"] = draw(st.integers(4, 52))
        resource["practical_fraction"] = draw(st.decimals(min_value="0.5", max_value=1, places=2))
        if draw(st.booleans()):
            resource["quantity"] = draw(st.decimals(min_value="0.1", max_value=50, places=1))
    return resource


@st.composite
def models(draw) -> dict:
    resource_list = [draw(resources(i)) for i in range(draw(st.integers(1, 4)))]
    ids = [r["id"] for r in resource_list]
    processes = []
    for p in range(draw(st.integers(1, 3))):
        conditions = [f"condition_{c}" for c in range(draw(st.integers(0, 3)))]
        steps = []
        for s in range(draw(st.integers(1, 4))):
            adds = [
                {"when": c, "minutes": draw(step_minutes)}
                for c in conditions
                if draw(st.booleans())
            ]
            steps.append(
                {
                    "id": f"step_{s}",
                    "resource": draw(st.sampled_from(ids)),
                    "minutes": {"base": draw(step_minutes), "add": adds},
                }
            )
        used = {add["when"] for step in steps for add in step["minutes"]["add"]}
        process = {
            "id": f"process_{p}",
            "conditions": {c: draw(shares) for c in conditions if c in used},
            "steps": steps,
        }
        if draw(st.integers(0, 4)):  # mostly with a volume
            process["volume"] = draw(st.integers(0, 50_000))
        processes.append(process)
    return {
        "currency": "GBP",
        "period": draw(st.sampled_from(["year", "quarter", "month"])),
        "resources": resource_list,
        "processes": processes,
    }


def doubled(data: dict) -> dict:
    resources_doubled = []
    for resource in data["resources"]:
        resource = dict(resource)
        for key in ("cost", "rate_per_hour", "rate_per_minute"):
            if key in resource:
                resource[key] *= 2
        if "cost_components" in resource:
            resource["cost_components"] = {k: v * 2 for k, v in resource["cost_components"].items()}
        resources_doubled.append(resource)
    return {**data, "resources": resources_doubled}


@settings(max_examples=200, deadline=None)
@given(models())
def test_assigned_plus_unused_is_the_cost_supplied_to_the_penny(data):
    result = cost_model(TdabcModel.model_validate(data))
    for resource in result.resources:  # exactly, before rounding
        if resource.costed_by == "capacity":
            assert resource.assigned_cost + resource.unused_cost == resource.cost_supplied
    report = json.loads(json.dumps(costing_report(result)), parse_float=Decimal)
    assert report["reconciliation"]["balanced"] is True
    assert_report_adds_up(report)
    # Each rounded step total is its exact cost rounded down or up: within a penny.
    for process, shown in zip(result.processes, report["processes"], strict=True):
        for step, shown_step in zip(process.steps, shown["steps"], strict=True):
            if step.total_cost is not None:
                assert abs(Fraction(shown_step["total"]["cost"]) - step.total_cost) < Fraction(
                    1, 100
                )


@settings(max_examples=200, deadline=None)
@given(models())
def test_doubling_every_resource_cost_doubles_every_unit_cost(data):
    once = cost_model(TdabcModel.model_validate(data))
    twice = cost_model(TdabcModel.model_validate(doubled(data)))
    for process, process_twice in zip(once.processes, twice.processes, strict=True):
        conditions = list(process.shares)
        for count in range(len(conditions) + 1):
            for holding in itertools.combinations(conditions, count):
                assert process_twice.cost_for(holding) == 2 * process.cost_for(holding)
                # Rounded to the penny, doubling can differ by at most the penny rounded.
                difference = unit_cost(process_twice, holding) - 2 * unit_cost(process, holding)
                assert abs(difference) <= Decimal("0.01")
        assert process_twice.expected_cost == 2 * process.expected_cost
    for resource, resource_twice in zip(once.resources, twice.resources, strict=True):
        assert resource_twice.rate_per_minute == 2 * resource.rate_per_minute
