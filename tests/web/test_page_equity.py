"""The Equity page: outcomes, cost and value by deprivation quintile, age band, sex and
ethnic group, with intervals, suppression and the overlap sentences."""

from __future__ import annotations

import html
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from carevalue.reports import display
from carevalue.web import charts
from carevalue.web.pages import equity

from .test_page_value import read_csv

CONDITION = "stroke"
TITLES = ("By deprivation quintile (1 = most deprived)", "By age band", "By sex", "By ethnic group")
PANELS = ("by-deprivation", "by-age", "by-sex", "by-ethnic-group")


@pytest.fixture
def built(results, rf, make_user):
    from carevalue.web import results as published
    from carevalue.web.pages import pages
    from carevalue.web.views import build_page, page_context

    numbers = itertools.count()

    def build(role: str, condition: str = CONDITION, **query):
        request = rf.get(f"/c/{condition}/equity/", query)
        request.user = make_user(role, username=f"{role}-equity-{next(numbers)}")
        ctx = page_context(request, published.current(), condition)
        return ctx, build_page(ctx, pages()["equity"])

    return build


# ---------------------------------------------------------------- pure helpers


def test_deprivation_quintiles_say_which_end_is_which():
    assert equity.group_label("imd_quintile", 1.0) == "1 (most deprived)"
    assert equity.group_label("imd_quintile", "5") == "5 (least deprived)"
    assert equity.group_label("imd_quintile", "3.0") == "3"
    assert equity.group_label("imd_quintile", None) == "unknown"
    assert equity.group_label("sex", "female") == "female"
    assert equity.group_words("imd_quintile", "1 (most deprived)") == "quintile 1 (most deprived)"
    assert equity.group_words("age_band", "85+") == "age 85+"
    assert equity.group_words("sex", "male") == "male"


def test_groups_sort_naturally_with_unknown_last():
    assert equity.group_order("age_band", ["85+", "unknown", "18-44", "0-17", "65-74"]) == [
        "0-17",
        "18-44",
        "65-74",
        "85+",
        "unknown",
    ]
    assert equity.group_order(
        "imd_quintile", ["unknown", "5 (least deprived)", "2", "1 (most deprived)"]
    ) == ["1 (most deprived)", "2", "5 (least deprived)", "unknown"]
    assert equity.group_order("ethnic_group", ["White", "Not stated", "Asian"]) == [
        "Asian",
        "White",
        "Not stated",
    ]


def test_intervals_overlap():
    assert equity.intervals_overlap(1, 3, 2, 4)
    assert equity.intervals_overlap(1, 2, 2, 4)  # touching counts as overlapping
    assert not equity.intervals_overlap(1, 2, 3, 4)
    assert equity.intervals_overlap(1, math.nan, 3, 4)  # no interval: no claim


def _rows(*rows):
    return pd.DataFrame(rows, columns=["group", "value", "lower", "upper"])


def test_overlap_sentence_makes_no_claim_when_intervals_overlap():
    rows = _rows(("quintile 1", 0.40, 0.30, 0.50), ("quintile 5", 0.45, 0.35, 0.55))
    sentence = equity.overlap_sentence("Survival", rows, "higher_is_better", display.rate)
    assert sentence.startswith(
        "Survival: best in quintile 5 (45.0%, 95% CI 35.0% to 55.0%) and worst in quintile 1"
    )
    assert "overlap, so these data do not show a difference" in sentence
    assert "beyond chance" not in sentence


def test_overlap_sentence_names_the_worse_group_when_they_do_not():
    rows = _rows(
        ("A", 0.10, 0.05, 0.15), ("B", 0.30, 0.25, 0.35), ("C", math.nan, math.nan, math.nan)
    )
    sentence = equity.overlap_sentence("Death", rows, "lower_is_better", display.rate)
    assert "best in A" in sentence and "worst in B" in sentence
    assert sentence.endswith("B is worse than A beyond chance.")


def test_overlap_sentence_never_calls_a_neutral_metric_better_or_worse():
    rows = _rows(("A", 100.0, 90.0, 110.0), ("B", 200.0, 190.0, 210.0))
    sentence = equity.overlap_sentence("Cost", rows, "neutral", display.money)
    assert "highest in B (£200" in sentence and "lowest in A" in sentence
    for word in ("better", "worse", "best", "worst"):
        assert word not in sentence
    assert sentence.endswith("the difference is beyond chance.")


