"""The value stream: where the filtered episodes' time goes, stage by stage (lead time,
processing against waiting, process cycle efficiency), the pack's key intervals against
their targets, the transitions where most waiting accumulates, and first-pass yield.

Every figure comes from carevalue.flow.value_stream (docs/flow.md defines them) over the
whole event log, routine activities included: therapy sessions are part of the time.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd

from carevalue import flow
from carevalue.disclosure import TOO_FEW, reportable
from carevalue.reports import display
from carevalue.web import charts
from carevalue.web.pages import PageContext
from carevalue.web.pages import flow_data as fd
from carevalue.web.panels import Card, Column, Disclosure, Page, Panel

OPTIONS: tuple[str, ...] = ()
BOTTLENECKS = 5
WHOLE = "Whole pathway"
STAGE_FIGURES = (
    "median_lead",
    "p90_lead",
    "median_processing",
    "median_waiting",
    "mean_processing_h",
    "mean_waiting_h",
    "pce",
)
PROCESSING_COLOUR = charts.BLUE
WAITING_COLOUR = charts.PALE_GREY


def build(ctx: PageContext) -> Page:
    page = Page(
        title="Value stream",
        lead=(
            f"Where the time of {ctx.pack.governance.name.lower()} episodes "
            f"({ctx.filters.describe()}) goes: stage by stage, how much of it something "
            "was being done for the patient and how much was waiting, how long the key "
            "steps took against their targets, and where waiting piles up."
        ),
    )
    found = fd.flow_for(ctx, routine=True)
    why = fd.no_flow_message(ctx, found)
    if why:
        page.messages.append(why)
        return page
    stream = found.value_stream
    stages = ctx.protect(_stages(ctx, stream))
    stages.figure = _stacked(stages.table)
    yield_ = found.first_pass_yield
    page.cards = _cards(ctx, stages.table, yield_)
    page.panels.append(stages)
    intervals = list(ctx.pack.flow.key_intervals)
    if intervals:
        times = {ki.id: found.interval_times(ki.from_activity, ki.to_activity) for ki in intervals}
        page.panels.append(_interval_summary(ctx, intervals, times))
        for interval in intervals:
            page.panels.append(_interval_panel(ctx, interval, times[interval.id]))
    page.panels.append(_bottlenecks(ctx, found))
    page.panels.append(_first_pass(ctx, found, yield_))
    return page


# --- stages -------------------------------------------------------------------------------


def _stage_names(ctx: PageContext) -> dict[str, str]:
    names = {stage.id: stage.name for stage in ctx.pack.stages}
    names["other"] = "Other (no stage)"
    names[flow.ALL_STAGES] = WHOLE
    return names


def _stages(ctx: PageContext, stream: pd.DataFrame) -> Panel:
    names = _stage_names(ctx)
    table = pd.DataFrame(
        {
            "stage": [names.get(s, s) for s in stream["stage"]],
            "cases": stream["cases"].astype("int64"),
        }
    )
    for key, column in (
        ("median_lead", "median_lead_time_s"),
        ("p90_lead", "p90_lead_time_s"),
        ("median_processing", "median_processing_s"),
        ("median_waiting", "median_waiting_s"),
    ):
        table[key + "_s"] = stream[column].astype("float64")
        table[key] = table[key + "_s"].map(fd.duration)
    cases = stream["cases"].replace(0, np.nan)
    table["mean_processing_h"] = (stream["total_processing_s"] / cases / fd.HOUR).round(2)
    table["mean_waiting_h"] = (stream["total_waiting_s"] / cases / fd.HOUR).round(2)
    table["pce"] = stream["pce"].astype("float64")
    return Panel(
        id="stages",
        title="Lead time, processing and waiting by stage",
        sentence=(
            "Each stage of the pathway in order, then the whole pathway: how long episodes "
            "spent in it, and on average how much of that time something was being done "
            "(processing) and how much was waiting."
        ),
        table=table,
        columns=[
            Column("stage", "Stage"),
            Column("cases", "Episodes", "count"),
            Column("median_lead", "Median lead time"),
            Column("p90_lead", "90th centile lead time"),
            Column("median_processing", "Median processing"),
            Column("median_waiting", "Median waiting"),
            Column("mean_processing_h", "Mean processing (hours)", "number1"),
            Column("mean_waiting_h", "Mean waiting (hours)", "number1"),
            Column("pce", "Process cycle efficiency", "rate"),
        ],
        caption=f"Value stream by stage, {ctx.filters.describe()}",
        disclosure=Disclosure("cases", STAGE_FIGURES + tuple(f"{k}_s" for k in STAGE_FIGURES)),
        understand={
            "Lead time": "From the start of an episode's first activity in the stage to the "
            "end of its last (its start, for an activity recorded as a moment).",
            "Processing": "Time covered by at least one activity with a start and an end "
            "(overlaps counted once), leaving out stays ("
            + (", ".join(ctx.pack.flow.stays) or "none")
            + "): a stay is where a patient waits between the things done for them.",
            "Waiting": "Lead time less processing. The bars show the means, which add up to "
            "the mean lead time; the medians in the table need not add up.",
            "Process cycle efficiency": "Value-added time (the pack's value-adding "
            "activities: "
            + (", ".join(ctx.pack.flow.value_adding) or "none declared")
            + ") over lead time, summed over episodes.",
            "Source": f"flow_events, run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}.",
        },
    )


def _stacked(table: pd.DataFrame) -> dict:
    """Mean processing and waiting per stage as stacked horizontal bars (waiting hatched,
    so the two are told apart without colour); stages too small to report say so."""
    labels = table["stage"].tolist()
    processing = table["mean_processing_h"].astype("float64")
    waiting = table["mean_waiting_h"].astype("float64")
    longest = float((processing.fillna(0) + waiting.fillna(0)).max() or 0)
    unit, scale = ("days", 24.0) if longest > 72 else ("hours", 1.0)
    plot = charts.layout(
        x_title=f"Mean time per episode ({unit})", height=max(240, 90 + 44 * len(labels))
    )
    plot["barmode"] = "stack"
    plot["margin"] = {"l": 190, "r": 20, "t": 16, "b": 90}
    plot["yaxis"].update(
        {"type": "category", "autorange": "reversed", "automargin": True, "categoryarray": labels}
    )
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "Processing",
            "y": labels,
            "x": charts.clean((processing / scale).round(2)),
            "marker": {"color": PROCESSING_COLOUR},
            "hovertemplate": f"%{{y}}: processing %{{x:,.1f}} {unit}<extra></extra>",
        },
        {
            "type": "bar",
            "orientation": "h",
            "name": "Waiting",
            "y": labels,
            "x": charts.clean((waiting / scale).round(2)),
            "marker": {
                "color": WAITING_COLOUR,
                "line": {"color": charts.GREY, "width": 1},
                "pattern": {"shape": "/", "fgcolor": charts.GREY, "size": 6},
            },
            "hovertemplate": f"%{{y}}: waiting %{{x:,.1f}} {unit}<extra></extra>",
        },
    ]
    hidden = [label for label, p in zip(labels, processing, strict=True) if math.isnan(p)]
    if hidden:
        data.append(
            {
                "type": "scatter",
                "mode": "text",
                "x": [0] * len(hidden),
                "y": hidden,
                "text": [TOO_FEW] * len(hidden),
                "textposition": "middle right",
                "textfont": {"color": charts.GREY, "size": 11},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    return {"data": data, "layout": plot}


def _cards(ctx: PageContext, stages: pd.DataFrame, yield_: flow.FirstPassYield) -> list[Card]:
    whole = stages[stages["stage"] == WHOLE].iloc[0]
    hidden = bool(whole.get("suppressed"))
    small = yield_.cases < ctx.min_cell
    return [
        Card(label="Episodes with activities", value=f"{int(whole['cases']):,}"),
        Card(
            label="Median lead time",
            value=TOO_FEW if hidden else whole["median_lead"],
            detail="" if hidden else f"90th centile {whole['p90_lead']}",
            help="From an episode's first activity to the end of its last.",
        ),
        Card(
            label="Process cycle efficiency",
            value=TOO_FEW if hidden else display.rate(whole["pce"]),
            help="Value-added time over lead time, over every episode: the share of the "
            "pathway's time spent on what changes the patient's condition or care.",
        ),
        Card(
            label="First-pass yield",
            value=TOO_FEW if small else display.rate(yield_.share),
            detail="" if small else f"{yield_.first_pass:,} of {yield_.cases:,} episodes",
            help="The share of episodes with no activity repeated other than routine ones.",
        ),
    ]


# --- key intervals ---------------------------------------------------------------------------


def _interval_summary(ctx: PageContext, intervals, times: dict[str, pd.DataFrame]) -> Panel:
    rows = []
    for ki in intervals:
        summary = flow.interval_summary(times[ki.id], ki.target_minutes)
        rows.append(
            {
                "interval": ki.name,
                "steps": f"{ki.from_activity} to {ki.to_activity}",
                "target": "" if ki.target_minutes is None else fd.duration(ki.target_minutes * 60),
                "cases": summary.cases,
                "not_reached": summary.not_reached,
                "median_s": summary.median_s,
                "p90_s": summary.p90_s,
                "median": fd.duration(summary.median_s),
                "p90": fd.duration(summary.p90_s),
                "within_target": (
                    np.nan if summary.within_target is None else summary.within_target
                ),
            }
        )
    return Panel(
        id="key-intervals",
        title="Key intervals against their targets",
        sentence=(
            "The times to the pathway's key interventions that the pack names, each against "
            "the standard the team works to."
        ),
        table=pd.DataFrame(rows),
        columns=[
            Column("interval", "Interval"),
            Column("steps", "From and to"),
            Column("target", "Target"),
            Column("cases", "Episodes measured", "count"),
            Column("not_reached", "Started, not reached", "count"),
            Column("median", "Median"),
            Column("p90", "90th centile"),
            Column("within_target", "Within target", "rate"),
        ],
        caption=f"Key intervals, {ctx.filters.describe()}",
        disclosure=Disclosure("cases", ("median", "p90", "median_s", "p90_s", "within_target")),
        understand={
            "Interval": "From an episode's first 'from' activity to the first 'to' activity "
            "starting at or after it.",
            "Not reached": "Episodes whose clock started but had no 'to' activity after it "
            "(not every patient needs every intervention).",
            "Targets": "; ".join(
                f"{ki.name}: {ki.why}" for ki in intervals if getattr(ki, "why", None)
            )
            or "As the pack states them.",
        },
    )


def _interval_panel(ctx: PageContext, ki, times: pd.DataFrame) -> Panel:
    minutes = times["seconds"].astype("float64") / 60
    target = ki.target_minutes
    edges = _minute_bins(minutes, target)
    counts = np.histogram(minutes.clip(upper=edges[-1] - 1e-9), bins=edges)[0].tolist()
    labels = [
        _bin_label(lo, hi, last=i == len(edges) - 2) for i, (lo, hi) in enumerate(pairwise(edges))
    ]
    table = pd.DataFrame({"band": labels, "episodes": counts})
    table["cases"] = len(minutes)
    table["share"] = table["episodes"] / len(minutes) if len(minutes) else np.nan
    small = not reportable(pd.Series([len(minutes)]), ctx.min_cell).iloc[0]
    figure = None
    if not small:
        colours = [
            charts.BLUE if target is None or hi <= target else charts.ORANGE for hi in edges[1:]
        ]
        plot = charts.layout(x_title="Minutes", y_title="Episodes", height=300, legend=False)
        plot["xaxis"]["type"] = "category"
        plot["bargap"] = 0.08
        if target is not None:
            position = sum(1 for hi in edges[1:] if hi <= target) - 0.5
            plot["shapes"] = [
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": position,
                    "x1": position,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": charts.DARK_BLUE, "dash": "dash", "width": 2},
                }
            ]
            plot["annotations"] = [
                {
                    "x": position,
                    "y": 1,
                    "xref": "x",
                    "yref": "paper",
                    "text": f"target {fd.duration(target * 60)}",
                    "showarrow": False,
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "font": {"color": charts.DARK_BLUE},
                }
            ]
        figure = {
            "data": [
                {
                    "type": "bar",
                    "x": labels,
                    "y": counts,
                    "marker": {
                        "color": colours,
                        "pattern": {
                            "shape": ["" if c == charts.BLUE else "x" for c in colours],
                            "fgcolor": "#ffffff",
                            "size": 6,
                        },
                    },
                    "hovertemplate": "%{x}: %{y:,} episodes<extra></extra>",
                }
            ],
            "layout": plot,
        }
    sentence = f"How long {ki.name.lower()} took ({ki.from_activity} to {ki.to_activity})"
    sentence += (
        f", against the target of {fd.duration(target * 60)} (the dashed line; bars beyond it "
        "are orange and crossed)."
        if target is not None
        else "."
    )
    return Panel(
        id=f"interval-{ki.id}",
        title=ki.name,
        sentence=sentence,
        table=table,
        columns=[
            Column("band", "Minutes"),
            Column("episodes", "Episodes", "count"),
            Column("share", "Share", "rate"),
        ],
        figure=figure,
        caption=f"{ki.name}, {ctx.filters.describe()}",
        disclosure=Disclosure("cases", ("share",)),
        notes=[f"Fewer than {ctx.min_cell} episodes measured: {TOO_FEW}."] if small else [],
    )


def _minute_bins(minutes: pd.Series, target: int | None) -> list[float]:
    """Bin edges in minutes: quarters of the target up to three times it (else steps of a
    readable size up to the 95th centile), the last bin open-ended."""
    if target is not None:
        step = max(target / 4, 1)
        top = 3 * target
    else:
        high = float(minutes.quantile(0.95)) if len(minutes) else 60.0
        step = next((s for s in (5, 10, 15, 30, 60, 120, 240, 720, 1440) if high / s <= 12), 2880)
        top = max(step, math.ceil(high / step) * step)
    edges = list(np.arange(0, top + step / 2, step))
    return [float(e) for e in edges] + [float("inf")]


def _bin_label(lower: float, upper: float, *, last: bool) -> str:
    def short(m: float) -> str:
        return f"{m:,.0f}" if m == int(m) else f"{m:,.1f}"

    if last or math.isinf(upper):
        return f"{short(lower)} or more"
    return f"{short(lower)} to {short(upper)}"


# --- bottlenecks -----------------------------------------------------------------------------


def _bottlenecks(ctx: PageContext, found: fd.Flow) -> Panel:
    edges = found.edges
    # A ranking leaves small cells out (carevalue.disclosure.reportable), so a rare
    # transition never tops the list with a figure no one may see.
    ranked = flow.bottlenecks(edges[reportable(edges["cases"], ctx.min_cell)], n=BOTTLENECKS)
    total = float(edges["total_wait_s"].sum())
    table = ranked[["source", "target", "count", "cases"]].copy()
    table["total_wait_s"] = ranked["total_wait_s"].astype("float64")
    table["total_wait"] = table["total_wait_s"].map(fd.duration)
    table["share"] = table["total_wait_s"] / total if total else np.nan
    table["median_wait"] = ranked["median_wait_s"].map(fd.duration)
    return Panel(
        id="bottlenecks",
        title="Where waiting piles up",
        sentence=(
            f"The {len(table)} transitions with the most waiting in total across these "
            "episodes: common short waits and rare long ones both count."
        ),
        table=table,
        columns=[
            Column("source", "From"),
            Column("target", "To"),
            Column("total_wait", "Total waiting"),
            Column("share", "Share of all waiting", "rate"),
            Column("count", "Transitions", "count"),
            Column("cases", "Episodes", "count"),
            Column("median_wait", "Median wait"),
        ],
        caption=f"Bottlenecks, {ctx.filters.describe()}",
        disclosure=Disclosure("cases", ("total_wait", "total_wait_s", "share", "median_wait")),
        understand={
            "Total waiting": "Every wait between the two activities added up; waits are as on "
            "the process map (from the end of one to the start of the next).",
            "Small numbers": f"Transitions of fewer than {ctx.min_cell} episodes are not ranked.",
        },
    )


# --- first-pass yield ------------------------------------------------------------------------


def _first_pass(ctx: PageContext, found: fd.Flow, yield_: flow.FirstPassYield) -> Panel:
    routine = set(ctx.pack.flow.routine)
    stats = found.activities
    stats = stats[~stats[fd.ACTIVITY].isin(routine)]
    stats = stats[stats["rework_cases"] > 0].sort_values(
        ["rework_cases", fd.ACTIVITY], ascending=[False, True]
    )
    table = pd.DataFrame(
        {
            "activity": ["Every activity (first-pass yield)", *stats[fd.ACTIVITY]],
            "cases": [yield_.cases, *stats["cases"].astype("int64")],
            "rework_cases": [yield_.with_rework, *stats["rework_cases"].astype("int64")],
        }
    )
    failures = ", ".join(o.name.lower() for o in fd.failure_outcomes(ctx.pack))
    if failures:
        table = pd.concat(
            [
                table.iloc[:1],
                pd.DataFrame(
                    {"activity": [f"Came back ({failures})"], "cases": [yield_.cases]}
                ).assign(rework_cases=yield_.failed),
                table.iloc[1:],
            ],
            ignore_index=True,
        )
    table["first_pass"] = [yield_.first_pass, *(table["cases"] - table["rework_cases"])[1:]]
    table["share"] = table["first_pass"] / table["cases"].replace(0, np.nan)
    return Panel(
        id="first-pass",
        title="First-pass yield and rework",
        sentence=(
            "The share of episodes that went through without repeating an activity (routine "
            "ones aside) and without coming back, then how many came back and each activity "
            "that was repeated, in how many episodes."
        ),
        table=table,
        columns=[
            Column("activity", "Activity"),
            Column("cases", "Episodes", "count"),
            Column("rework_cases", "Episodes repeating it", "count"),
            Column("first_pass", "Episodes first time", "count"),
            Column("share", "First-pass yield", "rate"),
        ],
        caption=f"First-pass yield, {ctx.filters.describe()}",
        disclosure=Disclosure("cases", ("share",)),
        understand={
            "First pass": "No activity happened twice in the episode, leaving out the pack's "
            "routine activities (" + (", ".join(sorted(routine)) or "none") + ").",
            "Came back": (
                "Episodes with a measured "
                + (failures or "readmission")
                + " are not a first pass either; an episode can have both, so the rows do not "
                "add up to the whole."
            ),
        },
    )
