"""Equity: value and outcomes by deprivation quintile, age band, sex and ethnic group.

One panel per group type: a dot-and-whisker chart of the pack's key outcome and the mean
cost per episode per group with their 95% intervals (the dashed line is everyone in the
filters), a table of every key metric per group, and a sentence per measure saying whether
the intervals of the best and worst group overlap. Overlapping intervals are never read as
a difference. Deprivation quintile 1 is the most deprived fifth of areas (IMD).
"""

from __future__ import annotations

import re

import pandas as pd

from carevalue.reports import display
from carevalue.value import group_metrics
from carevalue.web import charts
from carevalue.web.metric_text import (
    DIRECTION_WORDS,
    metric_direction,
    with_shown,
)
from carevalue.web.pages import PageContext
from carevalue.web.pages.overview import headline_metrics
from carevalue.web.panels import Column, Disclosure, Page, Panel

# (episode_value column, panel id, title, what one group is called in a sentence)
GROUP_TYPES = (
    ("imd_quintile", "by-deprivation", "By deprivation quintile (1 = most deprived)", "quintile"),
    ("age_band", "by-age", "By age band", "age"),
    ("sex", "by-sex", "By sex", ""),
    ("ethnic_group", "by-ethnic-group", "By ethnic group", ""),
)
EVERYONE = "All these episodes"
UNKNOWN = "unknown"
FIGURES = ("value", "lower", "upper", "value_shown", "interval_shown")
# The group_metrics columns each group type's table keeps (the figures, their counts, notes).
KEEP = [
    "group",
    "key",
    "metric",
    "label",
    "metric_kind",
    "n",
    "n_due",
    "n_used",
    "value",
    "lower",
    "upper",
    "suppressed",
    "note",
]


# ---------------------------------------------------------------- pure helpers


def group_label(column: str, value) -> str:
    """How a group reads in a table: deprivation quintiles say which end is which."""
    text = UNKNOWN if display.missing(value) else str(value)
    if column == "imd_quintile" and text != UNKNOWN:
        try:
            quintile = int(float(text))
        except ValueError:
            return text
        return {1: "1 (most deprived)", 5: "5 (least deprived)"}.get(quintile, str(quintile))
    return text


def group_words(column: str, label: str) -> str:
    """How a group reads inside a sentence: "quintile 1 (most deprived)", "age 85+"."""
    word = next((w for c, _, _, w in GROUP_TYPES if c == column), "")
    return f"{word} {label}" if word and label != UNKNOWN else label


def group_order(column: str, labels: list[str]) -> list[str]:
    """Groups in their natural order (quintiles and age bands by number), unknown last."""

    def key(label: str):
        if label in (UNKNOWN, "Not stated"):
            return (2, 0, label)
        number = re.match(r"\D*(\d+)", label)
        if column in ("imd_quintile", "age_band") and number:
            return (0, int(number.group(1)), label)
        return (1, 0, label.lower())

    return sorted(dict.fromkeys(labels), key=key)


def intervals_overlap(a_lower, a_upper, b_lower, b_upper) -> bool:
    """True when two intervals share any value; a missing end counts as overlapping (no
    interval, no claim of difference)."""
    if any(display.missing(v) for v in (a_lower, a_upper, b_lower, b_upper)):
        return True
    return bool(a_lower <= b_upper and b_lower <= a_upper)