def test_overlap_sentence_with_too_few_groups_or_no_difference():
    one = _rows(("A", 0.1, 0.0, 0.2), ("B", math.nan, math.nan, math.nan))
    assert "fewer than two groups" in equity.overlap_sentence("X", one, "neutral", display.rate)
    same = _rows(("A", 0.1, 0.0, 0.2), ("B", 0.1, 0.05, 0.3))
    assert "the same in every group" in equity.overlap_sentence(
        "X", same, "higher_is_better", display.rate
    )


def test_dot_whisker_puts_intervals_on_each_dot():
    figure = charts.dot_whisker(
        [
            {
                "title": "Rate",
                "labels": ["a", "b"],
                "value": [0.2, math.nan],
                "lower": [0.1, math.nan],
                "upper": [0.4, math.nan],
                "reference": 0.25,
                "kind": "rate",
            },
            {
                "title": "Cost",
                "labels": ["a", "b"],
                "value": [10.0, 20.0],
                "lower": [8.0, 15.0],
                "upper": [12.0, 30.0],
                "kind": "money",
            },
        ]
    )
    dots = [t for t in figure["data"] if t["mode"] == "markers"]
    assert [t["xaxis"] for t in dots] == ["x", "x2"]
    assert dots[0]["error_x"]["array"][0] == pytest.approx(0.2)
    assert dots[0]["error_x"]["array"][1] is None and dots[0]["x"][1] is None
    assert dots[0]["error_x"]["arrayminus"][0] == pytest.approx(0.1)
    # the group without a figure says so rather than showing an empty row
    words = [t for t in figure["data"] if t["mode"] == "text"]
    assert words[0]["y"] == ["b"] and words[0]["text"] == ["too few to report"]
    assert figure["layout"]["shapes"][0]["x0"] == 0.25
    assert figure["layout"]["xaxis"]["tickformat"] == ".0%"
    assert figure["layout"]["xaxis2"]["tickprefix"] == "£"


# ---------------------------------------------------------------- the page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "commissioner"])
def test_equity_page_shows_every_panel(results, client_as, role):
    response = client_as(role).get(f"/c/{CONDITION}/equity/")
    assert response.status_code == 200, response.content[:2000]
    text = html.unescape(response.content.decode())
    for title in TITLES:
        assert title in text
    for panel_id in PANELS:
        assert f'data-chart="{panel_id}"' in text
    assert "quintile 1 is the most deprived" in text


@pytest.mark.django_db
def test_the_key_outcome_and_cost_are_charted_per_group(built):
    ctx, page = built("clinician")
    outcome = equity.key_outcome(ctx.pack)
    assert outcome == ctx.pack.value_equations[0].numerator[0].outcome
    for panel in page.panels:
        table = panel.table
        assert {outcome, "cost_mean"} <= set(table["metric"])
        assert table["group"].iloc[0] == equity.EVERYONE
        dots = [t for t in panel.figure["data"] if t["mode"] == "markers"]
        assert [d["name"] for d in dots] == list(
            table.drop_duplicates("metric").set_index("metric").loc[[outcome, "cost_mean"], "label"]
        )
        assert len(panel.notes) >= 2  # a sentence for the outcome and one for cost
    deprivation = page.panel("by-deprivation").table
    assert "1 (most deprived)" in set(deprivation["group"])


@pytest.mark.django_db
def test_figures_match_the_episodes(built):
    ctx, page = built("clinician")
    table = page.panel("by-sex").table
    for sex, mine in ctx.episodes.groupby("sex"):
        row = table[(table["group"] == sex) & (table["metric"] == "cost_mean")].iloc[0]
        assert row["n"] == len(mine)
        if not row["suppressed"]:
            assert row["value"] == pytest.approx(mine["cost_whole_cycle"].mean())


@pytest.mark.django_db
def test_a_site_filter_changes_the_figures(built):
    ctx, page = built("clinician")
    site = min(ctx.all_episodes["site"].astype(str).unique())
    _, filtered = built("clinician", site=site)
    everyone = page.panel("by-deprivation").table
    mine = filtered.panel("by-deprivation").table
    first = mine[mine["metric"] == "cost_mean"].iloc[0]
    assert first["n"] == (ctx.all_episodes["site"] == site).sum()
    assert first["n"] < everyone[everyone["metric"] == "cost_mean"].iloc[0]["n"]
    assert first["value"] != everyone[everyone["metric"] == "cost_mean"].iloc[0]["value"]


