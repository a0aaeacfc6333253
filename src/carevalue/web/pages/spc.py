"""SPC charts: every metric of the pack as a Making Data Count XmR chart for the filters'
segment (the run's metric_spc rows), with its variation and assurance icons; a summary
table of all the icons first, and how to read the charts.

The charts are precomputed per series (everyone, each site, team and population group)
by the run, so the page reads one series per metric: ``ctx.filters.segment()``. Months
the run suppressed are gaps marked "too few to report", never zeros. Each chart is drawn
from its panel's table after disclosure control, so a chart never shows a month its
table hides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carevalue.disclosure import TOO_FEW
from carevalue.reports import display
from carevalue.value import (
    GAP_NO_EPISODES,
    GAP_NO_VALUE,
    GAP_SUPPRESSED,
    OE_SUFFIX,
    is_binary,
    metric_labels,
)
from carevalue.web import charts
from carevalue.web.filters import GROUPS, SEGMENT_LABELS
from carevalue.web.mdc_icons import ASSURANCE, NO_ASSURANCE_LABEL, VARIATION
from carevalue.web.metric_text import DIRECTION_WORDS, show
from carevalue.web.pages import PageContext
from carevalue.web.panels import Column, Disclosure, Page, Panel

MDC_SOURCE = (
    "NHS England, Making Data Count "
    "(https://www.england.nhs.uk/publication/making-data-count/); icons from "
    "NHSRplotthedots (NHS-R Community, MIT licence); CareValue's methods in "
    "docs/reading-an-spc-chart.md."
)
GAP_WORDS = {
    GAP_SUPPRESSED: TOO_FEW,
    GAP_NO_EPISODES: "no episodes this month",
    GAP_NO_VALUE: "nothing measurable yet",
}
RULE_WORDS = {
    "astronomical": "a point beyond a process limit",
    "trend": "a trend: six rises or six falls in a row",
    "two_in_three": "two of three points near a process limit",
    "shift": "a run of seven points on one side of the mean",
}
POINT_WORDS = {
    "special_cause_improvement": "special cause: improvement",
    "special_cause_concern": "special cause: concern",
    "special_cause_neutral_high": "special cause: high (neither better nor worse)",
    "special_cause_neutral_low": "special cause: low (neither better nor worse)",
}
POINT_COLOURS = {
    "special_cause_improvement": ("Improvement", charts.IMPROVEMENT),
    "special_cause_concern": ("Concern", charts.ORANGE),
    "special_cause_neutral_high": ("Special cause, high", charts.NEUTRAL_SPECIAL),
    "special_cause_neutral_low": ("Special cause, low", charts.NEUTRAL_SPECIAL),
}
CHART_FIGURES = ("y",)  # y_shown and signal follow y once it is protected
UNSET = float("inf")
MIN_MOVING_RANGES = 10  # fewer consecutive pairs than this: the limits are shaky
# NHS mid grey: not orange, which means concern
# disclosure count of a month with no figure at all: nothing to hide
TOO_FEW_COLOUR = "#768692"


def metric_order(pack) -> list[str]:
    """Outcomes in the pack's order (each followed by its O/E), then cost, then value."""
    order = []
    for outcome in pack.outcomes:
        order.append(outcome.id)
        if outcome.risk_model is not None:
            order.append(f"{outcome.id}{OE_SUFFIX}")
    order += ["cost_mean", "cost_median"]
    for equation in pack.value_equations:
        order += [f"{equation.id}__per_100k", f"{equation.id}__cost_per_good"]
    return order


def metric_kind(pack, metric: str) -> str:
    """The metric_series kind of a metric (how its figures are shown)."""
    if metric.endswith(OE_SUFFIX):
        return "observed_expected"
    for outcome in pack.outcomes:
        if outcome.id == metric:
            return "rate" if is_binary(outcome) else "mean"
    if metric.startswith("cost_"):
        return "cost"
    return "value"


def segment_words(segment_type: str, segment: str) -> str:
    if segment_type == "all":
        return "all episodes"
    label = SEGMENT_LABELS.get(segment_type, segment_type)
    if segment_type in GROUPS:
        label = label.split(" (")[0].lower()
    return f"{label if segment_type in GROUPS else label.lower()} {segment}"