def overlap_sentence(measure: str, rows: pd.DataFrame, direction: str, fmt) -> str:
    """Whether the intervals of the best and worst group overlap, in words.

    ``rows``: one per group with ``group`` (as it reads in a sentence), ``value``,
    ``lower`` and ``upper``; rows without a value (too few to report) are left out. A
    metric with a direction names the best and worst group; any other (a neutral metric,
    or cost where a group's higher cost is not a judgement) only the highest and lowest."""
    rows = rows[rows["value"].notna()]
    if len(rows) < 2:
        return (
            f"{measure}: fewer than two groups have figures that can be reported, so "
            "there is no comparison."
        )
    high = rows.loc[rows["value"].idxmax()]
    low = rows.loc[rows["value"].idxmin()]
    if high["value"] == low["value"]:
        return f"{measure}: the same in every group with enough episodes ({fmt(high['value'])})."

    def figure(row) -> str:
        ci = display.interval(row["lower"], row["upper"], fmt)
        return f"{fmt(row['value'])}, 95% CI {ci}" if ci else f"{fmt(row['value'])}, no interval"

    overlap = intervals_overlap(high["lower"], high["upper"], low["lower"], low["upper"])
    if direction in ("higher_is_better", "lower_is_better"):
        best, worst = (high, low) if direction == "higher_is_better" else (low, high)
        start = (
            f"{measure}: best in {best['group']} ({figure(best)}) and worst in "
            f"{worst['group']} ({figure(worst)})"
        )
        if overlap:
            return start + "; the intervals overlap, so these data do not show a difference."
        return (
            start + f"; the intervals do not overlap, so {worst['group']} is worse than "
            f"{best['group']} beyond chance."
        )
    start = (
        f"{measure}: highest in {high['group']} ({figure(high)}) and lowest in "
        f"{low['group']} ({figure(low)})"
    )
    if overlap:
        return start + "; the intervals overlap, so these data do not show a difference."
    return start + "; the intervals do not overlap, so the difference is beyond chance."


def key_metrics(ctx: PageContext) -> list[str]:
    """The overview's headline metrics (tier-1 outcomes, cost, each value equation's good
    outcomes per £100,000), with the observed / expected of those outcomes that have a risk
    model, outcomes first."""
    headline = headline_metrics(ctx)
    risk = {o.id for o in ctx.pack.outcomes if o.risk_model is not None}
    outcomes = [m for m in headline if m in {o.id for o in ctx.pack.outcomes}]
    rest = [m for m in headline if m not in outcomes]
    with_oe = [x for m in outcomes for x in ([m, f"{m}__oe"] if m in risk else [m])]
    return with_oe + rest


def key_outcome(pack) -> str:
    """The outcome each group type's chart shows: the first outcome of the pack's first
    value equation (what the pack puts first), else its first tier-1 outcome."""
    ids = {o.id for o in pack.outcomes}
    for equation in pack.value_equations:
        for term in equation.numerator:
            if term.outcome in ids:
                return term.outcome
    return min(pack.outcomes, key=lambda o: o.tier).id


def _group_table(
    ctx: PageContext, column: str, metrics: list[str], overall: pd.DataFrame
) -> pd.DataFrame:
    by_group = group_metrics(ctx.pack, ctx.episodes, (column,))
    by_group = by_group[by_group["metric"].isin(metrics)]
    by_group = by_group.assign(
        group=[group_label(column, v) for v in by_group[column]], key=by_group[column]
    )
    everyone = overall[overall["metric"].isin(metrics)].assign(group=EVERYONE, key="all")
    table = pd.concat([everyone[KEEP], by_group[KEEP]], ignore_index=True)
    order = {
        label: number
        for number, label in enumerate([EVERYONE, *group_order(column, by_group["group"].tolist())])
    }
    table["metric_order"] = table["metric"].map({m: n for n, m in enumerate(metrics)})
    table["group_order"] = table["group"].map(order)
    table = table.sort_values(["metric_order", "group_order"]).reset_index(drop=True)
    directions = {m: DIRECTION_WORDS[metric_direction(ctx.pack, m)] for m in metrics}
    table["direction"] = table["metric"].map(directions)
    table = with_shown(table)
    table["group_type"] = column
    return table.drop(columns=["metric_order", "group_order"])


def _kind(metric_kind: str) -> str:
    return {"rate": "rate", "cost": "money"}.get(metric_kind, "number")


