"""Data quality: what was quarantined at ingest, the data-quality findings over the loaded
feeds, how complete this condition's outcomes are for the filtered episodes, and how each
feed's loads went over time.

The quarantine, the findings and the load log are feed-level: they describe the trust's
whole extract, every condition at once, and no filter narrows them. Only the outcome
completeness is this condition's, for the filtered episodes. Nothing here is patient-level:
the snapshot's ``quarantine_summary`` carries counts per load, feed, file, field and kind of
problem, never a value, and the findings' examples (record ids) are not shown.
"""

from __future__ import annotations

import pandas as pd

from carevalue.reports import display
from carevalue.web import charts
from carevalue.web.pages import PageContext
from carevalue.web.panels import Card, Column, Disclosure, Page, Panel

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
SEVERITY_WORDS = {
    "error": "error: breaks linkage",
    "warning": "warning: weakens a measure",
    "info": "information",
}
STATUSES = ("measured", "missing", "not_due", "not_applicable")
STATUS_LABELS = {
    "measured": "Measured",
    "missing": "Missing",
    "not_due": "Not due yet",
    "not_applicable": "Not applicable",
}
STATUS_COLOURS = {
    "measured": charts.BLUE,
    "missing": charts.RED,
    "not_due": charts.PALE_GREY,
    "not_applicable": charts.GREY,
}
FEED_LEVEL = (
    "These are feed-level figures for the trust's whole extract, every condition at "
    "once: not per condition, not patient-level, and the filters do not apply."
)


def _when(value) -> str:
    """A load time as 'YYYY-MM-DD HH:MM' (load times are UTC)."""
    if display.missing(value):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    whole = pd.to_numeric(whole, errors="coerce")
    return (pd.to_numeric(part, errors="coerce") / whole.where(whole > 0)).astype("float64")


def _percent(value) -> str:
    """A share as a percentage to one decimal, '<0.1%' for a small one that is not zero (so
    that 30 rows of 62,295 never reads as 0.0%)."""
    if display.missing(value):
        return ""
    return "<0.1%" if 0 < value < 0.0005 else display.rate(value)


