"""The cost page: cost along the pathway for the filtered episodes, its drill-down to
provenance for the roles allowed it, and its protection of small numbers."""

from __future__ import annotations

import io
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from django.test import RequestFactory

from carevalue.web import results
from carevalue.web.pages import pages
from carevalue.web.views import build_page, page_context

pytestmark = pytest.mark.django_db

CONDITION = "stroke"
TITLES = (
    "Cost per episode by stage and resource",
    "Mean cost per episode, stage by stage",
    "Whole-cycle cost per episode: the spread",
    "Top cost drivers",
    "Bottom-up (TDABC) beside top-down (PLICS), stage by stage",
    "Reconciliation to the ledger",
)


_users = itertools.count()


def _page(make_user, role: str, condition: str = CONDITION, **filters: str):
    """The page as the view builds it for a new user with ``role``: every panel through
    disclosure."""
    request = RequestFactory().get(f"/c/{condition}/cost/", filters)
    request.user = make_user(role, username=f"page-{role}-{next(_users)}")
    snapshot = results.current()
    ctx = page_context(request, snapshot, condition)
    return ctx, build_page(ctx, pages()["cost"])


def results_episodes() -> pd.DataFrame:
    frame = results.current().table("episode_value")
    return frame[frame["condition"] == CONDITION]


def _pennies(values) -> int:
    return int(np.rint(pd.to_numeric(pd.Series(values), errors="coerce").fillna(0) * 100).sum())


def _csv_frame(content: bytes) -> pd.DataFrame:
    text = "\n".join(
        line for line in content.decode("utf-8-sig").splitlines() if not line.startswith("#")
    )
    return pd.read_csv(io.StringIO(text), keep_default_na=False)


@pytest.mark.parametrize("role", ["finance", "commissioner"])
def test_the_page_shows_every_panel(results, client_as, role):
    response = client_as(role).get(f"/c/{CONDITION}/cost/")
    assert response.status_code == 200, response.content[:2000]
    html = response.content.decode()
    for title in TITLES:
        assert title in html, title
    assert "reconciles to the ledger to the penny" in html
    assert 'data-chart="stages"' in html and '"waterfall"' in html


def test_provenance_is_for_finance_only(results, client_as, make_user):
    finance = client_as("finance").get(f"/c/{CONDITION}/cost/").content.decode()
    assert 'id="panel-provenance-hyperacute"' in finance
    assert "Ledger line (pool:cost centre/expense code)" in finance
    assert 'id="panel-tdabc-hyperacute"' in finance
    _, page = _page(make_user, "finance")
    keys = page.panel("provenance-hyperacute").table["provenance"]
    assert keys.str.contains(":").any() and keys.str.contains("/").any()
    # each stage row of the stage table links to its provenance table on this page
    assert page.panel("stages").links["Hyperacute care"].endswith("#panel-provenance-hyperacute")
    for role in ("commissioner", "clinician"):
        html = client_as(role).get(f"/c/{CONDITION}/cost/").content.decode()
        assert "panel-provenance-" not in html and "panel-tdabc-hyperacute" not in html, role
        assert "Ledger line" not in html, role
        assert "shown to finance, service managers and team leads" in html, role
        _, page = _page(make_user, role)
        assert not [p.id for p in page.panels if p.id.startswith("provenance-")], role
        for panel in page.panels:
            assert "provenance" not in panel.table.columns, (role, panel.id)


@pytest.mark.parametrize("filtered", [False, True])
def test_stage_totals_add_up_to_the_whole_cycle_to_the_penny(results, make_user, filtered):
    filters = {}
    if filtered:  # the busiest site, so that every stage has enough episodes to show
        every = results_episodes()
        filters = {"site": str(every["site"].value_counts().index[0])}
    ctx, page = _page(make_user, "finance", **filters)
    expected = _pennies(ctx.episodes["cost_whole_cycle"])
    assert expected > 0
    stages = page.panel("stages").table
    assert not stages["suppressed"].any(), stages
    whole = stages[stages["stage"] == "Whole cycle"]
    by_stage = stages[stages["stage"] != "Whole cycle"]
    assert _pennies(by_stage["total"]) == expected
    assert _pennies(whole["total"]) == expected
    assert int(whole["episodes"].iloc[0]) == len(ctx.episodes)
    assert by_stage["stage_id"].tolist()[:3] == [s.id for s in ctx.pack.stages][:3]
    # the mean per episode of the stages builds to the whole-cycle mean
    assert by_stage["mean_per_episode"].sum() == pytest.approx(expected / 100 / len(ctx.episodes))
    # within each stage, the resources add up to the stage where none is hidden
    resources = page.panel("stage-resource").table
    for stage_id, rows in resources.groupby("stage_id"):
        if not rows["suppressed"].any():
            stage_total = by_stage.loc[by_stage["stage_id"] == stage_id, "total"]
            assert _pennies(rows["total"]) == _pennies(stage_total), stage_id


