"""Outcomes, case-mix adjustment and value: the pack declarations, the run's tables, and the
synthetic trust, whose generator knows the effects an analysis should find.

The packs' test patients (conditions/*/tests/*.yaml, ``expect.outcomes``) check each
outcome kind and status by hand-worked example on both engines (test_episodes.py runs
them); here are the checks that need a whole trust.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_KEY
from rich.console import Console

from carevalue.conditions import shipped_conditions
from carevalue.outcomes.derived_outcomes import STATUSES
from carevalue.outcomes.episode_outcomes import outcome_order
from carevalue.packs import load_packs
from carevalue.packs.validate_packs import validate_packs
from carevalue.runs import run_pipeline
from carevalue.sources.ingest import ingest_extract
from carevalue.synthetic.generate_trust import generate_trust
from carevalue.synthetic.truths import ENDOCARDITIS
from carevalue.value import intervals
from carevalue.warehouse import connect

CONDITIONS = shipped_conditions()
PACKS = {pack.id: pack for pack in load_packs(CONDITIONS)}


# ---------------------------------------------------------------------- declarations


def test_outcomes_are_computed_after_the_outcomes_they_read():
    order = [o.id for o in outcome_order(PACKS["hepatitis_c"])]
    assert order.index("svr12_cure") < order.index("hcv_cured")  # the pack lists hcv_cured first
    assert order.index("svr12_cure") < order.index("reinfection_2y")
    assert order.index("hcv_treated") < order.index("hcv_cured")


def _pack_copy(tmp_path: Path, pack_id: str, old: str, new: str) -> Path:
    folder = tmp_path / "conditions" / pack_id
    shutil.copytree(CONDITIONS / pack_id, folder)
    pack_file = folder / "pack.yaml"
    text = pack_file.read_text()
    assert old in text
    pack_file.write_text(text.replace(old, new))
    return folder.parent


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "variables: [age, nihss, stroke_type, pre_stroke_mrs]",
            "variables: [age, nihss, stroke_kind]",
            "unknown case-mix variable 'stroke_kind'",
        ),
        (
            "      family: logistic\n      variables: [age, nihss, stroke_type",
            "      family: gamma\n      variables: [age, nihss, stroke_type",
            "risk_model family 'gamma' does not fit a 0/1 outcome: use 'logistic'",
        ),
        ("reporting:\n  min_cell: 10", "reporting:\n  min_cell: 0", "greater than 0"),
        (
            "          - {outcome: good_outcome_90d, weight: 1.0}\n    why",
            "          - {outcome: good_outcome_90d, weight: 0.9}\n    why",
            "the weights of 'independence only' sum to 0.9; they must sum to 1",
        ),
    ],
)
def test_outcome_declarations_are_validated(tmp_path, old, new, message):
    conditions = _pack_copy(tmp_path, "stroke", old, new)
    errors = validate_packs(conditions)
    assert any(message in e.message for e in errors), [e.message for e in errors]


def test_qalys_hold_the_utility_over_the_days_alive():
    from carevalue.outcomes.qaly import qaly_outcome
    from carevalue.packs.measures import QalyWithin

    outcome = QalyWithin(
        kind="qaly",
        id="q",
        name="q",
        definition="q",
        tier=1,
        direction="higher_is_better",
        timepoint="365d",
        source="derived",
        window={"from_day": 0, "to_day": 365},
        utility_outcome="u",
    )
    people = pd.DataFrame(
        {
            "episode_id": ["alive", "died_after", "died_before", "no_answer", "recent"],
            "index_date": pd.to_datetime(
                ["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01", "2023-06-01"]
            ),
            "death_date": pd.to_datetime([None, "2020-07-01", "2020-01-31", None, None]),
        }
    )
    utility = pd.DataFrame(
        {
            "episode_id": ["alive", "died_after", "died_before", "no_answer", "recent"],
            "value": [0.8, 0.5, np.nan, np.nan, 0.9],
            "status": ["measured", "measured", "not_applicable", "missing", "measured"],
        }
    )
    got = qaly_outcome(outcome, people, utility, pd.Timestamp("2024-03-31").date()).set_index(
        "episode_id"
    )
    assert got.loc["alive", "value"] == pytest.approx(0.8 * 366 / 365.25)  # days 0..365
    assert got.loc["died_after", "value"] == pytest.approx(
        0.5 * 182 / 365.25
    )  # 2020-01-01 to 2020-07-01
    assert got.loc["died_before", "value"] == 0.0 and got.loc["died_before", "status"] == "measured"
    assert got.loc["no_answer", "status"] == "missing" and np.isnan(got.loc["no_answer", "value"])
    assert got.loc["recent", "status"] == "not_due"


# ---------------------------------------------------------------------- a whole trust


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    """60,000 patients: enough endocarditis deaths before the service change (about 90)
    for the pack's four-term risk model at 10 events per term."""
    folder = tmp_path_factory.mktemp("outcomes_trust")
    manifest = generate_trust(folder / "extract", 60_000, seed=11)
    con = connect(str(folder / "warehouse.duckdb"))
    ingest_extract(folder / "extract", con, key=TEST_KEY, console=Console(quiet=True))
    report = run_pipeline(con, list(PACKS.values()))
    tables = {
        name: con.table(name).to_pandas()
        for name in (
            "episodes",
            "episode_outcomes",
            "episode_value",
            "metric_series",
            "risk_models",
            "value_sensitivity",
            "prom_response",
        )
    }
    return manifest, report, tables