def build(ctx: PageContext) -> Page:
    segment_type, segment = ctx.filters.segment()
    where = segment_words(segment_type, segment)
    icons = _rows_for(ctx.table("metric_spc_icons"), segment_type, segment)
    spc = _rows_for(ctx.table("metric_spc"), segment_type, segment)
    page = Page(title="SPC charts")
    if ctx.filters.segments_named() > 1:
        page.messages.append(
            f"These filters name more than one grouping; the charts are drawn for one grouping "
            f"at a time and show {where} (a site before a team before a population group)."
        )
    if ctx.filters.period:
        page.messages.append(
            f"The charts show every month, so the limits rest on the whole series; FY "
            f"{ctx.filters.period} is shaded."
        )
    how_to = how_to_read_panel()
    if icons.empty:
        page.lead = f"No monthly series for {where} in run {ctx.run_id}."
        page.panels.append(how_to)
        return page
    changes = service_changes(ctx, segment_type, segment)
    labels = metric_labels(ctx.pack)
    order = metric_order(ctx.pack)
    present = list(dict.fromkeys(icons["metric"]))
    metrics = [m for m in order if m in present] + [m for m in present if m not in order]
    icon_of = icons.drop_duplicates("metric").set_index("metric")
    tables = chart_tables(ctx, spc, icon_of)
    chart_panels = [
        chart_panel(
            ctx,
            metric,
            labels.get(metric, metric),
            icon_of.loc[metric],
            tables.get(metric),
            changes,
            where,
        )
        for metric in metrics
    ]
    charted = sum(p.figure is not None for p in chart_panels)
    page.lead = (
        f"{len(metrics)} measures of {ctx.pack.governance.name.lower()} care, month by "
        f"month, for {where}: {charted} charted as Making Data Count charts; the rest "
        "say why not. The summary lists every measure's icons first."
    )
    page.panels = [
        summary_panel(ctx, metrics, labels, icon_of, chart_panels, where),
        how_to,
        *chart_panels,
    ]
    return page


def _rows_for(table: pd.DataFrame, segment_type: str, segment: str) -> pd.DataFrame:
    if table.empty:
        return table
    keep = (table["segment_type"] == segment_type) & (
        table["segment"].astype("string") == str(segment)
    )
    return table[keep.to_numpy()]


def service_changes(ctx: PageContext, segment_type: str, segment: str) -> list[tuple[str, str]]:
    """(date, description) of the condition's recorded service changes that concern this
    series: those for every series of the condition, for its segment type, or for it."""
    table = ctx.table("service_changes")
    if table.empty or "change_date" not in table.columns:
        return []
    keep = table["change_date"].notna()
    for column, value in (("segment_type", segment_type), ("segment", segment)):
        if column in table.columns:
            values = table[column].astype("string")
            keep &= (values.isna() | (values == str(value))).fillna(True)
    chosen = table[keep.to_numpy()]
    texts = chosen["description"] if "description" in chosen.columns else [None] * len(chosen)
    out = [
        (day.strftime("%Y-%m-%d"), "Service change" if display.missing(text) else str(text))
        for day, text in zip(pd.to_datetime(chosen["change_date"]), texts, strict=True)
    ]
    return sorted(out)


# ------------------------------------------------------------------------ the charts

CHART_COLUMNS = [
    "metric",
    "date",
    "n",
    "gap",
    "y",
    "mean",
    "lpl",
    "upl",
    "target",
    "point_type",
    "rule",
    "rebase_group",
]
CHART_DISCLOSURE = Disclosure("n_disclosure", CHART_FIGURES, within=("metric",))


def _text(column: pd.Series) -> pd.Series:
    """A text column as plain objects with None for missing (fast to slice and compare)."""
    values = column.astype("object")
    return values.where(column.notna(), None)


