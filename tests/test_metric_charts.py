"""Charts of the metric series (carevalue.value.metric_charts): XmR charts of every
monthly series, their icons, and funnels across sites and teams.

Small metric_series frames are built by hand so each rule can be read off the data; the
last test runs the whole pipeline on a small synthetic trust.
"""

from __future__ import annotations

import warnings

import ibis
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from carevalue.conditions import shipped_conditions
from carevalue.stats.spc import VARIATION_ICONS, ShortSeriesWarning
from carevalue.value.metric_charts import (
    FUNNEL_COLUMNS,
    ICON_COLUMNS,
    SPC_COLUMNS,
    charts_for_run,
    funnel_charts,
    metric_directions,
    spc_charts,
    spc_icons,
)
from carevalue.value.metric_series import COLUMNS as SERIES_COLUMNS

TEST_KEY = b"test-key-for-pseudonymisation-0123456789"

# A steady process: values alternate around 10, so the limits are easy to reason about
# (mean 10, average moving range 1, limits 10 +/- 2.66) and nothing in it is special.
STEADY = [9.5, 10.5] * 12


def months(first: str, count: int) -> list[str]:
    return [str(p) for p in pd.period_range(first, periods=count, freq="M")]


def series_rows(
    values,
    *,
    condition="stroke",
    metric="door_to_needle",
    kind="mean",
    segment_type="all",
    segment="all",
    first="2022-04",
    suppressed=(),
    absent=(),
    period_type="admission_month",
    periods=None,
) -> pd.DataFrame:
    """metric_series rows for one series: month i gets values[i]; months in ``suppressed``
    are blanked as disclosure control blanks them; months in ``absent`` have no row."""
    periods = periods or months(first, len(values))
    rows = []
    for i, (period, value) in enumerate(zip(periods, values, strict=True)):
        if i in absent:
            continue
        small = i in suppressed
        rows.append(
            {
                "condition": condition,
                "metric": metric,
                "metric_kind": kind,
                "period_type": period_type,
                "period": period,
                "segment_type": segment_type,
                "segment": segment,
                "n": 5 if small else 20,
                "n_due": 20,
                "n_used": 5 if small else 20,
                "numerator": np.nan,
                "denominator": np.nan,
                "expected": np.nan,
                "value": np.nan if small else float(value),
                "lower": np.nan,
                "upper": np.nan,
                "suppressed": small,
                "note": "too few to report (fewer than 10 episodes)" if small else None,
            }
        )
    return pd.DataFrame(rows, columns=SERIES_COLUMNS)


def one_series(charts: pd.DataFrame, segment="all", metric=None) -> pd.DataFrame:
    rows = charts[charts["segment"] == segment]
    if metric is not None:
        rows = rows[rows["metric"] == metric]
    return rows.sort_values("date").reset_index(drop=True)


