"""Episode costs: shared activities split in whole pennies, never counted twice, and the
synthetic trust costed end to end by a run that reconciles to its ledger."""

from __future__ import annotations

from decimal import Decimal

import ibis
import pandas as pd
import pytest
from conftest import TEST_KEY
from rich.console import Console

from carevalue.conditions import shipped_conditions
from carevalue.costing.episode_costs import episode_costs, split_shared_activity_costs
from carevalue.costing.plics_rules import load_costing_rules
from carevalue.costing.shipped_rules import costing_rules_file
from carevalue.errors import UserError
from carevalue.packs import load_packs
from carevalue.runs import run_pipeline
from carevalue.sources.ingest import ingest_extract
from carevalue.synthetic.generate_trust import generate_trust
from carevalue.warehouse import connect

CONDITIONS = shipped_conditions()
RULES = costing_rules_file("synthetic")


def put(con, name, frame):
    return con.create_table(name, ibis.memtable(frame), overwrite=True)


def test_a_shared_activity_is_split_in_whole_pennies_that_add_up(engine):
    claims = put(
        engine,
        "claims",
        pd.DataFrame(
            {
                "episode_id": ["stroke-b", "hepatitis_c-a", "stroke-b", "stroke-c"],
                "condition": ["stroke", "hepatitis_c", "stroke", "stroke"],
                "activity_id": ["A1", "A1", "A2", "A1"],
                "stage": ["acute", "other", "acute", "acute"],
            }
        ),
    )
    costs = put(
        engine,
        "costs",
        pd.DataFrame(
            {
                "activity_id": ["A1", "A2"],
                "pool": ["bed", "bed"],
                "department": ["Stroke Unit"] * 2,
                "resource": ["ward"] * 2,
                "cost_centre": ["CC1"] * 2,
                "expense_code": ["E1"] * 2,
                "amount": [Decimal("100.00"), Decimal("10.01")],
            }
        ).astype({"amount": "object"}),
    )
    costs = costs.mutate(amount=costs.amount.cast("decimal(18, 2)"))
    shares = (
        split_shared_activity_costs(claims, costs)
        .execute()
        .sort_values(["activity_id", "episode_id"])
    )
    # A1 is £100.00 over three episodes: 3333, 3333, 3334 pennies; the spare penny goes to
    # the first episode by id.
    assert list(shares.share_pennies) == [3334, 3333, 3333, 1001]
    assert list(shares.episode_id) == ["hepatitis_c-a", "stroke-b", "stroke-c", "stroke-b"]
    totals = episode_costs(claims, costs).execute()
    assert sum(Decimal(str(a)) for a in totals.amount) == Decimal("110.01")
    assert set(totals.provenance) == {"bed:CC1/E1"}


@pytest.fixture(scope="module")
def costed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust")
    generate_trust(folder / "extract", 4_000, seed=9)
    con = connect(str(folder / "warehouse.duckdb"))
    ingest_extract(folder / "extract", con, key=TEST_KEY, console=Console(quiet=True))
    report = run_pipeline(
        con, load_packs(CONDITIONS), load_costing_rules(RULES), conditions_folder=CONDITIONS
    )
    return con, report


def test_the_synthetic_trust_is_costed_end_to_end_and_reconciles(costed):
    con, report = costed
    rec = con.table("cost_reconciliation").execute()
    assert (rec["difference"].map(lambda d: Decimal(str(d))) == 0).all()
    quantum = con.table("cost_quantum").execute()
    in_quantum = sum(
        Decimal(str(a)) for a, q in zip(quantum.amount, quantum.in_quantum, strict=True) if q
    )
    allocated = sum(Decimal(str(a)) for a in con.table("activity_costs").execute().amount)
    unallocated = sum(Decimal(str(a)) for a in rec.unallocated)
    assert in_quantum == allocated + unallocated
    assert report.costing.cost_quantum == pytest.approx(float(in_quantum))


def test_episode_costs_never_count_an_activity_twice(costed):
    con, _ = costed
    in_episodes = con.table("episode_activities").select("activity_id").distinct()
    activity_costs = con.table("activity_costs")
    claimed = activity_costs.semi_join(in_episodes, "activity_id").amount.sum().execute()
    plics_rows = con.table("episode_costs").filter(lambda t: t.method == "plics")
    episode_total = plics_rows.amount.sum().execute()
    assert Decimal(str(episode_total)) == Decimal(str(claimed))


def test_mean_cost_per_episode_is_plausible(costed):
    _, report = costed
    means = {c: f.mean_cost for c, f in report.costing.by_condition.items()}
    # Hospital cost of the first year after a stroke (acute stay, rehabilitation, early
    # supported discharge, review): the synthetic trust documents £8k-£25k; endocarditis
    # (long IV antibiotics, surgery for about half) costs more; hepatitis C is dominated by
    # the antiviral course (list price about £39k for 12 weeks, reference/costs).
    assert 6_000 < means["stroke"] < 25_000
    assert 10_000 < means["infective_endocarditis"] < 60_000
    assert 5_000 < means["hepatitis_c"] < 45_000


def test_a_costing_that_does_not_reconcile_is_not_published(costed, monkeypatch):
    con, _ = costed
    import carevalue.costing.costing_stage as costing_stage

    before = con.table("runs").count().execute()
    monkeypatch.setattr(
        costing_stage,
        "reconcile",
        lambda result: ["Pool bed in 2020-01 does not reconcile: £0.01 is unaccounted for."],
    )
    with pytest.raises(
        UserError,
        match="Costing did not reconcile, so the run was not published: Pool bed in 2020-01",
    ):
        run_pipeline(
            con, load_packs(CONDITIONS), load_costing_rules(RULES), conditions_folder=CONDITIONS
        )
    assert con.table("runs").count().execute() == before


