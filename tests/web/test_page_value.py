"""The Value page: outcomes against cost, the value equations, the composite index's
weights and the weight sensitivity, for clinicians and commissioners."""

from __future__ import annotations

import html
import io
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from carevalue.packs.measures import CostScope, ValueEquation, WeightedOutcome
from carevalue.value import intervals
from carevalue.web.pages import value

CONDITION = "stroke"
TITLES = (
    "Outcomes against cost",
    "The value equations",
    "The composite index and its weights",
    "Do the rankings depend on the weights?",
)


# ---------------------------------------------------------------- helpers


def read_csv(content: bytes) -> pd.DataFrame:
    """A panel download's table, without its '# name: value' metadata lines."""
    lines = content.decode("utf-8-sig").splitlines()
    body = [line for line in lines if not line.lstrip('"').startswith("#")]
    return pd.read_csv(io.StringIO("\n".join(body)), dtype=str, keep_default_na=False)


@pytest.fixture
def built(results, rf, make_user):
    """The page as the view builds it for a role and a query string."""
    from carevalue.web import results as published
    from carevalue.web.pages import pages
    from carevalue.web.views import build_page, page_context

    numbers = itertools.count()

    def build(role: str, slug: str = "value", condition: str = CONDITION, **query):
        request = rf.get(f"/c/{condition}/{slug}/", query)
        request.user = make_user(role, username=f"{role}-built-{next(numbers)}")
        ctx = page_context(request, published.current(), condition)
        return ctx, build_page(ctx, pages()[slug])

    return build


def figure_rows_blank_below_min_cell(ctx, page) -> None:
    for panel in page.panels:
        rule = panel.disclosure
        if rule is None or panel.table.empty:
            continue
        small = pd.to_numeric(panel.table[rule.count], errors="coerce") < ctx.min_cell
        for column in rule.figures:
            if column in panel.table.columns:
                shown = panel.table.loc[small, column]
                assert shown.isna().all() | shown.eq("").all(), (panel.id, column)


# ---------------------------------------------------------------- pure helpers


def test_quadrants_name_each_corner_and_the_lines():
    got = value.quadrants([5, 15, 5, 15, 10, np.nan], [0.8, 0.8, 0.2, 0.2, 0.9, 0.5], 10, 0.5)
    assert got == [
        "top-left: better outcomes at lower cost",
        "top-right: better outcomes at higher cost",
        "bottom-left: worse outcomes at lower cost",
        "bottom-right: worse outcomes at higher cost",
        value.ON_A_LINE,
        "",
    ]
    assert value.quadrants([5], [0.8], math.nan, 0.5) == [""]


def test_clear_of_lines_says_when_the_quadrant_may_be_chance():
    assert value.clear_of_lines(1, 2, 0.7, 0.9, 5, 0.5).startswith("yes")
    assert "cost interval crosses" in value.clear_of_lines(4, 6, 0.7, 0.9, 5, 0.5)
    assert "outcome interval crosses" in value.clear_of_lines(1, 2, 0.4, 0.9, 5, 0.5)
    assert "both intervals cross" in value.clear_of_lines(4, 6, 0.4, 0.9, 5, 0.5)
    assert value.clear_of_lines(math.nan, 2, 0.7, 0.9, 5, 0.5) == ""


def test_rankings_parse_and_moves_are_named():
    assert value.parse_ranking("South (8.00) > North (7.84)") == ["South", "North"]
    assert value.parse_ranking("Site (A) (1.00) > B (0.50)") == ["Site (A)", "B"]
    assert value.parse_ranking("") == [] and value.parse_ranking(None) == []
    assert value.rank_moves(["A", "B", "C"], ["A", "B", "C"]) == []
    assert value.rank_moves(["A", "B", "C"], ["B", "A", "C"]) == [
        "B from 2nd to 1st",
        "A from 1st to 2nd",
    ]
    # only cells ranked under both weight sets are compared
    assert value.rank_moves(["A", "B"], ["C", "A", "B"]) == []


