"""The Outcomes page: every outcome's figure equals group_metrics', survival curves start at
1 and never rise, downloads equal the tables shown, and a commissioner never sees a figure
resting on fewer than min_cell episodes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from carevalue.reports import display

URL = "/c/stroke/outcomes/"
TITLES = (
    "Every outcome, with its tier and completeness",
    "Observed against expected, after case mix",
    "Sites compared: funnel plot",
    "Survival after the index event (Kaplan-Meier)",
    "Patient-reported measures: who answered",
    "Responders against non-responders",
    "Risk models behind observed / expected",
)


def _page(client, url: str = URL):
    response = client.get(url)
    assert response.status_code == 200, response.content[:2000]
    return response, response.context["page"]


def _context(results, condition: str = "stroke", **filters):
    from carevalue.snapshots import current_snapshot
    from carevalue.web import results as web_results
    from carevalue.web.filters import Filters
    from carevalue.web.pages import PageContext

    snapshot = current_snapshot(results)
    return PageContext(
        snapshot=snapshot,
        pack=web_results.packs(snapshot)[condition],
        filters=Filters(**filters),
        secondary_suppression=True,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "commissioner"])
def test_page_renders_for_each_role(results, client_as, role):
    response, _ = _page(client_as(role))
    html = response.content.decode()
    for title in TITLES:
        assert title in html
    assert 'id="panel-survival"' in html
    assert "Porter tier" in html


@pytest.mark.django_db
def test_outcome_figures_equal_group_metrics(results, client_as):
    from carevalue.value.metric_series import group_metrics

    _, page = _page(client_as("clinician"))
    ctx = _context(results)
    expected = group_metrics(ctx.pack, ctx.episodes).set_index("metric")
    table = page.panel("outcomes").table.set_index("metric")
    assert set(table.index) == {o.id for o in ctx.pack.outcomes}
    for metric, row in table.iterrows():
        for column in ("value", "lower", "upper", "n_used", "n_due"):
            want, got = expected.loc[metric, column], row[column]
            if display.missing(want):
                assert display.missing(got), (metric, column)
            else:
                assert got == pytest.approx(want), (metric, column)
    # The chart shows the rates the table shows.
    figure = page.panel("outcomes").figure
    rates = table[(table["metric_kind"] == "rate") & table["value"].notna()]
    assert sorted(figure["data"][0]["x"]) == pytest.approx(sorted(rates["value"]))


@pytest.mark.django_db
def test_outcomes_follow_the_filters(results, client_as):
    from carevalue.value.metric_series import group_metrics

    _, page = _page(client_as("clinician"), URL + "?site=North")
    ctx = _context(results, site="North")
    expected = group_metrics(ctx.pack, ctx.episodes).set_index("metric")
    table = page.panel("outcomes").table.set_index("metric")
    shown = table["value"].dropna()
    assert len(shown)
    assert shown.to_numpy() == pytest.approx(expected.loc[shown.index, "value"].to_numpy())
    # one site: nothing to compare, and the page says so
    assert page.panel("funnel-site") is None
    assert any("one site" in m for m in page.messages)


@pytest.mark.django_db
def test_survival_starts_at_one_and_never_rises(results, client_as):
    _, page = _page(client_as("clinician"))
    panel = page.panel("survival")
    table = panel.table
    assert len(table)
    assert table["group"].iloc[0] == "All episodes"
    # stroke's synthetic sites are big enough for a curve each
    assert {"Site North", "Site South"} <= set(table["group"])
    for _, rows in table.groupby("group", sort=False):
        first = rows.iloc[0]
        assert first["time"] == 0 and first["survival"] == 1.0
        survival = rows["survival"].dropna().to_numpy()
        assert (np.diff(survival) <= 1e-12).all()
        assert (np.diff(rows["time"].to_numpy()) >= 0).all()
    assert panel.figure is not None
    assert any(note.startswith("Survival to day 90") for note in panel.notes)


@pytest.mark.django_db
def test_survival_censors_at_the_data_last_date(results):
    from carevalue.web.pages.outcomes import survival_data

    ctx = _context(results)
    data, left_out = survival_data(ctx, 365)
    last = pd.Timestamp(ctx.snapshot.manifest["run"]["data_last_date"])
    episodes = ctx.table("episodes")
    episodes = episodes[episodes["episode_id"].isin(ctx.episodes["episode_id"])]
    assert len(data) + left_out == len(episodes)
    assert (data["days"] >= 0).all() and (data["days"] <= 365).all()
    # nobody is followed beyond the data's last date or the horizon
    assert (data["index_date"] + pd.to_timedelta(data["days"], "D") <= last).all()
    censored_early = data[~data["event"] & (data["days"] < 365)]
    assert (
        censored_early["index_date"] + pd.to_timedelta(censored_early["days"], "D") == last
    ).all()
    assert 0 < data["event"].sum() <= episodes["death_date"].notna().sum()


@pytest.mark.django_db
def test_downloads_equal_the_panel_tables(results, client_as):
    client = client_as("clinician")
    _, page = _page(client)
    for panel in page.panels:
        response = client.get(f"{URL}{panel.id}.csv")
        assert response.status_code == 200, panel.id
        text = response.content.decode()
        body = "\n".join(line for line in text.splitlines() if not line.startswith("# "))
        frame = pd.read_csv(io.StringIO(body), keep_default_na=False, dtype=str)
        expected = panel.download_frame()
        assert list(frame.columns) == list(expected.columns), panel.id
        assert len(frame) == len(expected), panel.id


def _assert_no_small_figures(panel, min_cell: int):
    rule = panel.disclosure
    if rule is None or panel.table.empty:
        return
    counts = pd.to_numeric(panel.table[rule.count], errors="coerce")
    small = ~(counts >= min_cell)
    for column in rule.figures:
        if column not in panel.table.columns:
            continue
        values = panel.table.loc[small, column]
        assert all(display.missing(v) or v == "" for v in values), (panel.id, column)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?site=South", "?period=2023/24", "?group=sex:female"])
def test_commissioner_never_sees_a_small_figure(results, client_as, query):
    response, page = _page(client_as("commissioner"), URL + query)
    ctx = _context(results)
    for panel in page.panels:
        _assert_no_small_figures(panel, ctx.min_cell)
    # and the charts show no more than the tables
    outcomes = page.panel("outcomes")
    if outcomes.figure:
        assert len(outcomes.figure["data"][0]["x"]) == int(
            (outcomes.table["metric_kind"].eq("rate") & outcomes.table["value"].notna()).sum()
        )
    html = response.content.decode()
    assert "too few to report" in html or "Too few to report" in html


@pytest.mark.django_db
def test_funnel_across_units_with_secondary_suppression(results):
    """Stroke's two sites are too few for a funnel, so use age bands (five units): rows in
    the funnel carry limits, small units read too few, and each hidden unit takes the next
    smallest with it."""
    from carevalue.web.pages.outcomes import funnel_panel

    ctx = _context(results)
    panel = funnel_panel(ctx, "age_band")
    table = panel.table
    assert panel.figure is not None
    drawn = table[table["rr"].notna()]
    assert len(drawn) >= 3 and drawn["limits99"].str.contains(" to ").all()
    for metric, rows in table.groupby("metric"):
        hidden = rows["suppressed"].eq(True).sum()
        assert hidden != 1, metric  # never a lone hidden unit a total could reveal
    xs = [x for trace in panel.figure["data"][:1] for x in trace["x"]]
    first = drawn[drawn["metric"] == drawn["metric"].iloc[0]]
    assert sorted(xs) == pytest.approx(sorted(first["funnel_x"]))
    assert any("computed for these filters" in n for n in panel.notes)


def test_neutral_position_is_never_better_or_worse():
    from carevalue.web.pages.outcomes import _position

    assert _position(True, False, "", True) == "above the 99.8% limit"
    assert "worse" in _position(True, False, "lower_is_better", True)
    assert "better" in _position(False, True, "lower_is_better", True)
    assert _position(False, False, "higher_is_better", False) == ""


@pytest.mark.django_db
def test_prom_response_matches_the_run(results, client_as):
    _, page = _page(client_as("clinician"))
    ctx = _context(results)
    stored = ctx.table("prom_response").drop_duplicates("outcome_id").set_index("outcome_id")
    shown = page.panel("prom-response").table.set_index("outcome_id")
    assert set(shown.index) == set(stored.index)
    assert shown["response_rate"].to_numpy() == pytest.approx(
        stored.loc[shown.index, "response_rate"].to_numpy()
    )
    comparison = page.panel("prom-responders").table
    assert {"age", "imd_decile", "male"} <= set(comparison["variable"])


@pytest.mark.django_db
def test_risk_models_panel(results, client_as):
    _, page = _page(client_as("clinician"))
    table = page.panel("risk-models").table
    assert set(table["outcome_id"]) == {"death_90d", "door_to_needle"}
    assert set(table["fitted_text"]) <= {"yes", "no"}


@pytest.mark.django_db
def test_other_conditions_and_empty_filters(results, client_as):
    client = client_as("clinician")
    for condition in ("hepatitis_c", "infective_endocarditis"):
        response = client.get(f"/c/{condition}/outcomes/")
        assert response.status_code == 200
    _, page = _page(client, URL + "?site=Nowhere")
    assert page.panels == [] and "No episodes match these filters." in page.messages


@pytest.mark.django_db
def test_funnel_uses_the_runs_metric_funnel_for_a_year(results):
    """With only a financial year chosen, the run's metric_funnel rows for that year are
    used (stroke's two sites give none here, so age bands stand in), and they agree with
    what the page would compute itself."""
    from carevalue.value.metric_charts import funnel_charts
    from carevalue.value.metric_series import group_metrics
    from carevalue.web.pages.outcomes import funnel_panel, funnel_rows

    ctx = _context(results, period="2022/23")
    series = ctx.table("metric_series")
    stored = funnel_charts(series, segment_types=("age_band",))
    stored = stored[stored["period"] == "2022/23"]
    assert len(stored)
    real_table = ctx.table
    ctx.table = lambda name: stored if name == "metric_funnel" else real_table(name)
    by_unit = group_metrics(ctx.pack, ctx.episodes, ("age_band",))
    rows, source = funnel_rows(ctx, "age_band", by_unit)
    assert "metric_funnel" in source and len(rows) == len(stored)
    ctx.table = real_table
    computed, source = funnel_rows(ctx, "age_band", by_unit)
    assert "computed for these filters" in source
    key = ["metric", "segment"]
    both = rows.merge(computed, on=key, suffixes=("_run", "_page"))
    assert len(both) == len(rows)
    assert both["rr_run"].to_numpy() == pytest.approx(both["rr_page"].to_numpy())
    assert both["UCL99_run"].to_numpy() == pytest.approx(both["UCL99_page"].to_numpy())
    ctx.table = lambda name: stored if name == "metric_funnel" else real_table(name)
    panel = funnel_panel(ctx, "age_band")
    assert any("metric_funnel" in note for note in panel.notes)


@pytest.mark.django_db
def test_never_fails_on_missing_tables(results):
    """A run without any of the tables beside episode_value still builds both pages."""
    from carevalue.web.pages import outcomes, spc

    ctx = _context(results)
    real_table = ctx.table
    ctx.table = lambda name: real_table(name) if name == "episode_value" else pd.DataFrame()
    page = outcomes.build(ctx)
    assert page.panel("outcomes") is not None and page.panel("survival") is None
    assert page.panel("risk-models").table.empty
    page = spc.build(ctx)
    assert [p.id for p in page.panels] == ["how-to-read"]