def _loads(ctx: PageContext) -> pd.DataFrame:
    """load_log, newest load first, with each load's time as text."""
    log = ctx.table("load_log")
    if log.empty:
        return log
    log = log.copy()
    log["loaded"] = log["loaded_at"].map(_when)
    log["share_quarantined"] = _share(log["rows_quarantined"], log["rows_read"])
    log["share_shown"] = log["share_quarantined"].map(_percent)
    return log.sort_values(
        ["loaded_at", "load_id", "feed"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)


def build(ctx: PageContext) -> Page:
    episodes = ctx.episodes
    page = Page(
        title="Data quality",
        lead=(
            "What was quarantined when the extract was loaded, what the data-quality checks "
            "found, and how each feed's loads went are figures for the trust's whole extract "
            "(every condition, no filters). How complete the outcomes are is for "
            f"{len(episodes):,} {ctx.pack.governance.name.lower()} episodes "
            f"({ctx.filters.describe()})."
        ),
    )
    loads = _loads(ctx)
    if loads.empty:
        page.messages.append(
            "This run's snapshot has no load log: the loads that fed it are "
            "not known, so the quarantine and load figures cannot be shown."
        )
    page.panels.append(_quarantine_panel(ctx, loads))
    page.panels.append(_findings_panel(ctx, loads))
    completeness = _completeness_panel(ctx, episodes)
    page.panels.append(completeness)
    page.panels.append(_loads_panel(ctx, loads))
    page.cards.extend(_cards(ctx, loads, completeness.table))
    return page


# --- headline cards ---------------------------------------------------------------------


def _cards(ctx: PageContext, loads: pd.DataFrame, completeness: pd.DataFrame) -> list[Card]:
    cards = []
    if not loads.empty:
        latest = loads[loads["load_id"] == loads["load_id"].iloc[0]]
        read, quarantined = int(latest["rows_read"].sum()), int(latest["rows_quarantined"].sum())
        cards.append(
            Card(
                label="Rows quarantined at the latest load",
                value=f"{quarantined:,}",
                detail=(
                    f"of {read:,} rows read ({_percent(quarantined / read) if read else 'none'})"
                    f" · {latest['loaded'].iloc[0]} UTC"
                ),
                help="Rows of the extract refused at ingest because they broke a rule of the feed "
                "contract (docs/feeds.md); every feed, every condition.",
            )
        )
    findings = _latest_findings(ctx, loads)
    if not findings.empty:
        errors = findings[(findings["severity"] == "error") & (findings["rows"] > 0)]
        cards.append(
            Card(
                label="Checks finding errors",
                value=f"{len(errors):,} of {len(findings):,}",
                detail=f"{int(errors['rows'].sum()):,} records that break linkage",
                help="Data-quality checks of severity 'error' (records that cannot be linked, such "
                "as an activity whose encounter is not in the extract) that found any rows, "
                "over the whole warehouse after the latest load.",
            )
        )
    if not completeness.empty:
        measured, due = int(completeness["measured"].sum()), int(completeness["due"].sum())
        cards.append(
            Card(
                label="Outcomes measured where due",
                value=display.rate(measured / due) if due else "none due",
                detail=f"{measured:,} of {due:,} outcome values due ({ctx.filters.describe()})",
                help="Across every outcome of the pack: values measured over values due (measured "
                "or missing). Not yet due and not applicable are left out.",
            )
        )
    return cards


# --- quarantine -------------------------------------------------------------------------


def _quarantine_panel(ctx: PageContext, loads: pd.DataFrame) -> Panel:
    summary = ctx.table("quarantine_summary")
    columns = ["load_id", "feed", "file", "column", "problem", "rows"]
    table = summary[columns].copy() if not summary.empty else pd.DataFrame(columns=columns)
    read = (
        loads[["load_id", "feed", "loaded_at", "loaded", "rows_read"]]
        if not loads.empty
        else pd.DataFrame(columns=["load_id", "feed", "loaded_at", "loaded", "rows_read"])
    )
    table = table.merge(read, on=["load_id", "feed"], how="left")
    table["rows"] = pd.to_numeric(table["rows"]).astype("int64")
    table["share"] = _share(table["rows"], table["rows_read"])
    table["share_shown"] = table["share"].map(_percent)
    table = table.sort_values(
        ["loaded_at", "load_id", "feed", "rows", "column"],
        ascending=[False, False, True, False, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
    total = int(table["rows"].sum())
    notes = []
    if table.empty:
        notes.append("Nothing was quarantined in any load this run's snapshot records.")
    return Panel(
        id="quarantine",
        title="Rows quarantined at ingest",
        sentence=(
            f"Rows refused at ingest ({total:,} in all), per load, feed, field and kind of "
            "problem, against the rows read from that feed in that load, latest load "
            "first. " + FEED_LEVEL
        ),
        table=table,
        columns=[
            Column("loaded", "Loaded (UTC)"),
            Column("feed", "Feed"),
            Column("file", "File"),
            Column("column", "Field"),
            Column("problem", "Problem"),
            Column("rows", "Rows quarantined", "count"),
            Column("rows_read", "Rows read from the feed", "count"),
            Column("share_shown", "Share of rows read"),
            Column("load_id", "Load"),
        ],
        caption="Rows quarantined at ingest, per load, feed, field and problem",
        notes=notes,
        understand={
            "What it counts": "Each rule a row broke (a row breaking two rules counts under "
            "both, so the load log's rows quarantined can be fewer than the "
            "sum here). Repeats of a key keep the first row and quarantine "
            "the rest as 'duplicate key'.",
            "Source": "The quarantine written at ingest, counted per load, feed, file, field "
            "and problem when the run was published (quarantine_summary). The "
            "quarantined values themselves are patient data and never leave the "
            "warehouse.",
            "Fixing it": "Correct the rows in the source system or the export and load the "
            "corrected extract: a reload of a file replaces that file's earlier "
            "quarantine records (docs/loading-an-extract.md).",
            "Scope": FEED_LEVEL,
        },
    )


# --- findings ---------------------------------------------------------------------------


def _latest_findings(ctx: PageContext, loads: pd.DataFrame) -> pd.DataFrame:
    """dq_results of the newest load that has findings (all of them when the load log cannot
    say which load is newest)."""
    findings = ctx.table("dq_results")
    if findings.empty:
        return findings
    if not loads.empty and "load_id" in findings.columns:
        for load_id in loads["load_id"].drop_duplicates():
            chosen = findings[findings["load_id"] == load_id]
            if not chosen.empty:
                return chosen
    return findings


def _findings_panel(ctx: PageContext, loads: pd.DataFrame) -> Panel:
    findings = _latest_findings(ctx, loads)
    columns = ["feed", "check_id", "severity", "rows", "description"]
    table = findings[columns].copy() if not findings.empty else pd.DataFrame(columns=columns)
    table["rows"] = pd.to_numeric(table["rows"]).astype("int64")
    table["severity_shown"] = table["severity"].map(lambda s: SEVERITY_WORDS.get(s, s))
    table["result"] = ["passed" if n == 0 else "found" for n in table["rows"]]
    table["order"] = table["severity"].map(SEVERITY_ORDER).fillna(9)
    table = table.sort_values(
        ["order", "rows", "feed", "check_id"], ascending=[True, False, True, True], kind="stable"
    )
    table = table.drop(columns="order").reset_index(drop=True)
    loaded = ""
    if not findings.empty and not loads.empty and "load_id" in findings.columns:
        match = loads[loads["load_id"] == findings["load_id"].iloc[0]]
        loaded = f" (after the load of {match['loaded'].iloc[0]} UTC)" if len(match) else ""
    return Panel(
        id="findings",
        title="Completeness and plausibility findings per feed",
        sentence=(
            f"Each data-quality check over the loaded feeds{loaded}, errors first, with "
            "the records it found; a check that found none passed. Findings are "
            "reported, never acted on: an orphan activity stays loaded because it still "
            "cost money. " + FEED_LEVEL
        ),
        table=table,
        columns=[
            Column("description", "What the check looks for"),
            Column("feed", "Feed"),
            Column("severity_shown", "Severity"),
            Column("rows", "Records found", "count"),
            Column("result", "Result"),
            Column("check_id", "Check"),
        ],
        caption="Data-quality findings, errors first",
        understand={
            "Severity": "Error: the record cannot be linked (it breaks episode building or "
            "costing). Warning: it weakens a measure. Information: worth knowing, "
            "handled by CareValue.",
            "Source": "dq_results, written by every load over the whole warehouse "
            "(carevalue.sources.data_quality).",
            "Examples": "The checks keep a few example record ids; they are not shown here, "
            "as some are patient identifiers. Data engineers read them in the "
            "warehouse.",
            "Scope": FEED_LEVEL,
        },
    )


# --- outcome completeness ---------------------------------------------------------------


def _completeness_panel(ctx: PageContext, episodes: pd.DataFrame) -> Panel:
    rows = []
    missing_columns = []
    for outcome in ctx.pack.outcomes:
        column = f"status__{outcome.id}"
        if column not in episodes.columns:
            missing_columns.append(outcome.name)
            continue
        status = episodes[column].astype("string")
        counts = {s: int((status == s).sum()) for s in STATUSES}
        unknown = int(status.isna().sum()) + int((~status.isin(STATUSES) & status.notna()).sum())
        due = counts["measured"] + counts["missing"]
        rows.append(
            {
                "outcome": outcome.name,
                "outcome_id": outcome.id,
                "tier": outcome.tier,
                "source": outcome.source,
                "timepoint": outcome.timepoint,
                **counts,
                "no_status": unknown,
                "due": due,
                "episodes": len(episodes),
                "completeness": counts["measured"] / due if due else None,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "outcome",
            "outcome_id",
            "tier",
            "source",
            "timepoint",
            *STATUSES,
            "no_status",
            "due",
            "episodes",
            "completeness",
        ],
    )
    notes = []
    if missing_columns:
        notes.append("The run did not record a status for: " + ", ".join(missing_columns) + ".")
    if int(table["no_status"].sum()):
        notes.append("Some episodes have no status for an outcome (counted as 'no status').")
    figure = None
    if not table.empty and len(episodes):
        shown = table.iloc[::-1]  # first outcome at the top
        figure = {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": STATUS_LABELS[s],
                    "y": shown["outcome"].tolist(),
                    "x": [int(v) for v in shown[s]],
                    "marker": {"color": STATUS_COLOURS[s]},
                    "hovertemplate": f"%{{y}}: %{{x:,}} {STATUS_LABELS[s].lower()}<extra></extra>",
                }
                for s in STATUSES
            ],
            "layout": charts.layout(x_title="Episodes", height=max(260, 34 * len(table) + 120)),
        }
        figure["layout"]["barmode"] = "stack"
        figure["layout"]["legend"]["traceorder"] = "normal"
        figure["layout"]["yaxis"]["automargin"] = True
    return Panel(
        id="outcome-completeness",
        title="How complete this condition's outcomes are",
        sentence=(
            f"For each outcome of the {ctx.pack.governance.name.lower()} pack, how many of "
            f"the {len(episodes):,} episodes ({ctx.filters.describe()}) have it measured, "
            "missing, not yet due or not applicable, and the share measured of those due "
            "(measured or missing)."
        ),
        table=table,
        columns=[
            Column("outcome", "Outcome"),
            Column("tier", "Tier"),
            Column("source", "Reported by"),
            Column("timepoint", "Timepoint"),
            Column("measured", "Measured", "count"),
            Column("missing", "Missing", "count"),
            Column("not_due", "Not due yet", "count"),
            Column("not_applicable", "Not applicable", "count"),
            Column("due", "Due", "count"),
            Column("completeness", "Measured of those due", "rate"),
        ],
        figure=figure,
        caption=f"Outcome completeness, {ctx.filters.describe()}",
        notes=notes,
        disclosure=Disclosure("due", ("completeness",)),
        understand={
            "Measured": "The outcome has a value for the episode.",
            "Missing": "The outcome was due (its window is over) but no value was found: for "
            "a PROM, no response in the window; for a clinician score, none "
            "recorded.",
            "Not due yet": "Its window has not ended by the end of the data, so it cannot be "
            "missing yet.",
            "Not applicable": "The outcome does not apply to the episode (e.g. died before the "
            "measure was collected, or not thrombolysed).",
            "Source": f"The status columns of episode_value, run {ctx.run_id}, condition pack "
            f"{ctx.pack.id} v{ctx.pack.governance.version}.",
            "Small numbers": f"The share is shown as 'too few to report' when fewer than "
            f"{ctx.min_cell} episodes are due.",
            "Direction of good": "Higher is better for the share measured.",
        },
    )


# --- loads over time --------------------------------------------------------------------


def _loads_panel(ctx: PageContext, loads: pd.DataFrame) -> Panel:
    columns = [
        "loaded",
        "feed",
        "file",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "share_quarantined",
        "share_shown",
        "rows_new",
        "rows_updated",
        "load_id",
    ]
    table = loads[columns].copy() if not loads.empty else pd.DataFrame(columns=columns)
    figure = None
    notes = []
    if not loads.empty:
        data = []
        ordered = loads.sort_values(["loaded_at", "load_id"], kind="stable")
        for number, (feed, rows) in enumerate(ordered.groupby("feed", sort=True)):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": feed,
                    "x": rows["loaded"].tolist(),
                    "y": [
                        None if display.missing(v) else round(float(v) * 100, 2)
                        for v in rows["share_quarantined"]
                    ],
                    "customdata": [
                        [int(q), int(r)]
                        for q, r in zip(rows["rows_quarantined"], rows["rows_read"], strict=True)
                    ],
                    "hovertemplate": (
                        f"{feed}, %{{x}}: %{{y:.1f}}% quarantined "
                        "(%{customdata[0]:,} of %{customdata[1]:,} rows read)"
                        "<extra></extra>"
                    ),
                    "line": {"color": charts.PALETTE[number % len(charts.PALETTE)], "width": 2},
                    "marker": {"size": 8},
                }
            )
        figure = {
            "data": data,
            "layout": charts.layout(x_title="Load (UTC)", y_title="% of rows quarantined"),
        }
        figure["layout"]["xaxis"].update({"type": "date", "tickformat": "%-d %b %Y"})
        figure["layout"]["yaxis"].update({"rangemode": "tozero", "ticksuffix": "%"})
        if loads["load_id"].nunique() < 2:
            notes.append("Only one load so far: the trend needs two or more.")
            only = pd.Timestamp(loads["loaded_at"].iloc[0])
            figure["layout"]["xaxis"]["range"] = [
                (only - pd.Timedelta(days=7)).strftime("%Y-%m-%d"),
                (only + pd.Timedelta(days=7)).strftime("%Y-%m-%d"),
            ]
    return Panel(
        id="loads",
        title="Each feed's loads over time",
        sentence=(
            "Rows read, loaded and quarantined per feed in each load, latest first; the "
            "chart shows the share of each feed's rows quarantined by load date, so a "
            "feed getting worse stands out. " + FEED_LEVEL
        ),
        table=table,
        columns=[
            Column("loaded", "Loaded (UTC)"),
            Column("feed", "Feed"),
            Column("file", "File"),
            Column("rows_read", "Rows read", "count"),
            Column("rows_loaded", "Rows loaded", "count"),
            Column("rows_quarantined", "Rows quarantined", "count"),
            Column("share_shown", "Share quarantined"),
            Column("rows_new", "New keys", "count"),
            Column("rows_updated", "Updated keys", "count"),
            Column("load_id", "Load"),
        ],
        figure=figure,
        caption="Rows read, loaded and quarantined per feed and load",
        notes=notes,
        understand={
            "Reconciliation": "Rows read = rows loaded + rows quarantined, for every feed of "
            "every load. New and updated keys say how the loaded rows "
            "changed the warehouse (a key already loaded is replaced).",
            "Direction of good": "Lower is better for the share quarantined.",
            "Source": "load_log, one row per feed per load (the key's fingerprint is not "
            "published).",
            "Scope": FEED_LEVEL,
        },
    )