def chart_tables(
    ctx: PageContext, spc: pd.DataFrame, icon_of: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Every series' months as the chart panels show them, built for all metrics at once
    and through disclosure control once: values, limits, signal, why a month has no point.
    Returns metric -> its months in date order."""
    if spc.empty:
        return {}
    table = spc[CHART_COLUMNS].sort_values(["metric", "date"], kind="stable")
    table = table.reset_index(drop=True)
    for column in ("metric", "gap", "point_type", "rule"):
        table[column] = _text(table[column])
    dates = pd.to_datetime(table["date"])
    table["month_key"] = dates.dt.strftime("%Y-%m").astype("object")
    table["month"] = dates.dt.strftime("%b %Y").astype("object")
    gap = table["gap"]
    table["gap_text"] = gap.map(GAP_WORDS).where(gap.notna(), None)
    signal = table["point_type"].map(POINT_WORDS)
    rule = table["rule"].map(RULE_WORDS)
    with_rule = signal + " (" + rule + ")"
    table["signal"] = with_rule.where(rule.notna(), signal)
    table["signal"] = table["signal"].where(table["signal"].notna(), None)
    suppressed = (gap == GAP_SUPPRESSED).to_numpy(dtype=bool)
    table["suppressed"] = suppressed
    table["note"] = np.where(suppressed, TOO_FEW, None)
    # Months with a value rest on their episodes; months the run suppressed count as too
    # few; months with no figure at all (no episodes, nothing measurable) hide nothing.
    table["n_disclosure"] = np.where(
        gap.isna().to_numpy(), table["n"].astype(float), np.where(suppressed, 0.0, UNSET)
    )
    kinds = {m: metric_kind(ctx.pack, m) for m in table["metric"].unique()}
    for column in ("y", "mean", "lpl", "upl", "target"):
        shown = []
        for metric, values in table.groupby("metric", sort=False)[column]:
            fmt = display.figure_format(kinds[metric], metric)
            shown.extend("" if display.missing(v) else fmt(v) for v in values.tolist())
        table[f"{column}_shown"] = shown
    no_figure = gap.isin([GAP_NO_EPISODES, GAP_NO_VALUE]).to_numpy(dtype=bool)
    table.loc[no_figure, "y_shown"] = table.loc[no_figure, "gap_text"]
    for column in ("variation", "assurance"):
        codes = icon_of[column].astype("object").where(icon_of[column].notna(), None)
        table[column] = table["metric"].map(codes.to_dict())
    table["kind"] = table["metric"].map(kinds)
    protected = ctx.protect(
        Panel(
            id="charts", title="", sentence="", table=table, columns=[], disclosure=CHART_DISCLOSURE
        )
    ).table
    # What the table shows follows the protected value, so the downloads say "too few to
    # report" too, and a hidden month's signal goes with it.
    hidden = protected["y"].isna().to_numpy() & protected["suppressed"].eq(True).to_numpy()
    protected.loc[hidden, "y_shown"] = TOO_FEW
    protected.loc[protected["y"].isna().to_numpy(), "signal"] = None
    return {
        metric: rows.reset_index(drop=True)
        for metric, rows in protected.groupby("metric", sort=False)
    }


def chart_panel(
    ctx: PageContext,
    metric: str,
    label: str,
    icon,
    table: pd.DataFrame | None,
    changes: list[tuple[str, str]],
    where: str,
) -> Panel:
    kind = metric_kind(ctx.pack, metric)
    improvement = (
        str(icon["improvement"]) if not display.missing(icon["improvement"]) else "neutral"
    )
    direction = DIRECTION_WORDS.get(improvement, DIRECTION_WORDS["neutral"])
    if table is None:
        table = pd.DataFrame(
            columns=[
                *CHART_COLUMNS,
                "month",
                "month_key",
                "y_shown",
                "mean_shown",
                "lpl_shown",
                "upl_shown",
                "target_shown",
                "signal",
                "note",
                "suppressed",
                "n_disclosure",
                "variation",
                "assurance",
            ]
        )
    charted = bool(icon["charted"])
    if not charted:
        # Nothing to draw: the table keeps the months that have a value (often none).
        table = table[table["y"].notna()].reset_index(drop=True)
    has_target = bool(table["target"].notna().any())
    notes = [icon_words(icon)]
    if not charted:
        why = icon["note"] if not display.missing(icon["note"]) else "not charted"
        notes.insert(0, f"Not charted: {str(why).removeprefix('not charted: ')}.")
    if icon.get("short_series", False) is True:
        notes.append(
            "Short series: some limits rest on fewer than 12 months with a value, so "
            "read them with caution."
        )
    if charted:
        notes.extend(_limit_warnings(table))
    groups = int(icon["rebase_groups"]) if not display.missing(icon["rebase_groups"]) else 1
    if groups > 1:
        notes.append(
            f"The limits are recalculated at each of {groups - 1} recorded service "
            "change(s), from the first whole month after it."
        )
    for day, text in changes:
        notes.append(f"Service change recorded on {day}: {text}.")
    columns = [
        Column("month", "Month"),
        Column("n", "Episodes", "count"),
        Column("y_shown", "Value"),
        Column("mean_shown", "Mean"),
        Column("lpl_shown", "Lower process limit"),
        Column("upl_shown", "Upper process limit"),
    ]
    if has_target:
        columns.append(Column("target_shown", "Target"))
    columns.append(Column("signal", "Special cause"))
    sentence = (
        f"{label}, month by month for {where}, against its mean and process limits"
        + (" and target" if has_target else "")
        + f" ({direction})."
    )
    if not charted:
        sentence = (
            f"{label} for {where}: not charted (see the note); any month with a value "
            "to report is in the table."
        )
    panel = Panel(
        id=f"chart-{metric}",
        title=label,
        sentence=sentence,
        table=table,
        columns=columns,
        notes=notes,
        disclosure=CHART_DISCLOSURE,
        understand={
            "Direction of good": direction.capitalize() + ".",
            "Points": "One point per month of admission: the figure among that month's "
            "episodes (same definition as the Outcomes and Overview pages).",
            "Limits": "Mean ± 2.66 × the average moving range, per period between service "
            "changes; big moving ranges are screened out first (NHSRplotthedots "
            "0.2.2).",
            "Gaps": f"Months with fewer than {ctx.min_cell} episodes behind the figure are "
            "gaps marked 'too few to report'; the line never joins across a gap.",
            "Source": f"Run {ctx.run_id}, metric_spc; {MDC_SOURCE}",
        },
    )
    if charted and not table.empty:
        panel.figure = spc_chart(
            table, kind=kind, metric=metric, changes=changes, period=ctx.filters.period
        )
    return panel


def _limit_warnings(table: pd.DataFrame) -> list[str]:
    """Say so when the limits rest on few month-to-month changes: gaps leave few pairs of
    consecutive reported months, and limits from one or two of them are not a process."""
    y = table["y"].to_numpy(dtype=float)
    group = table["rebase_group"].to_numpy()
    pairs = int((np.isfinite(y[1:]) & np.isfinite(y[:-1]) & (group[1:] == group[:-1])).sum())
    spread = (table["upl"] - table["lpl"]).dropna()
    if len(spread) and (spread.abs() < 1e-12).all() and np.nanstd(y) > 0:
        return [
            (
                f"The process limits equal the mean: the {pairs} month-to-month change(s) "
                "between consecutive reported months show no variation, so every point off "
                "the mean is flagged. Read this chart's signals as not meaningful."
            )
        ]
    if pairs < MIN_MOVING_RANGES:
        return [
            (
                f"The limits rest on only {pairs} month-to-month change(s) between consecutive "
                "reported months (gaps break the others): read its signals with caution."
            )
        ]
    return []


def icon_words(icon) -> str:
    variation = icon["variation"]
    if display.missing(variation) or str(variation) not in VARIATION:
        words = "Variation: no icon (not charted)."
    else:
        words = f"Variation: {VARIATION[str(variation)].label}."
    assurance = icon["assurance"]
    if display.missing(assurance) or str(assurance) not in ASSURANCE:
        return words + f" {NO_ASSURANCE_LABEL}."
    return words + f" {ASSURANCE[str(assurance)].label}."


def _hover(kind: str, metric: str) -> str:
    if kind == "rate":
        return "%{y:.1%}"
    if kind == "cost" or metric.endswith("__cost_per_good"):
        return "£%{y:,.0f}"
    return "%{y:,.2f}"


def _segments(x: list, values: list, groups: list) -> tuple[list, list]:
    """A horizontal line per rebase period: two points each, broken between periods."""
    spans: dict = {}
    for month, value, group in zip(x, values, groups, strict=True):
        if value is None:
            continue
        first = spans.setdefault(group, [month, month, value])
        first[1] = month
    xs, ys = [], []
    for start, stop, value in spans.values():
        if xs:
            xs.append(None)
            ys.append(None)
        xs += [start, stop]
        ys += [value, value]
    return xs, ys


def spc_chart(
    table: pd.DataFrame,
    *,
    kind: str,
    metric: str,
    changes: list[tuple[str, str]] = (),
    period: str = "",
) -> dict:
    """A lean Making Data Count chart from a chart table: the monthly line (gaps never
    joined), mean and process limits per rebase period (two points each), target,
    special-cause points coloured, months without a point marked on a strip beneath, and
    service changes as dotted lines."""
    x = table["month_key"].tolist()
    y = charts.clean(table["y"])
    groups = table["rebase_group"].tolist()
    hover = _hover(kind, metric)
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Monthly value",
            "x": x,
            "y": y,
            "connectgaps": False,
            "line": {"color": charts.GREY, "width": 1.5},
            "marker": {"color": charts.GREY, "size": 6},
            "hovertemplate": "%{x|%b %Y}: " + hover + "<extra></extra>",
        }
    ]
    for column, name, style in (
        ("mean", "Mean", {"color": "#000000", "width": 1.5}),
        ("upl", "Process limits", {"color": charts.GREY, "dash": "dash", "width": 1}),
        ("lpl", "Process limits", {"color": charts.GREY, "dash": "dash", "width": 1}),
        ("target", "Target", {"color": charts.RED, "dash": "dot", "width": 1.5}),
    ):
        xs, ys = _segments(x, charts.clean(table[column]), groups)
        if xs:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": xs,
                    "y": ys,
                    "line": style,
                    "hoverinfo": "skip",
                    "legendgroup": name,
                    "showlegend": column != "lpl",
                }
            )
    points = table["point_type"].tolist()
    signals = table["signal"].tolist()
    for point_type, (name, colour) in POINT_COLOURS.items():
        chosen = [i for i, p in enumerate(points) if p == point_type and y[i] is not None]
        if chosen:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": name,
                    "x": [x[i] for i in chosen],
                    "y": [y[i] for i in chosen],
                    "text": [signals[i] for i in chosen],
                    "marker": {
                        "color": colour,
                        "size": 10,
                        "line": {"color": "#000000", "width": 0.5},
                    },
                    "hovertemplate": "%{x|%b %Y}: " + hover + "<br>%{text}<extra></extra>",
                }
            )
    # Months without a point, on a strip of their own so they never read as a value.
    suppressed = table["suppressed"].tolist()
    gaps = table["gap"].tolist()
    reasons = [
        TOO_FEW if hidden is True else GAP_WORDS.get(g) if v is None else None
        for hidden, g, v in zip(suppressed, gaps, y, strict=True)
    ]
    for reason, colour in (
        (TOO_FEW, TOO_FEW_COLOUR),
        (GAP_WORDS[GAP_NO_EPISODES], "#212b32"),
        (GAP_WORDS[GAP_NO_VALUE], charts.PALE_GREY),
    ):
        months = [x[i] for i, r in enumerate(reasons) if r == reason]
        if months:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "yaxis": "y2",
                    "name": reason.capitalize() + " (no point)",
                    "x": months,
                    "y": [0.5] * len(months),
                    "marker": {
                        "symbol": "line-ns-open",
                        "size": 9,
                        "color": colour,
                        "line": {"width": 2, "color": colour},
                    },
                    "hovertemplate": "%{x|%b %Y}: " + reason + "<extra></extra>",
                }
            )
    layout = charts.layout(x_title="Month of admission", y_title=_y_title(kind, metric), height=340)
    layout["yaxis"]["domain"] = [0.1, 1]
    layout["yaxis2"] = {"domain": [0, 0.05], "range": [0, 1], "visible": False, "fixedrange": True}
    layout["xaxis"]["type"] = "date"
    layout["xaxis"]["anchor"] = "y2"
    if kind == "rate":
        layout["yaxis"]["tickformat"] = ".0%"
    elif kind == "cost" or metric.endswith("__cost_per_good"):
        layout["yaxis"]["tickprefix"] = "£"
    layout["legend"]["y"] = -0.25
    shapes, annotations = [], []
    for day, text in changes:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": day,
                "x1": day,
                "y0": 0,
                "y1": 1,
                "line": {"color": charts.DARK_BLUE, "dash": "dot", "width": 1.5},
            }
        )
        annotations.append(
            {
                "xref": "x",
                "yref": "paper",
                "x": day,
                "y": 1,
                "text": text[:40],
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 11, "color": charts.DARK_BLUE},
            }
        )
    shaded = _financial_year(period)
    if shaded:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": shaded[0],
                "x1": shaded[1],
                "y0": 0,
                "y1": 1,
                "fillcolor": charts.PALE_GREY,
                "opacity": 0.35,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    layout["shapes"] = shapes
    layout["annotations"] = annotations
    return {"data": data, "layout": layout}


def _y_title(kind: str, metric: str) -> str:
    if kind == "rate":
        return "Rate"
    if kind == "observed_expected":
        return "Observed / expected"
    if kind == "cost" or metric.endswith("__cost_per_good"):
        return "£"
    return "Value"


def _financial_year(period: str) -> tuple[str, str] | None:
    """The shaded span of FY "2023/24": mid-March 2023 to mid-March 2024, so the twelve
    monthly points of April to March sit inside it."""
    try:
        start = int(str(period).split("/", 1)[0])
    except ValueError:
        return None
    return f"{start}-03-16", f"{start + 1}-03-16"


# ------------------------------------------------------------------------ summary


def summary_panel(
    ctx: PageContext,
    metrics: list[str],
    labels: dict,
    icon_of: pd.DataFrame,
    chart_panels: list[Panel],
    where: str,
) -> Panel:
    rows = []
    for metric, panel in zip(metrics, chart_panels, strict=True):
        icon = icon_of.loc[metric]
        kind = metric_kind(ctx.pack, metric)
        improvement = (
            "neutral" if display.missing(icon["improvement"]) else str(icon["improvement"])
        )
        # The latest month the chart shows (after this role's disclosure control).
        shown = panel.table[panel.table["y"].notna()] if not panel.table.empty else panel.table
        latest = shown.iloc[-1] if len(shown) else None
        variation = None if display.missing(icon["variation"]) else str(icon["variation"])
        assurance = None if display.missing(icon["assurance"]) else str(icon["assurance"])
        rows.append(
            {
                "metric": metric,
                "label": labels.get(metric, metric),
                "direction": DIRECTION_WORDS.get(improvement, DIRECTION_WORDS["neutral"]),
                "improvement": improvement,
                "variation": variation,
                "assurance": assurance,
                "variation_label": VARIATION[variation].label
                if variation in VARIATION
                else "No icon: not charted",
                "assurance_label": ASSURANCE[assurance].label
                if assurance in ASSURANCE
                else (
                    "None: no direction of good"
                    if improvement == "neutral"
                    else "None: no target set"
                ),
                "charted": bool(icon["charted"]),
                "latest_month": None if latest is None else latest["month"],
                # no latest month: no figure, nothing to hide
                "latest_n": UNSET if latest is None else float(latest["n"]),
                "latest_y": np.nan if latest is None else latest["y"],
                "latest_shown": "" if latest is None else show(kind, metric, latest["y"]),
                "mean": icon["mean"],
                "lpl": icon["lpl"],
                "upl": icon["upl"],
                "mean_shown": show(kind, metric, icon["mean"]),
                "limits_shown": ""
                if display.missing(icon["lpl"])
                else f"{show(kind, metric, icon['lpl'])} to {show(kind, metric, icon['upl'])}",
                "observed": int(icon["observed"]) if not display.missing(icon["observed"]) else 0,
                "months": int(icon["months"]) if not display.missing(icon["months"]) else 0,
                "episodes": int(
                    pd.to_numeric(panel.table.get("n"), errors="coerce").fillna(0).sum()
                )
                if not panel.table.empty
                else 0,
                "note": None if display.missing(icon["note"]) else str(icon["note"]),
            }
        )
    table = pd.DataFrame(rows)
    panel = Panel(
        id="icons",
        title="Every measure's variation and assurance",
        sentence=(
            f"The Making Data Count icons of every measure for {where}: what its latest "
            "month says (variation) and whether it will meet a target (assurance), "
            "with its current mean and process limits."
        ),
        table=table,
        columns=[
            Column("label", "Measure"),
            Column("direction", "Direction of good"),
            Column("variation_label", "Variation"),
            Column("assurance_label", "Assurance"),
            Column("latest_month", "Latest month"),
            Column("latest_shown", "Latest value"),
            Column("mean_shown", "Mean"),
            Column("limits_shown", "Process limits"),
            Column("observed", "Months with a value", "count"),
            Column("episodes", "Episodes", "count"),
            Column("note", "Note"),
        ],
        links={
            label: f"#panel-chart-{metric}"
            for metric, label in zip(table["metric"], table["label"], strict=True)
        },
        disclosure=Disclosure("latest_n", ("latest_y", "latest_shown"), within=("metric",)),
        understand={
            "Variation": "Describes the latest month with a value: common cause (no "
            "significant change) or special cause, improving or concerning, high "
            "or low; a measure with no direction of good is never called "
            "improving or concerning.",
            "Assurance": "Compares a target with the current process limits; no icon without "
            "a target (none are set yet) or for a measure with no direction.",
            "Source": f"Run {ctx.run_id}, metric_spc_icons; {MDC_SOURCE}",
        },
    )
    return panel


# ------------------------------------------------------------------------ how to read

HOW_TO_READ = [
    (
        "Dots and line",
        (
            "One dot per month of admission: the measure among that month's "
            "episodes. The line never joins across a month without a dot."
        ),
    ),
    (
        "Marks on the strip beneath",
        (
            "Months with no dot: too few episodes to report (grey), "
            "no episodes (black), or nothing measurable yet (pale). "
            "Never a zero."
        ),
    ),
    ("Mean (solid black line)", ("The average of the months, per period between service changes.")),
    (
        "Process limits (dashed grey lines)",
        (
            "Mean ± 2.66 × the average month-to-month change. "
            "While nothing changes, nearly every month falls "
            "between them: this is what the process does, not "
            "what we want."
        ),
    ),
    (
        "Grey dots",
        (
            "Common cause: the ordinary ups and downs of a stable process. Reacting to "
            "one of them wastes effort."
        ),
    ),
    ("Blue dots", "Special cause, improvement: a signal that something changed for the better."),
    ("Orange dots", "Special cause, concern: a signal that something changed for the worse."),
    (
        "Purple dots",
        (
            "Special cause in a measure with no direction of good: a change, neither "
            "better nor worse."
        ),
    ),
    (
        "Rule: a point beyond a limit",
        ("One month above the upper or below the lower process limit."),
    ),
    ("Rule: a run of seven", "Seven months in a row on the same side of the mean (a shift)."),
    (
        "Rule: a trend of six",
        (
            "Six rises in a row, or six falls (seven months each higher, or "
            "each lower, than the one before)."
        ),
    ),
    (
        "Rule: two of three near a limit",
        (
            "Two of three months in a row closer to a process "
            "limit than two thirds of the way from the mean, on "
            "the same side."
        ),
    ),
    (
        "Dotted blue line",
        (
            "A recorded service change; the limits are recalculated from the "
            "first whole month after it."
        ),
    ),
    ("Red dotted line", "The target, where one is set."),
    *[
        (f"Variation icon: {icon.code.replace('_', ' ')}", icon.label)
        for icon in VARIATION.values()
    ],
    *[
        (f"Assurance icon: {icon.code.replace('_', ' ')}", icon.label)
        for icon in ASSURANCE.values()
    ],
]


def how_to_read_panel() -> Panel:
    table = pd.DataFrame(HOW_TO_READ, columns=["element", "meaning"])
    table["code"] = [None] * len(table)
    codes = list(VARIATION) + list(ASSURANCE)
    table.loc[len(table) - len(codes) :, "code"] = codes
    return Panel(
        id="how-to-read",
        title="How to read these charts",
        sentence=(
            "What the mean, the process limits, the coloured dots, the four rules and the "
            "icons mean, as NHS England's Making Data Count sets them out."
        ),
        table=table,
        columns=[Column("element", "What you see"), Column("meaning", "What it means")],
        notes=[
            (
                "After NHS England's Making Data Count guidance: plot the dots, look for "
                "special cause, and ask whether the process will meet its target."
            )
        ],
        understand={
            "Source": MDC_SOURCE,
            "Which rule wins": "A month meeting several rules is labelled by the first of: "
            "beyond a limit, trend, two of three, run.",
            "Not a ranking": "An SPC chart compares a measure with its own past, not with "
            "other sites; the Outcomes page's funnel plots compare sites.",
        },
    )
