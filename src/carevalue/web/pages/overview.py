"""Overview: the headline figures for the latest period with their Making Data Count icons
and sparklines, what changed since the period before, and every metric in one table."""

from __future__ import annotations

import pandas as pd

from carevalue.reports import display
from carevalue.value import group_metrics
from carevalue.web import charts
from carevalue.web.mdc_icons import VARIATION
from carevalue.web.metric_text import (
    DIRECTION_WORDS,
    change_sentence,
    metric_direction,
    show,
    shown_interval,
    with_shown,
)
from carevalue.web.pages import PageContext
from carevalue.web.panels import Card, Column, Disclosure, Page, Panel

MAX_OUTCOME_CARDS = 4
PERIOD = "admission_quarter"


def quarter_label(period) -> str:
    """ "2024-Q1" as people write it, "Q1 2024" (calendar quarters of admission)."""
    year, _, quarter = str(period).partition("-")
    return f"{quarter} {year}" if quarter.startswith("Q") else str(period)


def headline_metrics(ctx: PageContext) -> list[str]:
    """Cost per episode, the pack's tier-1 outcomes (then tier 2) up to four, and each value
    equation's good outcomes per £100,000: at most about ten cards."""
    outcomes = sorted(ctx.pack.outcomes, key=lambda o: o.tier)[:MAX_OUTCOME_CARDS]
    return (
        ["cost_mean"]
        + [o.id for o in outcomes]
        + [f"{e.id}__per_100k" for e in ctx.pack.value_equations]
    )


def _latest_two(by_period: pd.DataFrame, metric: str) -> tuple[dict | None, dict | None]:
    rows = by_period[(by_period["metric"] == metric) & by_period["value"].notna()]
    rows = rows.sort_values(PERIOD)
    if rows.empty:
        return None, None
    records = rows.rename(columns={PERIOD: "period"}).to_dict("records")
    for record in records:
        record["period"] = quarter_label(record["period"])
    return records[-1], (records[-2] if len(records) > 1 else None)


