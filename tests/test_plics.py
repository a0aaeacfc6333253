"""Top-down patient-level costing (carevalue.costing.plics): a worked example in pennies on
both engines, properties over random ledgers, the rules file's checks, and the synthetic trust.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from carevalue.costing.plics import (
    NO_ACTIVITY,
    NO_DIRECT_COST,
    UNMAPPED,
    UNMAPPED_POOL,
    AllocationResult,
    allocate_ledger_to_activities,
    reconcile,
)
from carevalue.costing.plics_rules import CostingRules, load_costing_rules
from carevalue.costing.shipped_rules import costing_rules_file
from carevalue.errors import UserError
from carevalue.warehouse import connect

SHIPPED_RULES = costing_rules_file("synthetic")
LEDGER_COLUMNS = ["period", "cost_centre", "expense_code", "expense_type", "amount"]
ACTIVITY_COLUMNS = [
    "activity_id",
    "patient_id",
    "activity_type",
    "code",
    "start_at",
    "minutes",
    "quantity",
    "cost_centre",
    "staff_present",
    "care_level",
    "relative_weight",
    "issue_value",
]


def pool(id, department, centre, activity_type, driver, **weights):
    return {
        "id": id,
        "department": department,
        "resource": id,
        "ledger": {"cost_centres": [centre]},
        "activities": {"cost_centres": [centre], "activity_types": [activity_type]},
        "driver": driver,
        **weights,
    }


# --- the worked example (docs/costing.md walks through the same numbers) ----------------

WORKED_RULES = CostingRules.model_validate(
    {
        "rules_version": "test",
        "description": "worked example",
        "periods": "ledger_month",
        "quantum": {"excluded_expense_types": ["excluded", "income"]},
        "departments": [
            {"name": "Critical Care", "overhead_drivers": {"floor_area_m2": 300}},
            {"name": "Theatres", "overhead_drivers": {"floor_area_m2": 200}},
            {"name": "Ward", "overhead_drivers": {"floor_area_m2": 500}},
            {"name": "Pathology"},
        ],
        "overheads": [
            {"id": "estates", "ledger": {"cost_centres": ["EST"]}, "driver": "floor_area_m2"}
        ],
        "pools": [
            pool(
                "icu",
                "Critical Care",
                "ICU",
                "critical_care",
                "critical_care_level_days",
                level_weights={2: 1.0, 3: 2.0},
            ),
            pool("theatre", "Theatres", "TH", "theatre", "theatre_staff_minutes"),
            pool("ward", "Ward", "WARD", "ward_stay", "bed_days"),
            pool("lab", "Pathology", "LAB", "pathology", "relative_weight_units"),
        ],
    }
)

WORKED_LEDGER = pd.DataFrame(
    [
        ("2024-01", "ICU", "PAY", "pay", 9000.00),
        ("2024-01", "TH", "PAY", "pay", 6000.00),
        ("2024-01", "WARD", "PAY", "pay", 4000.00),
        ("2024-01", "LAB", "SUPPLIES", "non_pay", 50.00),
        ("2024-01", "EST", "ESTATES", "overhead", 1000.00),
        ("2024-01", "EDU", "TRAINING", "excluded", 500.00),
        ("2024-01", "EDU", "TRAINING-INCOME", "income", -300.00),
        ("2024-01", "MISC", "OTHER", "pay", 100.00),
    ],
    columns=LEDGER_COLUMNS,
)


def activity(
    activity_id,
    patient,
    kind,
    centre,
    start="2024-01-10T09:00:00",
    *,
    code=None,
    minutes=None,
    quantity=None,
    staff=None,
    level=None,
    weight=None,
    issue=None,
):
    return (
        activity_id,
        patient,
        kind,
        code,
        pd.Timestamp(start),
        minutes,
        quantity,
        centre,
        staff,
        level,
        weight,
        issue,
    )


WORKED_ACTIVITIES = pd.DataFrame(
    [
        activity("A1", "P1", "critical_care", "ICU", quantity=1.0, level="3"),
        activity("A2", "P2", "critical_care", "ICU", quantity=1.0, level="2"),
        activity("A3", "P1", "theatre", "TH", minutes=120.0, quantity=1.0, staff="5"),
        activity("A4", "P2", "theatre", "TH", minutes=200.0, quantity=1.0, staff="6"),
        activity("A5", "P1", "ward_stay", "WARD", quantity=3.0),
        activity("A6", "P2", "ward_stay", "WARD", quantity=1.0),
        activity("A7", "P3", "ward_stay", "WARD", quantity=0.0),
        # February has activity but no ledger: nothing to allocate to it.
        activity("A8", "P3", "ward_stay", "WARD", "2024-02-03T10:00:00", quantity=2.0),
    ],
    columns=ACTIVITY_COLUMNS,
)

# (activity, ledger line it came from) -> pounds, by hand:
# ICU £9,000 over level-weighted days 2 (A1, level 3) + 1 (A2) -> 6,000 / 3,000.
# Theatre £6,000 over staff minutes 600 (A3: 120 x 5) + 1,200 (A4: 200 x 6) -> 2,000 / 4,000.
# Ward £4,000 over bed days 3 + 1 (+ 0 for A7) -> 3,000 / 1,000.
# Estates £1,000 by floor area 300 : 200 : 500 -> ICU 300, Theatres 200, Ward 500, then over
# the same drivers: ICU 200 / 100; Theatres 66.67 / 133.33 (200/3 = 66.666..., the spare
# penny goes to A3, whose remainder is the larger); Ward 375 / 125.
WORKED_EXPECTED = {
    ("A1", "ICU", "PAY"): "6000.00",
    ("A2", "ICU", "PAY"): "3000.00",
    ("A1", "EST", "ESTATES"): "200.00",
    ("A2", "EST", "ESTATES"): "100.00",
    ("A3", "TH", "PAY"): "2000.00",
    ("A4", "TH", "PAY"): "4000.00",
    ("A3", "EST", "ESTATES"): "66.67",
    ("A4", "EST", "ESTATES"): "133.33",
    ("A5", "WARD", "PAY"): "3000.00",
    ("A6", "WARD", "PAY"): "1000.00",
    ("A5", "EST", "ESTATES"): "375.00",
    ("A6", "EST", "ESTATES"): "125.00",
}


SCHEMAS = {
    "ledger": {
        "period": "string",
        "cost_centre": "string",
        "expense_code": "string",
        "expense_type": "string",
        "amount": "float64",
    },
    "activities": {
        "activity_id": "string",
        "patient_id": "string",
        "activity_type": "string",
        "code": "string",
        "start_at": "timestamp",
        "minutes": "float64",
        "quantity": "float64",
        "cost_centre": "string",
        "staff_present": "string",
        "care_level": "string",
        "relative_weight": "string",
        "issue_value": "string",
    },
}


def put(con, name: str, frame: pd.DataFrame) -> ibis.Table:
    """``frame`` as table ``name``, typed as the ingested feed is (extras are text)."""
    schema = SCHEMAS["ledger" if "expense_type" in frame.columns else "activities"]
    return con.create_table(name, ibis.memtable(frame).cast(schema), overwrite=True)


def activity_amounts(result) -> dict[tuple[str, str, str], Decimal]:
    frame = result.activity_costs.execute()
    return {
        (r.activity_id, r.cost_centre, r.expense_code): Decimal(str(r.amount)).quantize(
            Decimal("0.01")
        )
        for r in frame.itertuples()
    }


def test_worked_example_in_pennies_on_every_engine(engine):
    result = allocate_ledger_to_activities(
        put(engine, "ledger", WORKED_LEDGER),
        put(engine, "activities", WORKED_ACTIVITIES),
        WORKED_RULES,
    )
    assert activity_amounts(result) == {k: Decimal(v) for k, v in WORKED_EXPECTED.items()}

    rec = result.reconciliation.execute().sort_values("pool").reset_index(drop=True)
    money = [
        "direct_cost",
        "overhead_cost",
        "cost_in_pool",
        "allocated",
        "unallocated",
        "difference",
    ]
    got = {
        r["pool"]: tuple(str(Decimal(str(r[c])).quantize(Decimal("0.01"))) for c in money)
        + (r["unallocated_reason"] if isinstance(r["unallocated_reason"], str) else None,)
        for _, r in rec.iterrows()
    }
    assert got == {
        "icu": ("9000.00", "300.00", "9300.00", "9300.00", "0.00", "0.00", None),
        "theatre": ("6000.00", "200.00", "6200.00", "6200.00", "0.00", "0.00", None),
        "ward": ("4000.00", "500.00", "4500.00", "4500.00", "0.00", "0.00", None),
        "lab": ("50.00", "0.00", "50.00", "0.00", "50.00", "0.00", NO_ACTIVITY),
        UNMAPPED_POOL: ("100.00", "0.00", "100.00", "0.00", "100.00", "0.00", UNMAPPED),
    }
    assert reconcile(result) == []

    quantum = result.quantum.execute().set_index("expense_code")
    assert (
        not quantum.loc["TRAINING", "in_quantum"]
        and not quantum.loc["TRAINING-INCOME", "in_quantum"]
    )
    assert quantum.loc["OTHER", "treatment"] == "unmapped"
    assert quantum.loc["ESTATES", "target"] == "estates"


def test_reconcile_names_the_pool_and_the_amount_when_pennies_go_missing():
    con = connect("duckdb://:memory:")
    result = allocate_ledger_to_activities(
        put(con, "ledger", WORKED_LEDGER), put(con, "activities", WORKED_ACTIVITIES), WORKED_RULES
    )
    # Lose A4's costs, and show the theatre pool short by them, as a faulty step would.
    costs = result.activity_costs
    rec = result.reconciliation.execute()
    theatre = rec["pool"] == "theatre"
    rec.loc[theatre, "allocated"] = Decimal("2066.67")
    rec.loc[theatre, "difference"] = Decimal("4133.33")
    broken = AllocationResult(
        quantum=result.quantum,
        activity_costs=costs.filter(costs.activity_id != "A4"),
        reconciliation=ibis.memtable(rec).cast(result.reconciliation.schema()),
    )
    assert reconcile(broken) == [
        (
            "Pool theatre in 2024-01 does not reconcile: cost in pool £6200.00, allocated "
            "£2066.67, unallocated £0.00; £4133.33 is unaccounted for."
        ),
        (
            "The total does not reconcile: cost quantum £20150.00, allocated £15866.67, "
            "unallocated £150.00; £4133.33 is unaccounted for."
        ),
    ]


def test_overhead_share_of_a_department_without_direct_cost_is_reported_unallocated():
    con = connect("duckdb://:memory:")
    ledger = WORKED_LEDGER[WORKED_LEDGER.cost_centre != "WARD"]
    activities = WORKED_ACTIVITIES[WORKED_ACTIVITIES.cost_centre != "WARD"]
    result = allocate_ledger_to_activities(
        put(con, "l", ledger), put(con, "a", activities), WORKED_RULES
    )
    rec = result.reconciliation.execute().set_index("pool")
    assert Decimal(str(rec.loc["overhead estates", "unallocated"])) == Decimal("500.00")
    assert rec.loc["overhead estates", "department"] == "Ward"
    assert rec.loc["overhead estates", "unallocated_reason"] == NO_DIRECT_COST
    assert reconcile(result) == []


def test_a_zero_driver_leaves_the_pool_unallocated_with_the_reason():
    con = connect("duckdb://:memory:")
    activities = WORKED_ACTIVITIES.copy()
    activities.loc[activities.cost_centre == "WARD", "quantity"] = 0.0
    result = allocate_ledger_to_activities(
        put(con, "l", WORKED_LEDGER), put(con, "a", activities), WORKED_RULES
    )
    rec = result.reconciliation.execute().set_index("pool")
    assert Decimal(str(rec.loc["ward", "unallocated"])) == Decimal("4500.00")
    assert "zero driver" in rec.loc["ward", "unallocated_reason"]
    assert reconcile(result) == []


# --- properties over random ledgers and activity sets -------------------------------------

PROPERTY_RULES = CostingRules.model_validate(
    {
        "rules_version": "test",
        "description": "property tests",
        "periods": "ledger_month",
        "quantum": {"excluded_expense_types": ["excluded", "income"]},
        "departments": [
            {"name": "D1", "overhead_drivers": {"floor_area_m2": 120.5}},
            {"name": "D2", "overhead_drivers": {"floor_area_m2": 80}},
            {"name": "D3", "overhead_drivers": {"floor_area_m2": 33.3}},
            {"name": "D4", "overhead_drivers": {"floor_area_m2": 10}},  # never has a pool
        ],
        "overheads": [
            {"id": "estates", "ledger": {"cost_centres": ["C9"]}, "driver": "floor_area_m2"}
        ],
        "pools": [
            pool("beds", "D1", "C1", "ward_stay", "bed_days", code_weights={"HDU": 2.5}),
            pool(
                "critical",
                "D2",
                "C2",
                "critical_care",
                "critical_care_level_days",
                level_weights={2: 1.0, 3: 1.33},
            ),
            pool("theatre", "D3", "C3", "theatre", "theatre_staff_minutes"),
            pool("drugs", "D3", "C4", "pharmacy", "issue_value"),
        ],
    }
)
PERIODS = ["2024-01", "2024-02"]
CENTRE_TYPE = {"C1": "ward_stay", "C2": "critical_care", "C3": "theatre", "C4": "pharmacy"}

ledger_lines = st.lists(
    st.tuples(
        st.sampled_from(PERIODS),
        st.sampled_from(["C1", "C2", "C3", "C4", "C9", "C5"]),
        st.sampled_from(["E1", "E2"]),
        st.sampled_from(["pay", "non_pay", "excluded", "income"]),
        st.integers(-20_000, 5_000_000),
    ),
    max_size=14,
    unique_by=lambda line: line[:3],
)
activity_rows = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3", "C4"]),
        st.sampled_from(PERIODS + ["2024-03"]),
        st.integers(0, 500),
        st.integers(0, 400),
        st.integers(0, 10),
        st.sampled_from(["2", "3", None]),
        st.sampled_from(["HDU", "WARD", None]),
        st.integers(0, 400_000),
    ),
    max_size=25,
)


def ledger_frame(lines) -> pd.DataFrame:
    return pd.DataFrame(
        [(p, c, e, t, pennies / 100) for p, c, e, t, pennies in lines] or None,
        columns=LEDGER_COLUMNS,
    ).astype({"amount": "float64"})


def activity_frame(rows) -> pd.DataFrame:
    built = [
        activity(
            f"A{i:03d}",
            f"P{i % 7}",
            CENTRE_TYPE[centre],
            centre,
            f"{period}-15T08:00:00",
            code=code,
            minutes=float(minutes),
            quantity=quantity / 100,
            staff=str(staff),
            level=level,
            issue=f"{issue / 100:.2f}",
        )
        for i, (centre, period, quantity, minutes, staff, level, code, issue) in enumerate(rows)
    ]
    frame = pd.DataFrame(built or None, columns=ACTIVITY_COLUMNS)
    return frame.astype({"minutes": "float64", "quantity": "float64", "start_at": "datetime64[us]"})


def quantum_pennies(lines) -> int:
    return sum(pennies for _, _, _, kind, pennies in lines if kind not in ("excluded", "income"))


PROPERTY_CON = connect("duckdb://:memory:")
PROPERTY_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def allocate(lines, rows, *, order=None):
    ledger, activities = ledger_frame(lines), activity_frame(rows)
    if order is not None:
        ledger = ledger.sample(frac=1, random_state=order)
        activities = activities.sample(frac=1, random_state=order)
    return allocate_ledger_to_activities(
        put(PROPERTY_CON, "ledger", ledger),
        put(PROPERTY_CON, "activities", activities),
        PROPERTY_RULES,
    )


def pennies_by_row(result) -> dict[tuple[str, str, str, str], int]:
    frame = result.activity_costs.execute()
    return {
        (r.activity_id, r.pool, r.cost_centre, r.expense_code): int(Decimal(str(r.amount)) * 100)
        for r in frame.itertuples()
    }


@PROPERTY_SETTINGS
@given(ledger_lines, activity_rows)
def test_allocated_plus_unallocated_is_the_cost_quantum_to_the_penny(lines, rows):
    result = allocate(lines, rows)
    assert reconcile(result) == []
    allocated = sum(pennies_by_row(result).values())
    unallocated = sum(
        int(Decimal(str(v)) * 100) for v in result.reconciliation.execute().unallocated
    )
    assert allocated + unallocated == quantum_pennies(lines)


@PROPERTY_SETTINGS
@given(ledger_lines, activity_rows, st.integers(0, 2**31))
def test_allocation_does_not_depend_on_row_order(lines, rows, order):
    assert pennies_by_row(allocate(lines, rows, order=order)) == pennies_by_row(
        allocate(lines, rows)
    )


@PROPERTY_SETTINGS
@given(ledger_lines, activity_rows, st.integers(2, 9))
def test_scaling_a_pool_scales_its_patient_costs(lines, rows, factor):
    """The beds pool's lines times k: its total is k times as much, exactly, and each patient's
    share within k pennies of k times the old share (each share is rounded once)."""
    scaled = [
        (p, c, e, t, pennies * factor if c == "C1" else pennies) for p, c, e, t, pennies in lines
    ]
    before, after = pennies_by_row(allocate(lines, rows)), pennies_by_row(allocate(scaled, rows))
    direct_before = {k: v for k, v in before.items() if k[2] == "C1"}
    direct_after = {k: v for k, v in after.items() if k[2] == "C1"}
    assert sum(direct_after.values()) == factor * sum(direct_before.values())
    for key in direct_before.keys() | direct_after.keys():
        assert abs(direct_after.get(key, 0) - factor * direct_before.get(key, 0)) <= factor


# --- the rules file -------------------------------------------------------------------------


def test_the_shipped_rules_load():
    rules = load_costing_rules(SHIPPED_RULES)
    assert rules.periods == "ledger_month"
    assert {"excluded", "income"} <= set(rules.quantum.excluded_expense_types)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["pools"][0].update(driver="furlongs"), "pools.0.driver"),
        (lambda r: r["pools"][1].update(department="Nowhere"), "department 'Nowhere'"),
        (
            lambda r: r["pools"][1]["ledger"].update(cost_centres=["ICU"]),
            "taken by both 'icu' and 'theatre'",
        ),
        (lambda r: r["pools"][0].update(level_weights={}), "gives no level_weights"),
        (lambda r: r["overheads"][0].update(driver="staff_wte"), "no department declares"),
        (lambda r: r["quantum"].update(excluded_expense_types=["refunds"]), "refunds"),
    ],
)
def test_a_bad_rules_file_names_the_file_and_the_problem(tmp_path, change, message):
    import yaml

    data = WORKED_RULES.model_dump(mode="json", exclude_none=True)
    change(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError) as error:
        load_costing_rules(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_unreadable_rules_say_so(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pools: [unclosed")
    with pytest.raises(UserError, match="not valid YAML"):
        load_costing_rules(bad)
    with pytest.raises(UserError, match="Cannot read"):
        load_costing_rules(tmp_path / "missing.yaml")


# --- the synthetic trust ----------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_trust(tmp_path_factory):
    from carevalue.sources.ingest import ingest_extract
    from carevalue.synthetic.generate_trust import generate_trust

    folder = tmp_path_factory.mktemp("trust")
    generate_trust(folder, 3000, seed=3)
    con = connect("duckdb://:memory:")
    ingest_extract(folder, con, key=b"k" * 32, console=Console(quiet=True))
    return con


def test_synthetic_trust_reconciles_with_the_shipped_rules(synthetic_trust):
    con = synthetic_trust
    result = allocate_ledger_to_activities(
        con.table("ledger"), con.table("activities"), load_costing_rules(SHIPPED_RULES)
    )
    assert reconcile(result) == []
    rec = result.reconciliation
    unallocated = Decimal(str(rec.unallocated.sum().execute()))
    quantum = result.quantum
    in_quantum = Decimal(str(quantum.filter(quantum.in_quantum).amount.sum().execute()))
    # Every ledger line is mapped; what stays unallocated is overhead of departments with
    # no activity in a month (small in a 3,000-patient trust), under 3% of the quantum.
    assert set(rec.filter(rec.unallocated != 0).unallocated_reason.execute()) <= {NO_DIRECT_COST}
    assert 0 <= unallocated < Decimal("0.03") * in_quantum

    from carevalue.synthetic.catalogue import cost_written_activities

    activities = con.table("activities").execute()
    activities["catalogue"] = cost_written_activities(activities)
    costs = result.activity_costs
    per_activity = costs.group_by("activity_id").aggregate(cost=costs.amount.sum()).execute()
    merged = activities.merge(per_activity, on="activity_id", how="left")
    merged["cost"] = merged.cost.astype(float).fillna(0.0)
    by_type = merged.groupby("activity_type")[["cost", "catalogue"]].mean()
    # Patient costs are the ledger (activity x unit cost, ±3%) plus 18% overheads spread by
    # floor area, WTE and devices: each type's mean lands near its catalogue cost.
    assert (by_type.cost > 0).all()
    ratio = by_type.cost / by_type.catalogue
    assert ratio.between(0.9, 1.8).all(), ratio.to_dict()


def test_an_extract_without_the_extra_columns_is_costed_where_drivers_allow():
    """Without relative_weight and issue_value columns those drivers are 0; others still work."""
    con = connect("duckdb://:memory:")
    frame = WORKED_ACTIVITIES.drop(columns=["relative_weight", "issue_value"])
    schema = {k: v for k, v in SCHEMAS["activities"].items() if k in frame.columns}
    activities = con.create_table("a", ibis.memtable(frame).cast(schema))
    result = allocate_ledger_to_activities(put(con, "l", WORKED_LEDGER), activities, WORKED_RULES)
    assert activity_amounts(result) == {k: Decimal(v) for k, v in WORKED_EXPECTED.items()}
    assert reconcile(result) == []