@pytest.mark.slow
def test_every_episode_has_every_declared_outcome_with_a_status(trust):
    _, _, t = trust
    outcomes = t["episode_outcomes"]
    for pack in PACKS.values():
        episodes = t["episodes"][t["episodes"]["condition"] == pack.id]["episode_id"]
        mine = outcomes[outcomes["condition"] == pack.id]
        assert len(mine) == len(episodes) * len(pack.outcomes)
        assert set(mine["status"]) <= set(STATUSES)
        measured = mine["status"] == "measured"
        assert mine.loc[measured, "value"].notna().all()
        assert (
            mine.loc[~measured, "value"].isna().all()
            | (mine.loc[~measured, "status"] == "measured").all()
        )


@pytest.mark.slow
def test_outcomes_are_plausible_against_the_generator(trust):
    """Ranges from docs/synthetic-trust.md (the generator's truths, realised)."""
    _, _, t = trust
    o = t["episode_outcomes"]
    rate = o[(o["status"] == "measured") & o["follow_up_complete"]].groupby(
        ["condition", "outcome_id"]
    )["value"]
    means, medians = rate.mean(), rate.median()
    assert 0.12 <= means["stroke", "death_90d"] <= 0.22
    assert 35 <= medians["stroke", "door_to_needle"] <= 75
    assert 6 <= medians["stroke", "acute_length_of_stay"] <= 11
    assert 0.18 <= means["infective_endocarditis", "death_365d"] <= 0.34
    assert 0.10 <= means["infective_endocarditis", "death_in_hospital"] <= 0.22
    assert 0.88 <= means["hepatitis_c", "svr12_cure"] <= 0.98
    assert means["hepatitis_c", "hcv_diagnosed"] == 1.0
    assert 0.0 <= means["stroke", "eq5d_90d"] <= 1.0


@pytest.mark.slow
def test_the_endocarditis_team_improves_time_to_antibiotics_and_survival(trust):
    """Truth: the multidisciplinary team from 2021-10-01 cuts the median hours to the first
    IV antibiotic from 9 to 4 and the odds of death within a year by 0.65."""
    _, _, t = trust
    v = t["episode_value"]
    ie = v[v["condition"] == "infective_endocarditis"].copy()
    after = pd.to_datetime(ie["index_date"]) >= pd.Timestamp(ENDOCARDITIS.service_change_date)
    before_hours = ie.loc[~after, "out__time_to_antibiotics"].median()
    after_hours = ie.loc[after, "out__time_to_antibiotics"].median()
    assert after_hours < 0.6 * before_hours

    models = t["risk_models"].set_index(["condition", "outcome_id"])
    model = models.loc[("infective_endocarditis", "death_365d")]
    assert bool(model["fitted"]), model["reason"]
    assert model["fit_on"] == "2019-04-01 to 2021-09-30"
    died = ie[ie["complete__death_365d"] & ie["exp__death_365d"].notna()]
    period_after = pd.to_datetime(died["index_date"]) >= pd.Timestamp(
        ENDOCARDITIS.service_change_date
    )

    def o_e(rows):
        return intervals.poisson_ratio(
            rows["out__death_365d"].sum(), rows["exp__death_365d"].sum()
        )[0]

    # Fitted on the reference period, a logistic model with an intercept predicts exactly
    # its deaths there; after the change fewer die than the case mix predicts.
    assert o_e(died[~period_after]) == pytest.approx(1.0, abs=1e-6)
    assert o_e(died[period_after]) < 0.9
    assert (
        died.loc[period_after, "out__death_365d"].mean()
        < died.loc[~period_after, "out__death_365d"].mean()
    )