def _sensitivity(rows):
    return pd.DataFrame(
        rows,
        columns=[
            "equation",
            "weight_set",
            "compared",
            "cells",
            "ranking",
            "same_order",
            "kendall_tau",
        ],
    )


def test_sensitivity_sentence_unchanged():
    rows = _sensitivity(
        [
            ("eq", "pack weights", "site", 2, "A (2.00) > B (1.00)", True, 1.0),
            ("eq", "equal weights", "site", 2, "A (2.10) > B (1.00)", True, 1.0),
            ("eq", "pack weights", "team", 1, "T (2.00)", True, math.nan),
            ("eq", "equal weights", "team", 1, "T (2.20)", True, math.nan),
        ]
    )
    (sentence,) = value.sensitivity_sentences(rows, {"eq": "My index"})
    assert sentence.startswith(
        "My index: rankings of sites unchanged under the alternative weights ('equal weights')"
    )
    assert "teams not compared" in sentence


def test_sensitivity_sentence_names_the_cells_that_move():
    rows = _sensitivity(
        [
            ("eq", "pack weights", "financial_year", 3, "Y1 (3) > Y2 (2) > Y3 (1)", True, 1.0),
            ("eq", "equal weights", "financial_year", 3, "Y2 (3) > Y1 (2) > Y3 (1)", False, 0.33),
            ("eq", "survival first", "financial_year", 3, "Y1 (3) > Y2 (2) > Y3 (1)", True, 1.0),
        ]
    )
    (sentence,) = value.sensitivity_sentences(rows, {})
    assert "rankings change" in sentence
    assert (
        "financial years under 'equal weights' (Y2 from 2nd to 1st, Y1 from 1st to 2nd)" in sentence
    )
    assert "survival first" not in sentence


def test_sensitivity_sentence_when_nothing_can_be_ranked():
    rows = _sensitivity(
        [
            ("eq", "pack weights", "site", 1, "A (1.00)", True, math.nan),
            ("eq", "equal weights", "site", 1, "A (1.10)", True, math.nan),
        ]
    )
    (sentence,) = value.sensitivity_sentences(rows, {})
    assert "too few" in sentence and "unchanged" not in sentence


def test_outcome_axis_and_scatter_equation(results):
    from carevalue.web import results as published

    packs = published.packs(published.current())
    stroke = packs["stroke"]
    equation = value.scatter_equation(stroke)
    assert equation.cost.scope == "whole_cycle"
    assert value.outcome_axis(stroke, equation) == (
        "good_outcome_90d",
        "Independent at 90 days (mRS 0-2)",
        "rate",
    )
    composite = next(e for e in stroke.value_equations if len(e.numerator) > 1)
    assert value.outcome_axis(stroke, composite)[0] is None
    endocarditis = packs["infective_endocarditis"]
    metric, label, kind = value.outcome_axis(endocarditis, endocarditis.value_equations[0])
    assert (metric, kind) == ("death_365d", "rate") and label.startswith("Without death")


def test_score_is_the_mean_of_complete_cases_with_a_t_interval():
    equation = ValueEquation(
        id="idx",
        name="Index",
        definition="d",
        numerator=(WeightedOutcome(outcome="a", weight=1.0),),
        cost=CostScope(scope="whole_cycle"),
    )
    frame = pd.DataFrame(
        {
            "site": ["X"] * 4 + ["Y"] * 3,
            "num__idx": [0.2, 0.4, np.nan, 1.0, 0.5, 0.5, 0.9],
            "cost__idx": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.nan],
        }
    )
    got = value._score(frame, equation, "site")
    mean, lower, upper = intervals.mean_t(np.array([0.2, 0.4, 1.0]))
    assert got.loc["X", "n_used"] == 3
    assert got.loc["X", ["value", "lower", "upper"]].tolist() == pytest.approx([mean, lower, upper])
    assert got.loc["Y", "n_used"] == 2 and got.loc["Y", "value"] == pytest.approx(0.5)


