"""The process map: how the filtered episodes move from one activity to the next, and how
long they wait in between (a directly-follows graph from carevalue.flow).

The graph is data (``FlowPage.graph``, JSON in the page) laid out in the browser by dagre
and drawn as SVG by static/carevalue/flow.js; the same transitions are the table beside
it, with their downloads, so nothing on the map is only on the map. The frequency filter
(the commonest share of activities, then of paths: ``carevalue.flow.filter_map``) is a GET
form, so it works without JavaScript and the address is the permalink.

An edge's detail (its wait distribution, and for clinical roles the episodes behind it)
is the same page with ``from`` and ``to`` in the address: the browser shows the
distribution in place from the page's data, and links there for the episodes, whose view
is audited like the patients page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import pairwise

import pandas as pd

from carevalue import flow
from carevalue.disclosure import TOO_FEW
from carevalue.reports import display
from carevalue.web import charts
from carevalue.web.pages import PageContext
from carevalue.web.pages import flow_data as fd
from carevalue.web.panels import Column, Disclosure, Page, Panel

SECTION = fd.SECTION
OPTIONS = ("activities", "paths", "routine", "variant", "from", "to")
SHARES = (100, 80, 60, 40, 20, 10)
ROUTINE_DEFAULT = "hide"  # as the variants: repeats by design would hide the pathway
MAX_EPISODES = 500  # an edge's episodes listed, longest wait first (as the patients page)
WAIT_FIGURES = ("median_wait", "p90_wait", "median_wait_s", "p90_wait_s", "total_wait_s")


@dataclass
class FlowPage(Page):
    graph: dict | None = None  # what flow.js draws
    form: dict = field(default_factory=dict)  # the frequency filter's choices and values
    hidden: dict[str, str] = field(default_factory=dict)  # kept through the form

    @property
    def graph_json(self) -> str:
        return json.dumps(self.graph, default=str).replace("</", "<\\/")


def page_url(ctx: PageContext, slug: str, *, keep: bool = True, **changes: str) -> str:
    """A flow page's address with the filters and (``keep``) this page's options, changed."""
    values = {**(ctx.options if keep else {}), **changes}
    query = ctx.filters.query(**{k: v for k, v in values.items() if v})
    return f"{ctx.base_url}{slug}/" + (f"?{query}" if query else "")


def build(ctx: PageContext) -> FlowPage:
    routine = fd.routine_shown(ctx, ROUTINE_DEFAULT)
    page = FlowPage(
        title="Process map",
        lead=(
            f"How {ctx.pack.governance.name.lower()} episodes ({ctx.filters.describe()}) move "
            "from one activity to the next: each arrow is a transition, as thick as it is "
            "common and coloured by the median wait before the next activity."
        ),
    )
    if not routine:
        page.lead += (
            f" Activities repeated by design ({', '.join(ctx.pack.flow.routine)}) are left "
            "out, so the waits run to the next other activity; show them below."
        )
    found = fd.flow_for(ctx, routine=routine)
    why = fd.no_flow_message(ctx, found)
    if why:
        page.messages.append(why)
        return page
    activity_share = fd.share_option(ctx, "activities", 100, SHARES)
    path_share = fd.share_option(ctx, "paths", 100, SHARES)
    edges, activities = flow.filter_map(
        found.edges,
        found.activities,
        activity_share=activity_share / 100,
        path_share=path_share / 100,
    )
    variant = _variant(ctx, found, page)
    if variant is not None:
        edges, activities = _with_variant(found, edges, activities, variant)
    page.form = _form(ctx, activity_share, path_share, routine, found, edges, activities)
    page.hidden = {k: v for k, v in ctx.options.items() if k in ("variant",)}
    left_out = int(found.edges.attrs.get("left_out", 0) or 0)
    if left_out:
        page.messages.append(
            f"{left_out:,} events without a time or an activity label are not on the map."
        )
    edge_panel = ctx.protect(_edge_panel(ctx, found, edges, variant))
    activity_panel = ctx.protect(_activity_panel(ctx, found, activities))
    page.panels = [edge_panel, activity_panel]
    page.graph = _graph(ctx, found, edge_panel.table, activity_panel.table, variant)
    chosen = _chosen_edge(ctx, edge_panel.table)
    if chosen is not None:
        page.graph["selected"] = chosen["edge"]
        page.panels[:0] = _edge_detail(ctx, found, chosen)
    elif ctx.options.get("from") or ctx.options.get("to"):
        page.messages.append("That transition is not on the map for these filters.")
    return page


# --- the frequency filter ----------------------------------------------------------------


def _form(ctx, activity_share, path_share, routine, found, edges, activities) -> dict:
    return {
        "activities": [(s, f"{s}%", s == activity_share) for s in SHARES],
        "paths": [(s, f"{s}%", s == path_share) for s in SHARES],
        "routine": bool(ctx.pack.flow.routine),
        "routine_shown": routine,
        "routine_labels": ", ".join(ctx.pack.flow.routine),
        "shown": (
            f"Showing {len(activities):,} of {len(found.activities):,} activities and "
            f"{len(edges):,} of {len(found.edges):,} transitions."
        ),
    }


# --- a variant's path on the map -----------------------------------------------------------


def _variant(ctx: PageContext, found: fd.Flow, page: Page) -> pd.Series | None:
    raw = ctx.options.get("variant", "")
    if not raw:
        return None
    table = found.variants
    try:
        rank = int(raw)
    except ValueError:
        rank = 0
    row = table[table["variant"] == rank]
    if row.empty:
        page.messages.append(f"There is no variant {raw} for these filters.")
        return None
    row = row.iloc[0]
    if ctx.secondary_suppression and int(row["count"]) < ctx.min_cell:
        page.messages.append(
            f"Variant {rank} is the path of fewer than {ctx.min_cell} episodes: "
            f"{TOO_FEW} on the map."
        )
        return None
    steps = " → ".join(row["activities"])
    page.messages.append(
        f"Highlighting variant {rank} ({int(row['count']):,} episodes): {steps}. Its "
        "transitions are marked in the table."
    )
    return row


def _pairs(activities: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(pairwise(activities))


def _with_variant(found, edges, activities, variant):
    """The filtered map with every activity and transition of the variant added back."""
    names = set(variant["activities"])
    pairs = _pairs(variant["activities"])
    all_edges = found.edges
    wanted = [(s, t) in pairs for s, t in zip(all_edges["source"], all_edges["target"])]
    edges = pd.concat([edges, all_edges[wanted]]).drop_duplicates(["source", "target"])
    acts = found.activities
    activities = pd.concat([activities, acts[acts[fd.ACTIVITY].isin(names)]])
    activities = activities.drop_duplicates(fd.ACTIVITY)
    order = ["count", "source", "target"]
    edges = edges.sort_values(order, ascending=[False, True, True]).reset_index(drop=True)
    return edges, activities.reset_index(drop=True)


# --- the tables --------------------------------------------------------------------------


def _edge_panel(ctx, found, edges: pd.DataFrame, variant) -> Panel:
    table = edges[["source", "target", "count", "cases"]].copy()
    for column in ("median_wait_s", "p90_wait_s", "total_wait_s"):
        table[column] = edges[column].astype("float64")
    table["median_wait"] = table["median_wait_s"].map(fd.duration)
    table["p90_wait"] = table["p90_wait_s"].map(fd.duration)
    columns = [
        Column("source", "From"),
        Column("target", "To"),
        Column("count", "Transitions", "count"),
        Column("cases", "Episodes", "count"),
        Column("median_wait", "Median wait"),
        Column("p90_wait", "90th centile wait"),
    ]
    if variant is not None:
        pairs = _pairs(variant["activities"])
        table["on_variant"] = [
            "yes" if (s, t) in pairs else "" for s, t in zip(table["source"], table["target"])
        ]
        columns.append(Column("on_variant", f"On variant {int(variant['variant'])}"))
    # each row's link to its wait distribution (flow_tags.detail_rows; not downloaded)
    table["detail_url"] = [
        page_url(ctx, "flow", **{"from": s, "to": t}) + "#panel-edge-waits"
        for s, t in zip(table["source"], table["target"], strict=True)
    ]
    table["edge"] = [f"e{number}" for number in range(len(table))]
    return Panel(
        id="transitions",
        title="Transitions on the map",
        sentence=(
            "Each arrow of the map as a row: how often one activity was directly followed by "
            "the next, in how many episodes, and how long the wait between them was."
        ),
        table=table,
        columns=columns,
        caption=f"Transitions, {ctx.filters.describe()}, commonest first",
        disclosure=Disclosure("cases", WAIT_FIGURES),
        notes=[
            "Each row's last cell opens the transition's wait distribution"
            + (" and the episodes behind it." if ctx.patient_level else ".")
        ],
        understand={
            "Transition": "Activity A directly followed by activity B in an episode's events, "
            "in time order (equal times keep the order the source gave).",
            "Wait": "From the end of A (its start, when it has no end) to the start of B; 0 "
            "when they overlap. The median is the middle wait, the 90th centile the wait "
            "nine in ten were shorter than.",
            "Episodes": "Episodes with the transition at least once (the count a figure rests "
            f"on: waits of fewer than {ctx.min_cell} episodes are {TOO_FEW}).",
            "Frequency filter": "Keeps the commonest share of activities, then of transitions "
            "between them, and each kept activity's strongest way in and out.",
            "Source": f"flow_events, run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}.",
        },
    )


def _activity_panel(ctx, found, activities: pd.DataFrame) -> Panel:
    table = activities[[fd.ACTIVITY, "count", "cases", "rework_cases"]].copy()
    starts = found.starts.set_index(fd.ACTIVITY)["count"]
    ends = found.ends.set_index(fd.ACTIVITY)["count"]
    table["starts"] = table[fd.ACTIVITY].map(starts).fillna(0).astype("int64")
    table["ends"] = table[fd.ACTIVITY].map(ends).fillna(0).astype("int64")
    table["median_duration_s"] = activities["median_duration_s"].astype("float64")
    table["median_duration"] = table["median_duration_s"].map(fd.duration)
    return Panel(
        id="activities",
        title="Activities on the map",
        sentence=(
            "Each box of the map: how often the activity happened, in how many episodes, how "
            "many episodes began or ended with it, and how long it took."
        ),
        table=table,
        columns=[
            Column(fd.ACTIVITY, "Activity"),
            Column("count", "Events", "count"),
            Column("cases", "Episodes", "count"),
            Column("rework_cases", "Episodes with it more than once", "count"),
            Column("starts", "Episodes starting with it", "count"),
            Column("ends", "Episodes ending with it", "count"),
            Column("median_duration", "Median duration"),
        ],
        caption=f"Activities, {ctx.filters.describe()}, commonest first",
        disclosure=Disclosure("cases", ("median_duration", "median_duration_s")),
        understand={
            "Duration": "From an event's start to its end; blank for activities recorded "
            "as a moment (no end time).",
            "Labels": "The pack's flow labels for the activities of its stages "
            "(docs/condition-packs.md).",
        },
    )


# --- the graph the browser draws -----------------------------------------------------------


def _graph(ctx, found, edges: pd.DataFrame, activities: pd.DataFrame, variant) -> dict:
    ids = {name: f"n{number}" for number, name in enumerate(activities[fd.ACTIVITY])}
    pairs = _pairs(variant["activities"]) if variant is not None else set()
    steps = found.transitions
    grouped = dict(tuple(steps.groupby(["source", "target"], sort=False)["wait_s"]))
    nodes = [
        {
            "id": ids[r[fd.ACTIVITY]],
            "label": r[fd.ACTIVITY],
            "count": int(r["count"]),
            "cases": int(r["cases"]),
            "text": f"{int(r['count']):,} events · {int(r['cases']):,} episodes",
            "highlight": variant is not None and r[fd.ACTIVITY] in set(variant["activities"]),
        }
        for r in activities.to_dict("records")
    ]
    drawn = []
    for r in edges.to_dict("records"):
        hidden = bool(r.get("suppressed")) and display.missing(r["median_wait_s"])
        bands, counts = ([], []) if hidden else _bands(grouped.get((r["source"], r["target"])))
        wait_class = None if hidden else fd.wait_class(r["median_wait_s"])
        drawn.append(
            {
                "id": r["edge"],
                "source": ids[r["source"]],
                "target": ids[r["target"]],
                "from": r["source"],
                "to": r["target"],
                "count": int(r["count"]),
                "cases": int(r["cases"]),
                "median": _shown(r["median_wait"]),
                "p90": _shown(r["p90_wait"]),
                "cls": wait_class,
                "suppressed": hidden,
                "bands": bands,
                "counts": counts,
                "url": page_url(ctx, "flow", **{"from": r["source"], "to": r["target"]}),
                "highlight": (r["source"], r["target"]) in pairs,
            }
        )
    first = variant["activities"][0] if variant is not None else None
    last = variant["activities"][-1] if variant is not None else None
    return {
        "nodes": nodes,
        "edges": drawn,
        "starts": [
            {"target": ids[a], "count": int(c), "highlight": a == first}
            for a, c in zip(found.starts[fd.ACTIVITY], found.starts["count"], strict=True)
            if a in ids
        ],
        "ends": [
            {"source": ids[a], "count": int(c), "highlight": a == last}
            for a, c in zip(found.ends[fd.ACTIVITY], found.ends["count"], strict=True)
            if a in ids
        ],
        "classes": [{"label": label, "colour": colour} for _, label, colour in fd.WAIT_CLASSES],
        "suppressed_colour": fd.SUPPRESSED_COLOUR,
        "too_few": TOO_FEW,
        "min_cell": ctx.min_cell,
        "episodes": found.cases,
        "variant": None if variant is None else int(variant["variant"]),
        "patient_level": ctx.patient_level,
        "figure": _histogram([], []),
        "selected": None,
    }


def _shown(text) -> str:
    """A figure's text, or why it is blank (disclosure blanks it to a missing value)."""
    return TOO_FEW if display.missing(text) or text == "" else str(text)