@pytest.mark.django_db
def test_no_episodes_is_said_not_failed(results, client_as):
    response = client_as("commissioner").get(f"/c/{CONDITION}/equity/", {"period": "1900/01"})
    assert response.status_code == 200
    assert "No episodes match these filters." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "commissioner"])
def test_downloads_have_the_rows_of_the_panel(built, client_as, role):
    _, page = built(role)
    client = client_as(role)
    for panel in page.panels:
        response = client.get(f"/c/{CONDITION}/equity/{panel.id}.csv")
        assert response.status_code == 200
        frame = read_csv(response.content)
        assert len(frame) == len(panel.table), panel.id
        assert frame["Group"].tolist() == panel.table["group"].tolist()
        assert frame["Measure"].tolist() == panel.table["label"].tolist()


@pytest.mark.django_db
@pytest.mark.parametrize("condition", ["stroke", "hepatitis_c", "infective_endocarditis"])
def test_commissioners_see_no_figure_below_min_cell(built, client_as, condition):
    ctx, page = built("commissioner", condition=condition)
    assert ctx.secondary_suppression
    client = client_as("commissioner")
    for panel in page.panels:
        table = panel.table
        small = table["n_used"] < ctx.min_cell
        for column in panel.disclosure.figures:
            assert table.loc[small, column].isna().all(), (panel.id, column)
        # no measure has exactly one hidden group: it could be worked out from the rest
        for _, group in table.groupby("metric"):
            assert group["suppressed"].eq(True).sum() != 1
        # the chart draws only what the table shows
        for trace in panel.figure["data"]:
            if trace["mode"] != "markers":
                continue
            metric = table.loc[table["label"] == trace["name"], "metric"].iloc[0]
            shown = table[(table["metric"] == metric) & (table["key"] != "all")]
            drawn = {y for x, y in zip(trace["x"], trace["y"], strict=True) if x is not None}
            assert drawn == set(shown.loc[shown["value"].notna(), "group"])
        frame = read_csv(client.get(f"/c/{condition}/equity/{panel.id}.csv").content)
        too_few = pd.to_numeric(frame["Episodes used"]) < ctx.min_cell
        assert frame.loc[too_few, "Value"].isin(["", "too few to report"]).all()
        assert frame.loc[too_few, "95% interval"].isin(["", "too few to report"]).all()


@pytest.mark.django_db
def test_overlap_sentences_follow_the_shown_figures(built):
    ctx, page = built("clinician")
    outcome = equity.key_outcome(ctx.pack)
    for panel in page.panels:
        table = panel.table
        rows = table[
            (table["metric"] == outcome)
            & (table["key"] != "all")
            & table["value"].notna()
            & (table["group"] != equity.UNKNOWN)
        ]
        sentence = panel.notes[0]
        if len(rows) < 2:
            assert "fewer than two groups" in sentence
            continue
        best, worst = rows.loc[rows["value"].idxmax()], rows.loc[rows["value"].idxmin()]
        overlap = equity.intervals_overlap(
            best["lower"], best["upper"], worst["lower"], worst["upper"]
        )
        differ = bool(not overlap and best["value"] != worst["value"])
        assert ("do not overlap" in sentence) is differ
        if overlap:
            assert "do not show a difference" in sentence


@pytest.mark.django_db
def test_unfitted_risk_models_are_left_out_with_a_reason(built):
    ctx, page = built("clinician")
    from carevalue.value.metric_series import group_metrics

    overall = group_metrics(ctx.pack, ctx.episodes)
    unfitted = overall[(overall["metric_kind"] == "observed_expected") & (overall["n_used"] == 0)]
    for metric in unfitted["metric"]:
        assert metric not in set(page.panel("by-sex").table["metric"])
    assert len(page.messages) >= sum(m in equity.key_metrics(ctx) for m in unfitted["metric"])
    assert np.all(
        page.panel("by-age")
        .table["direction"]
        .isin(["higher is better", "lower is better", "neither higher nor lower is better"])
    )