# ---------------------------------------------------------------- the page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "commissioner"])
def test_value_page_shows_every_panel(results, client_as, role):
    response = client_as(role).get(f"/c/{CONDITION}/value/")
    assert response.status_code == 200, response.content[:2000]
    text = html.unescape(response.content.decode())
    for title in TITLES:
        assert title in text
    assert "top-left: better outcomes at lower cost" in text
    assert 'data-chart="value-map"' in text


@pytest.mark.django_db
def test_value_page_for_a_pack_without_a_composite(results, client_as):
    response = client_as("clinician").get("/c/hepatitis_c/value/")
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert "Outcomes against cost" in text and "The value equations" in text
    assert "The composite index and its weights" not in text


@pytest.mark.django_db
def test_a_site_filter_changes_the_figures(built):
    ctx, page = built("clinician")
    site = min(ctx.all_episodes["site"].astype(str).unique())
    _, filtered = built("clinician", site=site)
    everyone = page.panel("value-map").table
    mine = filtered.panel("value-map").table
    assert mine.loc[0, "n"] < everyone.loc[0, "n"]
    assert mine.loc[0, "n"] == (ctx.all_episodes["site"] == site).sum()
    assert mine.loc[0, "cost_mean"] != everyone.loc[0, "cost_mean"]
    assert set(mine.loc[mine["grouping"] == "Site", "cell"]) == {site}


@pytest.mark.django_db
def test_no_episodes_is_said_not_failed(results, client_as):
    response = client_as("clinician").get(f"/c/{CONDITION}/value/", {"site": "No such site"})
    assert response.status_code == 200
    assert "No episodes match these filters." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "commissioner"])
def test_downloads_have_the_rows_of_the_panel(built, client_as, role):
    _, page = built(role)
    client = client_as(role)
    for panel in page.panels:
        response = client.get(f"/c/{CONDITION}/value/{panel.id}.csv")
        assert response.status_code == 200
        frame = read_csv(response.content)
        assert len(frame) == len(panel.table), panel.id
        assert list(frame.columns) == [c.label for c in panel.columns]
        first = panel.columns[0]
        assert frame[first.label].tolist() == [str(v) for v in panel.table[first.key]]


@pytest.mark.django_db
def test_commissioners_see_no_figure_below_min_cell(built, client_as):
    ctx, page = built("commissioner")
    assert ctx.secondary_suppression
    figure_rows_blank_below_min_cell(ctx, page)
    # the download says the same: no figure where the complete cases are too few
    frame = read_csv(client_as("commissioner").get(f"/c/{CONDITION}/value/value-map.csv").content)
    small = pd.to_numeric(frame["Complete cases"]) < ctx.min_cell
    for label in (
        "Mean cost per episode",
        "Good outcomes per £100,000",
        "£ per good outcome",
        "Quadrant",
    ):
        assert frame.loc[small, label].eq("").all()
    # secondary suppression: no comparison holds exactly one hidden cell
    for panel in page.panels:
        if panel.disclosure is None or panel.table.empty:
            continue
        within = list(panel.disclosure.within)
        for _, group in panel.table.groupby(within) if within else [((), panel.table)]:
            hidden = int(group["suppressed"].eq(True).sum())
            assert hidden != 1 or len(group) == 1, panel.id


@pytest.mark.django_db
@pytest.mark.parametrize("condition", ["stroke", "hepatitis_c", "infective_endocarditis"])
def test_the_chart_draws_only_what_the_table_shows(built, condition):
    _, page = built("commissioner", condition=condition)
    panel = page.panel("value-map")
    table = panel.table
    shown = table[
        (table["grouping"] != value.OVERALL) & table["cost_mean"].notna() & table["outcome"].notna()
    ]
    drawn = [
        (x, y)
        for trace in panel.figure["data"]
        for x, y in zip(trace["x"], trace["y"], strict=True)
    ]
    assert sorted(drawn) == sorted(zip(shown["cost_mean"], shown["outcome"], strict=True))
    equations = page.panel("value-equations")
    drawn = [x for trace in equations.figure["data"] for x in trace["x"] if x is not None]
    assert sorted(drawn) == sorted(equations.table["per_100k"].dropna())