def test_a_site_filter_changes_the_totals(results, make_user):
    ctx, everyone = _page(make_user, "finance")
    site = min(ctx.all_episodes["site"].dropna().unique())
    site_ctx, one_site = _page(make_user, "finance", site=site)
    every_total = everyone.panel("stages").table.iloc[-1]
    site_total = one_site.panel("stages").table.iloc[-1]
    assert site_total["episodes"] < every_total["episodes"]
    assert _pennies([site_total["total"]]) < _pennies([every_total["total"]])
    assert _pennies([site_total["total"]]) == _pennies(site_ctx.episodes["cost_whole_cycle"])
    assert f"site {site}" in one_site.panel("stages").sentence
    n = one_site.panel("distribution").table
    assert int(n.loc[n["measure"] == "Episodes", "episodes"].iloc[0]) == len(site_ctx.episodes)


@pytest.mark.parametrize(
    "panel_id",
    ["stages", "stage-resource", "drivers", "distribution", "reconciliation", "provenance-acute"],
)
def test_the_csv_download_is_the_panel_table(results, client_as, make_user, panel_id):
    client = client_as("finance")
    response = client.get(f"/c/{CONDITION}/cost/{panel_id}.csv", {"site": "North"})
    assert response.status_code == 200
    downloaded = _csv_frame(response.content)
    _, page = _page(make_user, "finance", site="North")
    shown = page.panel(panel_id).download_frame()
    assert list(downloaded.columns) == list(shown.columns)
    assert len(downloaded) == len(shown) > 0
    for column in shown.columns:
        expected = shown[column]
        got = downloaded[column]
        if pd.api.types.is_numeric_dtype(expected):
            got = pd.to_numeric(got, errors="coerce")
            assert np.allclose(got.astype(float), expected.astype(float), equal_nan=True), column
        else:
            assert got.astype(str).tolist() == expected.fillna("").astype(str).tolist(), column


def _hidden_figures_ok(page, min_cell: int) -> list[str]:
    """Every figure resting on fewer than min_cell episodes is blank, and no group that adds
    up to a shown total has a single blank cell (secondary suppression)."""
    problems = []
    for panel in page.panels:
        rule = panel.disclosure
        if rule is None:
            continue
        table = panel.table
        small = pd.to_numeric(table[rule.count], errors="coerce").fillna(0) < min_cell
        for column in rule.figures:
            if column in table.columns and table.loc[small, column].notna().any():
                problems.append(f"{panel.id}: {column} shown for a cell below {min_cell}")
        if rule.within and set(rule.within) <= set(table.columns) and rule.within != ("rank",):
            for key, rows in table.groupby(list(rule.within)):
                hidden = int(rows["suppressed"].eq(True).sum())
                if hidden == 1 and len(rows) > 1:
                    problems.append(f"{panel.id}: one lone hidden cell in {key}")
    return problems


