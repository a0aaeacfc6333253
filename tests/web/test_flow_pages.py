"""The patient-flow pages (process map, variants, value stream) through Django's test
client on the shared published run: who sees what, that the figures are carevalue.flow's
over exactly the filtered episodes, downloads, small numbers, and the episodes behind an
edge for clinical roles only (audited)."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from carevalue import flow
from carevalue.disclosure import TOO_FEW
from carevalue.snapshots import current_snapshot
from carevalue.web import results as web_results
from carevalue.web.models import AuditEvent
from carevalue.web.pages import flow_data

pytestmark = pytest.mark.django_db

CONDITION = "stroke"
MAP, VARIANTS, STREAM = (
    f"/c/{CONDITION}/{slug}/" for slug in ("flow", "flow-variants", "value-stream")
)
PAGES = (MAP, VARIANTS, STREAM)
ROLES = ("clinician", "team_lead", "service_manager", "finance", "commissioner", "administrator")
NONE_MATCH = {"site": "no-such-site"}


def _events(root, condition=CONDITION, **filters) -> pd.DataFrame:
    """flow_events of the condition's episodes the filters keep."""
    snapshot = current_snapshot(root)
    episodes = snapshot.table("episode_value")
    episodes = episodes[episodes["condition"] == condition]
    for column, value in filters.items():
        episodes = episodes[episodes[column].astype("string") == value]
    events = snapshot.table("flow_events")
    events = events[events["condition"] == condition]
    return events[events["episode_id"].isin(episodes["episode_id"])]


def _without_routine(root, events: pd.DataFrame, condition=CONDITION) -> pd.DataFrame:
    pack = web_results.packs(current_snapshot(root))[condition]
    return events[~events["activity"].isin(pack.flow.routine)]


def _csv(response) -> pd.DataFrame:
    assert response.status_code == 200
    return pd.read_csv(io.StringIO(response.content.decode()), comment="#", dtype=str)