@pytest.mark.slow
def test_door_to_needle_o_e_finds_the_quicker_site(trust):
    """Truth: North's median door-to-needle is 45 minutes, South's 60, whatever the case mix."""
    _, _, t = trust
    s = t["metric_series"]
    rows = s[
        (s["condition"] == "stroke")
        & (s["metric"] == "door_to_needle__oe")
        & (s["period_type"] == "all")
        & (s["segment_type"] == "site")
    ].set_index("segment")
    assert rows.loc["North", "upper"] < 1 < rows.loc["South", "lower"]


@pytest.mark.slow
def test_metric_series_suppresses_small_cells_and_reconciles_counts(trust):
    _, _, t = trust
    s = t["metric_series"]
    small = s["n_used"] < 10
    assert s.loc[small, "value"].isna().all() and s.loc[small, "suppressed"].all()
    assert (s.loc[small & (s["n_used"] > 0), "note"].str.startswith("too few to report")).all()
    assert not s.loc[~small, "suppressed"].any()
    # Cells of one segmentation add up to the whole cohort.
    whole = s[(s["metric"] == "cost_mean") & (s["period_type"] == "all")]
    for segment_type, rows in whole.groupby(["condition", "segment_type"]):
        total = whole[(whole["condition"] == segment_type[0]) & (whole["segment_type"] == "all")][
            "n"
        ].iloc[0]
        assert rows["n"].sum() == total, segment_type


@pytest.mark.slow
def test_rates_match_a_direct_computation_with_wilson_intervals(trust):
    _, _, t = trust
    o = t["episode_outcomes"]
    mine = o[
        (o["condition"] == "stroke")
        & (o["outcome_id"] == "death_90d")
        & (o["status"] == "measured")
        & o["follow_up_complete"]
    ]
    s = t["metric_series"]
    row = s[
        (s["condition"] == "stroke")
        & (s["metric"] == "death_90d")
        & (s["period_type"] == "all")
        & (s["segment_type"] == "all")
    ].iloc[0]
    events, n = mine["value"].sum(), len(mine)
    assert row["value"] == pytest.approx(events / n)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(events, n, method="wilson")
    assert (row["lower"], row["upper"]) == pytest.approx((low, high))


@pytest.mark.slow
def test_value_figures_and_sensitivity(trust):
    _, report, t = trust
    v = t["episode_value"]
    stroke = v[v["condition"] == "stroke"]
    # The whole-cycle cost is zero here (the run has no costing rules), so every value
    # equation is blank rather than infinite.
    s = t["metric_series"]
    value_rows = s[(s["condition"] == "stroke") & (s["metric_kind"] == "value")]
    assert value_rows["value"].isna().all()
    assert (stroke["cost_whole_cycle"] == 0).all()
    assert set(t["value_sensitivity"]["weight_set"]) >= {
        "pack weights",
        "equal weights",
        "survival first",
    }
    assert report.outcomes.models


@pytest.mark.slow
def test_prom_response_compares_responders_with_non_responders(trust):
    """Truth: PROM response falls with severity and deprivation, so responders are less
    deprived (a higher IMD decile) than non-responders."""
    _, _, t = trust
    p = t["prom_response"]
    row = p[(p["outcome_id"] == "mrs_90d") & (p["variable"] == "imd_decile")].iloc[0]
    assert 0.4 <= row["response_rate"] <= 0.9
    assert row["responders_mean"] > row["non_responders_mean"]
    assert row["returned"] <= row["due"]