@pytest.mark.django_db
def test_quadrant_lines_are_the_overall_mean_cost_and_outcome(built):
    ctx, page = built("clinician")
    panel = page.panel("value-map")
    everyone = panel.table[panel.table["grouping"] == value.OVERALL].iloc[0]
    assert everyone["cost_mean"] == pytest.approx(ctx.episodes["cost_whole_cycle"].mean())
    shapes = panel.figure["layout"]["shapes"]
    assert shapes[0]["x0"] == pytest.approx(everyone["cost_mean"])
    assert shapes[1]["y0"] == pytest.approx(everyone["outcome"])
    # the outcome is the share independent among complete cases
    complete = ctx.episodes[ctx.episodes["num__independence_per_cost"].notna()]
    assert everyone["outcome"] == pytest.approx(complete["num__independence_per_cost"].mean())


@pytest.mark.django_db
def test_value_equations_match_group_metrics(built):
    from carevalue.value.metric_series import group_metrics

    ctx, page = built("clinician")
    table = page.panel("value-equations").table
    overall = group_metrics(ctx.pack, ctx.episodes).set_index("metric")
    for equation in ctx.pack.value_equations:
        row = table[(table["equation"] == equation.id) & (table["cell"] == value.OVERALL)].iloc[0]
        assert row["per_100k"] == pytest.approx(overall.loc[f"{equation.id}__per_100k", "value"])
        assert row["cost_per_good"] == pytest.approx(
            overall.loc[f"{equation.id}__cost_per_good", "value"]
        )
    weights = page.panel("composite-weights").table
    composite = next(e for e in ctx.pack.value_equations if len(e.numerator) > 1)
    pack_weights = dict(zip(weights["outcome"], weights["weight_0"], strict=True))
    names = {o.id: o.name for o in ctx.pack.outcomes}
    assert {names[t.outcome]: t.weight for t in composite.numerator} == pack_weights


@pytest.mark.django_db
def test_the_sensitivity_sentence_matches_the_value_sensitivity_table(built, client_as):
    ctx, page = built("clinician")
    rows = ctx.table("value_sensitivity")
    panel = page.panel("weight-sensitivity")
    assert len(panel.table) == len(rows)
    names = {e.id: e.name for e in ctx.pack.value_equations}
    for equation, mine in rows.groupby("equation"):
        sentence = next(s for s in panel.notes if s.startswith(names[equation]))
        changed = mine[(mine["weight_set"] != "pack weights") & ~mine["same_order"].astype(bool)]
        ranked = mine[(mine["weight_set"] == "pack weights") & (mine["cells"] > 1)]
        if changed.empty and len(ranked):
            assert "unchanged under the alternative weights" in sentence
        for record in changed.to_dict("records"):
            if record["compared"] in set(ranked["compared"]):
                assert f"'{record['weight_set']}'" in sentence
                assert value.COMPARED_WORDS[record["compared"]] in sentence
                assert "rankings change" in sentence
    text = html.unescape(client_as("clinician").get(f"/c/{CONDITION}/value/").content.decode())
    for sentence in panel.notes:
        assert sentence in text


@pytest.mark.django_db
def test_a_cell_with_no_complete_cases_says_why(built):
    ctx, _ = built("clinician", condition="hepatitis_c")
    latest = max(ctx.all_episodes["financial_year"].astype(str).unique())
    _, page = built("clinician", condition="hepatitis_c", period=latest)
    panel = page.panel("value-map")
    everyone = panel.table[panel.table["grouping"] == value.OVERALL].iloc[0]
    has_note = any("window closed yet" in note for note in panel.notes)
    assert has_note is (int(everyone["n_used"]) == 0)