def _bands(waits: pd.Series | None) -> tuple[list[str], list[int]]:
    """The wait distribution as readable bands, from the first band used to the last."""
    if waits is None or waits.empty:
        return [], []
    counts = fd.band_counts(waits)
    used = [i for i, c in enumerate(counts) if c]
    span = range(used[0], used[-1] + 1)
    return [fd.WAIT_BANDS[i][1] for i in span], [counts[i] for i in span]


def _histogram(bands: list[str], counts: list[int]) -> dict:
    """The house bar chart of one transition's waits (flow.js fills in other edges')."""
    plot = charts.layout(
        x_title="Wait before the next activity", y_title="Transitions", height=260, legend=False
    )
    plot["margin"] = {"l": 50, "r": 10, "t": 10, "b": 90}
    plot["xaxis"]["type"] = "category"
    plot["bargap"] = 0.1
    return {
        "data": [
            {
                "type": "bar",
                "x": bands,
                "y": counts,
                "marker": {"color": charts.BLUE},
                "hovertemplate": "%{x}: %{y:,} transitions<extra></extra>",
            }
        ],
        "layout": plot,
    }


# --- one edge in detail ---------------------------------------------------------------------


def _chosen_edge(ctx: PageContext, edges: pd.DataFrame) -> dict | None:
    source, target = ctx.options.get("from", ""), ctx.options.get("to", "")
    if not (source and target):
        return None
    row = edges[(edges["source"] == source) & (edges["target"] == target)]
    return None if row.empty else row.iloc[0].to_dict()