def _graph(response) -> dict:
    found = re.search(
        r'<script type="application/json" id="flow-map-data">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "the map's data is on the page"
    return json.loads(found.group(1).replace("<\\/", "</"))


# --- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_with_the_dashboards_opens_the_three_flow_pages(results, client_as, role):
    client = client_as(role, CONDITION if role in ("clinician", "team_lead") else "")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (role, path)
        html = response.content.decode()
        assert 'aria-label="Patient flow pages"' in html
        assert not response.context["page"].messages, (role, path)
    # one header link for the section, marked current
    assert html.count(">Patient flow</a>") == 1


def test_a_clinician_of_another_condition_is_refused(results, client_as):
    client = client_as("clinician", "infective_endocarditis")
    for path in PAGES:
        assert client.get(path).status_code == 403


def test_the_edge_episodes_are_for_clinical_roles_only_and_audited(results, client_as):
    edge = {"from": "CT head", "to": "Thrombolysis"}
    events = _without_routine(results, _events(results))
    behind = set()
    for _, case in events.sort_values(["episode_id", "start_at", "seq"]).groupby("episode_id"):
        steps = list(zip(case["activity"], case["activity"].iloc[1:], strict=False))
        if ("CT head", "Thrombolysis") in steps:
            behind.add(case["episode_id"].iloc[0])
    assert behind, "the shared trust has thrombolysed episodes"

    response = client_as("clinician", CONDITION).get(MAP, edge)
    listing = response.context["page"].panel("edge-episodes")
    assert set(listing.table["episode_id"]) == behind
    event = AuditEvent.objects.get(action="view_patients")
    assert set(event.patients) == set(listing.table["patient_id"]) and event.patients
    assert event.detail == {"what": "flow"} and "from=CT+head" in event.path
    assert all(p in response.content.decode() for p in event.patients)
    assert f'href="/c/{CONDITION}/patients/"' in response.content.decode()

    # the map alone shows no patient, so it is not a patient view
    client_as("team_lead", CONDITION).get(MAP)
    assert AuditEvent.objects.filter(action="view_patients").count() == 1

    snapshot = current_snapshot(results)
    ids = set(snapshot.table("episode_value")["patient_id"].astype(str))
    for role in ("commissioner", "service_manager", "administrator"):
        client = client_as(role)
        response = client.get(MAP, edge)
        page = response.context["page"]
        assert page.panel("edge-waits") is not None and page.panel("edge-episodes") is None
        assert not any(p.patients for p in page.panels)
        html = response.content.decode()
        assert not any(f">{p}<" in html for p in ids), role
        assert _csv(client.get(MAP + "edge-waits.csv", edge)).shape[0] > 0
        assert client.get(MAP + "edge-episodes.csv", edge).status_code == 404
    assert AuditEvent.objects.filter(action="view_patients").count() == 1


# --- the figures are carevalue.flow's over the filtered episodes --------------------------------


def test_the_map_is_the_directly_follows_graph_of_the_filtered_episodes(results, client_as):
    client = client_as("administrator")
    everything = client.get(MAP, {"routine": "show"}).context["page"].panel("transitions")
    # with every activity, the map is the run's own flow_edges for the condition
    stored = current_snapshot(results).table("flow_edges")
    stored = stored[stored["condition"] == CONDITION]
    mine = everything.table.set_index(["source", "target"])
    theirs = stored.set_index(["source", "target"])
    assert set(mine.index) == set(theirs.index)
    pd.testing.assert_series_equal(
        mine["count"], theirs.loc[mine.index, "count"], check_names=False
    )
    shown = mine[mine["median_wait_s"].notna()].index  # the rest are too few to report
    assert len(shown) > len(mine) / 2
    pd.testing.assert_series_equal(
        mine.loc[shown, "median_wait_s"], theirs.loc[shown, "median_wait_s"], check_names=False
    )

    episodes = current_snapshot(results).table("episode_value")
    site = sorted(episodes.loc[episodes["condition"] == CONDITION, "site"].dropna().unique())[0]
    page = client.get(MAP, {"site": site}).context["page"]
    table = page.panel("transitions").table
    expected = flow.directly_follows(
        _without_routine(results, _events(results, site=site)), **flow.EVENT_COLUMNS
    )
    assert table["count"].tolist() == expected["count"].tolist()
    assert (
        table[["source", "target"]].values.tolist()
        == expected[["source", "target"]].values.tolist()
    )
    unfiltered = client.get(MAP).context["page"].panel("transitions").table
    assert table["count"].sum() < unfiltered["count"].sum()
    graph = _graph(client.get(MAP, {"site": site}))
    assert [e["count"] for e in graph["edges"]] == table["count"].tolist()
    assert {n["label"] for n in graph["nodes"]} >= set(table["source"]) | set(table["target"])


def test_each_edges_wait_distribution_rests_on_the_same_waits(results, client_as):
    """The histogram's transitions (flow_data.transitions, pandas) are the edges' own: the
    same count and median as carevalue.flow.directly_follows."""
    found = flow_data.Flow(_events(results).reset_index(drop=True), None)
    steps = found.transitions
    edges = found.edges.set_index(["source", "target"])
    per_edge = steps.groupby(["source", "target"])["wait_s"]
    assert per_edge.size().sort_index().tolist() == edges["count"].sort_index().tolist()
    medians = per_edge.median().sort_index()
    assert medians.to_numpy() == pytest.approx(edges["median_wait_s"].sort_index().to_numpy())
    graph = _graph(client_as("administrator").get(MAP))
    shown = [e for e in graph["edges"] if not e["suppressed"]]
    assert shown and all(sum(e["counts"]) == e["count"] for e in shown)


def test_the_frequency_filter_keeps_what_filter_map_keeps(results, client_as):
    client = client_as("service_manager")
    full = client.get(MAP).context["page"]
    simple = client.get(MAP, {"activities": "40", "paths": "20"})
    page = simple.context["page"]
    found = flow_data.flow_for(simple.context["ctx"], routine=False)
    edges, activities = flow.filter_map(
        found.edges, found.activities, activity_share=0.4, path_share=0.2
    )
    assert page.panel("activities").table["activity"].tolist() == activities["activity"].tolist()
    assert len(page.panel("transitions").table) == len(edges)
    assert len(page.panel("transitions").table) < len(full.panel("transitions").table)
    html = simple.content.decode()
    assert '<option value="40" selected>' in html and "paths=20" in html
    # an option outside the choices is the default, never an error
    assert client.get(MAP, {"activities": "7"}).status_code == 200


def test_a_variant_is_highlighted_on_the_map(results, client_as):
    client = client_as("finance")
    variants = client.get(VARIANTS).context["page"].panel("variants").table
    first = variants.iloc[0]
    assert "On the map" in client.get(VARIANTS).content.decode()
    response = client.get(MAP, {"variant": "1", "activities": "10", "paths": "10"})
    graph = _graph(response)
    steps = set(zip(first["activities"], first["activities"][1:], strict=False))
    marked = {(e["from"], e["to"]) for e in graph["edges"] if e["highlight"]}
    assert marked == steps  # added back even where the frequency filter would drop them
    table = response.context["page"].panel("transitions").table
    assert (
        set(map(tuple, table.loc[table["on_variant"] == "yes", ["source", "target"]].values))
        == steps
    )
    assert "Highlighting variant 1" in response.content.decode()


def test_variants_are_carevalue_flows_with_show_more(results, client_as):
    client = client_as("administrator")
    response = client.get(VARIANTS)
    table = response.context["page"].panel("variants").table
    expected = flow.variants(_without_routine(results, _events(results)), **flow.EVENT_COLUMNS)
    assert len(table) == min(20, len(expected))
    assert table["count"].tolist() == expected["count"].head(20).tolist()
    assert [tuple(a) for a in table["activities"]] == expected["activities"].head(20).tolist()
    html = response.content.decode()
    assert 'class="cv-chip"' in html
    if len(expected) > 20:
        assert "show=40" in html
        more = client.get(VARIANTS, {"show": "40"}).context["page"].panel("variants").table
        assert len(more) == min(40, len(expected))
    everything = client.get(VARIANTS, {"routine": "show"}).context["page"]
    assert everything.panel("variants").table["length"].max() > table["length"].max()


def test_the_value_stream_is_carevalue_flows_in_pack_order(results, client_as):
    response = client_as("team_lead", CONDITION).get(STREAM)
    page = response.context["page"]
    pack = response.context["pack"]
    stages = page.panel("stages").table
    names = {s.id: s.name for s in pack.stages}
    events = _events(results)
    expected = flow.value_stream(
        events,
        **flow.EVENT_COLUMNS,
        stage="stage",
        stages=list(names),
        value_adding=pack.flow.value_adding,
        stays=pack.flow.stays,
    )
    assert stages["stage"].tolist() == [names.get(s, s) for s in expected["stage"][:-1]] + [
        "Whole pathway"
    ]
    assert [names[s] for s in names if names[s] in set(stages["stage"])] == stages["stage"][
        :-1
    ].tolist()
    assert stages["median_lead_s"].tolist() == pytest.approx(
        expected["median_lead_time_s"].tolist()
    )
    assert stages["pce"].tolist() == pytest.approx(expected["pce"].tolist(), nan_ok=True)
    assert page.panel("stages").figure["layout"]["barmode"] == "stack"
    intervals = page.panel("key-intervals").table
    assert intervals["interval"].tolist() == [k.name for k in pack.flow.key_intervals]
    needle = next(k for k in pack.flow.key_intervals if k.id == "door_to_needle")
    times = flow.interval_times(
        events,
        **flow.EVENT_COLUMNS,
        from_activity=needle.from_activity,
        to_activity=needle.to_activity,
    )
    row = intervals[intervals["interval"] == needle.name].iloc[0]
    assert row["cases"] == len(times)
    assert row["within_target"] == pytest.approx((times["seconds"] <= 3600).mean())
    assert page.panel(f"interval-{needle.id}").table["episodes"].sum() == len(times)
    bottlenecks = page.panel("bottlenecks").table
    assert bottlenecks["total_wait_s"].is_monotonic_decreasing and len(bottlenecks) <= 5
    outcomes = current_snapshot(results).table("episode_outcomes")
    readmitted = outcomes[
        (outcomes["outcome_id"] == "readmission_30d")
        & (outcomes["status"] == "measured")
        & (outcomes["value"] == 1)
    ]["episode_id"]
    yield_ = flow.first_pass_yield(
        events, **flow.EVENT_COLUMNS, routine=pack.flow.routine, failed_cases=readmitted
    )
    assert yield_.failed > 0  # the readmitted episodes are not first passes
    first_pass = page.panel("first-pass").table
    first = first_pass.iloc[0]
    assert (first["cases"], first["first_pass"]) == (yield_.cases, yield_.first_pass)
    came_back = first_pass.iloc[1]
    assert came_back["activity"].startswith("Came back") and came_back["rework_cases"] == (
        yield_.failed
    )


def test_filters_change_the_numbers_on_every_flow_page(results, client_as):
    client = client_as("administrator")
    period = sorted(
        current_snapshot(results)
        .table("episode_value")
        .query("condition == @CONDITION")["financial_year"]
        .dropna()
        .astype(str)
        .unique()
    )[-1]
    for path, panel, column in (
        (MAP, "transitions", "count"),
        (VARIANTS, "variants", "count"),
        (STREAM, "stages", "cases"),
    ):
        everyone = client.get(path).context["page"].panel(panel).table[column].sum()
        some = client.get(path, {"period": period}).context["page"].panel(panel).table[column]
        assert 0 < some.sum() < everyone, path


# --- downloads, messages, small numbers -------------------------------------------------------


def test_each_download_is_the_table_shown(results, client_as):
    client = client_as("administrator")
    for path, panel_id, query in (
        (MAP, "transitions", {"activities": "60"}),
        (MAP, "activities", {}),
        (VARIANTS, "variants", {"show": "40"}),
        (STREAM, "stages", {}),
        (STREAM, "key-intervals", {}),
        (STREAM, "bottlenecks", {}),
    ):
        response = client.get(path, query)
        panel = response.context["page"].panel(panel_id)
        download = _csv(client.get(f"{path}{panel_id}.csv", query))
        shown = panel.download_frame().astype("string").fillna("")
        assert download.columns.tolist() == [c.label for c in panel.columns]
        assert download.fillna("").values.tolist() == shown.values.tolist(), (path, panel_id)
        assert client.get(f"{path}{panel_id}.xlsx", query).status_code == 200
        if query:
            # the page's links carry its options, so the download is what was on screen
            assert f"{panel_id}.csv?" in response.content.decode()


def test_a_filter_that_leaves_no_episodes_says_so_plainly(results, client_as):
    client = client_as("clinician", CONDITION)
    for path in PAGES:
        response = client.get(path, NONE_MATCH)
        assert response.status_code == 200
        page = response.context["page"]
        assert page.messages == [
            "No episodes match these filters, so there is no patient flow to show."
        ]
        assert not page.panels and 'id="flow-map-data"' not in response.content.decode()
    assert not AuditEvent.objects.filter(action="view_patients").exists()


def test_small_numbers_are_too_few_to_report_and_commissioners_get_more(results, client_as):
    pack = web_results.packs(current_snapshot(results))[CONDITION]
    admin = client_as("administrator").get(MAP)
    table = admin.context["page"].panel("transitions").table
    small = table["cases"] < pack.reporting.min_cell
    assert small.any(), "the shared trust has rare transitions"
    assert table.loc[small, "median_wait_s"].isna().all()
    assert table.loc[~small, "median_wait_s"].notna().all()
    assert TOO_FEW in admin.content.decode()
    graph = _graph(admin)
    assert all(
        e["suppressed"] and not e["counts"]
        for e in graph["edges"]
        if e["cases"] < pack.reporting.min_cell
    )

    commissioner = client_as("commissioner")
    seen = commissioner.get(MAP).context["page"].panel("transitions").table
    hidden = seen["suppressed"].eq(True)
    assert int(hidden.sum()) != 1 and hidden.sum() >= small.sum()
    assert seen.loc[hidden, "median_wait_s"].isna().all()
    # a rare path is close to one patient's story: commissioners see rare variants as one row
    variants = commissioner.get(VARIANTS).context["page"].panel("variants").table
    named = variants[variants["variant"].notna()]
    assert (named["count"] >= pack.reporting.min_cell).all()
    rarest = commissioner.get(MAP, {"variant": "1000"})  # past the last: no such variant
    assert rarest.context["page"].graph["variant"] is None
    everyone = client_as("service_manager").get(VARIANTS, {"show": "1000"}).context["page"]
    everyone = everyone.panel("variants").table
    assert (everyone["count"] < pack.reporting.min_cell).any()
    assert variants["variant"].isna().sum() == 1
    assert variants["count"].sum() == everyone["count"].sum()
    commissioner = client_as("commissioner", CONDITION)
    last = commissioner.get(MAP, {"variant": str(len(everyone))})
    assert last.context["page"].graph["variant"] is None
    assert "too few to report on the map" in last.content.decode()


def test_a_run_without_flow_events_says_what_to_do(results, client_as, monkeypatch):
    from carevalue.snapshots import Snapshot

    real = Snapshot.has
    monkeypatch.setattr(
        Snapshot, "has", lambda self, name: name != "flow_events" and real(self, name)
    )
    flow_data.clear()
    response = client_as("administrator").get(MAP)
    assert response.status_code == 200
    assert "has no patient flow events" in response.context["page"].messages[0]
    flow_data.clear()


def test_durations_read_in_the_unit_a_person_would_use():
    assert [flow_data.duration(s) for s in (None, float("nan"), 0, 20, 90, 3000, 5400)] == [
        "",
        "",
        "0 min",
        "under 1 min",
        "2 min",
        "50 min",
        "1.5 hours",
    ]
    assert flow_data.duration(3 * 86400) == "3.0 days"
    assert flow_data.duration(47 * 3600) == "47.0 hours"
    assert [flow_data.wait_band(s) for s in (0, 899, 900, 10**9)] == [0, 0, 1, 13]
    assert flow_data.band_counts(pd.Series([0, 60, 1000, 4000.0]))[:4] == [2, 1, 0, 1]


def test_the_map_scripts_are_vendored_from_npm_at_their_pins(tmp_path):
    from carevalue.web.assets import REPO_ROOT, build_assets

    out = tmp_path / "vendor"
    build_assets(REPO_ROOT, out)
    manifest = json.loads((out / "MANIFEST.json").read_text())["files"]
    pins = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]
    assert manifest["dagre/dagre.min.js"]["version"] == pins["@dagrejs/dagre"]
    assert manifest["svg-pan-zoom/svg-pan-zoom.min.js"]["version"] == pins["svg-pan-zoom"]
    assert {
        "dagre/LICENSE-dagre",
        "dagre/LICENSE-graphlib",
        "svg-pan-zoom/LICENSE-svg-pan-zoom",
    } <= set(manifest)
    for name in ("dagre/dagre.min.js", "svg-pan-zoom/svg-pan-zoom.min.js"):
        assert "sourceMappingURL" not in (out / name).read_text()