def test_costing_reports_add_up_to_the_episode_costs(costed):
    from carevalue.costing.cost_reports import REPORTS

    con, _ = costed
    frames = {name: build(con) for name, build in REPORTS.items()}
    # Every cell shown, so that the cells can add up (small-number suppression blanks some
    # at the packs' min_cell: tests/test_exports.py).
    for name in ("cost_per_episode", "cost_by_stage", "cost_by_resource"):
        frames[name] = REPORTS[name](con, min_cell=1)
    total = float(
        con.table("episode_costs").filter(lambda t: t.method == "plics").amount.sum().execute()
    )
    per_episode = frames["cost_per_episode"]
    assert per_episode["total"].sum() == pytest.approx(total, abs=0.05)
    assert (per_episode["p10"] <= per_episode["median"]).all()
    assert (per_episode["median"] <= per_episode["p90"]).all()
    for name in ("cost_by_stage", "cost_by_resource"):
        frame = frames[name]
        assert frame["total"].sum() == pytest.approx(total, abs=0.05)
        assert frame.groupby("condition")["share"].sum().round(3).eq(1.0).all()
    assert frames["top_cost_drivers"].groupby("condition")["rank"].max().le(10).all()
    rec = frames["reconciliation"].set_index("line")["amount"]
    assert rec["difference (must be 0.00)"] == 0
    assert rec["cost quantum (ledger less exclusions)"] == pytest.approx(
        rec["allocated to activities"] + rec["unallocated (reported, not loaded onto patients)"],
        abs=0.005,
    )


def test_costing_reports_need_a_costed_run():
    from carevalue.costing.cost_reports import cost_by_stage

    with pytest.raises(UserError, match="no costed run yet"):
        cost_by_stage(connect("duckdb://:memory:"))


def test_imported_per_activity_costs_cost_episodes_instead_of_the_ledger(costed, tmp_path):
    from carevalue.costing.imported_costs import IMPORTED_ACTIVITY_COSTS, IMPORTED_TABLE

    con, _ = costed
    costs = con.table("activity_costs")
    own = (
        costs.group_by(["activity_id", "resource", "department"])
        .aggregate(amount=costs.amount.sum())
        .execute()
    )
    own["amount"] = own["amount"].astype(float)
    folder = tmp_path / "costing_system"
    folder.mkdir()
    bad = pd.DataFrame(
        [{"activity_id": "A-NEGATIVE", "resource": "bed", "department": "X", "amount": -5.0}]
    )
    pd.concat([own, bad]).to_csv(folder / "imported_activity_costs.csv", index=False)
    load = ingest_extract(
        folder,
        con,
        key=b"",
        console=Console(quiet=True),
        catalogue={IMPORTED_TABLE: IMPORTED_ACTIVITY_COSTS},
    )
    assert (load.feeds[0].rows_loaded, load.feeds[0].rows_quarantined) == (len(own), 1)

    with pytest.raises(UserError, match="Choose one source of costs"):
        run_pipeline(con, load_packs(CONDITIONS), load_costing_rules(RULES), imported_costs=True)
    report = run_pipeline(
        con, load_packs(CONDITIONS), imported_costs=True, conditions_folder=CONDITIONS
    )
    assert report.costing.source == "imported"
    episode_costs_now = con.table("episode_costs")
    assert set(episode_costs_now.method.execute()) == {"imported", "tdabc"}
    episode_costs_now = episode_costs_now.filter(episode_costs_now.method == "imported")
    in_episodes = con.table("episode_activities").select("activity_id").distinct()
    claimed = con.table(IMPORTED_TABLE).semi_join(in_episodes, "activity_id").amount.sum().execute()
    assert float(episode_costs_now.amount.sum().execute()) == pytest.approx(
        float(claimed), abs=0.01
    )


def test_tdabc_process_map_beside_plics_for_the_stroke_hyperacute_stage(costed):
    from carevalue.costing.compare_methods import compare_stage_costs, tdabc_unit_cost
    from carevalue.costing.tdabc import cost_model, load_tdabc_model

    con, _ = costed
    run_pipeline(
        con, load_packs(CONDITIONS), load_costing_rules(RULES), conditions_folder=CONDITIONS
    )
    frame = compare_stage_costs(con, load_packs(CONDITIONS), CONDITIONS)
    row = frame.set_index(["condition", "stage"]).loc[("stroke", "hyperacute")]
    process = cost_model(
        load_tdabc_model(CONDITIONS / "stroke/process_maps/hyperacute.yaml")
    ).process("hyperacute_stage")
    assert row["tdabc_per_patient"] == pytest.approx(float(process.expected_cost), abs=0.005)
    assert row["plics_mean_per_episode"] > 0
    assert row["difference"] == pytest.approx(
        row["plics_mean_per_episode"] - row["tdabc_per_patient"], abs=0.01
    )
    with pytest.raises(UserError, match="which does not exist"):
        tdabc_unit_cost(CONDITIONS / "stroke", "process_maps/missing.yaml#x")


def test_tdabc_rows_sit_beside_plics_rows_with_step_provenance(costed):
    con, _ = costed
    run_pipeline(
        con, load_packs(CONDITIONS), load_costing_rules(RULES), conditions_folder=CONDITIONS
    )
    costs = con.table("episode_costs").execute()
    tdabc = costs[costs.method == "tdabc"]
    assert set(tdabc.stage) == {"hyperacute"} and set(tdabc.condition) == {"stroke"}
    assert tdabc.provenance.str.startswith("process_maps/hyperacute.yaml#hyperacute_stage/").all()
    reached = costs[
        (costs.method == "plics") & (costs.condition == "stroke") & (costs.stage == "hyperacute")
    ]
    assert set(tdabc.episode_id) == set(reached.episode_id)