def _edge_detail(ctx: PageContext, found: fd.Flow, edge: dict) -> list[Panel]:
    source, target = edge["source"], edge["target"]
    steps = found.transitions
    mine = steps[(steps["source"] == source) & (steps["target"] == target)]
    hidden = bool(edge.get("suppressed")) and display.missing(edge["median_wait_s"])
    bands, counts = ([], []) if hidden else _bands(mine["wait_s"])
    table = pd.DataFrame({"band": bands, "transitions": counts})
    waits = Panel(
        id="edge-waits",
        title=f"Waits from {source} to {target}",
        sentence=(
            f"How long episodes waited between {source} and {target} "
            f"({int(edge['count']):,} transitions in {int(edge['cases']):,} episodes): "
            f"median {_shown(edge['median_wait'])}, 90th centile {_shown(edge['p90_wait'])}."
        ),
        table=table,
        columns=[Column("band", "Wait"), Column("transitions", "Transitions", "count")],
        figure=None if hidden else _histogram(bands, counts),
        caption=f"Waits from {source} to {target}, {ctx.filters.describe()}",
        notes=(
            [f"Fewer than {ctx.min_cell} episodes: the distribution is {TOO_FEW}."]
            if hidden
            else []
        ),
    )
    panels = [waits]
    if ctx.patient_level:
        panels.append(_edge_episodes(ctx, mine, source, target))
    return panels


