"""Patients: the episodes behind the numbers for the current filters, and a pathway
timeline of the most recent ones for MDT case review. Clinical roles only (the registry
requires ``view_patients``), and every view and download is audited by the view from each
panel's ``patients``.

Patient-level, so nothing here goes through small-number suppression: the rows are the
point. What identifies a patient is ``patient_id``, the trust's local patient identifier as
the extract gave it (docs/feeds.md); NHS numbers are never in the snapshot in clear (ingest
keeps only their keyed hash, which this page does not show either).

The page has no request, so it cannot read an ``episode`` query parameter: the case review
shows the ``CASES`` most recent episodes of the filtered list, each as its own panels
(a timeline with its activities, the cost per stage, the outcomes). Narrowing the filters
(site, team, year, population group) brings other episodes into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from carevalue.packs.measures import BINARY_KINDS, BINARY_SCORINGS
from carevalue.reports import display
from carevalue.web import charts
from carevalue.web.pages import PageContext
from carevalue.web.panels import Column, Disclosure, Page, Panel

MAX_ROWS = 500
CASES = 5
KEY_OUTCOMES = 4  # as the overview's headline cards: the pack's outcomes by tier, first four
TDABC = "tdabc"  # episode_costs' bottom-up rows, beside the top-down ones: never summed with them
STATUS_WORDS = {
    "measured": "measured",
    "missing": "missing",
    "not_due": "not due yet",
    "not_applicable": "not applicable",
}
NOT_NHS = (
    "Patient is the trust's local patient identifier as the extract gave it; NHS "
    "numbers are never shown (ingest keeps only their keyed hash)."
)


def is_binary(outcome) -> bool:
    return outcome.kind in BINARY_KINDS or getattr(outcome, "scoring", None) in BINARY_SCORINGS


def key_outcomes(ctx: PageContext) -> list:
    return sorted(ctx.pack.outcomes, key=lambda o: o.tier)[:KEY_OUTCOMES]


def _number(value: float) -> str:
    value = float(value)
    if value == int(value):
        return f"{int(value):,}"
    places = 3 if abs(value) < 1 else 2 if abs(value) < 10 else 1
    return f"{value:,.{places}f}"


def outcome_text(outcome, value, status) -> str:
    """One outcome of one episode in words: yes/no or the value when measured, else why not."""
    if status == "measured" and not display.missing(value):
        if is_binary(outcome):
            return "yes" if float(value) >= 0.5 else "no"
        return _number(value)
    if display.missing(status):
        return "no status"
    return STATUS_WORDS.get(str(status), str(status))


def _when(value) -> str:
    if display.missing(value):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _day(value) -> str:
    return "" if display.missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _stage_names(ctx: PageContext) -> dict[str, str]:
    names = {stage.id: stage.name for stage in ctx.pack.stages}
    names["other"] = "Other (no stage rule matched)"
    return names


def build(ctx: PageContext) -> Page:
    page = Page(title="Patients")
    if not ctx.patient_level:  # the registry already refuses; never build the rows without it
        page.messages.append("Your role does not include patient-level rows.")
        return page
    episodes = ctx.episodes.sort_values(
        ["index_date", "episode_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    audited = (
        "Every view and download of this page is recorded in the audit log with the "
        "patients it showed."
    )
    if episodes.empty:
        page.lead = audited
        page.messages.append("No episodes match these filters, so no patients are listed.")
        return page
    page.lead = (
        f"The {len(episodes):,} {ctx.pack.governance.name.lower()} episodes behind the "
        f"numbers ({ctx.filters.describe()}), most recent first, and the pathway of the "
        f"{min(CASES, len(episodes))} most recent for case review. " + audited
    )
    shown = episodes.head(MAX_ROWS)
    if len(episodes) > MAX_ROWS:
        page.messages.append(
            f"Showing the {MAX_ROWS:,} most recent of {len(episodes):,} episodes: "
            f"{len(episodes) - MAX_ROWS:,} more match these filters and are not listed (nor in "
            "the download). Narrow the filters (year, site, team or group) to see them."
        )
    page.panels.append(_episode_list(ctx, shown, len(episodes)))
    activities = ctx.table("episode_activities")
    costs = _top_down_costs(ctx)
    outcomes = ctx.table("episode_outcomes")
    compared = _comparison(ctx, episodes, costs)
    for number, record in enumerate(shown.head(CASES).to_dict("records"), start=1):
        page.panels.extend(_case(ctx, number, record, compared, activities, costs, outcomes))
    return page


# --- the episode list -------------------------------------------------------------------


def _episode_list(ctx: PageContext, shown: pd.DataFrame, total: int) -> Panel:
    keys = key_outcomes(ctx)
    table = shown[
        [
            "patient_id",
            "episode_id",
            "index_date",
            "site",
            "team",
            "age_band",
            "sex",
            "cycle_complete",
            "cost_whole_cycle",
        ]
    ].copy()
    table["cost_whole_cycle"] = pd.to_numeric(table["cost_whole_cycle"]).round(2)
    table["cycle_complete"] = table["cycle_complete"].map(
        lambda v: "" if display.missing(v) else ("yes" if bool(v) else "no")
    )
    outcome_columns = []
    for outcome in keys:
        value = shown.get(f"out__{outcome.id}", pd.Series(index=shown.index, dtype="float64"))
        status = shown.get(f"status__{outcome.id}", pd.Series(index=shown.index, dtype="object"))
        table[f"o__{outcome.id}"] = [
            outcome_text(outcome, v, s) for v, s in zip(value, status, strict=True)
        ]
        outcome_columns.append(Column(f"o__{outcome.id}", outcome.name))
    more = "" if total <= len(shown) else f" (the {len(shown):,} most recent of {total:,})"
    return Panel(
        id="episodes",
        title="Episodes behind the numbers",
        sentence=(
            f"Every episode of these filters ({ctx.filters.describe()}){more}, most recent "
            "index date first, with its whole-cycle cost and key outcomes: the rows each "
            "figure on the other pages is computed from."
        ),
        table=table,
        columns=[
            Column("patient_id", "Patient"),
            Column("episode_id", "Episode"),
            Column("index_date", "Index date", "date"),
            Column("site", "Site"),
            Column("team", "Team"),
            Column("age_band", "Age band"),
            Column("sex", "Sex"),
            Column("cycle_complete", "Cycle complete"),
            Column("cost_whole_cycle", "Whole-cycle cost", "money"),
            *outcome_columns,
        ],
        caption=f"Episodes, {ctx.filters.describe()}, most recent first",
        patients=sorted(set(table["patient_id"].astype(str))),
        understand={
            "Patient": NOT_NHS,
            "Key outcomes": "The pack's outcomes in Porter tier order, the first "
            f"{KEY_OUTCOMES} (as the overview's headline figures). Yes/no "
            "outcomes read 'yes' when the event happened (for a death, the "
            "patient died).",
            "Not measured": "Missing: due but no value found. Not due yet: its window is not "
            "over by the end of the data. Not applicable: it does not apply to "
            "the episode.",
            "Cost": "Whole care cycle, top-down costing (PLICS), in pounds.",
            "Audit": "Every view and download of this table records you, the time, the "
            "filters and the patients listed.",
            "Source": f"episode_value, run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}.",
        },
    )


# --- case review ------------------------------------------------------------------------


def _top_down_costs(ctx: PageContext) -> pd.DataFrame:
    costs = ctx.table("episode_costs")
    if costs.empty:
        return pd.DataFrame(columns=["episode_id", "stage", "amount", "activities"])
    costs = costs[costs["method"] != TDABC]
    return pd.DataFrame(
        {
            "episode_id": costs["episode_id"],
            "stage": costs["stage"],
            "amount": pd.to_numeric(costs["amount"].astype("string"), errors="coerce"),
            "activities": costs["activities"],
        }
    )


@dataclass(frozen=True)
class _Comparison:
    """What each case is set beside, computed once from every filtered episode."""

    episodes: int
    stage_mean: pd.Series  # stage -> mean cost per filtered episode
    typical: dict[str, tuple[str, int]]  # outcome id -> (rate or mean shown, episodes measured)


def _comparison(ctx: PageContext, episodes: pd.DataFrame, costs: pd.DataFrame) -> _Comparison:
    filtered = costs[costs["episode_id"].isin(episodes["episode_id"])]
    typical = {}
    for outcome in ctx.pack.outcomes:
        measured = episodes.get(f"out__{outcome.id}", pd.Series(dtype="float64")).dropna()
        if not len(measured):
            typical[outcome.id] = ("", 0)
        elif is_binary(outcome):
            typical[outcome.id] = (display.rate(measured.mean()), len(measured))
        else:
            typical[outcome.id] = (_number(measured.mean()), len(measured))
    return _Comparison(
        episodes=len(episodes),
        stage_mean=filtered.groupby("stage")["amount"].sum() / len(episodes),
        typical=typical,
    )


def _case(
    ctx: PageContext,
    number: int,
    episode: dict,
    compared: _Comparison,
    activities: pd.DataFrame,
    costs: pd.DataFrame,
    outcomes: pd.DataFrame,
) -> list[Panel]:
    episode_id, patient = str(episode["episode_id"]), str(episode["patient_id"])
    who = (
        f"episode {episode_id}, patient {patient}, index date {_day(episode['index_date'])}, "
        f"{episode['site']} ({episode['team']})"
    )
    mine = (
        activities[activities["episode_id"] == episode_id] if not activities.empty else activities
    )
    return [
        _timeline_panel(ctx, number, who, patient, episode, mine),
        _cost_panel(ctx, number, who, patient, episode_id, compared, costs),
        _outcome_panel(ctx, number, who, patient, episode_id, compared, outcomes),
    ]


def _timeline_panel(
    ctx: PageContext, number: int, who: str, patient: str, episode: dict, activities: pd.DataFrame
) -> Panel:
    names = _stage_names(ctx)
    order = list(names)
    columns = [
        "start_at",
        "end_at",
        "day",
        "stage",
        "activity_type",
        "code_system",
        "code",
        "department",
        "setting",
        "minutes",
        "quantity",
    ]
    table = activities[columns].copy() if not activities.empty else pd.DataFrame(columns=columns)
    table["stage_order"] = table["stage"].map({s: i for i, s in enumerate(order)}).fillna(99)
    table = table.sort_values(["start_at", "stage_order"], kind="stable").reset_index(drop=True)
    table["stage_name"] = table["stage"].map(lambda s: names.get(s, s))
    table["start"] = table["start_at"].map(_when)
    table["end"] = table["end_at"].map(_when)
    table["minutes"] = pd.to_numeric(table["minutes"], errors="coerce").round().astype("Int64")
    table["code_shown"] = [
        f"{s} {c}" if not display.missing(s) else str(c)
        for s, c in zip(table["code_system"], table["code"], strict=True)
    ]
    table = table.drop(columns="stage_order")
    present = set(table["stage"])
    stages = [names[s] for s in order if s in present] + sorted(present - set(order))
    figure = _timeline_figure(table, stages, episode)
    return Panel(
        id=f"case-{number}-timeline",
        title=f"Case review {number}: pathway timeline",
        sentence=(
            f"Every activity of {who}, by pathway stage on a date axis (a bar from start to "
            "end; a single dot where no end was recorded), with the index date marked; "
            "the table lists them in time order."
        ),
        table=table,
        columns=[
            Column("start", "Start"),
            Column("end", "End"),
            Column("day", "Day of cycle", "count"),
            Column("stage_name", "Stage"),
            Column("activity_type", "Activity"),
            Column("code_shown", "Code"),
            Column("department", "Department"),
            Column("setting", "Setting"),
            Column("minutes", "Minutes", "count"),
            Column("quantity", "Quantity", "number"),
        ],
        figure=figure,
        caption=f"Activities of episode {episode['episode_id']}, in time order",
        notes=[] if len(table) else ["No activities were linked to this episode."],
        patients=[patient],
        understand={
            "Stages": "Each activity is put in the first pathway stage of the condition pack "
            "whose rules it matches; 'Other' when none does.",
            "Day of cycle": "Days from the start of the care cycle.",
            "Patient": NOT_NHS,
            "Source": f"episode_activities, run {ctx.run_id}.",
        },
    )


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _timeline_figure(table: pd.DataFrame, stages: list[str], episode: dict) -> dict | None:
    """One trace per activity type: a translucent bar from start to end (ward stays, visits)
    with a dot at each end, so the short activities drawn over the long ones stay visible.
    Types with the longest activities are drawn first (underneath)."""
    if table.empty:
        return None
    span = (pd.to_datetime(table["end_at"]) - pd.to_datetime(table["start_at"])).fillna(
        pd.Timedelta(0)
    )
    longest = span.groupby(table["activity_type"]).max().sort_values(ascending=False)
    data = []
    for kind in longest.index:
        rows = table[table["activity_type"] == kind]
        number = sorted(longest.index).index(kind)
        xs, ys, texts = [], [], []
        for record in rows.to_dict("records"):
            start = record["start"]
            end = record["end"] or start
            label = f"{kind} · {record['code_shown']} · {record['department']}<br>{start}" + (
                f" to {record['end']}" if record["end"] else ""
            )
            xs += [start, end, None]
            ys += [record["stage_name"], record["stage_name"], None]
            texts += [label, label, None]
        colour = charts.PALETTE[number % len(charts.PALETTE)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": kind,
                "x": xs,
                "y": ys,
                "text": texts,
                "hoverinfo": "text",
                "connectgaps": False,
                "line": {"color": _rgba(colour, 0.45), "width": 10},
                "marker": {"color": colour, "size": 7},
            }
        )
    layout = charts.layout(x_title="Date", height=max(300, 46 * len(stages) + 160))
    layout["xaxis"]["type"] = "date"
    layout["yaxis"].update(
        {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(reversed(stages)),
            "automargin": True,
        }
    )
    index = _day(episode.get("index_date"))
    if index:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": index,
                "x1": index,
                "y0": 0,
                "y1": 1,
                "line": {"color": charts.DARK_BLUE, "dash": "dot", "width": 1},
            }
        ]
        layout["annotations"] = [
            {
                "xref": "x",
                "yref": "paper",
                "x": index,
                "y": 1,
                "text": "index date",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 11, "color": charts.DARK_BLUE},
            }
        ]
    return {"data": data, "layout": layout}


def _cost_panel(
    ctx: PageContext,
    number: int,
    who: str,
    patient: str,
    episode_id: str,
    compared: _Comparison,
    costs: pd.DataFrame,
) -> Panel:
    names = _stage_names(ctx)
    order = list(names)
    mean, count = compared.stage_mean, compared.episodes
    mine = (
        costs[costs["episode_id"] == episode_id]
        .groupby("stage")
        .agg(cost=("amount", "sum"), activities=("activities", "sum"))
    )
    stages = [s for s in order if s in mine.index or s in mean.index]
    stages += sorted(set(mine.index) - set(order))
    rows = [
        {
            "stage": s,
            "stage_name": names.get(s, s),
            "cost": float(mine["cost"].get(s, 0.0)),
            "activities": int(mine["activities"].get(s, 0)),
            "mean_cost": float(mean.get(s, 0.0)),
            "n_episodes": count,
        }
        for s in stages
    ]
    rows.append(
        {
            "stage": "whole_cycle",
            "stage_name": "Whole care cycle",
            "cost": float(mine["cost"].sum()),
            "activities": int(mine["activities"].sum()),
            "mean_cost": float(mean.sum()),
            "n_episodes": count,
        }
    )
    table = pd.DataFrame(rows)
    table[["cost", "mean_cost"]] = table[["cost", "mean_cost"]].round(2)
    return Panel(
        id=f"case-{number}-costs",
        title=f"Case review {number}: cost per stage",
        sentence=(
            f"What {who} cost in each pathway stage, against the mean per episode of the "
            f"{count:,} episodes of these filters ({ctx.filters.describe()})."
        ),
        table=table,
        columns=[
            Column("stage_name", "Stage"),
            Column("cost", "This episode", "money"),
            Column("activities", "Activities costed", "count"),
            Column("mean_cost", "Mean per episode, these filters", "money"),
            Column("n_episodes", "Episodes in the mean", "count"),
        ],
        caption=f"Cost per stage of episode {episode_id}",
        disclosure=Disclosure("n_episodes", ("mean_cost",)),
        patients=[patient],
        understand={
            "Cost": "Top-down costing (PLICS): the ledger's pounds allocated to each activity "
            "and summed per stage; the bottom-up (TDABC) estimates are not included.",
            "Mean": "Each stage's cost summed over the filtered episodes and divided by all of "
            "them (episodes with nothing in a stage count as £0).",
            "Direction of good": "Neither: a higher cost is not worse care by itself.",
            "Source": f"episode_costs, run {ctx.run_id}.",
        },
    )


def _outcome_panel(
    ctx: PageContext,
    number: int,
    who: str,
    patient: str,
    episode_id: str,
    compared: _Comparison,
    outcomes: pd.DataFrame,
) -> Panel:
    mine = (
        outcomes[outcomes["episode_id"] == episode_id].set_index("outcome_id")
        if not outcomes.empty
        else pd.DataFrame()
    )
    rows = []
    for outcome in ctx.pack.outcomes:
        record = mine.loc[outcome.id] if outcome.id in mine.index else None
        value = None if record is None else record["value"]
        status = None if record is None else record["status"]
        typical, n_measured = compared.typical[outcome.id]
        rows.append(
            {
                "outcome": outcome.name,
                "tier": outcome.tier,
                "direction": outcome.direction.replace("_", " "),
                "shown": outcome_text(outcome, value, status) if status == "measured" else "",
                "value": None if display.missing(value) else float(value),
                "status": "" if display.missing(status) else STATUS_WORDS.get(status, status),
                "note": "" if record is None or display.missing(record["note"]) else record["note"],
                "event_at": None if record is None else _day(record["event_at"]),
                "window_end": None if record is None else _day(record["window_end"]),
                "typical": typical,
                "n_measured": n_measured,
            }
        )
    table = pd.DataFrame(rows)
    return Panel(
        id=f"case-{number}-outcomes",
        title=f"Case review {number}: outcomes",
        sentence=(
            f"Each outcome of the pack for {who}, with its status, beside the rate or mean "
            f"over the measured episodes of these filters ({ctx.filters.describe()})."
        ),
        table=table,
        columns=[
            Column("outcome", "Outcome"),
            Column("tier", "Tier"),
            Column("direction", "Direction of good"),
            Column("shown", "This episode's value"),
            Column("status", "Status"),
            Column("note", "Note"),
            Column("event_at", "Event date"),
            Column("window_end", "Window ends"),
            Column("typical", "Rate or mean, these filters"),
            Column("n_measured", "Episodes measured", "count"),
        ],
        caption=f"Outcomes of episode {episode_id}",
        disclosure=Disclosure("n_measured", ("typical",)),
        patients=[patient],
        understand={
            "This episode's value": "Yes/no outcomes read 'yes' when the event happened; other "
            "outcomes show their value (days, minutes, scores).",
            "Status": "Measured; missing (due but no value found); not due yet (the window "
            "is not over); not applicable.",
            "Source": f"episode_outcomes and episode_value, run {ctx.run_id}, condition pack "
            f"{ctx.pack.id} v{ctx.pack.governance.version}.",
        },
    )
