"""The SPC page: a Making Data Count chart per charted metric, the icon summary agrees with
the run's metric_spc_icons, the filters choose the series, suppressed months are gaps
labelled "too few to report" (never zeros), and a commissioner sees no small figure."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from carevalue.disclosure import TOO_FEW
from carevalue.reports import display
from carevalue.web.mdc_icons import NO_ASSURANCE_LABEL, VARIATION

URL = "/c/stroke/spc/"


def _page(client, url: str = URL):
    response = client.get(url)
    assert response.status_code == 200, response.content[:2000]
    return response, response.context["page"]


def _run_tables(results, segment_type: str = "all", segment: str = "all"):
    from carevalue.snapshots import current_snapshot

    snapshot = current_snapshot(results)
    icons = snapshot.table("metric_spc_icons")
    icons = icons[
        (icons["condition"] == "stroke")
        & (icons["segment_type"] == segment_type)
        & (icons["segment"] == segment)
    ]
    spc = snapshot.table("metric_spc")
    spc = spc[
        (spc["condition"] == "stroke")
        & (spc["segment_type"] == segment_type)
        & (spc["segment"] == segment)
    ]
    return snapshot, icons, spc


def _min_cell(results) -> int:
    from carevalue.snapshots import current_snapshot
    from carevalue.web import results as web_results

    return web_results.packs(current_snapshot(results))["stroke"].reporting.min_cell


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "commissioner"])
def test_page_renders_for_each_role(results, client_as, role):
    response, page = _page(client_as(role))
    html = response.content.decode()
    assert "Every measure&#x27;s variation and assurance" in html
    assert "How to read these charts" in html
    assert page.panels[0].id == "icons" and page.panels[1].id == "how-to-read"
    assert 'id="panel-chart-death_90d"' in html
    assert "Death within 90 days" in html


@pytest.mark.django_db
def test_a_chart_per_charted_metric(results, client_as):
    _, icons, _ = _run_tables(results)
    _, page = _page(client_as("clinician"))
    assert icons["charted"].sum() > 5  # min_cell 5 in the test trust: monthly charts exist
    for row in icons.to_dict("records"):
        panel = page.panel(f"chart-{row['metric']}")
        assert panel is not None, row["metric"]
        if row["charted"]:
            assert panel.figure is not None, row["metric"]
            names = {trace["name"] for trace in panel.figure["data"]}
            assert {"Monthly value", "Mean", "Process limits"} <= names
        else:
            assert panel.figure is None
            assert panel.notes[0].startswith("Not charted:")
            assert row["note"].removeprefix("not charted: ") in panel.notes[0]


@pytest.mark.django_db
def test_summary_agrees_with_metric_spc_icons(results, client_as):
    _, icons, _ = _run_tables(results)
    _, page = _page(client_as("clinician"))
    summary = page.panel("icons").table.set_index("metric")
    icons = icons.set_index("metric")
    assert set(summary.index) == set(icons.index)
    for metric, row in icons.iterrows():
        shown = summary.loc[metric]
        if display.missing(row["variation"]):
            assert display.missing(shown["variation"])
        else:
            assert shown["variation"] == row["variation"]
            assert shown["variation_label"] == VARIATION[row["variation"]].label
        if display.missing(row["assurance"]):
            assert display.missing(shown["assurance"])
            assert shown["assurance_label"].startswith("None: no ")
            assert any(NO_ASSURANCE_LABEL in n for n in page.panel(f"chart-{metric}").notes)
        else:
            assert shown["assurance"] == row["assurance"]
        assert shown["observed"] == row["observed"]
        if not display.missing(row["mean"]):
            assert shown["mean"] == pytest.approx(row["mean"])
        # every chart panel carries its icon codes
        chart = page.panel(f"chart-{metric}").table
        if len(chart) and not display.missing(row["variation"]):
            assert set(chart["variation"]) == {row["variation"]}


@pytest.mark.django_db
def test_points_are_the_runs_and_gaps_read_too_few(results, client_as):
    _, _, spc = _run_tables(results)
    _, page = _page(client_as("clinician"))
    metric = "death_90d"
    panel = page.panel(f"chart-{metric}")
    run = spc[spc["metric"] == metric].sort_values("date").reset_index(drop=True)
    table = panel.table
    assert len(table) == len(run)
    assert table["y"].to_numpy() == pytest.approx(run["y"].to_numpy(), nan_ok=True)
    suppressed = run["gap"].astype("string").eq("suppressed").fillna(False).to_numpy()
    assert suppressed.any()
    # the table reads "too few to report", never a number or a blank
    texts = [row[2][0] for row in panel.rows()]
    for hidden, text in zip(suppressed, texts, strict=True):
        if hidden:
            assert text == TOO_FEW
    # the chart leaves a gap there and marks the month on its own strip
    main = panel.figure["data"][0]
    assert all(main["y"][i] is None for i in range(len(run)) if suppressed[i])
    strip = next(t for t in panel.figure["data"] if t["name"].startswith("Too few to report"))
    assert strip["yaxis"] == "y2"
    assert len(strip["x"]) == int(suppressed.sum())
    # the mean line is two points per rebase period, not one per month
    mean = next(t for t in panel.figure["data"] if t["name"] == "Mean")
    assert len([x for x in mean["x"] if x is not None]) == 2 * run["rebase_group"].nunique()
    assert mean["y"][0] == pytest.approx(run["mean"].iloc[0])


@pytest.mark.django_db
def test_special_cause_points_are_coloured(results, client_as):
    _, _, spc = _run_tables(results)
    _, page = _page(client_as("clinician"))
    special = spc[spc["point_type"].astype("string").str.startswith("special_cause").fillna(False)]
    assert len(special)
    for metric, rows in special.groupby("metric"):
        figure = page.panel(f"chart-{metric}").figure
        coloured = [
            x
            for t in figure["data"]
            if t["name"] in ("Improvement", "Concern", "Special cause, high", "Special cause, low")
            for x in t["x"]
        ]
        assert sorted(coloured) == sorted(pd.to_datetime(rows["date"]).dt.strftime("%Y-%m"))


@pytest.mark.django_db
def test_site_filter_switches_the_series(results, client_as):
    _, icons, spc = _run_tables(results, "site", "North")
    client = client_as("clinician")
    _, page = _page(client, URL + "?site=North")
    assert "site North" in page.lead
    summary = page.panel("icons").table.set_index("metric")
    icons = icons.set_index("metric")
    assert set(summary.index) == set(icons.index)
    for metric, row in icons.iterrows():
        assert summary.loc[metric, "charted"] == bool(row["charted"])
        note = summary.loc[metric, "note"]
        assert note == row["note"] or (display.missing(note) and display.missing(row["note"]))
        chart = page.panel(f"chart-{metric}").table
        run = spc[spc["metric"] == metric].sort_values("date")
        if not row["charted"]:  # not charted: only the months with a value are listed
            run = run[run["y"].notna()]
        assert chart["n"].tolist() == run["n"].tolist()
        assert chart["y"].tolist() == pytest.approx(run["y"].tolist(), nan_ok=True)
    # two groupings named: the page says which one the charts show
    _, page = _page(client, URL + "?site=South&group=sex:female")
    assert any("site South" in m and "more than one grouping" in m for m in page.messages)


@pytest.mark.django_db
def test_group_filter_and_period_shading(results, client_as):
    _, icons, _ = _run_tables(results, "sex", "female")
    client = client_as("clinician")
    _, page = _page(client, URL + "?group=sex:female&period=2023/24")
    assert "sex female" in page.lead
    assert set(page.panel("icons").table["metric"]) == set(icons["metric"])
    assert any("FY 2023/24 is shaded" in m for m in page.messages)
    _, page = _page(client, URL + "?period=2023/24")
    charted = [p for p in page.panels if p.figure is not None]
    assert charted
    shapes = charted[0].figure["layout"]["shapes"]
    assert any(s["type"] == "rect" and s["x0"].startswith("2023-03") for s in shapes)


@pytest.mark.django_db
def test_how_to_read_panel(results, client_as):
    _, page = _page(client_as("clinician"))
    panel = page.panel("how-to-read")
    text = " ".join(panel.table["element"]) + " " + " ".join(panel.table["meaning"])
    for words in (
        "Mean",
        "Process limits",
        "Orange",
        "Blue",
        "beyond a limit",
        "run of seven",
        "trend of six",
        "two of three",
    ):
        assert words in text
    assert "Making Data Count" in panel.understand["Source"]
    assert set(VARIATION) <= set(panel.table["code"].dropna())


@pytest.mark.django_db
def test_downloads_equal_the_panel_tables(results, client_as):
    client = client_as("clinician")
    _, page = _page(client)
    for panel in page.panels[:4]:
        response = client.get(f"{URL}{panel.id}.csv")
        assert response.status_code == 200, panel.id
        body = "\n".join(
            line for line in response.content.decode().splitlines() if not line.startswith("# ")
        )
        frame = pd.read_csv(io.StringIO(body), keep_default_na=False, dtype=str)
        expected = panel.download_frame()
        assert list(frame.columns) == list(expected.columns)
        assert len(frame) == len(expected)
        first = expected.columns[0]
        assert frame[first].tolist() == [
            "" if display.missing(v) else str(v) for v in expected[first]
        ]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?site=North", "?group=sex:female"])
def test_commissioner_never_sees_a_small_figure(results, client_as, query):
    min_cell = _min_cell(results)
    _, page = _page(client_as("commissioner"), URL + query)
    for panel in page.panels:
        rule = panel.disclosure
        if rule is None or panel.table.empty:
            continue
        small = ~(pd.to_numeric(panel.table[rule.count], errors="coerce") >= min_cell)
        if panel.id.startswith("chart-"):
            # a month's value never rests on fewer than min_cell episodes
            assert panel.table.loc[panel.table["n"] < min_cell, "y"].isna().all(), panel.id
        for column in rule.figures:
            values = panel.table.loc[small, column]
            assert all(display.missing(v) or v == "" for v in values), (panel.id, column)
        if panel.figure is not None:
            shown = sum(v is not None for v in panel.figure["data"][0]["y"])
            assert shown == int(panel.table["y"].notna().sum())


def test_neutral_metric_is_never_better_or_worse():
    from carevalue.web.metric_text import DIRECTION_WORDS
    from carevalue.web.pages.spc import HOW_TO_READ

    assert "better" not in DIRECTION_WORDS["neutral"].replace(
        "neither higher nor lower is better", ""
    )
    purple = dict(HOW_TO_READ)["Purple dots"]
    assert "neither better nor worse" in purple


@pytest.mark.django_db
def test_service_changes_are_annotated(results, client_as):
    client = client_as("clinician")
    response = client.get("/c/infective_endocarditis/spc/")
    assert response.status_code == 200
    page = response.context["page"]
    charts = [p for p in page.panels if p.id.startswith("chart-")]
    assert charts
    assert all(any("Service change recorded on 2021-10-01" in n for n in p.notes) for p in charts)
    for panel in charts:
        if panel.figure is not None:
            assert panel.figure["layout"]["annotations"][0]["x"] == "2021-10-01"


@pytest.mark.django_db
def test_unknown_segment_says_so(results, client_as):
    _, page = _page(client_as("clinician"), URL + "?site=Nowhere")
    assert "No monthly series" in page.lead
    assert [p.id for p in page.panels] == ["how-to-read"]