def _edge_episodes(ctx: PageContext, mine: pd.DataFrame, source: str, target: str) -> Panel:
    per = (
        mine.groupby(fd.CASE)
        .agg(
            transitions=("wait_s", "size"),
            median_s=("wait_s", "median"),
            longest_s=("wait_s", "max"),
        )
        .reset_index()
    )
    episodes = ctx.episodes[["episode_id", "patient_id", "index_date", "site", "team"]]
    table = per.merge(episodes, left_on=fd.CASE, right_on="episode_id", how="left")
    table = table.sort_values(["longest_s", fd.CASE], ascending=[False, True], kind="stable")
    total = len(table)
    table = table.head(MAX_EPISODES).reset_index(drop=True)
    table["patient_id"] = table["patient_id"].astype("string").fillna("")
    table["median_wait"] = table["median_s"].map(fd.duration)
    table["longest_wait"] = table["longest_s"].map(fd.duration)
    patients_url = f"{ctx.base_url}patients/" + (
        f"?{ctx.filters.query()}" if ctx.filters.query() else ""
    )
    more = f" (the {MAX_EPISODES:,} longest waits of {total:,})" if total > MAX_EPISODES else ""
    return Panel(
        id="edge-episodes",
        title=f"Episodes from {source} to {target}",
        sentence=(
            f"The episodes behind this transition{more}, longest wait first; each patient "
            "links to the patients page for case review."
        ),
        table=table[
            [
                "patient_id",
                "episode_id",
                "index_date",
                "site",
                "team",
                "transitions",
                "median_wait",
                "longest_wait",
            ]
        ],
        columns=[
            Column("patient_id", "Patient"),
            Column("episode_id", "Episode"),
            Column("index_date", "Index date", "date"),
            Column("site", "Site"),
            Column("team", "Team"),
            Column("transitions", "Times in the episode", "count"),
            Column("median_wait", "Median wait"),
            Column("longest_wait", "Longest wait"),
        ],
        caption=f"Episodes from {source} to {target}, longest wait first",
        patients=sorted(set(table["patient_id"]) - {""}),
        links={p: patients_url for p in table["patient_id"] if p},
        understand={
            "Audit": "Every view and download of this list records you, the time, the "
            "filters and the patients listed.",
            "Patient": "The trust's local patient identifier; NHS numbers are never shown.",
        },
    )