def test_the_commissioner_never_sees_a_figure_below_min_cell(results, make_user):
    ctx, page = _page(make_user, "commissioner")
    min_cell = ctx.min_cell
    assert ctx.secondary_suppression and not ctx.costing_detail
    assert _hidden_figures_ok(page, min_cell) == []
    filters = [{"site": s} for s in sorted(ctx.all_episodes["site"].dropna().unique())]
    filters += [{"team": t} for t in sorted(ctx.all_episodes["team"].dropna().unique())[:3]]
    filters += [
        {"group": "ethnic_group:" + str(g)}
        for g in sorted(ctx.all_episodes["ethnic_group"].dropna().unique())[:3]
    ]
    seen_hidden = False
    for chosen in filters:
        _, page = _page(make_user, "commissioner", **chosen)
        assert _hidden_figures_ok(page, min_cell) == [], chosen
        resources = page.panel("stage-resource")
        hidden = resources.table[resources.table["suppressed"].eq(True)]
        seen_hidden |= not hidden.empty
        # the chart never draws a bar its table hides
        bars = {
            trace["name"]: dict(zip(trace["x"], trace["y"], strict=True))
            for trace in resources.figure["data"]
        }
        for row in hidden.itertuples():
            assert bars.get(row.resource, {}).get(row.stage) is None, (chosen, row)
        stages = page.panel("stages")
        if stages.figure is not None:
            drawn = stages.figure["data"][0]["x"]
            for row in stages.table[stages.table["suppressed"].eq(True)].itertuples():
                assert row.stage not in drawn, (chosen, row.stage)
    assert seen_hidden, "no filter hid anything: the test shows nothing"


def test_the_commissioner_download_is_suppressed_too(results, client_as):
    response = client_as("commissioner").get(f"/c/{CONDITION}/cost/stage-resource.csv")
    assert response.status_code == 200
    frame = _csv_frame(response.content)
    small = pd.to_numeric(frame["Episodes"]) < 5
    assert small.any()
    # a blanked figure downloads as "too few to report", never as a number or a blank
    assert frame.loc[small, "Total cost"].astype(str).isin(["", "too few to report"]).all()
    assert (frame.loc[small, "Total cost"].astype(str) == "too few to report").any()
    assert "secondary suppression" in response.content.decode()


def test_tdabc_sits_beside_plics_for_the_mapped_stage(results, make_user):
    ctx, page = _page(make_user, "finance")
    table = page.panel("tdabc").table
    row = table[table["stage_id"] == "hyperacute"].iloc[0]
    steps = page.panel("tdabc-hyperacute").table
    tdabc_steps = steps[steps["method"].str.startswith("TDABC")]
    assert row["tdabc_per_patient"] == pytest.approx(tdabc_steps["per_patient"].sum(), abs=0.01)
    plics = steps[steps["method"].str.startswith("PLICS")]
    if not plics["suppressed"].any():
        assert plics["per_patient"].sum() == pytest.approx(row["plics_mean_per_episode"])
    assert row["difference"] == pytest.approx(
        row["plics_mean_per_episode"] - row["tdabc_per_patient"]
    )
    # the run's own TDABC rows give the same cost per patient as the pack's process map
    costs = ctx.table("episode_costs")
    run_rows = costs[(costs["method"] == "tdabc") & (costs["stage"] == "hyperacute")]
    per_episode = run_rows.groupby("episode_id")["amount"].sum().astype(float)
    assert per_episode.round(2).unique().tolist() == [pytest.approx(row["tdabc_per_patient"])]


def test_the_reconciliation_is_the_ledger(results, make_user):
    ctx, page = _page(make_user, "commissioner")
    panel = page.panel("reconciliation")
    assert panel.disclosure is None
    lines = dict(zip(panel.table["line"], panel.table["amount"], strict=True))
    quantum = lines["Cost quantum (ledger less exclusions)"]
    allocated = lines["Allocated to activities"]
    unallocated = lines["Unallocated (reported, not loaded onto patients)"]
    assert round((quantum - allocated - unallocated) * 100) == 0
    costing = json.loads(ctx.table("runs")["costing"].iloc[-1])
    assert quantum == pytest.approx(costing["cost_quantum"])
    assert allocated == pytest.approx(costing["allocated_to_activities"])
    assert "to the penny" in panel.sentence


def test_a_condition_without_a_process_map_and_empty_filters(results, make_user):
    _, page = _page(make_user, "finance", condition="infective_endocarditis")
    assert page.panel("tdabc") is None and page.panel("stages") is not None
    _, empty = _page(make_user, "finance", period="1999/00")
    assert "No episodes match these filters." in empty.messages
    assert [p.id for p in empty.panels] == ["reconciliation"]