def build(ctx: PageContext) -> Page:
    episodes = ctx.episodes
    page = Page(
        title="Equity",
        lead=(
            f"{len(episodes):,} episodes ({ctx.filters.describe()}). Outcomes, cost and value "
            "for each deprivation quintile (quintile 1 is the most deprived fifth of areas), "
            "age band, sex and ethnic group, each with its 95% interval. Where the "
            "intervals of two groups overlap, these data do not show a difference."
        ),
    )
    if episodes.empty:
        page.messages.append("No episodes match these filters.")
        return page
    outcome = key_outcome(ctx.pack)
    overall = group_metrics(ctx.pack, episodes)
    # An observed / expected with no expected values (its risk model was not fitted) would
    # read as "too few to report" in every group: leave it out and say why.
    unfitted = set(
        overall.loc[
            (overall["metric_kind"] == "observed_expected") & (overall["n_used"] == 0), "metric"
        ]
    )
    metrics = [m for m in key_metrics(ctx) if m not in unfitted]
    for metric in sorted(unfitted & set(key_metrics(ctx))):
        page.messages.append(
            f"{overall.loc[overall['metric'] == metric, 'label'].iloc[0]} is not shown: the "
            "risk model was not fitted in this run (see the Outcomes page)."
        )
    labels = overall.set_index("metric")["label"].to_dict()
    kinds = overall.set_index("metric")["metric_kind"].to_dict()
    if ctx.filters.group:
        page.messages.append(
            f"The filters keep one population group ({ctx.filters.describe()}), so that "
            "group type shows that group alone."
        )

    for column, panel_id, title, _ in GROUP_TYPES:
        if column not in episodes.columns:
            continue
        table = _group_table(ctx, column, metrics, overall)
        panel = Panel(
            id=panel_id,
            title=title,
            sentence=(
                f"{labels.get(outcome, outcome)} and mean cost per episode for each "
                f"group, with 95% intervals; the dashed line is all these episodes "
                f"({ctx.filters.describe()})."
            ),
            table=table,
            columns=[
                Column("group", "Group"),
                Column("label", "Measure"),
                Column("direction", "Direction of good"),
                Column("value_shown", "Value"),
                Column("interval_shown", "95% interval"),
                Column("n_used", "Episodes used", "count"),
                Column("n", "Episodes in group", "count"),
                Column("note", "Note"),
            ],
            caption=f"Key measures {title[0].lower()}{title[1:]}",
            disclosure=Disclosure("n_used", FIGURES, within=("metric",)),
            understand={
                "Groups": (
                    "Deprivation quintile from the Index of Multiple Deprivation of the "
                    "patient's area: 1 is the most deprived fifth, 5 the least."
                    if column == "imd_quintile"
                    else "As recorded on the patient's index admission; 'unknown' where it "
                    "was not recorded."
                ),
                "Comparison": "The best and worst groups with enough episodes are compared; "
                "groups recorded as unknown are left out. With several groups, "
                "one pair can differ by chance, and overlapping intervals do "
                "not prove the groups are the same.",
                "Case mix": "Crude outcomes differ between age groups for reasons of age "
                "alone; observed / expected rows, where the pack has a risk "
                "model, allow for case mix.",
                "Intervals": "Wilson for rates, t for means, ratio estimators for value "
                "figures (docs/outcomes.md).",
                "Small numbers": f"Figures resting on fewer than {ctx.min_cell} episodes are "
                "shown as 'too few to report' and are not drawn.",
                "Source": f"Run {ctx.run_id}, condition pack {ctx.pack.id} "
                f"v{ctx.pack.governance.version}",
            },
        )
        # Protect before drawing, so the chart and the sentences show only what the table
        # shows for this role (the view's second pass changes nothing).
        ctx.protect(panel)
        protected = panel.table
        groups = protected[protected["key"] != "all"]
        order = group_order(column, groups["group"].tolist())
        series, notes = [], []
        for metric in (outcome, "cost_mean"):
            if metric not in kinds:
                continue
            rows = groups[groups["metric"] == metric].set_index("group").reindex(order)
            everyone = protected[(protected["key"] == "all") & (protected["metric"] == metric)]
            series.append(
                {
                    "title": labels.get(metric, metric),
                    "labels": order,
                    "value": rows["value"],
                    "lower": rows["lower"],
                    "upper": rows["upper"],
                    "reference": everyone["value"].iloc[0] if len(everyone) else None,
                    "kind": _kind(kinds[metric]),
                }
            )
            known = rows[~rows.index.isin([UNKNOWN, "Not stated"])].reset_index()
            known["group"] = [group_words(column, g) for g in known["group"]]
            direction = "neutral" if metric == "cost_mean" else metric_direction(ctx.pack, metric)
            notes.append(
                overlap_sentence(
                    labels.get(metric, metric),
                    known,
                    direction,
                    display.figure_format(kinds[metric], metric),
                )
            )
        if groups["suppressed"].eq(True).any():
            notes.append("Groups too few to report are listed in the table but not drawn.")
        panel.notes = notes
        panel.figure = charts.dot_whisker(series) if series else None
        page.panels.append(panel)
    return page