def build(ctx: PageContext) -> Page:
    episodes = ctx.episodes
    page = Page(
        title="Overview",
        lead=(
            f"{len(episodes):,} episodes of {ctx.pack.governance.name.lower()} care "
            f"({ctx.filters.describe()}). Each figure is for the latest quarter with enough "
            "episodes to report, compared with the quarter before."
        ),
    )
    if episodes.empty:
        page.messages.append("No episodes match these filters.")
        return page
    by_period = group_metrics(ctx.pack, episodes, (PERIOD,))
    overall = group_metrics(ctx.pack, episodes)
    segment_type, segment = ctx.filters.segment()
    icons = ctx.table("metric_spc_icons")
    icons = (
        icons[(icons["segment_type"] == segment_type) & (icons["segment"] == segment)]
        if not icons.empty
        else icons
    )
    spc = ctx.table("metric_spc")
    spc = (
        spc[(spc["segment_type"] == segment_type) & (spc["segment"] == segment)]
        if not spc.empty
        else spc
    )
    if ctx.filters.segments_named() > 1 or ctx.filters.period:
        page.messages.append(
            f"SPC icons and sparklines are for {segment_type} {segment} over every month "
            "(charts are drawn for one grouping at a time); the figures use every filter."
        )

    counts = episodes.groupby(PERIOD).size().sort_index()
    latest_period = quarter_label(counts.index[-1])
    previous_count = int(counts.iloc[-2]) if len(counts) > 1 else None
    page.cards.append(
        Card(
            label="Episodes",
            value=f"{len(episodes):,}",
            detail=f"{int(counts.iloc[-1]):,} in {latest_period}",
            change=(
                ""
                if previous_count is None
                else f"{int(counts.iloc[-1]):,} in {latest_period} against {previous_count:,} in "
                f"{quarter_label(counts.index[-2])}."
            ),
            help=(
                "Care cycles that began in the period "
                "(index admissions meeting the pack's cohort rules)."
            ),
        )
    )

    rows = []
    for metric in headline_metrics(ctx):
        labelled = overall[overall["metric"] == metric]
        if labelled.empty:
            continue
        label = str(labelled["label"].iloc[0])
        kind = str(labelled["metric_kind"].iloc[0])
        direction = metric_direction(ctx.pack, metric)
        latest, previous = _latest_two(by_period, metric)
        icon = icons[icons["metric"] == metric] if not icons.empty else icons
        variation = icon["variation"].iloc[0] if len(icon) else None
        assurance = icon["assurance"].iloc[0] if len(icon) else None
        improvement = icon["improvement"].iloc[0] if len(icon) else None
        series = spc[spc["metric"] == metric].sort_values("date") if not spc.empty else spc
        card = Card(
            label=label,
            value="too few to report" if latest is None else show(kind, metric, latest["value"]),
            variation=None if display.missing(variation) else str(variation),
            assurance=None if display.missing(assurance) else str(assurance),
            improvement=None if display.missing(improvement) else str(improvement),
            help=f"{DIRECTION_WORDS[direction].capitalize()}. " + _definition(ctx, metric),
        )
        if latest is not None:
            card.detail = (
                f"{latest['period']} · 95% CI "
                f"{shown_interval(kind, metric, latest['lower'], latest['upper'])} · "
                f"{int(latest['n_used']):,} episodes"
            )
            card.change = change_sentence(kind, metric, direction, latest, previous)
        if len(series) and series["y"].notna().sum() > 1:
            card.sparkline = charts.sparkline(series["date"], series["y"])
        page.cards.append(card)
        rows.append(
            {
                "label": label,
                "direction": DIRECTION_WORDS[direction],
                "period": None if latest is None else latest["period"],
                "value": None if latest is None else latest["value"],
                "lower": None if latest is None else latest["lower"],
                "upper": None if latest is None else latest["upper"],
                "n_used": 0 if latest is None else int(latest["n_used"]),
                "previous_period": None if previous is None else previous["period"],
                "previous_value": None if previous is None else previous["value"],
                "change": card.change,
                "variation": (
                    VARIATION[card.variation].label
                    if card.variation in VARIATION
                    else "not charted"
                ),
                "assurance": card.assurance or "",
                "kind": kind,
                "metric": metric,
            }
        )

    table = pd.DataFrame(rows)
    if not table.empty:
        for column in ("value", "lower", "upper", "previous_value"):
            table[f"{column}_shown"] = [
                show(k, m, v)
                for k, m, v in zip(table["kind"], table["metric"], table[column], strict=True)
            ]
    page.panels.append(
        Panel(
            id="headlines",
            title="Headline figures, latest quarter",
            sentence=(
                "Each headline figure for its latest reportable quarter, with its 95% interval "
                "and the quarter before, so a change can be told from noise."
            ),
            table=table,
            columns=[
                Column("label", "Measure"),
                Column("direction", "Direction of good"),
                Column("period", "Quarter"),
                Column("value_shown", "Value"),
                Column("lower_shown", "95% CI from"),
                Column("upper_shown", "95% CI to"),
                Column("n_used", "Episodes", "count"),
                Column("previous_period", "Previous quarter"),
                Column("previous_value_shown", "Previous value"),
                Column("change", "What changed"),
                Column("variation", "SPC variation"),
            ],
            disclosure=Disclosure(
                "n_used", ("value", "lower", "upper", "value_shown", "lower_shown", "upper_shown")
            ),
        )
    )
    every = with_shown(overall)
    page.panels.append(
        Panel(
            id="all-metrics",
            title="Every metric for these episodes",
            sentence=(
                "Every outcome, cost and value figure of the pack over "
                f"{ctx.filters.describe()}, with its 95% interval and the episodes it rests on."
            ),
            table=every,
            columns=[
                Column("label", "Measure"),
                Column("value_shown", "Value"),
                Column("interval_shown", "95% interval"),
                Column("n_used", "Episodes used", "count"),
                Column("n_due", "Episodes due", "count"),
                Column("note", "Note"),
            ],
            disclosure=Disclosure(
                "n_used",
                (
                    "value",
                    "lower",
                    "upper",
                    "numerator",
                    "denominator",
                    "expected",
                    "value_shown",
                    "interval_shown",
                ),
            ),
            understand={
                "Source": f"Run {ctx.run_id}, condition pack {ctx.pack.id} "
                f"v{ctx.pack.governance.version}",
                "Intervals": "Wilson for rates, t for means, order statistics for medians, "
                "ratio estimators for value figures (docs/outcomes.md).",
                "Small numbers": f"Figures resting on fewer than {ctx.min_cell} episodes are "
                "shown as 'too few to report'.",
            },
        )
    )
    return page


def _definition(ctx: PageContext, metric: str) -> str:
    outcome_id = metric.split("__", 1)[0]
    for outcome in ctx.pack.outcomes:
        if outcome.id == outcome_id:
            return (
                f"{outcome.definition} (Porter tier {outcome.tier}, timepoint {outcome.timepoint})."
            )
    for equation in ctx.pack.value_equations:
        if equation.id == outcome_id:
            return f"{equation.name}: good outcomes per £100,000 of the cost it counts."
    if metric == "cost_mean":
        return "Mean whole-pathway cost per episode from the costing run (PLICS, in pounds)."
    return ""