def quietly(function, *args, **kwargs):
    """Call and fail on any ShortSeriesWarning: the module must record, not warn."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args, **kwargs)
    assert not [w for w in caught if issubclass(w.category, ShortSeriesWarning)]
    return result


# ---------------------------------------------------------------------- XmR charts


def test_a_planted_special_cause_is_flagged():
    values = list(STEADY)
    values[15] = 20.0  # far above 10 + 2.66
    charts = quietly(
        spc_charts, series_rows(values), directions={("stroke", "door_to_needle"): "decrease"}
    )
    chart = one_series(charts)
    assert list(chart.columns) == SPC_COLUMNS
    assert len(chart) == 24
    flagged = chart[chart["special_cause_flag"]]
    assert flagged.index.tolist() == [15]
    assert flagged["rule"].iloc[0] == "astronomical"
    # Lower is better, so a high point is a concern.
    assert flagged["point_type"].iloc[0] == "special_cause_concern"
    assert set(chart.loc[chart.index != 15, "point_type"]) == {"common_cause"}
    assert chart["date"].iloc[0] == pd.Timestamp("2022-04-01")
    assert (chart["date"].diff().dropna() > pd.Timedelta(days=27)).all()


def test_suppressed_and_empty_months_stay_as_gaps():
    values = list(STEADY)
    charts = quietly(spc_charts, series_rows(values, suppressed={5, 6}, absent={10}))
    chart = one_series(charts)
    assert len(chart) == 24  # every month of the calendar, the gaps included
    assert chart.loc[[5, 6, 10], "y"].isna().all()
    assert chart.loc[[5, 6], "gap"].tolist() == ["suppressed", "suppressed"]
    assert chart.loc[10, "gap"] == "no_episodes"
    assert chart.loc[10, "n"] == 0
    assert chart["gap"].drop([5, 6, 10]).isna().all()
    # A gap has the period's limits but no point type, and is never flagged.
    assert chart.loc[[5, 6, 10], "mean"].notna().all()
    assert chart.loc[[5, 6, 10], "point_type"].isna().all()
    assert not chart.loc[[5, 6, 10], "special_cause_flag"].any()
    observed = [v for i, v in enumerate(values) if i not in (5, 6, 10)]
    assert chart["mean"].iloc[0] == pytest.approx(np.mean(observed))


def test_a_gap_breaks_a_run():
    # Seven months above the mean, but the fourth is suppressed: not a run of seven.
    values = [11.0, 9.0] * 6 + [10.6] * 7 + [9.0, 11.0, 9.0, 11.0, 9.0]
    broken = one_series(quietly(spc_charts, series_rows(values, suppressed={15})))
    whole = one_series(quietly(spc_charts, series_rows(values)))
    assert (whole["rule"] == "shift").sum() == 7
    assert not (broken["rule"] == "shift").any()


def test_gaps_are_kept_when_months_are_missing_at_the_start_of_one_series():
    site_a = series_rows(STEADY, segment_type="site", segment="A")
    site_b = series_rows(STEADY[:20], segment_type="site", segment="B", first="2022-08")
    charts = quietly(spc_charts, pd.concat([site_a, site_b]))
    b = one_series(charts, "B")
    assert len(b) == 24  # on the condition's calendar, which starts in April
    assert b.loc[:3, "gap"].eq("no_episodes").all()
    assert b.loc[4:, "y"].notna().all()


# The last four months before the change rise and the first three after it rise too,
# and the seven sit above their own period's mean: a trend and a shift if the runs crossed
# the change, nothing when they do not.
BEFORE = [9.0, 11.0] * 4 + [10.4, 10.5, 10.6, 10.7]
AFTER = [20.5, 20.6, 20.7] + [19.0, 21.0] * 4 + [19.0]


def changes(date, **scope) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "condition": "stroke",
                "change_date": pd.Timestamp(date).date(),
                "description": "new hyperacute unit",
                **scope,
            }
        ]
    )


def test_a_service_change_rebases_and_runs_do_not_cross_it():
    rows = series_rows(BEFORE + AFTER)
    unbroken = one_series(quietly(spc_charts, rows))
    assert unbroken["special_cause_flag"].any()

    chart = one_series(quietly(spc_charts, rows, changes("2023-04-01")))
    assert chart["rebase_group"].tolist() == [0] * 12 + [1] * 12
    assert chart["mean"].iloc[0] == pytest.approx(np.mean(BEFORE))
    assert chart["mean"].iloc[-1] == pytest.approx(np.mean(AFTER))
    assert not chart["special_cause_flag"].any()
    assert chart["note"].isna().all()


def test_a_change_in_mid_month_rebases_at_the_next_month():
    rows = series_rows(BEFORE + AFTER)
    chart = one_series(quietly(spc_charts, rows, changes("2023-03-15")))
    # 2023-03 mixes old and new, so the new period starts in April.
    assert chart["rebase_group"].tolist() == [0] * 12 + [1] * 12
    chart = one_series(quietly(spc_charts, rows, changes("2023-03-01")))
    assert chart["rebase_group"].tolist() == [0] * 11 + [1] * 13


def test_a_change_for_one_site_rebases_only_that_site():
    values = BEFORE + AFTER
    rows = pd.concat(
        [series_rows(values, segment_type="site", segment=s) for s in ("A", "B")]
        + [series_rows(values)]
    )
    charts = quietly(spc_charts, rows, changes("2023-04-01", segment_type="site", segment="A"))
    assert one_series(charts, "A")["rebase_group"].max() == 1
    assert one_series(charts, "B")["rebase_group"].max() == 0
    assert one_series(charts, "all")["rebase_group"].max() == 0
    by_type = quietly(spc_charts, rows, changes("2023-04-01", segment_type="site"))
    assert one_series(by_type, "B")["rebase_group"].max() == 1
    assert one_series(by_type, "all")["rebase_group"].max() == 0


def test_a_change_too_recent_to_chart_is_noted_not_applied():
    rows = series_rows(STEADY)
    # One month after the change: a period of one point cannot have limits yet.
    chart = one_series(quietly(spc_charts, rows, changes("2024-03-01")))
    assert chart["rebase_group"].max() == 0
    assert chart["mean"].notna().all()
    assert "not rebased at 2024-03" in chart["note"].iloc[0]
    # Changes before the data or after it change nothing and say nothing.
    for date in ("2020-01-01", "2030-01-01"):
        chart = one_series(quietly(spc_charts, rows, changes(date)))
        assert chart["rebase_group"].max() == 0 and chart["note"].isna().all()


def test_changes_for_another_condition_are_ignored():
    rows = series_rows(BEFORE + AFTER)
    other = changes("2023-04-01").assign(condition="hepatitis_c")
    assert one_series(quietly(spc_charts, rows, other))["rebase_group"].max() == 0


@pytest.mark.parametrize(
    ("direction", "point_type", "icon"),
    [
        ("increase", "special_cause_improvement", "improvement_high"),
        ("decrease", "special_cause_concern", "concern_high"),
        ("neutral", "special_cause_neutral_high", "neutral_high"),
        (None, "special_cause_neutral_high", "neutral_high"),  # no direction given: neutral
    ],
)
def test_directions_decide_improvement_or_concern(direction, point_type, icon):
    values = [*STEADY[:-1], 20.0]  # the latest point is far above the limits
    directions = None if direction is None else {("stroke", "door_to_needle"): direction}
    chart = one_series(quietly(spc_charts, series_rows(values), directions=directions))
    assert chart["point_type"].iloc[-1] == point_type
    assert set(chart["variation"]) == {icon}
    assert set(chart["improvement"]) == {direction or "neutral"}


def test_a_low_point_on_a_higher_is_better_measure_is_a_concern():
    values = [*STEADY[:-1], 1.0]
    directions = {("stroke", "door_to_needle"): "increase"}
    chart = one_series(quietly(spc_charts, series_rows(values), directions=directions))
    assert chart["point_type"].iloc[-1] == "special_cause_concern"
    assert chart["variation"].iloc[0] == "concern_low"


def test_directions_are_per_metric():
    rows = pd.concat([series_rows([*STEADY[:-1], 20.0], metric=m) for m in ("a", "b")])
    charts = quietly(
        spc_charts, rows, directions={("stroke", "a"): "increase", ("stroke", "b"): "decrease"}
    )
    assert one_series(charts, metric="a")["variation"].iloc[0] == "improvement_high"
    assert one_series(charts, metric="b")["variation"].iloc[0] == "concern_high"


def test_a_wrong_direction_is_refused():
    with pytest.raises(ValueError, match="directions"):
        spc_charts(series_rows(STEADY), directions={("stroke", "door_to_needle"): "up"})


def test_short_series_are_recorded_not_warned():
    charts = quietly(spc_charts, series_rows(STEADY[:6]))
    assert one_series(charts)["short_series"].all()
    assert not one_series(quietly(spc_charts, series_rows(STEADY)))["short_series"].any()


def test_series_too_short_to_chart_keep_their_rows_with_a_note():
    one_point = series_rows(
        STEADY[:6], segment_type="site", segment="A", suppressed={0, 1, 2, 3, 4}
    )
    no_pair = series_rows(STEADY[:6], segment_type="site", segment="B", suppressed={1, 3, 5})
    fine = series_rows(STEADY[:6], segment_type="site", segment="C")
    charts = quietly(spc_charts, pd.concat([one_point, no_pair, fine]))
    assert len(charts) == 18
    a, b = one_series(charts, "A"), one_series(charts, "B")
    for chart in (a, b):
        assert chart["mean"].isna().all() and chart["point_type"].isna().all()
        assert chart["variation"].isna().all() and not chart["special_cause_flag"].any()
    assert a["note"].iloc[0] == "not charted: fewer than 2 months with a value"
    assert b["note"].iloc[0] == "not charted: no two consecutive months with a value"
    assert a["y"].notna().sum() == 1  # the value itself is still there to plot
    assert one_series(charts, "C")["mean"].notna().all()


def test_two_rows_for_one_month_are_refused():
    rows = series_rows(STEADY)
    with pytest.raises(ValueError, match="two rows for one month"):
        spc_charts(pd.concat([rows, rows.iloc[[3]]]))


def test_only_monthly_rows_are_charted_and_unknown_months_are_left_out():
    monthly = series_rows(STEADY)
    yearly = series_rows([10.0, 11.0], period_type="financial_year", periods=["2022/23", "2023/24"])
    unknown = series_rows([10.0], periods=["unknown"])
    charts = quietly(spc_charts, pd.concat([monthly, yearly, unknown]))
    assert len(charts) == 24


def test_empty_input_gives_empty_typed_tables():
    empty = pd.DataFrame(columns=SERIES_COLUMNS)
    tables = charts_for_run(empty, None, None)
    assert list(tables["metric_spc"].columns) == SPC_COLUMNS
    assert list(tables["metric_spc_icons"].columns) == ICON_COLUMNS
    assert list(tables["metric_funnel"].columns) == FUNNEL_COLUMNS
    assert all(frame.empty for frame in tables.values())
    assert tables["metric_spc"]["y"].dtype == float


# ---------------------------------------------------------------------- icons


def test_icons_give_one_row_per_series():
    rows = pd.concat(
        [
            series_rows([*STEADY[:-1], 20.0], segment_type="site", segment="A"),
            series_rows(STEADY, segment_type="site", segment="B", suppressed={22, 23}),
            series_rows(STEADY[:3], segment_type="site", segment="C", suppressed={0, 1}),
        ]
    )
    charts = quietly(spc_charts, rows, directions={("stroke", "door_to_needle"): "decrease"})
    icons = spc_icons(charts).set_index("segment")
    assert list(spc_icons(charts).columns) == ICON_COLUMNS
    assert icons.loc["A", "variation"] == "concern_high"
    assert icons.loc["B", "variation"] == "common_cause"
    # B's latest months are suppressed: its icon describes its latest value.
    assert icons.loc["B", "last_observed"] == pd.Timestamp("2024-01-01")
    assert icons.loc["B", "latest_y"] == STEADY[21]
    assert icons.loc["B", "observed"] == 22 and icons.loc["B", "months"] == 24
    assert not icons.loc["C", "charted"] and pd.isna(icons.loc["C", "variation"])
    assert icons.loc["C", "note"].startswith("not charted")
    assert icons["assurance"].isna().all()  # no targets yet
    assert set(icons.loc[["A", "B"], "variation"]) <= set(VARIATION_ICONS)


def test_assurance_compares_a_target_with_the_current_limits():
    rows = series_rows(STEADY)  # limits 10 +/- 2.66
    key = ("stroke", "door_to_needle")
    for target, expected in (
        (15.0, "consistent_pass"),
        (5.0, "consistent_fail"),
        (10.0, "inconsistent"),
    ):
        charts = spc_charts(rows, directions={key: "decrease"}, targets={key: target})
        assert spc_icons(charts)["assurance"].iloc[0] == expected


# ---------------------------------------------------------------------- funnels


def year_rows(metric, kind, cells, *, condition="stroke", segment_type="site", period="2023/24"):
    """Financial-year rows, one per segment: cells = {segment: (numerator, denominator,
    expected, suppressed)}."""
    rows = []
    for segment, (numerator, denominator, expected, small) in cells.items():
        value = numerator / expected if kind == "observed_expected" else numerator / denominator
        rows.append(
            {
                "condition": condition,
                "metric": metric,
                "metric_kind": kind,
                "period_type": "financial_year",
                "period": period,
                "segment_type": segment_type,
                "segment": segment,
                "n": 150,
                "n_due": 140,
                "n_used": int(denominator),
                "numerator": np.nan if small else float(numerator),
                "denominator": np.nan if small else float(denominator),
                "expected": np.nan if small else expected,
                "value": np.nan if small else value,
                "lower": np.nan,
                "upper": np.nan,
                "suppressed": small,
                "note": None,
            }
        )
    return pd.DataFrame(rows, columns=SERIES_COLUMNS)


# Twelve sites with observed close to expected, and one (H) with three times its expected.
# Twelve, so that trimming keeps H out of the overdispersion estimate.
OBSERVED = {
    "A": 21,
    "B": 18,
    "C": 25,
    "D": 30,
    "E": 14,
    "F": 22,
    "G": 27,
    "H": 60,
    "I": 19,
    "J": 24,
    "K": 16,
    "L": 28,
}
EXPECTED = {
    "A": 20.0,
    "B": 19.5,
    "C": 24.0,
    "D": 31.0,
    "E": 15.0,
    "F": 20.5,
    "G": 26.0,
    "H": 20.0,
    "I": 20.0,
    "J": 22.5,
    "K": 17.0,
    "L": 27.0,
}
MEASURED = {
    "A": 140,
    "B": 130,
    "C": 160,
    "D": 200,
    "E": 100,
    "F": 150,
    "G": 170,
    "H": 140,
    "I": 140,
    "J": 150,
    "K": 120,
    "L": 180,
}


def death_rows(suppressed=()) -> pd.DataFrame:
    oe = {s: (OBSERVED[s], MEASURED[s], EXPECTED[s], s in suppressed) for s in OBSERVED}
    rate = {s: (OBSERVED[s], MEASURED[s], np.nan, s in suppressed) for s in OBSERVED}
    return pd.concat(
        [year_rows("death_90d__oe", "observed_expected", oe), year_rows("death_90d", "rate", rate)]
    )


def test_an_oe_funnel_is_an_sr_funnel_of_observed_over_expected():
    result = funnel_charts(death_rows())
    assert list(result.columns) == FUNNEL_COLUMNS
    sr = result[result["metric"] == "death_90d__oe"].set_index("segment")
    assert set(sr["data_type"]) == {"SR"} and set(sr["sr_method"]) == {"SHMI"}
    assert sr["numerator"].to_dict() == {s: float(v) for s, v in OBSERVED.items()}
    assert sr["denominator"].to_dict() == EXPECTED
    assert sr["rr"].to_dict() == pytest.approx({s: OBSERVED[s] / EXPECTED[s] for s in OBSERVED})
    assert sr["outlier"][sr["outlier"]].index.tolist() == ["H"]
    assert sr.loc["H", "outlier_high"]
    assert set(sr["target"]) == {1.0} and sr["phi"].nunique() == 1 and sr["tau2"].nunique() == 1
    assert set(sr["n_groups"]) == {12}
    assert set(sr["period"]) == {"2023/24"} and set(sr["segment_type"]) == {"site"}


def test_a_rate_funnel_is_a_pr_funnel_of_events_over_episodes_measured():
    result = funnel_charts(death_rows())
    pr = result[result["metric"] == "death_90d"].set_index("segment")
    assert set(pr["data_type"]) == {"PR"} and pr["sr_method"].isna().all()
    assert pr["denominator"].to_dict() == {s: float(v) for s, v in MEASURED.items()}
    pooled = sum(OBSERVED.values()) / sum(MEASURED.values())
    assert pr["target"].to_numpy() == pytest.approx(np.full(12, pooled))
    assert pr["outlier"][pr["outlier"]].index.tolist() == ["H"]


def test_suppressed_cells_are_left_out_and_small_funnels_are_not_drawn():
    result = funnel_charts(death_rows(suppressed={"B", "C"}))
    assert set(result["segment"]) == set(OBSERVED) - {"B", "C"}
    only_two = funnel_charts(death_rows(suppressed=set(OBSERVED) - {"G", "H"}))
    assert only_two.empty and list(only_two.columns) == FUNNEL_COLUMNS


def test_funnels_are_per_period_and_segment_type():
    rows = pd.concat(
        [
            death_rows(),
            death_rows().assign(period="2022/23"),
            death_rows().assign(segment_type="team"),
            death_rows().assign(segment_type="age_band"),
        ]
    )
    result = funnel_charts(rows)
    assert result.groupby(["metric", "period", "segment_type"]).size().to_dict() == {
        (m, p, t): 12
        for m in ("death_90d", "death_90d__oe")
        for p, t in (("2022/23", "site"), ("2023/24", "site"), ("2023/24", "team"))
    }


def test_the_oe_of_a_number_and_other_kinds_get_no_funnel():
    minutes = {s: (OBSERVED[s] * 50.0, MEASURED[s], EXPECTED[s] * 50.0, False) for s in OBSERVED}
    rows = pd.concat(
        [
            year_rows("door_to_needle__oe", "observed_expected", minutes),
            year_rows("door_to_needle", "mean", minutes),
            year_rows("cost_mean", "cost", minutes),
        ]
    )
    assert funnel_charts(rows).empty


def test_a_segment_with_no_events_does_not_stop_the_funnel():
    # Eight sites: too few for SHMI truncation to set the site with no events aside.
    rows = death_rows(suppressed={"I", "J", "K", "L"})
    zero = (rows["segment"] == "E") & (rows["metric"] == "death_90d__oe")
    rows.loc[zero, ["numerator", "value"]] = 0.0
    sr = funnel_charts(rows).query("metric == 'death_90d__oe'")
    assert len(sr) == 8
    assert not sr["adjusted"].any() and sr["phi"].isna().all()
    assert sr["note"].str.contains("no observed events").all()
    cqc = funnel_charts(rows, sr_method="CQC").query("metric == 'death_90d__oe'")
    assert cqc["note"].isna().all() and cqc["phi"].notna().all()


# ---------------------------------------------------------------------- for a run


def test_charts_for_run_makes_the_three_tables():
    rows = pd.concat([series_rows(STEADY, metric="death_90d", kind="rate"), death_rows()])
    tables = charts_for_run(rows, changes("2023-04-01"), {("stroke", "death_90d"): "decrease"})
    assert set(tables) == {"metric_spc", "metric_spc_icons", "metric_funnel"}
    assert len(tables["metric_spc"]) == 24 and len(tables["metric_spc_icons"]) == 1
    assert tables["metric_spc"]["rebase_group"].max() == 1
    assert len(tables["metric_funnel"]) == 24


def test_metric_directions_follow_the_packs():
    from carevalue.packs import load_packs

    directions = metric_directions(load_packs(shipped_conditions()))
    assert directions[("stroke", "death_90d")] == "decrease"
    assert directions[("stroke", "death_90d__oe")] == "decrease"
    assert directions[("stroke", "good_outcome_90d")] == "increase"
    assert directions[("stroke", "cost_mean")] == "decrease"
    assert directions[("stroke", "independence_per_cost__per_100k")] == "increase"
    assert directions[("stroke", "independence_per_cost__cost_per_good")] == "decrease"
    assert directions[("hepatitis_c", "svr12_cure")] == "increase"
    assert set(directions.values()) <= {"increase", "decrease"}


@pytest.mark.slow
def test_charts_of_a_whole_synthetic_trust(tmp_path):
    from carevalue.packs import load_packs
    from carevalue.runs import run_pipeline
    from carevalue.sources.ingest import ingest_extract
    from carevalue.synthetic.generate_trust import generate_trust
    from carevalue.warehouse import warehouse_table

    generate_trust(tmp_path / "extract", 8000, seed=3)
    con = ibis.duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ingest_extract(tmp_path / "extract", con, key=TEST_KEY, console=Console(quiet=True))
    packs = load_packs(shipped_conditions())
    run_pipeline(con, packs)
    series = con.table("metric_series").to_pandas()
    # The synthetic trust's endocarditis team starts on 2021-10-01 (docs/synthetic-trust.md).
    service_changes = pd.DataFrame(
        [
            {
                "condition": "infective_endocarditis",
                "change_date": pd.Timestamp("2021-10-01").date(),
                "description": "multidisciplinary endocarditis team",
                "segment_type": None,
                "segment": None,
            }
        ]
    )
    tables = quietly(charts_for_run, series, service_changes, metric_directions(packs))
    charts, icons = tables["metric_spc"], tables["metric_spc_icons"]

    # Every series lies on its condition's full calendar of months, gaps included.
    monthly = series[series["period_type"] == "admission_month"]
    keys = ["condition", "metric", "segment_type", "segment"]
    calendar = monthly.groupby("condition")["period"].agg(
        lambda p: len(pd.period_range(p.min(), p.max(), freq="M"))
    )
    sizes = charts.groupby(keys).size()
    assert (sizes == calendar.reindex(sizes.index.get_level_values("condition")).to_numpy()).all()
    assert len(sizes) == len(monthly.drop_duplicates(keys)) == len(icons)

    # Every monthly cell is there: its value where shown, a gap where suppressed.
    cells = monthly.assign(date=pd.to_datetime(monthly["period"], format="%Y-%m")).merge(
        charts, on=[*keys, "date"], how="left", validate="one_to_one", indicator=True
    )
    assert (cells["_merge"] == "both").all()
    shown = ~cells["suppressed"]
    assert np.allclose(cells.loc[shown, "y"], cells.loc[shown, "value"], equal_nan=True)
    assert cells.loc[~shown, "y"].isna().all()
    assert (cells.loc[~shown, "gap"] == "suppressed").all()

    charted = icons[icons["charted"]]
    assert set(charted["variation"]) <= set(VARIATION_ICONS)
    assert icons.loc[~icons["charted"], "note"].str.startswith("not charted").all()
    assert (charts.loc[charts["point_type"].notna(), "y"].notna()).all()
    endocarditis = charts[charts["condition"] == "infective_endocarditis"]
    assert endocarditis["rebase_group"].max() <= 1

    # Funnels across population groups, where even a small trust has three or more.
    funnels = funnel_charts(series, period_type="all", segment_types=("age_band", "imd_quintile"))
    assert len(funnels) and set(funnels["data_type"]) <= {"SR", "PR"}
    sr = funnels[funnels["data_type"] == "SR"].merge(
        series[series["period_type"] == "all"],
        on=["condition", "metric", "segment_type", "segment"],
    )
    assert np.allclose(sr["denominator_x"], sr["expected"])
    assert np.allclose(sr["numerator_x"], sr["numerator_y"])

    # The tables store in the warehouse as the run stores its outcome tables.
    for name, frame in {**tables, "metric_funnel": funnels}.items():
        con.create_table(f"test_{name}", warehouse_table(frame), overwrite=True)
        assert con.table(f"test_{name}").count().execute() == len(frame)