def test_costed_value_uses_one_costing_method(tmp_path):
    """Value figures divide by the top-down cost, never the TDABC rows kept beside it."""
    from carevalue.costing.plics_rules import load_costing_rules

    generate_trust(tmp_path / "extract", 3_000, seed=2)
    con = connect(str(tmp_path / "w.duckdb"))
    ingest_extract(tmp_path / "extract", con, key=TEST_KEY, console=Console(quiet=True))
    rules = load_costing_rules("synthetic")
    run_pipeline(con, list(PACKS.values()), rules, conditions_folder=CONDITIONS)
    costs = con.table("episode_costs")
    top_down = (
        costs.filter(costs.method != "tdabc")
        .group_by("episode_id")
        .aggregate(total=costs.amount.sum())
        .to_pandas()
    )
    value = con.table("episode_value").to_pandas().merge(top_down, on="episode_id")
    assert len(value) > 50
    np.testing.assert_allclose(value["cost_whole_cycle"], value["total"].astype(float), rtol=1e-9)

    # The outcome reports of that run, printed and downloaded: aggregate and suppressed.
    from typer.testing import CliRunner

    from carevalue.cli import app

    result = CliRunner().invoke(
        app,
        [
            "outcomes",
            "report",
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--csv",
            str(tmp_path / "csv"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "Risk models" in result.output and "Outcomes headline" in result.output
    series = pd.read_csv(tmp_path / "csv" / "metric_series.csv")
    assert not series.loc[series["n_used"] < 10, "value"].notna().any()
    assert "patient_id" not in series.columns and "episode_id" not in series.columns
    headline = pd.read_csv(tmp_path / "csv" / "outcomes_headline.csv")
    assert "Death within 90 days" in set(headline["label"])


def test_outcome_reports_before_any_run_say_what_to_do(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "carevalue",
            "outcomes",
            "report",
            "--warehouse",
            str(tmp_path / "empty.duckdb"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: This warehouse has no metric_series yet: run 'carevalue run' "
        "(or 'carevalue demo') to compute outcomes."
    ]


def test_a_whole_run_with_outcomes_and_charts_on_every_engine(engine, tiny_extract):
    """The outcomes stage is Ibis over the feeds, then pure statistics; the run publishes
    its frames on whichever engine holds the warehouse."""
    ingest_extract(tiny_extract, engine, key=TEST_KEY, console=Console(quiet=True))
    report = run_pipeline(engine, list(PACKS.values()))
    assert report.episodes["stroke"] == 1
    outcomes = engine.table("episode_outcomes").to_pandas()
    stroke = outcomes[outcomes["condition"] == "stroke"].set_index("outcome_id")
    assert len(stroke) == len(PACKS["stroke"].outcomes)
    # P1: admitted 2020-01-01 10:00 with I63.9, home on 2020-01-09 12:00; the data end on
    # 2020-03-01, so the 90-day outcomes are not yet due.
    assert stroke.loc["discharged_home", ["value", "status"]].tolist() == [1.0, "measured"]
    assert stroke.loc["acute_length_of_stay", "value"] == pytest.approx(8 + 2 / 24)
    assert stroke.loc["death_90d", "status"] == "not_due"
    assert stroke.loc["door_to_needle", "status"] == "not_applicable"
    for name in ("episode_value", "metric_series", "risk_models", "metric_spc", "metric_spc_icons"):
        assert name in engine.list_tables(), name
    # The flow stage ran on the same engine: P1's pathway as one case on the map.
    flow = engine.table("flow_events").to_pandas()
    flow = flow[flow["condition"] == "stroke"]
    assert flow["episode_id"].nunique() == 1
    assert sorted(flow["seq"]) == list(range(len(flow)))  # numbered from 0, as row_number
    edges = engine.table("flow_edges").to_pandas()
    assert edges.loc[edges["condition"] == "stroke", "count"].sum() == len(flow) - 1
    variants = engine.table("flow_variants").to_pandas()
    variants = variants[variants["condition"] == "stroke"]
    assert variants["count"].tolist() == [1] and variants["length"].tolist() == [len(flow)]
    series = engine.table("metric_series").to_pandas()
    # One episode: every figure is suppressed, and says why.
    assert series["suppressed"].all() and series["value"].isna().all()
